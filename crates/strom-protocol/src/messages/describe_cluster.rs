//! DescribeCluster request and response bodies (API key 60), versions 0 to 2.
//!
//! Declarations only: the codec comes from `wire_struct!`, the version range from `api.rs`.
//! Field facts follow Kafka's message specs; docs name each wire field and its versions.

use crate::field::since;

crate::wire_struct! {
    /// The body of a DescribeCluster request.
    pub struct DescribeClusterRequest {
        /// Wire field `IncludeClusterAuthorizedOperations`: versions 0+.
        include_cluster_authorized_operations: bool => since(0),
        /// Wire field `EndpointType`: versions 1+, default `1`.
        endpoint_type: i8 = 1 => since(1),
        /// Wire field `IncludeFencedBrokers`: versions 2+, default `false`.
        include_fenced_brokers: bool => since(2),
    }

    /// The body of a DescribeCluster response.
    pub struct DescribeClusterResponse {
        /// Wire field `ThrottleTimeMs`: versions 0+.
        throttle_time_ms: i32 => since(0),
        /// Wire field `ErrorCode`: versions 0+.
        error_code: i16 => since(0),
        /// Wire field `ErrorMessage`: versions 0+, nullable 0+, default `null`.
        error_message: Option<String> = None => since(0).nullable_since(0),
        /// Wire field `EndpointType`: versions 1+, default `1`.
        endpoint_type: i8 = 1 => since(1),
        /// Wire field `ClusterId`: versions 0+.
        cluster_id: String => since(0),
        /// Wire field `ControllerId`: versions 0+, default `-1`.
        controller_id: i32 = -1 => since(0),
        /// Wire field `Brokers`: versions 0+.
        brokers: Vec<DescribeClusterBroker> => since(0),
        /// Wire field `ClusterAuthorizedOperations`: versions 0+, default `-2147483648`.
        cluster_authorized_operations: i32 = -2147483648 => since(0),
    }

    /// An element of `Brokers` in `DescribeClusterResponse`.
    pub struct DescribeClusterBroker {
        /// Wire field `BrokerId`: versions 0+.
        broker_id: i32 => since(0),
        /// Wire field `Host`: versions 0+.
        host: String => since(0),
        /// Wire field `Port`: versions 0+.
        port: i32 => since(0),
        /// Wire field `Rack`: versions 0+, nullable 0+, default `null`.
        rack: Option<String> = None => since(0).nullable_since(0),
        /// Wire field `IsFenced`: versions 2+, default `false`.
        is_fenced: bool => since(2),
    }
}
