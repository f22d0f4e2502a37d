//! LeaveGroup (13): one member (v0-2) or a batch of members by id or instance id (v3+) leave.

use strom_group::{GroupId, GroupInstanceId, LeavingMember, MemberId};
use strom_protocol::messages::leave_group::{
    LeaveGroupRequest, LeaveGroupResponse, MemberResponse,
};

use crate::broker::Broker;
use crate::handlers::{group_error_code_of, non_empty};

/// Answers a LeaveGroup request.
pub fn handle(broker: &Broker, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let members = if version < 3 {
        vec![LeavingMember {
            member_id: non_empty(request.member_id).map(MemberId),
            group_instance_id: None,
            reason: None,
        }]
    } else {
        request
            .members
            .into_iter()
            .map(|member| LeavingMember {
                member_id: non_empty(member.member_id).map(MemberId),
                group_instance_id: member.group_instance_id.map(GroupInstanceId),
                reason: member.reason,
            })
            .collect()
    };
    let leave = strom_group::LeaveGroupRequest {
        group_id: GroupId(request.group_id),
        members,
    };
    let response = broker.groups().call(broker, |coordinator, now| {
        coordinator.leave_group(leave, now)
    });
    let response = match response {
        Ok(response) => response,
        Err(error) => strom_group::LeaveGroupResponse {
            error: Some(error),
            members: Vec::new(),
        },
    };
    // Before v3 there is no per-member result: a member's error is the request's.
    let error = if version < 3 {
        response
            .error
            .or_else(|| response.members.iter().find_map(|member| member.error))
    } else {
        response.error
    };
    LeaveGroupResponse {
        error_code: group_error_code_of(error),
        members: response
            .members
            .into_iter()
            .map(|member| MemberResponse {
                member_id: member.member_id.map(|id| id.0).unwrap_or_default(),
                group_instance_id: member.group_instance_id.map(|id| id.0),
                error_code: group_error_code_of(member.error),
                ..MemberResponse::default()
            })
            .collect(),
        ..LeaveGroupResponse::default()
    }
}
