//! Durability: replaying the records a coordinator persisted gives the same groups and offsets,
//! and a partition that fails to load keeps answering COORDINATOR_LOAD_IN_PROGRESS.

use strom_group::{
    Coordinator, GenerationId, GroupError, GroupId, GroupState, HeartbeatRequest, LoadRecord,
    Offset, OffsetCommitPartition, OffsetFetchGroup, OffsetFetchRequest, OffsetsPartition,
    OffsetsRecord, ProducerId, TimeMs, TopicPartition, TxnOffsetCommitRequest,
};

use crate::harness::{Harness, Joiner, config};

fn snapshot(coordinator: &Coordinator) -> String {
    let described = coordinator.describe_groups(&[GroupId("g".into()), GroupId("simple".into())]);
    let offsets = coordinator.offset_fetch(&OffsetFetchRequest {
        groups: vec![
            OffsetFetchGroup {
                group_id: GroupId("g".into()),
                partitions: None,
            },
            OffsetFetchGroup {
                group_id: GroupId("simple".into()),
                partitions: None,
            },
        ],
        require_stable: false,
    });
    format!("{described:#?}\n{offsets:#?}")
}

#[test]
fn replay_gives_the_same_groups_and_offsets() {
    let mut h = Harness::new();
    let t1 = h.join(&Joiner::new("c1").instance("i1"));
    let t2 = h.join(&Joiner::new("c2"));
    h.advance(100);
    h.advance(100);
    let m1 = h.member_id(t1);
    let m2 = h.member_id(t2);
    h.sync(&m1, 1, &[(&m1, "a-0"), (&m2, "a-1")]);
    h.sync(&m2, 1, &[]);
    h.commit(Some(&m1), Some(1), 10);
    h.commit(Some(&m2), Some(1), 11);
    // An offsets-only group with a committed and an aborted transaction.
    let mut markers = Vec::new();
    for (producer, offset, commit) in [(1, 50, true), (2, 60, false)] {
        let request = TxnOffsetCommitRequest {
            group_id: GroupId("simple".into()),
            producer_id: ProducerId(producer),
            generation_id: None,
            member_id: None,
            group_instance_id: None,
            partitions: vec![OffsetCommitPartition {
                topic_partition: TopicPartition::new("s", 0),
                committed_offset: Offset(offset),
                committed_leader_epoch: None,
                committed_metadata: None,
            }],
        };
        let output = h.coordinator.txn_offset_commit(request, TimeMs(h.now));
        h.record(output.effects);
        h.coordinator.complete_transaction(
            OffsetsPartition(0),
            ProducerId(producer),
            commit,
            TimeMs(h.now),
        );
        markers.push((
            h.persisted.len(),
            LoadRecord::Marker {
                producer_id: ProducerId(producer),
                commit,
            },
        ));
    }

    let mut records: Vec<LoadRecord> = Vec::new();
    for (index, (producer_id, record)) in h.persisted.iter().enumerate() {
        records.push(LoadRecord::Data {
            producer_id: *producer_id,
            record: record.clone(),
        });
        for (position, marker) in &markers {
            if *position == index + 1 {
                records.push(marker.clone());
            }
        }
    }
    let mut replayed = Coordinator::new(config());
    replayed.begin_load(OffsetsPartition(0));
    replayed
        .load(OffsetsPartition(0), records, TimeMs(h.now))
        .unwrap();
    assert_eq!(snapshot(&replayed), snapshot(&h.coordinator));
    assert_eq!(
        replayed.group_state(&GroupId("g".into())),
        Some(GroupState::Stable)
    );
    let offsets = replayed
        .committed_offsets(&GroupId("simple".into()))
        .unwrap();
    assert_eq!(
        offsets.into_iter().collect::<Vec<_>>(),
        vec![(TopicPartition::new("s", 0), Offset(50))]
    );

    // Loaded members keep their generation and get a fresh session.
    let heartbeat = |member_id: &strom_group::MemberId| HeartbeatRequest {
        group_id: GroupId("g".into()),
        generation_id: GenerationId(1),
        member_id: member_id.clone(),
        group_instance_id: None,
    };
    let now = h.now;
    assert_eq!(
        replayed
            .heartbeat(heartbeat(&m1), TimeMs(now + 9_000))
            .response
            .error,
        None
    );
    replayed.tick(TimeMs(now + 10_000));
    // m2 never heartbeat after the load: its session ended and the group rebalances.
    assert_eq!(
        replayed
            .heartbeat(heartbeat(&m1), TimeMs(now + 10_000))
            .response
            .error,
        Some(GroupError::RebalanceInProgress)
    );
    assert_eq!(
        replayed
            .heartbeat(heartbeat(&m2), TimeMs(now + 10_000))
            .response
            .error,
        Some(GroupError::UnknownMemberId)
    );
}

