//! The seam: [`Quorum`], a node of the controller quorum, and its [`QuorumConfig`]. Openraft runs
//! underneath; none of its types appears here.
//!
//! Proposals are planned on the leader with `strom-metadata`'s `plan_*` functions against the
//! committed image, one at a time, and proposed as one [`RecordBatch`]. A follower does not
//! forward: it answers [`Error::NotLeader`] with the leader it knows, and the caller (the broker)
//! retries there. Before planning, the leader confirms its leadership with a quorum and waits
//! until its state machine has applied everything committed when it was elected (its own blank
//! entry included), so it never plans against a stale image.
//!
//! It does not register brokers, send heartbeats or fence anyone by itself: that is the broker
//! wiring's job, through [`Quorum::register_broker`] and friends.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{BasicNode, SnapshotPolicy};
use strom_metadata::{
    BrokerId, BrokerRegistration, ClusterId, CreatePartitions, CreateTopic, CreatedTopic,
    DeletedTopic, MetadataImage, MetadataRecord, RecordBatch, TopicRef, plan_create_partitions,
    plan_create_topic, plan_delete_topic, plan_fence_broker, plan_register_broker,
    plan_unfence_broker,
};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::ids::NodeId;
use crate::log_store::LogStore;
use crate::network::{NetworkFactory, serve};
use crate::raft_types::{ApplyOutcome, Raft};
use crate::state_machine::StateMachine;
use crate::{Error, Result};

/// Whether a node votes or only follows the committed log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A controller: one of [`QuorumConfig::voters`]. A fresh voter forms the quorum with the
    /// other voters on its first start.
    Voter,
    /// A node that follows the committed log without voting (a broker-only node). It gets
    /// entries once the leader adds it with [`Quorum::add_learner`].
    Learner,
}

/// How to run one node of the quorum.
#[derive(Debug, Clone)]
pub struct QuorumConfig {
    /// This node's id.
    pub node_id: NodeId,
    /// Voter or learner.
    pub role: Role,
    /// The controllers and the addresses of their quorum listeners. Every voter must be started
    /// with the same map; a voter's own id must be in it and a learner's must not. It forms the
    /// quorum on the first start only: afterwards the membership in the log is what counts.
    pub voters: BTreeMap<NodeId, SocketAddr>,
    /// The node's directory: Raft log, vote and snapshot.
    pub dir: PathBuf,
    /// Where to listen for the quorum's RPCs (used by [`Quorum::start`]).
    pub listen_addr: SocketAddr,
    /// The cluster id the leader writes into the log with its first change if the log has none.
    pub cluster_id: ClusterId,
    /// How often the leader sends heartbeats.
    pub heartbeat_interval: Duration,
    /// The shortest time without a leader before a voter stands for election.
    pub election_timeout_min: Duration,
    /// The longest such time (each voter picks at random between the two).
    pub election_timeout_max: Duration,
    /// Take a snapshot after this many entries since the last one, then purge the log.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log after a snapshot, so a slightly late follower catches up from the
    /// log rather than a whole snapshot.
    pub entries_kept_after_snapshot: u64,
    /// The largest RPC frame sent or accepted. A snapshot is sent in chunks of half this, and a
    /// proposal's batch may be at most half this ([`Error::TooLarge`]).
    pub max_frame_bytes: u32,
}

/// A node's view of the quorum, for monitoring and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
    /// The current Raft term.
    pub term: u64,
    /// The index of the last entry in the log, if any.
    pub last_log_index: Option<u64>,
    /// The index of the last entry applied to the image, if any.
    pub last_applied_index: Option<u64>,
    /// The last entry covered by the current snapshot, if any.
    pub snapshot_index: Option<u64>,
    /// The last entry purged from the log, if any.
    pub purged_index: Option<u64>,
}

/// A running node of the controller quorum.
pub struct Quorum {
    node_id: NodeId,
    cluster_id: ClusterId,
    raft: Raft,
    image_rx: watch::Receiver<Arc<MetadataImage>>,
    local_addr: SocketAddr,
    max_batch_bytes: usize,
    /// Proposals are planned and committed one at a time, so each plans against the image with
    /// the previous one applied.
    propose_lock: Mutex<()>,
    server: JoinHandle<()>,
}

