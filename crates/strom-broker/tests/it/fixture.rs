//! An in-process broker on 127.0.0.1:0 with a temporary data directory, and a minimal client
//! that sends strom-protocol-encoded requests over TCP and decodes the responses.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, RunningBroker};
use strom_protocol::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use strom_protocol::messages::fetch::{FetchPartition, FetchRequest, FetchTopic, PartitionData};
use strom_protocol::messages::list_offsets::{
    ListOffsetsPartition, ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsTopic,
};
use strom_protocol::messages::produce::{
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, TopicProduceData,
};
use strom_protocol::{Request, RequestHeader, Response, decode_response, encode_request};
use strom_record::{BatchBuilder, BatchConfig, Timestamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A broker running in this process, with its data directory.
pub struct TestBroker {
    pub dir: tempfile::TempDir,
    overrides: Vec<(String, String)>,
    running: Option<RunningBroker>,
}

impl TestBroker {
    /// Starts a broker with `overrides` on top of the test defaults.
    pub async fn start(overrides: &[(&str, &str)]) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![
            ("listeners".to_owned(), "PLAINTEXT://127.0.0.1:0".to_owned()),
            (
                "log.dirs".to_owned(),
                dir.path().join("data").display().to_string(),
            ),
            ("num.partitions".to_owned(), "1".to_owned()),
        ];
        all.extend(
            overrides
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
        );
        let mut res = TestBroker {
            dir,
            overrides: all,
            running: None,
        };
        res.boot().await;
        res
    }

    async fn boot(&mut self) {
        let sources = Sources {
            overrides: self.overrides.clone(),
            ..Sources::default()
        };
        let config = BrokerConfig::load(&sources).unwrap().config;
        self.running = Some(Broker::start(config).await.unwrap());
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.running.as_ref().unwrap().local_addr()
    }

    /// The running broker.
    pub fn broker(&self) -> &std::sync::Arc<Broker> {
        self.running.as_ref().unwrap().broker()
    }

    /// A new client connection.
    pub async fn client(&self) -> Client {
        Client::connect(self.addr()).await
    }

    /// Shuts down cleanly and starts again on the same data directory.
    pub async fn restart(&mut self) {
        self.running.take().unwrap().shutdown().await.unwrap();
        self.boot().await;
    }
}

/// A connection speaking the Kafka protocol.
pub struct Client {
    pub stream: TcpStream,
    correlation_id: i32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client {
            stream: TcpStream::connect(addr).await.unwrap(),
            correlation_id: 0,
        }
    }

    /// Sends `request` at `version` and returns the decoded response.
    pub async fn send(&mut self, version: i16, request: impl Into<Request>) -> Response {
        let request = request.into();
        let api_key = request.api_key();
        self.write(version, &request).await;
        let frame = self
            .read_frame()
            .await
            .expect("the broker closed the connection");
        let (header, response) = decode_response(frame, api_key, version).unwrap();
        assert_eq!(header.correlation_id, self.correlation_id);
        response
    }

    /// Sends `request` without waiting for an answer.
    pub async fn write(&mut self, version: i16, request: &Request) {
        self.correlation_id += 1;
        let mut header = RequestHeader::new(request.api_key(), version, self.correlation_id);
        header.client_id = Some("strom-test".to_owned());
        let mut buf = BytesMut::new();
        encode_request(&header, request, &mut buf).unwrap();
        self.stream.write_all(&buf).await.unwrap();
    }

    /// Reads one frame (without its size prefix); `None` when the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await.ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Bytes::from(body))
    }

    /// Whether the broker closes the connection within a few seconds.
    pub async fn is_closed_by_broker(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_elapsed) => return false,
            }
        }
    }

    pub async fn create_topic(&mut self, name: &str, partitions: i32) {
        let response = self
            .send(
                7,
                CreateTopicsRequest {
                    topics: vec![CreatableTopic {
                        name: name.to_owned(),
                        num_partitions: partitions,
                        replication_factor: 1,
                        ..CreatableTopic::default()
                    }],
                    ..CreateTopicsRequest::default()
                },
            )
            .await;
        let Response::CreateTopics(response) = response else {
            panic!("not a CreateTopics response");
        };
        assert_eq!(response.topics[0].error_code, 0, "{response:?}");
    }

    /// Produces `records` (one batch's bytes) with `acks=-1` at version 9.
    pub async fn produce(
        &mut self,
        topic: &str,
        partition: i32,
        records: Bytes,
    ) -> PartitionProduceResponse {
        let response = self
            .send(9, produce_request(topic, partition, records, -1))
            .await;
        let Response::Produce(mut response) = response else {
            panic!("not a Produce response");
        };
        response.responses.remove(0).partition_responses.remove(0)
    }

    /// Fetches one partition at version 12.
    pub async fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_wait_ms: i32,
        min_bytes: i32,
    ) -> PartitionData {
        let response = self
            .send(
                12,
                fetch_request(topic, partition, offset, max_wait_ms, min_bytes),
            )
            .await;
        let Response::Fetch(mut response) = response else {
            panic!("not a Fetch response");
        };
        assert_eq!(response.error_code, 0);
        response.responses.remove(0).partitions.remove(0)
    }

    /// ListOffsets for one partition at version 7.
    pub async fn list_offset(
        &mut self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> ListOffsetsPartitionResponse {
        let request = ListOffsetsRequest {
            replica_id: -1,
            topics: vec![ListOffsetsTopic {
                name: topic.to_owned(),
                partitions: vec![ListOffsetsPartition {
                    partition_index: partition,
                    timestamp,
                    ..ListOffsetsPartition::default()
                }],
                ..ListOffsetsTopic::default()
            }],
            ..ListOffsetsRequest::default()
        };
        let Response::ListOffsets(mut response) = self.send(7, request).await else {
            panic!("not a ListOffsets response");
        };
        response.topics.remove(0).partitions.remove(0)
    }
}

