//! The per-API request handlers, one module per API: each takes the broker and the typed request
//! and returns the typed response (errors as Kafka error codes inside it). Library errors become
//! wire error codes here, in the functions below, and nowhere else.

pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod api_versions;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod elect_leaders;
pub mod fetch;
pub mod find_coordinator;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod sync_group;
pub mod txn_offset_commit;

use strom_log::TopicPartition;
use strom_metadata::{MetadataImage, PartitionIndex};
use strom_protocol::ErrorCode;
use strom_record::Offset;

use crate::Error;
use crate::broker::Broker;

/// The wire code for a metadata error (each variant's documentation names it).
pub fn metadata_error_code(error: &strom_metadata::Error) -> ErrorCode {
    use strom_metadata::Error as E;
    match error {
        E::InvalidTopicName { .. } => ErrorCode::InvalidTopicException,
        E::TopicAlreadyExists { .. } => ErrorCode::TopicAlreadyExists,
        E::InvalidTopicId { .. } | E::InvalidRequest { .. } => ErrorCode::InvalidRequest,
        E::UnknownTopic { .. } => ErrorCode::UnknownTopicOrPartition,
        E::UnknownTopicId { .. } => ErrorCode::UnknownTopicId,
        E::InvalidPartitions { .. } => ErrorCode::InvalidPartitions,
        E::TooManyPartitions { .. } => ErrorCode::PolicyViolation,
        E::InvalidReplicationFactor { .. } => ErrorCode::InvalidReplicationFactor,
        E::InvalidReplicaAssignment { .. } => ErrorCode::InvalidReplicaAssignment,
        E::InvalidConfig { .. } => ErrorCode::InvalidConfig,
        E::InvalidRegistration { .. } | E::UnknownBroker { .. } => ErrorCode::InvalidRequest,
        E::UnknownPartition { .. } => ErrorCode::UnknownTopicOrPartition,
        E::NoReassignmentInProgress { .. } => ErrorCode::NoReassignmentInProgress,
        _ => ErrorCode::KafkaStorageError,
    }
}

/// The wire code for a log error met while serving a partition.
pub fn log_error_code(error: &strom_log::Error) -> ErrorCode {
    use strom_log::Error as E;
    match error {
        E::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
        E::RecordTooLarge { .. } => ErrorCode::MessageTooLarge,
        E::Record(error) => record_error_code(error),
        E::UnknownLog { .. } => ErrorCode::UnknownTopicOrPartition,
        _ => ErrorCode::KafkaStorageError,
    }
}

/// The wire code for a batch that failed validation.
pub fn record_error_code(error: &strom_record::Error) -> ErrorCode {
    match error.kind() {
        strom_record::ErrorKind::InvalidRecord => ErrorCode::InvalidRecord,
        strom_record::ErrorKind::UnsupportedCompression => ErrorCode::UnsupportedCompressionType,
        strom_record::ErrorKind::Corrupt
        | strom_record::ErrorKind::TooLarge
        | strom_record::ErrorKind::Usage => ErrorCode::CorruptMessage,
    }
}

/// The wire code for a broker error met while serving a partition.
pub fn broker_error_code(error: &Error) -> ErrorCode {
    match error {
        Error::Log(error) => log_error_code(error),
        Error::Metadata(error) => metadata_error_code(error),
        Error::ShutDown => ErrorCode::NotLeaderOrFollower,
        Error::Quorum(strom_quorum::Error::Metadata(error)) => metadata_error_code(error),
        Error::Quorum(strom_quorum::Error::NotLeader { .. }) => ErrorCode::NotController,
        Error::Quorum(strom_quorum::Error::TooLarge { .. }) => ErrorCode::PolicyViolation,
        Error::Quorum(_) => ErrorCode::RequestTimedOut,
        _ => ErrorCode::KafkaStorageError,
    }
}

