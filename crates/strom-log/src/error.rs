//! The crate's one error type. It names what went wrong; mapping to Kafka error codes is the
//! broker's job. I/O errors that mean "the disk is full" get their own variant so the broker can
//! answer `KAFKA_STORAGE_ERROR` with a useful message and operators can alert on it.

use std::io;
use std::path::PathBuf;

use strom_record::Offset;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested offset is outside `[log_start_offset, log_end_offset]`.
    #[error("offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: Offset,
        /// First offset the log still holds.
        log_start_offset: Offset,
        /// Offset the next appended record will get.
        log_end_offset: Offset,
    },
    /// A batch is larger than `max.message.bytes`.
    #[error("batch of {size_bytes} bytes exceeds max.message.bytes {max_bytes}")]
    RecordTooLarge {
        /// Size of the batch.
        size_bytes: u64,
        /// The configured limit.
        max_bytes: u64,
    },
    /// A replicated batch does not start at or after the log end offset.
    #[error("batch at offset {base_offset} does not follow the log end offset {log_end_offset}")]
    NonMonotonicOffset {
        /// Base offset of the batch.
        base_offset: Offset,
        /// The log end offset it should have followed.
        log_end_offset: Offset,
    },
    /// The device holding the log is full.
    #[error("no space left on device")]
    DiskFull(#[source] io::Error),
    /// An fsync failed. The kernel may have dropped the dirty pages, so what is on disk is unknown;
    /// the log refuses every further write until it is reopened (and recovered).
    #[error("fsync failed; the log refuses writes until it is reopened")]
    FlushFailed(#[source] io::Error),
    /// An earlier fsync or write failure left the log in an unknown state.
    #[error("the log failed earlier and refuses writes until it is reopened")]
    LogFailed,
    /// Bytes in a segment that should be valid (before the recovery point, or already recovered)
    /// are not.
    #[error("segment {base_offset} is corrupt at position {position}")]
    Corrupt {
        /// Base offset of the segment.
        base_offset: Offset,
        /// Byte position in the segment's `.log` file.
        position: u64,
    },
    /// A checkpoint file could not be parsed.
    #[error("checkpoint file {path} is malformed: {reason}")]
    BadCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process (or another open in this process) holds the directory lock.
    #[error("log directory {path} is locked by another process")]
    DirectoryLocked {
        /// The locked directory.
        path: PathBuf,
    },
    /// A directory name is not `topic-partition`.
    #[error("{name} is not a partition directory name")]
    BadPartitionName {
        /// The name found.
        name: String,
    },
    /// The partition log already exists.
    #[error("log for {name} already exists")]
    LogExists {
        /// `topic-partition`.
        name: String,
    },
    /// The partition log does not exist.
    #[error("no log for {name}")]
    UnknownLog {
        /// `topic-partition`.
        name: String,
    },
    /// A configuration value is out of range.
    #[error("invalid config {name}: {reason}")]
    InvalidConfig {
        /// Kafka's name of the setting.
        name: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A batch could not be parsed or rebuilt.
    #[error("invalid batch")]
    Record(#[from] strom_record::Error),
    /// Any other I/O error.
    #[error("i/o error")]
    Io(#[source] io::Error),
}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Error {
        if error.kind() == io::ErrorKind::StorageFull {
            return Error::DiskFull(error);
        }
        Error::Io(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_its_own_variant() {
        let error = Error::from(io::Error::from(io::ErrorKind::StorageFull));
        assert!(matches!(error, Error::DiskFull(_)));
        let error = Error::from(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(error, Error::Io(_)));
    }
}
