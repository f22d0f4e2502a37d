//! The follower side of replication: copying the leader's log of every partition this broker
//! follows into the local log, as Kafka's replica fetcher threads do.
//!
//! The metadata reconciliation hands [`Broker::set_followed`] the complete set of partitions
//! this broker follows, each with its leader, the leader's address and the leader epoch. Per
//! leader (broker id and address) one tokio task runs with one `strom_client::Connection`,
//! reconnected with a growing backoff after a failure. The task keeps a
//! [`strom_replication::Follower`] per partition and carries out what it decides:
//! - on (re)start: `OffsetForLeaderEpoch` (with this broker's replica id) for the local latest
//!   epoch, then truncation of the divergent tail (`TruncateTo`: log and epoch cache);
//! - then a Fetch loop (v12 fields: current leader epoch, last fetched epoch, log start offset;
//!   `max_wait_ms` 500, `min_bytes` 1) from the local log end offset, appending what comes back
//!   with the leader's offsets (`Log::append_as_follower`, whose batches' leader epochs go into
//!   the epoch cache) and moving the local high watermark to min(leader's, local log end);
//! - a `diverging_epoch` in a Fetch response truncates as the leader says;
//!   `OFFSET_OUT_OF_RANGE` asks the leader for its log start offset (ListOffsets, earliest) and,
//!   if ours is behind it, starts the local log empty there; other partition errors
//!   (`NOT_LEADER_OR_FOLLOWER`, `FENCED_LEADER_EPOCH`, `UNKNOWN_LEADER_EPOCH`, ...) pause the
//!   partition for a second and start it over, by which time the metadata has usually caught up.
//!
//! Every log access runs in `Broker::with_logs` on a blocking thread, never across an await,
//! and first checks that the partition is still followed from this leader in this epoch and is
//! not led here: a fetch answered after the set changed is dropped. A partition removed from the
//! set stops being fetched; a changed leader or epoch starts it over (truncation first).
//!
//! The leader side of these requests lives in the Fetch and OffsetForLeaderEpoch handlers;
//! [`diverging_epoch`] is the leader's check of a follower's fetch position.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use strom_client::{ClientConfig, Connection};
use strom_log::{Log, TopicPartition};
use strom_metadata::BrokerId;
use strom_protocol::messages::fetch::{self, FetchPartition, FetchRequest, FetchTopic};
use strom_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use strom_protocol::messages::offset_for_leader_epoch::{
    OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use strom_protocol::{ApiKey, ErrorCode, Response};
use strom_record::{LeaderEpoch, Offset};
use strom_replication::{Action, EpochEndOffset, EpochEntry, FetchValidation, Follower, LocalLog};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::Error;
use crate::broker::{Broker, now};
use crate::producer_state::ProducerTable;
use crate::replica::replica_id;

/// How long a follower fetch waits on the leader for new records.
const MAX_WAIT_MS: i32 = 500;

/// The most bytes one partition contributes to a fetch response (Kafka's
/// `replica.fetch.max.bytes` default).
const PARTITION_MAX_BYTES: i32 = 1024 * 1024;

/// The most bytes of one fetch response (Kafka's `replica.fetch.response.max.bytes` default).
const RESPONSE_MAX_BYTES: i32 = 10 * 1024 * 1024;

/// How long a request may take, on top of a fetch's wait.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a partition rests after an error before it starts over.
const PARTITION_RETRY: Duration = Duration::from_secs(1);

/// The first pause before reconnecting to a leader; it doubles up to [`RECONNECT_MAX`].
const RECONNECT_MIN: Duration = Duration::from_millis(100);

/// The longest pause before reconnecting to a leader.
const RECONNECT_MAX: Duration = Duration::from_secs(2);

/// ListOffsets' timestamp for "the log start offset".
const EARLIEST_TIMESTAMP: i64 = -2;

/// A partition this broker follows: from whom, where, and in which leader epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The partition's leader.
    pub leader: BrokerId,
    /// The leader's address, `host:port`.
    pub leader_addr: String,
    /// The leader epoch the metadata gives the partition.
    pub leader_epoch: u32,
}

/// A replica's local view of one partition log, for tests and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLogState {
    /// The first offset the log holds.
    pub log_start_offset: Offset,
    /// The offset the next record gets.
    pub log_end_offset: Offset,
    /// The high watermark.
    pub high_watermark: Offset,
    /// The leader epoch cache: each epoch with its first offset, oldest first.
    pub epochs: Vec<(LeaderEpoch, Offset)>,
}

/// The broker's replica fetchers: the followed set and one task per leader.
#[derive(Debug)]
pub(crate) struct ReplicaFetchers {
    runtime: Option<Handle>,
    /// The broker, once it is shared (`Broker::start_fetchers`); no task runs before.
    broker: OnceLock<Weak<Broker>>,
    state: Mutex<FetcherState>,
}

#[derive(Debug, Default)]
struct FetcherState {
    followed: BTreeMap<TopicPartition, Followed>,
    tasks: HashMap<LeaderKey, LeaderTask>,
}

/// A leader as a fetch task knows it: its id and address.
type LeaderKey = (BrokerId, String);

/// What a leader's task fetches: each partition with its leader epoch.
type Assigned = BTreeMap<TopicPartition, u32>;

#[derive(Debug)]
struct LeaderTask {
    partitions: watch::Sender<Assigned>,
    handle: JoinHandle<()>,
}

