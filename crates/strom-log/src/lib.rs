//! strom-log: the partition log engine. A partition log is a directory of segment files
//! (`.log`, `.index`, `.timeindex`, named by base offset) with checkpoints beside them; this crate
//! appends validated batches, serves reads as file ranges, looks offsets up by timestamp, recovers
//! after a crash, enforces retention, compacts, and manages many logs under `log.dirs`.
//!
//! It is synchronous and never reads the clock: every operation that depends on time takes
//! `now: Timestamp`. It knows nothing about sockets, tokio or the Kafka wire protocol; the broker
//! owns those and drives the periodic work (retention, compaction, flush ticks) itself.
//!
//! ```
//! use strom_log::{Log, LogConfig};
//! use strom_record::{BatchBuilder, BatchConfig, Offset, Timestamp};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let now = Timestamp(1_700_000_000_000);
//! let mut log = Log::open(dir.path(), LogConfig::default(), now).unwrap();
//! let mut builder = BatchBuilder::new(BatchConfig::default());
//! builder.push(now, Some("k".into()), Some("v".into()), Vec::new());
//! let info = log.append(builder.build().unwrap(), now).unwrap();
//! assert_eq!(info.base_offset, Offset(0));
//! let slice = log.read(Offset(0), 1 << 20, log.log_end_offset()).unwrap();
//! assert_eq!(slice.read_to_bytes().unwrap().len() as u64, slice.len);
//! ```

mod checkpoint;
mod cleaner;
mod config;
mod epoch;
mod error;
mod file_slice;
mod index;
mod lock;
mod log;
mod manager;
mod producer;
mod scan;
mod segment;

pub use crate::cleaner::CompactionReport;
pub use crate::config::{CleanupPolicy, LogConfig};
pub use crate::epoch::EpochEntry;
pub use crate::error::Error;
pub use crate::file_slice::FileSlice;
pub use crate::lock::DirLock;
pub use crate::log::{AppendInfo, Log, RecoveryReport, RetentionReport};
pub use crate::manager::{LogManager, TopicPartition};
pub use crate::producer::{ProducerBatch, RETAINED_BATCHES};

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    /// The broker shares logs across threads behind its own locks.
    #[test]
    fn logs_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<crate::Log>();
        check::<crate::LogManager>();
        check::<crate::FileSlice>();
    }
}
