//! Scenario tests of the leader: high watermark, ISR shrink and expand, `acks=all`. Each test
//! is a script of events run through `check`, which renders the returned actions as text.
//!
//! Script lines (times are milliseconds):
//! `lead <leader> replicas <a,b,c> isr <a,b> leo <n> hw <n> [lag <ms>]`, `append <leo> @<t>`,
//! `fetch <follower> <offset> @<t>`, `tick @<t>`, `await <request> <required offset> min <n>`,
//! `min <n>` (check before append), `commit <a,b> <partition epoch> @<t>`,
//! `reject [<a,b> <partition epoch>]` (the pending proposal, or the one given), `pending`,
//! `replicas <a,b> @<t>` (the replica set changed at the same leader epoch), `resign`.

use expect_test::{Expect, expect};
use strom_replication::{
    Action, BrokerId, IsrProposal, Leader, LeaderConfig, LeaderEpoch, LeaderInit, Offset,
    PartitionEpoch, RequestId, TimeMs,
};

fn ids(text: &str) -> Vec<BrokerId> {
    text.split(',')
        .map(|id| BrokerId(id.parse().unwrap()))
        .collect()
}

fn time(word: &str) -> TimeMs {
    TimeMs(word.strip_prefix('@').unwrap().parse().unwrap())
}

fn render(actions: &[Action]) -> String {
    let words: Vec<String> = actions
        .iter()
        .map(|action| match action {
            Action::AdvanceHighWatermark(hw) => format!("hw={hw}"),
            Action::ShrinkIsr(p) => format!(
                "shrink{:?}@pe{}",
                p.isr.iter().map(|b| b.0).collect::<Vec<_>>(),
                p.partition_epoch
            ),
            Action::ExpandIsr(p) => format!(
                "expand{:?}@pe{}",
                p.isr.iter().map(|b| b.0).collect::<Vec<_>>(),
                p.partition_epoch
            ),
            Action::AckCompleted(id) => format!("ack#{}", id.0),
            Action::AckFailed(id, error) => format!("fail#{}:{error:?}", id.0),
            other => format!("{other:?}"),
        })
        .collect();
    words.join(" ")
}

fn run(script: &str) -> String {
    let mut out = String::new();
    let mut leader: Option<Leader> = None;
    for line in script
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let res = match words[0] {
            "lead" => {
                let lag = words.get(11).map_or(30_000, |ms| ms.parse().unwrap());
                let init = LeaderInit {
                    leader: BrokerId(words[1].parse().unwrap()),
                    replicas: ids(words[3]),
                    isr: ids(words[5]),
                    leader_epoch: LeaderEpoch(1),
                    partition_epoch: PartitionEpoch(1),
                    log_end_offset: Offset(words[7].parse().unwrap()),
                    high_watermark: Offset(words[9].parse().unwrap()),
                };
                let config = LeaderConfig {
                    replica_lag_time_max_ms: lag,
                };
                leader = Some(Leader::new(init, config, TimeMs(0)).unwrap());
                String::new()
            }
            command => {
                let leader = leader.as_mut().unwrap();
                match command {
                    "append" => render(
                        &leader
                            .on_append(Offset(words[1].parse().unwrap()), time(words[2]))
                            .unwrap(),
                    ),
                    "fetch" => {
                        let follower = BrokerId(words[1].parse().unwrap());
                        let offset = Offset(words[2].parse().unwrap());
                        match leader.on_follower_fetch(follower, offset, Offset(0), time(words[3]))
                        {
                            Ok(actions) => render(&actions),
                            Err(error) => format!("error: {error}"),
                        }
                    }
                    "tick" => render(&leader.tick(time(words[1]))),
                    "await" => {
                        let id = RequestId(words[1].parse().unwrap());
                        let required = Offset(words[2].parse().unwrap());
                        render(
                            &leader
                                .await_ack(id, required, words[4].parse().unwrap())
                                .unwrap(),
                        )
                    }
                    "min" => format!("{:?}", leader.check_min_insync(words[1].parse().unwrap())),
                    "commit" => match leader.on_isr_committed(
                        &ids(words[1]),
                        PartitionEpoch(words[2].parse().unwrap()),
                        time(words[3]),
                    ) {
                        Ok(actions) => render(&actions),
                        Err(error) => format!("error: {error}"),
                    },
                    "replicas" => {
                        match leader.on_replicas_changed(&ids(words[1]), time(words[2])) {
                            Ok(actions) => render(&actions),
                            Err(error) => format!("error: {error}"),
                        }
                    }
                    "reject" => {
                        let proposal = match words.get(1) {
                            Some(isr) => IsrProposal {
                                isr: ids(isr),
                                leader_epoch: LeaderEpoch(1),
                                partition_epoch: PartitionEpoch(words[2].parse().unwrap()),
                            },
                            None => leader.pending_isr().cloned().unwrap(),
                        };
                        leader.on_isr_proposal_failed(&proposal);
                        String::new()
                    }
                    "pending" => match leader.pending_isr() {
                        Some(p) => format!(
                            "pending{:?}@pe{}",
                            p.isr.iter().map(|b| b.0).collect::<Vec<_>>(),
                            p.partition_epoch
                        ),
                        None => "none pending".to_owned(),
                    },
                    "resign" => render(&leader.clone().resign()),
                    other => panic!("unknown command {other}"),
                }
            }
        };
        let hw = leader
            .as_ref()
            .map_or(0, |leader| leader.high_watermark().0);
        out.push_str(&format!("{line:<32} | hw {hw:<3} | {res}\n"));
    }
    out
}

