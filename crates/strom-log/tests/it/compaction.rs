//! Log compaction: offsets preserved, the latest value per key kept, tombstones removed only after
//! `delete.retention.ms`, unkeyed records dropped, compressed batches rebuilt, and the swap
//! protocol recovering from a crash at each of its steps.

use std::fs;

use strom_log::{CleanupPolicy, Log, LogConfig};
use strom_record::{BatchConfig, Compression, Timestamp};

use crate::fixture::{
    Snapshot, assert_indexes_equal_rebuilt, batch, batch_with, o, offsets, read_all_records,
    restore, small_config, snapshot,
};

const NOW: Timestamp = Timestamp(1_700_000_000_000);
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn compact_config() -> LogConfig {
    LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..small_config()
    }
}

/// Appends `(key, value)` records one batch each (tombstone = `None`), rolls, sets the high
/// watermark, compacts at `now`, and returns `(offset, key, value)` of what remains.
#[track_caller]
fn check(
    records: &[(Option<&str>, Option<&str>)],
    now: Timestamp,
    expect: &[(u64, Option<&str>, Option<&str>)],
) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), compact_config(), NOW).unwrap();
    for record in records {
        log.append(batch(&[*record], NOW), NOW).unwrap();
    }
    log.roll().unwrap();
    log.set_high_watermark(log.log_end_offset());
    let end = log.log_end_offset();
    log.compact(now).unwrap();
    assert_eq!(
        log.log_end_offset(),
        end,
        "compaction never moves the log end"
    );
    let res: Vec<(u64, Option<String>, Option<String>)> = read_all_records(&log)
        .into_iter()
        .map(|record| {
            let text =
                |bytes: Option<bytes::Bytes>| bytes.map(|b| String::from_utf8(b.to_vec()).unwrap());
            (record.offset.0, text(record.key), text(record.value))
        })
        .collect();
    let expect: Vec<(u64, Option<String>, Option<String>)> = expect
        .iter()
        .map(|(offset, key, value)| (*offset, key.map(str::to_owned), value.map(str::to_owned)))
        .collect();
    assert_eq!(res, expect);
    log.close(now).unwrap();
    assert_indexes_equal_rebuilt(dir.path(), &compact_config(), now);
}

#[test]
fn latest_value_per_key_is_kept_at_its_offset() {
    check(
        &[
            (Some("a"), Some("1")),
            (Some("b"), Some("1")),
            (Some("a"), Some("2")),
            (Some("c"), Some("1")),
            (Some("b"), Some("2")),
        ],
        NOW,
        &[
            (2, Some("a"), Some("2")),
            (3, Some("c"), Some("1")),
            (4, Some("b"), Some("2")),
        ],
    );
}

#[test]
fn tombstones_survive_delete_retention_then_go() {
    let records = [
        (Some("a"), Some("1")),
        (Some("a"), None),
        (Some("b"), Some("1")),
    ];
    // Before delete.retention.ms the tombstone stays (and hides the older value).
    check(
        &records,
        Timestamp(NOW.0 + DAY_MS),
        &[(1, Some("a"), None), (2, Some("b"), Some("1"))],
    );
    // After it, the tombstone goes too.
    check(
        &records,
        Timestamp(NOW.0 + DAY_MS + 1),
        &[(2, Some("b"), Some("1"))],
    );
}

#[test]
fn unkeyed_records_are_dropped() {
    check(
        &[(None, Some("x")), (Some("a"), Some("1")), (None, None)],
        NOW,
        &[(1, Some("a"), Some("1"))],
    );
}

#[test]
fn active_segment_and_young_segments_are_not_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), compact_config(), NOW).unwrap();
    for _ in 0..3 {
        log.append(batch(&[(Some("a"), Some("1"))], NOW), NOW)
            .unwrap();
    }
    log.set_high_watermark(log.log_end_offset());
    assert_eq!(
        log.compact(NOW).unwrap().segments_cleaned,
        0,
        "active segment"
    );
    log.roll().unwrap();
    log.set_config(LogConfig {
        min_compaction_lag_ms: 1000,
        ..compact_config()
    })
    .unwrap();
    assert_eq!(
        log.compact(Timestamp(NOW.0 + 999))
            .unwrap()
            .segments_cleaned,
        0,
        "lag"
    );
    let report = log.compact(Timestamp(NOW.0 + 1000)).unwrap();
    assert_eq!(report.segments_cleaned, 1);
    assert_eq!(report.records_removed, 2);
    assert_eq!(offsets(&read_all_records(&log)), vec![2]);
}

