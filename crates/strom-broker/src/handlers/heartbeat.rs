//! Heartbeat (12): keeps a member's session alive and tells it when the group rebalances.

use strom_group::{GenerationId, GroupId, GroupInstanceId, MemberId};
use strom_protocol::messages::heartbeat::{HeartbeatRequest, HeartbeatResponse};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// Answers a Heartbeat request.
pub fn handle(broker: &Broker, request: HeartbeatRequest) -> HeartbeatResponse {
    let heartbeat = strom_group::HeartbeatRequest {
        group_id: GroupId(request.group_id),
        generation_id: GenerationId(request.generation_id),
        member_id: MemberId(request.member_id),
        group_instance_id: request.group_instance_id.map(GroupInstanceId),
    };
    let error = match broker.groups().call(broker, |coordinator, now| {
        coordinator.heartbeat(heartbeat, now)
    }) {
        Ok(response) => response.error,
        Err(error) => Some(error),
    };
    HeartbeatResponse {
        error_code: group_error_code_of(error),
        ..HeartbeatResponse::default()
    }
}
