//! Partition reassignment (KIP-455) through the pure planners: starting, replacing and
//! cancelling a move, its completion when the ISR holds every target replica (with the leader
//! handing over when it leaves), fenced target members, and snapshots taken mid-move.

use strom_metadata::{
    AlterPartition, BrokerId, MetadataImage, MetadataRecord, PartitionIndex, Reassignment,
    TopicLayout, ongoing_reassignments, plan_alter_partition, plan_create_topic, plan_fence_broker,
    plan_reassign, plan_register_broker, plan_unfence_broker,
};

use crate::{broker, topic};

/// One step of a scenario.
enum Step {
    /// Reassign partition 0 of "moving" to these replicas.
    Move(&'static [i32]),
    /// Reassign, refusing a replication factor change.
    MoveSameFactor(&'static [i32]),
    /// Cancel the move of partition 0.
    Cancel,
    /// The current leader proposes this ISR.
    Isr(&'static [i32]),
    /// Fence a broker.
    Fence(i32),
    /// Unfence a broker.
    Unfence(i32),
}

fn ids(brokers: &[i32]) -> Vec<BrokerId> {
    brokers.iter().copied().map(BrokerId).collect()
}

fn list(brokers: &[BrokerId]) -> String {
    let items: Vec<String> = brokers.iter().map(ToString::to_string).collect();
    items.join(",")
}

/// Brokers 1..=4, and topic "moving" with one partition on `replicas` (ISR = replicas).
fn image_with(replicas: &[i32]) -> MetadataImage {
    let mut image = MetadataImage::new();
    for id in 1..=4 {
        for record in plan_register_broker(&image, &broker(id)).unwrap() {
            image.apply(&record).unwrap();
        }
    }
    let mut moving = topic("moving", 1, 0, 0);
    moving.layout = TopicLayout::Assigned(vec![(PartitionIndex(0), ids(replicas))]);
    let (_, records) = plan_create_topic(&image, &moving).unwrap();
    for record in records {
        image.apply(&record).unwrap();
    }
    image
}

/// The partition as text: replicas, +adding, -removing, isr, leader, leader/partition epochs.
fn describe(image: &MetadataImage) -> String {
    let partition = image.partition("moving", PartitionIndex(0)).unwrap();
    let leader = partition
        .leader
        .map_or("-".to_owned(), |leader| leader.to_string());
    format!(
        "r=[{}] +[{}] -[{}] isr=[{}] l={leader} e={}/{}",
        list(&partition.replicas),
        list(&partition.adding_replicas),
        list(&partition.removing_replicas),
        list(&partition.isr),
        partition.leader_epoch.0,
        partition.partition_epoch.0
    )
}

fn reassignment(target: Option<&[i32]>, allow: bool) -> Reassignment {
    Reassignment {
        topic: "moving".to_owned(),
        partition: PartitionIndex(0),
        target: target.map(ids),
        allow_replication_factor_change: allow,
    }
}

/// Runs `steps` from a partition on `replicas`, and compares one line per step: the partition
/// after it, or the error. Every snapshot of every intermediate image rebuilds it exactly.
#[track_caller]
fn check(replicas: &[i32], steps: &[Step], expect: &str) {
    let mut image = image_with(replicas);
    let mut lines = vec![describe(&image)];
    for step in steps {
        let planned = match step {
            Step::Move(target) => plan_reassign(&image, &reassignment(Some(target), true)),
            Step::MoveSameFactor(target) => {
                plan_reassign(&image, &reassignment(Some(target), false))
            }
            Step::Cancel => plan_reassign(&image, &reassignment(None, true)),
            Step::Isr(isr) => {
                let partition = image.partition("moving", PartitionIndex(0)).unwrap();
                plan_alter_partition(
                    &image,
                    &AlterPartition {
                        topic: "moving".to_owned(),
                        partition: PartitionIndex(0),
                        leader: partition.leader.unwrap(),
                        leader_epoch: partition.leader_epoch,
                        partition_epoch: partition.partition_epoch,
                        isr: ids(isr),
                    },
                )
            }
            Step::Fence(id) => plan_fence_broker(&image, BrokerId(*id)),
            Step::Unfence(id) => plan_unfence_broker(&image, BrokerId(*id)),
        };
        match planned {
            Ok(records) => {
                for record in &records {
                    image.apply(record).unwrap();
                }
                lines.push(describe(&image));
            }
            Err(error) => lines.push(format!("error: {error}")),
        }
        let rebuilt =
            MetadataImage::from_snapshot(image.end_offset(), &image.to_records()).unwrap();
        assert_eq!(rebuilt, image, "snapshot after {}", lines.len() - 1);
    }
    let got = lines.join("\n");
    assert_eq!(got.trim(), expect.trim(), "\n{got}");
}

#[test]
fn moving_a_single_replica_hands_leadership_over_on_completion() {
    check(
        &[1],
        &[Step::Move(&[2]), Step::Isr(&[1, 2])],
        "
r=[1] +[] -[] isr=[1] l=1 e=0/0
r=[2,1] +[2] -[1] isr=[1] l=1 e=0/1
r=[2] +[] -[] isr=[2] l=2 e=1/3",
    );
}

#[test]
fn growing_the_replication_factor_completes_when_the_new_replica_joins() {
    check(
        &[2],
        &[Step::Move(&[2, 3]), Step::Isr(&[2]), Step::Isr(&[2, 3])],
        "
r=[2] +[] -[] isr=[2] l=2 e=0/0
r=[2,3] +[3] -[] isr=[2] l=2 e=0/1
r=[2,3] +[3] -[] isr=[2] l=2 e=0/1
r=[2,3] +[] -[] isr=[2,3] l=2 e=0/3",
    );
}

#[test]
fn a_target_already_in_the_isr_completes_at_once() {
    check(
        &[1, 2, 3],
        &[Step::Move(&[3, 2]), Step::Move(&[3, 2])],
        "
r=[1,2,3] +[] -[] isr=[1,2,3] l=1 e=0/0
r=[3,2] +[] -[] isr=[2,3] l=3 e=1/2
r=[3,2] +[] -[] isr=[2,3] l=3 e=1/2",
    );
}

#[test]
fn cancel_restores_the_original_replicas_and_the_added_ones_leave_the_isr() {
    check(
        &[1, 2],
        &[
            Step::Cancel,
            Step::Move(&[3, 4]),
            Step::Isr(&[1, 2, 3]),
            Step::Cancel,
            Step::Cancel,
        ],
        "
r=[1,2] +[] -[] isr=[1,2] l=1 e=0/0
error: no reassignment of partition 0 of topic moving is in progress
r=[3,4,1,2] +[3,4] -[1,2] isr=[1,2] l=1 e=0/1
r=[3,4,1,2] +[3,4] -[1,2] isr=[1,2,3] l=1 e=0/2
r=[1,2] +[] -[] isr=[1,2] l=1 e=0/3
error: no reassignment of partition 0 of topic moving is in progress",
    );
}

#[test]
fn a_new_target_replaces_the_move_in_progress() {
    check(
        &[1],
        &[
            Step::Move(&[2]),
            Step::Move(&[3]),
            Step::Isr(&[1, 2]),
            Step::Isr(&[1, 2, 3]),
        ],
        "
r=[1] +[] -[] isr=[1] l=1 e=0/0
r=[2,1] +[2] -[1] isr=[1] l=1 e=0/1
r=[3,2,1] +[3] -[2,1] isr=[1] l=1 e=0/2
r=[3,2,1] +[3] -[2,1] isr=[1,2] l=1 e=0/3
r=[3] +[] -[] isr=[3] l=3 e=1/5",
    );
}

#[test]
fn a_fenced_target_member_holds_the_move_until_it_is_back_and_in_sync() {
    check(
        &[1],
        &[
            Step::Move(&[1, 2]),
            Step::Fence(2),
            Step::Isr(&[1, 2]),
            Step::Unfence(2),
            Step::Isr(&[1, 2]),
        ],
        "
r=[1] +[] -[] isr=[1] l=1 e=0/0
r=[1,2] +[2] -[] isr=[1] l=1 e=0/1
r=[1,2] +[2] -[] isr=[1] l=1 e=0/1
error: invalid request: moving-0: broker 2 is fenced and cannot join the isr
r=[1,2] +[2] -[] isr=[1] l=1 e=0/1
r=[1,2] +[] -[] isr=[1,2] l=1 e=0/3",
    );
}

#[test]
fn fencing_the_leader_mid_move_pauses_it_until_the_leader_is_back() {
    // The old leader is the last ISR member, so fencing it leaves the partition leaderless;
    // back, it leads again and the move completes when the new replica joins.
    check(
        &[1],
        &[
            Step::Move(&[2]),
            Step::Fence(1),
            Step::Unfence(1),
            Step::Isr(&[1, 2]),
        ],
        "
r=[1] +[] -[] isr=[1] l=1 e=0/0
r=[2,1] +[2] -[1] isr=[1] l=1 e=0/1
r=[2,1] +[2] -[1] isr=[1] l=- e=1/2
r=[2,1] +[2] -[1] isr=[1] l=1 e=2/3
r=[2] +[] -[] isr=[2] l=2 e=3/5",
    );
}

#[test]
fn invalid_targets_are_refused() {
    check(
        &[1, 2],
        &[
            Step::Move(&[]),
            Step::Move(&[3, 3]),
            Step::Move(&[3, 9]),
            Step::MoveSameFactor(&[3]),
            Step::MoveSameFactor(&[3, 4]),
        ],
        "
r=[1,2] +[] -[] isr=[1,2] l=1 e=0/0
error: invalid replica assignment for topic moving: partition 0: the target replicas are empty
error: invalid replica assignment for topic moving: partition 0: broker 3 appears more than once in the target
error: invalid replica assignment for topic moving: partition 0: broker 9 is not registered
error: invalid replication factor for topic moving: partition 0 has 2 replicas and the target 1, but the replication factor may not change
r=[3,4,1,2] +[3,4] -[1,2] isr=[1,2] l=1 e=0/1",
    );
    let image = image_with(&[1]);
    let mut unknown = reassignment(Some(&[1]), true);
    unknown.partition = PartitionIndex(1);
    assert_eq!(
        plan_reassign(&image, &unknown).unwrap_err().to_string(),
        "topic moving has no partition 1"
    );
    unknown.topic = "other".to_owned();
    assert_eq!(
        plan_reassign(&image, &unknown).unwrap_err().to_string(),
        "topic other does not exist"
    );
}

#[test]
fn ongoing_reassignments_are_listed_and_snapshots_carry_them() {
    let mut image = image_with(&[1]);
    assert!(ongoing_reassignments(&image, None).is_empty());
    for record in plan_reassign(&image, &reassignment(Some(&[2, 3]), true)).unwrap() {
        image.apply(&record).unwrap();
    }
    let all = ongoing_reassignments(&image, None);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (
            all[0].replicas.clone(),
            all[0].adding_replicas.clone(),
            all[0].removing_replicas.clone()
        ),
        (ids(&[2, 3, 1]), ids(&[2, 3]), ids(&[1]))
    );
    let asked = [
        ("moving".to_owned(), PartitionIndex(0)),
        ("moving".to_owned(), PartitionIndex(5)),
        ("nope".to_owned(), PartitionIndex(0)),
    ];
    assert_eq!(ongoing_reassignments(&image, Some(&asked)), all);
    // The snapshot holds the move as a `PartitionReassignment` after the `Partition` record.
    let records = image.to_records();
    assert!(matches!(
        records.last(),
        Some(MetadataRecord::PartitionReassignment(change)) if change.adding_replicas == ids(&[2, 3])
    ));
    let rebuilt = MetadataImage::from_snapshot(image.end_offset(), &records).unwrap();
    assert_eq!(rebuilt, image);
}

/// A random step of the property test.
#[derive(Debug, Clone)]
enum Random {
    /// Reassign to these brokers (a permutation prefix of 1..=4).
    Move(Vec<i32>),
    Cancel,
    /// The leader proposes its ISR plus this broker.
    Join(i32),
    /// The leader proposes its ISR without this broker.
    Leave(i32),
    Fence(i32),
    Unfence(i32),
}

fn random_step() -> impl proptest::strategy::Strategy<Value = Random> {
    use proptest::prelude::*;
    prop_oneof![
        2 => Just(vec![1, 2, 3, 4])
            .prop_shuffle()
            .prop_flat_map(|brokers| (1..=3usize).prop_map(move |len| brokers[..len].to_vec()))
            .prop_map(Random::Move),
        1 => Just(Random::Cancel),
        4 => (1..=4i32).prop_map(Random::Join),
        1 => (1..=4i32).prop_map(Random::Leave),
        1 => (1..=4i32).prop_map(Random::Fence),
        2 => (1..=4i32).prop_map(Random::Unfence),
    ]
}

/// Plans `step` against `image` (the planners' own refusals are fine and return no records).
fn plan_random(image: &MetadataImage, step: &Random) -> Vec<MetadataRecord> {
    let partition = image.partition("moving", PartitionIndex(0)).unwrap();
    let planned = match step {
        Random::Move(target) => plan_reassign(image, &reassignment(Some(target), true)),
        Random::Cancel => plan_reassign(image, &reassignment(None, true)),
        Random::Join(id) | Random::Leave(id) => {
            let Some(leader) = partition.leader else {
                return Vec::new();
            };
            let mut isr = partition.isr.clone();
            if matches!(step, Random::Join(_)) {
                isr.push(BrokerId(*id));
            } else {
                isr.retain(|member| *member != BrokerId(*id));
            }
            plan_alter_partition(
                image,
                &AlterPartition {
                    topic: "moving".to_owned(),
                    partition: PartitionIndex(0),
                    leader,
                    leader_epoch: partition.leader_epoch,
                    partition_epoch: partition.partition_epoch,
                    isr,
                },
            )
        }
        Random::Fence(id) => plan_fence_broker(image, BrokerId(*id)),
        Random::Unfence(id) => plan_unfence_broker(image, BrokerId(*id)),
    };
    planned.unwrap_or_default()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Whatever happens, the planned records apply, snapshots rebuild the image, a move's sets
    /// are consistent, and a move whose target is all in the ISR has completed unless no target
    /// member may lead.
    #[test]
    fn moves_stay_consistent_and_complete_as_soon_as_they_can(
        steps in proptest::collection::vec(random_step(), 1..25)
    ) {
        let mut image = image_with(&[1, 2]);
        for step in &steps {
            for record in plan_random(&image, step) {
                image.apply(&record).unwrap();
            }
            let rebuilt =
                MetadataImage::from_snapshot(image.end_offset(), &image.to_records()).unwrap();
            proptest::prop_assert_eq!(&rebuilt, &image);
            let partition = image.partition("moving", PartitionIndex(0)).unwrap();
            let target = partition.target_replicas();
            proptest::prop_assert!(!target.is_empty());
            proptest::prop_assert!(partition.isr.iter().all(|m| partition.replicas.contains(m)));
            proptest::prop_assert!(partition.leader.is_none_or(|l| partition.isr.contains(&l)));
            if !partition.is_reassigning() {
                continue;
            }
            proptest::prop_assert!(partition
                .adding_replicas
                .iter()
                .all(|a| target.contains(a) && !partition.removing_replicas.contains(a)));
            let mut expected = target.clone();
            expected.extend(partition.removing_replicas.iter().copied());
            proptest::prop_assert_eq!(&partition.replicas, &expected);
            if target.iter().all(|t| partition.isr.contains(t)) {
                let unfenced = |id: &BrokerId| !image.broker(*id).unwrap().fenced;
                let leader_stays = partition.leader.is_some_and(|l| target.contains(&l));
                proptest::prop_assert!(
                    !leader_stays && !target.iter().any(unfenced),
                    "a complete move was left in progress: {:?}",
                    partition
                );
            }
        }
    }
}
