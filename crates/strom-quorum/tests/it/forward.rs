//! `Quorum::submit` from any node: followers and learners forward intents to the leader, typed
//! per-item errors come back through the forwarding, and forwarding rides out a leader change.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use strom_metadata::{
    AlterPartition, BrokerId, ConfigOp, ConfigResource, CreatePartitions, CreateTopic, Mode,
    TopicId, TopicLayout, TopicRef,
};
use strom_quorum::{ConfigChange, Error, Intent, NodeId, Outcome, Quorum};

use crate::cluster::{Cluster, broker, topic};

/// Submits one topic creation and returns its result.
async fn submit_topic(
    quorum: &Quorum,
    topic: CreateTopic,
) -> Result<strom_metadata::Result<strom_metadata::CreatedTopic>, Error> {
    match quorum
        .submit(Intent::CreateTopics(vec![topic], Mode::Apply))
        .await?
    {
        Outcome::CreatedTopics(res) => Ok(res.into_iter().next().unwrap()),
        other => panic!("wrong outcome {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_from_a_follower_and_a_learner_are_executed_by_the_leader() {
    let mut cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let learner = NodeId(10);
    let addr = cluster.start_learner(learner).await;
    cluster
        .node(leader)
        .add_learner(learner, addr)
        .await
        .unwrap();

    let outcome = cluster
        .node(follower)
        .submit(Intent::RegisterBroker(broker(1)))
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    // Read-your-writes on the forwarding node: applied there before submit returns.
    assert!(cluster.node(follower).image().broker(BrokerId(1)).is_some());

    let created = submit_topic(cluster.node(learner), topic("from-learner", 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.replicas, vec![vec![BrokerId(1)]; 2]);
    assert!(
        cluster
            .node(learner)
            .image()
            .topic("from-learner")
            .is_some()
    );
    submit_topic(cluster.node(follower), topic("from-follower", 2))
        .await
        .unwrap()
        .unwrap();
    // The leader submits too, executing locally.
    submit_topic(cluster.node(leader), topic("from-leader", 3))
        .await
        .unwrap()
        .unwrap();

    let records = cluster.node(leader).image().to_records();
    cluster.wait_images(&records).await;
    for (id, node) in &cluster.nodes {
        let image = node.image();
        for name in ["from-learner", "from-follower", "from-leader"] {
            assert!(image.topic(name).is_some(), "{name} missing on node {id}");
        }
    }
    // The leader stayed where it was: the learner did not take part in elections.
    assert_eq!(cluster.leader().await, leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors_come_back_through_forwarding() {
    let cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    let follower = cluster.node(*cluster.nodes.keys().find(|id| **id != leader).unwrap());
    follower
        .submit(Intent::RegisterBroker(broker(1)))
        .await
        .unwrap();
    submit_topic(follower, topic("orders", 1))
        .await
        .unwrap()
        .unwrap();
    let end_offset = follower.image().end_offset();

    // Per-item errors of a creation, and one success among them.
    let mut too_wide = topic("wide", 3);
    too_wide.layout = TopicLayout::Placed {
        partitions: 1,
        replication_factor: 3,
    };
    let outcome = follower
        .submit(Intent::CreateTopics(
            vec![
                topic("orders", 2),
                topic("bad name", 4),
                too_wide,
                topic("fine", 5),
            ],
            Mode::Apply,
        ))
        .await
        .unwrap();
    let Outcome::CreatedTopics(res) = outcome else {
        panic!("wrong outcome {outcome:?}");
    };
    assert!(
        matches!(&res[0], Err(strom_metadata::Error::TopicAlreadyExists { name }) if name == "orders"),
        "{res:?}"
    );
    assert!(
        matches!(&res[1], Err(strom_metadata::Error::InvalidTopicName { name, .. }) if name == "bad name"),
        "{res:?}"
    );
    assert!(
        matches!(&res[2], Err(strom_metadata::Error::InvalidReplicationFactor { topic, .. }) if topic == "wide"),
        "{res:?}"
    );
    assert!(res[3].is_ok());
    assert!(follower.image().topic("fine").is_some());

    // Validation only: a result, but nothing written.
    let end_offset_before = follower.image().end_offset();
    let outcome = follower
        .submit(Intent::CreateTopics(
            vec![topic("dry", 6)],
            Mode::ValidateOnly,
        ))
        .await
        .unwrap();
    assert!(matches!(&outcome, Outcome::CreatedTopics(res) if res[0].is_ok()));
    assert!(follower.image().topic("dry").is_none());
    assert!(cluster.node(leader).image().topic("dry").is_none());
    assert_eq!(cluster.node(leader).image().end_offset(), end_offset_before);
    assert!(end_offset_before > end_offset);

    let outcome = follower
        .submit(Intent::DeleteTopics(vec![
            TopicRef::Name("nope".into()),
            TopicRef::Id(TopicId([9; 16])),
        ]))
        .await
        .unwrap();
    let Outcome::DeletedTopics(res) = outcome else {
        panic!("wrong outcome {outcome:?}");
    };
    assert!(matches!(&res[0], Err(strom_metadata::Error::UnknownTopic { name }) if name == "nope"));
    assert!(
        matches!(&res[1], Err(strom_metadata::Error::UnknownTopicId { topic_id }) if *topic_id == TopicId([9; 16])),
        "{res:?}"
    );

    let outcome = follower
        .submit(Intent::CreatePartitions(
            vec![CreatePartitions {
                name: "orders".into(),
                count: 1,
                assignments: None,
            }],
            Mode::Apply,
        ))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::CreatedPartitions(res) if matches!(&res[0], Err(strom_metadata::Error::InvalidPartitions { .. }))),
        "{outcome:?}"
    );

    // Single-intent rule errors come back as Error::Metadata.
    let res = follower.heartbeat(BrokerId(42)).await;
    assert!(
        matches!(
            res,
            Err(Error::Metadata(strom_metadata::Error::UnknownBroker {
                broker_id: BrokerId(42)
            }))
        ),
        "{res:?}"
    );
    let res = follower
        .submit(Intent::AlterPartition(AlterPartition {
            topic: "orders".into(),
            partition: strom_metadata::PartitionIndex(0),
            leader: BrokerId(7),
            leader_epoch: strom_metadata::LeaderEpoch(0),
            partition_epoch: strom_metadata::PartitionEpoch(0),
            isr: vec![BrokerId(7)],
        }))
        .await;
    assert!(
        matches!(
            res,
            Err(Error::Metadata(
                strom_metadata::Error::InvalidRequest { .. }
            ))
        ),
        "{res:?}"
    );
    let res = follower.submit(Intent::RegisterBroker(broker(-3))).await;
    assert!(
        matches!(
            res,
            Err(Error::Metadata(
                strom_metadata::Error::InvalidRegistration { .. }
            ))
        ),
        "{res:?}"
    );

    // A valid ISR proposal comes back with the partition as it is afterwards.
    let partition = follower
        .image()
        .partition("orders", strom_metadata::PartitionIndex(0))
        .unwrap()
        .clone();
    let outcome = follower
        .submit(Intent::AlterPartition(AlterPartition {
            topic: "orders".into(),
            partition: strom_metadata::PartitionIndex(0),
            leader: BrokerId(1),
            leader_epoch: partition.leader_epoch,
            partition_epoch: partition.partition_epoch,
            isr: vec![BrokerId(1)],
        }))
        .await
        .unwrap();
    let Outcome::AlteredPartition(after) = outcome else {
        panic!("wrong outcome {outcome:?}");
    };
    assert_eq!(after, partition);

    // Config changes: values are not checked on the leader, and Append starts from the
    // defaults the submitter sent.
    let resource = ConfigResource::Topic("orders".into());
    let outcome = follower
        .submit(Intent::AlterConfigs(
            vec![
                ConfigChange {
                    resource: resource.clone(),
                    ops: vec![
                        ConfigOp::Append {
                            key: "cleanup.policy".into(),
                            value: "compact".into(),
                        },
                        ConfigOp::Set {
                            key: "anything.goes".into(),
                            value: "-1".into(),
                        },
                    ],
                    defaults: BTreeMap::from([("cleanup.policy".into(), "delete".into())]),
                },
                ConfigChange {
                    resource: ConfigResource::Topic("nope".into()),
                    ops: Vec::new(),
                    defaults: BTreeMap::new(),
                },
            ],
            Mode::Apply,
        ))
        .await
        .unwrap();
    let Outcome::AlteredConfigs(res) = outcome else {
        panic!("wrong outcome {outcome:?}");
    };
    assert!(res[0].is_ok());
    assert!(matches!(&res[1], Err(strom_metadata::Error::UnknownTopic { name }) if name == "nope"));
    let configs = follower.image().configs(&resource).clone();
    assert_eq!(configs["cleanup.policy"], "delete,compact");
    assert_eq!(configs["anything.goes"], "-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_survives_a_leader_change() {
    const SUBMITS: u8 = 40;
    let mut cluster = Cluster::start(3, |_| {}).await;
    let old_leader = cluster.leader().await;
    let submitter = *cluster.nodes.keys().find(|id| **id != old_leader).unwrap();
    cluster
        .node(submitter)
        .submit(Intent::RegisterBroker(broker(1)))
        .await
        .unwrap();
    let leader_node = cluster.nodes.remove(&old_leader).unwrap();

    let done = AtomicU8::new(0);
    let stream = async {
        let mut res = Vec::new();
        for i in 0..SUBMITS {
            let name = format!("t{i}");
            let outcome = submit_topic(cluster.node(submitter), topic(&name, i + 1)).await;
            res.push((name, outcome, tokio::time::Instant::now()));
            done.fetch_add(1, Ordering::SeqCst);
        }
        res
    };
    // The leader goes away after a quarter of the submits, while the next is under way.
    let kill = async {
        while done.load(Ordering::SeqCst) < SUBMITS / 4 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        leader_node.shutdown().await.unwrap();
        tokio::time::Instant::now()
    };
    let (results, killed_at) = tokio::join!(stream, kill);

    let new_leader = cluster.leader().await;
    assert_ne!(new_leader, old_leader);
    let records = cluster.node(new_leader).image().to_records();
    cluster.wait_images(&records).await;
    let image = cluster.node(submitter).image();
    let mut succeeded_after_kill = 0;
    let mut failed = 0;
    for (name, outcome, done_at) in &results {
        match outcome {
            // Created, or created by an earlier attempt whose answer was lost.
            Ok(Ok(_)) | Ok(Err(strom_metadata::Error::TopicAlreadyExists { .. })) => {
                assert!(
                    image.topic(name).is_some(),
                    "{name} succeeded but is missing"
                );
                if *done_at > killed_at {
                    succeeded_after_kill += 1;
                }
            }
            Ok(Err(error)) => panic!("{name}: unexpected rule error {error}"),
            Err(_) => failed += 1,
        }
    }
    println!("{SUBMITS} submits: {succeeded_after_kill} succeeded after the kill, {failed} failed");
    assert!(
        succeeded_after_kill > 0,
        "no submit succeeded after the leader was killed: {results:?}"
    );
    // With a 10 s forward timeout and sub-second elections, none should have given up.
    assert_eq!(failed, 0, "{results:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_gives_up_after_the_forward_timeout_without_a_quorum() {
    // A follower left alone (its leader is gone, no election can succeed), then a leader left
    // alone (it cannot reach a quorum).
    for leave_leader in [false, true] {
        give_up_alone(leave_leader).await;
    }
}

async fn give_up_alone(leave_leader: bool) {
    const TIMEOUT: Duration = Duration::from_millis(800);
    let mut cluster = Cluster::start(3, |config| {
        config.forward_timeout = Duration::from_millis(800);
    })
    .await;
    let leader = cluster.leader().await;
    let left = if leave_leader {
        leader
    } else {
        *cluster.nodes.keys().find(|id| **id != leader).unwrap()
    };
    for id in cluster.nodes.keys().copied().collect::<Vec<_>>() {
        if id != left {
            cluster.stop(id).await;
        }
    }
    let started = tokio::time::Instant::now();
    let res = cluster
        .node(left)
        .submit(Intent::RegisterBroker(broker(1)))
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(
            res,
            Err(Error::NotLeader { .. } | Error::Unavailable { .. })
        ),
        "leader left: {leave_leader}: {res:?}"
    );
    assert!(elapsed >= TIMEOUT, "gave up after only {elapsed:?}");
    assert!(elapsed < TIMEOUT * 4, "took {elapsed:?}");
    assert!(cluster.node(left).image().broker(BrokerId(1)).is_none());
}
