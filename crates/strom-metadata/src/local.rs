//! The controller of a single node: it plans each admin intent against the current image (see
//! `controller`), appends the resulting records to the node's [`MetadataLog`] (fsynced), and only
//! then publishes the new image. Readers hold an `Arc<MetadataImage>` and see either the image
//! before a change or after it, never a partial one.
//!
//! This is the type the Raft work replaces: instead of appending to a local file, a Raft
//! controller proposes the batch to the quorum and publishes the image when the batch commits.
//! Planning, records and the image stay as they are. It is synchronous; callers on tokio run it
//! under a mutex or on a blocking thread.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::controller::{
    AlterConfigs, AlterPartition, ConfigRules, CreatePartitions, CreateTopic, CreatedTopic,
    DeletedTopic, Reassignment, TopicRef, plan_alter_configs, plan_alter_partition,
    plan_create_partitions, plan_create_topic, plan_delete_topic, plan_fence_broker, plan_reassign,
    plan_register_broker, plan_unfence_broker,
};
use crate::election::{ElectionType, PartitionElection, plan_elect_leaders};
use crate::identity::{Identity, load_or_create_identity};
use crate::ids::{BrokerId, ClusterId};
use crate::image::{MetadataImage, PartitionImage};
use crate::record::{BrokerRegistration, MetadataRecord, RecordBatch};
use crate::storage::{METADATA_DIR_NAME, MetadataLog, RecoveryReport};
use crate::{Error, Result};

/// Where and as whom the local controller runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// The first of `log.dirs`: `meta.properties` goes here and the metadata log in
    /// [`METADATA_DIR_NAME`] under it.
    pub log_dir: PathBuf,
    /// This node's `node.id`.
    pub node_id: BrokerId,
    /// The cluster id to format a new data directory with (the caller generates it randomly);
    /// ignored when the directory already has one.
    pub new_cluster_id: ClusterId,
    /// Write a snapshot (and empty the log) once the log grows past this many bytes (and past
    /// the size of the last snapshot).
    pub snapshot_threshold_bytes: u64,
}

/// Whether a request changes the metadata or only says what it would do (`validateOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Commit the changes.
    Apply,
    /// Validate and report, change nothing.
    ValidateOnly,
}

/// The controller of a one-node cluster.
#[derive(Debug)]
pub struct LocalController {
    log: MetadataLog,
    image: Arc<MetadataImage>,
    identity: Identity,
    snapshot_threshold_bytes: u64,
}

impl LocalConfig {
    /// A config with the default snapshot threshold (1 MiB of log).
    pub fn new(log_dir: PathBuf, node_id: BrokerId, new_cluster_id: ClusterId) -> LocalConfig {
        LocalConfig {
            log_dir,
            node_id,
            new_cluster_id,
            snapshot_threshold_bytes: 1 << 20,
        }
    }
}

impl LocalController {
    /// Opens the node's metadata: checks (or writes) `meta.properties`, replays the snapshot and
    /// log, and on the first start writes the cluster id record.
    pub fn open(config: &LocalConfig) -> Result<(LocalController, RecoveryReport)> {
        let identity =
            load_or_create_identity(&config.log_dir, config.node_id, &config.new_cluster_id)?;
        let (log, image, report) = MetadataLog::open(&config.log_dir.join(METADATA_DIR_NAME))?;
        if let Some(found) = image.cluster_id()
            && *found != identity.cluster_id
        {
            return Err(Error::ClusterIdMismatch {
                path: log.dir().to_owned(),
                stored: identity.cluster_id.clone(),
                found: found.clone(),
            });
        }
        let needs_cluster_id = image.cluster_id().is_none();
        let mut res = LocalController {
            log,
            image: Arc::new(image),
            identity,
            snapshot_threshold_bytes: config.snapshot_threshold_bytes,
        };
        if needs_cluster_id {
            let record = MetadataRecord::ClusterId {
                cluster_id: res.identity.cluster_id.clone(),
            };
            res.commit(vec![record])?;
        }
        Ok((res, report))
    }

    /// The current image. Cheap: readers keep the `Arc` as long as they like.
    pub fn image(&self) -> Arc<MetadataImage> {
        Arc::clone(&self.image)
    }

    /// This node's identity (cluster id and node id).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Creates topics; each gets its own result, in request order. Topics later in the request
    /// see the earlier ones (a repeated name gets [`Error::TopicAlreadyExists`]). The outer error
    /// is a storage failure, after which nothing was acknowledged.
    pub fn create_topics(
        &mut self,
        topics: &[CreateTopic],
        mode: Mode,
    ) -> Result<Vec<Result<CreatedTopic>>> {
        self.run(topics, mode, plan_create_topic)
    }

    /// Deletes topics, by name or id; each gets its own result.
    pub fn delete_topics(&mut self, topics: &[TopicRef]) -> Result<Vec<Result<DeletedTopic>>> {
        self.run(topics, Mode::Apply, plan_delete_topic)
    }

