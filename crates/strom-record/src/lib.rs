//! Kafka's record batch format, magic 2: parse and validate batch headers (CRC-32C), iterate the
//! records of a batch, build batches, compress and decompress them (none, gzip, snappy, LZ4,
//! zstd) under a size cap, and rewrite a batch's base offset and leader epoch in place. Pure: no
//! I/O, no clock. Legacy message sets (magic 0 and 1) are not supported.
//!
//! Entry points: [`split_batches`] (a Produce request's records), [`complete_batches`] and
//! [`records_of`] (fetched or stored data, which may end mid-batch), [`ValidatedBatch`] (one
//! checked batch, rewritable in place), [`BatchBuilder`], and [`EndTransactionMarker`] for
//! control batches. Every error says whether the input was at fault: [`Error::kind`].
//!
//! ```
//! use bytes::Bytes;
//! use strom_record::{
//!     BatchBuilder, BatchConfig, Compression, DecodeLimits, Header, Offset, Timestamp,
//!     split_batches,
//! };
//!
//! let mut builder = BatchBuilder::new(BatchConfig {
//!     compression: Compression::Zstd,
//!     ..BatchConfig::default()
//! });
//! builder.push(Timestamp(1_700_000_000_000), Some(Bytes::from("key")), Some(Bytes::from("value")), vec![]);
//! builder.push(
//!     Timestamp(1_700_000_000_005),
//!     None,
//!     None, // a tombstone
//!     vec![Header { key: "trace".to_owned(), value: Some(Bytes::from("abc")) }],
//! );
//! let mut batch = builder.build()?;
//!
//! // A leader assigns offsets by rewriting the base offset; the CRC stays valid.
//! batch.set_base_offset(Offset(42));
//! let wire = batch.into_bytes();
//!
//! let batches = split_batches(wire)?;
//! assert_eq!(batches.len(), 1);
//! assert_eq!(batches[0].header().next_offset(), Offset(44));
//! let records = batches[0].records(DecodeLimits::default())?;
//! assert_eq!(records[0].offset, Offset(42));
//! assert_eq!(records[0].value.as_deref(), Some(&b"value"[..]));
//! assert_eq!(records[1].timestamp, Timestamp(1_700_000_000_005));
//! assert_eq!(records[1].value, None);
//! # Ok::<(), strom_record::Error>(())
//! ```

mod batch;
mod builder;
mod compression;
mod control;
mod error;
mod header;
mod offset;
mod record;
mod varint;

pub use batch::{
    AppendCheck, DecodeLimits, ValidatedBatch, complete_batches, records_of, split_batches,
};
pub use builder::{BatchBuilder, BatchConfig};
pub use control::{ControlRecordType, EndTransactionMarker};
pub use error::{Error, ErrorKind};
pub use header::{BatchHeader, Compression, MAGIC, TimestampType, verify_crc};
pub use offset::{LeaderEpoch, Offset, Timestamp};
pub use record::{Header, Record};
