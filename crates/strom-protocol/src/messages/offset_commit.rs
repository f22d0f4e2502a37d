//! OffsetCommit request and response bodies (API key 8), versions 2 to 9.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};

crate::wire_struct! {
    /// The body of an OffsetCommit request.
    pub struct OffsetCommitRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `GenerationIdOrMemberEpoch`: versions 1+, default `-1`.
        generation_id_or_member_epoch: i32 = -1 => since(1),
        /// Wire field `MemberId`: versions 1+.
        member_id: String => since(1),
        /// Wire field `GroupInstanceId`: versions 7+, nullable 7+, default `null`.
        group_instance_id: Option<String> = None => since(7).nullable_since(7),
        /// Wire field `RetentionTimeMs`: versions 2-4, default `-1`.
        retention_time_ms: i64 = -1 => range(2, 4),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetCommitRequestTopic> => since(0),
    }

    /// An element of `Topics` in `OffsetCommitRequest`.
    pub struct OffsetCommitRequestTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OffsetCommitRequestPartition> => since(0),
    }

    /// An element of `Partitions` in `OffsetCommitRequestTopic`.
    pub struct OffsetCommitRequestPartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `CommittedOffset`: versions 0+.
        committed_offset: i64 => since(0),
        /// Wire field `CommittedLeaderEpoch`: versions 6+, default `-1`.
        committed_leader_epoch: i32 = -1 => since(6),
        /// Wire field `CommittedMetadata`: versions 0+, nullable 0+.
        committed_metadata: Option<String> = Some(String::new()) => since(0).nullable_since(0),
    }

    /// The body of an OffsetCommit response.
    pub struct OffsetCommitResponse {
        /// Wire field `ThrottleTimeMs`: versions 3+.
        throttle_time_ms: i32 => since(3),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetCommitResponseTopic> => since(0),
    }

    /// An element of `Topics` in `OffsetCommitResponse`.
    pub struct OffsetCommitResponseTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OffsetCommitResponsePartition> => since(0),
    }

    /// An element of `Partitions` in `OffsetCommitResponseTopic`.
    pub struct OffsetCommitResponsePartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