impl Drop for LeaderTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl ReplicaFetchers {
    /// No partition followed. Tasks are spawned on the runtime current at construction (the
    /// broker opens inside `Broker::start`), or else on the one current at `set_followed`.
    pub fn new() -> ReplicaFetchers {
        ReplicaFetchers {
            runtime: Handle::try_current().ok(),
            broker: OnceLock::new(),
            state: Mutex::new(FetcherState::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, FetcherState> {
        self.state
            .lock()
            .expect("a panic while holding the fetcher lock already failed the broker")
    }

    /// Whether `topic_partition` is still followed as `followed` says.
    fn is_current(&self, topic_partition: &TopicPartition, key: &LeaderKey, epoch: u32) -> bool {
        self.state()
            .followed
            .get(topic_partition)
            .is_some_and(|followed| {
                followed.leader == key.0
                    && followed.leader_addr == key.1
                    && followed.leader_epoch == epoch
            })
    }
}

impl Broker {
    /// Sets the complete set of partitions this broker follows (the metadata reconciliation
    /// calls it whenever the image changes, after resigning leadership of partitions it no
    /// longer leads). Partitions left out stop being fetched; a new leader or leader epoch
    /// starts a partition over, truncating its divergent tail first. Quick and non-blocking.
    /// Fetching starts once the broker runs (`Broker::start`).
    pub fn set_followed(&self, followed: BTreeMap<TopicPartition, Followed>) {
        let mut state = self.fetchers.state();
        for (topic_partition, old) in &state.followed {
            if followed.get(topic_partition) != Some(old) {
                tracing::info!(
                    partition = %topic_partition,
                    leader = old.leader.0,
                    leader_epoch = old.leader_epoch,
                    "stopped following"
                );
            }
        }
        for (topic_partition, new) in &followed {
            if state.followed.get(topic_partition) != Some(new) {
                tracing::info!(
                    partition = %topic_partition,
                    leader = new.leader.0,
                    leader_addr = new.leader_addr,
                    leader_epoch = new.leader_epoch,
                    "following"
                );
            }
        }
        state.followed = followed;
        self.update_tasks(&mut state);
    }

    /// Lets the replica fetchers run (they need the shared broker): called once by
    /// `Broker::start`; starts fetching what `set_followed` set meanwhile.
    pub(crate) fn start_fetchers(self: &Arc<Self>) {
        if self.fetchers.broker.set(Arc::downgrade(self)).is_err() {
            return;
        }
        let mut state = self.fetchers.state();
        self.update_tasks(&mut state);
    }

    /// Brings the leader tasks in line with the followed set: one per leader, told its
    /// partitions; tasks of leaders no longer followed are aborted.
    fn update_tasks(&self, state: &mut FetcherState) {
        let Some(broker) = self.fetchers.broker.get().and_then(Weak::upgrade) else {
            return;
        };
        let mut groups: HashMap<LeaderKey, Assigned> = HashMap::new();
        for (topic_partition, followed) in &state.followed {
            groups
                .entry((followed.leader, followed.leader_addr.clone()))
                .or_default()
                .insert(topic_partition.clone(), followed.leader_epoch);
        }
        // Dropping a task aborts it.
        state
            .tasks
            .retain(|key, task| groups.contains_key(key) && !task.handle.is_finished());
        let runtime = self
            .fetchers
            .runtime
            .clone()
            .or_else(|| Handle::try_current().ok());
        for (key, assigned) in groups {
            if let Some(task) = state.tasks.get(&key) {
                task.partitions.send_if_modified(|current| {
                    let changed = *current != assigned;
                    *current = assigned.clone();
                    changed
                });
                continue;
            }
            let Some(runtime) = &runtime else {
                tracing::warn!(
                    leader = key.0.0,
                    "no tokio runtime to fetch from the leader on"
                );
                continue;
            };
            let (partitions, receiver) = watch::channel(assigned);
            let task = FetchTask {
                broker: Arc::clone(&broker),
                leader: key.clone(),
                partitions: receiver,
                shutdown: self.shutdown_signal(),
                states: BTreeMap::new(),
            };
            let handle = runtime.spawn(task.run());
            state.tasks.insert(key, LeaderTask { partitions, handle });
        }
    }

    /// The partitions this broker follows, as last set.
    pub fn followed(&self) -> BTreeMap<TopicPartition, Followed> {
        self.fetchers.state().followed.clone()
    }

    /// The local state of a partition log (`None` if there is no log). Blocking.
    pub fn replica_log_state(
        &self,
        topic_partition: &TopicPartition,
    ) -> Result<Option<ReplicaLogState>, Error> {
        self.with_logs(|logs| {
            logs.manager
                .get(topic_partition)
                .map(|log| ReplicaLogState {
                    log_start_offset: log.log_start_offset(),
                    log_end_offset: log.log_end_offset(),
                    high_watermark: log.high_watermark(),
                    epochs: log
                        .epoch_entries()
                        .iter()
                        .map(|entry| (entry.epoch, entry.start_offset))
                        .collect(),
                })
        })
    }

    /// The raw batches of a partition log from its start up to `upper_bound` (exclusive, whole
    /// batches only), as stored: to compare replicas byte for byte. Blocking.
    pub fn read_replica_log(
        &self,
        topic_partition: &TopicPartition,
        upper_bound: Offset,
    ) -> Result<Bytes, Error> {
        self.with_logs(|logs| {
            let Some(log) = logs.manager.get(topic_partition) else {
                return Err(strom_log::Error::UnknownLog {
                    name: topic_partition.to_string(),
                }
                .into());
            };
            let bound = upper_bound.min(log.log_end_offset());
            let mut position = log.log_start_offset();
            let mut res = Vec::new();
            while position < bound {
                let slice = log.read(
                    position,
                    u64::from(PARTITION_MAX_BYTES.unsigned_abs()),
                    bound,
                )?;
                if slice.is_empty() {
                    break;
                }
                let bytes = slice.read_to_bytes()?;
                let batches = strom_record::complete_batches(bytes.clone())
                    .map_err(strom_log::Error::from)?;
                let Some(last) = batches.last() else {
                    break;
                };
                position = Offset(last.header().last_offset().0 + 1);
                res.extend_from_slice(&bytes);
            }
            Ok(Bytes::from(res))
        })?
    }
}

/// The leader's check of a follower fetch (Fetch v12+): `Ok(None)` when the follower's log
/// matches the leader's up to `fetch_offset` (or it sent no `last_fetched_epoch`),
/// `Ok(Some(..))` with the `diverging_epoch` to answer (and no records), or
/// `OFFSET_OUT_OF_RANGE` when the leader knows nothing of the epoch.
pub(crate) fn diverging_epoch(
    log: &Log,
    fetch_offset: Offset,
    last_fetched_epoch: i32,
) -> Result<Option<fetch::EpochEndOffset>, ErrorCode> {
    let Ok(epoch) = u32::try_from(last_fetched_epoch) else {
        return Ok(None);
    };
    let cache = epoch_cache(log);
    let validation = strom_replication::validate_fetch(
        &cache,
        to_replication(log.log_end_offset()),
        to_replication(fetch_offset),
        strom_replication::LeaderEpoch(epoch),
    );
    match validation {
        FetchValidation::Valid => Ok(None),
        FetchValidation::Diverging(Some(end)) => Ok(Some(fetch::EpochEndOffset {
            epoch: i32::try_from(end.epoch.0).unwrap_or(i32::MAX),
            end_offset: i64::try_from(end.end_offset.0).unwrap_or(i64::MAX),
            ..fetch::EpochEndOffset::default()
        })),
        FetchValidation::Diverging(None) => Err(ErrorCode::OffsetOutOfRange),
    }
}

fn to_replication(offset: Offset) -> strom_replication::Offset {
    strom_replication::Offset(offset.0)
}

fn to_log(offset: strom_replication::Offset) -> Offset {
    Offset(offset.0)
}

/// A log's epoch cache in the replication crate's terms.
fn epoch_cache(log: &Log) -> Vec<EpochEntry> {
    log.epoch_entries()
        .iter()
        .map(|entry| EpochEntry {
            epoch: strom_replication::LeaderEpoch(entry.epoch.0),
            start_offset: to_replication(entry.start_offset),
        })
        .collect()
}

fn local_log<'a>(log: &Log, cache: &'a [EpochEntry]) -> LocalLog<'a> {
    LocalLog {
        epoch_cache: cache,
        log_start_offset: to_replication(log.log_start_offset()),
        log_end_offset: to_replication(log.log_end_offset()),
        high_watermark: to_replication(log.high_watermark()),
    }
}

/// One followed partition inside its leader's task.
#[derive(Debug)]
struct PartitionState {
    leader_epoch: u32,
    follower: Option<Follower>,
    next: Next,
    /// The last error code met, so a repeated error is logged once.
    last_error: Option<i16>,
}

impl PartitionState {
    fn new(leader_epoch: u32) -> PartitionState {
        PartitionState {
            leader_epoch,
            follower: None,
            next: Next::Start,
            last_error: None,
        }
    }

