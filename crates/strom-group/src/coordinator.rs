//! The group coordinator: owns the groups of the `__consumer_offsets` partitions this broker
//! leads, answers group and offset requests, and says what the broker must do as `Effect`s.
//!
//! It does no I/O and reads no clock: every call takes `now`. JoinGroup and SyncGroup answers
//! may come later, from another member's request or from `tick`, as `Effect::Respond` with the
//! broker's token. The broker executes effects in order: a response that follows a `Persist` in
//! the same list should be sent once the records are written. Membership logic is in
//! `coordinator/membership.rs`, offsets in `coordinator/offsets.rs`.

mod membership;
mod offsets;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, GroupError};
use crate::group::{Group, GroupState, Member, PendingTxnOffsets};
use crate::ids::{
    GroupId, GroupInstanceId, MemberId, Offset, OffsetsPartition, ProducerId, TimeMs, Token,
    TopicPartition,
};
use crate::messages::{
    DeletedGroup, DescribedGroup, DescribedMember, JoinGroupProtocol, JoinGroupResponse,
    ListGroupsRequest, ListGroupsResponse, ListedGroup, SyncGroupResponse,
};
use crate::offsets_topic::{
    GroupMetadataValue, LoadRecord, OffsetCommitValue, OffsetsRecord, RecordKey, RecordValue,
    offsets_partition_for,
};

