//! Batches near the RPC frame cap: too large a proposal is refused before it is written, and a
//! follower far behind catches up although all it misses does not fit in one frame.

use std::collections::BTreeMap;

use strom_metadata::{CreateTopic, TopicId, TopicLayout};
use strom_quorum::{Error, QuorumConfig};

use crate::cluster::{Cluster, broker};

fn small_frames(config: &mut QuorumConfig) {
    config.max_frame_bytes = 8 << 10;
}

fn wide_topic(name: &str, id: u8, partitions: i32) -> CreateTopic {
    CreateTopic {
        name: name.to_owned(),
        topic_id: TopicId([id; 16]),
        layout: TopicLayout::Placed {
            partitions,
            replication_factor: 1,
        },
        configs: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_are_capped_and_split_across_frames() {
    let mut cluster = Cluster::start(3, small_frames).await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();

    let end_offset = cluster.node(leader).image().end_offset();
    let res = cluster
        .node(leader)
        .create_topics(&[wide_topic("huge", 200, 2000)])
        .await;
    assert!(
        matches!(res, Err(Error::TooLarge { bytes, max: 4096 }) if bytes > 4096),
        "{res:?}"
    );
    assert_eq!(cluster.node(leader).image().end_offset(), end_offset);

    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    cluster.stop(follower).await;
    // Each batch is well under the cap; all of them together are several frames' worth.
    for id in 1..=30u8 {
        let res = cluster
            .node(leader)
            .create_topics(&[wide_topic(&format!("wide-{id}"), id, 20)])
            .await
            .unwrap();
        assert!(res[0].is_ok());
    }
    cluster.restart(follower).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
    assert_eq!(cluster.node(follower).image().topics().count(), 30);
}
