//! The TCP server: framing limits, pipelining order, connection caps, idle timeout, shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use strom_broker::server::{Peer, Reply, ServerConfig, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn config() -> ServerConfig {
    ServerConfig {
        max_frame_bytes: 1024,
        max_connections: 2,
        idle_timeout: Duration::from_secs(5),
        max_in_flight: 4,
    }
}

/// Echoes each frame back; a frame starting with a digit sleeps that many tens of
/// milliseconds first, so responses would come out of order if the server did not keep order;
/// one starting with `s` sleeps a second.
async fn echo(_peer: Peer, frame: Bytes) -> Reply {
    match frame.first() {
        Some(b'x') => return Reply::Close,
        Some(b'-') => return Reply::Nothing,
        Some(b's') => tokio::time::sleep(Duration::from_secs(1)).await,
        Some(digit @ b'0'..=b'9') => {
            tokio::time::sleep(Duration::from_millis(u64::from(digit - b'0') * 10)).await;
        }
        _ => {}
    }
    let size = Bytes::copy_from_slice(&(frame.len() as u32).to_be_bytes());
    Reply::Frame(vec![size, frame])
}

async fn start(config: ServerConfig) -> (SocketAddr, watch::Sender<bool>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, config, echo, stopped));
    (address, stop, task)
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut res = (body.len() as u32).to_be_bytes().to_vec();
    res.extend_from_slice(body);
    res
}

async fn read_reply(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await.ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).await.ok()?;
    Some(body)
}

#[tokio::test]
async fn pipelined_responses_keep_request_order() {
    let (address, _stop, _task) = start(config()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut requests = Vec::new();
    for body in [&b"5slow"[..], b"-no reply", b"0fast", b"2middle"] {
        requests.extend(frame(body));
    }
    stream.write_all(&requests).await.unwrap();
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"5slow");
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"0fast");
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"2middle");
}

#[tokio::test]
async fn a_reply_is_written_without_waiting_for_the_requests_pipelined_behind_it() {
    let (address, _stop, _task) = start(config()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut requests = frame(b"fast");
    requests.extend(frame(b"slow"));
    let sent = std::time::Instant::now();
    stream.write_all(&requests).await.unwrap();
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"fast");
    // The second request takes a second; the first reply must not wait for it.
    let waited = sent.elapsed();
    assert!(waited < Duration::from_millis(500), "{waited:?}");
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"slow");
    assert!(sent.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn oversized_or_negative_frame_closes_only_that_connection() {
    let (address, _stop, _task) = start(config()).await;
    let mut good = TcpStream::connect(address).await.unwrap();
    for bad_prefix in [2000u32.to_be_bytes(), (-5i32).to_be_bytes()] {
        let mut bad = TcpStream::connect(address).await.unwrap();
        bad.write_all(&bad_prefix).await.unwrap();
        assert_eq!(read_reply(&mut bad).await, None, "server must close");
    }
    good.write_all(&frame(b"still here")).await.unwrap();
    assert_eq!(read_reply(&mut good).await.unwrap(), b"still here");
}

#[tokio::test]
async fn close_reply_flushes_earlier_responses_then_closes() {
    let (address, _stop, _task) = start(config()).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut requests = frame(b"first");
    requests.extend(frame(b"x"));
    requests.extend(frame(b"never"));
    stream.write_all(&requests).await.unwrap();
    assert_eq!(read_reply(&mut stream).await.unwrap(), b"first");
    assert_eq!(read_reply(&mut stream).await, None);
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed() {
    let (address, _stop, _task) = start(config()).await;
    let mut first = TcpStream::connect(address).await.unwrap();
    let mut second = TcpStream::connect(address).await.unwrap();
    // Make sure both are accepted before the third arrives.
    for stream in [&mut first, &mut second] {
        stream.write_all(&frame(b"hi")).await.unwrap();
        assert_eq!(read_reply(stream).await.unwrap(), b"hi");
    }
    let mut third = TcpStream::connect(address).await.unwrap();
    let _ = third.write_all(&frame(b"hi")).await;
    assert_eq!(read_reply(&mut third).await, None);
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(100);
    let (address, _stop, _task) = start(config).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(read_reply(&mut stream).await, None);
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let (address, stop, task) = start(config()).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(address).await.is_err());
}

#[tokio::test]
async fn a_frame_announced_large_but_sent_slowly_is_assembled() {
    let mut config = config();
    config.max_frame_bytes = 4 * 1024 * 1024;
    let (address, _stop, _task) = start(config).await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    let body = vec![b'a'; 3 * 1024 * 1024];
    let bytes = frame(&body);
    let (head, tail) = bytes.split_at(1000);
    stream.write_all(head).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(tail).await.unwrap();
    assert_eq!(read_reply(&mut stream).await.unwrap(), body);
}

/// Kafka's contract: a connection's requests take effect in the order they were sent. A slow
/// first request must finish before a fast second one starts, even when both were pipelined.
#[tokio::test]
async fn pipelined_requests_are_handled_one_at_a_time_in_order() {
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let recorded = std::sync::Arc::clone(&events);
    let handler = move |_peer: Peer, frame: Bytes| {
        let events = std::sync::Arc::clone(&recorded);
        async move {
            let name = String::from_utf8_lossy(&frame).into_owned();
            events.lock().unwrap().push(format!("start {name}"));
            if let Some(digit @ b'0'..=b'9') = frame.first() {
                tokio::time::sleep(Duration::from_millis(u64::from(digit - b'0') * 10)).await;
            }
            events.lock().unwrap().push(format!("end {name}"));
            let size = Bytes::copy_from_slice(&(frame.len() as u32).to_be_bytes());
            Reply::Frame(vec![size, frame])
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (_stop, stopped) = watch::channel(false);
    let _task = tokio::spawn(serve(listener, config(), handler, stopped));

    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut requests = Vec::new();
    for body in [&b"5a"[..], b"0b", b"2c"] {
        requests.extend(frame(body));
    }
    stream.write_all(&requests).await.unwrap();
    for expected in [&b"5a"[..], b"0b", b"2c"] {
        assert_eq!(read_reply(&mut stream).await.unwrap(), expected);
    }
    assert_eq!(
        *events.lock().unwrap(),
        [
            "start 5a", "end 5a", "start 0b", "end 0b", "start 2c", "end 2c"
        ]
    );
}
