//! `ValidatedBatch::check_for_append` (the in-place walk a leader runs on produce) against
//! `ValidatedBatch::records_for_append` (the owned decoder): for built batches of every codec, for
//! built batches with damaged record areas or header fields, and for arbitrary record areas, both
//! must pass with the same count and timestamp range or fail with the same error. Also shows the
//! walk allocates nothing for an uncompressed batch.

use std::io::Write;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use strom_record::{
    AppendCheck, BatchHeader, Compression, DecodeLimits, Error, Timestamp, TimestampType,
    ValidatedBatch,
};

use crate::peak_memory::peak_allocated_by;
use crate::strategy::{BatchSpec, batch};

/// The CRC-covered region starts at the attributes, byte 21; the CRC itself is bytes 17..21.
const CRC_REGION: usize = 21;
/// Where the batch length, attributes, last offset delta and record count lie in the header.
const LENGTH: usize = 8;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const RECORD_COUNT: usize = 57;

/// Runs both checks on `batch` and asserts they agree; returns the walk's result.
fn check(batch: &ValidatedBatch, limits: DecodeLimits) -> Result<AppendCheck, Error> {
    let owned = batch.records_for_append(limits);
    let walked = batch.check_for_append(limits);
    match (&owned, &walked) {
        (Ok(records), Ok(found)) => {
            assert_eq!(found.record_count as usize, records.len());
            let min = records.iter().map(|record| record.timestamp).min();
            let max = records.iter().map(|record| record.timestamp).max();
            assert_eq!(Some(found.min_timestamp), min);
            assert_eq!(Some(found.max_timestamp), max);
        }
        (Err(owned), Err(walked)) => {
            assert_eq!(owned, walked);
            assert_eq!(owned.kind(), walked.kind());
        }
        _ => panic!("the decoders disagree: {owned:?} versus {walked:?}"),
    }
    walked
}

/// Recomputes the CRC after a test changed covered bytes on purpose.
fn reseal(bytes: &mut [u8]) {
    let crc = crc32c::crc32c(&bytes[CRC_REGION..]);
    bytes[17..CRC_REGION].copy_from_slice(&crc.to_be_bytes());
}

/// `header` (a built batch's first `BatchHeader::SIZE` bytes) followed by `area`, with the length
/// and CRC fixed so that the batch validates.
fn with_area(header: &[u8], area: &[u8]) -> ValidatedBatch {
    let mut bytes = BytesMut::from(&header[..BatchHeader::SIZE]);
    bytes.put_slice(area);
    let length = (BatchHeader::SIZE - 12 + area.len()) as i32;
    bytes[LENGTH..LENGTH + 4].copy_from_slice(&length.to_be_bytes());
    reseal(&mut bytes);
    ValidatedBatch::new(bytes.freeze()).unwrap()
}

