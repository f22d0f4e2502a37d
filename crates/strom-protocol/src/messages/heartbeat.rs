//! Heartbeat request and response bodies (API key 12), versions 0 to 4.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a Heartbeat request.
    pub struct HeartbeatRequest {
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
        /// Wire field `GenerationId`: versions 0+.
        generation_id: i32 => since(0),
        /// Wire field `MemberId`: versions 0+.
        member_id: String => since(0),
        /// Wire field `GroupInstanceId`: versions 3+, nullable 3+, default `null`.
        group_instance_id: Option<String> = None => since(3).nullable_since(3),
    }

    /// The body of a Heartbeat response.
    pub struct HeartbeatResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
