//! Controller failover: the leader stops, another is elected within a bound and takes
//! proposals, and the old leader rejoins from its directory and catches up.

use std::time::Duration;

use crate::cluster::{Cluster, broker, create_topic};

/// Elections use 200..400 ms timeouts; a new leader well within this is expected.
const ELECTION_BOUND: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_fails_over_and_rejoins() {
    let mut cluster = Cluster::start(3, |_| {}).await;
    let old_leader = cluster.leader().await;
    let quorum = cluster.node(old_leader);
    quorum.register_broker(&broker(1)).await.unwrap();
    create_topic(quorum, "before", 1).await;
    cluster.wait_images(&quorum.image().to_records()).await;

    let stopped_at = tokio::time::Instant::now();
    cluster.stop(old_leader).await;
    let new_leader = cluster.leader().await;
    let elapsed = stopped_at.elapsed();
    assert_ne!(new_leader, old_leader);
    assert!(elapsed < ELECTION_BOUND, "election took {elapsed:?}");

    let quorum = cluster.node(new_leader);
    create_topic(quorum, "after", 2).await;
    let image = quorum.image();
    assert!(image.topic("before").is_some() && image.topic("after").is_some());

    cluster.restart(old_leader).await;
    cluster.wait_images(&image.to_records()).await;
    let restarted = cluster.node(old_leader).image();
    assert_eq!(restarted.end_offset(), image.end_offset());

    // The cluster keeps working with all three.
    let leader = cluster.leader().await;
    create_topic(cluster.node(leader), "later", 3).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
}
