//! [`ProducerConfig`]: the producer's settings, each documented with its Kafka client key and
//! Kafka's default, plus [`Acks`]. Validation follows the Java client: idempotence needs
//! `acks=all` and at most 5 requests in flight. It does not read properties files.

use std::time::Duration;

use strom_client::ClientConfig;
use strom_record::Compression;

use crate::{Error, Partitioner, Result};

/// `acks`: how many replicas must have a batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `acks=0`: the broker does not answer; offsets are unknown.
    None,
    /// `acks=1`: the leader has written the batch.
    Leader,
    /// `acks=all` (`-1`, Kafka's default): every in-sync replica has it.
    #[default]
    All,
}

/// The producer's settings. `Default` gives Kafka's defaults.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Connection, retry and metadata settings (`bootstrap.servers`, `client.id`,
    /// `request.timeout.ms`, `retry.backoff.ms`, `metadata.max.age.ms`, ...).
    pub client: ClientConfig,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records before it is sent (default 5 ms,
    /// Kafka 4's default).
    pub linger: Duration,
    /// `batch.size`: a batch holding this many bytes is sent without waiting for `linger.ms`
    /// (default 16384).
    pub batch_size: usize,
    /// `buffer.memory`: bytes of records waiting to be sent or acknowledged; `send` blocks when
    /// they are used up (default 32 MiB).
    pub buffer_memory: usize,
    /// `max.block.ms`: how long `send` may wait for buffer memory or metadata (default 60 s).
    pub max_block: Duration,
    /// `max.request.size`: the largest record (and request) accepted (default 1 MiB).
    pub max_request_size: usize,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `max.in.flight.requests.per.connection` (default 5; at most 5 with idempotence).
    pub max_in_flight_requests_per_connection: usize,
    /// `delivery.timeout.ms`: the longest a record may take from `send` to its
    /// acknowledgement, retries included (default 120 s).
    pub delivery_timeout: Duration,
    /// `enable.idempotence` (default true): the broker drops duplicates of retried batches and
    /// keeps each partition's batches in order.
    pub enable_idempotence: bool,
    /// `partitioner.class`: how records without an explicit partition are placed (default:
    /// murmur2 of the key, sticky for null keys).
    pub partitioner: Partitioner,
}

impl Default for ProducerConfig {
    fn default() -> ProducerConfig {
        ProducerConfig {
            client: ClientConfig::default(),
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16 * 1024,
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_secs(60),
            max_request_size: 1024 * 1024,
            compression: Compression::None,
            max_in_flight_requests_per_connection: 5,
            delivery_timeout: Duration::from_secs(120),
            enable_idempotence: true,
            partitioner: Partitioner::Default,
        }
    }
}

impl ProducerConfig {
    /// Defaults with `bootstrap.servers` set to the one address given.
    pub fn bootstrap(addr: impl Into<String>) -> ProducerConfig {
        ProducerConfig {
            client: ClientConfig::bootstrap(addr),
            ..ProducerConfig::default()
        }
    }

    /// Checks the settings against each other, as the Java client does.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        strom_client::check_duration("linger.ms", self.linger)?;
        strom_client::check_duration("max.block.ms", self.max_block)?;
        strom_client::check_duration("delivery.timeout.ms", self.delivery_timeout)?;
        if self.enable_idempotence && self.acks != Acks::All {
            return Err(Error::Config(
                "enable.idempotence requires acks=all".to_owned(),
            ));
        }
        if self.enable_idempotence && self.max_in_flight_requests_per_connection > 5 {
            return Err(Error::Config(
                "enable.idempotence requires max.in.flight.requests.per.connection <= 5".to_owned(),
            ));
        }
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(Error::Config(
                "max.in.flight.requests.per.connection must be at least 1".to_owned(),
            ));
        }
        if self.buffer_memory == 0 || u32::try_from(self.buffer_memory).is_err() {
            return Err(Error::Config(
                "buffer.memory must be between 1 and 4294967295".to_owned(),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::Config("batch.size must be at least 1".to_owned()));
        }
        Ok(())
    }

    /// The wire value of `acks`.
    pub(crate) fn acks_code(&self) -> i16 {
        match self.acks {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotence_constraints_are_checked() {
        assert!(ProducerConfig::default().validate().is_ok());
        let config = ProducerConfig {
            acks: Acks::Leader,
            ..ProducerConfig::default()
        };
        assert!(matches!(config.validate(), Err(Error::Config(_))));
        let config = ProducerConfig {
            acks: Acks::Leader,
            enable_idempotence: false,
            ..ProducerConfig::default()
        };
        assert!(config.validate().is_ok());
        let config = ProducerConfig {
            max_in_flight_requests_per_connection: 6,
            ..ProducerConfig::default()
        };
        assert!(matches!(config.validate(), Err(Error::Config(_))));
    }
}
