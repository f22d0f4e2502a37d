//! Log compaction (`cleanup.policy=compact`): keep the latest record per key, drop tombstones
//! once they are older than `delete.retention.ms`, keep every surviving record's offset, and
//! replace cleaned segments atomically and crash-safely. Only sealed segments wholly below the
//! high watermark and older than `min.compaction.lag.ms` are cleaned; the active segment never is.
//!
//! The swap protocol, for a segment with base offset `B`:
//! 1. write the cleaned batches to `B.log.cleaned`, build `B.index.cleaned` and
//!    `B.timeindex.cleaned` from them, fsync all three;
//! 2. rename `B.index.cleaned` -> `B.index.swap`, `B.timeindex.cleaned` -> `B.timeindex.swap`,
//!    then `B.log.cleaned` -> `B.log.swap`, and fsync the directory. The last rename is the
//!    commit point: once `B.log.swap` exists, the cleaned segment is the truth;
//! 3. rename the two index `.swap` files over the old indexes, then `B.log.swap` over `B.log`,
//!    and fsync the directory.
//!
//! On open ([`finish_interrupted_swaps`]): where `B.log.swap` exists, step 3 is redone (the
//! remaining `.swap` files renamed into place); every other `.cleaned` or `.swap` file belongs to
//! a swap that never committed and is deleted, leaving the old segment untouched.
//!
//! Segments are cleaned oldest first. That order matters for crash safety: a tombstone is only
//! dropped after every older segment has been cleaned of the values it deletes, so a crash midway
//! can never bring a deleted key back.
//!
//! Records without a key are dropped (Kafka rejects them at produce for compacted topics).
//! Control batches are kept as they are. A batch whose records all survive is copied byte for
//! byte; a batch that loses some is rebuilt with the same base offset, last offset, producer
//! fields and codec; a batch that loses all is dropped, except the last batch of a segment, which
//! stays as an empty batch so that the segment still ends where the next one begins. Tombstone
//! age is the tombstone's own timestamp (`now - timestamp > delete.retention.ms`), not Kafka's
//! per-batch delete horizon.
//! What it does not do: merge small segments, or keep the offset map within a memory budget
//! (the map holds every key of the cleanable segments).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use bytes::Bytes;
use strom_record::{
    BatchBuilder, BatchConfig, BatchHeader, DecodeLimits, Offset, Record, Timestamp, TimestampType,
    ValidatedBatch,
};

use crate::log::Log;
use crate::scan::{self, Check, Stop};
use crate::segment::{self, INDEX_SUFFIX, LOG_SUFFIX, Segment, TIME_INDEX_SUFFIX};
use crate::{Error, Result, checkpoint};

const CLEANED: &str = ".cleaned";
const SWAP: &str = ".swap";

/// What one [`Log::compact`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Segments replaced by cleaned copies.
    pub segments_cleaned: usize,
    /// Records removed.
    pub records_removed: u64,
    /// `.log` bytes of the replaced segments before cleaning.
    pub bytes_before: u64,
    /// `.log` bytes of their replacements.
    pub bytes_after: u64,
}

