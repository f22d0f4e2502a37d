//! The quorum's RPC over TCP: openraft's AppendEntries, Vote and InstallSnapshot requests between
//! nodes, and intents forwarded to the leader ([`Forwarder`]).
//!
//! A connection carries one request and then its response at a time, each as a frame
//! `[length u32 LE][payload]` whose payload is a version byte and postcard (see `durable`). The
//! length is checked against the frame size cap before anything is allocated. A frame that is
//! too large or does not decode closes that connection and nothing else; the client reconnects
//! on its next call. TCP already checks the bytes, so frames carry no CRC here.
//!
//! A forwarded intent is executed by the node that receives it, never forwarded again: a node
//! that does not lead answers `NotLeader` and the forwarding node retries (see `quorum`).

use std::io;
use std::iter;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::durable::{decode_payload, encode_payload};
use crate::intent::{Intent, Submitted, WireError};
use crate::quorum::Node;
use crate::raft_types::TypeConfig;

/// Idle forwarding connections kept for reuse, across all leaders.
const MAX_IDLE_FORWARD_CONNECTIONS: usize = 8;

/// A request from one node to another.
#[derive(Debug, Serialize, Deserialize)]
enum RpcRequest {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<u64>),
    InstallSnapshot(InstallSnapshotRequest<TypeConfig>),
    /// An intent for the leader to execute.
    Submit(Intent),
    /// A learner asks the leader to add it (or to update its address) so that it receives the
    /// committed log.
    Join {
        /// The learner's node id.
        node_id: u64,
        /// Where the learner's quorum listener is reached.
        addr: String,
    },
}

/// The answer to an [`RpcRequest`], of the same kind.
#[derive(Debug, Serialize, Deserialize)]
enum RpcResponse {
    AppendEntries(Result<AppendEntriesResponse<u64>, RaftError<u64>>),
    Vote(Result<VoteResponse<u64>, RaftError<u64>>),
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, RaftError<u64, InstallSnapshotError>>),
    Submit(Result<Submitted, WireError>),
    Join(Result<(), WireError>),
}

/// The client side of forwarding: sends intents to the leader over connections of its own
/// (openraft's are not shared), keeping a few idle ones for reuse.
#[derive(Debug)]
pub(crate) struct Forwarder {
    max_frame_bytes: u32,
    idle: Mutex<Vec<(String, TcpStream)>>,
}

/// Makes a [`Connection`] to each node openraft talks to.
#[derive(Debug, Clone)]
pub(crate) struct NetworkFactory {
    /// The largest frame sent or accepted.
    pub(crate) max_frame_bytes: u32,
    /// How long to wait before retrying an unreachable node.
    pub(crate) backoff: Duration,
}

/// A client connection to one node, opened lazily and reopened after any failure.
#[derive(Debug)]
pub(crate) struct Connection {
    target: u64,
    addr: String,
    stream: Option<TcpStream>,
    max_frame_bytes: u32,
    backoff: Duration,
}

/// Why a call failed, before it is turned into openraft's error for the RPC kind.
#[derive(Debug)]
enum CallError {
    /// Could not connect.
    Unreachable(io::Error),
    /// Connected, but the exchange failed or timed out.
    Network(io::Error),
}

