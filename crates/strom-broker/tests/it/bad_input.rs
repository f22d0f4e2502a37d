//! Bad input: garbage, truncated and oversized frames, unsupported versions, corrupt batches
//! and unknown partitions each get an error or a closed connection, nothing stored changes, and
//! the broker keeps serving other connections.

use bytes::{BufMut, Bytes, BytesMut};
use strom_protocol::{ErrorCode, Request};
use tokio::io::AsyncWriteExt;

use crate::fixture::{TestBroker, batch, produce_request, recent, values};

/// A broker with one record stored, and a check that it still serves it.
async fn broker_with_data() -> TestBroker {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("safe", 1).await;
    client.produce("safe", 0, batch(&["kept"], recent())).await;
    broker
}

async fn assert_still_serving(broker: &TestBroker) {
    let mut client = broker.client().await;
    let data = client.fetch("safe", 0, 0, 0, 1).await;
    assert_eq!(
        values(data.records.as_deref().unwrap()),
        [(0, "kept".to_owned())]
    );
    assert_eq!(data.high_watermark, 1);
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut res = (body.len() as u32).to_be_bytes().to_vec();
    res.extend_from_slice(body);
    res
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let broker = broker_with_data().await;
    let mut bystander = broker.client().await;
    let seed = strom_broker::now().0 as u64;
    println!("seed {seed}");
    let mut state = seed | 1;
    let mut random = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    };
    let garbage: Vec<u8> = (0..200).map(|_| random()).collect();
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("garbage frame", frame(&garbage), false),
        (
            "unknown api key",
            frame(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff]),
            false,
        ),
        ("header cut short", frame(&[0, 3]), false),
        (
            "truncated frame",
            {
                let mut bytes = 100u32.to_be_bytes().to_vec();
                bytes.extend_from_slice(&[0; 20]);
                bytes
            },
            true,
        ),
        (
            "oversized length",
            0x7fff_ffffu32.to_be_bytes().to_vec(),
            false,
        ),
        ("negative length", (-7i32).to_be_bytes().to_vec(), false),
        (
            "body cut short",
            frame(&[0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 5]),
            false,
        ),
    ];
    for (name, bytes, shut_write) in cases {
        let mut client = broker.client().await;
        client.stream.write_all(&bytes).await.unwrap();
        if shut_write {
            client.stream.shutdown().await.unwrap();
        }
        assert!(
            client.is_closed_by_broker().await,
            "{name}: connection left open"
        );
    }
    let data = bystander.fetch("safe", 0, 0, 0, 1).await;
    assert_eq!(data.high_watermark, 1);
    assert_still_serving(&broker).await;
}

#[tokio::test]
async fn unadvertised_versions_close_the_connection() {
    let broker = broker_with_data().await;
    // Produce v2 is below the supported range: encode it by hand.
    let mut body = BytesMut::new();
    body.put_i16(0);
    body.put_i16(2);
    body.put_i32(1);
    body.put_i16(-1);
    body.put_slice(&[0; 16]);
    let mut client = broker.client().await;
    client.stream.write_all(&frame(&body)).await.unwrap();
    assert!(client.is_closed_by_broker().await);
    assert_still_serving(&broker).await;
}

#[tokio::test]
async fn a_batch_with_a_wrong_crc_is_refused_and_nothing_is_appended() {
    let broker = broker_with_data().await;
    let mut client = broker.client().await;
    let good = batch(&["evil", "twin"], recent());
    let mut bad = good.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55; // inside the CRC-protected records
    let response = client.produce("safe", 0, Bytes::from(bad)).await;
    assert_eq!(response.error_code, ErrorCode::CorruptMessage.code());
    assert_eq!(client.list_offset("safe", 0, -1).await.offset, 1);
    let truncated = good.slice(..good.len() - 3);
    let response = client.produce("safe", 0, truncated).await;
    assert_eq!(response.error_code, ErrorCode::CorruptMessage.code());
    assert_eq!(client.list_offset("safe", 0, -1).await.offset, 1);
    assert_still_serving(&broker).await;
}

#[tokio::test]
async fn unknown_topics_and_partitions_get_errors() {
    let broker = TestBroker::start(&[("auto.create.topics.enable", "false")]).await;
    let mut client = broker.client().await;
    client.create_topic("one", 1).await;
    for (topic, partition) in [("missing", 0), ("one", 1), ("one", -1)] {
        let response = client
            .produce(topic, partition, batch(&["x"], recent()))
            .await;
        assert_eq!(
            response.error_code,
            ErrorCode::UnknownTopicOrPartition.code(),
            "{topic}-{partition}"
        );
        let data = client.fetch(topic, partition, 0, 0, 1).await;
        assert_eq!(
            data.error_code,
            ErrorCode::UnknownTopicOrPartition.code(),
            "{topic}-{partition}"
        );
        let listed = client.list_offset(topic, partition, -1).await;
        assert_eq!(
            listed.error_code,
            ErrorCode::UnknownTopicOrPartition.code(),
            "{topic}-{partition}"
        );
    }
}

#[tokio::test]
async fn oversized_batches_and_acks_zero() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("small", 1).await;
    let config = strom_protocol::messages::create_topics::CreatableTopicConfig {
        name: "max.message.bytes".to_owned(),
        value: Some("200".to_owned()),
        ..Default::default()
    };
    let request = strom_protocol::messages::create_topics::CreateTopicsRequest {
        topics: vec![strom_protocol::messages::create_topics::CreatableTopic {
            name: "tiny".to_owned(),
            num_partitions: 1,
            replication_factor: 1,
            configs: vec![config],
            ..Default::default()
        }],
        ..Default::default()
    };
    client.send(7, request).await;
    let big = "x".repeat(500);
    let response = client.produce("tiny", 0, batch(&[&big], recent())).await;
    assert_eq!(response.error_code, ErrorCode::MessageTooLarge.code());

    // acks=0: no response at all; the next request's response comes next.
    let request: Request = produce_request("small", 0, batch(&["quiet"], recent()), 0).into();
    client.write(9, &request).await;
    let listed = client.list_offset("small", 0, -1).await;
    assert_eq!(listed.offset, 1);
}

#[tokio::test]
async fn a_failed_acks_zero_produce_closes_the_connection() {
    let broker = broker_with_data().await;
    let mut client = broker.client().await;
    let request: Request = produce_request("safe", 5, batch(&["lost"], recent()), 0).into();
    client.write(9, &request).await;
    assert!(client.is_closed_by_broker().await);
    assert_still_serving(&broker).await;
}
