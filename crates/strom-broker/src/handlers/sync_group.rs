//! SyncGroup (14): the leader hands in the assignment, every member waits for its own part.
//! The answer is delayed until the leader's request arrives (or the group rebalances again).

use std::sync::Arc;

use bytes::Bytes;
use strom_group::{
    DelayedResponse, GenerationId, GroupError, GroupId, GroupInstanceId, MemberId,
    SyncGroupAssignment,
};
use strom_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupResponse};

use crate::broker::Broker;
use crate::groups;
use crate::handlers::group_error_code_of;

/// Answers a SyncGroup request, once the coordinator has the assignment.
pub async fn handle(broker: Arc<Broker>, request: SyncGroupRequest) -> SyncGroupResponse {
    let sync = strom_group::SyncGroupRequest {
        group_id: GroupId(request.group_id),
        generation_id: GenerationId(request.generation_id),
        member_id: MemberId(request.member_id),
        group_instance_id: request.group_instance_id.map(GroupInstanceId),
        protocol_type: request.protocol_type,
        protocol_name: request.protocol_name,
        assignments: request
            .assignments
            .into_iter()
            .map(|assignment| SyncGroupAssignment {
                member_id: MemberId(assignment.member_id),
                assignment: assignment.assignment.to_vec(),
            })
            .collect(),
    };
    let res = groups::delayed(broker, move |coordinator, token, now| {
        coordinator.sync_group(token, sync, now)
    })
    .await;
    match res {
        Some(DelayedResponse::SyncGroup(response)) => SyncGroupResponse {
            error_code: group_error_code_of(response.error),
            protocol_type: response.protocol_type,
            protocol_name: response.protocol_name,
            assignment: Bytes::from(response.assignment),
            ..SyncGroupResponse::default()
        },
        _ => SyncGroupResponse {
            error_code: group_error_code_of(Some(GroupError::CoordinatorNotAvailable)),
            ..SyncGroupResponse::default()
        },
    }
}
