//! Produce (0): validate each partition's batch (magic 2, lengths, CRC, record framing, size,
//! timestamps), check idempotent producers' sequence numbers, append, and answer with the base
//! offset. A partition's batch is appended whole or not at all. `acks=-1` is refused with
//! `NOT_ENOUGH_REPLICAS` when the ISR is smaller than `min.insync.replicas`, and otherwise
//! completes when the high watermark reaches the end of the batch (at once with one replica;
//! when every ISR follower has fetched it otherwise): [`handle`] returns the waits, and
//! [`complete`] awaits them, answering `REQUEST_TIMED_OUT` after the request's timeout.
//!
//! Not handled here: `acks=0` gets no response (the dispatcher drops it); transactions are not
//! implemented, so transactional and control batches are refused.

use std::sync::Arc;
use std::time::Duration;

use strom_log::TopicPartition;
use strom_metadata::MetadataImage;
use strom_protocol::ErrorCode;
use strom_protocol::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use strom_record::{DecodeLimits, LeaderEpoch, Offset, Timestamp, ValidatedBatch, split_batches};
use strom_replication::{AckError, RequestId};
use tokio::sync::oneshot;

use crate::broker::{Broker, now, time_ms};
use crate::config::TimestampType;
use crate::handlers::{
    broker_error_code, check_leader, leader_epoch, log_error_code, offset_to_wire,
    record_error_code,
};
use crate::producer_state::{SequenceCheck, SequenceError};
use crate::replica::{AckOutcome, Effects};

/// An `acks=-1` partition waiting for its ISR.
#[derive(Debug)]
pub struct PendingAck {
    /// Where its answer sits in the response: topic and partition positions.
    topic: usize,
    partition: usize,
    topic_partition: TopicPartition,
    request: RequestId,
    outcome: oneshot::Receiver<AckOutcome>,
}

/// Appends a Produce request's batches (also run for `acks=0`, whose answer is dropped).
/// Blocking. Returns the response and, for `acks=-1`, the partitions still waiting for their
/// ISR, which [`complete`] finishes.
pub fn handle(broker: &Broker, request: ProduceRequest) -> (ProduceResponse, Vec<PendingAck>) {
    let image = broker.image();
    let acks = request.acks;
    let mut pending = Vec::new();
    let mut effects = Effects::default();
    let responses = request
        .topic_data
        .into_iter()
        .enumerate()
        .map(|(topic_position, topic)| {
            let partition_responses = topic
                .partition_data
                .into_iter()
                .enumerate()
                .map(|(partition_position, data)| {
                    let (response, wait) =
                        produce_partition(broker, &image, &topic.name, data, acks, &mut effects);
                    if let Some((topic_partition, request, outcome)) = wait {
                        pending.push(PendingAck {
                            topic: topic_position,
                            partition: partition_position,
                            topic_partition,
                            request,
                            outcome,
                        });
                    }
                    response
                })
                .collect();
            TopicProduceResponse {
                name: topic.name,
                partition_responses,
                ..TopicProduceResponse::default()
            }
        })
        .collect();
    if let Err(error) = broker.apply_effects(effects) {
        tracing::warn!(%error, "applying replication effects after produce failed");
    }
    let response = ProduceResponse {
        responses,
        ..ProduceResponse::default()
    };
    (response, pending)
}

/// Waits for the partitions of an `acks=-1` request to reach their ISR, at most `timeout`;
/// those that fail or time out get their error code in `response`.
pub async fn complete(
    broker: Arc<Broker>,
    response: &mut ProduceResponse,
    pending: Vec<PendingAck>,
    timeout: Duration,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut expired = Vec::new();
    for wait in pending {
        let outcome = match tokio::time::timeout_at(deadline, wait.outcome).await {
            Ok(Ok(outcome)) => outcome.map_err(ack_error_code),
            // The replication state dropped the request without an answer: it stopped leading.
            Ok(Err(_)) => Err(ErrorCode::NotLeaderOrFollower),
            Err(_) => {
                expired.push(wait.request);
                Err(ErrorCode::RequestTimedOut)
            }
        };
        if let Err(code) = outcome {
            tracing::debug!(partition = %wait.topic_partition, error = code.name(), "acks=all produce failed");
            if let Some(partition) = response
                .responses
                .get_mut(wait.topic)
                .and_then(|topic| topic.partition_responses.get_mut(wait.partition))
            {
                partition.error_code = code.code();
                partition.error_message = Some(code.name().to_owned());
            }
        }
    }
    if !expired.is_empty() {
        let cancel = move || {
            broker.with_logs(|logs| {
                for request in expired {
                    logs.replication.cancel_ack(request);
                }
            })
        };
        if let Err(error) = tokio::task::spawn_blocking(cancel).await {
            tracing::warn!(%error, "cancelling timed-out produce waits failed");
        }
    }
}

