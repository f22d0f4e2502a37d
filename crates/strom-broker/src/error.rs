//! The crate's one error type: what can stop the broker from starting or from completing an
//! operation on its storage. Per-request problems are not errors here: handlers answer them with
//! Kafka error codes (`strom_protocol::ErrorCode`), mapped from these variants in the handler
//! layer.

use std::io;

use crate::config::ConfigError;

/// Errors of the broker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The metadata layer failed (its log, its identity file, or a contradiction).
    #[error("metadata error")]
    Metadata(#[from] strom_metadata::Error),
    /// The log layer failed.
    #[error("log error")]
    Log(#[from] strom_log::Error),
    /// Binding the listener or another I/O operation failed.
    #[error("i/o error")]
    Io(#[from] io::Error),
    /// The broker is shutting down or has shut down; its logs are closed.
    #[error("the broker is shut down")]
    ShutDown,
    /// A background task panicked or was cancelled.
    #[error("a broker task failed: {0}")]
    Task(String),
    /// The controller quorum failed or refused a change.
    #[error("controller quorum: {0}")]
    Quorum(#[from] strom_quorum::Error),
    /// The replication state refused an event (a bug or a metadata inconsistency).
    #[error("replication: {0}")]
    Replication(String),
}
