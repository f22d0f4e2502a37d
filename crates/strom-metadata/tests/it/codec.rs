//! Postcard round trips of every record and of batches, and decoding of arbitrary bytes.

use proptest::prelude::*;
use strom_metadata::{
    BrokerId, BrokerRegistration, ClusterId, ConfigResource, Endpoint, Error, FORMAT_VERSION,
    LeaderEpoch, MetadataOffset, MetadataRecord, PartitionChangeRecord, PartitionEpoch,
    PartitionIndex, PartitionReassignmentRecord, PartitionRecord, RecordBatch, TopicId,
};

fn broker_id() -> impl Strategy<Value = BrokerId> {
    any::<i32>().prop_map(BrokerId)
}

fn broker_ids() -> impl Strategy<Value = Vec<BrokerId>> {
    proptest::collection::vec(broker_id(), 0..5)
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (".{0,8}", ".{0,12}", any::<u16>(), "[A-Z_]{0,14}").prop_map(
        |(listener, host, port, security_protocol)| Endpoint {
            listener,
            host,
            port,
            security_protocol,
        },
    )
}

fn config_resource() -> impl Strategy<Value = ConfigResource> {
    prop_oneof![
        ".{0,10}".prop_map(ConfigResource::Topic),
        broker_id().prop_map(ConfigResource::Broker),
        Just(ConfigResource::ClusterDefault),
    ]
}

/// Every variant of `MetadataRecord`, with arbitrary contents.
pub fn record() -> impl Strategy<Value = MetadataRecord> {
    let topic_id = any::<[u8; 16]>().prop_map(TopicId);
    prop_oneof![
        ".{0,22}".prop_map(|id| MetadataRecord::ClusterId {
            cluster_id: ClusterId(id)
        }),
        (
            broker_id(),
            proptest::collection::vec(endpoint(), 0..3),
            proptest::option::of(".{0,6}"),
            any::<bool>()
        )
            .prop_map(|(broker_id, endpoints, rack, fenced)| {
                MetadataRecord::RegisterBroker(BrokerRegistration {
                    broker_id,
                    endpoints,
                    rack,
                    fenced,
                })
            }),
        broker_id().prop_map(|broker_id| MetadataRecord::FenceBroker { broker_id }),
        broker_id().prop_map(|broker_id| MetadataRecord::UnfenceBroker { broker_id }),
        (".{0,20}", topic_id.clone())
            .prop_map(|(name, topic_id)| MetadataRecord::Topic { name, topic_id }),
        (
            topic_id.clone(),
            any::<u32>(),
            broker_ids(),
            broker_ids(),
            proptest::option::of(broker_id()),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(topic_id, partition, replicas, isr, leader, leader_epoch, partition_epoch)| {
                    MetadataRecord::Partition(PartitionRecord {
                        topic_id,
                        partition: PartitionIndex(partition),
                        replicas,
                        isr,
                        leader,
                        leader_epoch: LeaderEpoch(leader_epoch),
                        partition_epoch: PartitionEpoch(partition_epoch),
                    })
                }
            ),
        (
            topic_id.clone(),
            any::<u32>(),
            broker_ids(),
            proptest::option::of(broker_id()),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(topic_id, partition, isr, leader, leader_epoch, partition_epoch)| {
                    MetadataRecord::PartitionChange(PartitionChangeRecord {
                        topic_id,
                        partition: PartitionIndex(partition),
                        isr,
                        leader,
                        leader_epoch: LeaderEpoch(leader_epoch),
                        partition_epoch: PartitionEpoch(partition_epoch),
                    })
                }
            ),
        topic_id
            .clone()
            .prop_map(|topic_id| MetadataRecord::RemoveTopic { topic_id }),
        (
            config_resource(),
            ".{0,20}",
            proptest::option::of(".{0,20}")
        )
            .prop_map(|(resource, key, value)| MetadataRecord::Config {
                resource,
                key,
                value
            }),
        (
            topic_id,
            any::<u32>(),
            (broker_ids(), broker_ids(), broker_ids(), broker_ids()),
            proptest::option::of(broker_id()),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(
                |(
                    topic_id,
                    partition,
                    (replicas, adding_replicas, removing_replicas, isr),
                    leader,
                    leader_epoch,
                    partition_epoch,
                )| {
                    MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
                        topic_id,
                        partition: PartitionIndex(partition),
                        replicas,
                        adding_replicas,
                        removing_replicas,
                        isr,
                        leader,
                        leader_epoch: LeaderEpoch(leader_epoch),
                        partition_epoch: PartitionEpoch(partition_epoch),
                    })
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn record_round_trip(record in record()) {
        let bytes = record.encode();
        prop_assert_eq!(bytes[0], FORMAT_VERSION);
        prop_assert_eq!(MetadataRecord::decode(&bytes).unwrap(), record);
    }

    #[test]
    fn batch_round_trip(
        base_offset in any::<u64>(),
        records in proptest::collection::vec(record(), 0..6),
    ) {
        let batch = RecordBatch { base_offset: MetadataOffset(base_offset), records };
        prop_assert_eq!(RecordBatch::decode(&batch.encode()).unwrap(), batch);
    }

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        // No panic, and whatever decodes survives a round trip of its own.
        if let Ok(record) = MetadataRecord::decode(&bytes) {
            prop_assert_eq!(MetadataRecord::decode(&record.encode()).unwrap(), record);
        }
        if let Ok(batch) = RecordBatch::decode(&bytes) {
            prop_assert_eq!(RecordBatch::decode(&batch.encode()).unwrap(), batch);
        }
    }

    #[test]
    fn every_truncation_of_a_record_fails(record in record()) {
        let bytes = record.encode();
        for cut in 0..bytes.len() {
            prop_assert!(MetadataRecord::decode(&bytes[..cut]).is_err(), "cut at {}", cut);
        }
    }
}

#[test]
fn the_encoding_is_stable() {
    // A golden encoding: if this changes, records written by earlier builds no longer decode.
    let record = MetadataRecord::Topic {
        name: "t".to_owned(),
        topic_id: TopicId([1; 16]),
    };
    let mut expect = vec![FORMAT_VERSION, 4, 1, b't'];
    expect.extend([1; 16]);
    assert_eq!(record.encode(), expect);
    // The variant appended for reassignments has index 9; the ones before it keep theirs.
    let record = MetadataRecord::PartitionReassignment(PartitionReassignmentRecord {
        topic_id: TopicId([2; 16]),
        partition: PartitionIndex(1),
        replicas: vec![BrokerId(2), BrokerId(1)],
        adding_replicas: vec![BrokerId(2)],
        removing_replicas: vec![BrokerId(1)],
        isr: vec![BrokerId(1)],
        leader: Some(BrokerId(1)),
        leader_epoch: LeaderEpoch(3),
        partition_epoch: PartitionEpoch(4),
    });
    let mut expect = vec![FORMAT_VERSION, 9];
    expect.extend([2; 16]);
    expect.extend([1, 2, 4, 2, 1, 4, 1, 2, 1, 2, 1, 2, 3, 4]);
    assert_eq!(record.encode(), expect);
    assert!(matches!(
        MetadataRecord::decode(&[1, 4, 1, b't']),
        Err(Error::UnknownFormatVersion { version: 1 })
    ));
}
