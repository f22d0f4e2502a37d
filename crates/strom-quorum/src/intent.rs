//! What a broker asks the controller to do ([`Intent`]) and what comes back ([`Outcome`]), plus
//! their forms on the wire between a node and the leader it forwards to.
//!
//! An intent is data only, so any node can forward it to the leader, which plans it against the
//! committed image there (see `quorum`). Per-item results travel as [`RuleError`], a mirror of
//! the `strom-metadata` rule variants the broker maps to wire codes, and turn back into
//! [`strom_metadata::Error`] on the caller.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strom_metadata::{
    AlterPartition, BrokerId, BrokerRegistration, ConfigOp, ConfigResource, CreatePartitions,
    CreateTopic, CreatedTopic, DeletedTopic, ElectionType, Mode, OngoingReassignment,
    PartitionElection, PartitionImage, PartitionIndex, Reassignment, TopicId, TopicRef,
};

use crate::Error;
use crate::ids::NodeId;

/// Everything a broker needs the active controller to do. Submitted with
/// [`Quorum::submit`](crate::Quorum::submit) on any node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Intent {
    /// CreateTopics: one result per topic, in order ([`Outcome::CreatedTopics`]).
    CreateTopics(Vec<CreateTopic>, Mode),
    /// DeleteTopics: one result per topic ([`Outcome::DeletedTopics`]).
    DeleteTopics(Vec<TopicRef>),
    /// CreatePartitions: one result per topic ([`Outcome::CreatedPartitions`]).
    CreatePartitions(Vec<CreatePartitions>, Mode),
    /// IncrementalAlterConfigs: one result per resource ([`Outcome::AlteredConfigs`]). The
    /// leader accepts any value: the submitting broker validates values before submitting.
    AlterConfigs(Vec<ConfigChange>, Mode),
    /// A broker's registration ([`Outcome::Done`]). A broker that is fenced in the image stays
    /// fenced until its first heartbeat, whatever `fenced` says.
    RegisterBroker(BrokerRegistration),
    /// A broker's heartbeat ([`Outcome::Done`]): renews its session on the leader, and unfences
    /// it if it was fenced.
    BrokerHeartbeat {
        /// The broker.
        broker_id: BrokerId,
    },
    /// A partition leader's ISR change ([`Outcome::AlteredPartition`]).
    AlterPartition(AlterPartition),
    /// Fences a broker ([`Outcome::Done`]).
    FenceBroker(BrokerId),
    /// Unfences a broker ([`Outcome::Done`]).
    UnfenceBroker(BrokerId),
    /// AlterPartitionReassignments: one result per partition, in order
    /// ([`Outcome::AlteredReassignments`]).
    AlterPartitionReassignments(Vec<Reassignment>),
    /// ListPartitionReassignments as the leader sees it ([`Outcome::ListedReassignments`]):
    /// the given partitions, or all with `None`. A broker may also read its own image instead.
    ListPartitionReassignments(Option<Vec<(String, PartitionIndex)>>),
    /// ElectLeaders ([`Outcome::ElectedLeaders`]): one result per named partition, in order.
    ElectLeaders {
        /// Preferred or unclean.
        election: ElectionType,
        /// The partitions, or `None` for every partition of every topic.
        partitions: Option<Vec<(String, PartitionIndex)>>,
    },
}

/// A change of one resource's config overrides, in a form that needs no broker config rules on
/// the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// The resource.
    pub resource: ConfigResource,
    /// The operations, applied in order; a key may appear once.
    pub ops: Vec<ConfigOp>,
    /// The values that `Append` and `Subtract` start from for keys without an override (the
    /// broker's defaults); a key missing here starts from an empty list.
    pub defaults: BTreeMap<String, String>,
}

