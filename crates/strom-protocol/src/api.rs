//! The list of APIs this crate speaks: for each API key, its request and response types, the
//! version range the broker advertises, and the first flexible version. Everything keyed by API
//! (the [`ApiKey`] enum, the [`Request`] and [`Response`] enums, header versions, the ApiVersions
//! table) is generated from the single `apis!` invocation at the bottom of this file.
//!
//! Framing and headers live in `frame.rs` and `header.rs`; the message fields live in `messages/`.

use bytes::{Bytes, BytesMut};

use crate::Error;
use crate::ErrorCode;
use crate::field::{Cx, Field};
use crate::messages::api_versions::{ApiVersion, ApiVersionsResponse};

/// An inclusive range of versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRange {
    /// The lowest version.
    pub min: i16,
    /// The highest version.
    pub max: i16,
}

impl VersionRange {
    /// Whether `version` lies in the range.
    pub const fn contains(self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// A request or response body of one API.
pub trait Message: Field {
    /// The API this message belongs to.
    const API_KEY: ApiKey;

    /// Appends the body encoded at `version` to `buf`.
    fn encode(&self, buf: &mut BytesMut, version: i16) -> Result<(), Error> {
        self.write(buf, Self::API_KEY.cx(version)?)
    }

    /// Decodes a body of `version` from the front of `buf`, leaving any bytes after it.
    fn decode(buf: &mut Bytes, version: i16) -> Result<Self, Error> {
        Self::read(buf, Self::API_KEY.cx(version)?)
    }

    /// Resets the fields `version` cannot carry to their defaults, so that encoding at
    /// `version` and decoding gives back exactly `self`.
    fn normalize_to(&mut self, version: i16) {
        if let Ok(cx) = Self::API_KEY.cx(version) {
            self.normalize(cx);
        }
    }
}

impl ApiKey {
    /// The API key's number on the wire.
    pub const fn code(self) -> i16 {
        self as i16
    }

    /// Whether `version` of this API uses flexible encoding (compact lengths, tagged fields).
    pub const fn is_flexible(self, version: i16) -> bool {
        version >= self.flexible_from()
    }

    /// The request header version used by `version` of this API (v0, without client id, is
    /// used only by ControlledShutdown v0, which is not supported).
    pub const fn request_header_version(self, version: i16) -> i16 {
        if self.is_flexible(version) { 2 } else { 1 }
    }

    /// The response header version used by `version` of this API. ApiVersions responses always
    /// use v0, even in flexible versions, so a client can read them before it knows which
    /// versions the broker supports.
    pub const fn response_header_version(self, version: i16) -> i16 {
        if self.is_flexible(version) && !matches!(self, ApiKey::ApiVersions) {
            1
        } else {
            0
        }
    }

    /// The codec context of a message body at `version`, or an error if the version is not
    /// supported.
    pub fn cx(self, version: i16) -> Result<Cx, Error> {
        if !self.supported_versions().contains(version) {
            return Err(Error::UnsupportedVersion {
                api_key: self,
                version,
            });
        }
        Ok(Cx {
            version,
            flexible: self.is_flexible(version),
            nullable: false,
        })
    }
}

/// The `api_keys` entries of an ApiVersions response advertising `api_keys` with the version
/// ranges this crate supports.
///
/// ```
/// use strom_protocol::{ApiKey, api_versions_table};
/// let table = api_versions_table(ApiKey::all());
/// assert!(table.iter().any(|api| api.api_key == 18 && api.max_version == 4));
/// ```
pub fn api_versions_table(api_keys: &[ApiKey]) -> Vec<ApiVersion> {
    api_keys
        .iter()
        .map(|api_key| {
            let versions = api_key.supported_versions();
            ApiVersion {
                api_key: api_key.code(),
                min_version: versions.min,
                max_version: versions.max,
                ..ApiVersion::default()
            }
        })
        .collect()
}

/// The ApiVersions response Kafka sends to an ApiVersions request of a version it does not
/// support: error 35 (UNSUPPORTED_VERSION) and the full table, to be encoded as **v0** (with
/// response header v0) whatever version was asked for, so that every client can read it.
///
/// ```
/// use bytes::BytesMut;
/// use strom_protocol::{ApiKey, Response, encode_response, unsupported_api_versions_response};
/// let response = Response::from(unsupported_api_versions_response(ApiKey::all()));
/// let mut buf = BytesMut::new();
/// encode_response(42, 0, &response, &mut buf).unwrap();
/// assert_eq!(&buf[8..10], &[0, 35]);
/// ```
pub fn unsupported_api_versions_response(api_keys: &[ApiKey]) -> ApiVersionsResponse {
    ApiVersionsResponse {
        error_code: ErrorCode::UnsupportedVersion.code(),
        api_keys: api_versions_table(api_keys),
        ..ApiVersionsResponse::default()
    }
}

macro_rules! apis {
    ($(
        $(#[$meta:meta])*
        $variant:ident = $key:literal, $module:ident::{$request:ident, $response:ident},
        versions $min:literal..=$max:literal, flexible from $flexible:expr;
    )*) => {
        /// An API this crate can decode and encode, with Kafka's API key numbers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i16)]
        pub enum ApiKey {
            $($(#[$meta])* $variant = $key,)*
        }

        impl ApiKey {
            /// Every API this crate supports, in API key order.
            pub const fn all() -> &'static [ApiKey] {
                &[$(ApiKey::$variant),*]
            }

            /// The API's name as Kafka spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ApiKey::$variant => stringify!($variant),)*
                }
            }

            /// The versions of this API that this crate decodes and encodes, and the broker
            /// advertises.
            pub const fn supported_versions(self) -> VersionRange {
                match self {
                    $(ApiKey::$variant => VersionRange { min: $min, max: $max },)*
                }
            }

            /// The first flexible version of this API (`i16::MAX` when no version is
            /// flexible).
            pub const fn flexible_from(self) -> i16 {
                match self {
                    $(ApiKey::$variant => $flexible,)*
                }
            }
        }

        impl TryFrom<i16> for ApiKey {
            type Error = Error;

            fn try_from(code: i16) -> Result<ApiKey, Error> {
                match code {
                    $($key => Ok(ApiKey::$variant),)*
                    _ => Err(Error::UnknownApiKey(code)),
                }
            }
        }

        $(
            impl Message for crate::messages::$module::$request {
                const API_KEY: ApiKey = ApiKey::$variant;
            }

            impl Message for crate::messages::$module::$response {
                const API_KEY: ApiKey = ApiKey::$variant;
            }

            impl From<crate::messages::$module::$request> for Request {
                fn from(request: crate::messages::$module::$request) -> Request {
                    Request::$variant(request)
                }
            }

            impl From<crate::messages::$module::$response> for Response {
                fn from(response: crate::messages::$module::$response) -> Response {
                    Response::$variant(response)
                }
            }
        )*

        /// A request body of any supported API.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $(
                #[doc = concat!("A ", stringify!($variant), " request.")]
                $variant(crate::messages::$module::$request),
            )*
        }

        /// A response body of any supported API.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Response {
            $(
                #[doc = concat!("A ", stringify!($variant), " response.")]
                $variant(crate::messages::$module::$response),
            )*
        }

