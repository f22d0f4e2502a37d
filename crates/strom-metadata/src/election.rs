//! Leader elections the controller runs besides fencing and unfencing: preferred and unclean
//! elections asked for by ElectLeaders (KIP-460), the automatic preferred-leader rebalance, and
//! the per-topic `unclean.leader.election.enable` rule that fencing and unfencing consult.
//!
//! Everything here is pure, like `controller`: it reads an image and returns per-partition
//! results and the `PartitionChange` records that carry them out. It decides nothing about when
//! to run (the quorum leader's timer does) and reads no clock.

use serde::{Deserialize, Serialize};

use crate::controller::{change_record, for_each_partition};
use crate::ids::{BrokerId, PartitionIndex};
use crate::image::{MetadataImage, PartitionImage, TopicImage};
use crate::record::{ConfigResource, MetadataRecord};

/// The topic config (and broker default) that lets the controller elect a leader from outside
/// the ISR when no ISR member is live, at the cost of losing what only the ISR held.
pub const UNCLEAN_LEADER_ELECTION_ENABLE: &str = "unclean.leader.election.enable";

/// Which election ElectLeaders asks for (Kafka's `ElectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElectionType {
    /// Make the preferred replica (the first) leader when it is live and in the ISR (wire 0).
    Preferred,
    /// Elect a live ISR member, or when none is left, the first live replica (wire 1).
    Unclean,
}

/// What an election did for one partition; all but `Elected` carry Kafka's per-partition code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Election {
    /// The broker now leads the partition.
    Elected(BrokerId),
    /// The partition already has the leader the election would choose (`ELECTION_NOT_NEEDED`).
    NotNeeded,
    /// The preferred replica is fenced or outside the ISR (`PREFERRED_LEADER_NOT_AVAILABLE`).
    PreferredLeaderNotAvailable,
    /// No replica is live (`ELIGIBLE_LEADERS_NOT_AVAILABLE`).
    EligibleLeadersNotAvailable,
    /// No such topic or partition (`UNKNOWN_TOPIC_OR_PARTITION`).
    UnknownTopicOrPartition,
}

/// The result of an election for one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionElection {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: PartitionIndex,
    /// What happened.
    pub election: Election,
}

/// The controller's election settings that come from the broker config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ElectionConfig {
    /// `unclean.leader.election.enable` for topics without an override (and no cluster-wide
    /// dynamic default).
    pub unclean_by_default: bool,
}

/// Whether `topic` may elect uncleanly on its own: its override of
/// [`UNCLEAN_LEADER_ELECTION_ENABLE`], else the cluster-wide dynamic default, else the broker
/// config's. A value that is not a boolean counts as `false` (values are validated before they
/// are written).
pub fn unclean_election_enabled(
    image: &MetadataImage,
    topic: &TopicImage,
    config: ElectionConfig,
) -> bool {
    let value = topic
        .configs
        .get(UNCLEAN_LEADER_ELECTION_ENABLE)
        .or_else(|| {
            image
                .configs(&ConfigResource::ClusterDefault)
                .get(UNCLEAN_LEADER_ELECTION_ENABLE)
        });
    match value {
        Some(value) => value.trim().eq_ignore_ascii_case("true"),
        None => config.unclean_by_default,
    }
}

