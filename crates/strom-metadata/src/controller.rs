//! The controller's decisions: admin intents (create topics, delete topics, create partitions,
//! alter configs, register and fence brokers, reassign partitions) checked against an image with
//! Kafka's rules and turned into the records that carry them out. Planners that change an ISR or
//! a broker's fencing also complete the partition reassignments their change made complete.
//!
//! Every function here is pure: it reads an image and returns records (or the error the broker
//! maps to a wire code). Nothing is written; the caller commits the records (today
//! [`LocalController`](crate::LocalController) through its on-disk log, later a Raft quorum) and
//! applies them. Topic ids come from the caller; nothing here reads a clock or a random source.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::election::{ElectionConfig, is_live, unclean_election_enabled, unclean_leader};
use crate::ids::{BrokerId, LeaderEpoch, PartitionEpoch, PartitionIndex, TopicId};
use crate::image::{MetadataImage, PartitionImage, TopicImage, first_duplicate};
use crate::placement::place_replicas;
use crate::record::{
    BrokerRegistration, ConfigResource, MetadataRecord, PartitionChangeRecord,
    PartitionReassignmentRecord, PartitionRecord,
};
use crate::{Error, Result};

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// The most partitions one topic creation or partition increase may add (Kafka's controller
/// limit per request, `POLICY_VIOLATION` beyond it), so a request cannot make the controller
/// allocate without bound.
pub const MAX_NEW_PARTITIONS: u64 = 10_000;

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopic {
    /// Its name.
    pub name: String,
    /// Its id, chosen randomly by the caller (not the zero id).
    pub topic_id: TopicId,
    /// How many partitions and where their replicas go.
    pub layout: TopicLayout,
    /// Config overrides, already validated by the caller (key names and values).
    pub configs: BTreeMap<String, String>,
}

/// How a new topic's partitions are laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicLayout {
    /// Let the controller place the replicas. The numbers are the request's, after the broker
    /// replaced Kafka's `-1` ("use the default") by its defaults, so out-of-range values get
    /// Kafka's errors here.
    Placed {
        /// `num_partitions`: must be at least 1.
        partitions: i32,
        /// `replication_factor`: at least 1 and at most the unfenced brokers.
        replication_factor: i16,
    },
    /// Explicit replicas per partition, listed for partitions 0, 1, 2, ... in order.
    Assigned(Vec<(PartitionIndex, Vec<BrokerId>)>),
}

/// What a topic creation did (or would do, when only validating).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTopic {
    /// The topic's name.
    pub name: String,
    /// The topic's id.
    pub topic_id: TopicId,
    /// The replicas of each partition, leader first.
    pub replicas: Vec<Vec<BrokerId>>,
    /// The config overrides it was created with.
    pub configs: BTreeMap<String, String>,
}

/// A topic named in a delete request: by name, or (DeleteTopics v6+) by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopicRef {
    /// By name.
    Name(String),
    /// By id.
    Id(TopicId),
}

/// A deleted topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedTopic {
    /// Its name.
    pub name: String,
    /// Its id.
    pub topic_id: TopicId,
}

/// A request to grow a topic to `count` partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePartitions {
    /// The topic.
    pub name: String,
    /// The new total number of partitions.
    pub count: i32,
    /// Explicit replicas for each new partition, in order, or `None` to let the controller place
    /// them.
    pub assignments: Option<Vec<Vec<BrokerId>>>,
}

/// A change of one resource's config overrides (IncrementalAlterConfigs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterConfigs {
    /// The resource.
    pub resource: ConfigResource,
    /// The operations, applied in order; a key may appear once.
    pub ops: Vec<ConfigOp>,
}

/// One operation on one config key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConfigOp {
    /// Set the override to a value.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove the override (fall back to the default).
    Delete {
        /// The key.
        key: String,
    },
    /// Add comma-separated items to a list value that lack them.
    Append {
        /// The key.
        key: String,
        /// The items, comma-separated.
        value: String,
    },
    /// Remove comma-separated items from a list value.
    Subtract {
        /// The key.
        key: String,
        /// The items, comma-separated.
        value: String,
    },
}

/// What the controller needs from the broker to alter configs: it knows the config keys, their
/// defaults and their value rules; this crate does not.
pub struct ConfigRules<'a> {
    /// The current value of `key` for `resource` when it has no override (the base that
    /// `Append` and `Subtract` start from), or `None` when it has no default.
    pub default_value: &'a dyn Fn(&ConfigResource, &str) -> Option<String>,
    /// Checks a resource's complete new set of overrides; `Err` carries the reason for
    /// `INVALID_CONFIG`.
    pub validate: &'a ConfigValidator,
}

