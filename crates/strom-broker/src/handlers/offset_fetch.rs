//! OffsetFetch (9), versions 1 to 9: one group (v1-7) or several (v8+), named partitions or,
//! with topics null (v2+), every committed one. Unknown groups and partitions answer offset `-1`
//! without an error, as Kafka does. Before v2 a group-level error is reported per partition.

use strom_group::{FetchedOffset, GroupError, GroupId, OffsetFetchGroup, TopicPartition};
use strom_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchResponse, OffsetFetchResponseGroup,
    OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// Answers an OffsetFetch request.
pub fn handle(broker: &Broker, request: OffsetFetchRequest, version: i16) -> OffsetFetchResponse {
    let groups: Vec<OffsetFetchGroup> = if version >= 8 {
        request
            .groups
            .into_iter()
            .map(|group| OffsetFetchGroup {
                group_id: GroupId(group.group_id),
                partitions: group.topics.map(|topics| {
                    partitions(
                        topics
                            .into_iter()
                            .map(|topic| (topic.name, topic.partition_indexes)),
                    )
                }),
            })
            .collect()
    } else {
        vec![OffsetFetchGroup {
            group_id: GroupId(request.group_id),
            partitions: request.topics.map(|topics| {
                partitions(
                    topics
                        .into_iter()
                        .map(|topic| (topic.name, topic.partition_indexes)),
                )
            }),
        }]
    };
    let fetch = strom_group::OffsetFetchRequest {
        groups,
        require_stable: request.require_stable,
    };
    let response = broker
        .groups()
        .read(|coordinator| coordinator.offset_fetch(&fetch));
    if version >= 8 {
        return OffsetFetchResponse {
            groups: response
                .groups
                .into_iter()
                .map(|group| OffsetFetchResponseGroup {
                    group_id: group.group_id.0,
                    error_code: group_error_code_of(group.error),
                    topics: by_topic(group.partitions)
                        .into_iter()
                        .map(|(name, partitions)| OffsetFetchResponseTopics {
                            name,
                            partitions: partitions
                                .into_iter()
                                .map(|partition| OffsetFetchResponsePartitions {
                                    partition_index: partition.topic_partition.partition.0,
                                    committed_offset: committed_offset(&partition),
                                    committed_leader_epoch: committed_leader_epoch(&partition),
                                    metadata: Some(partition.metadata.unwrap_or_default()),
                                    error_code: group_error_code_of(partition.error),
                                    ..OffsetFetchResponsePartitions::default()
                                })
                                .collect(),
                            ..OffsetFetchResponseTopics::default()
                        })
                        .collect(),
                    ..OffsetFetchResponseGroup::default()
                })
                .collect(),
            ..OffsetFetchResponse::default()
        };
    }
    let (error, partitions) = match response.groups.into_iter().next() {
        Some(group) => (group.error, group.partitions),
        None => (Some(GroupError::CoordinatorNotAvailable), Vec::new()),
    };
    OffsetFetchResponse {
        error_code: group_error_code_of(error),
        topics: by_topic(partitions)
            .into_iter()
            .map(|(name, partitions)| OffsetFetchResponseTopic {
                name,
                partitions: partitions
                    .into_iter()
                    .map(|partition| OffsetFetchResponsePartition {
                        partition_index: partition.topic_partition.partition.0,
                        committed_offset: committed_offset(&partition),
                        committed_leader_epoch: committed_leader_epoch(&partition),
                        error_code: group_error_code_of(partition.error.or(if version < 2 {
                            error
                        } else {
                            None
                        })),
                        metadata: Some(partition.metadata.unwrap_or_default()),
                        ..OffsetFetchResponsePartition::default()
                    })
                    .collect(),
                ..OffsetFetchResponseTopic::default()
            })
            .collect(),
        ..OffsetFetchResponse::default()
    }
}

fn partitions(topics: impl Iterator<Item = (String, Vec<i32>)>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(name, indexes)| {
            indexes
                .into_iter()
                .map(move |index| TopicPartition::new(name.clone(), index))
        })
        .collect()
}

/// Partitions grouped by topic, topics in order of first appearance.
fn by_topic(partitions: Vec<FetchedOffset>) -> Vec<(String, Vec<FetchedOffset>)> {
    let mut res: Vec<(String, Vec<FetchedOffset>)> = Vec::new();
    for partition in partitions {
        match res
            .iter_mut()
            .find(|(name, _)| *name == partition.topic_partition.topic)
        {
            Some((_, list)) => list.push(partition),
            None => res.push((partition.topic_partition.topic.clone(), vec![partition])),
        }
    }
    res
}

fn committed_offset(partition: &FetchedOffset) -> i64 {
    partition.committed_offset.map_or(-1, |offset| offset.0)
}

fn committed_leader_epoch(partition: &FetchedOffset) -> i32 {
    partition.committed_leader_epoch.map_or(-1, |epoch| epoch.0)
}
