//! Determinism: random sequences of admin commands run through `LocalController` (which logs,
//! snapshots and reopens) give, after every step, the same image as the pure planning functions
//! applied to an in-memory image, and reopening the directory replays exactly that image.

use std::collections::BTreeMap;

use proptest::prelude::*;
use strom_metadata::{
    AlterConfigs, BrokerId, ClusterId, ConfigOp, ConfigResource, ConfigRules, CreatePartitions,
    LocalController, MetadataImage, MetadataRecord, Mode, TopicRef, plan_alter_configs,
    plan_create_partitions, plan_create_topic, plan_delete_topic, plan_fence_broker,
    plan_register_broker, plan_unfence_broker,
};

use crate::{broker, config, topic};

#[derive(Debug, Clone)]
enum Command {
    Register(i32),
    Fence(i32),
    Unfence(i32),
    Create {
        name: u8,
        id: u8,
        partitions: i32,
        replication_factor: i16,
    },
    Delete(u8),
    Grow {
        name: u8,
        by: i32,
    },
    Alter {
        name: u8,
        key: u8,
        value: Option<u8>,
    },
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        2 => (0i32..4).prop_map(Command::Register),
        1 => (0i32..4).prop_map(Command::Fence),
        1 => (0i32..4).prop_map(Command::Unfence),
        4 => (0u8..5, 1u8..12, 0i32..4, 0i16..4).prop_map(|(name, id, partitions, replication_factor)| {
            Command::Create { name, id, partitions, replication_factor }
        }),
        1 => (0u8..5).prop_map(Command::Delete),
        2 => (0u8..5, -1i32..3).prop_map(|(name, by)| Command::Grow { name, by }),
        2 => (0u8..5, 0u8..3, proptest::option::of(0u8..4))
            .prop_map(|(name, key, value)| Command::Alter { name, key, value }),
    ]
}

fn topic_name(name: u8) -> String {
    format!("topic-{name}")
}

fn no_default(_: &ConfigResource, _: &str) -> Option<String> {
    None
}

fn accept_all(_: &ConfigResource, _: &BTreeMap<String, String>) -> Result<(), String> {
    Ok(())
}

const RULES: ConfigRules<'static> = ConfigRules {
    default_value: &no_default,
    validate: &accept_all,
};

fn alter_request(name: u8, key: u8, value: Option<u8>) -> AlterConfigs {
    let key = format!("key.{key}");
    AlterConfigs {
        resource: ConfigResource::Topic(topic_name(name)),
        ops: vec![match value {
            Some(value) if value % 2 == 0 => ConfigOp::Set {
                key,
                value: value.to_string(),
            },
            Some(value) => ConfigOp::Append {
                key,
                value: value.to_string(),
            },
            None => ConfigOp::Delete { key },
        }],
    }
}

/// Runs `command` on the controller; the outcome as text.
fn run_live(controller: &mut LocalController, command: &Command) -> String {
    let res: strom_metadata::Result<()> = match command {
        Command::Register(id) => controller.register_broker(&broker(*id)),
        Command::Fence(id) => controller.fence_broker(BrokerId(*id)),
        Command::Unfence(id) => controller.unfence_broker(BrokerId(*id)),
        Command::Create {
            name,
            id,
            partitions,
            replication_factor,
        } => {
            let request = topic(&topic_name(*name), *id, *partitions, *replication_factor);
            let mut res = controller.create_topics(&[request], Mode::Apply).unwrap();
            res.remove(0).map(drop)
        }
        Command::Delete(name) => {
            let mut res = controller
                .delete_topics(&[TopicRef::Name(topic_name(*name))])
                .unwrap();
            res.remove(0).map(drop)
        }
        Command::Grow { name, by } => {
            let count = controller
                .image()
                .topic(&topic_name(*name))
                .map_or(1, |topic| topic.partition_count() as i32)
                + by;
            let request = CreatePartitions {
                name: topic_name(*name),
                count,
                assignments: None,
            };
            let mut res = controller
                .create_partitions(&[request], Mode::Apply)
                .unwrap();
            res.remove(0).map(drop)
        }
        Command::Alter { name, key, value } => {
            let request = alter_request(*name, *key, *value);
            let mut res = controller
                .alter_configs(&[request], &RULES, Mode::Apply)
                .unwrap();
            res.remove(0)
        }
    };
    match res {
        Ok(()) => "ok".to_owned(),
        Err(error) => error.to_string(),
    }
}

/// Plans `command` against `image` with the pure functions and applies the records.
fn run_reference(image: &mut MetadataImage, command: &Command) -> String {
    let records = match command {
        Command::Register(id) => plan_register_broker(image, &broker(*id)),
        Command::Fence(id) => plan_fence_broker(image, BrokerId(*id)),
        Command::Unfence(id) => plan_unfence_broker(image, BrokerId(*id)),
        Command::Create {
            name,
            id,
            partitions,
            replication_factor,
        } => plan_create_topic(
            image,
            &topic(&topic_name(*name), *id, *partitions, *replication_factor),
        )
        .map(|(_, records)| records),
        Command::Delete(name) => {
            plan_delete_topic(image, &TopicRef::Name(topic_name(*name))).map(|(_, records)| records)
        }
        Command::Grow { name, by } => {
            let count = image
                .topic(&topic_name(*name))
                .map_or(1, |topic| topic.partition_count() as i32)
                + by;
            let request = CreatePartitions {
                name: topic_name(*name),
                count,
                assignments: None,
            };
            plan_create_partitions(image, &request).map(|(_, records)| records)
        }
        Command::Alter { name, key, value } => {
            plan_alter_configs(image, &alter_request(*name, *key, *value), &RULES)
        }
    };
    match records {
        Ok(records) => {
            for record in &records {
                image.apply(record).unwrap();
            }
            "ok".to_owned()
        }
        Err(error) => error.to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn live_replayed_and_reference_images_agree(
        commands in proptest::collection::vec(command(), 1..30),
        snapshot_threshold_bytes in prop_oneof![Just(u64::MAX), 0u64..2000],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = config(dir.path(), snapshot_threshold_bytes);
        let mut controller = LocalController::open(&config).unwrap().0;
        let mut reference = MetadataImage::new();
        reference
            .apply(&MetadataRecord::ClusterId { cluster_id: ClusterId("test-cluster".to_owned()) })
            .unwrap();
        // Start with one broker so that most creations succeed.
        let commands: Vec<Command> =
            std::iter::once(Command::Register(1)).chain(commands).collect();
        let mut successes = 0;
        for (step, command) in commands.iter().enumerate() {
            let live = run_live(&mut controller, command);
            let expected = run_reference(&mut reference, command);
            prop_assert_eq!(&live, &expected, "step {} {:?}", step, command);
            successes += usize::from(live == "ok");
            let image = controller.image();
            prop_assert_eq!(&*image, &reference, "step {} {:?}", step, command);
            drop(controller);
            let (reopened, _) = LocalController::open(&config).unwrap();
            prop_assert_eq!(&*reopened.image(), &*image, "reopen after step {}", step);
            controller = reopened;
        }
        prop_assert!(successes >= 1);
    }
}
