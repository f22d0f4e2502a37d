//! Reads, appends and lookups: whole batches, max bytes, the exclusive upper bound, offsets out
//! of range, timestamps, leader epochs, producer state and the flush policy.

use strom_log::{Error, Log, LogConfig};
use strom_record::{
    BatchConfig, Compression, LeaderEpoch, Timestamp, TimestampType, complete_batches,
};

use crate::fixture::{batch, batch_with, o, read_all_records, sized_batch, small_config};

const NOW: Timestamp = Timestamp(1_700_000_000_000);

/// A log with batches of the given record counts (record `i` of the log has key `k<i>` and
/// timestamp `NOW + i`), rolled after the batches whose index is in `rolls`.
fn log_with(dir: &std::path::Path, counts: &[usize], rolls: &[usize]) -> Log {
    let mut log = Log::open(dir, small_config(), NOW).unwrap();
    let mut next = 0u64;
    for (index, &count) in counts.iter().enumerate() {
        let keys: Vec<String> = (next..next + count as u64)
            .map(|i| format!("k{i}"))
            .collect();
        let records: Vec<(Option<&str>, Option<&str>)> = keys
            .iter()
            .map(|key| (Some(key.as_str()), Some("v")))
            .collect();
        let mut builder = strom_record::BatchBuilder::new(BatchConfig::default());
        for (offset, (key, value)) in (next..).zip(&records) {
            builder.push(
                Timestamp(NOW.0 + offset as i64),
                key.map(|key| key.to_owned().into()),
                value.map(|value| value.to_owned().into()),
                Vec::new(),
            );
        }
        let info = log.append(builder.build().unwrap(), NOW).unwrap();
        assert_eq!(info.base_offset, o(next));
        next += count as u64;
        if rolls.contains(&index) {
            log.roll().unwrap();
        }
    }
    log
}

/// Reads at `offset` with `max_bytes` and `upper_bound` and returns the base and last offsets of
/// the batches returned.
#[track_caller]
fn check(
    counts: &[usize],
    rolls: &[usize],
    offset: u64,
    max_bytes: u64,
    upper_bound: u64,
    expect: &[(u64, u64)],
) {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), counts, rolls);
    let slice = log.read(o(offset), max_bytes, o(upper_bound)).unwrap();
    let batches = complete_batches(slice.read_to_bytes().unwrap()).unwrap();
    let res: Vec<(u64, u64)> = batches
        .iter()
        .map(|batch| (batch.header().base_offset.0, batch.header().last_offset().0))
        .collect();
    assert_eq!(res, expect);
}

#[test]
fn reads_return_whole_batches() {
    // Batches 0..3, 3..5, 5..9.
    check(&[3, 2, 4], &[], 0, 1 << 20, 9, &[(0, 2), (3, 4), (5, 8)]);
    // Mid-batch start returns the whole batch.
    check(&[3, 2, 4], &[], 4, 1 << 20, 9, &[(3, 4), (5, 8)]);
    // The upper bound is exclusive and never splits a batch.
    check(&[3, 2, 4], &[], 0, 1 << 20, 5, &[(0, 2), (3, 4)]);
    check(&[3, 2, 4], &[], 0, 1 << 20, 4, &[(0, 2)]);
    check(&[3, 2, 4], &[], 5, 1 << 20, 5, &[]);
    // A first batch larger than max bytes still comes back whole; later ones only if they fit.
    check(&[3, 2, 4], &[], 0, 1, 9, &[(0, 2)]);
    // Reads stop at a segment's end, and continue from the next segment.
    check(&[3, 2, 4], &[0], 0, 1 << 20, 9, &[(0, 2)]);
    check(&[3, 2, 4], &[0], 3, 1 << 20, 9, &[(3, 4), (5, 8)]);
    // Nothing to read at the log end.
    check(&[3], &[], 3, 1 << 20, 3, &[]);
}

#[test]
fn reads_outside_the_log_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(dir.path(), &[3], &[]);
    assert!(matches!(
        log.read(o(4), 100, o(100)),
        Err(Error::OffsetOutOfRange { .. })
    ));
    assert!(log.read(o(3), 100, o(100)).unwrap().is_empty());
}