/// Where a partition named in a request stands: served here, or the error to answer.
pub fn check_leader(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    partition: i32,
) -> Result<TopicPartition, ErrorCode> {
    let Some(topic_image) = image.topic(topic) else {
        return Err(ErrorCode::UnknownTopicOrPartition);
    };
    let Ok(index) = u32::try_from(partition) else {
        return Err(ErrorCode::UnknownTopicOrPartition);
    };
    let Some(partition_image) = topic_image.partition(PartitionIndex(index)) else {
        return Err(ErrorCode::UnknownTopicOrPartition);
    };
    if partition_image.leader != Some(broker.node_id()) {
        return Err(ErrorCode::NotLeaderOrFollower);
    }
    Ok(TopicPartition::new(topic, index))
}

/// Checks a request's `current_leader_epoch` (-1 for "not given") against the partition's.
pub fn check_leader_epoch(
    image: &MetadataImage,
    topic_partition: &TopicPartition,
    current_leader_epoch: i32,
) -> Result<(), ErrorCode> {
    if current_leader_epoch < 0 {
        return Ok(());
    }
    let ours = leader_epoch(image, topic_partition);
    match i64::from(current_leader_epoch).cmp(&i64::from(ours)) {
        std::cmp::Ordering::Less => Err(ErrorCode::FencedLeaderEpoch),
        std::cmp::Ordering::Greater => Err(ErrorCode::UnknownLeaderEpoch),
        std::cmp::Ordering::Equal => Ok(()),
    }
}

/// A partition's leader epoch from the metadata image (0 when unknown).
pub fn leader_epoch(image: &MetadataImage, topic_partition: &TopicPartition) -> i32 {
    image
        .partition(
            &topic_partition.topic,
            PartitionIndex(topic_partition.partition),
        )
        .map_or(0, |partition| {
            i32::try_from(partition.leader_epoch.0).unwrap_or(i32::MAX)
        })
}

/// An offset as the wire's `int64`.
pub fn offset_to_wire(offset: Offset) -> i64 {
    i64::try_from(offset.0).unwrap_or(i64::MAX)
}

/// The wire code for a group coordinator answer (each variant is named after its code).
pub fn group_error_code(error: strom_group::GroupError) -> ErrorCode {
    use strom_group::GroupError as E;
    match error {
        E::NotCoordinator => ErrorCode::NotCoordinator,
        E::CoordinatorNotAvailable => ErrorCode::CoordinatorNotAvailable,
        E::CoordinatorLoadInProgress => ErrorCode::CoordinatorLoadInProgress,
        E::InvalidGroupId => ErrorCode::InvalidGroupId,
        E::UnknownMemberId => ErrorCode::UnknownMemberId,
        E::IllegalGeneration => ErrorCode::IllegalGeneration,
        E::RebalanceInProgress => ErrorCode::RebalanceInProgress,
        E::MemberIdRequired => ErrorCode::MemberIdRequired,
        E::InconsistentGroupProtocol => ErrorCode::InconsistentGroupProtocol,
        E::GroupMaxSizeReached => ErrorCode::GroupMaxSizeReached,
        E::FencedInstanceId => ErrorCode::FencedInstanceId,
        E::InvalidSessionTimeout => ErrorCode::InvalidSessionTimeout,
        E::UnknownTopicOrPartition => ErrorCode::UnknownTopicOrPartition,
        E::OffsetMetadataTooLarge => ErrorCode::OffsetMetadataTooLarge,
        E::GroupIdNotFound => ErrorCode::GroupIdNotFound,
        E::NonEmptyGroup => ErrorCode::NonEmptyGroup,
        E::GroupSubscribedToTopic => ErrorCode::GroupSubscribedToTopic,
        E::UnstableOffsetCommit => ErrorCode::UnstableOffsetCommit,
        E::InvalidCommitOffsetSize => ErrorCode::InvalidCommitOffsetSize,
    }
}

/// A group answer's wire error code: 0 for success.
pub fn group_error_code_of(error: Option<strom_group::GroupError>) -> i16 {
    error.map_or(0, |error| group_error_code(error).code())
}

/// Kafka's empty-string sentinel (member ids) as an `Option`.
pub fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}
