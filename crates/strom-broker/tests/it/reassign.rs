//! AlterPartitionReassignments and ListPartitionReassignments. On a single node the only broker
//! is the only valid target (a no-op), anything else gets Kafka's per-partition error codes, and
//! nothing is ever listed as moving. On three in-process quorum nodes a partition moves from
//! node 1 to node 2 (the leader hands over, node 1 deletes its copy) and then to nodes 2 and 3,
//! with every record in every replica.

use std::time::Duration;
use strom_protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, ReassignablePartition, ReassignableTopic,
};

use strom_log::TopicPartition;
use strom_metadata::{BrokerId, PartitionIndex};
use strom_protocol::messages::create_topics::{
    CreatableReplicaAssignment, CreatableTopic, CreateTopicsRequest,
};
use strom_protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsTopics,
};
use strom_protocol::{ErrorCode, Response};
use strom_record::Offset;

use crate::fixture::{Client, TestBroker, batch, produce_request, recent, values};

fn partition(index: i32, replicas: Option<&[i32]>) -> ReassignablePartition {
    ReassignablePartition {
        partition_index: index,
        replicas: replicas.map(<[i32]>::to_vec),
        ..ReassignablePartition::default()
    }
}

/// Sends one reassignment request at `version` and returns "topic-partition:ERROR_NAME" per
/// partition, in order.
async fn alter(
    client: &mut Client,
    version: i16,
    allow_replication_factor_change: bool,
    topics: Vec<(&str, Vec<ReassignablePartition>)>,
) -> Vec<String> {
    let request = AlterPartitionReassignmentsRequest {
        allow_replication_factor_change,
        topics: topics
            .into_iter()
            .map(|(name, partitions)| ReassignableTopic {
                name: name.to_owned(),
                partitions,
                ..ReassignableTopic::default()
            })
            .collect(),
        ..AlterPartitionReassignmentsRequest::default()
    };
    let Response::AlterPartitionReassignments(response) = client.send(version, request).await
    else {
        panic!("not an AlterPartitionReassignments response");
    };
    assert_eq!(response.error_code, 0);
    let mut res = Vec::new();
    for topic in response.responses {
        for partition in topic.partitions {
            let name = ErrorCode::try_from(partition.error_code)
                .map_or("?".to_owned(), |code| code.name().to_owned());
            res.push(format!(
                "{}-{}:{name}",
                topic.name, partition.partition_index
            ));
        }
    }
    res
}

#[tokio::test]
async fn a_single_node_refuses_every_move_but_the_one_to_itself() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "moving".to_owned(),
            num_partitions: 2,
            replication_factor: 1,
            ..CreatableTopic::default()
        }],
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(created) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(created.topics[0].error_code, 0);

    let got = alter(
        &mut client,
        0,
        false,
        vec![
            (
                "moving",
                vec![
                    partition(0, Some(&[1])),
                    partition(1, Some(&[2])),
                    partition(5, Some(&[1])),
                    partition(-1, Some(&[1])),
                ],
            ),
            ("absent", vec![partition(0, Some(&[1]))]),
        ],
    )
    .await;
    assert_eq!(
        got,
        [
            "moving-0:NONE",
            "moving-1:INVALID_REPLICA_ASSIGNMENT",
            "moving-5:UNKNOWN_TOPIC_OR_PARTITION",
            "moving--1:UNKNOWN_TOPIC_OR_PARTITION",
            "absent-0:UNKNOWN_TOPIC_OR_PARTITION",
        ]
    );
    let got = alter(
        &mut client,
        1,
        false,
        vec![(
            "moving",
            vec![
                partition(0, None),
                partition(1, Some(&[1, 1])),
                partition(1, Some(&[1])),
            ],
        )],
    )
    .await;
    assert_eq!(
        got,
        [
            "moving-0:NO_REASSIGNMENT_IN_PROGRESS",
            "moving-1:INVALID_REQUEST",
            "moving-1:INVALID_REQUEST",
        ]
    );
    // An unregistered broker is refused before the replication factor is looked at (the
    // factor rule itself is tested in strom-metadata, where more brokers exist).
    for allow in [false, true] {
        let got = alter(
            &mut client,
            1,
            allow,
            vec![("moving", vec![partition(0, Some(&[1, 2]))])],
        )
        .await;
        assert_eq!(got, ["moving-0:INVALID_REPLICA_ASSIGNMENT"]);
    }

    for topics in [
        None,
        Some(vec![ListPartitionReassignmentsTopics {
            name: "moving".to_owned(),
            partition_indexes: vec![0, 1, 9],
            ..ListPartitionReassignmentsTopics::default()
        }]),
    ] {
        let request = ListPartitionReassignmentsRequest {
            topics,
            ..ListPartitionReassignmentsRequest::default()
        };
        let Response::ListPartitionReassignments(listed) = client.send(0, request).await else {
            panic!("not a ListPartitionReassignments response");
        };
        assert_eq!(listed.error_code, 0);
        assert!(listed.topics.is_empty(), "{listed:?}");
    }
}

/// How long a move may take in the cluster test.
const PATIENCE: Duration = Duration::from_secs(20);

