//! DeleteRecords (21): per partition, moves the log start offset up to the requested offset
//! (`-1` means the high watermark) and answers the new low watermark. An offset beyond the high
//! watermark, or negative other than `-1`, is `OFFSET_OUT_OF_RANGE`; a topic whose cleanup policy
//! does not include `delete` is `POLICY_VIOLATION`, as in Kafka.
//!
//! It frees no disk space itself: segments wholly below the new log start offset go with the
//! next retention pass. Records below it are no longer served at once.

use strom_protocol::ErrorCode;
use strom_protocol::messages::delete_records::{
    DeleteRecordsPartition, DeleteRecordsPartitionResult, DeleteRecordsRequest,
    DeleteRecordsResponse, DeleteRecordsTopicResult,
};
use strom_record::Offset;

use crate::broker::Broker;
use crate::handlers::{broker_error_code, check_leader, log_error_code, offset_to_wire};

/// Kafka's "up to the high watermark" offset.
const HIGH_WATERMARK: i64 = -1;

/// Answers a DeleteRecords request.
pub fn handle(broker: &Broker, request: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let image = broker.image();
    let topics = request
        .topics
        .iter()
        .map(|topic| DeleteRecordsTopicResult {
            name: topic.name.clone(),
            partitions: topic
                .partitions
                .iter()
                .map(|partition| {
                    let res = check_leader(broker, &image, &topic.name, partition.partition_index)
                        .and_then(|topic_partition| delete(broker, &topic_partition, partition));
                    let (low_watermark, error_code) = match res {
                        Ok(low_watermark) => (offset_to_wire(low_watermark), ErrorCode::None),
                        Err(error_code) => (-1, error_code),
                    };
                    DeleteRecordsPartitionResult {
                        partition_index: partition.partition_index,
                        low_watermark,
                        error_code: error_code.code(),
                        ..DeleteRecordsPartitionResult::default()
                    }
                })
                .collect(),
            ..DeleteRecordsTopicResult::default()
        })
        .collect();
    DeleteRecordsResponse {
        topics,
        ..DeleteRecordsResponse::default()
    }
}

/// Deletes one partition's records before the requested offset; the new log start offset.
fn delete(
    broker: &Broker,
    topic_partition: &strom_log::TopicPartition,
    partition: &DeleteRecordsPartition,
) -> Result<Offset, ErrorCode> {
    let res = broker.with_logs(|logs| {
        let Some(log) = logs.manager.get_mut(topic_partition) else {
            return Err(ErrorCode::UnknownTopicOrPartition);
        };
        if log.config().cleanup_policy == strom_log::CleanupPolicy::Compact {
            return Err(ErrorCode::PolicyViolation);
        }
        let before = match partition.offset {
            HIGH_WATERMARK => log.high_watermark(),
            offset => match u64::try_from(offset) {
                Ok(offset) => Offset(offset),
                Err(_) => return Err(ErrorCode::OffsetOutOfRange),
            },
        };
        match log.delete_records_before(before) {
            Ok(log_start_offset) => Ok(log_start_offset),
            Err(error) => {
                if !matches!(error, strom_log::Error::OffsetOutOfRange { .. }) {
                    tracing::warn!(partition = %topic_partition, %error, "deleting records failed");
                }
                Err(log_error_code(&error))
            }
        }
    });
    match res {
        Ok(res) => res,
        Err(error) => Err(broker_error_code(&error)),
    }
}
