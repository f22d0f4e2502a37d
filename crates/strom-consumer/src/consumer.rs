//! [`Consumer`]: manual assignment, positions, and the fetch loop. Fetches are pipelined: one
//! Fetch per leader is kept in flight on a background task, and a partition is fetched again as
//! soon as its last answer is buffered while the records buffered (in partitions not paused)
//! stay under `fetch.max.bytes` (a prefetch bound, like librdkafka's
//! `queued.max.messages.kbytes`), or once the application has taken all of its records; so the
//! next records are on their way while the application processes the last ones.
//!
//! The assignment lives in `partitions` whoever decides it: `assign`, or the group membership in
//! `consumer/group.rs` (`subscribe`, commits, rebalances), which `poll` drives at every turn.

mod group;

pub use self::group::CommitHandle;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use strom_client::{BrokerId, Client, TopicPartition};
use strom_protocol::messages::fetch::{FetchPartition, FetchRequest, FetchResponse, FetchTopic};
use strom_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use strom_protocol::{ApiKey, ErrorCode, Response};
use strom_record::{Offset, Timestamp};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::fetch::{
    AbortedTransaction, ConsumerRecord, Fetched, Isolation, decode, may_prefetch, next_position,
};
use crate::{AutoOffsetReset, ConsumerConfig, Error, IsolationLevel, Result};

/// ListOffsets' timestamp for "the log start offset".
const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets' timestamp for "the log end offset" (the last stable offset in read_committed).
const LATEST_TIMESTAMP: i64 = -1;

/// The longest a single poll waits (longer timeouts are cut to this; poll again).
const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The offset found for a timestamp by [`Consumer::offsets_for_times`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetAndTimestamp {
    /// The first offset whose timestamp is at or after the one asked for.
    pub offset: Offset,
    /// That record's timestamp.
    pub timestamp: Timestamp,
}

/// Reads records from assigned partitions.
///
/// ```no_run
/// # async fn run() -> Result<(), strom_consumer::Error> {
/// use std::time::Duration;
/// use strom_client::TopicPartition;
/// use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig};
///
/// let config = ConsumerConfig {
///     auto_offset_reset: AutoOffsetReset::Earliest,
///     ..ConsumerConfig::bootstrap("127.0.0.1:9092")
/// };
/// let mut consumer = Consumer::new(config).await?;
/// consumer.assign(vec![TopicPartition::new("events", 0)]);
/// for record in consumer.poll(Duration::from_secs(1)).await? {
///     println!("{} {:?}", record.offset, record.value);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Consumer {
    client: Client,
    config: ConsumerConfig,
    /// The assignment and each partition's state.
    partitions: BTreeMap<TopicPartition, PartitionState>,
    /// Leaders with a fetch in flight.
    fetching: HashMap<BrokerId, u64>,
    next_fetch_id: u64,
    completions: mpsc::UnboundedReceiver<FetchCompletion>,
    done: mpsc::UnboundedSender<FetchCompletion>,
    /// Where the next poll starts taking buffered records, for fairness across partitions.
    next_partition: usize,
    /// The group side, with a `group.id`.
    group: Option<group::Membership>,
}

#[derive(Debug, Default)]
struct PartitionState {
    /// The offset the next fetch asks for; `None` until reset.
    fetch_position: Option<Offset>,
    /// How to find a position when there is none (`seek_to_beginning/end`, or after an
    /// out-of-range error); `None` uses `auto.offset.reset`.
    reset: Option<AutoOffsetReset>,
    /// Fetched records not yet returned.
    buffered: std::collections::VecDeque<ConsumerRecord>,
    /// An answer taken in but not decoded yet (only ever inside [`Consumer::take_in`]).
    fetched: Option<Fetched>,
    /// The [`ConsumerRecord::buffered_size`] of `buffered`, summed.
    buffered_size: usize,
    paused: bool,
    /// The fetch whose answer is awaited for this partition; answers to others are stale.
    in_fetch: Option<u64>,
    /// Not to be fetched again before this, after an error.
    backoff_until: Option<Instant>,
}

