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
    offset_commit_request: offset_commit::OffsetCommitRequest, kp::OffsetCommitRequest;
    offset_commit_response: offset_commit::OffsetCommitResponse, kp::OffsetCommitResponse;
    offset_fetch_request: offset_fetch::OffsetFetchRequest, kp::OffsetFetchRequest;
    offset_fetch_response: offset_fetch::OffsetFetchResponse, kp::OffsetFetchResponse;
    join_group_request: join_group::JoinGroupRequest, kp::JoinGroupRequest;
    join_group_response: join_group::JoinGroupResponse, kp::JoinGroupResponse;
    heartbeat_request: heartbeat::HeartbeatRequest, kp::HeartbeatRequest;
    heartbeat_response: heartbeat::HeartbeatResponse, kp::HeartbeatResponse;
    leave_group_request: leave_group::LeaveGroupRequest, kp::LeaveGroupRequest;
    leave_group_response: leave_group::LeaveGroupResponse, kp::LeaveGroupResponse;
    sync_group_request: sync_group::SyncGroupRequest, kp::SyncGroupRequest;
    sync_group_response: sync_group::SyncGroupResponse, kp::SyncGroupResponse;
    describe_groups_request: describe_groups::DescribeGroupsRequest, kp::DescribeGroupsRequest;
    describe_groups_response: describe_groups::DescribeGroupsResponse, kp::DescribeGroupsResponse;
    list_groups_request: list_groups::ListGroupsRequest, kp::ListGroupsRequest;
    list_groups_response: list_groups::ListGroupsResponse, kp::ListGroupsResponse;
    sasl_handshake_request: sasl_handshake::SaslHandshakeRequest, kp::SaslHandshakeRequest;
    sasl_handshake_response: sasl_handshake::SaslHandshakeResponse, kp::SaslHandshakeResponse;
    delete_records_request: delete_records::DeleteRecordsRequest, kp::DeleteRecordsRequest;
    delete_records_response: delete_records::DeleteRecordsResponse, kp::DeleteRecordsResponse;
    elect_leaders_request: elect_leaders::ElectLeadersRequest, kp::ElectLeadersRequest;
    elect_leaders_response: elect_leaders::ElectLeadersResponse, kp::ElectLeadersResponse;
    add_partitions_to_txn_request: add_partitions_to_txn::AddPartitionsToTxnRequest, kp::AddPartitionsToTxnRequest;
    add_partitions_to_txn_response: add_partitions_to_txn::AddPartitionsToTxnResponse, kp::AddPartitionsToTxnResponse;
    add_offsets_to_txn_request: add_offsets_to_txn::AddOffsetsToTxnRequest, kp::AddOffsetsToTxnRequest;
    add_offsets_to_txn_response: add_offsets_to_txn::AddOffsetsToTxnResponse, kp::AddOffsetsToTxnResponse;
    end_txn_request: end_txn::EndTxnRequest, kp::EndTxnRequest;
    end_txn_response: end_txn::EndTxnResponse, kp::EndTxnResponse;
    write_txn_markers_request: write_txn_markers::WriteTxnMarkersRequest, kp::WriteTxnMarkersRequest;
    write_txn_markers_response: write_txn_markers::WriteTxnMarkersResponse, kp::WriteTxnMarkersResponse;
    txn_offset_commit_request: txn_offset_commit::TxnOffsetCommitRequest, kp::TxnOffsetCommitRequest;
    txn_offset_commit_response: txn_offset_commit::TxnOffsetCommitResponse, kp::TxnOffsetCommitResponse;
    describe_configs_request: describe_configs::DescribeConfigsRequest, kp::DescribeConfigsRequest;
    describe_configs_response: describe_configs::DescribeConfigsResponse, kp::DescribeConfigsResponse;
    alter_configs_request: alter_configs::AlterConfigsRequest, kp::AlterConfigsRequest;
    alter_configs_response: alter_configs::AlterConfigsResponse, kp::AlterConfigsResponse;
    sasl_authenticate_request: sasl_authenticate::SaslAuthenticateRequest, kp::SaslAuthenticateRequest;
    sasl_authenticate_response: sasl_authenticate::SaslAuthenticateResponse, kp::SaslAuthenticateResponse;
    create_partitions_request: create_partitions::CreatePartitionsRequest, kp::CreatePartitionsRequest;
    create_partitions_response: create_partitions::CreatePartitionsResponse, kp::CreatePartitionsResponse;
    delete_groups_request: delete_groups::DeleteGroupsRequest, kp::DeleteGroupsRequest;
    delete_groups_response: delete_groups::DeleteGroupsResponse, kp::DeleteGroupsResponse;
    incremental_alter_configs_request: incremental_alter_configs::IncrementalAlterConfigsRequest, kp::IncrementalAlterConfigsRequest;
    incremental_alter_configs_response: incremental_alter_configs::IncrementalAlterConfigsResponse, kp::IncrementalAlterConfigsResponse;
    alter_partition_reassignments_request:
        alter_partition_reassignments::AlterPartitionReassignmentsRequest,
        kp::AlterPartitionReassignmentsRequest;
    alter_partition_reassignments_response:
        alter_partition_reassignments::AlterPartitionReassignmentsResponse,
        kp::AlterPartitionReassignmentsResponse;
    list_partition_reassignments_request:
        list_partition_reassignments::ListPartitionReassignmentsRequest,
        kp::ListPartitionReassignmentsRequest;
    list_partition_reassignments_response:
        list_partition_reassignments::ListPartitionReassignmentsResponse,
        kp::ListPartitionReassignmentsResponse;
    offset_delete_request: offset_delete::OffsetDeleteRequest, kp::OffsetDeleteRequest;
    offset_delete_response: offset_delete::OffsetDeleteResponse, kp::OffsetDeleteResponse;
    describe_cluster_request: describe_cluster::DescribeClusterRequest, kp::DescribeClusterRequest;
    describe_cluster_response: describe_cluster::DescribeClusterResponse, kp::DescribeClusterResponse;
}