#[track_caller]
fn check(script: &str, expect: Expect) {
    expect.assert_eq(&run(script));
}

#[test]
fn high_watermark_waits_for_every_isr_member() {
    check(
        "
        lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0
        append 5 @1
        fetch 2 5 @2
        fetch 3 3 @3
        fetch 3 5 @4
        append 8 @5
        fetch 2 8 @6
        fetch 3 8 @7
        ",
        expect![[r#"
            lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 | hw 0   | 
            append 5 @1                      | hw 0   | 
            fetch 2 5 @2                     | hw 0   | 
            fetch 3 3 @3                     | hw 3   | hw=3
            fetch 3 5 @4                     | hw 5   | hw=5
            append 8 @5                      | hw 5   | 
            fetch 2 8 @6                     | hw 5   | 
            fetch 3 8 @7                     | hw 8   | hw=8
        "#]],
    );
}

#[test]
fn leader_alone_in_isr_commits_on_append() {
    check(
        "
        lead 1 replicas 1,2 isr 1 leo 4 hw 2
        append 6 @1
        fetch 2 1 @2
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1 leo 4 hw 2 | hw 4   | 
            append 6 @1                      | hw 6   | hw=6
            fetch 2 1 @2                     | hw 6   | 
        "#]],
    );
}

#[test]
fn slow_follower_leaves_isr_after_lag_time_and_returns_when_caught_up() {
    // Follower 3 keeps fetching but never reaches the log end offset as of its previous fetch.
    // At the end both followers are at the log end offset, which counts as in sync however old
    // the fetch; one more append makes them lag at once.
    check(
        "
        lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 100
        append 10 @0
        fetch 2 10 @10
        fetch 3 0 @10
        append 20 @20
        fetch 2 20 @50
        fetch 3 5 @50
        tick @100
        fetch 3 9 @101
        tick @101
        commit 1,2 2 @101
        append 30 @120
        fetch 2 30 @130
        fetch 3 20 @140
        fetch 3 30 @150
        commit 1,2,3 3 @150
        tick @10000
        append 31 @10001
        tick @10002
        ",
        expect![[r#"
            lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 100 | hw 0   | 
            append 10 @0                     | hw 0   | 
            fetch 2 10 @10                   | hw 0   | 
            fetch 3 0 @10                    | hw 0   | 
            append 20 @20                    | hw 0   | 
            fetch 2 20 @50                   | hw 0   | 
            fetch 3 5 @50                    | hw 5   | hw=5
            tick @100                        | hw 5   | 
            fetch 3 9 @101                   | hw 9   | hw=9
            tick @101                        | hw 9   | shrink[1, 2]@pe1
            commit 1,2 2 @101                | hw 20  | hw=20
            append 30 @120                   | hw 20  | 
            fetch 2 30 @130                  | hw 30  | hw=30
            fetch 3 20 @140                  | hw 30  | 
            fetch 3 30 @150                  | hw 30  | expand[1, 2, 3]@pe2
            commit 1,2,3 3 @150              | hw 30  | 
            tick @10000                      | hw 30  | 
            append 31 @10001                 | hw 30  | 
            tick @10002                      | hw 30  | shrink[1]@pe3
        "#]],
    );
}

#[test]
fn follower_caught_up_to_previous_fetch_stays_in_isr() {
    // Kafka's rule: reaching the leader's log end offset as of the previous fetch counts as
    // caught up at the time of that previous fetch (not now), so a replica fetching every 40 ms
    // under constant appends stays in sync, and is removed 100 ms after its last fetch but one.
    check(
        "
        lead 1 replicas 1,2 isr 1,2 leo 0 hw 0 lag 100
        append 10 @0
        fetch 2 0 @0
        append 20 @40
        fetch 2 10 @40
        append 30 @80
        fetch 2 20 @80
        tick @139
        append 40 @120
        fetch 2 30 @120
        tick @179
        tick @181
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1,2 leo 0 hw 0 lag 100 | hw 0   | 
            append 10 @0                     | hw 0   | 
            fetch 2 0 @0                     | hw 0   | 
            append 20 @40                    | hw 0   | 
            fetch 2 10 @40                   | hw 10  | hw=10
            append 30 @80                    | hw 10  | 
            fetch 2 20 @80                   | hw 20  | hw=20
            tick @139                        | hw 20  | 
            append 40 @120                   | hw 20  | 
            fetch 2 30 @120                  | hw 30  | hw=30
            tick @179                        | hw 30  | 
            tick @181                        | hw 30  | shrink[1]@pe1
        "#]],
    );
}

#[test]
fn expansion_needs_the_current_leader_epoch() {
    // The new leader's epoch starts at offset 10: a follower at the high watermark 8 may still
    // hold a divergent tail from an older epoch, so it joins only once it reaches 10.
    check(
        "
        lead 1 replicas 1,2 isr 1 leo 10 hw 8
        fetch 2 8 @1
        fetch 2 10 @2
        reject
        fetch 2 10 @3
        commit 1,2 5 @3
        commit 1,2 5 @4
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1 leo 10 hw 8 | hw 10  | 
            fetch 2 8 @1                     | hw 10  | 
            fetch 2 10 @2                    | hw 10  | expand[1, 2]@pe1
            reject                           | hw 10  | 
            fetch 2 10 @3                    | hw 10  | expand[1, 2]@pe1
            commit 1,2 5 @3                  | hw 10  | 
            commit 1,2 5 @4                  | hw 10  | error: partition epoch 5 is not newer than 5
        "#]],
    );
}

#[test]
fn acks_all_waits_for_isr_and_checks_min_insync() {
    check(
        "
        lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 100
        min 2
        append 3 @0
        await 1 3 min 2
        fetch 2 3 @1
        fetch 3 3 @2
        append 6 @3
        await 2 6 min 2
        fetch 2 6 @4
        tick @500
        commit 1,2 2 @500
        append 9 @501
        await 3 9 min 2
        tick @1000
        commit 1 3 @1000
        min 2
        ",
        expect![[r#"
            lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 100 | hw 0   | 
            min 2                            | hw 0   | Ok(())
            append 3 @0                      | hw 0   | 
            await 1 3 min 2                  | hw 0   | 
            fetch 2 3 @1                     | hw 0   | 
            fetch 3 3 @2                     | hw 3   | hw=3 ack#1
            append 6 @3                      | hw 3   | 
            await 2 6 min 2                  | hw 3   | 
            fetch 2 6 @4                     | hw 3   | 
            tick @500                        | hw 3   | shrink[1, 2]@pe1
            commit 1,2 2 @500                | hw 6   | hw=6 ack#2
            append 9 @501                    | hw 6   | 
            await 3 9 min 2                  | hw 6   | 
            tick @1000                       | hw 6   | shrink[1]@pe2
            commit 1 3 @1000                 | hw 9   | hw=9 fail#3:NotEnoughReplicasAfterAppend
            min 2                            | hw 9   | Err(NotEnoughReplicas)
        "#]],
    );
}

#[test]
fn resign_fails_waiting_acks_and_fetch_errors_are_reported() {
    check(
        "
        lead 1 replicas 1,2 isr 1,2 leo 0 hw 0
        append 4 @0
        await 1 2 min 2
        await 2 4 min 1
        fetch 2 9 @1
        fetch 5 0 @1
        resign
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1,2 leo 0 hw 0 | hw 0   | 
            append 4 @0                      | hw 0   | 
            await 1 2 min 2                  | hw 0   | 
            await 2 4 min 1                  | hw 0   | 
            fetch 2 9 @1                     | hw 0   | error: fetch offset 9 is beyond the log end offset 4
            fetch 5 0 @1                     | hw 0   | error: broker 5 is not a replica of this partition
            resign                           | hw 0   | fail#1:NotLeader fail#2:NotLeader
        "#]],
    );
}

#[test]
fn high_watermark_waits_for_a_caught_up_follower_outside_the_isr() {
    // Kafka's shouldWaitForReplicaToJoinIsr: a follower outside the ISR that is caught up
    // (within the lag time) holds the high watermark back, so that under steady appends it can
    // reach the high watermark that joining the ISR requires. Once it lags, it no longer does.
    check(
        "
        lead 1 replicas 1,2 isr 1 leo 0 hw 0 lag 100
        append 5 @0
        fetch 2 5 @10
        reject
        append 8 @20
        fetch 2 8 @30
        reject
        append 10 @200
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1 leo 0 hw 0 lag 100 | hw 0   | 
            append 5 @0                      | hw 5   | hw=5
            fetch 2 5 @10                    | hw 5   | expand[1, 2]@pe1
            reject                           | hw 5   | 
            append 8 @20                     | hw 5   | 
            fetch 2 8 @30                    | hw 8   | expand[1, 2]@pe1 hw=8
            reject                           | hw 8   | 
            append 10 @200                   | hw 10  | hw=10
        "#]],
    );
}

#[test]
fn late_rejection_of_an_older_proposal_keeps_the_newer_one() {
    // Proposal A (add 3) is in flight when the controller fences 2 (partition epoch 2); the
    // leader proposes B (add 3 again, from epoch 2). A's rejection arrives late: B must stay
    // pending, and the high watermark keeps waiting for 3, which B may add to the ISR.
    check(
        "
        lead 1 replicas 1,2,3 isr 1,2 leo 0 hw 0 lag 100
        append 5 @0
        fetch 2 5 @1
        fetch 3 5 @2
        commit 1 2 @3
        fetch 3 5 @4
        reject 1,2,3 1
        pending
        append 9 @1000
        ",
        expect![[r#"
            lead 1 replicas 1,2,3 isr 1,2 leo 0 hw 0 lag 100 | hw 0   | 
            append 5 @0                      | hw 0   | 
            fetch 2 5 @1                     | hw 5   | hw=5
            fetch 3 5 @2                     | hw 5   | expand[1, 2, 3]@pe1
            commit 1 2 @3                    | hw 5   | 
            fetch 3 5 @4                     | hw 5   | expand[1, 3]@pe2
            reject 1,2,3 1                   | hw 5   | 
            pending                          | hw 5   | pending[1, 3]@pe2
            append 9 @1000                   | hw 5   | 
        "#]],
    );
}

#[test]
fn replicas_added_and_removed_at_the_same_leader_epoch() {
    check(
        "
        lead 1 replicas 1 isr 1 leo 5 hw 5
        fetch 2 0 @10
        replicas 1,2 @10
        append 7 @20
        fetch 2 5 @30
        fetch 2 7 @40
        commit 1,2 3 @40
        append 9 @50
        fetch 2 9 @60
        replicas 2 @70
        replicas 2,1 @70
        fetch 2 9 @80
        replicas 1,3 @90
        fetch 3 9 @100
        fetch 2 9 @100
        ",
        expect![[r#"
            lead 1 replicas 1 isr 1 leo 5 hw 5 | hw 5   | 
            fetch 2 0 @10                    | hw 5   | error: broker 2 is not a replica of this partition
            replicas 1,2 @10                 | hw 5   | 
            append 7 @20                     | hw 7   | hw=7
            fetch 2 5 @30                    | hw 7   | 
            fetch 2 7 @40                    | hw 7   | expand[1, 2]@pe1
            commit 1,2 3 @40                 | hw 7   | 
            append 9 @50                     | hw 7   | 
            fetch 2 9 @60                    | hw 9   | hw=9
            replicas 2 @70                   | hw 9   | error: invalid isr proposal: the leader is not a replica
            replicas 2,1 @70                 | hw 9   | 
            fetch 2 9 @80                    | hw 9   | 
            replicas 1,3 @90                 | hw 9   | 
            fetch 3 9 @100                   | hw 9   | expand[1, 3]@pe3
            fetch 2 9 @100                   | hw 9   | error: broker 2 is not a replica of this partition
        "#]],
    );
}

#[test]
fn a_follower_the_controller_takes_out_of_the_isr_stops_holding_the_high_watermark() {
    // Broker 3 dies after catching up; the controller fences it and commits the ISR without
    // it. It must not hold the high watermark back for the lag time as a caught-up follower
    // outside the ISR (Kafka leaves brokers that may not join the ISR out): the acks=all
    // request completes as soon as broker 2 has the records.
    check(
        "
        lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 30000
        append 5 @0
        fetch 2 5 @10
        fetch 3 5 @10
        append 8 @20
        await 1 8 min 2
        commit 1,2 2 @30
        fetch 2 8 @40
        fetch 3 8 @50
        ",
        expect![[r#"
            lead 1 replicas 1,2,3 isr 1,2,3 leo 0 hw 0 lag 30000 | hw 0   | 
            append 5 @0                      | hw 0   | 
            fetch 2 5 @10                    | hw 0   | 
            fetch 3 5 @10                    | hw 5   | hw=5
            append 8 @20                     | hw 5   | 
            await 1 8 min 2                  | hw 5   | 
            commit 1,2 2 @30                 | hw 5   | 
            fetch 2 8 @40                    | hw 8   | hw=8 ack#1
            fetch 3 8 @50                    | hw 8   | expand[1, 2, 3]@pe2
        "#]],
    );
}

#[test]
fn the_high_watermark_moves_on_a_tick_once_a_silent_follower_lags() {
    // A follower outside the ISR that was caught up and then went silent holds the high
    // watermark back only for the lag time: with no fetch or append after it, a tick lets the
    // high watermark (and the waiting acks=all request) move.
    check(
        "
        lead 1 replicas 1,2 isr 1 leo 0 hw 0 lag 100
        append 5 @0
        fetch 2 5 @10
        reject
        append 8 @20
        await 1 8 min 1
        tick @50
        tick @200
        ",
        expect![[r#"
            lead 1 replicas 1,2 isr 1 leo 0 hw 0 lag 100 | hw 0   | 
            append 5 @0                      | hw 5   | hw=5
            fetch 2 5 @10                    | hw 5   | expand[1, 2]@pe1
            reject                           | hw 5   | 
            append 8 @20                     | hw 5   | 
            await 1 8 min 1                  | hw 5   | 
            tick @50                         | hw 5   | 
            tick @200                        | hw 8   | hw=8 ack#1
        "#]],
    );
}
