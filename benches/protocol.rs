//! Criterion benchmarks for strom-protocol: decoding and encoding a Produce request carrying
//! 1 MiB of records (whose bytes are never copied) and a Metadata response for 1,000 partitions.

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strom_protocol::messages::metadata::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use strom_protocol::messages::produce::{PartitionProduceData, ProduceRequest, TopicProduceData};
use strom_protocol::{
    ApiKey, Request, RequestHeader, Response, decode_request, decode_response, encode_request,
    encode_response, split_frame,
};

const PRODUCE_VERSION: i16 = 9;
const METADATA_VERSION: i16 = 12;

fn produce_request() -> Request {
    Request::from(ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: "events".to_owned(),
            partition_data: vec![PartitionProduceData {
                index: 0,
                records: Some(Bytes::from(vec![0x5a; 1 << 20])),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn metadata_response() -> Response {
    let brokers = (0..3)
        .map(|node_id| MetadataResponseBroker {
            node_id,
            host: "127.0.0.1".to_owned(),
            port: 9092 + node_id,
            ..Default::default()
        })
        .collect();
    let topics = (0..10)
        .map(|topic| MetadataResponseTopic {
            name: Some(format!("topic-{topic}")),
            partitions: (0..100)
                .map(|partition| MetadataResponsePartition {
                    partition_index: partition,
                    leader_id: partition % 3,
                    leader_epoch: 7,
                    replica_nodes: vec![0, 1, 2],
                    isr_nodes: vec![0, 1, 2],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    Response::from(MetadataResponse {
        brokers,
        cluster_id: Some("strom".to_owned()),
        controller_id: 0,
        topics,
        ..Default::default()
    })
}

fn produce(c: &mut Criterion) {
    let request = produce_request();
    let header = RequestHeader::new(ApiKey::Produce, PRODUCE_VERSION, 1);
    let mut buf = BytesMut::new();
    encode_request(&header, &request, &mut buf).expect("a valid request encodes");
    let frame = split_frame(&mut buf, u32::MAX)
        .expect("valid size")
        .expect("complete frame");
    let mut group = c.benchmark_group("produce_1mib");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| decode_request(frame.clone()).expect("decodes"))
    });
    group.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(frame.len() + 64);
        b.iter(|| {
            out.clear();
            encode_request(&header, &request, &mut out).expect("encodes");
        })
    });
    group.finish();
}

fn metadata(c: &mut Criterion) {
    let response = metadata_response();
    let mut buf = BytesMut::new();
    encode_response(1, METADATA_VERSION, &response, &mut buf).expect("a valid response encodes");
    let frame = split_frame(&mut buf, u32::MAX)
        .expect("valid size")
        .expect("complete frame");
    let mut group = c.benchmark_group("metadata_1000_partitions");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            decode_response(frame.clone(), ApiKey::Metadata, METADATA_VERSION).expect("decodes")
        })
    });
    group.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(frame.len() + 64);
        b.iter(|| {
            out.clear();
            encode_response(1, METADATA_VERSION, &response, &mut out).expect("encodes");
        })
    });
    group.finish();
}

criterion_group!(benches, produce, metadata);
criterion_main!(benches);
