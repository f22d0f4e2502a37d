//! `strom perf produce|consume`: throughput and latency tests modelled on Kafka's
//! `kafka-producer-perf-test` and `kafka-consumer-perf-test`. They print progress every
//! `--reporting-interval-ms` and one final line (or a JSON object with `--output json`).
//!
//! Produce latency is measured from `send` to the moment the delivery is observed; deliveries
//! are awaited in send order, so a fast delivery behind a slow one counts as late as the slow
//! one (the per-partition order makes this rare). Consume throughput runs from the first
//! record to the last; consume latency is the time each `poll` that returned records took.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Args, Subcommand};
use serde_json::json;
use strom_admin::TopicPartition;
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig};
use strom_producer::{DeliveryFuture, Producer, ProducerRecord};
use tokio::sync::mpsc;

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
    /// `max.partition.fetch.bytes` (Kafka's default is 1 MiB).
    #[arg(long, default_value_t = 1_048_576)]
    max_partition_fetch_bytes: i32,
}

/// Latency samples in microseconds, summarised as Kafka's perf tools do.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples_us: Vec<u64>,
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
        self.samples_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// The summary (all zero without samples).
    pub fn summary(&mut self) -> LatencySummary {
        self.samples_us.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        let at = |quantile: f64| {
            // The nearest-rank percentile.
            let count = self.samples_us.len();
            let rank = ((quantile * count as f64).ceil() as usize).clamp(1, count.max(1));
            self.samples_us.get(rank - 1).copied().map_or(0.0, ms)
        };
        let sum: u128 = self.samples_us.iter().map(|&us| u128::from(us)).sum();
        let count = self.samples_us.len().max(1) as f64;
        LatencySummary {
            avg_ms: sum as f64 / count / 1000.0,
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: self.samples_us.last().copied().map_or(0.0, ms),
        }
    }
}

/// Runs a `perf` subcommand.
pub async fn run(context: &Context, command: PerfCommand) -> anyhow::Result<()> {
    match command {
        PerfCommand::Produce(args) => produce(context, args).await,
        PerfCommand::Consume(args) => consume(context, args).await,
    }
}

/// What the delivery collector reports when the run ends.
struct Collected {
    delivered: u64,
    failed: u64,
    first_error: Option<String>,
    latencies: Latencies,
}

async fn produce(context: &Context, args: ProduceArgs) -> anyhow::Result<()> {
    let producer = Producer::new(args.producer.config(context)).await?;
    let payload = Bytes::from(
        (0..args.record_size)
            .map(|index| b'A' + (index % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    let interval = Duration::from_millis(args.reporting_interval_ms.max(1));
    let (sender, receiver) = mpsc::unbounded_channel::<(Instant, DeliveryFuture)>();
    let record_size = args.record_size;
    let collector = tokio::spawn(collect(receiver, interval, record_size));
    let started = Instant::now();
    let deadline = args
        .duration_secs
        .map(|secs| started + Duration::from_secs(secs));
    let mut sent: u64 = 0;
    let res: anyhow::Result<()> = async {
        loop {
            if args.num_records.is_some_and(|count| sent >= count)
                || deadline.is_some_and(|deadline| Instant::now() >= deadline)
            {
                return Ok(());
            }
            if let Some(throughput) = args.throughput.filter(|&t| t > 0) {
                let due = Duration::from_secs_f64(sent as f64 / throughput as f64);
                let elapsed = started.elapsed();
                if due > elapsed {
                    tokio::time::sleep(due - elapsed).await;
                }
            }
            let send_start = Instant::now();
            let record = ProducerRecord::new(args.topic.clone(), payload.clone());
            let delivery = producer.send(record).await?;
            sent += 1;
            if sender.send((send_start, delivery)).is_err() {
                anyhow::bail!("the delivery collector stopped");
            }
        }
    }
    .await;
    drop(sender);
    let flushed = producer.flush().await;
    let collected = collector.await?;
    producer.close().await?;
    res?;
    flushed?;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    let mut latencies = collected.latencies;
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

/// Awaits deliveries in send order, recording latencies and printing progress.
async fn collect(
    mut receiver: mpsc::UnboundedReceiver<(Instant, DeliveryFuture)>,
    interval: Duration,
    record_size: usize,
) -> Collected {
    let mut res = Collected {
        delivered: 0,
        failed: 0,
        first_error: None,
        latencies: Latencies::default(),
    };
    let mut window_start = Instant::now();
    let mut window = Latencies::default();
    while let Some((sent_at, delivery)) = receiver.recv().await {
        match delivery.await {
            Ok(_) => {
                let latency = sent_at.elapsed();
                res.delivered += 1;
                res.latencies.record(latency);
                window.record(latency);
            }
            Err(error) => {
                res.failed += 1;
                res.first_error.get_or_insert_with(|| error.to_string());
            }
        }
        let elapsed = window_start.elapsed();
        if elapsed >= interval {
            let count = window.samples_us.len();
            let summary = window.summary();
            let rate = count as f64 / elapsed.as_secs_f64();
            eprintln!(
                "{count} records sent, {rate:.1} records/sec ({:.2} MB/sec), {:.2} ms avg latency, {:.2} ms max latency.",
                rate * record_size as f64 / (1024.0 * 1024.0),
                summary.avg_ms,
                summary.max_ms,
            );
            window = Latencies::default();
            window_start = Instant::now();
        }
    }
    res
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
    // Throughput is measured from the first record to the last, as librdkafka-based perf
    // clients do, so connecting and the first fetch's wait are left out.
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
            latencies.record(poll_start.elapsed());
            last_record = Instant::now();
            let started = *started.get_or_insert(poll_start);
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
        assert_eq!(latencies.summary(), expect);
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
    }
}
