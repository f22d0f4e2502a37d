//! `process.roles` in process: a controller-only node (quorum voter, no client listener, not a
//! broker) and a broker-only node (quorum learner) that registers, reports a live broker as the
//! controller, and serves produce and fetch.

use std::time::Duration;

use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, Error, RunningNode};
use strom_metadata::{BrokerId, PartitionIndex};
use strom_protocol::Response;
use strom_protocol::messages::metadata::MetadataRequest;
use strom_quorum::NodeId;

use crate::fixture::{TestBroker, batch, recent, values};

/// How long a condition may take to come true.
const PATIENCE: Duration = Duration::from_secs(15);

fn config(overrides: &[(&str, &str)]) -> BrokerConfig {
    let sources = Sources {
        overrides: overrides
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect(),
        ..Sources::default()
    };
    BrokerConfig::load(&sources).unwrap().config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_only_node_and_a_broker_only_node_form_a_cluster() {
    let quorum_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let voters = format!("1@127.0.0.1:{quorum_port}");
    let dir = tempfile::tempdir().unwrap();
    let controller_dir = dir.path().join("controller").display().to_string();
    let controller_config = config(&[
        ("node.id", "1"),
        ("process.roles", "controller"),
        ("controller.quorum.voters", &voters),
        ("log.dirs", &controller_dir),
    ]);
    // A controller-only config is no broker.
    let refused = Broker::start(controller_config.clone()).await;
    assert!(
        matches!(&refused, Err(Error::Config(error)) if error.to_string().contains("process.roles")),
        "{refused:?}"
    );
    let RunningNode::Controller(controller) = RunningNode::start(controller_config).await.unwrap()
    else {
        panic!("a controller-only config must start a controller");
    };

    let broker = TestBroker::start(&[
        ("node.id", "2"),
        ("process.roles", "broker"),
        ("controller.quorum.voters", &voters),
    ])
    .await;
    // The broker-only node follows the quorum whose leader is the controller-only node, and is
    // registered; the controller is not a broker.
    let quorum = broker.broker().plane().quorum().unwrap().clone();
    assert_eq!(quorum.leader(), Some(NodeId(1)));
    let image = controller.image();
    assert!(image.broker(BrokerId(2)).is_some());
    assert!(image.broker(BrokerId(1)).is_none());

    // Metadata lists only the broker, and names it as the controller: the active controller
    // takes no client requests.
    let mut client = broker.client().await;
    let Response::Metadata(metadata) = client.send(12, MetadataRequest::default()).await else {
        panic!("not a Metadata response");
    };
    let brokers: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id).collect();
    assert_eq!(brokers, [2]);
    assert_eq!(metadata.controller_id, 2);

    // Topics go through the controller; the broker leads the partition and serves the data.
    client.create_topic("data", 1).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let image = controller.image();
        let leader = image
            .partition("data", PartitionIndex(0))
            .and_then(|partition| partition.leader);
        if leader == Some(BrokerId(2)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no leader for data-0"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let produced = client
        .produce("data", 0, batch(&["a", "b"], recent()))
        .await;
    assert_eq!(produced.error_code, 0, "{produced:?}");
    let fetched = client.fetch("data", 0, 0, 0, 0).await;
    let records = fetched.records.unwrap_or_default();
    assert_eq!(values(&records), [(0, "a".to_owned()), (1, "b".to_owned())]);

    controller.shutdown().await.unwrap();
}
