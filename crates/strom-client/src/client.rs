//! [`Client`]: the shared core the producer and consumer are built on. It bootstraps from a list
//! of addresses, keeps one pipelined [`Connection`] per broker (reopened after a failure), and
//! caches cluster metadata, refreshing it when an error says it is wrong
//! ([`Client::invalidate_metadata`]) and when it is older than `metadata.max.age.ms`.
//!
//! It does not interpret partition-level errors inside responses: callers pass those to
//! [`Client::note_error`] and decide themselves whether to retry.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use strom_protocol::messages::metadata::{MetadataRequest, MetadataRequestTopic};
use strom_protocol::{ApiKey, Request, Response};
use tokio::time::Instant;

use crate::{
    Backoff, BrokerId, ClientConfig, Connection, Error, Metadata, PendingResponse, Result,
};

/// A handle on the cluster; cheap to clone, shared by tasks.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ClientConfig,
    /// Open connections by `host:port`.
    connections: tokio::sync::Mutex<HashMap<String, Arc<Connection>>>,
    cache: Mutex<Cache>,
    /// Serialises refreshes so that concurrent callers share one Metadata request.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Cache {
    metadata: Arc<Metadata>,
    fetched_at: Option<Instant>,
    stale: bool,
    /// Topics some caller asked about; every refresh asks for all of them.
    topics: BTreeSet<String>,
}

