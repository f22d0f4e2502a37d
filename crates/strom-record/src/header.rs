//! The 61-byte header of a record batch (magic 2): parsing, the attribute bits, the CRC-32C check,
//! and the byte positions of the fields that are rewritten in place. It does not look at the
//! records after the header; see `batch.rs` for that.

use std::fmt;

use crate::{Error, LeaderEpoch, Offset, Timestamp};

/// The only batch format this crate reads and writes.
pub const MAGIC: i8 = 2;

/// The codec of a batch's records, from the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Records stored as they are.
    #[default]
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Snappy; written in the "xerial" framing the Java client uses, read framed or raw.
    Snappy,
    /// The LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer.
    #[default]
    CreateTime,
    /// Set by the broker on append; every record's timestamp is then the batch's `max_timestamp`.
    LogAppendTime,
}

/// The decoded 61-byte header of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Offset of the first record (offset deltas are relative to it).
    pub base_offset: Offset,
    /// Bytes after the length field: the total size of the batch is `12 + batch_length`.
    pub batch_length: u32,
    /// `-1` on the wire is `None` (producers send that; the leader fills it in).
    pub partition_leader_epoch: Option<LeaderEpoch>,
    /// CRC-32C of everything from the attributes to the end of the batch.
    pub crc: u32,
    /// Compression, timestamp type, transactional, control and delete-horizon bits.
    pub attributes: u16,
    /// Offset of the last record minus `base_offset` (kept even if compaction removed it).
    pub last_offset_delta: u32,
    /// Timestamp of the first record (timestamp deltas are relative to it).
    pub base_timestamp: Timestamp,
    /// Largest timestamp in the batch, or the append time for `LogAppendTime` batches.
    pub max_timestamp: Timestamp,
    /// `-1` on the wire is `None` (not an idempotent producer).
    pub producer_id: Option<i64>,
    /// Producer epoch (`-1` when there is no producer id).
    pub producer_epoch: i16,
    /// `-1` on the wire is `None`.
    pub base_sequence: Option<i32>,
    /// Number of records in the batch.
    pub record_count: u32,
}

impl BatchHeader {
    /// Size of the header on the wire.
    pub const SIZE: usize = 61;

    /// Parses the header at the start of `bytes` (which may hold more than one batch). Checks the
    /// magic byte and that every length and count is sane; does not check the CRC (see
    /// [`verify_crc`]).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, Error> {
        let Some(header) = bytes.get(..Self::SIZE) else {
            return Err(Error::Truncated {
                needed: Self::SIZE,
                available: bytes.len(),
            });
        };
        let magic = i8::from_be_bytes([header[position::MAGIC]]);
        if magic != MAGIC {
            return Err(Error::BadMagic(magic));
        }
        let batch_length = read_i32(header, position::BATCH_LENGTH);
        let batch_length = match u32::try_from(batch_length) {
            Ok(length) if length as usize >= Self::SIZE - position::LOG_OVERHEAD => length,
            _ => return Err(Error::InvalidBatchLength(batch_length)),
        };
        let base_offset = non_negative("baseOffset", read_i64(header, position::BASE_OFFSET))?;
        let last_offset_delta = non_negative(
            "lastOffsetDelta",
            read_i32(header, position::LAST_OFFSET_DELTA).into(),
        )?;
        // Keep `last_offset` representable as a wire offset, so nothing downstream overflows.
        if base_offset
            .checked_add(last_offset_delta)
            .is_none_or(|last| last > i64::MAX as u64)
        {
            return Err(Error::InvalidHeaderField {
                field: "lastOffsetDelta",
                value: last_offset_delta as i64,
            });
        }
        let partition_leader_epoch = match read_i32(header, position::PARTITION_LEADER_EPOCH) {
            -1 => None,
            epoch => Some(LeaderEpoch(
                non_negative("partitionLeaderEpoch", epoch.into())? as u32,
            )),
        };
        let record_count = non_negative(
            "recordCount",
            read_i32(header, position::RECORD_COUNT).into(),
        )? as u32;
        let res = BatchHeader {
            base_offset: Offset(base_offset),
            batch_length,
            partition_leader_epoch,
            crc: u32::from_be_bytes(array(header, position::CRC)),
            attributes: u16::from_be_bytes(array(header, position::ATTRIBUTES)),
            last_offset_delta: last_offset_delta as u32,
            base_timestamp: Timestamp(read_i64(header, position::BASE_TIMESTAMP)),
            max_timestamp: Timestamp(read_i64(header, position::MAX_TIMESTAMP)),
            producer_id: match read_i64(header, position::PRODUCER_ID) {
                -1 => None,
                id => Some(id),
            },
            producer_epoch: i16::from_be_bytes(array(header, position::PRODUCER_EPOCH)),
            base_sequence: match read_i32(header, position::BASE_SEQUENCE) {
                -1 => None,
                sequence => Some(sequence),
            },
            record_count,
        };
        Ok(res)
    }

    /// Size of the whole batch in bytes: `12 + batch_length`.
    pub fn total_size(&self) -> usize {
        position::LOG_OVERHEAD + self.batch_length as usize
    }

    /// Offset of the last record the batch covers.
    pub fn last_offset(&self) -> Offset {
        Offset(self.base_offset.0 + u64::from(self.last_offset_delta))
    }

    /// The offset after the batch: `last_offset + 1`.
    pub fn next_offset(&self) -> Offset {
        Offset(self.last_offset().0 + 1)
    }

    /// The codec of the records; an error for the codec numbers 5..=7, which do not exist.
    pub fn compression(&self) -> Result<Compression, Error> {
        Compression::from_id((self.attributes & COMPRESSION_MASK) as u8)
    }

    /// What the timestamps mean.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & TIMESTAMP_TYPE_BIT == 0 {
            TimestampType::CreateTime
        } else {
            TimestampType::LogAppendTime
        }
    }

    /// Whether the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Whether the batch holds control records (transaction markers), not user data.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Whether the log cleaner set a delete horizon: then `base_timestamp` is the time after
    /// which the batch's tombstones and transaction markers may be removed.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_BIT != 0
    }
}

