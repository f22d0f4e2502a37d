//! CreatePartitions request and response bodies (API key 37), versions 0 to 3.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a CreatePartitions request.
    pub struct CreatePartitionsRequest {
        /// Wire field `Topics`: versions 0+.
        topics: Vec<CreatePartitionsTopic> => since(0),
        /// Wire field `TimeoutMs`: versions 0+.
        timeout_ms: i32 => since(0),
        /// Wire field `ValidateOnly`: versions 0+.
        validate_only: bool => since(0),
    }

    /// An element of `Topics` in `CreatePartitionsRequest`.
    pub struct CreatePartitionsTopic {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Count`: versions 0+.
        count: i32 => since(0),
        /// Wire field `Assignments`: versions 0+, nullable 0+.
        assignments: Option<Vec<CreatePartitionsAssignment>> = Some(Default::default())
            => since(0).nullable_since(0),
    }

    /// An element of `Assignments` in `CreatePartitionsTopic`.
    pub struct CreatePartitionsAssignment {
        /// Wire field `BrokerIds`: versions 0+.
        broker_ids: Vec<i32> => since(0),
    }

    /// The body of a CreatePartitions response.
    pub struct CreatePartitionsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Results`: versions 0+.
        results: Vec<CreatePartitionsTopicResult> => since(0),
    }

    /// An element of `Results` in `CreatePartitionsResponse`.
    pub struct CreatePartitionsTopicResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+, default `null`.
        error_message: Option<String> = None => since(0).nullable_since(0),
    }
}
