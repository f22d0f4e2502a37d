//! Property tests: for every message and every supported version, a random value (normalised
//! to what the version can carry) survives encode then decode unchanged, alone and inside a
//! whole frame with its header. Proptest prints the failing seed; a failing seed becomes a
//! regular test below.

use bytes::BytesMut;
use proptest::prelude::*;
use strom_protocol::messages::*;
use strom_protocol::random::{Random, Rng};
use strom_protocol::{
    ApiKey, Message, Request, RequestHeader, Response, decode_request, decode_response,
    encode_request, encode_response, split_frame,
};

/// Checks every supported version of `M` with a value generated from `seed`.
#[track_caller]
fn check<M: Message + Random>(seed: u64) {
    let mut rng = Rng::new(seed);
    let versions = M::API_KEY.supported_versions();
    for version in versions.min..=versions.max {
        let mut value = M::random(&mut rng);
        value.normalize_to(version);
        let mut buf = BytesMut::new();
        value.encode(&mut buf, version).unwrap();
        let mut bytes = buf.freeze();
        let decoded = M::decode(&mut bytes, version).unwrap();
        assert_eq!(decoded, value, "version {version}");
        assert!(
            bytes.is_empty(),
            "version {version}: {} bytes left",
            bytes.len()
        );
    }
}

