//! One TCP connection to one broker, with request pipelining: callers encode and queue requests
//! on a writer task, a reader task cuts response frames off the socket and hands each to the
//! caller waiting on its correlation id. Many requests may be in flight at once. On connect the
//! connection negotiates API versions (ApiVersions, with the fallback Kafka's clients use).
//!
//! It does not retry, route or reconnect: [`crate::Client`] does that. A failed connection stays
//! failed; every request in flight and every later one gets the error that closed it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use strom_protocol::messages::api_versions::ApiVersionsRequest;
use strom_protocol::messages::produce::ProduceRequest;
use strom_protocol::splice::{RECORDS_MARKER, splice_records};
use strom_protocol::{
    ApiKey, Request, RequestHeader, Response, decode_response, encode_request, split_frame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::versions::{ApiVersionsOutcome, api_versions_outcome};
use crate::{ApiVersions, ClientConfig, Error, Result};

/// Name and version sent in ApiVersions v3+ (Kafka restricts them to `[a-zA-Z0-9.-]`).
const SOFTWARE_NAME: &str = "strom-client";
const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The most bytes the writer gathers from queued requests before writing them in one call.
const WRITE_BATCH_MAX: usize = 256 * 1024;

/// An open, version-negotiated connection to one broker.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    versions: ApiVersions,
    client_id: Option<String>,
    request_timeout: Duration,
    next_correlation_id: AtomicI32,
    reader: AbortHandle,
}

/// State shared by the connection handle and its two tasks.
#[derive(Debug)]
struct Shared {
    addr: String,
    state: Mutex<State>,
    writer: Mutex<Option<AbortHandle>>,
}

#[derive(Debug, Default)]
struct State {
    pending: HashMap<i32, Pending>,
    /// Set once, by whatever closed the connection; later requests get this error.
    closed: Option<Error>,
}

/// What the writer task is handed.
#[derive(Debug)]
enum Outgoing {
    /// One request frame, in parts.
    Frame(Vec<Bytes>),
    /// Everything queued before this is written; tell the sender.
    Drained(oneshot::Sender<()>),
}

#[derive(Debug)]
struct Pending {
    api_key: ApiKey,
    version: i16,
    reply: oneshot::Sender<Result<Response>>,
}

