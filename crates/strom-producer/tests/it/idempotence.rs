//! An idempotent producer whose connection is cut after the broker wrote some batches but
//! before the acknowledgements arrived retries them, and the broker keeps exactly one copy.

use std::sync::atomic::Ordering;
use std::time::Duration;

use strom_client::TopicPartition;
use strom_producer::{Producer, ProducerConfig, ProducerRecord};

use crate::fixture::{Proxy, TestBroker, create_topic, read_all};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_a_cut_connection_make_no_duplicates() {
    const COUNT: usize = 2000;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut proxy = Proxy::bind().await;
    let advertised = format!("PLAINTEXT://127.0.0.1:{}", proxy.port);
    let broker = TestBroker::start(&[("advertised.listeners", &advertised)]).await;
    proxy.serve(broker.addr());
    let addr = format!("127.0.0.1:{}", proxy.port);
    create_topic(&addr, "idempotent", 2).await;

    let config = ProducerConfig {
        batch_size: 2048,
        linger: Duration::from_millis(1),
        ..ProducerConfig::bootstrap(addr.clone())
    };
    let producer = Producer::new(config).await.unwrap();
    // Warm up: metadata, producer id.
    producer
        .send(ProducerRecord::new("idempotent", "warm-up").with_partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    proxy.armed.store(true, Ordering::SeqCst);
    let mut deliveries = Vec::new();
    for index in 0..COUNT {
        let record = ProducerRecord::new("idempotent", format!("{index:05}"))
            .with_partition((index % 2) as i32);
        deliveries.push(producer.send(record).await.unwrap());
    }
    producer.flush().await.unwrap();
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close().await.unwrap();
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the connection was cut"
    );

    let partitions = (0..2)
        .map(|partition| TopicPartition::new("idempotent", partition))
        .collect();
    let read = read_all(&addr, partitions, COUNT + 1).await;
    assert_eq!(read.len(), COUNT + 1, "no duplicates, nothing lost");
    for partition in 0..2 {
        let values: Vec<String> = read
            .iter()
            .filter(|record| record.partition == partition)
            .filter_map(|record| String::from_utf8(record.value.clone()?.to_vec()).ok())
            .filter(|value| value != "warm-up")
            .collect();
        let expected: Vec<String> = (0..COUNT)
            .filter(|index| index % 2 == partition as usize)
            .map(|index| format!("{index:05}"))
            .collect();
        assert_eq!(values, expected, "partition {partition} in order");
    }
}
