//! The admin APIs beyond topic creation, through the wire: CreatePartitions, DescribeConfigs,
//! AlterConfigs, IncrementalAlterConfigs (including changes taking effect on live partitions),
//! DeleteRecords and DescribeCluster, each with its success and error paths.

use std::time::Duration;

use strom_protocol::messages::alter_configs::{
    AlterConfigsRequest, AlterConfigsResource, AlterConfigsResponse, AlterableConfig,
};
use strom_protocol::messages::create_partitions::{
    CreatePartitionsAssignment, CreatePartitionsRequest, CreatePartitionsResponse,
    CreatePartitionsTopic,
};
use strom_protocol::messages::create_topics::{
    CreatableTopic, CreatableTopicConfig, CreateTopicsRequest,
};
use strom_protocol::messages::delete_records::{
    DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
};
use strom_protocol::messages::describe_cluster::DescribeClusterRequest;
use strom_protocol::messages::describe_configs::{
    DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResult,
};
use strom_protocol::messages::incremental_alter_configs as incremental;
use strom_protocol::messages::metadata::MetadataRequest;
use strom_protocol::{ApiKey, ErrorCode, Response};

use crate::fixture::{Client, TestBroker, batch, recent};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

fn versions(api_key: ApiKey) -> std::ops::RangeInclusive<i16> {
    let supported = api_key.supported_versions();
    supported.min..=supported.max
}

async fn create_with_configs(client: &mut Client, name: &str, configs: &[(&str, &str)]) {
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.to_owned(),
            num_partitions: 1,
            replication_factor: 1,
            configs: configs
                .iter()
                .map(|(key, value)| CreatableTopicConfig {
                    name: (*key).to_owned(),
                    value: Some((*value).to_owned()),
                    ..CreatableTopicConfig::default()
                })
                .collect(),
            ..CreatableTopic::default()
        }],
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(response) = client.send(7, request).await else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

async fn partition_count(client: &mut Client, name: &str) -> usize {
    let request = MetadataRequest {
        topics: None,
        ..MetadataRequest::default()
    };
    let Response::Metadata(response) = client.send(12, request).await else {
        panic!("not a Metadata response");
    };
    response
        .topics
        .iter()
        .find(|topic| topic.name.as_deref() == Some(name))
        .map_or(0, |topic| topic.partitions.len())
}

// ---- CreatePartitions ----

