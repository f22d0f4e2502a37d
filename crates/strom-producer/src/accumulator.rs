//! The record accumulator: per partition, a queue of batches that records are appended to until
//! a batch holds `batch.size` bytes or has waited `linger.ms`, and the rules for which batches
//! may be drained now (backoff, in-flight limits, retry ordering). It also assigns idempotent
//! sequence numbers when a batch is first drained. It takes time as a parameter and does no
//! I/O: the sender task sends what it drains. Without compression, records are encoded into
//! their batch as they are appended (see `batch_writer.rs`) and only counted; compressed
//! batches keep the records and build when first drained. A batch's records learn their fate
//! through one shared outcome (see `delivery.rs`).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_client::TopicPartition;
use strom_record::{BatchBuilder, BatchConfig, Compression, Header, Timestamp};
use tokio::time::Instant;

use crate::Result;
use crate::batch_writer::{BatchWriter, Stamp, Summary, reusable};
use crate::delivery::{DeliveryFuture, Landed, Outcome};
use crate::memory::Reservation;

/// Bytes a record costs on top of its key, value and headers (the most its length, attributes,
/// deltas and length prefixes take as varints).
pub(crate) const RECORD_OVERHEAD: usize = 21;
/// Bytes each header costs on top of its key and value.
const HEADER_OVERHEAD: usize = 10;
/// Buffers of completed batches kept for new ones.
const MAX_SPARE_BUFFERS: usize = 8;
/// The most record handles a new batch makes room for up front.
const MAX_PRESIZED: usize = 1024;

/// One record to append to a batch.
#[derive(Debug)]
pub(crate) struct PendingRecord {
    pub(crate) timestamp: Timestamp,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
}

/// What [`Accumulator::append`] did.
#[derive(Debug)]
pub(crate) enum Appended {
    /// The record is in a batch: whether the sender should be woken, and the record's future
    /// if one was asked for.
    Done(bool, Option<DeliveryFuture>),
    /// The record needs a new batch, and a batch's memory (this many bytes) is not free now:
    /// the record comes back, to be appended again once the bytes are reserved.
    NeedMemory(usize, PendingRecord),
}

/// The producer identity batches are stamped with when idempotence is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerIdentity {
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    /// Bumped whenever the identity is replaced, so batches built under an older one are
    /// recognised and rebuilt.
    pub(crate) generation: u64,
}

/// A batch after it was first drained: its bytes never change again, so a retry sends exactly
/// the same sequence numbers and the broker can drop duplicates.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) bytes: Bytes,
    pub(crate) base_sequence: Option<i32>,
    pub(crate) generation: Option<u64>,
    /// For a batch encoded in place: what taking it up again needs.
    summary: Option<Summary>,
}

/// What a batch drained for the first time is built with (see [`Accumulator::start_send`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Build {
    stamp: Stamp,
    generation: Option<u64>,
    compression: Compression,
}

/// Records for one partition that travel together.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) topic_partition: TopicPartition,
    /// The records, for a compressed batch (built when first drained); empty for a batch
    /// encoded in place.
    records: Vec<PendingRecord>,
    /// How many records the batch holds.
    pub(crate) record_count: u32,
    /// What the records' futures wait on; `None` until a record wants to know its fate.
    outcome: Option<Outcome>,
    /// Estimated uncompressed size in bytes.
    pub(crate) size: usize,
    pub(crate) created: Instant,
    #[expect(
        dead_code,
        reason = "held until the batch is dropped, which returns its bytes"
    )]
    memory: Reservation,
    /// The records encoded so far, for an uncompressed batch not built (yet, or again after
    /// its producer id was replaced).
    writer: Option<BatchWriter>,
    pub(crate) built: Option<Built>,
    /// How many times it was sent.
    pub(crate) attempts: u32,
    /// Not to be sent again before this (retry backoff).
    pub(crate) retry_at: Option<Instant>,
}

