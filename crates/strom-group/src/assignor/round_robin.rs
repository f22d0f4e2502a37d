//! The `roundrobin` assignor: all partitions, sorted by topic and number, are dealt to members in
//! Kafka's member order, skipping members not subscribed to the partition's topic.

use crate::assignor::{
    GroupAssignment, MemberSubscription, PartitionsPerTopic, empty_assignment, sorted_members,
};
use crate::ids::TopicPartition;

/// Deals partitions one at a time around the members.
pub fn round_robin(
    members: &[MemberSubscription],
    partitions_per_topic: &PartitionsPerTopic,
) -> GroupAssignment {
    let mut res = empty_assignment(members);
    let members = sorted_members(members);
    if members.is_empty() {
        return res;
    }
    let mut next = 0usize;
    for (topic, &partition_count) in partitions_per_topic {
        let subscribed = |index: usize| {
            members[index % members.len()]
                .subscription
                .topics
                .iter()
                .any(|name| name == topic)
        };
        if !(0..members.len()).any(subscribed) {
            continue;
        }
        for partition in 0..partition_count {
            while !subscribed(next) {
                next += 1;
            }
            let member = members[next % members.len()];
            next += 1;
            let partition = i32::try_from(partition).expect("partition counts fit in i32");
            let list = res.entry(member.member_id.clone()).or_default();
            list.push(TopicPartition::new(topic.clone(), partition));
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use crate::assignor::tests::{check, member};

    #[test]
    fn deals_partitions_in_turn() {
        check(
            super::round_robin,
            &[member("m1", &["a", "b"]), member("m2", &["a", "b"])],
            &[("a", 3), ("b", 3)],
            expect![[r#"
                m1: a-0 a-2 b-1
                m2: a-1 b-0 b-2
            "#]],
        );
    }

    #[test]
    fn skips_members_not_subscribed() {
        check(
            super::round_robin,
            &[
                member("m1", &["a"]),
                member("m2", &["a", "b"]),
                member("m3", &["b"]),
            ],
            &[("a", 3), ("b", 3)],
            expect![[r#"
                m1: a-0 a-2
                m2: a-1 b-0 b-2
                m3: b-1
            "#]],
        );
    }
}
