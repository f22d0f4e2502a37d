//! The controller's decisions: leader election from the ISR (preferred replica first), unclean
//! election only when enabled, fencing and unfencing brokers, and AlterPartition validation.

use expect_test::{Expect, expect};
use strom_replication::{
    BrokerId, ElectionConfig, IsrProposal, LeaderEpoch, PartitionEpoch, PartitionRegistration,
    alter_isr, elect_leader, fence_broker, unfence_broker,
};

fn ids(text: &str) -> Vec<BrokerId> {
    text.split(',')
        .filter(|id| !id.is_empty())
        .map(|id| BrokerId(id.parse().unwrap()))
        .collect()
}

fn registration(replicas: &str, isr: &str, leader: Option<u32>) -> PartitionRegistration {
    PartitionRegistration {
        replicas: ids(replicas),
        isr: ids(isr),
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(5),
        partition_epoch: PartitionEpoch(10),
    }
}

fn render(registration: &PartitionRegistration) -> String {
    let leader = registration
        .leader
        .map_or("none".to_owned(), |leader| leader.to_string());
    let isr: Vec<String> = registration.isr.iter().map(ToString::to_string).collect();
    format!(
        "leader {leader} isr [{}] leader epoch {} partition epoch {}",
        isr.join(","),
        registration.leader_epoch,
        registration.partition_epoch
    )
}

#[track_caller]
fn check(replicas: &str, isr: &str, live: &str, unclean: bool, expect: Expect) {
    let config = ElectionConfig {
        unclean_leader_election_enable: unclean,
    };
    let (kind, res) = elect_leader(&registration(replicas, isr, None), &ids(live), config);
    expect.assert_eq(&format!("{kind:?}: {}", render(&res)));
}

#[test]
fn election_prefers_the_first_live_isr_replica() {
    check(
        "1,2,3",
        "1,2,3",
        "1,2,3",
        false,
        expect!["Clean: leader 1 isr [1,2,3] leader epoch 6 partition epoch 11"],
    );
    check(
        "3,1,2",
        "1,2,3",
        "1,2,3",
        false,
        expect!["Clean: leader 3 isr [1,2,3] leader epoch 6 partition epoch 11"],
    );
    check(
        "1,2,3",
        "2,3",
        "1,2,3",
        false,
        expect!["Clean: leader 2 isr [2,3] leader epoch 6 partition epoch 11"],
    );
    check(
        "1,2,3",
        "1,3",
        "2,3",
        false,
        expect!["Clean: leader 3 isr [1,3] leader epoch 6 partition epoch 11"],
    );
}

#[test]
fn unclean_election_is_refused_by_default() {
    check(
        "1,2,3",
        "1",
        "2,3",
        false,
        expect!["Offline: leader none isr [1] leader epoch 5 partition epoch 10"],
    );
    check(
        "1,2,3",
        "1",
        "2,3",
        true,
        expect!["Unclean: leader 2 isr [2] leader epoch 6 partition epoch 11"],
    );
    check(
        "1,2,3",
        "1",
        "",
        true,
        expect!["Offline: leader none isr [1] leader epoch 5 partition epoch 10"],
    );
}

#[test]
fn fencing_moves_leadership_and_keeps_the_last_isr_member() {
    let config = ElectionConfig::default();
    let start = registration("1,2,3", "1,2,3", Some(1));
    let step1 = fence_broker(&start, BrokerId(1), &ids("2,3"), config);
    let step2 = fence_broker(&step1, BrokerId(3), &ids("2"), config);
    let step3 = fence_broker(&step2, BrokerId(2), &ids(""), config);
    let step4 = unfence_broker(&step3, &ids("1"), config);
    let step5 = unfence_broker(&step4, &ids("1,2"), config);
    let rendered: Vec<String> = [start, step1, step2, step3, step4, step5]
        .iter()
        .map(render)
        .collect();
    expect![[r#"
        leader 1 isr [1,2,3] leader epoch 5 partition epoch 10
        leader 2 isr [2,3] leader epoch 6 partition epoch 11
        leader 2 isr [2] leader epoch 6 partition epoch 12
        leader none isr [2] leader epoch 7 partition epoch 13
        leader none isr [2] leader epoch 7 partition epoch 13
        leader 2 isr [2] leader epoch 8 partition epoch 14"#]]
    .assert_eq(&rendered.join("\n"));
}

#[test]
fn alter_isr_checks_epochs_leader_and_fencing() {
    let current = registration("1,2,3", "1,2", Some(1));
    let proposal = |isr: &str, leader_epoch: u32, partition_epoch: u32| IsrProposal {
        isr: ids(isr),
        leader_epoch: LeaderEpoch(leader_epoch),
        partition_epoch: PartitionEpoch(partition_epoch),
    };
    let live = ids("1,2,3");
    let cases = [
        alter_isr(&current, &proposal("1,2,3", 5, 10), &live),
        alter_isr(&current, &proposal("1", 5, 10), &live),
        alter_isr(&current, &proposal("1,2,3", 5, 9), &live),
        alter_isr(&current, &proposal("1,2,3", 4, 10), &live),
        alter_isr(&current, &proposal("2,3", 5, 10), &live),
        alter_isr(&current, &proposal("1,2,4", 5, 10), &live),
        alter_isr(&current, &proposal("1,2,3", 5, 10), &ids("1,2")),
    ];
    let rendered: Vec<String> = cases
        .iter()
        .map(|res| match res {
            Ok(registration) => render(registration),
            Err(error) => format!("error: {error}"),
        })
        .collect();
    expect![[r#"
        leader 1 isr [1,2,3] leader epoch 5 partition epoch 11
        leader 1 isr [1] leader epoch 5 partition epoch 11
        error: partition epoch 9 does not match the current 10
        error: leader epoch 4 does not match the current 5
        error: invalid isr proposal: the leader is not in the isr
        error: broker 4 is not a replica of this partition
        error: invalid isr proposal: a fenced broker cannot join the isr"#]]
    .assert_eq(&rendered.join("\n"));
}
