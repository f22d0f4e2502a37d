//! Crash consistency. A workload of appends, rolls and flushes is snapshotted at every write
//! boundary (the directory as the page cache holds it). Each snapshot is then recovered as is,
//! with its last write torn at random byte positions, with an unflushed segment's tail lost while
//! a later segment survived, and with random bytes flipped in the unflushed tail. Recovery must yield a CRC-valid prefix of what was appended that contains every
//! flushed batch, and indexes equal to ones rebuilt from the `.log` files alone.
//!
//! Only bytes covered by the CRC (and the length and magic fields) are flipped: the base offset
//! and partition leader epoch are outside Kafka's CRC, so no reader can detect a flip there.

use bytes::Bytes;
use strom_log::{Log, LogConfig};
use strom_record::{Compression, Offset, Timestamp};

use crate::fixture::{
    Snapshot, assert_indexes_equal_rebuilt, read_all_batches, restore, sized_batch, snapshot,
};

const NOW: Timestamp = Timestamp(1_700_000_000_000);

/// A small deterministic generator (splitmix64), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1500,
        index_interval_bytes: 200,
        retention_ms: None,
        ..LogConfig::default()
    }
}

/// Where an appended batch lives.
struct Appended {
    bytes: Bytes,
    next_offset: Offset,
    file: String,
    position: u64,
}

struct State {
    files: Snapshot,
    /// Batches appended so far.
    count: usize,
    /// The recovery point (everything before it was fsynced).
    flushed: Offset,
}

/// Recovers `files` and checks the result is a prefix of `appended` of `min..=max` batches.
#[track_caller]
fn recover(files: &Snapshot, appended: &[Appended], min: usize, max: usize, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    restore(files, dir.path());
    let log = Log::open(dir.path(), config(), NOW).unwrap();
    let batches = read_all_batches(&log);
    assert!(
        (min..=max).contains(&batches.len()),
        "{what}: recovered {} batches, expected {min}..={max}",
        batches.len()
    );
    for (index, batch) in batches.iter().enumerate() {
        assert_eq!(
            batch.as_bytes(),
            &appended[index].bytes[..],
            "{what}: batch {index} differs"
        );
    }
    let expected_end = batches
        .len()
        .checked_sub(1)
        .map_or(Offset(0), |last| appended[last].next_offset);
    assert_eq!(log.log_end_offset(), expected_end, "{what}");
    log.close(NOW).unwrap();
    assert_indexes_equal_rebuilt(dir.path(), &config(), NOW);
}

