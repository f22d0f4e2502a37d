//! The leader side of partition replication: for every partition this broker leads, a
//! [`strom_replication::Leader`] that tracks the followers' fetches, the ISR and the high
//! watermark, and the `acks=all` produce requests waiting for the ISR. The broker feeds it
//! appends, follower fetches and a periodic tick, and executes what it decides: the high
//! watermark goes to the log (and wakes long-polling fetches), waiting produce requests are
//! answered through their channels, ISR changes go to the controller.
//!
//! It lives inside the broker's log lock (`Logs`), so an append and the leader's view of the log
//! end offset never disagree. Times are milliseconds since the Unix epoch.
//!
//! The follower side (fetching from another broker's leader) is `fetcher.rs`; which partitions
//! are led or followed is decided by `reconcile.rs` from the metadata image.

use std::collections::HashMap;

use strom_log::{Log, LogManager, TopicPartition};
use strom_metadata::{AlterPartition, PartitionImage, PartitionIndex};
use strom_record::LeaderEpoch;
use strom_replication::{
    AckError, Action, BrokerId, IsrProposal, Leader, LeaderConfig, LeaderInit, Offset,
    PartitionEpoch, RequestId, TimeMs,
};
use tokio::sync::oneshot;

use crate::Error;

/// What the broker must do after a change, outside the log lock.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Partitions whose high watermark moved (or whose log grew, which followers wait for).
    pub wake: Vec<(TopicPartition, strom_record::Offset)>,
    /// ISR changes to send to the controller.
    pub proposals: Vec<AlterPartition>,
}

/// A follower's fetch of one partition: who, from where, and its log start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FollowerFetch {
    /// The follower.
    pub follower: strom_metadata::BrokerId,
    /// Its log end offset (where it fetches from).
    pub fetch_offset: strom_record::Offset,
    /// Its log start offset.
    pub log_start_offset: strom_record::Offset,
}

/// How [`Replication::sync`] changed this broker's leadership of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeaderChange {
    /// It leads now (newly, or at a new leader epoch).
    Started,
    /// It led and does not any more.
    Stopped,
    /// Nothing changed.
    Unchanged,
}

/// The outcome a waiting `acks=all` request gets.
pub(crate) type AckOutcome = Result<(), AckError>;

/// Every partition this broker leads, and the produce requests waiting for their ISR.
#[derive(Debug)]
pub(crate) struct Replication {
    node_id: strom_metadata::BrokerId,
    leaders: HashMap<TopicPartition, Leader>,
    waiting: HashMap<RequestId, (TopicPartition, oneshot::Sender<AckOutcome>)>,
    next_request: u64,
}

/// This broker's id in the replication crate's terms (node ids are validated non-negative).
pub(crate) fn replica_id(node_id: strom_metadata::BrokerId) -> BrokerId {
    BrokerId(u32::try_from(node_id.0).unwrap_or(0))
}

fn metadata_id(broker: BrokerId) -> strom_metadata::BrokerId {
    strom_metadata::BrokerId(i32::try_from(broker.0).unwrap_or(i32::MAX))
}

fn to_replication(offset: strom_record::Offset) -> Offset {
    Offset(offset.0)
}

fn to_log(offset: Offset) -> strom_record::Offset {
    strom_record::Offset(offset.0)
}

impl Replication {
    /// Nothing led yet, on broker `node_id`.
    pub fn new(node_id: strom_metadata::BrokerId) -> Replication {
        Replication {
            node_id,
            leaders: HashMap::new(),
            waiting: HashMap::new(),
            next_request: 0,
        }
    }

