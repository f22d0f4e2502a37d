//! The crate's one error type, and its classification into "the input is corrupt" (what a broker
//! answers with Kafka's `CORRUPT_MESSAGE` or `INVALID_RECORD`) versus "the caller asked for
//! something impossible". It does not map to wire error codes: that is the broker's job.

use crate::{Compression, Offset};

/// Errors of this crate. Non-exhaustive: match on [`Error::kind`] to decide what to do.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Fewer bytes than the format requires.
    #[error("truncated input: needed {needed} bytes, {available} available")]
    Truncated {
        /// Bytes required at this point.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// The batch's magic byte is not 2 (legacy message sets are not supported).
    #[error("unsupported record batch magic {0}")]
    BadMagic(i8),
    /// The batch length field is negative or too small to hold a batch header.
    #[error("invalid batch length {0}")]
    InvalidBatchLength(i32),
    /// The bytes given as one batch are not exactly as long as the batch says.
    #[error("batch says it is {declared} bytes long but {actual} bytes were given")]
    BatchSizeMismatch {
        /// `12 + batch_length` from the header.
        declared: usize,
        /// Length of the slice given.
        actual: usize,
    },
    /// The CRC-32C stored in the header does not match the bytes.
    #[error("crc mismatch: header says {expected:#010x}, bytes give {actual:#010x}")]
    CrcMismatch {
        /// CRC stored in the batch header.
        expected: u32,
        /// CRC computed over the batch.
        actual: u32,
    },
    /// A header field that must not be negative is (other than a documented `-1` sentinel).
    #[error("invalid header field {field}: {value}")]
    InvalidHeaderField {
        /// Name of the field, as in Kafka's schema.
        field: &'static str,
        /// The value found.
        value: i64,
    },
    /// The attributes name a compression codec that does not exist.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
    /// The compressed payload is not valid for its codec.
    #[error("corrupt {codec} data: {reason}")]
    CorruptCompressed {
        /// Codec named by the batch.
        codec: Compression,
        /// What the codec reported.
        reason: String,
    },
    /// Decompressing would produce more than the caller's limit.
    #[error("decompressed batch exceeds the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// `DecodeLimits::max_uncompressed_bytes`.
        limit: usize,
    },
    /// A varint runs past the end of the data or past its maximum width.
    #[error("invalid varint")]
    InvalidVarint,
    /// A record inside the batch is malformed.
    #[error("invalid record: {0}")]
    InvalidRecord(&'static str),
    /// A record header key is not UTF-8.
    #[error("record header key is not valid utf-8")]
    InvalidHeaderKey,
    /// The batch holds a different number of records than its header says.
    #[error("batch declares {declared} records but holds {actual}")]
    RecordCountMismatch {
        /// `record_count` from the header.
        declared: u32,
        /// Records actually decoded.
        actual: u32,
    },
    /// A control record's key or value does not follow the control record layout.
    #[error("invalid control record: {0}")]
    InvalidControlRecord(&'static str),
    /// Bytes remain after the last declared record.
    #[error("{0} bytes remain after the last record")]
    TrailingBytes(usize),
    /// A builder was given an offset not after the previous one, before the base offset, or too far
    /// from it to be expressed as a 31-bit delta.
    #[error("offset {offset} is out of range for this batch (after {previous:?})")]
    OffsetOutOfRange {
        /// The offset asked for.
        offset: Offset,
        /// The previous offset in the batch, if any.
        previous: Option<Offset>,
    },
    /// A builder setting that must come before the first record came after it.
    #[error("the builder already holds records")]
    BuilderNotEmpty,
    /// A builder was given more records than a batch can hold.
    #[error("too many records for one batch")]
    TooManyRecords,
    /// A record's timestamp is too far from the batch's base timestamp to encode.
    #[error("timestamp delta does not fit in 64 bits")]
    TimestampOutOfRange,
    /// A record or header field is longer than the wire format allows (2^31 - 1 bytes).
    #[error("field of {0} bytes is too long to encode")]
    FieldTooLong(usize),
    /// The codec failed while compressing (our data was fine; the codec library refused).
    #[error("{codec} compression failed: {reason}")]
    CompressionFailed {
        /// Codec used.
        codec: Compression,
        /// What the codec reported.
        reason: String,
    },
}

/// What kind of failure an [`Error`] is, so callers can pick a response without matching every
/// variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The batch bytes are damaged: truncated, bad length, bad magic, CRC mismatch, undecodable
    /// compressed data. Kafka answers `CORRUPT_MESSAGE`.
    Corrupt,
    /// The batch framing is intact (CRC matched) but its records break the format's rules:
    /// malformed records, counts or offsets that disagree with the header, bad header keys.
    /// Kafka answers `INVALID_RECORD` (or `CORRUPT_MESSAGE` for older clients).
    InvalidRecord,
    /// The batch names a compression codec that does not exist. Kafka answers
    /// `UNSUPPORTED_COMPRESSION_TYPE`.
    UnsupportedCompression,
    /// Decompression would exceed the configured cap. Kafka has no exact equivalent; a broker
    /// should treat it as `CORRUPT_MESSAGE` (a bomb) or `RECORD_LIST_TOO_LARGE`.
    TooLarge,
    /// The caller (a builder user) asked for something the format cannot express. Not caused by
    /// untrusted input.
    Usage,
}

impl Error {
    /// Classifies this error; see [`ErrorKind`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Truncated { .. }
            | Error::BadMagic(_)
            | Error::InvalidBatchLength(_)
            | Error::BatchSizeMismatch { .. }
            | Error::CrcMismatch { .. }
            | Error::InvalidHeaderField { .. }
            | Error::CorruptCompressed { .. } => ErrorKind::Corrupt,
            Error::InvalidVarint
            | Error::InvalidRecord(_)
            | Error::InvalidHeaderKey
            | Error::InvalidControlRecord(_)
            | Error::RecordCountMismatch { .. }
            | Error::TrailingBytes(_) => ErrorKind::InvalidRecord,
            Error::UnknownCompression(_) => ErrorKind::UnsupportedCompression,
            Error::DecompressedTooLarge { .. } => ErrorKind::TooLarge,
            Error::OffsetOutOfRange { .. }
            | Error::TooManyRecords
            | Error::BuilderNotEmpty
            | Error::TimestampOutOfRange
            | Error::FieldTooLong(_)
            | Error::CompressionFailed { .. } => ErrorKind::Usage,
        }
    }

    /// True when the error was caused by the input bytes (every kind except
    /// [`ErrorKind::Usage`]): the batch must be rejected, and nothing about it stored.
    pub fn is_corrupt_input(&self) -> bool {
        self.kind() != ErrorKind::Usage
    }
}
