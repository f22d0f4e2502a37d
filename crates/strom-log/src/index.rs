//! The two sparse indexes of a segment, kept in memory and persisted to their files with
//! positional writes:
//!
//! - `.index`: entries of 8 bytes, big-endian `(base offset of a batch - segment base: u32,
//!   byte position of that batch in the .log file: u32)`, increasing in both fields.
//! - `.timeindex`: entries of 12 bytes, big-endian `(largest timestamp so far: i64, base offset of
//!   the batch holding it - segment base: u32)`, increasing in both fields.
//!
//! An index is only ever a hint for where to start scanning the `.log` file; the `.log` file is
//! the truth and an index can always be rebuilt from it. This module does not decide when entries
//! are added (see `segment.rs`) and does not read the `.log` file.

use std::fs::File;
use std::os::unix::fs::FileExt;

use strom_record::{Offset, Timestamp};

use crate::{Error, Result};

/// Size of one `.index` entry.
pub(crate) const OFFSET_ENTRY_SIZE: usize = 8;
/// Size of one `.timeindex` entry.
pub(crate) const TIME_ENTRY_SIZE: usize = 12;

/// The offset index of one segment.
#[derive(Debug, Default)]
pub(crate) struct OffsetIndex {
    /// `(relative offset, position)`.
    entries: Vec<(u32, u32)>,
    /// How many entries the file holds.
    persisted: usize,
}

/// The time index of one segment.
#[derive(Debug, Default)]
pub(crate) struct TimeIndex {
    /// `(timestamp, relative offset)`.
    entries: Vec<(i64, u32)>,
    persisted: usize,
}

impl OffsetIndex {
    /// Decodes an index file's bytes; `None` if they are not a well-formed index.
    pub(crate) fn decode(bytes: &[u8]) -> Option<OffsetIndex> {
        if !bytes.len().is_multiple_of(OFFSET_ENTRY_SIZE) {
            return None;
        }
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(bytes.len() / OFFSET_ENTRY_SIZE);
        for chunk in bytes.chunks_exact(OFFSET_ENTRY_SIZE) {
            let (relative, position) = chunk.split_at(4);
            let entry = (be_u32(relative)?, be_u32(position)?);
            if let Some(last) = entries.last()
                && (last.0 >= entry.0 || last.1 >= entry.1)
            {
                return None;
            }
            entries.push(entry);
        }
        let persisted = entries.len();
        Some(OffsetIndex { entries, persisted })
    }

    /// Adds an entry (must be after the last one).
    pub(crate) fn push(&mut self, relative: u32, position: u32) {
        if let Some(last) = self.entries.last() {
            assert!(
                last.0 < relative && last.1 < position,
                "offset index out of order"
            );
        }
        self.entries.push((relative, position));
    }

    /// Position of the last indexed batch whose relative base offset is `<= relative`, or 0.
    pub(crate) fn lookup(&self, relative: u32) -> u32 {
        let found = self.entries.partition_point(|entry| entry.0 <= relative);
        match found.checked_sub(1) {
            Some(index) => self.entries[index].1,
            None => 0,
        }
    }

    pub(crate) fn last(&self) -> Option<(u32, u32)> {
        self.entries.last().copied()
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[(u32, u32)] {
        &self.entries
    }

    /// Writes the entries the file does not have yet.
    pub(crate) fn persist(&mut self, file: &File) -> Result<()> {
        self.persisted = persist_entries(
            file,
            &self.entries,
            self.persisted,
            OFFSET_ENTRY_SIZE,
            |(relative, position), bytes| {
                bytes.extend_from_slice(&relative.to_be_bytes());
                bytes.extend_from_slice(&position.to_be_bytes());
            },
        )?;
        Ok(())
    }

    /// Rewrites the whole file from the entries in memory.
    pub(crate) fn rewrite(&mut self, file: &File) -> Result<()> {
        self.persisted = 0;
        file.set_len(0)?;
        self.persist(file)
    }
}

impl TimeIndex {
    /// Decodes a time index file's bytes; `None` if they are not a well-formed index.
    pub(crate) fn decode(bytes: &[u8]) -> Option<TimeIndex> {
        if !bytes.len().is_multiple_of(TIME_ENTRY_SIZE) {
            return None;
        }
        let mut entries: Vec<(i64, u32)> = Vec::with_capacity(bytes.len() / TIME_ENTRY_SIZE);
        for chunk in bytes.chunks_exact(TIME_ENTRY_SIZE) {
            let (timestamp, relative) = chunk.split_at(8);
            let entry = (
                i64::from_be_bytes(timestamp.try_into().ok()?),
                be_u32(relative)?,
            );
            if let Some(last) = entries.last()
                && (last.0 >= entry.0 || last.1 > entry.1)
            {
                return None;
            }
            entries.push(entry);
        }
        let persisted = entries.len();
        Some(TimeIndex { entries, persisted })
    }

    /// Adds `(timestamp, relative)` if `timestamp` is larger than the last entry's.
    pub(crate) fn maybe_push(&mut self, timestamp: Timestamp, relative: u32) {
        if let Some(last) = self.entries.last() {
            if last.0 >= timestamp.0 {
                return;
            }
            assert!(last.1 <= relative, "time index offsets out of order");
        }
        self.entries.push((timestamp.0, relative));
    }

