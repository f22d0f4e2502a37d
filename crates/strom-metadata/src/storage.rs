//! Durable storage of the metadata log on one node: the file that Raft replaces.
//!
//! A metadata directory (`<log.dir>/__cluster_metadata-0`) holds:
//! - `metadata.log`: record batches, each framed as `[length u32][crc32c u32][batch]` (big-endian,
//!   the CRC-32C covers the batch bytes), appended and fsynced before a change is acknowledged;
//! - `snapshot`: one frame holding the image's records as of some offset, replaced atomically
//!   (write `snapshot.tmp`, fsync, rename, fsync the directory);
//! - `.lock`: an exclusive advisory lock, so two processes never write the same log.
//!
//! Opening replays the snapshot and then every batch of the log after it. A frame that is short,
//! zero-length or fails its CRC ends the log: it and everything after it are the torn tail of a
//! write that was never acknowledged, and are truncated away. A frame that passes its CRC but
//! does not fit (an offset gap, an undecodable batch, a contradicting record) is real damage and
//! fails the open instead, so nothing acknowledged is dropped silently.
//!
//! After a snapshot the log is replaced by an empty one. A crash between the two leaves batches
//! the snapshot already covers; replay skips them by offset.
//!
//! This module does not decide which records to write (see `controller`).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ids::MetadataOffset;
use crate::image::MetadataImage;
use crate::record::{MetadataRecord, RecordBatch, decode_versioned, encode_versioned};
use crate::{Error, Result};

/// The metadata directory's name under the first log dir, as in Kafka's KRaft mode.
pub const METADATA_DIR_NAME: &str = "__cluster_metadata-0";

/// The log file's name in the metadata directory.
pub const LOG_FILE_NAME: &str = "metadata.log";

/// The snapshot file's name in the metadata directory.
pub const SNAPSHOT_FILE_NAME: &str = "snapshot";

const FRAME_HEADER_BYTES: usize = 8;

/// The metadata log of one node: an append-only file of record batches plus a snapshot.
#[derive(Debug)]
pub struct MetadataLog {
    dir: PathBuf,
    file: File,
    size_bytes: u64,
    snapshot_size_bytes: u64,
    end_offset: MetadataOffset,
    failed: bool,
    // Holding the open file holds the directory lock.
    _lock: File,
}

/// What opening the log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The end offset of the snapshot replay started from, if there was one.
    pub snapshot_end_offset: Option<MetadataOffset>,
    /// Records replayed from the log after the snapshot.
    pub replayed_records: u64,
    /// Bytes of torn or corrupt tail that were truncated.
    pub truncated_bytes: u64,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    end_offset: MetadataOffset,
    records: Vec<MetadataRecord>,
}

impl MetadataLog {
    /// Opens (creating if needed) the metadata log in `dir`, truncates a torn tail, and returns
    /// the log with the image its snapshot and records build.
    pub fn open(dir: &Path) -> Result<(MetadataLog, MetadataImage, RecoveryReport)> {
        fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            // The directory itself may be new: make its entry durable too.
            sync_dir(parent)?;
        }
        let lock = lock(dir)?;
        for stale in [SNAPSHOT_FILE_NAME, LOG_FILE_NAME] {
            match fs::remove_file(dir.join(stale).with_extension("tmp")) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        let snapshot_path = dir.join(SNAPSHOT_FILE_NAME);
        let (mut image, snapshot_end_offset) = read_snapshot(&snapshot_path)?;
        let snapshot_size_bytes = match fs::metadata(&snapshot_path) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
            Err(error) => return Err(error.into()),
        };
        let log_path = dir.join(LOG_FILE_NAME);
        let bytes = match fs::read(&log_path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        let mut position = 0usize;
        let mut replayed_records = 0;
        while let Some(payload) = next_frame(&bytes, position) {
            let corrupt = |reason: String| Error::CorruptLog {
                path: log_path.clone(),
                position: position as u64,
                reason,
            };
            let batch = match RecordBatch::decode(payload) {
                Ok(batch) => batch,
                Err(error) => return Err(corrupt(error.to_string())),
            };
            if batch.end_offset() <= image.end_offset() {
                // Covered by the snapshot: the log was not reset after it was written.
            } else if batch.base_offset == image.end_offset() {
                if let Err(error) = image.apply_batch(&batch) {
                    return Err(corrupt(error.to_string()));
                }
                replayed_records += batch.records.len() as u64;
            } else {
                return Err(corrupt(format!(
                    "batch at offset {} does not follow offset {}",
                    batch.base_offset,
                    image.end_offset()
                )));
            }
            position += FRAME_HEADER_BYTES + payload.len();
        }
        let truncated_bytes = (bytes.len() - position) as u64;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        if truncated_bytes > 0 {
            file.set_len(position as u64)?;
            if let Err(error) = file.sync_all() {
                return Err(Error::FlushFailed(error));
            }
        }
        sync_dir(dir)?;
        let log = MetadataLog {
            dir: dir.to_owned(),
            file,
            size_bytes: position as u64,
            snapshot_size_bytes,
            end_offset: image.end_offset(),
            failed: false,
            _lock: lock,
        };
        let report = RecoveryReport {
            snapshot_end_offset,
            replayed_records,
            truncated_bytes,
        };
        Ok((log, image, report))
    }