/// Per-partition batching settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AccumulatorConfig {
    pub(crate) batch_size: usize,
    pub(crate) linger: Duration,
    pub(crate) compression: Compression,
    /// Batches of one partition in flight at once (`max.in.flight.requests.per.connection`).
    pub(crate) max_in_flight: usize,
}

/// All partitions' queues.
#[derive(Debug)]
pub(crate) struct Accumulator {
    config: AccumulatorConfig,
    partitions: BTreeMap<TopicPartition, PartitionQueue>,
    /// Buffers of completed uncompressed batches, for the next batches to encode into.
    spare_buffers: Vec<BytesMut>,
}

#[derive(Debug, Default)]
struct PartitionQueue {
    /// Oldest first; only the last batch takes new records.
    batches: VecDeque<Batch>,
    /// Base sequences (or a placeholder for non-idempotent batches) of batches in flight.
    in_flight: Vec<Option<i32>>,
    next_sequence: i32,
}

impl PendingRecord {
    /// The estimated encoded size, used for `batch.size` and `buffer.memory`.
    pub(crate) fn size(&self) -> usize {
        estimated_size(self.key.as_ref(), self.value.as_ref(), &self.headers)
    }
}

/// The estimated encoded size of a record.
pub(crate) fn estimated_size(
    key: Option<&Bytes>,
    value: Option<&Bytes>,
    headers: &[Header],
) -> usize {
    let headers_size: usize = headers
        .iter()
        .map(|header| {
            HEADER_OVERHEAD + header.key.len() + header.value.as_ref().map_or(0, Bytes::len)
        })
        .sum();
    RECORD_OVERHEAD + key.map_or(0, Bytes::len) + value.map_or(0, Bytes::len) + headers_size
}

impl Batch {
    /// Whether the batch was sent before (so its bytes and sequence are fixed).
    pub(crate) fn is_retry(&self) -> bool {
        self.built.is_some()
    }

    /// The base sequence, if built with one.
    fn base_sequence(&self) -> Option<i32> {
        self.built.as_ref().and_then(|built| built.base_sequence)
    }

    /// Builds the batch's bytes as `build` (from [`Accumulator::start_send`]) says; they never
    /// change again. On error the batch stays unbuilt, and the sequence numbers it was given
    /// are spent.
    pub(crate) fn build(&mut self, build: Build) -> Result<()> {
        let (bytes, summary) = match self.writer.take() {
            Some(writer) => {
                let (bytes, summary) = writer.finish(build.stamp)?;
                (bytes, Some(summary))
            }
            None => {
                let mut builder = BatchBuilder::new(BatchConfig {
                    compression: build.compression,
                    producer_id: build.stamp.producer_id,
                    producer_epoch: build.stamp.producer_epoch,
                    base_sequence: build.stamp.base_sequence,
                    ..BatchConfig::default()
                });
                for record in &self.records {
                    builder.push(
                        record.timestamp,
                        record.key.clone(),
                        record.value.clone(),
                        record.headers.clone(),
                    );
                }
                (builder.build()?.into_bytes(), None)
            }
        };
        self.built = Some(Built {
            bytes,
            base_sequence: build.stamp.base_sequence,
            generation: build.generation,
            summary,
        });
        Ok(())
    }

    /// Forgets the built batch, so that it is built again (under a new producer id and
    /// sequence) when next drained: a batch encoded in place keeps its records.
    pub(crate) fn unbuild(&mut self) {
        if let Some(built) = self.built.take()
            && let Some(summary) = built.summary
        {
            self.writer = Some(BatchWriter::resume(built.bytes, summary));
        }
    }

    /// Completes every record of the batch: each record's offset is the batch's base offset
    /// plus its index.
    pub(crate) fn complete(self, base_offset: Option<i64>, log_append_time: Option<Timestamp>) {
        if let Some(outcome) = &self.outcome {
            outcome.set(Ok(Landed {
                topic: std::sync::Arc::from(self.topic_partition.topic.as_str()),
                partition: self.topic_partition.partition,
                base_offset,
                log_append_time,
            }));
        }
    }

