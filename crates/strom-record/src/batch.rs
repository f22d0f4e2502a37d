//! Whole batches: [`ValidatedBatch`] (a batch whose header parsed and whose CRC matched, with the
//! in-place rewrites a leader does on append), splitting a records blob into batches, and decoding
//! a batch's records (decompressing under [`DecodeLimits`]), either into owned records or by
//! walking them in place to check them for append. It does not build batches; see `builder.rs`.

use std::borrow::Cow;
use std::ops::Range;

use bytes::{Bytes, BytesMut};

use crate::compression::decompress;
use crate::header::{position, with_log_append_time};
use crate::record::{RecordPlace, collect_header, read_record};
use crate::{
    BatchHeader, Compression, Error, Header, LeaderEpoch, Offset, Record, Timestamp, TimestampType,
    verify_crc,
};

/// Caps on what decoding may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest record area one batch may decompress to (uncompressed batches are bounded by their
    /// own size and checked against this too).
    pub max_uncompressed_bytes: usize,
}

impl Default for DecodeLimits {
    /// 64 MiB per batch: well above Kafka's default `message.max.bytes` (1 MiB) even at a 50x
    /// compression ratio, and small enough that a bomb cannot exhaust a broker.
    fn default() -> DecodeLimits {
        DecodeLimits {
            max_uncompressed_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What [`ValidatedBatch::check_for_append`] found in a batch that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppendCheck {
    /// Number of records (at least one).
    pub record_count: u32,
    /// Smallest absolute record timestamp (for `LogAppendTime` batches, the header's
    /// `max_timestamp`, as [`ValidatedBatch::records`] reports).
    pub min_timestamp: Timestamp,
    /// Largest absolute record timestamp (same rule).
    pub max_timestamp: Timestamp,
}

/// One whole batch whose header parsed, whose codec is known and whose CRC matched. Owns its bytes
/// so that a leader can rewrite the base offset and leader epoch in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedBatch {
    header: BatchHeader,
    bytes: BytesMut,
}

impl ValidatedBatch {
    /// Validates `batch`, which must hold exactly one batch. Copies the bytes only if `batch`
    /// shares its buffer with other handles.
    pub fn new(batch: Bytes) -> Result<ValidatedBatch, Error> {
        let header = validate(&batch)?;
        let bytes = batch
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        Ok(ValidatedBatch { header, bytes })
    }

    /// The decoded header (kept in step with the in-place rewrites).
    pub fn header(&self) -> &BatchHeader {
        &self.header
    }

    /// The batch as it is stored and sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The batch as it is stored and sent.
    pub fn into_bytes(self) -> Bytes {
        self.bytes.freeze()
    }

    /// Rewrites the base offset (outside the CRC region, so the CRC stays valid). The offsets of
    /// every record move with it.
    pub fn set_base_offset(&mut self, offset: Offset) {
        let last = offset
            .0
            .checked_add(u64::from(self.header.last_offset_delta));
        assert!(
            last.is_some_and(|last| last <= i64::MAX as u64),
            "offset {offset} is beyond what the wire format can hold"
        );
        self.write(position::BASE_OFFSET, &offset.0.to_be_bytes());
        self.header.base_offset = offset;
    }

    /// Rewrites the partition leader epoch (outside the CRC region, so the CRC stays valid).
    pub fn set_partition_leader_epoch(&mut self, epoch: LeaderEpoch) {
        assert!(
            i32::try_from(epoch.0).is_ok(),
            "leader epoch {epoch} is beyond what the wire format can hold"
        );
        self.write(position::PARTITION_LEADER_EPOCH, &epoch.0.to_be_bytes());
        self.header.partition_leader_epoch = Some(epoch);
    }

    /// Marks the batch as `LogAppendTime` with `now` as its timestamp (what a broker does for a
    /// topic with `message.timestamp.type=LogAppendTime`). Both fields are inside the CRC region,
    /// so the CRC is recomputed.
    pub fn set_log_append_time(&mut self, now: Timestamp) {
        let attributes = with_log_append_time(self.header.attributes);
        self.write(position::ATTRIBUTES, &attributes.to_be_bytes());
        self.write(position::MAX_TIMESTAMP, &now.0.to_be_bytes());
        let crc = crc32c::crc32c(&self.bytes[position::ATTRIBUTES..]);
        self.write(position::CRC, &crc.to_be_bytes());
        self.header.attributes = attributes;
        self.header.max_timestamp = now;
        self.header.crc = crc;
    }

    /// Decodes every record (decompressing first), with absolute offsets and timestamps. Checks
    /// that the records agree with the header: their count, offsets inside the batch and strictly
    /// increasing, no bytes left over.
    pub fn records(&self, limits: DecodeLimits) -> Result<Vec<Record>, Error> {
        decode_records(&self.header, &self.bytes, limits)
    }

    /// Like [`ValidatedBatch::records`], and also checks what a leader requires of a batch a
    /// producer sent: offset deltas are exactly `0, 1, 2, ...` and `last_offset_delta` is the last
    /// of them. Returns the records so that callers needing them decode only once.
    pub fn records_for_append(&self, limits: DecodeLimits) -> Result<Vec<Record>, Error> {
        let res = self.records(limits)?;
        let base_offset = self.header.base_offset.0;
        let dense = res
            .iter()
            .enumerate()
            .all(|(index, record)| record.offset.0 - base_offset == index as u64);
        check_append_rules(&self.header, dense, res.len() as u64)?;
        Ok(res)
    }

    /// Checks exactly what [`ValidatedBatch::records_for_append`] checks, with the same errors,
    /// without building the records: an uncompressed batch is walked in place (no copy, no
    /// allocation), a compressed one in its decompressed buffer. Returns the record count and the
    /// range of the records' timestamps, which is what a leader needs to check them against its
    /// clock.
    pub fn check_for_append(&self, limits: DecodeLimits) -> Result<AppendCheck, Error> {
        let area = record_area(&self.header, &self.bytes, limits)?;
        let mut tally = Tally {
            count: 0,
            dense: true,
            timestamps: None,
        };
        walk_records(&self.header, &area, &mut tally)?;
        check_append_rules(&self.header, tally.dense, u64::from(tally.count))?;
        let Some((min_timestamp, max_timestamp)) = tally.timestamps else {
            // Unreachable: the rules above demand at least one record.
            return Err(Error::InvalidRecord(
                "last offset delta disagrees with the records",
            ));
        };
        Ok(AppendCheck {
            record_count: tally.count,
            min_timestamp,
            max_timestamp,
        })
    }

    fn write(&mut self, at: usize, field: &[u8]) {
        self.bytes[at..at + field.len()].copy_from_slice(field);
    }

    /// Wraps bytes the builder produced; they are checked like any other.
    pub(crate) fn from_built(bytes: BytesMut) -> Result<ValidatedBatch, Error> {
        let header = validate(&bytes)?;
        Ok(ValidatedBatch { header, bytes })
    }
}

/// Splits a records blob (e.g. a Produce request's records field) into validated batches.
/// A trailing partial batch is an error (the broker answers `CORRUPT_MESSAGE`). Copies the blob
/// once only if it shares its buffer with other handles.
pub fn split_batches(records: Bytes) -> Result<Vec<ValidatedBatch>, Error> {
    let mut rest = records
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    let mut res = Vec::new();
    while !rest.is_empty() {
        let header = BatchHeader::parse(&rest)?;
        if header.total_size() > rest.len() {
            return Err(Error::Truncated {
                needed: header.total_size(),
                available: rest.len(),
            });
        }
        let batch = rest.split_to(header.total_size());
        res.push(ValidatedBatch::from_built(batch)?);
    }
    Ok(res)
}

/// Like [`split_batches`] for batches read back (a fetch response or a log segment): a trailing
/// partial batch is ignored, as consumers must, since fetch responses may end mid-batch. An empty
/// result for input of at least a header's size means the first batch is larger than the input
/// (a consumer's fetch size is too small for it).
pub fn complete_batches(records: Bytes) -> Result<Vec<ValidatedBatch>, Error> {
    let mut res = Vec::new();
    let mut position = 0;
    while let Some(total_size) = next_complete_batch(&records[position..])? {
        let batch = records.slice(position..position + total_size);
        res.push(ValidatedBatch::new(batch)?);
        position += total_size;
    }
    Ok(res)
}

/// Decodes the records of batches stored back to back (e.g. a fetch response or a log segment),
/// stopping at a trailing partial batch. Every batch's CRC is checked. Control batches are
/// included; use [`complete_batches`] to look at each batch's header. As there, a first batch
/// larger than the input gives an empty result, not an error.
pub fn records_of(batches: &[u8], limits: DecodeLimits) -> Result<Vec<Record>, Error> {
    let mut res = Vec::new();
    let mut rest = batches;
    while let Some(total_size) = next_complete_batch(rest)? {
        let (batch, after) = rest.split_at(total_size);
        let header = validate(batch)?;
        res.extend(decode_records(&header, batch, limits)?);
        rest = after;
    }
    Ok(res)
}

/// The smallest possible encoded record: length, attributes, timestamp delta, offset delta, key
/// length, value length and header count, one byte each.
const MIN_RECORD_SIZE: usize = 7;

/// The size of the whole batch at the start of `bytes`, or `None` if `bytes` holds only part of
/// one (or nothing).
fn next_complete_batch(bytes: &[u8]) -> Result<Option<usize>, Error> {
    if bytes.len() < BatchHeader::SIZE {
        return Ok(None);
    }
    let header = BatchHeader::parse(bytes)?;
    if header.total_size() > bytes.len() {
        return Ok(None);
    }
    Ok(Some(header.total_size()))
}

/// Checks exactly one batch: header, size, codec, CRC.
fn validate(batch: &[u8]) -> Result<BatchHeader, Error> {
    let header = BatchHeader::parse(batch)?;
    header.compression()?;
    verify_crc(batch)?;
    Ok(header)
}

/// The rules a leader applies on top of decoding (see [`ValidatedBatch::records_for_append`]),
/// given whether the offset deltas were `0, 1, 2, ...` and how many records there were.
fn check_append_rules(header: &BatchHeader, dense: bool, count: u64) -> Result<(), Error> {
    if !dense {
        return Err(Error::InvalidRecord(
            "offset deltas are not consecutive from zero",
        ));
    }
    if count != u64::from(header.last_offset_delta) + 1 {
        return Err(Error::InvalidRecord(
            "last offset delta disagrees with the records",
        ));
    }
    Ok(())
}

/// The record area of one validated batch: borrowed from `batch` when uncompressed, decompressed
/// (under the cap) otherwise.
fn record_area<'a>(
    header: &BatchHeader,
    batch: &'a [u8],
    limits: DecodeLimits,
) -> Result<Cow<'a, [u8]>, Error> {
    let Some(area) = batch.get(BatchHeader::SIZE..) else {
        return Err(Error::Truncated {
            needed: BatchHeader::SIZE,
            available: batch.len(),
        });
    };
    match header.compression()? {
        Compression::None => {
            if area.len() > limits.max_uncompressed_bytes {
                return Err(Error::DecompressedTooLarge {
                    limit: limits.max_uncompressed_bytes,
                });
            }
            Ok(Cow::Borrowed(area))
        }
        codec => Ok(Cow::Owned(decompress(
            codec,
            area,
            limits.max_uncompressed_bytes,
        )?)),
    }
}

