//! LeaveGroup request and response bodies (API key 13), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};

crate::wire_struct! {
    /// The body of a LeaveGroup request.
    pub struct LeaveGroupRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `MemberId`: versions 0-2.
        member_id: String => range(0, 2),
        /// Wire field `Members`: versions 3+.
        members: Vec<MemberIdentity> => since(3),
    }

    /// An element of `Members` in `LeaveGroupRequest`.
    pub struct MemberIdentity {
        /// Wire field `MemberId`: versions 3+.
        member_id: String => since(3),
        /// Wire field `GroupInstanceId`: versions 3+, nullable 3+, default `null`.
        group_instance_id: Option<String> = None => since(3).nullable_since(3),
        /// Wire field `Reason`: versions 5+, nullable 5+, default `null`.
        reason: Option<String> = None => since(5).nullable_since(5),
    }

    /// The body of a LeaveGroup response.
    pub struct LeaveGroupResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Members`: versions 3+.
        members: Vec<MemberResponse> => since(3),
    }

    /// An element of `Members` in `LeaveGroupResponse`.
    pub struct MemberResponse {
        /// Wire field `MemberId`: versions 3+.
        member_id: String => since(3),
        /// Wire field `GroupInstanceId`: versions 3+, nullable 3+.
        group_instance_id: Option<String> = Some(String::new()) => since(3).nullable_since(3),
        /// Wire field `ErrorCode`: versions 3+.
        error_code: i16 => since(3),
    }
}
