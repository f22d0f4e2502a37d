//! One record inside a batch: the [`Record`] and [`Header`] values callers see, the encoding of a
//! record body (length, attributes, timestamp delta, offset delta, key, value, headers), and its
//! decoding with every length checked against what remains. It does not know about batch headers
//! or compression.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::varint::{
    put_varint, put_varlong, read_varint, read_varlong, varint_size, varlong_size,
};
use crate::{Error, Offset, Timestamp};

/// One record, with its absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The record's place in the partition log.
    pub offset: Offset,
    /// Create time, or the batch's append time for `LogAppendTime` batches.
    pub timestamp: Timestamp,
    /// The key; `None` is a null key (distinct from an empty one).
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone (compaction deletes the key).
    pub value: Option<Bytes>,
    /// Record headers, in order; keys may repeat.
    pub headers: Vec<Header>,
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Header key (UTF-8; never null on the wire).
    pub key: String,
    /// Header value; `None` is null.
    pub value: Option<Bytes>,
}

/// A record's fields relative to its batch, as stored on the wire (what the record tests compare).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordFields {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// Appends one record (including its length prefix) to `out`.
pub(crate) fn encode_record(
    out: &mut BytesMut,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> Result<(), Error> {
    let mut body_size = 1 + varlong_size(timestamp_delta) + varint_size(offset_delta);
    body_size += nullable_size(key)? + nullable_size(value)?;
    body_size += varint_size(wire_length(headers.len())?);
    for header in headers {
        body_size += nullable_size(Some(header.key.as_bytes()))?;
        body_size += nullable_size(header.value.as_deref())?;
    }
    let body_length = wire_length(body_size)?;
    out.reserve(varint_size(body_length) + body_size);
    put_varint(out, body_length);
    let body_start = out.len();
    // Record attributes are unused in magic 2 and always zero.
    out.put_u8(0);
    put_varlong(out, timestamp_delta);
    put_varint(out, offset_delta);
    put_nullable(out, key);
    put_nullable(out, value);
    put_varint(out, wire_length(headers.len())?);
    for header in headers {
        put_nullable(out, Some(header.key.as_bytes()));
        put_nullable(out, header.value.as_deref());
    }
    assert_eq!(
        out.len() - body_start,
        body_size,
        "record size computed wrongly"
    );
    Ok(())
}

/// Where one record's fields lie, relative to the buffer it was read from. Header keys and values
/// are reported separately, as they are read (see [`read_record`]), so that walking a record
/// allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordPlace {
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Range<usize>>,
    pub value: Option<Range<usize>>,
}

/// Reads the record that starts at `*position` in `bytes`, checking the whole record grammar
/// (lengths against what remains, header keys non-null UTF-8, no bytes left inside the record),
/// and moves `*position` past it. Calls `on_header(count, key, value)` for each record header in
/// order, `count` being the record's number of headers (checked to be at most half the record's
/// length, so reserving room for them is bounded by the input). On error `*position` is unchanged; headers
/// already reported belong to a record that failed and must be discarded.
///
/// This is the one implementation of the record grammar: [`decode_record`] builds owned records
/// from it, and the batch walk checks records in place with it.
pub(crate) fn read_record<'a>(
    bytes: &'a [u8],
    position: &mut usize,
    on_header: &mut impl FnMut(usize, &'a str, Option<Range<usize>>),
) -> Result<RecordPlace, Error> {
    let mut reader = Reader {
        bytes,
        position: *position,
        end: bytes.len(),
    };
    let length = reader.varint()?;
    let Ok(length) = usize::try_from(length) else {
        return Err(Error::InvalidRecord("negative record length"));
    };
    if length > reader.remaining() {
        return Err(Error::InvalidRecord("record length exceeds the batch"));
    }
    reader.end = reader.position + length;
    let _attributes = reader.byte()?;
    let timestamp_delta = reader.varlong()?;
    let offset_delta = reader.varint()?;
    let key = reader.nullable()?;
    let value = reader.nullable()?;
    let header_count = reader.varint()?;
    let Ok(header_count) = usize::try_from(header_count) else {
        return Err(Error::InvalidRecord("negative header count"));
    };
    // Each header needs at least two bytes, so a count above that cannot be honest; checking
    // first keeps any allocation a caller makes bounded by the input.
    if header_count > reader.remaining() / 2 {
        return Err(Error::InvalidRecord("header count exceeds the record"));
    }
    for _ in 0..header_count {
        let Some(key) = reader.nullable()? else {
            return Err(Error::InvalidRecord("null header key"));
        };
        let Ok(key) = std::str::from_utf8(&bytes[key]) else {
            return Err(Error::InvalidHeaderKey);
        };
        let value = reader.nullable()?;
        on_header(header_count, key, value);
    }
    if reader.remaining() != 0 {
        return Err(Error::InvalidRecord(
            "record length disagrees with its fields",
        ));
    }
    *position = reader.position;
    Ok(RecordPlace {
        timestamp_delta,
        offset_delta,
        key,
        value,
    })
}

/// Decodes the record that starts at `*position` in `bytes` and moves `*position` past it. Keys,
/// values and header values are slices of `bytes` (no copy).
#[cfg(test)]
pub(crate) fn decode_record(bytes: &Bytes, position: &mut usize) -> Result<RecordFields, Error> {
    let mut headers = Vec::new();
    let place = read_record(bytes, position, &mut |count, key, value| {
        collect_header(&mut headers, bytes, count, key, value);
    })?;
    Ok(RecordFields {
        timestamp_delta: place.timestamp_delta,
        offset_delta: place.offset_delta,
        key: place.key.map(|range| bytes.slice(range)),
        value: place.value.map(|range| bytes.slice(range)),
        headers,
    })
}

