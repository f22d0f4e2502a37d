//! The leader's side of one partition: follower progress, the ISR (committed and proposed), the
//! high watermark and the `acks=all` requests waiting for it.
//!
//! It owns no log: the broker reports its log end offset after each append and executes the
//! returned `Action`s. It does not serve records or validate fetch epochs (see `epoch_cache`),
//! and ISR changes are only proposals until the controller commits them.

use std::collections::{BTreeMap, BTreeSet};

use crate::action::{AckError, Action, IsrProposal};
use crate::error::{Error, Result};
use crate::ids::{BrokerId, LeaderEpoch, Offset, PartitionEpoch, RequestId, TimeMs};

/// Leader-side settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderConfig {
    /// `replica.lag.time.max.ms`: an ISR follower that has not caught up for longer than this
    /// is proposed for removal from the ISR.
    pub replica_lag_time_max_ms: u64,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        LeaderConfig {
            replica_lag_time_max_ms: 30_000,
        }
    }
}

/// Everything a broker knows when it becomes leader of a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInit {
    /// This broker.
    pub leader: BrokerId,
    /// All replicas of the partition, preferred first; includes `leader`.
    pub replicas: Vec<BrokerId>,
    /// The committed ISR; includes `leader`.
    pub isr: Vec<BrokerId>,
    /// The new leader epoch. The broker has already appended `(leader_epoch, log_end_offset)`
    /// to its leader epoch cache.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch of the registration that made this broker leader.
    pub partition_epoch: PartitionEpoch,
    /// The local log end offset; records appended from now on belong to `leader_epoch`.
    pub log_end_offset: Offset,
    /// The local high watermark (it never goes down while this broker leads).
    pub high_watermark: Offset,
}

/// The leader's replication state for one partition.
#[derive(Debug, Clone)]
pub struct Leader {
    config: LeaderConfig,
    leader: BrokerId,
    replicas: Vec<BrokerId>,
    isr: BTreeSet<BrokerId>,
    pending_isr: Option<IsrProposal>,
    leader_epoch: LeaderEpoch,
    partition_epoch: PartitionEpoch,
    leader_epoch_start_offset: Offset,
    log_end_offset: Offset,
    high_watermark: Offset,
    followers: BTreeMap<BrokerId, FollowerProgress>,
    /// Waiting `acks=all` requests by required offset: (request, min.insync.replicas).
    pending_acks: BTreeMap<Offset, Vec<(RequestId, usize)>>,
}

/// What the leader knows about one follower (Kafka's `Replica` state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset, as of its last fetch; unknown until it fetches from this
    /// leader.
    pub log_end_offset: Option<Offset>,
    /// The follower's log start offset, as of its last fetch.
    pub log_start_offset: Option<Offset>,
    /// The last time the follower was known to be caught up with this leader (Kafka's
    /// `lastCaughtUpTimeMs`); `None` if never, which counts as lagging.
    pub last_caught_up_time: Option<TimeMs>,
    /// The leader's log end offset when the follower last fetched.
    last_fetch_leader_log_end_offset: Option<Offset>,
    /// When the follower last fetched.
    last_fetch_time: Option<TimeMs>,
}

