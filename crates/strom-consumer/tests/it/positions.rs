//! Positions: fetching from the middle of a batch, seek, seek_to_beginning/end, position,
//! offsets_for_times, pause/resume, and auto.offset.reset on a missing or out-of-range
//! position.

use std::time::Duration;

use strom_client::TopicPartition;
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig, Error};
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_record::{Compression, Offset, Timestamp};

use crate::fixture::{TestBroker, create_topic};

/// Produces `count` records valued `v<i>` with timestamps `1000 * (i + 1)` as one zstd batch
/// per flush of 10 records.
async fn produce(addr: &str, topic: &str, count: usize) {
    let config = ProducerConfig {
        compression: Compression::Zstd,
        linger: Duration::from_secs(10),
        ..ProducerConfig::bootstrap(addr)
    };
    let producer = Producer::new(config).await.unwrap();
    for index in 0..count {
        let record = ProducerRecord::new(topic, format!("v{index}"))
            .with_partition(0)
            .with_timestamp(Timestamp(1000 * (index as i64 + 1)));
        producer.send_and_forget(record).await.unwrap();
        if index % 10 == 9 {
            producer.flush().await.unwrap();
        }
    }
    producer.close().await.unwrap();
}

async fn consumer(addr: &str, reset: AutoOffsetReset) -> Consumer {
    let config = ConsumerConfig {
        auto_offset_reset: reset,
        fetch_max_wait: Duration::from_millis(50),
        max_poll_records: 7,
        ..ConsumerConfig::bootstrap(addr)
    };
    Consumer::new(config).await.unwrap()
}

async fn poll_offsets(consumer: &mut Consumer) -> Vec<u64> {
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    records.iter().map(|record| record.offset.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_position_and_offset_lookups() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    create_topic(&addr, "positions", 1).await;
    produce(&addr, "positions", 30).await;
    let tp = TopicPartition::new("positions", 0);
    let mut consumer = consumer(&addr, AutoOffsetReset::Latest).await;
    consumer.assign(vec![tp.clone()]);

    // Latest by default: the end.
    assert_eq!(consumer.position(&tp).await.unwrap(), Offset(30));
    // Mid-batch: the batch 10..20 comes back whole; records before 13 are skipped, and
    // max.poll.records caps one poll.
    consumer.seek(&tp, Offset(13)).unwrap();
    assert_eq!(
        poll_offsets(&mut consumer).await,
        [13, 14, 15, 16, 17, 18, 19]
    );
    assert_eq!(consumer.position(&tp).await.unwrap(), Offset(20));
    consumer
        .seek_to_beginning(std::slice::from_ref(&tp))
        .unwrap();
    assert_eq!(consumer.position(&tp).await.unwrap(), Offset(0));
    assert_eq!(poll_offsets(&mut consumer).await, [0, 1, 2, 3, 4, 5, 6]);
    consumer.seek_to_end(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(consumer.position(&tp).await.unwrap(), Offset(30));
    assert!(poll_offsets(&mut consumer).await.is_empty());

    let found = consumer
        .offsets_for_times(&[(tp.clone(), Timestamp(15_500))])
        .await
        .unwrap();
    let found = found[&tp].unwrap();
    assert_eq!(
        (found.offset, found.timestamp),
        (Offset(15), Timestamp(16_000))
    );
    let found = consumer
        .offsets_for_times(&[(tp.clone(), Timestamp(99_999))])
        .await
        .unwrap();
    assert_eq!(found[&tp], None);
    let ends = consumer
        .end_offsets(std::slice::from_ref(&tp))
        .await
        .unwrap();
    assert_eq!(ends[&tp], Offset(30));
    let starts = consumer
        .beginning_offsets(std::slice::from_ref(&tp))
        .await
        .unwrap();
    assert_eq!(starts[&tp], Offset(0));

    // Unassigned partitions are refused.
    let other = TopicPartition::new("positions", 1);
    assert!(matches!(
        consumer.seek(&other, Offset(0)),
        Err(Error::NotAssigned(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_auto_offset_reset() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    create_topic(&addr, "reset", 1).await;
    produce(&addr, "reset", 10).await;
    let tp = TopicPartition::new("reset", 0);

    let mut consumer = consumer(&addr, AutoOffsetReset::Earliest).await;
    consumer.assign(vec![tp.clone()]);
    consumer.pause(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(consumer.paused(), std::slice::from_ref(&tp));
    let records = consumer.poll(Duration::from_millis(300)).await.unwrap();
    assert!(records.is_empty(), "paused");
    consumer.resume(std::slice::from_ref(&tp)).unwrap();
    assert_eq!(poll_offsets(&mut consumer).await, [0, 1, 2, 3, 4, 5, 6]);

    // Out of range with earliest: back to the start.
    consumer.seek(&tp, Offset(1000)).unwrap();
    assert_eq!(poll_offsets(&mut consumer).await, [0, 1, 2, 3, 4, 5, 6]);

    // With none: no position is an error, and so is an out-of-range one.
    let mut strict = crate::positions::consumer(&addr, AutoOffsetReset::None).await;
    strict.assign(vec![tp.clone()]);
    assert!(matches!(
        strict.poll(Duration::from_millis(100)).await,
        Err(Error::NoOffset(_))
    ));
    strict.seek(&tp, Offset(1000)).unwrap();
    let error = strict.poll(Duration::from_secs(5)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::OffsetOutOfRange {
                offset: Offset(1000),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_retriable());
}
