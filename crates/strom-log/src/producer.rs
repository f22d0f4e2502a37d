//! What the broker needs to deduplicate idempotent producers after a restart: per producer id, the
//! last [`RETAINED_BATCHES`] batches the log holds from it under its latest epoch (a producer with
//! five requests in flight may resend any of them after a restart, and each must be recognised). The log rebuilds this on open by reading the batch headers of
//! its last two segments (so a producer silent for longer than two segments is forgotten, which
//! costs it an `UNKNOWN_PRODUCER_ID`-style reset, not a duplicate), keeps it current on append,
//! and recomputes it after a truncation. It does not check sequences: the broker does.

use std::collections::{BTreeMap, VecDeque};

use strom_record::{BatchHeader, Offset};

/// How many recent batches of a producer are remembered: Kafka's limit on in-flight requests for
/// an idempotent producer (`max.in.flight.requests.per.connection` <= 5).
pub const RETAINED_BATCHES: usize = 5;

/// One of a producer's recent batches in the log.
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

/// Producer id -> its recent batches, oldest first, all of the latest epoch.
pub(crate) type ProducerStates = BTreeMap<i64, VecDeque<ProducerBatch>>;

/// Records `header` as its producer's latest batch (batches without a producer id are ignored);
/// a new epoch forgets the batches of the old one.
pub(crate) fn observe(states: &mut ProducerStates, header: &BatchHeader) {
    let (Some(producer_id), Some(base_sequence)) = (header.producer_id, header.base_sequence)
    else {
        return;
    };
    let last_sequence = ((i64::from(base_sequence) + i64::from(header.last_offset_delta))
        % (i64::from(i32::MAX) + 1)) as i32;
    let batches = states.entry(producer_id).or_default();
    if batches
        .back()
        .is_some_and(|last| last.producer_epoch != header.producer_epoch)
    {
        batches.clear();
    }
    batches.push_back(ProducerBatch {
        producer_epoch: header.producer_epoch,
        base_sequence,
        last_sequence,
        base_offset: header.base_offset,
        last_offset: header.last_offset(),
    });
    while batches.len() > RETAINED_BATCHES {
        batches.pop_front();
    }
}