impl Log {
    /// Compacts the log if its cleanup policy says so (see the module docs for the rules).
    pub fn compact(&mut self, now: Timestamp) -> Result<CompactionReport> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        let mut res = CompactionReport::default();
        if !self.config.cleanup_policy.compacts() {
            return Ok(res);
        }
        let lag_ms = i64::try_from(self.config.min_compaction_lag_ms).unwrap_or(i64::MAX);
        let mut count = 0;
        for pair in self.segments.windows(2) {
            let (segment, next) = (&pair[0], &pair[1]);
            let young = segment
                .max_timestamp
                .is_some_and(|(max, _)| now.0.saturating_sub(max.0) < lag_ms);
            if next.base_offset > self.high_watermark() || young {
                break;
            }
            count += 1;
        }
        let Some(cleanable) = self.segments.get(..count) else {
            return Ok(res);
        };
        let mut latest: HashMap<Bytes, Offset> = HashMap::new();
        for segment in cleanable {
            for_each_batch(segment, |_, records| {
                for record in records {
                    if let Some(key) = &record.key {
                        latest.insert(key.clone(), record.offset);
                    }
                }
                Ok(())
            })?;
        }
        let delete_retention_ms =
            i64::try_from(self.config.delete_retention_ms).unwrap_or(i64::MAX);
        let keep = |record: &Record| match &record.key {
            None => false,
            Some(key) => {
                let expired_tombstone = record.value.is_none()
                    && now.0.saturating_sub(record.timestamp.0) > delete_retention_ms;
                latest.get(key) == Some(&record.offset) && !expired_tombstone
            }
        };
        for index in 0..count {
            let next_base = self.segments[index + 1].base_offset;
            let segment = &self.segments[index];
            let Some(cleaned) =
                clean_segment(&self.dir, segment, &keep, self.config.index_interval_bytes)?
            else {
                continue;
            };
            res.segments_cleaned += 1;
            res.records_removed += cleaned.records_removed;
            res.bytes_before += segment.size;
            res.bytes_after += cleaned.segment.size;
            let mut replacement = cleaned.segment;
            let swapped = swap_in(&self.dir, replacement.base_offset);
            self.fail_on_error(swapped)?;
            replacement.next_offset = next_base;
            self.segments[index] = replacement;
        }
        Ok(res)
    }
}

