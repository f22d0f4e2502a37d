//! CreateTopics request and response bodies (API key 19), versions 2 to 7.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;
use crate::primitives::Uuid;

crate::wire_struct! {
    /// The body of a CreateTopics request.
    pub struct CreateTopicsRequest {
        /// Wire field `Topics`: versions 0+.
        topics: Vec<CreatableTopic> => since(0),
        /// Wire field `timeoutMs`: versions 0+, default `60000`.
        timeout_ms: i32 = 60000 => since(0),
        /// Wire field `validateOnly`: versions 1+, default `false`.
        validate_only: bool => since(1),
    }

    /// An element of `Topics` in `CreateTopicsRequest`.
    pub struct CreatableTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `NumPartitions`: versions 0+.
        num_partitions: i32 => since(0),
        /// Wire field `ReplicationFactor`: versions 0+.
        replication_factor: i16 => since(0),
        /// Wire field `Assignments`: versions 0+.
        assignments: Vec<CreatableReplicaAssignment> => since(0),
        /// Wire field `Configs`: versions 0+.
        configs: Vec<CreatableTopicConfig> => since(0),
    }

    /// An element of `Assignments` in `CreatableTopic`.
    pub struct CreatableReplicaAssignment {
        /// Wire field `PartitionIndex`: versions 0+.
        partition_index: i32 => since(0),
        /// Wire field `BrokerIds`: versions 0+.
        broker_ids: Vec<i32> => since(0),
    }

    /// An element of `Configs` in `CreatableTopic`.
    pub struct CreatableTopicConfig {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Value`: versions 0+, nullable 0+.
        value: Option<String> = Some(String::new()) => since(0).nullable_since(0),
    }

    /// The body of a CreateTopics response.
    pub struct CreateTopicsResponse {
        /// Wire field `ThrottleTimeMs`: versions 2+.
        throttle_time_ms: i32 => since(2),
        /// Wire field `Topics`: versions 0+.
        topics: Vec<CreatableTopicResult> => since(0),
    }

    /// An element of `Topics` in `CreateTopicsResponse`.
    pub struct CreatableTopicResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `TopicId`: versions 7+.
        topic_id: Uuid => since(7),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 1+, nullable 0+.
        error_message: Option<String> = Some(String::new()) => since(1).nullable_since(0),
        /// Wire field `TopicConfigErrorCode`: versions 5+, tagged (tag 0).
        topic_config_error_code: i16 => since(5).tag(0),
        /// Wire field `NumPartitions`: versions 5+, default `-1`.
        num_partitions: i32 = -1 => since(5),
        /// Wire field `ReplicationFactor`: versions 5+, default `-1`.
        replication_factor: i16 = -1 => since(5),
        /// Wire field `Configs`: versions 5+, nullable 5+.
        configs: Option<Vec<CreatableTopicConfigs>> = Some(Default::default())
            => since(5).nullable_since(5),
    }

    /// An element of `Configs` in `CreatableTopicResult`.
    pub struct CreatableTopicConfigs {
        /// Wire field `Name`: versions 5+.
        name: String => since(5),
        /// Wire field `Value`: versions 5+, nullable 5+.
        value: Option<String> = Some(String::new()) => since(5).nullable_since(5),
        /// Wire field `ReadOnly`: versions 5+.
        read_only: bool => since(5),
        /// Wire field `ConfigSource`: versions 5+, default `-1`.
        config_source: i8 = -1 => since(5),
        /// Wire field `IsSensitive`: versions 5+.
        is_sensitive: bool => since(5),
    }
}
