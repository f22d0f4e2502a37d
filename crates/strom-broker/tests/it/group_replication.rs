//! Group writes are `acks=all` writes to `__consumer_offsets`: with that topic replicated on
//! this broker (node 1, leading) and a second broker played by the test (node 2, which fetches
//! with its replica id), an OffsetCommit is answered only once the follower has fetched past
//! it; a commit the ISR does not reach in `offsets.commit.timeout.ms` fails with
//! `COORDINATOR_NOT_AVAILABLE` (and stays, to be committed once the follower fetches); with the
//! follower out of the ISR and `min.insync.replicas=2` a commit is refused with
//! `COORDINATOR_NOT_AVAILABLE` and nothing of it is kept; OffsetFetch then returns what the log
//! holds. The same holds for SyncGroup (the group's metadata record, an answer that comes later)
//! and DeleteGroups (tombstones, answered on a blocking thread). A commit waiting when the
//! partition's leadership moves away, and a commit after that, get `NOT_COORDINATOR`.

use std::time::Duration;

use bytes::Bytes;
use strom_broker::Plane;
use strom_metadata::{BrokerId, BrokerRegistration, PartitionIndex};
use strom_protocol::ErrorCode;
use strom_protocol::Response;
use strom_protocol::messages::create_topics::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use strom_protocol::messages::delete_groups::DeleteGroupsRequest;
use strom_protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
use strom_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use strom_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use strom_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment};

use crate::fixture::{Client, TestBroker, follower_fetch, isr, wait_for_isr};

const OFFSETS: &str = "__consumer_offsets";
const GROUP: &str = "billing";
const TOPIC: &str = "invoices";