/// Serves the RPCs of `node` on `listener` until the returned future is dropped (which also
/// drops every open connection).
pub(crate) async fn serve(listener: TcpListener, node: Arc<Node>, max_frame_bytes: u32) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let node = Arc::clone(&node);
                    connections.spawn(async move {
                        if let Err(error) = serve_connection(stream, &node, max_frame_bytes).await {
                            tracing::debug!(%peer, %error, "quorum connection closed");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accepting a quorum connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    node: &Node,
    max_frame_bytes: u32,
) -> io::Result<()> {
    let raft = node.raft();
    stream.set_nodelay(true)?;
    loop {
        let Some(payload) = read_frame(&mut stream, max_frame_bytes).await? else {
            return Ok(());
        };
        let request = match decode_payload::<RpcRequest>(&payload) {
            Ok(request) => request,
            Err(reason) => return Err(io::Error::new(io::ErrorKind::InvalidData, reason)),
        };
        let response = match request {
            RpcRequest::AppendEntries(rpc) => {
                RpcResponse::AppendEntries(raft.append_entries(rpc).await)
            }
            RpcRequest::Vote(rpc) => RpcResponse::Vote(raft.vote(rpc).await),
            RpcRequest::InstallSnapshot(rpc) => {
                RpcResponse::InstallSnapshot(raft.install_snapshot(rpc).await)
            }
            RpcRequest::Submit(intent) => RpcResponse::Submit(node.serve_submit(&intent).await),
            RpcRequest::Join { node_id, addr } => {
                RpcResponse::Join(node.serve_join(node_id, addr).await)
            }
        };
        write_frame(&mut stream, &encode_payload(&response), max_frame_bytes).await?;
    }
}

/// Reads one frame; `None` at a clean end of stream between frames.
async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    max_frame_bytes: u32,
) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let len = u32::from_le_bytes(len);
    if len > max_frame_bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the cap of {max_frame_bytes}"),
        ));
    }
    let mut res = vec![0; len as usize];
    stream.read_exact(&mut res).await?;
    Ok(Some(res))
}

async fn write_frame(
    stream: &mut (impl AsyncWrite + Unpin),
    payload: &[u8],
    max_frame_bytes: u32,
) -> io::Result<()> {
    let len = match u32::try_from(payload.len()) {
        Ok(len) if len <= max_frame_bytes => len,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {} bytes exceeds the cap of {max_frame_bytes}",
                    payload.len()
                ),
            ));
        }
    };
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await?;
    stream.flush().await
}

