//! Follower truncation after a leader change (KIP-101/KIP-279), and Fetch's `diverging_epoch`.
//! A log is written as the leader epoch of each record, one digit per offset ("1122" is four
//! records, two from epoch 1 and two from epoch 2); a record is identified by (offset, epoch),
//! as Kafka's leader epochs guarantee. `check` runs the whole OffsetForLeaderEpoch conversation
//! and asserts the truncated follower log is a prefix of the leader's log.

use expect_test::{Expect, expect};
use proptest::prelude::*;
use strom_replication::{
    Action, BrokerId, EpochEntry, FetchValidation, Follower, LeaderEpoch, LocalLog, Offset,
    end_offset_for_epoch, validate_fetch,
};

fn epochs(log: &str) -> Vec<u32> {
    log.chars()
        .map(|digit| digit.to_digit(10).unwrap())
        .collect()
}

fn cache(log: &[u32]) -> Vec<EpochEntry> {
    let mut res: Vec<EpochEntry> = Vec::new();
    for (offset, &epoch) in log.iter().enumerate() {
        if res.last().is_none_or(|entry| entry.epoch.0 < epoch) {
            res.push(EpochEntry {
                epoch: LeaderEpoch(epoch),
                start_offset: Offset(offset as u64),
            });
        }
    }
    res
}

fn local(log: &[u32], entries: &[EpochEntry], high_watermark: u64) -> LocalLog<'static> {
    let entries: &'static [EpochEntry] = Box::leak(entries.to_vec().into_boxed_slice());
    LocalLog {
        epoch_cache: entries,
        log_start_offset: Offset(0),
        log_end_offset: Offset(log.len() as u64),
        high_watermark: Offset(high_watermark),
    }
}

#[track_caller]
fn check(follower_log: &str, high_watermark: u64, leader_log: &str, expect: Expect) {
    let (log, trail) = converse(&epochs(follower_log), high_watermark, &epochs(leader_log));
    let mut trail = trail;
    let rendered: Vec<String> = log.iter().map(u32::to_string).collect();
    trail.push(format!("follower log: {:?}", rendered.concat()));
    expect.assert_eq(&trail.join("\n"));
}

/// Run the OffsetForLeaderEpoch conversation between a follower with `follower_log` and a
/// leader with `leader_log` whose current epoch (9) started at its log end; returns the
/// follower's log after truncation and the conversation.
fn converse(follower_log: &[u32], high_watermark: u64, leader: &[u32]) -> (Vec<u32>, Vec<String>) {
    let mut leader_cache = cache(leader);
    let leader_end = Offset(leader.len() as u64);
    // A leader appends its own epoch to its cache when elected, so its latest epoch is the
    // largest any replica has seen.
    leader_cache.push(EpochEntry {
        epoch: LeaderEpoch(9),
        start_offset: leader_end,
    });
    let mut log = follower_log.to_vec();
    let mut hw = high_watermark;
    let (mut follower, mut actions) =
        Follower::new(BrokerId(1), LeaderEpoch(9), local(&log, &cache(&log), hw));
    let mut trail = Vec::new();
    let fetch_offset = loop {
        let mut ask = None;
        let mut fetch = None;
        for action in &actions {
            trail.push(format!("{action:?}"));
            match *action {
                Action::TruncateTo(offset) => {
                    log.truncate(offset.0 as usize);
                    hw = hw.min(offset.0);
                }
                Action::RequestEpochEndOffset(epoch) => ask = Some(epoch),
                Action::FetchFrom(offset) => fetch = Some(offset),
                _ => panic!("unexpected {action:?}"),
            }
        }
        if let Some(offset) = fetch {
            break offset;
        }
        let epoch = ask.unwrap();
        let answer = end_offset_for_epoch(&leader_cache, leader_end, epoch);
        trail.push(format!("leader: {answer:?}"));
        actions = follower.on_epoch_end_offset(answer, local(&log, &cache(&log), hw));
        assert!(trail.len() < 50, "no progress: {trail:#?}");
    };
    assert_eq!(fetch_offset.0, log.len() as u64, "fetch from the log end");
    assert!(
        leader.starts_with(&log),
        "follower {log:?} is not a prefix of leader {leader:?}"
    );
    (log, trail)
}

