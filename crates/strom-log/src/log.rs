//! One partition log: an ordered list of segments (the last one is the active segment that
//! appends go to), the log start offset, the recovery point, the high watermark, the leader-epoch
//! cache and the producer state of the log tail.
//!
//! Files in a partition directory:
//! - `<base>.log`, `<base>.index`, `<base>.timeindex` per segment (see `segment.rs`);
//! - `log-start-offset-checkpoint`, `recovery-point-checkpoint`, `high-watermark-checkpoint`,
//!   `leader-epoch-checkpoint` (see `checkpoint.rs`);
//! - `.clean-shutdown`, present only between a clean [`Log::close`] and the next [`Log::open`];
//! - transient `<base>.log.cleaned` / `<base>.log.swap` during compaction (see `cleaner.rs`).
//!
//! What this module does not do: decide when retention, compaction or flush ticks run (the owner
//! calls them), own the high watermark's value (the replication layer sets it), or check producer
//! sequence numbers (the broker does, with [`Log::producer_states`]).

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use strom_record::{
    BatchHeader, DecodeLimits, LeaderEpoch, Offset, Record, Timestamp, TimestampType,
    ValidatedBatch,
};

use crate::epoch::{EpochEntry, LeaderEpochCache};
use crate::producer::{self, ProducerBatch, ProducerStates};
use crate::scan::{self, Check, Stop};
use crate::segment::{self, LOG_SUFFIX, Segment};
use crate::{Error, FileSlice, LogConfig, Result, checkpoint, cleaner};

const LOG_START_OFFSET_FILE: &str = "log-start-offset-checkpoint";
const RECOVERY_POINT_FILE: &str = "recovery-point-checkpoint";
const HIGH_WATERMARK_FILE: &str = "high-watermark-checkpoint";
const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";
/// How many trailing segments are read on open to rebuild the producer state.
const PRODUCER_STATE_SEGMENTS: usize = 2;

/// A partition log.
#[derive(Debug)]
pub struct Log {
    pub(crate) dir: PathBuf,
    pub(crate) config: LogConfig,
    /// Sorted by base offset; never empty; the last one is active.
    pub(crate) segments: Vec<Segment>,
    pub(crate) log_start_offset: Offset,
    /// Everything before this offset has been fsynced.
    recovery_point: Offset,
    /// What the checkpoint files hold, so unchanged ones are not rewritten (each write costs two
    /// fsyncs, and a broker opens thousands of logs).
    written: Written,
    high_watermark: Offset,
    epochs: LeaderEpochCache,
    producers: ProducerStates,
    unflushed_messages: u64,
    last_flush: Timestamp,
    /// Files were created or removed since the directory was last fsynced.
    pub(crate) dir_dirty: bool,
    /// A write or fsync failed: refuse writes until reopened.
    pub(crate) failed: bool,
    recovery: RecoveryReport,
}

/// The offsets last written to each checkpoint file; `None` if unknown (written next time).
#[derive(Debug, Default)]
struct Written {
    recovery_point: Option<Offset>,
    log_start_offset: Option<Offset>,
    high_watermark: Option<Offset>,
}

/// The outcome of an append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the batch's first record.
    pub base_offset: Offset,
    /// Offset of the batch's last record.
    pub last_offset: Offset,
    /// The timestamp the log stamped on the batch (`LogAppendTime` topics), else `None`.
    pub log_append_time: Option<Timestamp>,
}

/// What [`Log::open`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// A clean-shutdown marker was present, so no segment was scanned for corruption.
    pub clean_shutdown: bool,
    /// Segments whose batches were read and CRC-checked.
    pub segments_scanned: usize,
    /// Segments whose index files were missing or disagreed with the `.log` file.
    pub indexes_rebuilt: usize,
    /// Bytes cut from the segment where the first invalid batch was found.
    pub truncated_bytes: u64,
    /// Whole segments removed because they came after an invalid batch.
    pub segments_dropped: usize,
    /// Interrupted compaction swaps that were completed.
    pub swaps_completed: usize,
}

/// What [`Log::enforce_retention`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segments deleted.
    pub segments_deleted: usize,
    /// Bytes of `.log` files deleted.
    pub bytes_deleted: u64,
}