impl Forwarder {
    /// A forwarder with no connections yet.
    pub(crate) fn new(max_frame_bytes: u32) -> Forwarder {
        Forwarder {
            max_frame_bytes,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Sends `intent` to the node at `addr` and waits at most `ttl` for its answer. The outer
    /// error means the exchange failed: the intent may or may not have been executed. An intent
    /// too large for one frame is not sent: `TooLarge`.
    pub(crate) async fn submit(
        &self,
        addr: &str,
        intent: &Intent,
        ttl: Duration,
    ) -> io::Result<Result<Submitted, WireError>> {
        let payload = encode_payload(&RpcRequest::Submit(intent.clone()));
        if payload.len() > self.max_frame_bytes as usize {
            return Ok(Err(WireError::TooLarge {
                bytes: payload.len() as u64,
                max: u64::from(self.max_frame_bytes),
            }));
        }
        let response = self.call(addr, &payload, ttl).await?;
        let RpcResponse::Submit(res) = response else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response of the wrong kind",
            ));
        };
        Ok(res)
    }

    /// Asks the node at `addr` (the leader, if this node knows it) to add learner `node_id`,
    /// reached at `learner_addr`, and waits at most `ttl` for its answer. The outer error means
    /// the exchange failed.
    pub(crate) async fn join(
        &self,
        addr: &str,
        node_id: u64,
        learner_addr: &str,
        ttl: Duration,
    ) -> io::Result<Result<(), WireError>> {
        let payload = encode_payload(&RpcRequest::Join {
            node_id,
            addr: learner_addr.to_owned(),
        });
        let response = self.call(addr, &payload, ttl).await?;
        let RpcResponse::Join(res) = response else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "response of the wrong kind",
            ));
        };
        Ok(res)
    }

    /// Sends one encoded request to `addr` on an idle connection (or a new one) and reads the
    /// response within `ttl`; the connection is kept for reuse only after a complete exchange.
    async fn call(&self, addr: &str, payload: &[u8], ttl: Duration) -> io::Result<RpcResponse> {
        let idle = self.take_idle(addr);
        let exchange = async {
            let mut stream = match idle {
                Some(stream) => stream,
                None => {
                    let stream = TcpStream::connect(addr).await?;
                    stream.set_nodelay(true)?;
                    stream
                }
            };
            write_frame(&mut stream, payload, self.max_frame_bytes).await?;
            let Some(answer) = read_frame(&mut stream, self.max_frame_bytes).await? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the answer",
                ));
            };
            let response = match decode_payload::<RpcResponse>(&answer) {
                Ok(response) => response,
                Err(reason) => return Err(io::Error::new(io::ErrorKind::InvalidData, reason)),
            };
            Ok((stream, response))
        };
        let (stream, response) = match tokio::time::timeout(ttl, exchange).await {
            Ok(res) => res?,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer from {addr} within {ttl:?}"),
                ));
            }
        };
        self.put_idle(addr, stream);
        Ok(response)
    }

    fn take_idle(&self, addr: &str) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let position = idle.iter().position(|(found, _)| found == addr)?;
        Some(idle.swap_remove(position).1)
    }

    fn put_idle(&self, addr: &str, stream: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE_FORWARD_CONNECTIONS {
            idle.push((addr.to_owned(), stream));
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = Connection;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> Connection {
        Connection {
            target,
            addr: node.addr.clone(),
            stream: None,
            max_frame_bytes: self.max_frame_bytes,
            backoff: self.backoff,
        }
    }
}

impl Connection {
    /// Sends an encoded request and reads its response within `ttl`; any failure drops the
    /// connection.
    async fn call(&mut self, payload: &[u8], ttl: Duration) -> Result<RpcResponse, CallError> {
        let res = match tokio::time::timeout(ttl, self.exchange(payload)).await {
            Ok(res) => res,
            Err(_) => Err(CallError::Network(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no answer from node {} within {ttl:?}", self.target),
            ))),
        };
        if res.is_err() {
            self.stream = None;
        }
        res
    }

    async fn exchange(&mut self, payload: &[u8]) -> Result<RpcResponse, CallError> {
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(&self.addr)
                    .await
                    .map_err(CallError::Unreachable)?;
                stream.set_nodelay(true).map_err(CallError::Unreachable)?;
                self.stream.insert(stream)
            }
        };
        write_frame(stream, payload, self.max_frame_bytes)
            .await
            .map_err(CallError::Network)?;
        let Some(payload) = read_frame(stream, self.max_frame_bytes)
            .await
            .map_err(CallError::Network)?
        else {
            return Err(CallError::Network(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response",
            )));
        };
        match decode_payload(&payload) {
            Ok(response) => Ok(response),
            Err(reason) => Err(CallError::Network(io::Error::new(
                io::ErrorKind::InvalidData,
                reason,
            ))),
        }
    }
}

impl<E: std::error::Error> From<CallError> for RPCError<u64, BasicNode, E> {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Unreachable(error) => RPCError::Unreachable(Unreachable::new(&error)),
            CallError::Network(error) => RPCError::Network(NetworkError::new(&error)),
        }
    }
}

