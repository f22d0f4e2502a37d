//! The metadata image: the cluster's metadata as of some offset of the metadata log, built by
//! applying records in order. Every node that applies the same records gets an equal image.
//!
//! `apply` refuses a record that contradicts the image (a partition of an unknown topic, an epoch
//! that goes backwards, a leader outside the ISR) and leaves the image unchanged when it does. It
//! does not decide anything: the controller chooses the records, the image only checks that they
//! fit.
//!
//! Cloning is cheap enough to do on every change: topics are behind `Arc`s, so a clone copies the
//! maps of pointers, not the partitions. Readers share an `Arc<MetadataImage>`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::{
    BrokerId, ClusterId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
};
use crate::record::{
    BrokerRegistration, ConfigResource, MetadataRecord, PartitionChangeRecord,
    PartitionReassignmentRecord, PartitionRecord, RecordBatch,
};
use crate::{Error, Result};

/// The cluster's metadata as of [`MetadataImage::end_offset`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataImage {
    end_offset: MetadataOffset,
    cluster_id: Option<ClusterId>,
    brokers: BTreeMap<BrokerId, BrokerRegistration>,
    topics: BTreeMap<TopicId, Arc<TopicImage>>,
    topic_ids: BTreeMap<String, TopicId>,
    /// Overrides of brokers and of the cluster default; topic overrides live in `TopicImage`.
    configs: BTreeMap<ConfigResource, BTreeMap<String, String>>,
}

/// A topic as the image knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    /// The topic's name.
    pub name: String,
    /// The topic's id.
    pub topic_id: TopicId,
    /// Its partitions; the partition with index `i` is at position `i`.
    pub partitions: Vec<PartitionImage>,
    /// Its config overrides (the keys set on the topic itself, not the broker defaults).
    pub configs: BTreeMap<String, String>,
}

/// A partition's replicas, leader and epochs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionImage {
    /// The brokers holding a replica, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas.
    pub isr: Vec<BrokerId>,
    /// The leader, or `None` when no replica can lead.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch.
    pub partition_epoch: PartitionEpoch,
    /// Replicas a reassignment in progress is adding (empty when nothing moves). They are in
    /// `replicas` already.
    pub adding_replicas: Vec<BrokerId>,
    /// Replicas a reassignment in progress will remove once the target replicas (`replicas`
    /// without these) are all in the ISR (empty when nothing moves).
    pub removing_replicas: Vec<BrokerId>,
}

static NO_CONFIGS: BTreeMap<String, String> = BTreeMap::new();

impl MetadataImage {
    /// An empty image, before the first record.
    pub fn new() -> MetadataImage {
        MetadataImage::default()
    }

    /// Rebuilds an image from a snapshot: the records of [`MetadataImage::to_records`] of an
    /// image whose end offset was `end_offset`.
    pub fn from_snapshot(
        end_offset: MetadataOffset,
        records: &[MetadataRecord],
    ) -> Result<MetadataImage> {
        let mut res = MetadataImage::new();
        for record in records {
            res.apply(record)?;
        }
        res.end_offset = end_offset;
        Ok(res)
    }

