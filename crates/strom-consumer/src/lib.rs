//! strom-consumer: an async Kafka consumer, a member of a consumer group
//! ([`Consumer::subscribe`], [`Consumer::subscribe_pattern`]) or reading manually assigned
//! partitions ([`Consumer::assign`]). [`Consumer::poll`]
//! returns records (topic, partition, offset, key, value, headers, timestamp) from pipelined
//! fetches (`fetch.min.bytes`, `fetch.max.wait.ms`, `max.partition.fetch.bytes`), decompressing
//! every codec, skipping records before the position when a fetch starts mid-batch, leaving a
//! trailing partial batch for the next fetch, and honouring `isolation.level`. Positions are
//! managed with `seek`, `seek_to_beginning`, `seek_to_end`, `offsets_for_times` and
//! `auto.offset.reset`; partitions can be paused and resumed.
//!
//! Groups use Kafka's classic protocol (range, roundrobin, cooperative-sticky assignors from
//! `strom-group`, static membership, heartbeats on a background task), with commits
//! (`commit_sync`, `commit_async`, auto commit), `committed`, and a [`RebalanceListener`] whose
//! callbacks run inside `poll`.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_consumer::Error> {
//! use std::time::Duration;
//! use strom_consumer::{Consumer, ConsumerConfig};
//!
//! let config = ConsumerConfig {
//!     group_id: Some("billing".to_owned()),
//!     ..ConsumerConfig::bootstrap("127.0.0.1:9092")
//! };
//! let mut consumer = Consumer::new(config).await?;
//! consumer.subscribe(["events"])?;
//! loop {
//!     for record in consumer.poll(Duration::from_secs(1)).await? {
//!         println!("{}-{}@{}", record.topic, record.partition, record.offset);
//!     }
//! }
//! # }
//! ```
//!
//! Reading assigned partitions without a group:
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_consumer::Error> {
//! use std::time::Duration;
//! use strom_client::TopicPartition;
//! use strom_consumer::{Consumer, ConsumerConfig};
//!
//! let mut consumer = Consumer::new(ConsumerConfig::bootstrap("127.0.0.1:9092")).await?;
//! let partition = TopicPartition::new("events", 0);
//! consumer.assign(vec![partition.clone()]);
//! consumer.seek_to_beginning(&[partition.clone()])?;
//! let records = consumer.poll(Duration::from_secs(1)).await?;
//! println!("{} records, next at {}", records.len(), consumer.position(&partition).await?);
//! # Ok(())
//! # }
//! ```

mod config;
mod consumer;
mod coordinator;
mod error;
mod fetch;
mod listener;

pub use strom_group::Assignor;

pub use crate::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
pub use crate::consumer::{CommitHandle, Consumer, OffsetAndTimestamp};
pub use crate::error::{Error, Result};
pub use crate::fetch::ConsumerRecord;
pub use crate::listener::{OffsetAndMetadata, RebalanceContext, RebalanceListener};
