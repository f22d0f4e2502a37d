//! The seam: [`Quorum`], a node of the controller quorum, and its [`QuorumConfig`]. Openraft runs
//! underneath; none of its types appears here.
//!
//! Proposals are planned on the leader with `strom-metadata`'s `plan_*` functions against the
//! committed image, one at a time, and proposed as one [`RecordBatch`]. Before planning, the
//! leader confirms its leadership with a quorum and waits until its state machine has applied
//! everything committed when it was elected (its own blank entry included), so it never plans
//! against a stale image.
//!
//! [`Quorum::submit`] works on any node: the leader executes the [`Intent`]; any other node
//! forwards it to the leader it knows (see `network`), retrying with backoff across leader
//! changes until [`QuorumConfig::forward_timeout`]. The methods named after one intent
//! ([`Quorum::create_topics`], ...) work on the leader only and answer [`Error::NotLeader`]
//! elsewhere.
//!
//! The leader also keeps broker sessions (see `liveness`): brokers heartbeat with
//! [`Quorum::heartbeat`], and a task fences those not heard from for
//! [`QuorumConfig::broker_session_timeout`]. Another task on the leader moves leadership back
//! to preferred replicas every [`QuorumConfig::leader_imbalance_check_interval`] (Kafka's
//! `auto.leader.rebalance.enable`) and elects uncleanly where topics allow it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, ClientWriteError, RaftError};
use openraft::{BasicNode, SnapshotPolicy};
use strom_metadata::{
    AlterConfigs, BrokerId, BrokerRegistration, ClusterId, ConfigResource, ConfigRules,
    CreatePartitions, CreateTopic, CreatedTopic, DeletedTopic, Election, ElectionConfig,
    MetadataImage, MetadataRecord, Mode, PartitionElection, RecordBatch, TopicRef,
    ongoing_reassignments, plan_alter_configs, plan_alter_partition, plan_create_partitions,
    plan_create_topic, plan_delete_topic, plan_elect_leaders, plan_fence_broker_with,
    plan_reassign, plan_rebalance_leaders, plan_register_broker, plan_unclean_elections,
    plan_unfence_broker_with,
};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::ids::NodeId;
use crate::intent::{ConfigChange, Intent, Outcome, Submitted, WireError};
use crate::liveness::Liveness;
use crate::log_store::LogStore;
use crate::network::{Forwarder, NetworkFactory, serve};
use crate::raft_types::{ApplyOutcome, Raft};
use crate::state_machine::StateMachine;
use crate::{Error, Result};

/// Whether a node votes or only follows the committed log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A controller: one of [`QuorumConfig::voters`]. A fresh voter forms the quorum with the
    /// other voters on its first start.
    Voter,
    /// A node that follows the committed log without voting (a broker-only node). On every
    /// start it asks the leader (found through [`QuorumConfig::voters`]) to add it, or to update
    /// its address; the leader can also add it with [`Quorum::add_learner`]. It never votes and
    /// never leads.
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
    /// How long [`Quorum::submit`] keeps trying (forwarding, waiting for a leader, retrying
    /// after a leader change) before it gives up with the last error.
    pub forward_timeout: Duration,
    /// On the leader: a registered, unfenced broker not heard from (heartbeat or registration)
    /// for this long is fenced (Kafka's `broker.session.timeout.ms`).
    pub broker_session_timeout: Duration,
    /// The address the other nodes reach this node's quorum listener at, when it is not the
    /// bound one (a listener bound to `0.0.0.0`). A learner sends it to the leader when it
    /// joins; `None` uses the bound address.
    pub advertised_addr: Option<SocketAddr>,
    /// On the leader: topics without their own `unclean.leader.election.enable` (and no
    /// cluster-wide dynamic default) may elect a leader from outside the ISR when fencing leaves
    /// a partition leaderless or a replica of a leaderless partition returns (Kafka's
    /// `unclean.leader.election.enable`).
    pub unclean_leader_election_enable: bool,
    /// On the leader: move leadership back to preferred replicas when a broker's imbalance
    /// exceeds [`QuorumConfig::leader_imbalance_per_broker_percentage`] (Kafka's
    /// `auto.leader.rebalance.enable`).
    pub auto_leader_rebalance_enable: bool,
    /// How often the leader checks the imbalance, and elects uncleanly for leaderless partitions
    /// of topics that allow it (Kafka's `leader.imbalance.check.interval.seconds`).
    pub leader_imbalance_check_interval: Duration,
    /// The share (in percent) of a broker's preferred partitions that others may lead before
    /// the rebalance acts (Kafka's `leader.imbalance.per.broker.percentage`).
    pub leader_imbalance_per_broker_percentage: u32,
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
    node: Arc<Node>,
    local_addr: SocketAddr,
    server: JoinHandle<()>,
    sessions: JoinHandle<()>,
    /// A learner's task that asks the leader to add it, until it has.
    joiner: Option<JoinHandle<()>>,
    rebalance: JoinHandle<()>,
}