    /// Rest a while, then start over.
    fn retry(&mut self) {
        self.follower = None;
        self.next = Next::RetryAt(Instant::now() + PARTITION_RETRY);
    }
}

/// A partition's next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Build the follower from the local log.
    Start,
    /// Rest until then, then start over.
    RetryAt(Instant),
    /// Ask the leader where this epoch ends.
    EpochEnd(strom_replication::LeaderEpoch),
    /// Ask the leader for its log start offset (after OFFSET_OUT_OF_RANGE).
    LogStart,
    /// Fetch from here.
    Fetch(Position),
}

/// Where a fetch starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    fetch_offset: Offset,
    last_fetched_epoch: Option<LeaderEpoch>,
    log_start_offset: Offset,
}

impl Position {
    fn of(log: &Log) -> Position {
        let log_end_offset = log.log_end_offset();
        let last_fetched_epoch = log
            .epoch_entries()
            .iter()
            .rev()
            .find(|entry| entry.start_offset < log_end_offset)
            .map(|entry| entry.epoch);
        Position {
            fetch_offset: log_end_offset,
            last_fetched_epoch,
            log_start_offset: log.log_start_offset(),
        }
    }
}

type States = BTreeMap<TopicPartition, PartitionState>;

/// Why a session with the leader ended.
enum SessionEnd {
    /// The broker shuts down or the leader's task was removed.
    Stop,
    /// The connection failed.
    Connection(strom_client::Error),
}

/// What one partition's step on its log came to.
enum Step {
    /// Done; the high watermark moved to this offset, if set.
    Done(Option<Offset>),
    /// The partition is no longer followed as this task knows it, is led here, or has no log.
    Skipped,
}

