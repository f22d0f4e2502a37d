//! An idempotent producer keeps sending while its broker shuts down and comes back on the same
//! port and data directory, twice: every record is acknowledged, and the log holds each exactly
//! once, in send order per partition.

use std::time::Duration;

use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, RunningBroker};
use strom_client::{ClientConfig, TopicPartition};
use strom_producer::{Producer, ProducerConfig, ProducerRecord};

use crate::fixture::{create_topic, read_all};

const TOPIC: &str = "restarted";
const PARTITIONS: i32 = 3;
const COUNT: usize = 6000;

/// Starts a broker on `port` (0: any) with its data in `dir`.
async fn start(dir: &std::path::Path, port: u16) -> RunningBroker {
    let overrides = [
        ("listeners", format!("PLAINTEXT://127.0.0.1:{port}")),
        ("log.dirs", dir.join("data").display().to_string()),
        ("num.partitions", "1".to_owned()),
    ];
    let sources = Sources {
        overrides: overrides
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
        ..Sources::default()
    };
    let config = BrokerConfig::load(&sources).unwrap().config;
    // The port of a broker just shut down can take a moment to be free again.
    for _ in 0..50 {
        match Broker::start(config.clone()).await {
            Ok(running) => return running,
            Err(error) => {
                tracing::info!(%error, "broker did not start yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("the broker did not start on port {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restarts_mid_stream_lose_and_duplicate_nothing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut broker = start(dir.path(), 0).await;
    let port = broker.local_addr().port();
    let addr = format!("127.0.0.1:{port}");
    create_topic(&addr, TOPIC, PARTITIONS).await;

    let config = ProducerConfig {
        batch_size: 4096,
        linger: Duration::from_millis(2),
        client: ClientConfig {
            retry_backoff: Duration::from_millis(20),
            retry_backoff_max: Duration::from_millis(200),
            ..ClientConfig::bootstrap(addr.clone())
        },
        ..ProducerConfig::bootstrap(addr.clone())
    };
    let producer = Producer::new(config).await.unwrap();
    let sender = tokio::spawn(async move {
        let mut deliveries = Vec::new();
        for index in 0..COUNT {
            let record = ProducerRecord::new(TOPIC, format!("{index:06}"))
                .with_partition((index % PARTITIONS as usize) as i32);
            deliveries.push(producer.send(record).await.unwrap());
            // Paced, so that sending spans both restarts.
            if index % 20 == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        producer.flush().await.unwrap();
        let mut acknowledged = 0;
        for delivery in deliveries {
            delivery.await.unwrap();
            acknowledged += 1;
        }
        producer.close().await.unwrap();
        acknowledged
    });

    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        broker.shutdown().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        broker = start(dir.path(), port).await;
    }
    assert!(
        !sender.is_finished(),
        "the producer was still sending when the broker restarted"
    );
    let acknowledged = tokio::time::timeout(Duration::from_secs(60), sender)
        .await
        .expect("the producer finished within a minute")
        .unwrap();
    assert_eq!(acknowledged, COUNT, "every record was acknowledged");

    let partitions = (0..PARTITIONS)
        .map(|partition| TopicPartition::new(TOPIC, partition))
        .collect();
    let read = read_all(&addr, partitions, COUNT).await;
    assert_eq!(read.len(), COUNT, "no duplicates, nothing lost");
    for partition in 0..PARTITIONS {
        let values: Vec<String> = read
            .iter()
            .filter(|record| record.partition == partition)
            .filter_map(|record| String::from_utf8(record.value.clone()?.to_vec()).ok())
            .collect();
        let expected: Vec<String> = (0..COUNT)
            .filter(|index| index % PARTITIONS as usize == partition as usize)
            .map(|index| format!("{index:06}"))
            .collect();
        assert_eq!(values, expected, "partition {partition} in order");
    }
    broker.shutdown().await.unwrap();
}
