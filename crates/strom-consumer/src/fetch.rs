//! Turning one partition's fetched bytes into records: whole batches only (a trailing partial
//! batch is left for the next fetch), records before the position skipped (a fetch from the
//! middle of a batch returns the whole batch), every codec decompressed, and for
//! `read_committed` control batches and aborted transactions' batches dropped and nothing at
//! or past the last stable offset returned. Pure: the consumer does the fetching.
//!
//! Uncompressed batches, the common case, are read in place: keys, values and header values
//! are slices of the fetched buffer, so a fetch costs no copy of its records (`strom-record`'s
//! decoder copies a batch twice, once into the batch it owns and once into its record area).
//! The reader here makes the same checks as `strom-record`'s: every length against what
//! remains, the record count, offset deltas increasing inside the batch, nothing left over.
//! Compressed batches go through `strom-record` (decompressing is a copy anyway).

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use strom_client::TopicPartition;
use strom_record::{
    BatchHeader, Compression, ControlRecordType, DecodeLimits, Header, Offset, Timestamp,
    TimestampType, records_of, verify_crc,
};

use crate::{Error, IsolationLevel, Result};

/// What a buffered record counts against the prefetch bound on top of its key, value and
/// headers (offset, timestamp, topic and the vectors that hold it).
const RECORD_BUFFER_OVERHEAD: usize = 64;

/// A record as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic (shared by the records of a fetch, so a record costs no allocation for it).
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: Offset,
    /// The create time or the broker's append time (see `timestamp_type`).
    pub timestamp: Timestamp,
    /// What the timestamp means.
    pub timestamp_type: TimestampType,
    /// The key; `None` is a null key.
    pub key: Option<Bytes>,
    /// The value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Record headers, in order.
    pub headers: Vec<Header>,
}

impl ConsumerRecord {
    /// What the record counts against the consumer's prefetch bound, in bytes.
    pub(crate) fn buffered_size(&self) -> usize {
        let field = |bytes: &Option<Bytes>| bytes.as_ref().map_or(0, Bytes::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|header| header.key.len() + field(&header.value))
            .sum();
        RECORD_BUFFER_OVERHEAD + field(&self.key) + field(&self.value) + headers
    }
}

/// An aborted transaction listed in a fetch response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTransaction {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: Offset,
}

/// What one partition's fetched bytes held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Records at or after the position, in offset order.
    pub(crate) records: Vec<ConsumerRecord>,
    /// Where the next fetch starts: after the last whole batch consumed.
    pub(crate) next_position: Offset,
    /// The records' [`ConsumerRecord::buffered_size`], summed.
    pub(crate) buffered_size: usize,
}

/// One partition's part of a fetch answer, taken in (its next position known, see
/// [`next_position`]) but not decoded yet: the consumer sends the next fetch first, since
/// decoding is the slow part of taking an answer in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// Where the fetch started.
    pub(crate) position: Offset,
    pub(crate) data: Bytes,
    pub(crate) aborted: Vec<AbortedTransaction>,
    pub(crate) last_stable_offset: Option<Offset>,
}

/// The isolation settings for decoding, and whether to check CRCs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Isolation<'a> {
    pub(crate) level: IsolationLevel,
    pub(crate) aborted: &'a [AbortedTransaction],
    pub(crate) last_stable_offset: Option<Offset>,
    /// `check.crcs`: verify each uncompressed batch's CRC-32C (compressed batches are always
    /// verified before they are decompressed).
    pub(crate) check_crcs: bool,
}

/// Whether a partition buffering `buffered` bytes of records may be fetched again while the
/// partitions not paused buffer `buffered_total` bytes: always when its buffer is empty (its next
/// records are needed), otherwise while the total is under `bound` (`fetch.max.bytes`), which
/// keeps records coming while the application works without buffering without end. (The
/// total may pass the bound by the answers in flight, at most one per partition.)
pub(crate) fn may_prefetch(buffered: usize, buffered_total: usize, bound: usize) -> bool {
    buffered == 0 || buffered_total < bound
}

