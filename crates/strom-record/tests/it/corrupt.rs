//! Hostile and damaged input: arbitrary bytes never panic, every damaged byte is caught, lying
//! lengths and counts cost nothing, and decompression bombs stop at the cap for every codec.

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use strom_record::{
    BatchBuilder, BatchConfig, BatchHeader, Compression, DecodeLimits, Error, ErrorKind, Offset,
    Timestamp, ValidatedBatch, complete_batches, records_of, split_batches, verify_crc,
};

use crate::peak_memory::peak_allocated_by;
use crate::strategy::batch;

/// The CRC-covered region starts at the attributes, byte 21; the CRC itself is bytes 17..21.
const CRC_REGION: usize = 21;

/// Writes a header for a records area the test crafted itself, with a valid CRC.
fn seal(compression: Compression, record_count: i32, last_offset_delta: i32, area: &[u8]) -> Bytes {
    let mut bytes = BytesMut::new();
    bytes.put_i64(0);
    bytes.put_i32((BatchHeader::SIZE - 12 + area.len()) as i32);
    bytes.put_i32(-1);
    bytes.put_i8(2);
    bytes.put_u32(0);
    bytes.put_u16(u16::from(compression.id()));
    bytes.put_i32(last_offset_delta);
    bytes.put_i64(0);
    bytes.put_i64(0);
    bytes.put_i64(-1);
    bytes.put_i16(-1);
    bytes.put_i32(-1);
    bytes.put_i32(record_count);
    bytes.put_slice(area);
    reseal(&mut bytes);
    bytes.freeze()
}

/// Recomputes the CRC after a test changed covered bytes on purpose.
fn reseal(bytes: &mut [u8]) {
    let crc = crc32c::crc32c(&bytes[CRC_REGION..]);
    bytes[17..CRC_REGION].copy_from_slice(&crc.to_be_bytes());
}

