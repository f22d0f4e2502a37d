//! strom-producer: an async Kafka producer. [`Producer::send`] returns a future of where the
//! record landed; records are batched per partition (`linger.ms`, `batch.size`), compressed
//! (gzip, snappy, lz4, zstd), held in bounded memory (`buffer.memory`, with backpressure),
//! sent with `acks` 0/1/all and up to `max.in.flight.requests.per.connection` requests per
//! broker, retried until `delivery.timeout.ms`, and made idempotent by default (producer id and
//! per-partition sequence numbers, so retries never duplicate). Partitioning matches Kafka's
//! Java client ([`murmur2`], sticky for null keys), or is round-robin or a closure.
//!
//! Not here: transactions (`transactional.id`), interceptors, metrics.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_producer::Error> {
//! use strom_producer::{Producer, ProducerConfig, ProducerRecord};
//! use strom_record::Compression;
//!
//! let config = ProducerConfig {
//!     compression: Compression::Zstd,
//!     ..ProducerConfig::bootstrap("127.0.0.1:9092")
//! };
//! let producer = Producer::new(config).await?;
//! let delivery = producer.send(ProducerRecord::new("events", "hello").with_key("k")).await?;
//! producer.send_and_forget(ProducerRecord::new("events", "no need to wait")).await?;
//! producer.flush().await?;
//! let metadata = delivery.await?;
//! assert!(metadata.offset.is_some());
//! producer.close().await?;
//! # Ok(())
//! # }
//! ```

mod accumulator;
mod batch_writer;
mod config;
mod delivery;
mod error;
mod memory;
mod partitioner;
mod producer;
mod sender;

pub use crate::config::{Acks, ProducerConfig};
pub use crate::delivery::DeliveryFuture;
pub use crate::error::{Error, Result};
pub use crate::partitioner::{PartitionFn, Partitioner, murmur2, partition_for_key};
pub use crate::producer::{Producer, ProducerRecord, RecordMetadata};
