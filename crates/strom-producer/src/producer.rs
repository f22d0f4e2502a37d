//! [`Producer`]: the application's handle. `send` places a record (partitioner), takes its
//! bytes from `buffer.memory` (waiting when full), appends it to the accumulator and returns a
//! [`DeliveryFuture`]; a background sender task does the rest (see `sender.rs`). Also
//! [`ProducerRecord`] and [`RecordMetadata`]. Transactions are not here.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use strom_client::{Backoff, Client, TopicPartition};
use strom_record::{Header, Offset, Timestamp};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::accumulator::{Accumulator, AccumulatorConfig, Appended, PendingRecord, estimated_size};
use crate::delivery::DeliveryFuture;
use crate::memory::BufferPool;
use crate::partitioner::PartitionerState;
use crate::{Error, ProducerConfig, Result};

/// A record to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerRecord {
    /// The topic.
    pub topic: String,
    /// The partition; `None` lets the partitioner choose.
    pub partition: Option<i32>,
    /// The key; `None` is a null key.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Record headers, in order.
    pub headers: Vec<Header>,
    /// The create time; `None` takes the current time when `send` is called.
    pub timestamp: Option<Timestamp>,
}

/// Where an acknowledged record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic (shared by the records of a batch, so a delivery costs no allocation for it).
    pub topic: std::sync::Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset; `None` with `acks=0`, or when the broker reported the batch as a duplicate
    /// of one already written (its offset is not known then).
    pub offset: Option<Offset>,
    /// The record's create time, or the broker's append time for `LogAppendTime` topics.
    pub timestamp: Timestamp,
}

/// Sends records to a Kafka-compatible cluster. Cheap to share behind an `Arc`; every method
/// takes `&self`.
///
/// ```no_run
/// # async fn run() -> Result<(), strom_producer::Error> {
/// use strom_producer::{Producer, ProducerConfig, ProducerRecord};
///
/// let producer = Producer::new(ProducerConfig::bootstrap("127.0.0.1:9092")).await?;
/// let delivery = producer
///     .send(ProducerRecord::new("events", "hello").with_key("user-1"))
///     .await?;
/// let metadata = delivery.await?;
/// println!("partition {} offset {:?}", metadata.partition, metadata.offset);
/// producer.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Producer {
    shared: Arc<Shared>,
    sender: Mutex<Option<JoinHandle<()>>>,
}

/// What the producer handle and the sender task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ProducerConfig,
    pub(crate) client: Client,
    pub(crate) state: Mutex<State>,
    pub(crate) memory: BufferPool,
    /// Wakes the sender: a batch filled up, a flush started, or the producer closed.
    pub(crate) wake: Notify,
    /// Bumped by the sender after every round that completed batches (flush waits on it).
    pub(crate) progress: watch::Sender<u64>,
}

/// The mutable state behind the lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) accumulator: Accumulator,
    pub(crate) partitioner: PartitionerState,
    /// Flushes waiting: while non-zero, every batch is sendable at once.
    pub(crate) flushing: usize,
    /// Set by `close`; the sender exits once everything is sent.
    pub(crate) closed: bool,
}

impl ProducerRecord {
    /// A record with a value and nothing else set.
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Bytes>) -> ProducerRecord {
        self.key = Some(key.into());
        self
    }

    /// Sends to this partition instead of asking the partitioner.
    pub fn with_partition(mut self, partition: i32) -> ProducerRecord {
        self.partition = Some(partition);
        self
    }

    /// Appends a header.
    pub fn with_header(
        mut self,
        key: impl Into<String>,
        value: impl Into<Bytes>,
    ) -> ProducerRecord {
        self.headers.push(Header {
            key: key.into(),
            value: Some(value.into()),
        });
        self
    }

    /// Sets the create time.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> ProducerRecord {
        self.timestamp = Some(timestamp);
        self
    }
}

