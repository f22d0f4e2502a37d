//! The one error type of the client core. Each variant says what went wrong and
//! [`Error::is_retriable`] says whether sending the same request again can help. It does not
//! decide what to retry: the caller (producer, consumer, [`crate::Client`]) does.

use std::sync::Arc;
use std::time::Duration;

use strom_protocol::{ApiKey, ErrorCode};

use crate::BrokerId;

/// Errors of the client core.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// A TCP connection could not be opened.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address tried.
        addr: String,
        /// The cause.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// Reading or writing an open connection failed.
    #[error("connection to {addr} failed")]
    Io {
        /// The broker's address.
        addr: String,
        /// The cause.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The connection was closed (by the broker, by a timeout, or after a protocol error) before
    /// the response arrived.
    #[error("connection to {addr} closed before the response arrived")]
    ConnectionClosed {
        /// The broker's address.
        addr: String,
    },
    /// No response arrived within the request timeout; the connection is closed, as Kafka's
    /// clients do, because responses arrive in order and a late one would block the rest.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// A frame from the broker could not be decoded, or a request could not be encoded.
    #[error("malformed message")]
    Protocol(#[source] Arc<strom_protocol::Error>),
    /// A response carried a correlation id that no request in flight has; the connection is
    /// closed because nothing after it can be trusted.
    #[error("response with unknown correlation id {0}")]
    UnknownCorrelationId(i32),
    /// The broker supports no version of the API that this client speaks.
    #[error("broker supports no version of {0:?} that this client speaks")]
    UnsupportedApi(ApiKey),
    /// The broker answered with a Kafka error code.
    #[error("broker answered {}", .0.name())]
    Broker(ErrorCode),
    /// The broker answered with an error code that Kafka does not define.
    #[error("broker answered unknown error code {0}")]
    UnknownErrorCode(i16),
    /// The broker answered with a response of another API than the request.
    #[error("expected a {expected:?} response, got {actual:?}")]
    UnexpectedResponse {
        /// The API of the request.
        expected: ApiKey,
        /// The API of the response.
        actual: ApiKey,
    },
    /// None of the bootstrap servers answered.
    #[error("no broker reachable among {0:?}")]
    NoBrokerAvailable(Vec<String>),
    /// Metadata names no address for the broker.
    #[error("broker {0} is not in the metadata")]
    UnknownBroker(BrokerId),
    /// The partition has no leader in the current metadata.
    #[error("partition {topic}-{partition} has no leader")]
    NoLeader {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether sending the same request again (after a metadata refresh and a backoff) may
    /// succeed: network failures, timeouts, a missing leader, and Kafka's retriable codes.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connect { .. }
            | Error::Io { .. }
            | Error::ConnectionClosed { .. }
            | Error::Timeout(_)
            | Error::UnknownCorrelationId(_)
            | Error::NoBrokerAvailable(_)
            | Error::UnknownBroker(_)
            | Error::NoLeader { .. } => true,
            Error::Broker(code) => code.is_retriable(),
            Error::Protocol(_)
            | Error::UnsupportedApi(_)
            | Error::UnknownErrorCode(_)
            | Error::UnexpectedResponse { .. }
            | Error::Config(_) => false,
        }
    }

    /// Whether the error means the cached metadata is probably wrong (a leader moved, a topic
    /// appeared or vanished, a broker went away).
    pub fn invalidates_metadata(&self) -> bool {
        match self {
            Error::Broker(code) => code_invalidates_metadata(*code),
            Error::Connect { .. }
            | Error::Io { .. }
            | Error::ConnectionClosed { .. }
            | Error::UnknownBroker(_)
            | Error::NoLeader { .. } => true,
            _ => false,
        }
    }
}

impl From<strom_protocol::Error> for Error {
    fn from(error: strom_protocol::Error) -> Error {
        Error::Protocol(Arc::new(error))
    }
}

/// Checks a wire error code: `Ok` for NONE, the typed error otherwise.
pub fn check_code(code: i16) -> Result<()> {
    match ErrorCode::try_from(code) {
        Ok(ErrorCode::None) => Ok(()),
        Ok(code) => Err(Error::Broker(code)),
        Err(_) => Err(Error::UnknownErrorCode(code)),
    }
}

/// Whether a partition-level error code means the metadata cache should be refreshed.
pub fn code_invalidates_metadata(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::NotController
            | ErrorCode::NotCoordinator
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_typed_errors() {
        assert!(check_code(0).is_ok());
        let error = check_code(6).unwrap_err();
        assert!(matches!(
            error,
            Error::Broker(ErrorCode::NotLeaderOrFollower)
        ));
        assert!(error.is_retriable());
        assert!(error.invalidates_metadata());
        assert_eq!(error.to_string(), "broker answered NOT_LEADER_OR_FOLLOWER");
        let error = check_code(1).unwrap_err();
        assert!(!error.is_retriable());
        assert!(!error.invalidates_metadata());
        assert!(matches!(
            check_code(9999),
            Err(Error::UnknownErrorCode(9999))
        ));
        assert!(Error::Timeout(Duration::from_secs(1)).is_retriable());
        assert!(!Error::UnsupportedApi(ApiKey::Produce).is_retriable());
    }
}
