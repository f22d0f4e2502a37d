//! strom-quorum: the controller quorum. The metadata log of `strom-metadata` replicated by Raft
//! (KRaft-style) among controller nodes, with brokers following it as learners, so that every
//! node applies the same committed batches to the same [`MetadataImage`](strom_metadata::MetadataImage).
//!
//! [`Quorum`] is the seam: it runs [openraft](https://docs.rs/openraft) underneath, but no openraft
//! type appears in its API. Pieces:
//! - `quorum`: the handle (start, propose on the leader, image, leader, learners, shutdown);
//! - `log_store`: the Raft log and vote on disk;
//! - `state_machine`: the image and its snapshots;
//! - `network`: the RPC between nodes over TCP;
//! - `durable`: checked frames and atomic file replacement.
//!
//! It does no broker wiring (registration, heartbeats, fencing decisions): see `docs/quorum.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_quorum::Error> {
//! use std::collections::BTreeMap;
//! use strom_metadata::{BrokerId, BrokerRegistration, ClusterId, CreateTopic, TopicId, TopicLayout};
//! use strom_quorum::{Error, NodeId, Quorum, QuorumConfig, Role};
//!
//! let voters: BTreeMap<NodeId, std::net::SocketAddr> = [
//!     (NodeId(1), "10.0.0.1:9093".parse().unwrap()),
//!     (NodeId(2), "10.0.0.2:9093".parse().unwrap()),
//!     (NodeId(3), "10.0.0.3:9093".parse().unwrap()),
//! ]
//! .into();
//! let config = QuorumConfig::new(
//!     NodeId(1),
//!     Role::Voter,
//!     voters.clone(),
//!     "/var/lib/strom/quorum".into(),
//!     voters[&NodeId(1)],
//!     ClusterId("c1".into()),
//! );
//! let quorum = Quorum::start(config).await?;
//! quorum.wait_for_leader(std::time::Duration::from_secs(5)).await;
//! let registration = BrokerRegistration {
//!     broker_id: BrokerId(1),
//!     endpoints: Vec::new(),
//!     rack: None,
//!     fenced: false,
//! };
//! match quorum.register_broker(&registration).await {
//!     Ok(()) => {}
//!     // Send the request to the controller that leads.
//!     Err(Error::NotLeader { leader }) => println!("ask {leader:?}"),
//!     Err(error) => return Err(error),
//! }
//! let topic = CreateTopic {
//!     name: "orders".into(),
//!     topic_id: TopicId([7; 16]),
//!     layout: TopicLayout::Placed { partitions: 3, replication_factor: 1 },
//!     configs: BTreeMap::new(),
//! };
//! let res = quorum.create_topics(&[topic]).await?;
//! assert!(res[0].is_ok());
//! assert!(quorum.image().topic("orders").is_some());
//! quorum.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod durable;
mod error;
mod ids;
mod log_store;
mod network;
mod quorum;
mod raft_types;
mod state_machine;

pub use crate::error::Error;
pub use crate::ids::NodeId;
pub use crate::log_store::{LOG_FILE_NAME, VOTE_FILE_NAME};
pub use crate::quorum::{Quorum, QuorumConfig, QuorumStatus, Role};
pub use crate::state_machine::SNAPSHOT_FILE_NAME;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