/// Plans an ElectLeaders request: one result per named partition, in request order (every
/// partition of every topic, by topic name, when `partitions` is `None`, as for Kafka's null
/// `TopicPartitions`), and the records of the elections that elect. A partition named twice
/// is elected once and reported twice.
pub fn plan_elect_leaders(
    image: &MetadataImage,
    election: ElectionType,
    partitions: Option<&[(String, PartitionIndex)]>,
) -> (Vec<PartitionElection>, Vec<MetadataRecord>) {
    let mut scratch = image.clone();
    let mut res = Vec::new();
    let mut records = Vec::new();
    let mut elect = |topic: &str, index: PartitionIndex| {
        let election = match scratch.topic(topic) {
            Some(topic_image) => match topic_image.partition(index) {
                Some(partition) => {
                    let (election, record) =
                        elect_one(&scratch, topic_image, index, partition, election);
                    if let Some(record) = record {
                        scratch
                            .apply(&record)
                            .expect("an election's record fits the image it was planned on");
                        records.push(record);
                    }
                    election
                }
                None => Election::UnknownTopicOrPartition,
            },
            None => Election::UnknownTopicOrPartition,
        };
        res.push(PartitionElection {
            topic: topic.to_owned(),
            partition: index,
            election,
        });
    };
    match partitions {
        Some(partitions) => {
            for (topic, index) in partitions {
                elect(topic, *index);
            }
        }
        None => {
            let all: Vec<(String, PartitionIndex)> = image
                .topics()
                .flat_map(|topic| {
                    (0..topic.partition_count())
                        .map(|index| (topic.name.clone(), PartitionIndex(index)))
                })
                .collect();
            for (topic, index) in all {
                elect(&topic, index);
            }
        }
    }
    (res, records)
}

/// Plans one round of the automatic preferred-leader rebalance (Kafka's
/// `auto.leader.rebalance.enable`): for each broker, the imbalance is the share of the
/// partitions it is the preferred replica of that another broker leads; when that share is above
/// `imbalance_percentage` percent, every such partition where the broker is unfenced and in the
/// ISR gets a preferred election. Returns the partitions that move and their records.
pub fn plan_rebalance_leaders(
    image: &MetadataImage,
    imbalance_percentage: u32,
) -> (Vec<PartitionElection>, Vec<MetadataRecord>) {
    // Per preferred broker: how many partitions prefer it, and which of them it does not lead.
    let mut preferred: std::collections::BTreeMap<BrokerId, (u64, Vec<(String, PartitionIndex)>)> =
        std::collections::BTreeMap::new();
    for_each_partition(image, |topic, index, partition| {
        let Some(first) = partition.replicas.first() else {
            return;
        };
        let entry = preferred.entry(*first).or_default();
        entry.0 += 1;
        if partition.leader != Some(*first) {
            entry.1.push((topic.name.clone(), index));
        }
    });
    let mut candidates = Vec::new();
    for (broker_id, (total, not_led)) in preferred {
        let imbalanced = (not_led.len() as u64).saturating_mul(100)
            > total.saturating_mul(u64::from(imbalance_percentage));
        if !imbalanced || !is_live(image, broker_id) {
            continue;
        }
        candidates.extend(not_led);
    }
    let (elections, records) =
        plan_elect_leaders(image, ElectionType::Preferred, Some(&candidates));
    let moved = elections
        .into_iter()
        .filter(|election| matches!(election.election, Election::Elected(_)))
        .collect();
    (moved, records)
}

/// Plans the unclean elections a controller runs on its own (Kafka's periodic unclean
/// election): every leaderless partition of a topic that enables unclean election gets a live
/// ISR member or, when none is left, the first live replica as leader (with an ISR of only that
/// replica). This covers partitions that became leaderless before the topic enabled it. Returns
/// the partitions that got a leader and their records.
pub fn plan_unclean_elections(
    image: &MetadataImage,
    config: ElectionConfig,
) -> (Vec<PartitionElection>, Vec<MetadataRecord>) {
    let mut res = Vec::new();
    let mut records = Vec::new();
    for_each_partition(image, |topic, index, partition| {
        if partition.leader.is_some() || !unclean_election_enabled(image, topic, config) {
            return;
        }
        let (election, record) = elect_one(image, topic, index, partition, ElectionType::Unclean);
        if let Some(record) = record {
            records.push(record);
            res.push(PartitionElection {
                topic: topic.name.clone(),
                partition: index,
                election,
            });
        }
    });
    (res, records)
}

/// An unclean election's leader for a partition whose ISR has no live member: the first live
/// replica other than `excluded` (a broker being fenced), or `None`.
pub(crate) fn unclean_leader(
    image: &MetadataImage,
    partition: &PartitionImage,
    excluded: Option<BrokerId>,
) -> Option<BrokerId> {
    partition
        .replicas
        .iter()
        .copied()
        .find(|replica| Some(*replica) != excluded && is_live(image, *replica))
}

