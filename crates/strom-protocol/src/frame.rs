//! Framing: every request and response travels as a 4-byte big-endian size followed by that
//! many bytes (header, then body). [`split_frame`] cuts complete frames off a read buffer,
//! checking the size against a cap before anything is allocated; the other functions decode
//! and encode whole frames. No I/O happens here: the caller owns the socket.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::Error;
use crate::api::{ApiKey, Request, Response};
use crate::header::{RequestHeader, ResponseHeader};

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 100 * 1024 * 1024;

/// The most [`split_frame`] reserves ahead for an incomplete frame.
const RESERVE_AHEAD_MAX: usize = 64 * 1024;

/// Splits one complete frame (without its size prefix) off the front of `buf`, without
/// copying. Returns `Ok(None)` when more bytes are needed, and an error when the size prefix is
/// negative or exceeds `max_frame_size`; the caller should then close the connection.
///
/// ```
/// use bytes::BytesMut;
/// use strom_protocol::split_frame;
/// let mut buf = BytesMut::from(&[0, 0, 0, 2, 7, 8, 9][..]);
/// assert_eq!(&split_frame(&mut buf, 1024).unwrap().unwrap()[..], &[7, 8]);
/// assert_eq!(&buf[..], &[9]);
/// assert!(split_frame(&mut buf, 1024).unwrap().is_none());
/// ```
pub fn split_frame(buf: &mut BytesMut, max_frame_size: u32) -> Result<Option<Bytes>, Error> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    let Ok(size) = u32::try_from(size) else {
        return Err(Error::InvalidLength(i64::from(size)));
    };
    if size > max_frame_size {
        return Err(Error::FrameTooLarge {
            size,
            max: max_frame_size,
        });
    }
    let total = 4 + size as usize;
    if buf.len() < total {
        // Make room for more of the frame, but not all of it at once: a peer that announces a
        // large frame and sends nothing should not cost us the whole allocation.
        buf.reserve((total - buf.len()).min(RESERVE_AHEAD_MAX));
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(size as usize).freeze()))
}

/// Decodes a request frame (without its size prefix): the header, then the body its API key
/// and version call for. Every byte must be consumed.
pub fn decode_request(frame: Bytes) -> Result<(RequestHeader, Request), Error> {
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf)?;
    let request = Request::decode(header.api_key, header.api_version, &mut buf)?;
    if !buf.is_empty() {
        return Err(Error::TrailingBytes(buf.len()));
    }
    Ok((header, request))
}

/// Appends a whole request frame (size prefix, header, body) to `buf`.
pub fn encode_request(
    header: &RequestHeader,
    request: &Request,
    buf: &mut BytesMut,
) -> Result<(), Error> {
    if header.api_key != request.api_key() {
        return Err(Error::ApiKeyMismatch {
            header: header.api_key,
            body: request.api_key(),
        });
    }
    let start = begin_frame(buf);
    header.encode(buf)?;
    request.encode(header.api_version, buf)?;
    end_frame(buf, start)
}

/// Decodes a response frame (without its size prefix) to a request of `api_key` at
/// `api_version`. Every byte must be consumed.
pub fn decode_response(
    frame: Bytes,
    api_key: ApiKey,
    api_version: i16,
) -> Result<(ResponseHeader, Response), Error> {
    let mut buf = frame;
    let header = ResponseHeader::decode(&mut buf, api_key.response_header_version(api_version))?;
    let response = Response::decode(api_key, api_version, &mut buf)?;
    if !buf.is_empty() {
        return Err(Error::TrailingBytes(buf.len()));
    }
    Ok((header, response))
}

/// Appends a whole response frame (size prefix, header, body at `api_version`) to `buf`.
///
/// To answer an ApiVersions request of an unsupported version, pass `api_version` 0 and an
/// ApiVersions response with error 35 (UNSUPPORTED_VERSION), as Kafka does.
pub fn encode_response(
    correlation_id: i32,
    api_version: i16,
    response: &Response,
    buf: &mut BytesMut,
) -> Result<(), Error> {
    let start = begin_frame(buf);
    let header_version = response.api_key().response_header_version(api_version);
    ResponseHeader::new(correlation_id).encode(buf, header_version)?;
    response.encode(api_version, buf)?;
    end_frame(buf, start)
}

fn begin_frame(buf: &mut BytesMut) -> usize {
    let start = buf.len();
    buf.put_i32(0);
    start
}

fn end_frame(buf: &mut BytesMut, start: usize) -> Result<(), Error> {
    let body_len = buf.len() - start - 4;
    let Ok(size) = i32::try_from(body_len) else {
        buf.truncate(start);
        return Err(Error::TooLong(body_len));
    };
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_frame_is_rejected_before_reading_it() {
        let mut buf = BytesMut::from(&[0x7f, 0xff, 0xff, 0xff, 1][..]);
        assert!(matches!(
            split_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE),
            Err(Error::FrameTooLarge {
                size: 0x7fff_ffff,
                ..
            })
        ));
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(matches!(
            split_frame(&mut buf, 16),
            Err(Error::InvalidLength(-1))
        ));
    }

    #[test]
    fn announced_size_reserves_only_a_bounded_amount() {
        let mut buf = BytesMut::from(&[0x03, 0x00, 0x00, 0x00][..]);
        assert!(
            split_frame(&mut buf, DEFAULT_MAX_FRAME_SIZE)
                .unwrap()
                .is_none()
        );
        assert!(
            buf.capacity() <= 2 * RESERVE_AHEAD_MAX,
            "{}",
            buf.capacity()
        );
    }

    #[test]
    fn partial_frame_waits_for_more() {
        let mut buf = BytesMut::from(&[0, 0][..]);
        assert!(split_frame(&mut buf, 16).unwrap().is_none());
        buf.extend_from_slice(&[0, 3, 1, 2]);
        assert!(split_frame(&mut buf, 16).unwrap().is_none());
        buf.extend_from_slice(&[3]);
        assert_eq!(&split_frame(&mut buf, 16).unwrap().unwrap()[..], &[1, 2, 3]);
        assert!(buf.is_empty());
    }
}
