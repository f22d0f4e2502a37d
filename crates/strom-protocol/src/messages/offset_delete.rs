//! OffsetDelete request and response bodies (API key 47), version 0.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an OffsetDelete request.
    pub struct OffsetDeleteRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetDeleteRequestTopic> => since(0),
    }

    /// An element of `Topics` in `OffsetDeleteRequest`.
    pub struct OffsetDeleteRequestTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OffsetDeleteRequestPartition> => since(0),
    }

    /// An element of `Partitions` in `OffsetDeleteRequestTopic`.
    pub struct OffsetDeleteRequestPartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
    }

    /// The body of an OffsetDelete response.
    pub struct OffsetDeleteResponse {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<OffsetDeleteResponseTopic> => since(0),
    }

    /// An element of `Topics` in `OffsetDeleteResponse`.
    pub struct OffsetDeleteResponseTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<OffsetDeleteResponsePartition> => since(0),
    }

    /// An element of `Partitions` in `OffsetDeleteResponseTopic`.
    pub struct OffsetDeleteResponsePartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