/// Checks the CRC-32C of one whole batch (`batch` must be exactly `total_size` bytes long).
pub fn verify_crc(batch: &[u8]) -> Result<(), Error> {
    let header = BatchHeader::parse(batch)?;
    if batch.len() != header.total_size() {
        return Err(Error::BatchSizeMismatch {
            declared: header.total_size(),
            actual: batch.len(),
        });
    }
    let actual = crc32c::crc32c(&batch[position::ATTRIBUTES..]);
    if actual != header.crc {
        return Err(Error::CrcMismatch {
            expected: header.crc,
            actual,
        });
    }
    Ok(())
}

impl Compression {
    /// Every codec, in attribute-number order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec's number in the attributes (Kafka's `compression.type` id).
    pub fn id(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec with attribute number `id`.
    pub fn from_id(id: u8) -> Result<Compression, Error> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            _ => Err(Error::UnknownCompression(id)),
        }
    }

    /// Kafka's name for the codec (`compression.type` values).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Attribute bits for a batch with these properties.
pub(crate) fn attributes(
    compression: Compression,
    timestamp_type: TimestampType,
    is_transactional: bool,
    is_control: bool,
) -> u16 {
    let mut res = u16::from(compression.id());
    if timestamp_type == TimestampType::LogAppendTime {
        res |= TIMESTAMP_TYPE_BIT;
    }
    if is_transactional {
        res |= TRANSACTIONAL_BIT;
    }
    if is_control {
        res |= CONTROL_BIT;
    }
    res
}

/// Sets the delete-horizon bit in `attributes`.
pub(crate) fn with_delete_horizon(attributes: u16) -> u16 {
    attributes | DELETE_HORIZON_BIT
}

/// Sets the log-append-time bit in `attributes`.
pub(crate) fn with_log_append_time(attributes: u16) -> u16 {
    attributes | TIMESTAMP_TYPE_BIT
}

/// Byte positions of the header fields (Kafka's `DefaultRecordBatch` layout).
pub(crate) mod position {
    pub const BASE_OFFSET: usize = 0;
    pub const BATCH_LENGTH: usize = 8;
    pub const PARTITION_LEADER_EPOCH: usize = 12;
    pub const MAGIC: usize = 16;
    pub const CRC: usize = 17;
    /// The CRC covers everything from here to the end of the batch.
    pub const ATTRIBUTES: usize = 21;
    pub const LAST_OFFSET_DELTA: usize = 23;
    pub const BASE_TIMESTAMP: usize = 27;
    pub const MAX_TIMESTAMP: usize = 35;
    pub const PRODUCER_ID: usize = 43;
    pub const PRODUCER_EPOCH: usize = 51;
    pub const BASE_SEQUENCE: usize = 53;
    pub const RECORD_COUNT: usize = 57;
    /// Size of everything before the batch length's count starts (base offset + length).
    pub const LOG_OVERHEAD: usize = 12;
}

const COMPRESSION_MASK: u16 = 0x07;
const TIMESTAMP_TYPE_BIT: u16 = 0x08;
const TRANSACTIONAL_BIT: u16 = 0x10;
const CONTROL_BIT: u16 = 0x20;
const DELETE_HORIZON_BIT: u16 = 0x40;

fn non_negative(field: &'static str, value: i64) -> Result<u64, Error> {
    match u64::try_from(value) {
        Ok(res) => Ok(res),
        Err(_) => Err(Error::InvalidHeaderField { field, value }),
    }
}

fn array<const N: usize>(header: &[u8], at: usize) -> [u8; N] {
    header[at..at + N]
        .try_into()
        .expect("callers pass a 61-byte header and fixed field positions inside it")
}

fn read_i32(header: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(array(header, at))
}

fn read_i64(header: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(array(header, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_bits_round_trip() {
        for compression in Compression::ALL {
            for timestamp_type in [TimestampType::CreateTime, TimestampType::LogAppendTime] {
                for is_transactional in [false, true] {
                    for is_control in [false, true] {
                        let bits =
                            attributes(compression, timestamp_type, is_transactional, is_control);
                        let header = BatchHeader {
                            base_offset: Offset(0),
                            batch_length: 49,
                            partition_leader_epoch: None,
                            crc: 0,
                            attributes: bits,
                            last_offset_delta: 0,
                            base_timestamp: Timestamp(0),
                            max_timestamp: Timestamp(0),
                            producer_id: None,
                            producer_epoch: -1,
                            base_sequence: None,
                            record_count: 0,
                        };
                        assert_eq!(header.compression(), Ok(compression));
                        assert_eq!(header.timestamp_type(), timestamp_type);
                        assert_eq!(header.is_transactional(), is_transactional);
                        assert_eq!(header.is_control(), is_control);
                    }
                }
            }
        }
    }

    #[test]
    fn unknown_codecs_are_errors() {
        for id in 5..=7 {
            assert_eq!(Compression::from_id(id), Err(Error::UnknownCompression(id)));
        }
    }
}