impl Log {
    /// Opens (creating if needed) the partition log in `dir`, recovering it if the last shutdown
    /// was not clean: finishes or rolls back an interrupted compaction swap, re-validates every
    /// batch past the recovery point, cuts the log at the first invalid batch, rebuilds missing or
    /// inconsistent indexes, and fsyncs what it recovered.
    pub fn open(dir: &Path, config: LogConfig, now: Timestamp) -> Result<Log> {
        config.validate()?;
        fs::create_dir_all(dir)?;
        let clean = dir.join(CLEAN_SHUTDOWN_FILE).exists();
        let mut recovery = RecoveryReport {
            clean_shutdown: clean,
            swaps_completed: cleaner::finish_interrupted_swaps(dir)?,
            ..RecoveryReport::default()
        };
        let mut bases = list_segments(dir)?;
        let checkpointed_log_start = read_offset(&dir.join(LOG_START_OFFSET_FILE))?;
        let checkpointed_recovery_point = read_offset(&dir.join(RECOVERY_POINT_FILE))?;
        let checkpointed_high_watermark = read_offset(&dir.join(HIGH_WATERMARK_FILE))?;
        let recovery_point = checkpointed_recovery_point.unwrap_or(Offset(0));
        let mut epochs = LeaderEpochCache::load(dir)?;
        let mut log_start_offset =
            checkpointed_log_start.unwrap_or(bases.first().copied().unwrap_or(Offset(0)));

        // Segments wholly before the log start offset are left over from an interrupted
        // retention run.
        while bases.len() > 1 && bases[1] <= log_start_offset {
            segment::delete_files(dir, bases[0])?;
            bases.remove(0);
        }

        let mut segments: Vec<Segment> = Vec::with_capacity(bases.len());
        for (index, &base_offset) in bases.iter().enumerate() {
            let next_base = bases.get(index + 1).copied();
            let mut segment = Segment::open(dir, base_offset)?;
            let size_on_disk = segment.size;
            // A sealed segment is trusted if a flush happened after it was sealed: the next
            // segment already held flushed data. Flush persists and fsyncs sealed indexes.
            let trusted = clean || next_base.is_some_and(|next| next < recovery_point);
            let mut assign_epoch = |header: &BatchHeader| match header.partition_leader_epoch {
                Some(epoch) => epochs.assign_if_newer(epoch, header.base_offset),
                None => Ok(()),
            };
            let interval = config.index_interval_bytes;
            let mut segment_trusted_as_is = false;
            let stop = match next_base {
                Some(next) if trusted => {
                    if segment.load_indexes()? {
                        segment.next_offset = next;
                        segment_trusted_as_is = true;
                        Stop::End
                    } else {
                        recovery.indexes_rebuilt += 1;
                        recovery.segments_scanned += 1;
                        segment.rebuild(Check::Crc, interval, true, &mut assign_epoch)?
                    }
                }
                None if clean => {
                    segment.rebuild(Check::Headers, interval, false, &mut assign_epoch)?
                }
                _ => {
                    recovery.segments_scanned += 1;
                    segment.rebuild(Check::Crc, interval, next_base.is_some(), &mut assign_epoch)?
                }
            };
            // Every segment ends where the next begins (see `maybe_roll`), so a scanned segment
            // that ends early lost its tail in a crash that kept a later segment's file.
            let lost_tail = stop == Stop::End
                && !segment_trusted_as_is
                && next_base.is_some_and(|next| segment.next_offset != next);
            if lost_tail {
                tracing::warn!(
                    dir = %dir.display(),
                    segment = %base_offset,
                    "segment ends before the next one starts; truncating the log there"
                );
            }
            if let Stop::Invalid { position } = stop {
                tracing::warn!(
                    dir = %dir.display(),
                    segment = %base_offset,
                    position,
                    "invalid batch found during recovery; truncating the log there"
                );
                recovery.truncated_bytes += size_on_disk - position;
                segment.cut_at(position)?;
            }
            if lost_tail || stop != Stop::End {
                let position = segment.size;
                if segment.rebuild(Check::Headers, interval, false, |_| Ok(()))? != Stop::End {
                    return Err(Error::Corrupt {
                        base_offset,
                        position,
                    });
                }
                // Later segments go from the last one back, so a crash here leaves a prefix.
                for &later in bases.get(index + 1..).unwrap_or_default().iter().rev() {
                    segment::delete_files(dir, later)?;
                    recovery.segments_dropped += 1;
                }
                segments.push(segment);
                break;
            }
            segments.push(segment);
        }
        if segments.is_empty() {
            segments.push(Segment::create(dir, log_start_offset)?);
        }
        let mut log = Log {
            dir: dir.to_owned(),
            config,
            segments,
            log_start_offset,
            recovery_point,
            written: Written {
                recovery_point: checkpointed_recovery_point,
                log_start_offset: checkpointed_log_start,
                high_watermark: checkpointed_high_watermark,
            },
            high_watermark: log_start_offset,
            epochs,
            producers: BTreeMap::new(),
            unflushed_messages: 0,
            last_flush: now,
            dir_dirty: true,
            failed: false,
            recovery,
        };
        let log_end_offset = log.log_end_offset();
        if log_start_offset > log_end_offset {
            // Data the log start offset vouched for is gone (lost in a crash before it was
            // fsynced): start empty at the log start offset rather than below it.
            log.truncate_fully_and_start_at(log_start_offset)?;
        }
        log_start_offset = log_start_offset.max(log.segments[0].base_offset);
        log.log_start_offset = log_start_offset;
        let log_end_offset = log.log_end_offset();
        // As in Kafka, an epoch without data (assigned at the log end, or whose first batch was
        // lost in a crash) does not survive a restart; a leader assigns its epoch again.
        log.epochs.truncate_from_end(log_end_offset)?;
        log.epochs.truncate_from_start(log_start_offset)?;
        log.reload_producer_states()?;
        let high_watermark = checkpointed_high_watermark.unwrap_or(log_start_offset);
        log.high_watermark = high_watermark.clamp(log_start_offset, log_end_offset);
        // Make what recovery kept durable, so the recovery point can move to the log end.
        log.flush(now)?;
        log.write_checkpoints()?;
        match fs::remove_file(dir.join(CLEAN_SHUTDOWN_FILE)) {
            Ok(()) => checkpoint::sync_dir(dir)?,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
        Ok(log)
    }

    /// Appends a batch as the leader: assigns offsets from the log end offset (rewriting the base
    /// offset in place), stamps `now` for `LogAppendTime` topics, updates the indexes, rolls the
    /// active segment first if `segment.bytes` or `segment.ms` say so, and flushes if
    /// `flush.messages` or `flush.ms` say so. The broker stamps the partition leader epoch on the
    /// batch before calling this; a batch with a newer epoch than the cache knows starts that
    /// epoch at its base offset.
    pub fn append(&mut self, mut batch: ValidatedBatch, now: Timestamp) -> Result<AppendInfo> {
        self.check_writable(&batch)?;
        batch.set_base_offset(self.log_end_offset());
        let log_append_time = match self.config.message_timestamp_type {
            TimestampType::LogAppendTime => {
                batch.set_log_append_time(now);
                Some(now)
            }
            TimestampType::CreateTime => None,
        };
        let header = self.append_bytes(batch.as_bytes(), now)?;
        Ok(AppendInfo {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            log_append_time,
        })
    }

    /// Appends a batch that already has its offsets (a follower copying the leader's log). Its
    /// base offset must be at or after the log end offset (gaps exist in compacted logs).
    pub fn append_as_follower(
        &mut self,
        batch: ValidatedBatch,
        now: Timestamp,
    ) -> Result<AppendInfo> {
        self.check_writable(&batch)?;
        let log_end_offset = self.log_end_offset();
        if batch.header().base_offset < log_end_offset {
            return Err(Error::NonMonotonicOffset {
                base_offset: batch.header().base_offset,
                log_end_offset,
            });
        }
        let header = self.append_bytes(batch.as_bytes(), now)?;
        Ok(AppendInfo {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            log_append_time: None,
        })
    }

    /// Reads whole batches starting with the one that holds `offset`, up to `max_bytes` (but at
    /// least one batch, so a consumer always makes progress), and only batches that end before
    /// `upper_bound` (exclusive; the broker passes the high watermark, a follower the log end
    /// offset). Reads come from one segment at a time, as Kafka's do. An empty slice means
    /// there is nothing to read yet.
    pub fn read(&self, offset: Offset, max_bytes: u64, upper_bound: Offset) -> Result<FileSlice> {
        let log_end_offset = self.log_end_offset();
        if offset < self.log_start_offset || offset > log_end_offset {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset,
            });
        }
        let upper_bound = upper_bound.min(log_end_offset);
        let active = self.active();
        let empty = FileSlice {
            file: std::sync::Arc::clone(&active.log),
            position: active.size,
            len: 0,
        };
        if offset >= upper_bound {
            return Ok(empty);
        }
        for segment in self
            .segments
            .get(self.segment_index(offset)..)
            .unwrap_or_default()
        {
            if let Some(slice) = segment.read(offset, max_bytes, upper_bound)? {
                return Ok(slice);
            }
        }
        Ok(empty)
    }

    /// ListOffsets by timestamp: the first record (in offset order) whose timestamp is `>=
    /// timestamp`, with its timestamp; `None` if there is none.
    pub fn offset_for_timestamp(
        &self,
        timestamp: Timestamp,
    ) -> Result<Option<(Offset, Timestamp)>> {
        for segment in &self.segments {
            if segment.max_timestamp.is_none_or(|(max, _)| max < timestamp) {
                continue;
            }
            let start = segment.time_lookup(timestamp).max(self.log_start_offset);
            let Some((mut position, _)) = segment.find_batch(start)? else {
                continue;
            };
            while let Some(header) = segment.header_at(position)? {
                if header.max_timestamp >= timestamp
                    && header.last_offset() >= self.log_start_offset
                {
                    let found =
                        batch_records(segment, position, &header)?
                            .into_iter()
                            .find(|record| {
                                record.offset >= self.log_start_offset
                                    && record.timestamp >= timestamp
                            });
                    if let Some(record) = found {
                        return Ok(Some((record.offset, record.timestamp)));
                    }
                }
                position += header.total_size() as u64;
            }
        }
        Ok(None)
    }

    /// ListOffsets `MAX_TIMESTAMP`: the first record with the largest timestamp in the log.
    pub fn max_timestamp_offset(&self) -> Result<Option<(Offset, Timestamp)>> {
        let mut best: Option<(Timestamp, Offset, usize)> = None;
        for (index, segment) in self.segments.iter().enumerate() {
            if let Some((timestamp, offset)) = segment.max_timestamp
                && best.is_none_or(|(max, _, _)| timestamp > max)
            {
                best = Some((timestamp, offset, index));
            }
        }
        let Some((timestamp, offset, index)) = best else {
            return Ok(None);
        };
        let segment = &self.segments[index];
        if let Some((position, header)) = segment.find_batch(offset)? {
            let found = batch_records(segment, position, &header)?
                .into_iter()
                .find(|record| record.timestamp == timestamp);
            if let Some(record) = found {
                return Ok(Some((record.offset, record.timestamp)));
            }
        }
        Ok(Some((offset, timestamp)))
    }

    /// Removes every batch at or after `offset` (the batch holding `offset` goes whole), for a
    /// follower whose log diverged from the leader's. Also truncates the leader-epoch cache and
    /// lowers the high watermark and recovery point. Below the log start offset this empties
    /// the log and starts it at `offset`.
    pub fn truncate_to(&mut self, offset: Offset) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        if offset >= self.log_end_offset() {
            return Ok(());
        }
        if offset < self.log_start_offset || offset <= self.segments[0].base_offset {
            return self.truncate_fully_and_start_at(offset);
        }
        if self.recovery_point > offset {
            self.recovery_point = offset;
            self.write_checkpoints()?;
        }
        // Whole segments first, from the last one back, so a crash leaves a prefix of the log.
        while self.active().base_offset >= offset {
            let segment = self
                .segments
                .pop()
                .expect("the first segment starts below `offset`");
            segment::delete_files(&self.dir, segment.base_offset)?;
            self.dir_dirty = true;
        }
        let interval = self.config.index_interval_bytes;
        let res = self.active_mut().truncate_to(offset, interval);
        self.fail_on_error(res)?;
        if self.log_end_offset() < self.log_start_offset {
            // Compaction had emptied the tail below the log start offset.
            return self.truncate_fully_and_start_at(self.log_start_offset);
        }
        self.after_truncation()
    }

    /// Deletes every segment and starts the log empty at `offset` (a follower that fell behind
    /// the leader's log start offset).
    pub fn truncate_fully_and_start_at(&mut self, offset: Offset) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        // Files first, last segment first: a crash midway leaves a prefix of the old log with its
        // old checkpoints, or the new empty segment, whose base offset open takes as the log start.
        while let Some(segment) = self.segments.pop() {
            segment::delete_files(&self.dir, segment.base_offset)?;
        }
        self.segments.push(Segment::create(&self.dir, offset)?);
        self.dir_dirty = true;
        self.log_start_offset = offset;
        self.recovery_point = offset;
        self.high_watermark = offset;
        self.write_checkpoints()?;
        self.epochs.clear()?;
        self.after_truncation()
    }

    /// Rolls the active segment now (if it holds anything).
    pub fn roll(&mut self) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        if self.active().size == 0 {
            return Ok(());
        }
        let base_offset = self.log_end_offset();
        self.roll_at(base_offset)
    }

    /// Deletes old segments as `cleanup.policy`, `retention.ms` and `retention.bytes` say, and
    /// segments wholly below the log start offset (after `DeleteRecords`). Only segments wholly
    /// below the high watermark are deleted. If time retention would delete the active segment,
    /// it is rolled first, so the log keeps its log end offset in an empty active segment.
    pub fn enforce_retention(&mut self, now: Timestamp) -> Result<RetentionReport> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        let deletes = self.config.cleanup_policy.deletes();
        let retention_ms = self.config.retention_ms;
        let expired = |segment: &Segment| {
            deletes
                && retention_ms.is_some_and(|retention_ms| {
                    segment.max_timestamp.is_some_and(|(max, _)| {
                        now.0.saturating_sub(max.0)
                            > i64::try_from(retention_ms).unwrap_or(i64::MAX)
                    })
                })
        };
        let active = self.active();
        if active.size > 0
            && self.log_end_offset() <= self.high_watermark
            && self.segments.iter().all(expired)
        {
            self.roll()?;
        }
        let mut total_bytes: u64 = self.segments.iter().map(|segment| segment.size).sum();
        let mut count = 0;
        for pair in self.segments.windows(2) {
            let (segment, next) = (&pair[0], &pair[1]);
            if next.base_offset > self.high_watermark {
                break;
            }
            let by_size = deletes
                && self
                    .config
                    .retention_bytes
                    .is_some_and(|max| total_bytes - segment.size >= max);
            if !(next.base_offset <= self.log_start_offset || expired(segment) || by_size) {
                break;
            }
            total_bytes -= segment.size;
            count += 1;
        }
        if count == 0 {
            return Ok(RetentionReport::default());
        }
        let log_start_offset = self.log_start_offset.max(self.segments[count].base_offset);
        // The checkpoint goes first: segments left behind by a crash are below it and are
        // deleted on open.
        if log_start_offset != self.log_start_offset {
            self.log_start_offset = log_start_offset;
            self.write_checkpoints()?;
        }
        let mut res = RetentionReport::default();
        for segment in self.segments.drain(..count) {
            segment::delete_files(&self.dir, segment.base_offset)?;
            res.segments_deleted += 1;
            res.bytes_deleted += segment.size;
        }
        self.dir_dirty = true;
        self.epochs.truncate_from_start(log_start_offset)?;
        Ok(res)
    }

    /// `DeleteRecords`: moves the log start offset up to `offset` (at most the high watermark).
    /// Segments wholly below it are deleted by the next [`Log::enforce_retention`]. Returns the
    /// new log start offset.
    pub fn delete_records_before(&mut self, offset: Offset) -> Result<Offset> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        if offset > self.high_watermark {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.high_watermark,
            });
        }
        if offset > self.log_start_offset {
            self.log_start_offset = offset;
            self.write_checkpoints()?;
            self.epochs.truncate_from_start(offset)?;
        }
        Ok(self.log_start_offset)
    }

    /// Fsyncs every segment written since the last flush (data and indexes) and the directory,
    /// and moves the recovery point to the log end offset. Group commit calls this once for many
    /// appends. A failed fsync marks the log failed: it is never retried, since the kernel may
    /// have dropped the dirty pages; every later write fails until the log is reopened.
    pub fn flush(&mut self, now: Timestamp) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        for segment in self.segments.iter_mut().filter(|segment| segment.dirty) {
            if let Err(error) = segment.flush() {
                self.failed = true;
                return Err(error);
            }
        }
        if self.dir_dirty {
            let res = checkpoint::sync_dir(&self.dir);
            self.fail_on_error(res)?;
            self.dir_dirty = false;
        }
        self.recovery_point = self.log_end_offset();
        self.unflushed_messages = 0;
        self.last_flush = now;
        // The checkpoint only needs to move once per segment: recovery scans from the segment
        // holding the checkpointed recovery point, and a stale one only means a longer scan.
        if self
            .written
            .recovery_point
            .is_none_or(|written| written < self.active().base_offset)
        {
            self.write_checkpoints()?;
        }
        Ok(())
    }

    /// Flushes if `flush.ms` has passed since the last flush and something is unflushed.
    pub fn flush_tick(&mut self, now: Timestamp) -> Result<()> {
        let due = self.config.flush_ms.is_some_and(|flush_ms| {
            now.0.saturating_sub(self.last_flush.0) >= i64::try_from(flush_ms).unwrap_or(i64::MAX)
        });
        if due && self.unflushed_messages > 0 {
            return self.flush(now);
        }
        Ok(())
    }

    /// Flushes, writes the checkpoints and leaves the clean-shutdown marker, so the next open
    /// skips recovery. A failed log is closed without the marker (the next open recovers).
    pub fn close(mut self, now: Timestamp) -> Result<()> {
        self.flush(now)?;
        self.write_checkpoints()?;
        let marker = File::create(self.dir.join(CLEAN_SHUTDOWN_FILE))?;
        if let Err(error) = marker.sync_all() {
            return Err(Error::FlushFailed(error));
        }
        checkpoint::sync_dir(&self.dir)
    }

    /// Replaces the configuration (topic configs change at runtime). New values apply from the
    /// next append, roll or tick.
    pub fn set_config(&mut self, config: LogConfig) -> Result<()> {
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Sets the high watermark (owned by the replication layer); kept within
    /// `[log_start_offset, log_end_offset]`.
    pub fn set_high_watermark(&mut self, high_watermark: Offset) {
        self.high_watermark = high_watermark.clamp(self.log_start_offset, self.log_end_offset());
    }

    /// Records that leader epoch `epoch` starts at `start_offset` (a new leader does this with its
    /// log end offset).
    pub fn assign_epoch(&mut self, epoch: LeaderEpoch, start_offset: Offset) -> Result<()> {
        self.epochs.assign(epoch, start_offset)?;
        Ok(())
    }

    /// `OffsetForLeaderEpoch`: the largest epoch `<= epoch` this log knows and the offset where it
    /// ended; `None` for Kafka's undefined epoch and offset.
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        self.epochs.end_offset_for(epoch, self.log_end_offset())
    }

    /// The leader-epoch cache.
    pub fn epoch_entries(&self) -> &[EpochEntry] {
        self.epochs.entries()
    }

    /// The newest leader epoch in the cache.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epochs.latest_epoch()
    }

    /// The first offset the log holds.
    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> Offset {
        self.active().next_offset
    }

    /// The high watermark last set by the replication layer.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Everything before this offset is fsynced.
    pub fn recovery_point(&self) -> Offset {
        self.recovery_point
    }

    /// Per producer id, its last batches in the log tail, oldest first (see `producer.rs` for
    /// what "tail" means and how many are kept).
    pub fn producer_states(&self) -> &BTreeMap<i64, VecDeque<ProducerBatch>> {
        &self.producers
    }

    /// What the last open found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Total bytes of the segments' `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|segment| segment.size).sum()
    }

    /// Base offsets of the segments, oldest first (the last is the active segment).
    pub fn segment_base_offsets(&self) -> Vec<Offset> {
        self.segments
            .iter()
            .map(|segment| segment.base_offset)
            .collect()
    }

    /// Whether an earlier write or fsync failure makes the log refuse writes.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn active(&self) -> &Segment {
        self.segments
            .last()
            .expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a log always has an active segment")
    }

    /// Index of the segment to start reading `offset` from.
    fn segment_index(&self, offset: Offset) -> usize {
        self.segments
            .partition_point(|segment| segment.base_offset <= offset)
            .saturating_sub(1)
    }

    fn check_writable(&self, batch: &ValidatedBatch) -> Result<()> {
        if self.failed {
            return Err(Error::LogFailed);
        }
        let size_bytes = batch.as_bytes().len() as u64;
        if size_bytes > self.config.max_message_bytes {
            return Err(Error::RecordTooLarge {
                size_bytes,
                max_bytes: self.config.max_message_bytes,
            });
        }
        Ok(())
    }

    /// Appends bytes of one batch whose offsets are final.
    fn append_bytes(&mut self, bytes: &[u8], now: Timestamp) -> Result<BatchHeader> {
        let header = BatchHeader::parse(bytes)?;
        assert!(
            header.base_offset >= self.log_end_offset(),
            "offsets must increase"
        );
        let gap = self.maybe_roll(&header, now)?;
        let interval = self.config.index_interval_bytes;
        let res = self.active_mut().append(bytes, &header, interval);
        if let Err(Error::LogFailed) = res {
            self.failed = true;
        }
        res?;
        if let Some(epoch) = header.partition_leader_epoch {
            self.epochs.assign_if_newer(epoch, header.base_offset)?;
        }
        producer::observe(&mut self.producers, &header);
        self.unflushed_messages += u64::from(header.last_offset_delta) + 1;
        let by_count = self
            .config
            .flush_messages
            .is_some_and(|flush_messages| self.unflushed_messages >= flush_messages);
        if by_count || gap {
            self.flush(now)?;
        } else {
            self.flush_tick(now)?;
        }
        Ok(header)
    }

    /// Rolls the active segment if the batch does not belong in it. A new segment starts at the
    /// log end offset, so every segment ends where the next one begins (recovery relies on this
    /// to spot a lost tail). Only a follower batch too far past the log end for 32-bit relative
    /// offsets starts a segment at its own base offset; that gap is made durable at once (the
    /// returned `true` asks for a flush after the append), so recovery never mistakes it for a
    /// lost tail.
    fn maybe_roll(&mut self, header: &BatchHeader, now: Timestamp) -> Result<bool> {
        let active = self.active();
        let size = header.total_size() as u64;
        let full = active.size > 0 && active.size + size > self.config.segment_bytes;
        let segment_ms = i64::try_from(self.config.segment_ms).unwrap_or(i64::MAX);
        let aged = active
            .first_batch_timestamp
            .is_some_and(|first| now.0.saturating_sub(first.0) >= segment_ms);
        if full || aged {
            let log_end_offset = self.log_end_offset();
            self.roll_at(log_end_offset)?;
        }
        let active = self.active();
        // An empty log may start wherever its first (follower) batch does.
        let empty_log = self.segments.len() == 1
            && active.size == 0
            && active.base_offset != header.base_offset;
        if empty_log || !active.can_hold(header.last_offset()) {
            let gap = !empty_log && header.base_offset != self.log_end_offset();
            self.roll_at(header.base_offset)?;
            return Ok(gap);
        }
        Ok(false)
    }

    /// Seals the active segment and starts a new one at `base_offset` (an empty active segment is
    /// replaced instead).
    fn roll_at(&mut self, base_offset: Offset) -> Result<()> {
        if self.active().size == 0 {
            let segment = self
                .segments
                .pop()
                .expect("a log always has an active segment");
            segment::delete_files(&self.dir, segment.base_offset)?;
            if self.segments.is_empty() && self.log_start_offset == segment.base_offset {
                // An empty log that starts further on (a follower's first fetch after a gap).
                self.log_start_offset = base_offset;
                self.write_checkpoints()?;
            }
        } else {
            let res = self.active_mut().seal();
            self.fail_on_error(res)?;
        }
        let segment = Segment::create(&self.dir, base_offset)?;
        self.segments.push(segment);
        self.dir_dirty = true;
        Ok(())
    }

    fn after_truncation(&mut self) -> Result<()> {
        let log_end_offset = self.log_end_offset();
        self.high_watermark = self.high_watermark.min(log_end_offset);
        self.recovery_point = self.recovery_point.min(log_end_offset);
        self.epochs.truncate_from_end(log_end_offset)?;
        self.reload_producer_states()
    }

    /// Rebuilds the producer state from the batch headers of the last segments.
    fn reload_producer_states(&mut self) -> Result<()> {
        let mut producers = ProducerStates::new();
        let from = self.segments.len().saturating_sub(PRODUCER_STATE_SEGMENTS);
        for segment in self.segments.get(from..).unwrap_or_default() {
            let stop = scan::scan(
                &segment.log,
                0,
                segment.size,
                Check::Headers,
                |_, header, _| {
                    producer::observe(&mut producers, header);
                    Ok(())
                },
            )?;
            if let Stop::Invalid { position } = stop {
                return Err(Error::Corrupt {
                    base_offset: segment.base_offset,
                    position,
                });
            }
        }
        self.producers = producers;
        Ok(())
    }

    /// Writes the checkpoint files whose value changed. The recovery point is written as it is in
    /// memory, so callers lowering it (truncation) call this before cutting files.
    fn write_checkpoints(&mut self) -> Result<()> {
        let files = [
            (
                RECOVERY_POINT_FILE,
                self.recovery_point,
                &mut self.written.recovery_point,
            ),
            (
                LOG_START_OFFSET_FILE,
                self.log_start_offset,
                &mut self.written.log_start_offset,
            ),
            (
                HIGH_WATERMARK_FILE,
                self.high_watermark,
                &mut self.written.high_watermark,
            ),
        ];
        let mut res = Ok(());
        for (name, offset, written) in files {
            if *written == Some(offset) {
                continue;
            }
            res = write_offset(&self.dir.join(name), offset);
            if res.is_err() {
                break;
            }
            *written = Some(offset);
        }
        self.fail_on_error(res)
    }

    /// Marks the log failed if `res` is an fsync failure (never retried) or a failure to undo a
    /// partial write.
    pub(crate) fn fail_on_error<T>(&mut self, res: Result<T>) -> Result<T> {
        if let Err(Error::FlushFailed(_) | Error::LogFailed) = &res {
            self.failed = true;
        }
        res
    }
}

