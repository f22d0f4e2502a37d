//! The group service: the broker's wiring of `strom_group::Coordinator`. It owns the coordinator
//! behind one lock, hands out tokens for JoinGroup/SyncGroup answers that may come later, runs
//! the coordinator's effects in order (`Persist` appends a batch to `__consumer_offsets`, a
//! response is delivered only after the appends before it succeeded), creates and replays
//! `__consumer_offsets`, and runs the timer task that calls `tick` at the requested wakeup.
//!
//! It decides nothing about groups itself: the coordinator does. Wire messages are translated in
//! `handlers/` (join_group.rs, offset_commit.rs, ...).
//!
//! Locking: the service lock is taken on blocking threads only and never across an `.await`.
//! While it is held the service may take the controller lock (for the image) and then the log
//! lock, never the other way round, so appends to `__consumer_offsets` happen in the order the
//! coordinator asked for them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use bytes::Bytes;
use strom_group::{
    Config as CoordinatorConfig, Coordinator, DelayedResponse, Effect, GroupError,
    JoinGroupResponse, LoadRecord, OffsetsPartition, OffsetsRecord, Output, ProducerId,
    SyncGroupResponse, TimeMs, Token,
};
use strom_log::TopicPartition;
use strom_metadata::{CreateTopic, Mode, PartitionIndex, TopicId, TopicLayout};
use strom_record::{
    BatchBuilder, BatchConfig, ControlRecordType, DecodeLimits, EndTransactionMarker, LeaderEpoch,
    Timestamp, complete_batches,
};
use tokio::sync::{Notify, oneshot, watch};

use crate::broker::{Broker, now};
use crate::config::BrokerConfig;
use crate::handlers::leader_epoch;
use crate::handlers::metadata::CONSUMER_OFFSETS_TOPIC;
use crate::replica::Effects;
use crate::{Error, random_id};

/// How much of a `__consumer_offsets` partition one read takes while replaying it.
const LOAD_CHUNK_BYTES: u64 = 1 << 20;

/// The shortest pause between two ticks, so that a wakeup the coordinator keeps in the past
/// cannot turn the timer into a busy loop.
const MIN_TICK_GAP: Duration = Duration::from_millis(10);

/// `offsets.topic.segment.bytes` when the configuration does not say.
const DEFAULT_OFFSETS_SEGMENT_BYTES: &str = "104857600";

/// The consumer group coordinator of this broker and what it needs to run.
#[derive(Debug)]
pub(crate) struct GroupService {
    state: Mutex<State>,
    /// Signalled when the wakeup time changes, so the timer task re-arms.
    wakeup_changed: Notify,
    next_token: AtomicU64,
    /// `__consumer_offsets` exists and every partition was replayed.
    ready: AtomicBool,
    /// Held while creating or replaying `__consumer_offsets`.
    loading: Mutex<()>,
}

#[derive(Debug)]
struct State {
    coordinator: Coordinator,
    /// JoinGroup and SyncGroup requests waiting for their answer.
    waiting: HashMap<Token, oneshot::Sender<DelayedResponse>>,
    /// When the timer task should call `tick`.
    wakeup_at: Option<TimeMs>,
    /// The latest time handed to the coordinator (its clock must not go backwards).
    last_now: TimeMs,
}

impl GroupService {
    /// A service for the broker configuration; no partition is loaded yet.
    pub(crate) fn new(config: &BrokerConfig) -> GroupService {
        let seed = random_id::random_bytes();
        let mut seed_bytes = [0u8; 8];
        seed_bytes.copy_from_slice(&seed[..8]);
        let coordinator_config = coordinator_config(
            config,
            config.offsets_topic_num_partitions,
            u64::from_le_bytes(seed_bytes),
        );
        GroupService {
            state: Mutex::new(State {
                coordinator: Coordinator::new(coordinator_config),
                waiting: HashMap::new(),
                wakeup_at: None,
                last_now: TimeMs(0),
            }),
            wakeup_changed: Notify::new(),
            next_token: AtomicU64::new(1),
            ready: AtomicBool::new(false),
            loading: Mutex::new(()),
        }
    }

