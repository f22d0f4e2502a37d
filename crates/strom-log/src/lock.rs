//! The directory lock: an exclusive advisory lock on `<dir>/.lock`, so that two processes (or two
//! log managers in one process) never open the same data. It uses `File::try_lock` (`flock` on
//! Linux), which the kernel releases when the process dies, so a crash never leaves a stale lock.
//! It does not protect against processes that ignore the lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// An exclusive lock on one directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    // Holding the open file holds the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock on `dir` (creating `dir/.lock` if needed), or fails with
    /// [`Error::DirectoryLocked`] if someone else holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock {
                _file: file,
                path: dir.to_owned(),
            }),
            Err(TryLockError::WouldBlock) => Err(Error::DirectoryLocked {
                path: dir.to_owned(),
            }),
            Err(TryLockError::Error(error)) => Err(error.into()),
        }
    }

    /// The locked directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_until_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        assert!(matches!(
            DirLock::acquire(dir.path()),
            Err(Error::DirectoryLocked { .. })
        ));
        drop(lock);
        assert!(DirLock::acquire(dir.path()).is_ok());
    }
}