impl Leader {
    /// Start leading: followers in the ISR count as caught up now (they get
    /// `replica_lag_time_max_ms` to fetch), their log end offsets are unknown until they fetch,
    /// so the high watermark cannot move until every ISR member has fetched from this leader.
    /// Fails if the ISR is not a subset of the replicas containing the leader, or the high
    /// watermark is beyond the log end offset.
    pub fn new(init: LeaderInit, config: LeaderConfig, now: TimeMs) -> Result<Leader> {
        if init.high_watermark > init.log_end_offset {
            return Err(Error::HighWatermarkBeyondLogEnd {
                high_watermark: init.high_watermark,
                log_end_offset: init.log_end_offset,
            });
        }
        if !init.isr.contains(&init.leader) {
            return Err(Error::InvalidIsr("the leader is not in the isr"));
        }
        if let Some(&replica) = init
            .isr
            .iter()
            .find(|replica| !init.replicas.contains(replica))
        {
            return Err(Error::UnknownReplica(replica));
        }
        let isr: BTreeSet<BrokerId> = init.isr.iter().copied().collect();
        let followers = init
            .replicas
            .iter()
            .filter(|&&replica| replica != init.leader)
            .map(|&replica| {
                let last_caught_up_time = isr.contains(&replica).then_some(now);
                let progress = FollowerProgress {
                    log_end_offset: None,
                    log_start_offset: None,
                    last_caught_up_time,
                    last_fetch_leader_log_end_offset: None,
                    last_fetch_time: None,
                };
                (replica, progress)
            })
            .collect();
        let mut res = Leader {
            config,
            leader: init.leader,
            replicas: init.replicas,
            isr,
            pending_isr: None,
            leader_epoch: init.leader_epoch,
            partition_epoch: init.partition_epoch,
            leader_epoch_start_offset: init.log_end_offset,
            log_end_offset: init.log_end_offset,
            high_watermark: init.high_watermark,
            followers,
            pending_acks: BTreeMap::new(),
        };
        // A leader alone in the ISR can commit what it has at once.
        res.maybe_advance_high_watermark(now);
        Ok(res)
    }

    /// The current high watermark.
    #[must_use]
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// The log end offset last reported by `on_append`.
    #[must_use]
    pub fn log_end_offset(&self) -> Offset {
        self.log_end_offset
    }

    /// The committed ISR, sorted.
    #[must_use]
    pub fn isr(&self) -> Vec<BrokerId> {
        self.isr.iter().copied().collect()
    }

    /// The ISR change sent to the controller and not yet committed or rejected.
    #[must_use]
    pub fn pending_isr(&self) -> Option<&IsrProposal> {
        self.pending_isr.as_ref()
    }

    /// The leader epoch.
    #[must_use]
    pub fn leader_epoch(&self) -> LeaderEpoch {
        self.leader_epoch
    }

    /// The partition epoch of the last committed registration.
    #[must_use]
    pub fn partition_epoch(&self) -> PartitionEpoch {
        self.partition_epoch
    }

    /// What the leader knows about `follower`.
    #[must_use]
    pub fn follower(&self, follower: BrokerId) -> Option<FollowerProgress> {
        self.followers.get(&follower).copied()
    }

    /// Check `min.insync.replicas` before appending an `acks=all` batch: Kafka refuses the
    /// batch with NOT_ENOUGH_REPLICAS when the committed ISR is smaller.
    pub fn check_min_insync(&self, min_insync: usize) -> Result<(), AckError> {
        if self.isr.len() < min_insync {
            return Err(AckError::NotEnoughReplicas);
        }
        Ok(())
    }

    /// The local log grew to `log_end_offset` (after an append). With the leader alone in the
    /// ISR this advances the high watermark.
    pub fn on_append(&mut self, log_end_offset: Offset, now: TimeMs) -> Result<Vec<Action>> {
        if log_end_offset < self.log_end_offset {
            return Err(Error::LogEndOffsetWentBack {
                previous: self.log_end_offset,
                new: log_end_offset,
            });
        }
        self.log_end_offset = log_end_offset;
        Ok(self.advance_and_resolve(now))
    }

    /// Wait for an `acks=all` batch: `required_offset` is the log end offset right after the
    /// batch was appended. The request completes when the high watermark reaches it, and then
    /// fails with NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is smaller than `min_insync`.
    /// It may complete at once (the returned actions say so).
    pub fn await_ack(
        &mut self,
        request_id: RequestId,
        required_offset: Offset,
        min_insync: usize,
    ) -> Result<Vec<Action>> {
        let known = self
            .pending_acks
            .values()
            .flatten()
            .any(|&(id, _)| id == request_id);
        if known {
            return Err(Error::DuplicateRequest(request_id));
        }
        if required_offset > self.log_end_offset {
            return Err(Error::RequiredOffsetBeyondLogEnd {
                required_offset,
                log_end_offset: self.log_end_offset,
            });
        }
        self.pending_acks
            .entry(required_offset)
            .or_default()
            .push((request_id, min_insync));
        Ok(self.resolve_acks())
    }

