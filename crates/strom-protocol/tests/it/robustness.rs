//! Robustness: arbitrary bytes and mutated valid frames never panic the decoder, lengths read
//! off the wire are checked before allocation (asserted with the counting allocator), and
//! decoding allocates at most a small multiple of its input.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use strom_protocol::messages::metadata::MetadataRequest;
use strom_protocol::random::Rng;
use strom_protocol::{
    ApiKey, Error, Message, Request, RequestHeader, Response, decode_request, encode_request,
};

use crate::alloc_counter::allocated_by;

/// Allocation allowed per input byte, plus a fixed allowance for small inputs.
const ALLOCATION_PER_INPUT_BYTE: usize = 64;
const ALLOCATION_ALLOWANCE: usize = 16 * 1024;

/// Decodes `frame` as a request, and its tail as every request and response body, asserting
/// only that nothing panics and that allocation stays bounded.
fn decode_everything(frame: &[u8]) {
    let (_, allocated) = allocated_by(|| {
        let _ = strom_protocol::fuzzing::check_request_frame(frame);
    });
    assert_bounded(frame.len(), allocated);
    for api_key in ApiKey::all() {
        let versions = api_key.supported_versions();
        for version in versions.min..=versions.max {
            let (_, allocated) = allocated_by(|| {
                let _ = Request::decode(*api_key, version, &mut Bytes::copy_from_slice(frame));
                let _ = Response::decode(*api_key, version, &mut Bytes::copy_from_slice(frame));
            });
            assert_bounded(2 * frame.len(), allocated);
        }
    }
}

#[track_caller]
fn assert_bounded(input_len: usize, allocated: usize) {
    let bound = ALLOCATION_ALLOWANCE + ALLOCATION_PER_INPUT_BYTE * input_len;
    assert!(
        allocated <= bound,
        "{input_len} input bytes allocated {allocated} bytes"
    );
}

/// A random valid request frame (without size prefix), from `seed`.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let api_key = ApiKey::all()[rng.below(ApiKey::all().len() as u64) as usize];
    let versions = api_key.supported_versions();
    let version = versions.min + rng.below((versions.max - versions.min + 1) as u64) as i16;
    let mut request = Request::random(api_key, rng);
    request.normalize_to(version);
    let mut buf = BytesMut::new();
    encode_request(&RequestHeader::new(api_key, version, 1), &request, &mut buf).unwrap();
    buf[4..].to_vec()
}

/// Cases per property: 256 in the test suite; `STROM_FUZZ_CASES=300000` for a long local run.
fn fuzz_cases() -> u32 {
    std::env::var("STROM_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        decode_everything(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        seed: u64,
        tail in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let mut rng = Rng::new(seed);
        let mut frame = random_frame(&mut rng);
        // Keep api key, version and correlation id, so the body decoder is reached.
        frame.truncate(8);
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(&tail);
        decode_everything(&frame);
    }

    #[test]
    fn mutated_valid_frames_never_panic(seed: u64) {
        let mut rng = Rng::new(seed);
        let mut frame = random_frame(&mut rng);
        for _ in 0..1 + rng.below(4) {
            if frame.is_empty() {
                break;
            }
            let position = rng.below(frame.len() as u64) as usize;
            match rng.below(4) {
                0 => frame[position] = rng.next_u64() as u8,
                1 => frame[position] ^= 1 << rng.below(8),
                2 => frame.truncate(position),
                _ => frame.insert(position, rng.next_u64() as u8),
            }
        }
        decode_everything(&frame);
    }
}

#[track_caller]
fn check_rejected_cheaply(frame: &[u8], expect: impl Fn(&Error) -> bool) {
    let (res, allocated) = allocated_by(|| decode_request(Bytes::copy_from_slice(frame)));
    match res {
        Err(error) => assert!(expect(&error), "unexpected error {error:?}"),
        Ok(decoded) => panic!("decoded {decoded:?}"),
    }
    assert!(allocated < 1024, "allocated {allocated} bytes");
}

fn header(api_key: ApiKey, version: i16) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::new(api_key, version, 1)
        .encode(&mut buf)
        .unwrap();
    buf.to_vec()
}