/// The task fetching from one leader.
struct FetchTask {
    broker: Arc<Broker>,
    leader: LeaderKey,
    partitions: watch::Receiver<Assigned>,
    shutdown: watch::Receiver<bool>,
    states: States,
}

impl FetchTask {
    async fn run(mut self) {
        let config = ClientConfig {
            client_id: format!("strom-replica-fetcher-{}", self.broker.node_id().0),
            request_timeout: REQUEST_TIMEOUT,
            connection_setup_timeout: Duration::from_secs(5),
            ..ClientConfig::bootstrap(self.leader.1.clone())
        };
        let mut pause = RECONNECT_MIN;
        let mut failing = false;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            let connected = tokio::select! {
                res = Connection::connect(&self.leader.1, &config) => res,
                _ = self.shutdown.wait_for(|stop| *stop) => return,
            };
            let error = match connected {
                Ok(connection) => {
                    tracing::debug!(
                        leader = self.leader.0.0,
                        addr = self.leader.1,
                        "connected to the leader"
                    );
                    let since = Instant::now();
                    let end = self.session(&connection).await;
                    connection.close();
                    // A session that failed at once does not reset the backoff (nor the
                    // warning): a leader that accepts and then drops us is not hammered.
                    if since.elapsed() >= RECONNECT_MAX {
                        failing = false;
                        pause = RECONNECT_MIN;
                    }
                    match end {
                        SessionEnd::Stop => return,
                        SessionEnd::Connection(error) => error,
                    }
                }
                Err(error) => error,
            };
            if !failing {
                tracing::warn!(
                    leader = self.leader.0.0,
                    addr = self.leader.1,
                    %error,
                    "replica fetcher lost its leader; reconnecting"
                );
            }
            failing = true;
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = self.shutdown.wait_for(|stop| *stop) => return,
            }
            pause = (pause * 2).min(RECONNECT_MAX);
        }
    }

    /// Follows the partitions over one connection until it fails or the task stops.
    async fn session(&mut self, connection: &Connection) -> SessionEnd {
        loop {
            if *self.shutdown.borrow() {
                return SessionEnd::Stop;
            }
            if self.partitions.has_changed().is_err() {
                return SessionEnd::Stop;
            }
            self.sync();
            let now = Instant::now();
            let starting: Vec<TopicPartition> = self
                .states
                .iter()
                .filter(|(_, state)| match state.next {
                    Next::Start => true,
                    Next::RetryAt(at) => at <= now,
                    _ => false,
                })
                .map(|(topic_partition, _)| topic_partition.clone())
                .collect();
            if !starting.is_empty() {
                let leader = self.leader.clone();
                let res = self
                    .blocking(move |broker, states| {
                        for topic_partition in starting {
                            let Some(state) = states.get_mut(&topic_partition) else {
                                continue;
                            };
                            on_log(
                                broker,
                                &leader,
                                &topic_partition,
                                state,
                                |log, producers, state| start(&leader, log, producers, state),
                            )?;
                        }
                        Ok(())
                    })
                    .await;
                if res.is_err() {
                    return SessionEnd::Stop;
                }
                continue;
            }
            if let Some(end) = self.ask_epoch_ends(connection).await {
                return end;
            }
            if let Some(end) = self.ask_log_starts(connection).await {
                return end;
            }
            if let Some(end) = self.fetch(connection).await {
                return end;
            }
        }
    }

    /// Brings the partition states in line with the assigned set.
    fn sync(&mut self) {
        let assigned = self.partitions.borrow_and_update().clone();
        self.states
            .retain(|topic_partition, _| assigned.contains_key(topic_partition));
        for (topic_partition, epoch) in assigned {
            let fresh = self
                .states
                .get(&topic_partition)
                .is_none_or(|state| state.leader_epoch != epoch);
            if fresh {
                self.states
                    .insert(topic_partition, PartitionState::new(epoch));
            }
        }
    }

    /// Runs `f` on a blocking thread with the partition states. `Err` when the broker shut
    /// down. A panicking step loses the states; the next `sync` starts every partition over.
    async fn blocking(
        &mut self,
        f: impl FnOnce(&Broker, &mut States) -> Result<(), Error> + Send + 'static,
    ) -> Result<(), Error> {
        let mut states = std::mem::take(&mut self.states);
        let broker = Arc::clone(&self.broker);
        let res = tokio::task::spawn_blocking(move || {
            let res = f(&broker, &mut states);
            (states, res)
        })
        .await;
        match res {
            Ok((states, res)) => {
                self.states = states;
                res
            }
            Err(error) => {
                tracing::warn!(%error, "a replica fetcher step failed");
                Ok(())
            }
        }
    }

    /// OffsetForLeaderEpoch for the partitions that wait for it; `None` to go on.
    async fn ask_epoch_ends(&mut self, connection: &Connection) -> Option<SessionEnd> {
        let mut topics: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
        for (topic_partition, state) in &self.states {
            if let Next::EpochEnd(epoch) = state.next {
                topics
                    .entry(topic_partition.topic.clone())
                    .or_default()
                    .push(OffsetForLeaderPartition {
                        partition: partition_index(topic_partition),
                        current_leader_epoch: wire_epoch(state.leader_epoch),
                        leader_epoch: wire_epoch(epoch.0),
                        ..OffsetForLeaderPartition::default()
                    });
            }
        }
        if topics.is_empty() {
            return None;
        }
        let request = OffsetForLeaderEpochRequest {
            replica_id: self.broker.node_id().0,
            topics: topics
                .into_iter()
                .map(|(topic, partitions)| OffsetForLeaderTopic {
                    topic,
                    partitions,
                    ..OffsetForLeaderTopic::default()
                })
                .collect(),
            ..OffsetForLeaderEpochRequest::default()
        };
        let response = match self.send(connection, request, REQUEST_TIMEOUT).await {
            Ok(Response::OffsetForLeaderEpoch(response)) => response,
            Ok(other) => {
                return Some(SessionEnd::Connection(unexpected(
                    ApiKey::OffsetForLeaderEpoch,
                    &other,
                )));
            }
            Err(end) => return Some(end),
        };
        let leader = self.leader.clone();
        let res = self
            .blocking(move |broker, states| {
                for topic in response.topics {
                    for answer in topic.partitions {
                        let Some(topic_partition) = topic_partition(&topic.topic, answer.partition)
                        else {
                            continue;
                        };
                        let Some(state) = states.get_mut(&topic_partition) else {
                            continue;
                        };
                        if !matches!(state.next, Next::EpochEnd(_)) {
                            continue;
                        }
                        if answer.error_code != 0 {
                            partition_error(&leader, &topic_partition, state, answer.error_code);
                            continue;
                        }
                        let end = epoch_end(answer.leader_epoch, answer.end_offset);
                        on_log(
                            broker,
                            &leader,
                            &topic_partition,
                            state,
                            |log, producers, state| on_epoch_end(log, producers, state, end),
                        )?;
                    }
                }
                Ok(())
            })
            .await;
        res.is_err().then_some(SessionEnd::Stop)
    }

    /// ListOffsets (earliest) for the partitions whose fetch offset the leader refused.
    async fn ask_log_starts(&mut self, connection: &Connection) -> Option<SessionEnd> {
        let mut topics: BTreeMap<String, Vec<ListOffsetsPartition>> = BTreeMap::new();
        for (topic_partition, state) in &self.states {
            if state.next == Next::LogStart {
                topics
                    .entry(topic_partition.topic.clone())
                    .or_default()
                    .push(ListOffsetsPartition {
                        partition_index: partition_index(topic_partition),
                        current_leader_epoch: wire_epoch(state.leader_epoch),
                        timestamp: EARLIEST_TIMESTAMP,
                        ..ListOffsetsPartition::default()
                    });
            }
        }
        if topics.is_empty() {
            return None;
        }
        let request = ListOffsetsRequest {
            replica_id: self.broker.node_id().0,
            topics: topics
                .into_iter()
                .map(|(name, partitions)| ListOffsetsTopic {
                    name,
                    partitions,
                    ..ListOffsetsTopic::default()
                })
                .collect(),
            ..ListOffsetsRequest::default()
        };
        let response = match self.send(connection, request, REQUEST_TIMEOUT).await {
            Ok(Response::ListOffsets(response)) => response,
            Ok(other) => {
                return Some(SessionEnd::Connection(unexpected(
                    ApiKey::ListOffsets,
                    &other,
                )));
            }
            Err(end) => return Some(end),
        };
        let leader = self.leader.clone();
        let res = self
            .blocking(move |broker, states| {
                for topic in response.topics {
                    for answer in topic.partitions {
                        let Some(topic_partition) =
                            topic_partition(&topic.name, answer.partition_index)
                        else {
                            continue;
                        };
                        let Some(state) = states.get_mut(&topic_partition) else {
                            continue;
                        };
                        if state.next != Next::LogStart {
                            continue;
                        }
                        if answer.error_code != 0 {
                            partition_error(&leader, &topic_partition, state, answer.error_code);
                            continue;
                        }
                        let Ok(leader_start) = u64::try_from(answer.offset) else {
                            state.retry();
                            continue;
                        };
                        on_log(
                            broker,
                            &leader,
                            &topic_partition,
                            state,
                            |log, producers, state| {
                                start_at_leader_log_start(
                                    log,
                                    producers,
                                    state,
                                    Offset(leader_start),
                                )
                            },
                        )?;
                    }
                }
                Ok(())
            })
            .await;
        res.is_err().then_some(SessionEnd::Stop)
    }

    /// One Fetch for every partition that fetches; with none, waits for a change or a retry.
    async fn fetch(&mut self, connection: &Connection) -> Option<SessionEnd> {
        let mut topics: BTreeMap<String, Vec<FetchPartition>> = BTreeMap::new();
        for (topic_partition, state) in &self.states {
            if let Next::Fetch(position) = state.next {
                topics
                    .entry(topic_partition.topic.clone())
                    .or_default()
                    .push(FetchPartition {
                        partition: partition_index(topic_partition),
                        current_leader_epoch: wire_epoch(state.leader_epoch),
                        fetch_offset: wire_offset(position.fetch_offset),
                        last_fetched_epoch: position
                            .last_fetched_epoch
                            .map_or(-1, |epoch| wire_epoch(epoch.0)),
                        log_start_offset: wire_offset(position.log_start_offset),
                        partition_max_bytes: PARTITION_MAX_BYTES,
                        ..FetchPartition::default()
                    });
            }
        }
        if topics.is_empty() {
            return self.idle().await;
        }
        let request = FetchRequest {
            replica_id: self.broker.node_id().0,
            max_wait_ms: MAX_WAIT_MS,
            min_bytes: 1,
            max_bytes: RESPONSE_MAX_BYTES,
            topics: topics
                .into_iter()
                .map(|(topic, partitions)| FetchTopic {
                    topic,
                    partitions,
                    ..FetchTopic::default()
                })
                .collect(),
            ..FetchRequest::default()
        };
        let wait = Duration::from_millis(MAX_WAIT_MS.unsigned_abs().into());
        let response = match self.send(connection, request, REQUEST_TIMEOUT + wait).await {
            Ok(Response::Fetch(response)) => response,
            Ok(other) => {
                return Some(SessionEnd::Connection(unexpected(ApiKey::Fetch, &other)));
            }
            Err(end) => return Some(end),
        };
        if response.error_code != 0 {
            tracing::warn!(
                leader = self.leader.0.0,
                error_code = response.error_code,
                "the leader refused a replica fetch"
            );
            return self.idle().await;
        }
        let leader = self.leader.clone();
        let res = self
            .blocking(move |broker, states| {
                for topic in response.responses {
                    for data in topic.partitions {
                        let Some(topic_partition) =
                            topic_partition(&topic.topic, data.partition_index)
                        else {
                            continue;
                        };
                        let Some(state) = states.get_mut(&topic_partition) else {
                            continue;
                        };
                        if !matches!(state.next, Next::Fetch(_)) {
                            continue;
                        }
                        if data.error_code == ErrorCode::OffsetOutOfRange.code() {
                            state.follower = None;
                            state.next = Next::LogStart;
                            continue;
                        }
                        if data.error_code != 0 {
                            partition_error(&leader, &topic_partition, state, data.error_code);
                            continue;
                        }
                        on_log(
                            broker,
                            &leader,
                            &topic_partition,
                            state,
                            |log, producers, state| on_fetched(log, producers, state, &data),
                        )?;
                    }
                }
                Ok(())
            })
            .await;
        res.is_err().then_some(SessionEnd::Stop)
    }

    /// Nothing to fetch: wait for a change of the assigned set, the next retry, or shutdown.
    async fn idle(&mut self) -> Option<SessionEnd> {
        let next_retry = self
            .states
            .values()
            .filter_map(|state| match state.next {
                Next::RetryAt(at) => Some(at),
                _ => None,
            })
            .min()
            .unwrap_or_else(|| Instant::now() + PARTITION_RETRY);
        tokio::select! {
            changed = self.partitions.changed() => changed.is_err().then_some(SessionEnd::Stop),
            () = tokio::time::sleep_until(next_retry) => None,
            _ = self.shutdown.wait_for(|stop| *stop) => Some(SessionEnd::Stop),
        }
    }

    /// Sends a request, giving up on shutdown.
    async fn send(
        &mut self,
        connection: &Connection,
        request: impl Into<strom_protocol::Request>,
        timeout: Duration,
    ) -> Result<Response, SessionEnd> {
        tokio::select! {
            res = connection.send_with_timeout(request, timeout) => res.map_err(SessionEnd::Connection),
            _ = self.shutdown.wait_for(|stop| *stop) => Err(SessionEnd::Stop),
        }
    }
}