impl QuorumConfig {
    /// A config with defaults suited to a LAN: heartbeats every 50 ms, elections after 300 to
    /// 600 ms, a snapshot every 10 000 entries keeping 1 000, frames up to 16 MiB.
    pub fn new(
        node_id: NodeId,
        role: Role,
        voters: BTreeMap<NodeId, SocketAddr>,
        dir: PathBuf,
        listen_addr: SocketAddr,
        cluster_id: ClusterId,
    ) -> QuorumConfig {
        QuorumConfig {
            node_id,
            role,
            voters,
            dir,
            listen_addr,
            cluster_id,
            heartbeat_interval: Duration::from_millis(50),
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            snapshot_after_entries: 10_000,
            entries_kept_after_snapshot: 1_000,
            max_frame_bytes: 16 << 20,
        }
    }
}

impl Quorum {
    /// Starts the node listening on [`QuorumConfig::listen_addr`]: opens (or creates) its
    /// directory, recovers the log (cutting a torn tail) and the snapshot, serves RPCs and, for a
    /// fresh voter, proposes the initial membership of all voters.
    pub async fn start(config: QuorumConfig) -> Result<Quorum> {
        let listener = std::net::TcpListener::bind(config.listen_addr)?;
        Quorum::start_on(config, listener).await
    }

