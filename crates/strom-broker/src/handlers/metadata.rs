//! Metadata (3): brokers, cluster id, controller, and topics with their partitions, leaders,
//! leader epochs and topic ids. Topics a request names that do not exist are created when both
//! `auto.create.topics.enable` and the request allow it (the request flag exists from v4; before
//! that creation is always allowed), with `num.partitions` partitions.

use std::collections::BTreeMap;

use strom_metadata::{
    CreateTopic, MetadataImage, Mode, TopicId, TopicImage, TopicLayout, validate_topic_name,
};
use strom_protocol::messages::metadata::{
    MetadataRequest, MetadataResponse, MetadataResponseBroker, MetadataResponsePartition,
    MetadataResponseTopic,
};
use strom_protocol::{ErrorCode, Uuid};

use crate::broker::Broker;
use crate::handlers::{broker_error_code, metadata_error_code};
use crate::random_id;

/// The internal topic that stores committed group offsets.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Which topics a request asks about.
enum Wanted {
    All,
    Listed(Vec<(Option<String>, TopicId)>),
}

/// Answers a Metadata request.
pub fn handle(broker: &Broker, request: MetadataRequest, version: i16) -> MetadataResponse {
    let wanted = match request.topics {
        None => Wanted::All,
        Some(topics) if topics.is_empty() && version == 0 => Wanted::All,
        Some(topics) => Wanted::Listed(
            topics
                .into_iter()
                .map(|topic| (topic.name, TopicId(topic.topic_id.0)))
                .collect(),
        ),
    };
    let mut image = broker.image();
    let mut creation_errors = BTreeMap::new();
    if let Wanted::Listed(topics) = &wanted {
        let allowed = broker.config().auto_create_topics_enable
            && (version < 4 || request.allow_auto_topic_creation);
        let missing: Vec<&str> = topics
            .iter()
            .filter_map(|(name, _)| name.as_deref())
            .filter(|name| image.topic(name).is_none() && validate_topic_name(name).is_ok())
            .collect();
        if allowed && !missing.is_empty() {
            creation_errors = auto_create(broker, &missing);
            image = broker.image();
        }
    }
    let topics = match wanted {
        Wanted::All => image.topics().map(describe_topic).collect(),
        Wanted::Listed(topics) => topics
            .into_iter()
            .map(|(name, topic_id)| describe_listed(&image, name, topic_id, &creation_errors))
            .collect(),
    };
    let brokers = image
        .brokers()
        .filter(|registration| !registration.fenced)
        .filter_map(|registration| {
            let endpoint = registration.endpoints.first()?;
            Some(MetadataResponseBroker {
                node_id: registration.broker_id.0,
                host: endpoint.host.clone(),
                port: i32::from(endpoint.port),
                rack: registration.rack.clone(),
                ..MetadataResponseBroker::default()
            })
        })
        .collect();
    MetadataResponse {
        brokers,
        cluster_id: Some(broker.cluster_id().0.clone()),
        controller_id: broker.plane().controller_id(broker.node_id()),
        topics,
        ..MetadataResponse::default()
    }
}

fn auto_create(broker: &Broker, names: &[&str]) -> BTreeMap<String, ErrorCode> {
    let config = broker.config();
    let topics: Vec<CreateTopic> = names
        .iter()
        .map(|name| CreateTopic {
            name: (*name).to_owned(),
            topic_id: TopicId(random_id::random_bytes()),
            layout: TopicLayout::Placed {
                partitions: i32::try_from(config.num_partitions).unwrap_or(i32::MAX),
                replication_factor: i16::try_from(config.default_replication_factor)
                    .unwrap_or(i16::MAX),
            },
            configs: BTreeMap::new(),
        })
        .collect();
    let mut res = BTreeMap::new();
    match broker.create_topics(&topics, Mode::Apply) {
        Ok(outcomes) => {
            for (topic, outcome) in topics.iter().zip(outcomes) {
                match outcome {
                    Ok(_) => {}
                    // Another request created it first: fine.
                    Err(strom_metadata::Error::TopicAlreadyExists { .. }) => {}
                    Err(error) => {
                        tracing::warn!(topic = topic.name, %error, "auto-creating a topic failed");
                        res.insert(topic.name.clone(), metadata_error_code(&error));
                    }
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "auto-creating topics failed");
            for topic in &topics {
                res.insert(topic.name.clone(), broker_error_code(&error));
            }
        }
    }
    res
}

fn describe_listed(
    image: &MetadataImage,
    name: Option<String>,
    topic_id: TopicId,
    creation_errors: &BTreeMap<String, ErrorCode>,
) -> MetadataResponseTopic {
    let failed = |name: Option<String>, error_code: ErrorCode| MetadataResponseTopic {
        error_code: error_code.code(),
        name,
        topic_id: Uuid(topic_id.0),
        ..MetadataResponseTopic::default()
    };
    let Some(name) = name else {
        return match image.topic_by_id(topic_id) {
            Some(topic) => describe_topic(topic),
            None => failed(None, ErrorCode::UnknownTopicId),
        };
    };
    if let Some(topic) = image.topic(&name) {
        return describe_topic(topic);
    }
    if validate_topic_name(&name).is_err() {
        return failed(Some(name), ErrorCode::InvalidTopicException);
    }
    let error_code = creation_errors
        .get(&name)
        .copied()
        .unwrap_or(ErrorCode::UnknownTopicOrPartition);
    failed(Some(name), error_code)
}

fn describe_topic(topic: &TopicImage) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, partition)| {
            let error_code = match partition.leader {
                Some(_) => ErrorCode::None,
                None => ErrorCode::LeaderNotAvailable,
            };
            MetadataResponsePartition {
                error_code: error_code.code(),
                partition_index: i32::try_from(index).unwrap_or(i32::MAX),
                leader_id: partition.leader.map_or(-1, |leader| leader.0),
                leader_epoch: i32::try_from(partition.leader_epoch.0).unwrap_or(i32::MAX),
                replica_nodes: partition.replicas.iter().map(|id| id.0).collect(),
                isr_nodes: partition.isr.iter().map(|id| id.0).collect(),
                offline_replicas: Vec::new(),
                ..MetadataResponsePartition::default()
            }
        })
        .collect();
    MetadataResponseTopic {
        error_code: 0,
        name: Some(topic.name.clone()),
        topic_id: Uuid(topic.topic_id.0),
        is_internal: topic.name == CONSUMER_OFFSETS_TOPIC,
        partitions,
        ..MetadataResponseTopic::default()
    }
}