/// What an [`Intent`] did, of the kind matching the intent.
#[derive(Debug)]
pub enum Outcome {
    /// Per-topic results of [`Intent::CreateTopics`].
    CreatedTopics(Vec<strom_metadata::Result<CreatedTopic>>),
    /// Per-topic results of [`Intent::DeleteTopics`].
    DeletedTopics(Vec<strom_metadata::Result<DeletedTopic>>),
    /// Per-topic results of [`Intent::CreatePartitions`]: the new partitions' replicas.
    CreatedPartitions(Vec<strom_metadata::Result<Vec<Vec<BrokerId>>>>),
    /// Per-resource results of [`Intent::AlterConfigs`].
    AlteredConfigs(Vec<strom_metadata::Result<()>>),
    /// The partition after [`Intent::AlterPartition`].
    AlteredPartition(PartitionImage),
    /// The other intents: done.
    Done,
    /// Per-partition results of [`Intent::AlterPartitionReassignments`].
    AlteredReassignments(Vec<strom_metadata::Result<()>>),
    /// The reassignments in progress, for [`Intent::ListPartitionReassignments`].
    ListedReassignments(Vec<OngoingReassignment>),
    /// Per-partition results of [`Intent::ElectLeaders`].
    ElectedLeaders(Vec<PartitionElection>),
}

/// The rule variants of [`strom_metadata::Error`], which the broker maps to wire codes, in a
/// form that crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RuleError {
    InvalidTopicName {
        name: String,
        reason: String,
    },
    TopicAlreadyExists {
        name: String,
    },
    InvalidTopicId {
        topic_id: TopicId,
        reason: String,
    },
    UnknownTopic {
        name: String,
    },
    UnknownTopicId {
        topic_id: TopicId,
    },
    InvalidPartitions {
        topic: String,
        reason: String,
    },
    TooManyPartitions {
        topic: String,
        requested: u64,
        max: u64,
    },
    InvalidReplicationFactor {
        topic: String,
        reason: String,
    },
    InvalidReplicaAssignment {
        topic: String,
        reason: String,
    },
    InvalidConfig {
        resource: ConfigResource,
        reason: String,
    },
    InvalidRequest {
        reason: String,
    },
    InvalidRegistration {
        broker_id: BrokerId,
        reason: String,
    },
    UnknownBroker {
        broker_id: BrokerId,
    },
    UnknownPartition {
        topic: String,
        partition: PartitionIndex,
    },
    NoReassignmentInProgress {
        topic: String,
        partition: PartitionIndex,
    },
}

/// An [`Outcome`] on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum WireOutcome {
    CreatedTopics(Vec<Result<CreatedTopic, RuleError>>),
    DeletedTopics(Vec<Result<DeletedTopic, RuleError>>),
    CreatedPartitions(Vec<Result<Vec<Vec<BrokerId>>, RuleError>>),
    AlteredConfigs(Vec<Result<(), RuleError>>),
    AlteredPartition(PartitionImage),
    Done,
    AlteredReassignments(Vec<Result<(), RuleError>>),
    ListedReassignments(Vec<OngoingReassignment>),
    ElectedLeaders(Vec<PartitionElection>),
}

/// A forwarded intent's answer: the outcome and the leader's image end offset right after it,
/// which the forwarding node waits for before answering its caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Submitted {
    pub(crate) outcome: WireOutcome,
    pub(crate) end_offset: u64,
}

/// An [`Error`] on the wire. Errors that say nothing to a remote caller (corrupt files, I/O)
/// become `Unavailable` with their message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum WireError {
    Rule(RuleError),
    NotLeader { leader: Option<NodeId> },
    Refused { reason: String },
    TooLarge { bytes: u64, max: u64 },
    Unavailable { reason: String },
}

impl Intent {
    /// Whether `outcome` is of the kind this intent answers with.
    pub(crate) fn expects(&self, outcome: &WireOutcome) -> bool {
        matches!(
            (self, outcome),
            (Intent::CreateTopics(..), WireOutcome::CreatedTopics(_))
                | (Intent::DeleteTopics(_), WireOutcome::DeletedTopics(_))
                | (
                    Intent::CreatePartitions(..),
                    WireOutcome::CreatedPartitions(_)
                )
                | (Intent::AlterConfigs(..), WireOutcome::AlteredConfigs(_))
                | (Intent::AlterPartition(_), WireOutcome::AlteredPartition(_))
                | (Intent::ElectLeaders { .. }, WireOutcome::ElectedLeaders(_))
                | (
                    Intent::RegisterBroker(_)
                        | Intent::BrokerHeartbeat { .. }
                        | Intent::FenceBroker(_)
                        | Intent::UnfenceBroker(_),
                    WireOutcome::Done
                )
                | (
                    Intent::AlterPartitionReassignments(_),
                    WireOutcome::AlteredReassignments(_)
                )
                | (
                    Intent::ListPartitionReassignments(_),
                    WireOutcome::ListedReassignments(_)
                )
        )
    }
}

