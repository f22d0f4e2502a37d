//! Sequential reading of batches from a segment's `.log` file: the one loop used by recovery,
//! index rebuilding, producer-state loading, timestamp lookups and compaction. It reads in large
//! chunks with positional reads (so it works on a shared `File` without moving a cursor) and stops
//! at the first batch that is torn or corrupt, reporting where. It never writes.

use std::fs::File;
use std::os::unix::fs::FileExt;

use strom_record::{BatchHeader, verify_crc};

use crate::Result;

/// Bytes read from the file at once.
const CHUNK_BYTES: usize = 1 << 20;

/// What a scan checks for every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Parse headers only (data that was already validated).
    Headers,
    /// Also verify every batch's CRC (recovery of data past the recovery point).
    Crc,
}

/// Why a scan stopped before the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The scan reached `end` exactly.
    End,
    /// The bytes at this position are not a whole valid batch.
    Invalid { position: u64 },
}

/// A reader that serves byte ranges of a file from a read-ahead buffer.
pub(crate) struct ChunkReader<'a> {
    file: &'a File,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl<'a> ChunkReader<'a> {
    /// Reads `file` up to (excluding) byte `end`.
    pub(crate) fn new(file: &'a File, end: u64) -> ChunkReader<'a> {
        ChunkReader {
            file,
            end,
            buf: Vec::new(),
            buf_start: 0,
        }
    }

    /// The bytes `[position, position + len)`, or `None` if they go past `end`.
    pub(crate) fn get(&mut self, position: u64, len: usize) -> Result<Option<&[u8]>> {
        let Some(range_end) = position.checked_add(len as u64) else {
            return Ok(None);
        };
        if range_end > self.end {
            return Ok(None);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if position < self.buf_start || range_end > buf_end {
            let want = (self.end - position).min(len.max(CHUNK_BYTES) as u64) as usize;
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, position)?;
            self.buf_start = position;
        }
        let from = (position - self.buf_start) as usize;
        Ok(self.buf.get(from..from + len))
    }
}

/// Calls `on_batch(position, header, bytes)` for each batch in `file` from `start` up to `end`,
/// where `bytes` is the whole batch when `check` is [`Check::Crc`] and the header otherwise.
/// Stops early (returning [`Stop::Invalid`]) at a batch that does not parse, does not fit before
/// `end`, fails its CRC, or does not follow the previous batch's offsets.
pub(crate) fn scan(
    file: &File,
    start: u64,
    end: u64,
    check: Check,
    mut on_batch: impl FnMut(u64, &BatchHeader, &[u8]) -> Result<()>,
) -> Result<Stop> {
    let mut reader = ChunkReader::new(file, end);
    let mut position = start;
    let mut next_offset = None;
    while position < end {
        let Some(header_bytes) = reader.get(position, BatchHeader::SIZE)? else {
            return Ok(Stop::Invalid { position });
        };
        let Ok(header) = BatchHeader::parse(header_bytes) else {
            return Ok(Stop::Invalid { position });
        };
        if next_offset.is_some_and(|next| header.base_offset < next) {
            return Ok(Stop::Invalid { position });
        }
        let size = header.total_size();
        let bytes = match check {
            Check::Headers => {
                if position + size as u64 > end {
                    return Ok(Stop::Invalid { position });
                }
                reader.get(position, BatchHeader::SIZE)?
            }
            Check::Crc => reader.get(position, size)?,
        };
        let Some(bytes) = bytes else {
            return Ok(Stop::Invalid { position });
        };
        if check == Check::Crc && verify_crc(bytes).is_err() {
            return Ok(Stop::Invalid { position });
        }
        on_batch(position, &header, bytes)?;
        next_offset = Some(header.next_offset());
        position += size as u64;
    }
    Ok(Stop::End)
}
