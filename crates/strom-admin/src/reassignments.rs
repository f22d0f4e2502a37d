//! Partition reassignments (KIP-455): start, replace or cancel moves of partitions to new
//! replicas (AlterPartitionReassignments), and list the moves in progress
//! (ListPartitionReassignments). A move is accepted when the request returns; it completes
//! later, once every target replica is in sync, and is listed until then.
//!
//! It does not plan where partitions should go (no balancing): the caller names the targets.

use std::collections::BTreeMap;

use strom_client::TopicPartition;
use strom_protocol::messages::alter_partition_reassignments::{
    AlterPartitionReassignmentsRequest, ReassignablePartition, ReassignableTopic,
};
use strom_protocol::messages::list_partition_reassignments::{
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsTopics,
};

use crate::admin::expect_response;
use crate::error::check;
use crate::{Admin, Error, Result};

/// How long the broker may take to record the moves before answering.
const OPERATION_TIMEOUT_MS: i32 = 30_000;

/// A partition move in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReassignment {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// All its current replicas: the target first, then those being removed.
    pub replicas: Vec<i32>,
    /// The replicas being added.
    pub adding_replicas: Vec<i32>,
    /// The replicas being removed.
    pub removing_replicas: Vec<i32>,
}

impl Admin {
    /// Moves each partition to its target replicas (preferred leader first), or cancels its
    /// move in progress (`None`). A new target replaces a move in progress. The first
    /// partition the broker refuses is the error (the others may have been accepted).
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: &[(TopicPartition, Option<Vec<i32>>)],
    ) -> Result<()> {
        let mut topics: BTreeMap<&str, Vec<ReassignablePartition>> = BTreeMap::new();
        for (topic_partition, target) in reassignments {
            topics
                .entry(topic_partition.topic.as_str())
                .or_default()
                .push(ReassignablePartition {
                    partition_index: topic_partition.partition,
                    replicas: target.clone(),
                    ..ReassignablePartition::default()
                });
        }
        let request = AlterPartitionReassignmentsRequest {
            timeout_ms: OPERATION_TIMEOUT_MS,
            topics: topics
                .into_iter()
                .map(|(name, partitions)| ReassignableTopic {
                    name: name.to_owned(),
                    partitions,
                    ..ReassignableTopic::default()
                })
                .collect(),
            ..AlterPartitionReassignmentsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, AlterPartitionReassignments);
        check(
            "partition reassignments",
            response.error_code,
            response.error_message.as_deref(),
        )?;
        for (topic_partition, _) in reassignments {
            let resource = format!(
                "partition {}-{}",
                topic_partition.topic, topic_partition.partition
            );
            let Some(result) = response
                .responses
                .iter()
                .filter(|topic| topic.name == topic_partition.topic)
                .flat_map(|topic| &topic.partitions)
                .find(|partition| partition.partition_index == topic_partition.partition)
            else {
                return Err(Error::MissingResult(resource));
            };
            check(
                &resource,
                result.error_code,
                result.error_message.as_deref(),
            )?;
        }
        self.client.invalidate_metadata();
        Ok(())
    }

    /// The partition moves in progress: of `partitions` only, or all of them (`None`), ordered
    /// by topic and partition.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<PartitionReassignment>> {
        let topics = partitions.map(|partitions| {
            let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for topic_partition in partitions {
                topics
                    .entry(topic_partition.topic.as_str())
                    .or_default()
                    .push(topic_partition.partition);
            }
            topics
                .into_iter()
                .map(
                    |(name, partition_indexes)| ListPartitionReassignmentsTopics {
                        name: name.to_owned(),
                        partition_indexes,
                        ..ListPartitionReassignmentsTopics::default()
                    },
                )
                .collect()
        });
        let request = ListPartitionReassignmentsRequest {
            timeout_ms: OPERATION_TIMEOUT_MS,
            topics,
            ..ListPartitionReassignmentsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, ListPartitionReassignments);
        check(
            "partition reassignments",
            response.error_code,
            response.error_message.as_deref(),
        )?;
        let mut res: Vec<PartitionReassignment> = response
            .topics
            .into_iter()
            .flat_map(|topic| {
                let name = topic.name;
                topic
                    .partitions
                    .into_iter()
                    .map(move |partition| PartitionReassignment {
                        topic_partition: TopicPartition {
                            topic: name.clone(),
                            partition: partition.partition_index,
                        },
                        replicas: partition.replicas,
                        adding_replicas: partition.adding_replicas,
                        removing_replicas: partition.removing_replicas,
                    })
            })
            .collect();
        res.sort_by(|a, b| {
            (&a.topic_partition.topic, a.topic_partition.partition)
                .cmp(&(&b.topic_partition.topic, b.topic_partition.partition))
        });
        Ok(res)
    }
}
