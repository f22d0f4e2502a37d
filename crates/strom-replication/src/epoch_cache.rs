//! The leader epoch cache as plain data, and the lookups both sides of `OffsetForLeaderEpoch`
//! and Fetch's `diverging_epoch` need. The broker owns and persists the cache (Kafka's
//! `leader-epoch-checkpoint`); this module only reads slices of it.

use crate::ids::{LeaderEpoch, Offset};

/// One entry of a leader epoch cache: `epoch`'s first record is at `start_offset`.
/// A cache is a slice of entries with strictly increasing epochs and non-decreasing offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: LeaderEpoch,
    /// The offset of the first record appended in `epoch`.
    pub start_offset: Offset,
}

/// An answer to "where does epoch E end in your log": the largest epoch at most E that the
/// log knows, and the offset just after its last record (the next epoch's start, or the log end
/// offset for the latest epoch). This is the `OffsetForLeaderEpoch` response and Fetch's
/// `diverging_epoch`; `None` stands for Kafka's undefined epoch and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEndOffset {
    /// The largest known epoch at most the requested one.
    pub epoch: LeaderEpoch,
    /// The end offset (exclusive) of `epoch` in this log.
    pub end_offset: Offset,
}

/// What the leader says about a follower's fetch position, for Fetch v12+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchValidation {
    /// The follower's log matches the leader's up to its fetch offset: serve the fetch.
    Valid,
    /// The follower's tail diverges: answer with this `diverging_epoch` and no records; the
    /// follower passes it to `Follower::on_epoch_end_offset`.
    Diverging(Option<EpochEndOffset>),
}

/// Where `requested` ends in the log whose cache is `cache` and whose log end offset is
/// `log_end_offset`, following Kafka's `LeaderEpochFileCache.endOffsetFor`:
/// the latest epoch ends at the log end offset; an older epoch ends where the next known epoch
/// starts; an epoch older than every entry ends where the first entry starts; an epoch newer
/// than the latest entry, or any epoch in an empty cache, is unknown (`None`).
#[must_use]
pub fn end_offset_for_epoch(
    cache: &[EpochEntry],
    log_end_offset: Offset,
    requested: LeaderEpoch,
) -> Option<EpochEndOffset> {
    let latest = cache.last()?;
    if latest.epoch == requested {
        return Some(EpochEndOffset {
            epoch: requested,
            end_offset: log_end_offset,
        });
    }
    // The first entry with an epoch above the requested one bounds it.
    let higher = cache.iter().position(|entry| entry.epoch > requested)?;
    let end_offset = cache.get(higher)?.start_offset;
    let epoch = match higher.checked_sub(1).and_then(|floor| cache.get(floor)) {
        Some(floor) => floor.epoch,
        None => requested,
    };
    Some(EpochEndOffset { epoch, end_offset })
}

/// The leader's check of a follower fetch at `fetch_offset` whose last fetched record has
/// `last_fetched_epoch` (Fetch v12+, KIP-595 style): the fetch diverges when the leader does not
/// know that epoch or the epoch ends before `fetch_offset` in the leader's log.
#[must_use]
pub fn validate_fetch(
    cache: &[EpochEntry],
    log_end_offset: Offset,
    fetch_offset: Offset,
    last_fetched_epoch: LeaderEpoch,
) -> FetchValidation {
    match end_offset_for_epoch(cache, log_end_offset, last_fetched_epoch) {
        Some(end) if end.epoch == last_fetched_epoch && end.end_offset >= fetch_offset => {
            FetchValidation::Valid
        }
        res => FetchValidation::Diverging(res),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn cache(entries: &[(u32, u64)]) -> Vec<EpochEntry> {
        entries
            .iter()
            .map(|&(epoch, start)| EpochEntry {
                epoch: LeaderEpoch(epoch),
                start_offset: Offset(start),
            })
            .collect()
    }

    #[track_caller]
    fn check(entries: &[(u32, u64)], log_end_offset: u64, requested: u32, expect: Expect) {
        let res = end_offset_for_epoch(
            &cache(entries),
            Offset(log_end_offset),
            LeaderEpoch(requested),
        );
        let text = match res {
            Some(end) => format!("epoch {} ends at {}", end.epoch, end.end_offset),
            None => "unknown".to_owned(),
        };
        expect.assert_eq(&text);
    }

    #[test]
    fn latest_epoch_ends_at_log_end() {
        check(&[(1, 0), (3, 5)], 9, 3, expect!["epoch 3 ends at 9"]);
    }

    #[test]
    fn older_epoch_ends_at_next_start() {
        check(
            &[(1, 0), (3, 5), (4, 7)],
            9,
            3,
            expect!["epoch 3 ends at 7"],
        );
    }

    #[test]
    fn unknown_epoch_answers_floor() {
        check(&[(1, 0), (3, 5)], 9, 2, expect!["epoch 1 ends at 5"]);
    }

    #[test]
    fn epoch_before_first_ends_at_first_start() {
        check(&[(2, 4), (3, 5)], 9, 1, expect!["epoch 1 ends at 4"]);
    }

    #[test]
    fn epoch_after_latest_is_unknown() {
        check(&[(1, 0)], 9, 2, expect!["unknown"]);
        check(&[], 0, 0, expect!["unknown"]);
    }

    #[test]
    fn fetch_validation() {
        let leader = cache(&[(1, 0), (2, 4)]);
        assert_eq!(
            validate_fetch(&leader, Offset(8), Offset(4), LeaderEpoch(1)),
            FetchValidation::Valid
        );
        assert_eq!(
            validate_fetch(&leader, Offset(8), Offset(6), LeaderEpoch(2)),
            FetchValidation::Valid
        );
        assert_eq!(
            validate_fetch(&leader, Offset(8), Offset(6), LeaderEpoch(1)),
            FetchValidation::Diverging(Some(EpochEndOffset {
                epoch: LeaderEpoch(1),
                end_offset: Offset(4)
            }))
        );
        assert_eq!(
            validate_fetch(&leader, Offset(8), Offset(6), LeaderEpoch(3)),
            FetchValidation::Diverging(None)
        );
    }
}
