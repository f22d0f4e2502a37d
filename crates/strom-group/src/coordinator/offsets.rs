//! Committed offsets: OffsetCommit, TxnOffsetCommit and its completion, OffsetFetch,
//! OffsetDelete, and offset expiry, following Kafka's `GroupCoordinator` checks.
//!
//! Topic existence is not checked here: the broker answers `UNKNOWN_TOPIC_OR_PARTITION` for
//! partitions it does not know before calling in, as Kafka's request handler does.

use std::collections::BTreeSet;

use crate::consumer_protocol::CONSUMER_PROTOCOL_TYPE;
use crate::coordinator::{Coordinator, Ctx, Effect, Output, tombstone_group};
use crate::error::GroupError;
use crate::group::{Group, GroupState};
use crate::ids::{GroupId, OffsetsPartition, ProducerId, TimeMs, TopicPartition};
use crate::messages::{
    FetchedOffset, OffsetCommitPartition, OffsetCommitRequest, OffsetCommitResponse,
    OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchGroupResponse, OffsetFetchRequest,
    OffsetFetchResponse, PartitionResult, TxnOffsetCommitRequest,
};
use crate::offsets_topic::{OffsetCommitValue, OffsetsRecord, RecordKey, RecordValue};

impl Coordinator {
    /// OffsetCommit. Members must be in the current generation; a commit with no generation is
    /// accepted only for a group without members (simple consumers), as in Kafka.
    pub fn offset_commit(
        &mut self,
        request: OffsetCommitRequest,
        now: TimeMs,
    ) -> Output<OffsetCommitResponse> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let response = match self.check_partition(&group_id) {
            Err(error) => all_failed(&request.partitions, error),
            Ok(partition) => {
                let group = match self.take_group(&group_id) {
                    Some(group) => Some(group),
                    // Simple consumers only use the group to store offsets.
                    None if request.generation_id.is_none() => {
                        Some(Group::new(group_id.clone(), partition, now))
                    }
                    None => None,
                };
                match group {
                    None => all_failed(&request.partitions, GroupError::IllegalGeneration),
                    Some(mut group) => {
                        let mut ctx = Ctx {
                            config: &self.config,
                            now,
                            effects: &mut effects,
                        };
                        let response = match check_commit(&mut group, &request, now) {
                            Err(error) => all_failed(&request.partitions, error),
                            Ok(()) => {
                                let expire = request.retention_time_ms.map(|ms| now.plus_ms(ms));
                                commit(&mut group, &request.partitions, None, expire, &mut ctx)
                            }
                        };
                        self.put_group(group);
                        response
                    }
                }
            }
        };
        self.finish(&[group_id], now, &mut effects);
        Output { response, effects }
    }

    /// TxnOffsetCommit: stages offsets for `producer_id`; they become visible when the broker
    /// reports the transaction's commit through `complete_transaction`.
    pub fn txn_offset_commit(
        &mut self,
        request: TxnOffsetCommitRequest,
        now: TimeMs,
    ) -> Output<OffsetCommitResponse> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let response = match self.check_partition(&group_id) {
            Err(error) => all_failed(&request.partitions, error),
            Ok(partition) => {
                let mut group = self
                    .take_group(&group_id)
                    .unwrap_or_else(|| Group::new(group_id.clone(), partition, now));
                let mut ctx = Ctx {
                    config: &self.config,
                    now,
                    effects: &mut effects,
                };
                let response = match check_txn_commit(&group, &request) {
                    Err(error) => all_failed(&request.partitions, error),
                    Ok(()) => commit(
                        &mut group,
                        &request.partitions,
                        Some(request.producer_id),
                        None,
                        &mut ctx,
                    ),
                };
                self.put_group(group);
                response
            }
        };
        self.finish(&[group_id], now, &mut effects);
        Output { response, effects }
    }

    /// The transaction of `producer_id` ended with a marker in `partition`: its staged offsets
    /// in that partition's groups become committed (`commit`) or are dropped.
    pub fn complete_transaction(
        &mut self,
        partition: OffsetsPartition,
        producer_id: ProducerId,
        commit: bool,
        now: TimeMs,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for group in self
            .groups
            .values_mut()
            .filter(|group| group.partition == partition)
        {
            if let Some(pending) = group.pending_txn_offsets.remove(&producer_id)
                && commit
            {
                group.offsets.extend(pending);
            }
        }
        let unused: Vec<GroupId> = self
            .groups
            .values()
            .filter(|group| group.partition == partition)
            .map(|group| group.group_id.clone())
            .collect();
        for group_id in unused {
            if let Some(group) = self.take_group(&group_id) {
                self.put_group(group);
            }
        }
        self.finish(&[], now, &mut effects);
        effects
    }

    /// OffsetFetch for one or more groups. Unknown groups and partitions without a commit
    /// answer with no offset.
    pub fn offset_fetch(&self, request: &OffsetFetchRequest) -> OffsetFetchResponse {
        let groups = request
            .groups
            .iter()
            .map(|fetch| {
                let mut res = OffsetFetchGroupResponse {
                    group_id: fetch.group_id.clone(),
                    error: None,
                    partitions: Vec::new(),
                };
                if let Err(error) = self.check_partition(&fetch.group_id) {
                    res.error = Some(error);
                    return res;
                }
                let group = self.groups.get(&fetch.group_id);
                let requested: Vec<TopicPartition> = match (&fetch.partitions, group) {
                    (Some(partitions), _) => partitions.clone(),
                    (None, Some(group)) => group.offsets.keys().cloned().collect(),
                    (None, None) => Vec::new(),
                };
                res.partitions = requested
                    .into_iter()
                    .map(|topic_partition| fetched(group, topic_partition, request.require_stable))
                    .collect();
                res
            })
            .collect();
        OffsetFetchResponse { groups }
    }

    /// OffsetDelete: allowed for empty groups, and for partitions of topics a consumer group
    /// does not subscribe to.
    pub fn offset_delete(
        &mut self,
        request: OffsetDeleteRequest,
        now: TimeMs,
    ) -> Output<OffsetDeleteResponse> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let failed = |error| OffsetDeleteResponse {
            error: Some(error),
            partitions: Vec::new(),
        };
        let response = match self.check_partition(&group_id) {
            Err(error) => failed(error),
            Ok(_) => match self.take_group(&group_id) {
                None => failed(GroupError::GroupIdNotFound),
                Some(mut group) => {
                    let mut ctx = Ctx {
                        config: &self.config,
                        now,
                        effects: &mut effects,
                    };
                    let response = delete_offsets(&mut group, &request.partitions, &mut ctx);
                    self.put_group(group);
                    response
                }
            },
        };
        self.finish(&[group_id], now, &mut effects);
        Output { response, effects }
    }

    /// Removes offsets past retention, and groups left with nothing (tombstoned).
    pub(crate) fn expire_offsets(&mut self, now: TimeMs, effects: &mut Vec<Effect>) {
        let group_ids: Vec<GroupId> = self.groups.keys().cloned().collect();
        for group_id in group_ids {
            let Some(mut group) = self.take_group(&group_id) else {
                continue;
            };
            let mut ctx = Ctx {
                config: &self.config,
                now,
                effects: &mut *effects,
            };
            let retention_ms = ctx.config.offsets_retention_ms;
            let expired = expired_offsets(&group, now, retention_ms);
            let records = expired
                .iter()
                .map(|topic_partition| {
                    group.offsets.remove(topic_partition);
                    offset_tombstone(&group.group_id, topic_partition)
                })
                .collect();
            ctx.persist(group.partition, None, records);
            let dead = group.state == GroupState::Empty
                && group.members.is_empty()
                && group.offsets.is_empty()
                && group.pending_txn_offsets.is_empty();
            if dead {
                group.transition(GroupState::Dead, now);
                tombstone_group(&group, &mut ctx);
                self.unschedule(&group_id);
            } else {
                self.put_group(group);
            }
        }
    }
}