    /// Starts leading `topic_partition` as the image says: the log's epoch cache gets the
    /// leader epoch at the log end (if it is new), the high watermark is what the log
    /// checkpointed (everything, when this broker is the only replica). Replaces an earlier
    /// leadership of the partition, failing its waiting requests.
    pub fn lead(
        &mut self,
        topic_partition: &TopicPartition,
        partition: &PartitionImage,
        log: &mut Log,
        config: LeaderConfig,
        now: TimeMs,
    ) -> Result<(), Error> {
        self.resign(topic_partition);
        let epoch = partition.leader_epoch.0;
        if log.latest_epoch().is_none_or(|latest| latest.0 < epoch) {
            log.assign_epoch(LeaderEpoch(epoch), log.log_end_offset())?;
        }
        let log_end_offset = log.log_end_offset();
        let alone = partition.replicas.len() <= 1;
        let high_watermark = if alone {
            log_end_offset
        } else {
            log.high_watermark().min(log_end_offset)
        };
        log.set_high_watermark(high_watermark);
        let init = LeaderInit {
            leader: replica_id(self.node_id),
            replicas: partition.replicas.iter().copied().map(replica_id).collect(),
            isr: partition.isr.iter().copied().map(replica_id).collect(),
            leader_epoch: strom_replication::LeaderEpoch(epoch),
            partition_epoch: PartitionEpoch(partition.partition_epoch.0),
            log_end_offset: to_replication(log_end_offset),
            high_watermark: to_replication(high_watermark),
        };
        let leader = Leader::new(init, config, now).map_err(|error| {
            Error::Replication(format!("cannot lead {topic_partition}: {error}"))
        })?;
        log.set_high_watermark(to_log(leader.high_watermark()));
        self.leaders.insert(topic_partition.clone(), leader);
        Ok(())
    }