    /// Makes sure `__consumer_offsets` exists and is replayed. With `wait`, waits for a replay
    /// another thread is doing; without, returns at once in that case (the coordinator answers
    /// `COORDINATOR_LOAD_IN_PROGRESS` meanwhile). Blocking.
    pub(crate) fn ensure_loaded(&self, broker: &Broker, wait: bool) -> Result<(), Error> {
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = if wait {
            self.loading
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        } else {
            match self.loading.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::WouldBlock) => return Ok(()),
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            }
        };
        if self.ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let partitions = offsets_topic_partitions(broker)?;
        {
            let mut state = self.state();
            if state.coordinator.config().offsets_topic_partitions != partitions {
                tracing::warn!(
                    existing = partitions,
                    configured = broker.config().offsets_topic_num_partitions,
                    "__consumer_offsets has a different partition count than configured; using it"
                );
                let config = CoordinatorConfig {
                    offsets_topic_partitions: partitions,
                    ..state.coordinator.config().clone()
                };
                state.coordinator = Coordinator::new(config);
            }
            for partition in led_offsets_partitions(broker, partitions) {
                state.coordinator.begin_load(partition);
            }
        }
        for partition in led_offsets_partitions(broker, partitions) {
            self.load_partition(broker, partition)?;
        }
        self.ready.store(true, Ordering::Release);
        tracing::info!(partitions, "__consumer_offsets loaded; groups are served");
        Ok(())
    }

    /// This broker started (`leads`) or stopped leading `__consumer_offsets` partition
    /// `partition`: its groups are replayed from the log here, or dropped (their members find
    /// the new coordinator). Before the first load nothing is needed: `ensure_loaded` loads the
    /// partitions led at that time. Blocking.
    pub(crate) fn on_leadership(&self, broker: &Broker, partition: u32, leads: bool) {
        if !self.ready.load(Ordering::Acquire) {
            return;
        }
        let partition = OffsetsPartition(partition);
        if leads {
            self.state().coordinator.begin_load(partition);
            if let Err(error) = self.load_partition(broker, partition) {
                tracing::warn!(partition = partition.0, %error, "cannot replay __consumer_offsets");
            }
            tracing::info!(
                partition = partition.0,
                "coordinating the groups of __consumer_offsets partition"
            );
        } else {
            let mut state = self.state();
            let now = state.advance(now_ms());
            let effects = state.coordinator.unload(partition);
            self.execute(broker, &mut state, effects, now, false);
            tracing::info!(
                partition = partition.0,
                "no longer coordinating the groups of __consumer_offsets partition"
            );
        }
    }

    /// Runs an immediate-answer coordinator call and its effects. `Err` when an append to
    /// `__consumer_offsets` failed: the caller answers with that error instead.
    pub(crate) fn call<R>(
        &self,
        broker: &Broker,
        f: impl FnOnce(&mut Coordinator, TimeMs) -> Output<R>,
    ) -> Result<R, GroupError> {
        self.warm_up(broker);
        let mut state = self.state();
        let now = state.advance(now_ms());
        let output = f(&mut state.coordinator, now);
        if self.execute(broker, &mut state, output.effects, now, true) {
            Ok(output.response)
        } else {
            Err(GroupError::CoordinatorNotAvailable)
        }
    }

    /// Runs a read-only coordinator call. Reads do not create `__consumer_offsets`: before it
    /// exists the coordinator answers `NOT_COORDINATOR` and clients look the coordinator up,
    /// which creates it.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Coordinator) -> R) -> R {
        f(&self.state().coordinator)
    }

    /// A new token and the receiver its answer will arrive on.
    fn register(&self) -> (Token, oneshot::Receiver<DelayedResponse>) {
        let token = Token(self.next_token.fetch_add(1, Ordering::Relaxed));
        let (sender, receiver) = oneshot::channel();
        self.state().waiting.insert(token, sender);
        (token, receiver)
    }

    /// Runs a delayed-answer coordinator call (JoinGroup, SyncGroup) for `token`. Blocking.
    fn call_delayed(
        &self,
        broker: &Broker,
        token: Token,
        f: impl FnOnce(&mut Coordinator, Token, TimeMs) -> Vec<Effect>,
    ) {
        self.warm_up(broker);
        let mut state = self.state();
        let now = state.advance(now_ms());
        let effects = f(&mut state.coordinator, token, now);
        self.execute(broker, &mut state, effects, now, true);
    }

    /// Calls `tick` with the current time. Blocking.
    fn tick(&self, broker: &Broker) {
        let mut state = self.state();
        let now = state.advance(now_ms());
        let effects = state.coordinator.tick(now);
        self.execute(broker, &mut state, effects, now, true);
    }

    /// When the timer task should call `tick` next.
    fn wakeup_at(&self) -> Option<TimeMs> {
        self.state().wakeup_at
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("a panic while holding the group lock already failed the broker")
    }

    /// Creates `__consumer_offsets` on first use, without waiting for another thread's replay.
    fn warm_up(&self, broker: &Broker) {
        if let Err(error) = self.ensure_loaded(broker, false) {
            tracing::warn!(%error, "cannot load __consumer_offsets");
        }
    }

    /// Executes `effects` in order; returns whether every append succeeded. After a failed
    /// append, the responses that follow carry `COORDINATOR_NOT_AVAILABLE`, and (with `reload`)
    /// the partition is unloaded and replayed from its log, which holds what really happened.
    fn execute(
        &self,
        broker: &Broker,
        state: &mut State,
        effects: Vec<Effect>,
        now: TimeMs,
        reload: bool,
    ) -> bool {
        let mut failed: Vec<OffsetsPartition> = Vec::new();
        for effect in effects {
            match effect {
                Effect::Persist {
                    partition,
                    producer_id,
                    records,
                } => {
                    if failed.contains(&partition) {
                        continue;
                    }
                    if let Err(error) = append(broker, partition, producer_id, records, now) {
                        tracing::warn!(partition = partition.0, %error, "cannot append to __consumer_offsets");
                        failed.push(partition);
                    }
                }
                Effect::Respond { token, response } => {
                    let response = if failed.is_empty() {
                        response
                    } else {
                        unavailable(&response)
                    };
                    if let Some(sender) = state.waiting.remove(&token) {
                        // The requester may have gone away (closed connection): nothing to do.
                        let _ = sender.send(response);
                    }
                }
                Effect::ScheduleWakeup { .. } => {}
            }
        }
        if reload {
            for partition in &failed {
                let effects = state.coordinator.unload(*partition);
                self.execute(broker, state, effects, now, false);
                state.coordinator.begin_load(*partition);
                match read_partition(broker, *partition) {
                    Ok(records) => match state.coordinator.load(*partition, records, now) {
                        Ok(effects) => {
                            self.execute(broker, state, effects, now, false);
                        }
                        Err(error) => {
                            tracing::error!(partition = partition.0, %error, "cannot replay __consumer_offsets");
                        }
                    },
                    Err(error) => {
                        tracing::error!(partition = partition.0, %error, "cannot read __consumer_offsets");
                    }
                }
            }
        }
        // The coordinator's own view is the authority on the next wakeup (each ScheduleWakeup
        // replaces the previous one, and `next_wakeup` is the latest of them).
        let next = state.coordinator.next_wakeup();
        if next != state.wakeup_at {
            state.wakeup_at = next;
            self.wakeup_changed.notify_one();
        }
        failed.is_empty()
    }

    /// Replays one partition's records into the coordinator.
    fn load_partition(&self, broker: &Broker, partition: OffsetsPartition) -> Result<(), Error> {
        let records = read_partition(broker, partition)?;
        let count = records.len();
        let mut state = self.state();
        let now = state.advance(now_ms());
        match state.coordinator.load(partition, records, now) {
            Ok(effects) => {
                self.execute(broker, &mut state, effects, now, false);
                if count > 0 {
                    tracing::debug!(
                        partition = partition.0,
                        records = count,
                        "__consumer_offsets partition replayed"
                    );
                }
            }
            Err(error) => {
                // The partition keeps answering COORDINATOR_LOAD_IN_PROGRESS, as Kafka does when
                // a load fails.
                tracing::error!(partition = partition.0, %error, "cannot replay __consumer_offsets");
            }
        }
        Ok(())
    }
}