/// What a running node shares between its handle, its RPC server and its session task.
pub(crate) struct Node {
    node_id: NodeId,
    cluster_id: ClusterId,
    raft: Raft,
    image_rx: watch::Receiver<Arc<MetadataImage>>,
    max_batch_bytes: usize,
    /// Proposals are planned and committed one at a time, so each plans against the image with
    /// the previous one applied.
    propose_lock: Mutex<()>,
    forwarder: Forwarder,
    forward_timeout: Duration,
    /// The first and the longest wait between attempts of a submit.
    retry_backoff: (Duration, Duration),
    session_timeout: Duration,
    /// Broker sessions, meaningful on the leader only.
    liveness: std::sync::Mutex<Liveness>,
    /// What fencing and unfencing may elect.
    election_config: ElectionConfig,
    /// When and how the leader checks leadership.
    balance: Balance,
}

/// The settings of the leader's periodic leadership check.
#[derive(Debug, Clone, Copy)]
struct Balance {
    /// How often.
    interval: Duration,
    /// The preferred-leader rebalance's imbalance percentage, or `None` when it is off.
    imbalance_percentage: Option<u32>,
}

/// Where an intent goes.
enum Target {
    /// This node leads.
    Local,
    /// Another node leads, listening at this address.
    Remote(NodeId, String),
    /// No leader is known (or not its address).
    Unknown(Option<NodeId>),
}

