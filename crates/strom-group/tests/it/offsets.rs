//! Offsets: commit checks (stale generations, simple consumers), transactional offsets,
//! OffsetFetch, OffsetDelete, expiry, and the admin calls.

use expect_test::expect;
use strom_group::{
    Config, Coordinator, GroupError, GroupId, GroupState, ListGroupsRequest, MemberId, Offset,
    OffsetCommitPartition, OffsetDeleteRequest, OffsetFetchGroup, OffsetFetchRequest,
    OffsetsPartition, ProducerId, Subscription, TimeMs, TopicPartition, TxnOffsetCommitRequest,
};

use crate::harness::{Harness, Joiner, config};

fn subscription(topics: &[&str]) -> Vec<u8> {
    Subscription {
        version: 1,
        topics: topics.iter().map(|t| t.to_string()).collect(),
        ..Subscription::default()
    }
    .encode()
    .unwrap()
}

/// A stable group of one consumer subscribed to topic `t`, generation 1.
fn stable_group(h: &mut Harness) -> MemberId {
    let metadata = subscription(&["t"]);
    let token = h.join(&Joiner::new("c1").protocols(&[("range", &metadata)]));
    h.advance(100);
    let member_id = h.member_id(token);
    h.sync(&member_id, 1, &[(&member_id, "t-0")]);
    member_id
}

fn fetch(
    h: &Harness,
    groups: &[&str],
    require_stable: bool,
) -> Vec<(String, Option<GroupError>, Vec<String>)> {
    let request = OffsetFetchRequest {
        groups: groups
            .iter()
            .map(|group| OffsetFetchGroup {
                group_id: GroupId(group.to_string()),
                partitions: None,
            })
            .collect(),
        require_stable,
    };
    h.coordinator
        .offset_fetch(&request)
        .groups
        .into_iter()
        .map(|group| {
            let partitions = group
                .partitions
                .iter()
                .map(|p| match p.error {
                    Some(error) => format!("{}:{error:?}", p.topic_partition),
                    None => format!(
                        "{}={:?}",
                        p.topic_partition,
                        p.committed_offset.map(|o| o.0)
                    ),
                })
                .collect();
            (group.group_id.0, group.error, partitions)
        })
        .collect()
}