async fn create_partitions(
    client: &mut Client,
    version: i16,
    topics: Vec<CreatePartitionsTopic>,
    validate_only: bool,
) -> CreatePartitionsResponse {
    let request = CreatePartitionsRequest {
        topics,
        timeout_ms: 10_000,
        validate_only,
        ..CreatePartitionsRequest::default()
    };
    let Response::CreatePartitions(response) = client.send(version, request).await else {
        panic!("not a CreatePartitions response");
    };
    response
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> CreatePartitionsTopic {
    CreatePartitionsTopic {
        name: name.to_owned(),
        count,
        assignments: assignments.map(|assignments| {
            assignments
                .into_iter()
                .map(|broker_ids| CreatePartitionsAssignment {
                    broker_ids,
                    ..CreatePartitionsAssignment::default()
                })
                .collect()
        }),
        ..CreatePartitionsTopic::default()
    }
}

/// Grows topics at every version; the new partitions serve produce and fetch, and survive a
/// restart.
#[tokio::test]
async fn create_partitions_grows_topics() {
    let mut broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    for version in versions(ApiKey::CreatePartitions) {
        let name = format!("grow-{version}");
        client.create_topic(&name, 1).await;
        let response =
            create_partitions(&mut client, version, vec![grow(&name, 3, None)], false).await;
        assert_eq!(response.results.len(), 1);
        assert_eq!(response.results[0].name, name);
        assert_eq!(response.results[0].error_code, 0, "{response:?}");
        assert_eq!(response.results[0].error_message, None);
        assert_eq!(partition_count(&mut client, &name).await, 3);
        let produced = client.produce(&name, 2, batch(&["a", "b"], recent())).await;
        assert_eq!(produced.error_code, 0);
        let fetched = client.fetch(&name, 2, 0, 0, 1).await;
        assert_eq!(fetched.high_watermark, 2);
    }
    // Explicit assignments: one replica list per new partition.
    client.create_topic("assigned", 1).await;
    let response = create_partitions(
        &mut client,
        3,
        vec![grow("assigned", 3, Some(vec![vec![1], vec![1]]))],
        false,
    )
    .await;
    assert_eq!(response.results[0].error_code, 0, "{response:?}");
    broker.restart().await;
    let mut client = broker.client().await;
    assert_eq!(partition_count(&mut client, "assigned").await, 3);
    let produced = client.produce("assigned", 2, batch(&["c"], recent())).await;
    assert_eq!(produced.error_code, 0);
}

#[tokio::test]
async fn create_partitions_errors() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("two", 2).await;
    #[track_caller]
    fn check(response: &CreatePartitionsResponse, index: usize, expect: ErrorCode) {
        let result = &response.results[index];
        assert_eq!(result.error_code, expect.code(), "{result:?}");
        if expect != ErrorCode::None {
            assert!(result.error_message.as_ref().is_some_and(|m| !m.is_empty()));
        }
    }
    let response = create_partitions(
        &mut client,
        3,
        vec![
            grow("two", 1, None),
            grow("missing", 4, None),
            grow("dup", 4, None),
            grow("dup", 5, None),
        ],
        false,
    )
    .await;
    check(&response, 0, ErrorCode::InvalidPartitions);
    check(&response, 1, ErrorCode::UnknownTopicOrPartition);
    check(&response, 2, ErrorCode::InvalidRequest);
    check(&response, 3, ErrorCode::InvalidRequest);
    let response = create_partitions(
        &mut client,
        3,
        vec![grow("two", 2, None), grow("two", 4, Some(vec![vec![1]]))],
        false,
    )
    .await;
    // "two" twice: both refused.
    check(&response, 0, ErrorCode::InvalidRequest);
    check(&response, 1, ErrorCode::InvalidRequest);
    let response = create_partitions(&mut client, 3, vec![grow("two", 2, None)], false).await;
    check(&response, 0, ErrorCode::InvalidPartitions);
    let response = create_partitions(
        &mut client,
        3,
        vec![grow("two", 4, Some(vec![vec![1]]))],
        false,
    )
    .await;
    check(&response, 0, ErrorCode::InvalidReplicaAssignment);
    let response = create_partitions(
        &mut client,
        3,
        vec![grow("two", 3, Some(vec![vec![7]]))],
        false,
    )
    .await;
    check(&response, 0, ErrorCode::InvalidReplicaAssignment);
    assert_eq!(partition_count(&mut client, "two").await, 2);
    // validate_only answers success and changes nothing.
    let response = create_partitions(&mut client, 0, vec![grow("two", 6, None)], true).await;
    check(&response, 0, ErrorCode::None);
    assert_eq!(partition_count(&mut client, "two").await, 2);
}

// ---- DescribeConfigs ----

async fn describe(
    client: &mut Client,
    version: i16,
    resources: &[(i8, &str, Option<&[&str]>)],
    include_synonyms: bool,
    include_documentation: bool,
) -> Vec<DescribeConfigsResult> {
    let request = DescribeConfigsRequest {
        resources: resources
            .iter()
            .map(|(resource_type, name, keys)| DescribeConfigsResource {
                resource_type: *resource_type,
                resource_name: (*name).to_owned(),
                configuration_keys: keys
                    .map(|keys| keys.iter().map(|key| (*key).to_owned()).collect()),
                ..DescribeConfigsResource::default()
            })
            .collect(),
        include_synonyms,
        include_documentation,
        ..DescribeConfigsRequest::default()
    };
    let Response::DescribeConfigs(response) = client.send(version, request).await else {
        panic!("not a DescribeConfigs response");
    };
    response.results
}

