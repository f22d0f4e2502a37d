//! The metadata cache: refreshed after NOT_LEADER_OR_FOLLOWER (the leader moved) and when it is
//! older than `metadata.max.age.ms`, and otherwise served from memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::Duration;

use strom_client::{BrokerId, Client, ClientConfig, Error};
use strom_protocol::messages::metadata::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use strom_protocol::{ApiKey, ErrorCode, Request, Response};

use crate::fake_broker::{FakeBroker, answer_api_versions};

/// A broker whose metadata names partition `t`-0's leader as `leader` (shared, so the test can
/// move it) and counts Metadata requests.
async fn broker(leader: Arc<AtomicI32>, requests: Arc<AtomicUsize>) -> FakeBroker {
    let port = Arc::new(AtomicI32::new(0));
    let port_in_handler = port.clone();
    let res = FakeBroker::start(Box::new(move |header, request| {
        if header.api_key == ApiKey::ApiVersions {
            return answer_api_versions(header);
        }
        requests.fetch_add(1, Ordering::SeqCst);
        // Like a real broker, answer only for the topics asked about.
        let Request::Metadata(request) = request else {
            panic!("expected metadata");
        };
        let asked = request
            .topics
            .unwrap_or_default()
            .iter()
            .any(|topic| topic.name.as_deref() == Some("t"));
        let broker = |node_id| MetadataResponseBroker {
            node_id,
            host: "127.0.0.1".to_owned(),
            port: port_in_handler.load(Ordering::SeqCst),
            ..MetadataResponseBroker::default()
        };
        let response = MetadataResponse {
            brokers: vec![broker(1), broker(2)],
            topics: asked
                .then(|| MetadataResponseTopic {
                    name: Some("t".to_owned()),
                    partitions: vec![MetadataResponsePartition {
                        partition_index: 0,
                        leader_id: leader.load(Ordering::SeqCst),
                        ..MetadataResponsePartition::default()
                    }],
                    ..MetadataResponseTopic::default()
                })
                .into_iter()
                .collect(),
            ..MetadataResponse::default()
        };
        vec![(
            header.correlation_id,
            header.api_version,
            Response::from(response),
        )]
    }))
    .await;
    port.store(i32::from(res.addr.port()), Ordering::SeqCst);
    res
}

#[tokio::test]
async fn not_leader_refreshes_and_the_cache_serves_otherwise() {
    let leader = Arc::new(AtomicI32::new(1));
    let requests = Arc::new(AtomicUsize::new(0));
    let fake = broker(leader.clone(), requests.clone()).await;
    let client = Client::connect(ClientConfig::bootstrap(fake.addr.to_string()))
        .await
        .unwrap();
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    assert_eq!(client.cached_partition_count("t"), None, "not fetched yet");
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(1));
    assert_eq!(requests.load(Ordering::SeqCst), 2, "unknown topic: fetched");
    assert_eq!(client.cached_partition_count("t"), Some(1));
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(1));
    assert_eq!(requests.load(Ordering::SeqCst), 2, "cached: not fetched");

    // The leader moves; a produce or fetch would answer NOT_LEADER_OR_FOLLOWER.
    leader.store(2, Ordering::SeqCst);
    assert_eq!(
        client.leader_for("t", 0).await.unwrap(),
        BrokerId(1),
        "stale"
    );
    client.note_error(&Error::Broker(ErrorCode::NotLeaderOrFollower));
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(2));
    assert_eq!(requests.load(Ordering::SeqCst), 3);

    // An error that says nothing about metadata does not refresh.
    client.note_error(&Error::Broker(ErrorCode::OffsetOutOfRange));
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(2));
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn old_metadata_is_refreshed_periodically() {
    let leader = Arc::new(AtomicI32::new(1));
    let requests = Arc::new(AtomicUsize::new(0));
    let fake = broker(leader.clone(), requests.clone()).await;
    let config = ClientConfig {
        metadata_max_age: Duration::from_millis(50),
        ..ClientConfig::bootstrap(fake.addr.to_string())
    };
    let client = Client::connect(config).await.unwrap();
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(1));
    leader.store(2, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(client.leader_for("t", 0).await.unwrap(), BrokerId(2));
}

#[tokio::test]
async fn no_reachable_bootstrap_server_is_a_clear_error() {
    // Bind and drop a listener to find a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    drop(listener);
    let config = ClientConfig {
        request_timeout: Duration::from_millis(300),
        retry_backoff: Duration::from_millis(10),
        ..ClientConfig::bootstrap(addr.clone())
    };
    let error = Client::connect(config).await.unwrap_err();
    assert!(
        matches!(&error, Error::NoBrokerAvailable(addrs) if addrs == &vec![addr]),
        "{error:?}"
    );
}
