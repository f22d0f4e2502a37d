//! Cross-check against an independent implementation, the `kafka-protocol` crate's record codec:
//! batches built by one are read identically by the other, for every codec (including raw,
//! unframed snappy, which librdkafka may send).

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as TheirCompression, Record as TheirRecord, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as TheirTimestampType,
};
use proptest::prelude::*;
use strom_record::{
    BatchConfig, Compression, ControlRecordType, DecodeLimits, EndTransactionMarker, Header,
    Offset, Record, Timestamp, TimestampType, split_batches,
};

use crate::strategy::{BatchSpec, RecordSpec, batch, compression, record};

fn theirs(compression: Compression) -> TheirCompression {
    match compression {
        Compression::None => TheirCompression::None,
        Compression::Gzip => TheirCompression::Gzip,
        Compression::Snappy => TheirCompression::Snappy,
        Compression::Lz4 => TheirCompression::Lz4,
        Compression::Zstd => TheirCompression::Zstd,
    }
}

fn from_theirs(record: &TheirRecord) -> Record {
    Record {
        offset: Offset(u64::try_from(record.offset).unwrap()),
        timestamp: Timestamp(record.timestamp),
        key: record.key.clone(),
        value: record.value.clone(),
        headers: record
            .headers
            .iter()
            .map(|(key, value)| Header {
                key: key.to_string(),
                value: value.clone(),
            })
            .collect(),
    }
}

/// Our batch, read by `kafka-protocol`: same records, same batch properties.
#[track_caller]
fn check_ours_read_by_theirs(spec: &BatchSpec) {
    let batch = spec.build();
    let mut bytes = batch.clone().into_bytes();
    let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
    assert!(bytes.is_empty(), "they read the whole batch");
    assert_eq!(set.compression, theirs(spec.config.compression));
    let records: Vec<Record> = set.records.iter().map(from_theirs).collect();
    assert_eq!(records, spec.expected_records());
    let config = &spec.config;
    for (record, offset) in set.records.iter().zip(spec.offsets()) {
        assert_eq!(record.producer_id, config.producer_id.unwrap_or(-1));
        assert_eq!(record.producer_epoch, config.producer_epoch);
        assert_eq!(record.transactional, config.is_transactional);
        assert_eq!(record.control, config.is_control);
        let epoch = config
            .partition_leader_epoch
            .map_or(-1, |epoch| epoch.0 as i32);
        assert_eq!(record.partition_leader_epoch, epoch);
        let delta = (offset.0 - config.base_offset.0) as i32;
        assert_eq!(
            record.sequence,
            config.base_sequence.unwrap_or(-1).wrapping_add(delta)
        );
        assert_eq!(record.timestamp_type, TheirTimestampType::Creation);
    }
}

/// Their records for `spec` (create time, one batch: the sequence follows the offset).
fn their_records(spec: &BatchSpec) -> Vec<TheirRecord> {
    let config = &spec.config;
    spec.offsets()
        .into_iter()
        .zip(&spec.records)
        .map(|(offset, record)| TheirRecord {
            transactional: config.is_transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: config
                .partition_leader_epoch
                .map_or(-1, |epoch| epoch.0 as i32),
            producer_id: config.producer_id.unwrap_or(-1),
            producer_epoch: config.producer_epoch,
            timestamp_type: TheirTimestampType::Creation,
            offset: offset.0 as i64,
            sequence: (offset.0 as i32).wrapping_sub(config.base_offset.0 as i32),
            timestamp: record.timestamp.0,
            key: record.key.clone(),
            value: record.value.clone(),
            headers: record
                .headers
                .iter()
                .map(|header| {
                    (
                        StrBytes::from_string(header.key.clone()),
                        header.value.clone(),
                    )
                })
                .collect::<IndexMap<_, _>>(),
        })
        .collect()
}

/// Their batch, read by us: same records, and the header fields they wrote.
#[track_caller]
fn check_theirs_read_by_ours(spec: &BatchSpec, wire: Bytes) {
    let batches = split_batches(wire).unwrap();
    assert_eq!(batches.len(), 1);
    let header = batches[0].header();
    let config = &spec.config;
    assert_eq!(header.compression(), Ok(config.compression));
    assert_eq!(header.base_offset, spec.offsets()[0]);
    assert_eq!(header.last_offset(), *spec.offsets().last().unwrap());
    assert_eq!(header.producer_id, config.producer_id);
    assert_eq!(header.is_transactional(), config.is_transactional);
    assert_eq!(header.partition_leader_epoch, config.partition_leader_epoch);
    let max_timestamp = spec.records.iter().map(|record| record.timestamp).max();
    assert_eq!(Some(header.max_timestamp), max_timestamp);
    let records = batches[0].records(DecodeLimits::default()).unwrap();
    assert_eq!(records, spec.expected_records());
}