    /// Fails every record of the batch with `error`.
    pub(crate) fn fail(self, error: &crate::Error) {
        if let Some(outcome) = &self.outcome {
            outcome.set(Err(error.clone()));
        }
    }
}

impl Accumulator {
    /// An empty accumulator.
    pub(crate) fn new(config: AccumulatorConfig) -> Accumulator {
        Accumulator {
            config,
            partitions: BTreeMap::new(),
            spare_buffers: Vec::new(),
        }
    }

    /// Appends `record` to the partition's open batch, or opens a new batch when the record
    /// would push the open one past `batch.size`. A new batch holds `batch.size` bytes of
    /// buffer memory (or the record's size if larger) from `reserve`; when `reserve` has none
    /// the record comes back ([`Appended::NeedMemory`]). Otherwise returns whether the sender
    /// should be woken (a batch was opened, so its linger timer starts, or is full) and, if
    /// `deliver`, the record's future. Fails only for a record the batch format cannot hold
    /// (a timestamp too far from the batch's first). `now` is read only when a batch is opened
    /// (a clock read per record shows on the hot path).
    pub(crate) fn append(
        &mut self,
        topic_partition: &TopicPartition,
        record: PendingRecord,
        deliver: bool,
        reserve: impl FnOnce(usize) -> Option<Reservation>,
        now: impl FnOnce() -> Instant,
    ) -> Result<Appended> {
        let size = record.size();
        let batch_size = self.config.batch_size;
        let in_place = self.config.compression == Compression::None;
        // Looked up before `entry`, which would take (and so clone) the key for every record.
        let queue = match self.partitions.get_mut(topic_partition) {
            Some(queue) => queue,
            None => self.partitions.entry(topic_partition.clone()).or_default(),
        };
        let fits = queue
            .batches
            .back()
            .is_some_and(|batch| !batch.is_retry() && batch.size + size <= batch_size);
        if !fits {
            let Some(memory) = reserve(size.max(batch_size)) else {
                return Ok(Appended::NeedMemory(size.max(batch_size), record));
            };
            let records = if in_place {
                Vec::new()
            } else {
                // Room for a full batch of records like this one, rather than growing (and
                // copying) the vector ten times on the way to a thousand.
                Vec::with_capacity((batch_size / size.max(1)).clamp(1, MAX_PRESIZED))
            };
            queue.batches.push_back(Batch {
                topic_partition: topic_partition.clone(),
                records,
                record_count: 0,
                outcome: None,
                size: 0,
                created: now(),
                memory,
                writer: in_place
                    .then(|| BatchWriter::new(batch_size.max(size), self.spare_buffers.pop())),
                built: None,
                attempts: 0,
                retry_at: None,
            });
        }
        let Some(batch) = queue.batches.back_mut() else {
            return Ok(Appended::Done(false, None));
        };
        if let Some(writer) = &mut batch.writer {
            let pushed = writer.push(
                record.timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            );
            if let Err(error) = pushed {
                let opened_for_it = batch.record_count == 0;
                if opened_for_it {
                    queue.batches.pop_back();
                }
                return Err(error);
            }
        }
        let index = batch.record_count;
        let timestamp = record.timestamp;
        if batch.writer.is_none() {
            batch.records.push(record);
        }
        batch.record_count += 1;
        batch.size += size;
        let delivery = deliver.then(|| {
            batch
                .outcome
                .get_or_insert_with(Outcome::new)
                .future(index, timestamp)
        });
        // A new batch needs the sender to start its linger timer, and makes the one before it
        // sendable; a full one can go now. Nothing else changes what the sender can do: waking
        // it for every record behind a closed batch would cost a thread switch per record while
        // it waits for an answer.
        Ok(Appended::Done(!fits || batch.size >= batch_size, delivery))
    }

    /// Whether no batch is queued or in flight.
    pub(crate) fn is_empty(&self) -> bool {
        self.partitions
            .values()
            .all(|queue| queue.batches.is_empty() && queue.in_flight.is_empty())
    }