fn unexpected(expected: ApiKey, response: &Response) -> strom_client::Error {
    strom_client::Error::UnexpectedResponse {
        expected,
        actual: response.api_key(),
    }
}

/// A partition error from the leader: log it (once while it repeats) and start over later.
fn partition_error(
    leader: &LeaderKey,
    topic_partition: &TopicPartition,
    state: &mut PartitionState,
    error_code: i16,
) {
    if state.last_error != Some(error_code) {
        let error = ErrorCode::try_from(error_code).map_or_else(
            |_| format!("error code {error_code}"),
            |code| format!("{code:?}"),
        );
        tracing::warn!(
            partition = %topic_partition,
            leader = leader.0.0,
            leader_epoch = state.leader_epoch,
            error,
            "the leader refused a replica request; retrying"
        );
    }
    state.last_error = Some(error_code);
    state.retry();
}

/// Runs `step` on the partition's log if the partition is still followed from this leader in
/// its epoch, is not led here and has a log; else, or after a log error, the partition rests
/// and starts over. `Err` only when the broker shut down.
fn on_log(
    broker: &Broker,
    leader: &LeaderKey,
    topic_partition: &TopicPartition,
    state: &mut PartitionState,
    step: impl FnOnce(
        &mut Log,
        &mut ProducerTable,
        &mut PartitionState,
    ) -> Result<Option<Offset>, Error>,
) -> Result<(), Error> {
    let res = broker.with_logs(|logs| {
        if !broker
            .fetchers
            .is_current(topic_partition, leader, state.leader_epoch)
            || logs.replication.leader(topic_partition).is_some()
        {
            return Ok(Step::Skipped);
        }
        let Some(log) = logs.manager.get_mut(topic_partition) else {
            return Ok(Step::Skipped);
        };
        let producers = logs.producers.entry(topic_partition.clone()).or_default();
        step(log, producers, state).map(Step::Done)
    })?;
    match res {
        Ok(Step::Done(high_watermark)) => {
            if let Some(high_watermark) = high_watermark {
                broker.notify_high_watermark(topic_partition, high_watermark);
            }
        }
        Ok(Step::Skipped) => state.retry(),
        Err(error) => {
            tracing::warn!(
                partition = %topic_partition,
                leader = leader.0.0,
                %error,
                "replica fetcher failed on the local log; retrying"
            );
            state.retry();
        }
    }
    Ok(())
}

