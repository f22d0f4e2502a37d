//! The sender task: drains sendable batches from the accumulator, groups them by partition
//! leader into Produce requests (at most `max.in.flight.requests.per.connection` per broker),
//! and handles the answers: completes records, retries retriable failures with backoff until
//! `delivery.timeout.ms`, and keeps idempotent sequences straight.
//!
//! Idempotence, following the Java client in a simpler form (documented in docs/clients.md):
//! - the producer id comes from InitProducerId before the first batch is sent;
//! - a batch gets its sequence when first drained and keeps its bytes across retries, so the
//!   broker recognises a resent batch it already wrote and answers with its original offset;
//! - a retried batch goes alone (nothing else of its partition in flight), in sequence order;
//! - OUT_OF_ORDER_SEQUENCE_NUMBER on a batch while an earlier batch of its partition is
//!   outstanding just means that batch failed first: retry it after;
//! - OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID otherwise fails the batch, and the
//!   producer takes a new producer id and restarts every partition's sequences at 0 (where the
//!   Java client bumps the epoch); batches built under the old id are rebuilt.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use strom_client::{BrokerId, TopicPartition};
use strom_protocol::messages::init_producer_id::InitProducerIdRequest;
use strom_protocol::messages::produce::{
    PartitionProduceData, ProduceRequest, ProduceResponse, TopicProduceData,
};
use strom_protocol::{ApiKey, ErrorCode, Response};
use strom_record::Timestamp;
use tokio::time::Instant;

use crate::accumulator::{Batch, ProducerIdentity};
use crate::producer::Shared;
use crate::{Acks, Error};

/// `transaction.timeout.ms`'s default, sent with InitProducerId as the Java client does.
const TRANSACTION_TIMEOUT_MS: i32 = 60_000;

/// The longest the sender sleeps before looking again at a batch that was sendable but could
/// not be sent (no leader yet).
const IDLE_RECHECK_MAX: Duration = Duration::from_millis(100);

/// A Produce request on its way: resolves when it came back (or failed). The sender polls
/// these itself, so an answer wakes the sender directly, with no task or channel in between.
type InFlight = Pin<Box<dyn Future<Output = Completion> + Send>>;

/// A Produce request that came back (or failed).
struct Completion {
    node: BrokerId,
    batches: Vec<Batch>,
    /// `Ok(None)` for `acks=0`, which has no response.
    res: Result<Option<ProduceResponse>, strom_client::Error>,
}

struct Sender {
    shared: Arc<Shared>,
    identity: Option<ProducerIdentity>,
    generation: u64,
    /// Not to ask for a producer id again before this, after a failure.
    identity_retry_at: Option<Instant>,
    identity_attempts: u32,
    in_flight: HashMap<BrokerId, usize>,
    /// The requests in flight, in the order they were sent.
    requests: Vec<InFlight>,
}

/// What woke the sender.
enum Event {
    /// Requests came back.
    Completed(Vec<Completion>),
    /// A batch filled or opened, a flush or close began, or a deadline passed.
    Woken,
}

/// Runs until the producer is closed and everything queued has been sent and answered.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut sender = Sender {
        shared: shared.clone(),
        identity: None,
        generation: 0,
        identity_retry_at: None,
        identity_attempts: 0,
        in_flight: HashMap::new(),
        requests: Vec::new(),
    };
    loop {
        let sent = sender.round().await;
        let (closed, empty, deadline) = {
            let state = shared.lock();
            (
                state.closed,
                state.accumulator.is_empty(),
                state
                    .accumulator
                    .next_deadline(shared.config.delivery_timeout),
            )
        };
        let requests: usize = sender.in_flight.values().sum();
        if closed && empty && requests == 0 {
            return;
        }
        let now = Instant::now();
        // A round sends at most one batch per partition: go again at once while batches are
        // sendable and the last round could send.
        if sent && deadline.is_some_and(|deadline| deadline <= now) {
            continue;
        }
        // A deadline already past means a sendable batch found no leader (or its broker is at
        // its request limit): look again after a backoff rather than spinning.
        let deadline = [deadline, sender.identity_retry_at]
            .into_iter()
            .flatten()
            .min()
            .map_or(now + Duration::from_secs(3600), |deadline| {
                if deadline > now {
                    deadline
                } else {
                    now + shared.config.client.retry_backoff.min(IDLE_RECHECK_MAX)
                }
            });
        let mut requests = std::mem::take(&mut sender.requests);
        let event = tokio::select! {
            completed = std::future::poll_fn(|cx| poll_requests(&mut requests, cx)) => {
                Event::Completed(completed)
            }
            () = shared.wake.notified() => Event::Woken,
            () = tokio::time::sleep_until(deadline) => Event::Woken,
        };
        sender.requests = requests;
        if let Event::Completed(completed) = event {
            for completion in completed {
                sender.complete(completion);
            }
            shared.progress.send_modify(|round| *round += 1);
        }
    }
}

