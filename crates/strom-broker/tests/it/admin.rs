//! Topic administration through the wire: CreateTopics errors and validate-only, DeleteTopics
//! removing the logs from disk, and Metadata's auto-creation rules.

use strom_protocol::messages::create_topics::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest, CreateTopicsResponse,
};
use strom_protocol::messages::delete_topics::DeleteTopicsRequest;
use strom_protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use strom_protocol::{ErrorCode, Response};

use crate::fixture::{Client, TestBroker};

fn topic(name: &str, partitions: i32, replication_factor: i16) -> CreatableTopic {
    CreatableTopic {
        name: name.to_owned(),
        num_partitions: partitions,
        replication_factor,
        ..CreatableTopic::default()
    }
}

async fn create(
    client: &mut Client,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> CreateTopicsResponse {
    let request = CreateTopicsRequest {
        topics,
        validate_only,
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(response) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    response
}

async fn metadata(
    client: &mut Client,
    names: &[&str],
    allow_auto_create: bool,
) -> Vec<(String, i16, usize)> {
    let request = MetadataRequest {
        topics: Some(
            names
                .iter()
                .map(|name| MetadataRequestTopic {
                    name: Some((*name).to_owned()),
                    ..MetadataRequestTopic::default()
                })
                .collect(),
        ),
        allow_auto_topic_creation: allow_auto_create,
        ..MetadataRequest::default()
    };
    let Response::Metadata(response) = client.send(12, request).await else {
        panic!("not a Metadata response");
    };
    assert_eq!(response.controller_id, 1);
    assert!(response.cluster_id.is_some_and(|id| id.len() == 22));
    response
        .topics
        .into_iter()
        .map(|topic| {
            (
                topic.name.unwrap_or_default(),
                topic.error_code,
                topic.partitions.len(),
            )
        })
        .collect()
}

#[tokio::test]
async fn create_topics_errors() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let mut bad_config = topic("bad-config", 1, 1);
    bad_config.configs = vec![CreatableTopicConfig {
        name: "retention.ms".to_owned(),
        value: Some("soon".to_owned()),
        ..CreatableTopicConfig::default()
    }];
    let mut unknown_config = topic("unknown-config", 1, 1);
    unknown_config.configs = vec![CreatableTopicConfig {
        name: "no.such.key".to_owned(),
        value: Some("1".to_owned()),
        ..CreatableTopicConfig::default()
    }];
    let response = create(
        &mut client,
        vec![
            topic("ok", -1, -1),
            topic("twice", 1, 1),
            topic("twice", 1, 1),
            topic("rf3", 1, 3),
            topic("no partitions", 1, 1),
            topic("zero", 0, 1),
            bad_config,
            unknown_config,
        ],
        false,
    )
    .await;
    let got: Vec<(&str, i16)> = response
        .topics
        .iter()
        .map(|topic| (topic.name.as_str(), topic.error_code))
        .collect();
    assert_eq!(
        got,
        [
            ("ok", 0),
            ("twice", ErrorCode::InvalidRequest.code()),
            ("twice", ErrorCode::InvalidRequest.code()),
            ("rf3", ErrorCode::InvalidReplicationFactor.code()),
            ("no partitions", ErrorCode::InvalidTopicException.code()),
            ("zero", ErrorCode::InvalidPartitions.code()),
            ("bad-config", ErrorCode::InvalidConfig.code()),
            ("unknown-config", ErrorCode::InvalidConfig.code()),
        ]
    );
    let ok = &response.topics[0];
    assert_eq!((ok.num_partitions, ok.replication_factor), (1, 1));
    assert!(
        ok.configs
            .as_ref()
            .is_some_and(|configs| configs.iter().any(|c| c.name == "retention.ms"))
    );
    assert!(
        response.topics[6]
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("retention.ms"))
    );

    let again = create(&mut client, vec![topic("ok", 1, 1)], false).await;
    assert_eq!(
        again.topics[0].error_code,
        ErrorCode::TopicAlreadyExists.code()
    );
}

#[tokio::test]
async fn validate_only_creates_nothing() {
    let broker = TestBroker::start(&[("auto.create.topics.enable", "false")]).await;
    let mut client = broker.client().await;
    let response = create(&mut client, vec![topic("dry", 2, 1)], true).await;
    assert_eq!(response.topics[0].error_code, 0);
    assert_eq!(response.topics[0].num_partitions, 2);
    let found = metadata(&mut client, &["dry"], true).await;
    assert_eq!(
        found,
        [(
            "dry".to_owned(),
            ErrorCode::UnknownTopicOrPartition.code(),
            0
        )]
    );
}

#[tokio::test]
async fn delete_topics_removes_the_logs() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("doomed", 2).await;
    let data_dir = broker.dir.path().join("data");
    assert!(data_dir.join("doomed-1").is_dir());
    let request = DeleteTopicsRequest {
        topic_names: vec!["doomed".to_owned(), "never-was".to_owned()],
        timeout_ms: 10_000,
        ..DeleteTopicsRequest::default()
    };
    let Response::DeleteTopics(response) = client.send(5, request).await else {
        panic!("not a DeleteTopics response");
    };
    let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [0, ErrorCode::UnknownTopicOrPartition.code()]);
    assert!(!data_dir.join("doomed-0").exists());
    assert!(!data_dir.join("doomed-1").exists());
    let found = metadata(&mut client, &["doomed"], false).await;
    assert_eq!(found[0].1, ErrorCode::UnknownTopicOrPartition.code());
}

#[tokio::test]
async fn metadata_auto_creates_only_when_allowed() {
    let broker = TestBroker::start(&[("num.partitions", "3")]).await;
    let mut client = broker.client().await;
    let found = metadata(&mut client, &["not-asked"], false).await;
    assert_eq!(found[0].1, ErrorCode::UnknownTopicOrPartition.code());
    let found = metadata(&mut client, &["auto", "bad/name"], true).await;
    assert_eq!(
        found,
        [
            ("auto".to_owned(), 0, 3),
            (
                "bad/name".to_owned(),
                ErrorCode::InvalidTopicException.code(),
                0
            ),
        ]
    );

    let disabled = TestBroker::start(&[("auto.create.topics.enable", "false")]).await;
    let mut client = disabled.client().await;
    let found = metadata(&mut client, &["auto"], true).await;
    assert_eq!(found[0].1, ErrorCode::UnknownTopicOrPartition.code());
}
