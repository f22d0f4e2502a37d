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
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether polling again (after a backoff) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Client(error) => error.is_retriable(),
            Error::Broker { code, .. } => code.is_retriable(),
            Error::OffsetOutOfRange { .. }
            | Error::NoOffset(_)
            | Error::NotAssigned(_)
            | Error::Corrupt { .. }
            | Error::RecordTooLarge { .. }
            | Error::Config(_) => false,
        }
    }
}
