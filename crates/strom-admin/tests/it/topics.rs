//! Topics, partitions, configs and the cluster description.

use strom_admin::{AlterConfigOp, ConfigResource, ConfigSource, Error, NewTopic};
use strom_protocol::ErrorCode;

use crate::fixture::TestBroker;

#[tokio::test]
async fn topics_are_created_listed_described_grown_and_deleted() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("alpha", 3), NewTopic::new("beta", 1)])
        .await
        .unwrap();

    let listed: Vec<(String, usize)> = admin
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .filter(|topic| !topic.internal)
        .map(|topic| (topic.name, topic.partitions))
        .collect();
    assert_eq!(
        listed,
        vec![("alpha".to_owned(), 3), ("beta".to_owned(), 1)]
    );

    let described = admin.describe_topics(&["alpha"]).await.unwrap();
    assert_eq!(described.len(), 1);
    let partitions: Vec<i32> = described[0]
        .partitions
        .iter()
        .map(|p| p.partition)
        .collect();
    assert_eq!(partitions, vec![0, 1, 2]);
    for partition in &described[0].partitions {
        assert_eq!(partition.leader, Some(broker_id(&admin).await));
        assert_eq!(partition.replicas, partition.isr);
        assert_eq!(partition.replicas.len(), 1);
    }

    admin.create_partitions("beta", 4).await.unwrap();
    let described = admin.describe_topics(&["beta"]).await.unwrap();
    assert_eq!(described[0].partitions.len(), 4);

    admin.delete_topics(&["alpha"]).await.unwrap();
    let names: Vec<String> = admin
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .filter(|topic| !topic.internal)
        .map(|topic| topic.name)
        .collect();
    assert_eq!(names, vec!["beta".to_owned()]);
    admin.close().await;
}

#[tokio::test]
async fn refusals_name_the_wire_code() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("dup", 2)])
        .await
        .unwrap();

    let res = admin.create_topics(&[NewTopic::new("dup", 2)]).await;
    assert!(
        matches!(&res, Err(Error::Broker { code: ErrorCode::TopicAlreadyExists, resource, .. }) if resource == "topic dup"),
        "{res:?}"
    );
    let message = res.unwrap_err().to_string();
    assert!(
        message.starts_with("topic dup: TOPIC_ALREADY_EXISTS"),
        "{message}"
    );

    // Shrinking is refused.
    let res = admin.create_partitions("dup", 1).await;
    assert!(
        matches!(
            &res,
            Err(Error::Broker {
                code: ErrorCode::InvalidPartitions,
                ..
            })
        ),
        "{res:?}"
    );
    let res = admin.delete_topics(&["missing"]).await;
    assert!(
        matches!(
            &res,
            Err(Error::Broker {
                code: ErrorCode::UnknownTopicOrPartition,
                ..
            })
        ),
        "{res:?}"
    );
    admin.close().await;
}

#[tokio::test]
async fn configs_are_described_and_altered_incrementally() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    let topic = NewTopic {
        configs: vec![("cleanup.policy".to_owned(), "compact".to_owned())],
        ..NewTopic::new("configured", 1)
    };
    admin.create_topics(&[topic]).await.unwrap();
    let resource = ConfigResource::Topic("configured".to_owned());
    let value_of = |entries: &[strom_admin::ConfigEntry], name: &str| {
        entries
            .iter()
            .find(|entry| entry.name == name)
            .map(|entry| (entry.value.clone(), entry.source))
    };

    let entries = admin.describe_configs(&resource).await.unwrap();
    assert_eq!(
        value_of(&entries, "cleanup.policy"),
        Some((Some("compact".to_owned()), ConfigSource::Topic))
    );
    let (_, retention_source) = value_of(&entries, "retention.ms").unwrap();
    assert_ne!(retention_source, ConfigSource::Topic);

    admin
        .alter_configs(
            &resource,
            &[
                AlterConfigOp::Set {
                    name: "retention.ms".to_owned(),
                    value: "60000".to_owned(),
                },
                AlterConfigOp::Delete {
                    name: "cleanup.policy".to_owned(),
                },
            ],
        )
        .await
        .unwrap();
    let entries = admin.describe_configs(&resource).await.unwrap();
    assert_eq!(
        value_of(&entries, "retention.ms"),
        Some((Some("60000".to_owned()), ConfigSource::Topic))
    );
    let (cleanup, cleanup_source) = value_of(&entries, "cleanup.policy").unwrap();
    assert_eq!(cleanup.as_deref(), Some("delete"));
    assert_ne!(cleanup_source, ConfigSource::Topic);

    let res = admin
        .describe_configs(&ConfigResource::Topic("missing".to_owned()))
        .await;
    assert!(matches!(res, Err(Error::Broker { .. })), "{res:?}");
    admin.close().await;
}

#[tokio::test]
async fn cluster_is_described() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    let cluster = admin.describe_cluster().await.unwrap();
    assert!(!cluster.cluster_id.is_empty());
    assert_eq!(cluster.brokers.len(), 1);
    let port = broker.running.local_addr().port();
    assert_eq!(cluster.brokers[0].port, i32::from(port));
    assert_eq!(cluster.controller, Some(cluster.brokers[0].id));
    admin.close().await;
}

async fn broker_id(admin: &strom_admin::Admin) -> i32 {
    admin.describe_cluster().await.unwrap().brokers[0].id
}
