//! Listing offsets (earliest, latest, by timestamp) and deleting records.

use strom_admin::{NewTopic, Offset, OffsetSpec, Timestamp, TopicPartition};

use crate::fixture::{TestBroker, produce};

#[tokio::test]
async fn offsets_are_listed_and_records_deleted() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("logs", 2)])
        .await
        .unwrap();
    produce(&broker.addr(), "logs", 0, 10).await;
    produce(&broker.addr(), "logs", 1, 3).await;
    let partitions = admin.partitions_of("logs").await.unwrap();
    assert_eq!(
        partitions,
        vec![
            TopicPartition::new("logs", 0),
            TopicPartition::new("logs", 1)
        ]
    );

    let offsets = |spec| {
        let admin = admin.clone();
        let partitions = partitions.clone();
        async move {
            admin
                .list_offsets(&partitions, spec)
                .await
                .unwrap()
                .into_iter()
                .map(|listed| (listed.offset.map(|o| o.0), listed.timestamp.map(|t| t.0)))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        offsets(OffsetSpec::Earliest).await,
        vec![(Some(0), None), (Some(0), None)]
    );
    assert_eq!(
        offsets(OffsetSpec::Latest).await,
        vec![(Some(10), None), (Some(3), None)]
    );
    // Record i has timestamp 1000 * (i + 1): 4500 falls before record 4.
    assert_eq!(
        offsets(OffsetSpec::Timestamp(Timestamp(4500))).await,
        vec![(Some(4), Some(5000)), (None, None)]
    );

    let low = admin
        .delete_records(&[(TopicPartition::new("logs", 0), Offset(4))])
        .await
        .unwrap();
    assert_eq!(low, vec![(TopicPartition::new("logs", 0), Offset(4))]);
    assert_eq!(
        offsets(OffsetSpec::Earliest).await,
        vec![(Some(4), None), (Some(0), None)]
    );
    assert_eq!(
        offsets(OffsetSpec::Latest).await,
        vec![(Some(10), None), (Some(3), None)]
    );
    admin.close().await;
}
