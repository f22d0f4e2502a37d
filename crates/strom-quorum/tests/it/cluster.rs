//! A test cluster: voters (and learners) started in one process, helpers to propose, wait and
//! compare images. Not a test itself.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use strom_metadata::{
    BrokerId, BrokerRegistration, ClusterId, CreateTopic, MetadataRecord, TopicId, TopicLayout,
};
use strom_quorum::{NodeId, Quorum, QuorumConfig, Role};
use tempfile::TempDir;

/// How long anything in these tests may take to converge before the test fails.
pub const CONVERGE: Duration = Duration::from_secs(10);

pub struct Cluster {
    pub dir: TempDir,
    pub voters: BTreeMap<NodeId, SocketAddr>,
    pub nodes: BTreeMap<NodeId, Quorum>,
    pub tweak: fn(&mut QuorumConfig),
}

impl Cluster {
    /// Starts `count` voters with ids 1..=count.
    pub async fn start(count: u64, tweak: fn(&mut QuorumConfig)) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut listeners = BTreeMap::new();
        for id in 1..=count {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listeners.insert(NodeId(id), listener);
        }
        let voters = listeners
            .iter()
            .map(|(&id, listener)| (id, listener.local_addr().unwrap()))
            .collect();
        let mut res = Cluster {
            dir,
            voters,
            nodes: BTreeMap::new(),
            tweak,
        };
        for (id, listener) in listeners {
            let quorum = Quorum::start_on(res.config(id, Role::Voter), listener)
                .await
                .unwrap();
            res.nodes.insert(id, quorum);
        }
        res
    }

    pub fn node_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    pub fn config(&self, id: NodeId, role: Role) -> QuorumConfig {
        let listen_addr = match self.voters.get(&id) {
            Some(addr) => *addr,
            None => "127.0.0.1:0".parse().unwrap(),
        };
        let mut res = QuorumConfig::new(
            id,
            role,
            self.voters.clone(),
            self.node_dir(id),
            listen_addr,
            ClusterId("test-cluster".into()),
        );
        res.heartbeat_interval = Duration::from_millis(40);
        res.election_timeout_min = Duration::from_millis(200);
        res.election_timeout_max = Duration::from_millis(400);
        (self.tweak)(&mut res);
        res
    }

    /// Starts a learner with id `id` (not a voter) on an ephemeral port.
    pub async fn start_learner(&mut self, id: NodeId) -> SocketAddr {
        let quorum = Quorum::start(self.config(id, Role::Learner)).await.unwrap();
        let addr = quorum.local_addr();
        self.nodes.insert(id, quorum);
        addr
    }

    pub async fn stop(&mut self, id: NodeId) {
        let quorum = self.nodes.remove(&id).unwrap();
        quorum.shutdown().await.unwrap();
    }

    /// Restarts a stopped voter from its directory, on its old address.
    pub async fn restart(&mut self, id: NodeId) {
        let quorum = Quorum::start(self.config(id, Role::Voter)).await.unwrap();
        self.nodes.insert(id, quorum);
    }

    pub fn node(&self, id: NodeId) -> &Quorum {
        &self.nodes[&id]
    }

    /// Waits until every running voter names the same running leader, and returns it.
    pub async fn leader(&self) -> NodeId {
        let deadline = tokio::time::Instant::now() + CONVERGE;
        loop {
            let leaders: Vec<Option<NodeId>> = self
                .nodes
                .iter()
                .filter(|(id, _)| self.voters.contains_key(id))
                .map(|(_, quorum)| quorum.leader())
                .collect();
            if let Some(Some(leader)) = leaders.first()
                && leaders.iter().all(|found| *found == Some(*leader))
                && self.nodes.contains_key(leader)
            {
                return *leader;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no agreed leader within {CONVERGE:?}: {leaders:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every running node's image has exactly `records` (compared with
    /// `to_records`).
    pub async fn wait_images(&self, records: &[MetadataRecord]) {
        let deadline = tokio::time::Instant::now() + CONVERGE;
        loop {
            let lagging: Vec<NodeId> = self
                .nodes
                .iter()
                .filter(|(_, quorum)| quorum.image().to_records() != records)
                .map(|(id, _)| *id)
                .collect();
            if lagging.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nodes {lagging:?} did not reach the image within {CONVERGE:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn broker(id: i32) -> BrokerRegistration {
    BrokerRegistration {
        broker_id: BrokerId(id),
        endpoints: Vec::new(),
        rack: None,
        fenced: false,
    }
}

pub fn topic(name: &str, id: u8) -> CreateTopic {
    CreateTopic {
        name: name.to_owned(),
        topic_id: TopicId([id; 16]),
        layout: TopicLayout::Placed {
            partitions: 2,
            replication_factor: 1,
        },
        configs: BTreeMap::new(),
    }
}

/// Creates one topic on `quorum` (the leader) and checks it was created.
pub async fn create_topic(quorum: &Quorum, name: &str, id: u8) {
    let res = quorum.create_topics(&[topic(name, id)]).await.unwrap();
    assert_eq!(res.len(), 1);
    let created = res.into_iter().next().unwrap().unwrap();
    assert_eq!(created.name, name);
}
