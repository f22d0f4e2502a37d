//! OffsetDelete (47): removes a group's committed offsets for partitions it does not consume.

use strom_group::{GroupId, TopicPartition};
use strom_protocol::messages::offset_delete::{
    OffsetDeleteRequest, OffsetDeleteResponse, OffsetDeleteResponsePartition,
    OffsetDeleteResponseTopic,
};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// Answers an OffsetDelete request.
pub fn handle(broker: &Broker, request: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let partitions: Vec<TopicPartition> = request
        .topics
        .iter()
        .flat_map(|topic| {
            topic
                .partitions
                .iter()
                .map(|partition| TopicPartition::new(topic.name.clone(), partition.partition_index))
        })
        .collect();
    let delete = strom_group::OffsetDeleteRequest {
        group_id: GroupId(request.group_id),
        partitions,
    };
    let response = match broker.groups().call(broker, |coordinator, now| {
        coordinator.offset_delete(delete, now)
    }) {
        Ok(response) => response,
        Err(error) => strom_group::OffsetDeleteResponse {
            error: Some(error),
            partitions: Vec::new(),
        },
    };
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for result in response.partitions {
        let partition = OffsetDeleteResponsePartition {
            partition_index: result.topic_partition.partition.0,
            error_code: group_error_code_of(result.error),
            ..OffsetDeleteResponsePartition::default()
        };
        match topics
            .iter_mut()
            .find(|topic| topic.name == result.topic_partition.topic)
        {
            Some(topic) => topic.partitions.push(partition),
            None => topics.push(OffsetDeleteResponseTopic {
                name: result.topic_partition.topic,
                partitions: vec![partition],
                ..OffsetDeleteResponseTopic::default()
            }),
        }
    }
    OffsetDeleteResponse {
        error_code: group_error_code_of(response.error),
        topics,
        ..OffsetDeleteResponse::default()
    }
}
