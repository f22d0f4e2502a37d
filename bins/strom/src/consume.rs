//! `strom consume`: prints the records of a topic through `strom-consumer`, either as a member
//! of a consumer group (`--group`: subscribe, auto commit, a final commit and LeaveGroup on
//! exit, SIGINT or SIGTERM) or from partitions assigned directly (all, or one with
//! `--partition`) from the end, the beginning or an offset, without committing anything.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use strom_admin::TopicPartition;
use strom_consumer::{Assignor, AutoOffsetReset, Consumer, ConsumerConfig, ConsumerRecord};
use strom_record::Offset;

use crate::Context;
use crate::table::Output;

/// Arguments of `consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Read only this partition.
    #[arg(long, conflicts_with = "group")]
    partition: Option<i32>,
    /// Join this consumer group: partitions are assigned by the group, positions start at the
    /// group's committed offsets, and offsets are committed (every 5 s and on exit).
    #[arg(long)]
    group: Option<String>,
    /// With `--group`: a static member id (`group.instance.id`).
    #[arg(long, requires = "group")]
    group_instance_id: Option<String>,
    /// With `--group`: the assignors to offer, in preference order (comma-separated: range,
    /// roundrobin, cooperative-sticky; default range,cooperative-sticky).
    #[arg(long, requires = "group", value_delimiter = ',', value_parser = parse_assignor)]
    assignment_strategy: Vec<Assignor>,
    /// With `--group`: `session.timeout.ms`.
    #[arg(long, requires = "group")]
    session_timeout_ms: Option<u64>,
    /// Start at the log start offset (default: only new records). With `--group`, this is
    /// `auto.offset.reset=earliest`: it applies to partitions without a committed offset.
    #[arg(long, conflicts_with = "offset")]
    from_beginning: bool,
    /// Start at this offset: a number, `earliest` or `latest`.
    #[arg(long, conflicts_with = "group")]
    offset: Option<StartOffset>,
    /// Exit after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit once every partition was read up to its log end offset as of the start.
    #[arg(long, conflicts_with = "group")]
    exit_at_end: bool,
    /// Exit when no record arrived for this many milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// How to print a record: %k key, %v value, %h headers, %o offset, %p partition,
    /// %t timestamp, %T topic, %% a percent sign; \n and \t are escapes. A newline follows.
    #[arg(long, default_value = "%v")]
    format: String,
}

/// Where consumption starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartOffset {
    Earliest,
    Latest,
    At(u64),
}

impl std::str::FromStr for StartOffset {
    type Err = String;

    fn from_str(text: &str) -> Result<StartOffset, String> {
        match text {
            "earliest" | "beginning" => Ok(StartOffset::Earliest),
            "latest" | "end" => Ok(StartOffset::Latest),
            number => number
                .parse()
                .map(StartOffset::At)
                .map_err(|_| format!("offset must be a number, earliest or latest, not {text:?}")),
        }
    }
}

fn parse_assignor(name: &str) -> Result<Assignor, String> {
    Assignor::from_name(name).ok_or_else(|| {
        format!("unknown assignor {name:?} (range, roundrobin or cooperative-sticky)")
    })
}

/// Runs `consume`.
pub async fn run(context: &Context, args: ConsumeArgs) -> anyhow::Result<()> {
    if let Some(group) = args.group.clone() {
        return run_group(context, args, group).await;
    }
    let partitions = match args.partition {
        Some(partition) => vec![TopicPartition::new(args.topic.clone(), partition)],
        None => {
            let admin = context.admin().await?;
            let res = admin.partitions_of(&args.topic).await;
            admin.close().await;
            res?
        }
    };
    let start = match (args.offset, args.from_beginning) {
        (Some(start), _) => start,
        (None, true) => StartOffset::Earliest,
        (None, false) => StartOffset::Latest,
    };
    let config = ConsumerConfig {
        client: context.client_config(),
        auto_offset_reset: AutoOffsetReset::Earliest,
        fetch_max_wait: Duration::from_millis(100),
        ..ConsumerConfig::default()
    };
    let mut consumer = Consumer::new(config).await?;
    consumer.assign(partitions.clone());
    match start {
        StartOffset::Earliest => consumer.seek_to_beginning(&partitions)?,
        StartOffset::Latest => consumer.seek_to_end(&partitions)?,
        StartOffset::At(offset) => {
            for topic_partition in &partitions {
                consumer.seek(topic_partition, Offset(offset))?;
            }
        }
    }
    let stop = AtomicBool::new(false);
    let res = consume(&mut consumer, context.output, &args, &partitions, &stop).await;
    consumer.close().await;
    let count = res?;
    eprintln!("Processed a total of {count} messages");
    Ok(())
}

