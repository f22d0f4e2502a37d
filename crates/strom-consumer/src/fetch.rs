//! Turning one partition's fetched bytes into records: whole batches only (a trailing partial
//! batch is left for the next fetch), records before the position skipped (a fetch from the
//! middle of a batch returns the whole batch), every codec decompressed, and for
//! `read_committed` control batches and aborted transactions' batches dropped and nothing at
//! or past the last stable offset returned. Pure: the consumer does the fetching.

use std::collections::HashSet;

use bytes::Bytes;
use strom_client::TopicPartition;
use strom_record::{
    ControlRecordType, DecodeLimits, Header, Offset, Timestamp, TimestampType, complete_batches,
};

use crate::{Error, IsolationLevel, Result};

/// A record as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: Offset,
    /// The create time or the broker's append time (see `timestamp_type`).
    pub timestamp: Timestamp,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The key; `None` is a null key.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Record headers, in order.
    pub headers: Vec<Header>,
}

/// An aborted transaction listed in a fetch response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTransaction {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: Offset,
}

/// What one partition's fetched bytes held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Records at or after the position, in offset order.
    pub(crate) records: Vec<ConsumerRecord>,
    /// Where the next fetch starts: after the last whole batch consumed.
    pub(crate) next_position: Offset,
}

/// The isolation settings for decoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Isolation<'a> {
    pub(crate) level: IsolationLevel,
    pub(crate) aborted: &'a [AbortedTransaction],
    pub(crate) last_stable_offset: Option<Offset>,
}