/// Checks a resource's complete new set of config overrides: `Err` carries the reason.
pub type ConfigValidator = dyn Fn(&ConfigResource, &BTreeMap<String, String>) -> Result<(), String>;

impl ConfigOp {
    /// The key the operation changes.
    pub fn key(&self) -> &str {
        match self {
            ConfigOp::Set { key, .. }
            | ConfigOp::Delete { key }
            | ConfigOp::Append { key, .. }
            | ConfigOp::Subtract { key, .. } => key,
        }
    }
}

/// Checks a topic name against Kafka's rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, and not
/// `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| Error::InvalidTopicName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    if name.is_empty() {
        return Err(invalid("the name is empty"));
    }
    if name == "." || name == ".." {
        return Err(invalid("the name cannot be \".\" or \"..\""));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(invalid("the name is longer than 249 characters"));
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
    {
        return Err(invalid(
            "the name contains a character other than ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Plans the creation of one topic.
pub fn plan_create_topic(
    image: &MetadataImage,
    topic: &CreateTopic,
) -> Result<(CreatedTopic, Vec<MetadataRecord>)> {
    validate_topic_name(&topic.name)?;
    if image.topic(&topic.name).is_some() {
        return Err(Error::TopicAlreadyExists {
            name: topic.name.clone(),
        });
    }
    // '.' and '_' collide in metric names, so Kafka refuses a topic that differs from an existing
    // one only in them.
    let collision_key = topic.name.replace('.', "_");
    if let Some(other) = image
        .topics()
        .find(|other| other.name.replace('.', "_") == collision_key)
    {
        return Err(Error::InvalidTopicName {
            name: topic.name.clone(),
            reason: format!("it collides with existing topic {}", other.name),
        });
    }
    if topic.topic_id == TopicId::ZERO {
        return Err(Error::InvalidTopicId {
            topic_id: topic.topic_id,
            reason: "the zero id is reserved".to_owned(),
        });
    }
    if image.topic_by_id(topic.topic_id).is_some() {
        return Err(Error::InvalidTopicId {
            topic_id: topic.topic_id,
            reason: "another topic has it".to_owned(),
        });
    }
    let replicas = match &topic.layout {
        TopicLayout::Placed {
            partitions,
            replication_factor,
        } => {
            if *partitions < 1 {
                return Err(Error::InvalidPartitions {
                    topic: topic.name.clone(),
                    reason: format!(
                        "the number of partitions must be larger than 0, not {partitions}"
                    ),
                });
            }
            let partitions = partitions.unsigned_abs();
            check_new_partition_count(&topic.name, u64::from(partitions))?;
            if *replication_factor < 1 {
                return Err(Error::InvalidReplicationFactor {
                    topic: topic.name.clone(),
                    reason: format!(
                        "the replication factor must be larger than 0, not {replication_factor}"
                    ),
                });
            }
            place(
                image,
                &topic.name,
                partitions,
                usize::from(replication_factor.unsigned_abs()),
            )?
        }
        TopicLayout::Assigned(assignments) => {
            if assignments.is_empty() {
                return Err(Error::InvalidReplicaAssignment {
                    topic: topic.name.clone(),
                    reason: "the assignment has no partitions".to_owned(),
                });
            }
            check_new_partition_count(&topic.name, assignments.len() as u64)?;
            for (position, (partition, _)) in (0u32..).zip(assignments) {
                if partition.0 != position {
                    return Err(Error::InvalidReplicaAssignment {
                        topic: topic.name.clone(),
                        reason: "partitions should be a consecutive 0-based integer sequence"
                            .to_owned(),
                    });
                }
            }
            let replicas: Vec<Vec<BrokerId>> = assignments
                .iter()
                .map(|(_, replicas)| replicas.clone())
                .collect();
            check_assignments(image, &topic.name, &replicas, None)?;
            replicas
        }
    };
    let mut records = vec![MetadataRecord::Topic {
        name: topic.name.clone(),
        topic_id: topic.topic_id,
    }];
    records.extend(partition_records(image, topic.topic_id, 0, &replicas));
    for (key, value) in &topic.configs {
        records.push(MetadataRecord::Config {
            resource: ConfigResource::Topic(topic.name.clone()),
            key: key.clone(),
            value: Some(value.clone()),
        });
    }
    let res = CreatedTopic {
        name: topic.name.clone(),
        topic_id: topic.topic_id,
        replicas,
        configs: topic.configs.clone(),
    };
    Ok((res, records))
}

/// Plans the deletion of one topic.
pub fn plan_delete_topic(
    image: &MetadataImage,
    topic: &TopicRef,
) -> Result<(DeletedTopic, Vec<MetadataRecord>)> {
    let found = match topic {
        TopicRef::Name(name) => image.topic(name),
        TopicRef::Id(topic_id) => image.topic_by_id(*topic_id),
    };
    let Some(found) = found else {
        return match topic {
            TopicRef::Name(name) => Err(Error::UnknownTopic { name: name.clone() }),
            TopicRef::Id(topic_id) => Err(Error::UnknownTopicId {
                topic_id: *topic_id,
            }),
        };
    };
    let res = DeletedTopic {
        name: found.name.clone(),
        topic_id: found.topic_id,
    };
    let records = vec![MetadataRecord::RemoveTopic {
        topic_id: found.topic_id,
    }];
    Ok((res, records))
}

/// Plans growing a topic's partition count. Returns the replicas of the new partitions.
pub fn plan_create_partitions(
    image: &MetadataImage,
    request: &CreatePartitions,
) -> Result<(Vec<Vec<BrokerId>>, Vec<MetadataRecord>)> {
    let Some(topic) = image.topic(&request.name) else {
        return Err(Error::UnknownTopic {
            name: request.name.clone(),
        });
    };
    let current = topic.partition_count();
    let invalid = |reason: String| Error::InvalidPartitions {
        topic: request.name.clone(),
        reason,
    };
    let requested = i64::from(request.count);
    if requested < i64::from(current) {
        return Err(invalid(format!(
            "the topic has {current} partitions, more than the requested {requested}"
        )));
    }
    if requested == i64::from(current) {
        return Err(invalid(format!(
            "the topic already has {current} partitions"
        )));
    }
    let added = request.count.unsigned_abs() - current;
    check_new_partition_count(&request.name, u64::from(added))?;
    let replication_factor = topic
        .partitions
        .first()
        .map_or(1, |partition| partition.replicas.len());
    let replicas = match &request.assignments {
        Some(assignments) => {
            if assignments.len() != added as usize {
                return Err(Error::InvalidReplicaAssignment {
                    topic: request.name.clone(),
                    reason: format!(
                        "{} assignments given for {added} new partitions",
                        assignments.len()
                    ),
                });
            }
            check_assignments(image, &request.name, assignments, Some(replication_factor))?;
            assignments.clone()
        }
        None => place(image, &request.name, added, replication_factor)?,
    };
    let records = partition_records(image, topic.topic_id, current, &replicas);
    Ok((replicas, records))
}

/// Plans an incremental change of one resource's config overrides.
pub fn plan_alter_configs(
    image: &MetadataImage,
    request: &AlterConfigs,
    rules: &ConfigRules<'_>,
) -> Result<Vec<MetadataRecord>> {
    let resource = &request.resource;
    if let ConfigResource::Topic(name) = resource
        && image.topic(name).is_none()
    {
        return Err(Error::UnknownTopic { name: name.clone() });
    }
    let mut keys = BTreeSet::new();
    if let Some(op) = request.ops.iter().find(|op| !keys.insert(op.key())) {
        return Err(Error::InvalidRequest {
            reason: format!("config key {} is altered twice for {resource}", op.key()),
        });
    }
    let current = image.configs(resource);
    let mut next = current.clone();
    for op in &request.ops {
        match op {
            ConfigOp::Set { key, value } => {
                next.insert(key.clone(), value.clone());
            }
            ConfigOp::Delete { key } => {
                next.remove(key);
            }
            ConfigOp::Append { key, value } | ConfigOp::Subtract { key, value } => {
                let base = match next.get(key) {
                    Some(value) => Some(value.clone()),
                    None => (rules.default_value)(resource, key),
                };
                let mut items: Vec<&str> = list_items(base.as_deref().unwrap_or(""));
                let changes = list_items(value);
                if matches!(op, ConfigOp::Append { .. }) {
                    for item in changes {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                } else {
                    items.retain(|item| !changes.contains(item));
                }
                let joined = items.join(",");
                next.insert(key.clone(), joined);
            }
        }
    }
    if let Err(reason) = (rules.validate)(resource, &next) {
        return Err(Error::InvalidConfig {
            resource: resource.clone(),
            reason,
        });
    }
    let mut records = Vec::new();
    for (key, value) in &next {
        if current.get(key) != Some(value) {
            records.push(MetadataRecord::Config {
                resource: resource.clone(),
                key: key.clone(),
                value: Some(value.clone()),
            });
        }
    }
    for key in current.keys() {
        if !next.contains_key(key) {
            records.push(MetadataRecord::Config {
                resource: resource.clone(),
                key: key.clone(),
                value: None,
            });
        }
    }
    Ok(records)
}

/// Plans a broker's registration. Registering again with the same details changes nothing.
pub fn plan_register_broker(
    image: &MetadataImage,
    registration: &BrokerRegistration,
) -> Result<Vec<MetadataRecord>> {
    let invalid = |reason: String| Error::InvalidRegistration {
        broker_id: registration.broker_id,
        reason,
    };
    if registration.broker_id.0 < 0 {
        return Err(invalid("broker ids are not negative".to_owned()));
    }
    let mut listeners = BTreeSet::new();
    if let Some(endpoint) = registration
        .endpoints
        .iter()
        .find(|endpoint| !listeners.insert(endpoint.listener.as_str()))
    {
        return Err(invalid(format!(
            "listener {} is registered twice",
            endpoint.listener
        )));
    }
    if image.broker(registration.broker_id) == Some(registration) {
        return Ok(Vec::new());
    }
    let mut records = vec![MetadataRecord::RegisterBroker(registration.clone())];
    if registration.fenced {
        records.extend(leave_partitions(
            image,
            registration.broker_id,
            ElectionConfig::default(),
        ));
    } else {
        records.extend(elect_where_leaderless(
            image,
            registration.broker_id,
            ElectionConfig::default(),
        ));
    }
    Ok(with_completed_reassignments(image, records))
}

/// Plans fencing a broker: it leaves every ISR it is not the last member of, and its partitions
/// get new leaders from what remains of their ISR (or none). Topics that enable
/// `unclean.leader.election.enable` themselves elect uncleanly (see [`plan_fence_broker_with`]).
pub fn plan_fence_broker(
    image: &MetadataImage,
    broker_id: BrokerId,
) -> Result<Vec<MetadataRecord>> {
    plan_fence_broker_with(image, broker_id, ElectionConfig::default())
}

/// [`plan_fence_broker`] with the broker's election settings: a partition it leads whose ISR has
/// no other live member gets, when its topic enables unclean election, the first live replica
/// as leader with an ISR of only that replica (its leader epoch bumped); otherwise none.
pub fn plan_fence_broker_with(
    image: &MetadataImage,
    broker_id: BrokerId,
    config: ElectionConfig,
) -> Result<Vec<MetadataRecord>> {
    let Some(broker) = image.broker(broker_id) else {
        return Err(Error::UnknownBroker { broker_id });
    };
    if broker.fenced {
        return Ok(Vec::new());
    }
    let mut records = vec![MetadataRecord::FenceBroker { broker_id }];
    records.extend(leave_partitions(image, broker_id, config));
    Ok(with_completed_reassignments(image, records))
}

/// Plans unfencing a broker: leaderless partitions whose ISR contains it get it as leader.
/// Topics that enable `unclean.leader.election.enable` themselves elect uncleanly (see
/// [`plan_unfence_broker_with`]).
pub fn plan_unfence_broker(
    image: &MetadataImage,
    broker_id: BrokerId,
) -> Result<Vec<MetadataRecord>> {
    plan_unfence_broker_with(image, broker_id, ElectionConfig::default())
}

/// [`plan_unfence_broker`] with the broker's election settings: a leaderless partition with the
/// broker among its replicas but not its ISR, and no live ISR member, gets it as leader with an
/// ISR of only itself when its topic enables unclean election.
pub fn plan_unfence_broker_with(
    image: &MetadataImage,
    broker_id: BrokerId,
    config: ElectionConfig,
) -> Result<Vec<MetadataRecord>> {
    let Some(broker) = image.broker(broker_id) else {
        return Err(Error::UnknownBroker { broker_id });
    };
    if !broker.fenced {
        return Ok(Vec::new());
    }
    let mut records = vec![MetadataRecord::UnfenceBroker { broker_id }];
    records.extend(elect_where_leaderless(image, broker_id, config));
    Ok(with_completed_reassignments(image, records))
}

/// An ISR change proposed by a partition's leader (Kafka's AlterPartition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterPartition {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: PartitionIndex,
    /// The proposing leader.
    pub leader: BrokerId,
    /// The leader epoch the proposal was computed under.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the proposal was computed from.
    pub partition_epoch: PartitionEpoch,
    /// The proposed ISR.
    pub isr: Vec<BrokerId>,
}

/// Plans an ISR change proposed by the partition's leader. Refused (`InvalidRequest`, which the
/// leader treats as "propose again later") when the proposer does not lead the partition, when
/// the leader or partition epoch moved on since the proposal, when the ISR is not a subset of
/// the replicas containing the leader, or when it adds a fenced broker. An ISR equal to the
/// current one writes nothing.
pub fn plan_alter_partition(
    image: &MetadataImage,
    change: &AlterPartition,
) -> Result<Vec<MetadataRecord>> {
    let refuse = |reason: String| {
        Err(Error::InvalidRequest {
            reason: format!("{}-{}: {reason}", change.topic, change.partition),
        })
    };
    let Some(topic) = image.topic(&change.topic) else {
        return Err(Error::UnknownTopic {
            name: change.topic.clone(),
        });
    };
    let Some(partition) = topic.partition(change.partition) else {
        return refuse("no such partition".to_owned());
    };
    if partition.leader != Some(change.leader) {
        return refuse(format!("broker {} is not the leader", change.leader));
    }
    if partition.leader_epoch != change.leader_epoch
        || partition.partition_epoch != change.partition_epoch
    {
        return refuse(format!(
            "stale proposal (leader epoch {}, partition epoch {}; now {} and {})",
            change.leader_epoch,
            change.partition_epoch,
            partition.leader_epoch,
            partition.partition_epoch
        ));
    }
    if !change.isr.contains(&change.leader) {
        return refuse("the leader is not in the proposed isr".to_owned());
    }
    for member in &change.isr {
        if !partition.replicas.contains(member) {
            return refuse(format!("broker {member} is not a replica"));
        }
        let fenced = image.broker(*member).is_none_or(|broker| broker.fenced);
        if fenced && !partition.isr.contains(member) {
            return refuse(format!("broker {member} is fenced and cannot join the isr"));
        }
    }
    let mut isr = change.isr.clone();
    isr.sort_unstable();
    isr.dedup();
    let records = change_record(topic, change.partition, partition, isr, partition.leader)
        .into_iter()
        .collect();
    Ok(with_completed_reassignments(image, records))
}

/// A reassignment of one partition (AlterPartitionReassignments): move it to `target`, or
/// cancel the move in progress (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: PartitionIndex,
    /// The target replicas, preferred leader first, or `None` to cancel.
    pub target: Option<Vec<BrokerId>>,
    /// Whether the target may have another number of replicas than the partition had before
    /// the move (AlterPartitionReassignments v1's `AllowReplicationFactorChange`).
    pub allow_replication_factor_change: bool,
}

/// A partition's reassignment in progress, as ListPartitionReassignments reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OngoingReassignment {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: PartitionIndex,
    /// All current replicas (target first, then those being removed).
    pub replicas: Vec<BrokerId>,
    /// The replicas being added.
    pub adding_replicas: Vec<BrokerId>,
    /// The replicas being removed.
    pub removing_replicas: Vec<BrokerId>,
}

/// Plans a partition reassignment with KIP-455's rules. A target `T` makes the replicas `T`
/// followed by the current replicas not in `T`, adding `T` minus the current replicas and
/// removing the current replicas not in `T`; a new target replaces a move in progress. The move
/// completes as soon as every member of `T` is in the ISR (at once, if they are already). `None`
/// cancels: the replicas go back to those before the move, and the added ones leave the ISR.
///
/// Errors: unknown topic (`UnknownTopic`) or partition (`UnknownPartition`); a target that is
/// empty, repeats a broker or names an unregistered one (`InvalidReplicaAssignment`); a target
/// of another size when that is not allowed (`InvalidReplicationFactor`); a cancel with nothing
/// in progress (`NoReassignmentInProgress`), or one that would leave no ISR member
/// (`InvalidReplicaAssignment`).
pub fn plan_reassign(
    image: &MetadataImage,
    reassignment: &Reassignment,
) -> Result<Vec<MetadataRecord>> {
    let name = &reassignment.topic;
    let Some(topic) = image.topic(name) else {
        return Err(Error::UnknownTopic { name: name.clone() });
    };
    let Some(partition) = topic.partition(reassignment.partition) else {
        return Err(Error::UnknownPartition {
            topic: name.clone(),
            partition: reassignment.partition,
        });
    };
    let invalid = |reason: String| Error::InvalidReplicaAssignment {
        topic: name.clone(),
        reason: format!("partition {}: {reason}", reassignment.partition),
    };
    let usable = |broker_id: &BrokerId| {
        image
            .broker(*broker_id)
            .is_some_and(|broker| !broker.fenced)
    };
    let (replicas, adding, removing, isr, leader) = match &reassignment.target {
        None => {
            if !partition.is_reassigning() {
                return Err(Error::NoReassignmentInProgress {
                    topic: name.clone(),
                    partition: reassignment.partition,
                });
            }
            let replicas = partition.original_replicas();
            let isr: Vec<BrokerId> = partition
                .isr
                .iter()
                .copied()
                .filter(|member| replicas.contains(member))
                .collect();
            if isr.is_empty() {
                return Err(invalid(
                    "cancelling would leave no in-sync replica".to_owned(),
                ));
            }
            let leader = match partition.leader {
                Some(leader) if isr.contains(&leader) => Some(leader),
                _ => replicas
                    .iter()
                    .copied()
                    .find(|replica| isr.contains(replica) && usable(replica)),
            };
            (replicas, Vec::new(), Vec::new(), isr, leader)
        }
        Some(target) => {
            if target.is_empty() {
                return Err(invalid("the target replicas are empty".to_owned()));
            }
            if let Some(duplicate) = first_duplicate(target) {
                return Err(invalid(format!(
                    "broker {duplicate} appears more than once in the target"
                )));
            }
            if let Some(unknown) = target
                .iter()
                .find(|broker_id| image.broker(**broker_id).is_none())
            {
                return Err(invalid(format!("broker {unknown} is not registered")));
            }
            let original = partition.original_replicas();
            if !reassignment.allow_replication_factor_change && target.len() != original.len() {
                return Err(Error::InvalidReplicationFactor {
                    topic: name.clone(),
                    reason: format!(
                        "partition {} has {} replicas and the target {}, but the replication \
                         factor may not change",
                        reassignment.partition,
                        original.len(),
                        target.len()
                    ),
                });
            }
            let current = &partition.replicas;
            let mut replicas = target.clone();
            replicas.extend(current.iter().copied().filter(|r| !target.contains(r)));
            let adding: Vec<BrokerId> = target
                .iter()
                .copied()
                .filter(|r| !current.contains(r))
                .collect();
            let removing: Vec<BrokerId> = current
                .iter()
                .copied()
                .filter(|r| !target.contains(r))
                .collect();
            (
                replicas,
                adding,
                removing,
                partition.isr.clone(),
                partition.leader,
            )
        }
    };
    let next = PartitionImage {
        replicas,
        isr,
        leader,
        leader_epoch: partition.leader_epoch,
        partition_epoch: partition.partition_epoch,
        adding_replicas: adding,
        removing_replicas: removing,
    };
    let mut records = Vec::new();
    if next.replicas != partition.replicas
        || next.adding_replicas != partition.adding_replicas
        || next.removing_replicas != partition.removing_replicas
        || next.isr != partition.isr
        || next.leader != partition.leader
    {
        records.push(reassignment_record(
            topic,
            reassignment.partition,
            partition,
            &next,
        ));
    }
    Ok(with_completed_reassignments(image, records))
}

/// The reassignments in progress, by topic name and partition; only those of `partitions`
/// when given (unknown ones are left out, as Kafka does).
pub fn ongoing_reassignments(
    image: &MetadataImage,
    partitions: Option<&[(String, PartitionIndex)]>,
) -> Vec<OngoingReassignment> {
    let ongoing = |topic: &TopicImage, index: PartitionIndex| {
        let partition = topic.partition(index)?;
        if !partition.is_reassigning() {
            return None;
        }
        Some(OngoingReassignment {
            topic: topic.name.clone(),
            partition: index,
            replicas: partition.replicas.clone(),
            adding_replicas: partition.adding_replicas.clone(),
            removing_replicas: partition.removing_replicas.clone(),
        })
    };
    match partitions {
        Some(partitions) => partitions
            .iter()
            .filter_map(|(name, index)| ongoing(image.topic(name)?, *index))
            .collect(),
        None => {
            let mut res = Vec::new();
            for_each_partition(image, |topic, index, _| res.extend(ongoing(topic, index)));
            res
        }
    }
}

/// `records` followed by the records that complete every reassignment they made complete
/// (each in-progress move whose target replicas are all in the ISR after `records`).
fn with_completed_reassignments(
    image: &MetadataImage,
    mut records: Vec<MetadataRecord>,
) -> Vec<MetadataRecord> {
    if records.is_empty() {
        return records;
    }
    let mut after = image.clone();
    for record in &records {
        if after.apply(record).is_err() {
            // The image refuses the plan anyway when it is committed; nothing to complete.
            return records;
        }
    }
    // A broker's fencing state changes who may lead, so every move is checked then; otherwise
    // only the partitions the records changed.
    let every = records.iter().any(|record| {
        matches!(
            record,
            MetadataRecord::RegisterBroker(_)
                | MetadataRecord::FenceBroker { .. }
                | MetadataRecord::UnfenceBroker { .. }
        )
    });
    let touched: BTreeSet<(TopicId, PartitionIndex)> = records
        .iter()
        .filter_map(|record| match record {
            MetadataRecord::PartitionChange(change) => Some((change.topic_id, change.partition)),
            MetadataRecord::PartitionReassignment(change) => {
                Some((change.topic_id, change.partition))
            }
            _ => None,
        })
        .collect();
    for_each_partition(&after, |topic, index, partition| {
        if every || touched.contains(&(topic.topic_id, index)) {
            records.extend(completion_record(&after, topic, index, partition));
        }
    });
    records
}

/// The record completing a partition's reassignment, if one is in progress and every target
/// replica is in the ISR: the replicas become the target, the ISR keeps only target replicas,
/// and a leader outside the target hands over to the first target replica in the ISR that is
/// unfenced (the move waits while there is none).
fn completion_record(
    image: &MetadataImage,
    topic: &TopicImage,
    index: PartitionIndex,
    partition: &PartitionImage,
) -> Option<MetadataRecord> {
    if !partition.is_reassigning() {
        return None;
    }
    let target = partition.target_replicas();
    if !target.iter().all(|replica| partition.isr.contains(replica)) {
        return None;
    }
    let isr: Vec<BrokerId> = partition
        .isr
        .iter()
        .copied()
        .filter(|member| target.contains(member))
        .collect();
    let leader = match partition.leader {
        Some(leader) if target.contains(&leader) => Some(leader),
        _ => Some(target.iter().copied().find(|replica| {
            isr.contains(replica) && image.broker(*replica).is_some_and(|broker| !broker.fenced)
        })?),
    };
    let next = PartitionImage {
        replicas: target,
        isr,
        leader,
        leader_epoch: partition.leader_epoch,
        partition_epoch: partition.partition_epoch,
        adding_replicas: Vec::new(),
        removing_replicas: Vec::new(),
    };
    Some(reassignment_record(topic, index, partition, &next))
}

/// A `PartitionReassignment` from `partition` to `next`'s replicas, ISR and leader, with the
/// epochs bumped as the image requires.
fn reassignment_record(
    topic: &TopicImage,
    index: PartitionIndex,
    partition: &PartitionImage,
    next: &PartitionImage,
) -> MetadataRecord {
    let leader_epoch = if next.leader == partition.leader {
        partition.leader_epoch
    } else {
        LeaderEpoch(partition.leader_epoch.0.wrapping_add(1))
    };
    MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
        topic_id: topic.topic_id,
        partition: index,
        replicas: next.replicas.clone(),
        adding_replicas: next.adding_replicas.clone(),
        removing_replicas: next.removing_replicas.clone(),
        isr: next.isr.clone(),
        leader: next.leader,
        leader_epoch,
        partition_epoch: PartitionEpoch(partition.partition_epoch.0.wrapping_add(1)),
    })
}

