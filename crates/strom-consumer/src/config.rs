//! [`ConsumerConfig`]: the consumer's settings, each documented with its Kafka client key and
//! Kafka's default, with [`IsolationLevel`] and [`AutoOffsetReset`], including the group
//! settings (`group.id`, timeouts, assignors, auto commit). It checks combinations
//! ([`ConsumerConfig::validate`]); it does not parse properties files.

use std::time::Duration;

use strom_client::ClientConfig;
use strom_group::Assignor;

use crate::{Error, Result};

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
    /// `check.crcs`: verify the CRC-32C of every fetched batch (default true, as Kafka's Java
    /// consumer; librdkafka's default is false). Compressed batches are always verified.
    pub check_crcs: bool,
    /// `isolation.level` (default read_uncommitted).
    pub isolation_level: IsolationLevel,
    /// `auto.offset.reset` (default latest).
    pub auto_offset_reset: AutoOffsetReset,
    /// `group.id`: the consumer group to join with [`crate::Consumer::subscribe`] and to commit
    /// offsets for (default none: `subscribe` and commits fail).
    pub group_id: Option<String>,
    /// `group.instance.id`: makes the member static (KIP-345): it keeps its assignment across
    /// restarts within `session.timeout.ms` and sends no LeaveGroup on close (default none).
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`: the coordinator removes a member that sent no heartbeat for this
    /// long (default 45 s).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`: how often the background task heartbeats; must be below
    /// `session.timeout.ms` (default 3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`: the member leaves the group when the application does not poll
    /// for this long; also the rebalance timeout sent in JoinGroup (default 5 min).
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy`: the assignors offered in JoinGroup, in preference order
    /// (default `[range, cooperative-sticky]`, as Java 3+). Rebalances are cooperative
    /// (KIP-429) only when every assignor listed is cooperative, as in Java.
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `enable.auto.commit`: commit the positions every `auto.commit.interval.ms` inside
    /// `poll`, before partitions are revoked, and on close (default true; needs `group.id`).
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms` (default 5 s).
    pub auto_commit_interval: Duration,
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
            check_crcs: true,
            isolation_level: IsolationLevel::ReadUncommitted,
            auto_offset_reset: AutoOffsetReset::Latest,
            group_id: None,
            group_instance_id: None,
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            partition_assignment_strategy: vec![Assignor::Range, Assignor::CooperativeSticky],
            enable_auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
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

    /// Checks the settings and their combinations: durations within Kafka's 32-bit range,
    /// `heartbeat.interval.ms` below `session.timeout.ms`, at least one assignor, a non-empty
    /// `group.id` when given, and `group.instance.id` only with a `group.id`.
    pub fn validate(&self) -> Result<()> {
        self.client.validate()?;
        for (name, value) in [
            ("fetch.max.wait.ms", self.fetch_max_wait),
            ("session.timeout.ms", self.session_timeout),
            ("heartbeat.interval.ms", self.heartbeat_interval),
            ("max.poll.interval.ms", self.max_poll_interval),
            ("auto.commit.interval.ms", self.auto_commit_interval),
        ] {
            strom_client::check_duration(name, value)?;
        }
        if self.max_poll_records == 0 {
            return Err(Error::Config(
                "max.poll.records must be at least 1".to_owned(),
            ));
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval >= self.session_timeout {
            return Err(Error::Config(format!(
                "heartbeat.interval.ms ({} ms) must be above 0 and below session.timeout.ms ({} ms)",
                self.heartbeat_interval.as_millis(),
                self.session_timeout.as_millis()
            )));
        }
        if self.partition_assignment_strategy.is_empty() {
            return Err(Error::Config(
                "partition.assignment.strategy lists no assignor".to_owned(),
            ));
        }
        if self.group_id.as_deref() == Some("") {
            return Err(Error::Config("group.id is empty".to_owned()));
        }
        if self.group_instance_id.is_some() && self.group_id.is_none() {
            return Err(Error::Config(
                "group.instance.id needs a group.id".to_owned(),
            ));
        }
        if self.group_instance_id.as_deref() == Some("") {
            return Err(Error::Config("group.instance.id is empty".to_owned()));
        }
        Ok(())
    }

    /// Whether rebalances follow the cooperative protocol: every assignor is cooperative.
    pub(crate) fn cooperative(&self) -> bool {
        self.partition_assignment_strategy
            .iter()
            .all(|assignor| *assignor == Assignor::CooperativeSticky)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(config: ConsumerConfig, expect: Option<&str>) {
        let res = config.validate().err().map(|error| error.to_string());
        assert_eq!(res.as_deref(), expect);
    }

    #[test]
    fn validate_rejects_bad_combinations() {
        check(ConsumerConfig::default(), None);
        check(
            ConsumerConfig {
                heartbeat_interval: Duration::from_secs(10),
                session_timeout: Duration::from_secs(10),
                ..ConsumerConfig::default()
            },
            Some(
                "invalid configuration: heartbeat.interval.ms (10000 ms) must be above 0 and \
                 below session.timeout.ms (10000 ms)",
            ),
        );
        check(
            ConsumerConfig {
                partition_assignment_strategy: Vec::new(),
                ..ConsumerConfig::default()
            },
            Some("invalid configuration: partition.assignment.strategy lists no assignor"),
        );
        check(
            ConsumerConfig {
                group_instance_id: Some("i".to_owned()),
                ..ConsumerConfig::default()
            },
            Some("invalid configuration: group.instance.id needs a group.id"),
        );
        check(
            ConsumerConfig {
                group_id: Some(String::new()),
                ..ConsumerConfig::default()
            },
            Some("invalid configuration: group.id is empty"),
        );
        check(
            ConsumerConfig {
                max_poll_records: 0,
                ..ConsumerConfig::default()
            },
            Some("invalid configuration: max.poll.records must be at least 1"),
        );
    }

    #[test]
    fn cooperative_only_when_every_assignor_is() {
        assert!(!ConsumerConfig::default().cooperative());
        let config = ConsumerConfig {
            partition_assignment_strategy: vec![Assignor::CooperativeSticky],
            ..ConsumerConfig::default()
        };
        assert!(config.cooperative());
    }
}
