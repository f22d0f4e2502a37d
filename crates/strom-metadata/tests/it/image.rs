//! `MetadataImage::apply`: the image each record builds, and the refusal (with the image left
//! unchanged) of records that contradict it.

use strom_metadata::{
    BrokerId, ClusterId, ConfigResource, Error, LeaderEpoch, MetadataImage, MetadataOffset,
    MetadataRecord, PartitionChangeRecord, PartitionEpoch, PartitionIndex, PartitionRecord,
    RecordBatch, TopicId,
};

use crate::{broker, topic_id};

fn topic(name: &str, id: u8) -> MetadataRecord {
    MetadataRecord::Topic {
        name: name.to_owned(),
        topic_id: topic_id(id),
    }
}

fn partition(id: u8, index: u32, replicas: &[i32], leader: Option<i32>) -> MetadataRecord {
    let replicas: Vec<BrokerId> = replicas.iter().copied().map(BrokerId).collect();
    MetadataRecord::Partition(PartitionRecord {
        topic_id: topic_id(id),
        partition: PartitionIndex(index),
        isr: replicas.clone(),
        replicas,
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(0),
    })
}

fn change(
    isr: &[i32],
    leader: Option<i32>,
    leader_epoch: u32,
    partition_epoch: u32,
) -> MetadataRecord {
    MetadataRecord::PartitionChange(PartitionChangeRecord {
        topic_id: topic_id(1),
        partition: PartitionIndex(0),
        isr: isr.iter().copied().map(BrokerId).collect(),
        leader: leader.map(BrokerId),
        leader_epoch: LeaderEpoch(leader_epoch),
        partition_epoch: PartitionEpoch(partition_epoch),
    })
}

fn config(resource: ConfigResource, key: &str, value: Option<&str>) -> MetadataRecord {
    MetadataRecord::Config {
        resource,
        key: key.to_owned(),
        value: value.map(str::to_owned),
    }
}

/// A cluster "c" with brokers 1..=3 and topic "a" (id 1) whose partition 0 is on 1, 2, 3.
fn base() -> Vec<MetadataRecord> {
    vec![
        MetadataRecord::ClusterId {
            cluster_id: ClusterId("c".to_owned()),
        },
        MetadataRecord::RegisterBroker(broker(1)),
        MetadataRecord::RegisterBroker(broker(2)),
        MetadataRecord::RegisterBroker(broker(3)),
        topic("a", 1),
        partition(1, 0, &[1, 2, 3], Some(1)),
    ]
}

fn build(records: &[MetadataRecord]) -> MetadataImage {
    let mut image = MetadataImage::new();
    for record in records {
        image.apply(record).unwrap();
    }
    image
}

/// Applies `record` after `base()`: `Ok` gives "ok", a refusal its message, and a refused record
/// must leave the image as it was.
#[track_caller]
fn check(record: MetadataRecord, expect: &str) {
    let mut image = build(&base());
    let before = image.clone();
    let res = match image.apply(&record) {
        Ok(()) => "ok".to_owned(),
        Err(error) => {
            assert!(matches!(error, Error::Contradiction { .. }), "{error:?}");
            assert_eq!(image, before, "a refused record changed the image");
            error.to_string()
        }
    };
    assert_eq!(res, expect);
}

#[test]
fn contradicting_records_are_refused() {
    let at = "record at offset 6 contradicts the metadata image:";
    check(
        MetadataRecord::ClusterId {
            cluster_id: ClusterId("other".to_owned()),
        },
        &format!("{at} cluster id other replaces cluster id c"),
    );
    check(
        MetadataRecord::ClusterId {
            cluster_id: ClusterId("c".to_owned()),
        },
        "ok",
    );
    check(
        MetadataRecord::RegisterBroker(broker(-1)),
        &format!("{at} broker id -1 is negative"),
    );
    check(
        MetadataRecord::FenceBroker {
            broker_id: BrokerId(9),
        },
        &format!("{at} broker 9 is not registered"),
    );
    check(
        MetadataRecord::UnfenceBroker {
            broker_id: BrokerId(9),
        },
        &format!("{at} broker 9 is not registered"),
    );
    check(topic("a", 2), &format!("{at} topic a already exists"));
    check(
        topic("b", 1),
        &format!("{at} topic id AQEBAQEBAQEBAQEBAQEBAQ is already used"),
    );
    check(
        MetadataRecord::Topic {
            name: "b".to_owned(),
            topic_id: TopicId::ZERO,
        },
        &format!("{at} topic b has the reserved zero id"),
    );
    check(
        partition(2, 0, &[1], Some(1)),
        &format!("{at} topic id AgICAgICAgICAgICAgICAg does not exist"),
    );
    check(
        partition(1, 2, &[1], Some(1)),
        &format!("{at} partition 2 of topic a is not the next one (1)"),
    );
    check(
        partition(1, 1, &[], None),
        &format!("{at} partition 1 of topic a has no replicas"),
    );
    check(
        partition(1, 1, &[1, 1], Some(1)),
        &format!("{at} broker 1 appears twice in the replicas"),
    );
    check(
        partition(1, 1, &[4], Some(4)),
        &format!("{at} replica broker 4 is not registered"),
    );
    check(
        partition(1, 1, &[1, 2], Some(3)),
        &format!("{at} leader 3 is not in the isr"),
    );
    check(partition(1, 1, &[1, 2], None), "ok");
    check(change(&[1, 2], Some(1), 0, 1), "ok");
    check(change(&[1, 2], Some(2), 1, 1), "ok");
    check(
        change(&[1, 2], Some(1), 0, 2),
        &format!("{at} partition epoch 2 does not follow 0"),
    );
    check(
        change(&[1, 2], Some(2), 0, 1),
        &format!("{at} leader epoch 0 should be 1"),
    );
    check(
        change(&[1, 2], Some(1), 1, 1),
        &format!("{at} leader epoch 1 should be 0"),
    );
    check(
        change(&[1, 4], Some(1), 0, 1),
        &format!("{at} isr member 4 is not a replica"),
    );
    check(
        change(&[1, 1], Some(1), 0, 1),
        &format!("{at} broker 1 appears twice in the isr"),
    );
    check(
        change(&[2], Some(1), 0, 1),
        &format!("{at} leader 1 is not in the isr"),
    );
    check(
        MetadataRecord::RemoveTopic {
            topic_id: topic_id(2),
        },
        &format!("{at} topic id AgICAgICAgICAgICAgICAg does not exist"),
    );
    check(
        config(ConfigResource::Topic("b".to_owned()), "k", Some("v")),
        &format!("{at} topic b does not exist"),
    );
    check(
        config(ConfigResource::Broker(BrokerId(9)), "k", Some("v")),
        "ok",
    );
}

