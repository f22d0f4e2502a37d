//! What the broker needs to deduplicate idempotent producers after a restart: per producer id, the
//! last batch the log holds from it. The log rebuilds this on open by reading the batch headers of
//! its last two segments (so a producer silent for longer than two segments is forgotten, which
//! costs it an `UNKNOWN_PRODUCER_ID`-style reset, not a duplicate), keeps it current on append,
//! and recomputes it after a truncation. It does not check sequences: the broker does.

use std::collections::BTreeMap;

use strom_record::{BatchHeader, Offset};

/// The last batch of one producer in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    /// The producer's epoch in that batch.
    pub producer_epoch: i16,
    /// Sequence number of the batch's first record.
    pub base_sequence: i32,
    /// Sequence number of the batch's last record (wraps after `i32::MAX`, as in Kafka).
    pub last_sequence: i32,
    /// Offset of the batch's first record.
    pub base_offset: Offset,
    /// Offset of the batch's last record.
    pub last_offset: Offset,
}

/// Producer id -> its last batch.
pub(crate) type ProducerStates = BTreeMap<i64, ProducerBatch>;

/// Records `header` as its producer's latest batch (batches without a producer id are ignored).
pub(crate) fn observe(states: &mut ProducerStates, header: &BatchHeader) {
    let (Some(producer_id), Some(base_sequence)) = (header.producer_id, header.base_sequence)
    else {
        return;
    };
    let last_sequence = ((i64::from(base_sequence) + i64::from(header.last_offset_delta))
        % (i64::from(i32::MAX) + 1)) as i32;
    states.insert(
        producer_id,
        ProducerBatch {
            producer_epoch: header.producer_epoch,
            base_sequence,
            last_sequence,
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
        },
    );
}