fn ack_error_code(error: AckError) -> ErrorCode {
    match error {
        AckError::NotEnoughReplicas => ErrorCode::NotEnoughReplicas,
        AckError::NotEnoughReplicasAfterAppend => ErrorCode::NotEnoughReplicasAfterAppend,
        AckError::NotLeader => ErrorCode::NotLeaderOrFollower,
    }
}

/// What an append (or a recognised duplicate) answers.
struct Appended {
    base_offset: Offset,
    log_append_time: Option<Timestamp>,
    log_start_offset: Offset,
    /// For `acks=-1`: the wait for the ISR.
    wait: Option<(TopicPartition, RequestId, oneshot::Receiver<AckOutcome>)>,
}

/// A partition's answer, and its wait for the ISR if any.
type PartitionOutcome = (
    PartitionProduceResponse,
    Option<(TopicPartition, RequestId, oneshot::Receiver<AckOutcome>)>,
);

/// A refusal: the code and a message for the client.
type Refusal = (ErrorCode, String);

fn produce_partition(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    data: PartitionProduceData,
    acks: i16,
    effects: &mut Effects,
) -> PartitionOutcome {
    let index = data.index;
    match append(broker, image, topic, data, acks, effects) {
        Ok(appended) => {
            let response = PartitionProduceResponse {
                index,
                error_code: 0,
                base_offset: offset_to_wire(appended.base_offset),
                log_append_time_ms: appended.log_append_time.map_or(-1, |time| time.0),
                log_start_offset: offset_to_wire(appended.log_start_offset),
                ..PartitionProduceResponse::default()
            };
            (response, appended.wait)
        }
        Err((error_code, message)) => {
            tracing::debug!(
                topic,
                partition = index,
                error = error_code.name(),
                message,
                "produce refused"
            );
            let response = PartitionProduceResponse {
                index,
                error_code: error_code.code(),
                base_offset: -1,
                log_append_time_ms: -1,
                log_start_offset: -1,
                error_message: Some(message),
                ..PartitionProduceResponse::default()
            };
            (response, None)
        }
    }
}

