//! The broker: its configuration, the metadata controller, every partition log with its
//! idempotent-producer state, the per-partition watches that wake long-polling fetches, and the
//! background work (retention, compaction, flush ticks). [`Broker::start`] binds the listener,
//! opens the storage and runs the server; [`RunningBroker::shutdown`] stops it cleanly.
//!
//! Locking: the metadata controller and the logs each sit behind one `std::sync::Mutex`, taken
//! only on blocking threads (`spawn_blocking`) and never across an `.await`. The log lock is
//! taken after the controller lock when both are needed. Wire messages are not handled here:
//! `dispatch` and `handlers` do that.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use strom_log::{LogConfig, LogManager, TopicPartition};
use strom_metadata::{
    BrokerId, BrokerRegistration, ClusterId, CreateTopic, CreatedTopic, DeletedTopic, LocalConfig,
    LocalController, MetadataImage, Mode, PartitionImage, PartitionIndex, TopicImage, TopicRef,
};
use strom_quorum::{NodeId, Quorum, QuorumConfig, Role};
use strom_record::{LeaderEpoch, Offset, Timestamp};
use strom_replication::{LeaderConfig, TimeMs};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{self, BrokerConfig, ProcessRoles, TopicConfig};
use crate::groups::{self, GroupService};
use crate::plane::Plane;
use crate::producer_ids::ProducerIdAllocator;
use crate::producer_state::ProducerTable;
use crate::replica::{Effects, Replication};
use crate::server::{self, ServerConfig};
use crate::{Error, dispatch, random_id, reconcile};

/// Longest time shutdown waits for open connections to finish their queued responses.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// In a cluster, producer ids are `local counter * PRODUCER_ID_NODES + node.id`.
const PRODUCER_ID_NODES: i64 = 1024;

/// How long a starting cluster node waits for the quorum to accept its registration.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the `flush.ms` tick runs.
const FLUSH_TICK: Duration = Duration::from_millis(200);

/// The topic part of the metadata log's directory name, which lives among the partition logs in
/// the first log dir (as in KRaft) but is not a partition the broker serves. The log manager
/// skips it; the broker checks again before deleting "stray" logs, since deleting it would lose
/// the cluster's metadata.
pub(crate) const METADATA_TOPIC: &str = "__cluster_metadata";

/// A running single-node broker's shared state.
#[derive(Debug)]
pub struct Broker {
    config: BrokerConfig,
    node_id: BrokerId,
    cluster_id: ClusterId,
    endpoint: config::Endpoint,
    plane: Plane,
    logs: Mutex<Option<Logs>>,
    watches: Mutex<HashMap<TopicPartition, watch::Sender<Offset>>>,
    producer_ids: Mutex<ProducerIdAllocator>,
    groups: GroupService,
    shutdown: watch::Receiver<bool>,
    pub(crate) fetchers: crate::fetcher::ReplicaFetchers,
}

/// The partition logs and, per partition, the idempotent producers' state and (where this
/// broker leads) the replication state.
#[derive(Debug)]
pub(crate) struct Logs {
    /// Every partition log.
    pub manager: LogManager,
    /// Producer state per partition (present for every partition with a log).
    pub producers: HashMap<TopicPartition, ProducerTable>,
    /// Leader-side replication of the partitions led here.
    pub replication: Replication,
}

/// A started broker: its address, and the handle to stop it.
#[derive(Debug)]
pub struct RunningBroker {
    local_addr: SocketAddr,
    broker: Arc<Broker>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    background: JoinHandle<()>,
    group_timer: JoinHandle<()>,
    /// Metadata reconciliation and controller heartbeats (cluster mode).
    cluster_tasks: Vec<JoinHandle<()>>,
}

/// The current time as a record timestamp (milliseconds since the Unix epoch).
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// The current time for the replication state machines.
pub(crate) fn time_ms() -> TimeMs {
    TimeMs(u64::try_from(now().0).unwrap_or(0))
}

/// The log configuration a topic configuration implies.
pub fn log_config(topic: &TopicConfig) -> LogConfig {
    let cleanup_policy = match (topic.cleanup_policy.compact, topic.cleanup_policy.delete) {
        (true, true) => strom_log::CleanupPolicy::CompactAndDelete,
        (true, false) => strom_log::CleanupPolicy::Compact,
        (false, _) => strom_log::CleanupPolicy::Delete,
    };
    let message_timestamp_type = match topic.message_timestamp_type {
        config::TimestampType::CreateTime => strom_record::TimestampType::CreateTime,
        config::TimestampType::LogAppendTime => strom_record::TimestampType::LogAppendTime,
    };
    LogConfig {
        segment_bytes: topic.segment_bytes,
        segment_ms: topic.segment_ms,
        retention_ms: topic.retention_ms,
        retention_bytes: topic.retention_bytes,
        cleanup_policy,
        delete_retention_ms: topic.delete_retention_ms,
        min_compaction_lag_ms: topic.min_compaction_lag_ms,
        flush_messages: topic.flush_messages,
        flush_ms: topic.flush_ms,
        index_interval_bytes: topic.index_interval_bytes,
        max_message_bytes: topic.max_message_bytes,
        message_timestamp_type,
    }
}

