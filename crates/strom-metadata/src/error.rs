//! The crate's one error type. It names what went wrong; the broker maps the validation variants
//! to Kafka error codes (each variant's doc names the code) and the rest to
//! `KAFKA_STORAGE_ERROR` or a failed start-up.

use std::io;
use std::path::PathBuf;

use crate::ids::{BrokerId, ClusterId, MetadataOffset, PartitionIndex, TopicId};
use crate::record::ConfigResource;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A topic name breaks Kafka's rules or collides with an existing topic
    /// (`INVALID_TOPIC_EXCEPTION`).
    #[error("invalid topic name {name:?}: {reason}")]
    InvalidTopicName {
        /// The name asked for.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The topic exists already (`TOPIC_ALREADY_EXISTS`).
    #[error("topic {name} already exists")]
    TopicAlreadyExists {
        /// The topic.
        name: String,
    },
    /// The topic id is the reserved zero id or names another topic already (`INVALID_REQUEST`).
    #[error("topic id {topic_id} cannot be used: {reason}")]
    InvalidTopicId {
        /// The id asked for.
        topic_id: TopicId,
        /// Why not.
        reason: String,
    },
    /// No topic has this name (`UNKNOWN_TOPIC_OR_PARTITION`).
    #[error("topic {name} does not exist")]
    UnknownTopic {
        /// The name asked for.
        name: String,
    },
    /// No topic has this id (`UNKNOWN_TOPIC_ID`).
    #[error("topic id {topic_id} does not exist")]
    UnknownTopicId {
        /// The id asked for.
        topic_id: TopicId,
    },
    /// A partition count that is not positive or does not grow the topic (`INVALID_PARTITIONS`).
    #[error("invalid partition count for topic {topic}: {reason}")]
    InvalidPartitions {
        /// The topic.
        topic: String,
        /// What is wrong with the count.
        reason: String,
    },
    /// More partitions in one request than the controller creates at once (`POLICY_VIOLATION`).
    #[error("{requested} partitions for topic {topic} exceed the limit of {max} per request")]
    TooManyPartitions {
        /// The topic.
        topic: String,
        /// Partitions asked for.
        requested: u64,
        /// The limit.
        max: u64,
    },
    /// A replication factor below one or above the usable brokers
    /// (`INVALID_REPLICATION_FACTOR`).
    #[error("invalid replication factor for topic {topic}: {reason}")]
    InvalidReplicationFactor {
        /// The topic.
        topic: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An explicit replica assignment that cannot be used (`INVALID_REPLICA_ASSIGNMENT`).
    #[error("invalid replica assignment for topic {topic}: {reason}")]
    InvalidReplicaAssignment {
        /// The topic.
        topic: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The config change was refused by the caller's validator (`INVALID_CONFIG`).
    #[error("invalid config for {resource}: {reason}")]
    InvalidConfig {
        /// What the config belongs to.
        resource: ConfigResource,
        /// Why it was refused.
        reason: String,
    },
    /// A well-formed request that makes no sense, e.g. a key altered twice (`INVALID_REQUEST`).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong with it.
        reason: String,
    },
    /// A broker registration that cannot be accepted (`INVALID_REGISTRATION`).
    #[error("invalid registration of broker {broker_id}: {reason}")]
    InvalidRegistration {
        /// The broker.
        broker_id: BrokerId,
        /// What is wrong with it.
        reason: String,
    },
    /// No broker with this id is registered (`BROKER_ID_NOT_REGISTERED`).
    #[error("broker {broker_id} is not registered")]
    UnknownBroker {
        /// The broker.
        broker_id: BrokerId,
    },
    /// A record contradicts the image it is applied to. Records come from a controller that
    /// validated them, so this means a bug or a damaged log; the node must not start on it.
    #[error("record at offset {offset} contradicts the metadata image: {reason}")]
    Contradiction {
        /// The record's offset.
        offset: MetadataOffset,
        /// What it contradicts.
        reason: String,
    },
    /// Bytes that should hold a record or batch do not decode.
    #[error("undecodable metadata: {reason}")]
    Undecodable {
        /// What the decoder said.
        reason: String,
    },
    /// Bytes written by a newer format version; this build cannot read them.
    #[error("metadata format version {version} is not supported")]
    UnknownFormatVersion {
        /// The version byte found.
        version: u8,
    },
    /// A batch too large to frame (over 4 GiB).
    #[error("a metadata batch of {size_bytes} bytes is too large to store")]
    BatchTooLarge {
        /// Its encoded size.
        size_bytes: u64,
    },
    /// The metadata log is damaged before its tail: a valid frame holds something that cannot
    /// follow what precedes it. Tails cut by a crash are truncated, not reported.
    #[error("metadata log {path} is corrupt at position {position}: {reason}")]
    CorruptLog {
        /// The log file.
        path: PathBuf,
        /// Byte position of the bad frame.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The snapshot file does not read back.
    #[error("metadata snapshot {path} is corrupt: {reason}")]
    CorruptSnapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `meta.properties` does not parse.
    #[error("{path} is malformed: {reason}")]
    BadMetaProperties {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The data directory belongs to another node.
    #[error("{path} belongs to node {stored}, but this node is configured as node {configured}")]
    NodeIdMismatch {
        /// The `meta.properties` file.
        path: PathBuf,
        /// The node id stored there.
        stored: BrokerId,
        /// The node id this process was started with.
        configured: BrokerId,
    },
    /// The metadata log belongs to another cluster than `meta.properties` says.
    #[error("metadata in {path} is for cluster {found}, but meta.properties says cluster {stored}")]
    ClusterIdMismatch {
        /// The metadata directory.
        path: PathBuf,
        /// The cluster id in `meta.properties`.
        stored: ClusterId,
        /// The cluster id in the metadata log.
        found: ClusterId,
    },
    /// Another process (or another open in this process) holds the metadata directory.
    #[error("metadata directory {path} is locked by another process")]
    DirectoryLocked {
        /// The locked directory.
        path: PathBuf,
    },
    /// An fsync failed. What is on disk is unknown, so the log refuses every further write until
    /// it is reopened (and recovered).
    #[error("fsync failed; the metadata log refuses writes until it is reopened")]
    FlushFailed(#[source] io::Error),
    /// An earlier write or fsync failure left the metadata log in an unknown state.
    #[error("the metadata log failed earlier and refuses writes until it is reopened")]
    LogFailed,
    /// Any other I/O error.
    #[error("metadata i/o error")]
    Io(#[from] io::Error),
    /// The topic exists but has no such partition (`UNKNOWN_TOPIC_OR_PARTITION`).
    #[error("topic {topic} has no partition {partition}")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: PartitionIndex,
    },
    /// A reassignment was cancelled where none is in progress (`NO_REASSIGNMENT_IN_PROGRESS`).
    #[error("no reassignment of partition {partition} of topic {topic} is in progress")]
    NoReassignmentInProgress {
        /// The topic.
        topic: String,
        /// The partition.
        partition: PartitionIndex,
    },
}