/// The records that take `broker_id` out of every ISR it is not the last member of, and give
/// the partitions it leads a new leader from what remains of their ISR (or, where the topic
/// allows unclean election, from the other live replicas; or none).
fn leave_partitions(
    image: &MetadataImage,
    broker_id: BrokerId,
    config: ElectionConfig,
) -> Vec<MetadataRecord> {
    let usable = |candidate: &BrokerId| {
        *candidate != broker_id
            && image
                .broker(*candidate)
                .is_some_and(|broker| !broker.fenced)
    };
    let mut res = Vec::new();
    for_each_partition(image, |topic, index, partition| {
        if !partition.isr.contains(&broker_id) {
            return;
        }
        let mut isr = partition.isr.clone();
        // Kafka keeps the last ISR member even when it is fenced: it holds the newest data, and
        // an empty ISR would forget which replica that is.
        if isr.len() > 1 {
            isr.retain(|member| *member != broker_id);
        }
        let mut leader = if partition.leader == Some(broker_id) {
            partition
                .replicas
                .iter()
                .copied()
                .find(|replica| isr.contains(replica) && usable(replica))
        } else {
            partition.leader
        };
        if partition.leader == Some(broker_id)
            && leader.is_none()
            && unclean_election_enabled(image, topic, config)
            && let Some(unclean) = unclean_leader(image, partition, Some(broker_id))
        {
            leader = Some(unclean);
            isr = vec![unclean];
        }
        res.extend(change_record(topic, index, partition, isr, leader));
    });
    res
}