impl Broker {
    /// Binds the first listener, opens (or formats) the data directories, registers this node in
    /// the metadata log with its advertised endpoint, and starts serving.
    pub async fn start(config: BrokerConfig) -> Result<RunningBroker, Error> {
        let Some(listener_endpoint) = config.listeners.first().cloned() else {
            return Err(Error::Config(config::ConfigError::InvalidValue {
                key: "listeners".to_owned(),
                value: String::new(),
                reason: "at least one listener is needed".to_owned(),
            }));
        };
        let bind_host = match listener_endpoint.host.as_str() {
            "" => "0.0.0.0",
            host => host,
        };
        let listener = TcpListener::bind((bind_host, listener_endpoint.port)).await?;
        let local_addr = listener.local_addr()?;
        let mut endpoint = config
            .advertised_listeners
            .first()
            .cloned()
            .unwrap_or_else(|| listener_endpoint.clone());
        if endpoint.port == 0 {
            endpoint.port = local_addr.port();
        }
        let (stop, shutdown) = watch::channel(false);
        let quorum = match config.process_roles {
            ProcessRoles::SingleNode => None,
            ProcessRoles::Combined => Some(start_quorum(&config).await?),
            ProcessRoles::Broker => {
                Some(start_learner(&config, &listener_endpoint, &endpoint).await?)
            }
            ProcessRoles::Controller => {
                return Err(Error::Config(config::ConfigError::InvalidValue {
                    key: "process.roles".to_owned(),
                    value: "controller".to_owned(),
                    reason: "a controller-only node runs no broker: start it with \
                             RunningNode::start or RunningController::start"
                        .to_owned(),
                }));
            }
        }
        .map(|quorum| (quorum, tokio::runtime::Handle::current()));
        let broker = tokio::task::spawn_blocking(move || open(config, endpoint, shutdown, quorum))
            .await
            .map_err(|error| Error::Task(error.to_string()))??;
        let broker = Arc::new(broker);
        broker.start_fetchers();
        tracing::info!(
            node_id = broker.node_id.0,
            cluster_id = %broker.cluster_id,
            address = %local_addr,
            advertised = %broker.endpoint,
            "broker listening"
        );
        let server_config = ServerConfig {
            max_frame_bytes: broker.config.socket_request_max_bytes,
            max_connections: broker.config.max_connections,
            idle_timeout: Duration::from_millis(broker.config.connections_max_idle_ms),
            max_in_flight: 64,
        };
        let handler_broker = Arc::clone(&broker);
        let handler = move |peer, frame| dispatch::handle(Arc::clone(&handler_broker), peer, frame);
        let server = tokio::spawn(server::serve(
            listener,
            server_config,
            handler,
            stop.subscribe(),
        ));
        let background = tokio::spawn(background(Arc::clone(&broker), stop.subscribe()));
        let group_timer = tokio::spawn(groups::run(Arc::clone(&broker), stop.subscribe()));
        let mut cluster_tasks = Vec::new();
        if broker.plane.quorum().is_some() {
            cluster_tasks.push(tokio::spawn(reconcile::follow_metadata(
                Arc::clone(&broker),
                stop.subscribe(),
            )));
            cluster_tasks.push(tokio::spawn(heartbeat(
                Arc::clone(&broker),
                stop.subscribe(),
            )));
        }
        Ok(RunningBroker {
            local_addr,
            broker,
            stop,
            server,
            background,
            group_timer,
            cluster_tasks,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The consumer group service.
    pub(crate) fn groups(&self) -> &GroupService {
        &self.groups
    }

    /// This node's id.
    pub fn node_id(&self) -> BrokerId {
        self.node_id
    }

    /// The cluster id.
    pub fn cluster_id(&self) -> &ClusterId {
        &self.cluster_id
    }

    /// The endpoint clients are told to connect to.
    pub fn endpoint(&self) -> &config::Endpoint {
        &self.endpoint
    }

    /// The current metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.plane.image()
    }

    /// Where metadata changes go. Blocking: call its methods from a blocking thread.
    pub fn plane(&self) -> &Plane {
        &self.plane
    }

    /// The effective configuration of a topic (its overrides over the broker defaults).
    pub fn topic_config(&self, topic: &TopicImage) -> TopicConfig {
        // Overrides were validated before they were stored; if one still does not resolve
        // (a value written by a newer version), the broker defaults are the safe choice.
        self.config
            .topic_config(&topic.configs)
            .unwrap_or_else(|error| {
                tracing::warn!(topic = topic.name, %error, "topic config does not resolve; using defaults");
                self.config.topic_defaults.clone()
            })
    }

    /// Applies a topic's current configuration (from the metadata image) to its partition logs:
    /// what the config admin handlers call after changing a topic's overrides. Blocking.
    pub fn apply_topic_config(&self, topic: &str) -> Result<(), Error> {
        let image = self.image();
        let Some(topic) = image.topic(topic) else {
            return Err(strom_metadata::Error::UnknownTopic {
                name: topic.to_owned(),
            }
            .into());
        };
        let log_config = log_config(&self.topic_config(topic));
        self.with_logs(|logs| {
            for partition in 0..topic.partition_count() {
                let topic_partition = TopicPartition::new(topic.name.clone(), partition);
                if let Some(log) = logs.manager.get_mut(&topic_partition) {
                    log.set_config(log_config.clone())?;
                }
            }
            Ok(())
        })?
    }

    /// Creates topics in the metadata log and, unless only validating, their partition logs.
    /// Blocking. The outer error is a storage failure; each topic has its own result.
    pub fn create_topics(
        &self,
        topics: &[CreateTopic],
        mode: Mode,
    ) -> Result<Vec<Result<CreatedTopic, strom_metadata::Error>>, Error> {
        let res = self.plane.create_topics(topics, mode)?;
        if mode == Mode::ValidateOnly {
            return Ok(res);
        }
        let image = self.plane.image();
        for created in res.iter().flatten() {
            let Some(topic) = image.topic(&created.name) else {
                continue;
            };
            self.open_partitions(topic, 0)?;
            tracing::info!(
                topic = created.name,
                partitions = created.replicas.len(),
                "topic created"
            );
        }
        Ok(res)
    }

    /// Creates the logs of a topic's partitions from `first` on (new topics start at 0; grown
    /// topics at their old partition count). Blocking.
    pub fn open_partitions(&self, topic: &TopicImage, first: u32) -> Result<(), Error> {
        let log_config = log_config(&self.topic_config(topic));
        let now = now();
        self.with_logs(|logs| {
            for (partition, image) in (0u32..).zip(&topic.partitions).skip(first as usize) {
                if !image.replicas.contains(&self.node_id) {
                    continue;
                }
                let topic_partition = TopicPartition::new(topic.name.clone(), partition);
                if logs.manager.get(&topic_partition).is_none() {
                    logs.manager
                        .create_log(&topic_partition, log_config.clone(), now)?;
                }
                self.adopt_log(logs, topic_partition, image)?;
            }
            Ok::<(), Error>(())
        })?
    }

    /// Deletes topics from the metadata log, then their partition logs. Blocking.
    pub fn delete_topics(
        &self,
        topics: &[TopicRef],
    ) -> Result<Vec<Result<DeletedTopic, strom_metadata::Error>>, Error> {
        let image = self.image();
        let res = self.plane.delete_topics(topics)?;
        for deleted in res.iter().flatten() {
            let partitions = image
                .topic_by_id(deleted.topic_id)
                .map_or(0, TopicImage::partition_count);
            self.with_logs(|logs| {
                for partition in 0..partitions {
                    let topic_partition = TopicPartition::new(deleted.name.clone(), partition);
                    logs.producers.remove(&topic_partition);
                    logs.replication.resign(&topic_partition);
                    if logs.manager.get(&topic_partition).is_some() {
                        logs.manager.delete_log(&topic_partition)?;
                    }
                }
                Ok::<(), Error>(())
            })??;
            let mut watches = self.watches();
            for partition in 0..partitions {
                // Dropping the sender wakes the fetches waiting on it.
                watches.remove(&TopicPartition::new(deleted.name.clone(), partition));
            }
            tracing::info!(topic = deleted.name, "topic deleted");
        }
        Ok(res)
    }

    /// Runs `f` with the logs locked. Blocking: call it from a blocking thread.
    pub(crate) fn with_logs<R>(&self, f: impl FnOnce(&mut Logs) -> R) -> Result<R, Error> {
        let mut guard = self
            .logs
            .lock()
            .expect("a panic while holding the log lock already failed the broker");
        match guard.as_mut() {
            Some(logs) => Ok(f(logs)),
            None => Err(Error::ShutDown),
        }
    }

    /// Tells fetches waiting on `topic_partition` that its high watermark moved.
    pub(crate) fn notify_high_watermark(&self, topic_partition: &TopicPartition, hw: Offset) {
        if let Some(sender) = self.watches().get(topic_partition) {
            sender.send_replace(hw);
        }
    }

    /// A receiver that changes when `topic_partition`'s high watermark moves (or closes when the
    /// partition goes away); `None` for an unknown partition.
    pub(crate) fn watch_high_watermark(
        &self,
        topic_partition: &TopicPartition,
    ) -> Option<watch::Receiver<Offset>> {
        self.watches()
            .get(topic_partition)
            .map(watch::Sender::subscribe)
    }

    /// Drops a partition's watch, waking (and ending) the fetches waiting on it.
    pub(crate) fn forget_watch(&self, topic_partition: &TopicPartition) {
        self.watches().remove(topic_partition);
    }

    /// A receiver that turns true when the broker shuts down.
    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// The leader-side replication settings.
    pub(crate) fn leader_config(&self) -> LeaderConfig {
        LeaderConfig {
            replica_lag_time_max_ms: self.config.replica_lag_time_max_ms,
        }
    }

    /// Executes what the replication state decided, outside the log lock: wakes fetches and
    /// sends ISR changes to the controller (feeding each outcome back, which may decide more).
    /// Blocking.
    pub(crate) fn apply_effects(&self, mut effects: Effects) -> Result<(), Error> {
        loop {
            for (topic_partition, high_watermark) in effects.wake.drain(..) {
                self.notify_high_watermark(&topic_partition, high_watermark);
            }
            let proposals = std::mem::take(&mut effects.proposals);
            if proposals.is_empty() {
                return Ok(());
            }
            for change in proposals {
                let outcome = self.plane.alter_partition(&change);
                match &outcome {
                    Ok(partition) => tracing::info!(
                        topic = change.topic,
                        partition = change.partition.0,
                        isr = ?partition.isr,
                        "isr changed"
                    ),
                    Err(error) => tracing::info!(
                        topic = change.topic,
                        partition = change.partition.0,
                        %error,
                        "isr change refused"
                    ),
                }
                let topic_partition = TopicPartition::new(change.topic.clone(), change.partition.0);
                self.with_logs(|logs| {
                    let Some(log) = logs.manager.get_mut(&topic_partition) else {
                        return Ok(());
                    };
                    logs.replication.on_proposal_result(
                        &change,
                        outcome.as_ref().map_err(|_| ()),
                        log,
                        time_ms(),
                        &mut effects,
                    )
                })??;
            }
        }
    }

    /// A new producer id. Blocking (it may fsync).
    /// In a cluster the local counter's value `n` becomes `n * 1024 + node.id`, so brokers never
    /// hand out the same id (node ids of a cluster are below 1024).
    pub(crate) fn allocate_producer_id(&self) -> Result<i64, Error> {
        let local = self
            .producer_ids
            .lock()
            .expect("a panic while holding the producer id lock already failed the broker")
            .allocate()?;
        if self.plane.quorum().is_none() {
            return Ok(local);
        }
        Ok(local
            .saturating_mul(PRODUCER_ID_NODES)
            .saturating_add(i64::from(self.node_id.0)))
    }

    /// Whether `producer_id` may have been handed out (by this broker, or in a cluster by
    /// another one).
    pub(crate) fn producer_id_was_allocated(&self, producer_id: i64) -> bool {
        let allocator = self
            .producer_ids
            .lock()
            .expect("a panic while holding the producer id lock already failed the broker");
        if self.plane.quorum().is_none() {
            return allocator.was_allocated(producer_id);
        }
        producer_id >= 0
            && (producer_id % PRODUCER_ID_NODES != i64::from(self.node_id.0)
                || allocator.was_allocated(producer_id / PRODUCER_ID_NODES))
    }

    fn watches(&self) -> MutexGuard<'_, HashMap<TopicPartition, watch::Sender<Offset>>> {
        self.watches
            .lock()
            .expect("a panic while holding the watch lock already failed the broker")
    }

    /// Prepares an opened log for serving: where this broker leads the partition, the leader
    /// state (epoch in the log's cache, high watermark); producer state; a watch.
    pub(crate) fn adopt_log(
        &self,
        logs: &mut Logs,
        topic_partition: TopicPartition,
        partition: &PartitionImage,
    ) -> Result<(), Error> {
        let Some(log) = logs.manager.get_mut(&topic_partition) else {
            return Ok(());
        };
        if log.latest_epoch().is_none() {
            log.assign_epoch(LeaderEpoch(0), log.log_start_offset())?;
        }
        let mut effects = Effects::default();
        logs.replication.sync(
            &topic_partition,
            partition,
            log,
            self.leader_config(),
            time_ms(),
            &mut effects,
        )?;
        let hw = log.high_watermark();
        logs.producers.insert(
            topic_partition.clone(),
            ProducerTable::from_log(log.producer_states()),
        );
        self.watches()
            .entry(topic_partition)
            .or_insert_with(|| watch::channel(hw).0)
            .send_replace(hw);
        Ok(())
    }
}

impl RunningBroker {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The broker.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Stops accepting connections, lets open connections finish the responses already queued
    /// (long-polling fetches return at once), stops the background work, then flushes and closes
    /// every log, leaving the clean-shutdown markers.
    pub async fn shutdown(self) -> Result<(), Error> {
        tracing::info!("broker shutting down");
        self.stop.send_replace(true);
        let mut server = self.server;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
            .await
            .is_err()
        {
            tracing::warn!("connections did not finish in time; closing them");
            server.abort();
        }
        if let Err(error) = self.background.await {
            tracing::warn!(%error, "background task failed");
        }
        if let Err(error) = self.group_timer.await {
            tracing::warn!(%error, "group timer task failed");
        }
        // Reconciliation and heartbeats have nothing to finish; a heartbeat waiting for a
        // quorum that is gone must not hold up the shutdown.
        for task in self.cluster_tasks {
            task.abort();
            if let Err(error) = task.await
                && !error.is_cancelled()
            {
                tracing::warn!(%error, "cluster task failed");
            }
        }
        let broker = self.broker;
        let broker_quorum = broker.plane.quorum().cloned();
        tokio::task::spawn_blocking(move || {
            let logs = broker
                .logs
                .lock()
                .expect("a panic while holding the log lock already failed the broker")
                .take();
            if let Some(logs) = logs {
                logs.manager.close(now())?;
            }
            Ok::<(), Error>(())
        })
        .await
        .map_err(|error| Error::Task(error.to_string()))??;
        if let Some(quorum) = broker_quorum
            && let Err(error) = quorum.stop().await
        {
            tracing::warn!(%error, "stopping the controller quorum member failed");
        }
        tracing::info!("broker stopped; logs flushed and closed");
        Ok(())
    }
}

/// Registers this broker with the quorum, retrying while there is no leader or this node is not
/// it (forwarding makes that rare). Blocking.
fn register_in_quorum(plane: &Plane, registration: &BrokerRegistration) -> Result<(), Error> {
    let deadline = std::time::Instant::now() + REGISTRATION_TIMEOUT;
    loop {
        match plane.register_broker(registration) {
            Ok(()) => return Ok(()),
            Err(Error::Quorum(
                error @ (strom_quorum::Error::NotLeader { .. }
                | strom_quorum::Error::Unavailable { .. }),
            )) if std::time::Instant::now() < deadline => {
                tracing::debug!(%error, "registration not accepted yet; retrying");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(error) => return Err(error),
        }
    }
}

/// The voters of `controller.quorum.voters`, resolved.
async fn resolve_voters(config: &BrokerConfig) -> Result<BTreeMap<NodeId, SocketAddr>, Error> {
    let mut voters = BTreeMap::new();
    for voter in &config.controller_quorum_voters {
        let addr = tokio::net::lookup_host((voter.host.as_str(), voter.port))
            .await?
            .next()
            .ok_or_else(|| {
                Error::Config(config::ConfigError::InvalidValue {
                    key: "controller.quorum.voters".to_owned(),
                    value: format!("{}@{}:{}", voter.id, voter.host, voter.port),
                    reason: "the host does not resolve".to_owned(),
                })
            })?;
        voters.insert(NodeId(u64::try_from(voter.id).unwrap_or(0)), addr);
    }
    Ok(voters)
}

/// Starts a broker-only node's learner of the controller quorum: its quorum listener binds the
/// client listener's host on an ephemeral port, and the leader is told the advertised host with
/// that port when the learner joins (again on every start).
async fn start_learner(
    config: &BrokerConfig,
    listener: &config::Endpoint,
    advertised: &config::Endpoint,
) -> Result<Arc<Quorum>, Error> {
    let voters = resolve_voters(config).await?;
    let bind_host = match listener.host.as_str() {
        "" => "0.0.0.0",
        host => host,
    };
    let socket = std::net::TcpListener::bind((bind_host, 0))?;
    let local = socket.local_addr()?;
    let advertised_addr = tokio::net::lookup_host((advertised.host.as_str(), local.port()))
        .await?
        .next()
        .ok_or_else(|| {
            Error::Config(config::ConfigError::InvalidValue {
                key: "advertised.listeners".to_owned(),
                value: advertised.to_string(),
                reason: "the host does not resolve".to_owned(),
            })
        })?;
    let quorum_config = QuorumConfig {
        advertised_addr: Some(advertised_addr),
        ..quorum_config(config, voters, local)?
    };
    let quorum = Quorum::start_on(quorum_config, socket).await?;
    tracing::info!(
        node_id = config.node_id,
        address = %advertised_addr,
        "controller quorum learner started (broker-only node)"
    );
    Ok(Arc::new(quorum))
}

/// Starts this node's member of the controller quorum (`controller.quorum.voters`), with its
/// Raft log in `<first log dir>/__cluster_metadata-0`, and waits for a leader.
pub(crate) async fn start_quorum(config: &BrokerConfig) -> Result<Arc<Quorum>, Error> {
    let voters = resolve_voters(config).await?;
    let own_id = NodeId(u64::try_from(config.node_id).unwrap_or(0));
    let Some(listen_addr) = voters.get(&own_id).copied() else {
        return Err(Error::Config(config::ConfigError::InvalidValue {
            key: "controller.quorum.voters".to_owned(),
            value: String::new(),
            reason: "this node is not a voter".to_owned(),
        }));
    };
    let quorum_config = quorum_config(config, voters, listen_addr)?;
    let quorum = Quorum::start(quorum_config).await?;
    tracing::info!(node_id = config.node_id, address = %listen_addr, "controller quorum member started");
    Ok(Arc::new(quorum))
}

/// This node's quorum settings: its Raft directory, the voters, and the broker settings the
/// active controller applies (`broker.session.timeout.ms`, `unclean.leader.election.enable`
/// and the automatic leader rebalance's keys).
fn quorum_config(
    config: &BrokerConfig,
    voters: BTreeMap<NodeId, SocketAddr>,
    listen_addr: SocketAddr,
) -> Result<QuorumConfig, Error> {
    let Some(first_dir) = config.log_dirs.first() else {
        return Err(Error::Task("no log dir".to_owned()));
    };
    let role = if config.process_roles.is_voter() {
        Role::Voter
    } else {
        Role::Learner
    };
    let quorum_config = QuorumConfig::new(
        NodeId(u64::try_from(config.node_id).unwrap_or(0)),
        role,
        voters,
        first_dir.join(format!("{METADATA_TOPIC}-0")),
        listen_addr,
        ClusterId(random_id::cluster_id()),
    );
    Ok(QuorumConfig {
        broker_session_timeout: Duration::from_millis(config.broker_session_timeout_ms),
        unclean_leader_election_enable: config.topic_defaults.unclean_leader_election_enable,
        auto_leader_rebalance_enable: config.auto_leader_rebalance_enable,
        leader_imbalance_check_interval: Duration::from_secs(
            config.leader_imbalance_check_interval_seconds,
        ),
        leader_imbalance_per_broker_percentage: config.leader_imbalance_per_broker_percentage,
        ..quorum_config
    })
}

/// Opens the storage: metadata (formatting a new directory with a random cluster id), this node's
/// registration, every partition log (creating logs the metadata names but the disk lacks, and
/// deleting logs of topics the metadata no longer has), and the producer id counter.
fn open(
    config: BrokerConfig,
    endpoint: config::Endpoint,
    shutdown: watch::Receiver<bool>,
    quorum: Option<(Arc<Quorum>, tokio::runtime::Handle)>,
) -> Result<Broker, Error> {
    let first_dir: PathBuf =
        config
            .log_dirs
            .first()
            .cloned()
            .ok_or_else(|| config::ConfigError::InvalidValue {
                key: "log.dirs".to_owned(),
                value: String::new(),
                reason: "at least one directory is needed".to_owned(),
            })?;
    let node_id = BrokerId(config.node_id);
    let registration = BrokerRegistration {
        broker_id: node_id,
        endpoints: vec![strom_metadata::Endpoint {
            listener: endpoint.name.clone(),
            host: endpoint.host.clone(),
            port: endpoint.port,
            security_protocol: "PLAINTEXT".to_owned(),
        }],
        rack: None,
        fenced: false,
    };
    let (plane, cluster_id) = match quorum {
        None => {
            let local = LocalConfig::new(
                first_dir.clone(),
                node_id,
                ClusterId(random_id::cluster_id()),
            );
            let (mut controller, report) = LocalController::open(&local)?;
            tracing::info!(
                replayed_records = report.replayed_records,
                truncated_bytes = report.truncated_bytes,
                "metadata loaded"
            );
            controller.register_broker(&registration)?;
            let cluster_id = controller.identity().cluster_id.clone();
            (Plane::Local(Mutex::new(controller)), cluster_id)
        }
        Some((quorum, runtime)) => {
            let plane = Plane::Quorum { quorum, runtime };
            register_in_quorum(&plane, &registration)?;
            let cluster_id = plane.image().cluster_id().cloned().ok_or_else(|| {
                Error::Task("the metadata has no cluster id after registration".to_owned())
            })?;
            (plane, cluster_id)
        }
    };
    let now = now();
    let manager = LogManager::open(&config.log_dirs, &log_config(&config.topic_defaults), now)?;
    let producer_ids = ProducerIdAllocator::open(&first_dir)?;
    let groups = GroupService::new(&config);
    let broker = Broker {
        config,
        node_id,
        cluster_id,
        endpoint,
        plane,
        logs: Mutex::new(Some(Logs {
            manager,
            producers: HashMap::new(),
            replication: Replication::new(node_id),
        })),
        watches: Mutex::new(HashMap::new()),
        producer_ids: Mutex::new(producer_ids),
        groups,
        shutdown,
        fetchers: crate::fetcher::ReplicaFetchers::new(),
    };
    let image = broker.image();
    broker.with_logs(|logs| {
        let stray: Vec<TopicPartition> = logs
            .manager
            .partitions()
            .filter(|topic_partition| {
                topic_partition.topic != METADATA_TOPIC
                    && image
                        .partition(
                            &topic_partition.topic,
                            PartitionIndex(topic_partition.partition),
                        )
                        .is_none()
            })
            .cloned()
            .collect();
        for topic_partition in stray {
            tracing::warn!(partition = %topic_partition, "deleting the log of a partition the metadata does not have");
            logs.manager.delete_log(&topic_partition)?;
        }
        Ok::<(), Error>(())
    })??;
    let mut partitions = 0;
    for topic in image.topics() {
        broker.open_partitions(topic, 0)?;
        broker.apply_topic_config(&topic.name)?;
        partitions += topic.partition_count();
    }
    tracing::info!(
        topics = image.topics().count(),
        partitions,
        "partition logs opened"
    );
    Ok(broker)
}

/// Tells the controller every `broker.heartbeat.interval.ms` that this broker is alive; a broker
/// that stops is fenced after `broker.session.timeout.ms` and its partitions get new leaders.
async fn heartbeat(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let Some(quorum) = broker.plane.quorum().cloned() else {
        return;
    };
    let every = Duration::from_millis(broker.config.broker_heartbeat_interval_ms.max(1));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = ticks.tick() => {}
        }
        let sent = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            sent = quorum.heartbeat(broker.node_id) => sent,
        };
        match sent {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("heartbeats reach the controller again");
            }
            Ok(()) => {}
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "heartbeat to the controller failed");
            }
            Err(_) => {}
        }
    }
}

