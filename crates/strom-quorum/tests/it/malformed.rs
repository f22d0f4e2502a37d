//! Garbage on a node's RPC socket closes that connection only; the node keeps serving the
//! quorum.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cluster::{Cluster, broker, create_topic};

/// Writes `bytes` and checks the node closes the connection (rather than answering or hanging).
async fn check_closed(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the node neither answered nor closed the connection");
    // A reset counts as closed too.
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "unexpected answer: {read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_frames_close_only_their_connection() {
    let cluster = Cluster::start(3, |_| {}).await;
    let leader = cluster.leader().await;
    cluster
        .node(leader)
        .register_broker(&broker(1))
        .await
        .unwrap();
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let addr = cluster.voters[&follower];

    // Over the size cap: refused before allocating.
    check_closed(addr, &u32::MAX.to_le_bytes()).await;
    // The right size, but an unknown payload version.
    let mut bad_version = 5u32.to_le_bytes().to_vec();
    bad_version.extend_from_slice(&[0xff; 5]);
    check_closed(addr, &bad_version).await;
    // The right version, then bytes that are not a request.
    let mut garbage = 6u32.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[1, 0xff, 0xff, 0xff, 0xff, 0xff]);
    check_closed(addr, &garbage).await;
    // Same for the leader.
    check_closed(cluster.voters[&leader], &u32::MAX.to_le_bytes()).await;

    create_topic(cluster.node(leader), "still-working", 1).await;
    cluster
        .wait_images(&cluster.node(leader).image().to_records())
        .await;
    assert_eq!(cluster.leader().await, leader);
}
