//! strom-replication: the sans-IO core of Kafka-style partition replication.
//!
//! It decides and the broker acts. [`Leader`] tracks followers, the ISR and the high watermark
//! and completes `acks=all` requests; [`Follower`] finds where a follower's log diverges from a
//! new leader's (leader epochs, KIP-101/279) and fetches forward; [`elect_leader`] and friends
//! are the controller's choices. Every event goes in as a method call with the time as a
//! parameter and every decision comes out as an [`Action`] (or a new
//! [`PartitionRegistration`] for the controller). The crate owns no log, no socket and no
//! clock; see docs/replication.md for the rules and what the broker must do with each action.
//!
//! ```
//! use strom_replication::{
//!     Action, BrokerId, Leader, LeaderConfig, LeaderEpoch, LeaderInit, Offset, PartitionEpoch,
//!     RequestId, TimeMs,
//! };
//!
//! let init = LeaderInit {
//!     leader: BrokerId(1),
//!     replicas: vec![BrokerId(1), BrokerId(2)],
//!     isr: vec![BrokerId(1), BrokerId(2)],
//!     leader_epoch: LeaderEpoch(1),
//!     partition_epoch: PartitionEpoch(1),
//!     log_end_offset: Offset(0),
//!     high_watermark: Offset(0),
//! };
//! let mut leader = Leader::new(init, LeaderConfig::default(), TimeMs(0))?;
//! leader.check_min_insync(2).unwrap();
//! // The broker appended a batch of 3 records, then waits for the ISR.
//! assert!(leader.on_append(Offset(3), TimeMs(1))?.is_empty());
//! assert!(leader.await_ack(RequestId(7), Offset(3), 2)?.is_empty());
//! // The follower fetched everything.
//! let actions = leader.on_follower_fetch(BrokerId(2), Offset(3), Offset(0), TimeMs(2))?;
//! assert_eq!(
//!     actions,
//!     vec![Action::AdvanceHighWatermark(Offset(3)), Action::AckCompleted(RequestId(7))]
//! );
//! # Ok::<(), strom_replication::Error>(())
//! ```

mod action;
mod election;
mod epoch_cache;
mod error;
mod follower;
mod ids;
mod leader;

pub use action::{AckError, Action, IsrProposal};
pub use election::{
    ElectionConfig, ElectionKind, PartitionRegistration, alter_isr, elect_leader, fence_broker,
    unfence_broker,
};
pub use epoch_cache::{
    EpochEndOffset, EpochEntry, FetchValidation, end_offset_for_epoch, validate_fetch,
};
pub use error::{Error, Result};
pub use follower::{Follower, FollowerPhase, LocalLog};
pub use ids::{BrokerId, LeaderEpoch, Offset, PartitionEpoch, RequestId, TimeMs};
pub use leader::{FollowerProgress, Leader, LeaderConfig, LeaderInit};
