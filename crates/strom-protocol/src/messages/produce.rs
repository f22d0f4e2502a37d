//! Produce request and response bodies (API key 0), versions 3 to 12.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a Produce request.
    pub struct ProduceRequest {
        /// Wire field `TransactionalId`: versions 3+, nullable 3+, default `null`.
        transactional_id: Option<String> = None => since(3).nullable_since(3),
        /// Wire field `Acks`: versions 0+.
        acks: i16 => since(0),
        /// Wire field `TimeoutMs`: versions 0+.
        timeout_ms: i32 => since(0),
        /// Wire field `TopicData`: versions 0+.
        topic_data: Vec<TopicProduceData> => since(0),
    }

    /// An element of `TopicData` in `ProduceRequest`.
    pub struct TopicProduceData {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `PartitionData`: versions 0+.
        partition_data: Vec<PartitionProduceData> => since(0),
    }

    /// An element of `PartitionData` in `TopicProduceData`.
    pub struct PartitionProduceData {
        /// Wire field `Index`: versions 0+.
        index: i32 => since(0),
        /// Wire field `Records`: versions 0+, nullable 0+.
        records: Option<Bytes> => since(0).nullable_since(0),
    }

    /// The body of a Produce response.
    pub struct ProduceResponse {
        /// Wire field `Responses`: versions 0+.
        responses: Vec<TopicProduceResponse> => since(0),
        /// Wire field `ThrottleTimeMs`: versions 1+, default `0`.
        throttle_time_ms: i32 => since(1),
        /// Wire field `NodeEndpoints`: versions 10+, tagged (tag 0).
        node_endpoints: Vec<NodeEndpoint> => since(10).tag(0),
    }

    /// An element of `Responses` in `ProduceResponse`.
    pub struct TopicProduceResponse {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `PartitionResponses`: versions 0+.
        partition_responses: Vec<PartitionProduceResponse> => since(0),
    }

    /// An element of `PartitionResponses` in `TopicProduceResponse`.
    pub struct PartitionProduceResponse {
        /// Wire field `Index`: versions 0+.
        index: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `BaseOffset`: versions 0+.
        base_offset: i64 => since(0),
        /// Wire field `LogAppendTimeMs`: versions 2+, default `-1`.
        log_append_time_ms: i64 = -1 => since(2),
        /// Wire field `LogStartOffset`: versions 5+, default `-1`.
        log_start_offset: i64 = -1 => since(5),
        /// Wire field `RecordErrors`: versions 8+.
        record_errors: Vec<BatchIndexAndErrorMessage> => since(8),
        /// Wire field `ErrorMessage`: versions 8+, nullable 8+, default `null`.
        error_message: Option<String> = None => since(8).nullable_since(8),
        /// Wire field `CurrentLeader`: versions 10+, tagged (tag 0).
        current_leader: LeaderIdAndEpoch => since(10).tag(0),
    }

    /// An element of `RecordErrors` in `PartitionProduceResponse`.
    pub struct BatchIndexAndErrorMessage {
        /// Wire field `BatchIndex`: versions 8+.
        batch_index: i32 => since(8),
        /// Wire field `BatchIndexErrorMessage`: versions 8+, nullable 8+, default `null`.
        batch_index_error_message: Option<String> = None => since(8).nullable_since(8),
    }

    /// The `CurrentLeader` field of `PartitionProduceResponse`.
    pub struct LeaderIdAndEpoch {
        /// Wire field `LeaderId`: versions 10+, default `-1`.
        leader_id: i32 = -1 => since(10),
        /// Wire field `LeaderEpoch`: versions 10+, default `-1`.
        leader_epoch: i32 = -1 => since(10),
    }

    /// An element of `NodeEndpoints` in `ProduceResponse`.
    pub struct NodeEndpoint {
        /// Wire field `NodeId`: versions 10+.
        node_id: i32 => since(10),
        /// Wire field `Host`: versions 10+.
        host: String => since(10),
        /// Wire field `Port`: versions 10+.
        port: i32 => since(10),
        /// Wire field `Rack`: versions 10+, nullable 10+, default `null`.
        rack: Option<String> = None => since(10).nullable_since(10),
    }
}