fn nondecreasing(choices: &'static [u32], max_len: usize) -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(prop::sample::select(choices), 0..=max_len).prop_map(|mut epochs| {
        epochs.sort_unstable();
        epochs
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the divergent tails, the follower ends with exactly the common prefix: the
    /// follower's tail uses epochs the leader never had (odd) or unreplicated records of the
    /// last common epoch; the leader's tail uses its own epochs (even).
    #[test]
    fn truncates_to_exactly_the_common_prefix(
        prefix in nondecreasing(&[1, 2, 3], 6),
        extra in 0..3_usize,
        follower_tail in nondecreasing(&[5, 7], 4),
        leader_tail in nondecreasing(&[4, 6, 8], 4),
        high_watermark_seed in 0..100_u64,
    ) {
        let mut follower_log = prefix.clone();
        if let Some(&last) = prefix.last() {
            follower_log.extend(std::iter::repeat_n(last, extra));
        }
        follower_log.extend(&follower_tail);
        let mut leader_log = prefix.clone();
        leader_log.extend(&leader_tail);
        let high_watermark = high_watermark_seed % (prefix.len() as u64 + 1);
        let (log, trail) = converse(&follower_log, high_watermark, &leader_log);
        prop_assert_eq!(&log, &prefix, "{:#?}", trail);
    }
}

#[test]
fn unknown_epoch_truncates_to_high_watermark() {
    let log = epochs("1133");
    let entries = cache(&log);
    let (mut follower, actions) =
        Follower::new(BrokerId(1), LeaderEpoch(4), local(&log, &entries, 2));
    assert_eq!(actions, vec![Action::RequestEpochEndOffset(LeaderEpoch(3))]);
    let actions = follower.on_epoch_end_offset(None, local(&log, &entries, 2));
    assert_eq!(
        actions,
        vec![Action::TruncateTo(Offset(2)), Action::FetchFrom(Offset(2))]
    );
}

#[test]
fn kip_101_divergent_tail_after_leader_change() {
    // The old leader (this follower) wrote 2..5 in epoch 1 that never replicated; the new
    // leader wrote 2..4 in epoch 2 at the same offsets. High-watermark truncation would keep
    // the follower's 2..3 and silently diverge; the epoch answer truncates to 2.
    check(
        "11111",
        2,
        "1122",
        expect![[r#"
            RequestEpochEndOffset(LeaderEpoch(1))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(1), end_offset: Offset(2) })
            TruncateTo(Offset(2))
            FetchFrom(Offset(2))
            follower log: "11""#]],
    );
}

#[test]
fn kip_101_follower_behind_high_watermark_keeps_its_records() {
    // The other KIP-101 case: after a restart the follower's high watermark is stale (1), but
    // its records up to 3 are committed. Truncating to the high watermark and becoming leader
    // would lose them; the epoch answer keeps them.
    check(
        "111",
        1,
        "1112",
        expect![[r#"
            RequestEpochEndOffset(LeaderEpoch(1))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(1), end_offset: Offset(3) })
            FetchFrom(Offset(3))
            follower log: "111""#]],
    );
}

#[test]
fn kip_279_walks_back_over_epochs_the_leader_never_had() {
    // The follower led epoch 3 briefly; the leader never saw it and moved on to epochs 2, 4.
    check(
        "111133",
        0,
        "111122244",
        expect![[r#"
            RequestEpochEndOffset(LeaderEpoch(3))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(2), end_offset: Offset(7) })
            TruncateTo(Offset(4))
            RequestEpochEndOffset(LeaderEpoch(1))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(1), end_offset: Offset(4) })
            FetchFrom(Offset(4))
            follower log: "1111""#]],
    );
}

#[test]
fn kip_279_several_unknown_epochs() {
    check(
        "1122335",
        0,
        "11446",
        expect![[r#"
            RequestEpochEndOffset(LeaderEpoch(5))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(4), end_offset: Offset(4) })
            TruncateTo(Offset(6))
            RequestEpochEndOffset(LeaderEpoch(3))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(1), end_offset: Offset(2) })
            TruncateTo(Offset(2))
            FetchFrom(Offset(2))
            follower log: "11""#]],
    );
}