impl RuleError {
    /// The mirror of `error`, or `None` when it is not a rule variant.
    pub(crate) fn from_metadata(error: &strom_metadata::Error) -> Option<RuleError> {
        use strom_metadata::Error as E;
        let res = match error {
            E::InvalidTopicName { name, reason } => RuleError::InvalidTopicName {
                name: name.clone(),
                reason: reason.clone(),
            },
            E::TopicAlreadyExists { name } => RuleError::TopicAlreadyExists { name: name.clone() },
            E::InvalidTopicId { topic_id, reason } => RuleError::InvalidTopicId {
                topic_id: *topic_id,
                reason: reason.clone(),
            },
            E::UnknownTopic { name } => RuleError::UnknownTopic { name: name.clone() },
            E::UnknownTopicId { topic_id } => RuleError::UnknownTopicId {
                topic_id: *topic_id,
            },
            E::InvalidPartitions { topic, reason } => RuleError::InvalidPartitions {
                topic: topic.clone(),
                reason: reason.clone(),
            },
            E::TooManyPartitions {
                topic,
                requested,
                max,
            } => RuleError::TooManyPartitions {
                topic: topic.clone(),
                requested: *requested,
                max: *max,
            },
            E::InvalidReplicationFactor { topic, reason } => RuleError::InvalidReplicationFactor {
                topic: topic.clone(),
                reason: reason.clone(),
            },
            E::InvalidReplicaAssignment { topic, reason } => RuleError::InvalidReplicaAssignment {
                topic: topic.clone(),
                reason: reason.clone(),
            },
            E::InvalidConfig { resource, reason } => RuleError::InvalidConfig {
                resource: resource.clone(),
                reason: reason.clone(),
            },
            E::InvalidRequest { reason } => RuleError::InvalidRequest {
                reason: reason.clone(),
            },
            E::InvalidRegistration { broker_id, reason } => RuleError::InvalidRegistration {
                broker_id: *broker_id,
                reason: reason.clone(),
            },
            E::UnknownBroker { broker_id } => RuleError::UnknownBroker {
                broker_id: *broker_id,
            },
            E::UnknownPartition { topic, partition } => RuleError::UnknownPartition {
                topic: topic.clone(),
                partition: *partition,
            },
            E::NoReassignmentInProgress { topic, partition } => {
                RuleError::NoReassignmentInProgress {
                    topic: topic.clone(),
                    partition: *partition,
                }
            }
            _ => return None,
        };
        Some(res)
    }

    /// The `strom-metadata` error this mirrors.
    pub(crate) fn into_metadata(self) -> strom_metadata::Error {
        use strom_metadata::Error as E;
        match self {
            RuleError::InvalidTopicName { name, reason } => E::InvalidTopicName { name, reason },
            RuleError::TopicAlreadyExists { name } => E::TopicAlreadyExists { name },
            RuleError::InvalidTopicId { topic_id, reason } => {
                E::InvalidTopicId { topic_id, reason }
            }
            RuleError::UnknownTopic { name } => E::UnknownTopic { name },
            RuleError::UnknownTopicId { topic_id } => E::UnknownTopicId { topic_id },
            RuleError::InvalidPartitions { topic, reason } => {
                E::InvalidPartitions { topic, reason }
            }
            RuleError::TooManyPartitions {
                topic,
                requested,
                max,
            } => E::TooManyPartitions {
                topic,
                requested,
                max,
            },
            RuleError::InvalidReplicationFactor { topic, reason } => {
                E::InvalidReplicationFactor { topic, reason }
            }
            RuleError::InvalidReplicaAssignment { topic, reason } => {
                E::InvalidReplicaAssignment { topic, reason }
            }
            RuleError::InvalidConfig { resource, reason } => E::InvalidConfig { resource, reason },
            RuleError::InvalidRequest { reason } => E::InvalidRequest { reason },
            RuleError::InvalidRegistration { broker_id, reason } => {
                E::InvalidRegistration { broker_id, reason }
            }
            RuleError::UnknownBroker { broker_id } => E::UnknownBroker { broker_id },
            RuleError::UnknownPartition { topic, partition } => {
                E::UnknownPartition { topic, partition }
            }
            RuleError::NoReassignmentInProgress { topic, partition } => {
                E::NoReassignmentInProgress { topic, partition }
            }
        }
    }
}

