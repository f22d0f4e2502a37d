//! SaslAuthenticate request and response bodies (API key 36), versions 0 to 2.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use bytes::Bytes;

use crate::field::since;

crate::wire_struct! {
    /// The body of a SaslAuthenticate request.
    pub struct SaslAuthenticateRequest {
        /// Wire field `AuthBytes`: versions 0+.
        auth_bytes: Bytes => since(0),
    }

    /// The body of a SaslAuthenticate response.
    pub struct SaslAuthenticateResponse {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(String::new()) => since(0).nullable_since(0),
        /// Wire field `AuthBytes`: versions 0+.
        auth_bytes: Bytes => since(0),
        /// Wire field `SessionLifetimeMs`: versions 1+, default `0`.
        session_lifetime_ms: i64 => since(1),
    }
}
