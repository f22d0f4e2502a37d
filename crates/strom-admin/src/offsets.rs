//! Offset operations: list offsets (ListOffsets at each partition's leader), delete records
//! (DeleteRecords), a group's committed offsets (OffsetFetch), its lag (committed offset against
//! the log end offset), and resetting its offsets (OffsetCommit outside any generation, only
//! while the group is empty, as Kafka's tool requires).

use std::collections::BTreeMap;

use strom_client::{BrokerId, TopicPartition};
use strom_protocol::messages::delete_records::{
    DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
};
use strom_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use strom_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use strom_protocol::messages::offset_fetch::{OffsetFetchRequest, OffsetFetchRequestGroup};
use strom_record::{Offset, Timestamp};

use crate::admin::expect_response;
use crate::error::check;
use crate::{Admin, Error, Result};

/// Which offset [`Admin::list_offsets`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the high watermark).
    Latest,
    /// The first offset whose timestamp is at or after this one.
    Timestamp(Timestamp),
}

/// Where [`Admin::reset_group_offsets`] moves a group's offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSpec {
    /// To the log start offset.
    Earliest,
    /// To the log end offset.
    Latest,
    /// To the first offset at or after the timestamp (the log end offset if there is none).
    Timestamp(Timestamp),
    /// To this offset, clamped to the log's range as Kafka's tool does.
    Offset(Offset),
}

/// One partition's answer to [`Admin::list_offsets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedOffset {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The offset; `None` when no record matches a timestamp.
    pub offset: Option<Offset>,
    /// The record's timestamp for a timestamp query.
    pub timestamp: Option<Timestamp>,
}

/// One partition of [`Admin::group_lag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// The partition.
    pub topic_partition: TopicPartition,
    /// The group's committed offset.
    pub committed: Offset,
    /// The partition's log end offset.
    pub log_end_offset: Offset,
    /// `log_end_offset - committed` (0 if the commit is past the end, e.g. after truncation).
    pub lag: u64,
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(timestamp) => timestamp.0,
        }
    }
}

/// Converts a wire offset, where negative means none.
fn offset(raw: i64) -> Option<Offset> {
    u64::try_from(raw).ok().map(Offset)
}

/// A wire offset for an [`Offset`] (saturating: no log reaches `i64::MAX`).
fn wire_offset(offset: Offset) -> i64 {
    i64::try_from(offset.0).unwrap_or(i64::MAX)
}

impl Admin {
    /// Every partition of `topic`, in order.
    pub async fn partitions_of(&self, topic: &str) -> Result<Vec<TopicPartition>> {
        let descriptions = self.describe_topics(&[topic]).await?;
        let Some(description) = descriptions.into_iter().next() else {
            return Err(Error::MissingResult(format!("topic {topic}")));
        };
        Ok(description
            .partitions
            .iter()
            .map(|partition| TopicPartition::new(topic, partition.partition))
            .collect())
    }

    /// Lists the `spec` offset of each partition, asking each partition's leader.
    pub async fn list_offsets(
        &self,
        partitions: &[TopicPartition],
        spec: OffsetSpec,
    ) -> Result<Vec<ListedOffset>> {
        let mut res = Vec::new();
        for (leader, topics) in self.by_leader(partitions).await? {
            let request = ListOffsetsRequest {
                replica_id: -1,
                isolation_level: 0,
                topics: topics
                    .into_iter()
                    .map(|(name, indexes)| ListOffsetsTopic {
                        name,
                        partitions: indexes
                            .into_iter()
                            .map(|index| ListOffsetsPartition {
                                partition_index: index,
                                timestamp: spec.wire(),
                                ..ListOffsetsPartition::default()
                            })
                            .collect(),
                        ..ListOffsetsTopic::default()
                    })
                    .collect(),
                ..ListOffsetsRequest::default()
            };
            let response = expect_response!(self.send(leader, request).await?, ListOffsets);
            for topic in response.topics {
                for partition in topic.partitions {
                    let topic_partition =
                        TopicPartition::new(topic.name.clone(), partition.partition_index);
                    check(
                        &format!("partition {topic_partition}"),
                        partition.error_code,
                        None,
                    )?;
                    let timestamp = match spec {
                        OffsetSpec::Timestamp(_) if partition.timestamp >= 0 => {
                            Some(Timestamp(partition.timestamp))
                        }
                        _ => None,
                    };
                    res.push(ListedOffset {
                        topic_partition,
                        offset: offset(partition.offset),
                        timestamp,
                    });
                }
            }
        }
        res.sort_by(|a, b| a.topic_partition.cmp(&b.topic_partition));
        Ok(res)
    }