/// The records that make `broker_id` leader of every leaderless partition whose ISR holds it,
/// and (where the topic allows unclean election) of every leaderless partition it is a replica
/// of whose ISR has no live member, with an ISR of only itself.
fn elect_where_leaderless(
    image: &MetadataImage,
    broker_id: BrokerId,
    config: ElectionConfig,
) -> Vec<MetadataRecord> {
    let mut res = Vec::new();
    for_each_partition(image, |topic, index, partition| {
        if partition.leader.is_some() || !partition.replicas.contains(&broker_id) {
            return;
        }
        let isr = if partition.isr.contains(&broker_id) {
            partition.isr.clone()
        } else if unclean_election_enabled(image, topic, config)
            && !partition
                .isr
                .iter()
                .any(|member| *member != broker_id && is_live(image, *member))
        {
            vec![broker_id]
        } else {
            return;
        };
        res.extend(change_record(topic, index, partition, isr, Some(broker_id)));
    });
    res
}

pub(crate) fn for_each_partition(
    image: &MetadataImage,
    mut visit: impl FnMut(&TopicImage, PartitionIndex, &PartitionImage),
) {
    for topic in image.topics() {
        for (index, partition) in (0u32..).zip(&topic.partitions) {
            visit(topic, PartitionIndex(index), partition);
        }
    }
}

