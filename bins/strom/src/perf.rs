//! `strom perf produce|consume`: throughput and latency tests modelled on Kafka's
//! `kafka-producer-perf-test` and `kafka-consumer-perf-test`. They print progress every
//! `--reporting-interval-ms` and one final line (or a JSON object with `--output json`).
//!
//! Produce latency is measured from `send` to the moment the delivery is observed (the send
//! loop takes in the deliveries made before each send, and waits for the rest at the end);
//! deliveries are taken in send order, so a fast delivery behind a slow one counts as late as
//! the slow one (the per-partition order makes this rare). Produce throughput runs from the start of
//! sending to the last acknowledgement, consume throughput from the first record received to
//! the last (both as librdkafka's `rdkafka_performance` measures); consume latency is the time
//! each `poll` that returned records took.
//!
//! `--threads` sets how many threads the client runs on. The default, 1, runs the send (or
//! poll) loop, the producer's sender and the connections on one thread (a current-thread tokio
//! runtime): where the client shares a few cores with the broker, as on a 2-core test machine,
//! handing every batch and answer between threads costs more than it overlaps (docs/cli.md has
//! the numbers). More than 1 runs a multi-threaded runtime with that many workers, as an
//! application embedding the clients usually does.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Args, Subcommand};
use serde_json::json;
use strom_admin::{Timestamp, TopicPartition};
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig};
use strom_producer::{DeliveryFuture, Producer, ProducerRecord, RecordMetadata};

use crate::Context;
use crate::produce::ProducerArgs;
use crate::table::Output;

/// The `perf` subcommands.
#[derive(Debug, Subcommand)]
pub enum PerfCommand {
    /// Produce generated records as fast as allowed and report throughput and latency.
    Produce(ProduceArgs),
    /// Consume a topic from the beginning and report throughput.
    Consume(ConsumeArgs),
}

impl PerfCommand {
    /// How many threads the client runs on (`--threads`).
    pub fn threads(&self) -> usize {
        match self {
            PerfCommand::Produce(args) => usize::from(args.threads),
            PerfCommand::Consume(args) => usize::from(args.threads),
        }
    }
}

/// Arguments of `perf produce`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("amount").required(true).args(["num_records", "duration_secs"])))]
pub struct ProduceArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// How many records to send.
    #[arg(long)]
    num_records: Option<u64>,
    /// How long to send for, in seconds.
    #[arg(long)]
    duration_secs: Option<u64>,
    /// The value size of each record, in bytes.
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// At most this many records per second (no cap if not given).
    #[arg(long)]
    throughput: Option<u64>,
    /// How often to print progress, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    reporting_interval_ms: u64,
    /// Threads to run the client on: 1 runs everything on one thread; more runs a
    /// multi-threaded runtime with that many workers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    #[command(flatten)]
    producer: ProducerArgs,
}

/// Arguments of `perf consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// How many records to read.
    #[arg(long)]
    messages: u64,
    /// Give up when no record arrived for this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// How often to print progress, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    reporting_interval_ms: u64,
    /// Threads to run the client on: 1 runs everything on one thread; more runs a
    /// multi-threaded runtime with that many workers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// `max.partition.fetch.bytes` (Kafka's default is 1 MiB).
    #[arg(long, default_value_t = 1_048_576)]
    max_partition_fetch_bytes: i32,
}

/// Latencies in microseconds, summarised as Kafka's perf tools do: count, sum and maximum
/// exactly, percentiles from a log-linear histogram (values below 256 µs exactly, larger ones
/// to within 1/128, under 0.8 %). Recording costs a few instructions and no memory per sample,
/// which a million samples a second on the send loop notice; Kafka's tool keeps a sample of
/// them instead.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Samples per bucket; allocated at the first sample.
    buckets: Vec<u64>,
    count: u64,
    sum_us: u128,
    max_us: u64,
}

/// Sub-buckets per power of two: the histogram's relative precision is 2^-SUB_BITS.
const SUB_BITS: u32 = 7;
/// Buckets covering every u64.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) << SUB_BITS;

/// The bucket of `us`: its own for values below 2^(SUB_BITS+1), else 2^SUB_BITS buckets per
/// power of two.
fn bucket_of(us: u64) -> usize {
    let log2 = 63 - (us | 1).leading_zeros();
    if log2 <= SUB_BITS {
        return us as usize;
    }
    let shift = log2 - SUB_BITS;
    let sub = (us >> shift) as usize - (1 << SUB_BITS);
    (((shift + 1) as usize) << SUB_BITS) + sub
}