fn encode_theirs(spec: &BatchSpec) -> Bytes {
    let mut wire = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: theirs(spec.config.compression),
    };
    RecordBatchEncoder::encode(&mut wire, &their_records(spec), &options).unwrap();
    wire.freeze()
}

/// Create-time batches (their decoder ignores log-append time) with at least one record (they
/// cannot encode an empty batch) and no trailing offsets (they cannot express those).
fn comparable_batch(max_records: usize, with_gaps: bool) -> impl Strategy<Value = BatchSpec> {
    (batch(max_records, with_gaps), record(false)).prop_map(|(mut spec, first)| {
        spec.config.timestamp_type = TimestampType::CreateTime;
        spec.trailing_gap = None;
        if spec.records.is_empty() {
            spec.records.push(first);
        }
        spec
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn ours_read_by_theirs(spec in comparable_batch(10, true)) {
        check_ours_read_by_theirs(&spec);
    }

    #[test]
    fn theirs_read_by_ours(spec in comparable_batch(10, true)) {
        let wire = encode_theirs(&spec);
        check_theirs_read_by_ours(&spec, wire);
    }
}

/// A batch of `count` records with large, compressible-but-not-trivial values, so snappy's
/// xerial framing needs several blocks and LZ4 several frames blocks.
fn large_spec(compression: Compression, count: usize) -> BatchSpec {
    let records = (0..count)
        .map(|index| RecordSpec {
            gap: 0,
            timestamp: Timestamp(1_700_000_000_000 + index as i64),
            key: Some(Bytes::from(format!("key-{index}"))),
            value: Some(Bytes::from(
                (0..3000u32)
                    .map(|byte| ((byte * 7 + index as u32) % 251) as u8)
                    .collect::<Vec<u8>>(),
            )),
            headers: vec![Header {
                key: "index".to_owned(),
                value: Some(Bytes::from(index.to_string())),
            }],
        })
        .collect();
    BatchSpec {
        config: BatchConfig {
            base_offset: Offset(1000),
            compression,
            ..BatchConfig::default()
        },
        records,
        trailing_gap: None,
    }
}

#[test]
fn large_batches_cross_check_for_every_codec() {
    for compression in Compression::ALL {
        let spec = large_spec(compression, 60);
        check_ours_read_by_theirs(&spec);
        check_theirs_read_by_ours(&spec, encode_theirs(&spec));
    }
}

/// librdkafka may compress with plain snappy (no xerial framing); we read it like the Java client.
#[test]
fn raw_snappy_is_read() {
    for count in [1, 3, 60] {
        let spec = large_spec(Compression::Snappy, count);
        let mut wire = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: TheirCompression::Snappy,
        };
        RecordBatchEncoder::encode_with_custom_compression(
            &mut wire,
            &their_records(&spec),
            &options,
            Some(
                |uncompressed: &mut BytesMut, out: &mut BytesMut, _: TheirCompression| {
                    let compressed = snap::raw::Encoder::new()
                        .compress_vec(uncompressed)
                        .unwrap();
                    out.extend_from_slice(&compressed);
                    Ok(())
                },
            ),
        )
        .unwrap();
        assert_ne!(&wire[61..69], b"\x82SNAPPY\x00", "the payload is unframed");
        check_theirs_read_by_ours(&spec, wire.freeze());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The codec choice alone never changes what is read back.
    #[test]
    fn every_codec_reads_back_the_same(spec in comparable_batch(6, false), other in compression()) {
        let mut recompressed = spec.clone();
        recompressed.config.compression = other;
        let records = spec.build().records(DecodeLimits::default()).unwrap();
        prop_assert_eq!(recompressed.build().records(DecodeLimits::default()).unwrap(), records);
    }
}

/// Transaction markers we write read as control records with Kafka's key and value layout.
#[test]
fn transaction_markers_read_by_theirs() {
    for (kind, key_type) in [
        (ControlRecordType::Abort, 0u8),
        (ControlRecordType::Commit, 1),
    ] {
        let marker = EndTransactionMarker {
            kind,
            coordinator_epoch: 0x0102_0304,
        };
        let mut wire = marker.batch(77, 5, Timestamp(1234)).unwrap().into_bytes();
        let set = RecordBatchDecoder::decode(&mut wire).unwrap();
        assert_eq!(set.records.len(), 1);
        let record = &set.records[0];
        assert!(record.control && record.transactional);
        assert_eq!((record.producer_id, record.producer_epoch), (77, 5));
        assert_eq!(record.key.as_deref(), Some(&[0, 0, 0, key_type][..]));
        assert_eq!(record.value.as_deref(), Some(&[0, 0, 1, 2, 3, 4][..]));
        assert_eq!(
            EndTransactionMarker::parse(&from_theirs(record)),
            Ok(Some(marker))
        );
    }
}