    /// Partitions with queued batches.
    pub(crate) fn queued_partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.partitions
            .iter()
            .filter(|(_, queue)| !queue.batches.is_empty())
            .map(|(topic_partition, _)| topic_partition)
    }

    /// Takes the batches that may be sent now, at most one per partition, for partitions that
    /// `may_send` accepts (the sender checks the leader and its in-flight request limit).
    /// A batch may go when it is full, older than `linger.ms`, not the newest of its
    /// partition, or `flushing` is set; never during its retry backoff; and a retried batch
    /// goes alone (nothing else of its partition in flight), which keeps a partition's batches
    /// in order when the one in front of them failed.
    pub(crate) fn drain(
        &mut self,
        now: Instant,
        flushing: bool,
        mut may_send: impl FnMut(&TopicPartition) -> bool,
    ) -> Vec<Batch> {
        let mut res = Vec::new();
        for (topic_partition, queue) in &mut self.partitions {
            let Some(front) = queue.batches.front() else {
                continue;
            };
            if front.retry_at.is_some_and(|at| at > now) {
                continue;
            }
            let sendable = front.is_retry()
                || flushing
                || front.size >= self.config.batch_size
                || queue.batches.len() > 1
                || front.created + self.config.linger <= now;
            let room = if front.is_retry() {
                queue.in_flight.is_empty()
            } else {
                queue.in_flight.len() < self.config.max_in_flight
            };
            if !sendable || !room || !may_send(topic_partition) {
                continue;
            }
            let Some(batch) = queue.batches.pop_front() else {
                continue;
            };
            res.push(batch);
        }
        res
    }

    /// Records `batch` as in flight. A batch never sent before gets the partition's next
    /// sequence numbers (when idempotent) and comes back with what to build it with: the
    /// caller builds it ([`Batch::build`]) after letting go of the producer's lock, since the
    /// CRC (and for a compressed batch the compression) is the costly part of a batch and
    /// `send` waits for the lock meanwhile.
    pub(crate) fn start_send(
        &mut self,
        batch: &mut Batch,
        identity: Option<ProducerIdentity>,
    ) -> Option<Build> {
        let queue = self
            .partitions
            .entry(batch.topic_partition.clone())
            .or_default();
        let build = batch.built.is_none().then(|| {
            let base_sequence = identity.map(|_| queue.next_sequence);
            if identity.is_some() {
                // Sequences wrap to 0 after i32::MAX, as in Kafka.
                let count = i32::try_from(batch.record_count).unwrap_or(i32::MAX);
                queue.next_sequence = next_sequence(queue.next_sequence, count);
            }
            Build {
                stamp: Stamp {
                    producer_id: identity.map(|identity| identity.producer_id),
                    producer_epoch: identity.map_or(-1, |identity| identity.producer_epoch),
                    base_sequence,
                },
                generation: identity.map(|identity| identity.generation),
                compression: self.config.compression,
            }
        });
        batch.attempts += 1;
        let sequence = match &build {
            Some(build) => build.stamp.base_sequence,
            None => batch.base_sequence(),
        };
        queue.in_flight.push(sequence);
        build
    }

    /// Keeps the buffer of `batch`, which completed for good, for a later batch.
    pub(crate) fn recycle(&mut self, batch: &mut Batch) {
        if self.spare_buffers.len() >= MAX_SPARE_BUFFERS {
            return;
        }
        let Some(built) = batch.built.take_if(|built| built.summary.is_some()) else {
            return;
        };
        if let Some(buf) = reusable(built.bytes, self.config.batch_size) {
            self.spare_buffers.push(buf);
        }
    }

    /// Records that `batch` came back (acknowledged, failed or to be retried).
    pub(crate) fn finish_send(&mut self, batch: &Batch) {
        self.forget_in_flight(&batch.topic_partition, batch.base_sequence());
    }

    /// Records that `batch`, started with `build`, could not be built and is not in flight.
    pub(crate) fn abandon_build(&mut self, batch: &Batch, build: &Build) {
        self.forget_in_flight(&batch.topic_partition, build.stamp.base_sequence);
    }

    fn forget_in_flight(&mut self, topic_partition: &TopicPartition, sequence: Option<i32>) {
        if let Some(queue) = self.partitions.get_mut(topic_partition)
            && let Some(index) = queue.in_flight.iter().position(|seq| *seq == sequence)
        {
            queue.in_flight.swap_remove(index);
        }
    }

    /// Whether a batch of the same partition with a lower sequence than `batch` is in flight
    /// or waiting to be retried: then an OUT_OF_ORDER_SEQUENCE_NUMBER for `batch` only means
    /// that batch failed first, and `batch` should be retried after it.
    pub(crate) fn has_earlier_outstanding(&self, batch: &Batch) -> bool {
        let Some(sequence) = batch.base_sequence() else {
            return false;
        };
        let Some(queue) = self.partitions.get(&batch.topic_partition) else {
            return false;
        };
        let earlier = |other: Option<i32>| other.is_some_and(|other| other < sequence);
        queue.in_flight.iter().any(|other| earlier(*other))
            || queue
                .batches
                .iter()
                .any(|other| other.is_retry() && earlier(other.base_sequence()))
    }

    /// Puts a batch that must be retried back in front of its partition's queue, in sequence
    /// order among other retried batches, not before `retry_at`.
    pub(crate) fn requeue(&mut self, mut batch: Batch, retry_at: Instant) {
        batch.retry_at = Some(retry_at);
        let queue = self
            .partitions
            .entry(batch.topic_partition.clone())
            .or_default();
        let sequence = batch.base_sequence();
        let position = queue
            .batches
            .iter()
            .position(|other| {
                !other.is_retry()
                    || match (other.base_sequence(), sequence) {
                        (Some(other), Some(sequence)) => other > sequence,
                        _ => false,
                    }
            })
            .unwrap_or(queue.batches.len());
        queue.batches.insert(position, batch);
    }

    /// Forgets every sequence number after the producer identity was replaced: queued batches
    /// built under the old identity are rebuilt when next drained, sequences restart at 0.
    pub(crate) fn reset_sequences(&mut self) {
        for queue in self.partitions.values_mut() {
            queue.next_sequence = 0;
            for batch in &mut queue.batches {
                batch.unbuild();
            }
        }
    }

    /// Removes and returns queued (not in-flight) batches whose `delivery.timeout.ms` passed.
    /// A partition's queue is in creation order (a retried batch goes back in front of the
    /// newer ones), so only its oldest batches are looked at: this runs on every round of the
    /// sender, under the producer's lock.
    pub(crate) fn expire(&mut self, now: Instant, delivery_timeout: Duration) -> Vec<Batch> {
        let mut res = Vec::new();
        for queue in self.partitions.values_mut() {
            while let Some(batch) = queue
                .batches
                .pop_front_if(|batch| batch.created + delivery_timeout <= now)
            {
                res.push(batch);
            }
        }
        res
    }

    /// Removes and returns every queued batch (on close without flushing).
    pub(crate) fn take_all(&mut self) -> Vec<Batch> {
        self.partitions
            .values_mut()
            .flat_map(|queue| queue.batches.drain(..))
            .collect()
    }

    /// The earliest instant at which a queued batch becomes sendable or expires, if any.
    /// Partitions at their in-flight limit are left out: a completion wakes the sender for
    /// them.
    pub(crate) fn next_deadline(&self, delivery_timeout: Duration) -> Option<Instant> {
        self.partitions
            .values()
            .filter_map(|queue| {
                let batch = queue.batches.front()?;
                let room = if batch.is_retry() {
                    queue.in_flight.is_empty()
                } else {
                    queue.in_flight.len() < self.config.max_in_flight
                };
                if !room {
                    return None;
                }
                let ready = batch.retry_at.unwrap_or(batch.created + self.config.linger);
                Some(ready.min(batch.created + delivery_timeout))
            })
            .min()
    }
}