/// Whether a broker is registered and unfenced.
pub(crate) fn is_live(image: &MetadataImage, broker_id: BrokerId) -> bool {
    image.broker(broker_id).is_some_and(|broker| !broker.fenced)
}

/// One partition's election and its record, if it elects.
fn elect_one(
    image: &MetadataImage,
    topic: &TopicImage,
    index: PartitionIndex,
    partition: &PartitionImage,
    election: ElectionType,
) -> (Election, Option<MetadataRecord>) {
    let (leader, isr) = match election {
        ElectionType::Preferred => {
            let Some(preferred) = partition.replicas.first().copied() else {
                return (Election::PreferredLeaderNotAvailable, None);
            };
            if partition.leader == Some(preferred) {
                return (Election::NotNeeded, None);
            }
            if !partition.isr.contains(&preferred) || !is_live(image, preferred) {
                return (Election::PreferredLeaderNotAvailable, None);
            }
            (preferred, partition.isr.clone())
        }
        ElectionType::Unclean => {
            if partition
                .leader
                .is_some_and(|leader| is_live(image, leader))
            {
                return (Election::NotNeeded, None);
            }
            let clean = partition
                .replicas
                .iter()
                .copied()
                .find(|replica| partition.isr.contains(replica) && is_live(image, *replica));
            match clean {
                Some(leader) => (leader, partition.isr.clone()),
                None => match unclean_leader(image, partition, None) {
                    Some(leader) => (leader, vec![leader]),
                    None => return (Election::EligibleLeadersNotAvailable, None),
                },
            }
        }
    };
    match change_record(topic, index, partition, isr, Some(leader)) {
        Some(record) => (Election::Elected(leader), Some(record)),
        None => (Election::NotNeeded, None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;

    use super::*;
    use crate::controller::{plan_fence_broker_with, plan_unfence_broker_with};
    use crate::ids::{LeaderEpoch, PartitionEpoch, TopicId};
    use crate::record::{BrokerRegistration, PartitionRecord};

    /// A partition: replicas, ISR, leader.
    type Spec<'a> = (&'a [i32], &'a [i32], Option<i32>);

    /// Brokers 1 to 4, those in `fenced` fenced, and topic `t` with `partitions`; with
    /// `unclean`, `t` sets `unclean.leader.election.enable` to that value.
    fn image(fenced: &[i32], partitions: &[Spec<'_>], unclean: Option<&str>) -> MetadataImage {
        let mut res = MetadataImage::new();
        let mut records = Vec::new();
        for id in 1..=4 {
            records.push(MetadataRecord::RegisterBroker(BrokerRegistration {
                broker_id: BrokerId(id),
                endpoints: Vec::new(),
                rack: None,
                fenced: fenced.contains(&id),
            }));
        }
        let topic_id = TopicId([7; 16]);
        records.push(MetadataRecord::Topic {
            name: "t".into(),
            topic_id,
        });
        for (index, (replicas, isr, leader)) in (0u32..).zip(partitions) {
            let ids = |list: &[i32]| list.iter().copied().map(BrokerId).collect::<Vec<_>>();
            records.push(MetadataRecord::Partition(PartitionRecord {
                topic_id,
                partition: PartitionIndex(index),
                replicas: ids(replicas),
                isr: ids(isr),
                leader: leader.map(BrokerId),
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
            }));
        }
        if let Some(value) = unclean {
            records.push(MetadataRecord::Config {
                resource: ConfigResource::Topic("t".into()),
                key: UNCLEAN_LEADER_ELECTION_ENABLE.into(),
                value: Some(value.into()),
            });
        }
        for record in &records {
            res.apply(record).unwrap();
        }
        res
    }

    /// The elections, then every partition of `t` after applying `records`.
    fn render(
        image: &MetadataImage,
        elections: &[PartitionElection],
        records: &[MetadataRecord],
    ) -> String {
        let mut after = image.clone();
        for record in records {
            after.apply(record).unwrap();
        }
        let mut res = String::new();
        for election in elections {
            writeln!(
                res,
                "{}-{} {:?}",
                election.topic, election.partition, election.election
            )
            .unwrap();
        }
        for (index, partition) in after.topic("t").unwrap().partitions.iter().enumerate() {
            let isr: Vec<String> = partition.isr.iter().map(ToString::to_string).collect();
            let leader = partition
                .leader
                .map_or_else(|| "none".to_owned(), |leader| leader.to_string());
            writeln!(
                res,
                "t-{index}: leader {leader} isr {} leader_epoch {}",
                isr.join(","),
                partition.leader_epoch
            )
            .unwrap();
        }
        res
    }

    #[track_caller]
    fn check_elect(
        fenced: &[i32],
        partitions: &[Spec<'_>],
        election: ElectionType,
        named: Option<&[(&str, u32)]>,
        expect: expect_test::Expect,
    ) {
        let image = image(fenced, partitions, None);
        let named: Option<Vec<(String, PartitionIndex)>> = named.map(|named| {
            named
                .iter()
                .map(|(topic, index)| ((*topic).to_owned(), PartitionIndex(*index)))
                .collect()
        });
        let (elections, records) = plan_elect_leaders(&image, election, named.as_deref());
        expect.assert_eq(&render(&image, &elections, &records));
    }

    #[test]
    fn preferred_elections() {
        use expect_test::expect;
        check_elect(
            &[],
            &[
                (&[1, 2, 3], &[1, 2, 3], Some(2)),
                (&[2, 3], &[2, 3], Some(2)),
                (&[3, 1], &[1], Some(1)),
                (&[4, 1], &[1, 4], Some(1)),
            ],
            ElectionType::Preferred,
            None,
            expect![[r#"
                t-0 Elected(BrokerId(1))
                t-1 NotNeeded
                t-2 PreferredLeaderNotAvailable
                t-3 Elected(BrokerId(4))
                t-0: leader 1 isr 1,2,3 leader_epoch 1
                t-1: leader 2 isr 2,3 leader_epoch 0
                t-2: leader 1 isr 1 leader_epoch 0
                t-3: leader 4 isr 1,4 leader_epoch 1
            "#]],
        );
        // A fenced preferred replica cannot lead, even from the ISR; unknown names are
        // reported in request order.
        check_elect(
            &[1],
            &[(&[1, 2], &[1, 2], Some(2))],
            ElectionType::Preferred,
            Some(&[("t", 1), ("t", 0), ("u", 0)]),
            expect![[r#"
                t-1 UnknownTopicOrPartition
                t-0 PreferredLeaderNotAvailable
                u-0 UnknownTopicOrPartition
                t-0: leader 2 isr 1,2 leader_epoch 0
            "#]],
        );
    }

    #[test]
    fn unclean_elections() {
        use expect_test::expect;
        check_elect(
            &[1, 2],
            &[
                // A live leader: nothing to do.
                (&[1, 3], &[1, 3], Some(3)),
                // A live ISR member: a clean election, ISR kept.
                (&[1, 2, 3], &[1, 3], None),
                // No live ISR member: the first live replica, alone in the ISR.
                (&[1, 2, 4, 3], &[1, 2], None),
                // Nobody live.
                (&[1, 2], &[1], None),
            ],
            ElectionType::Unclean,
            None,
            expect![[r#"
                t-0 NotNeeded
                t-1 Elected(BrokerId(3))
                t-2 Elected(BrokerId(4))
                t-3 EligibleLeadersNotAvailable
                t-0: leader 3 isr 1,3 leader_epoch 0
                t-1: leader 3 isr 1,3 leader_epoch 1
                t-2: leader 4 isr 4 leader_epoch 1
                t-3: leader none isr 1 leader_epoch 0
            "#]],
        );
    }

    #[test]
    fn a_partition_named_twice_is_elected_once() {
        use expect_test::expect;
        check_elect(
            &[],
            &[(&[1, 2], &[1, 2], Some(2))],
            ElectionType::Preferred,
            Some(&[("t", 0), ("t", 0)]),
            expect![[r#"
                t-0 Elected(BrokerId(1))
                t-0 NotNeeded
                t-0: leader 1 isr 1,2 leader_epoch 1
            "#]],
        );
    }

    #[track_caller]
    fn check_fence(
        fenced: &[i32],
        partitions: &[Spec<'_>],
        unclean: Option<&str>,
        unclean_by_default: bool,
        action: &str,
        expect: &expect_test::Expect,
    ) {
        let image = image(fenced, partitions, unclean);
        let config = ElectionConfig { unclean_by_default };
        let (verb, id) = action.split_once(' ').unwrap();
        let broker_id = BrokerId(id.parse().unwrap());
        let records = match verb {
            "fence" => plan_fence_broker_with(&image, broker_id, config).unwrap(),
            "unfence" => plan_unfence_broker_with(&image, broker_id, config).unwrap(),
            other => unreachable!("unknown action {other}"),
        };
        expect.assert_eq(&render(&image, &[], &records));
    }

    #[test]
    fn fencing_the_last_live_isr_member_elects_uncleanly_only_when_enabled() {
        use expect_test::expect;
        let partitions: &[Spec<'_>] = &[(&[2, 1, 3], &[2], Some(2)), (&[2, 1], &[2, 1], Some(2))];
        let unclean = expect![[r#"
            t-0: leader 1 isr 1 leader_epoch 1
            t-1: leader 1 isr 1 leader_epoch 1
        "#]];
        check_fence(&[], partitions, Some("true"), false, "fence 2", &unclean);
        check_fence(&[], partitions, None, true, "fence 2", &unclean);
        let clean = expect![[r#"
            t-0: leader none isr 2 leader_epoch 1
            t-1: leader 1 isr 1 leader_epoch 1
        "#]];
        check_fence(&[], partitions, None, false, "fence 2", &clean);
        // The topic's override wins over the broker default, either way.
        check_fence(&[], partitions, Some("false"), true, "fence 2", &clean);
        // No other live replica: leaderless even when enabled.
        check_fence(
            &[1, 3],
            partitions,
            Some("TRUE"),
            false,
            "fence 2",
            &expect![[r#"
                t-0: leader none isr 2 leader_epoch 1
                t-1: leader none isr 1 leader_epoch 1
            "#]],
        );
    }

    #[test]
    fn an_unfenced_replica_of_a_leaderless_partition_leads_only_when_enabled() {
        use expect_test::expect;
        let partitions: &[Spec<'_>] = &[
            // Broker 1 is out of the ISR, whose only member is fenced.
            (&[2, 1], &[2], None),
            // Broker 1 is in the ISR: a clean election, enabled or not.
            (&[2, 1], &[1, 2], None),
            // Not a replica of broker 1.
            (&[2, 3], &[2], None),
        ];
        check_fence(
            &[1, 2, 3],
            partitions,
            Some("true"),
            false,
            "unfence 1",
            &expect![[r#"
                t-0: leader 1 isr 1 leader_epoch 1
                t-1: leader 1 isr 1,2 leader_epoch 1
                t-2: leader none isr 2 leader_epoch 0
            "#]],
        );
        check_fence(
            &[1, 2, 3],
            partitions,
            None,
            false,
            "unfence 1",
            &expect![[r#"
                t-0: leader none isr 2 leader_epoch 0
                t-1: leader 1 isr 1,2 leader_epoch 1
                t-2: leader none isr 2 leader_epoch 0
            "#]],
        );
    }

    #[test]
    fn the_cluster_default_applies_between_topic_and_broker_config() {
        let mut image = image(&[], &[(&[1], &[1], Some(1))], None);
        let config = ElectionConfig {
            unclean_by_default: false,
        };
        let topic = image.topic("t").unwrap().clone();
        assert!(!unclean_election_enabled(&image, &topic, config));
        image
            .apply(&MetadataRecord::Config {
                resource: ConfigResource::ClusterDefault,
                key: UNCLEAN_LEADER_ELECTION_ENABLE.into(),
                value: Some("true".into()),
            })
            .unwrap();
        assert!(unclean_election_enabled(&image, &topic, config));
        let mut overridden = topic;
        overridden.configs = BTreeMap::from([(
            UNCLEAN_LEADER_ELECTION_ENABLE.to_owned(),
            "false".to_owned(),
        )]);
        assert!(!unclean_election_enabled(&image, &overridden, config));
    }

    #[test]
    fn the_periodic_unclean_election_elects_only_where_enabled() {
        use expect_test::expect;
        let partitions: &[Spec<'_>] = &[
            // Leaderless, ISR fenced, another replica live.
            (&[1, 2], &[1], None),
            // Leaderless, nobody live.
            (&[1, 3], &[1], None),
            // Led.
            (&[2, 4], &[2, 4], Some(2)),
        ];
        let config = ElectionConfig::default();
        let enabled = image(&[1, 3], partitions, Some("true"));
        let (elected, records) = plan_unclean_elections(&enabled, config);
        expect![[r#"
            t-0 Elected(BrokerId(2))
            t-0: leader 2 isr 2 leader_epoch 1
            t-1: leader none isr 1 leader_epoch 0
            t-2: leader 2 isr 2,4 leader_epoch 0
        "#]]
        .assert_eq(&render(&enabled, &elected, &records));
        let by_default = image(&[1, 3], partitions, None);
        let (elected, records) = plan_unclean_elections(&by_default, config);
        assert!(elected.is_empty() && records.is_empty());
        let (elected, _) = plan_unclean_elections(
            &by_default,
            ElectionConfig {
                unclean_by_default: true,
            },
        );
        assert_eq!(elected.len(), 1);
    }

    #[track_caller]
    fn check_rebalance(
        fenced: &[i32],
        partitions: &[Spec<'_>],
        percentage: u32,
        expect: expect_test::Expect,
    ) {
        let image = image(fenced, partitions, None);
        let (moved, records) = plan_rebalance_leaders(&image, percentage);
        expect.assert_eq(&render(&image, &moved, &records));
    }

    #[test]
    fn rebalance_moves_leaders_back_to_imbalanced_brokers() {
        use expect_test::expect;
        // Broker 1 prefers 2 partitions and leads neither (100 %); broker 2 prefers 1 and leads
        // it; broker 3 prefers 1 it cannot lead (not in the ISR).
        let partitions: &[Spec<'_>] = &[
            (&[1, 2], &[1, 2], Some(2)),
            (&[1, 3], &[1, 3], Some(3)),
            (&[2, 1], &[1, 2], Some(2)),
            (&[3, 1], &[1], Some(1)),
        ];
        check_rebalance(
            &[],
            partitions,
            10,
            expect![[r#"
                t-0 Elected(BrokerId(1))
                t-1 Elected(BrokerId(1))
                t-0: leader 1 isr 1,2 leader_epoch 1
                t-1: leader 1 isr 1,3 leader_epoch 1
                t-2: leader 2 isr 1,2 leader_epoch 0
                t-3: leader 1 isr 1 leader_epoch 0
            "#]],
        );
        // A fenced broker gets nothing back.
        check_rebalance(
            &[1],
            partitions,
            10,
            expect![[r#"
                t-0: leader 2 isr 1,2 leader_epoch 0
                t-1: leader 3 isr 1,3 leader_epoch 0
                t-2: leader 2 isr 1,2 leader_epoch 0
                t-3: leader 1 isr 1 leader_epoch 0
            "#]],
        );
    }

    #[test]
    fn rebalance_waits_until_the_imbalance_exceeds_the_percentage() {
        use expect_test::expect;
        // Broker 1 leads 1 of the 2 partitions it prefers: 50 %.
        let partitions: &[Spec<'_>] = &[(&[1, 2], &[1, 2], Some(2)), (&[1, 2], &[1, 2], Some(1))];
        check_rebalance(
            &[],
            partitions,
            50,
            expect![[r#"
                t-0: leader 2 isr 1,2 leader_epoch 0
                t-1: leader 1 isr 1,2 leader_epoch 0
            "#]],
        );
        check_rebalance(
            &[],
            partitions,
            49,
            expect![[r#"
                t-0 Elected(BrokerId(1))
                t-0: leader 1 isr 1,2 leader_epoch 1
                t-1: leader 1 isr 1,2 leader_epoch 0
            "#]],
        );
    }
}
