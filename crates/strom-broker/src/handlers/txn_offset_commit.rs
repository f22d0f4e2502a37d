//! TxnOffsetCommit (28): offsets a transactional producer stages for a group; they become
//! visible when its transaction commits. Partitions of unknown topics get
//! `UNKNOWN_TOPIC_OR_PARTITION`, as in OffsetCommit. (Strom has no transaction coordinator yet,
//! so nothing completes these transactions; the coordinator stages and persists them.) The
//! answer waits for the writes to be replicated, as for OffsetCommit.

use std::sync::Arc;

use strom_group::{
    GenerationId, GroupId, GroupInstanceId, LeaderEpoch, MemberId, Offset, OffsetCommitPartition,
    ProducerId, TopicPartition,
};
use strom_protocol::messages::txn_offset_commit::{
    TxnOffsetCommitRequest, TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition,
    TxnOffsetCommitResponseTopic,
};

use crate::broker::Broker;
use crate::handlers::non_empty;
use crate::handlers::offset_commit::{PendingCommit, Requested, partition_exists};

/// Runs a TxnOffsetCommit request through the coordinator. Blocking.
pub fn handle(broker: &Broker, request: TxnOffsetCommitRequest, version: i16) -> PendingCommit {
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
    let with_member = version >= 3 && request.generation_id >= 0;
    let commit = strom_group::TxnOffsetCommitRequest {
        group_id: GroupId(request.group_id),
        producer_id: ProducerId(request.producer_id),
        generation_id: with_member.then_some(GenerationId(request.generation_id)),
        member_id: non_empty(request.member_id)
            .filter(|_| with_member)
            .map(MemberId),
        group_instance_id: request.group_instance_id.map(GroupInstanceId),
        partitions,
    };
    let res = broker
        .groups()
        .call_durable(broker, |coordinator, now| {
            coordinator.txn_offset_commit(commit, now)
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
pub async fn complete(broker: Arc<Broker>, pending: PendingCommit) -> TxnOffsetCommitResponse {
    TxnOffsetCommitResponse {
        topics: pending
            .results(broker)
            .await
            .into_iter()
            .map(|(name, partitions)| TxnOffsetCommitResponseTopic {
                name,
                partitions: partitions
                    .into_iter()
                    .map(
                        |(partition_index, error_code)| TxnOffsetCommitResponsePartition {
                            partition_index,
                            error_code,
                            ..TxnOffsetCommitResponsePartition::default()
                        },
                    )
                    .collect(),
                ..TxnOffsetCommitResponseTopic::default()
            })
            .collect(),
        ..TxnOffsetCommitResponse::default()
    }
}
