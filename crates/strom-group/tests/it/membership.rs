//! JoinGroup/SyncGroup/Heartbeat/LeaveGroup sequences with injected time, checked as logs.

use expect_test::{Expect, expect};
use strom_group::{Config, GroupId, GroupState};

use crate::harness::{Harness, Joiner, config};

#[track_caller]
fn check(scenario: impl FnOnce(&mut Harness), expect: Expect) {
    let mut harness = Harness::new();
    scenario(&mut harness);
    expect.assert_eq(&harness.log);
}

#[track_caller]
fn check_with(config: Config, scenario: impl FnOnce(&mut Harness), expect: Expect) {
    let mut harness = Harness::with_config(config);
    scenario(&mut harness);
    expect.assert_eq(&harness.log);
}

/// Two members join (the second during the initial delay), sync, and heartbeat.
fn form_group(h: &mut Harness) -> (strom_group::MemberId, strom_group::MemberId) {
    let t1 = h.join(&Joiner::new("c1"));
    h.advance(50);
    let t2 = h.join(&Joiner::new("c2"));
    h.advance(100);
    h.advance(100);
    let m1 = h.member_id(t1);
    let m2 = h.member_id(t2);
    h.sync(&m2, 1, &[]);
    h.sync(&m1, 1, &[(&m1, "a-0"), (&m2, "a-1")]);
    (m1, m2)
}