/// `consume --group`: subscribes, prints until a limit or a signal, then commits and leaves.
async fn run_group(context: &Context, args: ConsumeArgs, group: String) -> anyhow::Result<()> {
    let mut config = ConsumerConfig {
        client: context.client_config(),
        group_id: Some(group),
        group_instance_id: args.group_instance_id.clone(),
        auto_offset_reset: if args.from_beginning {
            AutoOffsetReset::Earliest
        } else {
            AutoOffsetReset::Latest
        },
        fetch_max_wait: Duration::from_millis(100),
        ..ConsumerConfig::default()
    };
    if !args.assignment_strategy.is_empty() {
        config.partition_assignment_strategy = args.assignment_strategy.clone();
    }
    if let Some(session_timeout_ms) = args.session_timeout_ms {
        config.session_timeout = Duration::from_millis(session_timeout_ms);
        // Kafka's ratio: three heartbeats per session.
        config.heartbeat_interval = config.heartbeat_interval.min(config.session_timeout / 3);
    }
    let mut consumer = Consumer::new(config).await?;
    consumer.subscribe([args.topic.clone()])?;
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_signals(stop.clone()));
    let res = consume(&mut consumer, context.output, &args, &[], &stop).await;
    watcher.abort();
    // Everything printed is processed: commit it before leaving the group.
    let commit = consumer.commit_sync().await;
    consumer.close().await;
    let count = res?;
    commit?;
    eprintln!("Processed a total of {count} messages");
    Ok(())
}

/// Sets `stop` on SIGINT or SIGTERM, so that the poll loop ends between polls and nothing
/// printed goes uncommitted.
async fn watch_signals(stop: Arc<AtomicBool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            stop.store(true, Ordering::Relaxed);
            return;
        }
    }
    if tokio::signal::ctrl_c().await.is_ok() {
        stop.store(true, Ordering::Relaxed);
    }
}

async fn consume(
    consumer: &mut Consumer,
    output: Output,
    args: &ConsumeArgs,
    partitions: &[TopicPartition],
    stop: &AtomicBool,
) -> anyhow::Result<u64> {
    // Partitions still to read up to their end, with that end.
    let mut unfinished: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    if args.exit_at_end {
        let ends = consumer.end_offsets(partitions).await?;
        for topic_partition in partitions {
            let position = consumer.position(topic_partition).await?;
            if let Some(end) = ends.get(topic_partition)
                && position < *end
            {
                unfinished.insert(topic_partition.clone(), *end);
            }
        }
    }
    let mut count: u64 = 0;
    let mut last_record = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(count);
        }
        if args.exit_at_end && unfinished.is_empty() {
            return Ok(count);
        }
        if args.max_messages.is_some_and(|max| count >= max) {
            return Ok(count);
        }
        if let Some(timeout_ms) = args.timeout_ms
            && last_record.elapsed() >= Duration::from_millis(timeout_ms)
        {
            return Ok(count);
        }
        let records = consumer.poll(Duration::from_millis(200)).await?;
        for (index, record) in records.iter().enumerate() {
            if args.max_messages.is_some_and(|max| count >= max) {
                // Move back to the first record not printed, so that the final commit (with
                // --group) covers exactly what was printed.
                let mut unprinted: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
                for rest in records.iter().skip(index) {
                    let topic_partition =
                        TopicPartition::new(rest.topic.to_string(), rest.partition);
                    unprinted.entry(topic_partition).or_insert(rest.offset);
                }
                for (topic_partition, offset) in unprinted {
                    consumer.seek(&topic_partition, offset)?;
                }
                return Ok(count);
            }
            last_record = Instant::now();
            count += 1;
            let line = match output {
                Output::Table => format_record(&args.format, record),
                Output::Json => record_json(record).to_string(),
            };
            println!("{line}");
            let topic_partition = TopicPartition::new(record.topic.to_string(), record.partition);
            if let Some(end) = unfinished.get(&topic_partition)
                && record.offset.0 + 1 >= end.0
            {
                unfinished.remove(&topic_partition);
            }
        }
    }
}