#[test]
fn many_batches_across_segments_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let counts: Vec<usize> = (0..200).map(|i| 1 + i % 5).collect();
    let log = log_with(dir.path(), &counts, &[]);
    assert!(log.segment_base_offsets().len() > 5, "small segments roll");
    let total: usize = counts.iter().sum();
    let records = read_all_records(&log);
    assert_eq!(records.len(), total);
    for (index, record) in records.iter().enumerate() {
        assert_eq!(record.offset, o(index as u64));
        assert_eq!(record.key.as_deref(), Some(format!("k{index}").as_bytes()));
    }
    // Every offset reads back starting with the batch holding it.
    for offset in (0..total as u64).step_by(7) {
        let slice = log.read(o(offset), 1, log.log_end_offset()).unwrap();
        let batches = complete_batches(slice.read_to_bytes().unwrap()).unwrap();
        assert_eq!(batches.len(), 1);
        let header = batches[0].header();
        assert!(header.base_offset <= o(offset) && o(offset) <= header.last_offset());
    }
}

#[test]
fn timestamp_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let counts: Vec<usize> = (0..60).map(|i| 1 + i % 4).collect();
    let total: u64 = counts.iter().sum::<usize>() as u64;
    let log = log_with(dir.path(), &counts, &[10, 30]);
    // Record i has timestamp NOW + i.
    for target in [0u64, 1, 5, 17, 64, total - 1] {
        let res = log
            .offset_for_timestamp(Timestamp(NOW.0 + target as i64))
            .unwrap();
        assert_eq!(
            res,
            Some((o(target), Timestamp(NOW.0 + target as i64))),
            "target {target}"
        );
    }
    assert_eq!(
        log.offset_for_timestamp(Timestamp(NOW.0 - 100)).unwrap(),
        Some((o(0), NOW))
    );
    assert_eq!(
        log.offset_for_timestamp(Timestamp(NOW.0 + total as i64))
            .unwrap(),
        None
    );
    assert_eq!(
        log.max_timestamp_offset().unwrap(),
        Some((o(total - 1), Timestamp(NOW.0 + total as i64 - 1)))
    );
}

#[test]
fn timestamps_out_of_order_find_the_first_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config(), NOW).unwrap();
    for timestamp in [50, 10, 40, 30, 60, 20] {
        log.append(batch(&[(Some("k"), Some("v"))], Timestamp(timestamp)), NOW)
            .unwrap();
    }
    let check = |target: i64, expect: Option<(u64, i64)>| {
        assert_eq!(
            log.offset_for_timestamp(Timestamp(target)).unwrap(),
            expect.map(|(offset, timestamp)| (o(offset), Timestamp(timestamp))),
            "target {target}"
        );
    };
    check(5, Some((0, 50)));
    check(55, Some((4, 60)));
    check(61, None);
    assert_eq!(
        log.max_timestamp_offset().unwrap(),
        Some((o(4), Timestamp(60)))
    );
}

#[test]
fn log_append_time_stamps_batches() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        message_timestamp_type: TimestampType::LogAppendTime,
        ..small_config()
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    let info = log
        .append(
            batch(
                &[(Some("a"), Some("1")), (Some("b"), Some("2"))],
                Timestamp(5),
            ),
            Timestamp(777),
        )
        .unwrap();
    assert_eq!(info.log_append_time, Some(Timestamp(777)));
    let records = read_all_records(&log);
    assert!(
        records
            .iter()
            .all(|record| record.timestamp == Timestamp(777))
    );
    assert_eq!(
        log.offset_for_timestamp(Timestamp(700)).unwrap(),
        Some((o(0), Timestamp(777)))
    );
}

#[test]
fn too_large_batches_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        max_message_bytes: 500,
        ..small_config()
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    let res = log.append(sized_batch(4, 200, NOW, Compression::None), NOW);
    assert!(matches!(res, Err(Error::RecordTooLarge { .. })));
    assert_eq!(log.log_end_offset(), o(0));
}

#[test]
fn leader_epochs_follow_appends_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config(), NOW).unwrap();
    for (epoch, count) in [(1, 3), (1, 2), (3, 4), (5, 1)] {
        let mut batch = sized_batch(count, 10, NOW, Compression::None);
        batch.set_partition_leader_epoch(LeaderEpoch(epoch));
        log.append(batch, NOW).unwrap();
    }
    let check = |log: &Log, epoch: u32, expect: Option<(u32, u64)>| {
        assert_eq!(
            log.end_offset_for_epoch(LeaderEpoch(epoch)),
            expect.map(|(epoch, offset)| (LeaderEpoch(epoch), o(offset))),
            "epoch {epoch}"
        );
    };
    check(&log, 1, Some((1, 5)));
    check(&log, 2, Some((1, 5)));
    check(&log, 3, Some((3, 9)));
    check(&log, 5, Some((5, 10)));
    check(&log, 6, None);
    log.truncate_to(o(7)).unwrap();
    assert_eq!(
        log.log_end_offset(),
        o(5),
        "the batch holding offset 7 goes whole"
    );
    check(&log, 1, Some((1, 5)));
    check(&log, 3, None);
    log.assign_epoch(LeaderEpoch(7), o(5)).unwrap();
    check(&log, 7, Some((7, 5)));
    log.close(NOW).unwrap();
    // An epoch without data does not survive a restart (as in Kafka).
    let log = Log::open(dir.path(), small_config(), NOW).unwrap();
    check(&log, 1, Some((1, 5)));
    check(&log, 7, None);
}