    /// Appends a batch and fsyncs it: when this returns `Ok` the batch survives a crash. The
    /// batch must start at [`MetadataLog::end_offset`]. After a failed write or fsync the log
    /// refuses every further append until it is reopened.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        assert_eq!(
            batch.base_offset, self.end_offset,
            "metadata batch does not follow the log"
        );
        let frame = frame(&batch.encode())?;
        self.failed = true;
        self.file.write_all(&frame)?;
        if let Err(error) = self.file.sync_data() {
            return Err(Error::FlushFailed(error));
        }
        self.failed = false;
        self.size_bytes += frame.len() as u64;
        self.end_offset = batch.end_offset();
        Ok(())
    }

    /// Writes a snapshot of `image` (which must reflect every appended batch) and empties the
    /// log, so that the next open replays the snapshot instead of the batches.
    pub fn write_snapshot(&mut self, image: &MetadataImage) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        assert_eq!(
            image.end_offset(),
            self.end_offset,
            "snapshot image does not match the log"
        );
        let snapshot = Snapshot {
            end_offset: image.end_offset(),
            records: image.to_records(),
        };
        let frame = frame(&encode_versioned(&snapshot))?;
        replace_file(&self.dir.join(SNAPSHOT_FILE_NAME), &frame)?;
        // The snapshot is durable; the batches it covers are not needed any more.
        self.failed = true;
        replace_file(&self.dir.join(LOG_FILE_NAME), &[])?;
        self.file = OpenOptions::new()
            .append(true)
            .open(self.dir.join(LOG_FILE_NAME))?;
        self.failed = false;
        self.size_bytes = 0;
        self.snapshot_size_bytes = frame.len() as u64;
        Ok(())
    }

    /// The offset the next batch must start at.
    pub fn end_offset(&self) -> MetadataOffset {
        self.end_offset
    }

    /// Bytes in the log file (since the last snapshot).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// Bytes in the snapshot file (0 when there is none).
    pub fn snapshot_size_bytes(&self) -> u64 {
        self.snapshot_size_bytes
    }

    /// Whether the log has grown enough that a snapshot is worth writing: past
    /// `threshold_bytes`, and past the size of the last snapshot, so that a large image is not
    /// rewritten for every few small changes (the cost of snapshots stays proportional to the
    /// bytes appended).
    pub fn wants_snapshot(&self, threshold_bytes: u64) -> bool {
        self.size_bytes > threshold_bytes.max(self.snapshot_size_bytes)
    }

    /// The metadata directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Frames a payload: `[length u32][crc32c u32][payload]`.
