//! The group service: the broker's wiring of `strom_group::Coordinator`. It owns the coordinator
//! behind one lock, hands out tokens for JoinGroup/SyncGroup answers that may come later, runs
//! the coordinator's effects in order (`Persist` appends a batch to `__consumer_offsets`, a
//! response is delivered only after the appends before it succeeded), creates and replays
//! `__consumer_offsets`, and runs the timer task that calls `tick` at the requested wakeup.
//!
//! Group writes are `acks=all` writes, as in Kafka: an append is refused when the partition's
//! ISR is smaller than its `min.insync.replicas`, and a response that follows appends goes out
//! only once the high watermark passed them (every ISR member has them), at most
//! `offsets.commit.timeout.ms` later ([`Durable`]). With one replica that is at once. The
//! append errors become the coordinator errors Kafka answers: `NOT_COORDINATOR` when this broker
//! no longer leads the partition, `COORDINATOR_NOT_AVAILABLE` for too small an ISR or a timeout.
//! A write that timed out stays in the log and in memory (it may still be committed, as Kafka's
//! coordinator keeps it); one that was refused before the append is undone by replaying the log.
//!
//! A new coordinator replays its whole log (up to its log end): as the leader it never
//! truncates, so everything it has either becomes committed under it or is dropped with it when
//! leadership moves again (`on_leadership` unloads the groups before a follower's fetcher may
//! truncate; the fetcher never touches a partition led here).
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
    Offset, Timestamp, complete_batches,
};
use strom_replication::{AckError, RequestId};
use tokio::sync::{Notify, oneshot, watch};

use crate::broker::{Broker, now};
use crate::config::BrokerConfig;
use crate::handlers::leader_epoch;
use crate::handlers::metadata::CONSUMER_OFFSETS_TOPIC;
use crate::replica::{AckOutcome, Effects};
use crate::{Error, random_id};

/// How much of a `__consumer_offsets` partition one read takes while replaying it.
const LOAD_CHUNK_BYTES: u64 = 1 << 20;

/// The shortest pause between two ticks, so that a wakeup the coordinator keeps in the past
/// cannot turn the timer into a busy loop.
const MIN_TICK_GAP: Duration = Duration::from_millis(10);

/// `offsets.topic.segment.bytes` when the configuration does not say.
const DEFAULT_OFFSETS_SEGMENT_BYTES: &str = "104857600";

/// `offsets.commit.timeout.ms` when the configuration does not say (Kafka's default).
const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_millis(5000);

/// A wait for group writes to reach the ISR of their `__consumer_offsets` partitions, which an
/// answer must pass before it goes out. Empty (and passed at once) when the answer follows no
/// write, or when every write is already replicated (always, with one replica).
#[derive(Debug)]
#[must_use = "an answer goes out only after its writes are replicated"]
pub(crate) struct Durable {
    waits: Vec<AckWait>,
    /// `offsets.commit.timeout.ms`: the longest wait.
    timeout: Duration,
}

/// One registered `acks=all` wait of a `__consumer_offsets` partition.
#[derive(Debug)]
struct AckWait {
    request: RequestId,
    outcome: oneshot::Receiver<AckOutcome>,
}

/// A delayed (JoinGroup, SyncGroup) answer and the writes it waits for.
#[derive(Debug)]
struct Answer {
    response: DelayedResponse,
    durable: Durable,
}

/// The records appended to `__consumer_offsets` that an answer depends on: per partition, the
/// log end offset right after the last of them.
type Written = BTreeMap<OffsetsPartition, Offset>;

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
    /// `offsets.commit.timeout.ms`: how long an answer waits for its writes to be replicated.
    commit_timeout: Duration,
}

