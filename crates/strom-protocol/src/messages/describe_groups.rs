//! DescribeGroups request and response bodies (API key 15), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a DescribeGroups request.
    pub struct DescribeGroupsRequest {
        /// Wire field `Groups`: versions 0+.
        groups: Vec<String> => since(0),
        /// Wire field `IncludeAuthorizedOperations`: versions 3+.
        include_authorized_operations: bool => since(3),
    }

    /// The body of a DescribeGroups response.
    pub struct DescribeGroupsResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `Groups`: versions 0+.
        groups: Vec<DescribedGroup> => since(0),
    }

    /// An element of `Groups` in `DescribeGroupsResponse`.
    pub struct DescribedGroup {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `GroupState`: versions 0+.
        group_state: String => since(0),
        /// Wire field `ProtocolType`: versions 0+.
        protocol_type: String => since(0),
        /// Wire field `ProtocolData`: versions 0+.
        protocol_data: String => since(0),
        /// Wire field `Members`: versions 0+.
        members: Vec<DescribedGroupMember> => since(0),
        /// Wire field `AuthorizedOperations`: versions 3+, default `-2147483648`.
        authorized_operations: i32 = -2147483648 => since(3),
    }

    /// An element of `Members` in `DescribedGroup`.
    pub struct DescribedGroupMember {
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `GroupInstanceId`: versions 4+, nullable 4+, default `null`.
        group_instance_id: Option<String> = None => since(4).nullable_since(4),
        /// Wire field `ClientId`: versions 0+.
        client_id: String => since(0),
        /// Wire field `ClientHost`: versions 0+.
        client_host: String => since(0),
        /// Wire field `MemberMetadata`: versions 0+.
        member_metadata: Bytes => since(0),
        /// Wire field `MemberAssignment`: versions 0+.
        member_assignment: Bytes => since(0),
    }
}