impl Connection {
    /// Opens a connection to `addr` (`host:port`) and negotiates API versions.
    pub async fn connect(addr: &str, config: &ClientConfig) -> Result<Connection> {
        let connect = TcpStream::connect(addr);
        let stream = match tokio::time::timeout(config.connection_setup_timeout, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(Error::Connect {
                    addr: addr.to_owned(),
                    source: Arc::new(error),
                });
            }
            Err(_) => return Err(Error::Timeout(config.connection_setup_timeout)),
        };
        // Small requests (metadata, acks) should not wait for Nagle.
        if let Err(error) = stream.set_nodelay(true) {
            return Err(Error::Connect {
                addr: addr.to_owned(),
                source: Arc::new(error),
            });
        }
        let mut res = Connection::start(addr, stream, config);
        res.versions = res.negotiate_versions().await?;
        tracing::debug!(addr, "connected");
        Ok(res)
    }

    /// The broker's address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The versions the broker advertised.
    pub fn versions(&self) -> &ApiVersions {
        &self.versions
    }

    /// Whether the connection failed or was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed.is_some()
    }

    /// Sends `request` at the highest version both sides support and waits for its response
    /// (at most `request.timeout.ms`).
    pub async fn send(&self, request: impl Into<Request>) -> Result<Response> {
        self.send_with_timeout(request, self.request_timeout).await
    }

    /// Like [`Connection::send`] with an explicit timeout (a long-polling Fetch needs its
    /// `max_wait_ms` on top of the request timeout).
    pub async fn send_with_timeout(
        &self,
        request: impl Into<Request>,
        timeout: Duration,
    ) -> Result<Response> {
        let request = request.into();
        let version = self.versions.version_for(request.api_key())?;
        self.send_at(&request, version, timeout).await
    }

    /// Queues `request` now, at the highest version both sides support, and returns a handle
    /// to await its response with. Requests queued one after the other on a connection are
    /// written in that order (which idempotent produce relies on).
    pub fn enqueue(
        &self,
        request: impl Into<Request>,
        timeout: Duration,
    ) -> Result<PendingResponse> {
        let request = request.into();
        let version = self.versions.version_for(request.api_key())?;
        self.enqueue_at(&request, version, timeout)
    }

    /// Queues `request` and does not wait for a response: for Produce with `acks=0`, which the
    /// broker never answers.
    pub fn send_no_response(&self, request: impl Into<Request>) -> Result<()> {
        let request = request.into();
        let version = self.versions.version_for(request.api_key())?;
        let (_, frame) = self.encode(&request, version)?;
        if let Some(error) = &self.shared.lock().closed {
            return Err(error.clone());
        }
        if self.outgoing.send(Outgoing::Frame(frame)).is_err() {
            return Err(Error::ConnectionClosed {
                addr: self.addr.clone(),
            });
        }
        Ok(())
    }

    /// The version [`Connection::send`] would use for `api_key`.
    pub fn version_for(&self, api_key: ApiKey) -> Result<i16> {
        self.versions.version_for(api_key)
    }

    /// Waits (at most `timeout`) until every request queued so far has been handed to the
    /// socket, then closes the connection. Requests that expect no response (Produce with
    /// `acks=0`) reach the broker this way; [`Connection::close`] may drop them.
    pub async fn close_after_queued(&self, timeout: Duration) {
        let (drained, written) = oneshot::channel();
        if self.outgoing.send(Outgoing::Drained(drained)).is_ok() {
            // An error means the writer stopped (the connection failed); nothing more to wait for.
            let _ = tokio::time::timeout(timeout, written).await;
        }
        self.close();
    }

    /// Closes the connection; requests in flight fail with [`Error::ConnectionClosed`].
    pub fn close(&self) {
        self.shared.fail(Error::ConnectionClosed {
            addr: self.addr.clone(),
        });
        self.reader.abort();
    }

    /// Wraps an open stream (without negotiating) and starts the reader and writer tasks.
    fn start(addr: &str, stream: TcpStream, config: &ClientConfig) -> Connection {
        let (read_half, write_half) = stream.into_split();
        let shared = Arc::new(Shared {
            addr: addr.to_owned(),
            state: Mutex::new(State::default()),
            writer: Mutex::new(None),
        });
        let (outgoing, queue) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(shared.clone(), write_half, queue));
        *shared.writer.lock().unwrap_or_else(PoisonError::into_inner) = Some(writer.abort_handle());
        let reader = tokio::spawn(read_loop(
            shared.clone(),
            read_half,
            config.max_response_size,
        ));
        Connection {
            addr: addr.to_owned(),
            shared,
            outgoing,
            versions: ApiVersions::default(),
            client_id: Some(config.client_id.clone()),
            request_timeout: config.request_timeout,
            next_correlation_id: AtomicI32::new(0),
            reader: reader.abort_handle(),
        }
    }

    /// ApiVersions at our highest version; on UNSUPPORTED_VERSION, again at the version the
    /// broker's table allows.
    async fn negotiate_versions(&self) -> Result<ApiVersions> {
        let mut version = ApiKey::ApiVersions.supported_versions().max;
        loop {
            let request = Request::from(ApiVersionsRequest {
                client_software_name: SOFTWARE_NAME.to_owned(),
                client_software_version: SOFTWARE_VERSION.to_owned(),
                ..ApiVersionsRequest::default()
            });
            let response = self
                .send_at(&request, version, self.request_timeout)
                .await?;
            let Response::ApiVersions(response) = response else {
                return Err(Error::UnexpectedResponse {
                    expected: ApiKey::ApiVersions,
                    actual: response.api_key(),
                });
            };
            match api_versions_outcome(&response, version)? {
                ApiVersionsOutcome::Accepted(versions) => return Ok(versions),
                ApiVersionsOutcome::Retry(retry) => {
                    tracing::debug!(addr = self.addr, version, retry, "retrying ApiVersions");
                    version = retry;
                }
            }
        }
    }

    fn encode(&self, request: &Request, version: i16) -> Result<(i32, Vec<Bytes>)> {
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let mut header = RequestHeader::new(request.api_key(), version, correlation_id);
        header.client_id = self.client_id.clone();
        if let Request::Produce(produce) = request
            && let Some(parts) = encode_produce(&header, produce, version)?
        {
            return Ok((correlation_id, parts));
        }
        let mut buf = BytesMut::new();
        encode_request(&header, request, &mut buf)?;
        Ok((correlation_id, vec![buf.freeze()]))
    }

    async fn send_at(
        &self,
        request: &Request,
        version: i16,
        timeout: Duration,
    ) -> Result<Response> {
        self.enqueue_at(request, version, timeout)?.wait().await
    }

    fn enqueue_at(
        &self,
        request: &Request,
        version: i16,
        timeout: Duration,
    ) -> Result<PendingResponse> {
        let (correlation_id, frame) = self.encode(request, version)?;
        let (reply, response) = oneshot::channel();
        {
            // Register before queueing, so the reader always finds the entry.
            let mut state = self.shared.lock();
            if let Some(error) = &state.closed {
                return Err(error.clone());
            }
            state.pending.insert(
                correlation_id,
                Pending {
                    api_key: request.api_key(),
                    version,
                    reply,
                },
            );
        }
        if self.outgoing.send(Outgoing::Frame(frame)).is_err() {
            self.shared.lock().pending.remove(&correlation_id);
            return Err(Error::ConnectionClosed {
                addr: self.addr.clone(),
            });
        }
        Ok(PendingResponse {
            response,
            timeout,
            shared: self.shared.clone(),
            reader: self.reader.clone(),
        })
    }
}

