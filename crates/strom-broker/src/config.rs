//! Broker and topic configuration, with Apache Kafka's key names, defaults and precedence.
//!
//! Sources, lowest precedence first: built-in defaults, a `server.properties`-style file,
//! environment variables (`STROM_LOG_DIRS` sets `log.dirs`: drop the prefix, lowercase, `_` becomes
//! `.` and `__` becomes `_`), then `--override key=value` flags. Unknown keys are reported as
//! warnings; an invalid value for a known key is an error naming the key. Topic configs resolve a
//! topic's own overrides over the broker's defaults for the same setting (Kafka's "synonyms":
//! `retention.ms` falls back to `log.retention.ms`, then `log.retention.minutes`, then
//! `log.retention.hours`).
//!
//! This module does not read files or the environment itself: the binary gathers the sources and
//! passes them in, so everything here is testable without I/O.

mod properties;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub use properties::{Property, parse as parse_properties};

/// A configuration error; every variant names the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A value that does not parse or is outside the key's valid range.
    #[error("invalid value {value:?} for configuration {key}: {reason}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key that is not a topic configuration (topic configs are a closed set, as in Kafka).
    #[error("unknown topic configuration {key}")]
    UnknownTopicConfig {
        /// The key.
        key: String,
    },
}

/// Where a configuration value came from, with Kafka's `DescribeConfigs` source numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigSource {
    /// Set on the topic itself (`DYNAMIC_TOPIC_CONFIG`, 1).
    DynamicTopic,
    /// Set in the broker's static configuration (`STATIC_BROKER_CONFIG`, 4).
    StaticBroker,
    /// Kafka's built-in default (`DEFAULT_CONFIG`, 5).
    Default,
}

impl ConfigSource {
    /// The number `DescribeConfigs` (v1+) reports for this source.
    pub fn wire_id(self) -> i8 {
        match self {
            ConfigSource::DynamicTopic => 1,
            ConfigSource::StaticBroker => 4,
            ConfigSource::Default => 5,
        }
    }
}

/// The value type of a configuration key, with its valid range.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A signed integer within `min..=max`.
    Int {
        /// Smallest valid value.
        min: i64,
        /// Largest valid value.
        max: i64,
    },
    /// A floating-point number within `min..=max`.
    Double {
        /// Smallest valid value.
        min: f64,
        /// Largest valid value.
        max: f64,
    },
    /// Free text.
    Text,
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list, each element one of a fixed set of words.
    ListOf(&'static [&'static str]),
}

/// One known configuration key.
#[derive(Debug, Clone, Copy)]
pub struct ConfigKey {
    /// Kafka's name for the key.
    pub name: &'static str,
    /// Type and valid range.
    pub kind: Kind,
    /// Default value as text; `None` when Kafka's default is null (unset).
    pub default: Option<&'static str>,
    /// One line of documentation.
    pub doc: &'static str,
}

const I32_MAX: i64 = i32::MAX as i64;
const I64_MAX: i64 = i64::MAX;
const CLEANUP_POLICIES: &[&str] = &["delete", "compact"];
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

