//! ElectLeaders (43): preferred or unclean leader elections for named partitions (or all of
//! them when `TopicPartitions` is null), run by the active controller (KIP-183, KIP-460).
//!
//! Per-partition codes: `ELECTION_NOT_NEEDED` when the partition already has the leader the
//! election would choose, `PREFERRED_LEADER_NOT_AVAILABLE`, `ELIGIBLE_LEADERS_NOT_AVAILABLE`,
//! `UNKNOWN_TOPIC_OR_PARTITION`. As in Kafka, a request for every partition leaves out those
//! whose election was not needed, a partition named twice is elected and answered once, and a
//! request that fails as a whole (no controller, unknown election type) carries the error on
//! every named partition and, from v1, in the top-level `ErrorCode`. Cluster authorization is
//! not checked.

use std::collections::HashSet;

use strom_metadata::{Election, ElectionType, PartitionIndex};
use strom_protocol::ErrorCode;
use strom_protocol::messages::elect_leaders::{
    ElectLeadersPartitionResult, ElectLeadersRequest, ElectLeadersResponse, ReplicaElectionResult,
};

use crate::broker::Broker;
use crate::handlers::broker_error_code;

/// Answers an ElectLeaders request.
pub fn handle(broker: &Broker, request: ElectLeadersRequest, version: i16) -> ElectLeadersResponse {
    let election = match (version, request.election_type) {
        (0, _) | (_, 0) => ElectionType::Preferred,
        (_, 1) => ElectionType::Unclean,
        (_, other) => {
            return failed(
                &request,
                ErrorCode::InvalidRequest,
                &format!("unknown election type {other}"),
            );
        }
    };
    let mut results: Vec<ReplicaElectionResult> = Vec::new();
    let mut named: Vec<(String, PartitionIndex)> = Vec::new();
    // Negative partition indexes, answered after the others.
    let mut negative: Vec<(&str, i32)> = Vec::new();
    let mut seen = HashSet::new();
    if let Some(topics) = &request.topic_partitions {
        for topic in topics {
            for partition in &topic.partitions {
                if !seen.insert((topic.topic.as_str(), *partition)) {
                    continue;
                }
                match u32::try_from(*partition) {
                    Ok(index) => named.push((topic.topic.clone(), PartitionIndex(index))),
                    Err(_) => negative.push((&topic.topic, *partition)),
                }
            }
        }
    }
    let all = request.topic_partitions.is_none();
    let partitions = (!all).then_some(named.as_slice());
    match broker.plane().elect_leaders(election, partitions) {
        Ok(elections) => {
            for election in elections {
                let index = i32::try_from(election.partition.0).unwrap_or(i32::MAX);
                let (code, message) = match election.election {
                    Election::Elected(_) => (ErrorCode::None, None),
                    Election::NotNeeded if all => continue,
                    Election::NotNeeded => (
                        ErrorCode::ElectionNotNeeded,
                        Some("the partition already has the leader the election would choose"),
                    ),
                    Election::PreferredLeaderNotAvailable => (
                        ErrorCode::PreferredLeaderNotAvailable,
                        Some("the preferred replica is fenced or not in the isr"),
                    ),
                    Election::EligibleLeadersNotAvailable => (
                        ErrorCode::EligibleLeadersNotAvailable,
                        Some("no replica of the partition is live"),
                    ),
                    Election::UnknownTopicOrPartition => (
                        ErrorCode::UnknownTopicOrPartition,
                        Some("no such topic or partition"),
                    ),
                };
                push(
                    &mut results,
                    &election.topic,
                    index,
                    code,
                    message.map(str::to_owned),
                );
            }
            for (topic, partition) in negative {
                push(
                    &mut results,
                    topic,
                    partition,
                    ErrorCode::UnknownTopicOrPartition,
                    Some("partition indexes are not negative".to_owned()),
                );
            }
            ElectLeadersResponse {
                replica_election_results: results,
                ..ElectLeadersResponse::default()
            }
        }
        Err(error) => {
            tracing::warn!(%error, "electing leaders failed");
            failed(&request, broker_error_code(&error), &error.to_string())
        }
    }
}

/// The answer to a request that failed as a whole: `code` on every named partition and at the
/// top level (which only v1+ carries).
fn failed(request: &ElectLeadersRequest, code: ErrorCode, message: &str) -> ElectLeadersResponse {
    let mut results = Vec::new();
    for topic in request.topic_partitions.iter().flatten() {
        for partition in &topic.partitions {
            push(
                &mut results,
                &topic.topic,
                *partition,
                code,
                Some(message.to_owned()),
            );
        }
    }
    ElectLeadersResponse {
        error_code: code.code(),
        replica_election_results: results,
        ..ElectLeadersResponse::default()
    }
}

/// Adds a partition's result under its topic's entry (made on first use, in order).
fn push(
    results: &mut Vec<ReplicaElectionResult>,
    topic: &str,
    partition: i32,
    code: ErrorCode,
    message: Option<String>,
) {
    let result = ElectLeadersPartitionResult {
        partition_id: partition,
        error_code: code.code(),
        error_message: message,
        ..ElectLeadersPartitionResult::default()
    };
    match results.iter_mut().find(|entry| entry.topic == topic) {
        Some(entry) => entry.partition_result.push(result),
        None => results.push(ReplicaElectionResult {
            topic: topic.to_owned(),
            partition_result: vec![result],
            ..ReplicaElectionResult::default()
        }),
    }
}
