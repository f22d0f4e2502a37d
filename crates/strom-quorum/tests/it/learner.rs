//! A broker-only node follows the committed log as a learner and gets the same image.

use strom_quorum::{Error, NodeId};

use crate::cluster::{Cluster, broker, create_topic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_follows_the_committed_log() {
    let mut cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();
    create_topic(cluster.node(leader), "early", 1).await;

    let learner = NodeId(10);
    let addr = cluster.start_learner(learner).await;
    cluster
        .node(leader)
        .add_learner(learner, addr)
        .await
        .unwrap();
    create_topic(cluster.node(leader), "late", 2).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
    let image = cluster.node(learner).image();
    assert!(image.topic("early").is_some() && image.topic("late").is_some());

    // A learner never leads, so it sends proposers to the leader.
    let res = cluster.node(learner).register_broker(&broker(2)).await;
    assert!(
        matches!(res, Err(Error::NotLeader { leader: Some(found) }) if found == leader),
        "{res:?}"
    );
    // And it does not count as a voter: the voters still agree on the leader.
    assert_eq!(cluster.leader().await, leader);
}