/// Takes out the requests that came back; pending while none did.
fn poll_requests(requests: &mut Vec<InFlight>, cx: &mut Context<'_>) -> Poll<Vec<Completion>> {
    let mut completed = Vec::new();
    requests.retain_mut(|request| match request.as_mut().poll(cx) {
        Poll::Ready(completion) => {
            completed.push(completion);
            false
        }
        Poll::Pending => true,
    });
    if completed.is_empty() {
        return Poll::Pending;
    }
    Poll::Ready(completed)
}

impl Sender {
    /// Fails expired batches, obtains a producer id if needed, and sends what is sendable.
    /// Returns whether it sent anything.
    async fn round(&mut self) -> bool {
        let shared = self.shared.clone();
        let config = &shared.config;
        let now = Instant::now();
        let expired = self
            .shared
            .lock()
            .accumulator
            .expire(now, config.delivery_timeout);
        if !expired.is_empty() {
            for batch in expired {
                batch.fail(&Error::DeliveryTimeout(config.delivery_timeout));
            }
            self.shared.progress.send_modify(|round| *round += 1);
        }
        let topics: Vec<String> = {
            let state = self.shared.lock();
            let mut topics: Vec<String> = state
                .accumulator
                .queued_partitions()
                .map(|topic_partition| topic_partition.topic.clone())
                .collect();
            topics.dedup();
            topics
        };
        if topics.is_empty() {
            return false;
        }
        if config.enable_idempotence && self.identity.is_none() {
            if self.identity_retry_at.is_some_and(|at| at > now) {
                return false;
            }
            if let Err(error) = self.init_identity().await {
                self.identity_failed(error);
                return false;
            }
        }
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let metadata = match self.shared.client.metadata_for(&topic_refs).await {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::debug!(%error, "metadata refresh failed; using the cached metadata");
                self.shared.client.cached_metadata()
            }
        };
        let max_in_flight = config.max_in_flight_requests_per_connection;
        let mut drained = Vec::new();
        {
            let mut state = self.shared.lock();
            let flushing = state.flushing > 0 || state.closed;
            let in_flight = &self.in_flight;
            let batches = state
                .accumulator
                .drain(Instant::now(), flushing, |topic_partition| {
                    metadata
                        .leader(&topic_partition.topic, topic_partition.partition)
                        .is_ok_and(|leader| {
                            in_flight.get(&leader).copied().unwrap_or(0) < max_in_flight
                        })
                });
            for mut batch in batches {
                let tp = &batch.topic_partition;
                let Ok(leader) = metadata.leader(&tp.topic, tp.partition) else {
                    continue;
                };
                let build = state.accumulator.start_send(&mut batch, self.identity);
                drained.push((leader, batch, build));
            }
        }
        // Built outside the lock, which `send` needs for every record.
        let mut by_node: BTreeMap<BrokerId, Vec<Batch>> = BTreeMap::new();
        for (leader, mut batch, build) in drained {
            if let Some(build) = build
                && let Err(error) = batch.build(build)
            {
                let mut state = self.shared.lock();
                state.accumulator.abandon_build(&batch, &build);
                if self.identity.is_some() {
                    // The batch's sequence numbers are spent: later batches of its partition
                    // would be out of sequence. Start over with a new producer id, as after a
                    // sequence error.
                    self.identity = None;
                    state.accumulator.reset_sequences();
                }
                drop(state);
                batch.fail(&error);
                continue;
            }
            by_node.entry(leader).or_default().push(batch);
        }
        let sent = !by_node.is_empty();
        for (node, batches) in by_node {
            self.send(node, batches).await;
        }
        sent
    }

    /// Sends one Produce request to `node` holding `batches` (one per partition). The request
    /// is queued on the connection here, in order (a partition's batches must reach the broker
    /// in sequence order); the wait for its answer joins the requests the sender polls.
    async fn send(&mut self, node: BrokerId, batches: Vec<Batch>) {
        let config = &self.shared.config;
        let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
        for batch in &batches {
            let records = batch.built.as_ref().map(|built| built.bytes.clone());
            topics
                .entry(&batch.topic_partition.topic)
                .or_default()
                .push(PartitionProduceData {
                    index: batch.topic_partition.partition,
                    records,
                    ..PartitionProduceData::default()
                });
        }
        let request = ProduceRequest {
            acks: config.acks_code(),
            timeout_ms: i32::try_from(config.client.request_timeout.as_millis())
                .unwrap_or(i32::MAX),
            topic_data: topics
                .into_iter()
                .map(|(name, partition_data)| TopicProduceData {
                    name: name.to_owned(),
                    partition_data,
                    ..TopicProduceData::default()
                })
                .collect(),
            ..ProduceRequest::default()
        };
        *self.in_flight.entry(node).or_insert(0) += 1;
        if config.acks == Acks::None {
            let res = self.shared.client.send_no_response(node, request).await;
            self.requests.push(Box::pin(std::future::ready(Completion {
                node,
                batches,
                res: res.map(|()| None),
            })));
            return;
        }
        let pending = self.shared.client.enqueue(node, request).await;
        self.requests.push(Box::pin(async move {
            let res = match pending {
                Ok(pending) => match pending.wait().await {
                    Ok(Response::Produce(response)) => Ok(Some(response)),
                    Ok(other) => Err(strom_client::Error::UnexpectedResponse {
                        expected: ApiKey::Produce,
                        actual: other.api_key(),
                    }),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            Completion { node, batches, res }
        }));
    }

    /// Handles one answered (or failed) request, taking the producer's lock once for all its
    /// batches.
    fn complete(&mut self, completion: Completion) {
        if let Some(count) = self.in_flight.get_mut(&completion.node) {
            *count = count.saturating_sub(1);
        }
        let mut delivered = Vec::new();
        let mut failed = Vec::new();
        {
            let mut state = self.shared.lock();
            for mut batch in completion.batches {
                state.accumulator.finish_send(&batch);
                match outcome(&completion.res, &batch) {
                    Ok((base_offset, log_append_time)) => {
                        // Done with for good: its buffer can take a later batch's records.
                        state.accumulator.recycle(&mut batch);
                        delivered.push((batch, base_offset, log_append_time));
                    }
                    Err(error) => failed.push((batch, error)),
                }
            }
        }
        for (batch, base_offset, log_append_time) in delivered {
            batch.complete(base_offset, log_append_time);
        }
        for (batch, error) in failed {
            match &error {
                Error::Client(error) => self.shared.client.note_error(error),
                Error::Broker(code) => self
                    .shared
                    .client
                    .note_error(&strom_client::Error::Broker(*code)),
                _ => {}
            }
            self.failed(batch, error);
        }
    }

    /// Retries `batch` or fails it, by the rules in the module comment.
    fn failed(&mut self, mut batch: Batch, error: Error) {
        let shared = self.shared.clone();
        let config = &shared.config;
        let now = Instant::now();
        if batch.created + config.delivery_timeout <= now {
            batch.fail(&Error::DeliveryTimeout(config.delivery_timeout));
            return;
        }
        let stale = batch
            .built
            .as_ref()
            .and_then(|built| built.generation)
            .is_some_and(|generation| Some(generation) != self.identity.map(|id| id.generation));
        if stale {
            // Built under a producer id that was replaced: rebuild with the new one.
            batch.unbuild();
            self.shared.lock().accumulator.requeue(batch, now);
            return;
        }
        let sequence_error = matches!(
            error,
            Error::Broker(ErrorCode::OutOfOrderSequenceNumber | ErrorCode::UnknownProducerId)
        );
        let shared = self.shared.clone();
        let mut state = shared.lock();
        if sequence_error && state.accumulator.has_earlier_outstanding(&batch) {
            let retry_at = now + retry_backoff(config, batch.attempts);
            state.accumulator.requeue(batch, retry_at);
            return;
        }
        if sequence_error {
            tracing::warn!(%error, partition = %batch.topic_partition, "resetting producer id");
            self.identity = None;
            state.accumulator.reset_sequences();
            drop(state);
            batch.fail(&error);
            return;
        }
        if error.is_retriable() {
            let retry_at = now + retry_backoff(config, batch.attempts);
            tracing::debug!(%error, partition = %batch.topic_partition, "retrying batch");
            state.accumulator.requeue(batch, retry_at);
            return;
        }
        drop(state);
        batch.fail(&error);
    }

    /// InitProducerId for an idempotent (non-transactional) producer, from any broker.
    async fn init_identity(&mut self) -> Result<(), Error> {
        let request = InitProducerIdRequest {
            transactional_id: None,
            transaction_timeout_ms: TRANSACTION_TIMEOUT_MS,
            ..InitProducerIdRequest::default()
        };
        let response = match self.shared.client.send_any(request).await? {
            Response::InitProducerId(response) => response,
            other => {
                return Err(Error::Client(strom_client::Error::UnexpectedResponse {
                    expected: ApiKey::InitProducerId,
                    actual: other.api_key(),
                }));
            }
        };
        strom_client::check_code(response.error_code)?;
        self.generation += 1;
        self.identity = Some(ProducerIdentity {
            producer_id: response.producer_id,
            producer_epoch: response.producer_epoch,
            generation: self.generation,
        });
        self.identity_retry_at = None;
        self.identity_attempts = 0;
        tracing::debug!(producer_id = response.producer_id, "got producer id");
        Ok(())
    }

    /// A retriable InitProducerId failure waits a backoff; any other fails every queued batch.
    fn identity_failed(&mut self, error: Error) {
        if error.is_retriable() {
            self.identity_attempts += 1;
            let delay = retry_backoff(&self.shared.config, self.identity_attempts);
            self.identity_retry_at = Some(Instant::now() + delay);
            tracing::debug!(%error, ?delay, "InitProducerId failed, retrying");
            return;
        }
        let batches = self.shared.lock().accumulator.take_all();
        for batch in batches {
            batch.fail(&error);
        }
        self.shared.progress.send_modify(|round| *round += 1);
    }
}

/// `retry.backoff.ms` doubling per attempt, capped at `retry.backoff.max.ms`.
fn retry_backoff(config: &crate::ProducerConfig, attempts: u32) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(16);
    config.client.retry_backoff.saturating_mul(factor).min(
        config
            .client
            .retry_backoff_max
            .max(config.client.retry_backoff),
    )
}

