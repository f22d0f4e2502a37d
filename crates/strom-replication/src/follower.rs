//! The follower's side of one partition under one leader epoch: find where the local log
//! diverges from the new leader's (KIP-101/KIP-279 truncation), then fetch forward and follow
//! the leader's high watermark.
//!
//! The local log and its leader epoch cache are input data (`LocalLog`); the follower returns
//! `TruncateTo`, `RequestEpochEndOffset` and `FetchFrom` and never touches a log or socket.

use crate::action::Action;
use crate::epoch_cache::{EpochEndOffset, EpochEntry, end_offset_for_epoch};
use crate::ids::{BrokerId, LeaderEpoch, Offset};

/// A read-only view of the follower's local log at the time of a call.
#[derive(Debug, Clone, Copy)]
pub struct LocalLog<'a> {
    /// The leader epoch cache, oldest first.
    pub epoch_cache: &'a [EpochEntry],
    /// The local log start offset.
    pub log_start_offset: Offset,
    /// The local log end offset.
    pub log_end_offset: Offset,
    /// The local high watermark (checkpointed; below it everything is committed).
    pub high_watermark: Offset,
}

/// Where the follower is in its conversation with the leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowerPhase {
    /// Waiting for an `OffsetForLeaderEpoch` answer for this epoch.
    Truncating(LeaderEpoch),
    /// Fetching records.
    Fetching,
}

/// The follower state for one partition under one leader epoch. A new leader epoch means a new
/// `Follower`.
#[derive(Debug, Clone)]
pub struct Follower {
    leader: BrokerId,
    leader_epoch: LeaderEpoch,
    phase: FollowerPhase,
    high_watermark: Offset,
}

impl Follower {
    /// Start following `leader` in `leader_epoch`. Asks the leader where the local latest
    /// epoch ends; with an empty epoch cache (no epoch information) it truncates to the high
    /// watermark instead, which is everything known to be committed.
    #[must_use]
    pub fn new(
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
        log: LocalLog<'_>,
    ) -> (Follower, Vec<Action>) {
        let mut follower = Follower {
            leader,
            leader_epoch,
            phase: FollowerPhase::Fetching,
            high_watermark: log.high_watermark.min(log.log_end_offset),
        };
        let res = match log.epoch_cache.last() {
            Some(latest) => {
                follower.phase = FollowerPhase::Truncating(latest.epoch);
                vec![Action::RequestEpochEndOffset(latest.epoch)]
            }
            None => follower.truncate_and_fetch(log.high_watermark, log),
        };
        (follower, res)
    }

    /// The leader being followed.
    #[must_use]
    pub fn leader(&self) -> BrokerId {
        self.leader
    }

    /// The leader epoch being followed.
    #[must_use]
    pub fn leader_epoch(&self) -> LeaderEpoch {
        self.leader_epoch
    }

    /// Whether the follower waits for an epoch answer or fetches.
    #[must_use]
    pub fn phase(&self) -> FollowerPhase {
        self.phase
    }

    /// The follower's high watermark: min(leader's high watermark, local log end offset).
    #[must_use]
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// The leader's answer about where an epoch ends: the `OffsetForLeaderEpoch` response to
    /// `RequestEpochEndOffset`, or a Fetch response's `diverging_epoch`. Kafka's rules
    /// (`AbstractFetcherThread.getOffsetTruncationState`):
    /// - the leader does not know the epoch (`None`): truncate to the high watermark;
    /// - the follower has the leader's answered epoch: truncate to the smaller of both end
    ///   offsets for it, then fetch;
    /// - the follower does not have that epoch: truncate to where the follower's largest epoch
    ///   below it ends and ask again for that epoch (walking back one epoch per round trip);
    /// - the follower has no epoch at or below the answer: truncate to the leader's end offset.
    ///
    /// Truncation never goes beyond the local log end offset. `TruncateTo` may name the log end
    /// offset itself: then only epoch cache entries starting there must go (see
    /// `needs_truncation`).
    pub fn on_epoch_end_offset(
        &mut self,
        answer: Option<EpochEndOffset>,
        log: LocalLog<'_>,
    ) -> Vec<Action> {
        let Some(leader) = answer else {
            return self.truncate_and_fetch(log.high_watermark, log);
        };
        match end_offset_for_epoch(log.epoch_cache, log.log_end_offset, leader.epoch) {
            None => self.truncate_and_fetch(leader.end_offset, log),
            Some(own) if own.epoch == leader.epoch => {
                self.truncate_and_fetch(own.end_offset.min(leader.end_offset), log)
            }
            Some(own) => {
                let mut res = Vec::new();
                if needs_truncation(own.end_offset, log) {
                    res.push(Action::TruncateTo(own.end_offset));
                    self.high_watermark = self.high_watermark.min(own.end_offset);
                }
                self.phase = FollowerPhase::Truncating(own.epoch);
                res.push(Action::RequestEpochEndOffset(own.epoch));
                res
            }
        }
    }

    /// A Fetch response was appended: the local log now ends at `log.log_end_offset` and the
    /// leader's high watermark is `leader_high_watermark`. Moves the follower's high watermark
    /// (never backwards) and fetches on.
    pub fn on_fetch_response(
        &mut self,
        leader_high_watermark: Offset,
        log: LocalLog<'_>,
    ) -> Vec<Action> {
        let mut res = Vec::new();
        let candidate = leader_high_watermark.min(log.log_end_offset);
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            res.push(Action::AdvanceHighWatermark(candidate));
        }
        res.push(Action::FetchFrom(log.log_end_offset));
        res
    }

    fn truncate_and_fetch(&mut self, offset: Offset, log: LocalLog<'_>) -> Vec<Action> {
        let mut res = Vec::new();
        let target = offset.max(log.log_start_offset).min(log.log_end_offset);
        let fetch_offset = if needs_truncation(target, log) {
            res.push(Action::TruncateTo(target));
            self.high_watermark = self.high_watermark.min(target);
            target
        } else {
            log.log_end_offset
        };
        self.phase = FollowerPhase::Fetching;
        res.push(Action::FetchFrom(fetch_offset));
        res
    }
}

/// Whether truncating to `offset` changes anything: records at or after it, or an epoch cache
/// entry starting at or after it. The latter is an epoch this broker started as leader at its
/// log end offset without appending anything; left in place it would claim the records fetched
/// next for the wrong epoch (Kafka truncates the cache even when the log is not truncated).
fn needs_truncation(offset: Offset, log: LocalLog<'_>) -> bool {
    offset < log.log_end_offset
        || log
            .epoch_cache
            .iter()
            .any(|entry| entry.start_offset >= offset)
}
