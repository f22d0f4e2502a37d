//! A broker-only node follows the committed log as a learner and gets the same image.

use std::time::Duration;

use strom_metadata::BrokerId;
use strom_quorum::{Error, Intent, NodeId};

use crate::cluster::{CONVERGE, Cluster, broker, create_topic};

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

/// Polls `condition` every 20 ms until it holds, failing after [`CONVERGE`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + CONVERGE;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen within {CONVERGE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// 3 voters and a learner that joins by itself (no `add_learner`): it sees every committed
/// change, follows a new leader after the leader stops, never becomes leader even when its vote
/// would make a majority, and rejoins on a new address after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_joins_by_itself_follows_failover_and_never_leads() {
    // Long broker sessions: the broker registered below never heartbeats.
    let mut cluster = Cluster::start(3, |config| {
        config.broker_session_timeout = Duration::from_secs(120);
    })
    .await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();
    create_topic(cluster.node(leader), "before", 1).await;
    let learner = NodeId(4);
    let first_addr = cluster.start_learner(learner).await;
    for (i, name) in ["one", "two", "three"].into_iter().enumerate() {
        create_topic(cluster.node(leader), name, 10 + i as u8).await;
        // Every committed change reaches the learner, in order.
        cluster
            .wait_images(&cluster.node(leader).image().to_records())
            .await;
    }
    // The learner reaches the controller through forwarding.
    cluster
        .node(learner)
        .submit(Intent::RegisterBroker(broker(4)))
        .await
        .unwrap();
    assert!(cluster.node(learner).image().broker(BrokerId(4)).is_some());

    // The leader stops: a voter takes over and the learner follows it.
    cluster.stop(leader).await;
    let second = cluster.leader().await;
    assert_ne!(second, leader);
    assert!(cluster.voters.contains_key(&second));
    wait_until("the learner following the new leader", || {
        cluster.node(learner).leader() == Some(second)
    })
    .await;
    create_topic(cluster.node(second), "after-failover", 20).await;
    cluster
        .wait_images(&cluster.node(second).image().to_records())
        .await;

    // Two voters down: the last voter and the learner would be a majority of four, but the
    // learner does not vote, so nobody wins an election however often the voter stands.
    cluster.stop(second).await;
    let last = *cluster
        .voters
        .keys()
        .find(|id| cluster.nodes.contains_key(id) && **id != learner)
        .unwrap();
    let term_before = cluster.node(last).status().term;
    let until = tokio::time::Instant::now() + Duration::from_millis(2000);
    while tokio::time::Instant::now() < until {
        assert_ne!(cluster.node(learner).leader(), Some(learner));
        assert_ne!(cluster.node(last).leader(), Some(last));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        cluster.node(last).status().term > term_before,
        "the remaining voter stood for election"
    );

    // A voter returns: a voter leads again, and the learner follows.
    cluster.restart(leader).await;
    let third = cluster.leader().await;
    assert_ne!(third, learner);
    wait_until("the learner following the third leader", || {
        cluster.node(learner).leader() == Some(third)
    })
    .await;

    // The learner restarts on another port while a change is made: it rejoins with its new
    // address and catches up.
    cluster.stop(learner).await;
    create_topic(cluster.node(third), "while-learner-down", 30).await;
    let second_addr = cluster.start_learner(learner).await;
    assert_ne!(first_addr, second_addr);
    create_topic(cluster.node(third), "after-learner-restart", 31).await;
    cluster
        .wait_images(&cluster.node(third).image().to_records())
        .await;
    let image = cluster.node(learner).image();
    assert!(image.topic("while-learner-down").is_some());
    assert!(image.topic("after-learner-restart").is_some());
}
