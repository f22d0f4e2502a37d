//! OffsetForLeaderEpoch (23): the end offset of a leader epoch, from the log's leader-epoch
//! cache. On one node every partition stays at epoch 0, written to the cache when the partition
//! is created, so a client asking about epoch 0 learns the log end offset.

use strom_metadata::MetadataImage;
use strom_protocol::ErrorCode;
use strom_protocol::messages::offset_for_leader_epoch::{
    EpochEndOffset, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse,
    OffsetForLeaderPartition, OffsetForLeaderTopicResult,
};
use strom_record::LeaderEpoch;

use crate::broker::Broker;
use crate::handlers::{broker_error_code, check_leader, check_leader_epoch, offset_to_wire};

/// Answers an OffsetForLeaderEpoch request.
pub fn handle(
    broker: &Broker,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let image = broker.image();
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|partition| {
                    end_offset(broker, &image, &topic.topic, partition).unwrap_or_else(
                        |error_code| EpochEndOffset {
                            error_code: error_code.code(),
                            partition: partition.partition,
                            ..EpochEndOffset::default()
                        },
                    )
                })
                .collect();
            OffsetForLeaderTopicResult {
                topic: topic.topic,
                partitions,
                ..OffsetForLeaderTopicResult::default()
            }
        })
        .collect();
    OffsetForLeaderEpochResponse {
        topics,
        ..OffsetForLeaderEpochResponse::default()
    }
}

fn end_offset(
    broker: &Broker,
    image: &MetadataImage,
    topic: &str,
    partition: &OffsetForLeaderPartition,
) -> Result<EpochEndOffset, ErrorCode> {
    let topic_partition = check_leader(broker, image, topic, partition.partition)?;
    check_leader_epoch(image, &topic_partition, partition.current_leader_epoch)?;
    let Ok(epoch) = u32::try_from(partition.leader_epoch) else {
        return Ok(EpochEndOffset {
            partition: partition.partition,
            ..EpochEndOffset::default()
        });
    };
    let found = broker
        .with_logs(|logs| {
            logs.manager
                .get(&topic_partition)
                .map(|log| log.end_offset_for_epoch(LeaderEpoch(epoch)))
        })
        .map_err(|error| broker_error_code(&error))?;
    let Some(found) = found else {
        return Err(ErrorCode::UnknownTopicOrPartition);
    };
    let (leader_epoch, end_offset) = match found {
        Some((epoch, offset)) => (
            i32::try_from(epoch.0).unwrap_or(i32::MAX),
            offset_to_wire(offset),
        ),
        None => (-1, -1),
    };
    Ok(EpochEndOffset {
        error_code: 0,
        partition: partition.partition,
        leader_epoch,
        end_offset,
        ..EpochEndOffset::default()
    })
}
