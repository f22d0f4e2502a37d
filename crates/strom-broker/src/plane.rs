//! The metadata plane: where the broker reads the metadata image and sends metadata changes.
//! Either the single-node [`LocalController`] (no `controller.quorum.voters`: the node is its own
//! quorum, changes are fsynced to its metadata log), or a node of the Raft controller quorum
//! ([`strom_quorum::Quorum`]: a voter on a combined broker and controller node, a learner on a
//! broker-only node). Callers are blocking threads; the
//! quorum's async calls run with `Handle::block_on` on them.
//!
//! Changes go through `Quorum::submit`, which forwards them to the active controller when this
//! node is not it; validation-only requests are planned against this node's image and write
//! nothing.

use std::sync::{Arc, Mutex, MutexGuard};

use strom_metadata::{
    AlterConfigs, AlterPartition, BrokerId, BrokerRegistration, ConfigRules, CreatePartitions,
    CreateTopic, CreatedTopic, DeletedTopic, ElectionType, LocalController, MetadataImage, Mode,
    PartitionElection, PartitionImage, PartitionIndex, Reassignment, TopicRef, plan_alter_configs,
    plan_create_partitions, plan_create_topic,
};

/// An outcome of the wrong kind for its intent (a bug in the quorum crate).
fn unexpected(outcome: &Outcome) -> Error {
    Error::Task(format!(
        "the controller answered with an unexpected outcome: {outcome:?}"
    ))
}
use strom_quorum::{ConfigChange, Intent, Outcome, Quorum};
use tokio::runtime::Handle;

use crate::Error;

/// Per-item results of a metadata change.
pub type ItemResults<T> = Vec<Result<T, strom_metadata::Error>>;

/// The single-node controller or a quorum node.
pub enum Plane {
    /// A single node without Raft.
    Local(Mutex<LocalController>),
    /// A node of the Raft quorum.
    Quorum {
        /// The quorum node.
        quorum: Arc<Quorum>,
        /// The runtime its async calls run on.
        runtime: Handle,
    },
}

impl std::fmt::Debug for Plane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Plane::Local(_) => f.write_str("Plane::Local"),
            Plane::Quorum { quorum, .. } => write!(f, "Plane::Quorum(node {})", quorum.node_id()),
        }
    }
}

