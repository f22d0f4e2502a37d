//! [`BatchWriter`]: an uncompressed record batch encoded in place as records are appended, the
//! way the Java client's `MemoryRecordsBuilder` does. `send` encodes each record straight into
//! the buffer of its partition's open batch (sized for `batch.size` up front, so it does not
//! grow), after room left for the 61-byte batch header; when the sender first drains the batch
//! it only writes the header (producer id, epoch, base sequence) and the CRC. The bytes are the
//! same as `strom_record::BatchBuilder` builds (a property test checks it); the builder copies
//! every record twice more and grows its buffer as it goes, which on a producer's hot path costs
//! more than the encoding. A batch whose producer id was replaced is taken up again
//! ([`BatchWriter::resume`]) and its header written anew.
//! Compressed batches are built by `strom_record::BatchBuilder` instead.

use bytes::{BufMut, Bytes, BytesMut};
use strom_record::{BatchHeader, Header, MAGIC, Timestamp};

use crate::{Error, Result};

/// Where the CRC sits in the header, and where the region it covers (from the attributes to the
/// end) starts.
const CRC_AT: usize = 17;
const ATTRIBUTES_AT: usize = 21;
/// The largest buffer reserved up front; larger `batch.size`s grow as records come.
const MAX_INITIAL_CAPACITY: usize = 1 << 20;

/// The idempotence fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// `None` is written as `-1`.
    pub(crate) producer_id: Option<i64>,
    /// `-1` without a producer id.
    pub(crate) producer_epoch: i16,
    /// `None` is written as `-1`.
    pub(crate) base_sequence: Option<i32>,
}

/// An open uncompressed batch: records encoded after room for the header.
#[derive(Debug)]
pub(crate) struct BatchWriter {
    buf: BytesMut,
    summary: Summary,
}

/// What the header needs to know about the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    count: u32,
    base_timestamp: Timestamp,
    max_timestamp: Timestamp,
}

impl BatchWriter {
    /// An empty batch with room for about `batch_size` bytes of records, in `spare` (the
    /// buffer of a batch that completed, see [`BatchWriter::reusable`]) if given.
    pub(crate) fn new(batch_size: usize, spare: Option<BytesMut>) -> BatchWriter {
        let capacity = initial_capacity(batch_size);
        let mut buf = match spare {
            Some(mut buf) => {
                buf.clear();
                buf.reserve(capacity);
                buf
            }
            None => BytesMut::with_capacity(capacity),
        };
        buf.put_bytes(0, BatchHeader::SIZE);
        BatchWriter {
            buf,
            summary: Summary {
                count: 0,
                base_timestamp: Timestamp(-1),
                max_timestamp: Timestamp(-1),
            },
        }
    }

    /// Takes up a built batch again to stamp it with another producer id (its records stay).
    pub(crate) fn resume(bytes: Bytes, summary: Summary) -> BatchWriter {
        let buf = bytes
            .try_into_mut()
            .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
        BatchWriter { buf, summary }
    }

