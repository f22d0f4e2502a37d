//! EndTxn request and response bodies (API key 26), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an EndTxn request.
    pub struct EndTxnRequest {
        /// Wire field `TransactionalId`: versions 0+.
        transactional_id: String => since(0),
        /// Wire field `ProducerId`: versions 0+.
        producer_id: i64 => since(0),
        /// Wire field `ProducerEpoch`: versions 0+.
        producer_epoch: i16 => since(0),
        /// Wire field `Committed`: versions 0+.
        committed: bool => since(0),
    }

    /// The body of an EndTxn response.
    pub struct EndTxnResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ProducerId`: versions 5+, default `-1`.
        producer_id: i64 = -1 => since(5),
        /// Wire field `ProducerEpoch`: versions 5+, default `-1`.
        producer_epoch: i16 = -1 => since(5),
    }
}
