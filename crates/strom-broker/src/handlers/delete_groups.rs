//! DeleteGroups (42): removes groups without members, with their committed offsets.

use strom_group::GroupId;
use strom_protocol::messages::delete_groups::{
    DeletableGroupResult, DeleteGroupsRequest, DeleteGroupsResponse,
};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// Answers a DeleteGroups request.
pub fn handle(broker: &Broker, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let group_ids: Vec<GroupId> = request.groups_names.into_iter().map(GroupId).collect();
    let res = broker.groups().call(broker, |coordinator, now| {
        coordinator.delete_groups(&group_ids, now)
    });
    let results = match res {
        Ok(deleted) => deleted
            .into_iter()
            .map(|group| DeletableGroupResult {
                group_id: group.group_id.0,
                error_code: group_error_code_of(group.error),
                ..DeletableGroupResult::default()
            })
            .collect(),
        Err(error) => group_ids
            .into_iter()
            .map(|group_id| DeletableGroupResult {
                group_id: group_id.0,
                error_code: group_error_code_of(Some(error)),
                ..DeletableGroupResult::default()
            })
            .collect(),
    };
    DeleteGroupsResponse {
        results,
        ..DeleteGroupsResponse::default()
    }
}
