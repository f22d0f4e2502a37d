//! `strom produce`: one record per line of stdin or a file, with an optional key separator
//! and headers, through `strom-producer`. Prints how many records were written per partition.
//! It does not parse structured input (JSON, Avro); a line is bytes.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Args;
use serde_json::json;
use strom_producer::{Acks, DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
use strom_record::Compression;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};

use crate::Context;
use crate::table::Table;

/// How many deliveries may be outstanding before we wait for the oldest.
const MAX_OUTSTANDING: usize = 10_000;
/// How often long runs print progress.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// Arguments of `produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Split each line at the first occurrence of this separator into key and value.
    #[arg(long)]
    key_separator: Option<String>,
    /// A header added to every record, `key=value` (repeatable).
    #[arg(long = "header", value_parser = crate::key_value)]
    headers: Vec<(String, String)>,
    /// Write every record to this partition (the partitioner chooses otherwise).
    #[arg(long)]
    partition: Option<i32>,
    #[command(flatten)]
    producer: ProducerArgs,
}

/// Producer settings shared with `perf produce`.
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    /// `acks`: 0, 1 or all (or -1, the same as all).
    #[arg(long, default_value = "all", value_parser = parse_acks, allow_hyphen_values = true)]
    pub acks: Acks,
    /// Compression codec: none, gzip, snappy, lz4 or zstd.
    #[arg(long, default_value = "none", value_parser = parse_compression)]
    pub compression: Compression,
    /// `batch.size` in bytes.
    #[arg(long, default_value_t = 16_384)]
    pub batch_size: usize,
    /// `linger.ms`.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// `buffer.memory` in bytes (Kafka's default is 32 MiB).
    #[arg(long, default_value_t = 33_554_432)]
    pub buffer_memory: usize,
    /// `max.in.flight.requests.per.connection` (at most 5 with acks=all, which turns on
    /// idempotence).
    #[arg(long, default_value_t = 5)]
    pub max_in_flight: usize,
}

impl ProducerArgs {
    /// The producer configuration for these settings.
    pub fn config(&self, context: &Context) -> ProducerConfig {
        ProducerConfig {
            client: context.client_config(),
            acks: self.acks,
            compression: self.compression,
            batch_size: self.batch_size,
            linger: Duration::from_millis(self.linger_ms),
            buffer_memory: self.buffer_memory,
            max_in_flight_requests_per_connection: self.max_in_flight,
            // Idempotence requires acks=all.
            enable_idempotence: self.acks == Acks::All,
            ..ProducerConfig::default()
        }
    }
}

/// Parses an `acks` value.
pub fn parse_acks(text: &str) -> Result<Acks, String> {
    match text {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "all" | "-1" => Ok(Acks::All),
        _ => Err(format!("acks must be 0, 1 or all, not {text:?}")),
    }
}

/// Parses a compression codec name.
pub fn parse_compression(text: &str) -> Result<Compression, String> {
    match text {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "snappy" => Ok(Compression::Snappy),
        "lz4" => Ok(Compression::Lz4),
        "zstd" => Ok(Compression::Zstd),
        _ => Err(format!(
            "compression must be none, gzip, snappy, lz4 or zstd, not {text:?}"
        )),
    }
}

/// Runs `produce`.
pub async fn run(context: &Context, args: ProduceArgs) -> anyhow::Result<()> {
    let input: Box<dyn AsyncBufRead + Unpin + Send> = match &args.file {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|error| anyhow::anyhow!("cannot open {}: {error}", path.display()))?;
            Box::new(BufReader::new(file))
        }
        None => Box::new(BufReader::new(tokio::io::stdin())),
    };
    let producer = Producer::new(args.producer.config(context)).await?;
    let res = produce_lines(&producer, &args, input).await;
    producer.close().await?;
    let per_partition = res?;
    let mut table = Table::new(&["topic", "partition", "records"]);
    for (partition, records) in per_partition {
        table.row(vec![json!(args.topic), json!(partition), json!(records)]);
    }
    print!("{}", table.render(context.output));
    Ok(())
}

async fn produce_lines(
    producer: &Producer,
    args: &ProduceArgs,
    input: Box<dyn AsyncBufRead + Unpin + Send>,
) -> anyhow::Result<BTreeMap<i32, u64>> {
    let mut lines = input.lines();
    let mut outstanding: VecDeque<DeliveryFuture> = VecDeque::new();
    let mut res: BTreeMap<i32, u64> = BTreeMap::new();
    let started = Instant::now();
    let mut last_progress = started;
    let mut sent: u64 = 0;
    while let Some(line) = lines.next_line().await? {
        let line = line.strip_suffix('\r').unwrap_or(&line);
        let mut record = match args.key_separator.as_deref() {
            Some(separator) => match line.split_once(separator) {
                Some((key, value)) => ProducerRecord::new(
                    args.topic.clone(),
                    Bytes::copy_from_slice(value.as_bytes()),
                )
                .with_key(Bytes::copy_from_slice(key.as_bytes())),
                None => anyhow::bail!(
                    "line {} has no key separator {separator:?}: {line:?}",
                    sent + 1
                ),
            },
            None => {
                ProducerRecord::new(args.topic.clone(), Bytes::copy_from_slice(line.as_bytes()))
            }
        };
        for (key, value) in &args.headers {
            record = record.with_header(key.clone(), Bytes::copy_from_slice(value.as_bytes()));
        }
        if let Some(partition) = args.partition {
            record = record.with_partition(partition);
        }
        outstanding.push_back(producer.send(record).await?);
        sent += 1;
        if outstanding.len() >= MAX_OUTSTANDING
            && let Some(delivery) = outstanding.pop_front()
        {
            *res.entry(delivery.await?.partition).or_default() += 1;
        }
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            last_progress = Instant::now();
            eprintln!(
                "{sent} records sent in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    producer.flush().await?;
    for delivery in outstanding {
        *res.entry(delivery.await?.partition).or_default() += 1;
    }
    Ok(res)
}
