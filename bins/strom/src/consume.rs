//! `strom consume`: prints the records of a topic's partitions (all, or one with
//! `--partition`) from the end, the beginning or an offset, through `strom-consumer` with
//! partitions assigned directly. It does not join a consumer group or commit offsets yet.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use strom_admin::TopicPartition;
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig, ConsumerRecord};
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
    #[arg(long)]
    partition: Option<i32>,
    /// Start at the log start offset (default: only new records).
    #[arg(long, conflicts_with = "offset")]
    from_beginning: bool,
    /// Start at this offset: a number, `earliest` or `latest`.
    #[arg(long)]
    offset: Option<StartOffset>,
    /// Exit after this many records.
    #[arg(long)]
    max_messages: Option<u64>,
    /// Exit once every partition was read up to its log end offset as of the start.
    #[arg(long)]
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

/// Runs `consume`.
pub async fn run(context: &Context, args: ConsumeArgs) -> anyhow::Result<()> {
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
    let res = consume(&mut consumer, context.output, &args, &partitions).await;
    consumer.close().await;
    let count = res?;
    eprintln!("Processed a total of {count} messages");
    Ok(())
}

async fn consume(
    consumer: &mut Consumer,
    output: Output,
    args: &ConsumeArgs,
    partitions: &[TopicPartition],
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
        for record in consumer.poll(Duration::from_millis(200)).await? {
            if args.max_messages.is_some_and(|max| count >= max) {
                return Ok(count);
            }
            last_record = Instant::now();
            count += 1;
            let line = match output {
                Output::Table => format_record(&args.format, &record),
                Output::Json => record_json(&record).to_string(),
            };
            println!("{line}");
            let topic_partition = TopicPartition::new(record.topic.clone(), record.partition);
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
        "topic": record.topic,
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
            topic: "events".to_owned(),
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