/// The largest value that falls in `bucket`.
fn bucket_max(bucket: usize) -> u64 {
    let group = bucket >> SUB_BITS;
    if group <= 1 {
        return bucket as u64;
    }
    let shift = (group - 1) as u32;
    let low = ((bucket as u64 & ((1 << SUB_BITS) - 1)) + (1 << SUB_BITS)) << shift;
    low.saturating_add((1u64 << shift) - 1)
}

/// The summary of [`Latencies`], in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Mean.
    pub avg_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl Latencies {
    /// Records one sample.
    pub fn record(&mut self, latency: Duration) {
        self.record_us(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Records one sample of `us` microseconds.
    pub fn record_us(&mut self, us: u64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS];
        }
        if let Some(bucket) = self.buckets.get_mut(bucket_of(us)) {
            *bucket += 1;
        }
        self.count += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
    }

    /// The summary (all zero without samples). A percentile is the nearest rank's bucket, as
    /// its largest value (never above the maximum seen).
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |quantile: f64| {
            if self.count == 0 {
                return 0.0;
            }
            let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
            let mut seen = 0;
            for (bucket, &samples) in self.buckets.iter().enumerate() {
                seen += samples;
                if seen >= rank {
                    return ms(bucket_max(bucket).min(self.max_us));
                }
            }
            ms(self.max_us)
        };
        LatencySummary {
            avg_ms: self.sum_us as f64 / self.count.max(1) as f64 / 1000.0,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: ms(self.max_us),
        }
    }
}

/// Count, mean and maximum of the latencies in one progress window.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    count: u64,
    sum_us: u128,
    max_us: u64,
}

impl Window {
    fn record_us(&mut self, us: u64) {
        self.count += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
    }
}

/// `perf produce` reads the clock once per this many sends (see `produce`).
const CLOCK_EVERY: u64 = 16;

/// Runs a `perf` subcommand.
pub async fn run(context: &Context, command: PerfCommand) -> anyhow::Result<()> {
    match command {
        PerfCommand::Produce(args) => produce(context, args).await,
        PerfCommand::Consume(args) => consume(context, args).await,
    }
}

/// Deliveries awaited in send order, and what they came to. The send loop takes in the ones
/// already made before each send (as librdkafka's perf tool serves delivery reports from its
/// produce loop), so no task or channel sits between the producer and the count. Times are
/// microseconds since the start of the run (a subtraction per record, where `Instant`s cost
/// three).
struct Deliveries {
    started: Instant,
    /// Each record's send time and future.
    pending: VecDeque<(u64, DeliveryFuture)>,
    delivered: u64,
    failed: u64,
    first_error: Option<String>,
    latencies: Latencies,
    /// When the last delivery (or failure) was observed.
    last_outcome_us: Option<u64>,
    /// The progress window.
    window: Window,
    window_start_us: u64,
    interval_us: u64,
    record_size: usize,
}

/// Microseconds from `started` to `now`, in u64 arithmetic.
fn micros_since(started: Instant, now: Instant) -> u64 {
    let since = now.saturating_duration_since(started);
    since
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(since.subsec_micros()))
}

impl Deliveries {
    fn new(started: Instant, interval: Duration, record_size: usize) -> Deliveries {
        Deliveries {
            started,
            pending: VecDeque::new(),
            delivered: 0,
            failed: 0,
            first_error: None,
            latencies: Latencies::default(),
            last_outcome_us: None,
            window: Window::default(),
            window_start_us: 0,
            interval_us: u64::try_from(interval.as_micros()).unwrap_or(u64::MAX),
            record_size,
        }
    }

    fn now_us(&self) -> u64 {
        micros_since(self.started, Instant::now())
    }

    /// Takes in, oldest first, the deliveries already made, as observed at `now_us`.
    fn take_ready(&mut self, now_us: u64) {
        while let Some((_, delivery)) = self.pending.front_mut() {
            // Unconstrained: tokio's cooperative budget would otherwise report ready
            // deliveries as pending once the send loop has run a while without yielding.
            let mut poll = tokio::task::unconstrained(delivery);
            let Poll::Ready(outcome) =
                Pin::new(&mut poll).poll(&mut TaskContext::from_waker(Waker::noop()))
            else {
                break;
            };
            if let Some((sent_us, _)) = self.pending.pop_front() {
                self.record(sent_us, outcome, now_us);
            }
        }
    }

