//! IncrementalAlterConfigs request and response bodies (API key 44), versions 0 to 1.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an IncrementalAlterConfigs request.
    pub struct IncrementalAlterConfigsRequest {
        /// Wire field `Resources`: versions 0+.
        resources: Vec<AlterConfigsResource> => since(0),
        /// Wire field `ValidateOnly`: versions 0+.
        validate_only: bool => since(0),
    }

    /// An element of `Resources` in `IncrementalAlterConfigsRequest`.
    pub struct AlterConfigsResource {
        /// Wire field `ResourceType`: versions 0+.
        resource_type: i8 => since(0),
        /// Wire field `ResourceName`: versions 0+.
        resource_name: String => since(0),
        /// Wire field `Configs`: versions 0+.
        configs: Vec<AlterableConfig> => since(0),
    }

    /// An element of `Configs` in `AlterConfigsResource`.
    pub struct AlterableConfig {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `ConfigOperation`: versions 0+.
        config_operation: i8 => since(0),
        /// Wire field `Value`: versions 0+, nullable 0+.
        value: Option<String> = Some(String::new()) => since(0).nullable_since(0),
    }

    /// The body of an IncrementalAlterConfigs response.
    pub struct IncrementalAlterConfigsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Responses`: versions 0+.
        responses: Vec<AlterConfigsResourceResponse> => since(0),
    }

    /// An element of `Responses` in `IncrementalAlterConfigsResponse`.
    pub struct AlterConfigsResourceResponse {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(String::new()) => since(0).nullable_since(0),
        /// Wire field `ResourceType`: versions 0+.
        resource_type: i8 => since(0),
        /// Wire field `ResourceName`: versions 0+.
        resource_name: String => since(0),
    }
}