/// The records of the batch at `position` in `segment`.
pub(crate) fn batch_records(
    segment: &Segment,
    position: u64,
    header: &BatchHeader,
) -> Result<Vec<Record>> {
    use std::os::unix::fs::FileExt;
    let mut bytes = vec![0; header.total_size()];
    segment.log.read_exact_at(&mut bytes, position)?;
    let batch = ValidatedBatch::new(bytes.into())?;
    Ok(batch.records(DecodeLimits::default())?)
}

/// Base offsets of the `.log` files in `dir`, sorted. Index files without a `.log` file and
/// temporary files are removed.
fn list_segments(dir: &Path) -> Result<Vec<Offset>> {
    let mut logs = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.ends_with(".tmp") {
            fs::remove_file(dir.join(name))?;
            continue;
        }
        match segment::parse_file_name(name) {
            Some((base_offset, LOG_SUFFIX)) => logs.push(base_offset),
            Some((base_offset, segment::INDEX_SUFFIX | segment::TIME_INDEX_SUFFIX)) => {
                indexes.push((base_offset, name.to_owned()));
            }
            _ => {}
        }
    }
    logs.sort();
    for (base_offset, name) in indexes {
        if logs.binary_search(&base_offset).is_err() {
            fs::remove_file(dir.join(name))?;
        }
    }
    Ok(logs)
}

fn read_offset(path: &Path) -> Result<Option<Offset>> {
    match checkpoint::read::<1>(path)? {
        None => Ok(None),
        Some(entries) => match entries.as_slice() {
            [[offset]] => Ok(Some(Offset(*offset))),
            _ => Err(Error::BadCheckpoint {
                path: path.to_owned(),
                reason: "expected exactly one entry".to_owned(),
            }),
        },
    }
}

fn write_offset(path: &Path, offset: Offset) -> Result<()> {
    checkpoint::write(path, &[[offset.0]])
}
