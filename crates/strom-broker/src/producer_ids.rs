//! The producer id allocator: hands out producer ids for `InitProducerId` from a counter that
//! survives restarts. Ids are reserved in blocks of [`BLOCK_SIZE`]: the end of the current block
//! is written (and fsynced) to `<first log dir>/producer-id-block` before any id of the block is
//! handed out, so an id is never given out twice, at the cost of skipping the unused rest of a
//! block after a restart. It is synchronous; the broker calls it under a mutex.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::Error;

/// Ids reserved per durable write.
pub const BLOCK_SIZE: i64 = 1000;

/// The file holding the first id not yet reserved.
pub const FILE_NAME: &str = "producer-id-block";

/// A durable producer id counter.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    path: PathBuf,
    next: i64,
    reserved_until: i64,
}

impl ProducerIdAllocator {
    /// Opens the counter stored in `dir` (starting at 0 when there is none).
    pub fn open(dir: &Path) -> Result<ProducerIdAllocator, Error> {
        let path = dir.join(FILE_NAME);
        let reserved_until = match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse::<i64>().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} does not hold a number", path.display()),
                )
            })?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => 0,
            Err(error) => return Err(error.into()),
        };
        Ok(ProducerIdAllocator {
            path,
            next: reserved_until,
            reserved_until,
        })
    }

    /// A fresh producer id.
    pub fn allocate(&mut self) -> Result<i64, Error> {
        if self.next >= self.reserved_until {
            let reserved_until = self.next.saturating_add(BLOCK_SIZE);
            self.write(reserved_until)?;
            self.reserved_until = reserved_until;
        }
        let res = self.next;
        self.next += 1;
        Ok(res)
    }

    /// Whether `producer_id` was handed out by this counter (in this or an earlier run).
    pub fn was_allocated(&self, producer_id: i64) -> bool {
        (0..self.next).contains(&producer_id)
    }

    fn write(&self, reserved_until: i64) -> Result<(), Error> {
        let temporary = self.path.with_extension("new");
        let mut file = File::create(&temporary)?;
        file.write_all(format!("{reserved_until}\n").as_bytes())?;
        file.sync_all()?;
        fs::rename(&temporary, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut allocator = ProducerIdAllocator::open(dir.path()).unwrap();
        let first: Vec<i64> = (0..3).map(|_| allocator.allocate().unwrap()).collect();
        assert_eq!(first, [0, 1, 2]);
        assert!(allocator.was_allocated(2));
        assert!(!allocator.was_allocated(3));
        drop(allocator);
        let mut allocator = ProducerIdAllocator::open(dir.path()).unwrap();
        let next = allocator.allocate().unwrap();
        assert_eq!(next, BLOCK_SIZE);
        assert!(allocator.was_allocated(1));
    }
}
