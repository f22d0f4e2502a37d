//! Model-based test: random sequences of append / read / truncate / roll / retention /
//! compaction / delete-records / close-and-reopen (clean and unclean) against an in-memory model
//! of the records. After every step the whole log must read back exactly as the model says, and
//! every random read must return whole batches that agree with the model.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strom_log::{CleanupPolicy, Log, LogConfig};
use strom_record::{DecodeLimits, Timestamp, complete_batches};

use crate::fixture::{batch, o, read_all_batches};

const START: Timestamp = Timestamp(1_700_000_000_000);

#[derive(Debug, Clone)]
enum Op {
    /// Records as (key index or unkeyed, value or tombstone).
    Append(Vec<(Option<u8>, Option<u16>)>),
    Read {
        pick: u64,
        max_bytes: u64,
    },
    Truncate {
        pick: u64,
    },
    Roll,
    Retention {
        keep_bytes: Option<u64>,
        keep_ms: Option<u64>,
    },
    Compact,
    DeleteRecords {
        pick: u64,
    },
    Reopen {
        clean: bool,
    },
    Wait {
        ms: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let record = (
        proptest::option::weighted(0.9, 0u8..6),
        proptest::option::weighted(0.85, any::<u16>()),
    );
    prop_oneof![
        8 => proptest::collection::vec(record, 1..6).prop_map(Op::Append),
        3 => (any::<u64>(), 1u64..1500).prop_map(|(pick, max_bytes)| Op::Read { pick, max_bytes }),
        1 => any::<u64>().prop_map(|pick| Op::Truncate { pick }),
        1 => Just(Op::Roll),
        1 => (proptest::option::of(0u64..3000), proptest::option::of(0u64..60_000))
            .prop_map(|(keep_bytes, keep_ms)| Op::Retention { keep_bytes, keep_ms }),
        1 => Just(Op::Compact),
        1 => any::<u64>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        1 => (0i64..40_000).prop_map(|ms| Op::Wait { ms }),
    ]
}

/// What the model holds for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: Timestamp,
}

struct Model {
    records: BTreeMap<u64, Entry>,
    /// `(base, last)` of each batch.
    batches: Vec<(u64, u64)>,
    log_start_offset: u64,
    log_end_offset: u64,
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 700,
        index_interval_bytes: 150,
        cleanup_policy: CleanupPolicy::CompactAndDelete,
        segment_ms: 1 << 40,
        retention_ms: None,
        delete_retention_ms: 30_000,
        ..LogConfig::default()
    }
}

fn pick_in(pick: u64, from: u64, to: u64) -> u64 {
    from + pick % (to - from + 1)
}