#[test]
fn stale_generation_commits_are_rejected() {
    let mut h = Harness::new();
    let member_id = stable_group(&mut h);
    h.commit(Some(&member_id), Some(1), 10);
    // A second member joins: generation 2 while the first member still thinks it is in 1.
    let metadata = subscription(&["t"]);
    let token = h.join(&Joiner::new("c2").protocols(&[("range", &metadata)]));
    h.commit(Some(&member_id), Some(1), 11);
    h.join(
        &Joiner::new("c1")
            .member(&member_id)
            .protocols(&[("range", &metadata)]),
    );
    let other = h.member_id(token);
    h.commit(Some(&member_id), Some(2), 12);
    h.commit(Some(&member_id), Some(1), 13);
    h.commit(Some(&MemberId("stranger".into())), Some(2), 14);
    h.commit(None, None, 15);
    h.sync(&member_id, 2, &[(&member_id, "t-0"), (&other, "")]);
    h.commit(Some(&member_id), Some(2), 16);
    expect![[r#"
          wakeup @600000
        @0 join t1 c1
          wakeup @100
        @100 tick
          -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1]
          wakeup @10100
        @100 sync t2 m1 gen=1
          persist p0 group[gen=1 members=m1:t-0]
          -> t2 sync ok assignment="t-0"
        @100 commit m1 gen=Some(1) offset=10: ok
          persist p0 offset[t-0=10]
        @100 join t3 c2
        @100 commit m1 gen=Some(1) offset=11: ok
          persist p0 offset[t-0=11]
        @100 join t4 m1
          -> t4 join ok gen=2 protocol=range leader=m1 member=m1 members=[m1,m2]
          -> t3 join ok gen=2 protocol=range leader=m1 member=m2 members=[]
        @100 commit m1 gen=Some(2) offset=12: RebalanceInProgress
        @100 commit m1 gen=Some(1) offset=13: IllegalGeneration
        @100 commit m3 gen=Some(2) offset=14: UnknownMemberId
        @100 commit - gen=None offset=15: UnknownMemberId
        @100 sync t5 m1 gen=2
          persist p0 group[gen=2 members=m1:t-0,m2:]
          -> t5 sync ok assignment="t-0"
        @100 commit m1 gen=Some(2) offset=16: ok
          persist p0 offset[t-0=16]
    "#]]
    .assert_eq(&h.take_log());
    assert_eq!(
        fetch(&h, &["g"], false),
        vec![("g".to_string(), None, vec!["t-0=Some(16)".to_string()])]
    );
}

#[test]
fn simple_consumers_commit_without_a_generation() {
    let mut h = Harness::new();
    h.commit(None, None, 5);
    h.commit(None, None, 3);
    expect![[r#"
          wakeup @600000
        @0 commit - gen=None offset=5: ok
          persist p0 offset[t-0=5]
        @0 commit - gen=None offset=3: ok
          persist p0 offset[t-0=3]
    "#]]
    .assert_eq(&h.take_log());
    assert_eq!(
        h.coordinator.group_state(&GroupId("g".into())),
        Some(GroupState::Empty)
    );
    let offsets = h
        .coordinator
        .committed_offsets(&GroupId("g".into()))
        .unwrap();
    assert_eq!(
        offsets.into_iter().collect::<Vec<_>>(),
        vec![(TopicPartition::new("t", 0), Offset(3))]
    );
}

#[test]
fn metadata_too_large_is_rejected_per_partition() {
    let mut h = Harness::with_config(Config {
        offset_metadata_max_bytes: 0,
        ..config()
    });
    h.commit(None, None, 5);
    expect![[r#"
          wakeup @600000
        @0 commit - gen=None offset=5: OffsetMetadataTooLarge
    "#]]
    .assert_eq(&h.take_log());
}

#[test]
fn transactional_offsets_become_visible_on_commit() {
    let mut h = Harness::new();
    let txn = |producer: i64, offset: i64| TxnOffsetCommitRequest {
        group_id: GroupId("g".into()),
        producer_id: ProducerId(producer),
        generation_id: None,
        member_id: None,
        group_instance_id: None,
        partitions: vec![OffsetCommitPartition {
            topic_partition: TopicPartition::new("t", 0),
            committed_offset: Offset(offset),
            committed_leader_epoch: None,
            committed_metadata: None,
        }],
    };
    let output = h.coordinator.txn_offset_commit(txn(7, 100), TimeMs(0));
    assert_eq!(output.response.partitions[0].error, None);
    h.record(output.effects);
    assert_eq!(
        fetch(&h, &["g"], false),
        vec![("g".to_string(), None, vec![])]
    );
    let request = OffsetFetchRequest {
        groups: vec![OffsetFetchGroup {
            group_id: GroupId("g".into()),
            partitions: Some(vec![TopicPartition::new("t", 0)]),
        }],
        require_stable: true,
    };
    let res = h.coordinator.offset_fetch(&request);
    assert_eq!(
        res.groups[0].partitions[0].error,
        Some(GroupError::UnstableOffsetCommit)
    );

    let effects =
        h.coordinator
            .complete_transaction(OffsetsPartition(0), ProducerId(7), true, TimeMs(0));
    h.record(effects);
    assert_eq!(
        fetch(&h, &["g"], true),
        vec![("g".to_string(), None, vec!["t-0=Some(100)".to_string()])]
    );

    let output = h.coordinator.txn_offset_commit(txn(8, 200), TimeMs(0));
    h.record(output.effects);
    let effects =
        h.coordinator
            .complete_transaction(OffsetsPartition(0), ProducerId(8), false, TimeMs(0));
    h.record(effects);
    assert_eq!(
        fetch(&h, &["g"], true),
        vec![("g".to_string(), None, vec!["t-0=Some(100)".to_string()])]
    );
    // A heading keeps the indented effect lines from being dedented by expect-test.
    h.log.insert_str(0, "effects:\n");
    expect![[r#"
        effects:
          wakeup @600000
          persist p0 txn=7 offset[t-0=100]
          persist p0 txn=8 offset[t-0=200]
    "#]]
    .assert_eq(&h.take_log());
}

#[test]
fn offset_fetch_of_several_groups() {
    let mut h = Harness::new();
    h.commit(None, None, 5);
    assert_eq!(
        fetch(&h, &["g", "unknown", ""], false),
        vec![
            ("g".to_string(), None, vec!["t-0=Some(5)".to_string()]),
            ("unknown".to_string(), None, vec![]),
            ("".to_string(), Some(GroupError::InvalidGroupId), vec![]),
        ]
    );
}

#[test]
fn offset_delete_refuses_subscribed_topics() {
    let mut h = Harness::new();
    let member_id = stable_group(&mut h);
    h.commit(Some(&member_id), Some(1), 10);
    let output = h.coordinator.offset_commit(
        strom_group::OffsetCommitRequest {
            group_id: GroupId("g".into()),
            generation_id: Some(strom_group::GenerationId(1)),
            member_id: Some(member_id.clone()),
            group_instance_id: None,
            retention_time_ms: None,
            partitions: vec![OffsetCommitPartition {
                topic_partition: TopicPartition::new("old", 0),
                committed_offset: Offset(4),
                committed_leader_epoch: None,
                committed_metadata: None,
            }],
        },
        TimeMs(h.now),
    );
    h.record(output.effects);
    let request = OffsetDeleteRequest {
        group_id: GroupId("g".into()),
        partitions: vec![TopicPartition::new("t", 0), TopicPartition::new("old", 0)],
    };
    let output = h.coordinator.offset_delete(request, TimeMs(h.now));
    expect![[r#"
        OffsetDeleteResponse {
            error: None,
            partitions: [
                PartitionResult {
                    topic_partition: TopicPartition {
                        topic: "t",
                        partition: PartitionIndex(
                            0,
                        ),
                    },
                    error: Some(
                        GroupSubscribedToTopic,
                    ),
                },
                PartitionResult {
                    topic_partition: TopicPartition {
                        topic: "old",
                        partition: PartitionIndex(
                            0,
                        ),
                    },
                    error: None,
                },
            ],
        }
    "#]]
    .assert_debug_eq(&output.response);
    h.record(output.effects);
    let unknown = h.coordinator.offset_delete(
        OffsetDeleteRequest {
            group_id: GroupId("nope".into()),
            partitions: vec![],
        },
        TimeMs(h.now),
    );
    assert_eq!(unknown.response.error, Some(GroupError::GroupIdNotFound));
    assert_eq!(
        fetch(&h, &["g"], false),
        vec![("g".to_string(), None, vec!["t-0=Some(10)".to_string()])]
    );
}

#[test]
fn offsets_expire_after_the_group_empties() {
    let mut h = Harness::with_config(Config {
        offsets_retention_ms: 1_000_000,
        offsets_retention_check_interval_ms: 500_000,
        ..config()
    });
    let member_id = stable_group(&mut h);
    h.commit(Some(&member_id), Some(1), 10);
    h.take_log();
    h.leave(Some(&member_id), None);
    // The group is empty from t=100: its offsets expire at 1_000_100, checked every 500_000.
    h.advance(499_900);
    h.advance(500_000);
    h.advance(500_000);
    expect![[r#"
        @100 leave m1: None ok
          persist p0 group[gen=2 members=]
          wakeup @500000
        @500000 tick
          wakeup @1000000
        @1000000 tick
          wakeup @1500000
        @1500000 tick
          persist p0 offset[t-0=tombstone]
          persist p0 group[tombstone]
          wakeup @2000000
    "#]]
    .assert_eq(&h.take_log());
    assert_eq!(h.coordinator.group_state(&GroupId("g".into())), None);
}

#[test]
fn simple_consumer_offsets_expire_by_commit_time() {
    let mut h = Harness::with_config(Config {
        offsets_retention_ms: 1_000,
        offsets_retention_check_interval_ms: 600,
        ..config()
    });
    h.commit(None, None, 1);
    h.advance(600);
    h.commit(None, None, 2);
    h.advance(600);
    h.advance(600);
    expect![[r#"
          wakeup @600
        @0 commit - gen=None offset=1: ok
          persist p0 offset[t-0=1]
        @600 tick
          wakeup @1200
        @600 commit - gen=None offset=2: ok
          persist p0 offset[t-0=2]
        @1200 tick
          wakeup @1800
        @1800 tick
          persist p0 offset[t-0=tombstone]
          persist p0 group[tombstone]
          wakeup @2400
    "#]]
    .assert_eq(&h.take_log());
}

#[test]
fn admin_list_describe_delete() {
    let mut h = Harness::new();
    let member_id = stable_group(&mut h);
    h.take_log();
    let all = h.coordinator.list_groups(&ListGroupsRequest::default());
    let stable_only = h.coordinator.list_groups(&ListGroupsRequest {
        states_filter: vec![GroupState::Stable],
    });
    let empty_only = h.coordinator.list_groups(&ListGroupsRequest {
        states_filter: vec![GroupState::Empty],
    });
    assert_eq!(all.groups.len(), 1);
    assert_eq!(stable_only, all);
    assert!(empty_only.groups.is_empty());
    let described = h
        .coordinator
        .describe_groups(&[GroupId("g".into()), GroupId("other".into())]);
    assert_eq!(described[0].group_state, GroupState::Stable);
    assert_eq!(described[0].protocol_data, "range");
    assert_eq!(described[0].members[0].member_assignment, b"t-0");
    assert_eq!(described[0].members[0].client_id, "c1");
    assert_eq!(
        Subscription::decode(&described[0].members[0].member_metadata)
            .unwrap()
            .topics,
        vec!["t"]
    );
    assert_eq!(described[1].group_state, GroupState::Dead);
    assert_eq!(described[1].error, None);

    let output = h.coordinator.delete_groups(
        &[GroupId("g".into()), GroupId("other".into())],
        TimeMs(h.now),
    );
    let errors: Vec<_> = output.response.iter().map(|group| group.error).collect();
    assert_eq!(
        errors,
        vec![
            Some(GroupError::NonEmptyGroup),
            Some(GroupError::GroupIdNotFound)
        ]
    );
    h.commit(Some(&member_id), Some(1), 3);
    h.leave(Some(&member_id), None);
    let output = h
        .coordinator
        .delete_groups(&[GroupId("g".into())], TimeMs(h.now));
    assert_eq!(output.response[0].error, None);
    h.record(output.effects);
    expect![[r#"
        @100 commit m1 gen=Some(1) offset=3: ok
          persist p0 offset[t-0=3]
        @100 leave m1: None ok
          persist p0 group[gen=2 members=]
          wakeup @600000
          persist p0 offset[t-0=tombstone] group[tombstone]
    "#]]
    .assert_eq(&h.take_log());
    assert_eq!(h.coordinator.group_state(&GroupId("g".into())), None);
}

#[test]
fn unloaded_partitions_answer_load_in_progress_or_not_coordinator() {
    let mut coordinator = Coordinator::new(config());
    let group_id = GroupId("g".into());
    assert_eq!(
        coordinator.committed_offsets(&group_id),
        Err(GroupError::NotCoordinator)
    );
    coordinator.begin_load(OffsetsPartition(0));
    assert_eq!(
        coordinator.committed_offsets(&group_id),
        Err(GroupError::CoordinatorLoadInProgress)
    );
    let listed = coordinator.list_groups(&ListGroupsRequest::default());
    assert_eq!(listed.error, Some(GroupError::CoordinatorLoadInProgress));
    let mut h = Harness::unloaded(coordinator);
    h.join(&Joiner::new("c1"));
    h.commit(None, None, 1);
    expect![[r#"
        @0 join t1 c1
          -> t1 join CoordinatorLoadInProgress member=-
        @0 commit - gen=None offset=1: CoordinatorLoadInProgress
    "#]]
    .assert_eq(&h.take_log());
    let effects = h
        .coordinator
        .load(OffsetsPartition(0), Vec::new(), TimeMs(0))
        .unwrap();
    h.record(effects);
    h.commit(None, None, 1);
    h.coordinator.unload(OffsetsPartition(0));
    assert_eq!(
        h.coordinator.committed_offsets(&group_id),
        Err(GroupError::NotCoordinator)
    );
}
