//! Property tests of the assignors: every partition assigned exactly once to a subscriber,
//! balance within one for equal subscriptions, and cooperative-sticky's minimal movement over
//! its two-round (revoke, then assign) flow when a member joins or leaves.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use strom_group::{
    Assignor, GenerationId, GroupAssignment, MemberId, MemberSubscription, PartitionsPerTopic,
    Subscription, TopicPartition, cooperative_sticky,
};

fn member(index: usize, topics: &[String], owned: Vec<TopicPartition>) -> MemberSubscription {
    MemberSubscription {
        member_id: MemberId(format!("member-{index:02}")),
        group_instance_id: None,
        subscription: Subscription {
            version: 2,
            topics: topics.to_vec(),
            user_data: None,
            owned_partitions: owned,
            generation_id: Some(GenerationId(1)),
            rack_id: None,
        },
    }
}

fn topics_strategy() -> impl Strategy<Value = PartitionsPerTopic> {
    proptest::collection::btree_map("t[a-d]", 0u32..12, 1..4)
}

/// Checks exactly-once assignment to subscribers and returns each partition's owner.
fn check_complete(
    members: &[MemberSubscription],
    partitions_per_topic: &PartitionsPerTopic,
    assignment: &GroupAssignment,
) -> Result<BTreeMap<TopicPartition, MemberId>, TestCaseError> {
    prop_assert_eq!(assignment.len(), members.len());
    let mut owners = BTreeMap::new();
    for (member_id, partitions) in assignment {
        let member = members
            .iter()
            .find(|member| &member.member_id == member_id)
            .unwrap();
        for partition in partitions {
            prop_assert!(
                member.subscription.topics.contains(&partition.topic),
                "{partition} to non-subscriber"
            );
            prop_assert!(
                owners
                    .insert(partition.clone(), member_id.clone())
                    .is_none(),
                "{partition} twice"
            );
        }
    }
    for (topic, count) in partitions_per_topic {
        let subscribed = members
            .iter()
            .any(|member| member.subscription.topics.contains(topic));
        for partition in 0..*count as i32 {
            let assigned = owners.contains_key(&TopicPartition::new(topic.clone(), partition));
            prop_assert_eq!(assigned, subscribed, "{}-{}", topic, partition);
        }
    }
    Ok(owners)
}

fn loads(assignment: &GroupAssignment) -> Vec<usize> {
    assignment.values().map(Vec::len).collect()
}