impl QuorumConfig {
    /// A config with defaults suited to a LAN: heartbeats every 50 ms, elections after 300 to
    /// 600 ms, a snapshot every 10 000 entries keeping 1 000, frames up to 16 MiB, submits
    /// given up after 10 s, broker sessions of 9 s; no unclean elections by default, and a
    /// preferred-leader rebalance every 300 s for brokers above 10 % imbalance (Kafka's
    /// defaults).
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
            forward_timeout: Duration::from_secs(10),
            broker_session_timeout: Duration::from_secs(9),
            advertised_addr: None,
            unclean_leader_election_enable: false,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval: Duration::from_secs(300),
            leader_imbalance_per_broker_percentage: 10,
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
        if config.broker_session_timeout.is_zero() {
            return Err(Error::InvalidConfig {
                reason: "the broker session timeout must be positive".to_owned(),
            });
        }
        if config.leader_imbalance_check_interval.is_zero() {
            return Err(Error::InvalidConfig {
                reason: "the leader imbalance check interval must be positive".to_owned(),
            });
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
        let first_backoff = config.heartbeat_interval.max(Duration::from_millis(10));
        let node = Arc::new(Node {
            node_id: config.node_id,
            cluster_id: config.cluster_id,
            raft,
            image_rx,
            max_batch_bytes: config.max_frame_bytes as usize / 2,
            propose_lock: Mutex::new(()),
            forwarder: Forwarder::new(config.max_frame_bytes),
            forward_timeout: config.forward_timeout,
            retry_backoff: (
                first_backoff,
                config.election_timeout_max.max(first_backoff),
            ),
            session_timeout: config.broker_session_timeout,
            liveness: std::sync::Mutex::new(Liveness::default()),
            election_config: ElectionConfig {
                unclean_by_default: config.unclean_leader_election_enable,
            },
            balance: Balance {
                interval: config.leader_imbalance_check_interval,
                imbalance_percentage: config
                    .auto_leader_rebalance_enable
                    .then_some(config.leader_imbalance_per_broker_percentage),
            },
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&node), config.max_frame_bytes));
        let sessions = tokio::spawn(watch_sessions(Arc::clone(&node)));
        let joiner = (config.role == Role::Learner).then(|| {
            tokio::spawn(join_as_learner(
                Arc::clone(&node),
                config.voters.clone(),
                config.advertised_addr.unwrap_or(local_addr),
            ))
        });
        let rebalance = tokio::spawn(watch_leadership(Arc::clone(&node)));
        let res = Quorum {
            node,
            local_addr,
            server,
            sessions,
            joiner,
            rebalance,
        };
        if config.role == Role::Voter && !res.node.is_initialized().await? {
            let members: BTreeMap<u64, BasicNode> = config
                .voters
                .iter()
                .map(|(node_id, addr)| (node_id.0, BasicNode::new(addr)))
                .collect();
            // Every fresh voter proposes the same initial membership; openraft makes that safe,
            // and refuses it (harmlessly) once another voter's entries have arrived.
            if let Err(error) = res.node.raft.initialize(members).await {
                tracing::debug!(%error, "initial membership not proposed");
            }
        }
        Ok(res)
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.node.node_id
    }

    /// The address this node's RPC listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The committed image this node has applied. Cheap: readers keep the `Arc` as long as they
    /// like.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.node.image()
    }

    /// A receiver that sees every image this node publishes as it applies committed batches.
    pub fn watch_image(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.node.image_rx.clone()
    }

    /// The leader as far as this node knows (it may be stale on a partitioned node).
    pub fn leader(&self) -> Option<NodeId> {
        self.node.leader()
    }

    /// Waits until this node knows of a leader, for at most `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<NodeId> {
        let res = self
            .node
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
        let metrics = self.node.raft.metrics().borrow().clone();
        QuorumStatus {
            leader: metrics.current_leader.map(NodeId),
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            last_applied_index: metrics.last_applied.map(|log_id| log_id.index),
            snapshot_index: metrics.snapshot.map(|log_id| log_id.index),
            purged_index: metrics.purged.map(|log_id| log_id.index),
        }
    }

    /// Has the controller carry out `intent`, from any node (voter or learner). The leader
    /// executes it; any other node forwards it to the leader, retrying with backoff while no
    /// leader is known, when the one it asked no longer leads, or when the exchange fails, until
    /// [`QuorumConfig::forward_timeout`] has passed; then the last error comes back
    /// ([`Error::NotLeader`] or [`Error::Unavailable`]). Rule errors come back as
    /// [`Error::Metadata`] (one intent) or inside the per-item results of the [`Outcome`].
    ///
    /// A forwarded intent whose answer was lost is sent again, so it may be executed twice:
    /// creating a topic then answers `TopicAlreadyExists`, deleting one `UnknownTopic`, growing
    /// partitions `InvalidPartitions` (registrations, heartbeats and fencing are idempotent).
    /// When a forwarded intent succeeds, this node has applied the leader's image up to it before
    /// this returns (unless the timeout passes first), so [`Quorum::image`] shows it.
    pub async fn submit(&self, intent: Intent) -> Result<Outcome> {
        self.node.submit(&intent).await
    }

    /// A broker's heartbeat, from any node: [`Quorum::submit`] of
    /// [`Intent::BrokerHeartbeat`]. It renews the broker's session on the leader and unfences
    /// the broker if it was fenced; an unregistered broker gets `UnknownBroker`.
    pub async fn heartbeat(&self, broker_id: BrokerId) -> Result<()> {
        self.node
            .submit(&Intent::BrokerHeartbeat { broker_id })
            .await?;
        Ok(())
    }

    /// Plans a change against the committed image on the leader and commits its records as one
    /// batch. `plan` gets the image and returns the caller's result and the records; its error
    /// (a `strom-metadata` rule) comes back as [`Error::Metadata`] and nothing is written. A
    /// plan with no records writes nothing. On a follower: [`Error::NotLeader`].
    pub async fn propose_with<T>(
        &self,
        plan: impl FnOnce(&MetadataImage) -> strom_metadata::Result<(T, Vec<MetadataRecord>)>,
    ) -> Result<T> {
        self.node.propose_with(plan).await
    }

    /// Creates topics on the leader; each gets its own result, in request order (later topics
    /// see earlier ones). The outer error means nothing was committed (or, for `Unavailable`,
    /// that it is unknown whether it was).
    pub async fn create_topics(
        &self,
        topics: &[CreateTopic],
    ) -> Result<Vec<strom_metadata::Result<CreatedTopic>>> {
        self.node
            .propose_each(topics, Mode::Apply, plan_create_topic)
            .await
    }

    /// Deletes topics on the leader, by name or id; each gets its own result.
    pub async fn delete_topics(
        &self,
        topics: &[TopicRef],
    ) -> Result<Vec<strom_metadata::Result<DeletedTopic>>> {
        self.node
            .propose_each(topics, Mode::Apply, plan_delete_topic)
            .await
    }

    /// Grows topics' partition counts on the leader; each result lists the new partitions'
    /// replicas.
    pub async fn create_partitions(
        &self,
        requests: &[CreatePartitions],
    ) -> Result<Vec<strom_metadata::Result<Vec<Vec<BrokerId>>>>> {
        self.node
            .propose_each(requests, Mode::Apply, plan_create_partitions)
            .await
    }

    /// Registers a broker on the leader, as [`Intent::RegisterBroker`] does (an unchanged
    /// registration writes nothing; a fenced broker stays fenced until it heartbeats).
    pub async fn register_broker(&self, registration: &BrokerRegistration) -> Result<()> {
        self.node
            .execute(&Intent::RegisterBroker(registration.clone()))
            .await?;
        Ok(())
    }

    /// Fences a broker on the leader, moving leadership and ISR membership away from it.
    pub async fn fence_broker(&self, broker_id: BrokerId) -> Result<()> {
        self.node.execute(&Intent::FenceBroker(broker_id)).await?;
        Ok(())
    }

    /// Unfences a broker on the leader, making it leader where partitions had none.
    pub async fn unfence_broker(&self, broker_id: BrokerId) -> Result<()> {
        self.node.execute(&Intent::UnfenceBroker(broker_id)).await?;
        Ok(())
    }

    /// On the leader: adds a learner that follows the committed log at `addr` (or updates its
    /// address), once the membership change is committed; the learner catches up on its own.
    pub async fn add_learner(&self, node_id: NodeId, addr: SocketAddr) -> Result<()> {
        // The same path as a learner's own join: one membership change at a time (a learner
        // that asks by itself at the same moment is not refused), and idempotent.
        Ok(self.node.serve_join(node_id.0, addr.to_string()).await?)
    }

    /// Stops the node: Raft, its RPC listener and connections, the session and leadership
    /// tasks. The directory stays as it is for a later start.
    pub async fn shutdown(self) -> Result<()> {
        self.stop().await
    }

    /// [`Quorum::shutdown`] for a node shared behind an `Arc`: stops serving RPCs and the Raft
    /// core; every later call fails with [`Error::Unavailable`].
    pub async fn stop(&self) -> Result<()> {
        self.server.abort();
        self.sessions.abort();
        if let Some(joiner) = &self.joiner {
            joiner.abort();
        }
        self.rebalance.abort();
        let res = self.node.raft.shutdown().await;
        if let Err(error) = res {
            return Err(Error::Unavailable {
                reason: error.to_string(),
            });
        }
        Ok(())
    }
}