const fn key(
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> ConfigKey {
    ConfigKey {
        name,
        kind,
        default,
        doc,
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

/// Every broker configuration key Strom understands.
pub const BROKER_KEYS: &[ConfigKey] = &[
    key(
        "node.id",
        int(0, I32_MAX),
        Some("1"),
        "this node's id in the cluster",
    ),
    key(
        "broker.id",
        int(-1, I32_MAX),
        None,
        "legacy name of node.id",
    ),
    key(
        "process.roles",
        Kind::ListOf(&["broker", "controller"]),
        None,
        "broker, controller or broker,controller; unset: a single node without \
         controller.quorum.voters, else broker,controller",
    ),
    key(
        "controller.quorum.voters",
        Kind::Text,
        None,
        "the controller quorum, id@host:port comma-separated; unset runs a single node without Raft",
    ),
    key(
        "broker.heartbeat.interval.ms",
        int(1, I32_MAX),
        Some("2000"),
        "how often a broker tells the controller it is alive",
    ),
    key(
        "broker.session.timeout.ms",
        int(1, I32_MAX),
        Some("9000"),
        "a broker not heard from for this long is fenced and loses its leaderships",
    ),
    key(
        "auto.leader.rebalance.enable",
        Kind::Bool,
        Some("true"),
        "move leadership back to preferred replicas when brokers are imbalanced",
    ),
    key(
        "leader.imbalance.check.interval.seconds",
        int(1, I64_MAX),
        Some("300"),
        "how often the active controller checks leadership imbalance",
    ),
    key(
        "leader.imbalance.per.broker.percentage",
        int(0, 100),
        Some("10"),
        "share of a broker's preferred partitions others may lead before a rebalance",
    ),
    key(
        "listeners",
        Kind::Text,
        Some("PLAINTEXT://127.0.0.1:9092"),
        "addresses to listen on, NAME://host:port, comma-separated",
    ),
    key(
        "advertised.listeners",
        Kind::Text,
        None,
        "addresses given to clients; defaults to listeners",
    ),
    key(
        "log.dir",
        Kind::Text,
        Some("./strom-data"),
        "data directory, used when log.dirs is unset",
    ),
    key(
        "log.dirs",
        Kind::Text,
        None,
        "comma-separated data directories",
    ),
    key(
        "num.partitions",
        int(1, I32_MAX),
        Some("1"),
        "partitions of an auto-created topic",
    ),
    key(
        "default.replication.factor",
        int(1, i16::MAX as i64),
        Some("1"),
        "replication factor of an auto-created topic",
    ),
    key(
        "auto.create.topics.enable",
        Kind::Bool,
        Some("true"),
        "create a topic when a client asks for its metadata",
    ),
    key(
        "delete.topic.enable",
        Kind::Bool,
        Some("true"),
        "allow DeleteTopics",
    ),
    key(
        "message.max.bytes",
        int(0, I32_MAX),
        Some("1048588"),
        "largest record batch accepted",
    ),
    key(
        "socket.request.max.bytes",
        int(1, I32_MAX),
        Some("104857600"),
        "largest request frame accepted",
    ),
    key(
        "max.connections",
        int(0, I32_MAX),
        Some("2147483647"),
        "most client connections at once",
    ),
    key(
        "connections.max.idle.ms",
        int(0, I64_MAX),
        Some("600000"),
        "close connections idle this long",
    ),
    key(
        "log.retention.hours",
        int(-1, I32_MAX),
        Some("168"),
        "delete segments older than this (lowest precedence)",
    ),
    key(
        "log.retention.minutes",
        int(-1, I32_MAX),
        None,
        "delete segments older than this (overrides hours)",
    ),
    key(
        "log.retention.ms",
        int(-1, I64_MAX),
        None,
        "delete segments older than this (overrides minutes); -1 keeps forever",
    ),
    key(
        "log.retention.bytes",
        int(-1, I64_MAX),
        Some("-1"),
        "delete old segments past this size per partition; -1 no limit",
    ),
    key(
        "log.retention.check.interval.ms",
        int(1, I64_MAX),
        Some("300000"),
        "how often retention runs",
    ),
    key(
        "log.segment.bytes",
        int(14, I32_MAX),
        Some("1073741824"),
        "roll a segment at this size",
    ),
    key(
        "log.roll.hours",
        int(1, I32_MAX),
        Some("168"),
        "roll a segment at this age (lowest precedence)",
    ),
    key(
        "log.roll.ms",
        int(1, I64_MAX),
        None,
        "roll a segment at this age (overrides hours)",
    ),
    key(
        "log.roll.jitter.ms",
        int(0, I64_MAX),
        Some("0"),
        "random jitter subtracted from the roll age",
    ),
    key(
        "log.index.interval.bytes",
        int(0, I32_MAX),
        Some("4096"),
        "bytes between offset-index entries",
    ),
    key(
        "log.index.size.max.bytes",
        int(4, I32_MAX),
        Some("10485760"),
        "largest offset index",
    ),
    key(
        "log.segment.delete.delay.ms",
        int(0, I64_MAX),
        Some("60000"),
        "wait before deleting a file",
    ),
    key(
        "log.cleanup.policy",
        Kind::ListOf(CLEANUP_POLICIES),
        Some("delete"),
        "delete, compact, or both",
    ),
    key(
        "log.cleaner.enable",
        Kind::Bool,
        Some("true"),
        "run log compaction",
    ),
    key(
        "log.cleaner.delete.retention.ms",
        int(0, I64_MAX),
        Some("86400000"),
        "keep tombstones this long in compacted topics",
    ),
    key(
        "log.cleaner.min.compaction.lag.ms",
        int(0, I64_MAX),
        Some("0"),
        "records younger than this are not compacted",
    ),
    key(
        "log.cleaner.max.compaction.lag.ms",
        int(1, I64_MAX),
        Some("9223372036854775807"),
        "records older than this are compacted",
    ),
    key(
        "log.cleaner.min.cleanable.ratio",
        Kind::Double { min: 0.0, max: 1.0 },
        Some("0.5"),
        "dirty ratio that triggers compaction",
    ),
    key(
        "log.flush.interval.messages",
        int(1, I64_MAX),
        Some("9223372036854775807"),
        "fsync after this many records",
    ),
    key(
        "log.flush.interval.ms",
        int(0, I64_MAX),
        None,
        "fsync when data is this old",
    ),
    key(
        "log.flush.scheduler.interval.ms",
        int(0, I64_MAX),
        Some("9223372036854775807"),
        "how often the flusher checks",
    ),
    key(
        "log.flush.offset.checkpoint.interval.ms",
        int(0, I32_MAX),
        Some("60000"),
        "how often the recovery point is checkpointed",
    ),
    key(
        "log.message.timestamp.type",
        Kind::OneOf(TIMESTAMP_TYPES),
        Some("CreateTime"),
        "CreateTime or LogAppendTime",
    ),
    key(
        "log.message.timestamp.before.max.ms",
        int(0, I64_MAX),
        Some("9223372036854775807"),
        "reject batches older than this",
    ),
    key(
        "log.message.timestamp.after.max.ms",
        int(0, I64_MAX),
        Some("3600000"),
        "reject batches this far in the future",
    ),
    key(
        "log.preallocate",
        Kind::Bool,
        Some("false"),
        "preallocate segment files",
    ),
    key(
        "compression.type",
        Kind::OneOf(COMPRESSION_TYPES),
        Some("producer"),
        "codec stored on disk; producer keeps the producer's",
    ),
    key(
        "min.insync.replicas",
        int(1, I32_MAX),
        Some("1"),
        "replicas that must have an acks=all write",
    ),
    key(
        "unclean.leader.election.enable",
        Kind::Bool,
        Some("false"),
        "let an out-of-sync replica lead (loses data)",
    ),
    key(
        "offsets.topic.num.partitions",
        int(1, I32_MAX),
        Some("50"),
        "partitions of __consumer_offsets",
    ),
    // Kafka's default is 3, which a single node cannot satisfy; Strom's default works out of the box.
    key(
        "offsets.topic.replication.factor",
        int(1, i16::MAX as i64),
        Some("1"),
        "replication factor of __consumer_offsets",
    ),
    key(
        "offsets.topic.segment.bytes",
        int(1, I32_MAX),
        Some("104857600"),
        "segment size of __consumer_offsets",
    ),
    key(
        "offsets.retention.minutes",
        int(1, I32_MAX),
        Some("10080"),
        "expire committed offsets of empty groups after this",
    ),
    key(
        "offsets.retention.check.interval.ms",
        int(1, I64_MAX),
        Some("600000"),
        "how often offset expiry runs",
    ),
    key(
        "offsets.commit.timeout.ms",
        int(1, I32_MAX),
        Some("5000"),
        "how long a group write waits for the isr of __consumer_offsets",
    ),
    key(
        "group.initial.rebalance.delay.ms",
        int(0, I32_MAX),
        Some("3000"),
        "wait for more members before the first rebalance",
    ),
    key(
        "group.min.session.timeout.ms",
        int(0, I32_MAX),
        Some("6000"),
        "smallest session timeout a member may ask for",
    ),
    key(
        "group.max.session.timeout.ms",
        int(0, I32_MAX),
        Some("1800000"),
        "largest session timeout a member may ask for",
    ),
    key(
        "group.max.size",
        int(1, I32_MAX),
        Some("2147483647"),
        "most members in a group",
    ),
    key(
        "transactional.id.expiration.ms",
        int(1, I32_MAX),
        Some("604800000"),
        "forget idle transactional ids after this",
    ),
    key(
        "producer.id.expiration.ms",
        int(1, I32_MAX),
        Some("86400000"),
        "forget idle producer ids after this",
    ),
    key(
        "replica.lag.time.max.ms",
        int(1, I32_MAX),
        Some("30000"),
        "an in-sync follower that has not caught up for this long leaves the ISR",
    ),
];

/// Every topic configuration key, each with the broker key that supplies its default.
pub const TOPIC_KEYS: &[(ConfigKey, &[&str])] = &[
    (
        key(
            "cleanup.policy",
            Kind::ListOf(CLEANUP_POLICIES),
            Some("delete"),
            "delete, compact, or both",
        ),
        &["log.cleanup.policy"],
    ),
    (
        key(
            "compression.type",
            Kind::OneOf(COMPRESSION_TYPES),
            Some("producer"),
            "codec stored on disk",
        ),
        &["compression.type"],
    ),
    (
        key(
            "delete.retention.ms",
            int(0, I64_MAX),
            Some("86400000"),
            "keep tombstones this long",
        ),
        &["log.cleaner.delete.retention.ms"],
    ),
    (
        key(
            "file.delete.delay.ms",
            int(0, I64_MAX),
            Some("60000"),
            "wait before deleting a file",
        ),
        &["log.segment.delete.delay.ms"],
    ),
    (
        key(
            "flush.messages",
            int(1, I64_MAX),
            Some("9223372036854775807"),
            "fsync after this many records",
        ),
        &["log.flush.interval.messages"],
    ),
    (
        key(
            "flush.ms",
            int(0, I64_MAX),
            Some("9223372036854775807"),
            "fsync when data is this old",
        ),
        &["log.flush.interval.ms"],
    ),
    (
        key(
            "index.interval.bytes",
            int(0, I32_MAX),
            Some("4096"),
            "bytes between offset-index entries",
        ),
        &["log.index.interval.bytes"],
    ),
    (
        key(
            "max.compaction.lag.ms",
            int(1, I64_MAX),
            Some("9223372036854775807"),
            "records older than this are compacted",
        ),
        &["log.cleaner.max.compaction.lag.ms"],
    ),
    (
        key(
            "max.message.bytes",
            int(0, I32_MAX),
            Some("1048588"),
            "largest record batch accepted",
        ),
        &["message.max.bytes"],
    ),
    (
        key(
            "message.timestamp.type",
            Kind::OneOf(TIMESTAMP_TYPES),
            Some("CreateTime"),
            "CreateTime or LogAppendTime",
        ),
        &["log.message.timestamp.type"],
    ),
    (
        key(
            "message.timestamp.before.max.ms",
            int(0, I64_MAX),
            Some("9223372036854775807"),
            "reject batches older than this",
        ),
        &["log.message.timestamp.before.max.ms"],
    ),
    (
        key(
            "message.timestamp.after.max.ms",
            int(0, I64_MAX),
            Some("3600000"),
            "reject batches this far in the future",
        ),
        &["log.message.timestamp.after.max.ms"],
    ),
    (
        key(
            "min.cleanable.dirty.ratio",
            Kind::Double { min: 0.0, max: 1.0 },
            Some("0.5"),
            "dirty ratio that triggers compaction",
        ),
        &["log.cleaner.min.cleanable.ratio"],
    ),
    (
        key(
            "min.compaction.lag.ms",
            int(0, I64_MAX),
            Some("0"),
            "records younger than this are not compacted",
        ),
        &["log.cleaner.min.compaction.lag.ms"],
    ),
    (
        key(
            "min.insync.replicas",
            int(1, I32_MAX),
            Some("1"),
            "replicas that must have an acks=all write",
        ),
        &["min.insync.replicas"],
    ),
    (
        key(
            "preallocate",
            Kind::Bool,
            Some("false"),
            "preallocate segment files",
        ),
        &["log.preallocate"],
    ),
    (
        key(
            "retention.bytes",
            int(-1, I64_MAX),
            Some("-1"),
            "delete old segments past this size; -1 no limit",
        ),
        &["log.retention.bytes"],
    ),
    (
        key(
            "retention.ms",
            int(-1, I64_MAX),
            Some("604800000"),
            "delete segments older than this; -1 keeps forever",
        ),
        &[
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
    ),
    (
        key(
            "segment.bytes",
            int(14, I32_MAX),
            Some("1073741824"),
            "roll a segment at this size",
        ),
        &["log.segment.bytes"],
    ),
    (
        key(
            "segment.index.bytes",
            int(4, I32_MAX),
            Some("10485760"),
            "largest offset index",
        ),
        &["log.index.size.max.bytes"],
    ),
    (
        key(
            "segment.jitter.ms",
            int(0, I64_MAX),
            Some("0"),
            "random jitter subtracted from the roll age",
        ),
        &["log.roll.jitter.ms"],
    ),
    (
        key(
            "segment.ms",
            int(1, I64_MAX),
            Some("604800000"),
            "roll a segment at this age",
        ),
        &["log.roll.ms", "log.roll.hours"],
    ),
    (
        key(
            "unclean.leader.election.enable",
            Kind::Bool,
            Some("false"),
            "let an out-of-sync replica lead",
        ),
        &["unclean.leader.election.enable"],
    ),
];

/// A listener endpoint, `NAME://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Listener name (`PLAINTEXT`).
    pub name: String,
    /// Host to bind or advertise. Empty means all interfaces when binding.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.name, self.host, self.port)
    }
}

/// The retention policy of a topic (`cleanup.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Old segments are deleted by time and size.
    pub delete: bool,
    /// Old records are compacted by key.
    pub compact: bool,
}

/// How record timestamps are set (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// The producer's timestamp is kept.
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

/// A topic's effective configuration: its overrides resolved over the broker's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `retention.ms`; `None` keeps data forever (-1).
    pub retention_ms: Option<u64>,
    /// `retention.bytes`; `None` is no limit (-1).
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `segment.ms`.
    pub segment_ms: u64,
    /// `max.message.bytes`.
    pub max_message_bytes: u64,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`.
    pub message_timestamp_before_max_ms: u64,
    /// `message.timestamp.after.max.ms`.
    pub message_timestamp_after_max_ms: u64,
    /// `delete.retention.ms`.
    pub delete_retention_ms: u64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: u64,
    /// `flush.messages`; `None` when it is Kafka's "never" (Long.MAX_VALUE).
    pub flush_messages: Option<u64>,
    /// `flush.ms`; `None` when it is Kafka's "never" (Long.MAX_VALUE).
    pub flush_ms: Option<u64>,
    /// `index.interval.bytes`.
    pub index_interval_bytes: u64,
    /// `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// `compression.type`.
    pub compression_type: String,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election_enable: bool,
}

