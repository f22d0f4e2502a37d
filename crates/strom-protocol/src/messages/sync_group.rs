//! SyncGroup request and response bodies (API key 14), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a SyncGroup request.
    pub struct SyncGroupRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `GenerationId`: versions 0+.
        generation_id: i32 => since(0),
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `GroupInstanceId`: versions 3+, nullable 3+, default `null`.
        group_instance_id: Option<String> = None => since(3).nullable_since(3),
        /// Wire field `ProtocolType`: versions 5+, nullable 5+, default `null`.
        protocol_type: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `ProtocolName`: versions 5+, nullable 5+, default `null`.
        protocol_name: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `Assignments`: versions 0+.
        assignments: Vec<SyncGroupRequestAssignment> => since(0),
    }

    /// An element of `Assignments` in `SyncGroupRequest`.
    pub struct SyncGroupRequestAssignment {
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `Assignment`: versions 0+.
        assignment: Bytes => since(0),
    }

    /// The body of a SyncGroup response.
    pub struct SyncGroupResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ProtocolType`: versions 5+, nullable 5+, default `null`.
        protocol_type: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `ProtocolName`: versions 5+, nullable 5+, default `null`.
        protocol_name: Option<String> = None => since(5).nullable_since(5),
        /// Wire field `Assignment`: versions 0+.
        assignment: Bytes => since(0),
    }
}
