//! Partition reassignments against a single broker: the move to itself is accepted (and
//! changes nothing), other targets and cancels come back as typed errors, nothing is listed.

use strom_admin::{Error, NewTopic, TopicPartition};
use strom_protocol::ErrorCode;

use crate::fixture::TestBroker;

fn code(error: Error) -> ErrorCode {
    match error {
        Error::Broker { code, .. } => code,
        other => panic!("not a broker error: {other}"),
    }
}

#[tokio::test]
async fn moves_are_checked_and_nothing_is_listed_on_one_broker() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("moving", 2)])
        .await
        .unwrap();
    let own = admin.describe_cluster().await.unwrap().brokers[0].id;
    let partition = |index: i32| TopicPartition {
        topic: "moving".to_owned(),
        partition: index,
    };
    admin
        .alter_partition_reassignments(&[(partition(0), Some(vec![own]))])
        .await
        .unwrap();
    let error = admin
        .alter_partition_reassignments(&[(partition(1), Some(vec![own + 1]))])
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("partition moving-1: INVALID_REPLICA_ASSIGNMENT"),
        "{error}"
    );
    assert_eq!(code(error), ErrorCode::InvalidReplicaAssignment);
    let error = admin
        .alter_partition_reassignments(&[(partition(0), None)])
        .await
        .unwrap_err();
    assert_eq!(code(error), ErrorCode::NoReassignmentInProgress);
    let error = admin
        .alter_partition_reassignments(&[(partition(7), Some(vec![own]))])
        .await
        .unwrap_err();
    assert_eq!(code(error), ErrorCode::UnknownTopicOrPartition);

    assert!(
        admin
            .list_partition_reassignments(None)
            .await
            .unwrap()
            .is_empty()
    );
    let asked = [partition(0), partition(1)];
    assert!(
        admin
            .list_partition_reassignments(Some(&asked))
            .await
            .unwrap()
            .is_empty()
    );
    let described = admin.describe_topics(&["moving"]).await.unwrap();
    assert!(described[0].partitions.iter().all(|p| p.replicas == [own]));
}
