//! FindCoordinator (10): on a single node this node coordinates every group and transactional
//! id. A group lookup first makes sure `__consumer_offsets` exists and is replayed, so the
//! group APIs answer as soon as a client knows its coordinator.

use strom_protocol::messages::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};

use strom_group::GroupId;
use strom_metadata::PartitionIndex;
use strom_protocol::ErrorCode;

use crate::broker::Broker;
use crate::handlers::metadata::CONSUMER_OFFSETS_TOPIC;

/// Answers a FindCoordinator request.
pub fn handle(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    // A group's coordinator answers once `__consumer_offsets` exists and is replayed (it is
    // created on the first group lookup, as Kafka does).
    if request.key_type == 0
        && let Err(error) = broker.groups().ensure_loaded(broker, true)
    {
        tracing::warn!(%error, "cannot load __consumer_offsets");
        return coordinator_not_available(request, version);
    }
    if version < 4 {
        let key = request.key.clone();
        let Some((node_id, host, port)) = coordinator_of(broker, request.key_type, &key) else {
            return coordinator_not_available(request, version);
        };
        return FindCoordinatorResponse {
            error_code: 0,
            error_message: None,
            node_id,
            host,
            port,
            ..FindCoordinatorResponse::default()
        };
    }
    FindCoordinatorResponse {
        coordinators: request
            .coordinator_keys
            .into_iter()
            .map(|key| match coordinator_of(broker, request.key_type, &key) {
                Some((node_id, host, port)) => Coordinator {
                    key,
                    node_id,
                    host,
                    port,
                    error_code: 0,
                    error_message: None,
                    ..Coordinator::default()
                },
                None => Coordinator {
                    key,
                    node_id: -1,
                    port: -1,
                    error_code: ErrorCode::CoordinatorNotAvailable.code(),
                    ..Coordinator::default()
                },
            })
            .collect(),
        ..FindCoordinatorResponse::default()
    }
}

/// The coordinator of `key`: for a group, the leader of its `__consumer_offsets` partition (this
/// node on a single node); transactional ids are coordinated by the node asked. `None` while the
/// partition has no leader.
fn coordinator_of(broker: &Broker, key_type: i8, key: &str) -> Option<(i32, String, i32)> {
    let endpoint = broker.endpoint();
    let here = Some((
        broker.node_id().0,
        endpoint.host.clone(),
        i32::from(endpoint.port),
    ));
    if key_type != 0 || broker.plane().quorum().is_none() {
        return here;
    }
    let partition = broker
        .groups()
        .read(|coordinator| coordinator.partition_for(&GroupId(key.to_owned())));
    let image = broker.image();
    let leader = image
        .partition(CONSUMER_OFFSETS_TOPIC, PartitionIndex(partition.0))?
        .leader?;
    let registration = image.broker(leader)?;
    let endpoint = registration.endpoints.first()?;
    Some((leader.0, endpoint.host.clone(), i32::from(endpoint.port)))
}

/// The answer while `__consumer_offsets` cannot be loaded: clients retry.
fn coordinator_not_available(
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let error_code = strom_protocol::ErrorCode::CoordinatorNotAvailable.code();
    if version < 4 {
        return FindCoordinatorResponse {
            error_code,
            node_id: -1,
            port: -1,
            ..FindCoordinatorResponse::default()
        };
    }
    FindCoordinatorResponse {
        coordinators: request
            .coordinator_keys
            .into_iter()
            .map(|key| Coordinator {
                key,
                node_id: -1,
                port: -1,
                error_code,
                ..Coordinator::default()
            })
            .collect(),
        ..FindCoordinatorResponse::default()
    }
}
