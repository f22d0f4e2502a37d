//! Restarting from disk: all three voters from a snapshot plus the log after it, and one node
//! whose log file has a torn tail.

use std::io::Write;
use std::time::Duration;

use strom_quorum::{LOG_FILE_NAME, NodeId, QuorumConfig, SNAPSHOT_FILE_NAME};

use crate::cluster::{CONVERGE, Cluster, broker, create_topic};

fn snapshot_often(config: &mut QuorumConfig) {
    config.snapshot_after_entries = 4;
    config.entries_kept_after_snapshot = 0;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_voters_restart_from_snapshot_and_log() {
    let mut cluster = Cluster::start(3, snapshot_often).await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();
    for id in 1..=10u8 {
        create_topic(cluster.node(leader), &format!("topic-{id}"), id).await;
    }
    let records = cluster.node(leader).image().to_records();
    cluster.wait_images(&records).await;

    // Every node snapshotted and purged its log up to the snapshot.
    let deadline = tokio::time::Instant::now() + CONVERGE;
    loop {
        let statuses: Vec<_> = cluster
            .nodes
            .values()
            .map(|quorum| quorum.status())
            .collect();
        if statuses
            .iter()
            .all(|status| status.snapshot_index.is_some() && status.purged_index.is_some())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no snapshot and purge: {statuses:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ids: Vec<NodeId> = cluster.nodes.keys().copied().collect();
    for &id in &ids {
        assert!(cluster.node_dir(id).join(SNAPSHOT_FILE_NAME).exists());
    }

    for &id in &ids {
        cluster.stop(id).await;
    }
    for &id in &ids {
        cluster.restart(id).await;
        // The snapshot alone is there before any leader exists.
        let status = cluster.node(id).status();
        assert!(status.snapshot_index.is_some(), "{status:?}");
        assert!(cluster.node(id).image().topic("topic-1").is_some());
    }
    let leader = cluster.leader().await;
    cluster.wait_images(&records).await;
    create_topic(cluster.node(leader), "after-restart", 99).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_cut_on_recovery() {
    let mut cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();
    create_topic(cluster.node(leader), "before", 1).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;

    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    cluster.stop(follower).await;
    let path = cluster.node_dir(follower).join(LOG_FILE_NAME);
    let intact_len = std::fs::metadata(&path).unwrap().len();
    // A frame header announcing 200 bytes, followed by only a few of them.
    let mut torn = Vec::new();
    torn.extend_from_slice(&200u32.to_le_bytes());
    torn.extend_from_slice(&0xdead_beefu32.to_le_bytes());
    torn.extend_from_slice(b"torn");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&torn)
        .unwrap();

    cluster.restart(follower).await;
    create_topic(cluster.node(leader), "after", 2).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
    let bytes = std::fs::read(&path).unwrap();
    let intact_len = intact_len as usize;
    assert!(bytes.len() > intact_len, "new entries were appended");
    assert_ne!(
        &bytes[intact_len..intact_len + torn.len()],
        &torn[..],
        "torn tail still there"
    );
}
