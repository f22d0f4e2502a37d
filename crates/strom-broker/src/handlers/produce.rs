//! Produce (0): validate each partition's batch (magic 2, lengths, CRC, record framing, size,
//! timestamps), check idempotent producers' sequence numbers, append, and answer with the base
//! offset. A partition's batch is appended whole or not at all. With one replica, `acks=-1`
//! completes once the batch is appended (the high watermark moves with the log end), unless the
//! topic's `min.insync.replicas` exceeds the single replica (`NOT_ENOUGH_REPLICAS`).
//!
//! Not handled here: `acks=0` gets no response (the dispatcher drops it); transactions are not
//! implemented, so transactional and control batches are refused.

use strom_metadata::MetadataImage;
use strom_protocol::ErrorCode;
use strom_protocol::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
    TopicProduceResponse,
};
use strom_record::{DecodeLimits, LeaderEpoch, Offset, Timestamp, ValidatedBatch, split_batches};

use crate::broker::{Broker, now};
use crate::config::TimestampType;
use crate::handlers::{
    broker_error_code, check_leader, leader_epoch, log_error_code, offset_to_wire,
    record_error_code,
};
use crate::producer_state::{SequenceCheck, SequenceError};

/// Answers a Produce request (also run for `acks=0`, whose answer is dropped).
pub fn handle(broker: &Broker, request: ProduceRequest) -> ProduceResponse {
    let image = broker.image();
    let acks = request.acks;
    let responses = request
        .topic_data
        .into_iter()
        .map(|topic| {
            let partition_responses = topic
                .partition_data
                .into_iter()
                .map(|data| produce_partition(broker, &image, &topic.name, data, acks))
                .collect();
            TopicProduceResponse {
                name: topic.name,
                partition_responses,
                ..TopicProduceResponse::default()
            }
        })
        .collect();
    ProduceResponse {
        responses,
        ..ProduceResponse::default()
    }
}

/// What an append (or a recognised duplicate) answers.
struct Appended {
    base_offset: Offset,
    log_append_time: Option<Timestamp>,
    log_start_offset: Offset,
}

/// A refusal: the code and a message for the client.
type Refusal = (ErrorCode, String);

fn produce_partition(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    data: PartitionProduceData,
    acks: i16,
) -> PartitionProduceResponse {
    let index = data.index;
    match append(broker, image, topic, data, acks) {
        Ok(appended) => PartitionProduceResponse {
            index,
            error_code: 0,
            base_offset: offset_to_wire(appended.base_offset),
            log_append_time_ms: appended.log_append_time.map_or(-1, |time| time.0),
            log_start_offset: offset_to_wire(appended.log_start_offset),
            ..PartitionProduceResponse::default()
        },
        Err((error_code, message)) => {
            tracing::debug!(
                topic,
                partition = index,
                error = error_code.name(),
                message,
                "produce refused"
            );
            PartitionProduceResponse {
                index,
                error_code: error_code.code(),
                base_offset: -1,
                log_append_time_ms: -1,
                log_start_offset: -1,
                error_message: Some(message),
                ..PartitionProduceResponse::default()
            }
        }
    }
}

fn append(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    data: PartitionProduceData,
    acks: i16,
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
    // One node is the only replica: the ISR has one member.
    if acks == -1 && topic_config.min_insync_replicas > 1 {
        return Err((
            ErrorCode::NotEnoughReplicas,
            format!(
                "min.insync.replicas is {} but the partition has one in-sync replica",
                topic_config.min_insync_replicas
            ),
        ));
    }
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
        let producers = logs.producers.entry(topic_partition.clone()).or_default();
        let mut header = batch.header().clone();
        let state_may_be_lost = header.producer_id.is_some()
            && (log.log_start_offset() > Offset(0) || log.segment_base_offsets().len() > 2);
        match producers.check(&header, state_may_be_lost) {
            Ok(SequenceCheck::Append) => {}
            Ok(SequenceCheck::Duplicate { base_offset }) => {
                return Ok((
                    Appended {
                        base_offset,
                        log_append_time: None,
                        log_start_offset: log.log_start_offset(),
                    },
                    None,
                ));
            }
            Err(error) => return Err((sequence_error_code(error), error.to_string())),
        }
        let info = log
            .append(batch, now)
            .map_err(|error| (log_error_code(&error), error.to_string()))?;
        header.base_offset = info.base_offset;
        producers.record(&header);
        let high_watermark = log.log_end_offset();
        log.set_high_watermark(high_watermark);
        Ok((
            Appended {
                base_offset: info.base_offset,
                log_append_time: info.log_append_time,
                log_start_offset: log.log_start_offset(),
            },
            Some(high_watermark),
        ))
    });
    let (appended, moved) = match res {
        Ok(res) => res?,
        Err(error) => return Err((broker_error_code(&error), error.to_string())),
    };
    if let Some(high_watermark) = moved {
        broker.notify_high_watermark(&topic_partition, high_watermark);
    }
    Ok(appended)
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