fn unexpected_response() -> CallError {
    CallError::Network(io::Error::new(
        io::ErrorKind::InvalidData,
        "response of the wrong kind",
    ))
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        let entries = rpc.entries.len() as u64;
        let payload = encode_payload(&RpcRequest::AppendEntries(rpc));
        // Too many entries for one frame: openraft retries at once with fewer. A single entry
        // always fits, since proposals are capped at half a frame.
        if payload.len() > self.max_frame_bytes as usize && entries > 1 {
            return Err(RPCError::PayloadTooLarge(
                PayloadTooLarge::new_entries_hint(entries / 2),
            ));
        }
        match self.call(&payload, option.hard_ttl()).await? {
            RpcResponse::AppendEntries(Ok(response)) => Ok(response),
            RpcResponse::AppendEntries(Err(error)) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, error)))
            }
            _ => Err(unexpected_response().into()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        let payload = encode_payload(&RpcRequest::InstallSnapshot(rpc));
        match self.call(&payload, option.hard_ttl()).await? {
            RpcResponse::InstallSnapshot(Ok(response)) => Ok(response),
            RpcResponse::InstallSnapshot(Err(error)) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, error)))
            }
            _ => Err(unexpected_response().into()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        let payload = encode_payload(&RpcRequest::Vote(rpc));
        match self.call(&payload, option.hard_ttl()).await? {
            RpcResponse::Vote(Ok(response)) => Ok(response),
            RpcResponse::Vote(Err(error)) => {
                Err(RPCError::RemoteError(RemoteError::new(self.target, error)))
            }
            _ => Err(unexpected_response().into()),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(iter::repeat(self.backoff))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload, LogId, Vote};
    use proptest::prelude::*;
    use strom_metadata::{BrokerId, MetadataOffset, MetadataRecord, RecordBatch};

    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn frames_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..5)) {
            let res = block_on(async {
                let (mut client, mut server) = tokio::io::duplex(1 << 16);
                for payload in &payloads {
                    write_frame(&mut client, payload, 1024).await.unwrap();
                }
                drop(client);
                let mut res = Vec::new();
                while let Some(payload) = read_frame(&mut server, 1024).await.unwrap() {
                    res.push(payload);
                }
                res
            });
            prop_assert_eq!(res, payloads);
        }
    }

    #[test]
    fn frame_size_cap_is_checked_before_reading() {
        block_on(async {
            let (mut client, mut server) = tokio::io::duplex(64);
            client.write_all(&1025u32.to_le_bytes()).await.unwrap();
            let error = read_frame(&mut server, 1024).await.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            let error = write_frame(&mut client, &[0; 1025], 1024)
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            // A frame cut short is an error, not a clean end.
            let (mut client, mut server) = tokio::io::duplex(64);
            client.write_all(&10u32.to_le_bytes()).await.unwrap();
            client.write_all(b"abc").await.unwrap();
            drop(client);
            assert!(read_frame(&mut server, 1024).await.is_err());
        });
    }

    #[test]
    fn an_intent_too_large_for_a_frame_is_not_sent() {
        let forwarder = Forwarder::new(64);
        let intent = Intent::DeleteTopics(vec![strom_metadata::TopicRef::Name("x".repeat(100))]);
        // Nothing listens on port 1: the size check must answer before any connect.
        let res = block_on(forwarder.submit("127.0.0.1:1", &intent, Duration::from_secs(1)));
        assert!(
            matches!(res, Ok(Err(WireError::TooLarge { max: 64, .. }))),
            "{res:?}"
        );
    }

    #[test]
    fn append_entries_round_trips_through_postcard() {
        let log_id = LogId::new(CommittedLeaderId::new(3, 1), 7);
        let batch = RecordBatch {
            base_offset: MetadataOffset(4),
            records: vec![MetadataRecord::FenceBroker {
                broker_id: BrokerId(2),
            }],
        };
        let request = RpcRequest::AppendEntries(AppendEntriesRequest {
            vote: Vote::new_committed(3, 1),
            prev_log_id: Some(LogId::new(CommittedLeaderId::new(3, 1), 6)),
            entries: vec![openraft::Entry {
                log_id,
                payload: EntryPayload::Normal(batch.clone()),
            }],
            leader_commit: Some(log_id),
        });
        let decoded: RpcRequest = decode_payload(&encode_payload(&request)).unwrap();
        let RpcRequest::AppendEntries(decoded) = decoded else {
            panic!("wrong kind: {decoded:?}");
        };
        assert_eq!(decoded.vote, Vote::new_committed(3, 1));
        assert_eq!(decoded.leader_commit, Some(log_id));
        assert!(
            matches!(&decoded.entries[0].payload, EntryPayload::Normal(found) if *found == batch)
        );
    }
}
