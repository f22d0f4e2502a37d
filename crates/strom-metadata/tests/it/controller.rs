//! The controller's validation (each Kafka error kind), replica placement, fencing and config
//! alteration, driven through `LocalController`.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use strom_metadata::{
    AlterConfigs, AlterPartition, BrokerId, ConfigOp, ConfigResource, ConfigRules,
    CreatePartitions, CreateTopic, LeaderEpoch, LocalController, MAX_TOPIC_NAME_LEN, Mode,
    PartitionEpoch, PartitionIndex, TopicLayout, TopicRef, place_replicas, validate_topic_name,
};

use crate::{broker, open_with_brokers, topic, topic_id};

/// Replica lists as text: partitions separated by spaces, brokers by commas.
fn replicas_text(replicas: &[Vec<BrokerId>]) -> String {
    replicas
        .iter()
        .map(|partition| {
            partition
                .iter()
                .map(|broker_id| broker_id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// With brokers `brokers` registered and topic "existing" (3 partitions, replication factor 1)
/// created, creates `request` and compares the outcome ("ok" and the replicas, or the error).
/// A failed creation must leave the image unchanged.
#[track_caller]
fn check_create(brokers: &[i32], request: CreateTopic, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), brokers);
    let created = controller
        .create_topics(&[topic("existing", 1, 3, 1)], Mode::Apply)
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let before = controller.image();
    let validated = controller
        .create_topics(std::slice::from_ref(&request), Mode::ValidateOnly)
        .unwrap();
    assert_eq!(
        *controller.image(),
        *before,
        "validate-only changed the image"
    );
    let res = controller.create_topics(&[request], Mode::Apply).unwrap();
    let text = |res: &strom_metadata::Result<strom_metadata::CreatedTopic>| match res {
        Ok(created) => format!("ok {}", replicas_text(&created.replicas)),
        Err(error) => error.to_string(),
    };
    assert_eq!(
        text(&res[0]),
        text(&validated[0]),
        "validate-only disagrees"
    );
    if res[0].is_err() {
        assert_eq!(
            *controller.image(),
            *before,
            "a failed creation changed the image"
        );
    }
    assert_eq!(text(&res[0]), expect);
}

fn assigned(name: &str, replicas: &[&[i32]]) -> CreateTopic {
    let mut res = topic(name, 2, 0, 0);
    res.layout = TopicLayout::Assigned(
        (0u32..)
            .zip(replicas)
            .map(|(index, brokers)| {
                (
                    PartitionIndex(index),
                    brokers.iter().copied().map(BrokerId).collect(),
                )
            })
            .collect(),
    );
    res
}

#[test]
fn create_topics_validation() {
    // "existing" has 3 partitions, so the round-robin continues at position 3: the leaders start
    // again at broker 1 and the followers shift by one.
    check_create(&[1, 2, 3], topic("t", 2, 3, 2), "ok 1,3 2,1 3,2");
    check_create(&[1], topic("t", 2, 2, 1), "ok 1 1");
    check_create(
        &[1],
        topic("", 2, 1, 1),
        "invalid topic name \"\": the name is empty",
    );
    check_create(
        &[1],
        topic("..", 2, 1, 1),
        "invalid topic name \"..\": the name cannot be \".\" or \"..\"",
    );
    check_create(
        &[1],
        topic("a b", 2, 1, 1),
        "invalid topic name \"a b\": the name contains a character other than ASCII letters, \
         digits, '.', '_' and '-'",
    );
    check_create(
        &[1],
        topic(&"x".repeat(250), 2, 1, 1),
        &format!(
            "invalid topic name \"{}\": the name is longer than 249 characters",
            "x".repeat(250)
        ),
    );
    check_create(&[1], topic(&"x".repeat(249), 2, 1, 1), "ok 1");
    check_create(
        &[1],
        topic("existing", 2, 1, 1),
        "topic existing already exists",
    );
    check_create(
        &[1],
        topic("t", 1, 1, 1),
        "topic id AQEBAQEBAQEBAQEBAQEBAQ cannot be used: another topic has it",
    );
    check_create(
        &[1],
        topic("t", 0, 1, 1),
        "topic id AAAAAAAAAAAAAAAAAAAAAA cannot be used: the zero id is reserved",
    );
    check_create(
        &[1],
        topic("t", 2, 0, 1),
        "invalid partition count for topic t: the number of partitions must be larger than 0, not 0",
    );
    check_create(
        &[1],
        topic("t", 2, -5, 1),
        "invalid partition count for topic t: the number of partitions must be larger than 0, not -5",
    );
    check_create(
        &[1],
        topic("t", 2, 10_001, 1),
        "10001 partitions for topic t exceed the limit of 10000 per request",
    );
    check_create(
        &[1],
        topic("t", 2, 1, 0),
        "invalid replication factor for topic t: the replication factor must be larger than 0, not 0",
    );
    check_create(
        &[1, 2],
        topic("t", 2, 1, 3),
        "invalid replication factor for topic t: replication factor 3 is larger than the 2 \
         available brokers",
    );
    check_create(&[1, 2], assigned("t", &[&[2, 1], &[1, 2]]), "ok 2,1 1,2");
    check_create(
        &[1, 2],
        assigned("t", &[]),
        "invalid replica assignment for topic t: the assignment has no partitions",
    );
    check_create(
        &[1, 2],
        assigned("t", &[&[1], &[]]),
        "invalid replica assignment for topic t: a partition has an empty replica list",
    );
    check_create(
        &[1, 2],
        assigned("t", &[&[1], &[1, 2]]),
        "invalid replica assignment for topic t: a partition has 2 replicas, but the others have 1",
    );
    check_create(
        &[1, 2],
        assigned("t", &[&[2, 2]]),
        "invalid replica assignment for topic t: broker 2 appears more than once in a partition",
    );
    check_create(
        &[1, 2],
        assigned("t", &[&[7]]),
        "invalid replica assignment for topic t: broker 7 is not registered",
    );
    let mut gap = assigned("t", &[&[1], &[2]]);
    if let TopicLayout::Assigned(assignments) = &mut gap.layout {
        assignments[1].0 = PartitionIndex(2);
    }
    check_create(
        &[1, 2],
        gap,
        "invalid replica assignment for topic t: partitions should be a consecutive 0-based \
         integer sequence",
    );
}

#[test]
fn names_that_collide_in_metrics_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let res = controller
        .create_topics(
            &[
                topic("a.b", 1, 1, 1),
                topic("a_b", 2, 1, 1),
                topic("a.b", 3, 1, 1),
            ],
            Mode::Apply,
        )
        .unwrap();
    assert!(res[0].is_ok());
    assert_eq!(
        res[1].as_ref().unwrap_err().to_string(),
        "invalid topic name \"a_b\": it collides with existing topic a.b"
    );
    assert_eq!(
        res[2].as_ref().unwrap_err().to_string(),
        "topic a.b already exists"
    );
    assert_eq!(controller.image().topics().count(), 1);
}

#[test]
fn topic_name_rules() {
    for name in ["a", "A-z_0.9", ".a", "..a", &"n".repeat(MAX_TOPIC_NAME_LEN)] {
        assert!(validate_topic_name(name).is_ok(), "{name}");
    }
    for name in [
        "",
        ".",
        "..",
        "a/b",
        "é",
        "a\0",
        &"n".repeat(MAX_TOPIC_NAME_LEN + 1),
    ] {
        assert!(validate_topic_name(name).is_err(), "{name:?}");
    }
}

#[test]
fn topics_are_created_with_configs_and_deleted_by_name_or_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let mut request = topic("t", 2, 2, 1);
    request
        .configs
        .insert("cleanup.policy".to_owned(), "compact".to_owned());
    let res = controller
        .create_topics(&[request, topic("u", 3, 1, 1)], Mode::Apply)
        .unwrap();
    assert!(res.iter().all(Result::is_ok), "{res:?}");
    let image = controller.image();
    assert_eq!(
        image
            .configs(&ConfigResource::Topic("t".to_owned()))
            .get("cleanup.policy"),
        Some(&"compact".to_owned())
    );
    let res = controller
        .delete_topics(&[
            TopicRef::Name("t".to_owned()),
            TopicRef::Id(topic_id(3)),
            TopicRef::Name("t".to_owned()),
            TopicRef::Id(topic_id(9)),
        ])
        .unwrap();
    let text: Vec<String> = res
        .iter()
        .map(|res| match res {
            Ok(deleted) => format!("deleted {}", deleted.name),
            Err(error) => error.to_string(),
        })
        .collect();
    assert_eq!(
        text,
        [
            "deleted t",
            "deleted u",
            "topic t does not exist",
            "topic id CQkJCQkJCQkJCQkJCQkJCQ does not exist"
        ]
    );
    assert_eq!(controller.image().topics().count(), 0);
    // The name is free again, with fresh configs.
    let res = controller
        .create_topics(&[topic("t", 4, 1, 1)], Mode::Apply)
        .unwrap();
    assert!(res[0].is_ok());
    assert!(
        controller
            .image()
            .configs(&ConfigResource::Topic("t".to_owned()))
            .is_empty()
    );
}

