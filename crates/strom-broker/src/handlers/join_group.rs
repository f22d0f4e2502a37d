//! JoinGroup (11): translates the request for the group coordinator, waits for its answer
//! (which comes when the rebalance completes, possibly after other members' requests or a
//! timeout), and translates the answer back. Version flags: v4+ members must first get a
//! member id (`MEMBER_ID_REQUIRED`), v9+ leaders may be told to skip the assignment.

use std::sync::Arc;

use bytes::Bytes;
use strom_group::{
    DelayedResponse, GroupError, GroupId, GroupInstanceId, JoinGroupProtocol, MemberId,
};
use strom_protocol::messages::join_group::{
    JoinGroupRequest, JoinGroupResponse, JoinGroupResponseMember,
};

use crate::broker::Broker;
use crate::groups;
use crate::handlers::{group_error_code_of, non_empty};

/// Who sent the request: the header's client id and the peer's address.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The request header's client id.
    pub client_id: String,
    /// The client's address as Kafka reports it (`/127.0.0.1`).
    pub client_host: String,
}

/// Answers a JoinGroup request, once the coordinator has decided.
pub async fn handle(
    broker: Arc<Broker>,
    request: JoinGroupRequest,
    version: i16,
    requester: Requester,
) -> JoinGroupResponse {
    let member_id = request.member_id.clone();
    let rebalance_timeout_ms = if version == 0 {
        request.session_timeout_ms
    } else {
        request.rebalance_timeout_ms
    };
    let join = strom_group::JoinGroupRequest {
        group_id: GroupId(request.group_id),
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms,
        member_id: non_empty(request.member_id).map(MemberId),
        group_instance_id: request.group_instance_id.map(GroupInstanceId),
        protocol_type: request.protocol_type,
        protocols: request
            .protocols
            .into_iter()
            .map(|protocol| JoinGroupProtocol {
                name: protocol.name,
                metadata: protocol.metadata.to_vec(),
            })
            .collect(),
        reason: request.reason,
        client_id: requester.client_id,
        client_host: requester.client_host,
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let res = groups::delayed(broker, move |coordinator, token, now| {
        coordinator.join_group(token, join, now)
    })
    .await;
    match res {
        Some(DelayedResponse::JoinGroup(response)) => to_wire(response, version),
        _ => JoinGroupResponse {
            error_code: group_error_code_of(Some(GroupError::CoordinatorNotAvailable)),
            generation_id: -1,
            protocol_name: (version < 7).then(String::new),
            member_id,
            ..JoinGroupResponse::default()
        },
    }
}

fn to_wire(response: strom_group::JoinGroupResponse, version: i16) -> JoinGroupResponse {
    let protocol_name = match response.protocol_name {
        // Before v7 the field is not nullable.
        None if version < 7 => Some(String::new()),
        name => name,
    };
    JoinGroupResponse {
        error_code: group_error_code_of(response.error),
        generation_id: response.generation_id.map_or(-1, |generation| generation.0),
        protocol_type: response.protocol_type,
        protocol_name,
        leader: response.leader.map(|leader| leader.0).unwrap_or_default(),
        skip_assignment: response.skip_assignment,
        member_id: response
            .member_id
            .map(|member| member.0)
            .unwrap_or_default(),
        members: response
            .members
            .into_iter()
            .map(|member| JoinGroupResponseMember {
                member_id: member.member_id.0,
                group_instance_id: member.group_instance_id.map(|id| id.0),
                metadata: Bytes::from(member.metadata),
                ..JoinGroupResponseMember::default()
            })
            .collect(),
        ..JoinGroupResponse::default()
    }
}
