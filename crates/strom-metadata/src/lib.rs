//! strom-metadata: the cluster's metadata — brokers and their endpoints, topics and topic ids,
//! partitions (replicas, leader, epochs, ISR) and config overrides — as a log of
//! [`MetadataRecord`]s that every node applies, in order, to the same [`MetadataImage`].
//!
//! The pieces, and which of them Raft will replace (see `docs/metadata.md`):
//! - `record`: the records and their versioned `postcard` encoding (kept);
//! - `image`: the image and `apply`, which refuses contradicting records (kept);
//! - `controller`: admin intents checked with Kafka's rules and turned into records (kept);
//! - `election`: preferred and unclean leader elections, the automatic preferred-leader
//!   rebalance and the `unclean.leader.election.enable` rule (kept);
//! - `placement`: where new partitions' replicas go (kept);
//! - `storage` and `local`: the single-node log file, snapshot and commit path (replaced by the
//!   Raft log and its commit path);
//! - `identity`: `meta.properties` (kept).
//!
//! It is synchronous, never reads the clock or a random source (topic ids and the cluster id come
//! from the caller), and speaks no Kafka wire messages: the broker translates requests into the
//! types here and [`Error`] variants into wire error codes.
//!
//! ```
//! use std::collections::BTreeMap;
//! use strom_metadata::{
//!     BrokerId, BrokerRegistration, ClusterId, CreateTopic, LocalConfig, LocalController, Mode,
//!     TopicId, TopicLayout,
//! };
//!
//! let dir = tempfile::tempdir().unwrap();
//! let config = LocalConfig::new(dir.path().to_owned(), BrokerId(1), ClusterId("c1".into()));
//! let (mut controller, _) = LocalController::open(&config).unwrap();
//! controller
//!     .register_broker(&BrokerRegistration {
//!         broker_id: BrokerId(1),
//!         endpoints: Vec::new(),
//!         rack: None,
//!         fenced: false,
//!     })
//!     .unwrap();
//! let topic = CreateTopic {
//!     name: "orders".into(),
//!     topic_id: TopicId([7; 16]),
//!     layout: TopicLayout::Placed { partitions: 3, replication_factor: 1 },
//!     configs: BTreeMap::new(),
//! };
//! let res = controller.create_topics(&[topic], Mode::Apply).unwrap();
//! assert!(res[0].is_ok());
//! let image = controller.image();
//! assert_eq!(image.topic("orders").unwrap().partition_count(), 3);
//! ```

mod controller;
mod election;
mod error;
mod identity;
mod ids;
mod image;
mod local;
mod placement;
mod record;
mod storage;

pub use crate::controller::{
    AlterConfigs, AlterPartition, ConfigOp, ConfigRules, ConfigValidator, CreatePartitions,
    CreateTopic, CreatedTopic, DeletedTopic, MAX_NEW_PARTITIONS, MAX_TOPIC_NAME_LEN,
    OngoingReassignment, Reassignment, TopicLayout, TopicRef, ongoing_reassignments,
    plan_alter_configs, plan_alter_partition, plan_create_partitions, plan_create_topic,
    plan_delete_topic, plan_fence_broker, plan_fence_broker_with, plan_reassign,
    plan_register_broker, plan_unfence_broker, plan_unfence_broker_with, validate_topic_name,
};
pub use crate::election::{
    Election, ElectionConfig, ElectionType, PartitionElection, UNCLEAN_LEADER_ELECTION_ENABLE,
    plan_elect_leaders, plan_rebalance_leaders, plan_unclean_elections, unclean_election_enabled,
};
pub use crate::error::Error;
pub use crate::identity::{Identity, META_PROPERTIES_FILE_NAME, load_or_create_identity};
pub use crate::ids::{
    BrokerId, ClusterId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
};
pub use crate::image::{MetadataImage, PartitionImage, TopicImage};
pub use crate::local::{LocalConfig, LocalController, Mode};
pub use crate::placement::place_replicas;
pub use crate::record::{
    BrokerRegistration, ConfigResource, Endpoint, FORMAT_VERSION, MetadataRecord,
    PartitionChangeRecord, PartitionReassignmentRecord, PartitionRecord, RecordBatch,
};
pub use crate::storage::{
    LOG_FILE_NAME, METADATA_DIR_NAME, MetadataLog, RecoveryReport, SNAPSHOT_FILE_NAME,
};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