/// A request that is queued on its connection (so requests queued after it go out after it),
/// whose response has not been awaited yet.
#[derive(Debug)]
pub struct PendingResponse {
    response: oneshot::Receiver<Result<Response>>,
    timeout: Duration,
    shared: Arc<Shared>,
    reader: AbortHandle,
}

impl PendingResponse {
    /// Waits for the response, at most the timeout given when the request was queued; a
    /// timeout closes the connection.
    pub async fn wait(self) -> Result<Response> {
        match tokio::time::timeout(self.timeout, self.response).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err(Error::ConnectionClosed {
                addr: self.shared.addr.clone(),
            }),
            Err(_) => {
                tracing::debug!(addr = self.shared.addr, timeout = ?self.timeout, "request timed out, closing");
                self.shared.fail(Error::Timeout(self.timeout));
                self.reader.abort();
                Err(Error::Timeout(self.timeout))
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (single inserts/removes).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection closed with `error` (first error wins), fails every request in
    /// flight, and stops the writer, which drops the socket's write half.
    fn fail(&self, error: Error) {
        let pending = {
            let mut state = self.lock();
            if state.closed.is_none() {
                state.closed = Some(error);
            }
            std::mem::take(&mut state.pending)
        };
        let error = self.lock().closed.clone();
        for (_, pending) in pending {
            let error = error.clone().unwrap_or(Error::ConnectionClosed {
                addr: self.addr.clone(),
            });
            // The caller may have given up (timeout); nothing to tell then.
            let _ = pending.reply.send(Err(error));
        }
        if let Some(writer) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            writer.abort();
        }
    }

    /// Hands one response frame to the request waiting on its correlation id.
    fn dispatch(&self, frame: Bytes) -> Result<()> {
        let Some(&[c0, c1, c2, c3]) = frame.get(..4) else {
            return Err(Error::Protocol(Arc::new(
                strom_protocol::Error::Truncated {
                    needed: 4,
                    remaining: frame.len(),
                },
            )));
        };
        let correlation_id = i32::from_be_bytes([c0, c1, c2, c3]);
        let Some(pending) = self.lock().pending.remove(&correlation_id) else {
            return Err(Error::UnknownCorrelationId(correlation_id));
        };
        let res = decode(frame, pending.api_key, pending.version);
        let _ = pending.reply.send(res);
        Ok(())
    }
}

/// Decodes a response frame. An ApiVersions response that does not decode at the version asked
/// for, or carries an error, is tried as v0: brokers answer an ApiVersions version they do not
/// know with a v0 error response listing what they support.
fn decode(frame: Bytes, api_key: ApiKey, version: i16) -> Result<Response> {
    let res = decode_response(frame.clone(), api_key, version);
    if api_key == ApiKey::ApiVersions && version > 0 {
        let rejected = match &res {
            Ok((_, Response::ApiVersions(response))) => response.error_code != 0,
            _ => true,
        };
        if rejected && let Ok((_, response)) = decode_response(frame, api_key, 0) {
            return Ok(response);
        }
    }
    let (_, response) = res?;
    Ok(response)
}

/// Records of a Produce partition at least this large are not copied into the request frame:
/// the frame is written in parts around them.
const SPLICE_MIN: usize = 16 * 1024;

/// Frame parts at least this large are written as they are rather than gathered.
const LARGE_PART: usize = 64 * 1024;

/// Encodes a Produce request with its large records as separate parts of the frame.
fn encode_produce(
    header: &RequestHeader,
    request: &ProduceRequest,
    version: i16,
) -> Result<Option<Vec<Bytes>>> {
    let mut request = request.clone();
    let mut spliced = Vec::new();
    let partitions = request
        .topic_data
        .iter_mut()
        .flat_map(|topic| topic.partition_data.iter_mut());
    for partition in partitions {
        if let Some(records) = &partition.records
            && records.len() >= SPLICE_MIN
        {
            spliced.push(records.clone());
            partition.records = Some(Bytes::from_static(RECORDS_MARKER));
        }
    }
    if spliced.is_empty() {
        return Ok(None);
    }
    let total: usize = spliced.iter().map(Bytes::len).sum();
    let mut buf = BytesMut::with_capacity(1024);
    encode_request(header, &Request::Produce(request), &mut buf)?;
    let parts = splice_records(buf.freeze(), ApiKey::Produce.is_flexible(version), spliced)
        .ok_or(strom_protocol::Error::TooLong(total))?;
    Ok(Some(parts))
}

async fn write_loop(
    shared: Arc<Shared>,
    mut write_half: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut buf = BytesMut::new();
    let mut drained = Vec::new();
    while let Some(item) = queue.recv().await {
        // Gather whatever else is queued so that pipelined requests go out in few writes; large
        // parts (records) go out as they are, without being copied into the buffer.
        let mut next = Some(item);
        let mut res = Ok(());
        while let Some(item) = next.take() {
            match item {
                Outgoing::Frame(frame) => res = write_parts(&mut write_half, &mut buf, frame).await,
                Outgoing::Drained(reply) => drained.push(reply),
            }
            if res.is_err() || buf.len() >= WRITE_BATCH_MAX {
                break;
            }
            next = queue.try_recv().ok();
        }
        if res.is_ok() && !buf.is_empty() {
            res = write_half.write_all(&buf).await;
            buf.clear();
        }
        if res.is_ok() {
            for reply in drained.drain(..) {
                let _ = reply.send(());
            }
        }
        if let Err(error) = res {
            shared.fail(Error::Io {
                addr: shared.addr.clone(),
                source: Arc::new(error),
            });
            return;
        }
    }
}

/// Appends small parts of a frame to `buf`; writes `buf` and then a large part directly.
async fn write_parts(
    write_half: &mut OwnedWriteHalf,
    buf: &mut BytesMut,
    parts: Vec<Bytes>,
) -> std::io::Result<()> {
    for part in parts {
        if part.len() < LARGE_PART {
            buf.extend_from_slice(&part);
            continue;
        }
        if !buf.is_empty() {
            write_half.write_all(buf).await?;
            buf.clear();
        }
        write_half.write_all(&part).await?;
    }
    Ok(())
}

async fn read_loop(shared: Arc<Shared>, mut read_half: OwnedReadHalf, max_response_size: u32) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            match split_frame(&mut buf, max_response_size) {
                Ok(Some(frame)) => {
                    if let Err(error) = shared.dispatch(frame) {
                        tracing::warn!(addr = shared.addr, %error, "closing connection");
                        shared.fail(error);
                        return;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    shared.fail(error.into());
                    return;
                }
            }
        }
        match read_half.read_buf(&mut buf).await {
            Ok(0) => {
                shared.fail(Error::ConnectionClosed {
                    addr: shared.addr.clone(),
                });
                return;
            }
            Ok(_) => {}
            Err(error) => {
                shared.fail(Error::Io {
                    addr: shared.addr.clone(),
                    source: Arc::new(error),
                });
                return;
            }
        }
    }
}