/// Appends the header [`read_record`] reported to `headers`, as an owned [`Header`] whose value is
/// a slice of `bytes` (the buffer the record was read from).
pub(crate) fn collect_header(
    headers: &mut Vec<Header>,
    bytes: &Bytes,
    count: usize,
    key: &str,
    value: Option<Range<usize>>,
) {
    if headers.is_empty() {
        headers.reserve_exact(count);
    }
    headers.push(Header {
        key: key.to_owned(),
        value: value.map(|range| bytes.slice(range)),
    });
}

/// A cursor over `bytes[position..end]`.
struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    end: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.end - self.position
    }

    fn rest(&self) -> &[u8] {
        &self.bytes[self.position..self.end]
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let Some(&res) = self.rest().first() else {
            return Err(Error::InvalidRecord("record ends inside its attributes"));
        };
        self.position += 1;
        Ok(res)
    }

    fn varint(&mut self) -> Result<i32, Error> {
        let (res, used) = read_varint(self.rest())?;
        self.position += used;
        Ok(res)
    }

    fn varlong(&mut self) -> Result<i64, Error> {
        let (res, used) = read_varlong(self.rest())?;
        self.position += used;
        Ok(res)
    }

    fn nullable(&mut self) -> Result<Option<Range<usize>>, Error> {
        let length = self.varint()?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(length) = usize::try_from(length) else {
            return Err(Error::InvalidRecord("negative field length"));
        };
        if length > self.remaining() {
            return Err(Error::InvalidRecord("field length exceeds the record"));
        }
        let res = self.position..self.position + length;
        self.position += length;
        Ok(Some(res))
    }
}

fn wire_length(length: usize) -> Result<i32, Error> {
    match i32::try_from(length) {
        Ok(res) => Ok(res),
        Err(_) => Err(Error::FieldTooLong(length)),
    }
}

fn nullable_size(field: Option<&[u8]>) -> Result<usize, Error> {
    match field {
        None => Ok(varint_size(-1)),
        Some(bytes) => Ok(varint_size(wire_length(bytes.len())?) + bytes.len()),
    }
}

fn put_nullable(out: &mut BytesMut, field: Option<&[u8]>) {
    match field {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_varint(out, bytes.len() as i32);
            out.put_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn arbitrary_fields() -> impl Strategy<Value = RecordFields> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40));
        let header = ("[a-z\u{e9}]{0,8}", bytes()).prop_map(|(key, value)| Header {
            key,
            value: value.map(Bytes::from),
        });
        (
            any::<i64>(),
            0..i32::MAX,
            bytes(),
            bytes(),
            proptest::collection::vec(header, 0..4),
        )
            .prop_map(|(timestamp_delta, offset_delta, key, value, headers)| {
                RecordFields {
                    timestamp_delta,
                    offset_delta,
                    key: key.map(Bytes::from),
                    value: value.map(Bytes::from),
                    headers,
                }
            })
    }

    #[test]
    fn known_encoding() {
        let mut out = BytesMut::new();
        let headers = [Header {
            key: "h".to_owned(),
            value: None,
        }];
        encode_record(&mut out, 1, 2, None, Some(b"v"), &headers).unwrap();
        // length 10, attributes, ts delta 1, offset delta 2, null key, value "v", 1 header: "h", null.
        assert_eq!(&out[..], &[20, 0, 2, 4, 1, 2, b'v', 2, 2, b'h', 1][..]);
    }

    #[test]
    fn rejects_lying_lengths() {
        let check = |bytes: &[u8], expected: Error| {
            let bytes = Bytes::copy_from_slice(bytes);
            let mut position = 0;
            assert_eq!(decode_record(&bytes, &mut position), Err(expected));
            assert_eq!(position, 0);
        };
        check(
            &[20, 0, 2, 4, 1, 2, b'v', 0],
            Error::InvalidRecord("record length exceeds the batch"),
        );
        check(&[1], Error::InvalidRecord("negative record length"));
        check(
            &[16, 0, 0, 0, 1, 20, b'v', 0, 0],
            Error::InvalidRecord("field length exceeds the record"),
        );
        check(
            &[14, 0, 0, 0, 1, 1, 0, 0],
            Error::InvalidRecord("record length disagrees with its fields"),
        );
        check(
            &[18, 0, 0, 0, 1, 1, 200, 1, 0, 0],
            Error::InvalidRecord("header count exceeds the record"),
        );
        check(&[18, 0, 0, 0, 1, 1, 2, 2, 0xff, 1], Error::InvalidHeaderKey);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn round_trip(fields in arbitrary_fields(), prefix in 0usize..3) {
            let mut out = BytesMut::new();
            out.put_bytes(7, prefix);
            encode_record(
                &mut out,
                fields.timestamp_delta,
                fields.offset_delta,
                fields.key.as_deref(),
                fields.value.as_deref(),
                &fields.headers,
            ).unwrap();
            let bytes = out.freeze();
            let mut position = prefix;
            prop_assert_eq!(decode_record(&bytes, &mut position), Ok(fields));
            prop_assert_eq!(position, bytes.len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let bytes = Bytes::from(bytes);
            let mut position = 0;
            if decode_record(&bytes, &mut position).is_ok() {
                prop_assert!(position <= bytes.len());
            }
        }
    }
}