fn append(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    data: PartitionProduceData,
    acks: i16,
    effects: &mut Effects,
) -> Result<Appended, Refusal> {
    if !matches!(acks, -1..=1) {
        return Err((
            ErrorCode::InvalidRequiredAcks,
            format!("acks must be -1, 0 or 1, not {acks}"),
        ));
    }
    let topic_partition = check_leader(broker, image, topic, data.index)
        .map_err(|code| (code, format!("{topic}-{} is not served here", data.index)))?;
    let Some(topic_image) = image.topic(topic) else {
        return Err((ErrorCode::UnknownTopicOrPartition, String::new()));
    };
    let topic_config = broker.topic_config(topic_image);
    let min_insync = usize::try_from(topic_config.min_insync_replicas).unwrap_or(usize::MAX);
    let batch = single_batch(data.records)?;
    let size_bytes = batch.as_bytes().len() as u64;
    if size_bytes > topic_config.max_message_bytes {
        return Err((
            ErrorCode::MessageTooLarge,
            format!(
                "batch of {size_bytes} bytes exceeds max.message.bytes {}",
                topic_config.max_message_bytes
            ),
        ));
    }
    let header = batch.header();
    if header.is_control() {
        return Err((
            ErrorCode::InvalidRecord,
            "clients may not produce control batches".to_owned(),
        ));
    }
    if header.is_transactional() {
        return Err((
            ErrorCode::InvalidTxnState,
            "transactions are not supported".to_owned(),
        ));
    }
    let checked = batch
        .check_for_append(DecodeLimits::default())
        .map_err(|error| (record_error_code(&error), error.to_string()))?;
    let now = now();
    if topic_config.message_timestamp_type == TimestampType::CreateTime {
        let before =
            i64::try_from(topic_config.message_timestamp_before_max_ms).unwrap_or(i64::MAX);
        let after = i64::try_from(topic_config.message_timestamp_after_max_ms).unwrap_or(i64::MAX);
        // Every record is in range exactly when the earliest and the latest are.
        let out_of_range = if now.0.saturating_sub(checked.min_timestamp.0) > before {
            Some(checked.min_timestamp)
        } else if checked.max_timestamp.0.saturating_sub(now.0) > after {
            Some(checked.max_timestamp)
        } else {
            None
        };
        if let Some(timestamp) = out_of_range {
            return Err((
                ErrorCode::InvalidTimestamp,
                format!("timestamp {} is out of range", timestamp.0),
            ));
        }
    }
    let mut batch = batch;
    let epoch = u32::try_from(leader_epoch(image, &topic_partition)).unwrap_or(0);
    batch.set_partition_leader_epoch(LeaderEpoch(epoch));
    let res = broker.with_logs(|logs| {
        let Some(log) = logs.manager.get_mut(&topic_partition) else {
            return Err((ErrorCode::UnknownTopicOrPartition, String::new()));
        };
        let Some(leader) = logs.replication.leader(&topic_partition) else {
            return Err((
                ErrorCode::NotLeaderOrFollower,
                format!("{topic_partition} is not led here"),
            ));
        };
        if acks == -1 && leader.check_min_insync(min_insync).is_err() {
            return Err((
                ErrorCode::NotEnoughReplicas,
                format!(
                    "min.insync.replicas is {min_insync} but the isr has {} members",
                    leader.isr().len()
                ),
            ));
        }
        let producers = logs.producers.entry(topic_partition.clone()).or_default();
        let mut header = batch.header().clone();
        let state_may_be_lost = header.producer_id.is_some()
            && (log.log_start_offset() > Offset(0) || log.segment_base_offsets().len() > 2);
        let appended = match producers.check(&header, state_may_be_lost) {
            Ok(SequenceCheck::Append) => {
                let info = log
                    .append(batch, now)
                    .map_err(|error| (log_error_code(&error), error.to_string()))?;
                header.base_offset = info.base_offset;
                producers.record(&header);
                logs.replication
                    .on_append(&topic_partition, log, time_ms(), effects)
                    .map_err(|error| (ErrorCode::UnknownServerError, error.to_string()))?;
                Appended {
                    base_offset: info.base_offset,
                    log_append_time: info.log_append_time,
                    log_start_offset: log.log_start_offset(),
                    wait: None,
                }
            }
            Ok(SequenceCheck::Duplicate { base_offset }) => Appended {
                base_offset,
                log_append_time: None,
                log_start_offset: log.log_start_offset(),
                wait: None,
            },
            Err(error) => return Err((sequence_error_code(error), error.to_string())),
        };
        if acks != -1 {
            return Ok(appended);
        }
        // The batch (or the original of a duplicate) is committed once the high watermark
        // passes its last offset.
        let required = Offset(appended.base_offset.0 + u64::from(header.last_offset_delta) + 1);
        let (request, outcome) = logs
            .replication
            .await_ack(&topic_partition, required, min_insync, log, effects)
            .map_err(|error| (ErrorCode::UnknownServerError, error.to_string()))?;
        Ok(Appended {
            wait: Some((topic_partition.clone(), request, outcome)),
            ..appended
        })
    });
    match res {
        Ok(res) => res,
        Err(error) => Err((broker_error_code(&error), error.to_string())),
    }
}

/// The one batch a partition's records must hold (Kafka requires exactly one for magic 2).
fn single_batch(records: Option<bytes::Bytes>) -> Result<ValidatedBatch, Refusal> {
    let Some(records) = records else {
        return Err((ErrorCode::CorruptMessage, "records are null".to_owned()));
    };
    let mut batches =
        split_batches(records).map_err(|error| (record_error_code(&error), error.to_string()))?;
    if batches.len() != 1 {
        return Err((
            ErrorCode::InvalidRecord,
            format!("expected exactly one record batch, got {}", batches.len()),
        ));
    }
    batches
        .pop()
        .ok_or_else(|| (ErrorCode::InvalidRecord, "no record batch".to_owned()))
}

fn sequence_error_code(error: SequenceError) -> ErrorCode {
    match error {
        SequenceError::StaleEpoch => ErrorCode::InvalidProducerEpoch,
        SequenceError::OutOfOrder => ErrorCode::OutOfOrderSequenceNumber,
        SequenceError::UnknownProducer => ErrorCode::UnknownProducerId,
    }
}