    /// Grows topics' partition counts; each result lists the new partitions' replicas.
    pub fn create_partitions(
        &mut self,
        requests: &[CreatePartitions],
        mode: Mode,
    ) -> Result<Vec<Result<Vec<Vec<BrokerId>>>>> {
        self.run(requests, mode, plan_create_partitions)
    }

    /// Changes config overrides incrementally; `rules` supplies defaults and validation.
    pub fn alter_configs(
        &mut self,
        requests: &[AlterConfigs],
        rules: &ConfigRules<'_>,
        mode: Mode,
    ) -> Result<Vec<Result<()>>> {
        self.run(requests, mode, |image, request| {
            Ok(((), plan_alter_configs(image, request, rules)?))
        })
    }

    /// Registers a broker (unchanged registrations write nothing).
    pub fn register_broker(&mut self, registration: &BrokerRegistration) -> Result<()> {
        let records = plan_register_broker(&self.image, registration)?;
        self.commit(records)
    }

    /// Fences a broker, moving leadership and ISR membership away from it.
    pub fn fence_broker(&mut self, broker_id: BrokerId) -> Result<()> {
        let records = plan_fence_broker(&self.image, broker_id)?;
        self.commit(records)
    }

    /// Applies a leader's ISR change (see [`plan_alter_partition`]) and returns the partition
    /// as it is afterwards.
    pub fn alter_partition(&mut self, change: &AlterPartition) -> Result<PartitionImage> {
        let records = plan_alter_partition(&self.image, change)?;
        self.commit(records)?;
        self.image
            .partition(&change.topic, change.partition)
            .cloned()
            .ok_or_else(|| Error::UnknownTopic {
                name: change.topic.clone(),
            })
    }

    /// Starts, replaces or cancels partition reassignments (see [`plan_reassign`]); each gets
    /// its own result, and all the records are committed in one batch.
    pub fn reassign(&mut self, reassignments: &[Reassignment]) -> Result<Vec<Result<()>>> {
        self.run(reassignments, Mode::Apply, |image, reassignment| {
            Ok(((), plan_reassign(image, reassignment)?))
        })
    }

    /// Unfences a broker, making it leader where partitions had none.
    pub fn unfence_broker(&mut self, broker_id: BrokerId) -> Result<()> {
        let records = plan_unfence_broker(&self.image, broker_id)?;
        self.commit(records)
    }

    /// Runs an ElectLeaders request (see [`plan_elect_leaders`]): on one node every partition's
    /// only replica leads already, so this mostly answers `NotNeeded`.
    pub fn elect_leaders(
        &mut self,
        election: ElectionType,
        partitions: Option<&[(String, crate::ids::PartitionIndex)]>,
    ) -> Result<Vec<PartitionElection>> {
        let (res, records) = plan_elect_leaders(&self.image, election, partitions);
        self.commit(records)?;
        Ok(res)
    }

    /// Plans every item against an image that already holds the earlier items' records, then
    /// commits all the records in one batch (one fsync) unless only validating.
    fn run<I, T>(
        &mut self,
        items: &[I],
        mode: Mode,
        plan: impl Fn(&MetadataImage, &I) -> Result<(T, Vec<MetadataRecord>)>,
    ) -> Result<Vec<Result<T>>> {
        let mut scratch = MetadataImage::clone(&self.image);
        let mut records = Vec::new();
        let mut res = Vec::with_capacity(items.len());
        for item in items {
            match plan(&scratch, item) {
                Ok((outcome, item_records)) => {
                    for record in &item_records {
                        scratch.apply(record)?;
                    }
                    records.extend(item_records);
                    res.push(Ok(outcome));
                }
                Err(error) => res.push(Err(error)),
            }
        }
        if mode == Mode::Apply {
            self.commit_planned(records, scratch)?;
        }
        Ok(res)
    }

    fn commit(&mut self, records: Vec<MetadataRecord>) -> Result<()> {
        let mut next = MetadataImage::clone(&self.image);
        for record in &records {
            next.apply(record)?;
        }
        self.commit_planned(records, next)
    }

    /// Makes `records` durable and publishes `next`, the image with them applied.
    fn commit_planned(&mut self, records: Vec<MetadataRecord>, next: MetadataImage) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        // Snapshot before appending rather than after, so that a failed snapshot fails a change
        // that was not committed instead of one that was.
        if self.log.wants_snapshot(self.snapshot_threshold_bytes) {
            self.log.write_snapshot(&self.image)?;
        }
        let batch = RecordBatch {
            base_offset: self.image.end_offset(),
            records,
        };
        assert_eq!(
            next.end_offset(),
            batch.end_offset(),
            "planned image does not match the batch"
        );
        self.log.append(&batch)?;
        self.image = Arc::new(next);
        Ok(())
    }
}
