//! FindCoordinator (10): on a single node this node coordinates every group and transactional
//! id. A group lookup first makes sure `__consumer_offsets` exists and is replayed, so the
//! group APIs answer as soon as a client knows its coordinator.

use strom_protocol::messages::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};

use crate::broker::Broker;

/// Answers a FindCoordinator request.
pub fn handle(
    broker: &Broker,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let endpoint = broker.endpoint();
    let node_id = broker.node_id().0;
    let port = i32::from(endpoint.port);
    // A group's coordinator answers once `__consumer_offsets` exists and is replayed (it is
    // created on the first group lookup, as Kafka does).
    if request.key_type == 0
        && let Err(error) = broker.groups().ensure_loaded(broker, true)
    {
        tracing::warn!(%error, "cannot load __consumer_offsets");
        return coordinator_not_available(request, version);
    }
    if version < 4 {
        return FindCoordinatorResponse {
            error_code: 0,
            error_message: None,
            node_id,
            host: endpoint.host.clone(),
            port,
            ..FindCoordinatorResponse::default()
        };
    }
    FindCoordinatorResponse {
        coordinators: request
            .coordinator_keys
            .into_iter()
            .map(|key| Coordinator {
                key,
                node_id,
                host: endpoint.host.clone(),
                port,
                error_code: 0,
                error_message: None,
                ..Coordinator::default()
            })
            .collect(),
        ..FindCoordinatorResponse::default()
    }
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