/// A broker (node 1) that knows a second broker (node 2, played by the test), with
/// `__consumer_offsets` (one partition) on both, node 1 leading, with `min_insync`, and a topic
/// whose offsets the group commits.
async fn replicated_offsets(overrides: &[(&str, &str)], min_insync: &str) -> TestBroker {
    let mut all = vec![
        ("offsets.topic.num.partitions", "1"),
        ("offsets.topic.replication.factor", "2"),
        ("group.initial.rebalance.delay.ms", "0"),
    ];
    all.extend_from_slice(overrides);
    let broker = TestBroker::start(&all).await;
    broker
        .broker()
        .plane()
        .register_broker(&BrokerRegistration {
            broker_id: BrokerId(2),
            endpoints: Vec::new(),
            rack: None,
            fenced: false,
        })
        .unwrap();
    let mut client = broker.client().await;
    let topic = |name: &str, replicas: Vec<i32>, configs: &[(&str, &str)]| CreatableTopic {
        name: name.to_owned(),
        num_partitions: -1,
        replication_factor: -1,
        assignments: vec![CreatableReplicaAssignment {
            partition_index: 0,
            broker_ids: replicas,
            ..CreatableReplicaAssignment::default()
        }],
        configs: configs
            .iter()
            .map(|(name, value)| CreatableTopicConfig {
                name: (*name).to_owned(),
                value: Some((*value).to_owned()),
                ..CreatableTopicConfig::default()
            })
            .collect(),
        ..CreatableTopic::default()
    };
    let request = CreateTopicsRequest {
        topics: vec![
            topic(
                OFFSETS,
                vec![1, 2],
                &[
                    ("cleanup.policy", "compact"),
                    ("min.insync.replicas", min_insync),
                ],
            ),
            topic(TOPIC, vec![1], &[]),
        ],
        timeout_ms: 10_000,
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(response) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    for topic in &response.topics {
        assert_eq!(topic.error_code, 0, "{response:?}");
    }
    broker
}

/// The follower fetches from `offset` until it got records; returns the offset after them.
async fn follower_fetch_new(client: &mut Client, offset: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let fetched = follower_fetch(client, OFFSETS, offset).await;
        assert_eq!(fetched.error_code, 0, "{fetched:?}");
        let records = fetched.records.unwrap_or_default();
        let got =
            strom_record::records_of(&records, strom_record::DecodeLimits::default()).unwrap();
        if let Some(last) = got.last() {
            return i64::try_from(last.offset.0).unwrap() + 1;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing new in {OFFSETS} after offset {offset}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The follower keeps fetching from `offset` (a fetch at the log end moves the high watermark)
/// until `task` finished; returns the offset it reached.
async fn follow_until_finished<T>(
    client: &mut Client,
    offset: i64,
    task: &tokio::task::JoinHandle<T>,
) -> i64 {
    let mut offset = offset;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !task.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request never finished"
        );
        let fetched = follower_fetch(client, OFFSETS, offset).await;
        assert_eq!(fetched.error_code, 0, "{fetched:?}");
        let records = fetched.records.unwrap_or_default();
        let got =
            strom_record::records_of(&records, strom_record::DecodeLimits::default()).unwrap();
        if let Some(last) = got.last() {
            offset = i64::try_from(last.offset.0).unwrap() + 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    offset
}

/// A simple consumer's OffsetCommit v8 of `offset` for `TOPIC`-0 on its own connection; the
/// partition's error code.
fn commit_in_background(broker: &TestBroker, offset: i64) -> tokio::task::JoinHandle<i16> {
    let addr = broker.addr();
    tokio::spawn(async move {
        let mut client = Client::connect(addr).await;
        let request = OffsetCommitRequest {
            group_id: GROUP.to_owned(),
            generation_id_or_member_epoch: -1,
            topics: vec![OffsetCommitRequestTopic {
                name: TOPIC.to_owned(),
                partitions: vec![OffsetCommitRequestPartition {
                    partition_index: 0,
                    committed_offset: offset,
                    ..OffsetCommitRequestPartition::default()
                }],
                ..OffsetCommitRequestTopic::default()
            }],
            ..OffsetCommitRequest::default()
        };
        let Response::OffsetCommit(response) = client.send(8, request).await else {
            panic!("not an OffsetCommit response");
        };
        response.topics[0].partitions[0].error_code
    })
}

/// OffsetFetch v8 of `TOPIC`-0: the committed offset (-1 for none).
async fn fetch_offset(client: &mut Client) -> i64 {
    let request = OffsetFetchRequest {
        groups: vec![OffsetFetchRequestGroup {
            group_id: GROUP.to_owned(),
            topics: Some(vec![OffsetFetchRequestTopics {
                name: TOPIC.to_owned(),
                partition_indexes: vec![0],
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
    let partition = &group.topics[0].partitions[0];
    assert_eq!(partition.error_code, 0, "{response:?}");
    partition.committed_offset
}

#[tokio::test]
async fn a_commit_is_answered_once_the_follower_has_it() {
    let broker = replicated_offsets(&[("offsets.commit.timeout.ms", "30000")], "1").await;
    assert_eq!(isr(&broker, OFFSETS), [1, 2]);
    let mut follower = broker.client().await;
    let commit = commit_in_background(&broker, 42);

    // The follower reads the commit's batch, beyond the high watermark ...
    let next = follower_fetch_new(&mut follower, 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !commit.is_finished(),
        "the commit was answered before the follower had it"
    );
    // ... and its next fetch says it has it: the high watermark passes the commit.
    let fetched = follower_fetch(&mut follower, OFFSETS, next).await;
    assert_eq!(fetched.high_watermark, next);
    assert_eq!(commit.await.unwrap(), 0);
    let mut client = broker.client().await;
    assert_eq!(fetch_offset(&mut client).await, 42);
}

#[tokio::test]
async fn commits_fail_with_coordinator_errors_when_the_isr_does_not_have_them() {
    let broker = replicated_offsets(
        &[
            ("offsets.commit.timeout.ms", "300"),
            ("replica.lag.time.max.ms", "300"),
        ],
        "2",
    )
    .await;
    let mut client = broker.client().await;
    let mut follower = broker.client().await;

    // The follower does not fetch: the commit is appended but times out.
    let timed_out = commit_in_background(&broker, 10).await.unwrap();
    assert_eq!(timed_out, ErrorCode::CoordinatorNotAvailable.code());

    // The follower falls out of the ISR; with min.insync.replicas=2 a commit is refused before
    // anything is appended.
    wait_for_isr(&broker, OFFSETS, &[1]).await;
    let refused = commit_in_background(&broker, 20).await.unwrap();
    assert_eq!(refused, ErrorCode::CoordinatorNotAvailable.code());

    // The follower catches up and rejoins the ISR. The log holds the timed-out commit (one
    // record) and nothing of the refused one; the first commit counts, the second never
    // happened.
    let next = follower_fetch_new(&mut follower, 0).await;
    assert_eq!(next, 1, "only the timed-out commit is in the log");
    let fetched = follower_fetch(&mut follower, OFFSETS, next).await;
    assert_eq!(fetched.high_watermark, next);
    wait_for_isr(&broker, OFFSETS, &[1, 2]).await;
    assert_eq!(fetch_offset(&mut client).await, 10);

    // With the follower fetching, commits succeed again.
    let commit = commit_in_background(&broker, 30);
    follow_until_finished(&mut follower, next, &commit).await;
    assert_eq!(commit.await.unwrap(), 0);
    assert_eq!(fetch_offset(&mut client).await, 30);
}

/// JoinGroup v7 of a consumer subscribed to `TOPIC`, with the member-id handshake: the member
/// id and generation (the member leads the group, being alone).
async fn join_alone(client: &mut Client) -> (String, i32) {
    let subscription = strom_group::Subscription {
        version: 1,
        topics: vec![TOPIC.to_owned()],
        ..strom_group::Subscription::default()
    };
    let mut member_id = String::new();
    for _ in 0..2 {
        let request = JoinGroupRequest {
            group_id: GROUP.to_owned(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            member_id: member_id.clone(),
            protocol_type: "consumer".to_owned(),
            protocols: vec![JoinGroupRequestProtocol {
                name: "range".to_owned(),
                metadata: Bytes::from(subscription.encode().unwrap()),
                ..JoinGroupRequestProtocol::default()
            }],
            ..JoinGroupRequest::default()
        };
        let Response::JoinGroup(response) = client.send(7, request).await else {
            panic!("not a JoinGroup response");
        };
        if response.error_code == 0 {
            assert_eq!(response.leader, response.member_id);
            return (response.member_id, response.generation_id);
        }
        assert_eq!(response.error_code, ErrorCode::MemberIdRequired.code());
        member_id = response.member_id;
    }
    panic!("the join did not complete");
}

/// The leader's SyncGroup v5 with an empty assignment for itself, on its own connection; the
/// error code.
fn sync_in_background(
    client: Client,
    member_id: String,
    generation_id: i32,
) -> tokio::task::JoinHandle<(Client, i16)> {
    tokio::spawn(async move {
        let mut client = client;
        let request = SyncGroupRequest {
            group_id: GROUP.to_owned(),
            generation_id,
            member_id: member_id.clone(),
            protocol_type: Some("consumer".to_owned()),
            protocol_name: Some("range".to_owned()),
            assignments: vec![SyncGroupRequestAssignment {
                member_id,
                assignment: Bytes::new(),
                ..SyncGroupRequestAssignment::default()
            }],
            ..SyncGroupRequest::default()
        };
        let Response::SyncGroup(response) = client.send(5, request).await else {
            panic!("not a SyncGroup response");
        };
        (client, response.error_code)
    })
}

/// DeleteGroups v2 of `GROUP`: its error code.
async fn delete_group(client: &mut Client) -> i16 {
    let request = DeleteGroupsRequest {
        groups_names: vec![GROUP.to_owned()],
        ..DeleteGroupsRequest::default()
    };
    let Response::DeleteGroups(response) = client.send(2, request).await else {
        panic!("not a DeleteGroups response");
    };
    response.results[0].error_code
}

#[tokio::test]
async fn sync_group_and_delete_groups_wait_for_the_isr_too() {
    let broker = replicated_offsets(&[("offsets.commit.timeout.ms", "300")], "1").await;
    let mut follower = broker.client().await;
    let mut member = broker.client().await;
    let (member_id, generation_id) = join_alone(&mut member).await;

    // The leader's SyncGroup writes the group's metadata; the follower does not fetch it in
    // time, so the answer is COORDINATOR_NOT_AVAILABLE.
    let (member, code) = sync_in_background(member, member_id.clone(), generation_id)
        .await
        .unwrap();
    assert_eq!(code, ErrorCode::CoordinatorNotAvailable.code());

    // Again (the group still waits for the assignment), with the follower fetching: it passes.
    let sync = sync_in_background(member, member_id.clone(), generation_id);
    let next = follow_until_finished(&mut follower, 0, &sync).await;
    let (mut member, code) = sync.await.unwrap();
    assert_eq!(code, 0);

    // The member leaves (its group is empty then); DeleteGroups writes tombstones, which the
    // follower does not fetch: the deletion is not confirmed.
    let request = strom_protocol::messages::leave_group::LeaveGroupRequest {
        group_id: GROUP.to_owned(),
        members: vec![strom_protocol::messages::leave_group::MemberIdentity {
            member_id,
            ..strom_protocol::messages::leave_group::MemberIdentity::default()
        }],
        ..strom_protocol::messages::leave_group::LeaveGroupRequest::default()
    };
    let leave = tokio::spawn(async move {
        let Response::LeaveGroup(response) = member.send(3, request).await else {
            panic!("not a LeaveGroup response");
        };
        response.error_code
    });
    follow_until_finished(&mut follower, next, &leave).await;
    assert_eq!(leave.await.unwrap(), 0);
    let mut admin = broker.client().await;
    assert_eq!(
        delete_group(&mut admin).await,
        ErrorCode::CoordinatorNotAvailable.code()
    );
}

#[tokio::test]
async fn a_commit_waiting_when_leadership_moves_gets_not_coordinator() {
    let broker = replicated_offsets(&[("offsets.commit.timeout.ms", "30000")], "1").await;
    let mut follower = broker.client().await;
    let waiting = commit_in_background(&broker, 5);
    follower_fetch_new(&mut follower, 0).await;
    assert!(!waiting.is_finished());

    // Node 1's metadata: node 1 fenced, node 2 (in the ISR) leads `__consumer_offsets-0` now.
    // The broker acts on it as its reconciliation would: it resigns, and the waiting commit
    // learns that this broker is no longer the coordinator.
    {
        let Plane::Local(controller) = broker.broker().plane() else {
            panic!("the test broker runs without a quorum");
        };
        controller
            .lock()
            .unwrap()
            .fence_broker(BrokerId(1))
            .unwrap();
    }
    let image = broker.broker().image();
    let partition = image.partition(OFFSETS, PartitionIndex(0)).unwrap();
    assert_eq!(partition.leader, Some(BrokerId(2)));
    broker
        .broker()
        .open_partitions(image.topic(OFFSETS).unwrap(), 0)
        .unwrap();
    assert_eq!(waiting.await.unwrap(), ErrorCode::NotCoordinator.code());
    // A new commit is refused before anything is appended.
    let refused = commit_in_background(&broker, 6).await.unwrap();
    assert_eq!(refused, ErrorCode::NotCoordinator.code());
}
