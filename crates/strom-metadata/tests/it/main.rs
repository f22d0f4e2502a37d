//! Integration tests for this crate (one binary; modules per area). The fixtures below build the
//! brokers, topics and controllers the modules share.

// Test drivers outside `#[test]` functions unwrap too: a panic is a failed test.
#![expect(
    clippy::unwrap_used,
    reason = "a panic in a test helper fails the test"
)]

mod codec;
mod controller;
mod determinism;
mod image;
mod reassign;
mod storage;

use std::collections::BTreeMap;
use std::path::Path;

use strom_metadata::{
    BrokerId, BrokerRegistration, ClusterId, CreateTopic, Endpoint, LocalConfig, LocalController,
    TopicId, TopicLayout,
};

/// The node id every test controller runs as.
pub const NODE_ID: BrokerId = BrokerId(1);

/// A registration of broker `id` with one plaintext endpoint.
pub fn broker(id: i32) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: BrokerId(id),
        endpoints: vec![Endpoint {
            listener: "PLAINTEXT".to_owned(),
            host: format!("broker{id}.example"),
            port: 9092,
            security_protocol: "PLAINTEXT".to_owned(),
        }],
        rack: None,
        fenced: false,
    }
}

/// A topic id whose bytes are all `byte`.
pub fn topic_id(byte: u8) -> TopicId {
    TopicId([byte; 16])
}

/// A topic to create with placed replicas and no configs.
pub fn topic(name: &str, id: u8, partitions: i32, replication_factor: i16) -> CreateTopic {
    CreateTopic {
        name: name.to_owned(),
        topic_id: topic_id(id),
        layout: TopicLayout::Placed {
            partitions,
            replication_factor,
        },
        configs: BTreeMap::new(),
    }
}

/// The config of a test controller in `dir`.
pub fn config(dir: &Path, snapshot_threshold_bytes: u64) -> LocalConfig {
    LocalConfig {
        log_dir: dir.to_owned(),
        node_id: NODE_ID,
        new_cluster_id: ClusterId("test-cluster".to_owned()),
        snapshot_threshold_bytes,
    }
}

/// Opens a controller in `dir` that never snapshots.
pub fn open(dir: &Path) -> LocalController {
    LocalController::open(&config(dir, u64::MAX)).unwrap().0
}

/// Opens a controller in `dir` with brokers `ids` registered.
pub fn open_with_brokers(dir: &Path, ids: &[i32]) -> LocalController {
    let mut controller = open(dir);
    for id in ids {
        controller.register_broker(&broker(*id)).unwrap();
    }
    controller
}
