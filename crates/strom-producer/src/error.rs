//! The producer's one error type: what went wrong with a record or with the producer, and
//! whether trying again later may help. Cloneable, because one failure completes every record
//! of a batch.

use std::time::Duration;

use strom_protocol::ErrorCode;

/// Errors of the producer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The client core failed (connection, timeout, metadata, version negotiation).
    #[error("client error")]
    Client(#[from] strom_client::Error),
    /// The broker rejected the batch with a Kafka error code that retrying does not fix (or the
    /// retries ran out of time).
    #[error("broker rejected the batch with {}", .0.name())]
    Broker(ErrorCode),
    /// The record was not acknowledged within `delivery.timeout.ms`.
    #[error("record not delivered within delivery.timeout.ms ({0:?})")]
    DeliveryTimeout(Duration),
    /// `send` waited `max.block.ms` for buffer memory or metadata.
    #[error("waited max.block.ms ({0:?}) for {1}")]
    Blocked(Duration, &'static str),
    /// The record can never be sent: it is larger than `max.request.size` or `buffer.memory`.
    #[error("record of {size} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// The record's estimated size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The record names a partition the topic does not have.
    #[error("topic {topic} has no partition {partition}")]
    InvalidPartition {
        /// The topic.
        topic: String,
        /// The partition asked for.
        partition: i32,
    },
    /// A record batch could not be built.
    #[error("cannot build a record batch")]
    Record(#[from] strom_record::Error),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The producer was closed before the record was sent.
    #[error("producer is closed")]
    Closed,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether sending the record again (as a new record) may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Client(error) => error.is_retriable(),
            Error::Broker(code) => code.is_retriable(),
            Error::DeliveryTimeout(_) | Error::Blocked(..) => true,
            Error::RecordTooLarge { .. }
            | Error::InvalidPartition { .. }
            | Error::Record(_)
            | Error::Config(_)
            | Error::Closed => false,
        }
    }
}