impl State {
    /// The current time, never earlier than a time already handed out.
    fn advance(&mut self, now: TimeMs) -> TimeMs {
        self.last_now = self.last_now.max(now);
        self.last_now
    }
}

/// Sends a JoinGroup or SyncGroup request to the coordinator and waits for its answer (which
/// may come from another member's request or from the timer). `None` if the broker shuts down
/// first.
pub(crate) async fn delayed(
    broker: Arc<Broker>,
    f: impl FnOnce(&mut Coordinator, Token, TimeMs) -> Vec<Effect> + Send + 'static,
) -> Option<DelayedResponse> {
    let (token, receiver) = broker.groups().register();
    let call_broker = Arc::clone(&broker);
    let res = tokio::task::spawn_blocking(move || {
        call_broker.groups().call_delayed(&call_broker, token, f);
    })
    .await;
    if let Err(error) = res {
        tracing::error!(%error, "group request failed");
        return None;
    }
    let mut shutdown = broker.shutdown_signal();
    tokio::select! {
        res = receiver => res.ok(),
        _ = shutdown.wait_for(|stop| *stop) => None,
    }
}

/// The group timer: replays an existing `__consumer_offsets`, then calls `tick` whenever the
/// coordinator asked to be woken, re-arming when an earlier wakeup is requested, until the
/// broker stops.
pub(crate) async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let load_broker = Arc::clone(&broker);
    let res = tokio::task::spawn_blocking(move || {
        if load_broker.image().topic(CONSUMER_OFFSETS_TOPIC).is_some() {
            return load_broker.groups().ensure_loaded(&load_broker, true);
        }
        Ok(())
    })
    .await;
    match res {
        Ok(Ok(())) | Ok(Err(Error::ShutDown)) => {}
        Ok(Err(error)) => tracing::error!(%error, "cannot load __consumer_offsets"),
        Err(error) => tracing::error!(%error, "loading __consumer_offsets panicked"),
    }
    let mut last_tick: Option<tokio::time::Instant> = None;
    loop {
        let deadline = broker.groups().wakeup_at().map(|at| {
            let delay = Duration::from_millis(at.since(now_ms()));
            let deadline = tokio::time::Instant::now() + delay;
            match last_tick {
                Some(last) => deadline.max(last + MIN_TICK_GAP),
                None => deadline,
            }
        });
        let sleep = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = broker.groups().wakeup_changed.notified() => continue,
            () = sleep => {}
        }
        last_tick = Some(tokio::time::Instant::now());
        let tick_broker = Arc::clone(&broker);
        if let Err(error) =
            tokio::task::spawn_blocking(move || tick_broker.groups().tick(&tick_broker)).await
        {
            tracing::error!(%error, "group tick panicked");
        }
    }
}