    /// Sleeps until `until`, taking in deliveries as they are made meanwhile.
    async fn sleep_until(&mut self, until: Instant) {
        let until = tokio::time::Instant::from_std(until);
        loop {
            let outcome = match self.pending.front_mut() {
                None => {
                    tokio::time::sleep_until(until).await;
                    return;
                }
                Some((_, delivery)) => tokio::select! {
                    () = tokio::time::sleep_until(until) => return,
                    outcome = delivery => outcome,
                },
            };
            let now_us = self.now_us();
            if let Some((sent_us, _)) = self.pending.pop_front() {
                self.record(sent_us, outcome, now_us);
            }
            self.take_ready(now_us);
        }
    }

    /// Waits for every delivery still pending.
    async fn finish(&mut self) {
        while let Some((sent_us, delivery)) = self.pending.pop_front() {
            let outcome = delivery.await;
            let now_us = self.now_us();
            self.record(sent_us, outcome, now_us);
            self.take_ready(now_us);
        }
    }

    /// Counts one delivery observed at `now_us`, printing progress when a window is over.
    fn record(
        &mut self,
        sent_us: u64,
        outcome: strom_producer::Result<RecordMetadata>,
        now_us: u64,
    ) {
        self.last_outcome_us = Some(now_us);
        match outcome {
            Ok(_) => {
                let latency_us = now_us.saturating_sub(sent_us);
                self.delivered += 1;
                self.latencies.record_us(latency_us);
                self.window.record_us(latency_us);
            }
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| error.to_string());
            }
        }
        let elapsed_us = now_us.saturating_sub(self.window_start_us);
        if elapsed_us >= self.interval_us {
            let count = self.window.count;
            let rate = count as f64 / (elapsed_us.max(1) as f64 / 1e6);
            eprintln!(
                "{count} records sent, {rate:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency.",
                rate * self.record_size as f64 / (1024.0 * 1024.0),
                self.window.sum_us as f64 / count.max(1) as f64 / 1000.0,
                self.window.max_us as f64 / 1000.0,
            );
            self.window = Window::default();
            self.window_start_us = now_us;
        }
    }
}