        impl Request {
            /// The API of this request.
            pub const fn api_key(&self) -> ApiKey {
                match self {
                    $(Request::$variant(_) => ApiKey::$variant,)*
                }
            }

            /// Decodes a request body of `api_key` at `version` from the front of `buf`.
            pub fn decode(api_key: ApiKey, version: i16, buf: &mut Bytes) -> Result<Request, Error> {
                match api_key {
                    $(ApiKey::$variant => Ok(Request::$variant(Message::decode(buf, version)?)),)*
                }
            }

            /// Appends the body encoded at `version` to `buf`.
            pub fn encode(&self, version: i16, buf: &mut BytesMut) -> Result<(), Error> {
                match self {
                    $(Request::$variant(body) => body.encode(buf, version),)*
                }
            }

            /// Resets what `version` cannot carry to defaults (see [`Message::normalize_to`]).
            pub fn normalize_to(&mut self, version: i16) {
                match self {
                    $(Request::$variant(body) => body.normalize_to(version),)*
                }
            }
        }

        #[cfg(feature = "testing")]
        impl Request {
            /// A random request of `api_key` (feature `testing`).
            pub fn random(api_key: ApiKey, rng: &mut crate::random::Rng) -> Request {
                match api_key {
                    $(ApiKey::$variant => Request::$variant(crate::random::Random::random(rng)),)*
                }
            }
        }