/// The coordinator's settings from the broker's.
fn coordinator_config(config: &BrokerConfig, partitions: u32, seed: u64) -> CoordinatorConfig {
    let broker_value = |key: &str| {
        config
            .describe_broker()
            .into_iter()
            .find(|entry| entry.name == key)
            .and_then(|entry| entry.value)
    };
    let defaults = CoordinatorConfig::default();
    CoordinatorConfig {
        offsets_topic_partitions: partitions.max(1),
        group_min_session_timeout_ms: config.group_min_session_timeout_ms,
        group_max_session_timeout_ms: config.group_max_session_timeout_ms,
        group_max_size: usize::try_from(config.group_max_size).unwrap_or(usize::MAX),
        group_initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
        offsets_retention_ms: config.offsets_retention_minutes.saturating_mul(60_000),
        offsets_retention_check_interval_ms: broker_value("offsets.retention.check.interval.ms")
            .and_then(|value| value.parse().ok())
            .unwrap_or(defaults.offsets_retention_check_interval_ms),
        member_id_seed: seed,
        ..defaults
    }
}

/// The partition count of `__consumer_offsets`, creating the topic first if it does not exist
/// (compacted, `offsets.topic.num.partitions` partitions, `offsets.topic.replication.factor`).
fn offsets_topic_partitions(broker: &Broker) -> Result<u32, Error> {
    if let Some(topic) = broker.image().topic(CONSUMER_OFFSETS_TOPIC) {
        return Ok(topic.partition_count());
    }
    let config = broker.config();
    let segment_bytes = config
        .describe_broker()
        .into_iter()
        .find(|entry| entry.name == "offsets.topic.segment.bytes")
        .and_then(|entry| entry.value)
        .unwrap_or_else(|| DEFAULT_OFFSETS_SEGMENT_BYTES.to_owned());
    let configs = BTreeMap::from([
        ("cleanup.policy".to_owned(), "compact".to_owned()),
        ("segment.bytes".to_owned(), segment_bytes),
        ("compression.type".to_owned(), "producer".to_owned()),
    ]);
    let topic = CreateTopic {
        name: CONSUMER_OFFSETS_TOPIC.to_owned(),
        topic_id: TopicId(random_id::random_bytes()),
        layout: TopicLayout::Placed {
            partitions: i32::try_from(config.offsets_topic_num_partitions).unwrap_or(i32::MAX),
            replication_factor: i16::try_from(config.offsets_topic_replication_factor)
                .unwrap_or(i16::MAX),
        },
        configs,
    };
    let res = broker.create_topics(&[topic], Mode::Apply)?;
    for created in res {
        match created {
            Ok(_) | Err(strom_metadata::Error::TopicAlreadyExists { .. }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    tracing::info!(
        partitions = config.offsets_topic_num_partitions,
        "__consumer_offsets created"
    );
    match broker.image().topic(CONSUMER_OFFSETS_TOPIC) {
        Some(topic) => Ok(topic.partition_count()),
        None => Err(strom_metadata::Error::UnknownTopic {
            name: CONSUMER_OFFSETS_TOPIC.to_owned(),
        }
        .into()),
    }
}

/// The `__consumer_offsets` partitions this broker leads (all of them on a single node).
fn led_offsets_partitions(broker: &Broker, partitions: u32) -> Vec<OffsetsPartition> {
    let image = broker.image();
    (0..partitions)
        .filter(|&partition| {
            image
                .partition(CONSUMER_OFFSETS_TOPIC, PartitionIndex(partition))
                .is_some_and(|partition| partition.leader == Some(broker.node_id()))
        })
        .map(OffsetsPartition)
        .collect()
}

/// Appends `records` as one batch to `__consumer_offsets` partition `partition` (a
/// transactional batch of `producer_id` if set) and moves its high watermark.
fn append(
    broker: &Broker,
    partition: OffsetsPartition,
    producer_id: Option<ProducerId>,
    records: Vec<OffsetsRecord>,
    now: TimeMs,
) -> Result<(), Error> {
    let topic_partition = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition.0);
    let epoch = leader_epoch(&broker.image(), &topic_partition);
    let timestamp = Timestamp(i64::try_from(now.0).unwrap_or(i64::MAX));
    let mut builder = BatchBuilder::new(BatchConfig {
        producer_id: producer_id.map(|producer_id| producer_id.0),
        producer_epoch: if producer_id.is_some() { 0 } else { -1 },
        is_transactional: producer_id.is_some(),
        ..BatchConfig::default()
    });
    for record in records {
        builder.push(
            timestamp,
            Some(Bytes::from(record.key)),
            record.value.map(Bytes::from),
            Vec::new(),
        );
    }
    let mut batch = builder.build().map_err(strom_log::Error::from)?;
    batch.set_partition_leader_epoch(LeaderEpoch(u32::try_from(epoch).unwrap_or(0)));
    let mut effects = Effects::default();
    broker.with_logs(|logs| {
        let Some(log) = logs.manager.get_mut(&topic_partition) else {
            return Err(Error::Log(strom_log::Error::UnknownLog {
                name: topic_partition.to_string(),
            }));
        };
        log.append(batch, timestamp)?;
        // The replication state moves the high watermark (at once with one replica).
        logs.replication.on_append(
            &topic_partition,
            log,
            crate::broker::time_ms(),
            &mut effects,
        )
    })??;
    broker.apply_effects(effects)
}

/// Every record of a `__consumer_offsets` partition in log order, as the coordinator replays
/// them: data records with their batch's producer (for transactional batches) and the
/// transaction markers.
fn read_partition(broker: &Broker, partition: OffsetsPartition) -> Result<Vec<LoadRecord>, Error> {
    let topic_partition = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition.0);
    let mut res = Vec::new();
    let mut next = None;
    loop {
        let chunk = broker.with_logs(|logs| {
            let Some(log) = logs.manager.get(&topic_partition) else {
                return Ok(None);
            };
            let from = next.unwrap_or_else(|| log.log_start_offset());
            let log_end_offset = log.log_end_offset();
            if from >= log_end_offset {
                return Ok(None);
            }
            let slice = log.read(from, LOAD_CHUNK_BYTES, log_end_offset)?;
            slice.read_to_bytes().map(Some)
        })??;
        let Some(bytes) = chunk else {
            break;
        };
        let batches = complete_batches(bytes).map_err(strom_log::Error::from)?;
        let Some(last) = batches.last() else {
            break;
        };
        next = Some(last.header().next_offset());
        for batch in batches {
            let header = batch.header();
            let records = batch
                .records(DecodeLimits::default())
                .map_err(strom_log::Error::from)?;
            let producer_id = header.producer_id.map(ProducerId);
            if header.is_control() {
                let Some(producer_id) = producer_id else {
                    continue;
                };
                for record in &records {
                    if let Some(marker) =
                        EndTransactionMarker::parse(record).map_err(strom_log::Error::from)?
                    {
                        res.push(LoadRecord::Marker {
                            producer_id,
                            commit: marker.kind == ControlRecordType::Commit,
                        });
                    }
                }
                continue;
            }
            let producer_id = producer_id.filter(|_| header.is_transactional());
            for record in records {
                let Some(key) = record.key else {
                    continue;
                };
                res.push(LoadRecord::Data {
                    producer_id,
                    record: OffsetsRecord {
                        key: key.to_vec(),
                        value: record.value.map(|value| value.to_vec()),
                    },
                });
            }
        }
    }
    Ok(res)
}

/// The same answer as `response` with `COORDINATOR_NOT_AVAILABLE`, for a request whose records
/// could not be written.
fn unavailable(response: &DelayedResponse) -> DelayedResponse {
    match response {
        DelayedResponse::JoinGroup(response) => DelayedResponse::JoinGroup(JoinGroupResponse {
            error: Some(GroupError::CoordinatorNotAvailable),
            member_id: response.member_id.clone(),
            ..JoinGroupResponse::default()
        }),
        DelayedResponse::SyncGroup(_) => DelayedResponse::SyncGroup(SyncGroupResponse {
            error: Some(GroupError::CoordinatorNotAvailable),
            ..SyncGroupResponse::default()
        }),
    }
}

/// The broker's wall clock in milliseconds.
fn now_ms() -> TimeMs {
    TimeMs(u64::try_from(now().0).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coordinator gets the broker's group settings under their Kafka names.
    #[test]
    fn coordinator_config_follows_the_broker_keys() {
        let sources = crate::config::Sources {
            overrides: [
                ("group.initial.rebalance.delay.ms", "250"),
                ("group.min.session.timeout.ms", "1000"),
                ("offsets.retention.minutes", "2"),
                ("offsets.retention.check.interval.ms", "1234"),
                ("group.max.size", "7"),
            ]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
            ..crate::config::Sources::default()
        };
        let config = BrokerConfig::load(&sources).map(|loaded| loaded.config);
        let Ok(config) = config else {
            panic!("the test configuration is valid: {config:?}");
        };
        let res = coordinator_config(&config, 5, 99);
        assert_eq!(res.offsets_topic_partitions, 5);
        assert_eq!(res.group_initial_rebalance_delay_ms, 250);
        assert_eq!(res.group_min_session_timeout_ms, 1000);
        assert_eq!(res.offsets_retention_ms, 120_000);
        assert_eq!(res.offsets_retention_check_interval_ms, 1234);
        assert_eq!(res.group_max_size, 7);
        assert_eq!(res.member_id_seed, 99);
    }

    /// A failed append turns the delayed answers after it into COORDINATOR_NOT_AVAILABLE,
    /// keeping the member id a JoinGroup answer carried.
    #[test]
    fn unavailable_answers_keep_the_member_id() {
        let join = DelayedResponse::JoinGroup(JoinGroupResponse {
            member_id: Some(strom_group::MemberId("m-1".to_owned())),
            generation_id: Some(strom_group::GenerationId(3)),
            ..JoinGroupResponse::default()
        });
        let DelayedResponse::JoinGroup(res) = unavailable(&join) else {
            panic!("a JoinGroup answer stays one");
        };
        assert_eq!(res.error, Some(GroupError::CoordinatorNotAvailable));
        assert_eq!(res.member_id, Some(strom_group::MemberId("m-1".to_owned())));
        assert_eq!(res.generation_id, None);
        let sync = DelayedResponse::SyncGroup(SyncGroupResponse {
            assignment: vec![1, 2],
            ..SyncGroupResponse::default()
        });
        let DelayedResponse::SyncGroup(res) = unavailable(&sync) else {
            panic!("a SyncGroup answer stays one");
        };
        assert_eq!(res.error, Some(GroupError::CoordinatorNotAvailable));
        assert!(res.assignment.is_empty());
    }

    /// The coordinator's clock never goes backwards, whatever the wall clock does.
    #[test]
    fn time_handed_to_the_coordinator_is_monotonic() {
        let mut state = State {
            coordinator: Coordinator::new(CoordinatorConfig::default()),
            waiting: HashMap::new(),
            wakeup_at: None,
            last_now: TimeMs(0),
        };
        assert_eq!(state.advance(TimeMs(100)), TimeMs(100));
        assert_eq!(state.advance(TimeMs(40)), TimeMs(100));
        assert_eq!(state.advance(TimeMs(150)), TimeMs(150));
    }
}