/// One row of a `DescribeConfigs` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The key.
    pub name: &'static str,
    /// The effective value; `None` when unset (Kafka's null).
    pub value: Option<String>,
    /// Where the value came from.
    pub source: ConfigSource,
    /// Every source that sets this key, highest precedence first: `(key, value, source)`.
    pub synonyms: Vec<(String, Option<String>, ConfigSource)>,
}

/// The broker's static configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Every explicitly set broker key and its value (file, environment, flags).
    explicit: BTreeMap<String, String>,
    /// `node.id`.
    pub node_id: i32,
    /// `listeners`.
    pub listeners: Vec<Endpoint>,
    /// `advertised.listeners`, or the listeners with an empty host made `127.0.0.1`.
    pub advertised_listeners: Vec<Endpoint>,
    /// `log.dirs`, or `log.dir`.
    pub log_dirs: Vec<PathBuf>,
    /// `num.partitions`.
    pub num_partitions: u32,
    /// `default.replication.factor`.
    pub default_replication_factor: u16,
    /// `auto.create.topics.enable`.
    pub auto_create_topics_enable: bool,
    /// `delete.topic.enable`.
    pub delete_topic_enable: bool,
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: u32,
    /// `max.connections`.
    pub max_connections: u32,
    /// `connections.max.idle.ms`.
    pub connections_max_idle_ms: u64,
    /// `log.retention.check.interval.ms`.
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.enable`.
    pub log_cleaner_enable: bool,
    /// `offsets.topic.num.partitions`.
    pub offsets_topic_num_partitions: u32,
    /// `offsets.topic.replication.factor`.
    pub offsets_topic_replication_factor: u16,
    /// `offsets.retention.minutes`.
    pub offsets_retention_minutes: u64,
    /// `group.initial.rebalance.delay.ms`.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`.
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`.
    pub group_max_session_timeout_ms: u64,
    /// `group.max.size`.
    pub group_max_size: u32,
    /// `producer.id.expiration.ms`.
    pub producer_id_expiration_ms: u64,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: u64,
    /// `controller.quorum.voters`: empty for a single node without Raft.
    pub controller_quorum_voters: Vec<QuorumVoter>,
    /// `process.roles`, resolved: what this node runs.
    pub process_roles: ProcessRoles,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// `broker.session.timeout.ms`.
    pub broker_session_timeout_ms: u64,
    /// `auto.leader.rebalance.enable`.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`.
    pub leader_imbalance_check_interval_seconds: u64,
    /// `leader.imbalance.per.broker.percentage`.
    pub leader_imbalance_per_broker_percentage: u32,
    /// Defaults for every topic: the topic keys resolved against this broker's settings.
    pub topic_defaults: TopicConfig,
}