impl Node {
    /// The Raft node.
    pub(crate) fn raft(&self) -> &Raft {
        &self.raft
    }

    fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.image_rx.borrow())
    }

    fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader.map(NodeId)
    }

    /// The term this node leads in, or `None` when it does not lead.
    fn leading_term(&self) -> Option<u64> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        if metrics.current_leader == Some(self.node_id.0) {
            return Some(metrics.current_term);
        }
        None
    }

    /// Where to send an intent now: here, the leader's address, or nowhere yet.
    fn target(&self) -> Target {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let Some(leader) = metrics.current_leader else {
            return Target::Unknown(None);
        };
        if leader == self.node_id.0 {
            return Target::Local;
        }
        match metrics.membership_config.membership().get_node(&leader) {
            Some(node) => Target::Remote(NodeId(leader), node.addr.clone()),
            None => Target::Unknown(Some(NodeId(leader))),
        }
    }

    fn sessions(&self) -> MutexGuard<'_, Liveness> {
        self.liveness.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn is_initialized(&self) -> Result<bool> {
        match self.raft.is_initialized().await {
            Ok(res) => Ok(res),
            Err(error) => Err(Error::Unavailable {
                reason: error.to_string(),
            }),
        }
    }

    /// See [`Quorum::submit`].
    async fn submit(&self, intent: &Intent) -> Result<Outcome> {
        let deadline = Instant::now() + self.forward_timeout;
        let (mut backoff, max_backoff) = self.retry_backoff;
        let mut last_error = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero()
                && let Some(error) = last_error
            {
                return Err(error);
            }
            let res = match self.target() {
                Target::Local => {
                    match tokio::time::timeout(remaining, self.execute(intent)).await {
                        Ok(res) => res,
                        Err(_) => Err(Error::Unavailable {
                            reason: format!("not done within {:?}", self.forward_timeout),
                        }),
                    }
                }
                Target::Remote(leader, addr) => {
                    self.forward(leader, &addr, intent, remaining, deadline)
                        .await
                }
                Target::Unknown(leader) => Err(Error::NotLeader { leader }),
            };
            match res {
                Err(error @ (Error::NotLeader { .. } | Error::Unavailable { .. })) => {
                    tracing::debug!(%error, ?backoff, "submit retries");
                    last_error = Some(error);
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    tokio::time::sleep(backoff.min(remaining)).await;
                    backoff = backoff.saturating_mul(2).min(max_backoff);
                }
                res => return res,
            }
        }
    }

    /// Sends `intent` to the leader at `addr` and, when it succeeded, waits (until `deadline`)
    /// for this node to apply the leader's image as of the answer.
    async fn forward(
        &self,
        leader: NodeId,
        addr: &str,
        intent: &Intent,
        ttl: Duration,
        deadline: Instant,
    ) -> Result<Outcome> {
        let submitted = match self.forwarder.submit(addr, intent, ttl).await {
            Ok(Ok(submitted)) => submitted,
            Ok(Err(error)) => return Err(error.into()),
            Err(error) => {
                return Err(Error::Unavailable {
                    reason: format!("forwarding to leader {leader} at {addr}: {error}"),
                });
            }
        };
        if !intent.expects(&submitted.outcome) {
            return Err(Error::Unavailable {
                reason: format!("leader {leader} answered with an outcome of another kind"),
            });
        }
        let mut images = self.image_rx.clone();
        let caught_up = tokio::time::timeout_at(
            deadline,
            images.wait_for(|image| image.end_offset().0 >= submitted.end_offset),
        )
        .await;
        if !matches!(caught_up, Ok(Ok(_))) {
            tracing::debug!(
                end_offset = submitted.end_offset,
                "forwarded intent done, but this node has not applied it yet"
            );
        }
        Ok(Outcome::from_wire(submitted.outcome))
    }

    /// Executes a forwarded intent here (never forwarding it again) and puts the answer in its
    /// wire form.
    pub(crate) async fn serve_submit(&self, intent: &Intent) -> Result<Submitted, WireError> {
        // Bounded, so a leader cut off from the quorum does not hold the proposal lock forever
        // for a caller that gave up long ago.
        let outcome = match tokio::time::timeout(self.forward_timeout, self.execute(intent)).await {
            Ok(res) => res?.into_wire()?,
            Err(_) => {
                return Err(WireError::Unavailable {
                    reason: format!("not done within {:?}", self.forward_timeout),
                });
            }
        };
        Ok(Submitted {
            outcome,
            end_offset: self.image().end_offset().0,
        })
    }

    /// A learner's request to be added (see [`join_as_learner`]), on the node that should lead:
    /// adds `node_id` as a learner reached at `addr`, updates its address if it changed, and
    /// does nothing if it is a learner with that address already (a restarted learner asks
    /// again). A voter's id is refused. Does not wait for the learner to catch up.
    pub(crate) async fn serve_join(&self, node_id: u64, addr: String) -> Result<(), WireError> {
        // One membership change at a time; openraft refuses overlapping ones.
        let _changing = self.propose_lock.lock().await;
        if self.leading_term().is_none() {
            return Err(WireError::NotLeader {
                leader: self.leader(),
            });
        }
        let (is_voter, known_addr) = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            let membership = metrics.membership_config.membership();
            (
                membership.voter_ids().any(|voter| voter == node_id),
                membership.get_node(&node_id).map(|node| node.addr.clone()),
            )
        };
        if is_voter {
            return Err(WireError::Refused {
                reason: format!("node {node_id} is a voter, not a learner"),
            });
        }
        let node = BasicNode::new(&addr);
        let res = match known_addr {
            Some(known) if known == addr => return Ok(()),
            Some(_) => {
                self.raft
                    .change_membership(
                        openraft::ChangeMembers::SetNodes(BTreeMap::from([(node_id, node)])),
                        true,
                    )
                    .await
            }
            None => self.raft.add_learner(node_id, node, false).await,
        };
        match res {
            Ok(_) => {
                tracing::info!(node_id, %addr, "learner added");
                Ok(())
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Err(WireError::NotLeader {
                    leader: forward.leader_id.map(NodeId),
                })
            }
            Err(error) => Err(WireError::Unavailable {
                reason: error.to_string(),
            }),
        }
    }

    /// Executes `intent` on this node, which must lead ([`Error::NotLeader`] otherwise).
    async fn execute(&self, intent: &Intent) -> Result<Outcome> {
        match intent {
            Intent::CreateTopics(topics, mode) => Ok(Outcome::CreatedTopics(
                self.propose_each(topics, *mode, plan_create_topic).await?,
            )),
            Intent::DeleteTopics(topics) => Ok(Outcome::DeletedTopics(
                self.propose_each(topics, Mode::Apply, plan_delete_topic)
                    .await?,
            )),
            Intent::CreatePartitions(requests, mode) => Ok(Outcome::CreatedPartitions(
                self.propose_each(requests, *mode, plan_create_partitions)
                    .await?,
            )),
            Intent::AlterConfigs(changes, mode) => Ok(Outcome::AlteredConfigs(
                self.propose_each(changes, *mode, plan_config_change)
                    .await?,
            )),
            Intent::RegisterBroker(registration) => {
                let broker_id = registration.broker_id;
                self.propose_with(|image| {
                    let mut registration = registration.clone();
                    // A fenced broker stays fenced until it heartbeats.
                    if image.broker(broker_id).is_some_and(|broker| broker.fenced) {
                        registration.fenced = true;
                    }
                    Ok(((), plan_register_broker(image, &registration)?))
                })
                .await?;
                if let Some(term) = self.leading_term() {
                    self.sessions().heard(broker_id, term, Instant::now());
                }
                Ok(Outcome::Done)
            }
            Intent::BrokerHeartbeat { broker_id } => {
                let broker_id = *broker_id;
                let Some(term) = self.leading_term() else {
                    return Err(Error::NotLeader {
                        leader: self.leader(),
                    });
                };
                // Renewed before anything else, so a fence planned meanwhile sees it.
                self.sessions().heard(broker_id, term, Instant::now());
                self.propose_with(|image| match image.broker(broker_id) {
                    None => Err(strom_metadata::Error::UnknownBroker { broker_id }),
                    Some(broker) if broker.fenced => Ok((
                        (),
                        plan_unfence_broker_with(image, broker_id, self.election_config)?,
                    )),
                    Some(_) => Ok(((), Vec::new())),
                })
                .await?;
                Ok(Outcome::Done)
            }
            Intent::AlterPartition(change) => {
                let partition = self
                    .propose_with(|image| {
                        let records = plan_alter_partition(image, change)?;
                        let mut after = image.clone();
                        for record in &records {
                            after.apply(record)?;
                        }
                        match after.partition(&change.topic, change.partition) {
                            Some(partition) => Ok((partition.clone(), records)),
                            None => Err(strom_metadata::Error::UnknownTopic {
                                name: change.topic.clone(),
                            }),
                        }
                    })
                    .await?;
                Ok(Outcome::AlteredPartition(partition))
            }
            Intent::FenceBroker(broker_id) => {
                self.propose_with(|image| {
                    Ok((
                        (),
                        plan_fence_broker_with(image, *broker_id, self.election_config)?,
                    ))
                })
                .await?;
                Ok(Outcome::Done)
            }
            Intent::UnfenceBroker(broker_id) => {
                self.propose_with(|image| {
                    Ok((
                        (),
                        plan_unfence_broker_with(image, *broker_id, self.election_config)?,
                    ))
                })
                .await?;
                Ok(Outcome::Done)
            }
            Intent::AlterPartitionReassignments(reassignments) => {
                Ok(Outcome::AlteredReassignments(
                    self.propose_each(reassignments, Mode::Apply, |image, reassignment| {
                        Ok(((), plan_reassign(image, reassignment)?))
                    })
                    .await?,
                ))
            }
            Intent::ListPartitionReassignments(partitions) => {
                self.ensure_current_leader().await?;
                Ok(Outcome::ListedReassignments(ongoing_reassignments(
                    &self.image(),
                    partitions.as_deref(),
                )))
            }
            Intent::ElectLeaders {
                election,
                partitions,
            } => {
                let elections = self
                    .propose_with(|image| {
                        Ok(plan_elect_leaders(image, *election, partitions.as_deref()))
                    })
                    .await?;
                Ok(Outcome::ElectedLeaders(elections))
            }
        }
    }

    /// See [`Quorum::propose_with`].
    async fn propose_with<T>(
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
    /// all in one batch (nothing when only validating; the plans still run on the leader).
    async fn propose_each<I, T>(
        &self,
        items: &[I],
        mode: Mode,
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
            if mode == Mode::ValidateOnly {
                records.clear();
            }
            Ok((res, records))
        })
        .await
    }

    /// One round of the session task: note whether this node leads, and fence the brokers
    /// whose session expired.
    async fn expire_sessions(&self) {
        let now = Instant::now();
        let term = self.leading_term();
        let expired = {
            let mut sessions = self.sessions();
            sessions.observe(term, now);
            sessions.expired(&self.image(), now, self.session_timeout)
        };
        for broker_id in expired {
            let fence = self.propose_with(|image| {
                // Checked again under the proposal lock: a heartbeat may have come meanwhile.
                let expired =
                    self.sessions()
                        .is_expired(broker_id, Instant::now(), self.session_timeout);
                if !expired {
                    return Ok((false, Vec::new()));
                }
                let records = plan_fence_broker_with(image, broker_id, self.election_config)?;
                Ok((!records.is_empty(), records))
            });
            let res = match tokio::time::timeout(self.session_timeout, fence).await {
                Ok(res) => res,
                Err(_) => Err(Error::Unavailable {
                    reason: format!("not done within {:?}", self.session_timeout),
                }),
            };
            match res {
                Ok(true) => tracing::info!(
                    %broker_id,
                    timeout = ?self.session_timeout,
                    "fenced a broker whose session expired"
                ),
                Ok(false) => {}
                Err(error) => tracing::warn!(%broker_id, %error, "fencing a broker failed"),
            }
        }
    }
}