/// Feeds `bytes` to every reader; none may panic, and each error must be "corrupt input".
fn check_never_panics(bytes: &[u8]) {
    let limits = DecodeLimits {
        max_uncompressed_bytes: 1 << 20,
    };
    let shared = Bytes::copy_from_slice(bytes);
    let results = [
        BatchHeader::parse(bytes).map(drop),
        verify_crc(bytes),
        records_of(bytes, limits).map(drop),
        split_batches(shared.clone()).map(drop),
        complete_batches(shared.clone()).map(drop),
        ValidatedBatch::new(shared)
            .and_then(|batch| batch.records(limits))
            .map(drop),
    ];
    for res in results {
        if let Err(error) = res {
            assert!(error.is_corrupt_input(), "{error}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_never_panics(&bytes);
    }

    /// Random bytes after a plausible header reach the record decoder and the codecs.
    #[test]
    fn arbitrary_records_areas_never_panic(
        compression in crate::strategy::compression(),
        record_count in prop_oneof![0..5i32, any::<i32>()],
        last_offset_delta in prop_oneof![0..5i32, any::<i32>()],
        area in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let sealed = seal(compression, record_count, last_offset_delta, &area);
        check_never_panics(&sealed);
    }

    /// Any single damaged byte in the CRC region or the CRC is caught by the CRC check.
    #[test]
    fn damaged_bytes_fail_the_crc(spec in batch(5, true), index: prop::sample::Index, flip in 1u8..) {
        let built = spec.build();
        let mut bytes = built.as_bytes().to_vec();
        let position = 17 + index.index(bytes.len() - 17);
        bytes[position] ^= flip;
        let error = ValidatedBatch::new(Bytes::from(bytes.clone())).unwrap_err();
        prop_assert!(error.is_corrupt_input());
        if position >= CRC_REGION {
            // Unless the damage also broke a length, the CRC is what catches it.
            if let Err(Error::CrcMismatch { expected, actual }) = verify_crc(&bytes) {
                prop_assert_eq!(expected, built.header().crc);
                prop_assert_ne!(actual, expected);
            }
        }
    }

    /// Damage that a sender resealed with a fresh CRC (a buggy client) never panics the record
    /// decoder, and either decodes or gives a corrupt-input error.
    #[test]
    fn resealed_damage_never_panics(spec in batch(5, false), index: prop::sample::Index, flip in 1u8..) {
        let mut bytes = spec.build().as_bytes().to_vec();
        let position = CRC_REGION + index.index(bytes.len() - CRC_REGION);
        bytes[position] ^= flip;
        reseal(&mut bytes);
        check_never_panics(&bytes);
    }
}

#[track_caller]
fn check_kind(bytes: Bytes, expected: ErrorKind) -> Error {
    let error = ValidatedBatch::new(bytes)
        .and_then(|batch| batch.records(DecodeLimits::default()))
        .unwrap_err();
    assert_eq!(error.kind(), expected, "{error}");
    error
}

#[test]
fn header_errors_name_what_went_wrong() {
    let good = {
        let mut builder = BatchBuilder::new(BatchConfig::default());
        builder.push(Timestamp(0), None, Some(Bytes::from("v")), vec![]);
        builder.build().unwrap().into_bytes()
    };
    let patched = |at: usize, bytes: &[u8]| {
        let mut res = good.to_vec();
        res[at..at + bytes.len()].copy_from_slice(bytes);
        Bytes::from(res)
    };
    let error = check_kind(good.slice(..60), ErrorKind::Corrupt);
    assert_eq!(
        error,
        Error::Truncated {
            needed: 61,
            available: 60
        }
    );
    let error = check_kind(patched(16, &[1]), ErrorKind::Corrupt);
    assert_eq!(error, Error::BadMagic(1));
    let error = check_kind(patched(8, &(-5i32).to_be_bytes()), ErrorKind::Corrupt);
    assert_eq!(error, Error::InvalidBatchLength(-5));
    let error = check_kind(patched(8, &48i32.to_be_bytes()), ErrorKind::Corrupt);
    assert_eq!(error, Error::InvalidBatchLength(48));
    let error = check_kind(patched(0, &(-1i64).to_be_bytes()), ErrorKind::Corrupt);
    assert!(
        matches!(
            error,
            Error::InvalidHeaderField {
                field: "baseOffset",
                ..
            }
        ),
        "{error}"
    );
    let error = check_kind(patched(17, &[0, 0, 0, 0]), ErrorKind::Corrupt);
    assert!(
        matches!(error, Error::CrcMismatch { expected: 0, .. }),
        "{error}"
    );
    let mut longer = good.to_vec();
    longer.push(0);
    let error = check_kind(Bytes::from(longer), ErrorKind::Corrupt);
    assert!(matches!(error, Error::BatchSizeMismatch { .. }), "{error}");
    let mut unknown_codec = patched(22, &[5]).to_vec();
    reseal(&mut unknown_codec);
    let error = check_kind(
        Bytes::from(unknown_codec),
        ErrorKind::UnsupportedCompression,
    );
    assert_eq!(error, Error::UnknownCompression(5));
}

#[test]
fn record_errors_name_what_went_wrong() {
    // One record: length 6, attributes, timestamp delta 0, offset delta 0, null key, null
    // value, no headers.
    let record = [12u8, 0, 0, 0, 1, 1, 0];
    let error = check_kind(
        seal(Compression::None, 2, 1, &record),
        ErrorKind::InvalidRecord,
    );
    assert_eq!(
        error,
        Error::RecordCountMismatch {
            declared: 2,
            actual: 1
        }
    );
    let lying_count = seal(Compression::None, i32::MAX, 1, &record);
    let (error, peak) = peak_allocated_by(|| check_kind(lying_count, ErrorKind::InvalidRecord));
    assert!(
        peak < 4096,
        "a lying record count allocates nothing for it: {peak}"
    );
    assert_eq!(
        error,
        Error::RecordCountMismatch {
            declared: i32::MAX as u32,
            actual: 1
        }
    );
    let two = [record, record].concat();
    let error = check_kind(
        seal(Compression::None, 1, 0, &two),
        ErrorKind::InvalidRecord,
    );
    assert_eq!(error, Error::TrailingBytes(7));
    let error = check_kind(
        seal(Compression::None, 2, 1, &two),
        ErrorKind::InvalidRecord,
    );
    assert!(
        matches!(error, Error::InvalidRecord(_)),
        "repeated offset delta: {error}"
    );
    let later = [12u8, 0, 0, 4, 1, 1, 0];
    let error = check_kind(
        seal(Compression::None, 1, 1, &later),
        ErrorKind::InvalidRecord,
    );
    assert!(
        matches!(error, Error::InvalidRecord(_)),
        "offset delta past the batch: {error}"
    );
    let batch = ValidatedBatch::new(seal(Compression::None, 1, 2, &later)).unwrap();
    assert_eq!(
        batch.records(DecodeLimits::default()).unwrap()[0].offset,
        Offset(2)
    );
    let error = batch
        .records_for_append(DecodeLimits::default())
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRecord);
}

/// A batch whose single record's value is `size` zero bytes, compressed with `compression`.
fn bomb(compression: Compression, size: usize) -> ValidatedBatch {
    let mut builder = BatchBuilder::new(BatchConfig {
        compression,
        ..BatchConfig::default()
    });
    builder.push(
        Timestamp(0),
        None,
        Some(Bytes::from(vec![0u8; size])),
        vec![],
    );
    builder.build().unwrap()
}

#[test]
fn decompression_bombs_stop_at_the_cap() {
    let limit = 64 * 1024;
    let limits = DecodeLimits {
        max_uncompressed_bytes: limit,
    };
    for compression in Compression::ALL {
        let batch = bomb(compression, 4 * 1024 * 1024);
        if compression != Compression::None {
            assert!(
                batch.as_bytes().len() < 256 * 1024,
                "{compression} compresses zeros"
            );
        }
        let (res, peak) = peak_allocated_by(|| batch.records(limits));
        let error = res.unwrap_err();
        assert_eq!(
            error,
            Error::DecompressedTooLarge { limit },
            "{compression}"
        );
        assert_eq!(error.kind(), ErrorKind::TooLarge);
        // The output buffer stops at the cap; codecs add their own fixed working memory
        // (gzip's inflate state, LZ4's 64 KiB blocks, snappy's 32 KiB blocks, zstd's window).
        println!("{compression}: peak {peak} bytes decoding a 4 MiB bomb with a {limit} byte cap");
        assert!(peak < 2 * limit + 512 * 1024, "{compression}: {peak}");
        let error = records_of(batch.as_bytes(), limits).unwrap_err();
        assert_eq!(
            error,
            Error::DecompressedTooLarge { limit },
            "{compression}"
        );

        // Just under the cap decodes.
        let batch = bomb(compression, limit - 100);
        assert_eq!(batch.records(limits).unwrap().len(), 1, "{compression}");
    }
}

/// Codec headers that claim huge sizes are refused before anything that size is allocated
/// (the test would run out of memory or time otherwise).
#[test]
fn lying_codec_headers_are_refused_cheaply() {
    let limits = DecodeLimits::default();
    // Raw snappy claiming 2^32 - 1 bytes.
    let raw_snappy = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    let batch = ValidatedBatch::new(seal(Compression::Snappy, 1, 0, &raw_snappy)).unwrap();
    let (res, peak) = peak_allocated_by(|| batch.records(limits));
    assert!(res.unwrap_err().is_corrupt_input());
    assert!(peak < 4096, "{peak}");
    // Xerial-framed snappy whose block claims 2^32 - 1 bytes.
    let mut framed = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    framed.extend_from_slice(&6u32.to_be_bytes());
    framed.extend_from_slice(&raw_snappy);
    let batch = ValidatedBatch::new(seal(Compression::Snappy, 1, 0, &framed)).unwrap();
    let (res, peak) = peak_allocated_by(|| batch.records(limits));
    assert!(res.unwrap_err().is_corrupt_input());
    assert!(peak < 4096, "{peak}");
    // A zstd frame header asking for a 2 GiB window (window descriptor exponent 31 - 10).
    let zstd = [
        0x28,
        0xb5,
        0x2f,
        0xfd,
        0x00,
        (31 - 10) << 3,
        0x01,
        0x00,
        0x00,
    ];
    let batch = ValidatedBatch::new(seal(Compression::Zstd, 1, 0, &zstd)).unwrap();
    let (res, peak) = peak_allocated_by(|| batch.records(limits));
    let error = res.unwrap_err();
    assert!(peak < 1024 * 1024, "{peak}");
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    // An LZ4 frame with 4 MiB blocks whose first block claims 16 MiB.
    let frame_info =
        lz4_flex::frame::FrameInfo::new().block_size(lz4_flex::frame::BlockSize::Max4MB);
    let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(frame_info, Vec::new());
    encoder.write_all(b"hello").unwrap();
    let mut lz4 = encoder.finish().unwrap();
    // Magic (4), FLG, BD, header checksum: the first block length follows.
    lz4[7..11].copy_from_slice(&(16u32 << 20).to_le_bytes());
    let batch = ValidatedBatch::new(seal(Compression::Lz4, 1, 0, &lz4)).unwrap();
    let (res, peak) = peak_allocated_by(|| batch.records(limits));
    assert!(res.unwrap_err().is_corrupt_input());
    // The LZ4 decoder holds two buffers of the frame's block size (at most 4 MiB each): a fixed
    // cost per batch, not one the header's lie can grow.
    assert!(peak < 9 * 1024 * 1024, "{peak}");
}