/// Mirrors per-item results; a non-rule item error (which the planners never return) refuses
/// the whole answer with its message.
fn items_to_wire<T>(
    items: Vec<strom_metadata::Result<T>>,
) -> Result<Vec<Result<T, RuleError>>, WireError> {
    let mut res = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Ok(value) => res.push(Ok(value)),
            Err(error) => match RuleError::from_metadata(&error) {
                Some(rule) => res.push(Err(rule)),
                None => {
                    return Err(WireError::Refused {
                        reason: error.to_string(),
                    });
                }
            },
        }
    }
    Ok(res)
}

fn items_from_wire<T>(items: Vec<Result<T, RuleError>>) -> Vec<strom_metadata::Result<T>> {
    items
        .into_iter()
        .map(|item| item.map_err(RuleError::into_metadata))
        .collect()
}

impl Outcome {
    /// The wire form, or the error to answer with instead.
    pub(crate) fn into_wire(self) -> Result<WireOutcome, WireError> {
        let res = match self {
            Outcome::CreatedTopics(items) => WireOutcome::CreatedTopics(items_to_wire(items)?),
            Outcome::DeletedTopics(items) => WireOutcome::DeletedTopics(items_to_wire(items)?),
            Outcome::CreatedPartitions(items) => {
                WireOutcome::CreatedPartitions(items_to_wire(items)?)
            }
            Outcome::AlteredConfigs(items) => WireOutcome::AlteredConfigs(items_to_wire(items)?),
            Outcome::AlteredPartition(partition) => WireOutcome::AlteredPartition(partition),
            Outcome::Done => WireOutcome::Done,
            Outcome::AlteredReassignments(items) => {
                WireOutcome::AlteredReassignments(items_to_wire(items)?)
            }
            Outcome::ListedReassignments(ongoing) => WireOutcome::ListedReassignments(ongoing),
            Outcome::ElectedLeaders(elections) => WireOutcome::ElectedLeaders(elections),
        };
        Ok(res)
    }

    /// The outcome a wire form stands for.
    pub(crate) fn from_wire(outcome: WireOutcome) -> Outcome {
        match outcome {
            WireOutcome::CreatedTopics(items) => Outcome::CreatedTopics(items_from_wire(items)),
            WireOutcome::DeletedTopics(items) => Outcome::DeletedTopics(items_from_wire(items)),
            WireOutcome::CreatedPartitions(items) => {
                Outcome::CreatedPartitions(items_from_wire(items))
            }
            WireOutcome::AlteredConfigs(items) => Outcome::AlteredConfigs(items_from_wire(items)),
            WireOutcome::AlteredPartition(partition) => Outcome::AlteredPartition(partition),
            WireOutcome::Done => Outcome::Done,
            WireOutcome::AlteredReassignments(items) => {
                Outcome::AlteredReassignments(items_from_wire(items))
            }
            WireOutcome::ListedReassignments(ongoing) => Outcome::ListedReassignments(ongoing),
            WireOutcome::ElectedLeaders(elections) => Outcome::ElectedLeaders(elections),
        }
    }
}

impl From<Error> for WireError {
    fn from(error: Error) -> WireError {
        match error {
            Error::Metadata(error) => match RuleError::from_metadata(&error) {
                Some(rule) => WireError::Rule(rule),
                None => WireError::Refused {
                    reason: error.to_string(),
                },
            },
            Error::NotLeader { leader } => WireError::NotLeader { leader },
            Error::Refused { reason } => WireError::Refused { reason },
            Error::TooLarge { bytes, max } => WireError::TooLarge {
                bytes: bytes as u64,
                max: max as u64,
            },
            Error::Unavailable { reason } => WireError::Unavailable { reason },
            error @ (Error::Corrupt { .. } | Error::InvalidConfig { .. } | Error::Io(_)) => {
                WireError::Unavailable {
                    reason: error.to_string(),
                }
            }
        }
    }
}