fn all_failed(
    partitions: &[crate::messages::OffsetCommitPartition],
    error: GroupError,
) -> OffsetCommitResponse {
    let partitions = partitions
        .iter()
        .map(|partition| PartitionResult {
            topic_partition: partition.topic_partition.clone(),
            error: Some(error),
        })
        .collect();
    OffsetCommitResponse { partitions }
}

/// Kafka's `doCommitOffsets` checks.
fn check_commit(
    group: &mut Group,
    request: &OffsetCommitRequest,
    now: TimeMs,
) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    let member_id = request.member_id.clone().unwrap_or_default();
    if group.is_static_member_fenced(request.group_instance_id.as_ref(), &member_id) {
        return Err(GroupError::FencedInstanceId);
    }
    if request.generation_id.is_none() && group.state == GroupState::Empty {
        return Ok(());
    }
    if !group.has_member(&member_id) {
        return Err(GroupError::UnknownMemberId);
    }
    if request.generation_id != Some(group.generation_id) {
        return Err(GroupError::IllegalGeneration);
    }
    match group.state {
        GroupState::Stable | GroupState::PreparingRebalance => {
            // A commit proves the member alive, like a heartbeat.
            if let Some(member) = group.member_mut(&member_id) {
                member.heartbeat_deadline = Some(now.plus_ms(member.session_timeout_ms));
            }
            Ok(())
        }
        GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
        GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
    }
}