#[test]
fn crash_at_every_write_boundary_with_torn_and_corrupt_tails() {
    let seed = std::env::var("STROM_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5eed_c4a5);
    println!("seed {seed} (set STROM_TEST_SEED to replay)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), NOW).unwrap();
    let mut appended: Vec<Appended> = Vec::new();
    let mut states = vec![State {
        files: snapshot(dir.path()),
        count: 0,
        flushed: Offset(0),
    }];
    for _ in 0..36 {
        let compression =
            [Compression::None, Compression::Gzip, Compression::Lz4][rng.below(3) as usize];
        let count = 1 + rng.below(4) as usize;
        let value_bytes = 10 + rng.below(150) as usize;
        let info = log
            .append(sized_batch(count, value_bytes, NOW, compression), NOW)
            .unwrap();
        let slice = log.read(info.base_offset, 1, log.log_end_offset()).unwrap();
        let base = *log.segment_base_offsets().last().unwrap();
        appended.push(Appended {
            bytes: slice.read_to_bytes().unwrap(),
            next_offset: Offset(info.last_offset.0 + 1),
            file: format!("{:020}.log", base.0),
            position: slice.position,
        });
        if rng.below(5) == 0 {
            log.flush(NOW).unwrap();
        }
        if rng.below(8) == 0 {
            log.roll().unwrap();
        }
        states.push(State {
            files: snapshot(dir.path()),
            count: appended.len(),
            flushed: log.recovery_point(),
        });
    }
    assert!(
        log.segment_base_offsets().len() > 3,
        "the workload rolls segments"
    );

    let (mut torn_cases, mut lost_tail_cases, mut flip_cases) = (0, 0, 0);
    for (k, state) in states.iter().enumerate() {
        let flushed_batches = appended
            .iter()
            .take_while(|batch| batch.next_offset <= state.flushed)
            .count();
        // A crash exactly at the boundary loses nothing the page cache held.
        recover(
            &state.files,
            &appended,
            state.count,
            state.count,
            &format!("boundary {k}"),
        );

        // The next write torn at random byte positions (only if it was not flushed).
        if let Some(next) = states.get(k + 1)
            && next.flushed == state.flushed
        {
            let batch = &appended[k];
            for _ in 0..2 {
                let cut = batch.position + rng.below(batch.bytes.len() as u64);
                let mut files = next.files.clone();
                files.get_mut(&batch.file).unwrap().truncate(cut as usize);
                recover(
                    &files,
                    &appended,
                    state.count,
                    state.count,
                    &format!("torn write {k} cut at {cut}"),
                );
                torn_cases += 1;
            }
        }

        // An unflushed segment that lost its tail while a later segment file survived (possible
        // after a power loss): recovery keeps the batches before the lost ones, nothing after.
        if let Some(last) = state
            .files
            .keys()
            .filter(|name| name.ends_with(".log"))
            .max()
        {
            for victim in flushed_batches..state.count {
                let batch = &appended[victim];
                if &batch.file == last || victim == 0 || appended[victim - 1].file != batch.file {
                    continue;
                }
                let mut files = state.files.clone();
                files
                    .get_mut(&batch.file)
                    .unwrap()
                    .truncate(batch.position as usize);
                recover(
                    &files,
                    &appended,
                    victim,
                    victim,
                    &format!("lost tail from batch {victim} (state {k})"),
                );
                lost_tail_cases += 1;
                break;
            }
        }

        // A flipped byte in an unflushed batch: recovery keeps the batches before it.
        if state.count > flushed_batches {
            for _ in 0..2 {
                let victim =
                    flushed_batches + rng.below((state.count - flushed_batches) as u64) as usize;
                let batch = &appended[victim];
                let len = batch.bytes.len() as u64;
                // Length field (8..12) or the magic byte onwards (16..).
                let within = if rng.below(4) == 0 {
                    8 + rng.below(4)
                } else {
                    16 + rng.below(len - 16)
                };
                let mut files = state.files.clone();
                let byte =
                    &mut files.get_mut(&batch.file).unwrap()[(batch.position + within) as usize];
                *byte ^= 1 << rng.below(8);
                recover(
                    &files,
                    &appended,
                    victim,
                    victim,
                    &format!("flip in batch {victim} at {within} (state {k})"),
                );
                flip_cases += 1;
            }
        }
    }
    println!("torn writes {torn_cases}, lost tails {lost_tail_cases}, flips {flip_cases}");
    assert!(
        torn_cases > 0 && lost_tail_cases > 0 && flip_cases > 0,
        "the workload covers every case"
    );
    drop(log);
}

#[test]
fn recovery_scans_only_what_was_not_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config(), NOW).unwrap();
    for _ in 0..40 {
        log.append(sized_batch(2, 100, NOW, Compression::None), NOW)
            .unwrap();
    }
    let segments = log.segment_base_offsets().len();
    assert!(segments > 4);
    log.close(NOW).unwrap();

    // Clean shutdown: nothing is CRC-scanned.
    let mut log = Log::open(dir.path(), config(), NOW).unwrap();
    let report = log.recovery_report().clone();
    assert!(report.clean_shutdown);
    assert_eq!(report.segments_scanned, 0);
    // Unclean after a flush: only the segments from the recovery point on are scanned.
    log.append(sized_batch(2, 100, NOW, Compression::None), NOW)
        .unwrap();
    drop(log);
    let log = Log::open(dir.path(), config(), NOW).unwrap();
    let report = log.recovery_report().clone();
    assert!(!report.clean_shutdown);
    assert!((1..=2).contains(&report.segments_scanned), "{report:?}");
    assert_eq!(report.truncated_bytes, 0);
    drop(log);
    // Unclean with the recovery point lost: everything is scanned.
    std::fs::remove_file(dir.path().join("recovery-point-checkpoint")).unwrap();
    let log = Log::open(dir.path(), config(), NOW).unwrap();
    assert_eq!(
        log.recovery_report().segments_scanned,
        log.segment_base_offsets().len()
    );
    assert_eq!(read_all_batches(&log).len(), 41);
}