/// The outcome of loading a broker configuration: the config and the warnings to log.
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration.
    pub config: BrokerConfig,
    /// Unknown keys and other things worth a warning, one line each.
    pub warnings: Vec<String>,
}

/// The sources of a broker configuration, lowest precedence first.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Entries of the properties file, if one was given.
    pub file: Vec<Property>,
    /// Environment variables (all of them; only `STROM_`-prefixed ones are used).
    pub env: Vec<(String, String)>,
    /// `--override key=value` flags in order.
    pub overrides: Vec<(String, String)>,
}

/// The prefix of environment variables that set broker keys.
pub const ENV_PREFIX: &str = "STROM_";

/// Environment variables with [`ENV_PREFIX`] that are not broker keys (used by tools and tests).
const ENV_NOT_KEYS: &[&str] = &["STROM_LOG"];

impl BrokerConfig {
    /// Builds and validates the configuration from its sources.
    pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
        let mut warnings = Vec::new();
        let mut explicit = BTreeMap::new();
        let from_env = sources.env.iter().filter_map(|(name, value)| {
            let rest = name.strip_prefix(ENV_PREFIX)?;
            if ENV_NOT_KEYS.contains(&name.as_str()) || rest.starts_with("BENCH_") {
                return None;
            }
            Some((env_to_key(rest), value.clone()))
        });
        let entries = sources
            .file
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .chain(from_env)
            .chain(sources.overrides.iter().cloned());
        for (key, value) in entries {
            match broker_key(&key) {
                Some(spec) => {
                    validate(spec, &value)?;
                    explicit.insert(key, value);
                }
                None => warnings.push(format!("unknown configuration {key} is ignored")),
            }
        }
        let config = BrokerConfig::from_explicit(explicit)?;
        Ok(Loaded { config, warnings })
    }

    /// The configuration with every key at its default.
    pub fn defaults() -> BrokerConfig {
        BrokerConfig::from_explicit(BTreeMap::new())
            .expect("the built-in defaults are valid: the unit tests load them")
    }

    fn from_explicit(explicit: BTreeMap<String, String>) -> Result<BrokerConfig, ConfigError> {
        let raw = |name: &str| -> Option<String> {
            explicit
                .get(name)
                .cloned()
                .or_else(|| broker_key(name).and_then(|k| k.default).map(str::to_owned))
        };
        let number = |name: &str| -> Result<i64, ConfigError> {
            let text = raw(name).unwrap_or_default();
            parse_int(name, &text)
        };
        let node_id = match explicit.get("broker.id") {
            Some(id) if !explicit.contains_key("node.id") => parse_int("broker.id", id)?,
            _ => number("node.id")?,
        };
        let listeners = parse_endpoints("listeners", &raw("listeners").unwrap_or_default())?;
        let advertised_listeners = match explicit.get("advertised.listeners") {
            Some(text) => parse_endpoints("advertised.listeners", text)?,
            None => listeners
                .iter()
                .map(|endpoint| Endpoint {
                    // Clients need a concrete address; an IPv4 literal avoids `localhost`
                    // resolving to ::1 on clients while the broker listens on IPv4.
                    host: match endpoint.host.as_str() {
                        "" | "0.0.0.0" => "127.0.0.1".to_owned(),
                        host => host.to_owned(),
                    },
                    ..endpoint.clone()
                })
                .collect(),
        };
        let log_dirs_text = explicit
            .get("log.dirs")
            .cloned()
            .or_else(|| raw("log.dir"))
            .unwrap_or_default();
        let log_dirs: Vec<PathBuf> = split_list(&log_dirs_text).map(PathBuf::from).collect();
        if log_dirs.is_empty() {
            return Err(invalid(
                "log.dirs",
                &log_dirs_text,
                "at least one directory is needed",
            ));
        }
        let bool_of = |name: &str| raw(name).as_deref() == Some("true");
        let topic_defaults = TopicConfig::resolve_with(&explicit, &BTreeMap::new())?;
        let voters_text = raw("controller.quorum.voters").unwrap_or_default();
        let controller_quorum_voters = parse_voters(&voters_text)?;
        let process_roles = ProcessRoles::resolve(
            explicit.get("process.roles").map(String::as_str),
            node_id,
            &controller_quorum_voters,
            &voters_text,
        )?;
        Ok(BrokerConfig {
            node_id: narrow("node.id", node_id)?,
            listeners,
            advertised_listeners,
            log_dirs,
            num_partitions: narrow("num.partitions", number("num.partitions")?)?,
            default_replication_factor: narrow(
                "default.replication.factor",
                number("default.replication.factor")?,
            )?,
            auto_create_topics_enable: bool_of("auto.create.topics.enable"),
            delete_topic_enable: bool_of("delete.topic.enable"),
            socket_request_max_bytes: narrow(
                "socket.request.max.bytes",
                number("socket.request.max.bytes")?,
            )?,
            max_connections: narrow("max.connections", number("max.connections")?)?,
            connections_max_idle_ms: narrow(
                "connections.max.idle.ms",
                number("connections.max.idle.ms")?,
            )?,
            log_retention_check_interval_ms: narrow(
                "log.retention.check.interval.ms",
                number("log.retention.check.interval.ms")?,
            )?,
            log_cleaner_enable: bool_of("log.cleaner.enable"),
            offsets_topic_num_partitions: narrow(
                "offsets.topic.num.partitions",
                number("offsets.topic.num.partitions")?,
            )?,
            offsets_topic_replication_factor: narrow(
                "offsets.topic.replication.factor",
                number("offsets.topic.replication.factor")?,
            )?,
            offsets_retention_minutes: narrow(
                "offsets.retention.minutes",
                number("offsets.retention.minutes")?,
            )?,
            group_initial_rebalance_delay_ms: narrow(
                "group.initial.rebalance.delay.ms",
                number("group.initial.rebalance.delay.ms")?,
            )?,
            group_min_session_timeout_ms: narrow(
                "group.min.session.timeout.ms",
                number("group.min.session.timeout.ms")?,
            )?,
            group_max_session_timeout_ms: narrow(
                "group.max.session.timeout.ms",
                number("group.max.session.timeout.ms")?,
            )?,
            group_max_size: narrow("group.max.size", number("group.max.size")?)?,
            producer_id_expiration_ms: narrow(
                "producer.id.expiration.ms",
                number("producer.id.expiration.ms")?,
            )?,
            replica_lag_time_max_ms: narrow(
                "replica.lag.time.max.ms",
                number("replica.lag.time.max.ms")?,
            )?,
            controller_quorum_voters,
            process_roles,
            broker_heartbeat_interval_ms: narrow(
                "broker.heartbeat.interval.ms",
                number("broker.heartbeat.interval.ms")?,
            )?,
            broker_session_timeout_ms: narrow(
                "broker.session.timeout.ms",
                number("broker.session.timeout.ms")?,
            )?,
            auto_leader_rebalance_enable: bool_of("auto.leader.rebalance.enable"),
            leader_imbalance_check_interval_seconds: narrow(
                "leader.imbalance.check.interval.seconds",
                number("leader.imbalance.check.interval.seconds")?,
            )?,
            leader_imbalance_per_broker_percentage: narrow(
                "leader.imbalance.per.broker.percentage",
                number("leader.imbalance.per.broker.percentage")?,
            )?,
            topic_defaults,
            explicit,
        })
    }

    /// The effective configuration of a topic with the given overrides (keys already validated
    /// by [`validate_topic_overrides`]).
    pub fn topic_config(
        &self,
        overrides: &BTreeMap<String, String>,
    ) -> Result<TopicConfig, ConfigError> {
        TopicConfig::resolve_with(&self.explicit, overrides)
    }

    /// Every topic key with its effective value and source, for `DescribeConfigs` on a topic.
    pub fn describe_topic(&self, overrides: &BTreeMap<String, String>) -> Vec<ConfigEntry> {
        TOPIC_KEYS
            .iter()
            .map(|(spec, synonyms)| {
                let mut found = Vec::new();
                if let Some(value) = overrides.get(spec.name) {
                    found.push((
                        spec.name.to_owned(),
                        Some(value.clone()),
                        ConfigSource::DynamicTopic,
                    ));
                }
                for synonym in *synonyms {
                    if let Some(value) = self.explicit.get(*synonym) {
                        found.push((
                            (*synonym).to_owned(),
                            Some(value.clone()),
                            ConfigSource::StaticBroker,
                        ));
                    }
                }
                let default = synonyms
                    .iter()
                    .find_map(|s| broker_key(s).and_then(|k| k.default).map(|d| (*s, d)));
                if let Some((synonym, value)) = default {
                    found.push((
                        synonym.to_owned(),
                        Some(value.to_owned()),
                        ConfigSource::Default,
                    ));
                }
                let value = overrides
                    .get(spec.name)
                    .cloned()
                    .or_else(|| topic_value_from_broker(&self.explicit, synonyms));
                let source = match found.first() {
                    Some((_, _, source)) => *source,
                    None => ConfigSource::Default,
                };
                ConfigEntry {
                    name: spec.name,
                    value: value.or_else(|| spec.default.map(str::to_owned)),
                    source,
                    synonyms: found,
                }
            })
            .collect()
    }

    /// Every broker key with its value and source, for `DescribeConfigs` on a broker.
    pub fn describe_broker(&self) -> Vec<ConfigEntry> {
        BROKER_KEYS
            .iter()
            .map(|spec| {
                let (value, source) = match self.explicit.get(spec.name) {
                    Some(value) => (Some(value.clone()), ConfigSource::StaticBroker),
                    None => (spec.default.map(str::to_owned), ConfigSource::Default),
                };
                ConfigEntry {
                    name: spec.name,
                    value: value.clone(),
                    source,
                    synonyms: vec![(spec.name.to_owned(), value, source)],
                }
            })
            .collect()
    }
}