/// Kafka's `doTxnCommitOffsets` checks: member checks only when the producer sent them.
fn check_txn_commit(group: &Group, request: &TxnOffsetCommitRequest) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    let member_id = request.member_id.clone().unwrap_or_default();
    if group.is_static_member_fenced(request.group_instance_id.as_ref(), &member_id) {
        return Err(GroupError::FencedInstanceId);
    }
    if request.member_id.is_some() && !group.has_member(&member_id) {
        return Err(GroupError::UnknownMemberId);
    }
    if request
        .generation_id
        .is_some_and(|generation| generation != group.generation_id)
    {
        return Err(GroupError::IllegalGeneration);
    }
    Ok(())
}

/// Stores offsets (or stages them for `producer_id`) and persists them.
fn commit(
    group: &mut Group,
    partitions: &[OffsetCommitPartition],
    producer_id: Option<ProducerId>,
    expire_timestamp: Option<TimeMs>,
    ctx: &mut Ctx<'_>,
) -> OffsetCommitResponse {
    let mut records = Vec::new();
    let mut results = Vec::new();
    for partition in partitions {
        let metadata = partition.committed_metadata.clone().unwrap_or_default();
        if metadata.len() > ctx.config.offset_metadata_max_bytes {
            results.push(PartitionResult {
                topic_partition: partition.topic_partition.clone(),
                error: Some(GroupError::OffsetMetadataTooLarge),
            });
            continue;
        }
        let value = OffsetCommitValue {
            offset: partition.committed_offset,
            leader_epoch: partition.committed_leader_epoch,
            metadata,
            commit_timestamp: ctx.now,
            expire_timestamp,
        };
        let key = RecordKey::Offset {
            group_id: group.group_id.clone(),
            topic_partition: partition.topic_partition.clone(),
        };
        records.push(OffsetsRecord::new(
            &key,
            Some(&RecordValue::Offset(value.clone())),
        ));
        match producer_id {
            Some(producer_id) => {
                let pending = group.pending_txn_offsets.entry(producer_id).or_default();
                pending.insert(partition.topic_partition.clone(), value);
            }
            None => {
                group
                    .offsets
                    .insert(partition.topic_partition.clone(), value);
            }
        }
        results.push(PartitionResult {
            topic_partition: partition.topic_partition.clone(),
            error: None,
        });
    }
    ctx.persist(group.partition, producer_id, records);
    OffsetCommitResponse {
        partitions: results,
    }
}