    /// Forget a waiting `acks=all` request (its produce timeout expired); returns whether it
    /// was waiting.
    pub fn cancel_ack(&mut self, request_id: RequestId) -> bool {
        let mut res = false;
        for waiting in self.pending_acks.values_mut() {
            let before = waiting.len();
            waiting.retain(|&(id, _)| id != request_id);
            res |= waiting.len() != before;
        }
        self.pending_acks.retain(|_, waiting| !waiting.is_empty());
        res
    }

    /// A follower fetched at `fetch_offset` (its log end offset) after the broker checked its
    /// leader epoch and `diverging_epoch`. Updates its caught-up time by Kafka's rule, may
    /// propose adding it to the ISR, may advance the high watermark and complete acks.
    ///
    /// Caught-up rule (Kafka's `Replica.updateFetchStateOrThrow`): if the fetch offset reaches
    /// the leader's current log end offset the follower is caught up now; else if it reaches the
    /// leader's log end offset as of the follower's previous fetch, it was caught up at the time
    /// of that previous fetch.
    pub fn on_follower_fetch(
        &mut self,
        follower: BrokerId,
        fetch_offset: Offset,
        follower_log_start: Offset,
        now: TimeMs,
    ) -> Result<Vec<Action>> {
        if fetch_offset > self.log_end_offset {
            return Err(Error::FetchOffsetOutOfRange {
                fetch_offset,
                log_end_offset: self.log_end_offset,
            });
        }
        let leader_log_end_offset = self.log_end_offset;
        let Some(progress) = self.followers.get_mut(&follower) else {
            return Err(Error::UnknownReplica(follower));
        };
        if fetch_offset >= leader_log_end_offset {
            progress.last_caught_up_time = progress.last_caught_up_time.max(Some(now));
        } else if let (Some(previous_end), Some(previous_time)) = (
            progress.last_fetch_leader_log_end_offset,
            progress.last_fetch_time,
        ) && fetch_offset >= previous_end
        {
            progress.last_caught_up_time = progress.last_caught_up_time.max(Some(previous_time));
        }
        progress.last_fetch_leader_log_end_offset = Some(leader_log_end_offset);
        progress.last_fetch_time = Some(now);
        progress.log_end_offset = Some(fetch_offset);
        progress.log_start_offset = Some(follower_log_start);

        let mut res = Vec::new();
        // Expand (Kafka's isFollowerInSync): the follower has everything below the high
        // watermark and has reached this leader's epoch, so it holds no divergent tail.
        let joins = !self.isr.contains(&follower)
            && self.pending_isr.is_none()
            && fetch_offset >= self.high_watermark
            && fetch_offset >= self.leader_epoch_start_offset;
        if joins {
            let mut isr = self.isr.clone();
            isr.insert(follower);
            let proposal = self.propose(isr);
            res.push(Action::ExpandIsr(proposal));
        }
        res.extend(self.advance_and_resolve(now));
        Ok(res)
    }

    /// Check the ISR followers' lag: propose removing those that are behind the log end offset
    /// and have not caught up for more than `replica_lag_time_max_ms`. At most one proposal is in
    /// flight at a time, as in Kafka. The high watermark is reconsidered first: a follower
    /// outside the ISR that stopped fetching stops holding it back once its lag time is over,
    /// with no fetch or append to notice.
    pub fn tick(&mut self, now: TimeMs) -> Vec<Action> {
        let mut res = self.advance_and_resolve(now);
        if self.pending_isr.is_some() {
            return res;
        }
        let lagging: Vec<BrokerId> = self
            .isr
            .iter()
            .filter(|&&replica| replica != self.leader)
            .filter(|replica| {
                self.followers
                    .get(replica)
                    .is_some_and(|progress| !self.is_caught_up(progress, now))
            })
            .copied()
            .collect();
        if lagging.is_empty() {
            return res;
        }
        let isr = self
            .isr
            .iter()
            .copied()
            .filter(|replica| !lagging.contains(replica))
            .collect();
        res.push(Action::ShrinkIsr(self.propose(isr)));
        res
    }

