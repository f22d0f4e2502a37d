//! A read result the broker can send without copying: a shared handle on a segment's `.log` file
//! and a byte range in it (for `sendfile`, or `read_to_bytes` where a copy is fine). The range
//! always holds whole batches. It does not keep the log locked: if the log is truncated or the
//! segment deleted afterwards, the open handle still reads the old inode, and a read past a
//! truncation fails rather than returning other data.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

use crate::Result;

/// A byte range of a segment file holding whole batches.
#[derive(Debug, Clone)]
pub struct FileSlice {
    /// The segment's `.log` file.
    pub file: Arc<File>,
    /// First byte of the range.
    pub position: u64,
    /// Length of the range in bytes (0 for an empty read).
    pub len: u64,
}

impl FileSlice {
    /// Whether the slice holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the bytes into memory.
    pub fn read_to_bytes(&self) -> Result<Bytes> {
        let len = usize::try_from(self.len).map_err(std::io::Error::other)?;
        let mut buf = vec![0; len];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(Bytes::from(buf))
    }
}
