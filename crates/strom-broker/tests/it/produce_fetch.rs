//! Produce and fetch through the wire: round trips, long polls woken by appends, timeouts,
//! fetches from the middle of a batch, ListOffsets, and a restart keeping topics and records.

use std::time::{Duration, Instant};

use strom_protocol::ErrorCode;
use strom_protocol::Response;
use strom_protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic};

use crate::fixture::{Client, TestBroker, batch, recent, values};

#[tokio::test]
async fn produce_then_fetch_round_trip() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 2).await;
    let first = client
        .produce("events", 1, batch(&["a", "b", "c"], recent()))
        .await;
    assert_eq!(
        (first.error_code, first.base_offset, first.log_start_offset),
        (0, 0, 0)
    );
    let second = client.produce("events", 1, batch(&["d"], recent())).await;
    assert_eq!((second.error_code, second.base_offset), (0, 3));

    let fetched = client.fetch("events", 1, 0, 0, 1).await;
    assert_eq!(fetched.error_code, 0);
    assert_eq!(fetched.high_watermark, 4);
    assert_eq!(fetched.last_stable_offset, 4);
    assert_eq!(fetched.log_start_offset, 0);
    let got = values(fetched.records.as_deref().unwrap());
    let expected: Vec<(u64, String)> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(offset, value)| (offset as u64, (*value).to_owned()))
        .collect();
    assert_eq!(got, expected);

    let other = client.fetch("events", 0, 0, 0, 1).await;
    assert_eq!(other.high_watermark, 0);
    assert_eq!(other.records.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn fetch_from_the_middle_of_a_batch_returns_the_whole_batch() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    client
        .produce("events", 0, batch(&["0", "1", "2", "3", "4"], recent()))
        .await;
    let fetched = client.fetch("events", 0, 3, 0, 1).await;
    let offsets: Vec<u64> = values(fetched.records.as_deref().unwrap())
        .into_iter()
        .map(|(offset, _)| offset)
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn long_poll_wakes_on_append() {
    let broker = TestBroker::start(&[]).await;
    let mut producer = broker.client().await;
    producer.create_topic("events", 1).await;
    let mut consumer = broker.client().await;
    let started = Instant::now();
    let fetch = tokio::spawn(async move {
        let data = consumer.fetch("events", 0, 0, 10_000, 1).await;
        (data, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    producer
        .produce("events", 0, batch(&["wake"], recent()))
        .await;
    let (data, elapsed) = fetch.await.unwrap();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(values(data.records.as_deref().unwrap())[0].1, "wake");
}

#[tokio::test]
async fn long_poll_times_out_with_nothing_to_read() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    let started = Instant::now();
    let data = client.fetch("events", 0, 0, 300, 1).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300),
        "returned after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "returned after {elapsed:?}"
    );
    assert_eq!(data.error_code, 0);
    assert_eq!(data.records.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn fetch_outside_the_log_is_offset_out_of_range() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    client.produce("events", 0, batch(&["a"], recent())).await;
    for offset in [2, -5] {
        let data = client.fetch("events", 0, offset, 0, 1).await;
        assert_eq!(
            data.error_code,
            ErrorCode::OffsetOutOfRange.code(),
            "offset {offset}"
        );
    }
    // At the log end there is simply nothing yet.
    let data = client.fetch("events", 0, 1, 0, 1).await;
    assert_eq!(data.error_code, 0);
}

#[tokio::test]
async fn list_offsets_by_timestamp() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    let base = recent();
    client
        .produce("events", 0, batch(&["a", "b", "c"], base))
        .await;
    client
        .produce("events", 0, batch(&["d", "e"], base + 10))
        .await;
    #[track_caller]
    fn check(
        found: &strom_protocol::messages::list_offsets::ListOffsetsPartitionResponse,
        offset: i64,
        timestamp: i64,
    ) {
        assert_eq!(found.error_code, 0);
        assert_eq!((found.offset, found.timestamp), (offset, timestamp));
    }
    check(&client.list_offset("events", 0, -2).await, 0, -1);
    check(&client.list_offset("events", 0, -1).await, 5, -1);
    check(&client.list_offset("events", 0, -3).await, 4, base + 11);
    check(
        &client.list_offset("events", 0, base + 1).await,
        1,
        base + 1,
    );
    check(
        &client.list_offset("events", 0, base + 3).await,
        3,
        base + 10,
    );
    check(&client.list_offset("events", 0, base + 1000).await, -1, -1);
}

#[tokio::test]
async fn restart_keeps_topics_and_records() {
    let mut broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("kept", 3).await;
    client
        .produce("kept", 2, batch(&["x", "y"], recent()))
        .await;
    drop(client);
    broker.restart().await;

    let mut client: Client = broker.client().await;
    let request = MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some("kept".to_owned()),
            ..MetadataRequestTopic::default()
        }]),
        ..MetadataRequest::default()
    };
    let Response::Metadata(metadata) = client.send(12, request).await else {
        panic!("not a Metadata response");
    };
    assert_eq!(metadata.topics[0].error_code, 0);
    assert_eq!(metadata.topics[0].partitions.len(), 3);
    let data = client.fetch("kept", 2, 0, 0, 1).await;
    assert_eq!(
        values(data.records.as_deref().unwrap()),
        [(0, "x".to_owned()), (1, "y".to_owned())]
    );
    let next = client.produce("kept", 2, batch(&["z"], recent())).await;
    assert_eq!(next.base_offset, 2);
    // The metadata log's directory is not mistaken for a partition log.
    let metadata_dir = broker.dir.path().join("data").join("__cluster_metadata-0");
    assert!(metadata_dir.join("metadata.log").exists());
    assert!(!metadata_dir.join("00000000000000000000.log").exists());
}

