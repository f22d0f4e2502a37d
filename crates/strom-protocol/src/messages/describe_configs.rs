//! DescribeConfigs request and response bodies (API key 32), versions 1 to 4.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a DescribeConfigs request.
    pub struct DescribeConfigsRequest {
        /// Wire field `Resources`: versions 0+.
        resources: Vec<DescribeConfigsResource> => since(0),
        /// Wire field `IncludeSynonyms`: versions 1+, default `false`.
        include_synonyms: bool => since(1),
        /// Wire field `IncludeDocumentation`: versions 3+, default `false`.
        include_documentation: bool => since(3),
    }

    /// An element of `Resources` in `DescribeConfigsRequest`.
    pub struct DescribeConfigsResource {
        /// Wire field `ResourceType`: versions 0+.
        resource_type: i8 => since(0),
        /// Wire field `ResourceName`: versions 0+.
        resource_name: String => since(0),
        /// Wire field `ConfigurationKeys`: versions 0+, nullable 0+.
        configuration_keys: Option<Vec<String>> = Some(Default::default())
            => since(0).nullable_since(0),
    }

    /// The body of a DescribeConfigs response.
    pub struct DescribeConfigsResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `Results`: versions 0+.
        results: Vec<DescribeConfigsResult> => since(0),
    }

    /// An element of `Results` in `DescribeConfigsResponse`.
    pub struct DescribeConfigsResult {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+.
        error_message: Option<String> = Some(String::new()) => since(0).nullable_since(0),
        /// Wire field `ResourceType`: versions 0+.
        resource_type: i8 => since(0),
        /// Wire field `ResourceName`: versions 0+.
        resource_name: String => since(0),
        /// Wire field `Configs`: versions 0+.
        configs: Vec<DescribeConfigsResourceResult> => since(0),
    }

    /// An element of `Configs` in `DescribeConfigsResult`.
    pub struct DescribeConfigsResourceResult {
        /// Wire field `Name`: versions 0+.
        name: String => since(0),
        /// Wire field `Value`: versions 0+, nullable 0+.
        value: Option<String> = Some(String::new()) => since(0).nullable_since(0),
        /// Wire field `ReadOnly`: versions 0+.
        read_only: bool => since(0),
        /// Wire field `ConfigSource`: versions 1+, default `-1`.
        config_source: i8 = -1 => since(1),
        /// Wire field `IsSensitive`: versions 0+.
        is_sensitive: bool => since(0),
        /// Wire field `Synonyms`: versions 1+.
        synonyms: Vec<DescribeConfigsSynonym> => since(1),
        /// Wire field `ConfigType`: versions 3+, default `0`.
        config_type: i8 => since(3),
        /// Wire field `Documentation`: versions 3+, nullable 0+.
        documentation: Option<String> = Some(String::new()) => since(3).nullable_since(0),
    }

    /// An element of `Synonyms` in `DescribeConfigsResourceResult`.
    pub struct DescribeConfigsSynonym {
        /// Wire field `Name`: versions 1+.
        name: String => since(1),
        /// Wire field `Value`: versions 1+, nullable 0+.
        value: Option<String> = Some(String::new()) => since(1).nullable_since(0),
        /// Wire field `Source`: versions 1+.
        source: i8 => since(1),
    }
}
