//! Golden bytes: request frames captured from real clients (see `golden/README.md`) decode to
//! the values we expect, and re-encode to exactly the captured bytes.

use bytes::{Bytes, BytesMut};
use expect_test::{Expect, expect};
use strom_protocol::{decode_request, encode_request};

/// Reads a golden frame from `tests/it/golden/`.
pub fn golden_frame(name: &str) -> Bytes {
    let path = format!("{}/tests/it/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text.trim();
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect();
    Bytes::from(bytes)
}

/// The golden frame files that are also seeds of the fuzz corpus, for the tests that replay them.
/// The group frames (FindCoordinator, JoinGroup) are checked below but are not seeds yet.
pub const GOLDEN_FRAMES: &[&str] = &[
    "kcat-api-versions-v3.hex",
    "kcat-metadata-v4.hex",
    "confluent-kafka-api-versions-v3.hex",
    "confluent-kafka-metadata-v12.hex",
    "kafka-python-api-versions-v4.hex",
    "kafka-python-metadata-v12.hex",
];

#[track_caller]
fn check(name: &str, expect: Expect) {
    let frame = golden_frame(name);
    let (header, request) = decode_request(frame.clone()).unwrap();
    expect.assert_debug_eq(&(&header, &request));
    let mut buf = BytesMut::new();
    encode_request(&header, &request, &mut buf).unwrap();
    assert_eq!(&buf[4..], &frame[..], "re-encoding differs");
}

#[test]
fn kcat_api_versions_v3() {
    check(
        "kcat-api-versions-v3.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: ApiVersions,
                api_version: 3,
                correlation_id: 1,
                client_id: Some(
                    "rdkafka",
                ),
                unknown_tagged_fields: [],
            },
            ApiVersions(
                ApiVersionsRequest {
                    client_software_name: "librdkafka",
                    client_software_version: "2.0.2",
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn kcat_metadata_v4() {
    check(
        "kcat-metadata-v4.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: Metadata,
                api_version: 4,
                correlation_id: 2,
                client_id: Some(
                    "rdkafka",
                ),
                unknown_tagged_fields: [],
            },
            Metadata(
                MetadataRequest {
                    topics: Some(
                        [],
                    ),
                    allow_auto_topic_creation: false,
                    include_cluster_authorized_operations: false,
                    include_topic_authorized_operations: false,
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn confluent_kafka_api_versions_v3() {
    check(
        "confluent-kafka-api-versions-v3.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: ApiVersions,
                api_version: 3,
                correlation_id: 1,
                client_id: Some(
                    "rdkafka",
                ),
                unknown_tagged_fields: [],
            },
            ApiVersions(
                ApiVersionsRequest {
                    client_software_name: "confluent-kafka-python",
                    client_software_version: "2.16.1-rdkafka-2.16.0",
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn confluent_kafka_metadata_v12() {
    check(
        "confluent-kafka-metadata-v12.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: Metadata,
                api_version: 12,
                correlation_id: 2,
                client_id: Some(
                    "rdkafka",
                ),
                unknown_tagged_fields: [],
            },
            Metadata(
                MetadataRequest {
                    topics: Some(
                        [],
                    ),
                    allow_auto_topic_creation: false,
                    include_cluster_authorized_operations: false,
                    include_topic_authorized_operations: false,
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn kafka_python_api_versions_v4() {
    check(
        "kafka-python-api-versions-v4.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: ApiVersions,
                api_version: 4,
                correlation_id: 1,
                client_id: Some(
                    "kafka-python-3.0.12",
                ),
                unknown_tagged_fields: [],
            },
            ApiVersions(
                ApiVersionsRequest {
                    client_software_name: "kafka-python",
                    client_software_version: "3.0.12",
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn kafka_python_metadata_v12() {
    check(
        "kafka-python-metadata-v12.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: Metadata,
                api_version: 12,
                correlation_id: 2,
                client_id: Some(
                    "kafka-python-3.0.12",
                ),
                unknown_tagged_fields: [],
            },
            Metadata(
                MetadataRequest {
                    topics: Some(
                        [],
                    ),
                    allow_auto_topic_creation: true,
                    include_cluster_authorized_operations: false,
                    include_topic_authorized_operations: false,
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn confluent_kafka_find_coordinator_v2() {
    check(
        "confluent-kafka-find-coordinator-v2.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: FindCoordinator,
                api_version: 2,
                correlation_id: 3,
                client_id: Some(
                    "golden",
                ),
                unknown_tagged_fields: [],
            },
            FindCoordinator(
                FindCoordinatorRequest {
                    key: "golden-group",
                    key_type: 0,
                    coordinator_keys: [],
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn confluent_kafka_join_group_v5() {
    check(
        "confluent-kafka-join-group-v5.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: JoinGroup,
                api_version: 5,
                correlation_id: 3,
                client_id: Some(
                    "golden",
                ),
                unknown_tagged_fields: [],
            },
            JoinGroup(
                JoinGroupRequest {
                    group_id: "golden-group",
                    session_timeout_ms: 10000,
                    rebalance_timeout_ms: 300000,
                    member_id: "",
                    group_instance_id: None,
                    protocol_type: "consumer",
                    protocols: [
                        JoinGroupRequestProtocol {
                            name: "range",
                            metadata: b"\0\x03\0\0\0\x01\0\x0cgolden-topic\0\0\0\0\0\0\0\0\xff\xff\xff\xff\0\0",
                            unknown_tagged_fields: [],
                        },
                        JoinGroupRequestProtocol {
                            name: "roundrobin",
                            metadata: b"\0\x03\0\0\0\x01\0\x0cgolden-topic\0\0\0\0\0\0\0\0\xff\xff\xff\xff\0\0",
                            unknown_tagged_fields: [],
                        },
                    ],
                    reason: None,
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn kafka_python_find_coordinator_v6() {
    check(
        "kafka-python-find-coordinator-v6.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: FindCoordinator,
                api_version: 6,
                correlation_id: 2,
                client_id: Some(
                    "golden",
                ),
                unknown_tagged_fields: [],
            },
            FindCoordinator(
                FindCoordinatorRequest {
                    key: "",
                    key_type: 0,
                    coordinator_keys: [
                        "golden-group",
                    ],
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}

#[test]
fn kafka_python_join_group_v7() {
    check(
        "kafka-python-join-group-v7.hex",
        expect![[r#"
        (
            RequestHeader {
                api_key: JoinGroup,
                api_version: 7,
                correlation_id: 2,
                client_id: Some(
                    "golden",
                ),
                unknown_tagged_fields: [],
            },
            JoinGroup(
                JoinGroupRequest {
                    group_id: "golden-group",
                    session_timeout_ms: 45000,
                    rebalance_timeout_ms: 300000,
                    member_id: "",
                    group_instance_id: None,
                    protocol_type: "consumer",
                    protocols: [
                        JoinGroupRequestProtocol {
                            name: "range",
                            metadata: b"\0\0\0\0\0\x01\0\x0cgolden-topic\0\0\0\0",
                            unknown_tagged_fields: [],
                        },
                        JoinGroupRequestProtocol {
                            name: "roundrobin",
                            metadata: b"\0\0\0\0\0\x01\0\x0cgolden-topic\0\0\0\0",
                            unknown_tagged_fields: [],
                        },
                    ],
                    reason: None,
                    unknown_tagged_fields: [],
                },
            ),
        )
    "#]],
    );
}