#[test]
fn queries_reflect_the_records() {
    let mut records = base();
    records.extend([
        change(&[1, 3], Some(3), 1, 1),
        config(
            ConfigResource::Topic("a".to_owned()),
            "retention.ms",
            Some("5"),
        ),
        config(
            ConfigResource::Topic("a".to_owned()),
            "cleanup.policy",
            Some("compact"),
        ),
        config(ConfigResource::Topic("a".to_owned()), "retention.ms", None),
        config(
            ConfigResource::ClusterDefault,
            "log.retention.ms",
            Some("7"),
        ),
        MetadataRecord::FenceBroker {
            broker_id: BrokerId(2),
        },
    ]);
    let image = build(&records);
    assert_eq!(image.end_offset(), MetadataOffset(12));
    assert_eq!(image.cluster_id(), Some(&ClusterId("c".to_owned())));
    let topic = image.topic("a").unwrap();
    assert_eq!(image.topic_by_id(topic_id(1)), Some(topic));
    let partition = image.partition("a", PartitionIndex(0)).unwrap();
    assert_eq!(partition.leader, Some(BrokerId(3)));
    assert_eq!(partition.isr, [BrokerId(1), BrokerId(3)]);
    assert_eq!(partition.leader_epoch, LeaderEpoch(1));
    assert_eq!(partition.partition_epoch, PartitionEpoch(1));
    let topic_configs: Vec<_> = image
        .configs(&ConfigResource::Topic("a".to_owned()))
        .iter()
        .collect();
    assert_eq!(
        format!("{topic_configs:?}"),
        r#"[("cleanup.policy", "compact")]"#
    );
    assert_eq!(
        image
            .configs(&ConfigResource::ClusterDefault)
            .get("log.retention.ms"),
        Some(&"7".to_owned())
    );
    assert!(
        image
            .configs(&ConfigResource::Broker(BrokerId(1)))
            .is_empty()
    );
    assert_eq!(image.unfenced_broker_ids(), [BrokerId(1), BrokerId(3)]);
    assert_eq!(image.broker(BrokerId(1)).unwrap().endpoints[0].port, 9092);

    // The snapshot's records rebuild the same image.
    let snapshot = MetadataImage::from_snapshot(image.end_offset(), &image.to_records()).unwrap();
    assert_eq!(snapshot, image);

    // Removing the topic forgets its name, id and configs.
    let mut removed = image.clone();
    removed
        .apply(&MetadataRecord::RemoveTopic {
            topic_id: topic_id(1),
        })
        .unwrap();
    assert!(removed.topic("a").is_none());
    assert!(removed.topic_by_id(topic_id(1)).is_none());
    assert!(
        removed
            .configs(&ConfigResource::Topic("a".to_owned()))
            .is_empty()
    );
    assert_eq!(removed.topics().count(), 0);
    // The earlier clone still sees the topic: clones are independent.
    assert!(image.topic("a").is_some());
}

#[test]
fn batches_apply_whole_or_not_at_all() {
    let mut image = build(&base());
    let before = image.clone();
    let bad = RecordBatch {
        base_offset: image.end_offset(),
        records: vec![topic("b", 2), partition(2, 0, &[1], Some(1)), topic("b", 3)],
    };
    assert!(image.apply_batch(&bad).is_err());
    assert_eq!(image, before);
    let misplaced = RecordBatch {
        base_offset: MetadataOffset(0),
        records: vec![topic("b", 2)],
    };
    assert!(image.apply_batch(&misplaced).is_err());
    assert_eq!(image, before);
    let good = RecordBatch {
        base_offset: image.end_offset(),
        records: vec![topic("b", 2), partition(2, 0, &[1], Some(1))],
    };
    image.apply_batch(&good).unwrap();
    assert_eq!(image.end_offset(), MetadataOffset(8));
    assert_eq!(image.topic("b").unwrap().partition_count(), 1);
}