#[test]
fn replayed_tombstones_delete() {
    let mut h = Harness::new();
    h.commit(None, None, 5);
    let output = h
        .coordinator
        .delete_groups(&[GroupId("g".into())], TimeMs(0));
    h.record(output.effects);
    let replayed = h.replay(0);
    assert_eq!(replayed.group_state(&GroupId("g".into())), None);
    assert_eq!(
        replayed.committed_offsets(&GroupId("g".into())),
        Err(GroupError::GroupIdNotFound)
    );
}

#[test]
fn corrupt_record_leaves_partition_loading() {
    let mut coordinator = Coordinator::new(config());
    coordinator.begin_load(OffsetsPartition(0));
    let bad = LoadRecord::Data {
        producer_id: None,
        record: OffsetsRecord {
            key: vec![0, 9, 1],
            value: None,
        },
    };
    assert!(
        coordinator
            .load(OffsetsPartition(0), vec![bad], TimeMs(0))
            .is_err()
    );
    assert_eq!(
        coordinator.committed_offsets(&GroupId("g".into())),
        Err(GroupError::CoordinatorLoadInProgress)
    );
}

mod random {
    //! Random sequences of group operations: the coordinator never panics, generations never go
    //! back, and replaying what it persisted gives the same offsets, and the same group whenever
    //! the live group is in a persisted state (Stable or Empty).

    use proptest::prelude::*;
    use strom_group::{
        Config, DelayedResponse, GroupId, GroupState, MemberId, OffsetFetchGroup,
        OffsetFetchRequest,
    };

    use crate::harness::{Harness, Joiner, config};