    /// The controller committed a new registration for this leader epoch (this leader's
    /// proposal or its own change, e.g. fencing a broker). Applies the ISR, then the high
    /// watermark may advance and waiting acks complete or fail.
    pub fn on_isr_committed(
        &mut self,
        isr: &[BrokerId],
        partition_epoch: PartitionEpoch,
        now: TimeMs,
    ) -> Result<Vec<Action>> {
        if partition_epoch <= self.partition_epoch {
            return Err(Error::StalePartitionEpoch {
                current: self.partition_epoch,
                got: partition_epoch,
            });
        }
        if !isr.contains(&self.leader) {
            return Err(Error::InvalidIsr("the leader is not in the isr"));
        }
        if let Some(&replica) = isr.iter().find(|replica| !self.replicas.contains(replica)) {
            return Err(Error::UnknownReplica(replica));
        }
        let isr: BTreeSet<BrokerId> = isr.iter().copied().collect();
        // A follower the controller took out of the ISR (fenced: it stopped heartbeating, or
        // this leader's own shrink) counts as lagging until it fetches again. Otherwise a dead
        // follower that was caught up would hold the high watermark back for
        // `replica_lag_time_max_ms` (Kafka leaves brokers that may not join the ISR out).
        for removed in self.isr.difference(&isr) {
            if let Some(progress) = self.followers.get_mut(removed) {
                progress.last_caught_up_time = None;
            }
        }
        self.isr = isr;
        self.partition_epoch = partition_epoch;
        self.pending_isr = None;
        Ok(self.advance_and_resolve(now))
    }

    /// The controller changed the partition's replicas while this broker keeps leading at the
    /// same leader epoch (a reassignment started, was cancelled or completed). New replicas are
    /// tracked as followers that have not fetched yet (outside the ISR until they catch up);
    /// removed ones are forgotten and leave the ISR and a pending proposal. The committed ISR
    /// and partition epoch that go with the change come through
    /// [`Leader::on_isr_committed`]. Fails if the leader is not among `replicas`.
    pub fn on_replicas_changed(
        &mut self,
        replicas: &[BrokerId],
        now: TimeMs,
    ) -> Result<Vec<Action>> {
        if !replicas.contains(&self.leader) {
            return Err(Error::InvalidIsr("the leader is not a replica"));
        }
        self.followers
            .retain(|follower, _| replicas.contains(follower));
        for &replica in replicas {
            if replica != self.leader {
                self.followers.entry(replica).or_insert(FollowerProgress {
                    log_end_offset: None,
                    log_start_offset: None,
                    last_caught_up_time: None,
                    last_fetch_leader_log_end_offset: None,
                    last_fetch_time: None,
                });
            }
        }
        self.isr.retain(|member| replicas.contains(member));
        if self
            .pending_isr
            .as_ref()
            .is_some_and(|pending| pending.isr.iter().any(|member| !replicas.contains(member)))
        {
            self.pending_isr = None;
        }
        self.replicas = replicas.to_vec();
        Ok(self.advance_and_resolve(now))
    }

    /// The partition's replicas as this leader tracks them, preferred first.
    #[must_use]
    pub fn replicas(&self) -> &[BrokerId] {
        &self.replicas
    }

