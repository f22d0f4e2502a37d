//! The settings the client core needs, named after Kafka's client configuration keys and with
//! Kafka's defaults. The producer and consumer configs embed this struct; it does not parse
//! properties files.

use std::time::Duration;

use crate::{Error, Result};

/// The longest duration a setting may hold: Kafka's `*.ms` settings are 32-bit ints, and the
/// bound keeps deadline arithmetic far from overflowing.
pub const MAX_CONFIG_DURATION: Duration = Duration::from_millis(i32::MAX as u64);

/// Connection, retry and metadata settings shared by every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `bootstrap.servers`: `host:port` addresses to fetch the first metadata from.
    pub bootstrap_servers: Vec<String>,
    /// `client.id`: sent in every request header (default empty).
    pub client_id: String,
    /// `request.timeout.ms`: how long to wait for a response (default 30 s). A request that
    /// times out closes its connection.
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`: how long a TCP connect may take (default 10 s).
    pub connection_setup_timeout: Duration,
    /// `retry.backoff.ms`: the first backoff between retries (default 100 ms).
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the backoff doubles per attempt up to this (default 1 s).
    pub retry_backoff_max: Duration,
    /// `metadata.max.age.ms`: metadata older than this is refreshed when next used, even
    /// without an error (default 5 min).
    pub metadata_max_age: Duration,
    /// `allow.auto.create.topics`: whether Metadata requests ask the broker to create missing
    /// topics (default true).
    pub allow_auto_create_topics: bool,
    /// The largest response frame accepted, in bytes (not a Kafka key; default 100 MiB, the
    /// broker's `socket.request.max.bytes`).
    pub max_response_size: u32,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            bootstrap_servers: vec!["localhost:9092".to_owned()],
            client_id: String::new(),
            request_timeout: Duration::from_secs(30),
            connection_setup_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            metadata_max_age: Duration::from_secs(300),
            allow_auto_create_topics: true,
            max_response_size: strom_protocol::DEFAULT_MAX_FRAME_SIZE,
        }
    }
}

impl ClientConfig {
    /// Defaults with `bootstrap_servers` set to the one address given.
    pub fn bootstrap(addr: impl Into<String>) -> ClientConfig {
        ClientConfig {
            bootstrap_servers: vec![addr.into()],
            ..ClientConfig::default()
        }
    }

    /// Checks the settings: some bootstrap server, and every duration at most
    /// [`MAX_CONFIG_DURATION`].
    pub fn validate(&self) -> Result<()> {
        if self.bootstrap_servers.is_empty() {
            return Err(Error::Config("bootstrap.servers is empty".to_owned()));
        }
        check_duration("request.timeout.ms", self.request_timeout)?;
        check_duration(
            "socket.connection.setup.timeout.ms",
            self.connection_setup_timeout,
        )?;
        check_duration("retry.backoff.ms", self.retry_backoff)?;
        check_duration("retry.backoff.max.ms", self.retry_backoff_max)?;
        check_duration("metadata.max.age.ms", self.metadata_max_age)
    }
}

/// Checks that the setting `name` is at most [`MAX_CONFIG_DURATION`].
pub fn check_duration(name: &str, value: Duration) -> Result<()> {
    if value > MAX_CONFIG_DURATION {
        return Err(Error::Config(format!(
            "{name} must be at most {} ms",
            MAX_CONFIG_DURATION.as_millis()
        )));
    }
    Ok(())
}

/// Exponential backoff: `retry.backoff.ms` doubling per attempt up to `retry.backoff.max.ms`,
/// with up to 20% taken off at random (as Kafka does) so that clients do not retry in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempts: u32,
    jitter_state: u64,
}

impl Backoff {
    /// A backoff starting at `config.retry_backoff`.
    pub fn new(config: &ClientConfig) -> Backoff {
        Backoff::with_seed(config, 0x9e37_79b9_7f4a_7c15)
    }

    /// Like [`Backoff::new`] with a chosen jitter seed (for tests).
    pub fn with_seed(config: &ClientConfig, seed: u64) -> Backoff {
        Backoff {
            initial: config.retry_backoff,
            max: config.retry_backoff_max.max(config.retry_backoff),
            attempts: 0,
            jitter_state: seed | 1,
        }
    }

    /// Sleeps for the next delay, unless it would end at or after `deadline`: then returns
    /// `false` at once, and the caller gives up with its last error.
    pub async fn sleep_before(&mut self, deadline: tokio::time::Instant) -> bool {
        let delay = self.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            return false;
        }
        tokio::time::sleep(delay).await;
        true
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 1u32 << self.attempts.min(20);
        self.attempts = self.attempts.saturating_add(1);
        let base = self.initial.saturating_mul(factor).min(self.max);
        // xorshift64: deterministic per seed, good enough to spread retries.
        self.jitter_state ^= self.jitter_state << 13;
        self.jitter_state ^= self.jitter_state >> 7;
        self.jitter_state ^= self.jitter_state << 17;
        let jitter_percent = u32::try_from(self.jitter_state % 21).unwrap_or(0);
        base.saturating_sub(base.saturating_mul(jitter_percent) / 100)
    }

    /// How many delays were handed out.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_bounded_jitter() {
        let config = ClientConfig::default();
        let mut backoff = Backoff::with_seed(&config, 42);
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        let bases = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
        for (delay, base) in delays.iter().zip(bases) {
            let base = Duration::from_millis(base);
            assert!(*delay <= base && *delay >= base * 80 / 100, "{delays:?}");
        }
        assert_eq!(backoff.attempts(), 8);
    }

    #[test]
    fn durations_are_bounded() {
        assert!(ClientConfig::default().validate().is_ok());
        let config = ClientConfig {
            request_timeout: Duration::MAX,
            ..ClientConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid configuration: request.timeout.ms must be at most 2147483647 ms"
        );
        let config = ClientConfig {
            bootstrap_servers: Vec::new(),
            ..ClientConfig::default()
        };
        assert!(matches!(config.validate(), Err(Error::Config(_))));
    }
}
