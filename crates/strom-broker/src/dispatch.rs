//! The request dispatcher: one frame in, one [`Reply`] out. It reads the request header, answers
//! an ApiVersions request of an unknown version the way Kafka does (a v0 response with
//! `UNSUPPORTED_VERSION` and the full table), closes the connection on anything else it does not
//! advertise or cannot decode, runs the API's handler (blocking handlers on a blocking thread),
//! and encodes the response with the header version the request's API version calls for.
//!
//! It decides nothing about what a request means; the handlers in `handlers/` do.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_protocol::messages::fetch::FetchResponse;
use strom_protocol::splice::{RECORDS_MARKER, splice_records};
use strom_protocol::{
    ApiKey, Request, RequestHeader, Response, encode_response, unsupported_api_versions_response,
};

use crate::broker::Broker;
use crate::handlers;
use crate::server::{Peer, Reply};

/// The APIs this broker implements and advertises, each at every version the protocol crate
/// supports for it.
pub const ADVERTISED: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::FindCoordinator,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DeleteRecords,
    ApiKey::DescribeConfigs,
    ApiKey::AlterConfigs,
    ApiKey::CreatePartitions,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::ElectLeaders,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::OffsetDelete,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::DeleteGroups,
    ApiKey::TxnOffsetCommit,
    ApiKey::AlterPartitionReassignments,
    ApiKey::ListPartitionReassignments,
];

/// Handles one request frame.
pub async fn handle(broker: Arc<Broker>, peer: Peer, frame: Bytes) -> Reply {
    let prefix = match RequestHeader::peek(&frame) {
        Ok(prefix) => prefix,
        Err(error) => {
            tracing::debug!(address = %peer.address, %error, "unreadable request header; closing");
            return Reply::Close;
        }
    };
    if prefix.api_key == ApiKey::ApiVersions.code()
        && !ApiKey::ApiVersions
            .supported_versions()
            .contains(prefix.api_version)
    {
        let response = Response::from(unsupported_api_versions_response(ADVERTISED));
        return encode(prefix.correlation_id, 0, &response);
    }
    let advertised = ApiKey::try_from(prefix.api_key).ok().filter(|api_key| {
        ADVERTISED.contains(api_key) && api_key.supported_versions().contains(prefix.api_version)
    });
    if advertised.is_none() {
        tracing::debug!(
            address = %peer.address,
            api_key = prefix.api_key,
            api_version = prefix.api_version,
            "request for an api or version that is not advertised; closing"
        );
        return Reply::Close;
    }
    let (header, request) = match decode(frame) {
        Ok(decoded) => decoded,
        Err(error) => {
            tracing::debug!(
                address = %peer.address,
                api_key = prefix.api_key,
                api_version = prefix.api_version,
                %error,
                "malformed request; closing"
            );
            return Reply::Close;
        }
    };
    let version = header.api_version;
    let correlation_id = header.correlation_id;
    let response = match request {
        Request::Fetch(request) => {
            let (response, records) = handlers::fetch::handle(broker, request, version).await;
            return encode_fetch(correlation_id, version, response, records);
        }
        Request::Produce(request) => {
            let acks = request.acks;
            let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
            let handler_broker = Arc::clone(&broker);
            let res = tokio::task::spawn_blocking(move || {
                handlers::produce::handle(&handler_broker, request)
            })
            .await;
            let response = match res {
                Ok((response, pending)) if pending.is_empty() => response,
                Ok((mut response, pending)) => {
                    handlers::produce::complete(broker, &mut response, pending, timeout).await;
                    response
                }
                Err(error) => {
                    tracing::error!(%error, "produce handler failed");
                    return Reply::Close;
                }
            };
            if acks == 0 {
                // No response to carry an error: like Kafka, close the connection instead, so
                // the producer notices and refreshes its metadata.
                let failed = response
                    .responses
                    .iter()
                    .flat_map(|topic| &topic.partition_responses)
                    .any(|partition| partition.error_code != 0);
                if failed {
                    tracing::debug!(address = %peer.address, "acks=0 produce failed; closing");
                    return Reply::Close;
                }
                return Reply::Nothing;
            }
            Response::from(response)
        }
        Request::ApiVersions(request) => Response::from(handlers::api_versions::handle(&request)),
        Request::JoinGroup(request) => {
            let requester = handlers::join_group::Requester {
                client_id: header.client_id.clone().unwrap_or_default(),
                client_host: format!("/{}", peer.address.ip()),
            };
            Response::from(handlers::join_group::handle(broker, request, version, requester).await)
        }
        Request::SyncGroup(request) => {
            Response::from(handlers::sync_group::handle(broker, request).await)
        }
        Request::OffsetCommit(request) => {
            let handler_broker = Arc::clone(&broker);
            let res = tokio::task::spawn_blocking(move || {
                handlers::offset_commit::handle(&handler_broker, request, version)
            })
            .await;
            match res {
                Ok(pending) => {
                    Response::from(handlers::offset_commit::complete(broker, pending).await)
                }
                Err(error) => {
                    tracing::error!(%error, "offset commit handler failed");
                    return Reply::Close;
                }
            }
        }
        Request::TxnOffsetCommit(request) => {
            let handler_broker = Arc::clone(&broker);
            let res = tokio::task::spawn_blocking(move || {
                handlers::txn_offset_commit::handle(&handler_broker, request, version)
            })
            .await;
            match res {
                Ok(pending) => {
                    Response::from(handlers::txn_offset_commit::complete(broker, pending).await)
                }
                Err(error) => {
                    tracing::error!(%error, "txn offset commit handler failed");
                    return Reply::Close;
                }
            }
        }
        other => {
            let res =
                tokio::task::spawn_blocking(move || handle_blocking(&broker, other, version)).await;
            match res {
                Ok(Some(response)) => response,
                Ok(None) => return Reply::Close,
                Err(error) => {
                    tracing::error!(%error, "request handler failed");
                    return Reply::Close;
                }
            }
        }
    };
    encode(correlation_id, version, &response)
}

