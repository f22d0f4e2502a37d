//! DeleteTopics request and response bodies (API key 20), versions 1 to 6.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::{range, since};
use crate::primitives::Uuid;

crate::wire_struct! {
    /// The body of a DeleteTopics request.
    pub struct DeleteTopicsRequest {
        /// Wire field `Topics`: versions 6+.
        topics: Vec<DeleteTopicState> => since(6),
        /// Wire field `TopicNames`: versions 0-5.
        topic_names: Vec<String> => range(0, 5),
        /// Wire field `TimeoutMs`: versions 0+.
        timeout_ms: i32 => since(0),
    }

    /// An element of `Topics` in `DeleteTopicsRequest`.
    pub struct DeleteTopicState {
        /// Wire field `Name`: versions 6+, nullable 6+, default `null`.
        name: Option<String> = None => since(6).nullable_since(6),
        /// Wire field `TopicId`: versions 6+.
        topic_id: Uuid => since(6),
    }

    /// The body of a DeleteTopics response.
    pub struct DeleteTopicsResponse {
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `Responses`: versions 0+.
        responses: Vec<DeletableTopicResult> => since(0),
    }

    /// An element of `Responses` in `DeleteTopicsResponse`.
    pub struct DeletableTopicResult {
        /// Wire field `Name`: versions 0+, nullable 6+.
        name: Option<String> = Some(String::new()) => since(0).nullable_since(6),
        /// Wire field `TopicId`: versions 6+.
        topic_id: Uuid => since(6),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 5+, nullable 5+, default `null`.
        error_message: Option<String> = None => since(5).nullable_since(5),
    }
}