    /// Deletes the records before each given offset (DeleteRecords at each leader); returns
    /// each partition's new log start offset (low watermark).
    pub async fn delete_records(
        &self,
        before: &[(TopicPartition, Offset)],
    ) -> Result<Vec<(TopicPartition, Offset)>> {
        let targets: BTreeMap<TopicPartition, Offset> = before.iter().cloned().collect();
        let partitions: Vec<TopicPartition> = targets.keys().cloned().collect();
        let mut res = Vec::new();
        for (leader, topics) in self.by_leader(&partitions).await? {
            let request = DeleteRecordsRequest {
                topics: topics
                    .into_iter()
                    .map(|(name, indexes)| DeleteRecordsTopic {
                        partitions: indexes
                            .into_iter()
                            .map(|index| DeleteRecordsPartition {
                                partition_index: index,
                                offset: targets
                                    .get(&TopicPartition::new(name.clone(), index))
                                    .copied()
                                    .map_or(-1, wire_offset),
                                ..DeleteRecordsPartition::default()
                            })
                            .collect(),
                        name,
                        ..DeleteRecordsTopic::default()
                    })
                    .collect(),
                timeout_ms: 30_000,
                ..DeleteRecordsRequest::default()
            };
            let response = expect_response!(self.send(leader, request).await?, DeleteRecords);
            for topic in response.topics {
                for partition in topic.partitions {
                    let topic_partition =
                        TopicPartition::new(topic.name.clone(), partition.partition_index);
                    check(
                        &format!("partition {topic_partition}"),
                        partition.error_code,
                        None,
                    )?;
                    let low_watermark = offset(partition.low_watermark).unwrap_or(Offset(0));
                    res.push((topic_partition, low_watermark));
                }
            }
        }
        res.sort();
        Ok(res)
    }