/// Where the fetch after `data` (fetched for `topic_partition` from `position`) starts: what
/// [`decode`] gives as `next_position`, from the batch headers alone. Fails as `decode` does
/// when a header is corrupt or the first batch is larger than the data.
pub(crate) fn next_position(
    topic_partition: &TopicPartition,
    position: Offset,
    data: &[u8],
    isolation: Isolation<'_>,
) -> Result<Offset> {
    let stable_end = stable_end(isolation);
    let mut res = position;
    let mut start = 0;
    let mut whole_batches = 0usize;
    loop {
        let rest = data.get(start..).unwrap_or_default();
        let Some(header) = next_batch(topic_partition, rest)? else {
            break;
        };
        start += header.total_size();
        whole_batches += 1;
        if header.base_offset >= stable_end {
            break;
        }
        if header.next_offset() > position {
            res = after(&header, stable_end);
        }
    }
    if whole_batches == 0 && !data.is_empty() {
        return Err(Error::RecordTooLarge {
            topic_partition: topic_partition.clone(),
            offset: position,
        });
    }
    Ok(res)
}

/// The header of the whole batch at the start of `rest`, if it holds one.
fn next_batch(topic_partition: &TopicPartition, rest: &[u8]) -> Result<Option<BatchHeader>> {
    if rest.len() < BatchHeader::SIZE {
        return Ok(None);
    }
    let header = BatchHeader::parse(rest).map_err(|source| Error::Corrupt {
        topic_partition: topic_partition.clone(),
        source,
    })?;
    Ok((header.total_size() <= rest.len()).then_some(header))
}

/// Where the next fetch starts after taking in the batch of `header`: past it, but never past
/// the last stable offset (in read_committed) for a batch of records.
fn after(header: &BatchHeader, stable_end: Offset) -> Offset {
    if header.is_control() {
        header.next_offset()
    } else {
        header.next_offset().min(stable_end)
    }
}

/// Where read_committed stops: the last stable offset (`Offset(u64::MAX)` in
/// read_uncommitted).
fn stable_end(isolation: Isolation<'_>) -> Offset {
    isolation
        .last_stable_offset
        .filter(|_| isolation.level == IsolationLevel::ReadCommitted)
        .unwrap_or(Offset(u64::MAX))
}

/// Decodes the records fetched for `topic_partition` from `position`.
pub(crate) fn decode(
    topic_partition: &TopicPartition,
    position: Offset,
    data: Bytes,
    isolation: Isolation<'_>,
) -> Result<Decoded> {
    let corrupt = |source| Error::Corrupt {
        topic_partition: topic_partition.clone(),
        source,
    };
    let read_committed = isolation.level == IsolationLevel::ReadCommitted;
    let stable_end = stable_end(isolation);
    // Aborted transactions in order of their first offset; a producer is "aborting" from its
    // first offset until its ABORT marker.
    let mut pending_aborts: Vec<AbortedTransaction> = isolation.aborted.to_vec();
    pending_aborts.sort_by_key(|aborted| std::cmp::Reverse(aborted.first_offset));
    let mut aborting: HashSet<i64> = HashSet::new();
    let mut next_position = position;
    let mut records = Vec::new();
    let topic_name: Arc<str> = Arc::from(topic_partition.topic.as_str());
    let mut start = 0;
    let mut whole_batches = 0usize;
    loop {
        let rest = data.get(start..).unwrap_or_default();
        let Some(header) = next_batch(topic_partition, rest)? else {
            break;
        };
        let size = header.total_size();
        let batch = data.slice(start..start + size);
        start += size;
        whole_batches += 1;
        if header.base_offset >= stable_end {
            break;
        }
        if header.next_offset() <= position {
            continue;
        }
        let compression = header.compression().map_err(corrupt)?;
        if isolation.check_crcs || compression != Compression::None {
            verify_crc(&batch).map_err(corrupt)?;
        }
        if read_committed {
            while pending_aborts
                .last()
                .is_some_and(|aborted| aborted.first_offset <= header.last_offset())
            {
                if let Some(aborted) = pending_aborts.pop() {
                    aborting.insert(aborted.producer_id);
                }
            }
        }
        if header.is_control() {
            if read_committed && let Some(producer_id) = header.producer_id {
                let decoded = records_of(&batch, DecodeLimits::default()).map_err(corrupt)?;
                let aborts = decoded.iter().any(|record| {
                    record
                        .key
                        .as_deref()
                        .and_then(|key| ControlRecordType::parse(key).ok())
                        == Some(ControlRecordType::Abort)
                });
                if aborts {
                    aborting.remove(&producer_id);
                }
            }
            next_position = after(&header, stable_end);
            continue;
        }
        let aborted = read_committed
            && header.is_transactional()
            && header
                .producer_id
                .is_some_and(|producer_id| aborting.contains(&producer_id));
        if aborted {
            next_position = after(&header, stable_end);
            continue;
        }
        let timestamp_type = header.timestamp_type();
        // Room for the batch's records; the count is the batch's word, so no more than its
        // bytes could hold (a record takes at least 7).
        records.reserve((header.record_count as usize).min(size / 7));
        let topic: Arc<str> = Arc::clone(&topic_name);
        let mut push = |offset: Offset, timestamp, key, value, headers| {
            if offset < position || offset >= stable_end {
                return;
            }
            records.push(ConsumerRecord {
                topic: Arc::clone(&topic),
                partition: topic_partition.partition,
                offset,
                timestamp,
                timestamp_type,
                key,
                value,
                headers,
            });
        };
        if compression == Compression::None {
            read_in_place(&header, &batch, &mut push).map_err(corrupt)?;
        } else {
            for record in records_of(&batch, DecodeLimits::default()).map_err(corrupt)? {
                push(
                    record.offset,
                    record.timestamp,
                    record.key,
                    record.value,
                    record.headers,
                );
            }
        }
        next_position = after(&header, stable_end);
    }
    if whole_batches == 0 && !data.is_empty() {
        return Err(Error::RecordTooLarge {
            topic_partition: topic_partition.clone(),
            offset: position,
        });
    }
    let buffered_size = records.iter().map(ConsumerRecord::buffered_size).sum();
    Ok(Decoded {
        records,
        next_position,
        buffered_size,
    })
}

