//! ListPartitionReassignments (46): the partition moves in progress, from this broker's metadata
//! image (all of them for null topics, else the named partitions that are moving; unknown ones
//! are left out, as Kafka does). On a single node nothing ever moves, so the list is empty.

use std::collections::BTreeMap;

use strom_metadata::{PartitionIndex, ongoing_reassignments};
use strom_protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    OngoingPartitionReassignment, OngoingTopicReassignment,
};

use crate::broker::Broker;

/// Answers a ListPartitionReassignments request.
pub fn handle(
    broker: &Broker,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let asked: Option<Vec<(String, PartitionIndex)>> = request.topics.map(|topics| {
        topics
            .iter()
            .flat_map(|topic| {
                topic
                    .partition_indexes
                    .iter()
                    .filter_map(|index| u32::try_from(*index).ok())
                    .map(|index| (topic.name.clone(), PartitionIndex(index)))
            })
            .collect()
    });
    let image = broker.image();
    // One entry per topic, even when the request names a topic's partitions apart.
    let mut topics: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
    for ongoing in ongoing_reassignments(&image, asked.as_deref()) {
        topics
            .entry(ongoing.topic)
            .or_default()
            .push(OngoingPartitionReassignment {
                partition_index: i32::try_from(ongoing.partition.0).unwrap_or(i32::MAX),
                replicas: ongoing.replicas.iter().map(|id| id.0).collect(),
                adding_replicas: ongoing.adding_replicas.iter().map(|id| id.0).collect(),
                removing_replicas: ongoing.removing_replicas.iter().map(|id| id.0).collect(),
                ..OngoingPartitionReassignment::default()
            });
    }
    ListPartitionReassignmentsResponse {
        error_message: None,
        topics: topics
            .into_iter()
            .map(|(name, partitions)| OngoingTopicReassignment {
                name,
                partitions,
                ..OngoingTopicReassignment::default()
            })
            .collect(),
        ..ListPartitionReassignmentsResponse::default()
    }
}