impl Node {
    /// One round of the leadership task, on the leader: preferred elections for the brokers
    /// whose leadership imbalance exceeds the percentage (when the rebalance is on), then
    /// unclean elections for leaderless partitions of topics that enable them.
    async fn check_leadership(&self) {
        if self.leading_term().is_none() {
            return;
        }
        let balance = self.balance;
        let elect = self.propose_with(|image| {
            let (rebalanced, mut records) = match balance.imbalance_percentage {
                Some(percentage) => plan_rebalance_leaders(image, percentage),
                None => (Vec::new(), Vec::new()),
            };
            let mut after = image.clone();
            for record in &records {
                after.apply(record)?;
            }
            let (unclean, unclean_records) = plan_unclean_elections(&after, self.election_config);
            records.extend(unclean_records);
            Ok(((rebalanced, unclean), records))
        });
        let res = match tokio::time::timeout(balance.interval, elect).await {
            Ok(res) => res,
            Err(_) => Err(Error::Unavailable {
                reason: format!("not done within {:?}", balance.interval),
            }),
        };
        match res {
            Ok((rebalanced, unclean)) => {
                if !rebalanced.is_empty() {
                    tracing::info!(
                        moved = rebalanced.len(),
                        partitions = %elected_leaders(&rebalanced),
                        "rebalanced partition leadership to preferred replicas"
                    );
                }
                if !unclean.is_empty() {
                    tracing::warn!(
                        partitions = %elected_leaders(&unclean),
                        "elected leaders from outside the isr (unclean leader election)"
                    );
                }
            }
            Err(Error::NotLeader { .. }) => {}
            Err(error) => tracing::warn!(%error, "checking partition leadership failed"),
        }
    }
}