    /// The committed offsets of `group` (OffsetFetch for all topics), ordered by partition.
    /// Partitions without a commit are left out.
    pub async fn group_offsets(&self, group: &str) -> Result<Vec<(TopicPartition, Offset)>> {
        let coordinator = self.coordinator(group).await?;
        // Fill both the v0-7 fields and the v8+ batch; the encoder writes the negotiated ones.
        let request = OffsetFetchRequest {
            group_id: group.to_owned(),
            topics: None,
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.to_owned(),
                topics: None,
                ..OffsetFetchRequestGroup::default()
            }],
            require_stable: false,
            ..OffsetFetchRequest::default()
        };
        let response = expect_response!(self.send(coordinator, request).await?, OffsetFetch);
        let resource = format!("group {group}");
        let mut found: Vec<(String, i32, i64, i16)> = Vec::new();
        if let Some(batch) = response.groups.iter().find(|g| g.group_id == group) {
            check(&resource, batch.error_code, None)?;
            for topic in &batch.topics {
                for partition in &topic.partitions {
                    found.push((
                        topic.name.clone(),
                        partition.partition_index,
                        partition.committed_offset,
                        partition.error_code,
                    ));
                }
            }
        } else {
            check(&resource, response.error_code, None)?;
            for topic in &response.topics {
                for partition in &topic.partitions {
                    found.push((
                        topic.name.clone(),
                        partition.partition_index,
                        partition.committed_offset,
                        partition.error_code,
                    ));
                }
            }
        }
        let mut res = Vec::new();
        for (topic, partition, committed, error_code) in found {
            let topic_partition = TopicPartition::new(topic, partition);
            check(
                &format!("{resource} partition {topic_partition}"),
                error_code,
                None,
            )?;
            if let Some(committed) = offset(committed) {
                res.push((topic_partition, committed));
            }
        }
        res.sort();
        Ok(res)
    }

    /// The lag of `group` on every partition it committed: the committed offset against the
    /// log end offset.
    pub async fn group_lag(&self, group: &str) -> Result<Vec<PartitionLag>> {
        let committed = self.group_offsets(group).await?;
        let partitions: Vec<TopicPartition> = committed.iter().map(|(tp, _)| tp.clone()).collect();
        let ends: BTreeMap<TopicPartition, Option<Offset>> = self
            .list_offsets(&partitions, OffsetSpec::Latest)
            .await?
            .into_iter()
            .map(|listed| (listed.topic_partition, listed.offset))
            .collect();
        let mut res = Vec::new();
        for (topic_partition, committed) in committed {
            let Some(Some(log_end_offset)) = ends.get(&topic_partition).copied() else {
                return Err(Error::MissingResult(format!(
                    "the log end offset of {topic_partition}"
                )));
            };
            res.push(PartitionLag {
                lag: log_end_offset.0.saturating_sub(committed.0),
                topic_partition,
                committed,
                log_end_offset,
            });
        }
        Ok(res)
    }

    /// The offsets [`Admin::reset_group_offsets`] would commit, without committing them.
    pub async fn plan_group_offsets_reset(
        &self,
        partitions: &[TopicPartition],
        spec: ResetSpec,
    ) -> Result<Vec<(TopicPartition, Offset)>> {
        let listed = |spec| self.list_offsets(partitions, spec);
        let as_map = |listed: Vec<ListedOffset>| -> BTreeMap<TopicPartition, Option<Offset>> {
            listed
                .into_iter()
                .map(|l| (l.topic_partition, l.offset))
                .collect()
        };
        let earliest = as_map(listed(OffsetSpec::Earliest).await?);
        let latest = as_map(listed(OffsetSpec::Latest).await?);
        let by_time = match spec {
            ResetSpec::Timestamp(timestamp) => {
                as_map(listed(OffsetSpec::Timestamp(timestamp)).await?)
            }
            _ => BTreeMap::new(),
        };
        let mut res = Vec::new();
        for topic_partition in partitions {
            let missing = || Error::MissingResult(format!("the offsets of {topic_partition}"));
            let start = earliest
                .get(topic_partition)
                .copied()
                .flatten()
                .ok_or_else(missing)?;
            let end = latest
                .get(topic_partition)
                .copied()
                .flatten()
                .ok_or_else(missing)?;
            let target = match spec {
                ResetSpec::Earliest => start,
                ResetSpec::Latest => end,
                ResetSpec::Timestamp(_) => by_time
                    .get(topic_partition)
                    .copied()
                    .flatten()
                    .unwrap_or(end),
                ResetSpec::Offset(wanted) => wanted.clamp(start, end.max(start)),
            };
            res.push((topic_partition.clone(), target));
        }
        Ok(res)
    }

    /// Moves the committed offsets of `group` on `partitions` per `spec` and returns the new
    /// offsets. Fails with [`Error::GroupNotEmpty`] unless the group is `Empty` or unknown
    /// (`Dead`), because live members would overwrite the reset with their next commit.
    pub async fn reset_group_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
        spec: ResetSpec,
    ) -> Result<Vec<(TopicPartition, Offset)>> {
        let description = self.describe_group(group).await?;
        if !matches!(description.state.as_str(), "Empty" | "Dead" | "") {
            return Err(Error::GroupNotEmpty {
                group: group.to_owned(),
                state: description.state,
            });
        }
        let res = self.plan_group_offsets_reset(partitions, spec).await?;
        self.commit_group_offsets(group, &res).await?;
        Ok(res)
    }

    /// Commits `offsets` for `group` outside any generation (OffsetCommit with generation -1
    /// and no member id), as Kafka's tools do for an empty group.
    pub async fn commit_group_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, Offset)],
    ) -> Result<()> {
        let coordinator = self.coordinator(group).await?;
        let mut topics: BTreeMap<String, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (topic_partition, committed) in offsets {
            topics
                .entry(topic_partition.topic.clone())
                .or_default()
                .push(OffsetCommitRequestPartition {
                    partition_index: topic_partition.partition,
                    committed_offset: wire_offset(*committed),
                    ..OffsetCommitRequestPartition::default()
                });
        }
        let request = OffsetCommitRequest {
            group_id: group.to_owned(),
            generation_id_or_member_epoch: -1,
            member_id: String::new(),
            topics: topics
                .into_iter()
                .map(|(name, partitions)| OffsetCommitRequestTopic {
                    name,
                    partitions,
                    ..OffsetCommitRequestTopic::default()
                })
                .collect(),
            ..OffsetCommitRequest::default()
        };
        let response = expect_response!(self.send(coordinator, request).await?, OffsetCommit);
        for topic in response.topics {
            for partition in topic.partitions {
                let topic_partition =
                    TopicPartition::new(topic.name.clone(), partition.partition_index);
                check(
                    &format!("group {group} partition {topic_partition}"),
                    partition.error_code,
                    None,
                )?;
            }
        }
        Ok(())
    }

    /// Groups `partitions` by leader, then by topic.
    async fn by_leader(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<BrokerId, BTreeMap<String, Vec<i32>>>> {
        let mut topics: Vec<&str> = partitions.iter().map(|tp| tp.topic.as_str()).collect();
        topics.sort_unstable();
        topics.dedup();
        let metadata = self.client.metadata_for(&topics).await?;
        let mut res: BTreeMap<BrokerId, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for topic_partition in partitions {
            let leader = metadata.leader(&topic_partition.topic, topic_partition.partition)?;
            res.entry(leader)
                .or_default()
                .entry(topic_partition.topic.clone())
                .or_default()
                .push(topic_partition.partition);
        }
        Ok(res)
    }
}