/// A topic's config entries as `(name, value, source)`.
async fn topic_configs(client: &mut Client, name: &str) -> Vec<(String, Option<String>, i8)> {
    let results = describe(client, 4, &[(TOPIC, name, None)], false, false).await;
    assert_eq!(results[0].error_code, 0, "{:?}", results[0]);
    results[0]
        .configs
        .iter()
        .map(|entry| (entry.name.clone(), entry.value.clone(), entry.config_source))
        .collect()
}

async fn topic_config(client: &mut Client, topic: &str, key: &str) -> (Option<String>, i8) {
    let configs = topic_configs(client, topic).await;
    let (_, value, source) = configs
        .into_iter()
        .find(|(name, _, _)| name == key)
        .unwrap_or_else(|| panic!("no {key}"));
    (value, source)
}

#[tokio::test]
async fn describe_configs_of_a_topic() {
    let broker = TestBroker::start(&[("log.retention.hours", "24")]).await;
    let mut client = broker.client().await;
    create_with_configs(&mut client, "described", &[("retention.ms", "3600000")]).await;
    for version in versions(ApiKey::DescribeConfigs) {
        let results = describe(
            &mut client,
            version,
            &[(TOPIC, "described", None)],
            false,
            false,
        )
        .await;
        let result = &results[0];
        assert_eq!((result.error_code, result.resource_type), (0, TOPIC));
        assert_eq!(result.resource_name, "described");
        let entry = |name: &str| {
            result
                .configs
                .iter()
                .find(|entry| entry.name == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert!(result.configs.len() > 10);
        let retention = entry("retention.ms");
        assert_eq!(retention.value.as_deref(), Some("3600000"));
        assert_eq!(retention.config_source, 1);
        assert!(!retention.read_only && !retention.is_sensitive);
        assert!(retention.synonyms.is_empty());
        let segment = entry("segment.bytes");
        assert_eq!(segment.value.as_deref(), Some("1073741824"));
        assert_eq!(segment.config_source, 5);
        if version >= 3 {
            assert_eq!(retention.config_type, 5, "LONG");
            assert_eq!(segment.config_type, 3, "INT");
            assert_eq!(entry("cleanup.policy").config_type, 7, "LIST");
            assert_eq!(retention.documentation, None);
        }
    }
    // Listed keys only (unknown ones are left out), with synonyms and documentation.
    let results = describe(
        &mut client,
        4,
        &[(
            TOPIC,
            "described",
            Some(&["retention.ms", "segment.ms", "no.such.key"]),
        )],
        true,
        true,
    )
    .await;
    let configs = &results[0].configs;
    let names: Vec<&str> = configs.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names, ["retention.ms", "segment.ms"]);
    let synonyms: Vec<(&str, Option<&str>, i8)> = configs[0]
        .synonyms
        .iter()
        .map(|synonym| {
            (
                synonym.name.as_str(),
                synonym.value.as_deref(),
                synonym.source,
            )
        })
        .collect();
    assert_eq!(synonyms[0], ("retention.ms", Some("3600000"), 1));
    assert!(
        synonyms.contains(&("log.retention.hours", Some("24"), 4)),
        "{synonyms:?}"
    );
    assert!(
        configs[0]
            .documentation
            .as_ref()
            .is_some_and(|doc| !doc.is_empty())
    );
    // An unknown topic and an invalid name, answered next to a good resource.
    let results = describe(
        &mut client,
        2,
        &[
            (TOPIC, "missing", None),
            (TOPIC, "bad/name", None),
            (TOPIC, "described", Some(&[])),
        ],
        false,
        false,
    )
    .await;
    assert_eq!(
        results[0].error_code,
        ErrorCode::UnknownTopicOrPartition.code()
    );
    assert!(results[0].configs.is_empty());
    assert_eq!(
        results[1].error_code,
        ErrorCode::InvalidTopicException.code()
    );
    assert_eq!(results[2].error_code, 0);
    assert!(
        results[2].configs.len() > 10,
        "an empty key list means every key"
    );
}

#[tokio::test]
async fn describe_configs_of_the_broker() {
    let broker = TestBroker::start(&[("log.retention.hours", "24")]).await;
    let mut client = broker.client().await;
    let results = describe(
        &mut client,
        4,
        &[
            (BROKER, "1", None),
            (BROKER, "7", None),
            (BROKER, "x", None),
            (BROKER, "", None),
            (8, "1", None),
        ],
        true,
        false,
    )
    .await;
    let ours = &results[0];
    assert_eq!(ours.error_code, 0);
    let retention = ours
        .configs
        .iter()
        .find(|entry| entry.name == "log.retention.hours")
        .unwrap();
    assert_eq!(retention.value.as_deref(), Some("24"));
    assert_eq!(retention.config_source, 4, "STATIC_BROKER_CONFIG");
    assert!(retention.read_only);
    assert_eq!(retention.synonyms.len(), 1);
    let node_id = ours
        .configs
        .iter()
        .find(|entry| entry.name == "node.id")
        .unwrap();
    assert_eq!(node_id.config_source, 5);
    assert_eq!(results[1].error_code, ErrorCode::InvalidRequest.code());
    assert!(
        results[1]
            .error_message
            .as_ref()
            .is_some_and(|m| m.contains("broker id"))
    );
    assert_eq!(results[2].error_code, ErrorCode::InvalidRequest.code());
    assert_eq!((results[3].error_code, results[3].configs.len()), (0, 0));
    assert_eq!(results[4].error_code, ErrorCode::InvalidRequest.code());
}

// ---- AlterConfigs ----

/// Config keys with their values (`None` is a null value).
type Overrides<'a> = &'a [(&'a str, Option<&'a str>)];

async fn alter(
    client: &mut Client,
    version: i16,
    resources: &[(i8, &str, Overrides<'_>)],
    validate_only: bool,
) -> AlterConfigsResponse {
    let request = AlterConfigsRequest {
        resources: resources
            .iter()
            .map(|(resource_type, name, configs)| AlterConfigsResource {
                resource_type: *resource_type,
                resource_name: (*name).to_owned(),
                configs: configs
                    .iter()
                    .map(|(key, value)| AlterableConfig {
                        name: (*key).to_owned(),
                        value: value.map(str::to_owned),
                        ..AlterableConfig::default()
                    })
                    .collect(),
                ..AlterConfigsResource::default()
            })
            .collect(),
        validate_only,
        ..AlterConfigsRequest::default()
    };
    let Response::AlterConfigs(response) = client.send(version, request).await else {
        panic!("not an AlterConfigs response");
    };
    response
}

/// AlterConfigs replaces the whole set of overrides, at every version.
#[tokio::test]
async fn alter_configs_replaces_the_overrides() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    for version in versions(ApiKey::AlterConfigs) {
        let name = format!("altered-{version}");
        create_with_configs(&mut client, &name, &[("retention.ms", "3600000")]).await;
        let response = alter(
            &mut client,
            version,
            &[(TOPIC, &name, &[("max.message.bytes", Some("5000"))])],
            false,
        )
        .await;
        let result = &response.responses[0];
        assert_eq!(
            (result.error_code, result.resource_type),
            (0, TOPIC),
            "{result:?}"
        );
        assert_eq!(result.resource_name, name);
        assert_eq!(
            topic_config(&mut client, &name, "max.message.bytes").await,
            (Some("5000".to_owned()), 1)
        );
        assert_eq!(
            topic_config(&mut client, &name, "retention.ms").await,
            (Some("604800000".to_owned()), 5),
            "the override left out is gone"
        );
    }
}

#[tokio::test]
async fn alter_configs_errors() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    create_with_configs(&mut client, "kept", &[("retention.ms", "3600000")]).await;
    let response = alter(
        &mut client,
        1,
        &[
            (TOPIC, "kept", &[("retention.ms", Some("soon"))]),
            (TOPIC, "missing", &[("retention.ms", Some("1000"))]),
            (BROKER, "1", &[("log.retention.hours", Some("1"))]),
            (BROKER, "1", &[]),
        ],
        false,
    )
    .await;
    let codes: Vec<i16> = response.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(
        codes,
        [
            ErrorCode::InvalidConfig.code(),
            ErrorCode::UnknownTopicOrPartition.code(),
            ErrorCode::InvalidRequest.code(),
            ErrorCode::InvalidRequest.code(),
        ]
    );
    let message = response.responses[0].error_message.clone().unwrap();
    assert!(message.contains("retention.ms"), "{message}");
    let response = alter(
        &mut client,
        2,
        &[
            (TOPIC, "kept", &[("no.such.key", Some("1"))]),
            (BROKER, "1", &[("log.retention.hours", Some("1"))]),
            (BROKER, "", &[]),
        ],
        false,
    )
    .await;
    assert_eq!(
        response.responses[0].error_code,
        ErrorCode::InvalidConfig.code()
    );
    assert_eq!(
        response.responses[1].error_code,
        ErrorCode::InvalidRequest.code()
    );
    let message = response.responses[1].error_message.clone().unwrap();
    assert!(
        message.contains("dynamic broker configs are not supported"),
        "{message}"
    );
    assert_eq!(
        response.responses[2].error_code, 0,
        "changing nothing succeeds"
    );
    let response = alter(
        &mut client,
        0,
        &[(TOPIC, "kept", &[("retention.ms", None)])],
        false,
    )
    .await;
    assert_eq!(
        response.responses[0].error_code,
        ErrorCode::InvalidRequest.code()
    );
    // validate_only: success, nothing changed.
    let response = alter(
        &mut client,
        0,
        &[(TOPIC, "kept", &[("retention.ms", Some("1000"))])],
        true,
    )
    .await;
    assert_eq!(response.responses[0].error_code, 0);
    assert_eq!(
        topic_config(&mut client, "kept", "retention.ms").await,
        (Some("3600000".to_owned()), 1)
    );
}

// ---- IncrementalAlterConfigs ----

async fn incremental_alter(
    client: &mut Client,
    version: i16,
    resource: (i8, &str),
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, Option<String>) {
    let request = incremental::IncrementalAlterConfigsRequest {
        resources: vec![incremental::AlterConfigsResource {
            resource_type: resource.0,
            resource_name: resource.1.to_owned(),
            configs: ops
                .iter()
                .map(|(key, op, value)| incremental::AlterableConfig {
                    name: (*key).to_owned(),
                    config_operation: *op,
                    value: value.map(str::to_owned),
                    ..incremental::AlterableConfig::default()
                })
                .collect(),
            ..incremental::AlterConfigsResource::default()
        }],
        validate_only,
        ..incremental::IncrementalAlterConfigsRequest::default()
    };
    let Response::IncrementalAlterConfigs(mut response) = client.send(version, request).await
    else {
        panic!("not an IncrementalAlterConfigs response");
    };
    let result = response.responses.remove(0);
    assert_eq!(result.resource_name, resource.1);
    (result.error_code, result.error_message)
}

#[tokio::test]
async fn incremental_alter_configs_operations() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    create_with_configs(&mut client, "inc", &[("retention.ms", "3600000")]).await;
    for version in versions(ApiKey::IncrementalAlterConfigs) {
        let (code, message) = incremental_alter(
            &mut client,
            version,
            (TOPIC, "inc"),
            &[
                ("segment.ms", SET, Some("60000")),
                ("retention.ms", DELETE, None),
            ],
            false,
        )
        .await;
        assert_eq!((code, message), (0, None));
        assert_eq!(
            topic_config(&mut client, "inc", "segment.ms").await,
            (Some("60000".to_owned()), 1)
        );
        assert_eq!(topic_config(&mut client, "inc", "retention.ms").await.1, 5);
        let ops = [("retention.ms", SET, Some("3600000"))];
        assert_eq!(
            incremental_alter(&mut client, version, (TOPIC, "inc"), &ops, false)
                .await
                .0,
            0
        );
    }
    let ops = [("cleanup.policy", APPEND, Some("compact"))];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "inc"), &ops, false)
            .await
            .0,
        0
    );
    assert_eq!(
        topic_config(&mut client, "inc", "cleanup.policy").await,
        (Some("delete,compact".to_owned()), 1)
    );
    let ops = [("cleanup.policy", SUBTRACT, Some("delete"))];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "inc"), &ops, false)
            .await
            .0,
        0
    );
    assert_eq!(
        topic_config(&mut client, "inc", "cleanup.policy").await,
        (Some("compact".to_owned()), 1)
    );
    // The untouched override is still there.
    assert_eq!(
        topic_config(&mut client, "inc", "segment.ms").await,
        (Some("60000".to_owned()), 1)
    );
    // validate_only changes nothing.
    let ops = [("segment.ms", SET, Some("70000"))];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "inc"), &ops, true)
            .await
            .0,
        0
    );
    assert_eq!(
        topic_config(&mut client, "inc", "segment.ms").await,
        (Some("60000".to_owned()), 1)
    );
}

