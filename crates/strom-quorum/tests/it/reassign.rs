//! Partition reassignment through the quorum: submitted from followers, planned on the leader,
//! listed from any node, completed by the leader's ISR change, with typed errors per partition.

use std::collections::BTreeMap;

use strom_metadata::{
    AlterPartition, BrokerId, CreateTopic, Mode, PartitionIndex, Reassignment, TopicId, TopicLayout,
};
use strom_quorum::{Intent, NodeId, Outcome, Quorum};

use crate::cluster::{Cluster, broker};

fn reassignment(partition: u32, target: Option<&[i32]>) -> Reassignment {
    Reassignment {
        topic: "moving".to_owned(),
        partition: PartitionIndex(partition),
        target: target.map(|ids| ids.iter().copied().map(BrokerId).collect()),
        allow_replication_factor_change: true,
    }
}

/// Submits reassignments and returns each partition's result as text.
async fn reassign(quorum: &Quorum, reassignments: Vec<Reassignment>) -> Vec<String> {
    match quorum
        .submit(Intent::AlterPartitionReassignments(reassignments))
        .await
        .unwrap()
    {
        Outcome::AlteredReassignments(res) => res
            .into_iter()
            .map(|item| match item {
                Ok(()) => "ok".to_owned(),
                Err(error) => error.to_string(),
            })
            .collect(),
        other => panic!("wrong outcome {other:?}"),
    }
}

/// The reassignments in progress, as the leader lists them: "partition:replicas+adding-removing".
async fn listed(quorum: &Quorum) -> Vec<String> {
    match quorum
        .submit(Intent::ListPartitionReassignments(None))
        .await
        .unwrap()
    {
        Outcome::ListedReassignments(ongoing) => ongoing
            .iter()
            .map(|item| {
                format!(
                    "{}:{:?}+{:?}-{:?}",
                    item.partition, item.replicas, item.adding_replicas, item.removing_replicas
                )
            })
            .collect(),
        other => panic!("wrong outcome {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_moves_and_its_leader_hands_over_on_completion() {
    let cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let node = cluster.node(follower);
    for id in 1..=3 {
        node.submit(Intent::RegisterBroker(broker(id)))
            .await
            .unwrap();
    }
    let moving = CreateTopic {
        name: "moving".to_owned(),
        topic_id: TopicId([5; 16]),
        layout: TopicLayout::Assigned(vec![(PartitionIndex(0), vec![BrokerId(1)])]),
        configs: BTreeMap::new(),
    };
    node.submit(Intent::CreateTopics(vec![moving], Mode::Apply))
        .await
        .unwrap();
    assert!(listed(node).await.is_empty());

    let res = reassign(
        node,
        vec![
            reassignment(0, Some(&[2])),
            reassignment(3, Some(&[2])),
            reassignment(0, Some(&[7])),
        ],
    )
    .await;
    assert_eq!(
        res,
        [
            "ok",
            "topic moving has no partition 3",
            "invalid replica assignment for topic moving: partition 0: broker 7 is not registered"
        ]
    );
    let other = cluster
        .nodes
        .keys()
        .find(|id| **id != follower && **id != leader)
        .copied()
        .unwrap_or(NodeId(1));
    assert_eq!(
        listed(cluster.node(other)).await,
        ["0:[BrokerId(2), BrokerId(1)]+[BrokerId(2)]-[BrokerId(1)]"]
    );

    // The leader of the partition (broker 1) sees broker 2 catch up and proposes it.
    let partition = node
        .image()
        .partition("moving", PartitionIndex(0))
        .unwrap()
        .clone();
    let outcome = node
        .submit(Intent::AlterPartition(AlterPartition {
            topic: "moving".to_owned(),
            partition: PartitionIndex(0),
            leader: BrokerId(1),
            leader_epoch: partition.leader_epoch,
            partition_epoch: partition.partition_epoch,
            isr: vec![BrokerId(1), BrokerId(2)],
        }))
        .await
        .unwrap();
    let Outcome::AlteredPartition(after) = outcome else {
        panic!("wrong outcome {outcome:?}");
    };
    assert_eq!(after.replicas, [BrokerId(2)]);
    assert_eq!(after.isr, [BrokerId(2)]);
    assert_eq!(after.leader, Some(BrokerId(2)));
    assert_eq!(after.leader_epoch.0, partition.leader_epoch.0 + 1);
    assert!(!after.is_reassigning());
    assert!(listed(node).await.is_empty());
    assert_eq!(
        reassign(node, vec![reassignment(0, None)]).await,
        ["no reassignment of partition 0 of topic moving is in progress"]
    );
    let records = cluster.node(leader).image().to_records();
    cluster.wait_images(&records).await;
}
