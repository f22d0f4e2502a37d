//! AddOffsetsToTxn request and response bodies (API key 25), versions 0 to 4.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an AddOffsetsToTxn request.
    pub struct AddOffsetsToTxnRequest {
        /// Wire field `TransactionalId`: versions 0+.
        transactional_id: String => since(0),
        /// Wire field `ProducerId`: versions 0+.
        producer_id: i64 => since(0),
        /// Wire field `ProducerEpoch`: versions 0+.
        producer_epoch: i16 => since(0),
        /// Wire field `GroupId`: versions 0+.
        group_id: String => since(0),
    }

    /// The body of an AddOffsetsToTxn response.
    pub struct AddOffsetsToTxnResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
    }
}
