//! Differential tests against the independent `kafka-protocol` crate, for every message and
//! every version both crates support: bytes we encode, decoded and re-encoded by them, come back
//! identical; and bytes they encode (from their defaults, which follow Kafka's field defaults)
//! decode with us to our defaults and re-encode identically.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages as kp;
use kafka_protocol::protocol::{Decodable, Encodable, Message as KpMessage};
use proptest::prelude::*;
use strom_protocol::Message;
use strom_protocol::messages::*;
use strom_protocol::random::{Random, Rng};

/// The versions both crates support for `Ours`.
fn shared_versions<Ours: Message, Theirs: KpMessage>() -> std::ops::RangeInclusive<i16> {
    let ours = Ours::API_KEY.supported_versions();
    ours.min.max(Theirs::VERSIONS.min)..=ours.max.min(Theirs::VERSIONS.max)
}

/// Ours → theirs → bytes, for a random value from `seed`.
#[track_caller]
fn check_ours_to_theirs<Ours, Theirs>(seed: u64)
where
    Ours: Message + Random,
    Theirs: KpMessage + Encodable + Decodable,
{
    let mut rng = Rng::new(seed);
    let versions = shared_versions::<Ours, Theirs>();
    assert!(!versions.is_empty());
    for version in versions {
        let mut ours = Ours::random(&mut rng);
        ours.normalize_to(version);
        let mut buf = BytesMut::new();
        ours.encode(&mut buf, version).unwrap();
        let our_bytes = buf.freeze();

        let mut input = our_bytes.clone();
        let theirs = Theirs::decode(&mut input, version).unwrap();
        assert!(
            input.is_empty(),
            "version {version}: they left {} bytes",
            input.len()
        );
        let mut their_bytes = BytesMut::new();
        theirs.encode(&mut their_bytes, version).unwrap();
        assert_eq!(their_bytes.freeze(), our_bytes, "version {version}");
    }
}

/// Their default → bytes → ours: equals our default, and re-encodes identically.
#[track_caller]
fn check_theirs_to_ours<Ours, Theirs>()
where
    Ours: Message,
    Theirs: KpMessage + Encodable + Default,
{
    for version in shared_versions::<Ours, Theirs>() {
        let mut buf = BytesMut::new();
        Theirs::default().encode(&mut buf, version).unwrap();
        let their_bytes = buf.freeze();
        let mut input: Bytes = their_bytes.clone();
        let ours = Ours::decode(&mut input, version).unwrap();
        assert!(input.is_empty(), "version {version}");
        let mut expected = Ours::default();
        expected.normalize_to(version);
        assert_eq!(ours, expected, "version {version}: defaults differ");
        let mut buf = BytesMut::new();
        ours.encode(&mut buf, version).unwrap();
        assert_eq!(buf.freeze(), their_bytes, "version {version}");
    }
}

/// Both directions for each message; adding a message is one line here.
macro_rules! differential {
    ($($name:ident: $ours:ty, $theirs:ty;)*) => {
        mod defaults {
            use super::*;
            $(
                #[test]
                fn $name() {
                    check_theirs_to_ours::<$ours, $theirs>();
                }
            )*
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(48))]
            $(
                #[test]
                fn $name(seed: u64) {
                    check_ours_to_theirs::<$ours, $theirs>(seed);
                }
            )*
        }
    };
}

differential! {
    api_versions_request: api_versions::ApiVersionsRequest, kp::ApiVersionsRequest;
    api_versions_response: api_versions::ApiVersionsResponse, kp::ApiVersionsResponse;
    metadata_request: metadata::MetadataRequest, kp::MetadataRequest;
    metadata_response: metadata::MetadataResponse, kp::MetadataResponse;
    produce_request: produce::ProduceRequest, kp::ProduceRequest;
    produce_response: produce::ProduceResponse, kp::ProduceResponse;
    fetch_request: fetch::FetchRequest, kp::FetchRequest;
    fetch_response: fetch::FetchResponse, kp::FetchResponse;
    list_offsets_request: list_offsets::ListOffsetsRequest, kp::ListOffsetsRequest;
    list_offsets_response: list_offsets::ListOffsetsResponse, kp::ListOffsetsResponse;
    find_coordinator_request: find_coordinator::FindCoordinatorRequest, kp::FindCoordinatorRequest;
    find_coordinator_response:
        find_coordinator::FindCoordinatorResponse, kp::FindCoordinatorResponse;
    init_producer_id_request: init_producer_id::InitProducerIdRequest, kp::InitProducerIdRequest;
    init_producer_id_response:
        init_producer_id::InitProducerIdResponse, kp::InitProducerIdResponse;
    offset_for_leader_epoch_request:
        offset_for_leader_epoch::OffsetForLeaderEpochRequest, kp::OffsetForLeaderEpochRequest;
    offset_for_leader_epoch_response:
        offset_for_leader_epoch::OffsetForLeaderEpochResponse, kp::OffsetForLeaderEpochResponse;
    create_topics_request: create_topics::CreateTopicsRequest, kp::CreateTopicsRequest;
    create_topics_response: create_topics::CreateTopicsResponse, kp::CreateTopicsResponse;
    delete_topics_request: delete_topics::DeleteTopicsRequest, kp::DeleteTopicsRequest;
    delete_topics_response: delete_topics::DeleteTopicsResponse, kp::DeleteTopicsResponse;
}