    /// [`Quorum::start`] on a listener bound already (e.g. to an ephemeral port); its address
    /// must be the one the other nodes know this node by.
    pub async fn start_on(config: QuorumConfig, listener: std::net::TcpListener) -> Result<Quorum> {
        let is_voter = config.voters.contains_key(&config.node_id);
        match config.role {
            Role::Voter if !is_voter => {
                return Err(Error::InvalidConfig {
                    reason: format!("voter {} is not among the voters", config.node_id),
                });
            }
            Role::Learner if is_voter => {
                return Err(Error::InvalidConfig {
                    reason: format!("learner {} is among the voters", config.node_id),
                });
            }
            Role::Voter | Role::Learner => {}
        }
        let raft_config = openraft::Config {
            cluster_name: "strom-controllers".to_owned(),
            heartbeat_interval: millis(config.heartbeat_interval),
            election_timeout_min: millis(config.election_timeout_min),
            election_timeout_max: millis(config.election_timeout_max),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after_entries),
            max_in_snapshot_log_to_keep: config.entries_kept_after_snapshot,
            snapshot_max_chunk_size: u64::from(config.max_frame_bytes / 2),
            // Per chunk; openraft's default (200 ms) is short for a large chunk on a busy node.
            install_snapshot_timeout: millis(config.election_timeout_max).saturating_mul(4),
            ..openraft::Config::default()
        };
        let raft_config = match raft_config.validate() {
            Ok(raft_config) => raft_config,
            Err(error) => {
                return Err(Error::InvalidConfig {
                    reason: error.to_string(),
                });
            }
        };
        let (log_store, recovery) = LogStore::open(&config.dir)?;
        tracing::info!(node_id = %config.node_id, ?recovery, "recovered the raft log");
        let (state_machine, image_rx) = StateMachine::open(&config.dir)?;
        let network = NetworkFactory {
            max_frame_bytes: config.max_frame_bytes,
            backoff: config.heartbeat_interval * 4,
        };
        let raft = match Raft::new(
            config.node_id.0,
            Arc::new(raft_config),
            network,
            log_store,
            state_machine,
        )
        .await
        {
            Ok(raft) => raft,
            Err(error) => {
                return Err(Error::Unavailable {
                    reason: error.to_string(),
                });
            }
        };
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let server = tokio::spawn(serve(listener, raft.clone(), config.max_frame_bytes));
        let res = Quorum {
            node_id: config.node_id,
            cluster_id: config.cluster_id,
            raft,
            image_rx,
            local_addr,
            max_batch_bytes: config.max_frame_bytes as usize / 2,
            propose_lock: Mutex::new(()),
            server,
        };
        if config.role == Role::Voter && !res.is_initialized().await? {
            let members: BTreeMap<u64, BasicNode> = config
                .voters
                .iter()
                .map(|(node_id, addr)| (node_id.0, BasicNode::new(addr)))
                .collect();
            // Every fresh voter proposes the same initial membership; openraft makes that safe,
            // and refuses it (harmlessly) once another voter's entries have arrived.
            if let Err(error) = res.raft.initialize(members).await {
                tracing::debug!(%error, "initial membership not proposed");
            }
        }
        Ok(res)
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The address this node's RPC listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The committed image this node has applied. Cheap: readers keep the `Arc` as long as they
    /// like.
    pub fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.image_rx.borrow())
    }

    /// A receiver that sees every image this node publishes as it applies committed batches.
    pub fn watch_image(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.image_rx.clone()
    }

    /// The leader as far as this node knows (it may be stale on a partitioned node).
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader.map(NodeId)
    }

    /// Waits until this node knows of a leader, for at most `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<NodeId> {
        let res = self
            .raft
            .wait(Some(timeout))
            .metrics(
                |metrics| metrics.current_leader.is_some(),
                "a leader is known",
            )
            .await;
        match res {
            Ok(metrics) => metrics.current_leader.map(NodeId),
            Err(_) => None,
        }
    }

    /// This node's view of the quorum.
    pub fn status(&self) -> QuorumStatus {
        let metrics = self.raft.metrics().borrow().clone();
        QuorumStatus {
            leader: metrics.current_leader.map(NodeId),
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            last_applied_index: metrics.last_applied.map(|log_id| log_id.index),
            snapshot_index: metrics.snapshot.map(|log_id| log_id.index),
            purged_index: metrics.purged.map(|log_id| log_id.index),
        }
    }

    /// Plans a change against the committed image on the leader and commits its records as one
    /// batch. `plan` gets the image and returns the caller's result and the records; its error
    /// (a `strom-metadata` rule) comes back as [`Error::Metadata`] and nothing is written. A
    /// plan with no records writes nothing. On a follower: [`Error::NotLeader`].
    pub async fn propose_with<T>(
        &self,
        plan: impl FnOnce(&MetadataImage) -> strom_metadata::Result<(T, Vec<MetadataRecord>)>,
    ) -> Result<T> {
        let _proposing = self.propose_lock.lock().await;
        self.ensure_current_leader().await?;
        let image = self.image();
        let (res, planned) = plan(&image)?;
        if planned.is_empty() {
            return Ok(res);
        }
        let mut records = Vec::with_capacity(planned.len() + 1);
        if image.cluster_id().is_none() {
            records.push(MetadataRecord::ClusterId {
                cluster_id: self.cluster_id.clone(),
            });
        }
        records.extend(planned);
        let batch = RecordBatch {
            base_offset: image.end_offset(),
            records,
        };
        let bytes = batch.encode().len();
        if bytes > self.max_batch_bytes {
            return Err(Error::TooLarge {
                bytes,
                max: self.max_batch_bytes,
            });
        }
        let response = match self.raft.client_write(batch).await {
            Ok(response) => response,
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                return Err(Error::NotLeader {
                    leader: forward.leader_id.map(NodeId),
                });
            }
            Err(error) => {
                return Err(Error::Unavailable {
                    reason: error.to_string(),
                });
            }
        };
        match response.data {
            ApplyOutcome::Applied { .. } => Ok(res),
            ApplyOutcome::Refused { reason } => Err(Error::Refused { reason }),
            ApplyOutcome::NoBatch => Err(Error::Refused {
                reason: "the entry carried no batch".to_owned(),
            }),
        }
    }

    /// Creates topics; each gets its own result, in request order (later topics see earlier
    /// ones). The outer error means nothing was committed (or, for `Unavailable`, that it is
    /// unknown whether it was).
    pub async fn create_topics(
        &self,
        topics: &[CreateTopic],
    ) -> Result<Vec<strom_metadata::Result<CreatedTopic>>> {
        self.propose_each(topics, plan_create_topic).await
    }

    /// Deletes topics, by name or id; each gets its own result.
    pub async fn delete_topics(
        &self,
        topics: &[TopicRef],
    ) -> Result<Vec<strom_metadata::Result<DeletedTopic>>> {
        self.propose_each(topics, plan_delete_topic).await
    }

    /// Grows topics' partition counts; each result lists the new partitions' replicas.
    pub async fn create_partitions(
        &self,
        requests: &[CreatePartitions],
    ) -> Result<Vec<strom_metadata::Result<Vec<Vec<BrokerId>>>>> {
        self.propose_each(requests, plan_create_partitions).await
    }

    /// Registers a broker (an unchanged registration writes nothing).
    pub async fn register_broker(&self, registration: &BrokerRegistration) -> Result<()> {
        self.propose_with(|image| Ok(((), plan_register_broker(image, registration)?)))
            .await
    }

    /// Fences a broker, moving leadership and ISR membership away from it.
    pub async fn fence_broker(&self, broker_id: BrokerId) -> Result<()> {
        self.propose_with(|image| Ok(((), plan_fence_broker(image, broker_id)?)))
            .await
    }

    /// Unfences a broker, making it leader where partitions had none.
    pub async fn unfence_broker(&self, broker_id: BrokerId) -> Result<()> {
        self.propose_with(|image| Ok(((), plan_unfence_broker(image, broker_id)?)))
            .await
    }

    /// On the leader: adds a learner that follows the committed log at `addr`, and waits until
    /// it has caught up.
    pub async fn add_learner(&self, node_id: NodeId, addr: SocketAddr) -> Result<()> {
        match self
            .raft
            .add_learner(node_id.0, BasicNode::new(addr), true)
            .await
        {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Err(Error::NotLeader {
                    leader: forward.leader_id.map(NodeId),
                })
            }
            Err(error) => Err(Error::Unavailable {
                reason: error.to_string(),
            }),
        }
    }

    /// Stops the node: Raft, its RPC listener and connections. The directory stays as it is for
    /// a later start.
    pub async fn shutdown(self) -> Result<()> {
        self.server.abort();
        let res = self.raft.shutdown().await;
        if let Err(error) = res {
            return Err(Error::Unavailable {
                reason: error.to_string(),
            });
        }
        Ok(())
    }

    async fn is_initialized(&self) -> Result<bool> {
        match self.raft.is_initialized().await {
            Ok(res) => Ok(res),
            Err(error) => Err(Error::Unavailable {
                reason: error.to_string(),
            }),
        }
    }

    /// Confirms with a quorum that this node leads, and waits until it has applied everything
    /// committed up to then (at least its own blank entry of this term).
    async fn ensure_current_leader(&self) -> Result<()> {
        match self.raft.ensure_linearizable().await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(forward))) => {
                Err(Error::NotLeader {
                    leader: forward.leader_id.map(NodeId),
                })
            }
            Err(error) => Err(Error::Unavailable {
                reason: error.to_string(),
            }),
        }
    }

    /// Plans every item against an image holding the earlier items' records and commits them
    /// all in one batch.
    async fn propose_each<I, T>(
        &self,
        items: &[I],
        plan: impl Fn(&MetadataImage, &I) -> strom_metadata::Result<(T, Vec<MetadataRecord>)>,
    ) -> Result<Vec<strom_metadata::Result<T>>> {
        self.propose_with(|image| {
            let mut scratch = image.clone();
            let mut records = Vec::new();
            let mut res = Vec::with_capacity(items.len());
            for item in items {
                match plan(&scratch, item) {
                    Ok((outcome, item_records)) => {
                        for record in &item_records {
                            scratch.apply(record)?;
                        }
                        records.extend(item_records);
                        res.push(Ok(outcome));
                    }
                    Err(error) => res.push(Err(error)),
                }
            }
            Ok((res, records))
        })
        .await
    }
}

impl std::fmt::Debug for Quorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quorum")
            .field("node_id", &self.node_id)
            .field("local_addr", &self.local_addr)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // Without this the listener would outlive the handle; Raft itself stops once its last
        // handle (ours and the server's) is gone.
        self.server.abort();
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
