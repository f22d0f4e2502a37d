//! The Raft log and vote of one node, on disk under its directory.
//!
//! - [`LOG_FILE_NAME`]: a header frame (the last purged log id), then one frame per entry in index
//!   order (see `durable` for the frame). Appends are fsynced before openraft is told they are
//!   durable. Truncating a conflicting suffix cuts the file at the first removed entry's frame;
//!   purging (after a snapshot) rewrites the file with a new header and the remaining entries and
//!   replaces it atomically. Recovery cuts a torn or corrupt tail: the first frame that is
//!   incomplete, fails its checksum, does not decode or does not follow its predecessor, and
//!   everything after it.
//! - [`VOTE_FILE_NAME`]: one frame holding the vote, replaced atomically and fsynced on each save.
//!
//! The unpurged entries are also kept in memory, which is fine for a metadata log that a snapshot
//! empties every few thousand entries. File I/O is synchronous and runs on the calling task: the
//! controller log is small and its appends are rare compared with a data log.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError};
use serde::{Deserialize, Serialize};

use crate::durable::{
    FrameError, decode_frame, decode_payload, encode_frame, encode_payload, replace_file,
};
use crate::raft_types::{Entry, LogId, StorageError, TypeConfig, Vote};
use crate::{Error, Result};

/// The log file's name in a node's directory.
pub const LOG_FILE_NAME: &str = "raft.log";
/// The vote file's name in a node's directory.
pub const VOTE_FILE_NAME: &str = "vote";

/// The log and vote storage handed to openraft; clones share the same files.
#[derive(Debug, Clone)]
pub(crate) struct LogStore {
    inner: Arc<Mutex<LogFile>>,
}

/// What recovery found in the log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogRecovery {
    /// Entries read back.
    pub(crate) entries: usize,
    /// Bytes cut from the end.
    pub(crate) cut_bytes: u64,
}

#[derive(Debug)]
struct LogFile {
    path: PathBuf,
    vote_path: PathBuf,
    file: File,
    entries: BTreeMap<u64, Entry>,
    /// Where each entry's frame starts in the file.
    positions: BTreeMap<u64, u64>,
    end_position: u64,
    last_purged: Option<LogId>,
    vote: Option<Vote>,
}

/// One frame's payload in the log file.
#[derive(Debug, Serialize, Deserialize)]
enum LogFrame {
    Header { last_purged: Option<LogId> },
    Entry(Entry),
}

impl LogStore {
    /// Opens (or creates) the log and vote files in `dir`, cutting a torn tail of the log.
    pub(crate) fn open(dir: &Path) -> Result<(LogStore, LogRecovery)> {
        let (log_file, recovery) = LogFile::open(dir)?;
        let res = LogStore {
            inner: Arc::new(Mutex::new(log_file)),
        };
        Ok((res, recovery))
    }

    fn lock(&self) -> MutexGuard<'_, LogFile> {
        // A panic while holding the lock leaves the files as they were on disk; the in-memory
        // view may be half-updated, so refuse to go on.
        self.inner
            .lock()
            .expect("the log lock is never poisoned unless a write panicked")
    }
}

