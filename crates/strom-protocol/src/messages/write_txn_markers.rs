//! WriteTxnMarkers request and response bodies (API key 27), version 1.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a WriteTxnMarkers request.
    pub struct WriteTxnMarkersRequest {
        /// Wire field `Markers`: versions 0+.
        markers: Vec<WritableTxnMarker> => since(0),
    }

    /// An element of `Markers` in `WriteTxnMarkersRequest`.
    pub struct WritableTxnMarker {
        /// Wire field `ProducerId`: versions 0+.
        producer_id: i64 => since(0),
        /// Wire field `ProducerEpoch`: versions 0+.
        producer_epoch: i16 => since(0),
        /// Wire field `TransactionResult`: versions 0+.
        transaction_result: bool => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<WritableTxnMarkerTopic> => since(0),
        /// Wire field `CoordinatorEpoch`: versions 0+.
        coordinator_epoch: i32 => since(0),
    }

    /// An element of `Topics` in `WritableTxnMarker`.
    pub struct WritableTxnMarkerTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `PartitionIndexes`: versions 0+.
        partition_indexes: Vec<i32> => since(0),
    }

    /// The body of a WriteTxnMarkers response.
    pub struct WriteTxnMarkersResponse {
        /// Wire field `Markers`: versions 0+.
        markers: Vec<WritableTxnMarkerResult> => since(0),
    }

    /// An element of `Markers` in `WriteTxnMarkersResponse`.
    pub struct WritableTxnMarkerResult {
        /// Wire field `ProducerId`: versions 0+.
        producer_id: i64 => since(0),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<WritableTxnMarkerTopicResult> => since(0),
    }

    /// An element of `Topics` in `WritableTxnMarkerResult`.
    pub struct WritableTxnMarkerTopicResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<WritableTxnMarkerPartitionResult> => since(0),
    }

    /// An element of `Partitions` in `WritableTxnMarkerTopicResult`.
    pub struct WritableTxnMarkerPartitionResult {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