/// Decodes the records of one validated batch.
fn decode_records(
    header: &BatchHeader,
    batch: &[u8],
    limits: DecodeLimits,
) -> Result<Vec<Record>, Error> {
    let data = match record_area(header, batch, limits)? {
        Cow::Borrowed(area) => Bytes::copy_from_slice(area),
        Cow::Owned(decompressed) => Bytes::from(decompressed),
    };
    let capacity = (header.record_count as usize).min(data.len() / MIN_RECORD_SIZE);
    let mut collect = Collect {
        data: &data,
        base_offset: header.base_offset,
        headers: Vec::new(),
        records: Vec::with_capacity(capacity),
    };
    walk_records(header, &data, &mut collect)?;
    Ok(collect.records)
}

/// Receives the records of a batch as [`walk_records`] reads and checks them.
trait RecordVisitor<'a> {
    /// One header of the record being read; see [`read_record`].
    fn header(&mut self, count: usize, key: &'a str, value: Option<Range<usize>>);

    /// One record that passed every check, after its headers.
    fn record(&mut self, offset_delta: u32, timestamp: Timestamp, place: RecordPlace);
}

/// Builds owned records whose fields are slices of `data`.
struct Collect<'b> {
    data: &'b Bytes,
    base_offset: Offset,
    headers: Vec<Header>,
    records: Vec<Record>,
}