/// The coordinator's settings, named after Kafka's broker configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `offsets.topic.num.partitions` (default 50).
    pub offsets_topic_partitions: u32,
    /// `group.min.session.timeout.ms` (default 6000).
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms` (default 1800000).
    pub group_max_session_timeout_ms: u64,
    /// `group.max.size` (default unbounded).
    pub group_max_size: usize,
    /// `group.initial.rebalance.delay.ms` (default 3000).
    pub group_initial_rebalance_delay_ms: u64,
    /// How long a new member may take to complete its first join (KIP-394; Kafka: 5 minutes).
    pub group_new_member_join_timeout_ms: u64,
    /// `offsets.retention.minutes` in milliseconds (default 7 days).
    pub offsets_retention_ms: u64,
    /// `offsets.retention.check.interval.ms` (default 600000).
    pub offsets_retention_check_interval_ms: u64,
    /// `offset.metadata.max.bytes` (default 4096).
    pub offset_metadata_max_bytes: usize,
    /// Mixed into generated member ids so that ids differ across broker restarts; the broker
    /// sets it from a random source.
    pub member_id_seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            offsets_topic_partitions: 50,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_max_size: usize::MAX,
            group_initial_rebalance_delay_ms: 3_000,
            group_new_member_join_timeout_ms: 300_000,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            member_id_seed: 0,
        }
    }
}

/// Something the broker must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Answer the JoinGroup or SyncGroup request tagged `token`.
    Respond {
        /// The request's token.
        token: Token,
        /// The answer.
        response: DelayedResponse,
    },
    /// Append records to `__consumer_offsets` partition `partition`.
    Persist {
        /// The partition.
        partition: OffsetsPartition,
        /// Set for TxnOffsetCommit: write them in a transactional batch of this producer.
        producer_id: Option<ProducerId>,
        /// The records.
        records: Vec<OffsetsRecord>,
    },
    /// Call `Coordinator::tick` at `at` (replaces any earlier wakeup request).
    ScheduleWakeup {
        /// When.
        at: TimeMs,
    },
}

/// A response that may be delayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DelayedResponse {
    /// For JoinGroup.
    JoinGroup(JoinGroupResponse),
    /// For SyncGroup.
    SyncGroup(SyncGroupResponse),
}

/// An immediate response and the effects that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output<R> {
    /// The response.
    pub response: R,
    /// What the broker must do, in order (persist before responding).
    pub effects: Vec<Effect>,
}

/// The group coordinator for the `__consumer_offsets` partitions this broker leads.
#[derive(Debug, Clone)]
pub struct Coordinator {
    config: Config,
    partitions: BTreeMap<OffsetsPartition, PartitionStatus>,
    groups: BTreeMap<GroupId, Group>,
    timers: BTreeSet<(TimeMs, GroupId)>,
    scheduled: BTreeMap<GroupId, TimeMs>,
    expiry_check_at: Option<TimeMs>,
    announced_wakeup: Option<TimeMs>,
    member_id_counter: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartitionStatus {
    Loading,
    Loaded,
}

/// What a group-level operation needs besides the group.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Config,
    pub(crate) now: TimeMs,
    pub(crate) effects: &'a mut Vec<Effect>,
}

impl Ctx<'_> {
    pub(crate) fn respond_join(&mut self, token: Token, response: JoinGroupResponse) {
        self.effects.push(Effect::Respond {
            token,
            response: DelayedResponse::JoinGroup(response),
        });
    }

    pub(crate) fn respond_sync(&mut self, token: Token, response: SyncGroupResponse) {
        self.effects.push(Effect::Respond {
            token,
            response: DelayedResponse::SyncGroup(response),
        });
    }

    pub(crate) fn persist(
        &mut self,
        partition: OffsetsPartition,
        producer_id: Option<ProducerId>,
        records: Vec<OffsetsRecord>,
    ) {
        if !records.is_empty() {
            self.effects.push(Effect::Persist {
                partition,
                producer_id,
                records,
            });
        }
    }

    /// Persists the group's metadata record.
    pub(crate) fn persist_group(&mut self, group: &Group) {
        let key = RecordKey::Group {
            group_id: group.group_id.clone(),
        };
        let value = RecordValue::Group(group.metadata_value());
        self.persist(
            group.partition,
            None,
            vec![OffsetsRecord::new(&key, Some(&value))],
        );
    }
}

impl Coordinator {
    /// A coordinator that owns no partitions yet.
    pub fn new(config: Config) -> Coordinator {
        Coordinator {
            config,
            partitions: BTreeMap::new(),
            groups: BTreeMap::new(),
            timers: BTreeSet::new(),
            scheduled: BTreeMap::new(),
            expiry_check_at: None,
            announced_wakeup: None,
            member_id_counter: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `__consumer_offsets` partition that owns `group_id` (FindCoordinator).
    pub fn partition_for(&self, group_id: &GroupId) -> OffsetsPartition {
        offsets_partition_for(group_id, self.config.offsets_topic_partitions)
    }

    /// This broker became leader of `partition`: its groups answer
    /// `COORDINATOR_LOAD_IN_PROGRESS` until `load` is called.
    pub fn begin_load(&mut self, partition: OffsetsPartition) {
        self.drop_partition_groups(partition, &mut Vec::new());
        self.partitions.insert(partition, PartitionStatus::Loading);
    }

    /// Replays `partition`'s records (in log order) and starts serving its groups. Members of
    /// loaded groups get a fresh session. On a record that does not decode nothing is loaded
    /// and the partition keeps answering `COORDINATOR_LOAD_IN_PROGRESS`.
    pub fn load(
        &mut self,
        partition: OffsetsPartition,
        records: impl IntoIterator<Item = LoadRecord>,
        now: TimeMs,
    ) -> Result<Vec<Effect>, Error> {
        let staged = stage_records(records)?;
        let mut effects = Vec::new();
        self.drop_partition_groups(partition, &mut effects);
        let mut touched = Vec::new();
        for (group_id, staged) in staged {
            let mut group = match staged.metadata {
                Some(value) => group_from_value(group_id.clone(), partition, value, now),
                None if staged.offsets.is_empty() && staged.pending.is_empty() => continue,
                None => {
                    let mut group = Group::new(group_id.clone(), partition, now);
                    group.state_since = None;
                    group
                }
            };
            group.offsets = staged.offsets;
            group.pending_txn_offsets = staged.pending;
            touched.push(group_id.clone());
            self.groups.insert(group_id, group);
        }
        self.partitions.insert(partition, PartitionStatus::Loaded);
        if self.expiry_check_at.is_none() {
            self.expiry_check_at =
                Some(now.plus_ms(self.config.offsets_retention_check_interval_ms));
        }
        self.finish(&touched, now, &mut effects);
        Ok(effects)
    }

    /// This broker no longer leads `partition`: its groups are dropped and their waiting
    /// requests answered `NOT_COORDINATOR`.
    pub fn unload(&mut self, partition: OffsetsPartition) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.drop_partition_groups(partition, &mut effects);
        self.partitions.remove(&partition);
        effects
    }

    /// Runs everything due at `now`: session expiry, rebalance and sync timeouts, the initial
    /// rebalance delay, and offset expiry.
    pub fn tick(&mut self, now: TimeMs) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.expiry_check_at.is_some_and(|at| at <= now) {
            self.expire_offsets(now, &mut effects);
            self.expiry_check_at =
                Some(now.plus_ms(self.config.offsets_retention_check_interval_ms));
        }
        self.finish(&[], now, &mut effects);
        effects
    }

    /// When `tick` should be called next.
    pub fn next_wakeup(&self) -> Option<TimeMs> {
        let group = self.timers.first().map(|(at, _)| *at);
        group.into_iter().chain(self.expiry_check_at).min()
    }

    /// The group's state, `None` if the group is unknown here.
    pub fn group_state(&self, group_id: &GroupId) -> Option<GroupState> {
        self.groups.get(group_id).map(|group| group.state)
    }

    /// The group's committed offsets, for the admin API's lag computation.
    pub fn committed_offsets(
        &self,
        group_id: &GroupId,
    ) -> Result<BTreeMap<TopicPartition, Offset>, GroupError> {
        self.check_partition(group_id)?;
        let Some(group) = self.groups.get(group_id) else {
            return Err(GroupError::GroupIdNotFound);
        };
        Ok(group
            .offsets
            .iter()
            .map(|(partition, value)| (partition.clone(), value.offset))
            .collect())
    }

    /// ListGroups: the groups of loaded partitions, filtered by state.
    pub fn list_groups(&self, request: &ListGroupsRequest) -> ListGroupsResponse {
        let loading = self
            .partitions
            .values()
            .any(|status| *status == PartitionStatus::Loading);
        let groups = self
            .groups
            .values()
            .filter(|group| self.partitions.get(&group.partition) == Some(&PartitionStatus::Loaded))
            .filter(|group| {
                request.states_filter.is_empty() || request.states_filter.contains(&group.state)
            })
            .map(|group| ListedGroup {
                group_id: group.group_id.clone(),
                protocol_type: group.protocol_type.clone().unwrap_or_default(),
                group_state: group.state,
            })
            .collect();
        let error = loading.then_some(GroupError::CoordinatorLoadInProgress);
        ListGroupsResponse { error, groups }
    }

    /// DescribeGroups. Unknown groups are `Dead` without an error, as in Kafka.
    pub fn describe_groups(&self, group_ids: &[GroupId]) -> Vec<DescribedGroup> {
        group_ids
            .iter()
            .map(|group_id| self.describe_group(group_id))
            .collect()
    }

    /// DeleteGroups: only groups without members can go; their offsets go with them.
    pub fn delete_groups(
        &mut self,
        group_ids: &[GroupId],
        now: TimeMs,
    ) -> Output<Vec<DeletedGroup>> {
        let mut effects = Vec::new();
        let mut response = Vec::new();
        for group_id in group_ids {
            let error = match self.check_partition(group_id) {
                Err(error) => Some(error),
                Ok(_) => match self.groups.get(group_id).map(|group| group.state) {
                    None | Some(GroupState::Dead) => Some(GroupError::GroupIdNotFound),
                    Some(GroupState::Empty) => {
                        if let Some(group) = self.groups.remove(group_id) {
                            let mut ctx = Ctx {
                                config: &self.config,
                                now,
                                effects: &mut effects,
                            };
                            tombstone_group(&group, &mut ctx);
                            self.unschedule(group_id);
                        }
                        None
                    }
                    Some(_) => Some(GroupError::NonEmptyGroup),
                },
            };
            response.push(DeletedGroup {
                group_id: group_id.clone(),
                error,
            });
        }
        self.finish(&[], now, &mut effects);
        Output { response, effects }
    }

    fn describe_group(&self, group_id: &GroupId) -> DescribedGroup {
        let mut res = DescribedGroup {
            error: None,
            group_id: group_id.clone(),
            group_state: GroupState::Dead,
            protocol_type: String::new(),
            protocol_data: String::new(),
            members: Vec::new(),
        };
        if let Err(error) = self.check_partition(group_id) {
            res.error = Some(error);
            return res;
        }
        let Some(group) = self.groups.get(group_id) else {
            return res;
        };
        let stable = group.state == GroupState::Stable;
        res.group_state = group.state;
        res.protocol_type = group.protocol_type.clone().unwrap_or_default();
        if stable {
            res.protocol_data = group.protocol_name.clone().unwrap_or_default();
        }
        res.members = group
            .members
            .iter()
            .map(|member| DescribedMember {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id.clone(),
                client_id: member.client_id.clone(),
                client_host: member.client_host.clone(),
                member_metadata: if stable {
                    group.metadata_of(member).to_vec()
                } else {
                    Vec::new()
                },
                member_assignment: if stable {
                    member.assignment.clone()
                } else {
                    Vec::new()
                },
            })
            .collect();
        res
    }

    /// Whether this coordinator serves `group_id` now.
    fn check_partition(&self, group_id: &GroupId) -> Result<OffsetsPartition, GroupError> {
        if group_id.0.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let partition = self.partition_for(group_id);
        match self.partitions.get(&partition) {
            None => Err(GroupError::NotCoordinator),
            Some(PartitionStatus::Loading) => Err(GroupError::CoordinatorLoadInProgress),
            Some(PartitionStatus::Loaded) => Ok(partition),
        }
    }

    /// A fresh member id: the client id and a UUID-shaped suffix, like Kafka's.
    fn generate_member_id(&mut self, client_id: &str) -> MemberId {
        self.member_id_counter += 1;
        let high = mix(self.config.member_id_seed ^ self.member_id_counter.rotate_left(17));
        let low = mix(high ^ self.member_id_counter);
        MemberId(format!(
            "{client_id}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xffff,
            low >> 48,
            low & 0xffff_ffff_ffff
        ))
    }

    /// Takes a group out of the map to work on it without borrowing the coordinator.
    fn take_group(&mut self, group_id: &GroupId) -> Option<Group> {
        self.groups.remove(group_id)
    }

    /// Puts a group back, unless it holds nothing worth keeping (created by a failed request).
    fn put_group(&mut self, group: Group) {
        let unused = group.state == GroupState::Empty
            && group.generation_id.0 == 0
            && group.members.is_empty()
            && group.pending_members.is_empty()
            && group.offsets.is_empty()
            && group.pending_txn_offsets.is_empty();
        if unused {
            self.unschedule(&group.group_id);
            return;
        }
        self.groups.insert(group.group_id.clone(), group);
    }

    fn unschedule(&mut self, group_id: &GroupId) {
        if let Some(at) = self.scheduled.remove(group_id) {
            self.timers.remove(&(at, group_id.clone()));
        }
    }

    fn reschedule(&mut self, group_id: &GroupId) {
        self.unschedule(group_id);
        if let Some(at) = self.groups.get(group_id).and_then(Group::next_deadline) {
            self.timers.insert((at, group_id.clone()));
            self.scheduled.insert(group_id.clone(), at);
        }
    }

    /// Ends every public call: re-arms the touched groups' timers, runs what is already due
    /// (a zero initial delay completes in the same call), and asks for a wakeup if the earliest
    /// deadline changed.
    fn finish(&mut self, touched: &[GroupId], now: TimeMs, effects: &mut Vec<Effect>) {
        for group_id in touched {
            self.reschedule(group_id);
        }
        // Each due group runs once per call, so a deadline re-armed at `now` cannot spin here;
        // it shows up as an immediate wakeup instead.
        let due: Vec<GroupId> = self
            .timers
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, group_id)| group_id.clone())
            .collect();
        for group_id in due {
            self.unschedule(&group_id);
            if let Some(mut group) = self.take_group(&group_id) {
                let mut ctx = Ctx {
                    config: &self.config,
                    now,
                    effects: &mut *effects,
                };
                membership::on_deadlines(&mut group, &mut ctx);
                self.put_group(group);
                self.reschedule(&group_id);
            }
        }
        let next = self.next_wakeup();
        if next != self.announced_wakeup {
            self.announced_wakeup = next;
            if let Some(at) = next {
                effects.push(Effect::ScheduleWakeup { at });
            }
        }
    }

    fn drop_partition_groups(&mut self, partition: OffsetsPartition, effects: &mut Vec<Effect>) {
        let dropped: Vec<GroupId> = self
            .groups
            .values()
            .filter(|group| group.partition == partition)
            .map(|group| group.group_id.clone())
            .collect();
        for group_id in dropped {
            self.unschedule(&group_id);
            let Some(group) = self.groups.remove(&group_id) else {
                continue;
            };
            let mut ctx = Ctx {
                config: &self.config,
                now: TimeMs(0),
                effects: &mut *effects,
            };
            for member in &group.members {
                membership::fail_waiters(member, GroupError::NotCoordinator, &mut ctx);
            }
        }
    }
}

/// Persists tombstones for a group's metadata and all its offsets.
pub(crate) fn tombstone_group(group: &Group, ctx: &mut Ctx<'_>) {
    let mut records: Vec<OffsetsRecord> = group
        .offsets
        .keys()
        .map(|topic_partition| {
            let key = RecordKey::Offset {
                group_id: group.group_id.clone(),
                topic_partition: topic_partition.clone(),
            };
            OffsetsRecord::new(&key, None)
        })
        .collect();
    records.push(OffsetsRecord::new(
        &RecordKey::Group {
            group_id: group.group_id.clone(),
        },
        None,
    ));
    ctx.persist(group.partition, None, records);
}

/// A splitmix64 step: spreads counter bits over the whole word.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A group's records gathered during `load`.
#[derive(Default)]
struct StagedGroup {
    metadata: Option<GroupMetadataValue>,
    offsets: BTreeMap<TopicPartition, OffsetCommitValue>,
    pending: BTreeMap<ProducerId, PendingTxnOffsets>,
}

/// Applies records in log order: later records win, tombstones delete, transactional offsets
/// wait for their producer's marker.
fn stage_records(
    records: impl IntoIterator<Item = LoadRecord>,
) -> Result<BTreeMap<GroupId, StagedGroup>, Error> {
    let mut staged: BTreeMap<GroupId, StagedGroup> = BTreeMap::new();
    for record in records {
        match record {
            LoadRecord::Data {
                producer_id,
                record,
            } => {
                let key = RecordKey::decode(&record.key)?;
                let value = match &record.value {
                    Some(bytes) => Some(RecordValue::decode(&key, bytes)?),
                    None => None,
                };
                match (key, value) {
                    (RecordKey::Group { group_id }, value) => {
                        let entry = staged.entry(group_id).or_default();
                        entry.metadata = match value {
                            Some(RecordValue::Group(value)) => Some(value),
                            _ => None,
                        };
                    }
                    (
                        RecordKey::Offset {
                            group_id,
                            topic_partition,
                        },
                        value,
                    ) => {
                        let entry = staged.entry(group_id).or_default();
                        match (producer_id, value) {
                            (Some(producer_id), Some(RecordValue::Offset(value))) => {
                                let pending = entry.pending.entry(producer_id).or_default();
                                pending.insert(topic_partition, value);
                            }
                            (None, Some(RecordValue::Offset(value))) => {
                                entry.offsets.insert(topic_partition, value);
                            }
                            (_, _) => {
                                entry.offsets.remove(&topic_partition);
                            }
                        }
                    }
                }
            }
            LoadRecord::Marker {
                producer_id,
                commit,
            } => {
                for entry in staged.values_mut() {
                    if let Some(pending) = entry.pending.remove(&producer_id)
                        && commit
                    {
                        entry.offsets.extend(pending);
                    }
                }
            }
        }
    }
    Ok(staged)
}

/// Rebuilds a group from its stored metadata; members start a fresh session at `now`.
fn group_from_value(
    group_id: GroupId,
    partition: OffsetsPartition,
    value: GroupMetadataValue,
    now: TimeMs,
) -> Group {
    let mut group = Group::new(group_id, partition, now);
    group.protocol_type = value.protocol_type;
    group.protocol_name = value.protocol_name.clone();
    group.generation_id = value.generation_id;
    group.leader = value.leader;
    for stored in value.members {
        if let Some(instance) = &stored.group_instance_id {
            group
                .static_members
                .insert(instance.clone(), stored.member_id.clone());
        }
        group.members.push(Member {
            member_id: stored.member_id,
            group_instance_id: stored.group_instance_id,
            client_id: stored.client_id,
            client_host: stored.client_host,
            rebalance_timeout_ms: stored.rebalance_timeout_ms,
            session_timeout_ms: stored.session_timeout_ms,
            protocols: vec![JoinGroupProtocol {
                name: value.protocol_name.clone().unwrap_or_default(),
                metadata: stored.subscription,
            }],
            assignment: stored.assignment,
            awaiting_join: None,
            awaiting_sync: None,
            is_new: false,
            heartbeat_deadline: Some(now.plus_ms(stored.session_timeout_ms)),
        });
    }
    if group.members.is_empty() {
        group.state = GroupState::Empty;
        group.state_since = value.current_state_timestamp;
    } else {
        group.state = GroupState::Stable;
        group.state_since = Some(now);
    }
    if group
        .leader
        .as_ref()
        .is_none_or(|leader| !group.has_member(leader))
    {
        group.leader = group.members.first().map(|member| member.member_id.clone());
    }
    group
}

/// Used by `membership` to check an instance id against a member id.
pub(crate) fn instance_matches(
    group: &Group,
    group_instance_id: Option<&GroupInstanceId>,
    member_id: &MemberId,
) -> Result<(), GroupError> {
    if group.is_static_member_fenced(group_instance_id, member_id) {
        return Err(GroupError::FencedInstanceId);
    }
    if !group.has_member(member_id) {
        return Err(GroupError::UnknownMemberId);
    }
    Ok(())
}
