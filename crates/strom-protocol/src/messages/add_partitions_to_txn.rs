//! AddPartitionsToTxn request and response bodies (API key 24), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};

crate::wire_struct! {
    /// The body of an AddPartitionsToTxn request.
    pub struct AddPartitionsToTxnRequest {
        /// Wire field `Transactions`: versions 4+.
        transactions: Vec<AddPartitionsToTxnTransaction> => since(4),
        /// Wire field `V3AndBelowTransactionalId`: versions 0-3.
        v3_and_below_transactional_id: String => range(0, 3),
        /// Wire field `V3AndBelowProducerId`: versions 0-3.
        v3_and_below_producer_id: i64 => range(0, 3),
        /// Wire field `V3AndBelowProducerEpoch`: versions 0-3.
        v3_and_below_producer_epoch: i16 => range(0, 3),
        /// Wire field `V3AndBelowTopics`: versions 0-3.
        v3_and_below_topics: Vec<AddPartitionsToTxnTopic> => range(0, 3),
    }

    /// An element of `Transactions` in `AddPartitionsToTxnRequest`.
    pub struct AddPartitionsToTxnTransaction {
        /// Wire field `TransactionalId`: versions 4+.
        transactional_id: String => since(4),
        /// Wire field `ProducerId`: versions 4+.
        producer_id: i64 => since(4),
        /// Wire field `ProducerEpoch`: versions 4+.
        producer_epoch: i16 => since(4),
        /// Wire field `VerifyOnly`: versions 4+, default `false`.
        verify_only: bool => since(4),
        /// Wire field `Topics`: versions 4+.
        topics: Vec<AddPartitionsToTxnTopic> => since(4),
    }

    /// A struct shared by `Topics` in `AddPartitionsToTxnTransaction` and `V3AndBelowTopics` in
    /// `AddPartitionsToTxnRequest`.
    pub struct AddPartitionsToTxnTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<i32> => since(0),
    }

    /// The body of an AddPartitionsToTxn response.
    pub struct AddPartitionsToTxnResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 4+.
        error_code: i16 => since(4),
        /// Wire field `ResultsByTransaction`: versions 4+.
        results_by_transaction: Vec<AddPartitionsToTxnResult> => since(4),
        /// Wire field `ResultsByTopicV3AndBelow`: versions 0-3.
        results_by_topic_v3_and_below: Vec<AddPartitionsToTxnTopicResult> => range(0, 3),
    }

    /// An element of `ResultsByTransaction` in `AddPartitionsToTxnResponse`.
    pub struct AddPartitionsToTxnResult {
        /// Wire field `TransactionalId`: versions 4+.
        transactional_id: String => since(4),
        /// Wire field `TopicResults`: versions 4+.
        topic_results: Vec<AddPartitionsToTxnTopicResult> => since(4),
    }

    /// A struct shared by `TopicResults` in `AddPartitionsToTxnResult` and
    /// `ResultsByTopicV3AndBelow` in `AddPartitionsToTxnResponse`.
    pub struct AddPartitionsToTxnTopicResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `ResultsByPartition`: versions 0+.
        results_by_partition: Vec<AddPartitionsToTxnPartitionResult> => since(0),
    }

    /// An element of `ResultsByPartition` in `AddPartitionsToTxnTopicResult`.
    pub struct AddPartitionsToTxnPartitionResult {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `PartitionErrorCode`: versions 0+.
        partition_error_code: i16 => since(0),
    }
}
