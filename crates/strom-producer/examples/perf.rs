//! A rough producer and consumer throughput run against an in-process Strom broker (a temporary
//! data directory on 127.0.0.1), in the style of Kafka's perf tools. Not a criterion benchmark:
//! one run, wall-clock numbers.
//!
//! `cargo run --release -p strom-producer --example perf -- [records] [record-bytes] [codec]`
#![expect(
    clippy::unwrap_used,
    reason = "a measurement tool: any failure should stop it loudly"
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use strom_broker::Broker;
use strom_broker::config::{BrokerConfig, Sources};
use strom_client::TopicPartition;
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig};
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_record::Compression;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let records: usize = args.get(1).map_or(500_000, |arg| arg.parse().unwrap());
    let record_bytes: usize = args.get(2).map_or(100, |arg| arg.parse().unwrap());
    let compression = match args.get(3).map_or("none", String::as_str) {
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        _ => Compression::None,
    };
    let dir = tempfile::tempdir().unwrap();
    let sources = Sources {
        overrides: vec![
            ("listeners".to_owned(), "PLAINTEXT://127.0.0.1:0".to_owned()),
            ("log.dirs".to_owned(), dir.path().display().to_string()),
            ("num.partitions".to_owned(), "1".to_owned()),
        ],
        ..Sources::default()
    };
    let broker = Broker::start(BrokerConfig::load(&sources).unwrap().config)
        .await
        .unwrap();
    let addr = broker.local_addr().to_string();

    let config = ProducerConfig {
        compression,
        ..ProducerConfig::bootstrap(addr.clone())
    };
    let producer = Producer::new(config).await.unwrap();
    let value = Bytes::from(vec![b'x'; record_bytes]);
    let started = Instant::now();
    for _ in 0..records {
        let record = ProducerRecord {
            value: Some(value.clone()),
            ..ProducerRecord::new("perf", Bytes::new())
        };
        producer.send_and_forget(record).await.unwrap();
    }
    producer.flush().await.unwrap();
    report("produce", records, record_bytes, started.elapsed());
    producer.close().await.unwrap();

    let config = ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        ..ConsumerConfig::bootstrap(addr)
    };
    let mut consumer = Consumer::new(config).await.unwrap();
    consumer.assign(vec![TopicPartition::new("perf", 0)]);
    let started = Instant::now();
    let mut read = 0;
    while read < records {
        read += consumer.poll(Duration::from_secs(5)).await.unwrap().len();
    }
    report("consume", read, record_bytes, started.elapsed());
    broker.shutdown().await.unwrap();
}

fn report(what: &str, records: usize, record_bytes: usize, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let megabytes = (records * record_bytes) as f64 / 1_048_576.0;
    println!(
        "{what}: {records} records of {record_bytes} B in {seconds:.2} s: {:.0} records/s, {:.1} MiB/s",
        records as f64 / seconds,
        megabytes / seconds
    );
}
