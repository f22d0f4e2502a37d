//! Leader elections (ElectLeaders, KIP-460): move partitions' leadership to their preferred
//! replica, or, when no in-sync replica is live, to any live replica (unclean, which loses what
//! only the in-sync replicas had). The active controller runs them; any broker forwards.
//!
//! It does not wait for the new leaders to show up in the metadata cache.

use std::collections::BTreeMap;

use strom_protocol::ErrorCode;
use strom_protocol::messages::elect_leaders::{ElectLeadersRequest, ElectLeadersTopicPartitions};

use crate::admin::{Admin, expect_response};
use crate::error::check;
use crate::{Error, Result, TopicPartition};

/// Which election to run (Kafka's `ElectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionType {
    /// Make the preferred replica (the first) leader, if it is live and in sync.
    Preferred,
    /// Elect an in-sync replica, or if none is live, the first live replica.
    Unclean,
}

/// One partition's election result.
#[derive(Debug, Clone)]
pub struct ElectionResult {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// `Ok` when a leader was elected; otherwise the broker's code, e.g.
    /// `ELECTION_NOT_NEEDED` (the partition already has that leader),
    /// `PREFERRED_LEADER_NOT_AVAILABLE`, `ELIGIBLE_LEADERS_NOT_AVAILABLE` or
    /// `UNKNOWN_TOPIC_OR_PARTITION`, as [`Error::Broker`].
    pub res: Result<()>,
}

impl ElectionType {
    /// The wire value (`ElectionType` of ElectLeaders v1+).
    pub fn to_wire(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }
}

impl ElectionResult {
    /// Whether the partition already had the leader the election would choose.
    pub fn not_needed(&self) -> bool {
        matches!(
            self.res,
            Err(Error::Broker {
                code: ErrorCode::ElectionNotNeeded,
                ..
            })
        )
    }
}

impl Admin {
    /// Runs leader elections for `partitions`, or for every partition of the cluster when
    /// `None` (then, as in Kafka, partitions that needed no election are left out). Results are
    /// ordered by partition. The outer error means the request failed as a whole (e.g. no
    /// active controller).
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<ElectionResult>> {
        let topic_partitions = partitions.map(|partitions| {
            let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
            for topic_partition in partitions {
                let indexes = by_topic.entry(&topic_partition.topic).or_default();
                if !indexes.contains(&topic_partition.partition) {
                    indexes.push(topic_partition.partition);
                }
            }
            by_topic
                .into_iter()
                .map(|(topic, partitions)| ElectLeadersTopicPartitions {
                    topic: topic.to_owned(),
                    partitions,
                    ..ElectLeadersTopicPartitions::default()
                })
                .collect()
        });
        let request = ElectLeadersRequest {
            election_type: election.to_wire(),
            topic_partitions,
            timeout_ms: 60_000,
            ..ElectLeadersRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, ElectLeaders);
        let mut res: Vec<ElectionResult> = Vec::new();
        for topic in response.replica_election_results {
            for partition in topic.partition_result {
                let topic_partition =
                    TopicPartition::new(topic.topic.clone(), partition.partition_id);
                res.push(ElectionResult {
                    res: check(
                        &format!("partition {topic_partition}"),
                        partition.error_code,
                        partition.error_message.as_deref(),
                    ),
                    topic_partition,
                });
            }
        }
        if res.is_empty() {
            check("cluster", response.error_code, None)?;
        }
        res.sort_by(|a, b| a.topic_partition.cmp(&b.topic_partition));
        Ok(res)
    }
}
