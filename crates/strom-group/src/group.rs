//! One group's in-memory state: members, generation, leader, selected protocol, deadlines and
//! committed offsets, plus the decisions that only look at one group (protocol vote, who has
//! joined). The transitions that produce responses live in `coordinator`.

use std::collections::{BTreeMap, BTreeSet};

use crate::consumer_protocol::{CONSUMER_PROTOCOL_TYPE, Subscription};
use crate::ids::{
    GenerationId, GroupId, GroupInstanceId, MemberId, OffsetsPartition, ProducerId, TimeMs, Token,
    TopicPartition,
};
use crate::messages::{JoinGroupMember, JoinGroupProtocol};
use crate::offsets_topic::{GroupMetadataValue, MemberMetadataValue, OffsetCommitValue};

/// Kafka's classic group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// No members; may hold offsets.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assigned and running.
    Stable,
    /// Removed (or unknown, in DescribeGroups).
    Dead,
}

impl GroupState {
    /// Kafka's name for the state, as ListGroups and DescribeGroups report it.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// The state with this name, ignoring case (ListGroups' states filter).
    pub fn from_name(name: &str) -> Option<GroupState> {
        [
            GroupState::Empty,
            GroupState::PreparingRebalance,
            GroupState::CompletingRebalance,
            GroupState::Stable,
            GroupState::Dead,
        ]
        .into_iter()
        .find(|state| state.name().eq_ignore_ascii_case(name))
    }
}

/// A JoinGroup waiting for the rebalance to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JoinWaiter {
    pub(crate) token: Token,
}

/// A member of a group.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) member_id: MemberId,
    pub(crate) group_instance_id: Option<GroupInstanceId>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) rebalance_timeout_ms: u64,
    pub(crate) session_timeout_ms: u64,
    pub(crate) protocols: Vec<JoinGroupProtocol>,
    pub(crate) assignment: Vec<u8>,
    pub(crate) awaiting_join: Option<JoinWaiter>,
    pub(crate) awaiting_sync: Option<Token>,
    /// Joined but not yet through a complete rebalance (KIP-394): it expires on the new member
    /// join timeout even while awaiting the join.
    pub(crate) is_new: bool,
    /// When the member expires unless it heartbeats; `None` while a rebalance keeps it alive.
    pub(crate) heartbeat_deadline: Option<TimeMs>,
}

/// Offsets one transactional producer staged, by partition.
pub(crate) type PendingTxnOffsets = BTreeMap<TopicPartition, OffsetCommitValue>;

/// A group and its committed offsets.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) group_id: GroupId,
    pub(crate) partition: OffsetsPartition,
    pub(crate) state: GroupState,
    pub(crate) state_since: Option<TimeMs>,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) generation_id: GenerationId,
    pub(crate) leader: Option<MemberId>,
    /// Members in join order (the first joiner leads; Kafka uses insertion order too).
    pub(crate) members: Vec<Member>,
    pub(crate) static_members: BTreeMap<GroupInstanceId, MemberId>,
    /// Member ids handed out with `MEMBER_ID_REQUIRED`, with their expiry.
    pub(crate) pending_members: BTreeMap<MemberId, TimeMs>,
    /// Members that have not sent SyncGroup for the current generation.
    pub(crate) pending_sync: BTreeSet<MemberId>,
    pub(crate) new_member_added: bool,
    /// When the PreparingRebalance phase ends at the latest.
    pub(crate) join_deadline: Option<TimeMs>,
    /// While `Some`, the initial rebalance delay runs: the remaining rebalance timeout.
    pub(crate) initial_delay_remaining_ms: Option<u64>,
    /// When members that have not synced are removed.
    pub(crate) sync_deadline: Option<TimeMs>,
    pub(crate) offsets: BTreeMap<TopicPartition, OffsetCommitValue>,
    pub(crate) pending_txn_offsets: BTreeMap<ProducerId, PendingTxnOffsets>,
}

impl Group {
    pub(crate) fn new(group_id: GroupId, partition: OffsetsPartition, now: TimeMs) -> Group {
        Group {
            group_id,
            partition,
            state: GroupState::Empty,
            state_since: Some(now),
            protocol_type: None,
            protocol_name: None,
            generation_id: GenerationId(0),
            leader: None,
            members: Vec::new(),
            static_members: BTreeMap::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            new_member_added: false,
            join_deadline: None,
            initial_delay_remaining_ms: None,
            sync_deadline: None,
            offsets: BTreeMap::new(),
            pending_txn_offsets: BTreeMap::new(),
        }
    }

    pub(crate) fn transition(&mut self, state: GroupState, now: TimeMs) {
        self.state = state;
        self.state_since = Some(now);
    }

    pub(crate) fn member(&self, member_id: &MemberId) -> Option<&Member> {
        self.members
            .iter()
            .find(|member| &member.member_id == member_id)
    }

    pub(crate) fn member_mut(&mut self, member_id: &MemberId) -> Option<&mut Member> {
        self.members
            .iter_mut()
            .find(|member| &member.member_id == member_id)
    }

    pub(crate) fn has_member(&self, member_id: &MemberId) -> bool {
        self.member(member_id).is_some()
    }

    pub(crate) fn is_leader(&self, member_id: &MemberId) -> bool {
        self.leader.as_ref() == Some(member_id)
    }