#[test]
fn follower_ahead_in_the_same_epoch_truncates_to_leader_end() {
    check(
        "11222",
        0,
        "1122",
        expect![[r#"
            RequestEpochEndOffset(LeaderEpoch(2))
            leader: Some(EpochEndOffset { epoch: LeaderEpoch(2), end_offset: Offset(4) })
            TruncateTo(Offset(4))
            FetchFrom(Offset(4))
            follower log: "1122""#]],
    );
}

#[test]
fn empty_follower_fetches_from_its_start() {
    check(
        "",
        0,
        "1122",
        expect![[r#"
            FetchFrom(Offset(0))
            follower log: """#]],
    );
}

#[test]
fn diverging_epoch_in_fetch_response() {
    // Fetch v12+: the follower fetches at 5 with last fetched epoch 1; the leader's epoch 1
    // ends at 3, so it answers diverging_epoch instead of records.
    let leader = epochs("111222");
    let leader_cache = cache(&leader);
    let validation = validate_fetch(&leader_cache, Offset(6), Offset(5), LeaderEpoch(1));
    let FetchValidation::Diverging(answer) = validation else {
        panic!("expected divergence")
    };
    let log = epochs("11111");
    let (mut follower, _) =
        Follower::new(BrokerId(1), LeaderEpoch(2), local(&log, &cache(&log), 0));
    let actions = follower.on_epoch_end_offset(answer, local(&log, &cache(&log), 0));
    assert_eq!(
        actions,
        vec![Action::TruncateTo(Offset(3)), Action::FetchFrom(Offset(3))]
    );
    assert_eq!(
        validate_fetch(&leader_cache, Offset(6), Offset(3), LeaderEpoch(1)),
        FetchValidation::Valid
    );
}

#[test]
fn follower_high_watermark_is_min_of_leader_and_own_end() {
    let log = epochs("111");
    let entries = cache(&log);
    let (mut follower, _) = Follower::new(BrokerId(1), LeaderEpoch(1), local(&log, &entries, 0));
    let actions = follower.on_fetch_response(Offset(10), local(&log, &entries, 0));
    assert_eq!(
        actions,
        vec![
            Action::AdvanceHighWatermark(Offset(3)),
            Action::FetchFrom(Offset(3))
        ]
    );
    let actions = follower.on_fetch_response(Offset(2), local(&log, &entries, 3));
    assert_eq!(
        actions,
        vec![Action::FetchFrom(Offset(3))],
        "never backwards"
    );
    assert_eq!(follower.high_watermark(), Offset(3));
}

#[test]
fn empty_epoch_at_log_end_is_dropped_from_the_cache() {
    // This broker led epoch 3 from offset 2 but wrote nothing; the new leader continued epoch 1.
    let log = epochs("11");
    let entries = [
        EpochEntry {
            epoch: LeaderEpoch(1),
            start_offset: Offset(0),
        },
        EpochEntry {
            epoch: LeaderEpoch(3),
            start_offset: Offset(2),
        },
    ];
    let (mut follower, actions) =
        Follower::new(BrokerId(2), LeaderEpoch(4), local(&log, &entries, 2));
    assert_eq!(actions, vec![Action::RequestEpochEndOffset(LeaderEpoch(3))]);
    let leader = epochs("1111");
    let mut leader_cache = cache(&leader);
    leader_cache.push(EpochEntry {
        epoch: LeaderEpoch(4),
        start_offset: Offset(4),
    });
    let answer = end_offset_for_epoch(&leader_cache, Offset(4), LeaderEpoch(3));
    assert_eq!(
        answer,
        Some(strom_replication::EpochEndOffset {
            epoch: LeaderEpoch(1),
            end_offset: Offset(4)
        })
    );
    let actions = follower.on_epoch_end_offset(answer, local(&log, &entries, 2));
    assert_eq!(
        actions,
        vec![Action::TruncateTo(Offset(2)), Action::FetchFrom(Offset(2))]
    );
}