/// Starts following: the follower asks for the local latest epoch's end (or truncates to the
/// high watermark when the log knows no epoch).
fn start(
    leader: &LeaderKey,
    log: &mut Log,
    producers: &mut ProducerTable,
    state: &mut PartitionState,
) -> Result<Option<Offset>, Error> {
    let cache = epoch_cache(log);
    let (follower, actions) = Follower::new(
        replica_id(leader.0),
        strom_replication::LeaderEpoch(state.leader_epoch),
        local_log(log, &cache),
    );
    state.follower = Some(follower);
    execute(log, producers, &mut state.next, actions)
}

/// The leader said where an epoch ends (OffsetForLeaderEpoch or a fetch's diverging epoch).
fn on_epoch_end(
    log: &mut Log,
    producers: &mut ProducerTable,
    state: &mut PartitionState,
    end: Option<EpochEndOffset>,
) -> Result<Option<Offset>, Error> {
    let Some(follower) = state.follower.as_mut() else {
        state.next = Next::Start;
        return Ok(None);
    };
    let cache = epoch_cache(log);
    let actions = follower.on_epoch_end_offset(end, local_log(log, &cache));
    state.last_error = None;
    execute(log, producers, &mut state.next, actions)
}

/// A fetch answer without error: truncate on a diverging epoch, else append its batches and
/// follow the leader's high watermark.
fn on_fetched(
    log: &mut Log,
    producers: &mut ProducerTable,
    state: &mut PartitionState,
    data: &fetch::PartitionData,
) -> Result<Option<Offset>, Error> {
    let diverging = &data.diverging_epoch;
    if diverging.epoch >= 0 || diverging.end_offset >= 0 {
        return on_epoch_end(
            log,
            producers,
            state,
            epoch_end(diverging.epoch, diverging.end_offset),
        );
    }
    let Some(follower) = state.follower.as_mut() else {
        state.next = Next::Start;
        return Ok(None);
    };
    let records = data.records.clone().unwrap_or_default();
    let batches = strom_record::complete_batches(records).map_err(strom_log::Error::from)?;
    let now = now();
    for batch in batches {
        // A batch the log already holds (the fetch offset was inside it).
        if batch.header().last_offset() < log.log_end_offset() {
            continue;
        }
        let header = batch.header().clone();
        log.append_as_follower(batch, now)?;
        producers.record(&header);
    }
    let leader_high_watermark = Offset(u64::try_from(data.high_watermark).unwrap_or(0));
    let cache = epoch_cache(log);
    let actions = follower.on_fetch_response(
        to_replication(leader_high_watermark),
        local_log(log, &cache),
    );
    state.last_error = None;
    execute(log, producers, &mut state.next, actions)
}