/// The sequence after `count` records starting at `sequence`, wrapping to 0 past i32::MAX.
fn next_sequence(sequence: i32, count: i32) -> i32 {
    let next = i64::from(sequence) + i64::from(count);
    i32::try_from(next).unwrap_or_else(|_| (next - i64::from(i32::MAX) - 1) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AccumulatorConfig {
        AccumulatorConfig {
            batch_size: 350,
            linger: Duration::from_millis(5),
            compression: Compression::None,
            max_in_flight: 2,
        }
    }

    /// A record of exactly `size` estimated bytes.
    fn record(size: usize) -> PendingRecord {
        PendingRecord {
            timestamp: Timestamp(1),
            key: None,
            value: Some(Bytes::from(vec![b'v'; size - RECORD_OVERHEAD])),
            headers: Vec::new(),
        }
    }

    /// Buffer memory for every batch.
    fn reserve(_bytes: usize) -> Option<Reservation> {
        Some(Reservation::empty())
    }

    /// Whether the append woke the sender.
    fn woke(appended: Appended) -> bool {
        matches!(appended, Appended::Done(true, _))
    }

    /// Starts sending `batch` and builds it, as the sender does.
    fn send_one(
        accumulator: &mut Accumulator,
        batch: &mut Batch,
        identity: Option<ProducerIdentity>,
    ) {
        if let Some(build) = accumulator.start_send(batch, identity) {
            batch.build(build).unwrap();
        }
    }

    fn counts(batches: &[Batch]) -> Vec<usize> {
        batches
            .iter()
            .map(|batch| batch.record_count as usize)
            .collect()
    }

    #[test]
    fn batches_close_at_batch_size_and_linger_releases_the_rest() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(config());
        let tp = TopicPartition::new("t", 0);
        let mut woken = Vec::new();
        for _ in 0..10 {
            woken.push(woke(
                accumulator
                    .append(&tp, record(100), false, reserve, || start)
                    .unwrap(),
            ));
        }
        // 3 records fill 300 of 350 bytes; the 4th opens a new batch. Opening a batch wakes the
        // sender (to start its linger timer) and closes the batch before it; appending to an open
        // batch does not.
        assert_eq!(
            woken,
            [
                true, false, false, true, false, false, true, false, false, true
            ]
        );
        // Before linger.ms only batches that are not the newest may go: one per partition per
        // drain, up to max_in_flight.
        let mut first = accumulator.drain(start, false, |_| true);
        assert_eq!(counts(&first), [3]);
        send_one(&mut accumulator, &mut first[0], None);
        let mut second = accumulator.drain(start, false, |_| true);
        send_one(&mut accumulator, &mut second[0], None);
        assert_eq!(counts(&second), [3]);
        // Two in flight: the limit.
        assert!(accumulator.drain(start, false, |_| true).is_empty());
        accumulator.finish_send(&first[0]);
        assert_eq!(counts(&accumulator.drain(start, false, |_| true)), [3]);
        // The newest batch (1 record) waits for linger.ms, or a flush.
        assert!(accumulator.drain(start, false, |_| true).is_empty());
        assert_eq!(
            accumulator.next_deadline(Duration::from_secs(120)),
            Some(start + Duration::from_millis(5))
        );
        assert_eq!(
            counts(&accumulator.drain(start + Duration::from_millis(5), false, |_| true)),
            [1]
        );
    }

    #[test]
    fn flush_and_a_full_batch_are_sendable_at_once() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(config());
        let tp = TopicPartition::new("t", 0);
        accumulator
            .append(&tp, record(50), false, reserve, || start)
            .unwrap();
        assert!(accumulator.drain(start, false, |_| true).is_empty());
        assert!(
            accumulator.drain(start, true, |_| false).is_empty(),
            "no leader"
        );
        assert_eq!(counts(&accumulator.drain(start, true, |_| true)), [1]);
        // A record as large as batch.size is a batch on its own and goes at once.
        assert!(woke(
            accumulator
                .append(&tp, record(400), false, reserve, || start)
                .unwrap()
        ));
        assert_eq!(counts(&accumulator.drain(start, false, |_| true)), [1]);
    }

    #[test]
    fn sequences_are_assigned_once_and_retries_go_first_alone() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(AccumulatorConfig {
            batch_size: 100,
            ..config()
        });
        let identity = ProducerIdentity {
            producer_id: 7,
            producer_epoch: 0,
            generation: 1,
        };
        let tp = TopicPartition::new("t", 0);
        for _ in 0..3 {
            accumulator
                .append(&tp, record(60), false, reserve, || start)
                .unwrap();
        }
        let later = start + Duration::from_millis(10);
        let mut a = accumulator.drain(later, false, |_| true).pop().unwrap();
        send_one(&mut accumulator, &mut a, Some(identity));
        let mut b = accumulator.drain(later, false, |_| true).pop().unwrap();
        send_one(&mut accumulator, &mut b, Some(identity));
        assert_eq!(a.base_sequence(), Some(0));
        assert_eq!(b.base_sequence(), Some(1));
        // `a` failed with a retriable error, `b` then got OUT_OF_ORDER_SEQUENCE_NUMBER.
        accumulator.finish_send(&a);
        accumulator.requeue(a, later);
        assert!(accumulator.has_earlier_outstanding(&b));
        accumulator.finish_send(&b);
        accumulator.requeue(b, later);
        // Retries go in sequence order, one at a time, before the newer batch.
        let mut retry = accumulator.drain(later, false, |_| true).pop().unwrap();
        assert_eq!(retry.base_sequence(), Some(0));
        let bytes = retry.built.as_ref().unwrap().bytes.clone();
        send_one(&mut accumulator, &mut retry, Some(identity));
        assert_eq!(
            retry.built.as_ref().unwrap().bytes,
            bytes,
            "same bytes on retry"
        );
        assert!(accumulator.drain(later, false, |_| true).is_empty());
        accumulator.finish_send(&retry);
        let mut retry = accumulator.drain(later, false, |_| true).pop().unwrap();
        assert_eq!(retry.base_sequence(), Some(1));
        send_one(&mut accumulator, &mut retry, Some(identity));
        accumulator.finish_send(&retry);
        let mut newest = accumulator.drain(later, false, |_| true).pop().unwrap();
        send_one(&mut accumulator, &mut newest, Some(identity));
        assert_eq!(newest.base_sequence(), Some(2));
    }

    #[test]
    fn a_batch_is_built_after_its_sequences_are_taken_and_an_abandoned_build_frees_its_slot() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(AccumulatorConfig {
            batch_size: 100,
            max_in_flight: 1,
            ..config()
        });
        let identity = ProducerIdentity {
            producer_id: 3,
            producer_epoch: 0,
            generation: 1,
        };
        let tp = TopicPartition::new("t", 0);
        for _ in 0..2 {
            accumulator
                .append(&tp, record(60), false, reserve, || start)
                .unwrap();
        }
        let mut batch = accumulator.drain(start, true, |_| true).pop().unwrap();
        let build = accumulator.start_send(&mut batch, Some(identity)).unwrap();
        // Taken, not built yet: the batch is in flight, so its partition's next one waits.
        assert!(batch.built.is_none());
        assert!(accumulator.drain(start, true, |_| true).is_empty());
        // Building it elsewhere fails (say): its slot comes back.
        accumulator.abandon_build(&batch, &build);
        let mut next = accumulator.drain(start, true, |_| true).pop().unwrap();
        // The abandoned batch's sequence number is spent.
        send_one(&mut accumulator, &mut next, Some(identity));
        assert_eq!(next.base_sequence(), Some(1));
        let header = strom_record::BatchHeader::parse(&next.built.as_ref().unwrap().bytes).unwrap();
        assert_eq!(header.producer_id, Some(3));
        assert_eq!(header.base_sequence, Some(1));
    }

    #[test]
    fn expiry_removes_only_old_queued_batches() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(config());
        accumulator
            .append(
                &TopicPartition::new("t", 0),
                record(50),
                false,
                reserve,
                || start,
            )
            .unwrap();
        let later = start + Duration::from_secs(1);
        accumulator
            .append(
                &TopicPartition::new("t", 1),
                record(50),
                false,
                reserve,
                || later,
            )
            .unwrap();
        let expired = accumulator.expire(later, Duration::from_secs(1));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].topic_partition.partition, 0);
        assert!(!accumulator.is_empty());
    }

    #[test]
    fn batches_encoded_in_place_are_stamped_again_and_their_buffers_reused() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(config());
        let tp = TopicPartition::new("t", 0);
        let identity = |producer_id, generation| ProducerIdentity {
            producer_id,
            producer_epoch: 0,
            generation,
        };
        // A record whose timestamp is too far from the batch's first fails alone.
        let mut far = record(50);
        far.timestamp = Timestamp(i64::MIN);
        accumulator
            .append(&tp, record(50), false, reserve, || start)
            .unwrap();
        assert!(
            accumulator
                .append(&tp, far, false, reserve, || start)
                .is_err()
        );
        let mut batch = accumulator.drain(start, true, |_| true).pop().unwrap();
        assert_eq!(batch.record_count as usize, 1);
        send_one(&mut accumulator, &mut batch, Some(identity(7, 1)));
        let records =
            batch.built.as_ref().unwrap().bytes[strom_record::BatchHeader::SIZE..].to_vec();
        // The producer id was replaced before the batch got through: same records, new stamp.
        accumulator.finish_send(&batch);
        batch.unbuild();
        accumulator.requeue(batch, start);
        accumulator.reset_sequences();
        let mut batch = accumulator.drain(start, true, |_| true).pop().unwrap();
        send_one(&mut accumulator, &mut batch, Some(identity(8, 2)));
        let second = batch.built.as_ref().unwrap().bytes.clone();
        let header = strom_record::BatchHeader::parse(&second).unwrap();
        assert_eq!(header.producer_id, Some(8));
        assert_eq!(header.base_sequence, Some(0));
        assert_eq!(
            second[strom_record::BatchHeader::SIZE..],
            records[..],
            "same records"
        );
        strom_record::verify_crc(&second).unwrap();
        drop(second);
        // Delivered: its buffer takes the next batch's records.
        let buffer = batch.built.as_ref().unwrap().bytes.as_ptr();
        accumulator.finish_send(&batch);
        accumulator.recycle(&mut batch);
        accumulator
            .append(&tp, record(50), false, reserve, || start)
            .unwrap();
        let mut next = accumulator.drain(start, true, |_| true).pop().unwrap();
        send_one(&mut accumulator, &mut next, None);
        assert_eq!(next.built.as_ref().unwrap().bytes.as_ptr(), buffer);
    }

    #[test]
    fn a_new_batch_takes_batch_size_bytes_and_its_records_nothing_more() {
        let start = Instant::now();
        let mut accumulator = Accumulator::new(config());
        let tp = TopicPartition::new("t", 0);
        // No memory free: the record comes back with what a batch needs.
        let appended = accumulator
            .append(&tp, record(100), true, |_| None, || start)
            .unwrap();
        let Appended::NeedMemory(bytes, record_back) = appended else {
            panic!("appended without memory: {appended:?}");
        };
        assert_eq!(bytes, 350, "batch.size");
        assert!(accumulator.is_empty());
        let mut asked = Vec::new();
        let mut ask = |bytes| {
            asked.push(bytes);
            Some(Reservation::empty())
        };
        let appended = accumulator
            .append(&tp, record_back, true, &mut ask, || start)
            .unwrap();
        assert!(matches!(appended, Appended::Done(true, Some(_))));
        // Records that fit the open batch take no memory; a record larger than batch.size
        // takes its own size.
        accumulator
            .append(&tp, record(100), false, &mut ask, || start)
            .unwrap();
        accumulator
            .append(&tp, record(500), false, &mut ask, || start)
            .unwrap();
        assert_eq!(asked, [350, 500]);
    }

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(next_sequence(5, 3), 8);
        assert_eq!(next_sequence(i32::MAX, 1), 0);
        assert_eq!(next_sequence(i32::MAX - 1, 3), 1);
    }
}