/// `topic-partition->leader` for each elected partition, comma-separated, for a log line.
fn elected_leaders(elections: &[PartitionElection]) -> String {
    let names: Vec<String> = elections
        .iter()
        .map(|election| match election.election {
            Election::Elected(leader) => {
                format!("{}-{}->{leader}", election.topic, election.partition)
            }
            other => format!("{}-{}:{other:?}", election.topic, election.partition),
        })
        .collect();
    names.join(",")
}

/// The leadership task: every check interval (the first one interval after start), on the
/// leader, moves leadership back to preferred replicas where a broker's imbalance is too high
/// and elects uncleanly where a topic allows it. It runs on every node; only a leader acts.
async fn watch_leadership(node: Arc<Node>) {
    let interval = node.balance.interval;
    let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        node.check_leadership().await;
    }
}

/// Plans a config change with rules that accept any value (the submitting broker validated
/// them) and take `Append`/`Subtract` bases from the change's own defaults.
fn plan_config_change(
    image: &MetadataImage,
    change: &ConfigChange,
) -> strom_metadata::Result<((), Vec<MetadataRecord>)> {
    let request = AlterConfigs {
        resource: change.resource.clone(),
        ops: change.ops.clone(),
    };
    let default_value =
        |_: &ConfigResource, key: &str| -> Option<String> { change.defaults.get(key).cloned() };
    let validate = |_: &ConfigResource, _: &BTreeMap<String, String>| Ok(());
    let rules = ConfigRules {
        default_value: &default_value,
        validate: &validate,
    };
    Ok(((), plan_alter_configs(image, &request, &rules)?))
}