/// Three in-process nodes forming a controller quorum (each broker and controller).
async fn three_nodes() -> Vec<TestBroker> {
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        })
        .collect();
    let voters: Vec<String> = (1..=3)
        .zip(&ports)
        .map(|(id, port)| format!("{id}@127.0.0.1:{port}"))
        .collect();
    let voters = voters.join(",");
    let start = |id: &'static str| {
        let voters = voters.clone();
        async move {
            TestBroker::start(&[
                ("node.id", id),
                ("controller.quorum.voters", &voters),
                ("broker.heartbeat.interval.ms", "200"),
                ("replica.lag.time.max.ms", "5000"),
            ])
            .await
        }
    };
    let (one, two, three) = tokio::join!(start("1"), start("2"), start("3"));
    let nodes = vec![one, two, three];
    wait_for(&nodes, "every node registered", |node| {
        node.broker().image().brokers().count() == 3
    })
    .await;
    nodes
}

/// Waits until `done` holds on every node.
async fn wait_for(nodes: &[TestBroker], what: &str, done: impl Fn(&TestBroker) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !nodes.iter().all(&done) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The replicas and leader of `moving-0` in `node`'s image (none before it has the topic).
fn placement(node: &TestBroker) -> (Vec<i32>, Option<i32>) {
    let image = node.broker().image();
    let Some(partition) = image.partition("moving", PartitionIndex(0)) else {
        return (Vec::new(), None);
    };
    (
        partition.replicas.iter().map(|id| id.0).collect(),
        partition.leader.map(|id| id.0),
    )
}

async fn produce(node: &TestBroker, records: &[&str]) {
    let mut client = node.client().await;
    let request = produce_request("moving", 0, batch(records, recent()), -1);
    let Response::Produce(response) = client.send(9, request).await else {
        panic!("not a Produce response");
    };
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, 0, "{partition:?}");
}

/// The record values of `node`'s copy of `moving-0` up to `offset`, once it has them.
async fn replica_values(node: &TestBroker, offset: u64) -> Vec<String> {
    let topic_partition = TopicPartition::new("moving", 0);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let state = node.broker().replica_log_state(&topic_partition).unwrap();
        if state.is_some_and(|state| state.high_watermark >= Offset(offset)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no copy up to {offset}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bytes = node
        .broker()
        .read_replica_log(&topic_partition, Offset(offset))
        .unwrap();
    values(&bytes).into_iter().map(|(_, value)| value).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_moves_to_other_nodes_with_its_records() {
    let nodes = three_nodes().await;
    let mut client = nodes[2].client().await;
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: "moving".to_owned(),
            num_partitions: -1,
            replication_factor: -1,
            assignments: vec![CreatableReplicaAssignment {
                partition_index: 0,
                broker_ids: vec![1],
                ..CreatableReplicaAssignment::default()
            }],
            ..CreatableTopic::default()
        }],
        timeout_ms: 10_000,
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(created) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(created.topics[0].error_code, 0, "{created:?}");
    wait_for(&nodes, "the topic on node 1", |node| {
        placement(node) == (vec![1], Some(1))
    })
    .await;
    let node1_copy = nodes[0].dir.path().join("data").join("moving-0");
    wait_for(&nodes[..1], "node 1's log", |_| node1_copy.is_dir()).await;
    produce(&nodes[0], &["a", "b", "c"]).await;

    // Asked on node 3 (forwarded to the active controller): node 2 copies, then leads.
    let got = alter(
        &mut client,
        1,
        false,
        vec![("moving", vec![partition(0, Some(&[2]))])],
    )
    .await;
    assert_eq!(got, ["moving-0:NONE"]);
    wait_for(&nodes, "the move to node 2", |node| {
        placement(node) == (vec![2], Some(2))
    })
    .await;
    wait_for(&nodes[..1], "node 1's copy deleted", |_| {
        !node1_copy.exists()
    })
    .await;
    assert_eq!(replica_values(&nodes[1], 3).await, ["a", "b", "c"]);
    produce(&nodes[1], &["d"]).await;

    // Growing to two replicas keeps node 2 leading at the same leader epoch.
    let epoch = nodes[1]
        .broker()
        .image()
        .partition("moving", PartitionIndex(0))
        .unwrap()
        .leader_epoch;
    let got = alter(
        &mut client,
        0,
        true,
        vec![("moving", vec![partition(0, Some(&[2, 3]))])],
    )
    .await;
    assert_eq!(got, ["moving-0:NONE"]);
    wait_for(&nodes, "the move to nodes 2 and 3", |node| {
        let image = node.broker().image();
        image
            .partition("moving", PartitionIndex(0))
            .is_some_and(|partition| {
                partition.replicas == [BrokerId(2), BrokerId(3)]
                    && partition.isr.len() == 2
                    && !partition.is_reassigning()
            })
    })
    .await;
    let image = nodes[1].broker().image();
    let partition = image.partition("moving", PartitionIndex(0)).unwrap();
    assert_eq!(
        (partition.leader, partition.leader_epoch),
        (Some(BrokerId(2)), epoch)
    );
    produce(&nodes[1], &["e"]).await;
    assert_eq!(
        replica_values(&nodes[2], 5).await,
        ["a", "b", "c", "d", "e"]
    );
    assert!(!node1_copy.exists());

    let request = ListPartitionReassignmentsRequest::default();
    let Response::ListPartitionReassignments(listed) = client.send(0, request).await else {
        panic!("not a ListPartitionReassignments response");
    };
    assert!(listed.topics.is_empty(), "{listed:?}");
}