impl Producer {
    /// Connects to the cluster and starts the sender task.
    pub async fn new(config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        let client = Client::connect(config.client.clone()).await?;
        let accumulator = Accumulator::new(AccumulatorConfig {
            batch_size: config.batch_size,
            linger: config.linger,
            compression: config.compression,
            max_in_flight: config.max_in_flight_requests_per_connection,
        });
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64);
        let memory = BufferPool::new(u32::try_from(config.buffer_memory).unwrap_or(u32::MAX));
        let shared = Arc::new(Shared {
            config,
            client,
            state: Mutex::new(State {
                accumulator,
                partitioner: PartitionerState::new(seed),
                flushing: 0,
                closed: false,
            }),
            memory,
            wake: Notify::new(),
            progress: watch::Sender::new(0),
        });
        let sender = tokio::spawn(crate::sender::run(shared.clone()));
        Ok(Producer {
            shared,
            sender: Mutex::new(Some(sender)),
        })
    }

    /// Queues `record` and returns a future of its acknowledgement. Waits (up to
    /// `max.block.ms`) only for the topic's metadata and for buffer memory.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture> {
        match self.enqueue(record, true).await? {
            Some(delivery) => Ok(delivery),
            // Asked for, a future always comes back with the appended record.
            None => Err(Error::Closed),
        }
    }

    /// Queues `record` without a way to learn its fate (fire and forget): failures are only
    /// logged.
    pub async fn send_and_forget(&self, record: ProducerRecord) -> Result<()> {
        self.enqueue(record, false).await.map(drop)
    }

    /// The number of partitions of `topic` (fetching metadata, up to `max.block.ms`).
    pub async fn partition_count(&self, topic: &str) -> Result<u32> {
        let deadline = Instant::now() + self.shared.config.max_block;
        let mut backoff = Backoff::new(&self.shared.config.client);
        loop {
            let error = match self.shared.client.metadata_for(&[topic]).await {
                Ok(metadata) => match metadata.partition_count(topic) {
                    Some(count) => return Ok(count),
                    None => {
                        let topic_error = metadata.topics.get(topic).and_then(|meta| meta.error);
                        match topic_error {
                            Some(code) if !code.is_retriable() => {
                                return Err(Error::Client(strom_client::Error::Broker(code)));
                            }
                            // Unknown or still being created: ask again.
                            _ => self.shared.client.invalidate_metadata(),
                        }
                        None
                    }
                },
                Err(error) if error.is_retriable() => Some(error),
                Err(error) => return Err(error.into()),
            };
            if !backoff.sleep_before(deadline).await {
                return Err(match error {
                    Some(error) => error.into(),
                    None => Error::Blocked(self.shared.config.max_block, "topic metadata"),
                });
            }
        }
    }

    /// Makes every queued record sendable at once and waits until all records sent before
    /// the call are acknowledged or failed.
    pub async fn flush(&self) -> Result<()> {
        let mut progress = self.shared.progress.subscribe();
        self.lock().flushing += 1;
        self.shared.wake.notify_one();
        let res = loop {
            if self.lock().accumulator.is_empty() {
                break Ok(());
            }
            if progress.changed().await.is_err() {
                break Err(Error::Closed);
            }
        };
        self.lock().flushing -= 1;
        res
    }

    /// Sends everything queued, waits for the acknowledgements, then stops the sender task and
    /// closes the connections. Later sends fail with [`Error::Closed`].
    pub async fn close(&self) -> Result<()> {
        let flushed = self.flush().await;
        self.lock().closed = true;
        self.shared.wake.notify_one();
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(sender) = sender {
            // The sender only ends by returning; a panic in it is a bug we surface as closed.
            if sender.await.is_err() {
                return Err(Error::Closed);
            }
        }
        self.shared.memory.close();
        self.shared.client.close().await;
        flushed
    }

    /// Appends `record` to its partition's batch, returning its future if `deliver`. The
    /// producer's lock is taken once per record, for the partitioner and the batch together.
    async fn enqueue(
        &self,
        record: ProducerRecord,
        deliver: bool,
    ) -> Result<Option<DeliveryFuture>> {
        let config = &self.shared.config;
        let size = estimated_size(record.key.as_ref(), record.value.as_ref(), &record.headers);
        if size > config.max_request_size {
            return Err(Error::RecordTooLarge {
                size,
                max: config.max_request_size,
            });
        }
        // The cached metadata when it knows the topic (the sender refreshes it for every topic
        // with queued records, on errors and when it ages); waiting for it otherwise.
        let cached = self.shared.client.cached_partition_count(&record.topic);
        let partitions = match cached {
            Some(count) => count,
            None => {
                if self.lock().closed {
                    return Err(Error::Closed);
                }
                self.partition_count(&record.topic).await?
            }
        };
        let pool = &self.shared.memory;
        if size > pool.total() {
            return Err(Error::RecordTooLarge {
                size,
                max: pool.total(),
            });
        }
        let timestamp = record.timestamp.unwrap_or_else(now);
        let (topic_partition, pending, bytes) = {
            let mut state = self.lock();
            if state.closed {
                return Err(Error::Closed);
            }
            let partition = match record.partition {
                Some(partition) => partition,
                None => {
                    let chosen = state.partitioner.partition(
                        &config.partitioner,
                        &record.topic,
                        record.key.as_deref(),
                        partitions,
                        size,
                        config.batch_size,
                    );
                    i32::try_from(chosen).unwrap_or(i32::MAX)
                }
            };
            if partition < 0 || partition as u32 >= partitions {
                return Err(Error::InvalidPartition {
                    topic: record.topic,
                    partition,
                });
            }
            let topic_partition = TopicPartition::new(record.topic, partition);
            let pending = PendingRecord {
                timestamp,
                key: record.key,
                value: record.value,
                headers: record.headers,
            };
            let appended = state.accumulator.append(
                &topic_partition,
                pending,
                deliver,
                |bytes| pool.try_reserve(bytes),
                Instant::now,
            )?;
            match appended {
                Appended::Done(wake, delivery) => return Ok(self.woken(wake, delivery)),
                Appended::NeedMemory(bytes, pending) => (topic_partition, pending, bytes),
            }
        };
        // The pool is used up: wait for memory outside the lock, then append with it (to a
        // new batch, or to one another send opened meanwhile, which then holds both).
        let mut memory = Some(pool.reserve(bytes, config.max_block).await?);
        let mut state = self.lock();
        if state.closed {
            return Err(Error::Closed);
        }
        let appended = state.accumulator.append(
            &topic_partition,
            pending,
            deliver,
            |_| memory.take(),
            Instant::now,
        )?;
        drop(state);
        match appended {
            Appended::Done(wake, delivery) => Ok(self.woken(wake, delivery)),
            // The reservation covers the batch this record needs.
            Appended::NeedMemory(..) => Err(Error::Blocked(config.max_block, "buffer memory")),
        }
    }

    /// Wakes the sender if `wake`; passes `delivery` through.
    fn woken(&self, wake: bool, delivery: Option<DeliveryFuture>) -> Option<DeliveryFuture> {
        if wake {
            self.shared.wake.notify_one();
        }
        delivery
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before anything can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Without close(): stop the sender; queued records fail with Closed as their
        // channels drop.
        if let Some(sender) = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            sender.abort();
        }
    }
}

/// The current time as a record timestamp.
fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}