/// With brokers 1..=3 and topic "t" (2 partitions on 1,2 and 2,3), asks for `count` partitions.
#[track_caller]
fn check_create_partitions(count: i32, assignments: Option<&[&[i32]]>, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1, 2, 3]);
    let res = controller
        .create_topics(&[topic("t", 1, 2, 2)], Mode::Apply)
        .unwrap();
    assert_eq!(replicas_text(&res[0].as_ref().unwrap().replicas), "1,2 2,3");
    let request = CreatePartitions {
        name: "t".to_owned(),
        count,
        assignments: assignments.map(|assignments| {
            assignments
                .iter()
                .map(|brokers| brokers.iter().copied().map(BrokerId).collect())
                .collect()
        }),
    };
    let before = controller.image();
    let validated = controller
        .create_partitions(std::slice::from_ref(&request), Mode::ValidateOnly)
        .unwrap();
    assert_eq!(*controller.image(), *before);
    let res = controller
        .create_partitions(&[request], Mode::Apply)
        .unwrap();
    let text = |res: &strom_metadata::Result<Vec<Vec<BrokerId>>>| match res {
        Ok(replicas) => format!("ok {}", replicas_text(replicas)),
        Err(error) => error.to_string(),
    };
    assert_eq!(text(&res[0]), text(&validated[0]));
    let image = controller.image();
    match &res[0] {
        Ok(replicas) => {
            let partitions = &image.topic("t").unwrap().partitions;
            assert_eq!(partitions.len(), count as usize);
            let added: Vec<Vec<BrokerId>> = partitions[2..]
                .iter()
                .map(|partition| partition.replicas.clone())
                .collect();
            assert_eq!(&added, replicas);
        }
        Err(_) => assert_eq!(*image, *before),
    }
    assert_eq!(text(&res[0]), expect);
}