async fn produce(context: &Context, args: ProduceArgs) -> anyhow::Result<()> {
    let producer = Producer::new(args.producer.config(context)).await?;
    // One payload for the life of the process, static so that cloning it for each record
    // costs no reference counting.
    let payload = Bytes::from_static(
        (0..args.record_size)
            .map(|index| b'A' + (index % 26) as u8)
            .collect::<Vec<u8>>()
            .leak(),
    );
    let interval = Duration::from_millis(args.reporting_interval_ms.max(1));
    let record_size = args.record_size;
    let started = Instant::now();
    let mut deliveries = Deliveries::new(started, interval, record_size);
    // Record timestamps (create time) come from the clock read that times the send: the wall
    // clock at the start plus the time since, rather than a second clock read per record.
    let started_millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        });
    let deadline = args
        .duration_secs
        .map(|secs| started + Duration::from_secs(secs));
    let mut sent: u64 = 0;
    // The clock is read before every CLOCK_EVERY-th send and after anything that waited (a
    // send that waited for buffer memory or metadata, the throughput cap): at full speed a send
    // takes well under a microsecond, so a send time is at most a few microseconds early,
    // against latencies of milliseconds (Kafka's tool reads a millisecond clock). A clock
    // read per record cost a tenth of the loop's time.
    let mut send_us = 0;
    let mut stale = true;
    let res: anyhow::Result<()> = async {
        loop {
            if args.num_records.is_some_and(|count| sent >= count) {
                return Ok(());
            }
            if let Some(throughput) = args.throughput.filter(|&t| t > 0) {
                let due = started + Duration::from_secs_f64(sent as f64 / throughput as f64);
                if due > Instant::now() {
                    deliveries.sleep_until(due).await;
                }
                stale = true;
            }
            if stale || sent.is_multiple_of(CLOCK_EVERY) {
                let now = Instant::now();
                if deadline.is_some_and(|deadline| now >= deadline) {
                    return Ok(());
                }
                send_us = micros_since(started, now);
                deliveries.take_ready(send_us);
                stale = false;
            }
            let since_millis = i64::try_from(send_us / 1000).unwrap_or(i64::MAX);
            let timestamp = Timestamp(started_millis.saturating_add(since_millis));
            let record =
                ProducerRecord::new(args.topic.clone(), payload.clone()).with_timestamp(timestamp);
            let mut send = std::pin::pin!(producer.send(record));
            // Polled once here to learn whether it waits.
            let delivery =
                match std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await {
                    Poll::Ready(delivery) => delivery?,
                    Poll::Pending => {
                        stale = true;
                        send.await?
                    }
                };
            sent += 1;
            deliveries.pending.push_back((send_us, delivery));
        }
    }
    .await;
    // The last records are sent at once, and their deliveries taken in as they come.
    let (flushed, ()) = tokio::join!(producer.flush(), deliveries.finish());
    producer.close().await?;
    res?;
    flushed?;
    // Up to the last acknowledgement, as rdkafka_performance measures: closing the producer
    // (stopping its task, closing connections) is not sending.
    let collected = deliveries;
    let elapsed = (collected
        .last_outcome_us
        .unwrap_or_else(|| collected.now_us()) as f64
        / 1e6)
        .max(1e-9);
    let latencies = collected.latencies;
    let summary = latencies.summary();
    let records_per_sec = collected.delivered as f64 / elapsed;
    let mb_per_sec = records_per_sec * record_size as f64 / (1024.0 * 1024.0);
    match context.output {
        Output::Table => println!(
            "{} records sent, {records_per_sec:.1} records/sec ({mb_per_sec:.2} MB/sec), \
             {:.2} ms avg latency, {:.2} ms max latency, {:.2} ms 50th, {:.2} ms 95th, \
             {:.2} ms 99th, {:.2} ms 99.9th.",
            collected.delivered,
            summary.avg_ms,
            summary.max_ms,
            summary.p50_ms,
            summary.p95_ms,
            summary.p99_ms,
            summary.p999_ms,
        ),
        Output::Json => println!(
            "{}",
            json!({
                "records": collected.delivered,
                "failed": collected.failed,
                "records_per_sec": records_per_sec,
                "mb_per_sec": mb_per_sec,
                "avg_latency_ms": summary.avg_ms,
                "p50_latency_ms": summary.p50_ms,
                "p95_latency_ms": summary.p95_ms,
                "p99_latency_ms": summary.p99_ms,
                "p999_latency_ms": summary.p999_ms,
                "max_latency_ms": summary.max_ms,
            })
        ),
    }
    if collected.failed > 0 {
        anyhow::bail!(
            "{} of {sent} records failed; first error: {}",
            collected.failed,
            collected.first_error.unwrap_or_default()
        );
    }
    Ok(())
}

