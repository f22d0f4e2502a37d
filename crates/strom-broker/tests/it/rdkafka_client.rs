//! The `rdkafka` crate (librdkafka 2.12, vendored and built from source: a client nobody here
//! wrote) against an in-process broker: the producer with every codec and idempotence, a consumer
//! with manual assignment that checks every field that comes back, watermarks, and the admin
//! client (create, describe configs, create partitions, delete).

use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::fixture::TestBroker;

const TIMEOUT: Duration = Duration::from_secs(30);
const BASE_TIMESTAMP: i64 = 1_700_000_000_000;

fn client_config(broker: &TestBroker) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", broker.addr().to_string());
    config
}

/// Produces `count` records with keys, values, one header and explicit timestamps; returns the
/// offsets the broker assigned, in send order.
async fn produce(broker: &TestBroker, topic: &str, codec: &str, count: i64) -> Vec<i64> {
    let producer: FutureProducer = client_config(broker)
        .set("compression.type", codec)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..count {
        let key = format!("k{i}");
        let value = format!("{codec} value {i}");
        let number = i.to_string();
        let record = FutureRecord::to(topic)
            .key(&key)
            .payload(&value)
            .timestamp(BASE_TIMESTAMP + i)
            .headers(OwnedHeaders::new().insert(Header {
                key: "n",
                value: Some(&number),
            }));
        let delivery = producer
            .send_result(record)
            .map_err(|(error, _)| error)
            .unwrap();
        deliveries.push(delivery);
    }
    let mut offsets = Vec::new();
    for delivery in deliveries {
        let delivered = delivery.await.unwrap().map_err(|(error, _)| error).unwrap();
        assert_eq!(delivered.partition, 0);
        offsets.push(delivered.offset);
    }
    offsets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produces_and_consumes_every_codec_exactly() {
    let broker = TestBroker::start(&[]).await;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("rdkafka-{codec}");
        let offsets = produce(&broker, &topic, codec, 200).await;
        assert_eq!(offsets, (0..200).collect::<Vec<i64>>(), "{codec}");

        let consumer: StreamConsumer = client_config(&broker)
            .set("group.id", "rdkafka-assign-only")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&topic, 0, Offset::Beginning)
            .unwrap();
        consumer.assign(&assignment).unwrap();
        for i in 0..200i64 {
            let message = tokio::time::timeout(TIMEOUT, consumer.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(message.offset(), i, "{codec}");
            assert_eq!(message.key(), Some(format!("k{i}").as_bytes()), "{codec}");
            assert_eq!(
                message.payload(),
                Some(format!("{codec} value {i}").as_bytes()),
                "{codec}"
            );
            assert_eq!(message.timestamp().to_millis(), Some(BASE_TIMESTAMP + i));
            let headers = message.headers().unwrap();
            assert_eq!(headers.count(), 1);
            let header = headers.get(0);
            assert_eq!(header.key, "n");
            assert_eq!(header.value, Some(i.to_string().as_bytes()));
        }
        let (low, high) = consumer
            .fetch_watermarks(&topic, 0, Duration::from_secs(10))
            .unwrap();
        assert_eq!((low, high), (0, 200), "{codec}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_client_creates_describes_grows_and_deletes_topics() {
    let broker = TestBroker::start(&[]).await;
    let admin: AdminClient<DefaultClientContext> = client_config(&broker).create().unwrap();
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));

    let topic = NewTopic::new("rdkafka-admin", 3, TopicReplication::Fixed(1))
        .set("retention.ms", "3600000");
    let created = admin.create_topics([&topic], &options).await.unwrap();
    assert_eq!(created, vec![Ok("rdkafka-admin".to_owned())]);

    let again = admin.create_topics([&topic], &options).await.unwrap();
    let Err((name, code)) = &again[0] else {
        panic!("creating an existing topic must fail: {again:?}");
    };
    assert_eq!(name, "rdkafka-admin");
    assert_eq!(*code, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists);

    let described = admin
        .describe_configs([&ResourceSpecifier::Topic("rdkafka-admin")], &options)
        .await
        .unwrap();
    let resource = described[0].as_ref().unwrap();
    let retention = resource.get("retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("3600000"));
    assert!(!retention.is_default);
    let segment = resource.get("segment.bytes").unwrap();
    assert_eq!(segment.value.as_deref(), Some("1073741824"));
    assert!(segment.is_default);

    let grown = admin
        .create_partitions([&NewPartitions::new("rdkafka-admin", 5)], &options)
        .await
        .unwrap();
    assert_eq!(grown, vec![Ok("rdkafka-admin".to_owned())]);
    let metadata = admin
        .inner()
        .fetch_metadata(Some("rdkafka-admin"), Duration::from_secs(10))
        .unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 5);

    let deleted = admin
        .delete_topics(&["rdkafka-admin"], &options)
        .await
        .unwrap();
    assert_eq!(deleted, vec![Ok("rdkafka-admin".to_owned())]);
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    assert!(
        metadata
            .topics()
            .iter()
            .all(|topic| topic.name() != "rdkafka-admin")
    );
}
