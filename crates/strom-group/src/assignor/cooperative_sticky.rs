//! The `cooperative-sticky` assignor: a balanced assignment that keeps as many partitions as
//! possible where they are, handed out incrementally (KIP-429).
//!
//! First a sticky target is computed: members keep the partitions they validly own (subscribed,
//! still existing, not claimed by a member of a newer generation), unowned partitions go to the
//! least loaded subscriber, then partitions move one at a time from the most loaded member to a
//! less loaded subscriber until no move improves balance, moving partitions without a previous
//! owner first. Then the cooperative rule: a partition that changes owner is left out of this
//! round, so its old owner revokes it and rejoins; the next rebalance assigns it. This is our own
//! algorithm with Kafka's contract, not a port of Kafka's `AbstractStickyAssignor`.

use std::collections::{BTreeMap, BTreeSet};

use crate::assignor::{
    GroupAssignment, MemberSubscription, PartitionsPerTopic, empty_assignment, sorted_members,
};
use crate::ids::{MemberId, TopicPartition};

/// Computes this round's cooperative-sticky assignment.
pub fn cooperative_sticky(
    members: &[MemberSubscription],
    partitions_per_topic: &PartitionsPerTopic,
) -> GroupAssignment {
    let target = sticky_target(members, partitions_per_topic);
    // Every member that still claims a partition must give it up before anyone else gets it.
    let mut claimed_by: BTreeMap<&TopicPartition, Vec<&MemberId>> = BTreeMap::new();
    for member in members {
        for partition in &member.subscription.owned_partitions {
            claimed_by
                .entry(partition)
                .or_default()
                .push(&member.member_id);
        }
    }
    let mut res = empty_assignment(members);
    for (member_id, partitions) in target {
        let kept: Vec<TopicPartition> = partitions
            .into_iter()
            .filter(|partition| {
                claimed_by
                    .get(partition)
                    .is_none_or(|claimers| claimers.iter().all(|claimer| **claimer == member_id))
            })
            .collect();
        res.insert(member_id, kept);
    }
    res
}

/// The balanced, sticky assignment the cooperative rounds converge to.
fn sticky_target(
    members: &[MemberSubscription],
    partitions_per_topic: &PartitionsPerTopic,
) -> GroupAssignment {
    let members = sorted_members(members);
    let subscribed = |member: &MemberSubscription, topic: &str| {
        member.subscription.topics.iter().any(|name| name == topic)
    };
    let exists = |partition: &TopicPartition| {
        partitions_per_topic
            .get(&partition.topic)
            .is_some_and(|&count| {
                partition.partition.0 >= 0 && (partition.partition.0 as u64) < u64::from(count)
            })
    };

    // Valid claims: the newest generation wins; equal generations cancel each other.
    let mut claims: BTreeMap<TopicPartition, (Option<i32>, Option<usize>)> = BTreeMap::new();
    for (index, member) in members.iter().enumerate() {
        let generation = member
            .subscription
            .generation_id
            .map(|generation| generation.0);
        for partition in &member.subscription.owned_partitions {
            if !exists(partition) || !subscribed(member, &partition.topic) {
                continue;
            }
            match claims.get_mut(partition) {
                None => {
                    claims.insert(partition.clone(), (generation, Some(index)));
                }
                Some(claim) => {
                    if generation > claim.0 {
                        *claim = (generation, Some(index));
                    } else if generation == claim.0 {
                        claim.1 = None;
                    }
                }
            }
        }
    }

    let mut owned: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); members.len()];
    for (partition, (_, owner)) in &claims {
        if let Some(owner) = owner {
            owned[*owner].insert(partition.clone());
        }
    }
    let previous = owned.clone();

    // Unowned partitions go to the least loaded subscriber.
    for (topic, &count) in partitions_per_topic {
        for partition in 0..count {
            let partition = TopicPartition::new(
                topic.clone(),
                i32::try_from(partition).expect("partition counts fit in i32"),
            );
            if owned.iter().any(|set| set.contains(&partition)) {
                continue;
            }
            let least = (0..members.len())
                .filter(|&index| subscribed(members[index], topic))
                .min_by_key(|&index| owned[index].len());
            if let Some(least) = least {
                owned[least].insert(partition);
            }
        }
    }

    // Move single partitions from loaded members to members with at least two fewer. Each move
    // lowers the sum of squared loads, so this ends.
    loop {
        let mut sources: Vec<usize> = (0..members.len()).collect();
        sources.sort_by_key(|&index| std::cmp::Reverse(owned[index].len()));
        let mut moved = false;
        'sources: for source in sources {
            let load = owned[source].len();
            // Partitions this member did not own before are free to move; try them first.
            let (fresh, kept): (Vec<_>, Vec<_>) = owned[source]
                .iter()
                .cloned()
                .partition(|partition| !previous[source].contains(partition));
            for partition in fresh.into_iter().chain(kept) {
                let target = (0..members.len())
                    .filter(|&index| {
                        index != source
                            && subscribed(members[index], &partition.topic)
                            && owned[index].len() + 2 <= load
                    })
                    .min_by_key(|&index| owned[index].len());
                if let Some(target) = target {
                    owned[source].remove(&partition);
                    owned[target].insert(partition);
                    moved = true;
                    break 'sources;
                }
            }
        }
        if !moved {
            break;
        }
    }

    members
        .iter()
        .zip(owned)
        .map(|(member, set)| (member.member_id.clone(), set.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use crate::assignor::tests::{check, member, owning};

    #[test]
    fn fresh_group_is_balanced() {
        check(
            super::cooperative_sticky,
            &[
                member("m1", &["a"]),
                member("m2", &["a"]),
                member("m3", &["a"]),
            ],
            &[("a", 7)],
            expect![[r#"
                m1: a-0 a-3 a-6
                m2: a-1 a-4
                m3: a-2 a-5
            "#]],
        );
    }

    #[test]
    fn joining_member_waits_for_revocation() {
        // m3 joins: the partitions it will get are revoked from their owners first.
        check(
            super::cooperative_sticky,
            &[
                owning(member("m1", &["a"]), &["a-0", "a-1", "a-2"]),
                owning(member("m2", &["a"]), &["a-3", "a-4", "a-5"]),
                member("m3", &["a"]),
            ],
            &[("a", 6)],
            expect![[r#"
                m1: a-1 a-2
                m2: a-4 a-5
                m3:
            "#]],
        );
    }

    #[test]
    fn second_round_assigns_revoked_partitions() {
        check(
            super::cooperative_sticky,
            &[
                owning(member("m1", &["a"]), &["a-1", "a-2"]),
                owning(member("m2", &["a"]), &["a-4", "a-5"]),
                member("m3", &["a"]),
            ],
            &[("a", 6)],
            expect![[r#"
                m1: a-1 a-2
                m2: a-4 a-5
                m3: a-0 a-3
            "#]],
        );
    }
}