impl<'a> RecordVisitor<'a> for Collect<'_> {
    fn header(&mut self, count: usize, key: &'a str, value: Option<Range<usize>>) {
        collect_header(&mut self.headers, self.data, count, key, value);
    }

    fn record(&mut self, offset_delta: u32, timestamp: Timestamp, place: RecordPlace) {
        self.records.push(Record {
            offset: Offset(self.base_offset.0 + u64::from(offset_delta)),
            timestamp,
            key: place.key.map(|range| self.data.slice(range)),
            value: place.value.map(|range| self.data.slice(range)),
            headers: std::mem::take(&mut self.headers),
        });
    }
}

/// Counts records, notes whether their offset deltas are `0, 1, 2, ...`, and tracks the range of
/// their timestamps; allocates nothing.
struct Tally {
    count: u32,
    dense: bool,
    timestamps: Option<(Timestamp, Timestamp)>,
}

impl<'a> RecordVisitor<'a> for Tally {
    fn header(&mut self, _count: usize, _key: &'a str, _value: Option<Range<usize>>) {}

    fn record(&mut self, offset_delta: u32, timestamp: Timestamp, _place: RecordPlace) {
        self.dense &= offset_delta == self.count;
        self.count += 1;
        self.timestamps = Some(match self.timestamps {
            None => (timestamp, timestamp),
            Some((min, max)) => (min.min(timestamp), max.max(timestamp)),
        });
    }
}

/// Reads every record of one batch's record area `data`, checking that they agree with the
/// header (their count, offsets inside the batch and strictly increasing, no bytes left over),
/// and hands each to `visitor` with its offset delta and absolute timestamp.
fn walk_records<'a>(
    header: &BatchHeader,
    data: &'a [u8],
    visitor: &mut impl RecordVisitor<'a>,
) -> Result<(), Error> {
    let mut position = 0;
    let mut previous_delta: Option<i32> = None;
    for decoded in 0..header.record_count {
        if position == data.len() {
            return Err(Error::RecordCountMismatch {
                declared: header.record_count,
                actual: decoded,
            });
        }
        let place = read_record(data, &mut position, &mut |count, key, value| {
            visitor.header(count, key, value);
        })?;
        let in_order = previous_delta.is_none_or(|previous| place.offset_delta > previous);
        let Ok(offset_delta) = u32::try_from(place.offset_delta) else {
            return Err(Error::InvalidRecord("negative offset delta"));
        };
        if !in_order || offset_delta > header.last_offset_delta {
            return Err(Error::InvalidRecord(
                "offset delta out of order or past the batch",
            ));
        }
        previous_delta = Some(place.offset_delta);
        let timestamp = match header.timestamp_type() {
            TimestampType::LogAppendTime => header.max_timestamp,
            TimestampType::CreateTime => {
                let Some(timestamp) = header.base_timestamp.0.checked_add(place.timestamp_delta)
                else {
                    return Err(Error::InvalidRecord("timestamp delta overflows"));
                };
                Timestamp(timestamp)
            }
        };
        visitor.record(offset_delta, timestamp, place);
    }
    if position != data.len() {
        return Err(Error::TrailingBytes(data.len() - position));
    }
    Ok(())
}
