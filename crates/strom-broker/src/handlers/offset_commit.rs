//! OffsetCommit (8), versions 2 to 9: partitions of unknown topics get
//! `UNKNOWN_TOPIC_OR_PARTITION` here, as Kafka's request handler answers them; the rest go to the
//! coordinator, which checks the member and generation (`-1` and an empty member id mean a
//! simple consumer) and persists the offsets. [`handle`] runs the coordinator (blocking);
//! [`complete`] sends the answer once the offsets are replicated to the ISR of their
//! `__consumer_offsets` partition (`COORDINATOR_NOT_AVAILABLE` or `NOT_COORDINATOR` if that
//! fails, as Kafka answers).

use std::sync::Arc;

use strom_group::{
    GenerationId, GroupError, GroupId, GroupInstanceId, LeaderEpoch, MemberId, Offset,
    OffsetCommitPartition, PartitionResult, TopicPartition,
};
use strom_metadata::{MetadataImage, PartitionIndex};
use strom_protocol::ErrorCode;
use strom_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetCommitResponsePartition,
    OffsetCommitResponseTopic,
};

use crate::broker::Broker;
use crate::groups::Durable;
use crate::handlers::{group_error_code_of, non_empty};

/// A commit the coordinator took (or refused): its answer goes out once its writes are
/// replicated (`complete`).
#[derive(Debug)]
pub struct PendingCommit {
    /// The requested topics' names, in request order.
    pub(crate) names: Vec<String>,
    /// Every requested partition, in request order.
    pub(crate) requested: Vec<Requested>,
    /// The coordinator's answers and the wait for their writes, or the error of the call.
    pub(crate) res: Result<(Vec<PartitionResult>, Durable), GroupError>,
}

impl PendingCommit {
    /// Waits for the writes; every requested partition's error code, grouped by topic in
    /// request order.
    pub(crate) async fn results(self, broker: Arc<Broker>) -> Vec<(String, Vec<(i32, i16)>)> {
        let res = match self.res {
            Ok((results, durable)) => durable.wait(broker).await.map(|()| results),
            Err(error) => Err(error),
        };
        commit_results(&self.names, &self.requested, res)
    }
}

/// One partition of a commit request, in request order: its topic's position in the request,
/// its number, and whether it exists (only existing ones reach the coordinator).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Requested {
    /// Index of its topic in the request.
    pub topic_index: usize,
    /// The partition number.
    pub partition: i32,
    /// Whether the partition exists.
    pub exists: bool,
}

/// Runs an OffsetCommit request through the coordinator. Blocking.
pub fn handle(broker: &Broker, request: OffsetCommitRequest, version: i16) -> PendingCommit {
    let image = broker.image();
    let mut requested = Vec::new();
    let mut partitions = Vec::new();
    for (topic_index, topic) in request.topics.iter().enumerate() {
        for partition in &topic.partitions {
            let exists = partition_exists(&image, &topic.name, partition.partition_index);
            requested.push(Requested {
                topic_index,
                partition: partition.partition_index,
                exists,
            });
            if exists {
                partitions.push(OffsetCommitPartition {
                    topic_partition: TopicPartition::new(
                        topic.name.clone(),
                        partition.partition_index,
                    ),
                    committed_offset: Offset(partition.committed_offset),
                    committed_leader_epoch: (partition.committed_leader_epoch >= 0)
                        .then_some(LeaderEpoch(partition.committed_leader_epoch)),
                    committed_metadata: partition.committed_metadata.clone(),
                });
            }
        }
    }
    let commit = strom_group::OffsetCommitRequest {
        group_id: GroupId(request.group_id),
        generation_id: (request.generation_id_or_member_epoch >= 0)
            .then_some(GenerationId(request.generation_id_or_member_epoch)),
        member_id: non_empty(request.member_id).map(MemberId),
        group_instance_id: request.group_instance_id.map(GroupInstanceId),
        retention_time_ms: if (2..=4).contains(&version) {
            u64::try_from(request.retention_time_ms).ok()
        } else {
            None
        },
        partitions,
    };
    let res = broker
        .groups()
        .call_durable(broker, |coordinator, now| {
            coordinator.offset_commit(commit, now)
        })
        .map(|(response, durable)| (response.partitions, durable));
    PendingCommit {
        names: request.topics.into_iter().map(|topic| topic.name).collect(),
        requested,
        res,
    }
}

/// Waits until the committed offsets are replicated (at most `offsets.commit.timeout.ms`) and
/// answers.
pub async fn complete(broker: Arc<Broker>, pending: PendingCommit) -> OffsetCommitResponse {
    OffsetCommitResponse {
        topics: pending
            .results(broker)
            .await
            .into_iter()
            .map(|(name, partitions)| OffsetCommitResponseTopic {
                name,
                partitions: partitions
                    .into_iter()
                    .map(
                        |(partition_index, error_code)| OffsetCommitResponsePartition {
                            partition_index,
                            error_code,
                            ..OffsetCommitResponsePartition::default()
                        },
                    )
                    .collect(),
                ..OffsetCommitResponseTopic::default()
            })
            .collect(),
        ..OffsetCommitResponse::default()
    }
}

/// Whether `topic` has partition `partition`.
pub(crate) fn partition_exists(image: &MetadataImage, topic: &str, partition: i32) -> bool {
    let Ok(index) = u32::try_from(partition) else {
        return false;
    };
    image
        .topic(topic)
        .is_some_and(|topic| topic.partition(PartitionIndex(index)).is_some())
}

/// Every requested partition's error code, grouped by topic in request order: refused ones get
/// `UNKNOWN_TOPIC_OR_PARTITION`, the others the coordinator's results in order (or the error
/// that failed the whole call).
pub(crate) fn commit_results(
    names: &[String],
    requested: &[Requested],
    res: Result<Vec<PartitionResult>, GroupError>,
) -> Vec<(String, Vec<(i32, i16)>)> {
    let mut topics: Vec<(String, Vec<(i32, i16)>)> = names
        .iter()
        .map(|name| (name.clone(), Vec::new()))
        .collect();
    let (mut results, failed) = match res {
        Ok(results) => (results.into_iter(), None),
        Err(error) => (Vec::new().into_iter(), Some(error)),
    };
    for entry in requested {
        let error_code = if !entry.exists {
            ErrorCode::UnknownTopicOrPartition.code()
        } else if let Some(error) = failed {
            group_error_code_of(Some(error))
        } else {
            // The coordinator answers every partition it was given, in order.
            group_error_code_of(results.next().and_then(|result| result.error))
        };
        if let Some((_, partitions)) = topics.get_mut(entry.topic_index) {
            partitions.push((entry.partition, error_code));
        }
    }
    topics
}