pub fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest {
        acks,
        timeout_ms: 30_000,
        topic_data: vec![TopicProduceData {
            name: topic.to_owned(),
            partition_data: vec![PartitionProduceData {
                index: partition,
                records: Some(records),
                ..PartitionProduceData::default()
            }],
            ..TopicProduceData::default()
        }],
        ..ProduceRequest::default()
    }
}

pub fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest {
        replica_id: -1,
        max_wait_ms,
        min_bytes,
        max_bytes: 50 << 20,
        session_epoch: -1,
        topics: vec![FetchTopic {
            topic: topic.to_owned(),
            partitions: vec![FetchPartition {
                partition,
                fetch_offset: offset,
                partition_max_bytes: 1 << 20,
                ..FetchPartition::default()
            }],
            ..FetchTopic::default()
        }],
        ..FetchRequest::default()
    }
}

/// A batch of `values`, record `i` with timestamp `first_timestamp + i`.
pub fn batch(values: &[&str], first_timestamp: i64) -> Bytes {
    batch_with(BatchConfig::default(), values, first_timestamp)
}

/// A batch of `values` with the given producer fields.
pub fn batch_with(config: BatchConfig, values: &[&str], first_timestamp: i64) -> Bytes {
    let mut builder = BatchBuilder::new(config);
    for (index, value) in values.iter().enumerate() {
        builder.push(
            Timestamp(first_timestamp + index as i64),
            Some(Bytes::from(format!("key-{index}"))),
            Some(Bytes::copy_from_slice(value.as_bytes())),
            Vec::new(),
        );
    }
    builder.build().unwrap().into_bytes()
}

/// The values of the records in fetched bytes, with their offsets.
pub fn values(records: &[u8]) -> Vec<(u64, String)> {
    strom_record::records_of(records, strom_record::DecodeLimits::default())
        .unwrap()
        .into_iter()
        .map(|record| {
            let value = record
                .value
                .map(|value| String::from_utf8(value.to_vec()).unwrap());
            (record.offset.0, value.unwrap_or_default())
        })
        .collect()
}

/// A recent timestamp (the broker refuses records more than an hour in the future).
pub fn recent() -> i64 {
    strom_broker::now().0 - 60_000
}

/// The ISR of partition 0 of `topic` in the broker's metadata image.
pub fn isr(broker: &TestBroker, topic: &str) -> Vec<i32> {
    let image = broker.broker().image();
    let partition = image
        .partition(topic, strom_metadata::PartitionIndex(0))
        .unwrap();
    partition.isr.iter().map(|member| member.0).collect()
}

/// Waits (at most 10 s) until the ISR of partition 0 of `topic` is `expect`.
pub async fn wait_for_isr(broker: &TestBroker, topic: &str, expect: &[i32]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while isr(broker, topic) != expect {
        assert!(
            tokio::time::Instant::now() < deadline,
            "isr stayed {:?}, expected {expect:?}",
            isr(broker, topic)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fetch of partition 0 of `topic` by replica 2 (the follower the test plays) at `offset`.
pub async fn follower_fetch(client: &mut Client, topic: &str, offset: i64) -> PartitionData {
    let mut request = fetch_request(topic, 0, offset, 0, 0);
    request.replica_id = 2;
    let Response::Fetch(mut response) = client.send(12, request).await else {
        panic!("not a Fetch response");
    };
    response.responses.remove(0).partitions.remove(0)
}
