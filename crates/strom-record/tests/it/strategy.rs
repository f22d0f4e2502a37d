//! Proptest strategies for batches: a [`BatchSpec`] says what to build, builds it with
//! `BatchBuilder`, and says which records reading the batch back must give. Not a test itself.

use bytes::Bytes;
use proptest::prelude::*;
use strom_record::{
    BatchBuilder, BatchConfig, Compression, Header, LeaderEpoch, Offset, Record, Timestamp,
    TimestampType, ValidatedBatch,
};

/// What one batch should contain.
#[derive(Debug, Clone)]
pub struct BatchSpec {
    pub config: BatchConfig,
    pub records: Vec<RecordSpec>,
    /// Extra offsets the batch covers after its last record (compaction removed them).
    pub trailing_gap: Option<u32>,
}

/// One record, with the offset gap before it (0 = the next offset).
#[derive(Debug, Clone)]
pub struct RecordSpec {
    pub gap: u32,
    pub timestamp: Timestamp,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

impl BatchSpec {
    /// Builds the batch; gaps go through `push_at`, the rest through `push`.
    pub fn build(&self) -> ValidatedBatch {
        let mut builder = BatchBuilder::new(self.config.clone());
        for (offset, record) in self.offsets().into_iter().zip(&self.records) {
            if record.gap == 0 {
                builder.push(
                    record.timestamp,
                    record.key.clone(),
                    record.value.clone(),
                    record.headers.clone(),
                );
            } else {
                builder
                    .push_at(
                        offset,
                        record.timestamp,
                        record.key.clone(),
                        record.value.clone(),
                        record.headers.clone(),
                    )
                    .unwrap();
            }
        }
        assert_eq!(builder.len(), self.records.len());
        if self.trailing_gap.is_some() {
            builder.set_last_offset(self.last_offset()).unwrap();
        }
        builder.build().unwrap()
    }

    /// Absolute offsets of the records.
    pub fn offsets(&self) -> Vec<Offset> {
        let mut res = Vec::new();
        let mut next = self.config.base_offset.0;
        for record in &self.records {
            let offset = next + u64::from(record.gap);
            res.push(Offset(offset));
            next = offset + 1;
        }
        res
    }

    /// The last offset the batch must cover.
    pub fn last_offset(&self) -> Offset {
        let last_record = self
            .offsets()
            .last()
            .copied()
            .unwrap_or(self.config.base_offset);
        Offset(last_record.0 + u64::from(self.trailing_gap.unwrap_or(0)))
    }

    /// The records reading the batch back must give.
    pub fn expected_records(&self) -> Vec<Record> {
        let max_timestamp = self.records.iter().map(|record| record.timestamp).max();
        self.offsets()
            .into_iter()
            .zip(&self.records)
            .map(|(offset, record)| Record {
                offset,
                timestamp: match self.config.timestamp_type {
                    TimestampType::CreateTime => record.timestamp,
                    TimestampType::LogAppendTime => max_timestamp.unwrap(),
                },
                key: record.key.clone(),
                value: record.value.clone(),
                headers: record.headers.clone(),
            })
            .collect()
    }
}

pub fn compression() -> impl Strategy<Value = Compression> {
    proptest::sample::select(Compression::ALL.to_vec())
}

fn bytes(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::weighted(
        0.9,
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..max),
            // Compressible values, so codecs do real work.
            (any::<u8>(), 0..max * 4).prop_map(|(byte, length)| vec![byte; length]),
        ]
        .prop_map(Bytes::from),
    )
}

/// Headers with unique keys, so that `kafka-protocol` (which keeps them in a map) sees the same.
pub fn headers() -> impl Strategy<Value = Vec<Header>> {
    proptest::collection::btree_map("[a-z\u{e9}\u{4e16}]{0,6}", bytes(16), 0..3).prop_map(|map| {
        map.into_iter()
            .map(|(key, value)| Header { key, value })
            .collect()
    })
}

/// Timestamps within a few years of 2023, so deltas stay realistic.
fn timestamp() -> impl Strategy<Value = Timestamp> {
    (1_600_000_000_000i64..1_800_000_000_000).prop_map(Timestamp)
}

pub fn record(with_gaps: bool) -> impl Strategy<Value = RecordSpec> {
    let gap = if with_gaps {
        prop_oneof![4 => Just(0u32), 1 => 1u32..1000].boxed()
    } else {
        Just(0u32).boxed()
    };
    (gap, timestamp(), bytes(24), bytes(200), headers()).prop_map(
        |(gap, timestamp, key, value, headers)| RecordSpec {
            gap,
            timestamp,
            key,
            value,
            headers,
        },
    )
}

/// A batch of up to `max_records` records with arbitrary batch properties.
pub fn batch(max_records: usize, with_gaps: bool) -> impl Strategy<Value = BatchSpec> {
    let config = (
        0u64..1 << 40,
        compression(),
        any::<bool>(),
        proptest::option::of((0u32..i32::MAX as u32).prop_map(LeaderEpoch)),
        proptest::option::of((0i64..i64::MAX, 0i16..i16::MAX, 0i32..i32::MAX)),
        any::<bool>(),
    )
        .prop_map(
            |(base_offset, compression, log_append_time, epoch, producer, transactional)| {
                BatchConfig {
                    base_offset: Offset(base_offset),
                    compression,
                    timestamp_type: if log_append_time {
                        TimestampType::LogAppendTime
                    } else {
                        TimestampType::CreateTime
                    },
                    partition_leader_epoch: epoch,
                    producer_id: producer.map(|(id, _, _)| id),
                    producer_epoch: producer.map_or(-1, |(_, epoch, _)| epoch),
                    base_sequence: producer.map(|(_, _, sequence)| sequence),
                    is_transactional: transactional && producer.is_some(),
                    is_control: false,
                }
            },
        );
    let trailing_gap = if with_gaps {
        proptest::option::of(0u32..100).boxed()
    } else {
        Just(None).boxed()
    };
    (
        config,
        proptest::collection::vec(record(with_gaps), 0..max_records),
        trailing_gap,
    )
        .prop_map(|(config, records, trailing_gap)| BatchSpec {
            config,
            records,
            trailing_gap,
        })
}
