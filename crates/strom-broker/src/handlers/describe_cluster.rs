//! DescribeCluster (60): the cluster id, the controller, and the registered brokers with their
//! host, port and rack (fenced brokers only when `include_fenced_brokers`, v2+). The cluster's
//! authorized operations are reported only when asked for; with no authorizer, every cluster
//! operation is allowed.
//!
//! It serves the broker endpoint type only: a request for controller endpoints (v1+) is
//! `MISMATCHED_ENDPOINT_TYPE`, an unknown endpoint type `UNSUPPORTED_ENDPOINT_TYPE`, as Kafka's
//! brokers answer them.

use strom_protocol::ErrorCode;
use strom_protocol::messages::describe_cluster::{
    DescribeClusterBroker, DescribeClusterRequest, DescribeClusterResponse,
};

use crate::broker::Broker;

/// Kafka's `EndpointType` numbers.
const ENDPOINT_TYPE_BROKER: i8 = 1;
const ENDPOINT_TYPE_CONTROLLER: i8 = 2;

/// The `authorized_operations` value that means "not requested".
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Every operation Kafka defines on the cluster resource, as its `AclOperation` bit set: CREATE
/// (5), ALTER (7), DESCRIBE (8), CLUSTER_ACTION (9), DESCRIBE_CONFIGS (10), ALTER_CONFIGS (11)
/// and IDEMPOTENT_WRITE (12).
const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// Answers a DescribeCluster request.
pub fn handle(broker: &Broker, request: DescribeClusterRequest) -> DescribeClusterResponse {
    let mut res = DescribeClusterResponse {
        endpoint_type: request.endpoint_type,
        cluster_id: broker.cluster_id().0.clone(),
        ..DescribeClusterResponse::default()
    };
    match request.endpoint_type {
        ENDPOINT_TYPE_BROKER => {}
        ENDPOINT_TYPE_CONTROLLER => {
            res.error_code = ErrorCode::MismatchedEndpointType.code();
            res.error_message = Some(
                "the request was sent to a broker endpoint, but asks for controller endpoints"
                    .to_owned(),
            );
            return res;
        }
        other => {
            res.error_code = ErrorCode::UnsupportedEndpointType.code();
            res.error_message = Some(format!("unknown endpoint type {other}"));
            return res;
        }
    }
    // Combined mode: this node is the (only) controller.
    res.controller_id = broker.plane().controller_id(broker.node_id());
    let image = broker.image();
    res.brokers = image
        .brokers()
        .filter(|registration| request.include_fenced_brokers || !registration.fenced)
        .map(|registration| {
            let endpoint = registration.endpoints.first();
            DescribeClusterBroker {
                broker_id: registration.broker_id.0,
                host: endpoint.map_or_else(String::new, |endpoint| endpoint.host.clone()),
                port: endpoint.map_or(-1, |endpoint| i32::from(endpoint.port)),
                rack: registration.rack.clone(),
                is_fenced: registration.fenced,
                ..DescribeClusterBroker::default()
            }
        })
        .collect();
    res.cluster_authorized_operations = if request.include_cluster_authorized_operations {
        CLUSTER_OPERATIONS
    } else {
        OPERATIONS_NOT_REQUESTED
    };
    res
}