impl LogFile {
    fn open(dir: &Path) -> Result<(LogFile, LogRecovery)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE_NAME);
        let vote_path = dir.join(VOTE_FILE_NAME);
        if !path.exists() {
            replace_file(&path, &header_frame(None))?;
        }
        let vote = read_vote_file(&vote_path)?;
        let bytes = std::fs::read(&path)?;
        let corrupt = |reason: String| Error::Corrupt {
            path: path.clone(),
            reason,
        };
        // The header is written by whole-file replacement, so it is never torn.
        let (header, mut position) = match decode_frame(&bytes) {
            Ok(found) => found,
            Err(error) => return Err(corrupt(format!("header frame: {error:?}"))),
        };
        let last_purged = match decode_payload::<LogFrame>(header) {
            Ok(LogFrame::Header { last_purged }) => last_purged,
            Ok(LogFrame::Entry(_)) => return Err(corrupt("no header frame".to_owned())),
            Err(reason) => return Err(corrupt(reason)),
        };
        let mut entries = BTreeMap::new();
        let mut positions = BTreeMap::new();
        let mut next_index = last_purged.map_or(0, |log_id| log_id.index + 1);
        while let Some(rest) = bytes.get(position..)
            && !rest.is_empty()
        {
            let (entry, len) = match decode_frame(rest) {
                Ok((payload, len)) => match decode_payload::<LogFrame>(payload) {
                    Ok(LogFrame::Entry(entry)) if entry.log_id.index == next_index => (entry, len),
                    _ => break,
                },
                Err(FrameError::Incomplete | FrameError::Checksum) => break,
            };
            positions.insert(next_index, position as u64);
            entries.insert(next_index, entry);
            next_index += 1;
            position += len;
        }
        let cut_bytes = (bytes.len() - position) as u64;
        let file = OpenOptions::new().append(true).open(&path)?;
        if cut_bytes > 0 {
            tracing::warn!(path = %path.display(), cut_bytes, "cutting a torn tail off the raft log");
            file.set_len(position as u64)?;
            file.sync_all()?;
        }
        let recovery = LogRecovery {
            entries: entries.len(),
            cut_bytes,
        };
        let res = LogFile {
            path,
            vote_path,
            file,
            entries,
            positions,
            end_position: position as u64,
            last_purged,
            vote,
        };
        Ok((res, recovery))
    }

    fn last_log_id(&self) -> Option<LogId> {
        match self.entries.last_key_value() {
            Some((_, entry)) => Some(entry.log_id),
            None => self.last_purged,
        }
    }

    fn append(&mut self, entries: Vec<Entry>) -> io::Result<()> {
        let mut bytes = Vec::new();
        let mut position = self.end_position;
        let first_index = self.last_log_id().map_or(0, |log_id| log_id.index + 1);
        let mut positions = Vec::with_capacity(entries.len());
        for (index, entry) in (first_index..).zip(&entries) {
            assert_eq!(entry.log_id.index, index, "hole in the raft log");
            let frame = encode_frame(&encode_payload(&LogFrame::Entry(entry.clone())));
            positions.push((index, position));
            position += frame.len() as u64;
            bytes.extend_from_slice(&frame);
        }
        self.file.write_all(&bytes)?;
        self.file.sync_data()?;
        self.end_position = position;
        self.positions.extend(positions);
        self.entries
            .extend(entries.into_iter().map(|entry| (entry.log_id.index, entry)));
        Ok(())
    }

    fn truncate(&mut self, log_id: LogId) -> io::Result<()> {
        let Some(&position) = self.positions.get(&log_id.index) else {
            return Ok(());
        };
        self.file.set_len(position)?;
        self.file.sync_data()?;
        self.end_position = position;
        self.entries.split_off(&log_id.index);
        self.positions.split_off(&log_id.index);
        Ok(())
    }

    fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        let keep_entries = self.entries.split_off(&(log_id.index + 1));
        let mut bytes = header_frame(Some(log_id));
        let mut positions = BTreeMap::new();
        for (&index, entry) in &keep_entries {
            positions.insert(index, bytes.len() as u64);
            bytes.extend_from_slice(&encode_frame(&encode_payload(&LogFrame::Entry(
                entry.clone(),
            ))));
        }
        replace_file(&self.path, &bytes)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.entries = keep_entries;
        self.positions = positions;
        self.end_position = bytes.len() as u64;
        self.last_purged = Some(log_id);
        Ok(())
    }

    fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        replace_file(&self.vote_path, &encode_frame(&encode_payload(vote)))?;
        self.vote = Some(*vote);
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let log_file = self.lock();
        Ok(log_file
            .entries
            .range(range)
            .map(|(_, entry)| entry.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let log_file = self.lock();
        Ok(LogState {
            last_purged_log_id: log_file.last_purged,
            last_log_id: log_file.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        match self.lock().save_vote(vote) {
            Ok(()) => Ok(()),
            Err(error) => Err(StorageIOError::write_vote(&error).into()),
        }
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let res = self.lock().append(entries);
        match res {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(error) => {
                let storage_error = StorageIOError::write_logs(&error).into();
                callback.log_io_completed(Err(error));
                Err(storage_error)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        match self.lock().truncate(log_id) {
            Ok(()) => Ok(()),
            Err(error) => Err(StorageIOError::write_logs(&error).into()),
        }
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        match self.lock().purge(log_id) {
            Ok(()) => Ok(()),
            Err(error) => Err(StorageIOError::write_logs(&error).into()),
        }
    }
}

fn header_frame(last_purged: Option<LogId>) -> Vec<u8> {
    encode_frame(&encode_payload(&LogFrame::Header { last_purged }))
}

fn read_vote_file(path: &Path) -> Result<Option<Vote>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::Io(error)),
    };
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_owned(),
        reason,
    };
    // Replaced atomically, so anything but one whole frame is damage, not a torn write.
    let payload = match decode_frame(&bytes) {
        Ok((payload, len)) if len == bytes.len() => payload,
        Ok(_) => return Err(corrupt("bytes after the vote".to_owned())),
        Err(error) => return Err(corrupt(format!("{error:?}"))),
    };
    match decode_payload(payload) {
        Ok(vote) => Ok(Some(vote)),
        Err(reason) => Err(corrupt(reason)),
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};
    use proptest::prelude::*;

    use super::*;
    use crate::durable::FRAME_HEADER_LEN;

    fn log_id(term: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term, 1), index)
    }

    fn entries(term: u64, indexes: std::ops::Range<u64>) -> Vec<Entry> {
        indexes
            .map(|index| Entry {
                log_id: log_id(term, index),
                payload: EntryPayload::Blank,
            })
            .collect()
    }

    /// The log ids in the file after reopening it, and what recovery reported.
    fn reopen(dir: &Path) -> (Vec<LogId>, Option<LogId>, LogRecovery) {
        let (log_file, recovery) = LogFile::open(dir).unwrap();
        let ids = log_file
            .entries
            .values()
            .map(|entry| entry.log_id)
            .collect();
        (ids, log_file.last_purged, recovery)
    }

    #[track_caller]
    fn check_ids(found: &[LogId], expect: &[(u64, u64)]) {
        let expect: Vec<LogId> = expect
            .iter()
            .map(|&(term, index)| log_id(term, index))
            .collect();
        assert_eq!(found, expect);
    }

    #[test]
    fn entries_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log_file, recovery) = LogFile::open(dir.path()).unwrap();
        assert_eq!(
            recovery,
            LogRecovery {
                entries: 0,
                cut_bytes: 0
            }
        );
        log_file.append(entries(1, 0..3)).unwrap();
        log_file.append(entries(2, 3..5)).unwrap();
        drop(log_file);
        let (ids, last_purged, recovery) = reopen(dir.path());
        check_ids(&ids, &[(1, 0), (1, 1), (1, 2), (2, 3), (2, 4)]);
        assert_eq!(last_purged, None);
        assert_eq!(recovery.cut_bytes, 0);
    }

    #[test]
    fn truncate_then_append_replaces_the_suffix() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
        log_file.append(entries(1, 0..5)).unwrap();
        log_file.truncate(log_id(1, 3)).unwrap();
        assert_eq!(log_file.last_log_id(), Some(log_id(1, 2)));
        log_file.append(entries(3, 3..4)).unwrap();
        drop(log_file);
        let (ids, _, recovery) = reopen(dir.path());
        check_ids(&ids, &[(1, 0), (1, 1), (1, 2), (3, 3)]);
        assert_eq!(recovery.cut_bytes, 0);
    }

    #[test]
    fn purge_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
        log_file.append(entries(1, 0..5)).unwrap();
        log_file.purge(log_id(1, 2)).unwrap();
        log_file.append(entries(1, 5..6)).unwrap();
        drop(log_file);
        let (ids, last_purged, _) = reopen(dir.path());
        check_ids(&ids, &[(1, 3), (1, 4), (1, 5)]);
        assert_eq!(last_purged, Some(log_id(1, 2)));

        // Purging past the end (after a snapshot was installed) empties the log.
        let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
        log_file.purge(log_id(2, 9)).unwrap();
        assert_eq!(log_file.last_log_id(), Some(log_id(2, 9)));
        log_file.append(entries(2, 10..11)).unwrap();
        drop(log_file);
        let (ids, last_purged, _) = reopen(dir.path());
        check_ids(&ids, &[(2, 10)]);
        assert_eq!(last_purged, Some(log_id(2, 9)));
    }

    #[test]
    fn vote_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
        assert_eq!(log_file.vote, None);
        let vote = Vote::new(4, 2);
        log_file.save_vote(&vote).unwrap();
        drop(log_file);
        let (log_file, _) = LogFile::open(dir.path()).unwrap();
        assert_eq!(log_file.vote, Some(vote));
    }

    #[test]
    fn damaged_vote_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(VOTE_FILE_NAME), b"not a frame at all").unwrap();
        assert!(matches!(
            LogFile::open(dir.path()),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn corrupt_frame_cuts_it_and_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
        log_file.append(entries(1, 0..4)).unwrap();
        let third = log_file.positions[&2];
        let len = log_file.end_position;
        drop(log_file);
        let path = dir.path().join(LOG_FILE_NAME);
        let mut bytes = std::fs::read(&path).unwrap();
        let flip = third as usize + FRAME_HEADER_LEN + 1;
        bytes[flip] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (ids, _, recovery) = reopen(dir.path());
        check_ids(&ids, &[(1, 0), (1, 1)]);
        assert_eq!(recovery.cut_bytes, len - third);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), third);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Cutting the file anywhere after the header (a crash mid-append) recovers a prefix of
        /// the entries, and the log accepts appends after it.
        #[test]
        fn any_torn_tail_recovers_a_prefix(count in 1u64..12, cut_from_end in 0u64..400) {
            let dir = tempfile::tempdir().unwrap();
            let (mut log_file, _) = LogFile::open(dir.path()).unwrap();
            log_file.append(entries(1, 0..count)).unwrap();
            let header_len = log_file.positions[&0];
            let len = log_file.end_position;
            drop(log_file);
            let keep = len.saturating_sub(cut_from_end).max(header_len);
            let path = dir.path().join(LOG_FILE_NAME);
            OpenOptions::new().write(true).open(&path).unwrap().set_len(keep).unwrap();

            let (mut log_file, recovery) = LogFile::open(dir.path()).unwrap();
            let recovered = recovery.entries as u64;
            prop_assert!(recovered <= count);
            prop_assert_eq!(recovered == count, keep == len);
            let ids: Vec<LogId> = log_file.entries.values().map(|entry| entry.log_id).collect();
            let expect: Vec<LogId> = (0..recovered).map(|index| log_id(1, index)).collect();
            prop_assert_eq!(ids, expect);
            log_file.append(entries(2, recovered..recovered + 1)).unwrap();
            drop(log_file);
            let (ids, _, recovery) = reopen(dir.path());
            prop_assert_eq!(recovery.cut_bytes, 0);
            prop_assert_eq!(ids.last().copied(), Some(log_id(2, recovered)));
        }
    }
}
