//! TxnOffsetCommit request and response bodies (API key 28), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a TxnOffsetCommit request.
    pub struct TxnOffsetCommitRequest {
        /// Wire field `TransactionalId`: versions 0+.
        transactional_id: String => since(0),
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `ProducerId`: versions 0+.
        producer_id: i64 => since(0),
        /// Wire field `ProducerEpoch`: versions 0+.
        producer_epoch: i16 => since(0),
        /// Wire field `GenerationId`: versions 3+, default `-1`.
        generation_id: i32 = -1 => since(3),
        /// Wire field `MemberId`: versions 3+, default ``.
        member_id: String => since(3),
        /// Wire field `GroupInstanceId`: versions 3+, nullable 3+, default `null`.
        group_instance_id: Option<String> = None => since(3).nullable_since(3),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<TxnOffsetCommitRequestTopic> => since(0),
    }

    /// An element of `Topics` in `TxnOffsetCommitRequest`.
    pub struct TxnOffsetCommitRequestTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<TxnOffsetCommitRequestPartition> => since(0),
    }

    /// An element of `Partitions` in `TxnOffsetCommitRequestTopic`.
    pub struct TxnOffsetCommitRequestPartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `CommittedOffset`: versions 0+.
        committed_offset: i64 => since(0),
        /// Wire field `CommittedLeaderEpoch`: versions 2+, default `-1`.
        committed_leader_epoch: i32 = -1 => since(2),
        /// Wire field `CommittedMetadata`: versions 0+, nullable 0+.
        committed_metadata: Option<String> = Some(String::new()) => since(0).nullable_since(0),
    }

    /// The body of a TxnOffsetCommit response.
    pub struct TxnOffsetCommitResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<TxnOffsetCommitResponseTopic> => since(0),
    }

    /// An element of `Topics` in `TxnOffsetCommitResponse`.
    pub struct TxnOffsetCommitResponseTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<TxnOffsetCommitResponsePartition> => since(0),
    }

    /// An element of `Partitions` in `TxnOffsetCommitResponseTopic`.
    pub struct TxnOffsetCommitResponsePartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