#[test]
fn create_partitions_validation() {
    check_create_partitions(4, None, "ok 3,1 1,3");
    check_create_partitions(3, Some(&[&[3, 1]]), "ok 3,1");
    check_create_partitions(
        2,
        None,
        "invalid partition count for topic t: the topic already has 2 partitions",
    );
    check_create_partitions(
        1,
        None,
        "invalid partition count for topic t: the topic has 2 partitions, more than the \
         requested 1",
    );
    check_create_partitions(
        -1,
        None,
        "invalid partition count for topic t: the topic has 2 partitions, more than the \
         requested -1",
    );
    check_create_partitions(
        10_003,
        None,
        "10001 partitions for topic t exceed the limit of 10000 per request",
    );
    check_create_partitions(
        4,
        Some(&[&[1, 2]]),
        "invalid replica assignment for topic t: 1 assignments given for 2 new partitions",
    );
    check_create_partitions(
        3,
        Some(&[&[1]]),
        "invalid replica assignment for topic t: a partition has 1 replicas, but the others have 2",
    );
    check_create_partitions(
        3,
        Some(&[&[1, 5]]),
        "invalid replica assignment for topic t: broker 5 is not registered",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let res = controller
        .create_partitions(
            &[CreatePartitions {
                name: "nope".to_owned(),
                count: 3,
                assignments: None,
            }],
            Mode::Apply,
        )
        .unwrap();
    assert_eq!(
        res[0].as_ref().unwrap_err().to_string(),
        "topic nope does not exist"
    );
}

fn no_default(_: &ConfigResource, _: &str) -> Option<String> {
    None
}

fn accept_all(_: &ConfigResource, _: &BTreeMap<String, String>) -> Result<(), String> {
    Ok(())
}

/// Applies `ops` to topic "t" whose overrides start as `start`, and compares the overrides
/// afterwards (or the error) with `expect`.
#[track_caller]
fn check_alter(start: &[(&str, &str)], ops: Vec<ConfigOp>, rules: &ConfigRules<'_>, expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let mut request = topic("t", 1, 1, 1);
    request.configs = start
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    assert!(controller.create_topics(&[request], Mode::Apply).unwrap()[0].is_ok());
    let resource = ConfigResource::Topic("t".to_owned());
    let request = AlterConfigs {
        resource: resource.clone(),
        ops,
    };
    let before = controller.image();
    let validated = controller
        .alter_configs(std::slice::from_ref(&request), rules, Mode::ValidateOnly)
        .unwrap();
    assert_eq!(*controller.image(), *before);
    let res = controller
        .alter_configs(&[request], rules, Mode::Apply)
        .unwrap();
    assert_eq!(res[0].is_ok(), validated[0].is_ok());
    let text = match &res[0] {
        Ok(()) => format!("{:?}", controller.image().configs(&resource)),
        Err(error) => {
            assert_eq!(*controller.image(), *before);
            error.to_string()
        }
    };
    assert_eq!(text, expect);
}

fn set(key: &str, value: &str) -> ConfigOp {
    ConfigOp::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn append(key: &str, value: &str) -> ConfigOp {
    ConfigOp::Append {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn subtract(key: &str, value: &str) -> ConfigOp {
    ConfigOp::Subtract {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn delete(key: &str) -> ConfigOp {
    ConfigOp::Delete {
        key: key.to_owned(),
    }
}

#[test]
fn alter_configs_operations() {
    let plain = ConfigRules {
        default_value: &no_default,
        validate: &accept_all,
    };
    check_alter(
        &[],
        vec![set("retention.ms", "5")],
        &plain,
        r#"{"retention.ms": "5"}"#,
    );
    check_alter(
        &[("retention.ms", "5")],
        vec![delete("retention.ms")],
        &plain,
        "{}",
    );
    check_alter(&[], vec![delete("retention.ms")], &plain, "{}");
    check_alter(
        &[("l", "a,b")],
        vec![append("l", "b,c, d")],
        &plain,
        r#"{"l": "a,b,c,d"}"#,
    );
    check_alter(
        &[("l", "a,b,c")],
        vec![subtract("l", "a,c,x")],
        &plain,
        r#"{"l": "b"}"#,
    );
    check_alter(
        &[("l", "a")],
        vec![subtract("l", "a")],
        &plain,
        r#"{"l": ""}"#,
    );
    check_alter(
        &[("l", "a")],
        vec![set("l", "x"), set("l", "y")],
        &plain,
        "invalid request: config key l is altered twice for topic t",
    );
    // Append starts from the default when the topic has no override, as Kafka's does.
    let with_default = ConfigRules {
        default_value: &|_: &ConfigResource, key: &str| {
            (key == "cleanup.policy").then(|| "delete".to_owned())
        },
        validate: &accept_all,
    };
    check_alter(
        &[],
        vec![append("cleanup.policy", "compact")],
        &with_default,
        r#"{"cleanup.policy": "delete,compact"}"#,
    );
    let strict = ConfigRules {
        default_value: &no_default,
        validate: &|resource: &ConfigResource, configs: &BTreeMap<String, String>| {
            assert_eq!(*resource, ConfigResource::Topic("t".to_owned()));
            match configs.get("retention.ms") {
                Some(value) if value.parse::<i64>().is_err() => {
                    Err(format!("retention.ms {value} is not a number"))
                }
                _ => Ok(()),
            }
        },
    };
    check_alter(
        &[],
        vec![set("retention.ms", "9")],
        &strict,
        r#"{"retention.ms": "9"}"#,
    );
    check_alter(
        &[],
        vec![set("retention.ms", "x")],
        &strict,
        "invalid config for topic t: retention.ms x is not a number",
    );

    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let res = controller
        .alter_configs(
            &[
                AlterConfigs {
                    resource: ConfigResource::Topic("nope".to_owned()),
                    ops: vec![set("a", "b")],
                },
                AlterConfigs {
                    resource: ConfigResource::Broker(BrokerId(1)),
                    ops: vec![set("log.cleaner.threads", "2")],
                },
                AlterConfigs {
                    resource: ConfigResource::ClusterDefault,
                    ops: vec![set("log.retention.ms", "1")],
                },
            ],
            &plain,
            Mode::Apply,
        )
        .unwrap();
    assert_eq!(
        res[0].as_ref().unwrap_err().to_string(),
        "topic nope does not exist"
    );
    assert!(res[1].is_ok() && res[2].is_ok());
    let image = controller.image();
    assert_eq!(image.configs(&ConfigResource::Broker(BrokerId(1))).len(), 1);
    assert_eq!(image.configs(&ConfigResource::ClusterDefault).len(), 1);
}

#[test]
fn broker_registration() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1]);
    let offset = controller.image().end_offset();
    // The same registration again writes nothing.
    controller.register_broker(&broker(1)).unwrap();
    assert_eq!(controller.image().end_offset(), offset);
    let mut moved = broker(1);
    moved.endpoints[0].port = 9093;
    controller.register_broker(&moved).unwrap();
    assert_eq!(
        controller.image().broker(BrokerId(1)).unwrap().endpoints[0].port,
        9093
    );
    assert_eq!(
        controller
            .register_broker(&broker(-2))
            .unwrap_err()
            .to_string(),
        "invalid registration of broker -2: broker ids are not negative"
    );
    let mut twice = broker(2);
    twice.endpoints.push(twice.endpoints[0].clone());
    assert_eq!(
        controller.register_broker(&twice).unwrap_err().to_string(),
        "invalid registration of broker 2: listener PLAINTEXT is registered twice"
    );
    assert_eq!(
        controller
            .fence_broker(BrokerId(5))
            .unwrap_err()
            .to_string(),
        "broker 5 is not registered"
    );
    assert_eq!(
        controller
            .unfence_broker(BrokerId(5))
            .unwrap_err()
            .to_string(),
        "broker 5 is not registered"
    );
}

#[test]
fn fencing_moves_leadership_and_unfencing_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1, 2]);
    let res = controller
        .create_topics(&[topic("two", 1, 2, 2), topic("one", 2, 2, 1)], Mode::Apply)
        .unwrap();
    assert!(res.iter().all(Result::is_ok));
    let leaders = |controller: &LocalController, name: &str| -> String {
        let image = controller.image();
        image
            .topic(name)
            .unwrap()
            .partitions
            .iter()
            .map(|partition| {
                let leader = partition
                    .leader
                    .map_or("-".to_owned(), |leader| leader.to_string());
                let isr: Vec<String> = partition.isr.iter().map(ToString::to_string).collect();
                format!("{leader}[{}]e{}", isr.join(","), partition.leader_epoch.0)
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(leaders(&controller, "two"), "1[1,2]e0 2[2,1]e0");
    assert_eq!(leaders(&controller, "one"), "1[1]e0 2[2]e0");
    controller.fence_broker(BrokerId(1)).unwrap();
    // Broker 1 leaves the ISRs it shares; it stays the last member of its own, leaderless.
    assert_eq!(leaders(&controller, "two"), "2[2]e1 2[2]e0");
    assert_eq!(leaders(&controller, "one"), "-[1]e1 2[2]e0");
    // New partitions avoid the fenced broker.
    let res = controller
        .create_topics(&[topic("later", 3, 2, 1)], Mode::Apply)
        .unwrap();
    assert_eq!(replicas_text(&res[0].as_ref().unwrap().replicas), "2 2");
    let res = controller
        .create_topics(&[topic("wide", 4, 1, 2)], Mode::Apply)
        .unwrap();
    assert_eq!(
        res[0].as_ref().unwrap_err().to_string(),
        "invalid replication factor for topic wide: replication factor 2 is larger than the 1 \
         available brokers"
    );
    let mut on_fenced = topic("manual", 5, 0, 0);
    on_fenced.layout = TopicLayout::Assigned(vec![(PartitionIndex(0), vec![BrokerId(1)])]);
    let res = controller.create_topics(&[on_fenced], Mode::Apply).unwrap();
    assert_eq!(
        res[0].as_ref().unwrap_err().to_string(),
        "invalid replica assignment for topic manual: every broker of a partition's replicas is \
         fenced"
    );
    controller.unfence_broker(BrokerId(1)).unwrap();
    assert_eq!(leaders(&controller, "one"), "1[1]e2 2[2]e0");
    // ISR re-growth is the replication layer's decision, not the controller's.
    assert_eq!(leaders(&controller, "two"), "2[2]e1 2[2]e0");
    let partition = controller
        .image()
        .partition("one", PartitionIndex(0))
        .unwrap()
        .clone();
    assert_eq!(partition.leader_epoch, LeaderEpoch(2));
    assert_eq!(partition.partition_epoch.0, 2);
    // Registering again as fenced (a restart in progress) fences too; with no other ISR
    // member the partitions are left without a leader.
    let mut restarting = broker(2);
    restarting.fenced = true;
    controller.register_broker(&restarting).unwrap();
    assert_eq!(leaders(&controller, "two"), "-[2]e2 -[2]e1");
    assert_eq!(leaders(&controller, "one"), "1[1]e2 -[2]e1");
    controller.unfence_broker(BrokerId(2)).unwrap();
    assert_eq!(leaders(&controller, "two"), "2[2]e3 2[2]e2");
}

/// Leaders of `partitions` partitions on `brokers` brokers, counted per broker.
fn leader_counts(placement: &[Vec<BrokerId>]) -> BTreeMap<BrokerId, usize> {
    let mut res = BTreeMap::new();
    for replicas in placement {
        *res.entry(replicas[0]).or_insert(0) += 1;
    }
    res
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn placement_is_balanced_and_distinct(
        broker_count in 1i32..8,
        partitions in 1u32..200,
        replication_factor in 1usize..4,
        start in any::<u64>(),
    ) {
        let brokers: Vec<BrokerId> = (0..broker_count).map(|id| BrokerId(id * 10)).collect();
        let replication_factor = replication_factor.min(brokers.len());
        let placement = place_replicas(&brokers, partitions, replication_factor, start);
        prop_assert_eq!(placement.len(), partitions as usize);
        for replicas in &placement {
            prop_assert_eq!(replicas.len(), replication_factor);
            let distinct: BTreeSet<_> = replicas.iter().collect();
            prop_assert_eq!(distinct.len(), replication_factor, "{:?}", replicas);
            prop_assert!(replicas.iter().all(|broker_id| brokers.contains(broker_id)));
        }
        let counts = leader_counts(&placement);
        let busiest = counts.values().max().copied().unwrap_or(0);
        let idlest = if counts.len() < brokers.len() { 0 } else { counts.values().min().copied().unwrap_or(0) };
        prop_assert!(busiest - idlest <= 1, "leaders per broker {:?}", counts);
    }
}

#[test]
fn leaders_stay_balanced_across_topics() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1, 2, 3, 4, 5]);
    let requests: Vec<CreateTopic> = (0..20u8)
        .map(|index| topic(&format!("t{index}"), index + 1, i32::from(index % 7) + 1, 3))
        .collect();
    let res = controller.create_topics(&requests, Mode::Apply).unwrap();
    assert!(res.iter().all(Result::is_ok));
    let image = controller.image();
    let mut counts = BTreeMap::new();
    for topic in image.topics() {
        for partition in &topic.partitions {
            *counts.entry(partition.leader.unwrap()).or_insert(0) += 1;
        }
    }
    let busiest = counts.values().max().unwrap();
    let idlest = counts.values().min().unwrap();
    assert_eq!(counts.len(), 5);
    assert!(busiest - idlest <= 1, "{counts:?}");
}

