//! One segment of a partition log: the `.log` file of batches (offsets already assigned) and its
//! two sparse indexes. File names are the base offset as 20 zero-padded digits, as in Kafka.
//!
//! The segment decides when index entries are written, one rule for appends and for rebuilds, so
//! that an index written while appending equals one rebuilt from the `.log` file:
//! - before tracking a batch, if more than `index.interval.bytes` were tracked since the last
//!   offset-index entry, add `(batch base offset, batch position)` and, if the largest timestamp
//!   seen so far grew, a time-index entry `(largest timestamp, base offset of its batch)`;
//! - when the segment stops being the active one ("sealed"), add a final time-index entry for its
//!   largest timestamp, so a sealed segment's largest timestamp is its time index's last entry.
//!
//! It does not know about other segments, checkpoints or configuration beyond what is passed in.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strom_record::{BatchHeader, Offset, Timestamp};

use crate::index::{self, OffsetIndex, TimeIndex};
use crate::scan::{self, Check, Stop};
use crate::{Error, FileSlice, Result};

/// Suffix of the segment data file.
pub(crate) const LOG_SUFFIX: &str = "log";
/// Suffix of the offset index.
pub(crate) const INDEX_SUFFIX: &str = "index";
/// Suffix of the time index.
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// One segment.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: Offset,
    pub(crate) log: Arc<File>,
    offset_index_file: File,
    time_index_file: File,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// Bytes in the `.log` file.
    pub(crate) size: u64,
    /// Offset after the last batch. Exact for the active segment and for scanned segments; for a
    /// segment loaded from its indexes it is the next segment's base offset (set by the log).
    pub(crate) next_offset: Offset,
    /// Largest batch max timestamp and the base offset of the batch holding it.
    pub(crate) max_timestamp: Option<(Timestamp, Offset)>,
    /// Max timestamp of the first batch: the segment is rolled `segment.ms` after it.
    pub(crate) first_batch_timestamp: Option<Timestamp>,
    bytes_since_index_entry: u64,
    /// Written since the last fsync.
    pub(crate) dirty: bool,
}

/// Path of a segment file: `<dir>/<20-digit base offset>.<suffix>`.
pub(crate) fn file_path(dir: &Path, base_offset: Offset, suffix: &str) -> PathBuf {
    dir.join(format!("{:020}.{suffix}", base_offset.0))
}

/// Parses a segment file name `<20 digits>.<suffix>` into its base offset and suffix.
pub(crate) fn parse_file_name(name: &str) -> Option<(Offset, &str)> {
    let (digits, suffix) = name.split_once('.')?;
    if digits.len() != 20 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((Offset(digits.parse().ok()?), suffix))
}