    /// Brings the partition's leadership in line with the image: start leading at a new leader
    /// epoch, apply an ISR the controller changed at the same epoch, or stop leading. Returns
    /// how this broker's leadership changed.
    pub fn sync(
        &mut self,
        topic_partition: &TopicPartition,
        partition: &PartitionImage,
        log: &mut Log,
        config: LeaderConfig,
        now: TimeMs,
        effects: &mut Effects,
    ) -> Result<LeaderChange, Error> {
        if partition.leader != Some(self.node_id) {
            if self.leaders.contains_key(topic_partition) {
                self.resign(topic_partition);
                return Ok(LeaderChange::Stopped);
            }
            return Ok(LeaderChange::Unchanged);
        }
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            self.lead(topic_partition, partition, log, config, now)?;
            return Ok(LeaderChange::Started);
        };
        if leader.leader_epoch().0 != partition.leader_epoch.0 {
            self.lead(topic_partition, partition, log, config, now)?;
            return Ok(LeaderChange::Started);
        }
        self.sync_replicas(topic_partition, partition, log, now, effects)?;
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            return Ok(LeaderChange::Unchanged);
        };
        if partition.partition_epoch.0 > leader.partition_epoch().0 {
            let isr: Vec<BrokerId> = partition.isr.iter().copied().map(replica_id).collect();
            let actions = leader
                .on_isr_committed(&isr, PartitionEpoch(partition.partition_epoch.0), now)
                .map_err(|error| Error::Replication(error.to_string()))?;
            self.execute(topic_partition, log, actions, effects);
        }
        Ok(LeaderChange::Unchanged)
    }

    /// A reassignment changed the replicas of a partition led here at the same leader epoch:
    /// the leader starts tracking new followers and forgets removed ones.
    fn sync_replicas(
        &mut self,
        topic_partition: &TopicPartition,
        partition: &PartitionImage,
        log: &mut Log,
        now: TimeMs,
        effects: &mut Effects,
    ) -> Result<(), Error> {
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            return Ok(());
        };
        let replicas: Vec<BrokerId> = partition.replicas.iter().copied().map(replica_id).collect();
        if leader.replicas() == replicas.as_slice() {
            return Ok(());
        }
        let actions = leader
            .on_replicas_changed(&replicas, now)
            .map_err(|error| Error::Replication(error.to_string()))?;
        tracing::info!(
            partition = %topic_partition,
            replicas = ?partition.replicas,
            "replicas changed"
        );
        self.execute(topic_partition, log, actions, effects);
        Ok(())
    }

    /// Stops leading `topic_partition`: its waiting requests fail with NOT_LEADER.
    pub fn resign(&mut self, topic_partition: &TopicPartition) {
        let Some(leader) = self.leaders.remove(topic_partition) else {
            return;
        };
        for action in leader.resign() {
            if let Action::AckFailed(request, error) = action {
                self.answer(request, Err(error));
            }
        }
    }

    /// The leader state of a partition led here.
    pub fn leader(&self, topic_partition: &TopicPartition) -> Option<&Leader> {
        self.leaders.get(topic_partition)
    }

    /// The log of `topic_partition` grew (an append).
    pub fn on_append(
        &mut self,
        topic_partition: &TopicPartition,
        log: &mut Log,
        now: TimeMs,
        effects: &mut Effects,
    ) -> Result<(), Error> {
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            return Ok(());
        };
        let actions = leader
            .on_append(to_replication(log.log_end_offset()), now)
            .map_err(|error| Error::Replication(error.to_string()))?;
        self.execute(topic_partition, log, actions, effects);
        // Followers long-poll for new data, not only for a moved high watermark.
        effects
            .wake
            .push((topic_partition.clone(), log.high_watermark()));
        Ok(())
    }

    /// Registers an `acks=all` request that needs the high watermark at `required` (the log end
    /// right after its append), with the topic's `min.insync.replicas`. The receiver gets the
    /// outcome; it may already be there.
    pub fn await_ack(
        &mut self,
        topic_partition: &TopicPartition,
        required: strom_record::Offset,
        min_insync: usize,
        log: &mut Log,
        effects: &mut Effects,
    ) -> Result<(RequestId, oneshot::Receiver<AckOutcome>), Error> {
        let (sender, receiver) = oneshot::channel();
        let request = RequestId(self.next_request);
        self.next_request += 1;
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            let _ = sender.send(Err(AckError::NotLeader));
            return Ok((request, receiver));
        };
        self.waiting
            .insert(request, (topic_partition.clone(), sender));
        let actions = leader
            .await_ack(request, to_replication(required), min_insync)
            .map_err(|error| Error::Replication(error.to_string()))?;
        self.execute(topic_partition, log, actions, effects);
        Ok((request, receiver))
    }

    /// Forgets a waiting request whose produce timeout expired.
    pub fn cancel_ack(&mut self, request: RequestId) {
        if let Some((topic_partition, _)) = self.waiting.remove(&request)
            && let Some(leader) = self.leaders.get_mut(&topic_partition)
        {
            leader.cancel_ack(request);
        }
    }

    /// A follower fetched `topic_partition`.
    pub fn on_follower_fetch(
        &mut self,
        topic_partition: &TopicPartition,
        fetch: FollowerFetch,
        log: &mut Log,
        now: TimeMs,
        effects: &mut Effects,
    ) -> Result<(), strom_replication::Error> {
        let Some(leader) = self.leaders.get_mut(topic_partition) else {
            return Ok(());
        };
        let actions = leader.on_follower_fetch(
            replica_id(fetch.follower),
            to_replication(fetch.fetch_offset),
            to_replication(fetch.log_start_offset),
            now,
        )?;
        self.execute(topic_partition, log, actions, effects);
        Ok(())
    }

    /// Checks every led partition's followers for lag (ISR shrinks), and lets high watermarks
    /// move that no longer wait for a follower whose lag time is over.
    pub fn tick(&mut self, now: TimeMs, logs: &mut LogManager, effects: &mut Effects) {
        let mut decided = Vec::new();
        for (topic_partition, leader) in &mut self.leaders {
            let actions = leader.tick(now);
            if !actions.is_empty() {
                decided.push((topic_partition.clone(), actions));
            }
        }
        for (topic_partition, actions) in decided {
            let Some(log) = logs.get_mut(&topic_partition) else {
                continue;
            };
            self.execute(&topic_partition, log, actions, effects);
        }
    }

    /// The controller committed (`Ok`) or refused (`Err`) an ISR proposal for a partition.
    pub fn on_proposal_result(
        &mut self,
        change: &AlterPartition,
        committed: Result<&PartitionImage, ()>,
        log: &mut Log,
        now: TimeMs,
        effects: &mut Effects,
    ) -> Result<(), Error> {
        let topic_partition = TopicPartition::new(change.topic.clone(), change.partition.0);
        let Some(leader) = self.leaders.get_mut(&topic_partition) else {
            return Ok(());
        };
        let proposal = IsrProposal {
            isr: change.isr.iter().copied().map(replica_id).collect(),
            leader_epoch: strom_replication::LeaderEpoch(change.leader_epoch.0),
            partition_epoch: PartitionEpoch(change.partition_epoch.0),
        };
        let partition = match committed {
            Ok(partition) => partition,
            Err(()) => {
                leader.on_isr_proposal_failed(&proposal);
                return Ok(());
            }
        };
        if partition.partition_epoch.0 <= leader.partition_epoch().0 {
            // Nothing changed (the proposal equalled the committed ISR).
            leader.on_isr_proposal_failed(&proposal);
            return Ok(());
        }
        if partition.leader != Some(self.node_id)
            || partition.leader_epoch.0 != leader.leader_epoch().0
        {
            // The change also moved the leadership (a reassignment completed and this broker
            // left the replicas): reconciling with the image resigns or leads anew.
            leader.on_isr_proposal_failed(&proposal);
            return Ok(());
        }
        self.sync_replicas(&topic_partition, partition, log, now, effects)?;
        let Some(leader) = self.leaders.get_mut(&topic_partition) else {
            return Ok(());
        };
        let isr: Vec<BrokerId> = partition.isr.iter().copied().map(replica_id).collect();
        let actions = leader
            .on_isr_committed(&isr, PartitionEpoch(partition.partition_epoch.0), now)
            .map_err(|error| Error::Replication(error.to_string()))?;
        self.execute(&topic_partition, log, actions, effects);
        Ok(())
    }

    fn execute(
        &mut self,
        topic_partition: &TopicPartition,
        log: &mut Log,
        actions: Vec<Action>,
        effects: &mut Effects,
    ) {
        for action in actions {
            match action {
                Action::AdvanceHighWatermark(offset) => {
                    log.set_high_watermark(to_log(offset));
                    effects.wake.push((topic_partition.clone(), to_log(offset)));
                }
                Action::AckCompleted(request) => self.answer(request, Ok(())),
                Action::AckFailed(request, error) => self.answer(request, Err(error)),
                Action::ShrinkIsr(proposal) | Action::ExpandIsr(proposal) => {
                    effects
                        .proposals
                        .push(alter(topic_partition, self.node_id, &proposal));
                }
                // Follower actions do not come from a leader.
                Action::TruncateTo(_) | Action::RequestEpochEndOffset(_) | Action::FetchFrom(_) => {
                }
            }
        }
    }

    fn answer(&mut self, request: RequestId, outcome: AckOutcome) {
        if let Some((_, sender)) = self.waiting.remove(&request) {
            // The producer may have timed out and gone; nothing to tell then.
            let _ = sender.send(outcome);
        }
    }
}

fn alter(
    topic_partition: &TopicPartition,
    node_id: strom_metadata::BrokerId,
    proposal: &IsrProposal,
) -> AlterPartition {
    AlterPartition {
        topic: topic_partition.topic.clone(),
        partition: PartitionIndex(topic_partition.partition),
        leader: node_id,
        leader_epoch: strom_metadata::LeaderEpoch(proposal.leader_epoch.0),
        partition_epoch: strom_metadata::PartitionEpoch(proposal.partition_epoch.0),
        isr: proposal.isr.iter().copied().map(metadata_id).collect(),
    }
}