#[tokio::test]
async fn response_max_bytes_returns_the_first_batch_whole_and_stops() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 2).await;
    let big = "v".repeat(3000);
    for partition in 0..2 {
        client
            .produce("events", partition, batch(&[&big], recent()))
            .await;
        client
            .produce("events", partition, batch(&[&big], recent()))
            .await;
    }
    let mut request = crate::fixture::fetch_request("events", 0, 0, 0, 1);
    request.max_bytes = 1000;
    let mut second = request.topics[0].partitions[0].clone();
    second.partition = 1;
    request.topics[0].partitions[0].partition_max_bytes = 100;
    request.topics[0].partitions.push(second);
    let Response::Fetch(response) = client.send(12, request).await else {
        panic!("not a Fetch response");
    };
    let partitions = &response.responses[0].partitions;
    // Partition 0: one batch, though larger than both limits; partition 1: nothing, the
    // response is full.
    assert_eq!(values(partitions[0].records.as_deref().unwrap()).len(), 1);
    assert_eq!(partitions[1].records.as_deref(), Some(&[][..]));
    assert_eq!(partitions[1].high_watermark, 2);
}

#[tokio::test]
async fn log_append_time_topics_stamp_the_batch() {
    let broker = TestBroker::start(&[("log.message.timestamp.type", "LogAppendTime")]).await;
    let mut client = broker.client().await;
    client.create_topic("stamped", 1).await;
    let before = strom_broker::now().0;
    let response = client.produce("stamped", 0, batch(&["a"], 1_000)).await;
    assert_eq!(response.error_code, 0);
    assert!(response.log_append_time_ms >= before, "{response:?}");
    let data = client.fetch("stamped", 0, 0, 0, 1).await;
    let records = strom_record::records_of(
        data.records.as_deref().unwrap(),
        strom_record::DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(records[0].timestamp.0, response.log_append_time_ms);
}

#[tokio::test]
async fn acks_all_needs_min_insync_replicas_of_one() {
    let broker = TestBroker::start(&[("min.insync.replicas", "2")]).await;
    let mut client = broker.client().await;
    client.create_topic("strict", 1).await;
    let response = client.produce("strict", 0, batch(&["a"], recent())).await;
    assert_eq!(response.error_code, ErrorCode::NotEnoughReplicas.code());
    let request = crate::fixture::produce_request("strict", 0, batch(&["a"], recent()), 1);
    let Response::Produce(response) = client.send(9, request).await else {
        panic!("not a Produce response");
    };
    assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
}

#[tokio::test]
async fn offset_for_leader_epoch_zero_is_the_log_end() {
    use strom_protocol::messages::offset_for_leader_epoch::{
        OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    client
        .produce("events", 0, batch(&["a", "b"], recent()))
        .await;
    let request = OffsetForLeaderEpochRequest {
        replica_id: -1,
        topics: vec![OffsetForLeaderTopic {
            topic: "events".to_owned(),
            partitions: vec![
                OffsetForLeaderPartition {
                    partition: 0,
                    current_leader_epoch: 0,
                    leader_epoch: 0,
                    ..OffsetForLeaderPartition::default()
                },
                OffsetForLeaderPartition {
                    partition: 0,
                    current_leader_epoch: 5,
                    leader_epoch: 0,
                    ..OffsetForLeaderPartition::default()
                },
            ],
            ..OffsetForLeaderTopic::default()
        }],
        ..OffsetForLeaderEpochRequest::default()
    };
    let Response::OffsetForLeaderEpoch(response) = client.send(4, request).await else {
        panic!("not an OffsetForLeaderEpoch response");
    };
    let partitions = &response.topics[0].partitions;
    assert_eq!(
        (
            partitions[0].error_code,
            partitions[0].leader_epoch,
            partitions[0].end_offset
        ),
        (0, 0, 2)
    );
    assert_eq!(
        partitions[1].error_code,
        ErrorCode::UnknownLeaderEpoch.code()
    );
}

#[tokio::test]
async fn min_bytes_zero_answers_at_once() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    let started = Instant::now();
    let data = client.fetch("events", 0, 0, 10_000, 0).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(data.error_code, 0);
}

/// Every advertised version of Produce, Fetch, ListOffsets and Metadata works end to end.
#[tokio::test]
async fn every_version_of_the_data_apis_works() {
    use strom_protocol::ApiKey;
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    let produce = ApiKey::Produce.supported_versions();
    for (index, version) in (produce.min..=produce.max).enumerate() {
        let value = format!("v{version}");
        let request = crate::fixture::produce_request("events", 0, batch(&[&value], recent()), -1);
        let Response::Produce(response) = client.send(version, request).await else {
            panic!("not a Produce response");
        };
        let partition = &response.responses[0].partition_responses[0];
        assert_eq!(
            (partition.error_code, partition.base_offset),
            (0, index as i64),
            "produce v{version}"
        );
    }
    let produced = i64::from(produce.max - produce.min + 1);
    let fetch = ApiKey::Fetch.supported_versions();
    for version in fetch.min..=fetch.max {
        let request = crate::fixture::fetch_request("events", 0, 0, 0, 1);
        let Response::Fetch(response) = client.send(version, request).await else {
            panic!("not a Fetch response");
        };
        let partition = &response.responses[0].partitions[0];
        assert_eq!(partition.high_watermark, produced, "fetch v{version}");
        assert_eq!(
            values(partition.records.as_deref().unwrap())[0].1,
            "v3",
            "fetch v{version}"
        );
    }
    let list_offsets = ApiKey::ListOffsets.supported_versions();
    for version in list_offsets.min..=list_offsets.max {
        let request = strom_protocol::messages::list_offsets::ListOffsetsRequest {
            replica_id: -1,
            topics: vec![strom_protocol::messages::list_offsets::ListOffsetsTopic {
                name: "events".to_owned(),
                partitions: vec![
                    strom_protocol::messages::list_offsets::ListOffsetsPartition {
                        partition_index: 0,
                        timestamp: -1,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let Response::ListOffsets(response) = client.send(version, request).await else {
            panic!("not a ListOffsets response");
        };
        assert_eq!(
            response.topics[0].partitions[0].offset, produced,
            "list offsets v{version}"
        );
    }
    let metadata = ApiKey::Metadata.supported_versions();
    for version in metadata.min..=metadata.max {
        // All topics: an empty list in v0, null from v1.
        let request = MetadataRequest {
            topics: (version == 0).then(Vec::new),
            ..MetadataRequest::default()
        };
        let Response::Metadata(response) = client.send(version, request).await else {
            panic!("not a Metadata response");
        };
        assert_eq!(response.brokers.len(), 1, "metadata v{version}");
        assert_eq!(response.topics.len(), 1, "metadata v{version}");
        assert_eq!(
            response.brokers[0].port,
            i32::from(broker.addr().port()),
            "metadata v{version}"
        );
    }
}
