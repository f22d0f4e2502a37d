//! Version negotiation against a fake broker that supports only old versions: the client must
//! fall back on UNSUPPORTED_VERSION the way librdkafka does and then use the highest common
//! version of each API.

use std::sync::{Arc, Mutex};

use strom_client::{ClientConfig, Connection, Error};
use strom_protocol::messages::api_versions::{ApiVersion, ApiVersionsResponse};
use strom_protocol::messages::metadata::MetadataResponse;
use strom_protocol::{ApiKey, ErrorCode, Request, Response};

use crate::fake_broker::FakeBroker;

fn entry(api_key: ApiKey, min_version: i16, max_version: i16) -> ApiVersion {
    ApiVersion {
        api_key: api_key.code(),
        min_version,
        max_version,
        ..ApiVersion::default()
    }
}

/// A broker that knows ApiVersions 0..=2 and Metadata 0..=5, and records the versions it saw.
async fn old_broker(seen: Arc<Mutex<Vec<(ApiKey, i16)>>>) -> FakeBroker {
    let table = vec![
        entry(ApiKey::ApiVersions, 0, 2),
        entry(ApiKey::Metadata, 0, 5),
    ];
    FakeBroker::start(Box::new(move |header, _request| {
        seen.lock()
            .unwrap()
            .push((header.api_key, header.api_version));
        match header.api_key {
            ApiKey::ApiVersions if header.api_version > 2 => {
                // Kafka's answer to an unknown ApiVersions version: a v0 error response.
                let response = ApiVersionsResponse {
                    error_code: ErrorCode::UnsupportedVersion.code(),
                    api_keys: table.clone(),
                    ..ApiVersionsResponse::default()
                };
                vec![(header.correlation_id, 0, Response::from(response))]
            }
            ApiKey::ApiVersions => {
                let response = ApiVersionsResponse {
                    api_keys: table.clone(),
                    ..ApiVersionsResponse::default()
                };
                vec![(
                    header.correlation_id,
                    header.api_version,
                    Response::from(response),
                )]
            }
            _ => {
                let response = MetadataResponse::default();
                vec![(
                    header.correlation_id,
                    header.api_version,
                    Response::from(response),
                )]
            }
        }
    }))
    .await
}

#[tokio::test]
async fn falls_back_to_the_versions_an_old_broker_supports() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let broker = old_broker(seen.clone()).await;
    let connection = Connection::connect(&broker.addr.to_string(), &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(connection.version_for(ApiKey::Metadata).unwrap(), 5);
    assert!(matches!(
        connection.version_for(ApiKey::Produce),
        Err(Error::UnsupportedApi(ApiKey::Produce))
    ));
    let response = connection
        .send(Request::from(
            strom_protocol::messages::metadata::MetadataRequest::default(),
        ))
        .await
        .unwrap();
    assert!(matches!(response, Response::Metadata(_)));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (ApiKey::ApiVersions, 4),
            (ApiKey::ApiVersions, 2),
            (ApiKey::Metadata, 5)
        ]
    );
}

#[tokio::test]
async fn a_request_the_broker_cannot_take_fails_without_being_sent() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let broker = old_broker(seen.clone()).await;
    let connection = Connection::connect(&broker.addr.to_string(), &ClientConfig::default())
        .await
        .unwrap();
    let res = connection
        .send(strom_protocol::messages::init_producer_id::InitProducerIdRequest::default())
        .await;
    assert!(matches!(
        res,
        Err(Error::UnsupportedApi(ApiKey::InitProducerId))
    ));
    assert!(!res.unwrap_err().is_retriable());
    assert_eq!(seen.lock().unwrap().len(), 2);
}
