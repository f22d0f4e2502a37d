//! ElectLeaders request and response bodies (API key 43), versions 0 to 2 (KIP-183, KIP-460).
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an ElectLeaders request.
    pub struct ElectLeadersRequest {
        /// Wire field `ElectionType`: versions 1+. 0 elects the preferred replica, 1 the first
        /// live replica when no in-sync replica is live (unclean).
        election_type: i8 => since(1),
        /// Wire field `TopicPartitions`: versions 0+, nullable 0+ (`null`: every partition).
        topic_partitions: Option<Vec<ElectLeadersTopicPartitions>> = Some(Default::default())
            => since(0).nullable_since(0),
        /// Wire field `TimeoutMs`: versions 0+, default 60000.
        timeout_ms: i32 = 60000 => since(0),
    }

    /// An element of `TopicPartitions` in `ElectLeadersRequest`.
    pub struct ElectLeadersTopicPartitions {
        /// Wire field `Topic`: versions 0+.
        topic: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<i32> => since(0),
    }

    /// The body of an ElectLeaders response.
    pub struct ElectLeadersResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 1+ (the top-level error).
        error_code: i16 => since(1),
        /// Wire field `ReplicaElectionResults`: versions 0+.
        replica_election_results: Vec<ReplicaElectionResult> => since(0),
    }

    /// An element of `ReplicaElectionResults` in `ElectLeadersResponse`.
    pub struct ReplicaElectionResult {
        /// Wire field `Topic`: versions 0+.
        topic: String => since(0),
        /// Wire field `PartitionResult`: versions 0+.
        partition_result: Vec<ElectLeadersPartitionResult> => since(0),
    }

    /// An element of `PartitionResult` in `ReplicaElectionResult`.
    pub struct ElectLeadersPartitionResult {
        /// Wire field `PartitionId`: versions 0+.
        partition_id: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(String::new()) => since(0).nullable_since(0),
    }
}