fn frame(payload: &[u8]) -> Result<Vec<u8>> {
    let Ok(length) = u32::try_from(payload.len()) else {
        return Err(Error::BatchTooLarge {
            size_bytes: payload.len() as u64,
        });
    };
    let mut res = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    res.extend_from_slice(&length.to_be_bytes());
    res.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    res.extend_from_slice(payload);
    Ok(res)
}

/// The payload of the frame at `position`, or `None` when the bytes there are not a whole frame
/// with a matching CRC (the end of the log, or its torn tail).
fn next_frame(bytes: &[u8], position: usize) -> Option<&[u8]> {
    let header = bytes.get(position..position.checked_add(FRAME_HEADER_BYTES)?)?;
    let (length, crc) = header.split_at(4);
    let length = u32::from_be_bytes(length.try_into().ok()?) as usize;
    let crc = u32::from_be_bytes(crc.try_into().ok()?);
    // No frame is empty (a batch holds at least its version byte); a zero header is a file that
    // was extended but never written, as after a power loss.
    if length == 0 {
        return None;
    }
    let start = position + FRAME_HEADER_BYTES;
    let payload = bytes.get(start..start.checked_add(length)?)?;
    if crc32c::crc32c(payload) != crc {
        return None;
    }
    Some(payload)
}

/// Reads the snapshot at `path`: the image it holds and its end offset, or an empty image.
fn read_snapshot(path: &Path) -> Result<(MetadataImage, Option<MetadataOffset>)> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok((MetadataImage::new(), None));
        }
        Err(error) => return Err(error.into()),
    };
    let corrupt = |reason: String| Error::CorruptSnapshot {
        path: path.to_owned(),
        reason,
    };
    let Some(payload) = next_frame(&bytes, 0) else {
        return Err(corrupt("the frame is short or fails its crc".to_owned()));
    };
    if FRAME_HEADER_BYTES + payload.len() != bytes.len() {
        return Err(corrupt("bytes after the frame".to_owned()));
    }
    let snapshot: Snapshot = match decode_versioned(payload) {
        Ok(snapshot) => snapshot,
        Err(error) => return Err(corrupt(error.to_string())),
    };
    match MetadataImage::from_snapshot(snapshot.end_offset, &snapshot.records) {
        Ok(image) => Ok((image, Some(snapshot.end_offset))),
        Err(error) => Err(corrupt(error.to_string())),
    }
}

/// Replaces the file at `path` with `bytes` atomically and durably.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    if let Err(error) = file.sync_all() {
        return Err(Error::FlushFailed(error));
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Fsyncs a directory, so that files created, renamed or removed in it survive a power loss.
fn sync_dir(dir: &Path) -> Result<()> {
    let file = File::open(dir)?;
    if let Err(error) = file.sync_all() {
        return Err(Error::FlushFailed(error));
    }
    Ok(())
}

fn lock(dir: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::DirectoryLocked {
            path: dir.to_owned(),
        }),
        Err(TryLockError::Error(error)) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_read_back_and_damage_ends_the_log() {
        let first = frame(b"abc").unwrap();
        let second = frame(b"de").unwrap();
        let bytes = [first.clone(), second.clone()].concat();
        assert_eq!(next_frame(&bytes, 0), Some(&b"abc"[..]));
        assert_eq!(next_frame(&bytes, first.len()), Some(&b"de"[..]));
        assert_eq!(next_frame(&bytes, bytes.len()), None);
        for cut in 0..bytes.len() {
            let frames_left = usize::from(next_frame(&bytes[..cut], 0).is_some());
            assert_eq!(frames_left, usize::from(cut >= first.len()), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[first.len() + 9] ^= 1;
        assert_eq!(next_frame(&flipped, first.len()), None);
        assert_eq!(next_frame(&[0; 16], 0), None);
    }

    #[test]
    fn second_open_of_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _, _) = MetadataLog::open(dir.path()).unwrap();
        assert!(matches!(
            MetadataLog::open(dir.path()),
            Err(Error::DirectoryLocked { .. })
        ));
        drop(log);
        assert!(MetadataLog::open(dir.path()).is_ok());
    }
}