#[derive(Debug)]
struct State {
    coordinator: Coordinator,
    /// JoinGroup and SyncGroup requests waiting for their answer.
    waiting: HashMap<Token, oneshot::Sender<Answer>>,
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
            commit_timeout: commit_timeout(config),
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
            let _ = self.execute(broker, &mut state, effects, now, false);
            tracing::info!(
                partition = partition.0,
                "no longer coordinating the groups of __consumer_offsets partition"
            );
        }
    }

    /// Runs an immediate-answer coordinator call and its effects, and waits (blocking this
    /// thread, which must be one of the runtime's blocking threads, never an async task) until
    /// its writes are replicated. `Err` when an append to `__consumer_offsets`
    /// failed or was not replicated in time: the caller answers with that error instead.
    pub(crate) fn call<R>(
        &self,
        broker: &Broker,
        f: impl FnOnce(&mut Coordinator, TimeMs) -> Output<R>,
    ) -> Result<R, GroupError> {
        let (response, durable) = self.call_durable(broker, f)?;
        durable.wait_blocking(broker)?;
        Ok(response)
    }

    /// Runs an immediate-answer coordinator call and its effects; the answer may go out once
    /// the returned wait passed (`Durable::wait`). `Err` when an append failed. Blocking.
    pub(crate) fn call_durable<R>(
        &self,
        broker: &Broker,
        f: impl FnOnce(&mut Coordinator, TimeMs) -> Output<R>,
    ) -> Result<(R, Durable), GroupError> {
        self.warm_up(broker);
        let mut state = self.state();
        let now = state.advance(now_ms());
        let output = f(&mut state.coordinator, now);
        let written = self.execute(broker, &mut state, output.effects, now, true)?;
        let durable = self.durable(broker, &written)?;
        Ok((output.response, durable))
    }

    /// Runs a read-only coordinator call. Reads do not create `__consumer_offsets`: before it
    /// exists the coordinator answers `NOT_COORDINATOR` and clients look the coordinator up,
    /// which creates it.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Coordinator) -> R) -> R {
        f(&self.state().coordinator)
    }

    /// A new token and the receiver its answer will arrive on.
    fn register(&self) -> (Token, oneshot::Receiver<Answer>) {
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
        // A failed append already answered the requests after it.
        let _ = self.execute(broker, &mut state, effects, now, true);
    }

    /// Calls `tick` with the current time. Blocking.
    fn tick(&self, broker: &Broker) {
        let mut state = self.state();
        let now = state.advance(now_ms());
        let effects = state.coordinator.tick(now);
        let _ = self.execute(broker, &mut state, effects, now, true);
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

    /// Executes `effects` in order; returns the appends made (for the answer to wait for), or
    /// the error of the first append that failed. After a failed append, the responses that
    /// follow carry that error, and (with `reload`) the partition is unloaded and replayed from
    /// its log, which holds what really happened. (When the append failed because this broker
    /// no longer leads the partition, reconciliation unloads it right after: `on_leadership`.)
    /// Each delayed response waits for the appends before it.
    fn execute(
        &self,
        broker: &Broker,
        state: &mut State,
        effects: Vec<Effect>,
        now: TimeMs,
        reload: bool,
    ) -> Result<Written, GroupError> {
        let mut failed: Vec<OffsetsPartition> = Vec::new();
        let mut error: Option<GroupError> = None;
        let mut written = Written::new();
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
                    match append(broker, partition, producer_id, records, now) {
                        Ok(Some(log_end_offset)) => {
                            written.insert(partition, log_end_offset);
                        }
                        Ok(None) => {}
                        Err((code, message)) => {
                            tracing::warn!(partition = partition.0, error = %message, "cannot append to __consumer_offsets");
                            failed.push(partition);
                            error.get_or_insert(code);
                        }
                    }
                }
                Effect::Respond { token, response } => {
                    let Some(sender) = state.waiting.remove(&token) else {
                        // The requester went away (closed connection): nothing to do.
                        continue;
                    };
                    let durable = match error {
                        None => self.durable(broker, &written),
                        Some(error) => Err(error),
                    };
                    let answer = match durable {
                        Ok(durable) => Answer { response, durable },
                        Err(error) => Answer {
                            response: unavailable(&response, error),
                            durable: Durable::none(self.commit_timeout),
                        },
                    };
                    // The requester may have gone away meanwhile: nothing to do then either.
                    let _ = sender.send(answer);
                }
                Effect::ScheduleWakeup { .. } => {}
            }
        }
        if reload {
            for partition in &failed {
                let effects = state.coordinator.unload(*partition);
                let _ = self.execute(broker, state, effects, now, false);
                state.coordinator.begin_load(*partition);
                match read_partition(broker, *partition) {
                    Ok(records) => match state.coordinator.load(*partition, records, now) {
                        Ok(effects) => {
                            let _ = self.execute(broker, state, effects, now, false);
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
        match error {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }

    /// Registers the waits for `written` to reach the ISR of each partition, with the
    /// `min.insync.replicas` of `__consumer_offsets` (checked again when the high watermark
    /// passes, as for `acks=all` produce requests).
    fn durable(&self, broker: &Broker, written: &Written) -> Result<Durable, GroupError> {
        let mut res = Durable::none(self.commit_timeout);
        if written.is_empty() {
            return Ok(res);
        }
        let min_insync = offsets_min_insync(broker);
        let mut effects = Effects::default();
        let registered = broker.with_logs(|logs| {
            for (partition, log_end_offset) in written {
                let topic_partition = TopicPartition::new(CONSUMER_OFFSETS_TOPIC, partition.0);
                let Some(log) = logs.manager.get_mut(&topic_partition) else {
                    return Err(GroupError::NotCoordinator);
                };
                let (request, outcome) = logs
                    .replication
                    .await_ack(
                        &topic_partition,
                        *log_end_offset,
                        min_insync,
                        log,
                        &mut effects,
                    )
                    .map_err(|error| {
                        // The log end went back under the write: a leader change truncated it.
                        tracing::warn!(partition = partition.0, %error, "cannot wait for __consumer_offsets replication");
                        GroupError::CoordinatorNotAvailable
                    })?;
                res.waits.push(AckWait { request, outcome });
            }
            Ok(())
        });
        if let Err(error) = broker.apply_effects(effects) {
            tracing::warn!(%error, "applying replication effects after a group write failed");
        }
        match registered {
            Ok(Ok(())) => Ok(res),
            Ok(Err(error)) => {
                res.cancel(broker);
                Err(error)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot wait for __consumer_offsets replication");
                res.cancel(broker);
                Err(GroupError::CoordinatorNotAvailable)
            }
        }
    }

    /// Replays one partition's records into the coordinator.
    fn load_partition(&self, broker: &Broker, partition: OffsetsPartition) -> Result<(), Error> {
        let records = read_partition(broker, partition)?;
        let count = records.len();
        let mut state = self.state();
        let now = state.advance(now_ms());
        match state.coordinator.load(partition, records, now) {
            Ok(effects) => {
                let _ = self.execute(broker, &mut state, effects, now, false);
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

impl Durable {
    /// Nothing to wait for.
    fn none(timeout: Duration) -> Durable {
        Durable {
            waits: Vec::new(),
            timeout,
        }
    }

    /// Waits until every write is replicated, at most `offsets.commit.timeout.ms`; the error
    /// the answer carries instead if that fails (`NOT_COORDINATOR` when leadership moved,
    /// `COORDINATOR_NOT_AVAILABLE` for too small an ISR or a timeout).
    pub(crate) async fn wait(mut self, broker: Arc<Broker>) -> Result<(), GroupError> {
        let res = self.take_resolved();
        if self.waits.is_empty() {
            return res;
        }
        let (res, unresolved) = self.settle(res).await;
        if !unresolved.is_empty() {
            let cancel = move || cancel_acks(&broker, unresolved);
            if let Err(error) = tokio::task::spawn_blocking(cancel).await {
                tracing::warn!(%error, "cancelling timed-out group writes failed");
            }
        }
        res
    }

    /// [`Durable::wait`] on a blocking thread of the runtime.
    fn wait_blocking(mut self, broker: &Broker) -> Result<(), GroupError> {
        let res = self.take_resolved();
        if self.waits.is_empty() {
            return res;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // Group calls run on the runtime's blocking threads; without a runtime nothing could
            // ever complete the wait.
            tracing::error!("a group write waits for replication outside the runtime");
            self.cancel(broker);
            return Err(GroupError::CoordinatorNotAvailable);
        };
        let (res, unresolved) = runtime.block_on(self.settle(res));
        cancel_acks(broker, unresolved);
        res
    }

    /// Takes the waits that already have their outcome (all of them with one replica); the
    /// first error among them.
    fn take_resolved(&mut self) -> Result<(), GroupError> {
        let mut res = Ok(());
        self.waits.retain_mut(|wait| {
            let outcome = match wait.outcome.try_recv() {
                Ok(outcome) => outcome.map_err(ack_error),
                Err(oneshot::error::TryRecvError::Empty) => return true,
                // The replication state dropped the wait without an answer: it stopped leading.
                Err(oneshot::error::TryRecvError::Closed) => Err(GroupError::NotCoordinator),
            };
            res = res.and(outcome);
            false
        });
        res
    }

    /// Awaits the remaining waits until the deadline or the first failure; returns the outcome
    /// and the waits to cancel.
    async fn settle(self, res: Result<(), GroupError>) -> (Result<(), GroupError>, Vec<RequestId>) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut res = res;
        let mut unresolved = Vec::new();
        for wait in self.waits {
            if res.is_err() {
                unresolved.push(wait.request);
                continue;
            }
            res = match tokio::time::timeout_at(deadline, wait.outcome).await {
                Ok(Ok(outcome)) => outcome.map_err(ack_error),
                Ok(Err(_)) => Err(GroupError::NotCoordinator),
                Err(_) => {
                    unresolved.push(wait.request);
                    Err(GroupError::CoordinatorNotAvailable)
                }
            };
        }
        (res, unresolved)
    }

    /// Forgets every wait (the answer no longer needs them).
    fn cancel(self, broker: &Broker) {
        cancel_acks(
            broker,
            self.waits.into_iter().map(|wait| wait.request).collect(),
        );
    }
}

/// Forgets waits in the replication state (their answer went out without them).
fn cancel_acks(broker: &Broker, requests: Vec<RequestId>) {
    if requests.is_empty() {
        return;
    }
    let res = broker.with_logs(|logs| {
        for request in requests {
            logs.replication.cancel_ack(request);
        }
    });
    if let Err(error) = res {
        tracing::debug!(%error, "cannot cancel group write waits");
    }
}

/// The coordinator error for a failed `acks=all` wait, as Kafka's coordinator maps them.
fn ack_error(error: AckError) -> GroupError {
    match error {
        AckError::NotEnoughReplicas | AckError::NotEnoughReplicasAfterAppend => {
            GroupError::CoordinatorNotAvailable
        }
        AckError::NotLeader => GroupError::NotCoordinator,
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
    let answer = tokio::select! {
        res = receiver => res.ok()?,
        _ = shutdown.wait_for(|stop| *stop) => return None,
    };
    match answer.durable.wait(broker).await {
        Ok(()) => Some(answer.response),
        Err(error) => Some(unavailable(&answer.response, error)),
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

/// `offsets.commit.timeout.ms` from the broker configuration.
fn commit_timeout(config: &BrokerConfig) -> Duration {
    config
        .describe_broker()
        .into_iter()
        .find(|entry| entry.name == "offsets.commit.timeout.ms")
        .and_then(|entry| entry.value)
        .and_then(|value| value.parse().ok())
        .map_or(DEFAULT_COMMIT_TIMEOUT, Duration::from_millis)
}

/// The `min.insync.replicas` of `__consumer_offsets` (its override, else the broker's).
fn offsets_min_insync(broker: &Broker) -> usize {
    let image = broker.image();
    let min_insync = match image.topic(CONSUMER_OFFSETS_TOPIC) {
        Some(topic) => broker.topic_config(topic).min_insync_replicas,
        None => 1,
    };
    usize::try_from(min_insync).unwrap_or(usize::MAX)
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
/// transactional batch of `producer_id` if set), as an `acks=all` write: refused when this
/// broker does not lead the partition (`NOT_COORDINATOR`) or its ISR is smaller than
/// `min.insync.replicas` (`COORDINATOR_NOT_AVAILABLE`). Returns the log end offset after the
/// batch, which the high watermark must reach before the write counts, or `None` when it
/// already has (always with one replica: the fast path of a single node).
fn append(
    broker: &Broker,
    partition: OffsetsPartition,
    producer_id: Option<ProducerId>,
    records: Vec<OffsetsRecord>,
    now: TimeMs,
) -> Result<Option<Offset>, (GroupError, String)> {
    let min_insync = offsets_min_insync(broker);
    let res = append_batch(broker, partition, producer_id, records, now, min_insync);
    res.map_err(|error| match error {
        AppendError::NotLeader => (
            GroupError::NotCoordinator,
            "this broker no longer leads the partition".to_owned(),
        ),
        AppendError::NotEnoughReplicas { isr } => (
            GroupError::CoordinatorNotAvailable,
            format!("min.insync.replicas is {min_insync} but the isr has {isr} members"),
        ),
        AppendError::Broker(error) => (GroupError::CoordinatorNotAvailable, error.to_string()),
    })
}

/// Why [`append_batch`] did not append (the coordinator error is chosen from it in [`append`]).
enum AppendError {
    /// This broker does not lead the partition (any more).
    NotLeader,
    /// The ISR, of `isr` members, is smaller than `min.insync.replicas`.
    NotEnoughReplicas { isr: usize },
    /// The log or the replication state failed.
    Broker(Error),
}

impl From<Error> for AppendError {
    fn from(error: Error) -> AppendError {
        AppendError::Broker(error)
    }
}

impl From<strom_log::Error> for AppendError {
    fn from(error: strom_log::Error) -> AppendError {
        AppendError::Broker(Error::Log(error))
    }
}

fn append_batch(
    broker: &Broker,
    partition: OffsetsPartition,
    producer_id: Option<ProducerId>,
    records: Vec<OffsetsRecord>,
    now: TimeMs,
    min_insync: usize,
) -> Result<Option<Offset>, AppendError> {
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
    let log_end_offset = broker.with_logs(|logs| {
        let Some(log) = logs.manager.get_mut(&topic_partition) else {
            return Err(AppendError::NotLeader);
        };
        let Some(leader) = logs.replication.leader(&topic_partition) else {
            return Err(AppendError::NotLeader);
        };
        if leader.check_min_insync(min_insync).is_err() {
            return Err(AppendError::NotEnoughReplicas {
                isr: leader.isr().len(),
            });
        }
        log.append(batch, timestamp)?;
        // The replication state moves the high watermark (at once with one replica).
        logs.replication.on_append(
            &topic_partition,
            log,
            crate::broker::time_ms(),
            &mut effects,
        )?;
        // Committed already when the high watermark moved past it: the ISR is the leader
        // alone, which the min.insync check above found enough, under the same lock.
        let log_end_offset = log.log_end_offset();
        Ok((log.high_watermark() < log_end_offset).then_some(log_end_offset))
    })??;
    broker.apply_effects(effects)?;
    Ok(log_end_offset)
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

/// The same answer as `response` with `error`, for a request whose records could not be
/// written or replicated.
fn unavailable(response: &DelayedResponse, error: GroupError) -> DelayedResponse {
    match response {
        DelayedResponse::JoinGroup(response) => DelayedResponse::JoinGroup(JoinGroupResponse {
            error: Some(error),
            member_id: response.member_id.clone(),
            ..JoinGroupResponse::default()
        }),
        DelayedResponse::SyncGroup(_) => DelayedResponse::SyncGroup(SyncGroupResponse {
            error: Some(error),
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
        let DelayedResponse::JoinGroup(res) =
            unavailable(&join, GroupError::CoordinatorNotAvailable)
        else {
            panic!("a JoinGroup answer stays one");
        };
        assert_eq!(res.error, Some(GroupError::CoordinatorNotAvailable));
        assert_eq!(res.member_id, Some(strom_group::MemberId("m-1".to_owned())));
        assert_eq!(res.generation_id, None);
        let sync = DelayedResponse::SyncGroup(SyncGroupResponse {
            assignment: vec![1, 2],
            ..SyncGroupResponse::default()
        });
        let DelayedResponse::SyncGroup(res) = unavailable(&sync, GroupError::NotCoordinator) else {
            panic!("a SyncGroup answer stays one");
        };
        assert_eq!(res.error, Some(GroupError::NotCoordinator));
        assert!(res.assignment.is_empty());
    }

    /// Failed `acks=all` waits answer what Kafka's coordinator answers for its appends.
    #[test]
    fn replication_failures_map_to_coordinator_errors() {
        let check = |error: AckError, expect: GroupError| assert_eq!(ack_error(error), expect);
        check(
            AckError::NotEnoughReplicas,
            GroupError::CoordinatorNotAvailable,
        );
        check(
            AckError::NotEnoughReplicasAfterAppend,
            GroupError::CoordinatorNotAvailable,
        );
        check(AckError::NotLeader, GroupError::NotCoordinator);
    }

    /// `offsets.commit.timeout.ms` bounds the wait; Kafka's 5000 when not set.
    #[test]
    fn commit_timeout_follows_the_broker_key() {
        let load = |overrides: &[(&str, &str)]| {
            let sources = crate::config::Sources {
                overrides: overrides
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                    .collect(),
                ..crate::config::Sources::default()
            };
            let config = BrokerConfig::load(&sources).map(|loaded| loaded.config);
            let Ok(config) = config else {
                panic!("the test configuration is valid: {config:?}");
            };
            commit_timeout(&config)
        };
        assert_eq!(load(&[]), Duration::from_millis(5000));
        assert_eq!(
            load(&[("offsets.commit.timeout.ms", "250")]),
            Duration::from_millis(250)
        );
    }

    /// A wait whose outcome is already there (one replica) passes without a runtime, and the
    /// first failure among several is the answer's error.
    #[test]
    fn resolved_waits_are_taken_at_once() {
        let wait = |outcome: AckOutcome| {
            let (sender, receiver) = oneshot::channel();
            sender.send(outcome).unwrap();
            AckWait {
                request: RequestId(0),
                outcome: receiver,
            }
        };
        let mut durable = Durable {
            waits: vec![wait(Ok(())), wait(Ok(()))],
            timeout: DEFAULT_COMMIT_TIMEOUT,
        };
        assert_eq!(durable.take_resolved(), Ok(()));
        assert!(durable.waits.is_empty());
        let (_pending, receiver) = oneshot::channel();
        let mut durable = Durable {
            waits: vec![
                wait(Ok(())),
                wait(Err(AckError::NotLeader)),
                AckWait {
                    request: RequestId(7),
                    outcome: receiver,
                },
                wait(Err(AckError::NotEnoughReplicasAfterAppend)),
            ],
            timeout: DEFAULT_COMMIT_TIMEOUT,
        };
        assert_eq!(durable.take_resolved(), Err(GroupError::NotCoordinator));
        assert_eq!(durable.waits.len(), 1, "the unresolved wait stays");
        assert_eq!(durable.waits[0].request, RequestId(7));
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
