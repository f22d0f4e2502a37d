//! CreatePartitions (37): grows topics to a new partition count. A topic named twice in one
//! request is `INVALID_REQUEST`; the metadata controller applies Kafka's other rules (unknown
//! topic `UNKNOWN_TOPIC_OR_PARTITION`, a count that does not grow the topic `INVALID_PARTITIONS`,
//! explicit assignments that do not fit `INVALID_REPLICA_ASSIGNMENT`). Unless `validate_only`,
//! the new partitions' logs are created before the answer goes out.
//!
//! It does not move or reassign existing partitions (that is AlterPartitionReassignments).

use std::collections::HashMap;

use strom_metadata::{BrokerId, CreatePartitions, Mode};
use strom_protocol::ErrorCode;
use strom_protocol::messages::create_partitions::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreatePartitionsTopic,
    CreatePartitionsTopicResult,
};

use crate::Error;
use crate::broker::Broker;
use crate::handlers::{broker_error_code, metadata_error_code};

/// The replicas of each new partition of one grown topic, or why it was not grown.
pub type GrowResult = Result<Vec<Vec<BrokerId>>, strom_metadata::Error>;

/// Answers a CreatePartitions request.
pub fn handle(broker: &Broker, request: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mode = if request.validate_only {
        Mode::ValidateOnly
    } else {
        Mode::Apply
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.as_str()).or_default() += 1;
    }
    let mut results: Vec<CreatePartitionsTopicResult> = request
        .topics
        .iter()
        .map(|topic| result(&topic.name, ErrorCode::None, None))
        .collect();
    let mut planned: Vec<(usize, CreatePartitions)> = Vec::new();
    for (index, topic) in request.topics.iter().enumerate() {
        if counts.get(topic.name.as_str()).copied().unwrap_or(0) > 1 {
            results[index] = result(
                &topic.name,
                ErrorCode::InvalidRequest,
                Some(format!(
                    "topic {} appears more than once in the request",
                    topic.name
                )),
            );
            continue;
        }
        planned.push((index, plan(topic)));
    }
    let requests: Vec<CreatePartitions> =
        planned.iter().map(|(_, request)| request.clone()).collect();
    match broker.create_partitions(&requests, mode) {
        Ok(outcomes) => {
            for ((index, request), outcome) in planned.iter().zip(outcomes) {
                if let Err(error) = outcome {
                    results[*index] = result(
                        &request.name,
                        metadata_error_code(&error),
                        Some(error.to_string()),
                    );
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "creating partitions failed");
            for (index, request) in &planned {
                results[*index] = result(
                    &request.name,
                    broker_error_code(&error),
                    Some(error.to_string()),
                );
            }
        }
    }
    CreatePartitionsResponse {
        results,
        ..CreatePartitionsResponse::default()
    }
}

impl Broker {
    /// Grows topics in the metadata log and, unless only validating, creates the logs of their
    /// new partitions. Blocking. The outer error is a storage failure; each topic has its own
    /// result.
    pub fn create_partitions(
        &self,
        requests: &[CreatePartitions],
        mode: Mode,
    ) -> Result<Vec<GrowResult>, Error> {
        let before = self.image();
        let res = self.plane().create_partitions(requests, mode)?;
        let image = self.image();
        if mode == Mode::ValidateOnly {
            return Ok(res);
        }
        for (request, outcome) in requests.iter().zip(&res) {
            if outcome.is_err() {
                continue;
            }
            let Some(topic) = image.topic(&request.name) else {
                continue;
            };
            let first = before
                .topic(&request.name)
                .map_or(0, |topic| topic.partition_count());
            self.open_partitions(topic, first)?;
            tracing::info!(
                topic = request.name,
                from = first,
                to = topic.partition_count(),
                "partitions added"
            );
        }
        Ok(res)
    }
}

fn plan(topic: &CreatePartitionsTopic) -> CreatePartitions {
    // An empty list is how some clients say "no explicit assignments".
    let assignments = topic
        .assignments
        .as_ref()
        .filter(|assignments| !assignments.is_empty())
        .map(|assignments| {
            assignments
                .iter()
                .map(|assignment| {
                    assignment
                        .broker_ids
                        .iter()
                        .copied()
                        .map(BrokerId)
                        .collect()
                })
                .collect()
        });
    CreatePartitions {
        name: topic.name.clone(),
        count: topic.count,
        assignments,
    }
}

fn result(
    name: &str,
    error_code: ErrorCode,
    error_message: Option<String>,
) -> CreatePartitionsTopicResult {
    CreatePartitionsTopicResult {
        name: name.to_owned(),
        error_code: error_code.code(),
        error_message,
        ..CreatePartitionsTopicResult::default()
    }
}
