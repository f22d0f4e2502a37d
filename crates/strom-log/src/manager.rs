//! The log manager: every partition log under one or more `log.dirs`, one directory per
//! partition named `topic-partition` as in Kafka. It locks each log dir (so two processes never
//! open the same data), finds the logs again on restart, creates new logs in the dir holding the
//! fewest, and deletes logs. It runs no threads: its owner calls the retention, compaction and
//! flush ticks. It does not know which topics should exist (the metadata layer does).

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use strom_record::Timestamp;

use crate::{
    CompactionReport, DirLock, Error, Log, LogConfig, Result, RetentionReport, checkpoint,
};

/// Suffix of a partition directory being deleted (removed on the next open if a crash stopped it).
const DELETED_SUFFIX: &str = ".deleted";

/// Prefix of the metadata log's directory (KRaft's `__cluster_metadata-0`), which lives among the
/// partition logs in the first log dir but belongs to strom-metadata, not to this manager.
const METADATA_DIR_PREFIX: &str = "__cluster_metadata-";

/// A topic partition; its directory name is `topic-partition`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name (Kafka topic names are `[a-zA-Z0-9._-]`, at most 249 characters).
    pub topic: String,
    /// Partition index.
    pub partition: u32,
}

/// Many partition logs under one or more log directories.
#[derive(Debug)]
pub struct LogManager {
    dirs: Vec<DirLock>,
    logs: HashMap<TopicPartition, Log>,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<String>, partition: u32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Parses a directory name `topic-partition` (the topic may itself contain `-`).
    pub fn parse(name: &str) -> Result<TopicPartition> {
        let bad = || Error::BadPartitionName {
            name: name.to_owned(),
        };
        let (topic, partition) = name.rsplit_once('-').ok_or_else(bad)?;
        let valid_topic = !topic.is_empty()
            && topic.len() <= 249
            && topic
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
        let partition = partition.parse::<u32>().map_err(|_| bad())?;
        if !valid_topic || topic == "." || topic == ".." {
            return Err(bad());
        }
        Ok(TopicPartition::new(topic, partition))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

impl LogManager {
    /// Locks every dir in `dirs` (creating them if needed) and opens every partition log found in
    /// them with `config` (the owner applies per-topic configs afterwards with
    /// [`Log::set_config`]). Partition deletions a crash interrupted are finished.
    pub fn open(dirs: &[PathBuf], config: &LogConfig, now: Timestamp) -> Result<LogManager> {
        let mut locks = Vec::with_capacity(dirs.len());
        let mut logs = HashMap::new();
        for dir in dirs {
            fs::create_dir_all(dir)?;
            let lock = DirLock::acquire(dir)?;
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                if name.starts_with(METADATA_DIR_PREFIX) {
                    continue;
                }
                if name.ends_with(DELETED_SUFFIX) {
                    fs::remove_dir_all(entry.path())?;
                    continue;
                }
                let Ok(topic_partition) = TopicPartition::parse(&name) else {
                    tracing::warn!(dir = %dir.display(), name, "ignoring a directory that is not a partition");
                    continue;
                };
                if logs.contains_key(&topic_partition) {
                    return Err(Error::LogExists { name });
                }
                let log = Log::open(&entry.path(), config.clone(), now)?;
                logs.insert(topic_partition, log);
            }
            locks.push(lock);
        }
        Ok(LogManager { dirs: locks, logs })
    }

    /// Creates the log of `topic_partition` in the log dir holding the fewest logs.
    pub fn create_log(
        &mut self,
        topic_partition: &TopicPartition,
        config: LogConfig,
        now: Timestamp,
    ) -> Result<&mut Log> {
        if self.logs.contains_key(topic_partition) {
            return Err(Error::LogExists {
                name: topic_partition.to_string(),
            });
        }
        let Some(dir) = self.dirs.iter().min_by_key(|lock| {
            self.logs
                .values()
                .filter(|log| log.dir().parent() == Some(lock.path()))
                .count()
        }) else {
            return Err(Error::InvalidConfig {
                name: "log.dirs",
                reason: "no log directory".to_owned(),
            });
        };
        let parent = dir.path().to_owned();
        let log = Log::open(&parent.join(topic_partition.to_string()), config, now)?;
        checkpoint::sync_dir(&parent)?;
        Ok(self.logs.entry(topic_partition.clone()).or_insert(log))
    }

    /// Deletes the log of `topic_partition` and its directory. The directory is first renamed to
    /// `<name>.deleted`, so a crash midway never leaves a half-deleted log that looks alive.
    pub fn delete_log(&mut self, topic_partition: &TopicPartition) -> Result<()> {
        let Some(log) = self.logs.remove(topic_partition) else {
            return Err(Error::UnknownLog {
                name: topic_partition.to_string(),
            });
        };
        let dir = log.dir().to_owned();
        drop(log);
        let deleted = dir.with_file_name(format!("{topic_partition}{DELETED_SUFFIX}"));
        fs::rename(&dir, &deleted)?;
        if let Some(parent) = dir.parent() {
            checkpoint::sync_dir(parent)?;
        }
        match fs::remove_dir_all(&deleted) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The log of `topic_partition`.
    pub fn get(&self, topic_partition: &TopicPartition) -> Option<&Log> {
        self.logs.get(topic_partition)
    }

    /// The log of `topic_partition`, for writing.
    pub fn get_mut(&mut self, topic_partition: &TopicPartition) -> Option<&mut Log> {
        self.logs.get_mut(topic_partition)
    }

    /// Every partition with a log, in no particular order.
    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.logs.keys()
    }

    /// The locked log dirs.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.dirs.iter().map(DirLock::path)
    }