    /// The controller rejected `proposal` (stale epoch, fenced broker): if it is still the
    /// pending one, forget it so the next fetch or tick can propose again. A late rejection of
    /// an older proposal must not clear a newer one: the high watermark waits for the pending
    /// one's new members, which is what keeps every committed ISR member at the high watermark.
    pub fn on_isr_proposal_failed(&mut self, proposal: &IsrProposal) {
        if self.pending_isr.as_ref() == Some(proposal) {
            self.pending_isr = None;
        }
    }

    /// This broker stops leading: every waiting `acks=all` request fails with NOT_LEADER.
    #[must_use]
    pub fn resign(self) -> Vec<Action> {
        self.pending_acks
            .into_values()
            .flatten()
            .map(|(request_id, _)| Action::AckFailed(request_id, AckError::NotLeader))
            .collect()
    }

    fn propose(&mut self, isr: BTreeSet<BrokerId>) -> IsrProposal {
        let proposal = IsrProposal {
            isr: isr.into_iter().collect(),
            leader_epoch: self.leader_epoch,
            partition_epoch: self.partition_epoch,
        };
        self.pending_isr = Some(proposal.clone());
        proposal
    }

    /// The ISR the high watermark must wait for: the committed ISR plus a pending addition.
    /// A pending removal still counts until committed (Kafka's "maximal ISR"), so the high
    /// watermark never relies on an ISR the controller has not accepted.
    fn maximal_isr(&self) -> BTreeSet<BrokerId> {
        let mut res = self.isr.clone();
        if let Some(pending) = &self.pending_isr {
            res.extend(pending.isr.iter().copied());
        }
        res
    }

    /// Kafka's `isCaughtUp`: at the leader's log end offset, or caught up within the lag time.
    fn is_caught_up(&self, progress: &FollowerProgress, now: TimeMs) -> bool {
        progress.log_end_offset == Some(self.log_end_offset)
            || progress
                .last_caught_up_time
                .is_some_and(|time| now.since(time) <= self.config.replica_lag_time_max_ms)
    }

    /// High watermark = min log end offset over the maximal ISR, and also over followers
    /// outside it that are caught up (Kafka's `shouldWaitForReplicaToJoinIsr`): otherwise,
    /// under steady appends, the high watermark would run ahead of a follower about to join
    /// and it could never reach the high watermark that joining requires.
    fn maybe_advance_high_watermark(&mut self, now: TimeMs) -> Option<Offset> {
        let maximal_isr = self.maximal_isr();
        let mut candidate = self.log_end_offset;
        for (replica, progress) in &self.followers {
            let waits_for = maximal_isr.contains(replica) || self.is_caught_up(progress, now);
            match progress.log_end_offset {
                Some(log_end_offset) if waits_for => candidate = candidate.min(log_end_offset),
                // An ISR member that has not fetched from this leader yet holds the mark back.
                None if maximal_isr.contains(replica) => return None,
                Some(_) | None => {}
            }
        }
        if candidate <= self.high_watermark {
            return None;
        }
        self.high_watermark = candidate;
        assert!(
            self.high_watermark <= self.log_end_offset,
            "high watermark beyond log end"
        );
        Some(candidate)
    }

    fn advance_and_resolve(&mut self, now: TimeMs) -> Vec<Action> {
        let mut res = Vec::new();
        if let Some(high_watermark) = self.maybe_advance_high_watermark(now) {
            res.push(Action::AdvanceHighWatermark(high_watermark));
        }
        res.extend(self.resolve_acks());
        res
    }

    fn resolve_acks(&mut self) -> Vec<Action> {
        let mut res = Vec::new();
        while let Some(entry) = self.pending_acks.first_entry() {
            if *entry.key() > self.high_watermark {
                break;
            }
            for (request_id, min_insync) in entry.remove() {
                if self.isr.len() >= min_insync {
                    res.push(Action::AckCompleted(request_id));
                } else {
                    res.push(Action::AckFailed(
                        request_id,
                        AckError::NotEnoughReplicasAfterAppend,
                    ));
                }
            }
        }
        res
    }
}