/// Checks topic overrides (from CreateTopics, AlterConfigs, IncrementalAlterConfigs): every key
/// must be a topic key and every value valid for it.
pub fn validate_topic_overrides<'a>(
    overrides: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), ConfigError> {
    for (name, value) in overrides {
        let Some((spec, _)) = TOPIC_KEYS.iter().find(|(spec, _)| spec.name == name) else {
            return Err(ConfigError::UnknownTopicConfig {
                key: name.to_owned(),
            });
        };
        validate(spec, value)?;
    }
    Ok(())
}

impl TopicConfig {
    fn resolve_with(
        broker: &BTreeMap<String, String>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<TopicConfig, ConfigError> {
        let text = |name: &str| -> String {
            if let Some(value) = overrides.get(name) {
                return value.clone();
            }
            let Some((spec, synonyms)) = TOPIC_KEYS.iter().find(|(spec, _)| spec.name == name)
            else {
                return String::new();
            };
            topic_value_from_broker(broker, synonyms)
                .or_else(|| spec.default.map(str::to_owned))
                .unwrap_or_default()
        };
        let number = |name: &str| parse_int(name, &text(name));
        let non_negative = |name: &str| -> Result<u64, ConfigError> { narrow(name, number(name)?) };
        let optional = |name: &str| -> Result<Option<u64>, ConfigError> {
            let value = number(name)?;
            Ok(u64::try_from(value).ok())
        };
        let never_is_none = |name: &str| -> Result<Option<u64>, ConfigError> {
            let value = number(name)?;
            Ok((value != i64::MAX).then_some(value as u64))
        };
        let policy = text("cleanup.policy");
        let cleanup_policy = CleanupPolicy {
            delete: split_list(&policy).any(|p| p == "delete"),
            compact: split_list(&policy).any(|p| p == "compact"),
        };
        let message_timestamp_type = match text("message.timestamp.type").as_str() {
            "LogAppendTime" => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        };
        Ok(TopicConfig {
            cleanup_policy,
            retention_ms: optional("retention.ms")?,
            retention_bytes: optional("retention.bytes")?,
            segment_bytes: non_negative("segment.bytes")?,
            segment_ms: non_negative("segment.ms")?,
            max_message_bytes: non_negative("max.message.bytes")?,
            message_timestamp_type,
            message_timestamp_before_max_ms: non_negative("message.timestamp.before.max.ms")?,
            message_timestamp_after_max_ms: non_negative("message.timestamp.after.max.ms")?,
            delete_retention_ms: non_negative("delete.retention.ms")?,
            min_compaction_lag_ms: non_negative("min.compaction.lag.ms")?,
            flush_messages: never_is_none("flush.messages")?,
            flush_ms: never_is_none("flush.ms")?,
            index_interval_bytes: non_negative("index.interval.bytes")?,
            min_insync_replicas: narrow("min.insync.replicas", number("min.insync.replicas")?)?,
            compression_type: text("compression.type"),
            unclean_leader_election_enable: text("unclean.leader.election.enable") == "true",
        })
    }
}

/// The broker's explicit value for a topic key, following its synonyms in order, converted to
/// the topic key's unit (hours and minutes become milliseconds).
fn topic_value_from_broker(broker: &BTreeMap<String, String>, synonyms: &[&str]) -> Option<String> {
    for synonym in synonyms {
        let Some(value) = broker.get(*synonym) else {
            continue;
        };
        let scale: i64 = if synonym.ends_with(".hours") {
            3_600_000
        } else if synonym.ends_with(".minutes") {
            60_000
        } else {
            1
        };
        let converted = if scale == 1 {
            value.clone()
        } else {
            match value.trim().parse::<i64>() {
                Ok(-1) => "-1".to_owned(),
                Ok(n) => n.saturating_mul(scale).to_string(),
                Err(_) => value.clone(),
            }
        };
        return Some(converted);
    }
    None
}

fn broker_key(name: &str) -> Option<&'static ConfigKey> {
    BROKER_KEYS.iter().find(|spec| spec.name == name)
}

