//! The client's view of the cluster: brokers and their addresses, topics, partitions and their
//! leaders, decoded from a Metadata response with the `-1` sentinels turned into `Option`s.
//! It does not fetch anything; [`crate::Client`] keeps the cache fresh.

use std::collections::BTreeMap;
use std::fmt;

use strom_protocol::ErrorCode;
use strom_protocol::messages::metadata::MetadataResponse;

use crate::{Error, Result};

/// A broker's node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub i32);

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    /// The topic.
    pub topic: String,
    /// The partition index.
    pub partition: i32,
}

/// A snapshot of cluster metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Every broker, with its `host:port`.
    pub brokers: BTreeMap<BrokerId, String>,
    /// Every topic the snapshot covers, by name.
    pub topics: BTreeMap<String, TopicMetadata>,
    /// The cluster id, when the broker sent one.
    pub cluster_id: Option<String>,
}

/// One topic of a [`Metadata`] snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic-level error, e.g. UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE while
    /// the topic is being created.
    pub error: Option<ErrorCode>,
    /// The partitions, ordered by index.
    pub partitions: Vec<PartitionMetadata>,
}

/// One partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// The partition index.
    pub partition: i32,
    /// The leader; `None` while there is none.
    pub leader: Option<BrokerId>,
    /// The leader epoch, when the broker sent one.
    pub leader_epoch: Option<i32>,
    /// The partition-level error.
    pub error: Option<ErrorCode>,
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl Metadata {
    /// Decodes a Metadata response.
    pub fn from_response(response: &MetadataResponse) -> Metadata {
        let brokers = response
            .brokers
            .iter()
            .map(|broker| {
                (
                    BrokerId(broker.node_id),
                    format!("{}:{}", broker.host, broker.port),
                )
            })
            .collect();
        let topics = response
            .topics
            .iter()
            .filter_map(|topic| {
                let name = topic.name.clone()?;
                let mut partitions: Vec<PartitionMetadata> = topic
                    .partitions
                    .iter()
                    .map(|partition| PartitionMetadata {
                        partition: partition.partition_index,
                        leader: (partition.leader_id >= 0).then_some(BrokerId(partition.leader_id)),
                        leader_epoch: (partition.leader_epoch >= 0)
                            .then_some(partition.leader_epoch),
                        error: error_of(partition.error_code),
                    })
                    .collect();
                partitions.sort_by_key(|partition| partition.partition);
                let metadata = TopicMetadata {
                    error: error_of(topic.error_code),
                    partitions,
                };
                Some((name, metadata))
            })
            .collect();
        Metadata {
            brokers,
            topics,
            cluster_id: response.cluster_id.clone(),
        }
    }

    /// The leader of `topic`-`partition`.
    pub fn leader(&self, topic: &str, partition: i32) -> Result<BrokerId> {
        let no_leader = || Error::NoLeader {
            topic: topic.to_owned(),
            partition,
        };
        let Some(metadata) = self.topics.get(topic) else {
            return Err(Error::Broker(ErrorCode::UnknownTopicOrPartition));
        };
        let Some(partition) = metadata
            .partitions
            .iter()
            .find(|candidate| candidate.partition == partition)
        else {
            if let Some(error) = metadata.error {
                return Err(Error::Broker(error));
            }
            return Err(Error::Broker(ErrorCode::UnknownTopicOrPartition));
        };
        partition.leader.ok_or_else(no_leader)
    }

    /// The number of partitions of `topic`, if the topic is known and has any.
    pub fn partition_count(&self, topic: &str) -> Option<u32> {
        let metadata = self.topics.get(topic)?;
        if metadata.partitions.is_empty() {
            return None;
        }
        u32::try_from(metadata.partitions.len()).ok()
    }
}

fn error_of(code: i16) -> Option<ErrorCode> {
    match ErrorCode::try_from(code) {
        Ok(ErrorCode::None) => None,
        Ok(code) => Some(code),
        Err(_) => Some(ErrorCode::UnknownServerError),
    }
}

#[cfg(test)]
mod tests {
    use strom_protocol::messages::metadata::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    use super::*;

    #[test]
    fn decodes_sentinels_and_sorts_partitions() {
        let partition = |index, leader_id| MetadataResponsePartition {
            partition_index: index,
            leader_id,
            ..MetadataResponsePartition::default()
        };
        let response = MetadataResponse {
            brokers: vec![MetadataResponseBroker {
                node_id: 1,
                host: "h".to_owned(),
                port: 9092,
                ..MetadataResponseBroker::default()
            }],
            topics: vec![MetadataResponseTopic {
                name: Some("t".to_owned()),
                partitions: vec![partition(1, -1), partition(0, 1)],
                ..MetadataResponseTopic::default()
            }],
            ..MetadataResponse::default()
        };
        let metadata = Metadata::from_response(&response);
        assert_eq!(metadata.brokers[&BrokerId(1)], "h:9092");
        assert_eq!(metadata.partition_count("t"), Some(2));
        assert_eq!(metadata.leader("t", 0).unwrap(), BrokerId(1));
        assert!(matches!(
            metadata.leader("t", 1),
            Err(Error::NoLeader { .. })
        ));
        assert!(matches!(
            metadata.leader("u", 0),
            Err(Error::Broker(ErrorCode::UnknownTopicOrPartition))
        ));
        assert_eq!(metadata.partition_count("u"), None);
    }
}
