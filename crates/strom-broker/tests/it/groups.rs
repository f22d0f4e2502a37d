//! Consumer groups through the wire: two members join, sync, heartbeat, commit and fetch; a
//! stale generation cannot commit; unknown topics are refused; committed offsets (with their
//! metadata strings) survive a broker restart; the admin APIs see the group.

use bytes::Bytes;
use strom_group::{Assignment, Subscription, TopicPartition};
use strom_protocol::messages::delete_groups::DeleteGroupsRequest;
use strom_protocol::messages::describe_groups::DescribeGroupsRequest;
use strom_protocol::messages::find_coordinator::FindCoordinatorRequest;
use strom_protocol::messages::heartbeat::HeartbeatRequest;
use strom_protocol::messages::join_group::{
    JoinGroupRequest, JoinGroupRequestProtocol, JoinGroupResponse,
};
use strom_protocol::messages::leave_group::{LeaveGroupRequest, MemberIdentity};
use strom_protocol::messages::list_groups::ListGroupsRequest;
use strom_protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use strom_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use strom_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use strom_protocol::messages::sync_group::{
    SyncGroupRequest, SyncGroupRequestAssignment, SyncGroupResponse,
};
use strom_protocol::{ErrorCode, Response};

use crate::fixture::{Client, TestBroker};

const GROUP: &str = "orders-app";
const TOPIC: &str = "orders";

/// Test brokers: a few `__consumer_offsets` partitions and no initial rebalance delay, so
/// joins complete at once.
async fn start() -> TestBroker {
    TestBroker::start(&[
        ("offsets.topic.num.partitions", "3"),
        ("group.initial.rebalance.delay.ms", "0"),
    ])
    .await
}

/// FindCoordinator for `GROUP` (v3) answers this node without error.
async fn find_coordinator(client: &mut Client) {
    let request = FindCoordinatorRequest {
        key: GROUP.to_owned(),
        key_type: 0,
        ..FindCoordinatorRequest::default()
    };
    let Response::FindCoordinator(response) = client.send(3, request).await else {
        panic!("not a FindCoordinator response");
    };
    assert_eq!(response.error_code, 0, "{response:?}");
    assert!(response.port > 0);
}

fn subscription() -> Bytes {
    Bytes::from(
        Subscription {
            version: 1,
            topics: vec![TOPIC.to_owned()],
            ..Subscription::default()
        }
        .encode()
        .unwrap(),
    )
}