/// A fetch that came back.
#[derive(Debug)]
struct FetchCompletion {
    node: BrokerId,
    fetch_id: u64,
    res: Result<FetchResponse, strom_client::Error>,
}

impl Consumer {
    /// Connects to the cluster. Nothing is assigned yet.
    pub async fn new(config: ConsumerConfig) -> Result<Consumer> {
        config.validate()?;
        let client = Client::connect(config.client.clone()).await?;
        let group = group::Membership::new(client.clone(), &config);
        let (done, completions) = mpsc::unbounded_channel();
        Ok(Consumer {
            client,
            config,
            partitions: BTreeMap::new(),
            fetching: HashMap::new(),
            next_fetch_id: 0,
            completions,
            done,
            next_partition: 0,
            group,
        })
    }

    /// Replaces the assignment. Partitions kept keep their position and buffered records.
    pub fn assign(&mut self, partitions: Vec<TopicPartition>) {
        let mut kept = BTreeMap::new();
        for topic_partition in partitions {
            let state = self.partitions.remove(&topic_partition).unwrap_or_default();
            kept.insert(topic_partition, state);
        }
        self.partitions = kept;
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    /// Makes the next record returned for `topic_partition` the one at `offset`.
    pub fn seek(&mut self, topic_partition: &TopicPartition, offset: Offset) -> Result<()> {
        let state = self.state_mut(topic_partition)?;
        *state = PartitionState {
            fetch_position: Some(offset),
            paused: state.paused,
            ..PartitionState::default()
        };
        Ok(())
    }

    /// Moves to the log start offset of each partition (looked up at the next poll or
    /// position).
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_to(partitions, AutoOffsetReset::Earliest)
    }