/// Renders `record` with a `--format` string.
pub fn format_record(format: &str, record: &ConsumerRecord) -> String {
    let text = |bytes: &Option<bytes::Bytes>| match bytes {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        None => "null".to_owned(),
    };
    let mut res = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => match chars.next() {
                Some('k') => res.push_str(&text(&record.key)),
                Some('v') => res.push_str(&text(&record.value)),
                Some('h') => {
                    let headers: Vec<String> = record
                        .headers
                        .iter()
                        .map(|header| format!("{}={}", header.key, text(&header.value)))
                        .collect();
                    res.push_str(&headers.join(","));
                }
                Some('o') => {
                    let _ = write!(res, "{}", record.offset.0);
                }
                Some('p') => {
                    let _ = write!(res, "{}", record.partition);
                }
                Some('t') => {
                    let _ = write!(res, "{}", record.timestamp.0);
                }
                Some('T') => res.push_str(&record.topic),
                Some(other) => {
                    res.push('%');
                    if other != '%' {
                        res.push(other);
                    }
                }
                None => res.push('%'),
            },
            '\\' => match chars.next() {
                Some('n') => res.push('\n'),
                Some('t') => res.push('\t'),
                Some(other) => {
                    res.push('\\');
                    res.push(other);
                }
                None => res.push('\\'),
            },
            c => res.push(c),
        }
    }
    res
}

/// A record as one JSON object (values as UTF-8 text, lossy).
fn record_json(record: &ConsumerRecord) -> Value {
    let text = |bytes: &Option<bytes::Bytes>| {
        bytes
            .as_ref()
            .map_or(Value::Null, |bytes| json!(String::from_utf8_lossy(bytes)))
    };
    let headers: serde_json::Map<String, Value> = record
        .headers
        .iter()
        .map(|header| (header.key.clone(), text(&header.value)))
        .collect();
    json!({
        "topic": &*record.topic,
        "partition": record.partition,
        "offset": record.offset.0,
        "timestamp": record.timestamp.0,
        "key": text(&record.key),
        "value": text(&record.value),
        "headers": headers,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use strom_record::{Header, Timestamp, TimestampType};

    use super::*;

    #[track_caller]
    fn check(format: &str, key: Option<&str>, expect: &str) {
        let record = ConsumerRecord {
            topic: "events".into(),
            partition: 2,
            offset: Offset(41),
            timestamp: Timestamp(1_700_000_000_000),
            timestamp_type: TimestampType::CreateTime,
            key: key.map(|key| Bytes::copy_from_slice(key.as_bytes())),
            value: Some(Bytes::from_static(b"hello")),
            headers: vec![
                Header {
                    key: "a".to_owned(),
                    value: Some(Bytes::from_static(b"1")),
                },
                Header {
                    key: "b".to_owned(),
                    value: None,
                },
            ],
        };
        assert_eq!(format_record(format, &record), expect);
    }

    #[test]
    fn format_substitutes_every_field() {
        check("%v", Some("k"), "hello");
        check("%k=%v", None, "null=hello");
        check("%T/%p@%o %t", Some("k"), "events/2@41 1700000000000");
        check("%h", Some("k"), "a=1,b=null");
        check("100%% %x %", Some("k"), "100% %x %");
        check("%k\\t%v\\n", Some("k"), "k\thello\n");
    }
}