    #[derive(Debug, Clone)]
    enum Op {
        Join {
            client: usize,
            instance: bool,
            metadata: u8,
        },
        Rejoin {
            member: usize,
            metadata: u8,
        },
        SyncLeader,
        SyncFollower {
            member: usize,
        },
        Heartbeat {
            member: usize,
        },
        Leave {
            member: usize,
        },
        Commit {
            member: usize,
            offset: i64,
        },
        SimpleCommit {
            offset: i64,
        },
        Advance {
            ms: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0usize..4, any::<bool>(), 0u8..2)
                .prop_map(|(client, instance, metadata)| Op::Join { client, instance, metadata }),
            2 => (0usize..6, 0u8..2).prop_map(|(member, metadata)| Op::Rejoin { member, metadata }),
            3 => Just(Op::SyncLeader),
            2 => (0usize..6).prop_map(|member| Op::SyncFollower { member }),
            2 => (0usize..6).prop_map(|member| Op::Heartbeat { member }),
            1 => (0usize..6).prop_map(|member| Op::Leave { member }),
            2 => (0usize..6, 0i64..100).prop_map(|(member, offset)| Op::Commit { member, offset }),
            1 => (0i64..100).prop_map(|offset| Op::SimpleCommit { offset }),
            2 => (0u64..300).prop_map(|ms| Op::Advance { ms }),
            1 => (0u64..15_000).prop_map(|ms| Op::Advance { ms }),
        ]
    }

    const CLIENTS: [&str; 4] = ["c0", "c1", "c2", "c3"];
    const INSTANCES: [&str; 4] = ["i0", "i1", "i2", "i3"];

    /// Members seen in JoinGroup responses: id, instance, generation of the latest answer.
    fn members(h: &Harness) -> Vec<(MemberId, i32)> {
        let mut res: Vec<(MemberId, i32)> = Vec::new();
        for response in h.responses.values() {
            if let DelayedResponse::JoinGroup(response) = response
                && response.error.is_none()
                && let (Some(member_id), Some(generation)) =
                    (&response.member_id, response.generation_id)
            {
                match res.iter_mut().find(|(id, _)| id == member_id) {
                    Some(entry) => entry.1 = entry.1.max(generation.0),
                    None => res.push((member_id.clone(), generation.0)),
                }
            }
        }
        res
    }

    fn apply(h: &mut Harness, op: &Op) {
        let known = members(h);
        let pick = |index: usize| known.get(index % known.len().max(1)).cloned();
        match op {
            Op::Join {
                client,
                instance,
                metadata,
            } => {
                let mut joiner =
                    Joiner::new(CLIENTS[*client]).protocols(&[("range", &[*metadata])]);
                if *instance {
                    joiner = joiner.instance(INSTANCES[*client]);
                }
                h.join(&joiner);
            }
            Op::Rejoin { member, metadata } => {
                if let Some((member_id, _)) = pick(*member) {
                    h.join(
                        &Joiner::new("c")
                            .member(&member_id)
                            .protocols(&[("range", &[*metadata])]),
                    );
                }
            }
            Op::SyncLeader => {
                let leader = h
                    .responses
                    .values()
                    .rev()
                    .find_map(|response| match response {
                        DelayedResponse::JoinGroup(response) if !response.members.is_empty() => {
                            Some(response.clone())
                        }
                        _ => None,
                    });
                if let Some(response) = leader {
                    let member_id = response.member_id.clone().unwrap();
                    let assignments: Vec<(MemberId, String)> = response
                        .members
                        .iter()
                        .map(|member| {
                            (
                                member.member_id.clone(),
                                format!("for-{}", member.member_id.0.len()),
                            )
                        })
                        .collect();
                    let refs: Vec<(&MemberId, &str)> = assignments
                        .iter()
                        .map(|(id, text)| (id, text.as_str()))
                        .collect();
                    h.sync(&member_id, response.generation_id.unwrap().0, &refs);
                }
            }
            Op::SyncFollower { member } => {
                if let Some((member_id, generation)) = pick(*member) {
                    h.sync(&member_id, generation, &[]);
                }
            }
            Op::Heartbeat { member } => {
                if let Some((member_id, generation)) = pick(*member) {
                    h.heartbeat(&member_id, generation);
                }
            }
            Op::Leave { member } => {
                if let Some((member_id, _)) = pick(*member) {
                    h.leave(Some(&member_id), None);
                }
            }
            Op::Commit { member, offset } => {
                if let Some((member_id, generation)) = pick(*member) {
                    h.commit(Some(&member_id), Some(generation), *offset);
                }
            }
            Op::SimpleCommit { offset } => h.commit(None, None, *offset),
            Op::Advance { ms } => h.advance(*ms),
        }
    }

    fn offsets(coordinator: &strom_group::Coordinator) -> String {
        let request = OffsetFetchRequest {
            groups: vec![OffsetFetchGroup {
                group_id: GroupId("g".into()),
                partitions: None,
            }],
            require_stable: false,
        };
        format!("{:?}", coordinator.offset_fetch(&request))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_operations_replay_to_the_same_state(ops in proptest::collection::vec(op(), 1..40)) {
            let mut h = Harness::with_config(Config {
                offsets_retention_check_interval_ms: u64::MAX / 4,
                ..config()
            });
            let mut max_generation = 0;
            for op in &ops {
                apply(&mut h, op);
                for (_, generation) in members(&h) {
                    prop_assert!(generation >= 0);
                    max_generation = max_generation.max(generation);
                }
                let described = &h.coordinator.describe_groups(&[GroupId("g".into())])[0];
                let member_ids: std::collections::BTreeSet<_> =
                    described.members.iter().map(|member| &member.member_id).collect();
                prop_assert_eq!(member_ids.len(), described.members.len(), "duplicate member");
            }
            // Let the last rebalance finish, so that most cases end in a persisted state.
            let settle = [Op::Advance { ms: 100 }, Op::Advance { ms: 100 }, Op::SyncLeader];
            for op in &settle {
                apply(&mut h, op);
            }
            for member in 0..members(&h).len() {
                apply(&mut h, &Op::SyncFollower { member });
            }
            let replayed = h.replay(h.now);
            prop_assert_eq!(offsets(&replayed), offsets(&h.coordinator));
            let group_id = GroupId("g".into());
            let live = h.coordinator.describe_groups(std::slice::from_ref(&group_id));
            if matches!(live[0].group_state, GroupState::Stable | GroupState::Empty) {
                let again = replayed.describe_groups(std::slice::from_ref(&group_id));
                prop_assert_eq!(again, live, "log:\n{}", h.log);
            }
        }
    }
}
