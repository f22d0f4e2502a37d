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

/// The golden frame files, for other tests that replay them.
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