fn fetched(
    group: Option<&Group>,
    topic_partition: TopicPartition,
    require_stable: bool,
) -> FetchedOffset {
    let unstable = require_stable
        && group.is_some_and(|group| {
            group
                .pending_txn_offsets
                .values()
                .any(|pending| pending.contains_key(&topic_partition))
        });
    let committed = group.and_then(|group| group.offsets.get(&topic_partition));
    if unstable {
        return FetchedOffset {
            topic_partition,
            committed_offset: None,
            committed_leader_epoch: None,
            metadata: None,
            error: Some(GroupError::UnstableOffsetCommit),
        };
    }
    FetchedOffset {
        topic_partition,
        committed_offset: committed.map(|value| value.offset),
        committed_leader_epoch: committed.and_then(|value| value.leader_epoch),
        metadata: committed.map(|value| value.metadata.clone()),
        error: None,
    }
}

fn delete_offsets(
    group: &mut Group,
    partitions: &[TopicPartition],
    ctx: &mut Ctx<'_>,
) -> OffsetDeleteResponse {
    let subscribed: BTreeSet<String> = match group.state {
        GroupState::Dead => {
            return OffsetDeleteResponse {
                error: Some(GroupError::GroupIdNotFound),
                partitions: Vec::new(),
            };
        }
        GroupState::Empty => BTreeSet::new(),
        _ if group.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE) => {
            group.subscribed_topics().unwrap_or_default()
        }
        _ => {
            return OffsetDeleteResponse {
                error: Some(GroupError::NonEmptyGroup),
                partitions: Vec::new(),
            };
        }
    };
    let mut records = Vec::new();
    let mut results = Vec::new();
    for topic_partition in partitions {
        if subscribed.contains(&topic_partition.topic) {
            results.push(PartitionResult {
                topic_partition: topic_partition.clone(),
                error: Some(GroupError::GroupSubscribedToTopic),
            });
            continue;
        }
        if group.offsets.remove(topic_partition).is_some() {
            records.push(offset_tombstone(&group.group_id, topic_partition));
        }
        results.push(PartitionResult {
            topic_partition: topic_partition.clone(),
            error: None,
        });
    }
    ctx.persist(group.partition, None, records);
    OffsetDeleteResponse {
        error: None,
        partitions: results,
    }
}

fn offset_tombstone(group_id: &GroupId, topic_partition: &TopicPartition) -> OffsetsRecord {
    let key = RecordKey::Offset {
        group_id: group_id.clone(),
        topic_partition: topic_partition.clone(),
    };
    OffsetsRecord::new(&key, None)
}

/// Kafka's (KIP-211) rules: an empty group's offsets expire `retention` after it became empty;
/// a stable consumer group's offsets of topics it no longer subscribes to expire `retention`
/// after their commit; offsets-only groups expire by commit time. Explicit expiry timestamps
/// (OffsetCommit v2-4) win. Partitions with a pending transactional commit never expire.
fn expired_offsets(group: &Group, now: TimeMs, retention_ms: u64) -> Vec<TopicPartition> {
    let subscribed = match (&group.protocol_type, group.state) {
        (Some(_), GroupState::Empty) => BTreeSet::new(),
        (Some(protocol_type), GroupState::Stable) if protocol_type == CONSUMER_PROTOCOL_TYPE => {
            match group.subscribed_topics() {
                Some(topics) => topics,
                None => return Vec::new(),
            }
        }
        (None, _) => BTreeSet::new(),
        _ => return Vec::new(),
    };
    let empty_since = match (&group.protocol_type, group.state) {
        (Some(_), GroupState::Empty) => group.state_since,
        _ => None,
    };
    group
        .offsets
        .iter()
        .filter(|(topic_partition, value)| {
            if subscribed.contains(&topic_partition.topic) {
                return false;
            }
            let pending = group
                .pending_txn_offsets
                .values()
                .any(|pending| pending.contains_key(*topic_partition));
            if pending {
                return false;
            }
            match value.expire_timestamp {
                Some(expire) => now >= expire,
                None => now.since(empty_since.unwrap_or(value.commit_timestamp)) >= retention_ms,
            }
        })
        .map(|(topic_partition, _)| topic_partition.clone())
        .collect()
}
