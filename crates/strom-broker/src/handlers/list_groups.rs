//! ListGroups (16): the groups this broker coordinates, filtered by state (v4+) and type (v5+;
//! every group here is `classic`).

use strom_group::{GroupState, ListGroupsRequest as CoordinatorRequest};
use strom_protocol::messages::list_groups::{ListGroupsRequest, ListGroupsResponse, ListedGroup};

use crate::broker::Broker;
use crate::handlers::group_error_code_of;

/// The only group type Strom has (the classic protocol).
const CLASSIC: &str = "classic";

/// Answers a ListGroups request.
pub fn handle(broker: &Broker, request: ListGroupsRequest) -> ListGroupsResponse {
    let states_filter: Vec<GroupState> = request
        .states_filter
        .iter()
        .filter_map(|name| GroupState::from_name(name))
        .collect();
    // A filter naming only states or types that do not exist matches nothing.
    let matches_nothing = (!request.states_filter.is_empty() && states_filter.is_empty())
        || (!request.types_filter.is_empty()
            && !request
                .types_filter
                .iter()
                .any(|kind| kind.eq_ignore_ascii_case(CLASSIC)));
    let list = CoordinatorRequest { states_filter };
    let response = broker
        .groups()
        .read(|coordinator| coordinator.list_groups(&list));
    let groups = if matches_nothing {
        Vec::new()
    } else {
        response
            .groups
            .into_iter()
            .map(|group| ListedGroup {
                group_id: group.group_id.0,
                protocol_type: group.protocol_type,
                group_state: group.group_state.name().to_owned(),
                group_type: CLASSIC.to_owned(),
                ..ListedGroup::default()
            })
            .collect()
    };
    ListGroupsResponse {
        error_code: group_error_code_of(response.error),
        groups,
        ..ListGroupsResponse::default()
    }
}