#[tokio::test]
async fn incremental_alter_configs_errors() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("inc-errors", 1).await;
    #[track_caller]
    fn check(res: (i16, Option<String>), expect: ErrorCode, mentions: &str) {
        assert_eq!(res.0, expect.code(), "{res:?}");
        let message = res.1.unwrap_or_default();
        assert!(
            message.contains(mentions),
            "{message:?} should mention {mentions:?}"
        );
    }
    let topic = (TOPIC, "inc-errors");
    let res = incremental_alter(
        &mut client,
        1,
        topic,
        &[("retention.ms", SET, Some("-7"))],
        false,
    )
    .await;
    check(res, ErrorCode::InvalidConfig, "retention.ms");
    let res = incremental_alter(
        &mut client,
        1,
        topic,
        &[("no.such.key", SET, Some("1"))],
        false,
    )
    .await;
    check(res, ErrorCode::InvalidConfig, "no.such.key");
    let res = incremental_alter(
        &mut client,
        1,
        topic,
        &[("retention.ms", APPEND, Some("1"))],
        false,
    )
    .await;
    check(res, ErrorCode::InvalidConfig, "retention.ms");
    let res = incremental_alter(&mut client, 1, topic, &[("retention.ms", SET, None)], false).await;
    check(res, ErrorCode::InvalidRequest, "null");
    let res = incremental_alter(
        &mut client,
        1,
        topic,
        &[("retention.ms", 9, Some("1"))],
        false,
    )
    .await;
    check(res, ErrorCode::InvalidRequest, "operation");
    let ops = [
        ("retention.ms", SET, Some("1")),
        ("retention.ms", DELETE, None),
    ];
    let res = incremental_alter(&mut client, 1, topic, &ops, false).await;
    check(res, ErrorCode::InvalidRequest, "retention.ms");
    let res = incremental_alter(
        &mut client,
        1,
        (TOPIC, "missing"),
        &[("retention.ms", SET, Some("1"))],
        false,
    )
    .await;
    check(res, ErrorCode::UnknownTopicOrPartition, "missing");
    let res = incremental_alter(
        &mut client,
        1,
        (BROKER, "1"),
        &[("log.retention.hours", SET, Some("1"))],
        false,
    )
    .await;
    check(
        res,
        ErrorCode::InvalidRequest,
        "dynamic broker configs are not supported",
    );
    let res = incremental_alter(
        &mut client,
        1,
        (BROKER, "3"),
        &[("log.retention.hours", SET, Some("1"))],
        false,
    )
    .await;
    check(res, ErrorCode::InvalidRequest, "broker id");
    assert_eq!(
        topic_config(&mut client, "inc-errors", "retention.ms")
            .await
            .1,
        5
    );
}

