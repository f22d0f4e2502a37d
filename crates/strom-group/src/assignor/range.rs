//! The `range` assignor: for each topic, members (in Kafka's order) get consecutive ranges of
//! partitions; the first `partitions % members` members get one extra.

use crate::assignor::{
    GroupAssignment, MemberSubscription, PartitionsPerTopic, empty_assignment, sorted_members,
};
use crate::ids::TopicPartition;

/// Assigns each topic's partitions in consecutive ranges to the members subscribed to it.
pub fn range(
    members: &[MemberSubscription],
    partitions_per_topic: &PartitionsPerTopic,
) -> GroupAssignment {
    let mut res = empty_assignment(members);
    let members = sorted_members(members);
    for (topic, &partition_count) in partitions_per_topic {
        let subscribers: Vec<_> = members
            .iter()
            .filter(|member| member.subscription.topics.iter().any(|name| name == topic))
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        let partition_count = partition_count as usize;
        let per_member = partition_count / subscribers.len();
        let extra = partition_count % subscribers.len();
        for (position, member) in subscribers.iter().enumerate() {
            let start = position * per_member + position.min(extra);
            let length = per_member + usize::from(position < extra);
            let list = res.entry(member.member_id.clone()).or_default();
            for partition in start..start + length {
                let partition = i32::try_from(partition).expect("partition counts fit in i32");
                list.push(TopicPartition::new(topic.clone(), partition));
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use crate::assignor::tests::{check, member};

    #[test]
    fn splits_each_topic_into_ranges() {
        check(
            super::range,
            &[member("m1", &["a", "b"]), member("m2", &["a", "b"])],
            &[("a", 3), ("b", 3)],
            expect![[r#"
                m1: a-0 a-1 b-0 b-1
                m2: a-2 b-2
            "#]],
        );
    }

    #[test]
    fn only_subscribers_get_a_topic() {
        check(
            super::range,
            &[
                member("m1", &["a"]),
                member("m2", &["a", "b"]),
                member("m3", &["c"]),
            ],
            &[("a", 4), ("b", 2)],
            expect![[r#"
                m1: a-0 a-1
                m2: a-2 a-3 b-0 b-1
                m3:
            "#]],
        );
    }
}
