//! ApiVersions: every supported version lists exactly the advertised APIs, and an unsupported
//! version gets Kafka's v0 error answer, byte for byte.

use bytes::{BufMut, BytesMut};
use strom_broker::dispatch::ADVERTISED;
use strom_protocol::messages::api_versions::ApiVersionsRequest;
use strom_protocol::{ApiKey, ErrorCode, Response};
use tokio::io::AsyncWriteExt;

use crate::fixture::TestBroker;

#[tokio::test]
async fn every_version_lists_the_advertised_apis() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    for version in 0..=4 {
        let Response::ApiVersions(response) =
            client.send(version, ApiVersionsRequest::default()).await
        else {
            panic!("not an ApiVersions response");
        };
        assert_eq!(response.error_code, 0);
        let keys: Vec<i16> = response.api_keys.iter().map(|api| api.api_key).collect();
        let expected: Vec<i16> = ADVERTISED.iter().map(|api| api.code()).collect();
        assert_eq!(keys, expected, "version {version}");
        for api in &response.api_keys {
            let api_key = ApiKey::try_from(api.api_key).unwrap();
            assert_eq!(api.min_version, api_key.supported_versions().min);
            assert_eq!(api.max_version, api_key.supported_versions().max);
        }
    }
}

#[tokio::test]
async fn unsupported_version_gets_the_v0_error_reply() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let mut request = BytesMut::new();
    request.put_i32(10);
    request.put_i16(ApiKey::ApiVersions.code());
    request.put_i16(77);
    request.put_i32(4242);
    request.put_i16(-1); // null client id
    client.stream.write_all(&request).await.unwrap();
    let frame = client.read_frame().await.unwrap();

    let mut expected = BytesMut::new();
    expected.put_i32(4242); // response header v0: correlation id only
    expected.put_i16(ErrorCode::UnsupportedVersion.code());
    expected.put_i32(ADVERTISED.len() as i32);
    for api_key in ADVERTISED {
        expected.put_i16(api_key.code());
        expected.put_i16(api_key.supported_versions().min);
        expected.put_i16(api_key.supported_versions().max);
    }
    assert_eq!(&frame[..], &expected[..]);

    // The connection stays usable, as with Kafka.
    let response = client.send(3, ApiVersionsRequest::default()).await;
    assert!(matches!(response, Response::ApiVersions(r) if r.error_code == 0));
}
