//! Fetch (1) for consumers: reads whole batches up to the high watermark, honouring the
//! response's `max_bytes` and each partition's `partition_max_bytes` (the first batch of the
//! response is returned whole even if larger, so a consumer always progresses), and long-polls:
//! with fewer than `min_bytes` ready it waits up to `max_wait_ms`, woken by appends through each
//! partition's high-watermark watch (no polling timer), or by shutdown.
//!
//! Records leave as `Bytes` read from the segment file with one `pread` each, outside the log
//! lock; the dispatcher splices them into the response frame without copying them again.
//! Follower fetches (`replica_id >= 0`, a replica of a partition led here) read up to the log end
//! rather than the high watermark, and report the follower's position to the leader's
//! replication state, which may advance the high watermark (answering waiting `acks=all`
//! produce requests) and propose adding the follower to the ISR. A follower fetch whose
//! `last_fetched_epoch` (v12+) does not match this log up to its fetch offset is answered with
//! `diverging_epoch` (where that epoch ends here) and no records, and does not count as progress.
//! Not supported: incremental fetch sessions (session id 0 is always answered: every fetch is a
//! full fetch), and `read_committed` isolation (no transactions: the last stable offset is the
//! high watermark).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use strom_log::TopicPartition;
use strom_protocol::ErrorCode;
use strom_protocol::messages::fetch::{
    FetchPartition, FetchRequest, FetchResponse, FetchTopic, FetchableTopicResponse, PartitionData,
};
use strom_record::Offset;
use tokio::sync::watch;

use strom_metadata::{BrokerId, PartitionIndex};

use crate::broker::{Broker, time_ms};
use crate::fetcher::diverging_epoch;
use crate::handlers::{
    broker_error_code, check_leader, check_leader_epoch, log_error_code, offset_to_wire,
};
use crate::replica::{Effects, FollowerFetch};

/// The longest a fetch waits, whatever its `max_wait_ms` says.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// The most record bytes one response carries, whatever its `max_bytes` says (Kafka's broker
/// default `fetch.max.bytes`, 55 MiB), so that one request cannot make the broker read
/// gigabytes into memory. The first batch still comes whole.
const FETCH_MAX_BYTES: u64 = 55 * 1024 * 1024;