    /// Runs retention on every log. Stops at the first error and returns it.
    pub fn enforce_retention(&mut self, now: Timestamp) -> Result<RetentionReport> {
        let mut res = RetentionReport::default();
        for log in self.logs.values_mut() {
            let report = log.enforce_retention(now)?;
            res.segments_deleted += report.segments_deleted;
            res.bytes_deleted += report.bytes_deleted;
        }
        Ok(res)
    }

    /// Runs compaction on every log whose policy asks for it.
    pub fn compact(&mut self, now: Timestamp) -> Result<CompactionReport> {
        let mut res = CompactionReport::default();
        for log in self.logs.values_mut() {
            let report = log.compact(now)?;
            res.segments_cleaned += report.segments_cleaned;
            res.records_removed += report.records_removed;
            res.bytes_before += report.bytes_before;
            res.bytes_after += report.bytes_after;
        }
        Ok(res)
    }

    /// Runs the `flush.ms` tick on every log.
    pub fn flush_tick(&mut self, now: Timestamp) -> Result<()> {
        for log in self.logs.values_mut() {
            log.flush_tick(now)?;
        }
        Ok(())
    }

    /// Closes every log cleanly (the first error is returned after trying them all), then
    /// releases the dir locks.
    pub fn close(self, now: Timestamp) -> Result<()> {
        let mut res = Ok(());
        for (_, log) in self.logs {
            let closed = log.close(now);
            if res.is_ok() {
                res = closed;
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names() {
        let check = |name: &str, expect: Option<(&str, u32)>| {
            let res = TopicPartition::parse(name).ok();
            assert_eq!(
                res,
                expect.map(|(topic, partition)| TopicPartition::new(topic, partition)),
                "{name}"
            );
            if let Some(topic_partition) = res {
                assert_eq!(topic_partition.to_string(), name);
            }
        };
        check("orders-0", Some(("orders", 0)));
        check("my-topic-12", Some(("my-topic", 12)));
        check("orders", None);
        check("orders-x", None);
        check("-3", None);
        check("a/b-1", None);
    }
}
