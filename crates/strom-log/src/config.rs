//! Per-log configuration with Kafka's topic-config names (as Rust fields) and Kafka's defaults.
//! Parsing from `key=value` strings is the broker's job; this module only holds and checks values.

use strom_record::TimestampType;

use crate::{Error, Result};

/// What happens to old data: Kafka's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupPolicy {
    /// `delete`: whole segments are deleted by `retention.ms` / `retention.bytes`.
    Delete,
    /// `compact`: the latest record per key is kept; nothing is deleted by age or size.
    Compact,
    /// `compact,delete`: both.
    CompactAndDelete,
}

/// Configuration of one partition log. Fields are Kafka's topic config names with `_` for `.`;
/// durations are milliseconds. `Default` gives Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll the active segment before it would exceed this size (default 1 GiB).
    pub segment_bytes: u64,
    /// `segment.ms`: roll the active segment once its first batch is this old (default 7 days).
    pub segment_ms: u64,
    /// `retention.ms`: delete segments whose newest timestamp is older (default 7 days;
    /// `None` = keep forever).
    pub retention_ms: Option<u64>,
    /// `retention.bytes`: delete the oldest segments while the log is larger (default `None`).
    pub retention_bytes: Option<u64>,
    /// `cleanup.policy` (default `delete`).
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long a tombstone survives compaction (default 1 day).
    pub delete_retention_ms: u64,
    /// `min.compaction.lag.ms`: records younger than this are not compacted (default 0).
    pub min_compaction_lag_ms: u64,
    /// `flush.messages`: fsync after this many appended records (default `None`: the OS decides).
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync when unflushed data is this old (default `None`: the OS decides).
    pub flush_ms: Option<u64>,
    /// `index.interval.bytes`: bytes of batches between two offset-index entries (default 4096).
    pub index_interval_bytes: u64,
    /// `max.message.bytes`: the largest batch accepted (default 1048588).
    pub max_message_bytes: u64,
    /// `message.timestamp.type` (default `CreateTime`).
    pub message_timestamp_type: TimestampType,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        const DAY_MS: u64 = 24 * 60 * 60 * 1000;
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * DAY_MS,
            retention_ms: Some(7 * DAY_MS),
            retention_bytes: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: DAY_MS,
            min_compaction_lag_ms: 0,
            flush_messages: None,
            flush_ms: None,
            index_interval_bytes: 4096,
            max_message_bytes: 1_048_588,
            message_timestamp_type: TimestampType::CreateTime,
        }
    }
}

impl LogConfig {
    /// Checks the values a log cannot work with. Positions in index files are 32-bit, so a
    /// segment is at most `i32::MAX` bytes, as in Kafka.
    pub fn validate(&self) -> Result<()> {
        if self.segment_bytes < 14 || self.segment_bytes > i32::MAX as u64 {
            return Err(Error::InvalidConfig {
                name: "segment.bytes",
                reason: format!("{} is not in [14, {}]", self.segment_bytes, i32::MAX),
            });
        }
        if self.segment_ms == 0 {
            return Err(Error::InvalidConfig {
                name: "segment.ms",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.flush_messages == Some(0) {
            return Err(Error::InvalidConfig {
                name: "flush.messages",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }
}

impl CleanupPolicy {
    /// Parses Kafka's spelling: `delete`, `compact`, `compact,delete` (either order).
    pub fn parse(value: &str) -> Result<CleanupPolicy> {
        let mut compact = false;
        let mut delete = false;
        for part in value.split(',').map(str::trim) {
            match part {
                "compact" => compact = true,
                "delete" => delete = true,
                _ => {
                    return Err(Error::InvalidConfig {
                        name: "cleanup.policy",
                        reason: format!("unknown policy {part:?}"),
                    });
                }
            }
        }
        match (compact, delete) {
            (true, true) => Ok(CleanupPolicy::CompactAndDelete),
            (true, false) => Ok(CleanupPolicy::Compact),
            (false, true) => Ok(CleanupPolicy::Delete),
            (false, false) => Err(Error::InvalidConfig {
                name: "cleanup.policy",
                reason: "empty".to_owned(),
            }),
        }
    }

    /// Whether retention by time and size applies.
    pub fn deletes(self) -> bool {
        matches!(
            self,
            CleanupPolicy::Delete | CleanupPolicy::CompactAndDelete
        )
    }

    /// Whether log compaction applies.
    pub fn compacts(self) -> bool {
        matches!(
            self,
            CleanupPolicy::Compact | CleanupPolicy::CompactAndDelete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_policy_parses_kafka_spellings() {
        assert_eq!(
            CleanupPolicy::parse("delete").unwrap(),
            CleanupPolicy::Delete
        );
        assert_eq!(
            CleanupPolicy::parse("compact").unwrap(),
            CleanupPolicy::Compact
        );
        assert_eq!(
            CleanupPolicy::parse("compact,delete").unwrap(),
            CleanupPolicy::CompactAndDelete
        );
        assert_eq!(
            CleanupPolicy::parse("delete, compact").unwrap(),
            CleanupPolicy::CompactAndDelete
        );
        assert!(CleanupPolicy::parse("remove").is_err());
        assert!(CleanupPolicy::parse("").is_err());
    }

    #[test]
    fn defaults_are_kafkas() {
        let config = LogConfig::default();
        assert_eq!(config.segment_bytes, 1_073_741_824);
        assert_eq!(config.retention_ms, Some(604_800_000));
        assert_eq!(config.max_message_bytes, 1_048_588);
        assert!(config.validate().is_ok());
        let config = LogConfig {
            segment_bytes: 1 << 32,
            ..LogConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
