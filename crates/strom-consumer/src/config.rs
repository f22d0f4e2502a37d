//! [`ConsumerConfig`]: the consumer's settings, each documented with its Kafka client key and
//! Kafka's default, with [`IsolationLevel`] and [`AutoOffsetReset`]. Group settings
//! (`group.id`, session timeouts, assignors) come with group membership; they are not here.

use std::time::Duration;

use strom_client::ClientConfig;

/// `isolation.level`: which records of transactions a consumer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every record, including those of open and aborted transactions (default).
    #[default]
    ReadUncommitted,
    /// Only records below the last stable offset, without aborted transactions' records.
    ReadCommitted,
}

/// `auto.offset.reset`: where to start when there is no position or it is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The log end offset (the default).
    #[default]
    Latest,
    /// Fail the poll with an error.
    None,
}

/// The consumer's settings. `Default` gives Kafka's defaults.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Connection, retry and metadata settings (`bootstrap.servers`, `client.id`,
    /// `request.timeout.ms`, `retry.backoff.ms`, `metadata.max.age.ms`, ...).
    pub client: ClientConfig,
    /// `fetch.min.bytes`: the broker waits for this many bytes before answering a fetch
    /// (default 1).
    pub fetch_min_bytes: i32,
    /// `fetch.max.bytes`: the most a fetch response may hold (default 50 MiB).
    pub fetch_max_bytes: i32,
    /// `fetch.max.wait.ms`: how long the broker may wait for `fetch.min.bytes` (default
    /// 500 ms).
    pub fetch_max_wait: Duration,
    /// `max.partition.fetch.bytes`: the most one partition may return per fetch (default
    /// 1 MiB; a larger first batch is still returned whole by the broker).
    pub max_partition_fetch_bytes: i32,
    /// `max.poll.records`: the most records one poll returns (default 500).
    pub max_poll_records: usize,
    /// `isolation.level` (default read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// `auto.offset.reset` (default latest).
    pub auto_offset_reset: AutoOffsetReset,
}

impl Default for ConsumerConfig {
    fn default() -> ConsumerConfig {
        ConsumerConfig {
            client: ClientConfig::default(),
            fetch_min_bytes: 1,
            fetch_max_bytes: 50 * 1024 * 1024,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1024 * 1024,
            max_poll_records: 500,
            isolation_level: IsolationLevel::ReadUncommitted,
            auto_offset_reset: AutoOffsetReset::Latest,
        }
    }
}

impl ConsumerConfig {
    /// Defaults with `bootstrap.servers` set to the one address given.
    pub fn bootstrap(addr: impl Into<String>) -> ConsumerConfig {
        ConsumerConfig {
            client: ClientConfig::bootstrap(addr),
            ..ConsumerConfig::default()
        }
    }
}
