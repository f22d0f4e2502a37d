//! Produce with every codec and read back exactly: keys, values, headers, timestamps,
//! offsets; keyed records land where murmur2 says; acks=0 and acks=1 work too.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use strom_client::TopicPartition;
use strom_producer::{Acks, Producer, ProducerConfig, ProducerRecord, partition_for_key};
use strom_record::{Compression, Header, Offset, Timestamp};

use crate::fixture::{TestBroker, create_topic, read_all};

const PARTITIONS: i32 = 3;

fn record(topic: &str, index: usize) -> ProducerRecord {
    let mut record = ProducerRecord::new(topic, format!("value-{index}"))
        .with_header("index", index.to_string())
        .with_timestamp(Timestamp(1_700_000_000_000 + index as i64));
    record.headers.push(Header {
        key: "null".to_owned(),
        value: None,
    });
    if !index.is_multiple_of(3) {
        record.key = Some(Bytes::from(format!("key-{}", index % 17)));
    }
    if index % 50 == 7 {
        record.value = None;
    }
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_exactly() {
    const COUNT: usize = 300;
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    for compression in Compression::ALL {
        let topic = format!("codec-{}", compression.name());
        create_topic(&addr, &topic, PARTITIONS).await;
        let config = ProducerConfig {
            compression,
            batch_size: 4096,
            linger: Duration::from_millis(20),
            ..ProducerConfig::bootstrap(addr.clone())
        };
        let producer = Producer::new(config).await.unwrap();
        let mut deliveries = Vec::new();
        for index in 0..COUNT {
            deliveries.push(producer.send(record(&topic, index)).await.unwrap());
        }
        producer.flush().await.unwrap();
        let mut sent = BTreeMap::new();
        for (index, delivery) in deliveries.into_iter().enumerate() {
            let metadata = delivery.await.unwrap();
            assert_eq!(*metadata.topic, *topic);
            assert_eq!(
                metadata.timestamp,
                Timestamp(1_700_000_000_000 + index as i64)
            );
            let expected = record(&topic, index);
            if let Some(key) = &expected.key {
                assert_eq!(
                    metadata.partition as u32,
                    partition_for_key(key, PARTITIONS as u32),
                    "key {key:?}"
                );
            }
            sent.insert((metadata.partition, metadata.offset.unwrap()), expected);
        }
        producer.close().await.unwrap();

        let partitions = (0..PARTITIONS)
            .map(|partition| TopicPartition::new(topic.clone(), partition))
            .collect();
        let read = read_all(&addr, partitions, COUNT).await;
        assert_eq!(read.len(), COUNT, "{compression}");
        for record in &read {
            let expected = &sent[&(record.partition, record.offset)];
            assert_eq!(record.key, expected.key, "{compression}");
            assert_eq!(record.value, expected.value, "{compression}");
            assert_eq!(record.headers, expected.headers, "{compression}");
            assert_eq!(Some(record.timestamp), expected.timestamp, "{compression}");
        }
        // Offsets are dense from 0 in each partition, in send order.
        for partition in 0..PARTITIONS {
            let offsets: Vec<u64> = read
                .iter()
                .filter(|record| record.partition == partition)
                .map(|record| record.offset.0)
                .collect();
            let expected: Vec<u64> = (0..offsets.len() as u64).collect();
            assert_eq!(offsets, expected, "{compression} partition {partition}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_one_and_zero_deliver() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    create_topic(&addr, "acks", 1).await;
    for (acks, expect_offsets) in [(Acks::Leader, true), (Acks::None, false)] {
        let config = ProducerConfig {
            acks,
            enable_idempotence: false,
            ..ProducerConfig::bootstrap(addr.clone())
        };
        let producer = Producer::new(config).await.unwrap();
        let mut deliveries = Vec::new();
        for index in 0..10 {
            let record = ProducerRecord::new("acks", format!("{acks:?}-{index}"));
            deliveries.push(producer.send(record).await.unwrap());
        }
        producer.close().await.unwrap();
        for delivery in deliveries {
            let metadata = delivery.await.unwrap();
            assert_eq!(metadata.offset.is_some(), expect_offsets, "{acks:?}");
        }
    }
    let read = read_all(&addr, vec![TopicPartition::new("acks", 0)], 20).await;
    assert_eq!(read.len(), 20);
    assert_eq!(read[0].offset, Offset(0));
    assert_eq!(read[19].value.as_deref(), Some(&b"None-9"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_and_forget_and_round_robin() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    create_topic(&addr, "rr", 3).await;
    let config = ProducerConfig {
        partitioner: strom_producer::Partitioner::RoundRobin,
        ..ProducerConfig::bootstrap(addr.clone())
    };
    let producer = Producer::new(config).await.unwrap();
    for index in 0..9 {
        let record = ProducerRecord::new("rr", format!("v{index}")).with_key("same");
        producer.send_and_forget(record).await.unwrap();
    }
    producer.close().await.unwrap();
    let partitions = (0..3)
        .map(|partition| TopicPartition::new("rr", partition))
        .collect();
    let read = read_all(&addr, partitions, 9).await;
    for partition in 0..3 {
        assert_eq!(
            read.iter()
                .filter(|record| record.partition == partition)
                .count(),
            3
        );
    }
}
