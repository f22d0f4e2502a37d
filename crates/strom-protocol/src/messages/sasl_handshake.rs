//! SaslHandshake request and response bodies (API key 17), versions 0 to 1.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a SaslHandshake request.
    pub struct SaslHandshakeRequest {
        /// Wire field `Mechanism`: versions 0+.
        mechanism: String => since(0),
    }

    /// The body of a SaslHandshake response.
    pub struct SaslHandshakeResponse {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `Mechanisms`: versions 0+.
        mechanisms: Vec<String> => since(0),
    }
}
