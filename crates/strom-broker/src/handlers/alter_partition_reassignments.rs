//! AlterPartitionReassignments (45): starts, replaces or cancels (null replicas) the moves of
//! partitions to new replicas (KIP-455). The controller applies Kafka's rules per partition
//! (unknown partition `UNKNOWN_TOPIC_OR_PARTITION`, a bad target `INVALID_REPLICA_ASSIGNMENT`,
//! a cancel with nothing moving `NO_REASSIGNMENT_IN_PROGRESS`, and from v1 a target of another
//! size when `AllowReplicationFactorChange` is false `INVALID_REPLICATION_FACTOR`). A partition
//! named twice in one request is `INVALID_REQUEST`.
//!
//! The answer comes once the move is recorded, not when it completes: the brokers then copy the
//! data, and the controller completes the move when every target replica is in sync
//! (ListPartitionReassignments shows it until then).

use std::collections::BTreeMap;

use strom_metadata::{BrokerId, PartitionIndex, Reassignment};
use strom_protocol::ErrorCode;
use strom_protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse,
    ReassignablePartitionResponse, ReassignableTopicResponse,
};

use crate::broker::Broker;
use crate::handlers::{broker_error_code, metadata_error_code};

/// Answers an AlterPartitionReassignments request.
pub fn handle(
    broker: &Broker,
    request: AlterPartitionReassignmentsRequest,
    version: i16,
) -> AlterPartitionReassignmentsResponse {
    // Before v1 the field is absent and Kafka allows any change.
    let allow_replication_factor_change = version < 1 || request.allow_replication_factor_change;
    let mut counts: BTreeMap<(&str, i32), usize> = BTreeMap::new();
    for topic in &request.topics {
        for partition in &topic.partitions {
            *counts
                .entry((topic.name.as_str(), partition.partition_index))
                .or_default() += 1;
        }
    }
    // (topic position, partition position) of each planned reassignment.
    let mut planned: Vec<(usize, usize)> = Vec::new();
    let mut reassignments = Vec::new();
    let mut responses: Vec<ReassignableTopicResponse> = Vec::with_capacity(request.topics.len());
    for (topic_position, topic) in request.topics.iter().enumerate() {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for (partition_position, partition) in topic.partitions.iter().enumerate() {
            let refused = if counts
                .get(&(topic.name.as_str(), partition.partition_index))
                .copied()
                .unwrap_or(0)
                > 1
            {
                Some((
                    ErrorCode::InvalidRequest,
                    "the partition appears more than once in the request".to_owned(),
                ))
            } else if let Ok(index) = u32::try_from(partition.partition_index) {
                planned.push((topic_position, partition_position));
                reassignments.push(Reassignment {
                    topic: topic.name.clone(),
                    partition: PartitionIndex(index),
                    target: partition
                        .replicas
                        .as_ref()
                        .map(|replicas| replicas.iter().copied().map(BrokerId).collect()),
                    allow_replication_factor_change,
                });
                None
            } else {
                Some((
                    ErrorCode::UnknownTopicOrPartition,
                    format!("partition {} does not exist", partition.partition_index),
                ))
            };
            partitions.push(match refused {
                Some((code, message)) => result(partition.partition_index, code, Some(message)),
                None => result(partition.partition_index, ErrorCode::None, None),
            });
        }
        responses.push(ReassignableTopicResponse {
            name: topic.name.clone(),
            partitions,
            ..ReassignableTopicResponse::default()
        });
    }
    if !reassignments.is_empty() {
        let outcomes = broker.plane().alter_partition_reassignments(&reassignments);
        for (position, (topic_position, partition_position)) in planned.iter().enumerate() {
            let (code, message) = match &outcomes {
                Ok(outcomes) => match outcomes.get(position) {
                    Some(Ok(())) => (ErrorCode::None, None),
                    Some(Err(error)) => (metadata_error_code(error), Some(error.to_string())),
                    None => (
                        ErrorCode::UnknownServerError,
                        Some("the controller gave no result".to_owned()),
                    ),
                },
                Err(error) => (broker_error_code(error), Some(error.to_string())),
            };
            if let Some(entry) = responses
                .get_mut(*topic_position)
                .and_then(|topic| topic.partitions.get_mut(*partition_position))
            {
                entry.error_code = code.code();
                entry.error_message = message;
            }
        }
        match &outcomes {
            Ok(_) => {
                for reassignment in &reassignments {
                    tracing::info!(
                        topic = reassignment.topic,
                        partition = reassignment.partition.0,
                        target = ?reassignment.target,
                        "reassignment requested"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "reassigning partitions failed"),
        }
    }
    AlterPartitionReassignmentsResponse {
        allow_replication_factor_change,
        error_message: None,
        responses,
        ..AlterPartitionReassignmentsResponse::default()
    }
}

fn result(
    partition_index: i32,
    error_code: ErrorCode,
    error_message: Option<String>,
) -> ReassignablePartitionResponse {
    ReassignablePartitionResponse {
        partition_index,
        error_code: error_code.code(),
        error_message,
        ..ReassignablePartitionResponse::default()
    }
}
