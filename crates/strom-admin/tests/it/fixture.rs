//! An in-process broker on 127.0.0.1:0 with a temporary data directory, an admin client for
//! it, a producer of numbered records, and a group member that keeps a group non-empty.

use std::time::Duration;

use bytes::Bytes;
use strom_admin::{Admin, ClientConfig};
use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, RunningBroker};
use strom_client::Client;
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_protocol::Response;
use strom_protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
use strom_record::Timestamp;

/// A broker running in this process, with its data directory.
pub struct TestBroker {
    /// Kept so the data directory lives as long as the broker.
    _dir: tempfile::TempDir,
    pub running: RunningBroker,
}

impl TestBroker {
    /// Starts a broker with test defaults (one partition per topic, no rebalance delay).
    pub async fn start() -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let overrides = vec![
            ("listeners".to_owned(), "PLAINTEXT://127.0.0.1:0".to_owned()),
            (
                "log.dirs".to_owned(),
                dir.path().join("data").display().to_string(),
            ),
            ("num.partitions".to_owned(), "1".to_owned()),
            (
                "group.initial.rebalance.delay.ms".to_owned(),
                "0".to_owned(),
            ),
        ];
        let sources = Sources {
            overrides,
            ..Sources::default()
        };
        let config = BrokerConfig::load(&sources).unwrap().config;
        let running = Broker::start(config).await.unwrap();
        TestBroker { _dir: dir, running }
    }

    /// The listener's `host:port`.
    pub fn addr(&self) -> String {
        self.running.local_addr().to_string()
    }

    /// An admin client for this broker.
    pub async fn admin(&self) -> Admin {
        Admin::connect(ClientConfig::bootstrap(self.addr()))
            .await
            .unwrap()
    }
}

/// Produces `count` records `0..count` to `topic`/`partition` with timestamps
/// `1000 * (i + 1)`, and waits for all of them.
pub async fn produce(addr: &str, topic: &str, partition: i32, count: u64) {
    let producer = Producer::new(ProducerConfig::bootstrap(addr))
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for index in 0..count {
        let record = ProducerRecord::new(topic, Bytes::from(index.to_string()))
            .with_partition(partition)
            .with_timestamp(Timestamp(1000 * (i64::try_from(index).unwrap() + 1)));
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    producer.close().await.unwrap();
}

/// Joins `group` as a static member in the background, so the group is no longer empty;
/// returns once the broker reports the group with a member.
pub async fn join_in_background(addr: &str, admin: &Admin, group: &str) -> Client {
    let client = Client::connect(ClientConfig::bootstrap(addr))
        .await
        .unwrap();
    let request = JoinGroupRequest {
        group_id: group.to_owned(),
        session_timeout_ms: 30_000,
        rebalance_timeout_ms: 30_000,
        member_id: String::new(),
        group_instance_id: Some("static-member".to_owned()),
        protocol_type: "consumer".to_owned(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".to_owned(),
            ..JoinGroupRequestProtocol::default()
        }],
        ..JoinGroupRequest::default()
    };
    // FindCoordinator (inside describe_group) makes the broker load the group's coordinator.
    admin.describe_group(group).await.unwrap();
    let joining = client.clone();
    tokio::spawn(async move {
        // Retry while the coordinator is loading (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
        for _ in 0..100 {
            let response = joining.send_any(request.clone()).await;
            let Ok(Response::JoinGroup(response)) = response else {
                panic!("{response:?}");
            };
            if response.error_code != 14 && response.error_code != 16 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    for _ in 0..100 {
        let description = admin.describe_group(group).await.unwrap();
        if !description.members.is_empty() {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("group {group} never got a member");
}
