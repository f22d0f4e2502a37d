//! The TCP server: accepts connections, reads size-prefixed request frames, runs a handler per
//! request and writes the responses back in request order.
//!
//! Each connection has a reader and a processor. The reader keeps reading frames ahead (a client
//! may pipeline requests) into a bounded queue; the processor runs the handler of each request
//! to completion, one at a time, and writes its reply before starting the next. Running a
//! connection's requests one after another is Kafka's contract, and clients depend on it:
//! pipelined Produce batches must be appended in the order they were sent, and two pipelined
//! OffsetCommits must take effect in order. A slow request (a long-polling fetch) therefore
//! delays later requests on its own connection only; other connections are independent. The
//! frame size is bounded, and a frame whose size prefix is out of range closes that connection
//! only. This module knows nothing about Kafka messages: the handler does.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};

/// Limits of the server (Kafka's `socket.request.max.bytes`, `max.connections`,
/// `connections.max.idle.ms`).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request frame accepted, not counting the 4-byte size prefix.
    pub max_frame_bytes: u32,
    /// Most connections open at once; further connections are closed at accept.
    pub max_connections: u32,
    /// A connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Most requests of one connection read ahead of the one being handled.
    pub max_in_flight: usize,
}

/// What a handler answers to one request frame.
#[derive(Debug)]
pub enum Reply {
    /// A response frame, size prefix included, as one or more byte ranges written back to back.
    Frame(Vec<Bytes>),
    /// No response (a Produce with acks=0).
    Nothing,
    /// Close the connection after the responses before this one (a malformed request).
    Close,
}

/// Information about the connection a request arrived on.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The client's address.
    pub address: SocketAddr,
}

/// Serves connections from `listener` until `shutdown` turns true, then stops accepting and
/// lets open connections finish the responses already queued.
pub async fn serve<H, F>(
    listener: TcpListener,
    config: ServerConfig,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Peer, Bytes) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(config.max_connections as usize));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, address) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!(%address, max = config.max_connections, "too many connections; closing the new one");
            drop(stream);
            continue;
        };
        let handler = handler.clone();
        let config = config.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let res = connection(stream, Peer { address }, &config, handler, shutdown).await;
            if let Err(error) = res {
                tracing::debug!(%address, %error, "connection closed with an error");
            }
            drop(permit);
        });
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}

async fn connection<H, F>(
    stream: TcpStream,
    peer: Peer,
    config: &ServerConfig,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()>
where
    H: Fn(Peer, Bytes) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    stream.set_nodelay(true)?;
    let (mut reader, writer) = stream.into_split();
    let mut frames = FrameReader::new(config.max_frame_bytes);
    let (queue, pending) = mpsc::channel::<Bytes>(config.max_in_flight.max(1));
    let processing = tokio::spawn(process_requests(peer, writer, pending, handler));
    loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(config.idle_timeout, frames.next(&mut reader)) => frame,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let frame = match frame {
            Err(_elapsed) => {
                tracing::debug!(address = %peer.address, "closing idle connection");
                break;
            }
            Ok(Ok(Some(frame))) => frame,
            Ok(Ok(None)) => break,
            Ok(Err(error)) => {
                tracing::debug!(address = %peer.address, %error, "closing connection after a bad frame");
                break;
            }
        };
        if queue.send(frame).await.is_err() {
            // The processor stopped (the client went away or a handler asked to close).
            break;
        }
    }
    drop(queue);
    match processing.await {
        Ok(res) => res,
        Err(join_error) => Err(io::Error::other(join_error)),
    }
}

/// Splits size-prefixed frames off one buffer per connection. Reads are large (whatever has
/// arrived, up to the read-ahead size), so a burst of small pipelined requests costs a few
/// syscalls, and the buffer's memory is reused once the frames split off it are dropped.
struct FrameReader {
    buffer: BytesMut,
    max_frame_bytes: u32,
}

/// How much the buffer asks the socket for at a time.
const READ_AHEAD_BYTES: usize = 64 * 1024;

impl FrameReader {
    fn new(max_frame_bytes: u32) -> FrameReader {
        FrameReader {
            buffer: BytesMut::with_capacity(READ_AHEAD_BYTES),
            max_frame_bytes,
        }
    }

    /// Reads one frame. `Ok(None)` is a clean end of stream between frames.
    async fn next(
        &mut self,
        reader: &mut (impl AsyncReadExt + Unpin),
    ) -> io::Result<Option<Bytes>> {
        if !self.fill(reader, 4).await? {
            return Ok(None);
        }
        let mut prefix = [0u8; 4];
        prefix.copy_from_slice(&self.buffer[..4]);
        let size = i32::from_be_bytes(prefix);
        let Ok(size) = u32::try_from(size) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("negative frame size {size}"),
            ));
        };
        if size > self.max_frame_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "frame of {size} bytes exceeds socket.request.max.bytes ({})",
                    self.max_frame_bytes
                ),
            ));
        }
        let total = 4 + size as usize;
        if !self.fill(reader, total).await? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed inside a frame",
            ));
        }
        let mut frame = self.buffer.split_to(total);
        let _prefix = frame.split_to(4);
        Ok(Some(frame.freeze()))
    }

    /// Reads until the buffer holds at least `want` bytes; `false` when the stream ends first.
    /// The buffer grows only as bytes arrive (at most one read-ahead beyond them), so a client
    /// that announces a large frame and sends nothing costs no memory.
    async fn fill(
        &mut self,
        reader: &mut (impl AsyncReadExt + Unpin),
        want: usize,
    ) -> io::Result<bool> {
        while self.buffer.len() < want {
            // `reserve` reuses the buffer's allocation when the frames split off it are gone.
            self.buffer
                .reserve(READ_AHEAD_BYTES.max((want - self.buffer.len()).min(1024 * 1024)));
            if reader.read_buf(&mut self.buffer).await? == 0 {
                if self.buffer.is_empty() || want > 4 {
                    return Ok(false);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a frame size",
                ));
            }
        }
        Ok(true)
    }
}

/// Handles the queued requests of one connection in order, each to completion before the next,
/// and writes the replies.
async fn process_requests<H, F>(
    peer: Peer,
    writer: tokio::net::tcp::OwnedWriteHalf,
    mut pending: mpsc::Receiver<Bytes>,
    handler: H,
) -> io::Result<()>
where
    H: Fn(Peer, Bytes) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let mut writer = BufWriter::with_capacity(64 * 1024, writer);
    while let Some(frame) = pending.recv().await {
        // The handler runs as its own task so that a bug that panics in it is caught here.
        let reply = match tokio::spawn(handler(peer, frame)).await {
            Ok(reply) => reply,
            // A handler that panicked is a bug; the connection cannot continue in order.
            Err(join_error) => return Err(io::Error::other(join_error)),
        };
        match reply {
            Reply::Frame(parts) => {
                for part in parts {
                    writer.write_all(&part).await?;
                }
            }
            Reply::Nothing => {}
            Reply::Close => break,
        }
        // Every reply goes out as soon as it is ready, as Kafka's broker sends it: held back
        // until the pipelined requests behind it were handled too, a client with a full
        // in-flight window waits for the whole window, and then sends its next requests in a
        // burst while the broker idles.
        writer.flush().await?;
    }
    writer.flush().await?;
    writer.shutdown().await
}