/// After OFFSET_OUT_OF_RANGE: if the leader's log starts beyond the local log end, the local
/// log starts over empty there; either way the partition starts over (truncating by epochs).
fn start_at_leader_log_start(
    log: &mut Log,
    producers: &mut ProducerTable,
    state: &mut PartitionState,
    leader_start: Offset,
) -> Result<Option<Offset>, Error> {
    state.next = Next::Start;
    state.follower = None;
    if log.log_end_offset() < leader_start {
        log.truncate_fully_and_start_at(leader_start)?;
        *producers = ProducerTable::from_log(log.producer_states());
        return Ok(Some(log.high_watermark()));
    }
    Ok(None)
}

/// Carries out a follower's actions on the log; sets `next` from them. Returns the new high
/// watermark if it moved.
fn execute(
    log: &mut Log,
    producers: &mut ProducerTable,
    next: &mut Next,
    actions: Vec<Action>,
) -> Result<Option<Offset>, Error> {
    let mut res = None;
    for action in actions {
        match action {
            Action::TruncateTo(offset) => {
                truncate(log, to_log(offset))?;
                *producers = ProducerTable::from_log(log.producer_states());
                res = Some(log.high_watermark());
            }
            Action::AdvanceHighWatermark(offset) => {
                log.set_high_watermark(to_log(offset));
                res = Some(log.high_watermark());
            }
            Action::RequestEpochEndOffset(epoch) => *next = Next::EpochEnd(epoch),
            // Always from the actual log end (truncation may have gone further, see `truncate`).
            Action::FetchFrom(_) => *next = Next::Fetch(Position::of(log)),
            // Leader actions do not come from a follower.
            Action::ShrinkIsr(_)
            | Action::ExpandIsr(_)
            | Action::AckCompleted(_)
            | Action::AckFailed(..) => {}
        }
    }
    Ok(res)
}

/// Truncates the log (and its epoch cache) to end at `offset`. `offset` may be the log end
/// offset itself, when only epoch cache entries starting there must go (an epoch this broker
/// started as leader without appending); strom-log drops those only with records, so the last
/// batch goes too and is fetched again.
fn truncate(log: &mut Log, offset: Offset) -> Result<(), Error> {
    if offset < log.log_end_offset() {
        log.truncate_to(offset)?;
        return Ok(());
    }
    let stale = log
        .epoch_entries()
        .iter()
        .any(|entry| entry.start_offset >= offset);
    if !stale {
        return Ok(());
    }
    match offset.0.checked_sub(1) {
        Some(previous) if Offset(previous) >= log.log_start_offset() => {
            log.truncate_to(Offset(previous))?;
        }
        _ => log.truncate_fully_and_start_at(offset)?,
    }
    Ok(())
}