impl From<WireError> for Error {
    fn from(error: WireError) -> Error {
        match error {
            WireError::Rule(rule) => Error::Metadata(rule.into_metadata()),
            WireError::NotLeader { leader } => Error::NotLeader { leader },
            WireError::Refused { reason } => Error::Refused { reason },
            WireError::TooLarge { bytes, max } => Error::TooLarge {
                bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
                max: usize::try_from(max).unwrap_or(usize::MAX),
            },
            WireError::Unavailable { reason } => Error::Unavailable { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use strom_metadata::{ConfigResource, TopicLayout};

    use super::*;
    use crate::durable::{decode_payload, encode_payload};

    fn rule_errors() -> Vec<RuleError> {
        vec![
            RuleError::InvalidTopicName {
                name: "a b".into(),
                reason: "space".into(),
            },
            RuleError::TopicAlreadyExists { name: "t".into() },
            RuleError::InvalidTopicId {
                topic_id: TopicId([0; 16]),
                reason: "zero".into(),
            },
            RuleError::UnknownTopic { name: "t".into() },
            RuleError::UnknownTopicId {
                topic_id: TopicId([3; 16]),
            },
            RuleError::InvalidPartitions {
                topic: "t".into(),
                reason: "shrinks".into(),
            },
            RuleError::TooManyPartitions {
                topic: "t".into(),
                requested: 20_000,
                max: 10_000,
            },
            RuleError::InvalidReplicationFactor {
                topic: "t".into(),
                reason: "3 > 1".into(),
            },
            RuleError::InvalidReplicaAssignment {
                topic: "t".into(),
                reason: "dup".into(),
            },
            RuleError::InvalidConfig {
                resource: ConfigResource::Topic("t".into()),
                reason: "bad".into(),
            },
            RuleError::InvalidRequest {
                reason: "twice".into(),
            },
            RuleError::InvalidRegistration {
                broker_id: BrokerId(-1),
                reason: "negative".into(),
            },
            RuleError::UnknownBroker {
                broker_id: BrokerId(4),
            },
            RuleError::UnknownPartition {
                topic: "t".into(),
                partition: PartitionIndex(7),
            },
            RuleError::NoReassignmentInProgress {
                topic: "t".into(),
                partition: PartitionIndex(0),
            },
        ]
    }

    #[test]
    fn every_rule_error_survives_the_trip_through_strom_metadata_and_the_wire() {
        for rule in rule_errors() {
            let metadata = rule.clone().into_metadata();
            let back = RuleError::from_metadata(&metadata);
            assert_eq!(back.as_ref(), Some(&rule), "{metadata}");
            let decoded: WireError =
                decode_payload(&encode_payload(&WireError::Rule(rule.clone()))).unwrap();
            assert_eq!(decoded, WireError::Rule(rule));
        }
    }

    #[test]
    fn non_rule_errors_are_not_mirrored() {
        let error = strom_metadata::Error::LogFailed;
        assert_eq!(RuleError::from_metadata(&error), None);
        let outcome = Outcome::DeletedTopics(vec![Err(error)]);
        assert!(matches!(
            outcome.into_wire(),
            Err(WireError::Refused { .. })
        ));
        let wire = WireError::from(Error::Metadata(strom_metadata::Error::LogFailed));
        assert!(matches!(wire, WireError::Refused { .. }));
        let wire = WireError::from(Error::InvalidConfig { reason: "x".into() });
        assert!(matches!(wire, WireError::Unavailable { .. }));
    }

    #[test]
    fn outcome_kinds_match_their_intents() {
        let intent = Intent::CreateTopics(Vec::new(), Mode::Apply);
        assert!(intent.expects(&WireOutcome::CreatedTopics(Vec::new())));
        assert!(!intent.expects(&WireOutcome::Done));
        assert!(
            Intent::BrokerHeartbeat {
                broker_id: BrokerId(1)
            }
            .expects(&WireOutcome::Done)
        );
        assert!(
            !Intent::FenceBroker(BrokerId(1)).expects(&WireOutcome::AlteredConfigs(Vec::new()))
        );
        assert!(
            Intent::AlterPartitionReassignments(Vec::new())
                .expects(&WireOutcome::AlteredReassignments(Vec::new()))
        );
        assert!(
            Intent::ListPartitionReassignments(None)
                .expects(&WireOutcome::ListedReassignments(Vec::new()))
        );
        assert!(!Intent::ListPartitionReassignments(None).expects(&WireOutcome::Done));
        let elect = Intent::ElectLeaders {
            election: ElectionType::Preferred,
            partitions: None,
        };
        assert!(elect.expects(&WireOutcome::ElectedLeaders(Vec::new())));
        assert!(!elect.expects(&WireOutcome::Done));
    }

    fn intents() -> impl Strategy<Value = Intent> {
        let name = "[a-z]{1,8}";
        prop_oneof![
            (name, any::<[u8; 16]>(), 1..10i32, 1..4i16, any::<bool>()).prop_map(
                |(name, id, partitions, replication_factor, validate)| {
                    Intent::CreateTopics(
                        vec![CreateTopic {
                            name,
                            topic_id: TopicId(id),
                            layout: TopicLayout::Placed {
                                partitions,
                                replication_factor,
                            },
                            configs: BTreeMap::from([("k".into(), "v".into())]),
                        }],
                        if validate {
                            Mode::ValidateOnly
                        } else {
                            Mode::Apply
                        },
                    )
                }
            ),
            name.prop_map(|name| Intent::DeleteTopics(vec![TopicRef::Name(name)])),
            (name, 1..100i32).prop_map(|(name, count)| Intent::CreatePartitions(
                vec![CreatePartitions {
                    name,
                    count,
                    assignments: Some(vec![vec![BrokerId(1)]]),
                }],
                Mode::Apply
            )),
            (name, "[a-z,]{0,8}").prop_map(|(name, value)| Intent::AlterConfigs(
                vec![ConfigChange {
                    resource: ConfigResource::Topic(name),
                    ops: vec![
                        ConfigOp::Append {
                            key: "cleanup.policy".into(),
                            value,
                        },
                        ConfigOp::Delete { key: "x".into() },
                    ],
                    defaults: BTreeMap::from([("cleanup.policy".into(), "delete".into())]),
                }],
                Mode::ValidateOnly
            )),
            any::<i32>().prop_map(|id| Intent::BrokerHeartbeat {
                broker_id: BrokerId(id)
            }),
            any::<i32>().prop_map(|id| Intent::FenceBroker(BrokerId(id))),
            any::<i32>().prop_map(|id| Intent::UnfenceBroker(BrokerId(id))),
            (name, any::<u32>(), any::<i32>()).prop_map(|(topic, epoch, leader)| {
                Intent::AlterPartition(AlterPartition {
                    topic,
                    partition: strom_metadata::PartitionIndex(epoch % 7),
                    leader: BrokerId(leader),
                    leader_epoch: strom_metadata::LeaderEpoch(epoch),
                    partition_epoch: strom_metadata::PartitionEpoch(epoch / 2),
                    isr: vec![BrokerId(leader)],
                })
            }),
            (proptest::option::of((name, 0..8u32)), any::<bool>()).prop_map(
                |(partition, unclean)| Intent::ElectLeaders {
                    election: if unclean {
                        ElectionType::Unclean
                    } else {
                        ElectionType::Preferred
                    },
                    partitions: partition
                        .map(|(topic, index)| vec![(topic, PartitionIndex(index))]),
                }
            ),
            any::<i32>().prop_map(|id| Intent::RegisterBroker(BrokerRegistration {
                broker_id: BrokerId(id),
                endpoints: Vec::new(),
                rack: Some("r1".into()),
                fenced: id % 2 == 0,
            })),
            (
                name,
                any::<u32>(),
                proptest::option::of(proptest::collection::vec(any::<i32>(), 0..4)),
                any::<bool>()
            )
                .prop_map(|(topic, partition, target, allow)| {
                    Intent::AlterPartitionReassignments(vec![Reassignment {
                        topic,
                        partition: PartitionIndex(partition),
                        target: target.map(|ids| ids.into_iter().map(BrokerId).collect()),
                        allow_replication_factor_change: allow,
                    }])
                }),
            proptest::option::of(proptest::collection::vec((name, any::<u32>()), 0..3)).prop_map(
                |partitions| Intent::ListPartitionReassignments(partitions.map(|partitions| {
                    partitions
                        .into_iter()
                        .map(|(topic, index)| (topic, PartitionIndex(index)))
                        .collect()
                }))
            ),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn intents_round_trip_through_postcard(intent in intents()) {
            let decoded: Intent = decode_payload(&encode_payload(&intent)).unwrap();
            prop_assert_eq!(decoded, intent);
        }
    }
}
