//! The consumer's one error type: what went wrong, for which partition, and whether polling
//! again may help.

use strom_client::TopicPartition;
use strom_protocol::ErrorCode;
use strom_record::Offset;

/// Errors of the consumer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The client core failed (connection, timeout, metadata, version negotiation).
    #[error("client error")]
    Client(#[from] strom_client::Error),
    /// The broker answered a fetch or offset lookup for a partition with an error that
    /// retrying does not fix.
    #[error("broker answered {} for {topic_partition}", .code.name())]
    Broker {
        /// The partition.
        topic_partition: TopicPartition,
        /// The error code.
        code: ErrorCode,
    },
    /// The position is outside the partition's log and `auto.offset.reset` is `none`.
    #[error("offset {offset} is out of range for {topic_partition} and auto.offset.reset is none")]
    OffsetOutOfRange {
        /// The partition.
        topic_partition: TopicPartition,
        /// The position that was out of range.
        offset: Offset,
    },
    /// The partition has no position and `auto.offset.reset` is `none`.
    #[error("no position for {0} and auto.offset.reset is none")]
    NoOffset(TopicPartition),
    /// The partition is not assigned to this consumer.
    #[error("partition {0} is not assigned")]
    NotAssigned(TopicPartition),
    /// Fetched data did not decode (bad CRC, bad record, decompression failure).
    #[error("corrupt data fetched from {topic_partition}")]
    Corrupt {
        /// The partition.
        topic_partition: TopicPartition,
        /// What was wrong.
        #[source]
        source: strom_record::Error,
    },
    /// The next batch at the position is larger than `max.partition.fetch.bytes` and the
    /// broker returned only part of it.
    #[error("batch at offset {offset} of {topic_partition} is larger than the fetch size")]
    RecordTooLarge {
        /// The partition.
        topic_partition: TopicPartition,
        /// The position.
        offset: Offset,
    },
    /// A configuration value is invalid, or an operation needs a setting that is missing
    /// (`subscribe` or a commit without `group.id`).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The group coordinator refused to let this consumer join or stay (for example
    /// INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED,
    /// GROUP_AUTHORIZATION_FAILED).
    #[error("group {group_id} answered {}", .code.name())]
    Group {
        /// The group.
        group_id: String,
        /// The error code.
        code: ErrorCode,
    },
    /// An offset commit was refused: REBALANCE_IN_PROGRESS (retry after the next poll), or
    /// UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION (the member lost its partitions; what it
    /// processed since the last commit will be read again by their new owner), or a
    /// partition-level error such as OFFSET_METADATA_TOO_LARGE.
    #[error("offset commit failed: {}", .code.name())]
    CommitFailed {
        /// The error code.
        code: ErrorCode,
    },
    /// Another consumer joined with the same `group.instance.id`; this one is fenced for good.
    #[error("group.instance.id {0} was taken over by another consumer")]
    Fenced(String),
    /// A subscription or assignment (ConsumerProtocol bytes) could not be encoded or decoded.
    #[error("bad consumer protocol data")]
    ConsumerProtocol(#[from] strom_group::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether polling again (after a backoff) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Client(error) => error.is_retriable(),
            Error::Broker { code, .. } | Error::Group { code, .. } => code.is_retriable(),
            Error::CommitFailed { code } => *code == ErrorCode::RebalanceInProgress,
            Error::OffsetOutOfRange { .. }
            | Error::NoOffset(_)
            | Error::NotAssigned(_)
            | Error::Corrupt { .. }
            | Error::RecordTooLarge { .. }
            | Error::Config(_)
            | Error::Fenced(_)
            | Error::ConsumerProtocol(_) => false,
        }
    }
}