/// Completes the swaps that committed before a crash and deletes the leftovers of those that did
/// not (see the module docs). Returns how many swaps were completed.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<usize> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    let mut completed = 0;
    let mut changed = false;
    for name in &names {
        let Some((base_offset, LOG_SUFFIX)) =
            name.strip_suffix(SWAP).and_then(segment::parse_file_name)
        else {
            continue;
        };
        for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
            let swap = segment::file_path(dir, base_offset, &format!("{suffix}{SWAP}"));
            match fs::rename(&swap, segment::file_path(dir, base_offset, suffix)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        completed += 1;
        changed = true;
    }
    for name in &names {
        if name.ends_with(CLEANED) || name.ends_with(SWAP) {
            match fs::remove_file(dir.join(name)) {
                Ok(()) => changed = true,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    if changed {
        checkpoint::sync_dir(dir)?;
    }
    Ok(completed)
}

struct Cleaned {
    segment: Segment,
    records_removed: u64,
}

/// Calls `on_batch` with the header and records of each non-control batch of `segment`.
fn for_each_batch(
    segment: &Segment,
    mut on_batch: impl FnMut(&BatchHeader, Vec<Record>) -> Result<()>,
) -> Result<()> {
    let stop = scan::scan(
        &segment.log,
        0,
        segment.size,
        Check::Crc,
        |_, header, bytes| {
            if header.is_control() {
                return Ok(());
            }
            let batch = ValidatedBatch::new(Bytes::copy_from_slice(bytes))?;
            on_batch(header, batch.records(DecodeLimits::default())?)
        },
    )?;
    if let Stop::Invalid { position } = stop {
        return Err(Error::Corrupt {
            base_offset: segment.base_offset,
            position,
        });
    }
    Ok(())
}

/// Writes the cleaned copy of `segment` as `<base>.*.cleaned` (fsynced), or returns `None` if
/// cleaning would change nothing.
fn clean_segment(
    dir: &Path,
    segment: &Segment,
    keep: &impl Fn(&Record) -> bool,
    index_interval_bytes: u64,
) -> Result<Option<Cleaned>> {
    let mut out: Option<Segment> = None;
    let mut position = 0u64;
    let mut records_removed = 0u64;
    let stop = scan::scan(
        &segment.log,
        0,
        segment.size,
        Check::Crc,
        |batch_position, header, bytes| {
            let replacement;
            let kept: &[u8] = if header.is_control() {
                bytes
            } else {
                let records = ValidatedBatch::new(Bytes::copy_from_slice(bytes))?
                    .records(DecodeLimits::default())?;
                let total = records.len();
                let kept: Vec<Record> = records.into_iter().filter(|record| keep(record)).collect();
                records_removed += (total - kept.len()) as u64;
                if kept.len() == total {
                    bytes
                } else if kept.is_empty() && batch_position + bytes.len() as u64 != segment.size {
                    &[]
                } else {
                    // The last batch of a segment stays, even empty, so the segment still ends
                    // where the next one begins (recovery relies on it to spot a lost tail).
                    replacement = rebuild_batch(header, kept)?;
                    replacement.as_bytes()
                }
            };
            if out.is_none() && records_removed == 0 {
                return Ok(());
            }
            let cleaned = match &mut out {
                Some(cleaned) => cleaned,
                None => {
                    // The first change: copy the unchanged prefix, then continue batch by batch.
                    let cleaned = out.insert(Segment::create_with_suffix(
                        dir,
                        segment.base_offset,
                        CLEANED,
                    )?);
                    copy_range(&segment.log, &cleaned.log, 0, batch_position)?;
                    position = batch_position;
                    cleaned
                }
            };
            cleaned.log.write_all_at(kept, position)?;
            position += kept.len() as u64;
            Ok(())
        },
    )?;
    if let Stop::Invalid { position } = stop {
        return Err(Error::Corrupt {
            base_offset: segment.base_offset,
            position,
        });
    }
    let Some(mut cleaned) = out else {
        return Ok(None);
    };
    cleaned.size = position;
    let stop = cleaned.rebuild(Check::Headers, index_interval_bytes, true, |_| Ok(()))?;
    if stop != Stop::End {
        return Err(Error::Corrupt {
            base_offset: segment.base_offset,
            position: cleaned.size,
        });
    }
    cleaned.flush()?;
    Ok(Some(Cleaned {
        segment: cleaned,
        records_removed,
    }))
}

/// Rebuilds a batch from the records that survive (possibly none), keeping its offsets, producer
/// fields and max timestamp.
fn rebuild_batch(header: &BatchHeader, records: Vec<Record>) -> Result<ValidatedBatch> {
    let mut builder = BatchBuilder::new(BatchConfig {
        base_offset: header.base_offset,
        compression: header.compression()?,
        timestamp_type: header.timestamp_type(),
        partition_leader_epoch: header.partition_leader_epoch,
        producer_id: header.producer_id,
        producer_epoch: header.producer_epoch,
        base_sequence: header.base_sequence,
        is_transactional: header.is_transactional(),
        is_control: false,
    });
    for record in records {
        builder.push_at(
            record.offset,
            record.timestamp,
            record.key,
            record.value,
            record.headers,
        )?;
    }
    builder.set_last_offset(header.last_offset())?;
    let empty = builder.is_empty();
    let mut res = builder.build()?;
    if let Some(epoch) = header.partition_leader_epoch {
        res.set_partition_leader_epoch(epoch);
    }
    // An empty batch has no record to carry its timestamp; marking it `LogAppendTime` keeps the
    // original max timestamp (retention and the time index go by it) without changing any record.
    if empty || header.timestamp_type() == TimestampType::LogAppendTime {
        res.set_log_append_time(header.max_timestamp);
    }
    Ok(res)
}

/// Copies bytes `[0, len)` of `from` to the same positions of `to`.
fn copy_range(from: &fs::File, to: &fs::File, start: u64, len: u64) -> Result<()> {
    let mut buf = vec![0; 1 << 20];
    let mut done = 0;
    while done < len {
        let n = buf.len().min((len - done) as usize);
        let chunk = &mut buf[..n];
        from.read_exact_at(chunk, start + done)?;
        to.write_all_at(chunk, start + done)?;
        done += n as u64;
    }
    Ok(())
}

/// Steps 2 and 3 of the swap protocol for the segment at `base_offset`.
fn swap_in(dir: &Path, base_offset: Offset) -> Result<()> {
    let path = |suffix: &str, extra: &str| {
        segment::file_path(dir, base_offset, &format!("{suffix}{extra}"))
    };
    for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
        fs::rename(path(suffix, CLEANED), path(suffix, SWAP))?;
    }
    checkpoint::sync_dir(dir)?;
    for suffix in [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX] {
        fs::rename(path(suffix, SWAP), path(suffix, ""))?;
    }
    checkpoint::sync_dir(dir)
}
