//! Three voters elect a leader and replicate its changes; controller rules refuse with typed
//! errors; followers send proposers to the leader.

use strom_metadata::{BrokerId, TopicId};
use strom_quorum::{Error, NodeId};

use crate::cluster::{CONVERGE, Cluster, broker, create_topic, topic};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_replicate_a_topic() {
    let cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    let quorum = cluster.node(leader);
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let mut follower_images = cluster.node(follower).watch_image();
    quorum.register_broker(&broker(1)).await.unwrap();
    create_topic(quorum, "orders", 7).await;
    // A follower's watchers see the change once it is committed and applied there.
    let seen = tokio::time::timeout(
        CONVERGE,
        follower_images.wait_for(|image| image.topic("orders").is_some()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(seen.topic("orders").unwrap().topic_id, TopicId([7; 16]));
    drop(seen);
    // Read-your-writes on the leader: the image is published before the proposal returns.
    let image = quorum.image();
    assert_eq!(image.topic("orders").unwrap().partition_count(), 2);
    assert!(image.cluster_id().is_some());
    let records = image.to_records();
    cluster.wait_images(&records).await;
    for node in cluster.nodes.values() {
        assert_eq!(node.image().end_offset(), image.end_offset());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_answer_not_leader_and_rules_refuse_with_typed_errors() {
    let cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let res = cluster.node(follower).register_broker(&broker(1)).await;
    assert!(
        matches!(res, Err(Error::NotLeader { leader: Some(found) }) if found == leader),
        "{res:?}"
    );

    let quorum = cluster.node(leader);
    quorum.register_broker(&broker(1)).await.unwrap();
    create_topic(quorum, "orders", 7).await;
    let end_offset = quorum.image().end_offset();
    // The same name again, and a repeated name within one request.
    let res = quorum
        .create_topics(&[topic("orders", 8), topic("audit", 9), topic("audit", 10)])
        .await
        .unwrap();
    assert!(
        matches!(&res[0], Err(strom_metadata::Error::TopicAlreadyExists { name }) if name == "orders")
    );
    assert!(res[1].is_ok());
    assert!(
        matches!(&res[2], Err(strom_metadata::Error::TopicAlreadyExists { name }) if name == "audit")
    );
    assert!(quorum.image().topic("audit").is_some());
    assert!(quorum.image().end_offset() > end_offset);

    // A refused single intent writes nothing.
    let end_offset = quorum.image().end_offset();
    let res = quorum.fence_broker(BrokerId(42)).await;
    assert!(
        matches!(
            res,
            Err(Error::Metadata(strom_metadata::Error::UnknownBroker {
                broker_id: BrokerId(42)
            }))
        ),
        "{res:?}"
    );
    assert_eq!(quorum.image().end_offset(), end_offset);
    assert_eq!(cluster.node(NodeId(leader.0)).node_id(), leader);
}