/// Retention and compaction every `log.retention.check.interval.ms`, and the `flush.ms` tick,
/// each pass on a blocking thread, until the broker stops.
async fn background(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let retention_every =
        Duration::from_millis(broker.config.log_retention_check_interval_ms.max(1));
    let mut retention = tokio::time::interval(retention_every);
    retention.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flush = tokio::time::interval(FLUSH_TICK);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Kafka checks for lagging followers every replica.lag.time.max.ms / 2.
    let isr_every = Duration::from_millis((broker.config.replica_lag_time_max_ms / 2).max(10));
    let mut isr = tokio::time::interval(isr_every);
    isr.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Both intervals fire at once on creation; the first retention pass waits a full period.
    retention.tick().await;
    loop {
        let pass: fn(&Broker) -> Result<(), Error> = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            _ = retention.tick() => retention_pass,
            _ = flush.tick() => flush_pass,
            _ = isr.tick() => isr_pass,
        };
        let pass_broker = Arc::clone(&broker);
        match tokio::task::spawn_blocking(move || pass(&pass_broker)).await {
            Ok(Ok(())) | Ok(Err(Error::ShutDown)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "background log work failed"),
            Err(error) => tracing::error!(%error, "background log work panicked"),
        }
    }
}

/// Retention, then compaction, one partition at a time so appends to other partitions wait
/// for at most one partition's work.
fn retention_pass(broker: &Broker) -> Result<(), Error> {
    let partitions: Vec<TopicPartition> = broker.with_logs(|logs| {
        logs.manager
            .partitions()
            .filter(|topic_partition| topic_partition.topic != METADATA_TOPIC)
            .cloned()
            .collect()
    })?;
    let compact = broker.config.log_cleaner_enable;
    for topic_partition in partitions {
        broker.with_logs(|logs| {
            let Some(log) = logs.manager.get_mut(&topic_partition) else {
                return Ok(());
            };
            let now = now();
            let retention = log.enforce_retention(now)?;
            if retention.segments_deleted > 0 {
                tracing::debug!(partition = %topic_partition, segments = retention.segments_deleted, "retention deleted segments");
            }
            if compact && log.config().cleanup_policy.compacts() {
                log.compact(now)?;
            }
            Ok::<(), Error>(())
        })??;
    }
    Ok(())
}

