//! The leader side of replication, with the follower played by a test client that sends Fetch
//! requests with its replica id: `acks=all` waits for the ISR, consumers see only what the ISR
//! has, a lagging follower leaves the ISR (then `min.insync.replicas` refuses `acks=all`) and
//! rejoins once it catches up, and an `acks=all` request that the ISR does not reach in time
//! times out.

use std::time::Duration;

use strom_metadata::{BrokerId, BrokerRegistration};
use strom_protocol::ErrorCode;
use strom_protocol::Response;
use strom_protocol::messages::create_topics::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use strom_protocol::messages::produce::PartitionProduceResponse;

use crate::fixture::{
    Client, TestBroker, batch, fetch_request, follower_fetch, isr, produce_request, values,
    wait_for_isr,
};

const TOPIC: &str = "replicated";

/// A broker (node 1) that knows a second broker (node 2, played by the test), with `TOPIC`
/// replicated on both, node 1 leading.
async fn two_replicas(overrides: &[(&str, &str)], min_insync: &str) -> TestBroker {
    let broker = TestBroker::start(overrides).await;
    broker
        .broker()
        .plane()
        .register_broker(&BrokerRegistration {
            broker_id: BrokerId(2),
            endpoints: Vec::new(),
            rack: None,
            fenced: false,
        })
        .unwrap();
    let mut client = broker.client().await;
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: TOPIC.to_owned(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: vec![CreatableReplicaAssignment {
                partition_index: 0,
                broker_ids: vec![1, 2],
                ..CreatableReplicaAssignment::default()
            }],
            configs: vec![CreatableTopicConfig {
                name: "min.insync.replicas".to_owned(),
                value: Some(min_insync.to_owned()),
                ..CreatableTopicConfig::default()
            }],
            ..CreatableTopic::default()
        }],
        timeout_ms: 10_000,
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(response) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
    broker
}

/// Produces `records` with `acks` and the request timeout `timeout_ms` on its own connection.
fn produce_in_background(
    broker: &TestBroker,
    records: &[&'static str],
    acks: i16,
    timeout_ms: i32,
) -> tokio::task::JoinHandle<PartitionProduceResponse> {
    let addr = broker.addr();
    let records = batch(records, crate::fixture::recent());
    tokio::spawn(async move {
        let mut client = Client::connect(addr).await;
        let mut request = produce_request(TOPIC, 0, records, acks);
        request.timeout_ms = timeout_ms;
        let Response::Produce(mut response) = client.send(9, request).await else {
            panic!("not a Produce response");
        };
        response.responses.remove(0).partition_responses.remove(0)
    })
}

#[tokio::test]
async fn acks_all_waits_for_the_follower_and_consumers_see_only_what_it_has() {
    let broker = two_replicas(&[], "1").await;
    assert_eq!(isr(&broker, TOPIC), [1, 2]);
    let produce = produce_in_background(&broker, &["a", "b", "c"], -1, 30_000);
    let mut consumer = broker.client().await;
    let mut follower = broker.client().await;

    // The follower reads what the leader has, beyond the high watermark.
    let mut fetched = follower_fetch(&mut follower, TOPIC, 0).await;
    while fetched
        .records
        .as_ref()
        .is_none_or(|records| records.is_empty())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        fetched = follower_fetch(&mut follower, TOPIC, 0).await;
    }
    assert_eq!(fetched.error_code, 0);
    assert_eq!(fetched.high_watermark, 0);
    let got = values(fetched.records.as_ref().unwrap());
    assert_eq!(got.len(), 3);
    // A consumer sees nothing yet, and the producer is still waiting.
    let read = consumer.fetch(TOPIC, 0, 0, 0, 0).await;
    assert_eq!(read.high_watermark, 0);
    assert!(
        read.records
            .as_ref()
            .is_none_or(|records| records.is_empty())
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !produce.is_finished(),
        "acks=all answered before the follower had the batch"
    );

    // The follower's next fetch says it has everything: the high watermark moves.
    let fetched = follower_fetch(&mut follower, TOPIC, 3).await;
    assert_eq!(fetched.high_watermark, 3);
    let produced = produce.await.unwrap();
    assert_eq!((produced.error_code, produced.base_offset), (0, 0));
    let read = consumer.fetch(TOPIC, 0, 0, 0, 0).await;
    assert_eq!(read.high_watermark, 3);
    assert_eq!(values(read.records.as_ref().unwrap()).len(), 3);

    // A broker that is not a replica is not served.
    let mut stranger = broker.client().await;
    let mut request = fetch_request(TOPIC, 0, 0, 0, 0);
    request.replica_id = 5;
    let Response::Fetch(mut response) = stranger.send(12, request).await else {
        panic!("not a Fetch response");
    };
    let partition = response.responses.remove(0).partitions.remove(0);
    assert_eq!(partition.error_code, ErrorCode::NotLeaderOrFollower.code());
}