async fn consume(context: &Context, args: ConsumeArgs) -> anyhow::Result<()> {
    let admin = context.admin().await?;
    let partitions: anyhow::Result<Vec<TopicPartition>> =
        admin.partitions_of(&args.topic).await.map_err(Into::into);
    admin.close().await;
    let partitions = partitions?;
    let config = ConsumerConfig {
        client: context.client_config(),
        auto_offset_reset: AutoOffsetReset::Earliest,
        max_partition_fetch_bytes: args.max_partition_fetch_bytes,
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(config).await?;
    consumer.assign(partitions.clone());
    consumer.seek_to_beginning(&partitions)?;
    let interval = Duration::from_millis(args.reporting_interval_ms.max(1));
    let timeout = Duration::from_millis(args.timeout_ms);
    // Throughput is measured from the first record to the last, as librdkafka's perf tool does,
    // so connecting and the first fetch's wait are left out.
    let mut started = None;
    let mut last_record = Instant::now();
    let mut last_report = last_record;
    let mut records: u64 = 0;
    let mut bytes: u64 = 0;
    let mut latencies = Latencies::default();
    let res: anyhow::Result<()> = async {
        while records < args.messages {
            if last_record.elapsed() >= timeout {
                anyhow::bail!(
                    "read {records} of {} records: nothing arrived for {} ms",
                    args.messages,
                    args.timeout_ms
                );
            }
            let poll_start = Instant::now();
            let batch = consumer.poll(Duration::from_millis(100)).await?;
            if batch.is_empty() {
                continue;
            }
            last_record = Instant::now();
            latencies.record(last_record.saturating_duration_since(poll_start));
            // From the moment the first records were in hand, as rdkafka_performance measures.
            let started = *started.get_or_insert(last_record);
            for record in &batch {
                records += 1;
                bytes += record.value.as_ref().map_or(0, |value| value.len() as u64)
                    + record.key.as_ref().map_or(0, |key| key.len() as u64);
            }
            if last_report.elapsed() >= interval {
                last_report = Instant::now();
                let elapsed = started.elapsed().as_secs_f64();
                eprintln!(
                    "{records} records read, {:.1} records/sec ({:.2} MB/sec)",
                    records as f64 / elapsed,
                    bytes as f64 / elapsed / (1024.0 * 1024.0)
                );
            }
        }
        Ok(())
    }
    .await;
    consumer.close().await;
    res?;
    let elapsed = started
        .map_or(0.0, |started| {
            last_record.duration_since(started).as_secs_f64()
        })
        .max(1e-9);
    let records_per_sec = records as f64 / elapsed;
    let mb_per_sec = bytes as f64 / elapsed / (1024.0 * 1024.0);
    let summary = latencies.summary();
    match context.output {
        Output::Table => println!(
            "{records} records read, {records_per_sec:.1} records/sec ({mb_per_sec:.2} MB/sec), \
             poll latency {:.2} ms avg, {:.2} ms 50th, {:.2} ms 95th, {:.2} ms 99th, \
             {:.2} ms 99.9th, {:.2} ms max.",
            summary.avg_ms,
            summary.p50_ms,
            summary.p95_ms,
            summary.p99_ms,
            summary.p999_ms,
            summary.max_ms,
        ),
        Output::Json => println!(
            "{}",
            json!({
                "records": records,
                "bytes": bytes,
                "records_per_sec": records_per_sec,
                "mb_per_sec": mb_per_sec,
                "avg_latency_ms": summary.avg_ms,
                "p50_latency_ms": summary.p50_ms,
                "p95_latency_ms": summary.p95_ms,
                "p99_latency_ms": summary.p99_ms,
                "p999_latency_ms": summary.p999_ms,
                "max_latency_ms": summary.max_ms,
            })
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(samples_ms: &[u64], expect: LatencySummary) {
        let mut latencies = Latencies::default();
        for &ms in samples_ms {
            latencies.record(Duration::from_millis(ms));
        }
        let got = latencies.summary();
        assert_eq!(got.avg_ms, expect.avg_ms, "{got:?}");
        assert_eq!(got.max_ms, expect.max_ms, "{got:?}");
        for (got, expect) in [
            (got.p50_ms, expect.p50_ms),
            (got.p95_ms, expect.p95_ms),
            (got.p99_ms, expect.p99_ms),
            (got.p999_ms, expect.p999_ms),
        ] {
            // The bucket's largest value: at or above the sample, by less than 1/128.
            assert!(
                got >= expect && got <= expect * (1.0 + 1.0 / 128.0),
                "{got} for {expect}"
            );
        }
    }

    #[test]
    fn summary_uses_nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=1000).rev().collect();
        check(
            &samples,
            LatencySummary {
                avg_ms: 500.5,
                p50_ms: 500.0,
                p95_ms: 950.0,
                p99_ms: 990.0,
                p999_ms: 999.0,
                max_ms: 1000.0,
            },
        );
        check(
            &[],
            LatencySummary {
                avg_ms: 0.0,
                p50_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                p999_ms: 0.0,
                max_ms: 0.0,
            },
        );
        // One sample: every percentile is it.
        check(
            &[7],
            LatencySummary {
                avg_ms: 7.0,
                p50_ms: 7.0,
                p95_ms: 7.0,
                p99_ms: 7.0,
                p999_ms: 7.0,
                max_ms: 7.0,
            },
        );
    }

    #[test]
    fn buckets_cover_every_value_in_order_and_small_values_exactly() {
        for us in 0..256 {
            assert_eq!(bucket_max(bucket_of(us)), us);
        }
        let mut values: Vec<u64> = (0..64)
            .flat_map(|shift| {
                let power = 1u64 << shift;
                [power, power + 1, power + power / 2, power + (power - 1)]
            })
            .collect();
        values.sort_unstable();
        let mut previous = 0;
        for us in values {
            let bucket = bucket_of(us);
            assert!(bucket < BUCKETS, "{us}");
            assert!(bucket >= previous, "{us}");
            previous = bucket;
            let max = bucket_max(bucket);
            assert!(
                max >= us && (max - us) as f64 <= us as f64 / 128.0,
                "{us}: {max}"
            );
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_max(BUCKETS - 1), u64::MAX);
    }
}
