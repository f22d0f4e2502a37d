//! strom-quorum: the controller quorum. The metadata log of `strom-metadata` replicated by Raft
//! (KRaft-style) among controller nodes, with brokers following it as learners, so that every
//! node applies the same committed batches to the same [`MetadataImage`](strom_metadata::MetadataImage).
//!
//! [`Quorum`] is the seam: it runs [openraft](https://docs.rs/openraft) underneath, but no openraft
//! type appears in its API. Pieces:
//! - `quorum`: the handle (start, submit from any node, propose on the leader, image, leader,
//!   learners, shutdown) and the leader's session task that fences silent brokers;
//! - `intent`: what a broker asks the controller ([`Intent`]) and gets back ([`Outcome`]), and
//!   their wire forms for forwarding;
//! - `liveness`: broker sessions on the leader (in memory, not in the log);
//! - `log_store`: the Raft log and vote on disk;
//! - `state_machine`: the image and its snapshots;
//! - `network`: the RPC between nodes over TCP, forwarded intents included;
//! - `durable`: checked frames and atomic file replacement.
//!
//! See `docs/quorum.md`.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_quorum::Error> {
//! use std::collections::BTreeMap;
//! use strom_metadata::{
//!     BrokerId, BrokerRegistration, ClusterId, CreateTopic, Mode, TopicId, TopicLayout,
//! };
//! use strom_quorum::{Intent, NodeId, Outcome, Quorum, QuorumConfig, Role};
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
//! // From any node: a follower or learner forwards to the leader, retrying across elections.
//! quorum.submit(Intent::RegisterBroker(registration)).await?;
//! quorum.heartbeat(BrokerId(1)).await?;
//! let topic = CreateTopic {
//!     name: "orders".into(),
//!     topic_id: TopicId([7; 16]),
//!     layout: TopicLayout::Placed { partitions: 3, replication_factor: 1 },
//!     configs: BTreeMap::new(),
//! };
//! match quorum.submit(Intent::CreateTopics(vec![topic], Mode::Apply)).await? {
//!     Outcome::CreatedTopics(res) => assert!(res[0].is_ok()),
//!     other => unreachable!("a creation answers CreatedTopics, not {other:?}"),
//! }
//! // Applied on this node too before `submit` returned.
//! assert!(quorum.image().topic("orders").is_some());
//! quorum.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod durable;
mod error;
mod ids;
mod intent;
mod liveness;
mod log_store;
mod network;
mod quorum;
mod raft_types;
mod state_machine;

pub use crate::error::Error;
pub use crate::ids::NodeId;
pub use crate::intent::{ConfigChange, Intent, Outcome};
pub use crate::log_store::{LOG_FILE_NAME, VOTE_FILE_NAME};
pub use crate::quorum::{Quorum, QuorumConfig, QuorumStatus, Role};
pub use crate::state_machine::SNAPSHOT_FILE_NAME;

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
