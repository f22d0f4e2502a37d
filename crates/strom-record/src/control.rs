//! Control records: the records of control batches, which carry no user data. Parses their type
//! from the key, and builds and parses transaction markers (`COMMIT`/`ABORT`), which a transaction
//! coordinator writes to every partition a transaction touched and which `read_committed`
//! consumers use to drop aborted records. It does not track transactions.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{BatchBuilder, BatchConfig, Error, Record, Timestamp, ValidatedBatch};

/// The type of a control record, from the second field of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlRecordType {
    /// Ends a transaction by aborting it.
    Abort,
    /// Ends a transaction by committing it.
    Commit,
    /// Any other type (KRaft uses several); consumers skip these.
    Other(i16),
}

/// A transaction marker: the one record of a control batch that ends a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTransactionMarker {
    /// `Commit` or `Abort` (never `Other`).
    pub kind: ControlRecordType,
    /// The epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

/// Key and value version this crate writes.
const CONTROL_VERSION: i16 = 0;

impl ControlRecordType {
    /// Parses a control record's key: version (i16, not negative), then type (i16). Later key
    /// versions may append fields, which are ignored, as Kafka does.
    pub fn parse(key: &[u8]) -> Result<ControlRecordType, Error> {
        let Some(&[version_high, version_low, type_high, type_low]) = key.first_chunk::<4>() else {
            return Err(Error::InvalidControlRecord("key shorter than 4 bytes"));
        };
        if i16::from_be_bytes([version_high, version_low]) < 0 {
            return Err(Error::InvalidControlRecord("negative key version"));
        }
        let res = match i16::from_be_bytes([type_high, type_low]) {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Other(other),
        };
        Ok(res)
    }

    /// The key of a control record of this type.
    pub fn key(self) -> Bytes {
        let mut res = BytesMut::with_capacity(4);
        res.put_i16(CONTROL_VERSION);
        res.put_i16(match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Other(kind) => kind,
        });
        res.freeze()
    }
}

impl EndTransactionMarker {
    /// Reads the marker in `record` (a record of a control batch); `None` for control records of
    /// other types.
    pub fn parse(record: &Record) -> Result<Option<EndTransactionMarker>, Error> {
        let Some(key) = &record.key else {
            return Err(Error::InvalidControlRecord("null key"));
        };
        let kind = ControlRecordType::parse(key)?;
        if let ControlRecordType::Other(_) = kind {
            return Ok(None);
        }
        let value = record.value.as_deref().unwrap_or_default();
        let Some(&[version_high, version_low, epoch @ ..]) = value.first_chunk::<6>() else {
            return Err(Error::InvalidControlRecord(
                "marker value shorter than 6 bytes",
            ));
        };
        if i16::from_be_bytes([version_high, version_low]) < 0 {
            return Err(Error::InvalidControlRecord("negative marker version"));
        }
        Ok(Some(EndTransactionMarker {
            kind,
            coordinator_epoch: i32::from_be_bytes(epoch),
        }))
    }

    /// The marker's record value: version (i16) and coordinator epoch (i32).
    pub fn value(&self) -> Bytes {
        let mut res = BytesMut::with_capacity(6);
        res.put_i16(CONTROL_VERSION);
        res.put_i32(self.coordinator_epoch);
        res.freeze()
    }

    /// A control batch holding just this marker, for the producer `producer_id`/`producer_epoch`
    /// whose transaction it ends. The base offset is 0 (the leader assigns the real one); the
    /// batch is transactional and has no base sequence, as Kafka writes markers.
    pub fn batch(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        timestamp: Timestamp,
    ) -> Result<ValidatedBatch, Error> {
        let mut builder = BatchBuilder::new(BatchConfig {
            producer_id: Some(producer_id),
            producer_epoch,
            is_transactional: true,
            is_control: true,
            ..BatchConfig::default()
        });
        builder.push(
            timestamp,
            Some(self.kind.key()),
            Some(self.value()),
            Vec::new(),
        );
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DecodeLimits, Offset};

    #[test]
    fn markers_round_trip() {
        for kind in [ControlRecordType::Commit, ControlRecordType::Abort] {
            let marker = EndTransactionMarker {
                kind,
                coordinator_epoch: 7,
            };
            let batch = marker.batch(42, 3, Timestamp(1000)).unwrap();
            let header = batch.header();
            assert!(header.is_control() && header.is_transactional());
            assert_eq!((header.producer_id, header.producer_epoch), (Some(42), 3));
            let records = batch.records(DecodeLimits::default()).unwrap();
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].offset, Offset(0));
            assert_eq!(EndTransactionMarker::parse(&records[0]), Ok(Some(marker)));
        }
    }

    #[test]
    fn known_key_bytes() {
        // Kafka's layout: version 0, then type 0 (abort) or 1 (commit).
        assert_eq!(&ControlRecordType::Abort.key()[..], &[0, 0, 0, 0]);
        assert_eq!(&ControlRecordType::Commit.key()[..], &[0, 0, 0, 1]);
        assert_eq!(
            ControlRecordType::parse(&[0, 1, 0, 1, 9]),
            Ok(ControlRecordType::Commit)
        );
        assert_eq!(
            ControlRecordType::parse(&[0, 0, 0, 5]),
            Ok(ControlRecordType::Other(5))
        );
    }

    #[test]
    fn malformed_control_records_are_invalid() {
        let record = |key: Option<&'static [u8]>, value: Option<&'static [u8]>| Record {
            offset: Offset(0),
            timestamp: Timestamp(0),
            key: key.map(Bytes::from_static),
            value: value.map(Bytes::from_static),
            headers: Vec::new(),
        };
        let check = |record: Record| {
            let error = EndTransactionMarker::parse(&record).unwrap_err();
            assert!(error.is_corrupt_input(), "{error}");
        };
        check(record(None, None));
        check(record(Some(&[0, 0, 0]), None));
        check(record(Some(&[0xff, 0xff, 0, 0]), None));
        check(record(Some(&[0, 0, 0, 1]), None));
        check(record(Some(&[0, 0, 0, 1]), Some(&[0, 0, 0, 0, 0])));
        check(record(Some(&[0, 0, 0, 1]), Some(&[0x80, 0, 0, 0, 0, 0])));
        let other = record(Some(&[0, 0, 0, 3]), None);
        assert_eq!(EndTransactionMarker::parse(&other), Ok(None));
    }
}
