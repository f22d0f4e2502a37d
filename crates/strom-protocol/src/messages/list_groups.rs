//! ListGroups request and response bodies (API key 16), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a ListGroups request.
    pub struct ListGroupsRequest {
        /// Wire field `StatesFilter`: versions 4+.
        states_filter: Vec<String> => since(4),
        /// Wire field `TypesFilter`: versions 5+.
        types_filter: Vec<String> => since(5),
    }

    /// The body of a ListGroups response.
    pub struct ListGroupsResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Groups`: versions 0+.
        groups: Vec<ListedGroup> => since(0),
    }

    /// An element of `Groups` in `ListGroupsResponse`.
    pub struct ListedGroup {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `ProtocolType`: versions 0+.
        protocol_type: String => since(0),
        /// Wire field `GroupState`: versions 4+.
        group_state: String => since(4),
        /// Wire field `GroupType`: versions 5+.
        group_type: String => since(5),
    }
}
