//! strom-client: the shared core of Strom's Kafka clients. It opens pipelined connections
//! ([`Connection`]: a writer task and a reader task matching responses by correlation id),
//! negotiates API versions with ApiVersions ([`ApiVersions`], with the fallback for older
//! brokers), bootstraps from a list of addresses and caches cluster metadata ([`Client`],
//! [`Metadata`]), and classifies failures ([`Error::is_retriable`]) with a [`Backoff`] for
//! retries.
//!
//! It does not batch, partition, fetch or commit: `strom-producer` and `strom-consumer` do that
//! on top of it.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_client::Error> {
//! use strom_client::{Client, ClientConfig};
//! use strom_protocol::messages::metadata::MetadataRequest;
//!
//! let client = Client::connect(ClientConfig::bootstrap("127.0.0.1:9092")).await?;
//! let metadata = client.metadata_for(&["events"]).await?;
//! let leader = metadata.leader("events", 0)?;
//! let response = client.send(leader, MetadataRequest::default()).await?;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod connection;
mod error;
mod metadata;
mod versions;

pub use crate::client::Client;
pub use crate::config::{Backoff, ClientConfig, MAX_CONFIG_DURATION, check_duration};
pub use crate::connection::{Connection, PendingResponse};
pub use crate::error::{Error, Result, check_code, code_invalidates_metadata};
pub use crate::metadata::{BrokerId, Metadata, PartitionMetadata, TopicMetadata, TopicPartition};
pub use crate::versions::{ApiVersions, ApiVersionsOutcome, api_versions_outcome};
