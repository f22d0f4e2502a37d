//! The requests the coordinator handles and the responses it gives, as domain types.
//!
//! Field names follow Kafka's messages so the broker's translation is mechanical. Kafka's
//! sentinels are `Option`s here: an empty member id is `None`, generation `-1` is `None`, a
//! response's error is `None` on success. Versions are not modelled, only the few flags that
//! change behaviour (`require_known_member_id` for JoinGroup v4+, `supports_skip_assignment`
//! for v9+). Topic names are not checked here: the broker answers `UNKNOWN_TOPIC_OR_PARTITION`.

use crate::error::GroupError;
use crate::group::GroupState;
use crate::ids::{
    GenerationId, GroupId, GroupInstanceId, LeaderEpoch, MemberId, Offset, ProducerId,
    TopicPartition,
};

/// One assignor a member supports, with its metadata (a ConsumerProtocol subscription for
/// `protocol_type = "consumer"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupProtocol {
    /// The assignor's name.
    pub name: String,
    /// The member's metadata for it.
    pub metadata: Vec<u8>,
}

/// JoinGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupRequest {
    /// The group.
    pub group_id: GroupId,
    /// `session.timeout.ms`.
    pub session_timeout_ms: i32,
    /// `max.poll.interval.ms` (JoinGroup v1+); v0 clients use the session timeout.
    pub rebalance_timeout_ms: i32,
    /// The member's id, `None` on the first join.
    pub member_id: Option<MemberId>,
    /// `group.instance.id` for static members (v5+).
    pub group_instance_id: Option<GroupInstanceId>,
    /// The protocol type, `consumer` for consumers.
    pub protocol_type: String,
    /// The supported assignors in preference order.
    pub protocols: Vec<JoinGroupProtocol>,
    /// Why the member joins (v8+), for logs.
    pub reason: Option<String>,
    /// The client id from the request header.
    pub client_id: String,
    /// The client's address, for DescribeGroups.
    pub client_host: String,
    /// JoinGroup v4+: a first join gets `MEMBER_ID_REQUIRED` and a member id to retry with.
    pub require_known_member_id: bool,
    /// JoinGroup v9+: the leader may be told to skip running the assignor.
    pub supports_skip_assignment: bool,
}

/// A member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupMember {
    /// The member.
    pub member_id: MemberId,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
    /// Its metadata for the selected protocol.
    pub metadata: Vec<u8>,
}

/// JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JoinGroupResponse {
    /// `None` on success.
    pub error: Option<GroupError>,
    /// The new generation, `None` on error.
    pub generation_id: Option<GenerationId>,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected assignor.
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: Option<MemberId>,
    /// The leader need not run the assignor (static leader rejoin, v9+).
    pub skip_assignment: bool,
    /// The member's id (also set with `MEMBER_ID_REQUIRED`).
    pub member_id: Option<MemberId>,
    /// All members, for the leader only.
    pub members: Vec<JoinGroupMember>,
}

/// One member's assignment in the leader's SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupAssignment {
    /// The member.
    pub member_id: MemberId,
    /// Its assignment (a ConsumerProtocol assignment for consumers).
    pub assignment: Vec<u8>,
}

/// SyncGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupRequest {
    /// The group.
    pub group_id: GroupId,
    /// The generation from JoinGroup.
    pub generation_id: GenerationId,
    /// The member.
    pub member_id: MemberId,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
    /// v5+: checked against the group's.
    pub protocol_type: Option<String>,
    /// v5+: checked against the group's.
    pub protocol_name: Option<String>,
    /// The leader's assignments; empty for followers.
    pub assignments: Vec<SyncGroupAssignment>,
}

/// SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncGroupResponse {
    /// `None` on success.
    pub error: Option<GroupError>,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The selected assignor.
    pub protocol_name: Option<String>,
    /// The member's assignment.
    pub assignment: Vec<u8>,
}

/// Heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatRequest {
    /// The group.
    pub group_id: GroupId,
    /// The member's generation.
    pub generation_id: GenerationId,
    /// The member.
    pub member_id: MemberId,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
}

/// Heartbeat response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// `None` on success.
    pub error: Option<GroupError>,
}

/// One member leaving (LeaveGroup v3+ batches them; v0-2 send one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeavingMember {
    /// The member, `None` to look it up by instance id.
    pub member_id: Option<MemberId>,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
    /// Why it leaves, for logs.
    pub reason: Option<String>,
}

/// LeaveGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupRequest {
    /// The group.
    pub group_id: GroupId,
    /// The members leaving.
    pub members: Vec<LeavingMember>,
}

/// One member's result in a LeaveGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftMember {
    /// The member id as requested.
    pub member_id: Option<MemberId>,
    /// The instance id as requested.
    pub group_instance_id: Option<GroupInstanceId>,
    /// `None` on success.
    pub error: Option<GroupError>,
}

/// LeaveGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    /// Group-level error; `None` on success.
    pub error: Option<GroupError>,
    /// Per-member results, in request order.
    pub members: Vec<LeftMember>,
}

