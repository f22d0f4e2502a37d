//! ApiVersions request and response bodies (API key 18), versions 0 to 4.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of an ApiVersions request.
    pub struct ApiVersionsRequest {
        /// Wire field `ClientSoftwareName`: versions 3+.
        client_software_name: String => since(3),
        /// Wire field `ClientSoftwareVersion`: versions 3+.
        client_software_version: String => since(3),
    }

    /// The body of an ApiVersions response.
    pub struct ApiVersionsResponse {
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ApiKeys`: versions 0+.
        api_keys: Vec<ApiVersion> => since(0),
        /// Wire field `ThrottleTimeMs`: versions 1+.
        throttle_time_ms: i32 => since(1),
        /// Wire field `SupportedFeatures`: versions 3+, tagged (tag 0).
        supported_features: Vec<SupportedFeatureKey> => since(3).tag(0),
        /// Wire field `FinalizedFeaturesEpoch`: versions 3+, tagged (tag 1), default `-1`.
        finalized_features_epoch: i64 = -1 => since(3).tag(1),
        /// Wire field `FinalizedFeatures`: versions 3+, tagged (tag 2).
        finalized_features: Vec<FinalizedFeatureKey> => since(3).tag(2),
        /// Wire field `ZkMigrationReady`: versions 3+, tagged (tag 3), default `false`.
        zk_migration_ready: bool => since(3).tag(3),
    }

    /// An element of `ApiKeys` in `ApiVersionsResponse`.
    pub struct ApiVersion {
        /// Wire field `ApiKey`: versions 0+.
        api_key: i16 => since(0),
        /// Wire field `MinVersion`: versions 0+.
        min_version: i16 => since(0),
        /// Wire field `MaxVersion`: versions 0+.
        max_version: i16 => since(0),
    }

    /// An element of `SupportedFeatures` in `ApiVersionsResponse`.
    pub struct SupportedFeatureKey {
        /// Wire field `Name`: versions 3+.
        name: String => since(3),
        /// Wire field `MinVersion`: versions 3+.
        min_version: i16 => since(3),
        /// Wire field `MaxVersion`: versions 3+.
        max_version: i16 => since(3),
    }

    /// An element of `FinalizedFeatures` in `ApiVersionsResponse`.
    pub struct FinalizedFeatureKey {
        /// Wire field `Name`: versions 3+.
        name: String => since(3),
        /// Wire field `MaxVersionLevel`: versions 3+.
        max_version_level: i16 => since(3),
        /// Wire field `MinVersionLevel`: versions 3+.
        min_version_level: i16 => since(3),
    }
}
