//! ListOffsets (2): earliest (-2) and earliest-local (-4) are the log start offset, latest (-1)
//! the high watermark, max timestamp (-3) the first record with the largest timestamp, and any
//! other timestamp the first record whose timestamp is at or after it (offset -1 when none).
//! `read_committed` behaves as `read_uncommitted`: there are no transactions yet.

use strom_protocol::ErrorCode;
use strom_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse,
    ListOffsetsTopicResponse,
};
use strom_record::Timestamp;

use crate::broker::Broker;
use crate::handlers::{
    broker_error_code, check_leader, check_leader_epoch, leader_epoch, log_error_code,
    offset_to_wire,
};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

/// Answers a ListOffsets request.
pub fn handle(broker: &Broker, request: ListOffsetsRequest) -> ListOffsetsResponse {
    let image = broker.image();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    list_partition(broker, &image, &topic.name, partition).unwrap_or_else(
                        |error_code| ListOffsetsPartitionResponse {
                            partition_index: partition.partition_index,
                            error_code: error_code.code(),
                            ..ListOffsetsPartitionResponse::default()
                        },
                    )
                })
                .collect();
            ListOffsetsTopicResponse {
                name: topic.name,
                partitions,
                ..ListOffsetsTopicResponse::default()
            }
        })
        .collect();
    ListOffsetsResponse {
        topics,
        ..ListOffsetsResponse::default()
    }
}

fn list_partition(
    broker: &Broker,
    image: &strom_metadata::MetadataImage,
    topic: &str,
    partition: &ListOffsetsPartition,
) -> Result<ListOffsetsPartitionResponse, ErrorCode> {
    let topic_partition = check_leader(broker, image, topic, partition.partition_index)?;
    check_leader_epoch(image, &topic_partition, partition.current_leader_epoch)?;
    let found = broker.with_logs(|logs| {
        let Some(log) = logs.manager.get(&topic_partition) else {
            return Err(ErrorCode::UnknownTopicOrPartition);
        };
        let found = match partition.timestamp {
            LATEST => Some((log.high_watermark(), None)),
            EARLIEST | EARLIEST_LOCAL => Some((log.log_start_offset(), None)),
            MAX_TIMESTAMP => log
                .max_timestamp_offset()
                .map_err(|error| log_error_code(&error))?
                .map(|(offset, timestamp)| (offset, Some(timestamp))),
            timestamp if timestamp < 0 => return Err(ErrorCode::InvalidRequest),
            timestamp => log
                .offset_for_timestamp(Timestamp(timestamp))
                .map_err(|error| log_error_code(&error))?
                .map(|(offset, timestamp)| (offset, Some(timestamp))),
        };
        Ok(found)
    });
    let found = match found {
        Ok(found) => found?,
        Err(error) => return Err(broker_error_code(&error)),
    };
    let (offset, timestamp) = match found {
        Some((offset, timestamp)) => (offset_to_wire(offset), timestamp.map_or(-1, |t| t.0)),
        None => (-1, -1),
    };
    Ok(ListOffsetsPartitionResponse {
        partition_index: partition.partition_index,
        error_code: 0,
        timestamp,
        offset,
        leader_epoch: leader_epoch(image, &topic_partition),
        ..ListOffsetsPartitionResponse::default()
    })
}