    /// A static member whose instance id now belongs to another member id is fenced.
    pub(crate) fn is_static_member_fenced(
        &self,
        group_instance_id: Option<&GroupInstanceId>,
        member_id: &MemberId,
    ) -> bool {
        group_instance_id
            .and_then(|instance| self.static_members.get(instance))
            .is_some_and(|owner| owner != member_id)
    }

    /// Adds a member; the first member sets the protocol type and leads.
    pub(crate) fn add(&mut self, member: Member, protocol_type: &str) {
        if self.members.is_empty() {
            self.protocol_type = Some(protocol_type.to_owned());
        }
        if self.leader.is_none() {
            self.leader = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.members.push(member);
    }

    /// Removes a member and returns it; a removed leader passes leadership to the next member.
    pub(crate) fn remove(&mut self, member_id: &MemberId) -> Option<Member> {
        let position = self
            .members
            .iter()
            .position(|member| &member.member_id == member_id)?;
        let member = self.members.remove(position);
        if let Some(instance) = &member.group_instance_id
            && self.static_members.get(instance) == Some(member_id)
        {
            self.static_members.remove(instance);
        }
        self.pending_sync.remove(member_id);
        if self.is_leader(member_id) {
            self.leader = self.members.first().map(|member| member.member_id.clone());
        }
        Some(member)
    }

    /// Whether a member with these protocols may join: the type matches and at least one
    /// protocol is supported by every current member.
    pub(crate) fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[JoinGroupProtocol],
    ) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|protocol| {
                self.members.iter().all(|member| {
                    member
                        .protocols
                        .iter()
                        .any(|theirs| theirs.name == protocol.name)
                })
            })
    }

    /// Kafka's vote: among protocols every member supports, each member votes for the first in
    /// its own preference list; the most votes wins. Ties go to the leader's preference, where
    /// Kafka leaves the choice unspecified.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let candidates: Vec<&str> = self
            .members
            .first()?
            .protocols
            .iter()
            .map(|protocol| protocol.name.as_str())
            .filter(|name| {
                self.members.iter().all(|member| {
                    member
                        .protocols
                        .iter()
                        .any(|protocol| protocol.name == *name)
                })
            })
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in &self.members {
            let vote = member
                .protocols
                .iter()
                .map(|protocol| protocol.name.as_str())
                .find(|name| candidates.contains(name));
            if let Some(vote) = vote {
                *votes.entry(vote).or_default() += 1;
            }
        }
        let leader_order = self
            .leader
            .as_ref()
            .and_then(|leader| self.member(leader))
            .map(|leader| &leader.protocols);
        let preference = |name: &str| {
            leader_order
                .and_then(|list| list.iter().position(|protocol| protocol.name == name))
                .unwrap_or(usize::MAX)
        };
        votes
            .into_iter()
            .max_by(|(a, a_votes), (b, b_votes)| {
                a_votes
                    .cmp(b_votes)
                    .then_with(|| preference(b).cmp(&preference(a)))
            })
            .map(|(name, _)| name.to_owned())
    }

    /// The member's metadata for the selected protocol.
    pub(crate) fn metadata_of<'a>(&self, member: &'a Member) -> &'a [u8] {
        let selected = self.protocol_name.as_deref();
        member
            .protocols
            .iter()
            .find(|protocol| Some(protocol.name.as_str()) == selected)
            .map_or(&[], |protocol| protocol.metadata.as_slice())
    }

    /// The members as the leader sees them in its JoinGroup response.
    pub(crate) fn join_members(&self) -> Vec<JoinGroupMember> {
        self.members
            .iter()
            .map(|member| JoinGroupMember {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id.clone(),
                metadata: self.metadata_of(member).to_vec(),
            })
            .collect()
    }

    pub(crate) fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty()
            && self
                .members
                .iter()
                .all(|member| member.awaiting_join.is_some())
    }

    pub(crate) fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .iter()
            .map(|member| member.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn is_consumer_group(&self) -> bool {
        self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE)
    }

    /// Topics the members subscribe to, if this is a consumer group whose subscriptions decode.
    pub(crate) fn subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if !self.is_consumer_group() || self.protocol_name.is_none() {
            return None;
        }
        let mut res = BTreeSet::new();
        for member in &self.members {
            let subscription = Subscription::decode(self.metadata_of(member)).ok()?;
            res.extend(subscription.topics);
        }
        Some(res)
    }

    /// The earliest time something in this group is due.
    pub(crate) fn next_deadline(&self) -> Option<TimeMs> {
        let members = self
            .members
            .iter()
            .filter_map(|member| member.heartbeat_deadline);
        let pending = self.pending_members.values().copied();
        members
            .chain(pending)
            .chain(self.join_deadline)
            .chain(self.sync_deadline)
            .min()
    }

    /// The group as stored in `__consumer_offsets`.
    pub(crate) fn metadata_value(&self) -> GroupMetadataValue {
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone(),
            current_state_timestamp: self.state_since,
            members: self
                .members
                .iter()
                .map(|member| MemberMetadataValue {
                    member_id: member.member_id.clone(),
                    group_instance_id: member.group_instance_id.clone(),
                    client_id: member.client_id.clone(),
                    client_host: member.client_host.clone(),
                    rebalance_timeout_ms: member.rebalance_timeout_ms,
                    session_timeout_ms: member.session_timeout_ms,
                    subscription: self.metadata_of(member).to_vec(),
                    assignment: member.assignment.clone(),
                })
                .collect(),
        }
    }
}
