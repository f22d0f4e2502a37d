//! Metadata request and response bodies (API key 3), versions 0 to 12.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};
use crate::primitives::Uuid;

crate::wire_struct! {
    /// The body of a Metadata request.
    pub struct MetadataRequest {
        /// Wire field `Topics`: versions 0+, nullable 1+.
        topics: Option<Vec<MetadataRequestTopic>> = Some(Default::default())
            => since(0).nullable_since(1),
        /// Wire field `AllowAutoTopicCreation`: versions 4+, default `true`.
        allow_auto_topic_creation: bool = true => since(4),
        /// Wire field `IncludeClusterAuthorizedOperations`: versions 8-10.
        include_cluster_authorized_operations: bool => range(8, 10),
        /// Wire field `IncludeTopicAuthorizedOperations`: versions 8+.
        include_topic_authorized_operations: bool => since(8),
    }

    /// An element of `Topics` in `MetadataRequest`.
    pub struct MetadataRequestTopic {
        /// Wire field `TopicId`: versions 10+.
        topic_id: Uuid => since(10),
        /// Wire field `Name`: versions 0+, nullable 10+.
        name: Option<String> = Some(String::new()) => since(0).nullable_since(10),
    }

    /// The body of a Metadata response.
    pub struct MetadataResponse {
        /// Wire field `ThrottleTimeMs`: versions 3+.
        throttle_time_ms: i32 => since(3),
        /// Wire field `Brokers`: versions 0+.
        brokers: Vec<MetadataResponseBroker> => since(0),
        /// Wire field `ClusterId`: versions 2+, nullable 2+, default `null`.
        cluster_id: Option<String> = None => since(2).nullable_since(2),
        /// Wire field `ControllerId`: versions 1+, default `-1`.
        controller_id: i32 = -1 => since(1),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<MetadataResponseTopic> => since(0),
        /// Wire field `ClusterAuthorizedOperations`: versions 8-10, default `-2147483648`.
        cluster_authorized_operations: i32 = -2147483648 => range(8, 10),
    }

    /// An element of `Brokers` in `MetadataResponse`.
    pub struct MetadataResponseBroker {
        /// Wire field `NodeId`: versions 0+.
        node_id: i32 => since(0),
        /// Wire field `Host`: versions 0+.
        host: String => since(0),
        /// Wire field `Port`: versions 0+.
        port: i32 => since(0),
        /// Wire field `Rack`: versions 1+, nullable 1+, default `null`.
        rack: Option<String> = None => since(1).nullable_since(1),
    }

    /// An element of `Topics` in `MetadataResponse`.
    pub struct MetadataResponseTopic {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Name`: versions 0+, nullable 12+.
        name: Option<String> = Some(String::new()) => since(0).nullable_since(12),
        /// Wire field `TopicId`: versions 10+.
        topic_id: Uuid => since(10),
        /// Wire field `IsInternal`: versions 1+, default `false`.
        is_internal: bool => since(1),
        /// Wire field `Partitions`: versions 0+.
        partitions: Vec<MetadataResponsePartition> => since(0),
        /// Wire field `TopicAuthorizedOperations`: versions 8+, default `-2147483648`.
        topic_authorized_operations: i32 = -2147483648 => since(8),
    }

    /// An element of `Partitions` in `MetadataResponseTopic`.
    pub struct MetadataResponsePartition {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `LeaderId`: versions 0+.
        leader_id: i32 => since(0),
        /// Wire field `LeaderEpoch`: versions 7+, default `-1`.
        leader_epoch: i32 = -1 => since(7),
        /// Wire field `ReplicaNodes`: versions 0+.
        replica_nodes: Vec<i32> => since(0),
        /// Wire field `IsrNodes`: versions 0+.
        isr_nodes: Vec<i32> => since(0),
        /// Wire field `OfflineReplicas`: versions 5+.
        offline_replicas: Vec<i32> => since(5),
    }
}
