//! A controller-only node (`process.roles=controller`, KIP-631) and [`RunningNode`], which starts
//! whatever `process.roles` asks for.
//!
//! A controller-only node runs its voter of the controller quorum and nothing else: it votes,
//! can lead, plans and commits intents forwarded by brokers, and fences brokers whose sessions
//! expire, but it opens no Kafka client listener, does not register as a broker and holds no
//! partitions. Its Raft directory is `<first log dir>/__cluster_metadata-0`, as on a combined
//! node.

use std::sync::Arc;

use strom_metadata::MetadataImage;
use strom_quorum::Quorum;

use crate::broker::start_quorum;
use crate::config::{BrokerConfig, ConfigError, ProcessRoles};
use crate::{Broker, Error, RunningBroker};

/// A running controller-only node.
#[derive(Debug)]
pub struct RunningController {
    quorum: Arc<Quorum>,
}

/// A running node of any role: a broker (single node, combined, or broker-only) or a
/// controller-only node.
#[derive(Debug)]
pub enum RunningNode {
    /// A node with the broker role (it may be a controller too).
    Broker(RunningBroker),
    /// A node with only the controller role.
    Controller(RunningController),
}

impl RunningController {
    /// Starts the quorum voter of a node whose `process.roles` is `controller`; any other role
    /// is refused (naming `process.roles`).
    pub async fn start(config: BrokerConfig) -> Result<RunningController, Error> {
        if config.process_roles != ProcessRoles::Controller {
            return Err(Error::Config(ConfigError::InvalidValue {
                key: "process.roles".to_owned(),
                value: format!("{:?}", config.process_roles),
                reason: "only a controller-only node (process.roles=controller) runs without a \
                         broker"
                    .to_owned(),
            }));
        }
        let quorum = start_quorum(&config).await?;
        tracing::info!(
            node_id = config.node_id,
            "controller-only node started (no client listener)"
        );
        Ok(RunningController { quorum })
    }

    /// The quorum voter.
    pub fn quorum(&self) -> &Arc<Quorum> {
        &self.quorum
    }

    /// The committed metadata image this node has applied.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.quorum.image()
    }

    /// Stops the quorum voter; its directory stays for a later start.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.quorum.stop().await?;
        tracing::info!("controller stopped");
        Ok(())
    }
}

impl RunningNode {
    /// Starts what `config.process_roles` names: a broker ([`Broker::start`]) for every role
    /// with `broker` (and the single-node default), or a [`RunningController`].
    pub async fn start(config: BrokerConfig) -> Result<RunningNode, Error> {
        match config.process_roles {
            ProcessRoles::Controller => Ok(RunningNode::Controller(
                RunningController::start(config).await?,
            )),
            ProcessRoles::SingleNode | ProcessRoles::Combined | ProcessRoles::Broker => {
                Ok(RunningNode::Broker(Broker::start(config).await?))
            }
        }
    }

    /// Stops the node cleanly (see [`RunningBroker::shutdown`]).
    pub async fn shutdown(self) -> Result<(), Error> {
        match self {
            RunningNode::Broker(broker) => broker.shutdown().await,
            RunningNode::Controller(controller) => controller.shutdown().await,
        }
    }
}
