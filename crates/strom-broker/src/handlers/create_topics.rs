//! CreateTopics (19): checks each topic's request (names repeated within the request are
//! `INVALID_REQUEST`; explicit assignments exclude partition count and replication factor; config
//! overrides must be topic keys with valid values, else `INVALID_CONFIG` with the reason), fills
//! Kafka's `-1` defaults from `num.partitions` and `default.replication.factor`, and lets the
//! metadata controller apply Kafka's remaining rules (one broker: replication factor 1). With
//! `validate_only` nothing is created. v5+ answers carry the topic's effective configs.

use std::collections::{BTreeMap, HashMap};

use strom_metadata::{
    BrokerId, CreateTopic, CreatedTopic, Mode, PartitionIndex, TopicId, TopicLayout,
};
use strom_protocol::messages::create_topics::{
    CreatableTopic, CreatableTopicConfigs, CreatableTopicResult, CreateTopicsRequest,
    CreateTopicsResponse,
};
use strom_protocol::{ErrorCode, Uuid};

use crate::broker::Broker;
use crate::config::validate_topic_overrides;
use crate::handlers::{broker_error_code, metadata_error_code};
use crate::random_id;

/// Answers a CreateTopics request.
pub fn handle(broker: &Broker, request: CreateTopicsRequest) -> CreateTopicsResponse {
    let mode = if request.validate_only {
        Mode::ValidateOnly
    } else {
        Mode::Apply
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.as_str()).or_default() += 1;
    }
    let mut results: Vec<Option<CreatableTopicResult>> = vec![None; request.topics.len()];
    let mut planned: Vec<(usize, CreateTopic)> = Vec::new();
    for (index, topic) in request.topics.iter().enumerate() {
        let planned_topic = if counts.get(topic.name.as_str()).copied().unwrap_or(0) > 1 {
            Err((
                ErrorCode::InvalidRequest,
                format!("topic {} appears more than once in the request", topic.name),
            ))
        } else {
            plan(broker, topic)
        };
        match planned_topic {
            Ok(create) => planned.push((index, create)),
            Err((error_code, message)) => {
                results[index] = Some(failed(&topic.name, error_code, message));
            }
        }
    }
    let creates: Vec<CreateTopic> = planned.iter().map(|(_, create)| create.clone()).collect();
    match broker.create_topics(&creates, mode) {
        Ok(outcomes) => {
            for ((index, create), outcome) in planned.iter().zip(outcomes) {
                results[*index] = Some(match outcome {
                    Ok(created) => succeeded(broker, created),
                    Err(error) => {
                        failed(&create.name, metadata_error_code(&error), error.to_string())
                    }
                });
            }
        }
        Err(error) => {
            tracing::warn!(%error, "creating topics failed");
            for (index, create) in &planned {
                results[*index] = Some(failed(
                    &create.name,
                    broker_error_code(&error),
                    error.to_string(),
                ));
            }
        }
    }
    CreateTopicsResponse {
        topics: results.into_iter().flatten().collect(),
        ..CreateTopicsResponse::default()
    }
}

fn plan(broker: &Broker, topic: &CreatableTopic) -> Result<CreateTopic, (ErrorCode, String)> {
    let configs: BTreeMap<String, String> = topic
        .configs
        .iter()
        .filter_map(|config| Some((config.name.clone(), config.value.clone()?)))
        .collect();
    if let Err(error) = validate_topic_overrides(
        configs
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
    ) {
        return Err((ErrorCode::InvalidConfig, error.to_string()));
    }
    if let Err(error) = broker.config().topic_config(&configs) {
        return Err((ErrorCode::InvalidConfig, error.to_string()));
    }
    let layout = if topic.assignments.is_empty() {
        let defaults = broker.config();
        let partitions = match topic.num_partitions {
            -1 => i32::try_from(defaults.num_partitions).unwrap_or(i32::MAX),
            count => count,
        };
        let replication_factor = match topic.replication_factor {
            -1 => i16::try_from(defaults.default_replication_factor).unwrap_or(i16::MAX),
            factor => factor,
        };
        TopicLayout::Placed {
            partitions,
            replication_factor,
        }
    } else {
        if topic.num_partitions != -1 || topic.replication_factor != -1 {
            return Err((
                ErrorCode::InvalidRequest,
                "both replica assignments and a partition count or replication factor were given"
                    .to_owned(),
            ));
        }
        let mut assignments = Vec::with_capacity(topic.assignments.len());
        for assignment in &topic.assignments {
            let Ok(index) = u32::try_from(assignment.partition_index) else {
                return Err((
                    ErrorCode::InvalidReplicaAssignment,
                    format!("partition index {} is negative", assignment.partition_index),
                ));
            };
            let replicas = assignment
                .broker_ids
                .iter()
                .copied()
                .map(BrokerId)
                .collect();
            assignments.push((PartitionIndex(index), replicas));
        }
        TopicLayout::Assigned(assignments)
    };
    Ok(CreateTopic {
        name: topic.name.clone(),
        topic_id: TopicId(random_id::random_bytes()),
        layout,
        configs,
    })
}

fn succeeded(broker: &Broker, created: CreatedTopic) -> CreatableTopicResult {
    let configs = broker
        .config()
        .describe_topic(&created.configs)
        .into_iter()
        .map(|entry| CreatableTopicConfigs {
            name: entry.name.to_owned(),
            value: entry.value,
            read_only: false,
            config_source: entry.source.wire_id(),
            is_sensitive: false,
            ..CreatableTopicConfigs::default()
        })
        .collect();
    CreatableTopicResult {
        name: created.name,
        topic_id: Uuid(created.topic_id.0),
        error_code: 0,
        error_message: None,
        num_partitions: i32::try_from(created.replicas.len()).unwrap_or(i32::MAX),
        replication_factor: created.replicas.first().map_or(-1, |replicas| {
            i16::try_from(replicas.len()).unwrap_or(i16::MAX)
        }),
        configs: Some(configs),
        ..CreatableTopicResult::default()
    }
}

fn failed(name: &str, error_code: ErrorCode, message: String) -> CreatableTopicResult {
    CreatableTopicResult {
        name: name.to_owned(),
        error_code: error_code.code(),
        error_message: Some(message),
        num_partitions: -1,
        replication_factor: -1,
        configs: None,
        ..CreatableTopicResult::default()
    }
}
