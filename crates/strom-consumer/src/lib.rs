//! strom-consumer: an async Kafka consumer for manually assigned partitions. [`Consumer::poll`]
//! returns records (topic, partition, offset, key, value, headers, timestamp) from pipelined
//! fetches (`fetch.min.bytes`, `fetch.max.wait.ms`, `max.partition.fetch.bytes`), decompressing
//! every codec, skipping records before the position when a fetch starts mid-batch, leaving a
//! trailing partial batch for the next fetch, and honouring `isolation.level`. Positions are
//! managed with `seek`, `seek_to_beginning`, `seek_to_end`, `offsets_for_times` and
//! `auto.offset.reset`; partitions can be paused and resumed.
//!
//! Not here yet: `subscribe` with group membership and offset commits (see `consumer.rs` for
//! how they fit).
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
mod error;
mod fetch;

pub use crate::config::{AutoOffsetReset, ConsumerConfig, IsolationLevel};
pub use crate::consumer::{Consumer, OffsetAndTimestamp};
pub use crate::error::{Error, Result};
pub use crate::fetch::ConsumerRecord;