/// `LOG_DIRS` → `log.dirs`; `__` stands for a literal `_`.
fn env_to_key(rest: &str) -> String {
    rest.to_ascii_lowercase()
        .split("__")
        .map(|part| part.replace('_', "."))
        .collect::<Vec<_>>()
        .join("_")
}

fn validate(spec: &ConfigKey, value: &str) -> Result<(), ConfigError> {
    let value_trimmed = value.trim();
    match spec.kind {
        Kind::Bool => match value_trimmed {
            "true" | "false" => Ok(()),
            _ => Err(invalid(spec.name, value, "expected true or false")),
        },
        Kind::Int { min, max } => {
            let n = parse_int(spec.name, value)?;
            if n < min || n > max {
                return Err(invalid(
                    spec.name,
                    value,
                    &format!("must be between {min} and {max}"),
                ));
            }
            Ok(())
        }
        Kind::Double { min, max } => match value_trimmed.parse::<f64>() {
            Ok(x) if (min..=max).contains(&x) => Ok(()),
            Ok(_) => Err(invalid(
                spec.name,
                value,
                &format!("must be between {min} and {max}"),
            )),
            Err(_) => Err(invalid(spec.name, value, "expected a number")),
        },
        Kind::Text => Ok(()),
        Kind::OneOf(allowed) => {
            if allowed.contains(&value_trimmed) {
                return Ok(());
            }
            Err(invalid(
                spec.name,
                value,
                &format!("expected one of {}", allowed.join(", ")),
            ))
        }
        Kind::ListOf(allowed) => {
            let mut any = false;
            for item in split_list(value) {
                any = true;
                if !allowed.contains(&item) {
                    return Err(invalid(
                        spec.name,
                        value,
                        &format!("{item:?} is not one of {}", allowed.join(", ")),
                    ));
                }
            }
            if !any {
                return Err(invalid(spec.name, value, "the list is empty"));
            }
            Ok(())
        }
    }
}

fn parse_int(name: &str, value: &str) -> Result<i64, ConfigError> {
    value
        .trim()
        .parse::<i64>()
        .map_err(|_| invalid(name, value, "expected an integer"))
}

fn narrow<T: TryFrom<i64>>(name: &str, value: i64) -> Result<T, ConfigError> {
    T::try_from(value).map_err(|_| invalid(name, &value.to_string(), "out of range"))
}

fn invalid(key: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// What a node runs (`process.roles`, KIP-631), after Kafka's rules were checked against
/// `node.id` and `controller.quorum.voters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessRoles {
    /// `process.roles` unset and no `controller.quorum.voters`: one node that is its own
    /// controller, without Raft (the single-node default).
    SingleNode,
    /// `broker,controller` (or unset with voters): a voter of the quorum that also serves clients
    /// and holds partitions.
    Combined,
    /// `broker`: serves clients and holds partitions; follows the metadata log as a non-voting
    /// learner. Its node id is not a voter.
    Broker,
    /// `controller`: a voter of the quorum only; no client listener, no partitions.
    Controller,
}

impl ProcessRoles {
    /// Applies Kafka's rules: with `process.roles` unset a node is a single node (no voters) or
    /// combined (voters); a role list naming `controller` needs `node.id` among the voters;
    /// `broker` alone needs voters that do not include `node.id`; a role may appear once.
    fn resolve(
        roles: Option<&str>,
        node_id: i64,
        voters: &[QuorumVoter],
        voters_text: &str,
    ) -> Result<ProcessRoles, ConfigError> {
        const KEY: &str = "process.roles";
        let is_voter = voters.iter().any(|voter| i64::from(voter.id) == node_id);
        let Some(roles) = roles else {
            if voters.is_empty() {
                return Ok(ProcessRoles::SingleNode);
            }
            if !is_voter {
                return Err(invalid(
                    "controller.quorum.voters",
                    voters_text,
                    "this node (node.id) is not one of the voters: set process.roles=broker for \
                     a broker-only node",
                ));
            }
            return Ok(ProcessRoles::Combined);
        };
        let (mut broker, mut controller) = (false, false);
        for role in split_list(roles) {
            let seen = match role {
                "broker" => std::mem::replace(&mut broker, true),
                "controller" => std::mem::replace(&mut controller, true),
                other => return Err(invalid(KEY, roles, &format!("unknown role {other:?}"))),
            };
            if seen {
                return Err(invalid(
                    KEY,
                    roles,
                    &format!("the role {role} appears twice"),
                ));
            }
        }
        if controller && !is_voter {
            return Err(invalid(
                KEY,
                roles,
                &format!(
                    "a node with the controller role must be one of controller.quorum.voters, \
                     and node.id {node_id} is not"
                ),
            ));
        }
        if broker && !controller {
            if voters.is_empty() {
                return Err(invalid(
                    KEY,
                    roles,
                    "a broker-only node needs controller.quorum.voters to find the controllers",
                ));
            }
            if is_voter {
                return Err(invalid(
                    KEY,
                    roles,
                    &format!(
                        "a broker-only node must not be one of controller.quorum.voters, and \
                         node.id {node_id} is"
                    ),
                ));
            }
        }
        match (broker, controller) {
            (true, true) => Ok(ProcessRoles::Combined),
            (true, false) => Ok(ProcessRoles::Broker),
            (false, true) => Ok(ProcessRoles::Controller),
            (false, false) => Err(invalid(KEY, roles, "the list is empty")),
        }
    }