/// One partition's offset in OffsetCommit or TxnOffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitPartition {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The offset of the next record to consume.
    pub committed_offset: Offset,
    /// The leader epoch of the last consumed record (v6+).
    pub committed_leader_epoch: Option<LeaderEpoch>,
    /// The client's metadata string.
    pub committed_metadata: Option<String>,
}

/// OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitRequest {
    /// The group.
    pub group_id: GroupId,
    /// The member's generation; `None` (wire `-1`) for simple consumers.
    pub generation_id: Option<GenerationId>,
    /// The member; `None` for simple consumers.
    pub member_id: Option<MemberId>,
    /// Its instance id, if static (v7+).
    pub group_instance_id: Option<GroupInstanceId>,
    /// v2-4 only: how long to keep the offsets; `None` uses `offsets.retention.minutes`.
    pub retention_time_ms: Option<u64>,
    /// The offsets.
    pub partitions: Vec<OffsetCommitPartition>,
}

/// One partition's result of OffsetCommit, TxnOffsetCommit or OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionResult {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// `None` on success.
    pub error: Option<GroupError>,
}

/// OffsetCommit (and TxnOffsetCommit) response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommitResponse {
    /// Per-partition results, in request order.
    pub partitions: Vec<PartitionResult>,
}

/// TxnOffsetCommit: offsets staged by a transactional producer, visible once its transaction
/// commits (`Coordinator::complete_transaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    /// The group.
    pub group_id: GroupId,
    /// The transactional producer.
    pub producer_id: ProducerId,
    /// The member's generation (v3+); `None` skips the member checks.
    pub generation_id: Option<GenerationId>,
    /// The member (v3+).
    pub member_id: Option<MemberId>,
    /// Its instance id, if static (v3+).
    pub group_instance_id: Option<GroupInstanceId>,
    /// The offsets.
    pub partitions: Vec<OffsetCommitPartition>,
}

/// One group in OffsetFetch (v8+ batches groups).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchGroup {
    /// The group.
    pub group_id: GroupId,
    /// The partitions, `None` for all committed ones.
    pub partitions: Option<Vec<TopicPartition>>,
}

/// OffsetFetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchRequest {
    /// The groups.
    pub groups: Vec<OffsetFetchGroup>,
    /// v7+: answer `UNSTABLE_OFFSET_COMMIT` for partitions with pending transactional offsets.
    pub require_stable: bool,
}

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The committed offset, `None` if there is none.
    pub committed_offset: Option<Offset>,
    /// Its leader epoch.
    pub committed_leader_epoch: Option<LeaderEpoch>,
    /// Its metadata string.
    pub metadata: Option<String>,
    /// `None` on success.
    pub error: Option<GroupError>,
}

/// One group's result in OffsetFetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchGroupResponse {
    /// The group.
    pub group_id: GroupId,
    /// Group-level error; `None` on success.
    pub error: Option<GroupError>,
    /// The offsets.
    pub partitions: Vec<FetchedOffset>,
}

/// OffsetFetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetFetchResponse {
    /// Per-group results, in request order.
    pub groups: Vec<OffsetFetchGroupResponse>,
}

/// OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetDeleteRequest {
    /// The group.
    pub group_id: GroupId,
    /// The partitions whose offsets to delete.
    pub partitions: Vec<TopicPartition>,
}

/// OffsetDelete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetDeleteResponse {
    /// Group-level error; `None` on success.
    pub error: Option<GroupError>,
    /// Per-partition results.
    pub partitions: Vec<PartitionResult>,
}

/// ListGroups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListGroupsRequest {
    /// v4+: only groups in these states; empty for all.
    pub states_filter: Vec<GroupState>,
}

/// One group in ListGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroup {
    /// The group.
    pub group_id: GroupId,
    /// Its protocol type, empty for offsets-only groups.
    pub protocol_type: String,
    /// Its state.
    pub group_state: GroupState,
}

/// ListGroups response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListGroupsResponse {
    /// `COORDINATOR_LOAD_IN_PROGRESS` while any owned partition is loading.
    pub error: Option<GroupError>,
    /// The groups, sorted by id.
    pub groups: Vec<ListedGroup>,
}

/// One member in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedMember {
    /// The member.
    pub member_id: MemberId,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
    /// Its client id.
    pub client_id: String,
    /// Its client address.
    pub client_host: String,
    /// Its metadata for the selected protocol (empty unless the group is Stable).
    pub member_metadata: Vec<u8>,
    /// Its assignment (empty unless the group is Stable).
    pub member_assignment: Vec<u8>,
}

/// One group in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    /// `None` on success.
    pub error: Option<GroupError>,
    /// The group.
    pub group_id: GroupId,
    /// Its state (`Dead` for unknown groups, as Kafka answers).
    pub group_state: GroupState,
    /// Its protocol type.
    pub protocol_type: String,
    /// The selected assignor, empty unless Stable.
    pub protocol_data: String,
    /// Its members.
    pub members: Vec<DescribedMember>,
}

/// DeleteGroups result for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedGroup {
    /// The group.
    pub group_id: GroupId,
    /// `None` on success.
    pub error: Option<GroupError>,
}
