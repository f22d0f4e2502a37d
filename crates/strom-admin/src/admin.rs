//! The [`Admin`] handle: a `strom-client` [`Client`] plus the plumbing every operation shares
//! (matching response types, finding a group's coordinator) and the cluster description.
//! Topic, config, group and offset operations live in their own modules as `impl Admin` blocks.

use strom_client::{Backoff, BrokerId, Client, ClientConfig};
use strom_protocol::messages::describe_cluster::DescribeClusterRequest;
use strom_protocol::messages::find_coordinator::FindCoordinatorRequest;
use strom_protocol::{ErrorCode, Request, Response};

use crate::error::check;
use crate::{Error, Result};

/// An admin client connected to a cluster.
#[derive(Debug, Clone)]
pub struct Admin {
    pub(crate) client: Client,
}

/// What [`Admin::describe_cluster`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The active controller, when known.
    pub controller: Option<i32>,
    /// The brokers, ordered by id.
    pub brokers: Vec<BrokerDescription>,
}

/// One broker of a [`ClusterDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerDescription {
    /// The node id.
    pub id: i32,
    /// The advertised host.
    pub host: String,
    /// The advertised port.
    pub port: i32,
    /// The rack, when configured.
    pub rack: Option<String>,
}

/// Unwraps a response of the expected variant or fails with [`Error::UnexpectedResponse`].
macro_rules! expect_response {
    ($response:expr, $variant:ident) => {
        match $response {
            ::strom_protocol::Response::$variant(res) => res,
            _ => {
                return Err($crate::Error::UnexpectedResponse(
                    ::strom_protocol::ApiKey::$variant,
                ))
            }
        }
    };
}
pub(crate) use expect_response;

impl Admin {
    /// Connects to the cluster through `config.bootstrap_servers` and loads its metadata.
    pub async fn connect(config: ClientConfig) -> Result<Admin> {
        let client = Client::connect(config).await?;
        client.refresh_metadata().await?;
        Ok(Admin { client })
    }

    /// The underlying client (for requests this crate does not wrap).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.client.close().await;
    }

    /// Describes the cluster: its id, controller and brokers (DescribeCluster).
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let response = self
            .client
            .send_any(DescribeClusterRequest::default())
            .await?;
        let response = expect_response!(response, DescribeCluster);
        check(
            "cluster",
            response.error_code,
            response.error_message.as_deref(),
        )?;
        let mut brokers: Vec<BrokerDescription> = response
            .brokers
            .into_iter()
            .map(|broker| BrokerDescription {
                id: broker.broker_id,
                host: broker.host,
                port: broker.port,
                rack: broker.rack,
            })
            .collect();
        brokers.sort_by_key(|broker| broker.id);
        Ok(ClusterDescription {
            cluster_id: response.cluster_id,
            controller: (response.controller_id >= 0).then_some(response.controller_id),
            brokers,
        })
    }

    /// Sends `request` to any broker.
    pub(crate) async fn send_any(&self, request: impl Into<Request>) -> Result<Response> {
        Ok(self.client.send_any(request).await?)
    }

    /// Sends `request` to `broker`.
    pub(crate) async fn send(
        &self,
        broker: BrokerId,
        request: impl Into<Request>,
    ) -> Result<Response> {
        Ok(self.client.send(broker, request).await?)
    }

    /// The coordinator of `group` (FindCoordinator), with its address in the metadata cache.
    /// While the broker is still electing or loading it (COORDINATOR_NOT_AVAILABLE,
    /// COORDINATOR_LOAD_IN_PROGRESS) we ask again with backoff, up to `request.timeout.ms`.
    pub(crate) async fn coordinator(&self, group: &str) -> Result<BrokerId> {
        let mut backoff = Backoff::new(self.client.config());
        let deadline = tokio::time::Instant::now() + self.client.config().request_timeout;
        loop {
            match self.find_coordinator(group).await {
                Err(Error::Broker {
                    code: ErrorCode::CoordinatorNotAvailable | ErrorCode::CoordinatorLoadInProgress,
                    ..
                }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                res => return res,
            }
        }
    }

    async fn find_coordinator(&self, group: &str) -> Result<BrokerId> {
        // Fill both the v0-3 field and the v4+ batch field: the encoder writes the one of the
        // negotiated version.
        let request = FindCoordinatorRequest {
            key: group.to_owned(),
            key_type: 0,
            coordinator_keys: vec![group.to_owned()],
            ..FindCoordinatorRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, FindCoordinator);
        let resource = format!("group {group}");
        let node = match response.coordinators.first() {
            Some(coordinator) => {
                check(
                    &resource,
                    coordinator.error_code,
                    coordinator.error_message.as_deref(),
                )?;
                coordinator.node_id
            }
            None => {
                check(
                    &resource,
                    response.error_code,
                    response.error_message.as_deref(),
                )?;
                response.node_id
            }
        };
        let broker = BrokerId(node);
        if !self.client.cached_metadata().brokers.contains_key(&broker) {
            self.client.refresh_metadata().await?;
        }
        Ok(broker)
    }

    /// Every broker known to the metadata cache.
    pub(crate) fn brokers(&self) -> Vec<BrokerId> {
        self.client
            .cached_metadata()
            .brokers
            .keys()
            .copied()
            .collect()
    }
}