    /// Applies one record. On error the image is unchanged.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<()> {
        let offset = self.end_offset;
        let contradiction = |reason: String| Error::Contradiction { offset, reason };
        match record {
            MetadataRecord::ClusterId { cluster_id } => {
                if let Some(current) = &self.cluster_id
                    && current != cluster_id
                {
                    return Err(contradiction(format!(
                        "cluster id {cluster_id} replaces cluster id {current}"
                    )));
                }
                self.cluster_id = Some(cluster_id.clone());
            }
            MetadataRecord::RegisterBroker(registration) => {
                if registration.broker_id.0 < 0 {
                    return Err(contradiction(format!(
                        "broker id {} is negative",
                        registration.broker_id
                    )));
                }
                self.brokers
                    .insert(registration.broker_id, registration.clone());
            }
            MetadataRecord::FenceBroker { broker_id }
            | MetadataRecord::UnfenceBroker { broker_id } => {
                let Some(broker) = self.brokers.get_mut(broker_id) else {
                    return Err(contradiction(format!(
                        "broker {broker_id} is not registered"
                    )));
                };
                broker.fenced = matches!(record, MetadataRecord::FenceBroker { .. });
            }
            MetadataRecord::Topic { name, topic_id } => {
                if *topic_id == TopicId::ZERO {
                    return Err(contradiction(format!(
                        "topic {name} has the reserved zero id"
                    )));
                }
                if self.topic_ids.contains_key(name) {
                    return Err(contradiction(format!("topic {name} already exists")));
                }
                if self.topics.contains_key(topic_id) {
                    return Err(contradiction(format!(
                        "topic id {topic_id} is already used"
                    )));
                }
                self.topic_ids.insert(name.clone(), *topic_id);
                self.topics.insert(
                    *topic_id,
                    Arc::new(TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: Vec::new(),
                        configs: BTreeMap::new(),
                    }),
                );
            }
            MetadataRecord::Partition(partition) => {
                let partition_image = self.check_partition(partition).map_err(contradiction)?;
                let topic = self
                    .topics
                    .get_mut(&partition.topic_id)
                    .expect("check_partition found the topic");
                Arc::make_mut(topic).partitions.push(partition_image);
            }
            MetadataRecord::PartitionChange(change) => {
                self.check_partition_change(change).map_err(contradiction)?;
                let topic = self
                    .topics
                    .get_mut(&change.topic_id)
                    .expect("check_partition_change found the topic");
                let partition = Arc::make_mut(topic)
                    .partitions
                    .get_mut(change.partition.0 as usize)
                    .expect("check_partition_change found the partition");
                partition.isr.clone_from(&change.isr);
                partition.leader = change.leader;
                partition.leader_epoch = change.leader_epoch;
                partition.partition_epoch = change.partition_epoch;
            }
            MetadataRecord::PartitionReassignment(change) => {
                let next = self
                    .check_partition_reassignment(change)
                    .map_err(contradiction)?;
                let topic = self
                    .topics
                    .get_mut(&change.topic_id)
                    .expect("check_partition_reassignment found the topic");
                let partition = Arc::make_mut(topic)
                    .partitions
                    .get_mut(change.partition.0 as usize)
                    .expect("check_partition_reassignment found the partition");
                *partition = next;
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let Some(topic) = self.topics.remove(topic_id) else {
                    return Err(contradiction(format!("topic id {topic_id} does not exist")));
                };
                self.topic_ids.remove(&topic.name);
            }
            MetadataRecord::Config {
                resource,
                key,
                value,
            } => {
                let configs = match resource {
                    ConfigResource::Topic(name) => {
                        let Some(topic_id) = self.topic_ids.get(name) else {
                            return Err(contradiction(format!("topic {name} does not exist")));
                        };
                        let topic = self
                            .topics
                            .get_mut(topic_id)
                            .expect("every name in topic_ids has a topic");
                        &mut Arc::make_mut(topic).configs
                    }
                    ConfigResource::Broker(_) | ConfigResource::ClusterDefault => {
                        self.configs.entry(resource.clone()).or_default()
                    }
                };
                match value {
                    Some(value) => {
                        configs.insert(key.clone(), value.clone());
                    }
                    None => {
                        configs.remove(key);
                    }
                }
                if configs.is_empty() && !matches!(resource, ConfigResource::Topic(_)) {
                    self.configs.remove(resource);
                }
            }
        }
        self.end_offset = offset.plus(1);
        Ok(())
    }

    /// Applies a batch atomically: all its records, or (on error) none. The batch must start at
    /// this image's end offset.
    pub fn apply_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.base_offset != self.end_offset {
            return Err(Error::Contradiction {
                offset: batch.base_offset,
                reason: format!(
                    "batch starts at offset {} but the image ends at {}",
                    batch.base_offset, self.end_offset
                ),
            });
        }
        let mut next = self.clone();
        for record in &batch.records {
            next.apply(record)?;
        }
        *self = next;
        Ok(())
    }

    /// Records that rebuild this image from an empty one (its snapshot), in a fixed order.
    pub fn to_records(&self) -> Vec<MetadataRecord> {
        let mut res = Vec::new();
        if let Some(cluster_id) = &self.cluster_id {
            res.push(MetadataRecord::ClusterId {
                cluster_id: cluster_id.clone(),
            });
        }
        for registration in self.brokers.values() {
            res.push(MetadataRecord::RegisterBroker(registration.clone()));
        }
        for (resource, configs) in &self.configs {
            push_configs(&mut res, resource, configs);
        }
        for topic in self.topics() {
            res.push(MetadataRecord::Topic {
                name: topic.name.clone(),
                topic_id: topic.topic_id,
            });
            for (index, partition) in (0u32..).zip(&topic.partitions) {
                let moving = partition.is_reassigning();
                // A move in progress is carried by a `PartitionReassignment` record after the
                // `Partition` record, which must then hold the epoch before it.
                let partition_epoch = if moving {
                    PartitionEpoch(partition.partition_epoch.0.wrapping_sub(1))
                } else {
                    partition.partition_epoch
                };
                res.push(MetadataRecord::Partition(PartitionRecord {
                    topic_id: topic.topic_id,
                    partition: PartitionIndex(index),
                    replicas: partition.replicas.clone(),
                    isr: partition.isr.clone(),
                    leader: partition.leader,
                    leader_epoch: partition.leader_epoch,
                    partition_epoch,
                }));
                if moving {
                    res.push(MetadataRecord::PartitionReassignment(
                        PartitionReassignmentRecord {
                            topic_id: topic.topic_id,
                            partition: PartitionIndex(index),
                            replicas: partition.replicas.clone(),
                            adding_replicas: partition.adding_replicas.clone(),
                            removing_replicas: partition.removing_replicas.clone(),
                            isr: partition.isr.clone(),
                            leader: partition.leader,
                            leader_epoch: partition.leader_epoch,
                            partition_epoch: partition.partition_epoch,
                        },
                    ));
                }
            }
            push_configs(
                &mut res,
                &ConfigResource::Topic(topic.name.clone()),
                &topic.configs,
            );
        }
        res
    }

    /// The offset the next record will get: the number of records this image reflects.
    pub fn end_offset(&self) -> MetadataOffset {
        self.end_offset
    }

    /// The cluster id, once the log has its `ClusterId` record.
    pub fn cluster_id(&self) -> Option<&ClusterId> {
        self.cluster_id.as_ref()
    }

    /// A registered broker.
    pub fn broker(&self, broker_id: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.get(&broker_id)
    }

    /// Every registered broker, by id.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values()
    }

    /// The registered brokers that are not fenced, by id: the ones that may get replicas.
    pub fn unfenced_broker_ids(&self) -> Vec<BrokerId> {
        self.brokers
            .values()
            .filter(|broker| !broker.fenced)
            .map(|broker| broker.broker_id)
            .collect()
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        let topic_id = self.topic_ids.get(name)?;
        self.topic_by_id(*topic_id)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, topic_id: TopicId) -> Option<&TopicImage> {
        self.topics.get(&topic_id).map(Arc::as_ref)
    }

    /// Every topic, by name.
    pub fn topics(&self) -> impl Iterator<Item = &TopicImage> {
        self.topic_ids
            .values()
            .filter_map(|topic_id| self.topic_by_id(*topic_id))
    }

    /// A partition of a topic, by topic name.
    pub fn partition(&self, name: &str, partition: PartitionIndex) -> Option<&PartitionImage> {
        self.topic(name)?.partition(partition)
    }

    /// The number of partitions of all topics together.
    pub fn partition_count(&self) -> u64 {
        self.topics
            .values()
            .map(|topic| topic.partitions.len() as u64)
            .sum()
    }

    /// The config overrides of a resource (empty when it has none, or is an unknown topic).
    pub fn configs(&self, resource: &ConfigResource) -> &BTreeMap<String, String> {
        match resource {
            ConfigResource::Topic(name) => {
                self.topic(name).map_or(&NO_CONFIGS, |topic| &topic.configs)
            }
            ConfigResource::Broker(_) | ConfigResource::ClusterDefault => {
                self.configs.get(resource).unwrap_or(&NO_CONFIGS)
            }
        }
    }

    fn check_partition(&self, record: &PartitionRecord) -> Result<PartitionImage, String> {
        let Some(topic) = self.topics.get(&record.topic_id) else {
            return Err(format!("topic id {} does not exist", record.topic_id));
        };
        if record.partition.0 as usize != topic.partitions.len() {
            return Err(format!(
                "partition {} of topic {} is not the next one ({})",
                record.partition,
                topic.name,
                topic.partitions.len()
            ));
        }
        if record.replicas.is_empty() {
            return Err(format!(
                "partition {} of topic {} has no replicas",
                record.partition, topic.name
            ));
        }
        self.check_replica_set(&record.replicas)?;
        let res = PartitionImage {
            replicas: record.replicas.clone(),
            isr: record.isr.clone(),
            leader: record.leader,
            leader_epoch: record.leader_epoch,
            partition_epoch: record.partition_epoch,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        };
        check_leader_and_isr(&res)?;
        Ok(res)
    }

    /// A replica list names each broker once, and only registered brokers.
    fn check_replica_set(&self, replicas: &[BrokerId]) -> Result<(), String> {
        if let Some(duplicate) = first_duplicate(replicas) {
            return Err(format!("broker {duplicate} appears twice in the replicas"));
        }
        if let Some(unknown) = replicas
            .iter()
            .find(|broker_id| !self.brokers.contains_key(broker_id))
        {
            return Err(format!("replica broker {unknown} is not registered"));
        }
        Ok(())
    }

    /// The partition a change record is about, once its epochs are checked: the partition
    /// epoch must follow the current one, and the leader epoch stays with the leader and is
    /// bumped when the leader changes.
    fn changed_partition(
        &self,
        topic_id: TopicId,
        partition: PartitionIndex,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
    ) -> Result<&PartitionImage, String> {
        let Some(topic) = self.topics.get(&topic_id) else {
            return Err(format!("topic id {topic_id} does not exist"));
        };
        let Some(current) = topic.partition(partition) else {
            return Err(format!("topic {} has no partition {partition}", topic.name));
        };
        if partition_epoch.0 != current.partition_epoch.0.wrapping_add(1) {
            return Err(format!(
                "partition epoch {partition_epoch} does not follow {}",
                current.partition_epoch
            ));
        }
        let expected_leader_epoch = if leader == current.leader {
            current.leader_epoch.0
        } else {
            current.leader_epoch.0.wrapping_add(1)
        };
        if leader_epoch.0 != expected_leader_epoch {
            return Err(format!(
                "leader epoch {leader_epoch} should be {expected_leader_epoch}"
            ));
        }
        Ok(current)
    }

    fn check_partition_change(&self, change: &PartitionChangeRecord) -> Result<(), String> {
        let current = self.changed_partition(
            change.topic_id,
            change.partition,
            change.leader,
            change.leader_epoch,
            change.partition_epoch,
        )?;
        check_leader_and_isr(&PartitionImage {
            replicas: current.replicas.clone(),
            isr: change.isr.clone(),
            leader: change.leader,
            leader_epoch: change.leader_epoch,
            partition_epoch: change.partition_epoch,
            adding_replicas: current.adding_replicas.clone(),
            removing_replicas: current.removing_replicas.clone(),
        })
    }

    /// Checks a replica set change against the partition and returns the partition after it.
    fn check_partition_reassignment(
        &self,
        change: &PartitionReassignmentRecord,
    ) -> Result<PartitionImage, String> {
        self.changed_partition(
            change.topic_id,
            change.partition,
            change.leader,
            change.leader_epoch,
            change.partition_epoch,
        )?;
        if change.replicas.is_empty() {
            return Err("the new replicas are empty".to_owned());
        }
        self.check_replica_set(&change.replicas)?;
        for (name, moving) in [
            ("adding", &change.adding_replicas),
            ("removing", &change.removing_replicas),
        ] {
            if let Some(duplicate) = first_duplicate(moving) {
                return Err(format!("broker {duplicate} appears twice in {name}"));
            }
            if let Some(outsider) = moving
                .iter()
                .find(|broker_id| !change.replicas.contains(broker_id))
            {
                return Err(format!("{name} member {outsider} is not a replica"));
            }
        }
        if let Some(both) = change
            .adding_replicas
            .iter()
            .find(|broker_id| change.removing_replicas.contains(broker_id))
        {
            return Err(format!("broker {both} is both added and removed"));
        }
        if change.removing_replicas.len() >= change.replicas.len() {
            return Err("every replica is being removed".to_owned());
        }
        let res = PartitionImage {
            replicas: change.replicas.clone(),
            isr: change.isr.clone(),
            leader: change.leader,
            leader_epoch: change.leader_epoch,
            partition_epoch: change.partition_epoch,
            adding_replicas: change.adding_replicas.clone(),
            removing_replicas: change.removing_replicas.clone(),
        };
        check_leader_and_isr(&res)?;
        Ok(res)
    }
}