impl Plane {
    fn local(controller: &Mutex<LocalController>) -> MutexGuard<'_, LocalController> {
        controller
            .lock()
            .expect("a panic while holding the controller lock already failed the broker")
    }

    /// The current metadata image.
    pub fn image(&self) -> Arc<MetadataImage> {
        match self {
            Plane::Local(controller) => Plane::local(controller).image(),
            Plane::Quorum { quorum, .. } => quorum.image(),
        }
    }

    /// The node id to report to clients as the controller (Metadata, DescribeCluster): this
    /// node, or the quorum's leader when it is a live (registered, unfenced) broker, as on
    /// combined nodes. A leader that is no broker (a controller-only node) cannot take client
    /// requests, so then a random live broker is reported, as Kafka's KRaft brokers always do
    /// (they forward controller requests). -1 while no leader is known, or no broker is live.
    pub fn controller_id(&self, node_id: BrokerId) -> i32 {
        match self {
            Plane::Local(_) => node_id.0,
            Plane::Quorum { quorum, .. } => {
                let Some(leader) = quorum.leader() else {
                    return -1;
                };
                let live = quorum.image().unfenced_broker_ids();
                let leader = i32::try_from(leader.0).ok().map(BrokerId);
                if let Some(leader) = leader
                    && live.contains(&leader)
                {
                    return leader.0;
                }
                let [pick, ..] = crate::random_id::random_bytes();
                live.get(usize::from(pick) % live.len().max(1))
                    .map_or(-1, |broker| broker.0)
            }
        }
    }

    /// The quorum node, if this broker runs one.
    pub fn quorum(&self) -> Option<&Arc<Quorum>> {
        match self {
            Plane::Local(_) => None,
            Plane::Quorum { quorum, .. } => Some(quorum),
        }
    }

    /// Creates topics (or only checks them); each gets its own result.
    pub fn create_topics(
        &self,
        topics: &[CreateTopic],
        mode: Mode,
    ) -> Result<ItemResults<CreatedTopic>, Error> {
        match self {
            Plane::Local(controller) => Ok(Plane::local(controller).create_topics(topics, mode)?),
            Plane::Quorum { .. } if mode == Mode::ValidateOnly => {
                Ok(self.validate(topics, plan_create_topic))
            }
            Plane::Quorum { .. } => {
                match self.submit(Intent::CreateTopics(topics.to_vec(), mode))? {
                    Outcome::CreatedTopics(res) => Ok(res),
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// Deletes topics; each gets its own result.
    pub fn delete_topics(&self, topics: &[TopicRef]) -> Result<ItemResults<DeletedTopic>, Error> {
        match self {
            Plane::Local(controller) => Ok(Plane::local(controller).delete_topics(topics)?),
            Plane::Quorum { .. } => match self.submit(Intent::DeleteTopics(topics.to_vec()))? {
                Outcome::DeletedTopics(res) => Ok(res),
                other => Err(unexpected(&other)),
            },
        }
    }

    /// Grows topics' partition counts (or only checks); each result lists the new replicas.
    pub fn create_partitions(
        &self,
        requests: &[CreatePartitions],
        mode: Mode,
    ) -> Result<ItemResults<Vec<Vec<BrokerId>>>, Error> {
        match self {
            Plane::Local(controller) => {
                Ok(Plane::local(controller).create_partitions(requests, mode)?)
            }
            Plane::Quorum { .. } if mode == Mode::ValidateOnly => {
                Ok(self.validate(requests, plan_create_partitions))
            }
            Plane::Quorum { .. } => {
                match self.submit(Intent::CreatePartitions(requests.to_vec(), mode))? {
                    Outcome::CreatedPartitions(res) => Ok(res),
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// Changes config overrides; `rules` supplies defaults and validation. On a quorum node the
    /// values are validated here (against this node's image) and the change is forwarded with
    /// the defaults `Append` and `Subtract` start from; the controller accepts the values.
    pub fn alter_configs(
        &self,
        requests: &[AlterConfigs],
        rules: &ConfigRules<'_>,
        mode: Mode,
    ) -> Result<ItemResults<()>, Error> {
        if let Plane::Local(controller) = self {
            return Ok(Plane::local(controller).alter_configs(requests, rules, mode)?);
        }
        let checked = self.validate(requests, |image, request| {
            Ok(((), plan_alter_configs(image, request, rules)?))
        });
        if mode == Mode::ValidateOnly {
            return Ok(checked);
        }
        let mut res = Vec::with_capacity(requests.len());
        for (request, check) in requests.iter().zip(checked) {
            if let Err(error) = check {
                res.push(Err(error));
                continue;
            }
            let defaults = request
                .ops
                .iter()
                .filter_map(|op| {
                    let value = (rules.default_value)(&request.resource, op.key())?;
                    Some((op.key().to_owned(), value))
                })
                .collect();
            let change = ConfigChange {
                resource: request.resource.clone(),
                ops: request.ops.clone(),
                defaults,
            };
            match self.submit(Intent::AlterConfigs(vec![change], Mode::Apply))? {
                Outcome::AlteredConfigs(mut outcome) if outcome.len() == 1 => {
                    res.push(outcome.remove(0));
                }
                other => return Err(unexpected(&other)),
            }
        }
        Ok(res)
    }

    /// Registers a broker.
    pub fn register_broker(&self, registration: &BrokerRegistration) -> Result<(), Error> {
        match self {
            Plane::Local(controller) => Ok(Plane::local(controller).register_broker(registration)?),
            Plane::Quorum { .. } => {
                self.submit(Intent::RegisterBroker(registration.clone()))?;
                Ok(())
            }
        }
    }

    /// Commits a leader's ISR change and returns the partition as it is afterwards.
    pub fn alter_partition(&self, change: &AlterPartition) -> Result<PartitionImage, Error> {
        match self {
            Plane::Local(controller) => Ok(Plane::local(controller).alter_partition(change)?),
            Plane::Quorum { .. } => match self.submit(Intent::AlterPartition(change.clone()))? {
                Outcome::AlteredPartition(partition) => Ok(partition),
                other => Err(unexpected(&other)),
            },
        }
    }

    /// Starts, replaces or cancels partition reassignments; each gets its own result. On a
    /// single node the only registered broker is the only valid target, so a move elsewhere is
    /// `InvalidReplicaAssignment`.
    pub fn alter_partition_reassignments(
        &self,
        reassignments: &[Reassignment],
    ) -> Result<ItemResults<()>, Error> {
        match self {
            Plane::Local(controller) => Ok(Plane::local(controller).reassign(reassignments)?),
            Plane::Quorum { .. } => {
                match self.submit(Intent::AlterPartitionReassignments(reassignments.to_vec()))? {
                    Outcome::AlteredReassignments(res) => Ok(res),
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// Runs an ElectLeaders request: one result per named partition, in order (every partition
    /// when `partitions` is `None`).
    pub fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<&[(String, PartitionIndex)]>,
    ) -> Result<Vec<PartitionElection>, Error> {
        match self {
            Plane::Local(controller) => {
                Ok(Plane::local(controller).elect_leaders(election, partitions)?)
            }
            Plane::Quorum { .. } => {
                let intent = Intent::ElectLeaders {
                    election,
                    partitions: partitions.map(<[_]>::to_vec),
                };
                match self.submit(intent)? {
                    Outcome::ElectedLeaders(res) => Ok(res),
                    other => Err(unexpected(&other)),
                }
            }
        }
    }

    /// Runs an intent on the active controller (forwarded there if need be). Blocking.
    fn submit(&self, intent: Intent) -> Result<Outcome, Error> {
        match self {
            Plane::Local(_) => Err(Error::Task("no quorum to submit to".to_owned())),
            Plane::Quorum { quorum, runtime } => Ok(runtime.block_on(quorum.submit(intent))?),
        }
    }

    /// Plans each item against this node's image (with the earlier items applied) without
    /// writing anything.
    fn validate<I, T>(
        &self,
        items: &[I],
        plan: impl Fn(
            &MetadataImage,
            &I,
        ) -> strom_metadata::Result<(T, Vec<strom_metadata::MetadataRecord>)>,
    ) -> ItemResults<T> {
        let mut image = MetadataImage::clone(&self.image());
        items
            .iter()
            .map(|item| {
                let (res, records) = plan(&image, item)?;
                for record in &records {
                    image.apply(record)?;
                }
                Ok(res)
            })
            .collect()
    }
}
