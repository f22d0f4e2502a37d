//! ListOffsets request and response bodies (API key 2), versions 1 to 9.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a ListOffsets request.
    pub struct ListOffsetsRequest {
        /// Wire field `ReplicaId`: versions 0+.
        replica_id: i32 => since(0),
        /// Wire field `IsolationLevel`: versions 2+.
        isolation_level: i8 => since(2),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<ListOffsetsTopic> => since(0),
    }

    /// An element of `Topics` in `ListOffsetsRequest`.
    pub struct ListOffsetsTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<ListOffsetsPartition> => since(0),
    }

    /// An element of `Partitions` in `ListOffsetsTopic`.
    pub struct ListOffsetsPartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `CurrentLeaderEpoch`: versions 4+, default `-1`.
        current_leader_epoch: i32 = -1 => since(4),
        /// Wire field `Timestamp`: versions 0+.
        timestamp: i64 => since(0),
    }

    /// The body of a ListOffsets response.
    pub struct ListOffsetsResponse {
        /// Wire field `ThrottleTimeMs`: versions 2+.
        throttle_time_ms: i32 => since(2),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<ListOffsetsTopicResponse> => since(0),
    }

    /// An element of `Topics` in `ListOffsetsResponse`.
    pub struct ListOffsetsTopicResponse {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<ListOffsetsPartitionResponse> => since(0),
    }

    /// An element of `Partitions` in `ListOffsetsTopicResponse`.
    pub struct ListOffsetsPartitionResponse {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Timestamp`: versions 1+, default `-1`.
        timestamp: i64 = -1 => since(1),
        /// Wire field `Offset`: versions 1+, default `-1`.
        offset: i64 = -1 => since(1),
        /// Wire field `LeaderEpoch`: versions 4+, default `-1`.
        leader_epoch: i32 = -1 => since(4),
    }
}
