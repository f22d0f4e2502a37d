//! Splicing record bytes into an encoded frame without copying them: a message is encoded with
//! [`RECORDS_MARKER`] in place of each records field, and [`splice_records`] cuts the frame
//! around the markers, so the frame goes out as a list of parts whose records parts are the
//! original `Bytes`. The broker uses it for Fetch responses, the clients for Produce requests.
//! The marker holds bytes that are invalid UTF-8, so it cannot occur inside a string field.

use bytes::{BufMut, Bytes, BytesMut};

/// What stands in for a records field while the message is encoded.
pub const RECORDS_MARKER: &[u8; 16] = b"\xffSTROM\xfeRECORD\xfd\x00\xfc";

/// Replaces each marker (with its length prefix) in `frame` by the next element of `records`
/// (with its own length prefix), and rewrites the frame's size prefix. `None` if a marker is
/// missing, which would be a bug.
pub fn splice_records(frame: Bytes, flexible: bool, records: Vec<Bytes>) -> Option<Vec<Bytes>> {
    let marker_prefix: &[u8] = if flexible {
        // Compact bytes: unsigned varint of length + 1.
        &[RECORDS_MARKER.len() as u8 + 1]
    } else {
        &(RECORDS_MARKER.len() as i32).to_be_bytes()
    };
    let mut parts = Vec::with_capacity(2 + 3 * records.len());
    parts.push(Bytes::new()); // the size prefix, once the total is known
    let mut cursor = 4;
    for blob in records {
        let found = find_marker(frame.get(cursor..)?, marker_prefix)? + cursor;
        parts.push(frame.slice(cursor..found - marker_prefix.len()));
        let mut prefix = BytesMut::with_capacity(5);
        if flexible {
            let len = u32::try_from(blob.len()).ok()?.checked_add(1)?;
            crate::primitives::write_unsigned_varint(&mut prefix, len);
        } else {
            prefix.put_i32(i32::try_from(blob.len()).ok()?);
        }
        parts.push(prefix.freeze());
        parts.push(blob);
        cursor = found + RECORDS_MARKER.len();
    }
    parts.push(frame.slice(cursor..));
    let size: usize = parts.iter().map(Bytes::len).sum();
    let size = i32::try_from(size).ok()?;
    parts[0] = Bytes::copy_from_slice(&size.to_be_bytes());
    parts.retain(|part| !part.is_empty());
    Some(parts)
}

/// The position of the first marker in `haystack` preceded by `prefix`.
fn find_marker(haystack: &[u8], prefix: &[u8]) -> Option<usize> {
    let mut from = prefix.len();
    while from + RECORDS_MARKER.len() <= haystack.len() {
        let offset = haystack
            .get(from..)?
            .windows(RECORDS_MARKER.len())
            .position(|window| window == RECORDS_MARKER)?;
        let at = from + offset;
        if haystack.get(at - prefix.len()..at) == Some(prefix) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}
