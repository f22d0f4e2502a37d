//! Fetch request and response bodies (API key 1), versions 4 to 12.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a Fetch request.
    pub struct FetchRequest {
        /// Wire field `ClusterId`: versions 12+, nullable 12+, tagged (tag 0), default `null`.
        cluster_id: Option<String> = None => since(12).nullable_since(12).tag(0),
        /// Wire field `ReplicaId`: versions 0-14, default `-1`.
        replica_id: i32 = -1 => since(0),
        /// Wire field `MaxWaitMs`: versions 0+.
        max_wait_ms: i32 => since(0),
        /// Wire field `MinBytes`: versions 0+.
        min_bytes: i32 => since(0),
        /// Wire field `MaxBytes`: versions 3+, default `0x7fffffff`.
        max_bytes: i32 = 2147483647 => since(3),
        /// Wire field `IsolationLevel`: versions 4+, default `0`.
        isolation_level: i8 => since(4),
        /// Wire field `SessionId`: versions 7+, default `0`.
        session_id: i32 => since(7),
        /// Wire field `SessionEpoch`: versions 7+, default `-1`.
        session_epoch: i32 = -1 => since(7),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<FetchTopic> => since(0),
        /// Wire field `ForgottenTopicsData`: versions 7+.
        forgotten_topics_data: Vec<ForgottenTopic> => since(7),
        /// Wire field `RackId`: versions 11+, default ``.
        rack_id: String => since(11),
    }

    /// An element of `Topics` in `FetchRequest`.
    pub struct FetchTopic {
        /// Wire field `Topic`: versions 0-12.
        topic: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<FetchPartition> => since(0),
    }

    /// An element of `Partitions` in `FetchTopic`.
    pub struct FetchPartition {
        /// Wire field `Partition`: versions 0+.
        partition: i32 => since(0),
        /// Wire field `CurrentLeaderEpoch`: versions 9+, default `-1`.
        current_leader_epoch: i32 = -1 => since(9),
        /// Wire field `FetchOffset`: versions 0+.
        fetch_offset: i64 => since(0),
        /// Wire field `LastFetchedEpoch`: versions 12+, default `-1`.
        last_fetched_epoch: i32 = -1 => since(12),
        /// Wire field `LogStartOffset`: versions 5+, default `-1`.
        log_start_offset: i64 = -1 => since(5),
        /// Wire field `PartitionMaxBytes`: versions 0+.
        partition_max_bytes: i32 => since(0),
    }

    /// An element of `ForgottenTopicsData` in `FetchRequest`.
    pub struct ForgottenTopic {
        /// Wire field `Topic`: versions 7-12.
        topic: String => since(7),
        /// Wire field `Partitions`: versions 7+.
        partitions: Vec<i32> => since(7),
    }

    /// The body of a Fetch response.
    pub struct FetchResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 7+.
        error_code: i16 => since(7),
        /// Wire field `SessionId`: versions 7+, default `0`.
        session_id: i32 => since(7),
        /// Wire field `Responses`: versions 0+.
        responses: Vec<FetchableTopicResponse> => since(0),
    }

    /// An element of `Responses` in `FetchResponse`.
    pub struct FetchableTopicResponse {
        /// Wire field `Topic`: versions 0-12.
        topic: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<PartitionData> => since(0),
    }

    /// An element of `Partitions` in `FetchableTopicResponse`.
    pub struct PartitionData {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `HighWatermark`: versions 0+.
        high_watermark: i64 => since(0),
        /// Wire field `LastStableOffset`: versions 4+, default `-1`.
        last_stable_offset: i64 = -1 => since(4),
        /// Wire field `LogStartOffset`: versions 5+, default `-1`.
        log_start_offset: i64 = -1 => since(5),
        /// Wire field `DivergingEpoch`: versions 12+, tagged (tag 0).
        diverging_epoch: EpochEndOffset => since(12).tag(0),
        /// Wire field `CurrentLeader`: versions 12+, tagged (tag 1).
        current_leader: LeaderIdAndEpoch => since(12).tag(1),
        /// Wire field `SnapshotId`: versions 12+, tagged (tag 2).
        snapshot_id: SnapshotId => since(12).tag(2),
        /// Wire field `AbortedTransactions`: versions 4+, nullable 4+.
        aborted_transactions: Option<Vec<AbortedTransaction>> = Some(Default::default())
            => since(4).nullable_since(4),
        /// Wire field `PreferredReadReplica`: versions 11+, default `-1`.
        preferred_read_replica: i32 = -1 => since(11),
        /// Wire field `Records`: versions 0+, nullable 0+.
        records: Option<Bytes> => since(0).nullable_since(0),
    }

    /// The `DivergingEpoch` field of `PartitionData`.
    pub struct EpochEndOffset {
        /// Wire field `Epoch`: versions 12+, default `-1`.
        epoch: i32 = -1 => since(12),
        /// Wire field `EndOffset`: versions 12+, default `-1`.
        end_offset: i64 = -1 => since(12),
    }

    /// The `CurrentLeader` field of `PartitionData`.
    pub struct LeaderIdAndEpoch {
        /// Wire field `LeaderId`: versions 12+, default `-1`.
        leader_id: i32 = -1 => since(12),
        /// Wire field `LeaderEpoch`: versions 12+, default `-1`.
        leader_epoch: i32 = -1 => since(12),
    }

    /// The `SnapshotId` field of `PartitionData`.
    pub struct SnapshotId {
        /// Wire field `EndOffset`: versions 0+, default `-1`.
        end_offset: i64 = -1 => since(0),
        /// Wire field `Epoch`: versions 0+, default `-1`.
        epoch: i32 = -1 => since(0),
    }

    /// An element of `AbortedTransactions` in `PartitionData`.
    pub struct AbortedTransaction {
        /// Wire field `ProducerId`: versions 4+.
        producer_id: i64 => since(4),
        /// Wire field `FirstOffset`: versions 4+.
        first_offset: i64 => since(4),
    }
}
