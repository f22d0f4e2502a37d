//! `buffer.memory`: each open batch holds `batch.size` bytes until it is acknowledged, so with
//! the broker's answers held back a send that needs a new batch waits for memory, up to
//! `max.block.ms`, and goes through once answers return memory.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use strom_producer::{Error, Producer, ProducerConfig, ProducerRecord};

use crate::fixture::{Proxy, TestBroker, create_topic};

const BATCH_SIZE: usize = 1024;

/// A record that fills most of a batch, so every record opens a batch of its own.
fn big(index: usize) -> ProducerRecord {
    ProducerRecord::new("memory", vec![b'0' + (index % 10) as u8; 900]).with_partition(0)
}

async fn start_producer(addr: &str, max_block: Duration) -> Producer {
    let config = ProducerConfig {
        batch_size: BATCH_SIZE,
        buffer_memory: 3 * BATCH_SIZE,
        max_block,
        linger: Duration::from_millis(1),
        ..ProducerConfig::bootstrap(addr)
    };
    let producer = Producer::new(config).await.unwrap();
    // Metadata and producer id first, and memory back once it is acknowledged.
    producer.send(big(0)).await.unwrap().await.unwrap();
    producer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_waits_for_buffer_memory_until_max_block() {
    let mut proxy = Proxy::bind().await;
    let advertised = format!("PLAINTEXT://127.0.0.1:{}", proxy.port);
    let broker = TestBroker::start(&[("advertised.listeners", &advertised)]).await;
    proxy.serve(broker.addr());
    let addr = format!("127.0.0.1:{}", proxy.port);
    create_topic(&addr, "memory", 1).await;

    // Answers held back: three batches take the whole pool; the fourth send waits for memory
    // and gets it when the answers come.
    let producer = start_producer(&addr, Duration::from_secs(10)).await;
    proxy.stalled.store(true, Ordering::SeqCst);
    let mut deliveries = Vec::new();
    for index in 1..=3 {
        deliveries.push(producer.send(big(index)).await.unwrap());
    }
    let producer = std::sync::Arc::new(producer);
    let waiting = tokio::spawn({
        let producer = producer.clone();
        async move { producer.send(big(4)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the fourth batch had no memory");
    proxy.stalled.store(false, Ordering::SeqCst);
    deliveries.push(waiting.await.unwrap().unwrap());
    let mut offsets = Vec::new();
    for delivery in deliveries {
        offsets.push(delivery.await.unwrap().offset.unwrap().0);
    }
    assert_eq!(offsets, [1, 2, 3, 4]);
    producer.close().await.unwrap();

    // With max.block.ms short, the send fails with a clear error instead.
    let producer = start_producer(&addr, Duration::from_millis(200)).await;
    proxy.stalled.store(true, Ordering::SeqCst);
    let mut deliveries = Vec::new();
    for index in 1..=3 {
        deliveries.push(producer.send(big(index)).await.unwrap());
    }
    let started = Instant::now();
    let blocked = producer.send(big(4)).await;
    assert!(
        matches!(blocked, Err(Error::Blocked(_, "buffer memory"))),
        "{blocked:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(180));
    proxy.stalled.store(false, Ordering::SeqCst);
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close().await.unwrap();
}