/// Checks that the whole log reads back as the model says.
fn check_all(log: &Log, model: &Model) {
    assert_eq!(
        log.log_start_offset().0,
        model.log_start_offset,
        "log start offset"
    );
    assert_eq!(
        log.log_end_offset().0,
        model.log_end_offset,
        "log end offset"
    );
    let mut read = BTreeMap::new();
    let mut ranges = Vec::new();
    for batch in read_all_batches(log) {
        ranges.push((batch.header().base_offset.0, batch.header().last_offset().0));
        for record in batch.records(DecodeLimits::default()).unwrap() {
            if record.offset.0 >= model.log_start_offset {
                let entry = Entry {
                    key: record.key.map(|key| key.to_vec()),
                    value: record.value.map(|value| value.to_vec()),
                    timestamp: record.timestamp,
                };
                read.insert(record.offset.0, entry);
            }
        }
    }
    assert_eq!(read, model.records);
    let model_ranges: Vec<(u64, u64)> = model
        .batches
        .iter()
        .copied()
        .filter(|&(_, last)| last >= model.log_start_offset)
        .collect();
    assert_eq!(ranges, model_ranges);
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut now = START;
    let mut log = Some(Log::open(dir.path(), config(), now).unwrap());
    let mut model = Model {
        records: BTreeMap::new(),
        batches: Vec::new(),
        log_start_offset: 0,
        log_end_offset: 0,
    };
    for op in ops {
        let current = log.as_mut().unwrap();
        match op {
            Op::Append(records) => {
                let keys: Vec<Option<String>> = records
                    .iter()
                    .map(|(key, _)| key.map(|k| format!("key{k}")))
                    .collect();
                let values: Vec<Option<String>> = records
                    .iter()
                    .map(|(_, value)| value.map(|v| format!("value{v}")))
                    .collect();
                let pairs: Vec<(Option<&str>, Option<&str>)> = keys
                    .iter()
                    .zip(&values)
                    .map(|(k, v)| (k.as_deref(), v.as_deref()))
                    .collect();
                let info = current.append(batch(&pairs, now), now).unwrap();
                assert_eq!(info.base_offset.0, model.log_end_offset);
                for (index, (key, value)) in keys.iter().zip(&values).enumerate() {
                    model.records.insert(
                        model.log_end_offset + index as u64,
                        Entry {
                            key: key.as_ref().map(|k| k.as_bytes().to_vec()),
                            value: value.as_ref().map(|v| v.as_bytes().to_vec()),
                            timestamp: now,
                        },
                    );
                }
                model
                    .batches
                    .push((model.log_end_offset, info.last_offset.0));
                model.log_end_offset = info.last_offset.0 + 1;
            }
            Op::Read { pick, max_bytes } => {
                let offset = pick_in(pick, model.log_start_offset, model.log_end_offset);
                let slice = current
                    .read(o(offset), max_bytes, current.log_end_offset())
                    .unwrap();
                let batches = complete_batches(slice.read_to_bytes().unwrap()).unwrap();
                let bytes: u64 = batches.iter().map(|b| b.as_bytes().len() as u64).sum();
                assert_eq!(bytes, slice.len, "whole batches only");
                assert!(batches.len() <= 1 || bytes <= max_bytes, "max bytes");
                let expected_first = model.batches.iter().find(|&&(_, last)| last >= offset);
                match (expected_first, batches.first()) {
                    (Some(&(base, last)), Some(first)) => {
                        assert_eq!(
                            (first.header().base_offset.0, first.header().last_offset().0),
                            (base, last)
                        );
                    }
                    (None, None) => {}
                    (expected, got) => panic!(
                        "read at {offset}: expected {expected:?}, got {:?}",
                        got.map(|b| b.header().base_offset)
                    ),
                }
                for batch in &batches {
                    for record in batch.records(DecodeLimits::default()).unwrap() {
                        if record.offset.0 >= model.log_start_offset {
                            assert_eq!(
                                model.records[&record.offset.0].value.as_deref(),
                                record.value.as_deref()
                            );
                        }
                    }
                }
            }
            Op::Truncate { pick } => {
                let offset = pick_in(pick, model.log_start_offset, model.log_end_offset);
                current.truncate_to(o(offset)).unwrap();
                let end = current.log_end_offset().0;
                let start = model.log_start_offset;
                let max = model
                    .batches
                    .iter()
                    .find(|&&(_, last)| last >= offset)
                    .map_or(offset, |&(base, _)| base.max(start));
                let min = model
                    .batches
                    .iter()
                    .rev()
                    .find(|&&(_, last)| last < offset)
                    .map_or(start, |&(_, last)| (last + 1).max(start));
                assert!(
                    min <= end && end <= max,
                    "truncate to {offset}: end {end} not in [{min}, {max}]"
                );
                model.records.retain(|&offset, _| offset < end);
                model.batches.retain(|&(_, last)| last < end);
                model.log_end_offset = end;
                model.log_start_offset = current.log_start_offset().0;
                assert!(model.log_start_offset <= end);
            }
            Op::Roll => current.roll().unwrap(),
            Op::Retention {
                keep_bytes,
                keep_ms,
            } => {
                current
                    .set_config(LogConfig {
                        retention_bytes: keep_bytes,
                        retention_ms: keep_ms,
                        ..config()
                    })
                    .unwrap();
                current.set_high_watermark(current.log_end_offset());
                let size = current.size_bytes();
                let report = current.enforce_retention(now).unwrap();
                current.set_config(config()).unwrap();
                let start = current.log_start_offset().0;
                assert!(start >= model.log_start_offset);
                assert_eq!(current.log_end_offset().0, model.log_end_offset);
                for (offset, entry) in model.records.range(..start) {
                    // A record goes by time only if its whole segment is older than retention.ms.
                    let by_time = keep_ms.is_some_and(|ms| now.0 - entry.timestamp.0 > ms as i64);
                    assert!(
                        by_time || keep_bytes.is_some(),
                        "offset {offset} deleted too early"
                    );
                }
                if let Some(keep_bytes) = keep_bytes
                    && keep_ms.is_none()
                {
                    // Below retention.bytes only segments wholly before the log start may go.
                    assert!(
                        size - report.bytes_deleted >= keep_bytes
                            || start == model.log_start_offset
                    );
                }
                model.log_start_offset = start;
                model.records.retain(|&offset, _| offset >= start);
            }
            Op::Compact => {
                current.set_high_watermark(current.log_end_offset());
                current.compact(now).unwrap();
                // What survives must be what the rules allow; then it becomes the model.
                let mut after = BTreeMap::new();
                let mut batches = Vec::new();
                for batch in read_all_batches(current) {
                    batches.push((batch.header().base_offset.0, batch.header().last_offset().0));
                    for record in batch.records(DecodeLimits::default()).unwrap() {
                        if record.offset.0 >= model.log_start_offset {
                            after.insert(record.offset.0, record);
                        }
                    }
                }
                for (offset, entry) in &model.records {
                    match after.get(offset) {
                        Some(record) => {
                            assert_eq!(
                                record.value.as_deref(),
                                entry.value.as_deref(),
                                "offset {offset} changed"
                            );
                        }
                        None => {
                            let superseded = entry.key.is_some()
                                && model
                                    .records
                                    .range(offset + 1..)
                                    .any(|(_, later)| later.key == entry.key);
                            let expired_tombstone = entry.value.is_none()
                                && now.0 - entry.timestamp.0 > config().delete_retention_ms as i64;
                            assert!(
                                entry.key.is_none() || superseded || expired_tombstone,
                                "offset {offset} was removed but is the latest for its key"
                            );
                        }
                    }
                }
                model.records.retain(|offset, _| after.contains_key(offset));
                model.batches = batches;
            }
            Op::DeleteRecords { pick } => {
                current.set_high_watermark(current.log_end_offset());
                let offset = pick_in(pick, model.log_start_offset, model.log_end_offset);
                assert_eq!(current.delete_records_before(o(offset)).unwrap(), o(offset));
                model.log_start_offset = offset;
                model.records.retain(|&record, _| record >= offset);
            }
            Op::Reopen { clean } => {
                let closing = log.take().unwrap();
                if clean {
                    closing.close(now).unwrap();
                } else {
                    drop(closing);
                }
                let reopened = Log::open(dir.path(), config(), now).unwrap();
                assert_eq!(reopened.recovery_report().clean_shutdown, clean);
                assert_eq!(
                    reopened.recovery_report().truncated_bytes,
                    0,
                    "a process crash loses nothing"
                );
                log = Some(reopened);
            }
            Op::Wait { ms } => now = Timestamp(now.0 + ms),
        }
        let current = log.as_ref().unwrap();
        check_all(current, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn log_agrees_with_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
