//! The Strom broker: configuration, the network server, the per-API request handlers and the
//! wiring of the log, metadata, replication and group crates into a broker ([`Broker::start`]):
//! a single node, or a node of a cluster whose metadata is replicated by the controller quorum
//! (`controller.quorum.voters`; `process.roles` makes a node combined broker and controller,
//! broker-only or controller-only: [`RunningNode::start`] starts any of them).
//!
//! It holds no record-format or state-machine logic of its own: those live in the crates below.
//! Not yet here: transactions, SASL/TLS, reassignment throttles.
//!
//! ```no_run
//! # async fn run() -> Result<(), strom_broker::Error> {
//! use strom_broker::Broker;
//! use strom_broker::config::BrokerConfig;
//!
//! let running = Broker::start(BrokerConfig::defaults()).await?;
//! println!("listening on {}", running.local_addr());
//! running.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod broker;
pub mod config;
mod controller;
pub mod dispatch;
mod error;
mod fetcher;
mod groups;
pub mod handlers;
mod plane;
pub mod producer_ids;
pub mod producer_state;
mod random_id;
mod reconcile;
mod replica;
pub mod server;

pub use crate::broker::{Broker, RunningBroker, log_config, now};
pub use crate::controller::{RunningController, RunningNode};
pub use crate::error::Error;
pub use crate::fetcher::{Followed, ReplicaLogState};
pub use crate::plane::Plane;
