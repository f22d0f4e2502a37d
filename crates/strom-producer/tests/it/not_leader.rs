//! A batch answered with NOT_LEADER_OR_FOLLOWER is retried after a metadata refresh, against a
//! scripted fake broker (the in-process broker never moves leaders).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_protocol::messages::api_versions::ApiVersionsResponse;
use strom_protocol::messages::init_producer_id::InitProducerIdResponse;
use strom_protocol::messages::metadata::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use strom_protocol::messages::produce::{
    PartitionProduceResponse, ProduceResponse, TopicProduceResponse,
};
use strom_protocol::{
    ApiKey, ErrorCode, Request, Response, api_versions_table, decode_request, encode_response,
    split_frame,
};
use strom_record::Offset;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Requests seen by the fake broker, by kind.
#[derive(Default)]
struct Seen {
    metadata: AtomicUsize,
    produce: AtomicUsize,
}

fn answer(request: &Request, port: i32, seen: &Seen) -> Response {
    match request {
        Request::ApiVersions(_) => Response::from(ApiVersionsResponse {
            api_keys: api_versions_table(ApiKey::all()),
            ..ApiVersionsResponse::default()
        }),
        Request::Metadata(_) => {
            seen.metadata.fetch_add(1, Ordering::SeqCst);
            Response::from(MetadataResponse {
                brokers: vec![MetadataResponseBroker {
                    node_id: 1,
                    host: "127.0.0.1".to_owned(),
                    port,
                    ..MetadataResponseBroker::default()
                }],
                topics: vec![MetadataResponseTopic {
                    name: Some("t".to_owned()),
                    partitions: vec![MetadataResponsePartition {
                        partition_index: 0,
                        leader_id: 1,
                        ..MetadataResponsePartition::default()
                    }],
                    ..MetadataResponseTopic::default()
                }],
                ..MetadataResponse::default()
            })
        }
        Request::InitProducerId(_) => Response::from(InitProducerIdResponse {
            producer_id: 42,
            ..InitProducerIdResponse::default()
        }),
        Request::Produce(_) => {
            // The first attempt lands on a broker that just lost leadership.
            let attempt = seen.produce.fetch_add(1, Ordering::SeqCst);
            let error_code = if attempt == 0 {
                ErrorCode::NotLeaderOrFollower.code()
            } else {
                0
            };
            Response::from(ProduceResponse {
                responses: vec![TopicProduceResponse {
                    name: "t".to_owned(),
                    partition_responses: vec![PartitionProduceResponse {
                        index: 0,
                        error_code,
                        base_offset: if attempt == 0 { -1 } else { 7 },
                        ..PartitionProduceResponse::default()
                    }],
                    ..TopicProduceResponse::default()
                }],
                ..ProduceResponse::default()
            })
        }
        other => panic!("unexpected request {:?}", other.api_key()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_refreshes_metadata_and_retries() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = i32::from(listener.local_addr().unwrap().port());
    let seen = Arc::new(Seen::default());
    let seen_by_broker = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen_by_broker.clone();
            tokio::spawn(async move {
                let mut buf = BytesMut::new();
                loop {
                    while let Some(frame) = split_frame(&mut buf, 1 << 20).unwrap() {
                        let (header, request) = decode_request(frame).unwrap();
                        let response = answer(&request, port, &seen);
                        let mut out = BytesMut::new();
                        encode_response(
                            header.correlation_id,
                            header.api_version,
                            &response,
                            &mut out,
                        )
                        .unwrap();
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                    match stream.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            });
        }
    });

    let mut config = ProducerConfig::bootstrap(format!("127.0.0.1:{port}"));
    config.client.retry_backoff = Duration::from_millis(10);
    let producer = Producer::new(config).await.unwrap();
    let metadata = producer
        .send(ProducerRecord::new("t", "v").with_partition(0))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(metadata.offset, Some(Offset(7)));
    assert_eq!(seen.produce.load(Ordering::SeqCst), 2, "retried once");
    // Bootstrap (this fake lists the topic unasked, so no lookup follows) and the refresh
    // NOT_LEADER_OR_FOLLOWER asked for.
    assert_eq!(seen.metadata.load(Ordering::SeqCst), 2);
    producer.close().await.unwrap();
}