/// Answers a Fetch request: the response (records left empty) and each partition's records in
/// response order.
pub async fn handle(
    broker: Arc<Broker>,
    request: FetchRequest,
    version: i16,
) -> (FetchResponse, Vec<Bytes>) {
    if version >= 7 && request.session_id != 0 {
        let response = FetchResponse {
            error_code: ErrorCode::FetchSessionIdNotFound.code(),
            ..FetchResponse::default()
        };
        return (response, Vec::new());
    }
    let wait = Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let min_bytes = u64::try_from(request.min_bytes).unwrap_or(0);
    let max_bytes = u64::try_from(request.max_bytes)
        .unwrap_or(0)
        .min(FETCH_MAX_BYTES);
    let replica = (request.replica_id >= 0).then_some(BrokerId(request.replica_id));
    let topics = Arc::new(request.topics);
    // Subscribe before the first read, so an append between the read and the wait still wakes.
    let mut watches: Vec<watch::Receiver<Offset>> = topics
        .iter()
        .flat_map(|topic| {
            topic.partitions.iter().filter_map(|partition| {
                let index = u32::try_from(partition.partition).ok()?;
                broker.watch_high_watermark(&TopicPartition::new(topic.topic.clone(), index))
            })
        })
        .collect();
    let mut shutdown = broker.shutdown_signal();
    loop {
        let pass_broker = Arc::clone(&broker);
        let pass_topics = Arc::clone(&topics);
        let pass = tokio::task::spawn_blocking(move || {
            read_pass(&pass_broker, &pass_topics, max_bytes, replica)
        })
        .await;
        let pass = match pass {
            Ok(pass) => pass,
            Err(error) => {
                tracing::error!(%error, "fetch read failed");
                let response = FetchResponse {
                    error_code: ErrorCode::UnknownServerError.code(),
                    ..FetchResponse::default()
                };
                return (response, Vec::new());
            }
        };
        let done = pass.bytes >= min_bytes
            || pass.has_error
            || watches.is_empty()
            || tokio::time::Instant::now() >= deadline
            || *shutdown.borrow();
        if done {
            let response = FetchResponse {
                responses: pass.responses,
                ..FetchResponse::default()
            };
            return (response, pass.records);
        }
        tokio::select! {
            () = changed_any(&mut watches) => {}
            () = tokio::time::sleep_until(deadline) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
}

/// The outcome of reading every requested partition once.
struct Pass {
    responses: Vec<FetchableTopicResponse>,
    records: Vec<Bytes>,
    bytes: u64,
    has_error: bool,
}

fn read_pass(
    broker: &Broker,
    topics: &[FetchTopic],
    max_bytes: u64,
    replica: Option<BrokerId>,
) -> Pass {
    let image = broker.image();
    let mut effects = Effects::default();
    let mut res = Pass {
        responses: Vec::with_capacity(topics.len()),
        records: Vec::new(),
        bytes: 0,
        has_error: false,
    };
    for topic in topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for partition in &topic.partitions {
            let read = check_leader(broker, &image, &topic.topic, partition.partition).and_then(
                |topic_partition| {
                    check_leader_epoch(&image, &topic_partition, partition.current_leader_epoch)?;
                    let is_replica = |replica: BrokerId| {
                        image
                            .partition(&topic.topic, PartitionIndex(topic_partition.partition))
                            .is_some_and(|image| image.replicas.contains(&replica))
                    };
                    if let Some(replica) = replica
                        && !is_replica(replica)
                    {
                        return Err(ErrorCode::NotLeaderOrFollower);
                    }
                    let remaining = max_bytes.saturating_sub(res.bytes);
                    read_partition(
                        broker,
                        &topic_partition,
                        partition,
                        remaining,
                        res.bytes == 0,
                        replica,
                        &mut effects,
                    )
                },
            );
            let (data, records) = match read {
                Ok(read) => read,
                Err(error_code) => {
                    res.has_error = true;
                    let data = PartitionData {
                        partition_index: partition.partition,
                        error_code: error_code.code(),
                        high_watermark: -1,
                        last_stable_offset: -1,
                        log_start_offset: -1,
                        ..PartitionData::default()
                    };
                    (data, Bytes::new())
                }
            };
            res.bytes += records.len() as u64;
            res.records.push(records);
            partitions.push(data);
        }
        res.responses.push(FetchableTopicResponse {
            topic: topic.topic.clone(),
            partitions,
            ..FetchableTopicResponse::default()
        });
    }
    if let Err(error) = broker.apply_effects(effects) {
        tracing::warn!(%error, "applying replication effects after a follower fetch failed");
    }
    res
}

/// Reads one partition: at most `remaining` bytes, except that when `first` (nothing else is in
/// the response yet) the first batch comes whole whatever its size.
fn read_partition(
    broker: &Broker,
    topic_partition: &TopicPartition,
    partition: &FetchPartition,
    remaining: u64,
    first: bool,
    replica: Option<BrokerId>,
    effects: &mut Effects,
) -> Result<(PartitionData, Bytes), ErrorCode> {
    let Ok(fetch_offset) = u64::try_from(partition.fetch_offset) else {
        return Err(ErrorCode::OffsetOutOfRange);
    };
    let limit = u64::try_from(partition.partition_max_bytes)
        .unwrap_or(0)
        .min(remaining);
    let read = broker.with_logs(|logs| {
        let Some(log) = logs.manager.get_mut(topic_partition) else {
            return Err(ErrorCode::UnknownTopicOrPartition);
        };
        // A follower reads everything the leader has; a consumer what is committed.
        let upper_bound = match replica {
            Some(replica) => {
                // Fetch v12+: a follower whose tail diverges from this log gets the epoch to
                // truncate to and no records; its position is not progress.
                let diverging =
                    diverging_epoch(log, Offset(fetch_offset), partition.last_fetched_epoch)?;
                if diverging.is_some() {
                    return Ok((
                        log.high_watermark(),
                        log.log_start_offset(),
                        None,
                        diverging,
                    ));
                }
                let follower_log_start =
                    Offset(u64::try_from(partition.log_start_offset).unwrap_or(0));
                let fetch = FollowerFetch {
                    follower: replica,
                    fetch_offset: Offset(fetch_offset),
                    log_start_offset: follower_log_start,
                };
                logs.replication
                    .on_follower_fetch(topic_partition, fetch, log, time_ms(), effects)
                    .map_err(|error| match error {
                        strom_replication::Error::FetchOffsetOutOfRange { .. } => {
                            ErrorCode::OffsetOutOfRange
                        }
                        _ => ErrorCode::NotLeaderOrFollower,
                    })?;
                log.log_end_offset()
            }
            None => log.high_watermark(),
        };
        let high_watermark = log.high_watermark();
        let log_start_offset = log.log_start_offset();
        let slice = if limit == 0 && !first {
            None
        } else {
            let slice = log
                .read(Offset(fetch_offset), limit.max(1), upper_bound)
                .map_err(|error| log_error_code(&error))?;
            Some(slice)
        };
        Ok((high_watermark, log_start_offset, slice, None))
    });
    let (high_watermark, log_start_offset, slice, diverging) = match read {
        Ok(read) => read?,
        Err(error) => return Err(broker_error_code(&error)),
    };
    let mut records = match slice {
        Some(slice) if !slice.is_empty() => slice.read_to_bytes().map_err(|error| {
            tracing::warn!(partition = %topic_partition, %error, "reading a segment failed");
            ErrorCode::KafkaStorageError
        })?,
        _ => Bytes::new(),
    };
    if !first && records.len() as u64 > limit {
        // Only the response's first batch may exceed the limits.
        records = Bytes::new();
    }
    let data = PartitionData {
        partition_index: partition.partition,
        error_code: 0,
        high_watermark: offset_to_wire(high_watermark),
        last_stable_offset: offset_to_wire(high_watermark),
        log_start_offset: offset_to_wire(log_start_offset),
        diverging_epoch: diverging.unwrap_or_default(),
        ..PartitionData::default()
    };
    Ok((data, records))
}

/// Waits until any receiver sees a change. Receivers whose partition went away (sender dropped)
/// are removed, which also counts as a change.
async fn changed_any(watches: &mut Vec<watch::Receiver<Offset>>) {
    let closed = {
        let mut waits: Vec<Pin<Box<_>>> = watches
            .iter_mut()
            .map(|watch| Box::pin(watch.changed()))
            .collect();
        poll_fn(|cx| {
            for (index, wait) in waits.iter_mut().enumerate() {
                if let Poll::Ready(res) = wait.as_mut().poll(cx) {
                    return Poll::Ready(res.is_err().then_some(index));
                }
            }
            Poll::Pending
        })
        .await
    };
    if let Some(index) = closed {
        watches.swap_remove(index);
    }
}
