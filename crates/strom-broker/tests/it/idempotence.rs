//! Idempotent producers over the wire: ids from InitProducerId, retries answered with their
//! original offset and appended once, gaps refused, and the state surviving a restart.

use strom_protocol::messages::init_producer_id::InitProducerIdRequest;
use strom_protocol::{ErrorCode, Response};
use strom_record::BatchConfig;

use crate::fixture::{Client, TestBroker, batch_with, recent};

async fn init_producer_id(client: &mut Client, transactional_id: Option<&str>) -> (i16, i64, i16) {
    let request = InitProducerIdRequest {
        transactional_id: transactional_id.map(str::to_owned),
        transaction_timeout_ms: 60_000,
        ..InitProducerIdRequest::default()
    };
    let Response::InitProducerId(response) = client.send(4, request).await else {
        panic!("not an InitProducerId response");
    };
    (
        response.error_code,
        response.producer_id,
        response.producer_epoch,
    )
}

fn idempotent(producer_id: i64, base_sequence: i32, values: &[&str]) -> bytes::Bytes {
    let config = BatchConfig {
        producer_id: Some(producer_id),
        producer_epoch: 0,
        base_sequence: Some(base_sequence),
        ..BatchConfig::default()
    };
    batch_with(config, values, recent())
}

#[tokio::test]
async fn producer_ids_are_distinct_and_transactions_are_unavailable() {
    let mut broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let (error, first, epoch) = init_producer_id(&mut client, None).await;
    assert_eq!((error, epoch), (0, 0));
    let (_, second, _) = init_producer_id(&mut client, None).await;
    assert_ne!(first, second);
    let (error, _, _) = init_producer_id(&mut client, Some("txn")).await;
    assert_eq!(error, ErrorCode::CoordinatorNotAvailable.code());
    drop(client);
    broker.restart().await;
    let mut client = broker.client().await;
    let (_, third, _) = init_producer_id(&mut client, None).await;
    assert!(
        third > second,
        "{third} after {second}: ids must not repeat after a restart"
    );
}

#[tokio::test]
async fn retries_are_deduplicated_and_gaps_refused() {
    let mut broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("events", 1).await;
    let (_, producer_id, _) = init_producer_id(&mut client, None).await;

    let first = client
        .produce("events", 0, idempotent(producer_id, 0, &["a", "b"]))
        .await;
    assert_eq!((first.error_code, first.base_offset), (0, 0));
    let second = client
        .produce("events", 0, idempotent(producer_id, 2, &["c"]))
        .await;
    assert_eq!((second.error_code, second.base_offset), (0, 2));
    // A retry of the first batch: its original offset, nothing appended.
    let retry = client
        .produce("events", 0, idempotent(producer_id, 0, &["a", "b"]))
        .await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    assert_eq!(client.list_offset("events", 0, -1).await.offset, 3);
    // A gap.
    let gap = client
        .produce("events", 0, idempotent(producer_id, 7, &["x"]))
        .await;
    assert_eq!(gap.error_code, ErrorCode::OutOfOrderSequenceNumber.code());
    assert_eq!(client.list_offset("events", 0, -1).await.offset, 3);
    // An unknown producer starting mid-sequence on a log that cannot have forgotten it.
    let unknown = client
        .produce("events", 0, idempotent(producer_id + 1000, 5, &["x"]))
        .await;
    assert_eq!(unknown.error_code, ErrorCode::UnknownProducerId.code());

    // After a restart the state is rebuilt from the log: a retry of either of the two batches
    // (a producer may have had both in flight) is still a duplicate.
    drop(client);
    broker.restart().await;
    let mut client = broker.client().await;
    let retry = client
        .produce("events", 0, idempotent(producer_id, 0, &["a", "b"]))
        .await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    let retry = client
        .produce("events", 0, idempotent(producer_id, 2, &["c"]))
        .await;
    assert_eq!((retry.error_code, retry.base_offset), (0, 2));
    let next = client
        .produce("events", 0, idempotent(producer_id, 3, &["d"]))
        .await;
    assert_eq!((next.error_code, next.base_offset), (0, 3));
}
