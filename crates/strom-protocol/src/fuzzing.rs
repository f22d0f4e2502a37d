//! The checks the fuzz targets run (feature `testing`), kept here so that the fuzz corpus can be
//! replayed by the regular test suite with exactly the same checks.

use bytes::{Bytes, BytesMut};

use crate::{Error, decode_request, encode_request, split_frame};

/// Decodes `data` as a request frame (without its size prefix). Whatever decodes must re-encode
/// to a frame that decodes to the same header and request; that is asserted, so a violation
/// panics (which is what a fuzzer looks for). Returns the decode error for malformed input.
pub fn check_request_frame(data: &[u8]) -> Result<(), Error> {
    let (header, request) = decode_request(Bytes::copy_from_slice(data))?;
    let mut buf = BytesMut::new();
    encode_request(&header, &request, &mut buf).expect("a decoded request re-encodes");
    let frame = split_frame(&mut buf, u32::MAX)
        .expect("our own frame has a valid size")
        .expect("our own frame is complete");
    let again = decode_request(frame).expect("a re-encoded request decodes");
    assert_eq!(again, (header, request), "re-encoding changed the request");
    Ok(())
}