#[tokio::test]
async fn a_lagging_follower_leaves_the_isr_and_rejoins_after_catching_up() {
    let broker = two_replicas(&[("replica.lag.time.max.ms", "300")], "2").await;
    let mut follower = broker.client().await;
    // acks=1 does not wait; the follower never fetches it.
    let produced = produce_in_background(&broker, &["a", "b", "c"], 1, 30_000)
        .await
        .unwrap();
    assert_eq!(produced.error_code, 0);
    wait_for_isr(&broker, TOPIC, &[1]).await;
    // The leader alone is the ISR now: everything it has is committed ...
    let mut consumer = broker.client().await;
    let read = consumer.fetch(TOPIC, 0, 0, 0, 0).await;
    assert_eq!(read.high_watermark, 3);
    // ... and acks=all is refused, as min.insync.replicas is 2.
    let refused = produce_in_background(&broker, &["d"], -1, 30_000)
        .await
        .unwrap();
    assert_eq!(refused.error_code, ErrorCode::NotEnoughReplicas.code());
    assert_eq!(
        consumer.list_offset(TOPIC, 0, -1).await.offset,
        3,
        "nothing appended"
    );

    // The follower catches up and rejoins.
    follower_fetch(&mut follower, TOPIC, 0).await;
    follower_fetch(&mut follower, TOPIC, 3).await;
    wait_for_isr(&broker, TOPIC, &[1, 2]).await;
    let produce = produce_in_background(&broker, &["e"], -1, 30_000);
    let mut fetched = follower_fetch(&mut follower, TOPIC, 3).await;
    while fetched
        .records
        .as_ref()
        .is_none_or(|records| records.is_empty())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
        fetched = follower_fetch(&mut follower, TOPIC, 3).await;
    }
    follower_fetch(&mut follower, TOPIC, 4).await;
    let produced = produce.await.unwrap();
    assert_eq!((produced.error_code, produced.base_offset), (0, 3));
}

#[tokio::test]
async fn acks_all_times_out_when_the_isr_does_not_follow() {
    let broker = two_replicas(&[], "1").await;
    let produced = produce_in_background(&broker, &["a"], -1, 300)
        .await
        .unwrap();
    assert_eq!(produced.error_code, ErrorCode::RequestTimedOut.code());
    // Like Kafka, the batch stays appended (a retry of an idempotent producer would be
    // recognised; a plain one may duplicate it), and ListOffsets' latest is the high watermark.
    let mut client = broker.client().await;
    assert_eq!(client.list_offset(TOPIC, 0, -1).await.offset, 0);
    let mut follower = broker.client().await;
    let fetched = follower_fetch(&mut follower, TOPIC, 0).await;
    assert_eq!(values(fetched.records.as_ref().unwrap()).len(), 1);
    // Once the follower has it, it is committed.
    let fetched = follower_fetch(&mut follower, TOPIC, 1).await;
    assert_eq!(fetched.high_watermark, 1);
    assert_eq!(client.list_offset(TOPIC, 0, -1).await.offset, 1);
}
