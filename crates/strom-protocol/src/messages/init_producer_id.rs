//! InitProducerId request and response bodies (API key 22), versions 0 to 5.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an InitProducerId request.
    pub struct InitProducerIdRequest {
        /// Wire field `TransactionalId`: versions 0+, nullable 0+.
        transactional_id: Option<String> = Some(String::new()) => since(0).nullable_since(0),
        /// Wire field `TransactionTimeoutMs`: versions 0+.
        transaction_timeout_ms: i32 => since(0),
        /// Wire field `ProducerId`: versions 3+, default `-1`.
        producer_id: i64 = -1 => since(3),
        /// Wire field `ProducerEpoch`: versions 3+, default `-1`.
        producer_epoch: i16 = -1 => since(3),
    }

    /// The body of an InitProducerId response.
    pub struct InitProducerIdResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ProducerId`: versions 0+, default `-1`.
        producer_id: i64 = -1 => since(0),
        /// Wire field `ProducerEpoch`: versions 0+.
        producer_epoch: i16 => since(0),
    }
}
