//! Topic operations: create, delete, list, describe, and add partitions. Descriptions come from
//! a Metadata request of our own (the client's cache keeps no replicas or ISR).

use strom_protocol::messages::create_partitions::{CreatePartitionsRequest, CreatePartitionsTopic};
use strom_protocol::messages::create_topics::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use strom_protocol::messages::delete_topics::{DeleteTopicState, DeleteTopicsRequest};
use strom_protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic, MetadataResponse};

use crate::admin::expect_response;
use crate::error::check;
use crate::{Admin, Error, Result};

/// How long the broker may take to create or delete topics before answering.
const OPERATION_TIMEOUT_MS: i32 = 30_000;

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The name.
    pub name: String,
    /// The number of partitions.
    pub partitions: i32,
    /// The replication factor; `None` uses the broker's default.
    pub replication_factor: Option<i16>,
    /// Topic configs (`name`, `value`), e.g. `("retention.ms", "60000")`.
    pub configs: Vec<(String, String)>,
}

/// One topic of [`Admin::list_topics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicListing {
    /// The name.
    pub name: String,
    /// The number of partitions.
    pub partitions: usize,
    /// Whether the topic is internal (e.g. `__consumer_offsets`).
    pub internal: bool,
}

/// What [`Admin::describe_topics`] returns for one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The name.
    pub name: String,
    /// Whether the topic is internal.
    pub internal: bool,
    /// The partitions, ordered by index.
    pub partitions: Vec<PartitionDescription>,
}

/// One partition of a [`TopicDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// The partition index.
    pub partition: i32,
    /// The leader's node id, if there is a leader.
    pub leader: Option<i32>,
    /// The leader epoch, when known.
    pub leader_epoch: Option<i32>,
    /// The replicas' node ids.
    pub replicas: Vec<i32>,
    /// The in-sync replicas' node ids.
    pub isr: Vec<i32>,
}

impl NewTopic {
    /// A topic with `partitions` partitions, the default replication factor and no configs.
    pub fn new(name: impl Into<String>, partitions: i32) -> NewTopic {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: None,
            configs: Vec::new(),
        }
    }
}

impl Admin {
    /// Creates `topics` (CreateTopics); fails on the first topic the broker refused, after
    /// the others were created.
    pub async fn create_topics(&self, topics: &[NewTopic]) -> Result<()> {
        let request = CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|topic| CreatableTopic {
                    name: topic.name.clone(),
                    num_partitions: topic.partitions,
                    replication_factor: topic.replication_factor.unwrap_or(-1),
                    configs: topic
                        .configs
                        .iter()
                        .map(|(name, value)| CreatableTopicConfig {
                            name: name.clone(),
                            value: Some(value.clone()),
                            ..CreatableTopicConfig::default()
                        })
                        .collect(),
                    ..CreatableTopic::default()
                })
                .collect(),
            timeout_ms: OPERATION_TIMEOUT_MS,
            ..CreateTopicsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, CreateTopics);
        for topic in topics {
            let Some(result) = response.topics.iter().find(|t| t.name == topic.name) else {
                return Err(Error::MissingResult(format!("topic {}", topic.name)));
            };
            check(
                &format!("topic {}", topic.name),
                result.error_code,
                result.error_message.as_deref(),
            )?;
        }
        self.client.invalidate_metadata();
        Ok(())
    }

    /// Deletes `topics` by name (DeleteTopics).
    pub async fn delete_topics(&self, topics: &[&str]) -> Result<()> {
        // Names go in both the v0-5 and the v6+ field; the encoder writes the negotiated one.
        let request = DeleteTopicsRequest {
            topics: topics
                .iter()
                .map(|name| DeleteTopicState {
                    name: Some((*name).to_owned()),
                    ..DeleteTopicState::default()
                })
                .collect(),
            topic_names: topics.iter().map(|name| (*name).to_owned()).collect(),
            timeout_ms: OPERATION_TIMEOUT_MS,
            ..DeleteTopicsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, DeleteTopics);
        for name in topics {
            let Some(result) = response
                .responses
                .iter()
                .find(|t| t.name.as_deref() == Some(*name))
            else {
                return Err(Error::MissingResult(format!("topic {name}")));
            };
            check(
                &format!("topic {name}"),
                result.error_code,
                result.error_message.as_deref(),
            )?;
        }
        self.client.invalidate_metadata();
        Ok(())
    }

    /// Every topic of the cluster, ordered by name.
    pub async fn list_topics(&self) -> Result<Vec<TopicListing>> {
        let response = self.metadata(None).await?;
        let mut res: Vec<TopicListing> = response
            .topics
            .into_iter()
            .filter_map(|topic| {
                Some(TopicListing {
                    name: topic.name?,
                    partitions: topic.partitions.len(),
                    internal: topic.is_internal,
                })
            })
            .collect();
        res.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(res)
    }

    /// Describes `topics` (leader, replicas and ISR of every partition); an empty slice
    /// describes every topic.
    pub async fn describe_topics(&self, topics: &[&str]) -> Result<Vec<TopicDescription>> {
        let names = (!topics.is_empty()).then_some(topics);
        let response = self.metadata(names).await?;
        let mut res = Vec::new();
        for topic in response.topics {
            let name = topic.name.unwrap_or_default();
            check(&format!("topic {name}"), topic.error_code, None)?;
            let mut partitions: Vec<PartitionDescription> = topic
                .partitions
                .into_iter()
                .map(|partition| PartitionDescription {
                    partition: partition.partition_index,
                    leader: (partition.leader_id >= 0).then_some(partition.leader_id),
                    leader_epoch: (partition.leader_epoch >= 0).then_some(partition.leader_epoch),
                    replicas: partition.replica_nodes,
                    isr: partition.isr_nodes,
                })
                .collect();
            partitions.sort_by_key(|partition| partition.partition);
            res.push(TopicDescription {
                name,
                internal: topic.is_internal,
                partitions,
            });
        }
        res.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(res)
    }

    /// Grows `topic` to `total_count` partitions (CreatePartitions).
    pub async fn create_partitions(&self, topic: &str, total_count: i32) -> Result<()> {
        let request = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: topic.to_owned(),
                count: total_count,
                assignments: None,
                ..CreatePartitionsTopic::default()
            }],
            timeout_ms: OPERATION_TIMEOUT_MS,
            validate_only: false,
            ..CreatePartitionsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, CreatePartitions);
        let Some(result) = response.results.iter().find(|t| t.name == topic) else {
            return Err(Error::MissingResult(format!("topic {topic}")));
        };
        check(
            &format!("topic {topic}"),
            result.error_code,
            result.error_message.as_deref(),
        )?;
        self.client.invalidate_metadata();
        Ok(())
    }

    /// A Metadata request for `topics` (all topics when `None`), never creating any.
    pub(crate) async fn metadata(&self, topics: Option<&[&str]>) -> Result<MetadataResponse> {
        let request = MetadataRequest {
            topics: topics.map(|names| {
                names
                    .iter()
                    .map(|name| MetadataRequestTopic {
                        name: Some((*name).to_owned()),
                        ..MetadataRequestTopic::default()
                    })
                    .collect()
            }),
            allow_auto_topic_creation: false,
            ..MetadataRequest::default()
        };
        Ok(expect_response!(self.send_any(request).await?, Metadata))
    }
}
