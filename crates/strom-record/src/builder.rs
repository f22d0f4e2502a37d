//! Building one batch from records: [`BatchBuilder`] encodes records as they are pushed, then
//! compresses, writes the header and computes the CRC in [`BatchBuilder::build`]. Clients use it
//! to produce; the log cleaner uses it to rewrite compacted batches; tests use it everywhere.
//! It does not split records across batches (a producer's accumulator decides that).

use bytes::{BufMut, Bytes, BytesMut};

use crate::compression::compress;
use crate::header::{MAGIC, attributes, position, with_delete_horizon};
use crate::record::encode_record;
use crate::{
    BatchHeader, Compression, Error, Header, LeaderEpoch, Offset, Timestamp, TimestampType,
    ValidatedBatch,
};

/// The properties of a batch shared by all its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchConfig {
    /// Offset of the first record (a broker rewrites it on append).
    pub base_offset: Offset,
    /// Codec of the record area.
    pub compression: Compression,
    /// What the timestamps mean.
    pub timestamp_type: TimestampType,
    /// `None` is written as `-1`, as producers do.
    pub partition_leader_epoch: Option<LeaderEpoch>,
    /// Idempotent producer id; `None` is written as `-1`.
    pub producer_id: Option<i64>,
    /// Producer epoch; `-1` without a producer id.
    pub producer_epoch: i16,
    /// Sequence number of the first record; `None` is written as `-1`.
    pub base_sequence: Option<i32>,
    /// Whether the batch belongs to a transaction.
    pub is_transactional: bool,
    /// Whether the batch holds control records.
    pub is_control: bool,
}

impl Default for BatchConfig {
    /// Offset 0, no compression, create time, no producer, neither transactional nor control.
    fn default() -> BatchConfig {
        BatchConfig {
            base_offset: Offset(0),
            compression: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            partition_leader_epoch: None,
            producer_id: None,
            producer_epoch: -1,
            base_sequence: None,
            is_transactional: false,
            is_control: false,
        }
    }
}

