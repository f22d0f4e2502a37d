//! DescribeGroups (15): each group's state, protocol and members (with metadata and assignment
//! once Stable). Unknown groups are `Dead` without an error, as Kafka answers.

use bytes::Bytes;
use strom_group::GroupId;
use strom_protocol::messages::describe_groups::{
    DescribeGroupsRequest, DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// Kafka's "authorized operations not requested" value.
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Answers a DescribeGroups request.
pub fn handle(broker: &Broker, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let group_ids: Vec<GroupId> = request.groups.into_iter().map(GroupId).collect();
    let described = broker
        .groups()
        .read(|coordinator| coordinator.describe_groups(&group_ids));
    DescribeGroupsResponse {
        groups: described
            .into_iter()
            .map(|group| DescribedGroup {
                error_code: group_error_code_of(group.error),
                group_id: group.group_id.0,
                group_state: group.group_state.name().to_owned(),
                protocol_type: group.protocol_type,
                protocol_data: group.protocol_data,
                members: group
                    .members
                    .into_iter()
                    .map(|member| DescribedGroupMember {
                        member_id: member.member_id.0,
                        group_instance_id: member.group_instance_id.map(|id| id.0),
                        client_id: member.client_id,
                        client_host: member.client_host,
                        member_metadata: Bytes::from(member.member_metadata),
                        member_assignment: Bytes::from(member.member_assignment),
                        ..DescribedGroupMember::default()
                    })
                    .collect(),
                authorized_operations: OPERATIONS_NOT_REQUESTED,
                ..DescribedGroup::default()
            })
            .collect(),
        ..DescribeGroupsResponse::default()
    }
}