#[test]
fn leaders_alter_the_isr_with_current_epochs_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut controller = open_with_brokers(dir.path(), &[1, 2, 3]);
    let mut three = topic("three", 1, 1, 3);
    three.layout = TopicLayout::Assigned(vec![(
        PartitionIndex(0),
        vec![BrokerId(1), BrokerId(2), BrokerId(3)],
    )]);
    assert!(controller.create_topics(&[three], Mode::Apply).unwrap()[0].is_ok());
    let change = |isr: &[i32], leader: i32, partition_epoch: u32| AlterPartition {
        topic: "three".to_owned(),
        partition: PartitionIndex(0),
        leader: BrokerId(leader),
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(partition_epoch),
        isr: isr.iter().copied().map(BrokerId).collect(),
    };
    let refused = |controller: &mut LocalController, change: AlterPartition| {
        controller.alter_partition(&change).unwrap_err().to_string()
    };
    // Shrink to [1, 3]: the partition epoch moves, the leader epoch does not.
    let after = controller.alter_partition(&change(&[3, 1], 1, 0)).unwrap();
    assert_eq!(after.isr, [BrokerId(1), BrokerId(3)]);
    assert_eq!(
        (after.leader, after.leader_epoch, after.partition_epoch),
        (Some(BrokerId(1)), LeaderEpoch(0), PartitionEpoch(1))
    );
    // A proposal computed from the old partition epoch is stale.
    assert!(refused(&mut controller, change(&[1], 1, 0)).contains("stale proposal"));
    // Only the leader proposes; the leader stays in; only replicas join.
    assert!(refused(&mut controller, change(&[1, 2, 3], 2, 1)).contains("not the leader"));
    assert!(refused(&mut controller, change(&[2, 3], 1, 1)).contains("leader is not in"));
    assert!(refused(&mut controller, change(&[1, 4], 1, 1)).contains("not a replica"));
    // A fenced broker cannot rejoin.
    controller.fence_broker(BrokerId(2)).unwrap();
    assert!(refused(&mut controller, change(&[1, 2, 3], 1, 1)).contains("fenced"));
    controller.unfence_broker(BrokerId(2)).unwrap();
    let after = controller
        .alter_partition(&change(&[1, 2, 3], 1, 1))
        .unwrap();
    assert_eq!(after.isr.len(), 3);
    assert_eq!(after.partition_epoch, PartitionEpoch(2));
    // It survives a reopen.
    drop(controller);
    let controller = open_with_brokers(dir.path(), &[1, 2, 3]);
    let image = controller.image();
    let partition = image.partition("three", PartitionIndex(0)).unwrap();
    assert_eq!(partition.isr.len(), 3);
}