/// A learner's join task: asks the leader to add this node as a learner reached at `addr`,
/// until one does. The leader is found by asking the voters in turn and following the leader a
/// non-leader names; attempts back off like forwarded intents.
async fn join_as_learner(node: Arc<Node>, voters: BTreeMap<NodeId, SocketAddr>, addr: SocketAddr) {
    let (first_backoff, max_backoff) = node.retry_backoff;
    let mut backoff = first_backoff;
    let mut next_voter = 0usize;
    let mut hint: Option<String> = None;
    let mut warned = false;
    loop {
        let target = match hint.take() {
            Some(target) => target,
            None => {
                let Some(voter) = voters.values().nth(next_voter % voters.len().max(1)) else {
                    tracing::warn!("a learner without voters cannot join the quorum");
                    return;
                };
                next_voter = next_voter.wrapping_add(1);
                voter.to_string()
            }
        };
        let res = node
            .forwarder
            .join(
                &target,
                node.node_id.0,
                &addr.to_string(),
                node.forward_timeout,
            )
            .await;
        match res {
            Ok(Ok(())) => {
                tracing::info!(node_id = %node.node_id, %addr, "joined the quorum as a learner");
                return;
            }
            Ok(Err(WireError::NotLeader { leader })) => {
                // The leader is a voter: its address is in the configured voters (this node
                // may have no membership yet).
                hint = leader
                    .and_then(|leader| voters.get(&leader))
                    .map(SocketAddr::to_string);
            }
            Ok(Err(error)) if !warned => {
                warned = true;
                tracing::warn!(%target, ?error, "joining the quorum as a learner failed; retrying");
            }
            Ok(Err(error)) => tracing::debug!(%target, ?error, "joining the quorum failed"),
            Err(error) => tracing::debug!(%target, %error, "joining the quorum failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(max_backoff);
    }
}

/// The session task: every few hundredths of the session timeout, checks whether this node
/// leads and fences brokers whose session expired. It runs on every node; only a leader acts.
async fn watch_sessions(node: Arc<Node>) {
    let tick = (node.session_timeout / 20).clamp(Duration::from_millis(5), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        node.expire_sessions().await;
    }
}

impl std::fmt::Debug for Quorum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quorum")
            .field("node_id", &self.node.node_id)
            .field("local_addr", &self.local_addr)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Drop for Quorum {
    fn drop(&mut self) {
        // Without this the listener and the session task would outlive the handle; Raft itself
        // stops once its last handle (the node's) is gone.
        self.server.abort();
        self.sessions.abort();
        if let Some(joiner) = &self.joiner {
            joiner.abort();
        }
        self.rebalance.abort();
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
