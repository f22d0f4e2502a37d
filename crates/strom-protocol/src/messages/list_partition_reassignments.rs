//! ListPartitionReassignments request and response bodies (API key 46), version 0.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a ListPartitionReassignments request.
    pub struct ListPartitionReassignmentsRequest {
        /// Wire field `TimeoutMs`: versions 0+, default `60000`.
        timeout_ms: i32 = 60000 => since(0),
        /// Wire field `Topics`: versions 0+, nullable 0+, default `null` (null lists all).
        topics: Option<Vec<ListPartitionReassignmentsTopics>> = None
            => since(0).nullable_since(0),
    }

    /// An element of `Topics` in `ListPartitionReassignmentsRequest`.
    pub struct ListPartitionReassignmentsTopics {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `PartitionIndexes`: versions 0+.
        partition_indexes: Vec<i32> => since(0),
    }

    /// The body of a ListPartitionReassignments response.
    pub struct ListPartitionReassignmentsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(Default::default())
            => since(0).nullable_since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OngoingTopicReassignment> => since(0),
    }

    /// An element of `Topics` in `ListPartitionReassignmentsResponse`.
    pub struct OngoingTopicReassignment {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OngoingPartitionReassignment> => since(0),
    }

    /// An element of `Partitions` in `OngoingTopicReassignment`.
    pub struct OngoingPartitionReassignment {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `Replicas`: versions 0+.
        replicas: Vec<i32> => since(0),
        /// Wire field `AddingReplicas`: versions 0+.
        adding_replicas: Vec<i32> => since(0),
        /// Wire field `RemovingReplicas`: versions 0+.
        removing_replicas: Vec<i32> => since(0),
    }
}
