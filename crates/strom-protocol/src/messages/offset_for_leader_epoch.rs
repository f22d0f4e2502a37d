//! OffsetForLeaderEpoch request and response bodies (API key 23), versions 2 to 4.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an OffsetForLeaderEpoch request.
    pub struct OffsetForLeaderEpochRequest {
        /// Wire field `ReplicaId`: versions 3+, default `-2`.
        replica_id: i32 = -2 => since(3),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetForLeaderTopic> => since(0),
    }

    /// An element of `Topics` in `OffsetForLeaderEpochRequest`.
    pub struct OffsetForLeaderTopic {
        /// Wire field `Topic`: versions 0+.
        topic: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OffsetForLeaderPartition> => since(0),
    }

    /// An element of `Partitions` in `OffsetForLeaderTopic`.
    pub struct OffsetForLeaderPartition {
        /// Wire field `Partition`: versions 0+.
        partition: i32 => since(0),
        /// Wire field `CurrentLeaderEpoch`: versions 2+, default `-1`.
        current_leader_epoch: i32 = -1 => since(2),
        /// Wire field `LeaderEpoch`: versions 0+.
        leader_epoch: i32 => since(0),
    }

    /// The body of an OffsetForLeaderEpoch response.
    pub struct OffsetForLeaderEpochResponse {
        /// Wire field `ThrottleTimeMs`: versions 2+.
        throttle_time_ms: i32 => since(2),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetForLeaderTopicResult> => since(0),
    }

    /// An element of `Topics` in `OffsetForLeaderEpochResponse`.
    pub struct OffsetForLeaderTopicResult {
        /// Wire field `Topic`: versions 0+.
        topic: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<EpochEndOffset> => since(0),
    }

    /// An element of `Partitions` in `OffsetForLeaderTopicResult`.
    pub struct EpochEndOffset {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Partition`: versions 0+.
        partition: i32 => since(0),
        /// Wire field `LeaderEpoch`: versions 1+, default `-1`.
        leader_epoch: i32 = -1 => since(1),
        /// Wire field `EndOffset`: versions 0+, default `-1`.
        end_offset: i64 = -1 => since(0),
    }
}