/// Decodes the records fetched for `topic_partition` from `position`.
pub(crate) fn decode(
    topic_partition: &TopicPartition,
    position: Offset,
    data: Bytes,
    isolation: Isolation<'_>,
) -> Result<Decoded> {
    let corrupt = |source| Error::Corrupt {
        topic_partition: topic_partition.clone(),
        source,
    };
    let had_data = !data.is_empty();
    let batches = complete_batches(data).map_err(corrupt)?;
    if batches.is_empty() && had_data {
        return Err(Error::RecordTooLarge {
            topic_partition: topic_partition.clone(),
            offset: position,
        });
    }
    let read_committed = isolation.level == IsolationLevel::ReadCommitted;
    let stable_end = isolation
        .last_stable_offset
        .filter(|_| read_committed)
        .unwrap_or(Offset(u64::MAX));
    // Aborted transactions in order of their first offset; a producer is "aborting" from its
    // first offset until its ABORT marker.
    let mut pending_aborts: Vec<AbortedTransaction> = isolation.aborted.to_vec();
    pending_aborts.sort_by_key(|aborted| std::cmp::Reverse(aborted.first_offset));
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut next_position = position;
    let mut records = Vec::new();
    for batch in batches {
        let header = batch.header().clone();
        if header.base_offset >= stable_end {
            break;
        }
        if header.next_offset() <= position {
            continue;
        }
        if read_committed {
            while pending_aborts
                .last()
                .is_some_and(|aborted| aborted.first_offset <= header.last_offset())
            {
                if let Some(aborted) = pending_aborts.pop() {
                    aborting.insert(aborted.producer_id);
                }
            }
        }
        if header.is_control() {
            if read_committed && let Some(producer_id) = header.producer_id {
                let decoded = batch.records(DecodeLimits::default()).map_err(corrupt)?;
                let aborts = decoded.iter().any(|record| {
                    record
                        .key
                        .as_deref()
                        .and_then(|key| ControlRecordType::parse(key).ok())
                        == Some(ControlRecordType::Abort)
                });
                if aborts {
                    aborting.remove(&producer_id);
                }
            }
            next_position = header.next_offset();
            continue;
        }
        let aborted = read_committed
            && header.is_transactional()
            && header
                .producer_id
                .is_some_and(|producer_id| aborting.contains(&producer_id));
        if aborted {
            next_position = header.next_offset();
            continue;
        }
        let timestamp_type = header.timestamp_type();
        for record in batch.records(DecodeLimits::default()).map_err(corrupt)? {
            if record.offset < position || record.offset >= stable_end {
                continue;
            }
            records.push(ConsumerRecord {
                topic: topic_partition.topic.clone(),
                partition: topic_partition.partition,
                offset: record.offset,
                timestamp: record.timestamp,
                timestamp_type,
                key: record.key,
                value: record.value,
                headers: record.headers,
            });
        }
        next_position = header.next_offset().min(stable_end);
    }
    Ok(Decoded {
        records,
        next_position,
    })
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use strom_record::{BatchBuilder, BatchConfig, Compression, EndTransactionMarker};

    use super::*;

    /// A batch at `base` of `count` records valued `v<offset>`.
    fn batch(base: u64, count: u64, compression: Compression, producer: Option<i64>) -> Bytes {
        let mut builder = BatchBuilder::new(BatchConfig {
            base_offset: Offset(base),
            compression,
            producer_id: producer,
            producer_epoch: if producer.is_some() { 0 } else { -1 },
            base_sequence: producer.map(|_| 0),
            is_transactional: producer.is_some(),
            ..BatchConfig::default()
        });
        for offset in base..base + count {
            builder.push(
                Timestamp(1000 + offset as i64),
                None,
                Some(Bytes::from(format!("v{offset}"))),
                Vec::new(),
            );
        }
        builder.build().unwrap().into_bytes()
    }

    fn marker(base: u64, producer_id: i64, kind: ControlRecordType) -> Bytes {
        let marker = EndTransactionMarker {
            kind,
            coordinator_epoch: 0,
        };
        let mut batch = marker.batch(producer_id, 0, Timestamp(5)).unwrap();
        batch.set_base_offset(Offset(base));
        batch.into_bytes()
    }

    fn join(parts: &[Bytes]) -> Bytes {
        let mut res = BytesMut::new();
        for part in parts {
            res.extend_from_slice(part);
        }
        res.freeze()
    }

    #[track_caller]
    fn check(data: Bytes, position: u64, isolation: Isolation<'_>, expect: &str) {
        let tp = TopicPartition::new("t", 0);
        let res = match decode(&tp, Offset(position), data, isolation) {
            Ok(decoded) => {
                let offsets: Vec<String> = decoded
                    .records
                    .iter()
                    .map(|record| record.offset.to_string())
                    .collect();
                format!("[{}] next {}", offsets.join(" "), decoded.next_position)
            }
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(res, expect);
    }

    const UNCOMMITTED: Isolation<'static> = Isolation {
        level: IsolationLevel::ReadUncommitted,
        aborted: &[],
        last_stable_offset: None,
    };

    #[test]
    fn fetch_from_mid_batch_skips_earlier_records_with_every_codec() {
        for compression in Compression::ALL {
            let data = join(&[
                batch(0, 3, compression, None),
                batch(3, 2, compression, None),
            ]);
            check(data, 4, UNCOMMITTED, "[4] next 5");
        }
    }

    #[test]
    fn trailing_partial_batch_is_left_for_the_next_fetch() {
        let whole = batch(0, 3, Compression::None, None);
        let next = batch(3, 2, Compression::Lz4, None);
        let data = join(&[whole, next.slice(..next.len() - 7)]);
        check(data, 0, UNCOMMITTED, "[0 1 2] next 3");
    }

    #[test]
    fn a_first_batch_larger_than_the_fetch_is_an_error() {
        let data = batch(0, 3, Compression::None, None);
        check(
            data.slice(..data.len() - 1),
            0,
            UNCOMMITTED,
            "error: batch at offset 0 of t-0 is larger than the fetch size",
        );
        check(Bytes::new(), 7, UNCOMMITTED, "[] next 7");
    }

    #[test]
    fn corrupt_data_is_reported() {
        let mut data = BytesMut::from(&batch(0, 3, Compression::None, None)[..]);
        let last = data.len() - 1;
        data[last] ^= 0xff;
        check(
            data.freeze(),
            0,
            UNCOMMITTED,
            "error: corrupt data fetched from t-0",
        );
    }

    #[test]
    fn read_committed_drops_aborted_batches_and_markers() {
        // Producer 7 aborts offsets 0..2 (marker at 2); producer 8 commits 3..5 (marker at 5);
        // a non-transactional batch at 6..7.
        let data = join(&[
            batch(0, 2, Compression::Gzip, Some(7)),
            marker(2, 7, ControlRecordType::Abort),
            batch(3, 2, Compression::Snappy, Some(8)),
            marker(5, 8, ControlRecordType::Commit),
            batch(6, 2, Compression::Zstd, None),
        ]);
        let aborted = [AbortedTransaction {
            producer_id: 7,
            first_offset: Offset(0),
        }];
        let committed = Isolation {
            level: IsolationLevel::ReadCommitted,
            aborted: &aborted,
            last_stable_offset: Some(Offset(8)),
        };
        check(data.clone(), 0, committed, "[3 4 6 7] next 8");
        // The last stable offset bounds what is returned.
        let bounded = Isolation {
            last_stable_offset: Some(Offset(6)),
            ..committed
        };
        check(data.clone(), 0, bounded, "[3 4] next 6");
        // read_uncommitted sees the aborted records too, but never the markers.
        check(data, 0, UNCOMMITTED, "[0 1 3 4 6 7] next 8");
    }
}
