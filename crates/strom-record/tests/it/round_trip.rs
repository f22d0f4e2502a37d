//! Build -> parse round trips: every batch the builder makes reads back, through every entry
//! point, as the records and header fields it was built from, for every codec.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use strom_record::{
    BatchBuilder, BatchConfig, BatchHeader, Compression, DecodeLimits, Header, Offset, Timestamp,
    TimestampType, ValidatedBatch, complete_batches, records_of, split_batches, verify_crc,
};

use crate::strategy::{BatchSpec, batch};

/// Builds `spec`, then reads it back through every public reader and compares with what the
/// spec says it must contain.
#[track_caller]
fn check(spec: &BatchSpec) {
    let batch = spec.build();
    let header = batch.header().clone();
    let config = &spec.config;
    assert_eq!(header.base_offset, config.base_offset);
    assert_eq!(header.last_offset(), spec.last_offset());
    assert_eq!(header.next_offset(), Offset(spec.last_offset().0 + 1));
    assert_eq!(header.record_count as usize, spec.records.len());
    assert_eq!(header.compression(), Ok(config.compression));
    assert_eq!(header.timestamp_type(), config.timestamp_type);
    assert_eq!(header.is_transactional(), config.is_transactional);
    assert_eq!(header.is_control(), config.is_control);
    assert_eq!(header.partition_leader_epoch, config.partition_leader_epoch);
    assert_eq!(header.producer_id, config.producer_id);
    assert_eq!(header.producer_epoch, config.producer_epoch);
    assert_eq!(header.base_sequence, config.base_sequence);
    assert_eq!(header.total_size(), batch.as_bytes().len());
    let max_timestamp = spec.records.iter().map(|record| record.timestamp).max();
    assert_eq!(header.max_timestamp, max_timestamp.unwrap_or(Timestamp(-1)));
    let first_timestamp = spec.records.first().map(|record| record.timestamp);
    assert_eq!(
        header.base_timestamp,
        first_timestamp.unwrap_or(Timestamp(-1))
    );

    let expected = spec.expected_records();
    let limits = DecodeLimits::default();
    assert_eq!(batch.records(limits).unwrap(), expected);
    assert_eq!(BatchHeader::parse(batch.as_bytes()).unwrap(), header);
    verify_crc(batch.as_bytes()).unwrap();
    assert_eq!(records_of(batch.as_bytes(), limits).unwrap(), expected);

    let bytes = batch.clone().into_bytes();
    let again = ValidatedBatch::new(bytes.clone()).unwrap();
    assert_eq!(again, batch);
    assert_eq!(split_batches(bytes.clone()).unwrap(), vec![batch.clone()]);
    assert_eq!(complete_batches(bytes).unwrap(), vec![batch.clone()]);

    let dense = spec.records.iter().all(|record| record.gap == 0)
        && spec.trailing_gap.unwrap_or(0) == 0
        && !spec.records.is_empty();
    assert_eq!(batch.records_for_append(limits).is_ok(), dense, "{spec:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn built_batches_read_back(spec in batch(12, true)) {
        check(&spec);
    }

    /// Several batches back to back read back as one record sequence, and a cut anywhere in the
    /// last batch hides exactly that batch from readers of fetched data.
    #[test]
    fn concatenated_batches_read_back(specs in proptest::collection::vec(batch(4, false), 1..4), cut in any::<prop::sample::Index>()) {
        let batches: Vec<ValidatedBatch> = specs.iter().map(BatchSpec::build).collect();
        let mut blob = BytesMut::new();
        for batch in &batches {
            blob.extend_from_slice(batch.as_bytes());
        }
        let blob = blob.freeze();
        let expected: Vec<_> = specs.iter().flat_map(BatchSpec::expected_records).collect();
        prop_assert_eq!(records_of(&blob, DecodeLimits::default()).unwrap(), expected);
        prop_assert_eq!(split_batches(blob.clone()).unwrap(), batches.clone());

        let last = batches.last().unwrap().as_bytes().len();
        let cut = blob.len() - 1 - cut.index(last - 1);
        let partial = blob.slice(..cut);
        let whole = &batches[..batches.len() - 1];
        let expected: Vec<_> = specs[..specs.len() - 1].iter().flat_map(BatchSpec::expected_records).collect();
        prop_assert_eq!(records_of(&partial, DecodeLimits::default()).unwrap(), expected);
        prop_assert_eq!(complete_batches(partial.clone()).unwrap(), whole.to_vec());
        prop_assert!(split_batches(partial).unwrap_err().is_corrupt_input());
    }
}