/// Reads the records of one uncompressed, CRC-checked batch in place and hands each to `push`
/// with its absolute offset and timestamp, key, value and headers (slices of `batch`).
fn read_in_place(
    header: &BatchHeader,
    batch: &Bytes,
    push: &mut impl FnMut(Offset, Timestamp, Option<Bytes>, Option<Bytes>, Vec<Header>),
) -> std::result::Result<(), strom_record::Error> {
    use strom_record::Error as RecordError;
    let mut position = BatchHeader::SIZE;
    let mut previous_delta: Option<u32> = None;
    for decoded in 0..header.record_count {
        if position >= batch.len() {
            return Err(RecordError::RecordCountMismatch {
                declared: header.record_count,
                actual: decoded,
            });
        }
        let mut cursor = Cursor {
            bytes: batch,
            position,
            end: batch.len(),
        };
        let Ok(length) = usize::try_from(cursor.varint()?) else {
            return Err(RecordError::InvalidRecord("negative record length"));
        };
        if length > cursor.remaining() {
            return Err(RecordError::InvalidRecord(
                "record length exceeds the batch",
            ));
        }
        cursor.end = cursor.position + length;
        let _attributes = cursor.byte()?;
        let timestamp_delta = cursor.varlong()?;
        let Ok(offset_delta) = u32::try_from(cursor.varint()?) else {
            return Err(RecordError::InvalidRecord("negative offset delta"));
        };
        let key = cursor.nullable()?;
        let value = cursor.nullable()?;
        let Ok(header_count) = usize::try_from(cursor.varint()?) else {
            return Err(RecordError::InvalidRecord("negative header count"));
        };
        // Each header takes at least two bytes: a larger count cannot be honest, and checking
        // first bounds the allocation by the input.
        if header_count > cursor.remaining() / 2 {
            return Err(RecordError::InvalidRecord(
                "header count exceeds the record",
            ));
        }
        let mut headers = Vec::with_capacity(header_count);
        for _ in 0..header_count {
            let Some(key) = cursor.nullable()? else {
                return Err(RecordError::InvalidRecord("null header key"));
            };
            let Ok(key) = std::str::from_utf8(batch.get(key).unwrap_or_default()) else {
                return Err(RecordError::InvalidHeaderKey);
            };
            let value = cursor.nullable()?;
            headers.push(Header {
                key: key.to_owned(),
                value: value.map(|range| batch.slice(range)),
            });
        }
        if cursor.remaining() != 0 {
            return Err(RecordError::InvalidRecord(
                "record length disagrees with its fields",
            ));
        }
        position = cursor.position;
        let in_order = previous_delta.is_none_or(|previous| offset_delta > previous);
        if !in_order || offset_delta > header.last_offset_delta {
            return Err(RecordError::InvalidRecord(
                "offset delta out of order or past the batch",
            ));
        }
        previous_delta = Some(offset_delta);
        let timestamp = match header.timestamp_type() {
            TimestampType::LogAppendTime => header.max_timestamp,
            TimestampType::CreateTime => {
                let Some(timestamp) = header.base_timestamp.0.checked_add(timestamp_delta) else {
                    return Err(RecordError::InvalidRecord("timestamp delta overflows"));
                };
                Timestamp(timestamp)
            }
        };
        push(
            Offset(header.base_offset.0 + u64::from(offset_delta)),
            timestamp,
            key.map(|range| batch.slice(range)),
            value.map(|range| batch.slice(range)),
            headers,
        );
    }
    if position != batch.len() {
        return Err(RecordError::TrailingBytes(
            batch.len().saturating_sub(position),
        ));
    }
    Ok(())
}