/// JoinGroup v7 (member id required on the first join).
async fn join(client: &mut Client, member_id: &str) -> JoinGroupResponse {
    let request = JoinGroupRequest {
        group_id: GROUP.to_owned(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 10_000,
        member_id: member_id.to_owned(),
        protocol_type: "consumer".to_owned(),
        protocols: vec![JoinGroupRequestProtocol {
            name: "range".to_owned(),
            metadata: subscription(),
            ..JoinGroupRequestProtocol::default()
        }],
        ..JoinGroupRequest::default()
    };
    let Response::JoinGroup(response) = client.send(7, request).await else {
        panic!("not a JoinGroup response");
    };
    response
}

/// Joins with the member-id handshake and returns the completed join.
async fn join_new(client: &mut Client) -> JoinGroupResponse {
    let first = join(client, "").await;
    assert_eq!(first.error_code, ErrorCode::MemberIdRequired.code());
    assert!(!first.member_id.is_empty());
    join(client, &first.member_id).await
}

async fn sync(
    client: &mut Client,
    generation_id: i32,
    member_id: &str,
    assignments: Vec<(String, Vec<i32>)>,
) -> SyncGroupResponse {
    let request = SyncGroupRequest {
        group_id: GROUP.to_owned(),
        generation_id,
        member_id: member_id.to_owned(),
        assignments: assignments
            .into_iter()
            .map(|(member_id, partitions)| SyncGroupRequestAssignment {
                member_id,
                assignment: Bytes::from(
                    Assignment {
                        version: 1,
                        partitions: partitions
                            .into_iter()
                            .map(|partition| TopicPartition::new(TOPIC, partition))
                            .collect(),
                        user_data: None,
                    }
                    .encode()
                    .unwrap(),
                ),
                ..SyncGroupRequestAssignment::default()
            })
            .collect(),
        ..SyncGroupRequest::default()
    };
    let Response::SyncGroup(response) = client.send(5, request).await else {
        panic!("not a SyncGroup response");
    };
    response
}

async fn heartbeat(client: &mut Client, generation_id: i32, member_id: &str) -> i16 {
    let request = HeartbeatRequest {
        group_id: GROUP.to_owned(),
        generation_id,
        member_id: member_id.to_owned(),
        ..HeartbeatRequest::default()
    };
    let Response::Heartbeat(response) = client.send(4, request).await else {
        panic!("not a Heartbeat response");
    };
    response.error_code
}

/// OffsetCommit v8 of `(topic, partition, offset, metadata)`; the error code per partition.
async fn commit(
    client: &mut Client,
    generation_id: i32,
    member_id: &str,
    offsets: &[(&str, i32, i64, &str)],
) -> Vec<(String, i32, i16)> {
    let request = OffsetCommitRequest {
        group_id: GROUP.to_owned(),
        generation_id_or_member_epoch: generation_id,
        member_id: member_id.to_owned(),
        topics: offsets
            .iter()
            .map(
                |(topic, partition, offset, metadata)| OffsetCommitRequestTopic {
                    name: (*topic).to_owned(),
                    partitions: vec![OffsetCommitRequestPartition {
                        partition_index: *partition,
                        committed_offset: *offset,
                        committed_metadata: Some((*metadata).to_owned()),
                        ..OffsetCommitRequestPartition::default()
                    }],
                    ..OffsetCommitRequestTopic::default()
                },
            )
            .collect(),
        ..OffsetCommitRequest::default()
    };
    let Response::OffsetCommit(response) = client.send(8, request).await else {
        panic!("not an OffsetCommit response");
    };
    response
        .topics
        .into_iter()
        .flat_map(|topic| {
            let name = topic.name;
            topic.partitions.into_iter().map(move |partition| {
                (
                    name.clone(),
                    partition.partition_index,
                    partition.error_code,
                )
            })
        })
        .collect()
}

/// OffsetFetch v8 of `TOPIC`'s partitions `0..partitions`: `(partition, offset, metadata)`.
async fn fetch_offsets(client: &mut Client, partitions: i32) -> Vec<(i32, i64, String)> {
    let request = OffsetFetchRequest {
        groups: vec![OffsetFetchRequestGroup {
            group_id: GROUP.to_owned(),
            topics: Some(vec![OffsetFetchRequestTopics {
                name: TOPIC.to_owned(),
                partition_indexes: (0..partitions).collect(),
                ..OffsetFetchRequestTopics::default()
            }]),
            ..OffsetFetchRequestGroup::default()
        }],
        ..OffsetFetchRequest::default()
    };
    let Response::OffsetFetch(response) = client.send(8, request).await else {
        panic!("not an OffsetFetch response");
    };
    let group = &response.groups[0];
    assert_eq!(group.error_code, 0, "{response:?}");
    group.topics[0]
        .partitions
        .iter()
        .map(|partition| {
            assert_eq!(partition.error_code, 0);
            (
                partition.partition_index,
                partition.committed_offset,
                partition.metadata.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Two members: the first joins alone (generation 1), the second's join makes the first
/// rejoin (it learns from its heartbeat), both get generation 2 with the first as leader, the
/// leader's assignment reaches the follower, heartbeats pass, commits of the current
/// generation land and read back, and a commit of the old generation is refused.
#[tokio::test]
async fn two_members_join_sync_heartbeat_commit_and_fetch() {
    let broker = start().await;
    let mut admin = broker.client().await;
    admin.create_topic(TOPIC, 4).await;
    let mut first = broker.client().await;
    let mut second = broker.client().await;
    find_coordinator(&mut first).await;

    let alone = join_new(&mut first).await;
    assert_eq!(alone.error_code, 0, "{alone:?}");
    assert_eq!(alone.generation_id, 1);
    assert_eq!(alone.leader, alone.member_id);
    let leader_id = alone.member_id.clone();
    let synced = sync(
        &mut first,
        1,
        &leader_id,
        vec![(leader_id.clone(), vec![0, 1, 2, 3])],
    )
    .await;
    assert_eq!(synced.error_code, 0);
    assert_eq!(heartbeat(&mut first, 1, &leader_id).await, 0);

    // The second member's join waits for the first to rejoin.
    let second_join = tokio::spawn(async move {
        let response = join_new(&mut second).await;
        (second, response)
    });
    let mut rebalancing = false;
    for _ in 0..100 {
        let code = heartbeat(&mut first, 1, &leader_id).await;
        if code == ErrorCode::RebalanceInProgress.code() {
            rebalancing = true;
            break;
        }
        assert_eq!(code, 0);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rebalancing, "the leader never heard of the rebalance");
    let rejoined = join(&mut first, &leader_id).await;
    let (mut second, joined) = second_join.await.unwrap();
    assert_eq!(rejoined.error_code, 0, "{rejoined:?}");
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(rejoined.generation_id, 2);
    assert_eq!(joined.generation_id, 2);
    assert_eq!(rejoined.leader, leader_id);
    assert_eq!(rejoined.protocol_name.as_deref(), Some("range"));
    assert_eq!(rejoined.members.len(), 2, "the leader sees every member");
    assert!(joined.members.is_empty(), "followers see no members");
    let follower_id = joined.member_id.clone();

    // The follower's SyncGroup waits for the leader's.
    let follower_id_for_sync = follower_id.clone();
    let follower_sync = tokio::spawn(async move {
        let response = sync(&mut second, 2, &follower_id_for_sync, Vec::new()).await;
        (second, response)
    });
    let leader_sync = sync(
        &mut first,
        2,
        &leader_id,
        vec![
            (leader_id.clone(), vec![0, 1]),
            (follower_id.clone(), vec![2, 3]),
        ],
    )
    .await;
    let (mut second, follower_synced) = follower_sync.await.unwrap();
    assert_eq!(leader_sync.error_code, 0);
    assert_eq!(follower_synced.error_code, 0);
    let assignment = Assignment::decode(&follower_synced.assignment).unwrap();
    assert_eq!(
        assignment.partitions,
        vec![TopicPartition::new(TOPIC, 2), TopicPartition::new(TOPIC, 3)]
    );
    assert_eq!(heartbeat(&mut first, 2, &leader_id).await, 0);
    assert_eq!(heartbeat(&mut second, 2, &follower_id).await, 0);

    let committed = commit(
        &mut first,
        2,
        &leader_id,
        &[(TOPIC, 0, 10, "leader-0"), (TOPIC, 1, 11, "leader-1")],
    )
    .await;
    assert!(
        committed.iter().all(|(_, _, code)| *code == 0),
        "{committed:?}"
    );
    let committed = commit(
        &mut second,
        2,
        &follower_id,
        &[(TOPIC, 2, 20, ""), (TOPIC, 3, 30, "f")],
    )
    .await;
    assert!(
        committed.iter().all(|(_, _, code)| *code == 0),
        "{committed:?}"
    );

    // A stale generation cannot commit, and the offsets stay where they were.
    let stale = commit(&mut first, 1, &leader_id, &[(TOPIC, 0, 5, "stale")]).await;
    assert_eq!(
        stale,
        vec![(TOPIC.to_owned(), 0, ErrorCode::IllegalGeneration.code())]
    );
    assert_eq!(
        fetch_offsets(&mut admin, 4).await,
        vec![
            (0, 10, "leader-0".to_owned()),
            (1, 11, "leader-1".to_owned()),
            (2, 20, String::new()),
            (3, 30, "f".to_owned()),
        ]
    );

    // The admin APIs see the group, Stable with two members.
    let Response::ListGroups(listed) = admin
        .send(
            4,
            ListGroupsRequest {
                states_filter: vec!["Stable".to_owned()],
                ..ListGroupsRequest::default()
            },
        )
        .await
    else {
        panic!("not a ListGroups response");
    };
    assert_eq!(listed.error_code, 0);
    assert_eq!(listed.groups.len(), 1);
    assert_eq!(listed.groups[0].group_id, GROUP);
    assert_eq!(listed.groups[0].group_state, "Stable");
    let Response::DescribeGroups(described) = admin
        .send(
            5,
            DescribeGroupsRequest {
                groups: vec![GROUP.to_owned()],
                ..DescribeGroupsRequest::default()
            },
        )
        .await
    else {
        panic!("not a DescribeGroups response");
    };
    assert_eq!(described.groups[0].group_state, "Stable");
    assert_eq!(described.groups[0].protocol_data, "range");
    assert_eq!(described.groups[0].members.len(), 2);
    assert_eq!(described.groups[0].members[0].client_host, "/127.0.0.1");

    // A non-empty group cannot be deleted; once both leave (v3 batch), it can.
    let Response::DeleteGroups(deleted) = admin
        .send(
            2,
            DeleteGroupsRequest {
                groups_names: vec![GROUP.to_owned()],
                ..DeleteGroupsRequest::default()
            },
        )
        .await
    else {
        panic!("not a DeleteGroups response");
    };
    assert_eq!(
        deleted.results[0].error_code,
        ErrorCode::NonEmptyGroup.code()
    );
    let Response::LeaveGroup(left) = admin
        .send(
            5,
            LeaveGroupRequest {
                group_id: GROUP.to_owned(),
                members: [leader_id, follower_id]
                    .into_iter()
                    .map(|member_id| MemberIdentity {
                        member_id,
                        ..MemberIdentity::default()
                    })
                    .collect(),
                ..LeaveGroupRequest::default()
            },
        )
        .await
    else {
        panic!("not a LeaveGroup response");
    };
    assert_eq!(left.error_code, 0);
    assert!(
        left.members.iter().all(|member| member.error_code == 0),
        "{left:?}"
    );
    let Response::DeleteGroups(deleted) = admin
        .send(
            2,
            DeleteGroupsRequest {
                groups_names: vec![GROUP.to_owned()],
                ..DeleteGroupsRequest::default()
            },
        )
        .await
    else {
        panic!("not a DeleteGroups response");
    };
    assert_eq!(deleted.results[0].error_code, 0);
    assert_eq!(
        fetch_offsets(&mut admin, 1).await,
        vec![(0, -1, String::new())],
        "a deleted group's offsets are gone"
    );
}

/// A simple consumer's commits (generation -1, no member) and their metadata strings are
/// still there after a restart: the broker replays `__consumer_offsets` on start. Later
/// commits win, and commits to unknown topics or partitions are refused.
#[tokio::test]
async fn committed_offsets_survive_a_restart() {
    let mut broker = start().await;
    let mut client = broker.client().await;
    client.create_topic(TOPIC, 2).await;
    find_coordinator(&mut client).await;
    let res = commit(
        &mut client,
        -1,
        "",
        &[(TOPIC, 0, 7, "first"), (TOPIC, 1, 3, "m1")],
    )
    .await;
    assert!(res.iter().all(|(_, _, code)| *code == 0), "{res:?}");
    let res = commit(&mut client, -1, "", &[(TOPIC, 0, 42, "second")]).await;
    assert!(res.iter().all(|(_, _, code)| *code == 0), "{res:?}");
    let refused = commit(
        &mut client,
        -1,
        "",
        &[(TOPIC, 2, 1, ""), ("no-such-topic", 0, 1, "")],
    )
    .await;
    assert_eq!(
        refused,
        vec![
            (
                TOPIC.to_owned(),
                2,
                ErrorCode::UnknownTopicOrPartition.code()
            ),
            (
                "no-such-topic".to_owned(),
                0,
                ErrorCode::UnknownTopicOrPartition.code()
            ),
        ]
    );
    let expected = vec![(0, 42, "second".to_owned()), (1, 3, "m1".to_owned())];
    assert_eq!(fetch_offsets(&mut client, 2).await, expected);

    drop(client);
    broker.restart().await;
    let mut client = broker.client().await;
    find_coordinator(&mut client).await;
    assert_eq!(fetch_offsets(&mut client, 2).await, expected);

    // OffsetFetch v5 (one group, topics listed) answers the same.
    let request = OffsetFetchRequest {
        group_id: GROUP.to_owned(),
        topics: Some(vec![OffsetFetchRequestTopic {
            name: TOPIC.to_owned(),
            partition_indexes: vec![0],
            ..OffsetFetchRequestTopic::default()
        }]),
        ..OffsetFetchRequest::default()
    };
    let Response::OffsetFetch(response) = client.send(5, request).await else {
        panic!("not an OffsetFetch response");
    };
    assert_eq!(response.error_code, 0);
    assert_eq!(response.topics[0].partitions[0].committed_offset, 42);
    assert_eq!(
        response.topics[0].partitions[0].metadata.as_deref(),
        Some("second")
    );

    // __consumer_offsets is an internal topic in Metadata.
    let request = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some("__consumer_offsets".to_owned()),
            ..MetadataRequestTopic::default()
        }]),
        ..MetadataRequest::default()
    };
    let Response::Metadata(metadata) = client.send(12, request).await else {
        panic!("not a Metadata response");
    };
    assert_eq!(metadata.topics[0].error_code, 0);
    assert!(metadata.topics[0].is_internal);
    assert_eq!(metadata.topics[0].partitions.len(), 3);
}