/// Proposes removing lagging followers from the ISRs of the partitions led here.
fn isr_pass(broker: &Broker) -> Result<(), Error> {
    let mut effects = Effects::default();
    broker.with_logs(|logs| {
        logs.replication
            .tick(time_ms(), &mut logs.manager, &mut effects);
    })?;
    broker.apply_effects(effects)
}

fn flush_pass(broker: &Broker) -> Result<(), Error> {
    broker.with_logs(|logs| logs.manager.flush_tick(now()))??;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sources;

    #[test]
    fn the_quorum_gets_the_broker_session_timeout() {
        let sources = sources(&[]);
        let config = BrokerConfig::load(&sources).unwrap().config;
        let listen: SocketAddr = "127.0.0.1:19002".parse().unwrap();
        let quorum = quorum_config(&config, BTreeMap::from([(NodeId(2), listen)]), listen).unwrap();
        assert_eq!(quorum.broker_session_timeout, Duration::from_millis(2500));
        assert_eq!(quorum.node_id, NodeId(2));
        assert_eq!(quorum.dir, PathBuf::from("/data/a/__cluster_metadata-0"));
        assert_eq!(quorum.role, Role::Voter);
        // Kafka's election defaults.
        assert!(!quorum.unclean_leader_election_enable);
        assert!(quorum.auto_leader_rebalance_enable);
        assert_eq!(
            quorum.leader_imbalance_check_interval,
            Duration::from_secs(300)
        );
        assert_eq!(quorum.leader_imbalance_per_broker_percentage, 10);
    }

    #[test]
    fn the_quorum_gets_the_election_settings() {
        let tuned = sources(&[
            ("unclean.leader.election.enable", "true"),
            ("auto.leader.rebalance.enable", "false"),
            ("leader.imbalance.check.interval.seconds", "2"),
            ("leader.imbalance.per.broker.percentage", "25"),
        ]);
        let config = BrokerConfig::load(&tuned).unwrap().config;
        let listen: SocketAddr = "127.0.0.1:19002".parse().unwrap();
        let quorum = quorum_config(&config, BTreeMap::from([(NodeId(2), listen)]), listen).unwrap();
        assert!(quorum.unclean_leader_election_enable);
        assert!(!quorum.auto_leader_rebalance_enable);
        assert_eq!(
            quorum.leader_imbalance_check_interval,
            Duration::from_secs(2)
        );
        assert_eq!(quorum.leader_imbalance_per_broker_percentage, 25);
        let bad = sources(&[("leader.imbalance.per.broker.percentage", "101")]);
        assert!(BrokerConfig::load(&bad).is_err());
        let bad = sources(&[("leader.imbalance.check.interval.seconds", "0")]);
        assert!(BrokerConfig::load(&bad).is_err());
    }

    #[test]
    fn a_broker_only_node_runs_a_learner() {
        let sources = Sources {
            overrides: vec![
                ("node.id".to_owned(), "4".to_owned()),
                ("process.roles".to_owned(), "broker".to_owned()),
                (
                    "controller.quorum.voters".to_owned(),
                    "1@127.0.0.1:19001,2@127.0.0.1:19002".to_owned(),
                ),
            ],
            ..Sources::default()
        };
        let config = BrokerConfig::load(&sources).unwrap().config;
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let voter: SocketAddr = "127.0.0.1:19001".parse().unwrap();
        let quorum = quorum_config(&config, BTreeMap::from([(NodeId(1), voter)]), listen).unwrap();
        assert_eq!(quorum.role, Role::Learner);
        assert_eq!(quorum.node_id, NodeId(4));
    }

    /// Node 2 of a two-voter cluster with a 2.5 s session timeout, and `extra` keys.
    fn sources(extra: &[(&str, &str)]) -> Sources {
        let mut overrides = vec![
            ("node.id".to_owned(), "2".to_owned()),
            (
                "controller.quorum.voters".to_owned(),
                "1@127.0.0.1:19001,2@127.0.0.1:19002".to_owned(),
            ),
            ("broker.session.timeout.ms".to_owned(), "2500".to_owned()),
            ("log.dirs".to_owned(), "/data/a,/data/b".to_owned()),
        ];
        overrides.extend(
            extra
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        Sources {
            overrides,
            ..Sources::default()
        }
    }
}
