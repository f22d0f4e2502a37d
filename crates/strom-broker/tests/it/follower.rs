//! The follower side of replication between two in-process brokers (node 1 leads, node 2
//! follows through `Broker::set_followed`), each with its own single-node metadata made to
//! mirror the other's: `acks=all` completes once the follower fetched, the follower's log is
//! byte-identical to the leader's and its high watermark follows; a follower with a divergent
//! tail from an older leader epoch truncates it; a follower whose leader restarts reconnects and
//! catches up.

use std::collections::BTreeMap;
use std::sync::MutexGuard;
use std::time::Duration;

use bytes::Bytes;
use strom_broker::{Followed, Plane};
use strom_log::TopicPartition;
use strom_metadata::{BrokerId, BrokerRegistration, Endpoint, LocalController, PartitionIndex};
use strom_protocol::messages::create_topics::{
    CreatableReplicaAssignment, CreatableTopic, CreateTopicsRequest,
};
use strom_protocol::messages::produce::PartitionProduceResponse;
use strom_protocol::{ErrorCode, Response};
use strom_record::Offset;

use crate::fixture::{Client, TestBroker, batch, fetch_request, produce_request, recent, values};

const TOPIC: &str = "followed";

/// How long a condition may take to come true.
const PATIENCE: Duration = Duration::from_secs(10);

fn partition() -> TopicPartition {
    TopicPartition::new(TOPIC, 0)
}

/// A port nobody listens on right now, so a broker can be restarted on the same address.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts broker `node_id` on `127.0.0.1:port`.
async fn start_node(node_id: i32, port: u16) -> TestBroker {
    let node_id = node_id.to_string();
    let listener = format!("PLAINTEXT://127.0.0.1:{port}");
    TestBroker::start(&[("node.id", &node_id), ("listeners", &listener)]).await
}

/// The broker's single-node controller.
fn controller(broker: &TestBroker) -> MutexGuard<'_, LocalController> {
    let Plane::Local(controller) = broker.broker().plane() else {
        panic!("the test brokers run without a quorum");
    };
    controller.lock().unwrap()
}

/// Registers `peer` (node `peer_id`) in `broker`'s metadata.
fn register_peer(broker: &TestBroker, peer_id: i32, peer: &TestBroker) {
    let addr = peer.addr();
    broker
        .broker()
        .plane()
        .register_broker(&BrokerRegistration {
            broker_id: BrokerId(peer_id),
            endpoints: vec![Endpoint {
                listener: "PLAINTEXT".to_owned(),
                host: addr.ip().to_string(),
                port: addr.port(),
                security_protocol: "PLAINTEXT".to_owned(),
            }],
            rack: None,
            fenced: false,
        })
        .unwrap();
}

