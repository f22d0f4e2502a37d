//! DeleteGroups request and response bodies (API key 42), versions 0 to 2.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a DeleteGroups request.
    pub struct DeleteGroupsRequest {
        /// Wire field `GroupsNames`: versions 0+.
        groups_names: Vec<String> => since(0),
    }

    /// The body of a DeleteGroups response.
    pub struct DeleteGroupsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Results`: versions 0+.
        results: Vec<DeletableGroupResult> => since(0),
    }

    /// An element of `Results` in `DeleteGroupsResponse`.
    pub struct DeletableGroupResult {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