/// A `PartitionChange` to a new ISR and leader, or `None` if nothing changes.
pub(crate) fn change_record(
    topic: &TopicImage,
    index: PartitionIndex,
    partition: &PartitionImage,
    isr: Vec<BrokerId>,
    leader: Option<BrokerId>,
) -> Option<MetadataRecord> {
    if isr == partition.isr && leader == partition.leader {
        return None;
    }
    let leader_epoch = if leader == partition.leader {
        partition.leader_epoch
    } else {
        LeaderEpoch(partition.leader_epoch.0.wrapping_add(1))
    };
    Some(MetadataRecord::PartitionChange(PartitionChangeRecord {
        topic_id: topic.topic_id,
        partition: index,
        isr,
        leader,
        leader_epoch,
        partition_epoch: PartitionEpoch(partition.partition_epoch.0.wrapping_add(1)),
    }))
}

fn check_new_partition_count(topic: &str, count: u64) -> Result<()> {
    if count > MAX_NEW_PARTITIONS {
        return Err(Error::TooManyPartitions {
            topic: topic.to_owned(),
            requested: count,
            max: MAX_NEW_PARTITIONS,
        });
    }
    Ok(())
}

/// Places `partitions` new partitions over the unfenced brokers, continuing the round-robin
/// after every partition that exists, so leaders spread over the cluster as topics accumulate.
fn place(
    image: &MetadataImage,
    topic: &str,
    partitions: u32,
    replication_factor: usize,
) -> Result<Vec<Vec<BrokerId>>> {
    let brokers = image.unfenced_broker_ids();
    if replication_factor > brokers.len() {
        return Err(Error::InvalidReplicationFactor {
            topic: topic.to_owned(),
            reason: format!(
                "replication factor {replication_factor} is larger than the {} available brokers",
                brokers.len()
            ),
        });
    }
    Ok(place_replicas(
        &brokers,
        partitions,
        replication_factor,
        image.partition_count(),
    ))
}

