//! Retention by time and size, `DeleteRecords`, and the log start offset checkpoint.

use strom_log::{CleanupPolicy, Log, LogConfig};
use strom_record::{Compression, Timestamp};

use crate::fixture::{o, read_all_records, sized_batch, small_config};

const NOW: Timestamp = Timestamp(1_700_000_000_000);

/// Appends `batches` batches of 4 records (~300 bytes each) with timestamps `NOW + i * 1000`,
/// into ~2 KiB segments, and sets the high watermark to the log end.
fn filled(dir: &std::path::Path, config: LogConfig, batches: usize) -> Log {
    let mut log = Log::open(dir, config, NOW).unwrap();
    for index in 0..batches {
        let timestamp = Timestamp(NOW.0 + index as i64 * 1000);
        log.append(sized_batch(4, 50, timestamp, Compression::None), timestamp)
            .unwrap();
    }
    log.set_high_watermark(log.log_end_offset());
    log
}

#[test]
fn retention_by_size_deletes_oldest_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), small_config(), 40);
    let segments = log.segment_base_offsets();
    assert!(segments.len() >= 4);
    let size = log.size_bytes();
    log.set_config(LogConfig {
        retention_bytes: Some(size / 2),
        ..small_config()
    })
    .unwrap();
    let report = log.enforce_retention(NOW).unwrap();
    assert!(report.segments_deleted > 0);
    assert!(log.size_bytes() >= size / 2, "never below retention.bytes");
    assert!(log.size_bytes() - report.bytes_deleted <= size);
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    assert_eq!(
        log.segment_base_offsets(),
        segments[report.segments_deleted..].to_vec()
    );
    // Reads below the new start fail, reads from it work.
    assert!(log.read(o(0), 100, log.log_end_offset()).is_err());
    assert_eq!(
        read_all_records(&log).first().unwrap().offset,
        log.log_start_offset()
    );
    // The log start offset survives a restart.
    let start = log.log_start_offset();
    drop(log);
    let log = Log::open(dir.path(), small_config(), NOW).unwrap();
    assert_eq!(log.log_start_offset(), start);
}

#[test]
fn retention_by_time_rolls_and_deletes_everything_expired() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_ms: Some(10_000),
        ..small_config()
    };
    let mut log = filled(dir.path(), config, 30);
    let end = log.log_end_offset();
    // At NOW + 25 s, batches with timestamps before NOW + 15 s are expired.
    let report = log.enforce_retention(Timestamp(NOW.0 + 25_000)).unwrap();
    assert!(report.segments_deleted > 0);
    let first = read_all_records(&log).first().unwrap().timestamp;
    assert!(
        first.0 > NOW.0 + 15_000 - 10_000,
        "only whole expired segments go"
    );
    // Much later everything is expired: the active segment is rolled and deleted too.
    log.enforce_retention(Timestamp(NOW.0 + 1_000_000)).unwrap();
    assert_eq!(log.log_start_offset(), end);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.segment_base_offsets(), vec![end]);
}

#[test]
fn retention_respects_the_high_watermark_and_policy() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_bytes: Some(1),
        ..small_config()
    };
    let mut log = filled(dir.path(), config.clone(), 30);
    log.set_high_watermark(o(0));
    assert_eq!(log.enforce_retention(NOW).unwrap().segments_deleted, 0);
    log.set_high_watermark(log.log_end_offset());
    log.set_config(LogConfig {
        cleanup_policy: CleanupPolicy::Compact,
        ..config
    })
    .unwrap();
    assert_eq!(log.enforce_retention(NOW).unwrap().segments_deleted, 0);
}

#[test]
fn delete_records_moves_the_log_start_then_retention_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = filled(dir.path(), small_config(), 30);
    let third = log.segment_base_offsets()[2];
    assert!(
        log.delete_records_before(o(log.log_end_offset().0 + 1))
            .is_err()
    );
    assert_eq!(
        log.delete_records_before(o(third.0 + 1)).unwrap(),
        o(third.0 + 1)
    );
    assert_eq!(
        read_all_records(&log).first().unwrap().offset,
        o(third.0 + 1)
    );
    let report = log.enforce_retention(NOW).unwrap();
    assert_eq!(report.segments_deleted, 2);
    assert_eq!(log.log_start_offset(), o(third.0 + 1));
    drop(log);
    let log = Log::open(dir.path(), small_config(), NOW).unwrap();
    assert_eq!(log.log_start_offset(), o(third.0 + 1));
}