#[test]
fn multi_record_compressed_batches_are_rebuilt_with_their_codec() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), compact_config(), NOW).unwrap();
    for compression in [Compression::Gzip, Compression::None, Compression::Zstd] {
        let config = BatchConfig {
            compression,
            producer_id: Some(9),
            producer_epoch: 1,
            base_sequence: Some(0),
            ..BatchConfig::default()
        };
        log.append(
            batch_with(
                config,
                &[
                    (Some("a"), Some("1")),
                    (Some("b"), Some("1")),
                    (Some("c"), Some("1")),
                ],
                NOW,
            ),
            NOW,
        )
        .unwrap();
    }
    log.append(
        batch(&[(Some("a"), Some("2")), (Some("c"), Some("2"))], NOW),
        NOW,
    )
    .unwrap();
    log.roll().unwrap();
    log.set_high_watermark(log.log_end_offset());
    log.compact(NOW).unwrap();
    assert_eq!(offsets(&read_all_records(&log)), vec![7, 9, 10]);
    let batches = crate::fixture::read_all_batches(&log);
    let codecs: Vec<Compression> = batches
        .iter()
        .map(|b| b.header().compression().unwrap())
        .collect();
    assert_eq!(codecs, vec![Compression::Zstd, Compression::None]);
    // The rebuilt batch keeps its offset range and producer fields.
    let header = batches[0].header();
    assert_eq!((header.base_offset, header.last_offset()), (o(6), o(8)));
    assert_eq!(
        (header.producer_id, header.base_sequence),
        (Some(9), Some(0))
    );
}

/// The states a crash can leave during the swap of one segment, and whether the cleaned copy
/// must win.
#[test]
fn crash_at_every_swap_step_recovers_old_or_new() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), compact_config(), NOW).unwrap();
    for round in 0..30 {
        let value = format!("{round}");
        log.append(
            batch(
                &[(Some(["a", "b", "c"][round % 3]), Some(value.as_str()))],
                NOW,
            ),
            NOW,
        )
        .unwrap();
        if round % 10 == 9 {
            log.roll().unwrap();
        }
    }
    log.set_high_watermark(log.log_end_offset());
    log.flush(NOW).unwrap();
    let old_records = read_all_records(&log);
    let old = snapshot(dir.path());
    log.compact(NOW).unwrap();
    let new_records = read_all_records(&log);
    log.flush(NOW).unwrap();
    let new = snapshot(dir.path());
    assert_ne!(old_records, new_records);
    drop(log);
    // Crash during the first segment's swap (base offset 0): every later segment is still old.
    let name = |suffix: &str| format!("{:020}.{suffix}", 0);
    let state = |moves: &[(&str, &str)]| -> Snapshot {
        let mut res = old.clone();
        for (suffix, extra) in moves {
            let bytes = new[&name(suffix)].clone();
            if extra.is_empty() {
                res.insert(name(suffix), bytes);
            } else {
                res.insert(format!("{}{extra}", name(suffix)), bytes);
            }
        }
        res
    };
    let first_segment_new: Vec<_> = {
        let mut expect = new_records
            .iter()
            .filter(|r| r.offset.0 < 10)
            .cloned()
            .collect::<Vec<_>>();
        expect.extend(old_records.iter().filter(|r| r.offset.0 >= 10).cloned());
        expect
    };
    let cases: Vec<(Snapshot, &Vec<_>)> = vec![
        (
            state(&[
                ("index", ".cleaned"),
                ("timeindex", ".cleaned"),
                ("log", ".cleaned"),
            ]),
            &old_records,
        ),
        (
            state(&[
                ("index", ".swap"),
                ("timeindex", ".cleaned"),
                ("log", ".cleaned"),
            ]),
            &old_records,
        ),
        (
            state(&[
                ("index", ".swap"),
                ("timeindex", ".swap"),
                ("log", ".cleaned"),
            ]),
            &old_records,
        ),
        (
            state(&[("index", ".swap"), ("timeindex", ".swap"), ("log", ".swap")]),
            &first_segment_new,
        ),
        (
            state(&[("index", ""), ("timeindex", ".swap"), ("log", ".swap")]),
            &first_segment_new,
        ),
        (
            state(&[("index", ""), ("timeindex", ""), ("log", ".swap")]),
            &first_segment_new,
        ),
        (
            state(&[("index", ""), ("timeindex", ""), ("log", "")]),
            &first_segment_new,
        ),
    ];
    for (index, (files, expect)) in cases.iter().enumerate() {
        let copy = tempfile::tempdir().unwrap();
        restore(files, copy.path());
        let log = Log::open(copy.path(), compact_config(), NOW).unwrap();
        assert_eq!(&read_all_records(&log), *expect, "case {index}");
        log.close(NOW).unwrap();
        let leftovers: Vec<String> = fs::read_dir(copy.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".swap") || name.ends_with(".cleaned"))
            .collect();
        assert!(leftovers.is_empty(), "case {index}: {leftovers:?}");
        assert_indexes_equal_rebuilt(copy.path(), &compact_config(), NOW);
    }
}