/// Checks a request and a response of every API, at every version, inside whole frames with
/// headers. New APIs are covered without any change here.
#[track_caller]
fn check_frames(seed: u64) {
    let mut rng = Rng::new(seed);
    for api_key in ApiKey::all() {
        let versions = api_key.supported_versions();
        for version in versions.min..=versions.max {
            let mut request = Request::random(*api_key, &mut rng);
            request.normalize_to(version);
            let mut header = RequestHeader::new(*api_key, version, rng.next_u64() as i32);
            header.client_id = Option::<String>::random(&mut rng);
            let mut buf = BytesMut::new();
            encode_request(&header, &request, &mut buf).unwrap();
            let frame = split_frame(&mut buf, u32::MAX).unwrap().unwrap();
            assert!(buf.is_empty());
            assert_eq!(decode_request(frame).unwrap(), (header.clone(), request));

            let mut response = Response::random(*api_key, &mut rng);
            response.normalize_to(version);
            encode_response(header.correlation_id, version, &response, &mut buf).unwrap();
            let frame = split_frame(&mut buf, u32::MAX).unwrap().unwrap();
            let (response_header, decoded) = decode_response(frame, *api_key, version).unwrap();
            assert_eq!(response_header.correlation_id, header.correlation_id);
            assert_eq!(decoded, response);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn frames_of_every_api(seed: u64) {
        check_frames(seed);
    }
}

/// One proptest per message type; adding a message is one line here.
macro_rules! round_trips {
    ($($name:ident: $ty:ty;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            $(
                #[test]
                fn $name(seed: u64) {
                    check::<$ty>(seed);
                }
            )*
        }
    };
}

round_trips! {
    api_versions_request: api_versions::ApiVersionsRequest;
    api_versions_response: api_versions::ApiVersionsResponse;
    metadata_request: metadata::MetadataRequest;
    metadata_response: metadata::MetadataResponse;
    produce_request: produce::ProduceRequest;
    produce_response: produce::ProduceResponse;
    fetch_request: fetch::FetchRequest;
    fetch_response: fetch::FetchResponse;
    list_offsets_request: list_offsets::ListOffsetsRequest;
    list_offsets_response: list_offsets::ListOffsetsResponse;
    find_coordinator_request: find_coordinator::FindCoordinatorRequest;
    find_coordinator_response: find_coordinator::FindCoordinatorResponse;
    init_producer_id_request: init_producer_id::InitProducerIdRequest;
    init_producer_id_response: init_producer_id::InitProducerIdResponse;
    offset_for_leader_epoch_request: offset_for_leader_epoch::OffsetForLeaderEpochRequest;
    offset_for_leader_epoch_response: offset_for_leader_epoch::OffsetForLeaderEpochResponse;
    create_topics_request: create_topics::CreateTopicsRequest;
    create_topics_response: create_topics::CreateTopicsResponse;
    delete_topics_request: delete_topics::DeleteTopicsRequest;
    delete_topics_response: delete_topics::DeleteTopicsResponse;
    offset_commit_request: offset_commit::OffsetCommitRequest;
    offset_commit_response: offset_commit::OffsetCommitResponse;
    offset_fetch_request: offset_fetch::OffsetFetchRequest;
    offset_fetch_response: offset_fetch::OffsetFetchResponse;
    join_group_request: join_group::JoinGroupRequest;
    join_group_response: join_group::JoinGroupResponse;
    heartbeat_request: heartbeat::HeartbeatRequest;
    heartbeat_response: heartbeat::HeartbeatResponse;
    leave_group_request: leave_group::LeaveGroupRequest;
    leave_group_response: leave_group::LeaveGroupResponse;
    sync_group_request: sync_group::SyncGroupRequest;
    sync_group_response: sync_group::SyncGroupResponse;
    describe_groups_request: describe_groups::DescribeGroupsRequest;
    describe_groups_response: describe_groups::DescribeGroupsResponse;
    list_groups_request: list_groups::ListGroupsRequest;
    list_groups_response: list_groups::ListGroupsResponse;
    sasl_handshake_request: sasl_handshake::SaslHandshakeRequest;
    sasl_handshake_response: sasl_handshake::SaslHandshakeResponse;
    delete_records_request: delete_records::DeleteRecordsRequest;
    delete_records_response: delete_records::DeleteRecordsResponse;
    elect_leaders_request: elect_leaders::ElectLeadersRequest;
    elect_leaders_response: elect_leaders::ElectLeadersResponse;
    add_partitions_to_txn_request: add_partitions_to_txn::AddPartitionsToTxnRequest;
    add_partitions_to_txn_response: add_partitions_to_txn::AddPartitionsToTxnResponse;
    add_offsets_to_txn_request: add_offsets_to_txn::AddOffsetsToTxnRequest;
    add_offsets_to_txn_response: add_offsets_to_txn::AddOffsetsToTxnResponse;
    end_txn_request: end_txn::EndTxnRequest;
    end_txn_response: end_txn::EndTxnResponse;
    write_txn_markers_request: write_txn_markers::WriteTxnMarkersRequest;
    write_txn_markers_response: write_txn_markers::WriteTxnMarkersResponse;
    txn_offset_commit_request: txn_offset_commit::TxnOffsetCommitRequest;
    txn_offset_commit_response: txn_offset_commit::TxnOffsetCommitResponse;
    describe_configs_request: describe_configs::DescribeConfigsRequest;
    describe_configs_response: describe_configs::DescribeConfigsResponse;
    alter_configs_request: alter_configs::AlterConfigsRequest;
    alter_configs_response: alter_configs::AlterConfigsResponse;
    sasl_authenticate_request: sasl_authenticate::SaslAuthenticateRequest;
    sasl_authenticate_response: sasl_authenticate::SaslAuthenticateResponse;
    create_partitions_request: create_partitions::CreatePartitionsRequest;
    create_partitions_response: create_partitions::CreatePartitionsResponse;
    delete_groups_request: delete_groups::DeleteGroupsRequest;
    delete_groups_response: delete_groups::DeleteGroupsResponse;
    incremental_alter_configs_request: incremental_alter_configs::IncrementalAlterConfigsRequest;
    incremental_alter_configs_response: incremental_alter_configs::IncrementalAlterConfigsResponse;
    alter_partition_reassignments_request:
        alter_partition_reassignments::AlterPartitionReassignmentsRequest;
    alter_partition_reassignments_response:
        alter_partition_reassignments::AlterPartitionReassignmentsResponse;
    list_partition_reassignments_request:
        list_partition_reassignments::ListPartitionReassignmentsRequest;
    list_partition_reassignments_response:
        list_partition_reassignments::ListPartitionReassignmentsResponse;
    offset_delete_request: offset_delete::OffsetDeleteRequest;
    offset_delete_response: offset_delete::OffsetDeleteResponse;
    describe_cluster_request: describe_cluster::DescribeClusterRequest;
    describe_cluster_response: describe_cluster::DescribeClusterResponse;
}

#[test]
fn api_versions_response_header_is_v0_even_when_flexible() {
    let mut buf = BytesMut::new();
    let response = Response::from(api_versions::ApiVersionsResponse::default());
    encode_response(9, 3, &response, &mut buf).unwrap();
    // size, correlation id, then the body starts with error_code: no header tagged-field byte.
    assert_eq!(&buf[4..10], &[0, 0, 0, 9, 0, 0]);
    let mut buf = BytesMut::new();
    let response = Response::from(metadata::MetadataResponse::default());
    encode_response(9, 9, &response, &mut buf).unwrap();
    assert_eq!(&buf[4..9], &[0, 0, 0, 9, 0]);
    assert_eq!(
        &buf[9..13],
        &[0, 0, 0, 0],
        "throttle_time_ms follows the header's tag byte"
    );
}