/// Decodes a request frame. Bytes after the body are ignored, as Kafka's broker ignores them:
/// librdkafka 2.x sends three stray bytes at the end of an all-topics Metadata v12 request.
fn decode(frame: Bytes) -> Result<(RequestHeader, Request), strom_protocol::Error> {
    let mut buf = frame;
    let header = RequestHeader::decode(&mut buf)?;
    let request = Request::decode(header.api_key, header.api_version, &mut buf)?;
    if !buf.is_empty() {
        tracing::trace!(
            api_key = header.api_key.code(),
            api_version = header.api_version,
            trailing = buf.len(),
            "ignoring bytes after a request body"
        );
    }
    Ok((header, request))
}

/// Runs the handler of a request that may block (metadata changes, log reads, fsync); `None`
/// for an API this broker does not serve (the dispatcher filtered those out already).
fn handle_blocking(broker: &Broker, request: Request, version: i16) -> Option<Response> {
    let res = match request {
        Request::Metadata(request) => {
            Response::from(handlers::metadata::handle(broker, request, version))
        }
        Request::ListOffsets(request) => {
            Response::from(handlers::list_offsets::handle(broker, request))
        }
        Request::FindCoordinator(request) => {
            Response::from(handlers::find_coordinator::handle(broker, request, version))
        }
        Request::CreateTopics(request) => {
            Response::from(handlers::create_topics::handle(broker, request))
        }
        Request::DeleteTopics(request) => {
            Response::from(handlers::delete_topics::handle(broker, request, version))
        }
        Request::InitProducerId(request) => {
            Response::from(handlers::init_producer_id::handle(broker, request))
        }
        Request::OffsetForLeaderEpoch(request) => {
            Response::from(handlers::offset_for_leader_epoch::handle(broker, request))
        }
        Request::DeleteRecords(request) => {
            Response::from(handlers::delete_records::handle(broker, request))
        }
        Request::DescribeConfigs(request) => {
            Response::from(handlers::describe_configs::handle(broker, request))
        }
        Request::AlterConfigs(request) => {
            Response::from(handlers::alter_configs::handle(broker, request))
        }
        Request::CreatePartitions(request) => {
            Response::from(handlers::create_partitions::handle(broker, request))
        }
        Request::IncrementalAlterConfigs(request) => {
            Response::from(handlers::incremental_alter_configs::handle(broker, request))
        }
        Request::DescribeCluster(request) => {
            Response::from(handlers::describe_cluster::handle(broker, request))
        }
        Request::ElectLeaders(request) => {
            Response::from(handlers::elect_leaders::handle(broker, request, version))
        }
        Request::ApiVersions(request) => Response::from(handlers::api_versions::handle(&request)),
        Request::Produce(request) => Response::from(handlers::produce::handle(broker, request).0),
        Request::Heartbeat(request) => Response::from(handlers::heartbeat::handle(broker, request)),
        Request::LeaveGroup(request) => {
            Response::from(handlers::leave_group::handle(broker, request, version))
        }
        Request::OffsetFetch(request) => {
            Response::from(handlers::offset_fetch::handle(broker, request, version))
        }
        Request::OffsetDelete(request) => {
            Response::from(handlers::offset_delete::handle(broker, request))
        }
        Request::ListGroups(request) => {
            Response::from(handlers::list_groups::handle(broker, request))
        }
        Request::DescribeGroups(request) => {
            Response::from(handlers::describe_groups::handle(broker, request))
        }
        Request::DeleteGroups(request) => {
            Response::from(handlers::delete_groups::handle(broker, request))
        }
        Request::AlterPartitionReassignments(request) => Response::from(
            handlers::alter_partition_reassignments::handle(broker, request, version),
        ),
        Request::ListPartitionReassignments(request) => Response::from(
            handlers::list_partition_reassignments::handle(broker, request),
        ),
        _ => return None,
    };
    Some(res)
}