    /// Whether this node serves clients and holds partitions.
    pub fn is_broker(self) -> bool {
        !matches!(self, ProcessRoles::Controller)
    }

    /// Whether this node votes in the controller quorum.
    pub fn is_voter(self) -> bool {
        matches!(self, ProcessRoles::Combined | ProcessRoles::Controller)
    }
}

/// One member of `controller.quorum.voters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumVoter {
    /// Its node id.
    pub id: i32,
    /// The host its quorum listener is on.
    pub host: String,
    /// The port of its quorum listener.
    pub port: u16,
}

/// Parses `id@host:port,...` (Kafka's `controller.quorum.voters` syntax).
fn parse_voters(text: &str) -> Result<Vec<QuorumVoter>, ConfigError> {
    const KEY: &str = "controller.quorum.voters";
    let mut res: Vec<QuorumVoter> = Vec::new();
    for item in split_list(text) {
        let shape = || invalid(KEY, text, "expected id@host:port, comma-separated");
        let (id, address) = item.split_once('@').ok_or_else(shape)?;
        let (host, port) = address.rsplit_once(':').ok_or_else(shape)?;
        let id: i32 = id
            .parse()
            .ok()
            .filter(|id| *id >= 0)
            .ok_or_else(|| invalid(KEY, text, "a voter id must be a number from 0"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| invalid(KEY, text, "the port must be a number from 0 to 65535"))?;
        if res.iter().any(|voter| voter.id == id) {
            return Err(invalid(KEY, text, "a voter id appears twice"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        res.push(QuorumVoter {
            id,
            host: host.to_owned(),
            port,
        });
    }
    Ok(res)
}

fn parse_endpoints(key: &str, text: &str) -> Result<Vec<Endpoint>, ConfigError> {
    let mut res = Vec::new();
    for item in split_list(text) {
        let Some((name, address)) = item.split_once("://") else {
            return Err(invalid(key, text, "expected NAME://host:port"));
        };
        let Some((host, port)) = address.rsplit_once(':') else {
            return Err(invalid(key, text, "expected NAME://host:port"));
        };
        let port: u16 = port
            .parse()
            .map_err(|_| invalid(key, text, "the port must be a number from 0 to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if name.is_empty() {
            return Err(invalid(key, text, "the listener name is empty"));
        }
        res.push(Endpoint {
            name: name.to_owned(),
            host: host.to_owned(),
            port,
        });
    }
    if res.is_empty() {
        return Err(invalid(key, text, "at least one listener is needed"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use expect_test::{Expect, expect};

    use super::*;

    fn sources(file: &str, env: &[(&str, &str)], overrides: &[(&str, &str)]) -> Sources {
        Sources {
            file: parse_properties(file),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            overrides: overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[track_caller]
    fn check_error(file: &str, expect: Expect) {
        let res = BrokerConfig::load(&sources(file, &[], &[])).map(|_| ());
        expect.assert_eq(&res.err().map(|e| e.to_string()).unwrap_or_default());
    }

    #[test]
    fn defaults_give_a_usable_single_node() {
        let config = BrokerConfig::defaults();
        assert_eq!(config.node_id, 1);
        assert_eq!(
            config.listeners[0].to_string(),
            "PLAINTEXT://127.0.0.1:9092"
        );
        assert_eq!(config.advertised_listeners, config.listeners);
        assert_eq!(config.log_dirs, vec![PathBuf::from("./strom-data")]);
        assert_eq!(config.topic_defaults.retention_ms, Some(7 * 24 * 3_600_000));
        assert_eq!(config.topic_defaults.segment_bytes, 1 << 30);
        assert_eq!(config.topic_defaults.max_message_bytes, 1_048_588);
        assert_eq!(config.topic_defaults.flush_messages, None);
        assert!(config.topic_defaults.cleanup_policy.delete);
        assert!(!config.topic_defaults.cleanup_policy.compact);
    }

    #[test]
    fn precedence_file_then_env_then_flags() {
        let loaded = BrokerConfig::load(&sources(
            "num.partitions=2\nlog.dirs=/file\nmystery.key=1\n",
            &[
                ("STROM_NUM_PARTITIONS", "3"),
                ("STROM_LOG_DIRS", "/env"),
                ("HOME", "/root"),
            ],
            &[("num.partitions", "4")],
        ))
        .unwrap();
        assert_eq!(loaded.config.num_partitions, 4);
        assert_eq!(loaded.config.log_dirs, vec![PathBuf::from("/env")]);
        assert_eq!(
            loaded.warnings,
            vec!["unknown configuration mystery.key is ignored".to_owned()]
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        check_error(
            "num.partitions=zero",
            expect![[
                r#"invalid value "zero" for configuration num.partitions: expected an integer"#
            ]],
        );
        check_error(
            "num.partitions=0",
            expect![[
                r#"invalid value "0" for configuration num.partitions: must be between 1 and 2147483647"#
            ]],
        );
        check_error(
            "auto.create.topics.enable=yes",
            expect![[
                r#"invalid value "yes" for configuration auto.create.topics.enable: expected true or false"#
            ]],
        );
        check_error(
            "log.cleanup.policy=delete,shred",
            expect![[
                r#"invalid value "delete,shred" for configuration log.cleanup.policy: "shred" is not one of delete, compact"#
            ]],
        );
        check_error(
            "listeners=127.0.0.1:9092",
            expect![[
                r#"invalid value "127.0.0.1:9092" for configuration listeners: expected NAME://host:port"#
            ]],
        );
        check_error(
            "listeners=PLAINTEXT://:99999",
            expect![[
                r#"invalid value "PLAINTEXT://:99999" for configuration listeners: the port must be a number from 0 to 65535"#
            ]],
        );
        check_error(
            "controller.quorum.voters=1@127.0.0.1",
            expect![[
                r#"invalid value "1@127.0.0.1" for configuration controller.quorum.voters: expected id@host:port, comma-separated"#
            ]],
        );
        check_error(
            "controller.quorum.voters=1@a:1,1@b:2",
            expect![[
                r#"invalid value "1@a:1,1@b:2" for configuration controller.quorum.voters: a voter id appears twice"#
            ]],
        );
        check_error(
            "controller.quorum.voters=2@a:1,3@b:2",
            expect![[
                r#"invalid value "2@a:1,3@b:2" for configuration controller.quorum.voters: this node (node.id) is not one of the voters: set process.roles=broker for a broker-only node"#
            ]],
        );
    }

    fn check_roles(file: &str, expect: Expect) {
        let res = BrokerConfig::load(&sources(file, &[], &[]));
        let shown = match res {
            Ok(loaded) => format!("{:?}", loaded.config.process_roles),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn process_roles_follow_kafkas_rules() {
        // Unset: a single node without voters, combined with them.
        check_roles("", expect!["SingleNode"]);
        check_roles(
            "node.id=2\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect!["Combined"],
        );
        // Each role, where it fits.
        check_roles(
            "node.id=2\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect!["Combined"],
        );
        check_roles(
            "node.id=2\nprocess.roles=controller, broker\ncontroller.quorum.voters=2@b:2\n",
            expect!["Combined"],
        );
        check_roles(
            "node.id=2\nprocess.roles=controller\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect!["Controller"],
        );
        check_roles(
            "node.id=4\nprocess.roles=broker\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect!["Broker"],
        );
        // A controller must be a voter.
        check_roles(
            "node.id=4\nprocess.roles=controller\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect![[
                r#"invalid value "controller" for configuration process.roles: a node with the controller role must be one of controller.quorum.voters, and node.id 4 is not"#
            ]],
        );
        check_roles(
            "node.id=4\nprocess.roles=broker,controller\ncontroller.quorum.voters=1@a:1\n",
            expect![[
                r#"invalid value "broker,controller" for configuration process.roles: a node with the controller role must be one of controller.quorum.voters, and node.id 4 is not"#
            ]],
        );
        check_roles(
            "process.roles=broker,controller\n",
            expect![[
                r#"invalid value "broker,controller" for configuration process.roles: a node with the controller role must be one of controller.quorum.voters, and node.id 1 is not"#
            ]],
        );
        // A broker-only node must not be a voter, and needs voters.
        check_roles(
            "node.id=1\nprocess.roles=broker\ncontroller.quorum.voters=1@a:1,2@b:2\n",
            expect![[
                r#"invalid value "broker" for configuration process.roles: a broker-only node must not be one of controller.quorum.voters, and node.id 1 is"#
            ]],
        );
        check_roles(
            "node.id=4\nprocess.roles=broker\n",
            expect![[
                r#"invalid value "broker" for configuration process.roles: a broker-only node needs controller.quorum.voters to find the controllers"#
            ]],
        );
        // Unknown, repeated or no roles.
        check_roles(
            "process.roles=broker,observer\ncontroller.quorum.voters=2@b:2\n",
            expect![[
                r#"invalid value "broker,observer" for configuration process.roles: "observer" is not one of broker, controller"#
            ]],
        );
        check_roles(
            "node.id=4\nprocess.roles=broker,broker\ncontroller.quorum.voters=2@b:2\n",
            expect![[
                r#"invalid value "broker,broker" for configuration process.roles: the role broker appears twice"#
            ]],
        );
        check_roles(
            "process.roles=\n",
            expect![[r#"invalid value "" for configuration process.roles: the list is empty"#]],
        );
    }

    #[test]
    fn empty_listener_host_is_advertised_as_ipv4_loopback() {
        let loaded =
            BrokerConfig::load(&sources("listeners=PLAINTEXT://:9093\n", &[], &[])).unwrap();
        assert_eq!(loaded.config.listeners[0].host, "");
        assert_eq!(
            loaded.config.advertised_listeners[0].to_string(),
            "PLAINTEXT://127.0.0.1:9093"
        );
    }

    #[test]
    fn retention_synonyms_convert_units_and_respect_precedence() {
        let hours = BrokerConfig::load(&sources("log.retention.hours=1\n", &[], &[]))
            .unwrap()
            .config;
        assert_eq!(hours.topic_defaults.retention_ms, Some(3_600_000));
        let both = BrokerConfig::load(&sources(
            "log.retention.hours=1\nlog.retention.minutes=2\n",
            &[],
            &[],
        ))
        .unwrap()
        .config;
        assert_eq!(both.topic_defaults.retention_ms, Some(120_000));
        let forever = BrokerConfig::load(&sources("log.retention.ms=-1\n", &[], &[]))
            .unwrap()
            .config;
        assert_eq!(forever.topic_defaults.retention_ms, None);
    }

    #[test]
    fn topic_overrides_win_and_are_described_with_sources() {
        let config = BrokerConfig::load(&sources("log.retention.hours=2\n", &[], &[]))
            .unwrap()
            .config;
        let overrides: BTreeMap<String, String> =
            [("cleanup.policy".to_owned(), "compact,delete".to_owned())].into();
        let topic = config.topic_config(&overrides).unwrap();
        assert!(topic.cleanup_policy.compact && topic.cleanup_policy.delete);
        let described: Vec<String> = config
            .describe_topic(&overrides)
            .into_iter()
            .filter(|e| ["cleanup.policy", "retention.ms", "segment.bytes"].contains(&e.name))
            .map(|e| format!("{}={:?} {:?}", e.name, e.value, e.source))
            .collect();
        expect![[r#"
            [
                "cleanup.policy=Some(\"compact,delete\") DynamicTopic",
                "retention.ms=Some(\"7200000\") StaticBroker",
                "segment.bytes=Some(\"1073741824\") Default",
            ]
        "#]]
        .assert_debug_eq(&described);
    }

    #[test]
    fn topic_override_validation() {
        assert!(validate_topic_overrides([("retention.ms", "1000")]).is_ok());
        assert_eq!(
            validate_topic_overrides([("retention.hours", "1")]),
            Err(ConfigError::UnknownTopicConfig {
                key: "retention.hours".to_owned()
            })
        );
        assert!(matches!(
            validate_topic_overrides([("segment.bytes", "10")]),
            Err(ConfigError::InvalidValue { .. })
        ));
    }

    #[test]
    fn env_names_map_to_keys() {
        assert_eq!(env_to_key("LOG_DIRS"), "log.dirs");
        assert_eq!(env_to_key("SOME__UNDER_SCORE"), "some_under.score");
    }

    #[test]
    fn every_default_is_valid_for_its_key() {
        for spec in BROKER_KEYS
            .iter()
            .chain(TOPIC_KEYS.iter().map(|(spec, _)| spec))
        {
            if let Some(default) = spec.default {
                assert!(validate(spec, default).is_ok(), "{}", spec.name);
            }
        }
        for (spec, synonyms) in TOPIC_KEYS {
            for synonym in *synonyms {
                assert!(broker_key(synonym).is_some(), "{} -> {synonym}", spec.name);
            }
        }
    }
}