        #[cfg(feature = "testing")]
        impl Response {
            /// A random response of `api_key` (feature `testing`).
            pub fn random(api_key: ApiKey, rng: &mut crate::random::Rng) -> Response {
                match api_key {
                    $(ApiKey::$variant => Response::$variant(crate::random::Random::random(rng)),)*
                }
            }
        }

        impl Response {
            /// The API of this response.
            pub const fn api_key(&self) -> ApiKey {
                match self {
                    $(Response::$variant(_) => ApiKey::$variant,)*
                }
            }

            /// Decodes a response body of `api_key` at `version` from the front of `buf`.
            pub fn decode(api_key: ApiKey, version: i16, buf: &mut Bytes) -> Result<Response, Error> {
                match api_key {
                    $(ApiKey::$variant => Ok(Response::$variant(Message::decode(buf, version)?)),)*
                }
            }

            /// Appends the body encoded at `version` to `buf`.
            pub fn encode(&self, version: i16, buf: &mut BytesMut) -> Result<(), Error> {
                match self {
                    $(Response::$variant(body) => body.encode(buf, version),)*
                }
            }

            /// Resets what `version` cannot carry to defaults (see [`Message::normalize_to`]).
            pub fn normalize_to(&mut self, version: i16) {
                match self {
                    $(Response::$variant(body) => body.normalize_to(version),)*
                }
            }
        }
    };
}

