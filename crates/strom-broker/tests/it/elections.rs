//! ElectLeaders through the wire on a single node (every partition's only replica leads): each
//! version answers `ELECTION_NOT_NEEDED` per named partition, `UNKNOWN_TOPIC_OR_PARTITION` for
//! what does not exist, leaves out unneeded elections when asked for every partition, answers a
//! partition named twice once, and refuses an unknown election type as a whole.

use strom_protocol::messages::elect_leaders::{
    ElectLeadersRequest, ElectLeadersResponse, ElectLeadersTopicPartitions,
};
use strom_protocol::{ApiKey, ErrorCode, Response};

use crate::fixture::{Client, TestBroker};

async fn elect(
    client: &mut Client,
    version: i16,
    election_type: i8,
    partitions: Option<&[(&str, &[i32])]>,
) -> ElectLeadersResponse {
    let request = ElectLeadersRequest {
        election_type,
        topic_partitions: partitions.map(|partitions| {
            partitions
                .iter()
                .map(|(topic, indexes)| ElectLeadersTopicPartitions {
                    topic: (*topic).to_owned(),
                    partitions: indexes.to_vec(),
                    ..ElectLeadersTopicPartitions::default()
                })
                .collect()
        }),
        ..ElectLeadersRequest::default()
    };
    let Response::ElectLeaders(response) = client.send(version, request).await else {
        panic!("not an ElectLeaders response");
    };
    response
}

/// `topic: partition=code` per result, in response order.
fn codes(response: &ElectLeadersResponse) -> Vec<String> {
    response
        .replica_election_results
        .iter()
        .flat_map(|topic| {
            topic.partition_result.iter().map(|partition| {
                format!(
                    "{}-{}={}",
                    topic.topic, partition.partition_id, partition.error_code
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn elect_leaders_on_a_single_node() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    client.create_topic("e", 2).await;
    let not_needed = ErrorCode::ElectionNotNeeded.code();
    let unknown = ErrorCode::UnknownTopicOrPartition.code();
    let supported = ApiKey::ElectLeaders.supported_versions();
    for version in supported.min..=supported.max {
        let named: &[(&str, &[i32])] = &[("e", &[0, 1, 0]), ("nope", &[0]), ("e", &[5, -1])];
        let response = elect(&mut client, version, 0, Some(named)).await;
        assert_eq!(response.error_code, 0, "v{version}");
        assert_eq!(
            codes(&response),
            [
                format!("e-0={not_needed}"),
                format!("e-1={not_needed}"),
                format!("e-5={unknown}"),
                format!("e--1={unknown}"),
                format!("nope-0={unknown}"),
            ],
            "v{version}"
        );
        let message = &response.replica_election_results[0].partition_result[0].error_message;
        assert!(message.as_deref().is_some_and(|text| !text.is_empty()));
        // Every partition: none needs an election, so none is listed.
        let response = elect(&mut client, version, 0, None).await;
        assert_eq!(response.error_code, 0, "v{version}");
        assert!(codes(&response).is_empty(), "v{version}: {response:?}");
    }
    // Unclean (v1+): the live leader stays.
    let response = elect(&mut client, 2, 1, Some(&[("e", &[1])])).await;
    assert_eq!(codes(&response), [format!("e-1={not_needed}")]);
    // An unknown election type fails the request as a whole.
    let invalid = ErrorCode::InvalidRequest.code();
    for version in 1..=2 {
        let response = elect(&mut client, version, 9, Some(&[("e", &[0, 1])])).await;
        assert_eq!(response.error_code, invalid, "v{version}");
        assert_eq!(
            codes(&response),
            [format!("e-0={invalid}"), format!("e-1={invalid}")]
        );
    }
    // At v0 the type is not on the wire: a preferred election.
    let response = elect(&mut client, 0, 9, Some(&[("e", &[0])])).await;
    assert_eq!(codes(&response), [format!("e-0={not_needed}")]);
}