fn encode(correlation_id: i32, version: i16, response: &Response) -> Reply {
    let mut buf = BytesMut::new();
    match encode_response(correlation_id, version, response, &mut buf) {
        Ok(()) => Reply::Frame(vec![buf.freeze()]),
        Err(error) => {
            tracing::error!(%error, api = ?response.api_key(), "cannot encode a response; closing");
            Reply::Close
        }
    }
}

/// Encodes a fetch response whose partitions' records are `records` (in response order, one
/// per partition), so that each records blob is its own element of the frame, not copied.
fn encode_fetch(
    correlation_id: i32,
    version: i16,
    mut response: FetchResponse,
    records: Vec<Bytes>,
) -> Reply {
    let mut spliced = Vec::new();
    let slots = response
        .responses
        .iter_mut()
        .flat_map(|topic| topic.partitions.iter_mut());
    for (partition, records) in slots.zip(records) {
        if records.is_empty() {
            partition.records = Some(records);
        } else {
            partition.records = Some(Bytes::from_static(RECORDS_MARKER));
            spliced.push(records);
        }
    }
    let mut buf = BytesMut::new();
    if let Err(error) =
        encode_response(correlation_id, version, &Response::from(response), &mut buf)
    {
        tracing::error!(%error, "cannot encode a fetch response; closing");
        return Reply::Close;
    }
    match splice_records(buf.freeze(), ApiKey::Fetch.is_flexible(version), spliced) {
        Some(parts) => Reply::Frame(parts),
        None => {
            tracing::error!("records marker not found in an encoded fetch response; closing");
            Reply::Close
        }
    }
}

#[cfg(test)]
mod tests {
    use strom_protocol::decode_response;
    use strom_protocol::messages::fetch::{FetchableTopicResponse, PartitionData};

    use super::*;

    fn response(partitions: usize) -> FetchResponse {
        FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic: "events".to_owned(),
                partitions: (0..partitions)
                    .map(|index| PartitionData {
                        partition_index: index as i32,
                        high_watermark: 10,
                        ..PartitionData::default()
                    })
                    .collect(),
                ..FetchableTopicResponse::default()
            }],
            ..FetchResponse::default()
        }
    }

    /// Splicing gives the same bytes as encoding the records in place, for every version, and
    /// keeps each non-empty records blob as its own, uncopied element.
    #[test]
    fn spliced_fetch_response_equals_the_plain_encoding() {
        let blobs = [
            Bytes::from(vec![7u8; 300]),
            Bytes::new(),
            Bytes::from(vec![9u8; 70_000]),
        ];
        for version in
            ApiKey::Fetch.supported_versions().min..=ApiKey::Fetch.supported_versions().max
        {
            let mut plain = response(3);
            for (partition, blob) in plain.responses[0].partitions.iter_mut().zip(&blobs) {
                partition.records = Some(blob.clone());
            }
            let mut expected = BytesMut::new();
            encode_response(5, version, &Response::from(plain.clone()), &mut expected).unwrap();

            let Reply::Frame(parts) = encode_fetch(5, version, response(3), blobs.to_vec()) else {
                panic!("no frame");
            };
            let joined: Vec<u8> = parts.iter().flat_map(|part| part.iter().copied()).collect();
            assert_eq!(joined, expected.to_vec(), "version {version}");
            assert!(parts.iter().any(|part| part.as_ptr() == blobs[2].as_ptr()));
            let (_, decoded) =
                decode_response(Bytes::from(joined[4..].to_vec()), ApiKey::Fetch, version).unwrap();
            assert_eq!(decoded, Response::from(plain));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any mix of empty and non-empty records, at any version, splices back to exactly the
        /// plain encoding.
        #[test]
        fn splicing_round_trips(
            sizes in proptest::collection::vec(0usize..3000, 0..6),
            fill in proptest::prelude::any::<u8>(),
            version in ApiKey::Fetch.supported_versions().min..=ApiKey::Fetch.supported_versions().max,
        ) {
            let blobs: Vec<Bytes> = sizes.iter().map(|&size| Bytes::from(vec![fill; size])).collect();
            let mut plain = response(blobs.len());
            for (partition, blob) in plain.responses[0].partitions.iter_mut().zip(&blobs) {
                partition.records = Some(blob.clone());
            }
            let mut expected = BytesMut::new();
            encode_response(9, version, &Response::from(plain), &mut expected).unwrap();
            let Reply::Frame(parts) = encode_fetch(9, version, response(blobs.len()), blobs) else {
                panic!("no frame");
            };
            let joined: Vec<u8> = parts.iter().flat_map(|part| part.iter().copied()).collect();
            proptest::prop_assert_eq!(joined, expected.to_vec());
        }
    }
}