// The single list of supported APIs. Ranges are what the broker advertises: Kafka 4's minimums
// (which keep the old non-flexible versions real clients still send, see COMPAT.md), with
// Produce/Fetch capped at 12 until topic ids are implemented, OffsetCommit/OffsetFetch at 9 and
// DescribeGroups at 5. DescribeConfigs starts at 1 and WriteTxnMarkers at 1, as in Kafka 4.
// `flexible from i16::MAX` marks an API with no flexible version.
apis! {
    /// Produce (0).
    Produce = 0, produce::{ProduceRequest, ProduceResponse},
        versions 3..=12, flexible from 9;
    /// Fetch (1).
    Fetch = 1, fetch::{FetchRequest, FetchResponse},
        versions 4..=12, flexible from 12;
    /// ListOffsets (2).
    ListOffsets = 2, list_offsets::{ListOffsetsRequest, ListOffsetsResponse},
        versions 1..=9, flexible from 6;
    /// Metadata (3).
    Metadata = 3, metadata::{MetadataRequest, MetadataResponse},
        versions 0..=12, flexible from 9;
    /// OffsetCommit (8).
    OffsetCommit = 8, offset_commit::{OffsetCommitRequest, OffsetCommitResponse},
        versions 2..=9, flexible from 8;
    /// OffsetFetch (9).
    OffsetFetch = 9, offset_fetch::{OffsetFetchRequest, OffsetFetchResponse},
        versions 1..=9, flexible from 6;
    /// FindCoordinator (10).
    FindCoordinator = 10, find_coordinator::{FindCoordinatorRequest, FindCoordinatorResponse},
        versions 0..=6, flexible from 3;
    /// JoinGroup (11).
    JoinGroup = 11, join_group::{JoinGroupRequest, JoinGroupResponse},
        versions 0..=9, flexible from 6;
    /// Heartbeat (12).
    Heartbeat = 12, heartbeat::{HeartbeatRequest, HeartbeatResponse},
        versions 0..=4, flexible from 4;
    /// LeaveGroup (13).
    LeaveGroup = 13, leave_group::{LeaveGroupRequest, LeaveGroupResponse},
        versions 0..=5, flexible from 4;
    /// SyncGroup (14).
    SyncGroup = 14, sync_group::{SyncGroupRequest, SyncGroupResponse},
        versions 0..=5, flexible from 4;
    /// DescribeGroups (15).
    DescribeGroups = 15, describe_groups::{DescribeGroupsRequest, DescribeGroupsResponse},
        versions 0..=5, flexible from 5;
    /// ListGroups (16).
    ListGroups = 16, list_groups::{ListGroupsRequest, ListGroupsResponse},
        versions 0..=5, flexible from 3;
    /// SaslHandshake (17).
    SaslHandshake = 17, sasl_handshake::{SaslHandshakeRequest, SaslHandshakeResponse},
        versions 0..=1, flexible from i16::MAX;
    /// ApiVersions (18).
    ApiVersions = 18, api_versions::{ApiVersionsRequest, ApiVersionsResponse},
        versions 0..=4, flexible from 3;
    /// CreateTopics (19).
    CreateTopics = 19, create_topics::{CreateTopicsRequest, CreateTopicsResponse},
        versions 2..=7, flexible from 5;
    /// DeleteTopics (20).
    DeleteTopics = 20, delete_topics::{DeleteTopicsRequest, DeleteTopicsResponse},
        versions 1..=6, flexible from 4;
    /// DeleteRecords (21).
    DeleteRecords = 21, delete_records::{DeleteRecordsRequest, DeleteRecordsResponse},
        versions 0..=2, flexible from 2;
    /// InitProducerId (22).
    InitProducerId = 22, init_producer_id::{InitProducerIdRequest, InitProducerIdResponse},
        versions 0..=5, flexible from 2;
    /// OffsetForLeaderEpoch (23).
    OffsetForLeaderEpoch = 23,
        offset_for_leader_epoch::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse},
        versions 2..=4, flexible from 4;
    /// AddPartitionsToTxn (24).
    AddPartitionsToTxn = 24,
        add_partitions_to_txn::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse},
        versions 0..=5, flexible from 3;
    /// AddOffsetsToTxn (25).
    AddOffsetsToTxn = 25, add_offsets_to_txn::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse},
        versions 0..=4, flexible from 3;
    /// EndTxn (26).
    EndTxn = 26, end_txn::{EndTxnRequest, EndTxnResponse},
        versions 0..=5, flexible from 3;
    /// WriteTxnMarkers (27).
    WriteTxnMarkers = 27, write_txn_markers::{WriteTxnMarkersRequest, WriteTxnMarkersResponse},
        versions 1..=1, flexible from 1;
    /// TxnOffsetCommit (28).
    TxnOffsetCommit = 28, txn_offset_commit::{TxnOffsetCommitRequest, TxnOffsetCommitResponse},
        versions 0..=5, flexible from 3;
    /// DescribeConfigs (32).
    DescribeConfigs = 32, describe_configs::{DescribeConfigsRequest, DescribeConfigsResponse},
        versions 1..=4, flexible from 4;
    /// AlterConfigs (33).
    AlterConfigs = 33, alter_configs::{AlterConfigsRequest, AlterConfigsResponse},
        versions 0..=2, flexible from 2;
    /// SaslAuthenticate (36).
    SaslAuthenticate = 36, sasl_authenticate::{SaslAuthenticateRequest, SaslAuthenticateResponse},
        versions 0..=2, flexible from 2;
    /// CreatePartitions (37).
    CreatePartitions = 37, create_partitions::{CreatePartitionsRequest, CreatePartitionsResponse},
        versions 0..=3, flexible from 2;
    /// DeleteGroups (42).
    DeleteGroups = 42, delete_groups::{DeleteGroupsRequest, DeleteGroupsResponse},
        versions 0..=2, flexible from 2;
    /// ElectLeaders (43).
    ElectLeaders = 43, elect_leaders::{ElectLeadersRequest, ElectLeadersResponse},
        versions 0..=2, flexible from 2;
    /// IncrementalAlterConfigs (44).
    IncrementalAlterConfigs = 44,
        incremental_alter_configs::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse},
        versions 0..=1, flexible from 1;
    /// AlterPartitionReassignments (45).
    AlterPartitionReassignments = 45,
        alter_partition_reassignments::{
            AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse
        },
        versions 0..=1, flexible from 0;
    /// ListPartitionReassignments (46).
    ListPartitionReassignments = 46,
        list_partition_reassignments::{
            ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse
        },
        versions 0..=0, flexible from 0;
    /// OffsetDelete (47).
    OffsetDelete = 47, offset_delete::{OffsetDeleteRequest, OffsetDeleteResponse},
        versions 0..=0, flexible from i16::MAX;
    /// DescribeCluster (60).
    DescribeCluster = 60, describe_cluster::{DescribeClusterRequest, DescribeClusterResponse},
        versions 0..=2, flexible from 0;
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    /// The advertised table, one API per line: a change to a range shows up in review.
    #[test]
    fn advertised_ranges() {
        let table: String = ApiKey::all()
            .iter()
            .map(|api_key| {
                let versions = api_key.supported_versions();
                let flexible = match api_key.flexible_from() {
                    i16::MAX => "none".to_owned(),
                    version => format!("{version}+"),
                };
                format!(
                    "{:>2} {:<24} {}-{} flexible {flexible}\n",
                    api_key.code(),
                    api_key.name(),
                    versions.min,
                    versions.max
                )
            })
            .collect();
        expect![[r#"
             0 Produce                  3-12 flexible 9+
             1 Fetch                    4-12 flexible 12+
             2 ListOffsets              1-9 flexible 6+
             3 Metadata                 0-12 flexible 9+
             8 OffsetCommit             2-9 flexible 8+
             9 OffsetFetch              1-9 flexible 6+
            10 FindCoordinator          0-6 flexible 3+
            11 JoinGroup                0-9 flexible 6+
            12 Heartbeat                0-4 flexible 4+
            13 LeaveGroup               0-5 flexible 4+
            14 SyncGroup                0-5 flexible 4+
            15 DescribeGroups           0-5 flexible 5+
            16 ListGroups               0-5 flexible 3+
            17 SaslHandshake            0-1 flexible none
            18 ApiVersions              0-4 flexible 3+
            19 CreateTopics             2-7 flexible 5+
            20 DeleteTopics             1-6 flexible 4+
            21 DeleteRecords            0-2 flexible 2+
            22 InitProducerId           0-5 flexible 2+
            23 OffsetForLeaderEpoch     2-4 flexible 4+
            24 AddPartitionsToTxn       0-5 flexible 3+
            25 AddOffsetsToTxn          0-4 flexible 3+
            26 EndTxn                   0-5 flexible 3+
            27 WriteTxnMarkers          1-1 flexible 1+
            28 TxnOffsetCommit          0-5 flexible 3+
            32 DescribeConfigs          1-4 flexible 4+
            33 AlterConfigs             0-2 flexible 2+
            36 SaslAuthenticate         0-2 flexible 2+
            37 CreatePartitions         0-3 flexible 2+
            42 DeleteGroups             0-2 flexible 2+
            43 ElectLeaders             0-2 flexible 2+
            44 IncrementalAlterConfigs  0-1 flexible 1+
            45 AlterPartitionReassignments 0-1 flexible 0+
            46 ListPartitionReassignments 0-0 flexible 0+
            47 OffsetDelete             0-0 flexible none
            60 DescribeCluster          0-2 flexible 0+
        "#]]
        .assert_eq(&table);
    }

    #[test]
    fn api_keys_round_trip_and_flexibility_is_consistent() {
        for api_key in ApiKey::all() {
            assert_eq!(ApiKey::try_from(api_key.code()).unwrap(), *api_key);
            let versions = api_key.supported_versions();
            assert!(versions.min <= versions.max, "{api_key:?}");
            for version in versions.min..=versions.max {
                let flexible = api_key.is_flexible(version);
                assert_eq!(
                    api_key.request_header_version(version),
                    if flexible { 2 } else { 1 }
                );
            }
        }
        assert!(!ApiKey::SaslHandshake.is_flexible(1));
        assert!(ApiKey::DescribeCluster.is_flexible(0));
        assert!(matches!(
            ApiKey::try_from(99),
            Err(Error::UnknownApiKey(99))
        ));
    }
}