fn limits() -> impl Strategy<Value = DecodeLimits> {
    prop_oneof![
        4 => Just(DecodeLimits::default()),
        1 => (0usize..4096).prop_map(|max_uncompressed_bytes| DecodeLimits {
            max_uncompressed_bytes
        }),
    ]
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Built batches, with and without offset gaps (which append must refuse), every codec.
    #[test]
    fn agrees_on_built_batches(
        spec in prop_oneof![batch(12, false), batch(12, true)],
        limits in limits(),
    ) {
        let res = check(&spec.build(), limits);
        let dense = spec.records.iter().all(|record| record.gap == 0)
            && spec.trailing_gap.is_none_or(|gap| gap == 0);
        let fits = limits == DecodeLimits::default();
        if dense && fits && !spec.records.is_empty() {
            let expected = spec.expected_records();
            let found = res.unwrap();
            prop_assert_eq!(found.record_count as usize, expected.len());
            let min = expected.iter().map(|record| record.timestamp).min().unwrap();
            let max = expected.iter().map(|record| record.timestamp).max().unwrap();
            prop_assert_eq!((found.min_timestamp, found.max_timestamp), (min, max));
        }
    }

    /// Built uncompressed batches whose record area or count fields were damaged, then resealed so
    /// that the CRC matches and the records themselves are what is wrong.
    #[test]
    fn agrees_on_damaged_batches(
        spec in batch(8, false),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
        counts in proptest::option::of((-2i32..20, -2i32..20)),
    ) {
        let spec = BatchSpec {
            config: strom_record::BatchConfig {
                compression: Compression::None,
                ..spec.config
            },
            ..spec
        };
        let built = spec.build().into_bytes();
        let mut area = built[BatchHeader::SIZE..].to_vec();
        if !area.is_empty() {
            for (index, byte) in &edits {
                let at = index.index(area.len());
                area[at] = *byte;
            }
        }
        if let Some(cut) = cut {
            area.truncate(cut.index(area.len() + 1));
        }
        area.extend_from_slice(&extra);
        let mut header = built[..BatchHeader::SIZE].to_vec();
        if let Some((last_offset_delta, record_count)) = counts {
            header[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
                .copy_from_slice(&last_offset_delta.to_be_bytes());
            header[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&record_count.to_be_bytes());
        }
        // A header the edits made invalid is refused before either decoder runs.
        let mut bytes = BytesMut::from(&header[..]);
        bytes.put_slice(&area);
        let length = (BatchHeader::SIZE - 12 + area.len()) as i32;
        bytes[LENGTH..LENGTH + 4].copy_from_slice(&length.to_be_bytes());
        reseal(&mut bytes);
        if let Ok(batch) = ValidatedBatch::new(bytes.freeze()) {
            let _ = check(&batch, DecodeLimits::default());
        }
    }

    /// Arbitrary record areas, raw or gzip-compressed, under arbitrary counts and limits.
    #[test]
    fn agrees_on_arbitrary_areas(
        area in proptest::collection::vec(any::<u8>(), 0..200),
        compressed in any::<bool>(),
        log_append_time in any::<bool>(),
        last_offset_delta in 0i32..8,
        record_count in 0i32..8,
        limits in limits(),
    ) {
        let spec = BatchSpec {
            config: strom_record::BatchConfig::default(),
            records: Vec::new(),
            trailing_gap: None,
        };
        let mut header = spec.build().into_bytes()[..BatchHeader::SIZE].to_vec();
        let mut attributes = i16::from(compressed);
        if log_append_time {
            attributes |= 1 << 3;
        }
        header[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
        header[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&last_offset_delta.to_be_bytes());
        header[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&record_count.to_be_bytes());
        let area = if compressed { gzip(&area) } else { area };
        let batch = with_area(&header, &area);
        prop_assert_eq!(
            batch.header().compression().unwrap(),
            if compressed { Compression::Gzip } else { Compression::None }
        );
        let _ = check(&batch, limits);
    }
}

/// A hand-made area of records, to reach errors random bytes rarely do: every record is framed
/// correctly and only one rule is broken.
#[test]
fn agrees_on_each_rule() {
    // A record: length, attributes 0, timestamp delta, offset delta, null key, value "v",
    // headers (count, then key and value of each).
    let record = |timestamp_delta: u8, offset_delta: u8, header_key: &[u8]| {
        let mut body = vec![0, timestamp_delta, offset_delta, 1, 2, b'v'];
        if header_key.is_empty() {
            body.push(0);
        } else {
            body.extend_from_slice(&[2, header_key.len() as u8 * 2]);
            body.extend_from_slice(header_key);
            body.push(1);
        }
        let mut res = vec![body.len() as u8 * 2];
        res.extend_from_slice(&body);
        res
    };
    let base = ValidatedBatch::new(
        strom_record::BatchBuilder::new(strom_record::BatchConfig::default())
            .build()
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    let header = base.as_bytes()[..BatchHeader::SIZE].to_vec();
    let batch = |records: &[Vec<u8>], last_offset_delta: i32, record_count: i32| {
        let mut header = header.clone();
        header[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4]
            .copy_from_slice(&last_offset_delta.to_be_bytes());
        header[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&record_count.to_be_bytes());
        with_area(&header, &records.concat())
    };
    let cases: [(ValidatedBatch, Result<u32, Error>); 7] = [
        (batch(&[record(0, 0, b"k"), record(4, 2, b"")], 1, 2), Ok(2)),
        (
            batch(&[record(0, 0, b""), record(0, 4, b"")], 2, 2),
            Err(Error::InvalidRecord(
                "offset deltas are not consecutive from zero",
            )),
        ),
        (
            batch(&[record(0, 0, b""), record(0, 2, b"")], 2, 2),
            Err(Error::InvalidRecord(
                "last offset delta disagrees with the records",
            )),
        ),
        (
            batch(&[record(0, 0, b"\xff")], 0, 1),
            Err(Error::InvalidHeaderKey),
        ),
        (
            batch(&[record(0, 0, b"")], 0, 2),
            Err(Error::RecordCountMismatch {
                declared: 2,
                actual: 1,
            }),
        ),
        (
            batch(&[record(0, 0, b""), record(0, 2, b"")], 1, 1),
            Err(Error::TrailingBytes(8)),
        ),
        (
            batch(&[record(0, 2, b""), record(0, 0, b"")], 1, 2),
            Err(Error::InvalidRecord(
                "offset delta out of order or past the batch",
            )),
        ),
    ];
    for (batch, expected) in cases {
        let res = check(&batch, DecodeLimits::default());
        assert_eq!(res.map(|found| found.record_count), expected);
    }
}

/// Timestamps are absolute; `LogAppendTime` batches report the header's max timestamp for both.
#[test]
fn reports_the_timestamp_range() {
    for timestamp_type in [TimestampType::CreateTime, TimestampType::LogAppendTime] {
        let mut builder = strom_record::BatchBuilder::new(strom_record::BatchConfig {
            timestamp_type,
            ..strom_record::BatchConfig::default()
        });
        for timestamp in [1_000, 700, 1_500, 900] {
            builder.push(Timestamp(timestamp), None, Some(Bytes::from("v")), vec![]);
        }
        let batch = builder.build().unwrap();
        let expected = match timestamp_type {
            TimestampType::CreateTime => (Timestamp(700), Timestamp(1_500)),
            TimestampType::LogAppendTime => (Timestamp(1_500), Timestamp(1_500)),
        };
        let found = check(&batch, DecodeLimits::default()).unwrap();
        assert_eq!(found.record_count, 4);
        assert_eq!((found.min_timestamp, found.max_timestamp), expected);
    }
}

/// The walk over an uncompressed batch allocates nothing at all (the owned decoder copies the
/// area and builds every record); over a compressed batch it holds no more than the owned decoder.
#[test]
fn walks_in_place() {
    for compression in Compression::ALL {
        let mut builder = strom_record::BatchBuilder::new(strom_record::BatchConfig {
            compression,
            ..strom_record::BatchConfig::default()
        });
        for index in 0..100 {
            builder.push(
                Timestamp(index),
                Some(Bytes::from(format!("key-{index}"))),
                Some(Bytes::from(vec![b'x'; 200])),
                vec![strom_record::Header {
                    key: "trace".to_owned(),
                    value: Some(Bytes::from("abc")),
                }],
            );
        }
        let batch = builder.build().unwrap();
        let (res, walk_peak) =
            peak_allocated_by(|| batch.check_for_append(DecodeLimits::default()));
        assert_eq!(res.unwrap().record_count, 100);
        let (res, owned_peak) =
            peak_allocated_by(|| batch.records_for_append(DecodeLimits::default()));
        assert_eq!(res.unwrap().len(), 100);
        if compression == Compression::None {
            assert_eq!(walk_peak, 0, "{compression}");
            assert!(owned_peak > 20_000, "{owned_peak}");
        } else {
            // The codec's own state (gzip's window) may dominate both peaks.
            assert!(
                walk_peak <= owned_peak,
                "{compression}: {walk_peak} > {owned_peak}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The gzip helper above produces what the crate reads as gzip (so the arbitrary-area test
    /// really reaches the record walk through a codec).
    #[test]
    fn gzip_areas_decode(values in proptest::collection::vec(any::<u8>(), 1..50)) {
        let mut builder = strom_record::BatchBuilder::new(strom_record::BatchConfig::default());
        builder.push(Timestamp(5), None, Some(Bytes::from(values.clone())), vec![]);
        let built = builder.build().unwrap().into_bytes();
        let mut header = built[..BatchHeader::SIZE].to_vec();
        header[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&1i16.to_be_bytes());
        let batch = with_area(&header, &gzip(&built[BatchHeader::SIZE..]));
        let found = check(&batch, DecodeLimits::default()).unwrap();
        prop_assert_eq!(found.record_count, 1);
        prop_assert_eq!(found.min_timestamp, Timestamp(5));
    }
}