/// Builds one batch.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    config: BatchConfig,
    /// Encoded records, uncompressed.
    records: BytesMut,
    record_count: u32,
    base_timestamp: Option<Timestamp>,
    max_timestamp: Option<Timestamp>,
    last_pushed: Option<Offset>,
    last_covered: Option<Offset>,
    has_delete_horizon: bool,
    /// The first error of an infallible [`BatchBuilder::push`], reported by `build`.
    deferred_error: Option<Error>,
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new(config: BatchConfig) -> BatchBuilder {
        BatchBuilder {
            config,
            records: BytesMut::new(),
            record_count: 0,
            base_timestamp: None,
            max_timestamp: None,
            last_pushed: None,
            last_covered: None,
            has_delete_horizon: false,
            deferred_error: None,
        }
    }

    /// Appends a record at the next offset (`base_offset + count` when no gaps were made). Cannot
    /// fail here; a record the format cannot hold makes [`BatchBuilder::build`] fail.
    pub fn push(
        &mut self,
        timestamp: Timestamp,
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: Vec<Header>,
    ) {
        if self.deferred_error.is_some() {
            return;
        }
        let offset = match self.last_pushed {
            None => self.config.base_offset,
            Some(last) => Offset(last.0.saturating_add(1)),
        };
        if let Err(error) = self.push_at(offset, timestamp, key, value, headers) {
            self.deferred_error = Some(error);
        }
    }

    /// Appends at an explicit offset after the previous one (gaps allowed: log compaction keeps
    /// offsets) and not before the base offset.
    pub fn push_at(
        &mut self,
        offset: Offset,
        timestamp: Timestamp,
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: Vec<Header>,
    ) -> Result<(), Error> {
        let out_of_range = Error::OffsetOutOfRange {
            offset,
            previous: self.last_pushed,
        };
        if self.last_pushed.is_some_and(|last| offset <= last) {
            return Err(out_of_range);
        }
        let Some(offset_delta) = self.offset_delta(offset) else {
            return Err(out_of_range);
        };
        if self.record_count == i32::MAX as u32 {
            return Err(Error::TooManyRecords);
        }
        let base_timestamp = self.base_timestamp.unwrap_or(timestamp);
        let Some(timestamp_delta) = timestamp.0.checked_sub(base_timestamp.0) else {
            return Err(Error::TimestampOutOfRange);
        };
        encode_record(
            &mut self.records,
            timestamp_delta,
            offset_delta,
            key.as_deref(),
            value.as_deref(),
            &headers,
        )?;
        self.record_count += 1;
        self.base_timestamp = Some(base_timestamp);
        self.max_timestamp = Some(
            self.max_timestamp
                .map_or(timestamp, |max| max.max(timestamp)),
        );
        self.last_pushed = Some(offset);
        Ok(())
    }

    /// Makes the batch cover offsets up to `last` even if the last records were removed (as
    /// Kafka's cleaner does, so that a producer's sequence bookkeeping survives compaction).
    pub fn set_last_offset(&mut self, last: Offset) -> Result<(), Error> {
        let out_of_range = Error::OffsetOutOfRange {
            offset: last,
            previous: self.last_pushed,
        };
        if self.last_pushed.is_some_and(|pushed| last < pushed) || self.offset_delta(last).is_none()
        {
            return Err(out_of_range);
        }
        self.last_covered = Some(last);
        Ok(())
    }

    /// Marks the batch with a delete horizon, as Kafka's cleaner does once it has seen a batch's
    /// tombstones or transaction markers: `horizon` becomes the base timestamp (record timestamps
    /// are stored relative to it and read back unchanged), and the delete-horizon attribute is
    /// set. Must come before the first record.
    pub fn set_delete_horizon(&mut self, horizon: Timestamp) -> Result<(), Error> {
        if !self.is_empty() {
            return Err(Error::BuilderNotEmpty);
        }
        self.base_timestamp = Some(horizon);
        self.has_delete_horizon = true;
        Ok(())
    }

    /// Number of records pushed.
    pub fn len(&self) -> usize {
        self.record_count as usize
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// Size of the batch if built without compression (an upper bound for compressible data);
    /// producers compare it with `batch.size`.
    pub fn estimated_size(&self) -> usize {
        BatchHeader::SIZE + self.records.len()
    }

    /// Compresses the records, writes the header and the CRC, and returns the batch.
    pub fn build(self) -> Result<ValidatedBatch, Error> {
        if let Some(error) = self.deferred_error {
            return Err(error);
        }
        let last_offset = self.last_pushed.max(self.last_covered);
        let last_offset_delta = match last_offset {
            None => 0,
            Some(last) => last.0 - self.config.base_offset.0,
        };
        if self.config.base_offset.0 > i64::MAX as u64 - last_offset_delta {
            return Err(Error::OffsetOutOfRange {
                offset: self.config.base_offset,
                previous: None,
            });
        }
        let codec = self.config.compression;
        let compressed;
        let area: &[u8] = match codec {
            Compression::None => &self.records,
            _ => {
                compressed = compress(codec, &self.records)?;
                &compressed
            }
        };
        let batch_length = BatchHeader::SIZE - position::LOG_OVERHEAD + area.len();
        let Ok(batch_length_wire) = i32::try_from(batch_length) else {
            return Err(Error::FieldTooLong(batch_length));
        };
        let config = &self.config;
        let mut bytes = BytesMut::with_capacity(position::LOG_OVERHEAD + batch_length);
        bytes.put_u64(config.base_offset.0);
        bytes.put_i32(batch_length_wire);
        bytes.put_i32(
            config
                .partition_leader_epoch
                .map_or(-1, |epoch| epoch.0 as i32),
        );
        bytes.put_i8(MAGIC);
        bytes.put_u32(0); // CRC, filled in below.
        let mut attributes = attributes(
            codec,
            config.timestamp_type,
            config.is_transactional,
            config.is_control,
        );
        if self.has_delete_horizon {
            attributes = with_delete_horizon(attributes);
        }
        bytes.put_u16(attributes);
        bytes.put_u32(last_offset_delta as u32);
        bytes.put_i64(self.base_timestamp.map_or(-1, |timestamp| timestamp.0));
        bytes.put_i64(self.max_timestamp.map_or(-1, |timestamp| timestamp.0));
        bytes.put_i64(config.producer_id.unwrap_or(-1));
        bytes.put_i16(config.producer_epoch);
        bytes.put_i32(config.base_sequence.unwrap_or(-1));
        bytes.put_u32(self.record_count);
        assert_eq!(bytes.len(), BatchHeader::SIZE, "header layout");
        bytes.put_slice(area);
        let crc = crc32c::crc32c(&bytes[position::ATTRIBUTES..]);
        bytes[position::CRC..position::ATTRIBUTES].copy_from_slice(&crc.to_be_bytes());
        let res = ValidatedBatch::from_built(bytes)?;
        assert_eq!(
            res.header().record_count,
            self.record_count,
            "built batch reads back"
        );
        Ok(res)
    }

    /// `offset - base_offset` if it fits a record's offset delta.
    fn offset_delta(&self, offset: Offset) -> Option<i32> {
        let delta = offset.0.checked_sub(self.config.base_offset.0)?;
        i32::try_from(delta).ok()
    }
}