/// A cursor over `bytes[position..end]` reading the fields of one record.
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
    end: usize,
}

impl Cursor<'_> {
    fn remaining(&self) -> usize {
        self.end.saturating_sub(self.position)
    }

    fn rest(&self) -> &[u8] {
        self.bytes.get(self.position..self.end).unwrap_or_default()
    }

    fn byte(&mut self) -> std::result::Result<u8, strom_record::Error> {
        let Some(&res) = self.rest().first() else {
            return Err(strom_record::Error::InvalidRecord(
                "record ends inside its attributes",
            ));
        };
        self.position += 1;
        Ok(res)
    }

    /// A zigzag varint of at most 5 bytes whose value fits 32 bits.
    fn varint(&mut self) -> std::result::Result<i32, strom_record::Error> {
        let raw = self.unsigned(5)?;
        let Ok(raw) = u32::try_from(raw) else {
            return Err(strom_record::Error::InvalidVarint);
        };
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag varlong of at most 10 bytes.
    fn varlong(&mut self) -> std::result::Result<i64, strom_record::Error> {
        let raw = self.unsigned(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn unsigned(&mut self, max_bytes: usize) -> std::result::Result<u64, strom_record::Error> {
        let mut res: u64 = 0;
        for (index, byte) in self.rest().iter().take(max_bytes).enumerate() {
            let shift = 7 * index as u32;
            let payload = u64::from(byte & 0x7f);
            // The tenth byte of a varlong may carry only the top bit of a u64.
            if shift == 63 && payload > 1 {
                return Err(strom_record::Error::InvalidVarint);
            }
            res |= payload << shift;
            if byte & 0x80 == 0 {
                self.position += index + 1;
                return Ok(res);
            }
        }
        Err(strom_record::Error::InvalidVarint)
    }

    /// A length-prefixed field (`-1` is null) as a range of `bytes`.
    fn nullable(&mut self) -> std::result::Result<Option<Range<usize>>, strom_record::Error> {
        let length = self.varint()?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(length) = usize::try_from(length) else {
            return Err(strom_record::Error::InvalidRecord("negative field length"));
        };
        if length > self.remaining() {
            return Err(strom_record::Error::InvalidRecord(
                "field length exceeds the record",
            ));
        }
        let res = self.position..self.position + length;
        self.position += length;
        Ok(Some(res))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use strom_record::{BatchBuilder, BatchConfig, Compression, EndTransactionMarker};

    use super::*;

    #[test]
    fn prefetch_stays_under_the_bound_but_an_empty_buffer_always_fetches() {
        assert!(may_prefetch(0, 0, 100));
        assert!(may_prefetch(10, 99, 100));
        assert!(!may_prefetch(10, 100, 100));
        // Its own buffer empty: fetched however much other partitions hold.
        assert!(may_prefetch(0, 500, 100));
    }

    /// A small xorshift generator, so the randomised test below needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }

        fn bytes(&mut self) -> Option<Bytes> {
            let len = self.below(40);
            (len > 0).then(|| (0..len - 1).map(|_| self.next() as u8).collect())
        }
    }

    #[test]
    fn uncompressed_batches_are_read_in_place_as_strom_record_reads_them() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64)
            | 1;
        println!("seed {seed}");
        let mut rng = Rng(seed);
        for _ in 0..200 {
            let mut parts = Vec::new();
            let mut base = rng.below(1000);
            let first = base;
            for _ in 0..1 + rng.below(3) {
                let timestamp_type = if rng.below(4) == 0 {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                };
                let mut builder = BatchBuilder::new(BatchConfig {
                    base_offset: Offset(base),
                    timestamp_type,
                    ..BatchConfig::default()
                });
                let count = 1 + rng.below(5);
                for _ in 0..count {
                    let headers = (0..rng.below(3))
                        .map(|index| Header {
                            key: format!("h{index}"),
                            value: rng.bytes(),
                        })
                        .collect();
                    let timestamp = Timestamp(rng.below(1 << 40) as i64);
                    builder.push(timestamp, rng.bytes(), rng.bytes(), headers);
                }
                parts.push(builder.build().unwrap().into_bytes());
                base += count;
            }
            let data = join(&parts);
            let position = first + rng.below(base - first);
            let tp = TopicPartition::new("t", 0);
            let decoded = decode(&tp, Offset(position), data.clone(), UNCOMMITTED).unwrap();
            let expect: Vec<_> = records_of(&data, DecodeLimits::default())
                .unwrap()
                .into_iter()
                .filter(|record| record.offset.0 >= position)
                .collect();
            assert_eq!(decoded.records.len(), expect.len(), "seed {seed}");
            assert_eq!(decoded.next_position, Offset(base), "seed {seed}");
            let scanned = next_position(&tp, Offset(position), &data, UNCOMMITTED).unwrap();
            assert_eq!(scanned, Offset(base), "seed {seed}");
            let inside = data.as_ptr_range();
            for (record, expect) in decoded.records.iter().zip(&expect) {
                assert_eq!(record.offset, expect.offset, "seed {seed}");
                assert_eq!(record.timestamp, expect.timestamp, "seed {seed}");
                assert_eq!(record.key, expect.key, "seed {seed}");
                assert_eq!(record.value, expect.value, "seed {seed}");
                assert_eq!(record.headers, expect.headers, "seed {seed}");
                // Slices of the fetched bytes, not copies.
                if let Some(value) = record.value.as_ref().filter(|value| !value.is_empty()) {
                    assert!(inside.contains(&value.as_ptr()), "seed {seed}");
                }
            }
            let sizes: usize = decoded
                .records
                .iter()
                .map(ConsumerRecord::buffered_size)
                .sum();
            assert_eq!(decoded.buffered_size, sizes);
        }
    }

    /// CRC-32C, bit by bit (the tests only).
    fn crc32c(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn malformed_records_inside_a_valid_crc_are_corrupt() {
        // A record whose length runs past the batch: the CRC is recomputed so only the record
        // reader can notice.
        let good = batch(0, 2, Compression::None, None);
        assert_eq!(
            crc32c(&good[21..]).to_be_bytes(),
            good[17..21],
            "the test's CRC"
        );
        let mut bad = BytesMut::from(&good[..]);
        bad[BatchHeader::SIZE] = 0x7e; // First record's length: 63, more than the batch holds.
        let crc = crc32c(&bad[21..]);
        bad[17..21].copy_from_slice(&crc.to_be_bytes());
        check(
            bad.freeze(),
            0,
            UNCOMMITTED,
            "error: corrupt data fetched from t-0",
        );
    }

    /// A batch at `base` of `count` records valued `v<offset>`.
    fn batch(base: u64, count: u64, compression: Compression, producer: Option<i64>) -> Bytes {
        let mut builder = BatchBuilder::new(BatchConfig {
            base_offset: Offset(base),
            compression,
            producer_id: producer,
            producer_epoch: if producer.is_some() { 0 } else { -1 },
            base_sequence: producer.map(|_| 0),
            is_transactional: producer.is_some(),
            ..BatchConfig::default()
        });
        for offset in base..base + count {
            builder.push(
                Timestamp(1000 + offset as i64),
                None,
                Some(Bytes::from(format!("v{offset}"))),
                Vec::new(),
            );
        }
        builder.build().unwrap().into_bytes()
    }

    fn marker(base: u64, producer_id: i64, kind: ControlRecordType) -> Bytes {
        let marker = EndTransactionMarker {
            kind,
            coordinator_epoch: 0,
        };
        let mut batch = marker.batch(producer_id, 0, Timestamp(5)).unwrap();
        batch.set_base_offset(Offset(base));
        batch.into_bytes()
    }

    fn join(parts: &[Bytes]) -> Bytes {
        let mut res = BytesMut::new();
        for part in parts {
            res.extend_from_slice(part);
        }
        res.freeze()
    }

    #[track_caller]
    fn check(data: Bytes, position: u64, isolation: Isolation<'_>, expect: &str) {
        let tp = TopicPartition::new("t", 0);
        let scanned = next_position(&tp, Offset(position), &data, isolation);
        let res = match decode(&tp, Offset(position), data, isolation) {
            Ok(decoded) => {
                // Read from the headers alone, the next position is the same.
                assert_eq!(scanned.unwrap(), decoded.next_position);
                let offsets: Vec<String> = decoded
                    .records
                    .iter()
                    .map(|record| record.offset.to_string())
                    .collect();
                format!("[{}] next {}", offsets.join(" "), decoded.next_position)
            }
            Err(error) => format!("error: {error}"),
        };
        assert_eq!(res, expect);
    }

    const UNCOMMITTED: Isolation<'static> = Isolation {
        level: IsolationLevel::ReadUncommitted,
        aborted: &[],
        last_stable_offset: None,
        check_crcs: true,
    };

    #[test]
    fn fetch_from_mid_batch_skips_earlier_records_with_every_codec() {
        for compression in Compression::ALL {
            let data = join(&[
                batch(0, 3, compression, None),
                batch(3, 2, compression, None),
            ]);
            check(data, 4, UNCOMMITTED, "[4] next 5");
        }
    }

    #[test]
    fn trailing_partial_batch_is_left_for_the_next_fetch() {
        let whole = batch(0, 3, Compression::None, None);
        let next = batch(3, 2, Compression::Lz4, None);
        let data = join(&[whole, next.slice(..next.len() - 7)]);
        check(data, 0, UNCOMMITTED, "[0 1 2] next 3");
    }

    #[test]
    fn a_first_batch_larger_than_the_fetch_is_an_error() {
        let data = batch(0, 3, Compression::None, None);
        check(
            data.slice(..data.len() - 1),
            0,
            UNCOMMITTED,
            "error: batch at offset 0 of t-0 is larger than the fetch size",
        );
        check(Bytes::new(), 7, UNCOMMITTED, "[] next 7");
    }

    #[test]
    fn corrupt_data_is_reported() {
        let mut data = BytesMut::from(&batch(0, 3, Compression::None, None)[..]);
        let last = data.len() - 1;
        data[last] ^= 0xff;
        check(
            data.freeze(),
            0,
            UNCOMMITTED,
            "error: corrupt data fetched from t-0",
        );
    }

    #[test]
    fn read_committed_drops_aborted_batches_and_markers() {
        // Producer 7 aborts offsets 0..2 (marker at 2); producer 8 commits 3..5 (marker at 5);
        // a non-transactional batch at 6..7.
        let data = join(&[
            batch(0, 2, Compression::Gzip, Some(7)),
            marker(2, 7, ControlRecordType::Abort),
            batch(3, 2, Compression::Snappy, Some(8)),
            marker(5, 8, ControlRecordType::Commit),
            batch(6, 2, Compression::Zstd, None),
        ]);
        let aborted = [AbortedTransaction {
            producer_id: 7,
            first_offset: Offset(0),
        }];
        let committed = Isolation {
            level: IsolationLevel::ReadCommitted,
            aborted: &aborted,
            last_stable_offset: Some(Offset(8)),
            check_crcs: true,
        };
        check(data.clone(), 0, committed, "[3 4 6 7] next 8");
        // The last stable offset bounds what is returned.
        let bounded = Isolation {
            last_stable_offset: Some(Offset(6)),
            ..committed
        };
        check(data.clone(), 0, bounded, "[3 4] next 6");
        // read_uncommitted sees the aborted records too, but never the markers.
        check(data, 0, UNCOMMITTED, "[0 1 3 4 6 7] next 8");
    }
}
