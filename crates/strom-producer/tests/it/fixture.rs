//! An in-process broker on 127.0.0.1:0 with a temporary data directory, topic creation, a
//! consumer that reads a whole partition, and a loopback proxy that can cut the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, RunningBroker};
use strom_client::{Client, ClientConfig, TopicPartition};
use strom_consumer::{AutoOffsetReset, Consumer, ConsumerConfig, ConsumerRecord};
use strom_protocol::Response;
use strom_protocol::messages::create_topics::{CreatableTopic, CreateTopicsRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A broker running in this process, with its data directory.
pub struct TestBroker {
    /// Kept so the data directory lives as long as the broker.
    _dir: tempfile::TempDir,
    pub running: RunningBroker,
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
        let sources = Sources {
            overrides: all,
            ..Sources::default()
        };
        let config = BrokerConfig::load(&sources).unwrap().config;
        let running = Broker::start(config).await.unwrap();
        TestBroker { _dir: dir, running }
    }

    /// The listener's `host:port`.
    pub fn addr(&self) -> String {
        self.running.local_addr().to_string()
    }
}

/// Creates `name` with `partitions` partitions through the broker at `addr`.
pub async fn create_topic(addr: &str, name: &str, partitions: i32) {
    let client = Client::connect(ClientConfig::bootstrap(addr))
        .await
        .unwrap();
    let request = CreateTopicsRequest {
        topics: vec![CreatableTopic {
            name: name.to_owned(),
            num_partitions: partitions,
            replication_factor: 1,
            ..CreatableTopic::default()
        }],
        ..CreateTopicsRequest::default()
    };
    let Response::CreateTopics(response) = client.send_any(request).await.unwrap() else {
        panic!("not a CreateTopics response");
    };
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
    client.close().await;
}

/// Reads `count` records from the start of the given partitions (fails after 20 s).
pub async fn read_all(
    addr: &str,
    partitions: Vec<TopicPartition>,
    count: usize,
) -> Vec<ConsumerRecord> {
    let config = ConsumerConfig {
        auto_offset_reset: AutoOffsetReset::Earliest,
        fetch_max_wait: Duration::from_millis(100),
        ..ConsumerConfig::bootstrap(addr)
    };
    let mut consumer = Consumer::new(config).await.unwrap();
    consumer.assign(partitions);
    let mut res = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while res.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "read {} of {count} records",
            res.len()
        );
        res.extend(consumer.poll(Duration::from_millis(200)).await.unwrap());
    }
    // Nothing beyond what was produced.
    res.extend(consumer.poll(Duration::from_millis(300)).await.unwrap());
    consumer.close().await;
    res
}

/// A TCP proxy on loopback in front of a broker. Once `armed`, it cuts the client connection
/// the first time the broker answers, without passing that answer on, so the requests it
/// answered were written but the client never learns it.
pub struct Proxy {
    pub port: u16,
    pub armed: Arc<AtomicBool>,
    /// While set, the broker's answers are held back (the client waits for them).
    pub stalled: Arc<AtomicBool>,
    pub cuts: Arc<AtomicUsize>,
    listener: Option<TcpListener>,
}

impl Proxy {
    /// Binds the proxy's port (so the broker can advertise it) without serving yet.
    pub async fn bind() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Proxy {
            port: listener.local_addr().unwrap().port(),
            armed: Arc::new(AtomicBool::new(false)),
            stalled: Arc::new(AtomicBool::new(false)),
            cuts: Arc::new(AtomicUsize::new(0)),
            listener: Some(listener),
        }
    }

    /// Starts forwarding connections to `target`.
    pub fn serve(&mut self, target: String) {
        let listener = self.listener.take().unwrap();
        let armed = self.armed.clone();
        let stalled = self.stalled.clone();
        let cuts = self.cuts.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(broker) = TcpStream::connect(&target).await else {
                    return;
                };
                let armed = armed.clone();
                let stalled = stalled.clone();
                let cuts = cuts.clone();
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut broker_read, mut broker_write) = broker.into_split();
                    let upstream = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut broker_write).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(read) = broker_read.read(&mut buf).await {
                        if read == 0 {
                            break;
                        }
                        while stalled.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        if armed.swap(false, Ordering::SeqCst) {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if client_write.write_all(&buf[..read]).await.is_err() {
                            break;
                        }
                    }
                    upstream.abort();
                });
            }
        });
    }
}