#[test]
fn producer_state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config(), NOW).unwrap();
    // Producer 7 writes seven batches of three records under epoch 2, producer 8 one batch
    // under epoch 1 and then one under epoch 2 (which forgets the first).
    let mut batches = vec![(8, 1, 0)];
    batches.extend((0..7).map(|index| (7, 2, index * 3)));
    batches.push((8, 2, 0));
    for (producer_id, producer_epoch, sequence) in batches {
        let config = BatchConfig {
            producer_id: Some(producer_id),
            producer_epoch,
            base_sequence: Some(sequence),
            ..BatchConfig::default()
        };
        log.append(batch_with(config, &[(Some("a"), Some("1")); 3], NOW), NOW)
            .unwrap();
    }
    let before = log.producer_states().clone();
    let sequences: Vec<(i32, i32)> = before[&7]
        .iter()
        .map(|batch| (batch.base_sequence, batch.last_sequence))
        .collect();
    assert_eq!(sequences, [(6, 8), (9, 11), (12, 14), (15, 17), (18, 20)]);
    assert_eq!(before[&7][0].base_offset, o(9));
    assert_eq!(before[&8].len(), 1);
    assert_eq!(before[&8][0].producer_epoch, 2);
    assert_eq!(before[&8][0].last_offset, o(26));
    drop(log); // an unclean shutdown
    let log = Log::open(dir.path(), small_config(), NOW).unwrap();
    assert!(!log.recovery_report().clean_shutdown);
    assert_eq!(log.producer_states(), &before);
}

#[test]
fn flush_policy_moves_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_messages: Some(5),
        ..small_config()
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    log.append(sized_batch(3, 10, NOW, Compression::None), NOW)
        .unwrap();
    assert_eq!(log.recovery_point(), o(0));
    log.append(sized_batch(3, 10, NOW, Compression::None), NOW)
        .unwrap();
    assert_eq!(log.recovery_point(), o(6));
    let config = LogConfig {
        flush_ms: Some(1000),
        ..small_config()
    };
    log.set_config(config).unwrap();
    log.append(sized_batch(1, 10, NOW, Compression::None), NOW)
        .unwrap();
    log.flush_tick(Timestamp(NOW.0 + 999)).unwrap();
    assert_eq!(log.recovery_point(), o(6));
    log.flush_tick(Timestamp(NOW.0 + 1000)).unwrap();
    assert_eq!(log.recovery_point(), o(7));
}

#[test]
fn segments_roll_on_age() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let mut log = Log::open(dir.path(), config, NOW).unwrap();
    log.append(batch(&[(Some("a"), Some("1"))], NOW), NOW)
        .unwrap();
    log.append(
        batch(&[(Some("a"), Some("1"))], NOW),
        Timestamp(NOW.0 + 999),
    )
    .unwrap();
    assert_eq!(log.segment_base_offsets(), vec![o(0)]);
    log.append(
        batch(&[(Some("a"), Some("1"))], NOW),
        Timestamp(NOW.0 + 1000),
    )
    .unwrap();
    assert_eq!(log.segment_base_offsets(), vec![o(0), o(2)]);
}

#[test]
fn follower_appends_keep_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), small_config(), NOW).unwrap();
    let mut first = batch(&[(Some("a"), Some("1"))], NOW);
    first.set_base_offset(o(10));
    log.append_as_follower(first, NOW).unwrap();
    assert_eq!(log.log_end_offset(), o(11));
    assert_eq!(log.segment_base_offsets(), vec![o(10)]);
    assert_eq!(log.log_start_offset(), o(10));
    let mut stale = batch(&[(Some("a"), Some("1"))], NOW);
    stale.set_base_offset(o(10));
    assert!(matches!(
        log.append_as_follower(stale, NOW),
        Err(Error::NonMonotonicOffset { .. })
    ));
}