impl PartitionImage {
    /// Whether a reassignment is in progress (some replica is being added or removed).
    pub fn is_reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replicas the partition will have once its reassignment completes (all of them when
    /// nothing moves), in order.
    pub fn target_replicas(&self) -> Vec<BrokerId> {
        self.replicas
            .iter()
            .copied()
            .filter(|broker_id| !self.removing_replicas.contains(broker_id))
            .collect()
    }

    /// The replicas the partition had before its reassignment started (all of them when
    /// nothing moves), in order.
    pub fn original_replicas(&self) -> Vec<BrokerId> {
        self.replicas
            .iter()
            .copied()
            .filter(|broker_id| !self.adding_replicas.contains(broker_id))
            .collect()
    }
}

impl TopicImage {
    /// A partition of this topic.
    pub fn partition(&self, partition: PartitionIndex) -> Option<&PartitionImage> {
        self.partitions.get(usize::try_from(partition.0).ok()?)
    }

    /// The number of partitions.
    pub fn partition_count(&self) -> u32 {
        u32::try_from(self.partitions.len()).expect("partition indexes are u32")
    }
}

fn push_configs(
    records: &mut Vec<MetadataRecord>,
    resource: &ConfigResource,
    configs: &BTreeMap<String, String>,
) {
    for (key, value) in configs {
        records.push(MetadataRecord::Config {
            resource: resource.clone(),
            key: key.clone(),
            value: Some(value.clone()),
        });
    }
}

/// The ISR is a set of replicas and the leader is in it.
fn check_leader_and_isr(partition: &PartitionImage) -> Result<(), String> {
    if let Some(duplicate) = first_duplicate(&partition.isr) {
        return Err(format!("broker {duplicate} appears twice in the isr"));
    }
    if let Some(outsider) = partition
        .isr
        .iter()
        .find(|broker_id| !partition.replicas.contains(broker_id))
    {
        return Err(format!("isr member {outsider} is not a replica"));
    }
    if let Some(leader) = partition.leader
        && !partition.isr.contains(&leader)
    {
        return Err(format!("leader {leader} is not in the isr"));
    }
    Ok(())
}

pub(crate) fn first_duplicate(broker_ids: &[BrokerId]) -> Option<BrokerId> {
    let mut seen = std::collections::BTreeSet::new();
    broker_ids
        .iter()
        .copied()
        .find(|broker_id| !seen.insert(*broker_id))
}