#[test]
fn join_sync_heartbeat() {
    check(
        |h| {
            let (m1, m2) = form_group(h);
            h.heartbeat(&m1, 1);
            h.heartbeat(&m2, 1);
            h.heartbeat(&m2, 0);
            assert_eq!(
                h.coordinator.group_state(&GroupId("g".into())),
                Some(GroupState::Stable)
            );
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @250 heartbeat m1 gen=1: ok
            @250 heartbeat m2 gen=1: ok
            @250 heartbeat m2 gen=0: IllegalGeneration
        "#]],
    );
}

#[test]
fn member_id_required_flow() {
    check(
        |h| {
            let mut joiner = Joiner::new("c1");
            joiner.require_known_member_id = true;
            let t1 = h.join(&joiner);
            let m1 = h.member_id(t1);
            // The issued id is pending: heartbeats with it are unknown until it joins.
            h.heartbeat(&m1, 0);
            h.join(&joiner.clone().member(&m1));
            h.advance(100);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              -> t1 join MemberIdRequired member=m1
              wakeup @10000
            @0 heartbeat m1 gen=0: UnknownMemberId
            @0 join t2 m1
              wakeup @100
            @100 tick
              -> t2 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1]
              wakeup @10100
        "#]],
    );
}

#[test]
fn pending_member_that_never_rejoins_expires() {
    check(
        |h| {
            let (m1, m2) = form_group(h);
            let mut joiner = Joiner::new("c3");
            joiner.require_known_member_id = true;
            h.join(&joiner);
            // A rebalance started by m1 waits for the pending member until its session passes.
            h.join(&Joiner::new("c1").member(&m1));
            h.join(&Joiner::new("c2").member(&m2));
            h.advance(10_000);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @250 join t5 c3
              -> t5 join MemberIdRequired member=m3
            @250 join t6 m1
            @250 join t7 m2
            @10250 tick
              -> t6 join ok gen=2 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t7 join ok gen=2 protocol=range leader=m1 member=m2 members=[]
              wakeup @20250
        "#]],
    );
}

#[test]
fn session_expiry_rebalances_the_rest() {
    check(
        |h| {
            let (m1, m2) = form_group(h);
            h.advance(6_000);
            h.heartbeat(&m1, 1);
            h.advance(4_000);
            h.heartbeat(&m1, 1);
            h.join(&Joiner::new("c1").member(&m1));
            h.heartbeat(&m2, 1);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @6250 tick
            @6250 heartbeat m1 gen=1: ok
            @10250 tick
              wakeup @16250
            @10250 heartbeat m1 gen=1: RebalanceInProgress
              wakeup @20250
            @10250 join t5 m1
              -> t5 join ok gen=2 protocol=range leader=m1 member=m1 members=[m1]
            @10250 heartbeat m2 gen=1: UnknownMemberId
        "#]],
    );
}

#[test]
fn slow_member_is_removed_by_rebalance_timeout() {
    check(
        |h| {
            let (m1, m2) = form_group(h);
            // m1 changes its subscription; m2 keeps heartbeating but never rejoins.
            h.join(
                &Joiner::new("c1")
                    .member(&m1)
                    .protocols(&[("range", b"new")]),
            );
            for _ in 0..6 {
                h.advance(5_000);
                h.heartbeat(&m2, 1);
            }
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @250 join t5 m1
            @5250 tick
            @5250 heartbeat m2 gen=1: RebalanceInProgress
            @10250 tick
              wakeup @15250
            @10250 heartbeat m2 gen=1: RebalanceInProgress
              wakeup @20250
            @15250 tick
            @15250 heartbeat m2 gen=1: RebalanceInProgress
              wakeup @25250
            @20250 tick
            @20250 heartbeat m2 gen=1: RebalanceInProgress
              wakeup @30250
            @25250 tick
            @25250 heartbeat m2 gen=1: RebalanceInProgress
            @30250 tick
              -> t5 join ok gen=2 protocol=range leader=m1 member=m1 members=[m1]
              wakeup @40250
            @30250 heartbeat m2 gen=1: UnknownMemberId
        "#]],
    );
}

#[test]
fn follower_rejoin_with_same_metadata_keeps_generation() {
    check(
        |h| {
            let (_, m2) = form_group(h);
            h.join(&Joiner::new("c2").member(&m2));
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @250 join t5 m2
              -> t5 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
        "#]],
    );
}

#[test]
fn leader_leaves_during_completing_rebalance() {
    check(
        |h| {
            let t1 = h.join(&Joiner::new("c1"));
            let t2 = h.join(&Joiner::new("c2"));
            h.advance(100);
            h.advance(100);
            let m1 = h.member_id(t1);
            let m2 = h.member_id(t2);
            // The follower waits for the leader's assignment, but the leader leaves.
            h.sync(&m2, 1, &[]);
            h.leave(Some(&m1), None);
            h.join(&Joiner::new("c2").member(&m2));
            h.sync(&m2, 2, &[(&m2, "a-0,a-1")]);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @0 join t2 c2
            @100 tick
              wakeup @200
            @200 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10200
            @200 sync t3 m2 gen=1
            @200 leave m1: None ok
              -> t3 sync RebalanceInProgress
            @200 join t4 m2
              -> t4 join ok gen=2 protocol=range leader=m2 member=m2 members=[m2]
            @200 sync t5 m2 gen=2
              persist p0 group[gen=2 members=m2:a-0,a-1]
              -> t5 sync ok assignment="a-0,a-1"
        "#]],
    );
}

#[test]
fn member_that_never_syncs_is_removed() {
    check(
        |h| {
            // Sessions longer than the rebalance timeout, so the sync timeout acts first.
            let mut joiner = Joiner::new("c1");
            joiner.session_timeout_ms = 60_000;
            let t1 = h.join(&joiner);
            joiner.client_id = "c2";
            h.join(&joiner);
            h.advance(100);
            h.advance(100);
            let m1 = h.member_id(t1);
            h.sync(&m1, 1, &[(&m1, "a-0")]);
            for _ in 0..3 {
                h.advance(10_000);
                h.heartbeat(&m1, 1);
            }
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @0 join t2 c2
            @100 tick
              wakeup @200
            @200 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @30200
            @200 sync t3 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:]
              -> t3 sync ok assignment="a-0"
            @10200 tick
            @10200 heartbeat m1 gen=1: ok
            @20200 tick
            @20200 heartbeat m1 gen=1: ok
            @30200 tick
              wakeup @60200
            @30200 heartbeat m1 gen=1: RebalanceInProgress
        "#]],
    );
}

#[test]
fn static_member_rejoins_without_rebalance() {
    check(
        |h| {
            let t1 = h.join(&Joiner::new("c1").instance("i1"));
            let t2 = h.join(&Joiner::new("c2").instance("i2"));
            h.advance(100);
            h.advance(100);
            let m1 = h.member_id(t1);
            let m2 = h.member_id(t2);
            h.sync_as(&m1, Some("i1"), 1, &[(&m1, "a-0"), (&m2, "a-1")]);
            h.sync_as(&m2, Some("i2"), 1, &[]);
            // i2 restarts: a new member id, same protocols; the group stays at generation 1.
            let t3 = h.join(&Joiner::new("c2").instance("i2"));
            let m3 = h.member_id(t3);
            h.sync_as(&m3, Some("i2"), 1, &[]);
            // The old member id is fenced.
            h.sync_as(&m2, Some("i2"), 1, &[]);
            assert_eq!(
                h.coordinator.group_state(&GroupId("g".into())),
                Some(GroupState::Stable)
            );
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @0 join t2 c2
            @100 tick
              wakeup @200
            @200 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10200
            @200 sync t3 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t3 sync ok assignment="a-0"
            @200 sync t4 m2 gen=1
              -> t4 sync ok assignment="a-1"
            @200 join t5 c2
              persist p0 group[gen=1 members=m1:a-0,m3:a-1]
              -> t5 join ok gen=1 protocol=range leader=m1 member=m3 members=[]
            @200 sync t6 m3 gen=1
              -> t6 sync ok assignment="a-1"
            @200 sync t7 m2 gen=1
              -> t7 sync FencedInstanceId
        "#]],
    );
}

#[test]
fn static_leader_rejoin_gets_skip_assignment() {
    check(
        |h| {
            let t1 = h.join(&Joiner::new("c1").instance("i1"));
            h.advance(100);
            let m1 = h.member_id(t1);
            h.sync_as(&m1, Some("i1"), 1, &[(&m1, "a-0")]);
            let mut joiner = Joiner::new("c1").instance("i1");
            joiner.supports_skip_assignment = true;
            h.join(&joiner);
            // An old client is told the previous leader id, so it does not run the assignor.
            h.join(&Joiner::new("c1").instance("i1"));
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @100 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1]
              wakeup @10100
            @100 sync t2 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0]
              -> t2 sync ok assignment="a-0"
            @100 join t3 c1
              persist p0 group[gen=1 members=m2:a-0]
              -> t3 join ok gen=1 protocol=range leader=m2 member=m2 members=[m2] skip_assignment
            @100 join t4 c1
              persist p0 group[gen=1 members=m3:a-0]
              -> t4 join ok gen=1 protocol=range leader=m2 member=m3 members=[]
        "#]],
    );
}

#[test]
fn static_member_with_new_protocol_rebalances() {
    check(
        |h| {
            let t1 = h.join(&Joiner::new("c1").instance("i1"));
            h.advance(100);
            let m1 = h.member_id(t1);
            h.sync_as(&m1, Some("i1"), 1, &[(&m1, "a-0")]);
            h.join(
                &Joiner::new("c1")
                    .instance("i1")
                    .protocols(&[("roundrobin", b"x"), ("range", b"x")]),
            );
            h.advance(100);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @100 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1]
              wakeup @10100
            @100 sync t2 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0]
              -> t2 sync ok assignment="a-0"
            @100 join t3 c1
              -> t3 join ok gen=2 protocol=roundrobin leader=m2 member=m2 members=[m2]
            @200 tick
        "#]],
    );
}

#[test]
fn static_member_survives_a_missed_rebalance_until_its_session_ends() {
    check(
        |h| {
            let t1 = h.join(&Joiner::new("c1").instance("i1"));
            let t2 = h.join(&Joiner::new("c2"));
            h.advance(100);
            h.advance(100);
            let m1 = h.member_id(t1);
            let m2 = h.member_id(t2);
            h.sync_as(&m1, Some("i1"), 1, &[(&m1, "a-0"), (&m2, "a-1")]);
            h.sync(&m2, 1, &[]);
            // m2 rejoins with new metadata; the static member keeps heartbeating but does not
            // rejoin: it stays in the next generation (Kafka removes only dynamic members).
            h.join(
                &Joiner::new("c2")
                    .member(&m2)
                    .protocols(&[("range", b"new")]),
            );
            for _ in 0..6 {
                h.advance(5_000);
                h.heartbeat(&m1, 1);
            }
            h.heartbeat(&m2, 2);
            // Sessions that end without heartbeats remove the members, static or not.
            h.advance(10_000);
            h.heartbeat(&m2, 2);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @0 join t2 c2
            @100 tick
              wakeup @200
            @200 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10200
            @200 sync t3 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t3 sync ok assignment="a-0"
            @200 sync t4 m2 gen=1
              -> t4 sync ok assignment="a-1"
            @200 join t5 m2
            @5200 tick
            @5200 heartbeat m1 gen=1: RebalanceInProgress
            @10200 tick
              wakeup @15200
            @10200 heartbeat m1 gen=1: RebalanceInProgress
              wakeup @20200
            @15200 tick
            @15200 heartbeat m1 gen=1: RebalanceInProgress
              wakeup @25200
            @20200 tick
            @20200 heartbeat m1 gen=1: RebalanceInProgress
              wakeup @30200
            @25200 tick
            @25200 heartbeat m1 gen=1: RebalanceInProgress
            @30200 tick
              -> t5 join ok gen=2 protocol=range leader=m2 member=m2 members=[m1,m2]
              wakeup @40200
            @30200 heartbeat m1 gen=1: IllegalGeneration
            @30200 heartbeat m2 gen=2: ok
            @40200 tick
              persist p0 group[gen=3 members=]
              wakeup @600000
            @40200 heartbeat m2 gen=2: UnknownMemberId
        "#]],
    );
}

/// KIP-429 through the coordinator: a member joins a cooperative group; the first rebalance
/// only revokes, the revoking member rejoins, and the second rebalance assigns.
#[test]
fn cooperative_rebalance_takes_two_rounds() {
    use strom_group::{
        Assignment, MemberSubscription, Subscription, TopicPartition, cooperative_sticky,
    };

    let metadata = |owned: &[TopicPartition], generation: i32| {
        Subscription {
            version: 2,
            topics: vec!["t".into()],
            owned_partitions: owned.to_vec(),
            generation_id: Some(strom_group::GenerationId(generation)),
            ..Subscription::default()
        }
        .encode()
        .unwrap()
    };
    let partitions: strom_group::PartitionsPerTopic = [("t".to_string(), 4)].into_iter().collect();
    // The leader's side: run the assignor over the JoinGroup members.
    let assign = |h: &Harness, token: u64| -> Vec<(strom_group::MemberId, Vec<u8>)> {
        let strom_group::DelayedResponse::JoinGroup(response) = &h.responses[&token] else {
            panic!()
        };
        let members: Vec<MemberSubscription> = response
            .members
            .iter()
            .map(|member| MemberSubscription {
                member_id: member.member_id.clone(),
                group_instance_id: None,
                subscription: Subscription::decode(&member.metadata).unwrap(),
            })
            .collect();
        cooperative_sticky(&members, &partitions)
            .into_iter()
            .map(|(member_id, list)| {
                (
                    member_id,
                    Assignment {
                        version: 2,
                        partitions: list,
                        user_data: None,
                    }
                    .encode()
                    .unwrap(),
                )
            })
            .collect()
    };
    let assigned = |h: &Harness, token: u64| -> Vec<TopicPartition> {
        let strom_group::DelayedResponse::SyncGroup(response) = &h.responses[&token] else {
            panic!()
        };
        Assignment::decode(&response.assignment).unwrap().partitions
    };
    let sync_leader =
        |h: &mut Harness, leader: &strom_group::MemberId, generation: i32, join: u64| {
            let assignments = assign(h, join);
            let request = strom_group::SyncGroupRequest {
                group_id: GroupId("g".into()),
                generation_id: strom_group::GenerationId(generation),
                member_id: leader.clone(),
                group_instance_id: None,
                protocol_type: None,
                protocol_name: Some("cooperative-sticky".into()),
                assignments: assignments
                    .into_iter()
                    .map(|(member_id, assignment)| strom_group::SyncGroupAssignment {
                        member_id,
                        assignment,
                    })
                    .collect(),
            };
            let effects = h.coordinator.sync_group(
                strom_group::Token(1000 + generation as u64),
                request,
                strom_group::TimeMs(h.now),
            );
            h.record(effects);
            1000 + generation as u64
        };

    let mut h = Harness::new();
    let joiner = |client: &'static str, meta: Vec<u8>| {
        let mut joiner = Joiner::new(client);
        joiner.protocols = vec![("cooperative-sticky", meta)];
        joiner
    };
    let t1 = h.join(&joiner("c1", metadata(&[], -1)));
    h.advance(100);
    let m1 = h.member_id(t1);
    let s1 = sync_leader(&mut h, &m1, 1, t1);
    let owned1 = assigned(&h, s1);
    assert_eq!(owned1.len(), 4);

    // c2 joins; c1 rejoins with what it owns.
    let t2 = h.join(&joiner("c2", metadata(&[], -1)));
    let t3 = h.join(&joiner("c1", metadata(&owned1, 1)).member(&m1));
    let m2 = h.member_id(t2);
    let s2 = sync_leader(&mut h, &m1, 2, t3);
    let t4 = h.sync(&m2, 2, &[]);
    let owned2 = assigned(&h, s2);
    assert_eq!(owned2.len(), 2, "round one revokes two partitions from c1");
    assert!(
        assigned(&h, t4).is_empty(),
        "round one gives c2 nothing yet"
    );

    // c1 revoked partitions, so it rejoins at once; c2 learns of the rebalance by heartbeat.
    let t5 = h.join(&joiner("c1", metadata(&owned2, 2)).member(&m1));
    h.heartbeat(&m2, 2);
    let t6 = h.join(&joiner("c2", metadata(&[], 2)).member(&m2));
    let _ = t6;
    let s3 = sync_leader(&mut h, &m1, 3, t5);
    let t7 = h.sync(&m2, 3, &[]);
    assert_eq!(assigned(&h, s3), owned2, "c1 keeps what it did not revoke");
    let mut all: Vec<TopicPartition> = assigned(&h, t7);
    assert_eq!(
        all.len(),
        2,
        "round two assigns the revoked partitions to c2"
    );
    all.extend(owned2);
    all.sort();
    assert_eq!(all, owned1);
    assert_eq!(
        h.coordinator.group_state(&GroupId("g".into())),
        Some(GroupState::Stable)
    );
}

#[test]
fn protocol_vote_and_inconsistent_protocol() {
    check(
        |h| {
            h.join(&Joiner::new("c1").protocols(&[("range", b"1"), ("roundrobin", b"1")]));
            h.join(&Joiner::new("c2").protocols(&[("roundrobin", b"2"), ("range", b"2")]));
            h.join(&Joiner::new("c3").protocols(&[("roundrobin", b"3")]));
            h.join(&Joiner::new("c4").protocols(&[("sticky", b"4")]));
            h.advance(100);
            h.advance(100);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @0 join t2 c2
            @0 join t3 c3
            @0 join t4 c4
              -> t4 join InconsistentGroupProtocol member=-
            @100 tick
              wakeup @200
            @200 tick
              -> t1 join ok gen=1 protocol=roundrobin leader=m1 member=m1 members=[m1,m2,m3]
              -> t2 join ok gen=1 protocol=roundrobin leader=m1 member=m2 members=[]
              -> t3 join ok gen=1 protocol=roundrobin leader=m1 member=m3 members=[]
              wakeup @10200
        "#]],
    );
}

#[test]
fn initial_delay_extends_while_members_arrive() {
    check(
        |h| {
            h.join(&Joiner::new("c1"));
            h.advance(90);
            h.join(&Joiner::new("c2"));
            h.advance(10);
            h.advance(90);
            h.join(&Joiner::new("c3"));
            h.advance(10);
            h.advance(100);
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @90 tick
            @90 join t2 c2
            @100 tick
              wakeup @200
            @190 tick
            @190 join t3 c3
            @200 tick
              wakeup @300
            @300 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2,m3]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              -> t3 join ok gen=1 protocol=range leader=m1 member=m3 members=[]
              wakeup @10300
        "#]],
    );
}

#[test]
fn bad_requests_get_kafka_errors() {
    check_with(
        Config {
            group_max_size: 1,
            ..config()
        },
        |h| {
            let mut short = Joiner::new("c0");
            short.session_timeout_ms = 10;
            h.join(&short);
            h.join(&Joiner::new("c1"));
            h.join(&Joiner::new("c2"));
            h.join(&Joiner::new("c3").member(&strom_group::MemberId("nobody".into())));
            h.advance(100);
            h.heartbeat(&strom_group::MemberId("nobody".into()), 1);
            h.leave(None, Some("unknown-instance"));
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c0
              -> t1 join InvalidSessionTimeout member=-
            @0 join t2 c1
              wakeup @100
            @0 join t3 c2
              -> t3 join GroupMaxSizeReached member=-
            @0 join t4 m1
              -> t4 join GroupMaxSizeReached member=m1
            @100 tick
              -> t2 join ok gen=1 protocol=range leader=m2 member=m2 members=[m2]
              wakeup @10100
            @100 heartbeat m1 gen=1: UnknownMemberId
            @100 leave Some("unknown-instance"): None UnknownMemberId
        "#]],
    );
}

#[test]
fn last_member_leaving_empties_the_group() {
    check(
        |h| {
            let (m1, m2) = form_group(h);
            h.leave(Some(&m1), None);
            h.leave(Some(&m2), None);
            assert_eq!(
                h.coordinator.group_state(&GroupId("g".into())),
                Some(GroupState::Empty)
            );
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              wakeup @100
            @50 tick
            @50 join t2 c2
            @150 tick
              wakeup @250
            @250 tick
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t2 join ok gen=1 protocol=range leader=m1 member=m2 members=[]
              wakeup @10250
            @250 sync t3 m2 gen=1
            @250 sync t4 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0,m2:a-1]
              -> t4 sync ok assignment="a-0"
              -> t3 sync ok assignment="a-1"
            @250 leave m1: None ok
            @250 leave m2: None ok
              persist p0 group[gen=2 members=]
              wakeup @600000
        "#]],
    );
}

#[test]
fn zero_initial_delay_completes_in_the_same_call() {
    check_with(
        Config {
            group_initial_rebalance_delay_ms: 0,
            ..config()
        },
        |h| {
            // A v0 client: no rebalance timeout, so the session timeout applies.
            let mut joiner = Joiner::new("c1");
            joiner.rebalance_timeout_ms = -1;
            let t1 = h.join(&joiner);
            let m1 = h.member_id(t1);
            h.sync(&m1, 1, &[(&m1, "a-0")]);
            // A second member: the group now rebalances on the rebalance timeout.
            h.join(&Joiner::new("c2"));
            h.join(&joiner.clone().member(&m1));
        },
        expect![[r#"
              wakeup @600000
            @0 join t1 c1
              -> t1 join ok gen=1 protocol=range leader=m1 member=m1 members=[m1]
              wakeup @10000
            @0 sync t2 m1 gen=1
              persist p0 group[gen=1 members=m1:a-0]
              -> t2 sync ok assignment="a-0"
            @0 join t3 c2
            @0 join t4 m1
              -> t4 join ok gen=2 protocol=range leader=m1 member=m1 members=[m1,m2]
              -> t3 join ok gen=2 protocol=range leader=m1 member=m2 members=[]
        "#]],
    );
}