/// A lower max.message.bytes applies to the very next produce.
#[tokio::test]
async fn max_message_bytes_change_takes_effect_live() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("live", 1).await;
    let big = "x".repeat(3000);
    let produced = client.produce("live", 0, batch(&[&big], recent())).await;
    assert_eq!(produced.error_code, 0);
    let ops = [("max.message.bytes", SET, Some("1000"))];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "live"), &ops, false)
            .await
            .0,
        0
    );
    let produced = client.produce("live", 0, batch(&[&big], recent())).await;
    assert_eq!(produced.error_code, ErrorCode::MessageTooLarge.code());
    let produced = client.produce("live", 0, batch(&["small"], recent())).await;
    assert_eq!(produced.error_code, 0);
    let ops = [("max.message.bytes", DELETE, None)];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "live"), &ops, false)
            .await
            .0,
        0
    );
    let produced = client.produce("live", 0, batch(&[&big], recent())).await;
    assert_eq!(produced.error_code, 0);
}

/// A shorter retention.ms makes the next retention pass delete old segments, and a smaller
/// segment.bytes rolls the partition's active segment sooner.
#[tokio::test]
async fn retention_change_takes_effect_live() {
    let broker = TestBroker::start(&[("log.retention.check.interval.ms", "50")]).await;
    let mut client = broker.client().await;
    create_with_configs(&mut client, "retained", &[("segment.bytes", "1024")]).await;
    let value = "v".repeat(600);
    for _ in 0..6 {
        let produced = client
            .produce("retained", 0, batch(&[&value], recent()))
            .await;
        assert_eq!(produced.error_code, 0);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.list_offset("retained", 0, -2).await.offset, 0);
    let ops = [("retention.ms", SET, Some("1000"))];
    assert_eq!(
        incremental_alter(&mut client, 1, (TOPIC, "retained"), &ops, false)
            .await
            .0,
        0
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let earliest = client.list_offset("retained", 0, -2).await.offset;
        if earliest > 0 {
            assert!(earliest <= 6);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "retention never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- DeleteRecords ----

async fn delete_records(
    client: &mut Client,
    version: i16,
    topic: &str,
    partitions: &[(i32, i64)],
) -> Vec<(i32, i64, i16)> {
    let request = DeleteRecordsRequest {
        topics: vec![DeleteRecordsTopic {
            name: topic.to_owned(),
            partitions: partitions
                .iter()
                .map(|(partition_index, offset)| DeleteRecordsPartition {
                    partition_index: *partition_index,
                    offset: *offset,
                    ..DeleteRecordsPartition::default()
                })
                .collect(),
            ..DeleteRecordsTopic::default()
        }],
        timeout_ms: 10_000,
        ..DeleteRecordsRequest::default()
    };
    let Response::DeleteRecords(mut response) = client.send(version, request).await else {
        panic!("not a DeleteRecords response");
    };
    let topic_result = response.topics.remove(0);
    assert_eq!(topic_result.name, topic);
    topic_result
        .partitions
        .iter()
        .map(|partition| {
            (
                partition.partition_index,
                partition.low_watermark,
                partition.error_code,
            )
        })
        .collect()
}

#[tokio::test]
async fn delete_records_moves_the_log_start() {
    let mut broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    for version in versions(ApiKey::DeleteRecords) {
        let name = format!("trimmed-{version}");
        client.create_topic(&name, 2).await;
        for value in ["a", "b", "c", "d", "e"] {
            assert_eq!(
                client
                    .produce(&name, 0, batch(&[value], recent()))
                    .await
                    .error_code,
                0
            );
        }
        let res = delete_records(&mut client, version, &name, &[(0, 3), (1, -1)]).await;
        assert_eq!(res, [(0, 3, 0), (1, 0, 0)]);
        assert_eq!(client.list_offset(&name, 0, -2).await.offset, 3);
        let fetched = client.fetch(&name, 0, 0, 0, 1).await;
        assert_eq!(fetched.error_code, ErrorCode::OffsetOutOfRange.code());
        let fetched = client.fetch(&name, 0, 3, 0, 1).await;
        assert_eq!(fetched.log_start_offset, 3);
        // Lower than the log start: nothing changes.
        let res = delete_records(&mut client, version, &name, &[(0, 1)]).await;
        assert_eq!(res, [(0, 3, 0)]);
        let res = delete_records(&mut client, version, &name, &[(0, -1)]).await;
        assert_eq!(res, [(0, 5, 0)]);
    }
    broker.restart().await;
    let mut client = broker.client().await;
    assert_eq!(client.list_offset("trimmed-0", 0, -2).await.offset, 5);
}

#[tokio::test]
async fn delete_records_errors() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("few", 1).await;
    assert_eq!(
        client
            .produce("few", 0, batch(&["a", "b"], recent()))
            .await
            .error_code,
        0
    );
    let res = delete_records(&mut client, 2, "few", &[(0, 3), (0, -5), (4, 1), (-1, 1)]).await;
    let out_of_range = ErrorCode::OffsetOutOfRange.code();
    let unknown = ErrorCode::UnknownTopicOrPartition.code();
    assert_eq!(
        res,
        [
            (0, -1, out_of_range),
            (0, -1, out_of_range),
            (4, -1, unknown),
            (-1, -1, unknown)
        ]
    );
    let res = delete_records(&mut client, 2, "missing", &[(0, 1)]).await;
    assert_eq!(res, [(0, -1, unknown)]);
    create_with_configs(&mut client, "compacted", &[("cleanup.policy", "compact")]).await;
    let res = delete_records(&mut client, 2, "compacted", &[(0, 0)]).await;
    assert_eq!(res, [(0, -1, ErrorCode::PolicyViolation.code())]);
    assert_eq!(client.list_offset("few", 0, -2).await.offset, 0);
}

// ---- DescribeCluster ----

#[tokio::test]
async fn describe_cluster_lists_this_broker() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let Response::Metadata(metadata) = client.send(12, MetadataRequest::default()).await else {
        panic!("not a Metadata response");
    };
    for version in versions(ApiKey::DescribeCluster) {
        for include_operations in [false, true] {
            let request = DescribeClusterRequest {
                include_cluster_authorized_operations: include_operations,
                ..DescribeClusterRequest::default()
            };
            let Response::DescribeCluster(response) = client.send(version, request).await else {
                panic!("not a DescribeCluster response");
            };
            assert_eq!(response.error_code, 0);
            assert_eq!(Some(response.cluster_id.clone()), metadata.cluster_id);
            assert_eq!(response.controller_id, 1);
            assert_eq!(response.endpoint_type, 1);
            let brokers: Vec<(i32, &str, i32, Option<&str>)> = response
                .brokers
                .iter()
                .map(|b| (b.broker_id, b.host.as_str(), b.port, b.rack.as_deref()))
                .collect();
            assert_eq!(
                brokers,
                [(1, "127.0.0.1", i32::from(broker.addr().port()), None)]
            );
            let operations = response.cluster_authorized_operations;
            if include_operations {
                assert_ne!(operations & (1 << 10), 0, "DESCRIBE_CONFIGS");
                assert_ne!(operations & (1 << 11), 0, "ALTER_CONFIGS");
                assert!(operations > 0);
            } else {
                assert_eq!(operations, i32::MIN);
            }
        }
    }
    for (endpoint_type, expect) in [
        (2, ErrorCode::MismatchedEndpointType),
        (9, ErrorCode::UnsupportedEndpointType),
    ] {
        let request = DescribeClusterRequest {
            endpoint_type,
            ..DescribeClusterRequest::default()
        };
        let Response::DescribeCluster(response) = client.send(1, request).await else {
            panic!("not a DescribeCluster response");
        };
        assert_eq!(response.error_code, expect.code());
        assert!(response.error_message.is_some());
        assert!(response.brokers.is_empty());
    }
}