/// An epoch's end from the wire (`-1`s for "unknown").
fn epoch_end(epoch: i32, end_offset: i64) -> Option<EpochEndOffset> {
    let (Ok(epoch), Ok(end_offset)) = (u32::try_from(epoch), u64::try_from(end_offset)) else {
        return None;
    };
    Some(EpochEndOffset {
        epoch: strom_replication::LeaderEpoch(epoch),
        end_offset: strom_replication::Offset(end_offset),
    })
}

fn topic_partition(topic: &str, partition: i32) -> Option<TopicPartition> {
    let partition = u32::try_from(partition).ok()?;
    Some(TopicPartition::new(topic, partition))
}

fn partition_index(topic_partition: &TopicPartition) -> i32 {
    i32::try_from(topic_partition.partition).unwrap_or(i32::MAX)
}

fn wire_epoch(epoch: u32) -> i32 {
    i32::try_from(epoch).unwrap_or(i32::MAX)
}

fn wire_offset(offset: Offset) -> i64 {
    i64::try_from(offset.0).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use strom_log::LogConfig;
    use strom_record::{BatchBuilder, BatchConfig, Timestamp};

    use super::*;

    /// A log in a temporary directory holding a batch of `count` records per `(epoch, count)`.
    fn log_with(batches: &[(u32, usize)]) -> (tempfile::TempDir, Log) {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            Log::open(&dir.path().join("t-0"), LogConfig::default(), Timestamp(0)).unwrap();
        for &(epoch, count) in batches {
            let mut builder = BatchBuilder::new(BatchConfig::default());
            for index in 0..count {
                builder.push(
                    Timestamp(i64::try_from(index).unwrap()),
                    None,
                    Some(Bytes::from_static(b"v")),
                    Vec::new(),
                );
            }
            let mut batch = builder.build().unwrap();
            batch.set_partition_leader_epoch(LeaderEpoch(epoch));
            log.append(batch, Timestamp(0)).unwrap();
        }
        (dir, log)
    }

    fn epochs(log: &Log) -> Vec<(u32, u64)> {
        log.epoch_entries()
            .iter()
            .map(|entry| (entry.epoch.0, entry.start_offset.0))
            .collect()
    }

    #[test]
    fn diverging_epoch_follows_the_leaders_epoch_cache() {
        let (_dir, log) = log_with(&[(0, 3), (2, 2)]);
        assert_eq!(epochs(&log), [(0, 0), (2, 3)]);
        let check = |fetch_offset: u64, last_fetched_epoch: i32| {
            diverging_epoch(&log, Offset(fetch_offset), last_fetched_epoch)
                .map(|end| end.map(|end| (end.epoch, end.end_offset)))
        };
        // Matching positions, or no epoch given: serve the fetch.
        assert_eq!(check(3, 0), Ok(None));
        assert_eq!(check(5, 2), Ok(None));
        assert_eq!(check(4, -1), Ok(None));
        // Epoch 0 ends at 3 here: a follower beyond it in epoch 0 diverges.
        assert_eq!(check(4, 0), Ok(Some((0, 3))));
        // Epoch 1 never existed here: the largest one below it, 0, ends at 3.
        assert_eq!(check(4, 1), Ok(Some((0, 3))));
        // Beyond the log end in the latest epoch: truncate to the log end.
        assert_eq!(check(7, 2), Ok(Some((2, 5))));
        // An epoch newer than any known: nothing to say but out of range.
        assert_eq!(check(5, 3), Err(ErrorCode::OffsetOutOfRange));
    }

    #[test]
    fn truncating_to_the_log_end_drops_an_empty_newer_epoch() {
        let (_dir, mut log) = log_with(&[(0, 3), (0, 2)]);
        // This broker led epoch 4 at the log end without appending.
        log.assign_epoch(LeaderEpoch(4), Offset(5)).unwrap();
        truncate(&mut log, Offset(5)).unwrap();
        // The last batch went with it (it is fetched again); so did the empty epoch.
        assert_eq!(log.log_end_offset(), Offset(3));
        assert_eq!(epochs(&log), [(0, 0)]);
        // Nothing stale: truncating to the log end changes nothing.
        truncate(&mut log, Offset(3)).unwrap();
        assert_eq!(log.log_end_offset(), Offset(3));
        // Below the log end: an ordinary truncation.
        truncate(&mut log, Offset(0)).unwrap();
        assert_eq!(log.log_end_offset(), Offset(0));
    }

    #[test]
    fn a_fetch_position_names_the_epoch_of_the_last_record() {
        let (_dir, mut log) = log_with(&[(1, 2)]);
        log.assign_epoch(LeaderEpoch(3), Offset(2)).unwrap();
        let position = Position::of(&log);
        assert_eq!(position.fetch_offset, Offset(2));
        assert_eq!(position.last_fetched_epoch, Some(LeaderEpoch(1)));
        assert_eq!(position.log_start_offset, Offset(0));
    }

    #[test]
    fn epoch_end_reads_the_wire_sentinels() {
        assert_eq!(epoch_end(-1, -1), None);
        assert_eq!(epoch_end(3, -1), None);
        assert_eq!(
            epoch_end(3, 17),
            Some(EpochEndOffset {
                epoch: strom_replication::LeaderEpoch(3),
                end_offset: strom_replication::Offset(17),
            })
        );
    }

    #[test]
    fn topic_partition_refuses_negative_indexes() {
        assert_eq!(topic_partition("t", -1), None);
        assert_eq!(topic_partition("t", 2), Some(TopicPartition::new("t", 2)));
    }
}