#[test]
fn huge_array_count_is_rejected_without_allocating() {
    // Metadata v1: a 5-byte body whose topics array claims 2^31 - 1 elements.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 0x00]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidLength(0x7fff_ffff)));
    // The same body straight into the message decoder.
    let (res, allocated) = allocated_by(|| {
        MetadataRequest::decode(&mut Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]), 1)
    });
    assert!(matches!(res, Err(Error::InvalidLength(_))));
    assert!(allocated < 1024, "allocated {allocated} bytes");
    // Metadata v9 (flexible): a compact array claiming 2^31 elements.
    let mut frame = header(ApiKey::Metadata, 9);
    frame.extend_from_slice(&[0x81, 0x80, 0x80, 0x80, 0x08]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidLength(0x8000_0000)));
}

#[test]
fn many_small_elements_allocate_a_bounded_multiple_of_the_input() {
    // Metadata v1 with 10,000 topics of empty name: 2 bytes on the wire, 64 in memory each.
    for count in [10u32, 10_000] {
        let mut frame = header(ApiKey::Metadata, 1);
        frame.extend_from_slice(&count.to_be_bytes());
        for _ in 0..count {
            frame.extend_from_slice(&[0, 0]);
        }
        let (res, allocated) = allocated_by(|| decode_request(Bytes::copy_from_slice(&frame)));
        let (_, request) = res.unwrap();
        let Request::Metadata(metadata) = request else {
            panic!("not metadata");
        };
        assert_eq!(
            metadata.topics.map(|topics| topics.len()),
            Some(count as usize)
        );
        assert!(
            allocated <= 64 * frame.len(),
            "{} input bytes allocated {allocated} bytes",
            frame.len()
        );
    }
}

#[test]
fn huge_string_and_tagged_counts_are_rejected_without_allocating() {
    // Produce v3: transactional id claiming 32767 bytes.
    let mut frame = header(ApiKey::Produce, 3);
    frame.extend_from_slice(&[0x7f, 0xff, 0x00]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidLength(32767)));
    // Header v2 with a tagged-field count of 2^32 - 1.
    let mut frame = header(ApiKey::Metadata, 9);
    frame.pop();
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidLength(_)));
    // A tagged field claiming more bytes than remain.
    let mut frame = header(ApiKey::Metadata, 9);
    frame.pop();
    frame.extend_from_slice(&[0x01, 0x05, 0xff, 0xff, 0xff, 0x0f]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidLength(_)));
}

#[test]
fn typed_errors_for_bad_headers_and_strings() {
    check_rejected_cheaply(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff], |e| {
        matches!(e, Error::UnknownApiKey(0x7f00))
    });
    let frame = header(ApiKey::Metadata, 13);
    check_rejected_cheaply(&frame, |e| {
        matches!(
            e,
            Error::UnsupportedVersion {
                api_key: ApiKey::Metadata,
                version: 13
            }
        )
    });
    // Metadata v1 with one topic whose name is not UTF-8.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.extend_from_slice(&[0, 0, 0, 1, 0, 2, 0xc3, 0x28]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::InvalidUtf8));
    // Metadata v0 does not allow a null topics array.
    let mut frame = header(ApiKey::Metadata, 0);
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::UnexpectedNull));
    // Truncated mid-field.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.extend_from_slice(&[0, 0]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::Truncated { .. }));
    // Trailing bytes after a complete body.
    let mut frame = header(ApiKey::Metadata, 1);
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0]);
    check_rejected_cheaply(&frame, |e| matches!(e, Error::TrailingBytes(1)));
}

#[test]
fn header_prefix_is_readable_for_unsupported_versions() {
    // A broker answers ApiVersions v9 with a v0 error response; it needs the correlation id.
    let frame = [0, 18, 0, 9, 0, 0, 0, 42, 0xff, 0xff, 0];
    let prefix = RequestHeader::peek(&frame).unwrap();
    assert_eq!(
        (prefix.api_key, prefix.api_version, prefix.correlation_id),
        (18, 9, 42)
    );
    assert!(matches!(
        decode_request(Bytes::copy_from_slice(&frame)),
        Err(Error::UnsupportedVersion {
            api_key: ApiKey::ApiVersions,
            version: 9
        })
    ));
    assert!(matches!(
        RequestHeader::peek(&frame[..7]),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn null_in_non_nullable_version_is_an_encode_error() {
    let request = MetadataRequest {
        topics: None,
        ..MetadataRequest::default()
    };
    let mut buf = BytesMut::new();
    assert!(matches!(
        request.encode(&mut buf, 0),
        Err(Error::NullNotAllowed)
    ));
    buf.clear();
    request.encode(&mut buf, 1).unwrap();
    assert_eq!(&buf[..], &[0xff, 0xff, 0xff, 0xff]);
}