/// Runs cooperative-sticky until it settles: each round, members own what they were assigned.
fn cooperative_rounds(
    topics: &[String],
    member_count: usize,
    previous: &BTreeMap<MemberId, Vec<TopicPartition>>,
    partitions_per_topic: &PartitionsPerTopic,
) -> (GroupAssignment, GroupAssignment) {
    let owned_by = |index: usize, assignment: &BTreeMap<MemberId, Vec<TopicPartition>>| {
        assignment
            .get(&MemberId(format!("member-{index:02}")))
            .cloned()
            .unwrap_or_default()
    };
    let members: Vec<_> = (0..member_count)
        .map(|index| member(index, topics, owned_by(index, previous)))
        .collect();
    let first = cooperative_sticky(&members, partitions_per_topic);
    let members: Vec<_> = (0..member_count)
        .map(|index| member(index, topics, owned_by(index, &first)))
        .collect();
    let second = cooperative_sticky(&members, partitions_per_topic);
    (first, second)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_partition_assigned_once_to_a_subscriber(
        partitions_per_topic in topics_strategy(),
        subscriptions in proptest::collection::vec(proptest::collection::btree_set("t[a-e]", 0..4), 1..6),
    ) {
        let members: Vec<_> = subscriptions
            .iter()
            .enumerate()
            .map(|(index, topics)| member(index, &topics.iter().cloned().collect::<Vec<_>>(), Vec::new()))
            .collect();
        for assignor in [Assignor::Range, Assignor::RoundRobin, Assignor::CooperativeSticky] {
            let assignment = assignor.assign(&members, &partitions_per_topic);
            check_complete(&members, &partitions_per_topic, &assignment)?;
        }
    }

    #[test]
    fn equal_subscriptions_are_balanced(
        partitions_per_topic in topics_strategy(),
        member_count in 1usize..7,
    ) {
        let topics: Vec<String> = partitions_per_topic.keys().cloned().collect();
        let members: Vec<_> = (0..member_count).map(|index| member(index, &topics, Vec::new())).collect();
        for assignor in [Assignor::RoundRobin, Assignor::CooperativeSticky] {
            let assignment = assignor.assign(&members, &partitions_per_topic);
            check_complete(&members, &partitions_per_topic, &assignment)?;
            let loads = loads(&assignment);
            let spread = loads.iter().max().unwrap() - loads.iter().min().unwrap();
            prop_assert!(spread <= 1, "{assignor:?}: {loads:?}");
        }
        // Range balances each topic on its own.
        let assignment = Assignor::Range.assign(&members, &partitions_per_topic);
        for topic in &topics {
            let per_member: Vec<usize> = assignment
                .values()
                .map(|partitions| partitions.iter().filter(|partition| &partition.topic == topic).count())
                .collect();
            let spread = per_member.iter().max().unwrap() - per_member.iter().min().unwrap();
            prop_assert!(spread <= 1, "range {topic}: {per_member:?}");
        }
    }

    #[test]
    fn cooperative_sticky_moves_the_minimum(
        partitions_per_topic in topics_strategy(),
        member_count in 1usize..6,
        joins in any::<bool>(),
    ) {
        let topics: Vec<String> = partitions_per_topic.keys().cloned().collect();
        let (_, before) = cooperative_rounds(&topics, member_count, &BTreeMap::new(), &partitions_per_topic);
        let after_count = if joins { member_count + 1 } else { member_count - 1 };
        if after_count == 0 {
            return Ok(());
        }
        let (first, after) = cooperative_rounds(&topics, after_count, &before, &partitions_per_topic);
        let members: Vec<_> = (0..after_count).map(|index| member(index, &topics, Vec::new())).collect();
        let owners_after = check_complete(&members, &partitions_per_topic, &after)?;

        // Round one never hands a partition to a new owner while its old owner still has it.
        let survivors: BTreeSet<MemberId> = after.keys().cloned().collect();
        for (member_id, partitions) in &first {
            for partition in partitions {
                let old = before.iter().find(|(_, list)| list.contains(partition)).map(|(id, _)| id);
                if let Some(old) = old.filter(|old| survivors.contains(*old)) {
                    prop_assert_eq!(old, member_id, "{} given away before revocation", partition);
                }
            }
        }

        // Balanced after the second round.
        let loads = loads(&after);
        let spread = loads.iter().max().unwrap() - loads.iter().min().unwrap();
        prop_assert!(spread <= 1, "{loads:?}");

        // Moves: partitions whose surviving owner changed. The least possible: every member ends
        // within [floor, ceil], partitions of a member that left are free to place.
        let total: usize = partitions_per_topic.values().map(|count| *count as usize).sum();
        let floor = total / after_count;
        let ceil = total.div_ceil(after_count);
        let mut moved = 0;
        let mut excess = 0;
        let mut deficit = 0;
        let mut orphans = 0;
        for (member_id, partitions) in &before {
            if !survivors.contains(member_id) {
                orphans += partitions.len();
                continue;
            }
            moved += partitions.iter().filter(|partition| owners_after.get(*partition) != Some(member_id)).count();
        }
        for member_id in &survivors {
            let owned = before.get(member_id).map_or(0, Vec::len);
            excess += owned.saturating_sub(ceil);
            deficit += floor.saturating_sub(owned);
        }
        let minimum = excess.max(deficit.saturating_sub(orphans));
        prop_assert_eq!(moved, minimum, "before {:?} after {:?}", before, after);
    }
}