    /// Appends one record at the next offset.
    pub(crate) fn push(
        &mut self,
        timestamp: Timestamp,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<()> {
        let summary = &mut self.summary;
        let base_timestamp = if summary.count == 0 {
            timestamp
        } else {
            summary.base_timestamp
        };
        let Some(timestamp_delta) = timestamp.0.checked_sub(base_timestamp.0) else {
            return Err(Error::Record(strom_record::Error::TimestampOutOfRange));
        };
        let Ok(offset_delta) = i32::try_from(summary.count) else {
            return Err(Error::Record(strom_record::Error::TooManyRecords));
        };
        let mut body_size = 1 + varlong_size(timestamp_delta) + varlong_size(offset_delta.into());
        body_size += nullable_size(key)? + nullable_size(value)?;
        body_size += varlong_size(wire_length(headers.len())?.into());
        for header in headers {
            body_size += nullable_size(Some(header.key.as_bytes()))?;
            body_size += nullable_size(header.value.as_deref())?;
        }
        let body_length = wire_length(body_size)?;
        let buf = &mut self.buf;
        buf.reserve(varlong_size(body_length.into()) + body_size);
        // The varints go through a small array, copied into the buffer once before each
        // field's bytes: written one by one, every byte paid for a capacity check.
        let mut prefix = Scratch::default();
        prefix.varlong(body_length.into());
        prefix.byte(0); // Record attributes: unused in magic 2.
        prefix.varlong(timestamp_delta);
        prefix.varlong(offset_delta.into());
        prefix.nullable(buf, key);
        prefix.nullable(buf, value);
        prefix.varlong(wire_length(headers.len())?.into());
        for header in headers {
            prefix.nullable(buf, Some(header.key.as_bytes()));
            prefix.nullable(buf, header.value.as_deref());
        }
        prefix.flush(buf);
        summary.max_timestamp = if summary.count == 0 {
            timestamp
        } else {
            summary.max_timestamp.max(timestamp)
        };
        summary.base_timestamp = base_timestamp;
        summary.count += 1;
        Ok(())
    }

    /// Writes the header with `stamp` and the CRC; returns the batch and what
    /// [`BatchWriter::resume`] needs to stamp it again.
    pub(crate) fn finish(mut self, stamp: Stamp) -> Result<(Bytes, Summary)> {
        let summary = self.summary;
        let Ok(batch_length) = i32::try_from(self.buf.len() - 12) else {
            return Err(Error::Record(strom_record::Error::FieldTooLong(
                self.buf.len(),
            )));
        };
        let mut header = [0u8; BatchHeader::SIZE];
        let mut out = &mut header[..];
        out.put_u64(0); // Base offset: the broker assigns it.
        out.put_i32(batch_length);
        out.put_i32(-1); // Partition leader epoch: the broker fills it in.
        out.put_i8(MAGIC);
        out.put_u32(0); // CRC, below.
        out.put_u16(0); // Attributes: no compression, create time, not transactional.
        out.put_u32(summary.count.saturating_sub(1));
        out.put_i64(summary.base_timestamp.0);
        out.put_i64(summary.max_timestamp.0);
        out.put_i64(stamp.producer_id.unwrap_or(-1));
        out.put_i16(stamp.producer_epoch);
        out.put_i32(stamp.base_sequence.unwrap_or(-1));
        out.put_u32(summary.count);
        let Some(room) = self.buf.get_mut(..BatchHeader::SIZE) else {
            return Err(Error::Record(strom_record::Error::Truncated {
                needed: BatchHeader::SIZE,
                available: self.buf.len(),
            }));
        };
        room.copy_from_slice(&header);
        self.write_crc();
        Ok((self.buf.freeze(), summary))
    }

    /// Writes the CRC of everything from the attributes on.
    fn write_crc(&mut self) {
        let crc = crc32c::crc32c(self.buf.get(ATTRIBUTES_AT..).unwrap_or_default());
        if let Some(field) = self.buf.get_mut(CRC_AT..ATTRIBUTES_AT) {
            field.copy_from_slice(&crc.to_be_bytes());
        }
    }
}

/// The buffer of a completed batch, to be reused by [`BatchWriter::new`] for `batch_size`
/// batches: reusing memory already touched saves the page faults of a fresh allocation. `None`
/// if the bytes are still shared or the buffer grew well past what a batch needs.
pub(crate) fn reusable(bytes: Bytes, batch_size: usize) -> Option<BytesMut> {
    let buf = bytes.try_into_mut().ok()?;
    let capacity = initial_capacity(batch_size);
    (buf.capacity() >= capacity && buf.capacity() <= 2 * capacity).then_some(buf)
}

/// What a batch's buffer is allocated with.
fn initial_capacity(batch_size: usize) -> usize {
    BatchHeader::SIZE + batch_size.min(MAX_INITIAL_CAPACITY)
}

/// Bytes of `value` as a zigzag varint (a varint's zigzag form equals its varlong form).
fn varlong_size(value: i64) -> usize {
    let raw = ((value << 1) ^ (value >> 63)) as u64;
    let bits = 64 - raw.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Varint bytes gathered for one copy into a batch buffer. Between two copies a record puts at
/// most its length, attributes, two deltas, two field lengths and a header count and key length
/// here (33 bytes).
struct Scratch {
    bytes: [u8; 48],
    len: usize,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl Scratch {
    fn byte(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn varlong(&mut self, value: i64) {
        let mut raw = ((value << 1) ^ (value >> 63)) as u64;
        while raw >= 0x80 {
            self.byte((raw as u8 & 0x7f) | 0x80);
            raw >>= 7;
        }
        self.byte(raw as u8);
    }

    /// A nullable field: its length, then (after copying what is gathered) its bytes.
    fn nullable(&mut self, out: &mut BytesMut, field: Option<&[u8]>) {
        match field {
            None => self.varlong(-1),
            Some(bytes) => {
                self.varlong(bytes.len() as i64);
                self.flush(out);
                out.extend_from_slice(bytes);
            }
        }
    }

    fn flush(&mut self, out: &mut BytesMut) {
        out.extend_from_slice(self.bytes.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

fn wire_length(length: usize) -> Result<i32> {
    match i32::try_from(length) {
        Ok(res) => Ok(res),
        Err(_) => Err(Error::Record(strom_record::Error::FieldTooLong(length))),
    }
}

fn nullable_size(field: Option<&[u8]>) -> Result<usize> {
    Ok(match field {
        None => 1,
        Some(bytes) => varlong_size(wire_length(bytes.len())?.into()) + bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use strom_record::{BatchBuilder, BatchConfig, DecodeLimits, records_of};

    use super::*;

    type Input = (
        i64,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Vec<(String, Option<Vec<u8>>)>,
    );

    fn header_list(headers: &[(String, Option<Vec<u8>>)]) -> Vec<Header> {
        headers
            .iter()
            .map(|(key, value)| Header {
                key: key.clone(),
                value: value.clone().map(Bytes::from),
            })
            .collect()
    }

    /// The batch `BatchBuilder` builds from `records` with `stamp`.
    fn built(records: &[Input], stamp: Stamp) -> Bytes {
        let mut builder = BatchBuilder::new(BatchConfig {
            producer_id: stamp.producer_id,
            producer_epoch: stamp.producer_epoch,
            base_sequence: stamp.base_sequence,
            ..BatchConfig::default()
        });
        for (timestamp, key, value, headers) in records {
            builder.push(
                Timestamp(*timestamp),
                key.clone().map(Bytes::from),
                value.clone().map(Bytes::from),
                header_list(headers),
            );
        }
        builder.build().unwrap().into_bytes()
    }

    #[track_caller]
    fn check(records: &[Input], batch_size: usize) {
        let plain = Stamp {
            producer_id: None,
            producer_epoch: -1,
            base_sequence: None,
        };
        let idempotent = Stamp {
            producer_id: Some(42),
            producer_epoch: 3,
            base_sequence: Some(1000),
        };
        let mut writer = BatchWriter::new(batch_size, None);
        for (timestamp, key, value, headers) in records {
            writer
                .push(
                    Timestamp(*timestamp),
                    key.as_deref(),
                    value.as_deref(),
                    &header_list(headers),
                )
                .unwrap();
        }
        let (bytes, summary) = writer.finish(plain).unwrap();
        assert_eq!(bytes, built(records, plain), "same bytes as BatchBuilder");
        let decoded = records_of(&bytes, DecodeLimits::default()).unwrap();
        assert_eq!(decoded.len(), records.len());
        for (record, (timestamp, key, value, _)) in decoded.iter().zip(records) {
            assert_eq!(record.timestamp, Timestamp(*timestamp));
            assert_eq!(record.key.as_deref(), key.as_deref());
            assert_eq!(record.value.as_deref(), value.as_deref());
        }
        // Stamped again under another producer id: as if built with it in the first place.
        let (restamped, _) = BatchWriter::resume(bytes, summary)
            .finish(idempotent)
            .unwrap();
        assert_eq!(restamped, built(records, idempotent));
    }

    #[test]
    fn writes_what_the_builder_builds() {
        check(
            &[(1_700_000_000_000, None, Some(b"v".to_vec()), Vec::new())],
            16,
        );
        check(
            &[
                (5, Some(b"k".to_vec()), None, vec![("h".to_owned(), None)]),
                (3, None, Some(vec![7; 300]), Vec::new()),
                (9, Some(Vec::new()), Some(Vec::new()), Vec::new()),
            ],
            0,
        );
    }

    fn input() -> impl Strategy<Value = Input> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200));
        (
            -1_000_000i64..1_000_000_000_000,
            bytes(),
            bytes(),
            proptest::collection::vec(("[a-z]{0,8}", bytes()), 0..3),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn round_trips_like_the_builder(
            records in proptest::collection::vec(input(), 1..20),
            batch_size in 0usize..4096,
        ) {
            check(&records, batch_size);
        }
    }

    #[test]
    fn timestamps_too_far_apart_are_an_error() {
        let mut writer = BatchWriter::new(100, Some(BytesMut::from(&b"old"[..])));
        writer.push(Timestamp(i64::MAX), None, None, &[]).unwrap();
        assert!(matches!(
            writer.push(Timestamp(-2), None, None, &[]),
            Err(Error::Record(strom_record::Error::TimestampOutOfRange))
        ));
    }
}