/// Removes the files of the segment at `base_offset` (indexes first, so that a crash in between
/// leaves a `.log` without indexes, which recovery rebuilds, rather than orphan indexes).
pub(crate) fn delete_files(dir: &Path, base_offset: Offset) -> Result<()> {
    for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
        match fs::remove_file(file_path(dir, base_offset, suffix)) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

/// The whole content of an index file (index files are small: 8 or 12 bytes per 4 KiB of log).
fn read_whole(file: &File) -> Result<Vec<u8>> {
    let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
    let mut res = vec![0; len];
    file.read_exact_at(&mut res, 0)?;
    Ok(res)
}

fn open_file(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
}

impl Segment {
    /// Creates an empty segment at `base_offset`, replacing any files already there.
    pub(crate) fn create(dir: &Path, base_offset: Offset) -> Result<Segment> {
        Segment::open_files(dir, base_offset, true, "")
    }

    /// Creates an empty segment whose files carry an extra suffix (`<base>.log.cleaned`, ...):
    /// the compactor writes a replacement segment under these names and renames them into place.
    /// The segment keeps working after its files are renamed, since it only holds open handles.
    pub(crate) fn create_with_suffix(
        dir: &Path,
        base_offset: Offset,
        extra: &str,
    ) -> Result<Segment> {
        Segment::open_files(dir, base_offset, true, extra)
    }

    /// Opens the files of an existing segment without reading them beyond their size. The
    /// caller then either [`Segment::load_indexes`] or [`Segment::rebuild`]s.
    pub(crate) fn open(dir: &Path, base_offset: Offset) -> Result<Segment> {
        Segment::open_files(dir, base_offset, false, "")
    }

    fn open_files(dir: &Path, base_offset: Offset, truncate: bool, extra: &str) -> Result<Segment> {
        let path = |suffix: &str| file_path(dir, base_offset, &format!("{suffix}{extra}"));
        let log = open_file(&path(LOG_SUFFIX), truncate)?;
        let offset_index_file = open_file(&path(INDEX_SUFFIX), truncate)?;
        let time_index_file = open_file(&path(TIME_INDEX_SUFFIX), truncate)?;
        let size = log.metadata()?.len();
        Ok(Segment {
            base_offset,
            log: Arc::new(log),
            offset_index_file,
            time_index_file,
            offset_index: OffsetIndex::default(),
            time_index: TimeIndex::default(),
            size,
            next_offset: base_offset,
            max_timestamp: None,
            first_batch_timestamp: None,
            bytes_since_index_entry: 0,
            dirty: truncate,
        })
    }

    /// Loads the index files of a sealed segment whose `.log` is trusted (before the recovery
    /// point, or after a clean shutdown). Returns `false` if they are missing or disagree with
    /// the `.log` file in any way this can check cheaply; the caller then rebuilds.
    pub(crate) fn load_indexes(&mut self) -> Result<bool> {
        let Some(offset_index) = OffsetIndex::decode(&read_whole(&self.offset_index_file)?) else {
            return Ok(false);
        };
        let Some(time_index) = TimeIndex::decode(&read_whole(&self.time_index_file)?) else {
            return Ok(false);
        };
        if let Some((relative, position)) = offset_index.last() {
            let Ok(Some(header)) = self.header_at(u64::from(position)) else {
                return Ok(false);
            };
            if header.base_offset.0 != self.base_offset.0 + u64::from(relative) {
                return Ok(false);
            }
        }
        let max_timestamp = time_index.last().map(|(timestamp, relative)| {
            (timestamp, Offset(self.base_offset.0 + u64::from(relative)))
        });
        // A sealed non-empty segment always has its final time-index entry.
        if self.size > 0 && max_timestamp.is_none() {
            return Ok(false);
        }
        self.offset_index = offset_index;
        self.time_index = time_index;
        self.max_timestamp = max_timestamp;
        Ok(true)
    }

    /// Scans the `.log` file from the start, rebuilding the indexes and every derived field, and
    /// calls `on_batch` for each valid batch. Stops at the first invalid batch and returns where
    /// (the caller truncates there). `sealed` adds the final time-index entry.
    pub(crate) fn rebuild(
        &mut self,
        check: Check,
        index_interval_bytes: u64,
        sealed: bool,
        mut on_batch: impl FnMut(&BatchHeader) -> Result<()>,
    ) -> Result<Stop> {
        self.offset_index = OffsetIndex::default();
        self.time_index = TimeIndex::default();
        self.next_offset = self.base_offset;
        self.max_timestamp = None;
        self.first_batch_timestamp = None;
        self.bytes_since_index_entry = 0;
        let log = Arc::clone(&self.log);
        let size = self.size;
        let stop = scan::scan(&log, 0, size, check, |position, header, _| {
            if header.base_offset < self.base_offset
                || index::relative(self.base_offset, header.last_offset()).is_err()
            {
                return Err(Error::Corrupt {
                    base_offset: self.base_offset,
                    position,
                });
            }
            self.track(position, header, index_interval_bytes)?;
            on_batch(header)
        });
        let stop = match stop {
            Ok(stop) => stop,
            // A batch whose offsets do not belong in this segment is corruption like any other.
            Err(Error::Corrupt { position, .. }) => Stop::Invalid { position },
            Err(error) => return Err(error),
        };
        if let Stop::Invalid { position } = stop {
            self.size = position;
        }
        if sealed {
            self.seal_time_index()?;
        }
        self.offset_index.rewrite(&self.offset_index_file)?;
        self.time_index.rewrite(&self.time_index_file)?;
        self.dirty = true;
        Ok(stop)
    }

    /// Updates the derived fields and indexes for a batch at `position`.
    fn track(
        &mut self,
        position: u64,
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> Result<()> {
        let relative = index::relative(self.base_offset, header.base_offset)?;
        if self
            .max_timestamp
            .is_none_or(|(timestamp, _)| header.max_timestamp > timestamp)
        {
            self.max_timestamp = Some((header.max_timestamp, header.base_offset));
        }
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(header.max_timestamp);
        }
        if self.bytes_since_index_entry > index_interval_bytes {
            let position = u32::try_from(position).map_err(|_| Error::Corrupt {
                base_offset: self.base_offset,
                position,
            })?;
            self.offset_index.push(relative, position);
            if let Some((timestamp, offset)) = self.max_timestamp {
                self.time_index
                    .maybe_push(timestamp, index::relative(self.base_offset, offset)?);
            }
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += header.total_size() as u64;
        self.next_offset = header.next_offset();
        Ok(())
    }

    /// Appends one batch (offsets already assigned). On a failed write the file is cut back to
    /// its old size; if even that fails, the error says so by being [`Error::LogFailed`].
    pub(crate) fn append(
        &mut self,
        bytes: &[u8],
        header: &BatchHeader,
        index_interval_bytes: u64,
    ) -> Result<()> {
        assert!(
            header.base_offset >= self.next_offset,
            "offsets must increase"
        );
        assert_eq!(
            bytes.len(),
            header.total_size(),
            "batch length disagrees with its header"
        );
        if let Err(error) = self.log.write_all_at(bytes, self.size) {
            if self.log.set_len(self.size).is_err() {
                return Err(Error::LogFailed);
            }
            return Err(error.into());
        }
        let position = self.size;
        self.size += bytes.len() as u64;
        self.dirty = true;
        self.track(position, header, index_interval_bytes)
    }

    /// Marks the segment as no longer active: final time-index entry, indexes written out.
    pub(crate) fn seal(&mut self) -> Result<()> {
        self.seal_time_index()?;
        self.dirty = true;
        self.persist_indexes()
    }

    fn seal_time_index(&mut self) -> Result<()> {
        if let Some((timestamp, offset)) = self.max_timestamp {
            self.time_index
                .maybe_push(timestamp, index::relative(self.base_offset, offset)?);
        }
        Ok(())
    }

    /// Writes index entries not yet in their files (no fsync).
    pub(crate) fn persist_indexes(&mut self) -> Result<()> {
        self.offset_index.persist(&self.offset_index_file)?;
        self.time_index.persist(&self.time_index_file)?;
        Ok(())
    }

    /// Writes out and fsyncs everything of this segment. An error here is an fsync failure.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        self.persist_indexes()?;
        for file in [&*self.log, &self.offset_index_file, &self.time_index_file] {
            if let Err(error) = file.sync_data() {
                return Err(Error::FlushFailed(error));
            }
        }
        self.dirty = false;
        Ok(())
    }

    /// The header of the batch at `position`, or `None` at the end of the segment.
    pub(crate) fn header_at(&self, position: u64) -> Result<Option<BatchHeader>> {
        if position >= self.size {
            return Ok(None);
        }
        let corrupt = Error::Corrupt {
            base_offset: self.base_offset,
            position,
        };
        if position + BatchHeader::SIZE as u64 > self.size {
            return Err(corrupt);
        }
        let mut bytes = [0; BatchHeader::SIZE];
        self.log.read_exact_at(&mut bytes, position)?;
        let Ok(header) = BatchHeader::parse(&bytes) else {
            return Err(corrupt);
        };
        if position + header.total_size() as u64 > self.size {
            return Err(corrupt);
        }
        Ok(Some(header))
    }

    /// The first batch whose last offset is `>= offset`, with its position.
    pub(crate) fn find_batch(&self, offset: Offset) -> Result<Option<(u64, BatchHeader)>> {
        let relative = offset.0.saturating_sub(self.base_offset.0);
        let mut position = u64::from(
            self.offset_index
                .lookup(u32::try_from(relative).unwrap_or(u32::MAX)),
        );
        while let Some(header) = self.header_at(position)? {
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
            position += header.total_size() as u64;
        }
        Ok(None)
    }

    /// Reads whole batches from the one holding `offset`: at most `max_bytes` unless the first
    /// batch alone is larger, and only batches that end before `upper_bound`. `None` if this
    /// segment holds nothing at or after `offset` below `upper_bound`.
    pub(crate) fn read(
        &self,
        offset: Offset,
        max_bytes: u64,
        upper_bound: Offset,
    ) -> Result<Option<FileSlice>> {
        let Some((start, first)) = self.find_batch(offset)? else {
            return Ok(None);
        };
        if first.last_offset() >= upper_bound {
            return Ok(Some(FileSlice {
                file: Arc::clone(&self.log),
                position: start,
                len: 0,
            }));
        }
        let mut len = first.total_size() as u64;
        while let Some(header) = self.header_at(start + len)? {
            let size = header.total_size() as u64;
            if header.last_offset() >= upper_bound || len + size > max_bytes {
                break;
            }
            len += size;
        }
        Ok(Some(FileSlice {
            file: Arc::clone(&self.log),
            position: start,
            len,
        }))
    }

    /// Removes every batch whose last offset is `>= offset` (the batch holding `offset` goes
    /// whole), fsyncs the shortened file, and rebuilds the indexes.
    /// The segment becomes the active one, so its indexes are rebuilt unsealed even if nothing is
    /// cut.
    pub(crate) fn truncate_to(&mut self, offset: Offset, index_interval_bytes: u64) -> Result<()> {
        if let Some((position, _)) = self.find_batch(offset)? {
            self.log.set_len(position)?;
            if let Err(error) = self.log.sync_data() {
                return Err(Error::FlushFailed(error));
            }
            self.size = position;
        }
        let stop = self.rebuild(Check::Headers, index_interval_bytes, false, |_| Ok(()))?;
        if stop != Stop::End {
            return Err(Error::Corrupt {
                base_offset: self.base_offset,
                position: self.size,
            });
        }
        Ok(())
    }

    /// Cuts the `.log` file at `position` (recovery found an invalid batch there).
    pub(crate) fn cut_at(&mut self, position: u64) -> Result<()> {
        self.log.set_len(position)?;
        self.size = position;
        self.dirty = true;
        Ok(())
    }

    /// The time index's start for a timestamp search (absolute offset).
    pub(crate) fn time_lookup(&self, target: Timestamp) -> Offset {
        match self.time_index.lookup(target) {
            Some(relative) => Offset(self.base_offset.0 + u64::from(relative)),
            None => self.base_offset,
        }
    }

    /// Whether a batch ending at `last_offset` still fits this segment's 32-bit relative offsets.
    pub(crate) fn can_hold(&self, last_offset: Offset) -> bool {
        index::relative(self.base_offset, last_offset).is_ok()
    }
}