impl Client {
    /// Connects to the first reachable bootstrap server and fetches the broker list.
    pub async fn connect(config: ClientConfig) -> Result<Client> {
        config.validate()?;
        let res = Client {
            inner: Arc::new(Inner {
                config,
                connections: tokio::sync::Mutex::new(HashMap::new()),
                cache: Mutex::new(Cache::default()),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        };
        res.refresh_metadata().await?;
        Ok(res)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The cached metadata, however old.
    pub fn cached_metadata(&self) -> Arc<Metadata> {
        self.lock_cache().metadata.clone()
    }

    /// The partition count of `topic` in the cached metadata, without fetching (and without
    /// taking a reference to the whole cache, which a per-record caller would pay for).
    pub fn cached_partition_count(&self, topic: &str) -> Option<u32> {
        self.lock_cache().metadata.partition_count(topic)
    }

    /// Metadata covering `topics`, refreshed first if a topic is missing from the cache, the
    /// cache was invalidated, or it is older than `metadata.max.age.ms`.
    pub async fn metadata_for(&self, topics: &[&str]) -> Result<Arc<Metadata>> {
        let fresh = {
            let mut cache = self.lock_cache();
            let mut missing = false;
            for topic in topics {
                missing |= !cache.metadata.topics.contains_key(*topic);
                cache.topics.insert((*topic).to_owned());
            }
            let aged = cache
                .fetched_at
                .is_none_or(|at| at.elapsed() >= self.inner.config.metadata_max_age);
            (!missing && !cache.stale && !aged).then(|| cache.metadata.clone())
        };
        match fresh {
            Some(metadata) => Ok(metadata),
            None => self.refresh_metadata().await,
        }
    }

    /// Marks the cache stale: the next [`Client::metadata_for`] refreshes it.
    pub fn invalidate_metadata(&self) {
        self.lock_cache().stale = true;
    }

    /// Invalidates the cache if `error` says it is wrong (NOT_LEADER_OR_FOLLOWER,
    /// UNKNOWN_TOPIC_OR_PARTITION, a broken connection, ...).
    pub fn note_error(&self, error: &Error) {
        if error.invalidates_metadata() {
            self.invalidate_metadata();
        }
    }

    /// Fetches metadata for every topic callers asked about, retrying retriable failures with
    /// backoff until `request.timeout.ms` has passed.
    pub async fn refresh_metadata(&self) -> Result<Arc<Metadata>> {
        let started = self.lock_cache().fetched_at;
        let _guard = self.inner.refreshing.lock().await;
        {
            // Someone else refreshed while we waited for the lock.
            let cache = self.lock_cache();
            if cache.fetched_at != started && !cache.stale {
                return Ok(cache.metadata.clone());
            }
        }
        let topics: Vec<String> = self.lock_cache().topics.iter().cloned().collect();
        let request = MetadataRequest {
            topics: Some(
                topics
                    .into_iter()
                    .map(|name| MetadataRequestTopic {
                        name: Some(name),
                        ..MetadataRequestTopic::default()
                    })
                    .collect(),
            ),
            allow_auto_topic_creation: self.inner.config.allow_auto_create_topics,
            ..MetadataRequest::default()
        };
        let deadline = Instant::now() + self.inner.config.request_timeout;
        let mut backoff = Backoff::new(&self.inner.config);
        loop {
            let error = match self.send_any(request.clone()).await {
                Ok(Response::Metadata(response)) => {
                    let metadata = Arc::new(Metadata::from_response(&response));
                    let mut cache = self.lock_cache();
                    cache.metadata = metadata.clone();
                    cache.fetched_at = Some(Instant::now());
                    cache.stale = false;
                    return Ok(metadata);
                }
                Ok(other) => Error::UnexpectedResponse {
                    expected: ApiKey::Metadata,
                    actual: other.api_key(),
                },
                Err(error) => error,
            };
            let delay = backoff.next_delay();
            if !error.is_retriable() || Instant::now() + delay >= deadline {
                return Err(error);
            }
            tracing::debug!(%error, ?delay, "metadata refresh failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// The leader of `topic`-`partition`, refreshing metadata if needed.
    pub async fn leader_for(&self, topic: &str, partition: i32) -> Result<BrokerId> {
        self.metadata_for(&[topic]).await?.leader(topic, partition)
    }

    /// Sends `request` to `broker` and waits for the response (`request.timeout.ms`).
    pub async fn send(&self, broker: BrokerId, request: impl Into<Request>) -> Result<Response> {
        let timeout = self.inner.config.request_timeout;
        self.send_with_timeout(broker, request, timeout).await
    }

    /// Like [`Client::send`] with an explicit timeout.
    pub async fn send_with_timeout(
        &self,
        broker: BrokerId,
        request: impl Into<Request>,
        timeout: Duration,
    ) -> Result<Response> {
        let connection = self.connection(broker).await?;
        let res = connection.send_with_timeout(request, timeout).await;
        if let Err(error) = &res {
            self.note_error(error);
        }
        res
    }

    /// Queues `request` on the connection to `broker` (opening it if needed) and returns a
    /// handle to await the response with (`request.timeout.ms`). Requests queued in sequence
    /// are written in that order.
    pub async fn enqueue(
        &self,
        broker: BrokerId,
        request: impl Into<Request>,
    ) -> Result<PendingResponse> {
        let connection = self.connection(broker).await?;
        let res = connection.enqueue(request, self.inner.config.request_timeout);
        if let Err(error) = &res {
            self.note_error(error);
        }
        res
    }

    /// Sends `request` to `broker` without waiting for a response (Produce with `acks=0`).
    pub async fn send_no_response(
        &self,
        broker: BrokerId,
        request: impl Into<Request>,
    ) -> Result<()> {
        let connection = self.connection(broker).await?;
        connection.send_no_response(request)
    }

    /// Sends `request` to any reachable broker: the known brokers first, then the bootstrap
    /// servers.
    pub async fn send_any(&self, request: impl Into<Request>) -> Result<Response> {
        let request = request.into();
        let mut addrs: Vec<String> = self.cached_metadata().brokers.values().cloned().collect();
        for addr in &self.inner.config.bootstrap_servers {
            if !addrs.contains(addr) {
                addrs.push(addr.clone());
            }
        }
        let mut last_error = None;
        for addr in &addrs {
            let connection = match self.connection_to(addr).await {
                Ok(connection) => connection,
                Err(error) => {
                    tracing::debug!(addr, %error, "broker unreachable");
                    last_error = Some(error);
                    continue;
                }
            };
            match connection.send(request.clone()).await {
                Ok(response) => return Ok(response),
                Err(error) if error.is_retriable() => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        match last_error {
            Some(Error::Connect { .. }) | None => Err(Error::NoBrokerAvailable(addrs)),
            Some(error) => Err(error),
        }
    }

    /// The open connection to `broker`, opening one if needed.
    pub async fn connection(&self, broker: BrokerId) -> Result<Arc<Connection>> {
        let addr = {
            let cache = self.lock_cache();
            cache.metadata.brokers.get(&broker).cloned()
        };
        let Some(addr) = addr else {
            self.invalidate_metadata();
            return Err(Error::UnknownBroker(broker));
        };
        self.connection_to(&addr).await
    }

    /// Closes every connection, once what was queued on it (such as Produce requests with
    /// `acks=0`) has been written, or `request.timeout.ms` has passed.
    pub async fn close(&self) {
        let connections = std::mem::take(&mut *self.inner.connections.lock().await);
        let timeout = self.inner.config.request_timeout;
        for connection in connections.values() {
            connection.close_after_queued(timeout).await;
        }
    }

    /// The open connection to `addr`, opening one if there is none or the last one failed.
    async fn connection_to(&self, addr: &str) -> Result<Arc<Connection>> {
        let mut connections = self.inner.connections.lock().await;
        if let Some(connection) = connections.get(addr)
            && !connection.is_closed()
        {
            return Ok(connection.clone());
        }
        let connection = Arc::new(Connection::connect(addr, &self.inner.config).await?);
        connections.insert(addr.to_owned(), connection.clone());
        Ok(connection)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache is replaced whole under the lock; a panic elsewhere cannot tear it.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