fn value(text: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn empty_batch_keeps_its_offset_range() {
    let mut builder = BatchBuilder::new(BatchConfig {
        base_offset: Offset(10),
        producer_id: Some(7),
        producer_epoch: 1,
        base_sequence: Some(5),
        ..BatchConfig::default()
    });
    builder.set_last_offset(Offset(14)).unwrap();
    assert!(builder.is_empty());
    let batch = builder.build().unwrap();
    assert_eq!(batch.header().record_count, 0);
    assert_eq!(batch.header().next_offset(), Offset(15));
    assert_eq!(batch.header().base_timestamp, Timestamp(-1));
    assert_eq!(batch.records(DecodeLimits::default()).unwrap(), vec![]);
    assert_eq!(batch.as_bytes().len(), BatchHeader::SIZE);
}

#[test]
fn builder_rejects_offsets_it_cannot_encode() {
    let mut builder = BatchBuilder::new(BatchConfig {
        base_offset: Offset(100),
        ..BatchConfig::default()
    });
    let push_at = |builder: &mut BatchBuilder, offset: u64| {
        builder.push_at(Offset(offset), Timestamp(0), None, value("v"), vec![])
    };
    assert!(push_at(&mut builder, 99).is_err(), "before the base offset");
    push_at(&mut builder, 105).unwrap();
    assert!(
        push_at(&mut builder, 105).is_err(),
        "not after the previous one"
    );
    assert!(
        push_at(&mut builder, 100 + (1 << 31)).is_err(),
        "delta beyond i32"
    );
    assert!(
        builder.set_last_offset(Offset(104)).is_err(),
        "before the last record"
    );
    builder.set_last_offset(Offset(110)).unwrap();
    builder.push(Timestamp(1), None, value("w"), vec![]);
    let batch = builder.build().unwrap();
    let offsets: Vec<_> = batch
        .records(DecodeLimits::default())
        .unwrap()
        .iter()
        .map(|record| record.offset)
        .collect();
    assert_eq!(offsets, vec![Offset(105), Offset(106)]);
    assert_eq!(batch.header().last_offset(), Offset(110));
}

#[test]
fn push_defers_its_errors_to_build() {
    let mut builder = BatchBuilder::new(BatchConfig::default());
    builder.push(Timestamp(i64::MAX), None, None, vec![]);
    builder.push(Timestamp(-2), None, None, vec![]);
    builder.push(Timestamp(0), None, None, vec![]);
    let error = builder.build().unwrap_err();
    assert!(!error.is_corrupt_input(), "{error}");
}

#[test]
fn estimated_size_is_the_uncompressed_size() {
    for compression in Compression::ALL {
        let mut builder = BatchBuilder::new(BatchConfig {
            compression,
            ..BatchConfig::default()
        });
        assert_eq!(builder.estimated_size(), BatchHeader::SIZE);
        for index in 0..100 {
            builder.push(
                Timestamp(index),
                value("key"),
                Some(Bytes::from(vec![b'x'; 100])),
                vec![Header {
                    key: "h".to_owned(),
                    value: None,
                }],
            );
        }
        let estimate = builder.estimated_size();
        let batch = builder.build().unwrap();
        if compression == Compression::None {
            assert_eq!(batch.as_bytes().len(), estimate);
        } else {
            assert!(
                batch.as_bytes().len() < estimate / 4,
                "{compression} compresses repeats"
            );
        }
    }
}

#[test]
fn log_append_time_batches_give_every_record_the_append_time() {
    let mut builder = BatchBuilder::new(BatchConfig {
        timestamp_type: TimestampType::LogAppendTime,
        ..BatchConfig::default()
    });
    builder.push(Timestamp(5), None, value("a"), vec![]);
    builder.push(Timestamp(3), None, value("b"), vec![]);
    let batch = builder.build().unwrap();
    let timestamps: Vec<_> = batch
        .records(DecodeLimits::default())
        .unwrap()
        .iter()
        .map(|record| record.timestamp)
        .collect();
    assert_eq!(timestamps, vec![Timestamp(5), Timestamp(5)]);
}

#[test]
fn delete_horizon_becomes_the_base_timestamp() {
    let mut builder = BatchBuilder::new(BatchConfig::default());
    builder.set_delete_horizon(Timestamp(5_000)).unwrap();
    builder.push(Timestamp(1_000), value("k"), None, vec![]);
    builder.push(Timestamp(7_000), value("k"), value("v"), vec![]);
    assert_eq!(
        builder.set_delete_horizon(Timestamp(0)).unwrap_err().kind(),
        strom_record::ErrorKind::Usage
    );
    let batch = builder.build().unwrap();
    let header = batch.header();
    assert!(header.has_delete_horizon());
    assert_eq!(header.base_timestamp, Timestamp(5_000));
    assert_eq!(header.max_timestamp, Timestamp(7_000));
    let timestamps: Vec<_> = batch
        .records(DecodeLimits::default())
        .unwrap()
        .iter()
        .map(|record| record.timestamp)
        .collect();
    assert_eq!(timestamps, vec![Timestamp(1_000), Timestamp(7_000)]);

    let plain = BatchBuilder::new(BatchConfig::default()).build().unwrap();
    assert!(!plain.header().has_delete_horizon());
}