    /// Moves to the log end offset of each partition (the last stable offset in
    /// read_committed), looked up at the next poll or position.
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        self.seek_to(partitions, AutoOffsetReset::Latest)
    }

    /// The offset of the next record [`Consumer::poll`] returns for `topic_partition`,
    /// looking it up (per `auto.offset.reset` or a pending seek) if not known yet.
    pub async fn position(&mut self, topic_partition: &TopicPartition) -> Result<Offset> {
        self.state_mut(topic_partition)?;
        self.update_positions().await?;
        let state = self.state_mut(topic_partition)?;
        if let Some(record) = state.buffered.front() {
            return Ok(record.offset);
        }
        state
            .fetch_position
            .ok_or_else(|| Error::NoOffset(topic_partition.clone()))
    }

    /// Stops returning and fetching records of these partitions until resumed.
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for topic_partition in partitions {
            self.state_mut(topic_partition)?.paused = true;
        }
        Ok(())
    }

    /// Undoes [`Consumer::pause`].
    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        for topic_partition in partitions {
            self.state_mut(topic_partition)?.paused = false;
        }
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.partitions
            .iter()
            .filter(|(_, state)| state.paused)
            .map(|(topic_partition, _)| topic_partition.clone())
            .collect()
    }

    /// For each partition, the earliest offset whose timestamp is at or after the given one
    /// (`None` when there is none).
    pub async fn offsets_for_times(
        &self,
        times: &[(TopicPartition, Timestamp)],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        let queries: Vec<(TopicPartition, i64)> = times
            .iter()
            .map(|(topic_partition, timestamp)| (topic_partition.clone(), timestamp.0))
            .collect();
        self.list_offsets(&queries).await
    }

    /// The log start offset of each partition.
    pub async fn beginning_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Offset>> {
        self.offsets_at(partitions, EARLIEST_TIMESTAMP).await
    }

    /// The log end offset of each partition (the last stable offset in read_committed).
    pub async fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Offset>> {
        self.offsets_at(partitions, LATEST_TIMESTAMP).await
    }

    /// Waits up to `timeout` for records and returns at most `max.poll.records` of them (none
    /// when the time runs out). Before returning, fetches are sent for partitions whose last
    /// answer is buffered (within the prefetch bound), so they arrive while the application
    /// works.
    ///
    /// When subscribed, each turn first does the group's work (see `subscribe`): rebalances
    /// with their listener callbacks, auto commit, metadata checks. A rebalance waits for the
    /// group, which may take longer than `timeout`.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        let deadline = Instant::now() + timeout.min(MAX_POLL_TIMEOUT);
        loop {
            self.poll_group(deadline).await?;
            self.update_positions().await?;
            // Answers that came while the application worked: taken in now, so that their
            // partitions are fetched again at once rather than once the buffer has drained.
            self.take_in(None).await?;
            let records = self.take_buffered();
            self.send_fetches().await;
            if !records.is_empty() {
                return Ok(records);
            }
            let wake = self
                .earliest_backoff()
                .map_or(deadline, |at| at.min(deadline));
            let completion = tokio::select! {
                completion = self.completions.recv() => completion,
                () = tokio::time::sleep_until(wake) => None,
                () = group::changed(self.group.as_ref()) => None,
            };
            if let Some(completion) = completion {
                self.take_in(Some(completion)).await?;
            } else if Instant::now() >= deadline {
                return Ok(Vec::new());
            }
        }
    }

    /// Waits for the next record, however long it takes (a stream of records, one at a time).
    pub async fn recv(&mut self) -> Result<ConsumerRecord> {
        loop {
            let taken = self.config.max_poll_records;
            self.config.max_poll_records = 1;
            let res = self.poll(Duration::from_secs(3600)).await;
            self.config.max_poll_records = taken;
            if let Some(record) = res?.pop() {
                return Ok(record);
            }
        }
    }

    /// Leaves the group if subscribed (committing positions first with
    /// `enable.auto.commit`, calling `on_revoked`; static members send no LeaveGroup), then
    /// closes the connections. A failed commit or leave is logged.
    pub async fn close(mut self) {
        if let Err(error) = self.leave_group("the consumer is being closed").await {
            tracing::warn!(%error, "commit on close failed");
        }
        self.client.close().await;
    }

    fn state_mut(&mut self, topic_partition: &TopicPartition) -> Result<&mut PartitionState> {
        self.partitions
            .get_mut(topic_partition)
            .ok_or_else(|| Error::NotAssigned(topic_partition.clone()))
    }

    fn seek_to(&mut self, partitions: &[TopicPartition], reset: AutoOffsetReset) -> Result<()> {
        for topic_partition in partitions {
            let state = self.state_mut(topic_partition)?;
            *state = PartitionState {
                reset: Some(reset),
                paused: state.paused,
                ..PartitionState::default()
            };
        }
        Ok(())
    }

    /// Looks up a position for every partition without one.
    async fn update_positions(&mut self) -> Result<()> {
        let mut queries = Vec::new();
        for (topic_partition, state) in &self.partitions {
            if state.fetch_position.is_some() {
                continue;
            }
            let timestamp = match state.reset.unwrap_or(self.config.auto_offset_reset) {
                AutoOffsetReset::Earliest => EARLIEST_TIMESTAMP,
                AutoOffsetReset::Latest => LATEST_TIMESTAMP,
                AutoOffsetReset::None => return Err(Error::NoOffset(topic_partition.clone())),
            };
            queries.push((topic_partition.clone(), timestamp));
        }
        if queries.is_empty() {
            return Ok(());
        }
        let found = self.list_offsets(&queries).await?;
        for (topic_partition, found) in found {
            let Some(state) = self.partitions.get_mut(&topic_partition) else {
                continue;
            };
            if let Some(found) = found {
                state.fetch_position = Some(found.offset);
                state.reset = None;
            }
        }
        Ok(())
    }

    async fn offsets_at(
        &self,
        partitions: &[TopicPartition],
        timestamp: i64,
    ) -> Result<BTreeMap<TopicPartition, Offset>> {
        let queries: Vec<(TopicPartition, i64)> = partitions
            .iter()
            .map(|topic_partition| (topic_partition.clone(), timestamp))
            .collect();
        let found = self.list_offsets(&queries).await?;
        let mut res = BTreeMap::new();
        for (topic_partition, found) in found {
            let Some(found) = found else {
                return Err(Error::NoOffset(topic_partition));
            };
            res.insert(topic_partition, found.offset);
        }
        Ok(res)
    }

    /// ListOffsets for each `(partition, timestamp)`, sent to each leader, retrying retriable
    /// errors (after a metadata refresh) until `request.timeout.ms` has passed.
    async fn list_offsets(
        &self,
        queries: &[(TopicPartition, i64)],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndTimestamp>>> {
        let deadline = Instant::now() + self.config.client.request_timeout;
        let mut backoff = strom_client::Backoff::new(&self.config.client);
        let mut res = BTreeMap::new();
        let mut remaining: Vec<(TopicPartition, i64)> = queries.to_vec();
        while !remaining.is_empty() {
            let mut retry = Vec::new();
            let mut last_error: Option<Error> = None;
            let topics: Vec<&str> = remaining.iter().map(|(tp, _)| tp.topic.as_str()).collect();
            let metadata = self.client.metadata_for(&topics).await?;
            let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, i64)>> = BTreeMap::new();
            for (topic_partition, timestamp) in remaining {
                match metadata.leader(&topic_partition.topic, topic_partition.partition) {
                    Ok(leader) => by_leader
                        .entry(leader)
                        .or_default()
                        .push((topic_partition, timestamp)),
                    Err(error) if error.is_retriable() => {
                        self.client.note_error(&error);
                        last_error = Some(error.into());
                        retry.push((topic_partition, timestamp));
                    }
                    Err(error) => return Err(error.into()),
                }
            }
            for (leader, queries) in by_leader {
                let request = list_offsets_request(&queries, self.config.isolation_level);
                let response = match self.client.send(leader, request).await {
                    Ok(Response::ListOffsets(response)) => response,
                    Ok(other) => {
                        return Err(Error::Client(strom_client::Error::UnexpectedResponse {
                            expected: ApiKey::ListOffsets,
                            actual: other.api_key(),
                        }));
                    }
                    Err(error) if error.is_retriable() => {
                        last_error = Some(error.into());
                        retry.extend(queries);
                        continue;
                    }
                    Err(error) => return Err(error.into()),
                };
                for (topic_partition, timestamp) in queries {
                    let answer = response
                        .topics
                        .iter()
                        .filter(|topic| topic.name == topic_partition.topic)
                        .flat_map(|topic| &topic.partitions)
                        .find(|partition| partition.partition_index == topic_partition.partition);
                    let Some(answer) = answer else {
                        last_error = Some(Error::Broker {
                            topic_partition: topic_partition.clone(),
                            code: ErrorCode::UnknownTopicOrPartition,
                        });
                        retry.push((topic_partition, timestamp));
                        continue;
                    };
                    let code = ErrorCode::try_from(answer.error_code)
                        .unwrap_or(ErrorCode::UnknownServerError);
                    if code != ErrorCode::None {
                        let client_error = strom_client::Error::Broker(code);
                        self.client.note_error(&client_error);
                        let error = Error::Broker {
                            topic_partition: topic_partition.clone(),
                            code,
                        };
                        if !code.is_retriable() {
                            return Err(error);
                        }
                        last_error = Some(error);
                        retry.push((topic_partition, timestamp));
                        continue;
                    }
                    let found =
                        u64::try_from(answer.offset)
                            .ok()
                            .map(|offset| OffsetAndTimestamp {
                                offset: Offset(offset),
                                timestamp: Timestamp(answer.timestamp),
                            });
                    res.insert(topic_partition, found);
                }
            }
            remaining = retry;
            if let Some(error) = last_error
                && !backoff.sleep_before(deadline).await
            {
                return Err(error);
            }
        }
        Ok(res)
    }

    /// Takes up to `max.poll.records` buffered records, partition by partition, starting after
    /// the partition the last poll started with.
    fn take_buffered(&mut self) -> Vec<ConsumerRecord> {
        let mut res = Vec::new();
        let count = self.partitions.len();
        if count == 0 {
            return res;
        }
        let start = self.next_partition % count;
        let max = self.config.max_poll_records;
        // From `start` to the end, then from the beginning.
        let keys: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        for index in (start..count).chain(0..start) {
            if res.len() >= max {
                break;
            }
            let Some(state) = keys.get(index).and_then(|key| self.partitions.get_mut(key)) else {
                continue;
            };
            if state.paused {
                continue;
            }
            let take = max.saturating_sub(res.len()).min(state.buffered.len());
            for record in state.buffered.drain(..take) {
                state.buffered_size = state.buffered_size.saturating_sub(record.buffered_size());
                res.push(record);
            }
        }
        self.next_partition = start + 1;
        res
    }

    /// The earliest end of a backoff still running, when fetches should be tried again.
    fn earliest_backoff(&self) -> Option<Instant> {
        let now = Instant::now();
        self.partitions
            .values()
            .filter_map(|state| state.backoff_until)
            .filter(|until| *until > now)
            .min()
    }

    /// Sends a Fetch to every leader without one in flight, for its partitions that have a
    /// position, no fetch in flight, no backoff, are not paused, and have no buffered records
    /// or fit the prefetch bound (see [`may_prefetch`]).
    async fn send_fetches(&mut self) {
        let now = Instant::now();
        let buffered_total: usize = self
            .partitions
            .values()
            .filter(|state| !state.paused)
            .map(|state| state.buffered_size)
            .sum();
        let prefetch_bound = usize::try_from(self.config.fetch_max_bytes).unwrap_or(0);
        let topics: Vec<String> = self
            .partitions
            .keys()
            .map(|topic_partition| topic_partition.topic.clone())
            .collect();
        let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        let metadata = match self.client.metadata_for(&topic_refs).await {
            Ok(metadata) => metadata,
            Err(error) => {
                tracing::debug!(%error, "metadata refresh failed; using the cached metadata");
                self.client.cached_metadata()
            }
        };
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, Offset)>> = BTreeMap::new();
        for (topic_partition, state) in &mut self.partitions {
            let Some(position) = state.fetch_position else {
                continue;
            };
            if state.paused
                || !may_prefetch(state.buffered_size, buffered_total, prefetch_bound)
                || state.in_fetch.is_some()
                || state.backoff_until.is_some_and(|until| until > now)
            {
                continue;
            }
            state.backoff_until = None;
            let Ok(leader) = metadata.leader(&topic_partition.topic, topic_partition.partition)
            else {
                self.client.invalidate_metadata();
                state.backoff_until = Some(now + self.config.client.retry_backoff);
                continue;
            };
            if self.fetching.contains_key(&leader) {
                continue;
            }
            by_leader
                .entry(leader)
                .or_default()
                .push((topic_partition.clone(), position));
        }
        for (leader, partitions) in by_leader {
            let fetch_id = self.next_fetch_id;
            self.next_fetch_id += 1;
            for (topic_partition, _) in &partitions {
                if let Some(state) = self.partitions.get_mut(topic_partition) {
                    state.in_fetch = Some(fetch_id);
                }
            }
            self.fetching.insert(leader, fetch_id);
            let request = self.fetch_request(&partitions);
            let timeout = self.config.client.request_timeout + self.config.fetch_max_wait;
            let client = self.client.clone();
            let done = self.done.clone();
            tokio::spawn(async move {
                let res = match client.send_with_timeout(leader, request, timeout).await {
                    Ok(Response::Fetch(response)) => Ok(response),
                    Ok(other) => Err(strom_client::Error::UnexpectedResponse {
                        expected: ApiKey::Fetch,
                        actual: other.api_key(),
                    }),
                    Err(error) => Err(error),
                };
                // The consumer may be gone; then nobody needs the answer.
                let _ = done.send(FetchCompletion {
                    node: leader,
                    fetch_id,
                    res,
                });
            });
        }
    }

    fn fetch_request(&self, partitions: &[(TopicPartition, Offset)]) -> FetchRequest {
        let mut topics: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
        for (topic_partition, position) in partitions {
            topics
                .entry(&topic_partition.topic)
                .or_default()
                .push(FetchPartition {
                    partition: topic_partition.partition,
                    fetch_offset: i64::try_from(position.0).unwrap_or(i64::MAX),
                    partition_max_bytes: self.config.max_partition_fetch_bytes,
                    ..FetchPartition::default()
                });
        }
        FetchRequest {
            max_wait_ms: i32::try_from(self.config.fetch_max_wait.as_millis()).unwrap_or(i32::MAX),
            min_bytes: self.config.fetch_min_bytes,
            max_bytes: self.config.fetch_max_bytes,
            isolation_level: isolation_code(self.config.isolation_level),
            topics: topics
                .into_iter()
                .map(|(topic, partitions)| FetchTopic {
                    topic: topic.to_owned(),
                    partitions,
                    ..FetchTopic::default()
                })
                .collect(),
            ..FetchRequest::default()
        }
    }

    /// Buffers the records of a fetch that came back, and handles its errors.
    fn handle(&mut self, completion: FetchCompletion) -> Result<()> {
        if self.fetching.get(&completion.node) == Some(&completion.fetch_id) {
            self.fetching.remove(&completion.node);
        }
        let backoff_until = Instant::now() + self.config.client.retry_backoff;
        let mine: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, state)| state.in_fetch == Some(completion.fetch_id))
            .map(|(topic_partition, _)| topic_partition.clone())
            .collect();
        for topic_partition in &mine {
            if let Some(state) = self.partitions.get_mut(topic_partition) {
                state.in_fetch = None;
            }
        }
        let response = match completion.res {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%error, "fetch failed");
                self.client.note_error(&error);
                for topic_partition in &mine {
                    if let Some(state) = self.partitions.get_mut(topic_partition) {
                        state.backoff_until = Some(backoff_until);
                    }
                }
                if error.is_retriable() {
                    return Ok(());
                }
                return Err(error.into());
            }
        };
        for topic in response.responses {
            for partition in topic.partitions {
                let topic_partition =
                    TopicPartition::new(topic.topic.clone(), partition.partition_index);
                if !mine.contains(&topic_partition) {
                    continue;
                }
                let Some(state) = self.partitions.get_mut(&topic_partition) else {
                    continue;
                };
                let Some(position) = state.fetch_position else {
                    continue;
                };
                let code = ErrorCode::try_from(partition.error_code)
                    .unwrap_or(ErrorCode::UnknownServerError);
                match code {
                    ErrorCode::None => {}
                    ErrorCode::OffsetOutOfRange => {
                        if self.config.auto_offset_reset == AutoOffsetReset::None {
                            return Err(Error::OffsetOutOfRange {
                                topic_partition,
                                offset: position,
                            });
                        }
                        tracing::info!(%topic_partition, %position, "offset out of range, resetting");
                        state.fetch_position = None;
                        continue;
                    }
                    code => {
                        self.client.note_error(&strom_client::Error::Broker(code));
                        state.backoff_until = Some(backoff_until);
                        if code.is_retriable() {
                            continue;
                        }
                        return Err(Error::Broker {
                            topic_partition,
                            code,
                        });
                    }
                }
                let aborted: Vec<AbortedTransaction> = partition
                    .aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|aborted| {
                        Some(AbortedTransaction {
                            producer_id: aborted.producer_id,
                            first_offset: Offset(u64::try_from(aborted.first_offset).ok()?),
                        })
                    })
                    .collect();
                let isolation = Isolation {
                    level: self.config.isolation_level,
                    aborted: &aborted,
                    last_stable_offset: u64::try_from(partition.last_stable_offset)
                        .ok()
                        .map(Offset),
                    check_crcs: self.config.check_crcs,
                };
                let data = partition.records.unwrap_or_default();
                let next = next_position(&topic_partition, position, &data, isolation)?;
                let last_stable_offset = isolation.last_stable_offset;
                state.fetch_position = Some(next);
                state.fetched = Some(Fetched {
                    position,
                    data,
                    aborted,
                    last_stable_offset,
                });
            }
        }
        Ok(())
    }

    /// Takes in `first` and every other fetch answer that came back: first only their next
    /// positions (from the batch headers), then the next fetches are sent, and only then are
    /// the answers decoded into buffered records, so that the broker works on the next answer
    /// while this one is decoded.
    async fn take_in(&mut self, first: Option<FetchCompletion>) -> Result<()> {
        let mut next = first;
        let mut handled = Ok(());
        while let Some(completion) = next.take().or_else(|| self.completions.try_recv().ok()) {
            handled = self.handle(completion);
            if handled.is_err() {
                break;
            }
        }
        if handled.is_ok() {
            self.send_fetches().await;
        }
        let decoded = self.decode_fetched();
        handled.and(decoded)
    }

    /// Decodes every answer [`Consumer::handle`] took in into buffered records. A partition
    /// whose answer does not decode is fetched again from the same position (and the fetch
    /// already sent past it is ignored), so the error comes back until the application seeks
    /// past it; the first error is returned.
    fn decode_fetched(&mut self) -> Result<()> {
        let mut res = Ok(());
        for (topic_partition, state) in &mut self.partitions {
            let Some(fetched) = state.fetched.take() else {
                continue;
            };
            let isolation = Isolation {
                level: self.config.isolation_level,
                aborted: &fetched.aborted,
                last_stable_offset: fetched.last_stable_offset,
                check_crcs: self.config.check_crcs,
            };
            match decode(topic_partition, fetched.position, fetched.data, isolation) {
                Ok(decoded) => {
                    state.buffered.extend(decoded.records);
                    state.buffered_size += decoded.buffered_size;
                }
                Err(error) => {
                    state.fetch_position = Some(fetched.position);
                    state.in_fetch = None;
                    if res.is_ok() {
                        res = Err(error);
                    }
                }
            }
        }
        res
    }
}

fn isolation_code(level: IsolationLevel) -> i8 {
    match level {
        IsolationLevel::ReadUncommitted => 0,
        IsolationLevel::ReadCommitted => 1,
    }
}

fn list_offsets_request(
    queries: &[(TopicPartition, i64)],
    isolation_level: IsolationLevel,
) -> ListOffsetsRequest {
    let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
    for (topic_partition, timestamp) in queries {
        topics
            .entry(&topic_partition.topic)
            .or_default()
            .push(ListOffsetsPartition {
                partition_index: topic_partition.partition,
                timestamp: *timestamp,
                ..ListOffsetsPartition::default()
            });
    }
    ListOffsetsRequest {
        replica_id: -1,
        isolation_level: isolation_code(isolation_level),
        topics: topics
            .into_iter()
            .map(|(name, partitions)| ListOffsetsTopic {
                name: name.to_owned(),
                partitions,
                ..ListOffsetsTopic::default()
            })
            .collect(),
        ..ListOffsetsRequest::default()
    }
}
