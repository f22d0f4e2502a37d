//! AlterPartitionReassignments request and response bodies (API key 45), versions 0 to 1.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an AlterPartitionReassignments request.
    pub struct AlterPartitionReassignmentsRequest {
        /// Wire field `TimeoutMs`: versions 0+, default `60000`.
        timeout_ms: i32 = 60000 => since(0),
        /// Wire field `AllowReplicationFactorChange`: versions 1+, default `true`.
        allow_replication_factor_change: bool = true => since(1),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<ReassignableTopic> => since(0),
    }

    /// An element of `Topics` in `AlterPartitionReassignmentsRequest`.
    pub struct ReassignableTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<ReassignablePartition> => since(0),
    }

    /// An element of `Partitions` in `ReassignableTopic`.
    pub struct ReassignablePartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `Replicas`: versions 0+, nullable 0+, default `null` (null cancels).
        replicas: Option<Vec<i32>> = None => since(0).nullable_since(0),
    }

    /// The body of an AlterPartitionReassignments response.
    pub struct AlterPartitionReassignmentsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `AllowReplicationFactorChange`: versions 1+, default `true`.
        allow_replication_factor_change: bool = true => since(1),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(Default::default())
            => since(0).nullable_since(0),
        /// Wire field `Responses`: versions 0+.
        responses: Vec<ReassignableTopicResponse> => since(0),
    }

    /// An element of `Responses` in `AlterPartitionReassignmentsResponse`.
    pub struct ReassignableTopicResponse {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<ReassignablePartitionResponse> => since(0),
    }

    /// An element of `Partitions` in `ReassignableTopicResponse`.
    pub struct ReassignablePartitionResponse {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(Default::default())
            => since(0).nullable_since(0),
    }
}
