//! JoinGroup request and response bodies (API key 11), versions 0 to 9.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a JoinGroup request.
    pub struct JoinGroupRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `SessionTimeoutMs`: versions 0+.
        session_timeout_ms: i32 => since(0),
        /// Wire field `RebalanceTimeoutMs`: versions 1+, default `-1`.
        rebalance_timeout_ms: i32 = -1 => since(1),
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `GroupInstanceId`: versions 5+, nullable 5+, default `null`.
        group_instance_id: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `ProtocolType`: versions 0+.
        protocol_type: String => since(0),
        /// Wire field `Protocols`: versions 0+.
        protocols: Vec<JoinGroupRequestProtocol> => since(0),
        /// Wire field `Reason`: versions 8+, nullable 8+, default `null`.
        reason: Option<String> = None => since(8).nullable_since(8),
    }

    /// An element of `Protocols` in `JoinGroupRequest`.
    pub struct JoinGroupRequestProtocol {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Metadata`: versions 0+.
        metadata: Bytes => since(0),
    }

    /// The body of a JoinGroup response.
    pub struct JoinGroupResponse {
        /// Wire field `ThrottleTimeMs`: versions 2+.
        throttle_time_ms: i32 => since(2),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `GenerationId`: versions 0+, default `-1`.
        generation_id: i32 = -1 => since(0),
        /// Wire field `ProtocolType`: versions 7+, nullable 7+, default `null`.
        protocol_type: Option<String> = None => since(7).nullable_since(7),
        /// Wire field `ProtocolName`: versions 0+, nullable 7+.
        protocol_name: Option<String> = Some(String::new()) => since(0).nullable_since(7),
        /// Wire field `Leader`: versions 0+.
        leader: String => since(0),
        /// Wire field `SkipAssignment`: versions 9+, default `false`.
        skip_assignment: bool => since(9),
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `Members`: versions 0+.
        members: Vec<JoinGroupResponseMember> => since(0),
    }

    /// An element of `Members` in `JoinGroupResponse`.
    pub struct JoinGroupResponseMember {
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `GroupInstanceId`: versions 5+, nullable 5+, default `null`.
        group_instance_id: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `Metadata`: versions 0+.
        metadata: Bytes => since(0),
    }
}
