//! DeleteRecords request and response bodies (API key 21), versions 0 to 2.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a DeleteRecords request.
    pub struct DeleteRecordsRequest {
        /// Wire field `Topics`: versions 0+.
        topics: Vec<DeleteRecordsTopic> => since(0),
        /// Wire field `TimeoutMs`: versions 0+.
        timeout_ms: i32 => since(0),
    }

    /// An element of `Topics` in `DeleteRecordsRequest`.
    pub struct DeleteRecordsTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<DeleteRecordsPartition> => since(0),
    }

    /// An element of `Partitions` in `DeleteRecordsTopic`.
    pub struct DeleteRecordsPartition {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `Offset`: versions 0+.
        offset: i64 => since(0),
    }

    /// The body of a DeleteRecords response.
    pub struct DeleteRecordsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<DeleteRecordsTopicResult> => since(0),
    }

    /// An element of `Topics` in `DeleteRecordsResponse`.
    pub struct DeleteRecordsTopicResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<DeleteRecordsPartitionResult> => since(0),
    }

    /// An element of `Partitions` in `DeleteRecordsTopicResult`.
    pub struct DeleteRecordsPartitionResult {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `LowWatermark`: versions 0+.
        low_watermark: i64 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
