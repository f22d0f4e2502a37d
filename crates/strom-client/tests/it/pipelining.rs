//! Pipelining and correlation: many requests in flight on one connection, answers matched by
//! correlation id even when they come back out of order, and a clear failure on an unknown id.

use std::sync::{Arc, Mutex};

use strom_client::{ClientConfig, Connection, Error};
use strom_protocol::messages::metadata::{
    MetadataRequest, MetadataRequestTopic, MetadataResponse, MetadataResponseTopic,
};
use strom_protocol::{ApiKey, Request, Response};

use crate::fake_broker::{FakeBroker, Reply, answer_api_versions};

fn request_for(topic: &str) -> MetadataRequest {
    MetadataRequest {
        topics: Some(vec![MetadataRequestTopic {
            name: Some(topic.to_owned()),
            ..MetadataRequestTopic::default()
        }]),
        ..MetadataRequest::default()
    }
}

/// Echoes the requested topic name back, so each caller can tell its own answer.
fn echo(correlation_id: i32, version: i16, request: Request) -> Reply {
    let Request::Metadata(request) = request else {
        panic!("expected metadata");
    };
    let topics = request
        .topics
        .unwrap()
        .into_iter()
        .map(|topic| MetadataResponseTopic {
            name: topic.name,
            ..MetadataResponseTopic::default()
        })
        .collect();
    let response = MetadataResponse {
        topics,
        ..MetadataResponse::default()
    };
    (correlation_id, version, Response::from(response))
}

fn topic_of(response: Response) -> String {
    let Response::Metadata(response) = response else {
        panic!("expected metadata");
    };
    response.topics[0].name.clone().unwrap()
}

#[tokio::test]
async fn out_of_order_answers_reach_the_right_callers() {
    const IN_FLIGHT: usize = 8;
    let held: Arc<Mutex<Vec<Reply>>> = Arc::new(Mutex::new(Vec::new()));
    let broker = FakeBroker::start(Box::new(move |header, request| {
        if header.api_key == ApiKey::ApiVersions {
            return answer_api_versions(header);
        }
        // Hold every answer until all requests arrived, then send them newest first.
        let mut held = held.lock().unwrap();
        held.push(echo(header.correlation_id, header.api_version, request));
        if held.len() < IN_FLIGHT {
            return Vec::new();
        }
        held.drain(..).rev().collect()
    }))
    .await;
    let connection = Arc::new(
        Connection::connect(&broker.addr.to_string(), &ClientConfig::default())
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for index in 0..IN_FLIGHT {
        let connection = connection.clone();
        tasks.push(tokio::spawn(async move {
            let topic = format!("topic-{index}");
            let response = connection.send(request_for(&topic)).await.unwrap();
            (topic, topic_of(response))
        }));
    }
    for task in tasks {
        let (asked, answered) = task.await.unwrap();
        assert_eq!(asked, answered);
    }
    assert!(!connection.is_closed());
}

#[tokio::test]
async fn an_unknown_correlation_id_fails_requests_and_closes_the_connection() {
    let broker = FakeBroker::start(Box::new(move |header, request| {
        if header.api_key == ApiKey::ApiVersions {
            return answer_api_versions(header);
        }
        vec![echo(
            header.correlation_id + 1000,
            header.api_version,
            request,
        )]
    }))
    .await;
    let connection = Connection::connect(&broker.addr.to_string(), &ClientConfig::default())
        .await
        .unwrap();
    let error = connection.send(request_for("a")).await.unwrap_err();
    assert!(
        matches!(error, Error::UnknownCorrelationId(id) if id >= 1000),
        "{error:?}"
    );
    assert!(connection.is_closed());
    // Later requests fail at once with the error that closed the connection.
    let error = connection.send(request_for("b")).await.unwrap_err();
    assert!(matches!(error, Error::UnknownCorrelationId(_)), "{error:?}");
}

#[tokio::test]
async fn a_request_that_times_out_closes_the_connection() {
    let broker = FakeBroker::start(Box::new(move |header, _request| {
        if header.api_key == ApiKey::ApiVersions {
            return answer_api_versions(header);
        }
        Vec::new()
    }))
    .await;
    let config = ClientConfig {
        request_timeout: std::time::Duration::from_millis(100),
        ..ClientConfig::default()
    };
    let connection = Connection::connect(&broker.addr.to_string(), &config)
        .await
        .unwrap();
    let error = connection.send(request_for("a")).await.unwrap_err();
    assert!(matches!(error, Error::Timeout(_)), "{error:?}");
    assert!(error.is_retriable());
    assert!(connection.is_closed());
}

/// Produce with `acks=0` gets no response, so nothing else tells the caller its request left.
/// On a current-thread runtime the writer task cannot run before the test yields: a close that
/// did not wait for the queue would drop every request.
#[tokio::test]
async fn requests_without_responses_are_written_before_a_graceful_close() {
    const REQUESTS: usize = 100;
    let received = Arc::new(Mutex::new(0usize));
    let counter = received.clone();
    let broker = FakeBroker::start(Box::new(move |header, _request| {
        if header.api_key == ApiKey::ApiVersions {
            return answer_api_versions(header);
        }
        *counter.lock().unwrap() += 1;
        Vec::new()
    }))
    .await;
    let connection = Connection::connect(&broker.addr.to_string(), &ClientConfig::default())
        .await
        .unwrap();
    for index in 0..REQUESTS {
        connection
            .send_no_response(request_for(&format!("topic-{index}")))
            .unwrap();
    }
    connection
        .close_after_queued(std::time::Duration::from_secs(10))
        .await;
    assert!(connection.is_closed());
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while *received.lock().unwrap() < REQUESTS && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(*received.lock().unwrap(), REQUESTS);
}
