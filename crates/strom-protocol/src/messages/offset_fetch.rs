//! OffsetFetch request and response bodies (API key 9), versions 1 to 9.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};

crate::wire_struct! {
    /// The body of an OffsetFetch request.
    pub struct OffsetFetchRequest {
        /// Wire field `GroupId`: versions 0-7.
        group_id: String => range(0, 7),
        /// Wire field `Topics`: versions 0-7, nullable 2-7.
        topics: Option<Vec<OffsetFetchRequestTopic>> = Some(Default::default())
            => range(0, 7).nullable_since(2),
        /// Wire field `Groups`: versions 8+.
        groups: Vec<OffsetFetchRequestGroup> => since(8),
        /// Wire field `RequireStable`: versions 7+, default `false`.
        require_stable: bool => since(7),
    }

    /// An element of `Topics` in `OffsetFetchRequest`.
    pub struct OffsetFetchRequestTopic {
        /// Wire field `Name`: versions 0-7.
        name: String => range(0, 7),
        /// Wire field `PartitionIndexes`: versions 0-7.
        partition_indexes: Vec<i32> => range(0, 7),
    }

    /// An element of `Groups` in `OffsetFetchRequest`.
    pub struct OffsetFetchRequestGroup {
        /// Wire field `GroupId`: versions 8+.
        group_id: String => since(8),
        /// Wire field `MemberId`: versions 9+, nullable 9+, default `null`.
        member_id: Option<String> = None => since(9).nullable_since(9),
        /// Wire field `MemberEpoch`: versions 9+, default `-1`.
        member_epoch: i32 = -1 => since(9),
        /// Wire field `Topics`: versions 8+, nullable 8+.
        topics: Option<Vec<OffsetFetchRequestTopics>> = Some(Default::default())
            => since(8).nullable_since(8),
    }

    /// An element of `Topics` in `OffsetFetchRequestGroup`.
    pub struct OffsetFetchRequestTopics {
        /// Wire field `Name`: versions 8+.
        name: String => since(8),
        /// Wire field `PartitionIndexes`: versions 8+.
        partition_indexes: Vec<i32> => since(8),
    }

    /// The body of an OffsetFetch response.
    pub struct OffsetFetchResponse {
        /// Wire field `ThrottleTimeMs`: versions 3+.
        throttle_time_ms: i32 => since(3),
        /// Wire field `Topics`: versions 0-7.
        topics: Vec<OffsetFetchResponseTopic> => range(0, 7),
        /// Wire field `ErrorCode`: versions 2-7, default `0`.
        error_code: i16 => range(2, 7),
        /// Wire field `Groups`: versions 8+.
        groups: Vec<OffsetFetchResponseGroup> => since(8),
    }

    /// An element of `Topics` in `OffsetFetchResponse`.
    pub struct OffsetFetchResponseTopic {
        /// Wire field `Name`: versions 0-7.
        name: String => range(0, 7),
        /// Wire field `Partitions`: versions 0-7.
        partitions: Vec<OffsetFetchResponsePartition> => range(0, 7),
    }

    /// An element of `Partitions` in `OffsetFetchResponseTopic`.
    pub struct OffsetFetchResponsePartition {
        /// Wire field `PartitionIndex`: versions 0-7.
        partition_index: i32 => range(0, 7),
        /// Wire field `CommittedOffset`: versions 0-7.
        committed_offset: i64 => range(0, 7),
        /// Wire field `CommittedLeaderEpoch`: versions 5-7, default `-1`.
        committed_leader_epoch: i32 = -1 => range(5, 7),
        /// Wire field `Metadata`: versions 0-7, nullable 0-7.
        metadata: Option<String> = Some(String::new()) => range(0, 7).nullable_since(0),
        /// Wire field `ErrorCode`: versions 0-7.
        error_code: i16 => range(0, 7),
    }

    /// An element of `Groups` in `OffsetFetchResponse`.
    pub struct OffsetFetchResponseGroup {
        /// Wire field `GroupId`: versions 8+.
        group_id: String => since(8),
        /// Wire field `Topics`: versions 8+.
        topics: Vec<OffsetFetchResponseTopics> => since(8),
        /// Wire field `ErrorCode`: versions 8+, default `0`.
        error_code: i16 => since(8),
    }

    /// An element of `Topics` in `OffsetFetchResponseGroup`.
    pub struct OffsetFetchResponseTopics {
        /// Wire field `Name`: versions 8+.
        name: String => since(8),
        /// Wire field `Partitions`: versions 8+.
        partitions: Vec<OffsetFetchResponsePartitions> => since(8),
    }

    /// An element of `Partitions` in `OffsetFetchResponseTopics`.
    pub struct OffsetFetchResponsePartitions {
        /// Wire field `PartitionIndex`: versions 8+.
        partition_index: i32 => since(8),
        /// Wire field `CommittedOffset`: versions 8+.
        committed_offset: i64 => since(8),
        /// Wire field `CommittedLeaderEpoch`: versions 8+, default `-1`.
        committed_leader_epoch: i32 = -1 => since(8),
        /// Wire field `Metadata`: versions 8+, nullable 8+.
        metadata: Option<String> = Some(String::new()) => since(8).nullable_since(8),
        /// Wire field `ErrorCode`: versions 8+.
        error_code: i16 => since(8),
    }
}
