//! FindCoordinator request and response bodies (API key 10), versions 0 to 6.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};

crate::wire_struct! {
    /// The body of a FindCoordinator request.
    pub struct FindCoordinatorRequest {
        /// Wire field `Key`: versions 0-3.
        key: String => range(0, 3),
        /// Wire field `KeyType`: versions 1+, default `0`.
        key_type: i8 => since(1),
        /// Wire field `CoordinatorKeys`: versions 4+.
        coordinator_keys: Vec<String> => since(4),
    }

    /// The body of a FindCoordinator response.
    pub struct FindCoordinatorResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `ErrorCode`: versions 0-3.
        error_code: i16 => range(0, 3),
        /// Wire field `ErrorMessage`: versions 1-3, nullable 1-3.
        error_message: Option<String> = Some(String::new()) => range(1, 3).nullable_since(1),
        /// Wire field `NodeId`: versions 0-3.
        node_id: i32 => range(0, 3),
        /// Wire field `Host`: versions 0-3.
        host: String => range(0, 3),
        /// Wire field `Port`: versions 0-3.
        port: i32 => range(0, 3),
        /// Wire field `Coordinators`: versions 4+.
        coordinators: Vec<Coordinator> => since(4),
    }

    /// An element of `Coordinators` in `FindCoordinatorResponse`.
    pub struct Coordinator {
        /// Wire field `Key`: versions 4+.
        key: String => since(4),
        /// Wire field `NodeId`: versions 4+.
        node_id: i32 => since(4),
        /// Wire field `Host`: versions 4+.
        host: String => since(4),
        /// Wire field `Port`: versions 4+.
        port: i32 => since(4),
        /// Wire field `ErrorCode`: versions 4+.
        error_code: i16 => since(4),
        /// Wire field `ErrorMessage`: versions 4+, nullable 4+.
        error_message: Option<String> = Some(String::new()) => since(4).nullable_since(4),
    }
}
