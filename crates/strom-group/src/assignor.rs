//! Partition assignors for Strom's own consumer: pure functions from the members' subscriptions
//! and the topics' partition counts to an assignment.
//!
//! The coordinator never calls these: in the classic protocol the group leader (a client) runs
//! the assignor. They follow Kafka's `range`, `roundrobin` and `cooperative-sticky` semantics.
//! Rack awareness is not implemented.

mod cooperative_sticky;
mod range;
mod round_robin;

use std::collections::BTreeMap;

use crate::consumer_protocol::Subscription;
use crate::ids::{GroupInstanceId, MemberId, TopicPartition};

pub use cooperative_sticky::cooperative_sticky;
pub use range::range;
pub use round_robin::round_robin;

/// One member's input to an assignor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    /// The member's id.
    pub member_id: MemberId,
    /// The member's static instance id, which orders members ahead of the member id.
    pub group_instance_id: Option<GroupInstanceId>,
    /// What the member sent in its JoinGroup metadata.
    pub subscription: Subscription,
}

/// Partition counts of the topics the members subscribe to. Topics missing here are unknown and
/// get no partitions.
pub type PartitionsPerTopic = BTreeMap<String, u32>;

/// Partitions per member. Every member passed in has an entry, possibly empty.
pub type GroupAssignment = BTreeMap<MemberId, Vec<TopicPartition>>;

/// The assignors this crate implements, by their Kafka protocol name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// `range`: per topic, consecutive partition ranges.
    Range,
    /// `roundrobin`: all partitions dealt out one at a time.
    RoundRobin,
    /// `cooperative-sticky`: balanced, sticky, and incremental (KIP-429).
    CooperativeSticky,
}

impl Assignor {
    /// The protocol name a consumer advertises in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor with this protocol name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            "cooperative-sticky" => Some(Assignor::CooperativeSticky),
            _ => None,
        }
    }

    /// Runs the assignor.
    pub fn assign(
        self,
        members: &[MemberSubscription],
        partitions_per_topic: &PartitionsPerTopic,
    ) -> GroupAssignment {
        match self {
            Assignor::Range => range(members, partitions_per_topic),
            Assignor::RoundRobin => round_robin(members, partitions_per_topic),
            Assignor::CooperativeSticky => cooperative_sticky(members, partitions_per_topic),
        }
    }
}

/// Members in Kafka's order: static members first by instance id, then the rest by member id.
fn sorted_members(members: &[MemberSubscription]) -> Vec<&MemberSubscription> {
    let mut res: Vec<&MemberSubscription> = members.iter().collect();
    res.sort_by(|a, b| {
        let key_a = (
            a.group_instance_id.is_none(),
            &a.group_instance_id,
            &a.member_id,
        );
        let key_b = (
            b.group_instance_id.is_none(),
            &b.group_instance_id,
            &b.member_id,
        );
        key_a.cmp(&key_b)
    });
    res
}

/// An assignment with an empty entry for every member.
fn empty_assignment(members: &[MemberSubscription]) -> GroupAssignment {
    members
        .iter()
        .map(|member| (member.member_id.clone(), Vec::new()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::fmt::Write;

    use expect_test::Expect;

    use super::*;

    /// A member subscribed to `topics`, owning nothing.
    pub(crate) fn member(member_id: &str, topics: &[&str]) -> MemberSubscription {
        MemberSubscription {
            member_id: MemberId(member_id.into()),
            group_instance_id: None,
            subscription: Subscription {
                version: 3,
                topics: topics.iter().map(|topic| topic.to_string()).collect(),
                ..Subscription::default()
            },
        }
    }

    /// The member, owning partitions written as `topic-partition`.
    pub(crate) fn owning(mut member: MemberSubscription, owned: &[&str]) -> MemberSubscription {
        member.subscription.owned_partitions = owned
            .iter()
            .map(|name| {
                let (topic, partition) = name.rsplit_once('-').unwrap();
                TopicPartition::new(topic, partition.parse().unwrap())
            })
            .collect();
        member
    }

    #[track_caller]
    pub(crate) fn check(
        assignor: fn(&[MemberSubscription], &PartitionsPerTopic) -> GroupAssignment,
        members: &[MemberSubscription],
        topics: &[(&str, u32)],
        expect: Expect,
    ) {
        let partitions_per_topic: PartitionsPerTopic = topics
            .iter()
            .map(|(topic, count)| (topic.to_string(), *count))
            .collect();
        let res = assignor(members, &partitions_per_topic);
        let mut out = String::new();
        for (member_id, partitions) in &res {
            write!(out, "{member_id}:").unwrap();
            for partition in partitions {
                write!(out, " {partition}").unwrap();
            }
            out.push('\n');
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn names_round_trip() {
        for assignor in [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ] {
            assert_eq!(Assignor::from_name(assignor.name()), Some(assignor));
        }
        assert_eq!(Assignor::from_name("sticky"), None);
    }
}