/// Creates `TOPIC` with one partition on `replicas` (the first leads).
async fn create_topic(broker: &TestBroker, replicas: &[i32]) {
    let mut client = broker.client().await;
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: TOPIC.to_owned(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: vec![CreatableReplicaAssignment {
                partition_index: 0,
                broker_ids: replicas.to_vec(),
                ..CreatableReplicaAssignment::default()
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
}

/// The partition's leader and leader epoch in `broker`'s metadata.
fn leadership(broker: &TestBroker) -> (Option<i32>, u32) {
    let image = broker.broker().image();
    let partition = image.partition(TOPIC, PartitionIndex(0)).unwrap();
    (
        partition.leader.map(|leader| leader.0),
        partition.leader_epoch.0,
    )
}

fn isr(broker: &TestBroker) -> Vec<i32> {
    let image = broker.broker().image();
    let partition = image.partition(TOPIC, PartitionIndex(0)).unwrap();
    partition.isr.iter().map(|member| member.0).collect()
}

/// Makes the broker act on its metadata again (lead or resign), as the reconciliation would.
fn adopt_metadata(broker: &TestBroker) {
    let image = broker.broker().image();
    broker
        .broker()
        .open_partitions(image.topic(TOPIC).unwrap(), 0)
        .unwrap();
}

/// Node 2 follows node 1 in node 2's current leader epoch.
fn follow(follower: &TestBroker, leader: &TestBroker) {
    let (_, leader_epoch) = leadership(follower);
    let followed = BTreeMap::from([(
        partition(),
        Followed {
            leader: BrokerId(1),
            leader_addr: leader.addr().to_string(),
            leader_epoch,
        },
    )]);
    follower.broker().set_followed(followed);
}

/// Node 1 leading `TOPIC` on [1, 2], node 2 following it; node 1 on a fixed port.
async fn leader_and_follower() -> (TestBroker, TestBroker) {
    let leader = start_node(1, free_port()).await;
    let follower = start_node(2, 0).await;
    register_peer(&leader, 2, &follower);
    register_peer(&follower, 1, &leader);
    create_topic(&leader, &[1, 2]).await;
    create_topic(&follower, &[1, 2]).await;
    assert_eq!(leadership(&leader), leadership(&follower));
    assert_eq!(leadership(&leader).0, Some(1));
    follow(&follower, &leader);
    (leader, follower)
}

/// Produces `records` to `broker` with `acks` and a 10 s timeout.
async fn produce(broker: &TestBroker, records: &[&str], acks: i16) -> PartitionProduceResponse {
    produce_with_timeout(broker, records, acks, 10_000).await
}

async fn produce_with_timeout(
    broker: &TestBroker,
    records: &[&str],
    acks: i16,
    timeout_ms: i32,
) -> PartitionProduceResponse {
    let mut client = Client::connect(broker.addr()).await;
    let mut request = produce_request(TOPIC, 0, batch(records, recent()), acks);
    request.timeout_ms = timeout_ms;
    let Response::Produce(mut response) = client.send(9, request).await else {
        panic!("not a Produce response");
    };
    response.responses.remove(0).partition_responses.remove(0)
}

fn high_watermark(broker: &TestBroker) -> Offset {
    broker
        .broker()
        .replica_log_state(&partition())
        .unwrap()
        .unwrap()
        .high_watermark
}

fn log_bytes(broker: &TestBroker, upper_bound: Offset) -> Bytes {
    broker
        .broker()
        .read_replica_log(&partition(), upper_bound)
        .unwrap()
}

/// Waits until the follower's high watermark reaches `offset`, then checks that both logs
/// hold the same bytes up to it, and returns the record values.
async fn assert_replicated(leader: &TestBroker, follower: &TestBroker, offset: u64) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while high_watermark(follower) < Offset(offset) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the follower's high watermark stayed at {:?}, expected {offset}",
            high_watermark(follower)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(high_watermark(follower), Offset(offset));
    assert_eq!(high_watermark(leader), Offset(offset));
    let ours = log_bytes(follower, Offset(offset));
    let theirs = log_bytes(leader, Offset(offset));
    assert!(!theirs.is_empty());
    assert_eq!(
        ours, theirs,
        "the follower's batches differ from the leader's"
    );
    values(&theirs)
        .into_iter()
        .map(|(_, value)| value)
        .collect()
}

#[tokio::test]
async fn acks_all_completes_once_the_follower_fetched_and_its_log_matches() {
    let (leader, follower) = leader_and_follower().await;
    let produced = produce(&leader, &["a", "b", "c"], -1).await;
    assert_eq!((produced.error_code, produced.base_offset), (0, 0));
    // acks=all answered: the leader's high watermark is past the batch, so node 2 has it.
    assert_eq!(high_watermark(&leader), Offset(3));
    assert_eq!(
        assert_replicated(&leader, &follower, 3).await,
        ["a", "b", "c"]
    );

    let produced = produce(&leader, &["d", "e"], -1).await;
    assert_eq!((produced.error_code, produced.base_offset), (0, 3));
    assert_eq!(
        assert_replicated(&leader, &follower, 5).await,
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(isr(&leader), [1, 2]);

    // Unfollowed, the partition stops fetching: an acks=all batch is never replicated and times
    // out (node 2 stays in the ISR for replica.lag.time.max.ms).
    follower.broker().set_followed(BTreeMap::new());
    assert!(follower.broker().followed().is_empty());
    let produced = produce_with_timeout(&leader, &["f"], -1, 1_000).await;
    assert_eq!(produced.error_code, ErrorCode::RequestTimedOut.code());
    let state = follower
        .broker()
        .replica_log_state(&partition())
        .unwrap()
        .unwrap();
    assert_eq!(state.log_end_offset, Offset(5));
}

#[tokio::test]
async fn a_divergent_tail_from_an_older_epoch_is_truncated() {
    let leader = start_node(1, 0).await;
    let follower = start_node(2, 0).await;
    register_peer(&leader, 2, &follower);
    register_peer(&follower, 1, &leader);
    // Both start with node 2 leading in epoch 0.
    create_topic(&leader, &[2, 1]).await;
    create_topic(&follower, &[2, 1]).await;
    assert_eq!(leadership(&follower), (Some(2), 0));

    // Node 2 appends in epoch 0 what node 1 never gets.
    let stale = produce(&follower, &["stale-1", "stale-2", "stale-3"], 1).await;
    assert_eq!(stale.error_code, 0);

    // Node 1's metadata: node 2 fenced, node 1 leads in epoch 1; node 2 may rejoin the ISR.
    controller(&leader).fence_broker(BrokerId(2)).unwrap();
    assert_eq!(leadership(&leader), (Some(1), 1));
    adopt_metadata(&leader);
    controller(&leader).unfence_broker(BrokerId(2)).unwrap();
    let produced = produce(&leader, &["x1", "x2", "x3", "x4", "x5"], 1).await;
    assert_eq!((produced.error_code, produced.base_offset), (0, 0));

    // The leader answers a fetch from node 2's divergent position with where epoch 0 ends on
    // the leader, and no records.
    let mut client = leader.client().await;
    let mut request = fetch_request(TOPIC, 0, 3, 0, 0);
    request.replica_id = 2;
    request.topics[0].partitions[0].current_leader_epoch = 1;
    request.topics[0].partitions[0].last_fetched_epoch = 0;
    let Response::Fetch(mut response) = client.send(12, request).await else {
        panic!("not a Fetch response");
    };
    let answer = response.responses.remove(0).partitions.remove(0);
    assert_eq!(answer.error_code, 0);
    assert_eq!(
        (
            answer.diverging_epoch.epoch,
            answer.diverging_epoch.end_offset
        ),
        (0, 0)
    );
    assert!(answer.records.is_none_or(|records| records.is_empty()));

    // Node 2's metadata catches up the same way; it resigns and follows node 1.
    controller(&follower).fence_broker(BrokerId(2)).unwrap();
    assert_eq!(leadership(&follower), (Some(1), 1));
    adopt_metadata(&follower);
    let before = follower
        .broker()
        .replica_log_state(&partition())
        .unwrap()
        .unwrap();
    assert_eq!(
        before.log_end_offset,
        Offset(3),
        "the divergent tail is there"
    );
    follow(&follower, &leader);

    assert_eq!(
        assert_replicated(&leader, &follower, 5).await,
        ["x1", "x2", "x3", "x4", "x5"]
    );
    let after = follower
        .broker()
        .replica_log_state(&partition())
        .unwrap()
        .unwrap();
    assert_eq!(after.log_end_offset, Offset(5));
    // The stale epoch 0 went with its records; epoch 1 starts at 0 as on the leader.
    let epochs: Vec<(u32, u64)> = after
        .epochs
        .iter()
        .map(|(epoch, start)| (epoch.0, start.0))
        .collect();
    assert_eq!(epochs, [(1, 0)]);

    // The caught-up follower rejoins the ISR on node 1.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while isr(&leader) != [1, 2] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "isr stayed {:?}",
            isr(&leader)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_follower_reconnects_after_the_leader_restarts_and_catches_up() {
    let (mut leader, follower) = leader_and_follower().await;
    let produced = produce(&leader, &["a", "b"], -1).await;
    assert_eq!(produced.error_code, 0);
    assert_replicated(&leader, &follower, 2).await;

    leader.restart().await;
    assert_eq!(leadership(&leader), (Some(1), 0));
    // acks=all completes only once node 2 fetched again from the restarted leader.
    let produced = produce(&leader, &["c", "d", "e"], -1).await;
    assert_eq!((produced.error_code, produced.base_offset), (0, 2));
    assert_eq!(
        assert_replicated(&leader, &follower, 5).await,
        ["a", "b", "c", "d", "e"]
    );
}