/// What the answer `res` says of `batch`: its base offset (`None` with `acks=0` or for a
/// duplicate) and log-append time, or the error.
fn outcome(
    res: &Result<Option<ProduceResponse>, strom_client::Error>,
    batch: &Batch,
) -> Result<(Option<i64>, Option<Timestamp>), Error> {
    let response = match res {
        Ok(None) => return Ok((None, None)),
        Ok(Some(response)) => response,
        Err(error) => return Err(Error::Client(error.clone())),
    };
    let Some(partition) = find(response, &batch.topic_partition) else {
        return Err(Error::Broker(ErrorCode::UnknownServerError));
    };
    let code = ErrorCode::try_from(partition.error_code).unwrap_or(ErrorCode::UnknownServerError);
    match code {
        ErrorCode::None => {
            let log_append_time = (partition.log_append_time_ms >= 0)
                .then_some(Timestamp(partition.log_append_time_ms));
            Ok((Some(partition.base_offset), log_append_time))
        }
        // Written before, longer ago than the broker remembers offsets for.
        ErrorCode::DuplicateSequenceNumber => Ok((None, None)),
        code => Err(Error::Broker(code)),
    }
}

fn find<'a>(
    response: &'a ProduceResponse,
    topic_partition: &TopicPartition,
) -> Option<&'a strom_protocol::messages::produce::PartitionProduceResponse> {
    response
        .responses
        .iter()
        .filter(|topic| topic.name == topic_partition.topic)
        .flat_map(|topic| &topic.partition_responses)
        .find(|partition| partition.index == topic_partition.partition)
}