    /// Relative offset to start scanning from for the first record with a timestamp `>= target`:
    /// every record before the batch of the last entry with a timestamp `< target` is older than
    /// `target`, so scanning starts at that batch. `None` means "from the start".
    pub(crate) fn lookup(&self, target: Timestamp) -> Option<u32> {
        let found = self.entries.partition_point(|entry| entry.0 < target.0);
        found.checked_sub(1).map(|index| self.entries[index].1)
    }

    pub(crate) fn last(&self) -> Option<(Timestamp, u32)> {
        self.entries
            .last()
            .map(|&(timestamp, relative)| (Timestamp(timestamp), relative))
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[(i64, u32)] {
        &self.entries
    }

    /// Writes the entries the file does not have yet.
    pub(crate) fn persist(&mut self, file: &File) -> Result<()> {
        self.persisted = persist_entries(
            file,
            &self.entries,
            self.persisted,
            TIME_ENTRY_SIZE,
            |(timestamp, relative), bytes| {
                bytes.extend_from_slice(&timestamp.to_be_bytes());
                bytes.extend_from_slice(&relative.to_be_bytes());
            },
        )?;
        Ok(())
    }

    /// Rewrites the whole file from the entries in memory.
    pub(crate) fn rewrite(&mut self, file: &File) -> Result<()> {
        self.persisted = 0;
        file.set_len(0)?;
        self.persist(file)
    }
}

/// Converts an absolute offset into one relative to `base`; the segment guarantees it fits.
pub(crate) fn relative(base: Offset, offset: Offset) -> Result<u32> {
    let Some(delta) = offset.0.checked_sub(base.0) else {
        return Err(Error::Corrupt {
            base_offset: base,
            position: 0,
        });
    };
    match u32::try_from(delta) {
        Ok(relative) => Ok(relative),
        Err(_) => Err(Error::Corrupt {
            base_offset: base,
            position: 0,
        }),
    }
}

fn be_u32(bytes: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// Writes the entries after the first `persisted` ones into their fixed-size slots of `file`
/// and returns how many entries the file now holds.
fn persist_entries<E>(
    file: &File,
    entries: &[E],
    persisted: usize,
    entry_size: usize,
    encode: impl Fn(&E, &mut Vec<u8>),
) -> Result<usize> {
    let pending = entries.get(persisted..).unwrap_or_default();
    if pending.is_empty() {
        return Ok(persisted);
    }
    let mut bytes = Vec::with_capacity(pending.len() * entry_size);
    for entry in pending {
        encode(entry, &mut bytes);
    }
    file.write_all_at(&bytes, (persisted * entry_size) as u64)?;
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn offset_index_round_trip(steps in proptest::collection::vec((1u32..100, 1u32..5000), 0..50)) {
            let dir = tempfile::tempdir().unwrap();
            let file = File::options().create(true).truncate(true).read(true).write(true)
                .open(dir.path().join("x.index")).unwrap();
            let mut index = OffsetIndex::default();
            let (mut relative, mut position) = (0u32, 0u32);
            for (i, (dr, dp)) in steps.iter().enumerate() {
                relative += dr;
                position += dp;
                index.push(relative, position);
                if i % 7 == 0 {
                    index.persist(&file).unwrap();
                }
            }
            index.persist(&file).unwrap();
            let decoded = OffsetIndex::decode(&std::fs::read(dir.path().join("x.index")).unwrap()).unwrap();
            prop_assert_eq!(decoded.entries(), index.entries());
        }

        #[test]
        fn time_index_round_trip(steps in proptest::collection::vec((1i64..100, 0u32..5), 0..50)) {
            let dir = tempfile::tempdir().unwrap();
            let file = File::options().create(true).truncate(true).read(true).write(true)
                .open(dir.path().join("x.timeindex")).unwrap();
            let mut index = TimeIndex::default();
            let (mut timestamp, mut relative) = (-5i64, 0u32);
            for (dt, dr) in steps {
                timestamp += dt;
                relative += dr;
                index.maybe_push(Timestamp(timestamp), relative);
            }
            index.persist(&file).unwrap();
            let decoded = TimeIndex::decode(&std::fs::read(dir.path().join("x.timeindex")).unwrap()).unwrap();
            prop_assert_eq!(decoded.entries(), index.entries());
        }
    }

    #[test]
    fn lookups() {
        let mut index = OffsetIndex::default();
        index.push(10, 100);
        index.push(20, 200);
        assert_eq!(index.lookup(5), 0);
        assert_eq!(index.lookup(10), 100);
        assert_eq!(index.lookup(19), 100);
        assert_eq!(index.lookup(25), 200);
        let mut time = TimeIndex::default();
        time.maybe_push(Timestamp(100), 0);
        time.maybe_push(Timestamp(100), 3);
        time.maybe_push(Timestamp(200), 5);
        assert_eq!(time.entries().len(), 2);
        assert_eq!(time.lookup(Timestamp(50)), None);
        assert_eq!(time.lookup(Timestamp(100)), None);
        assert_eq!(time.lookup(Timestamp(150)), Some(0));
        assert_eq!(time.lookup(Timestamp(300)), Some(5));
        assert!(OffsetIndex::decode(&[0; 7]).is_none());
        assert!(
            OffsetIndex::decode(&[0; 16]).is_none(),
            "entries must increase"
        );
    }
}