/// Checks explicit replica lists: each non-empty, without repeats, on registered brokers with at
/// least one unfenced, and all of the same length (`replication_factor` if given).
fn check_assignments(
    image: &MetadataImage,
    topic: &str,
    assignments: &[Vec<BrokerId>],
    replication_factor: Option<usize>,
) -> Result<()> {
    let invalid = |reason: String| Error::InvalidReplicaAssignment {
        topic: topic.to_owned(),
        reason,
    };
    let expected_len = replication_factor.or(assignments.first().map(Vec::len));
    for replicas in assignments {
        if replicas.is_empty() {
            return Err(invalid("a partition has an empty replica list".to_owned()));
        }
        if Some(replicas.len()) != expected_len {
            return Err(invalid(format!(
                "a partition has {} replicas, but the others have {}",
                replicas.len(),
                expected_len.unwrap_or_default()
            )));
        }
        if let Some(duplicate) = first_duplicate(replicas) {
            return Err(invalid(format!(
                "broker {duplicate} appears more than once in a partition"
            )));
        }
        if let Some(unknown) = replicas
            .iter()
            .find(|broker_id| image.broker(**broker_id).is_none())
        {
            return Err(invalid(format!("broker {unknown} is not registered")));
        }
        if !replicas.iter().any(|broker_id| {
            image
                .broker(*broker_id)
                .is_some_and(|broker| !broker.fenced)
        }) {
            return Err(invalid(
                "every broker of a partition's replicas is fenced".to_owned(),
            ));
        }
    }
    Ok(())
}

/// `Partition` records for new partitions numbered from `first`. The ISR is the unfenced
/// replicas and the leader the first of them (the preferred leader when it is available).
fn partition_records(
    image: &MetadataImage,
    topic_id: TopicId,
    first: u32,
    replicas: &[Vec<BrokerId>],
) -> Vec<MetadataRecord> {
    (first..)
        .zip(replicas)
        .map(|(index, replicas)| {
            let isr: Vec<BrokerId> = replicas
                .iter()
                .copied()
                .filter(|broker_id| {
                    image
                        .broker(*broker_id)
                        .is_some_and(|broker| !broker.fenced)
                })
                .collect();
            MetadataRecord::Partition(PartitionRecord {
                topic_id,
                partition: PartitionIndex(index),
                replicas: replicas.clone(),
                leader: isr.first().copied(),
                isr,
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
            })
        })
        .collect()
}

/// The items of a comma-separated list value, trimmed, without empty ones.
fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}
