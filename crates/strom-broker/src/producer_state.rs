//! Idempotent-producer bookkeeping for one partition: per producer id, its epoch and the sequence
//! ranges and offsets of its last five batches, as Kafka keeps them. The broker asks
//! [`ProducerTable::check`] before appending a batch and tells [`ProducerTable::record`] after.
//! A retry of one of the last five batches is a duplicate (answered with its original offset);
//! anything else must continue the sequence exactly.
//!
//! It does no I/O and knows nothing of the wire protocol; after a restart the table is rebuilt
//! from what the log remembers ([`strom_log::Log::producer_states`]: one batch per producer).

use std::collections::{BTreeMap, HashMap, VecDeque};

use strom_log::ProducerBatch;
pub use strom_log::RETAINED_BATCHES;
use strom_record::{BatchHeader, Offset};

/// The producer state of one partition.
#[derive(Debug, Default, Clone)]
pub struct ProducerTable {
    producers: HashMap<i64, ProducerEntry>,
}

/// What to do with a batch that passed the sequence check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// It was appended before at `base_offset`: answer that, append nothing.
    Duplicate {
        /// The offset the original batch got.
        base_offset: Offset,
    },
}

/// Why a batch was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    /// The batch's epoch is older than the producer's current one (`INVALID_PRODUCER_EPOCH`).
    #[error("producer epoch is stale")]
    StaleEpoch,
    /// The batch does not continue the producer's sequence (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
    #[error("sequence number out of order")]
    OutOfOrder,
    /// A producer this partition has never seen sent a non-zero first sequence while its state
    /// cannot have been lost (`UNKNOWN_PRODUCER_ID`).
    #[error("unknown producer id")]
    UnknownProducer,
}

#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    base_sequence: i32,
    last_sequence: i32,
    base_offset: Offset,
}

impl ProducerTable {
    /// The table a log's remembered producer batches imply.
    pub fn from_log(states: &BTreeMap<i64, VecDeque<ProducerBatch>>) -> ProducerTable {
        let producers = states
            .iter()
            .filter_map(|(&producer_id, batches)| {
                let epoch = batches.back()?.producer_epoch;
                let batches = batches
                    .iter()
                    .map(|batch| BatchMeta {
                        base_sequence: batch.base_sequence,
                        last_sequence: batch.last_sequence,
                        base_offset: batch.base_offset,
                    })
                    .collect();
                Some((producer_id, ProducerEntry { epoch, batches }))
            })
            .collect();
        ProducerTable { producers }
    }

    /// Checks a batch about to be appended. `state_may_be_lost` says whether the partition may
    /// have forgotten producers (its log start moved, or it holds more segments than the log
    /// rebuilds producer state from): then an unknown producer is accepted at any sequence, as in
    /// Kafka 2.5+ (KIP-360).
    pub fn check(
        &self,
        header: &BatchHeader,
        state_may_be_lost: bool,
    ) -> Result<SequenceCheck, SequenceError> {
        let (Some(producer_id), Some(base_sequence)) = (header.producer_id, header.base_sequence)
        else {
            return Ok(SequenceCheck::Append);
        };
        let last_sequence = add_sequence(base_sequence, header.last_offset_delta);
        let Some(entry) = self.producers.get(&producer_id) else {
            if base_sequence == 0 || state_may_be_lost {
                return Ok(SequenceCheck::Append);
            }
            return Err(SequenceError::UnknownProducer);
        };
        if header.producer_epoch < entry.epoch {
            return Err(SequenceError::StaleEpoch);
        }
        if header.producer_epoch > entry.epoch {
            // A bumped epoch starts its sequence again at zero.
            if base_sequence == 0 {
                return Ok(SequenceCheck::Append);
            }
            return Err(SequenceError::OutOfOrder);
        }
        if let Some(duplicate) = entry.batches.iter().find(|batch| {
            batch.base_sequence == base_sequence && batch.last_sequence == last_sequence
        }) {
            return Ok(SequenceCheck::Duplicate {
                base_offset: duplicate.base_offset,
            });
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |batch| add_sequence(batch.last_sequence, 1));
        if base_sequence != expected {
            return Err(SequenceError::OutOfOrder);
        }
        Ok(SequenceCheck::Append)
    }

    /// Records a batch that was appended (its header carries the offsets it got).
    pub fn record(&mut self, header: &BatchHeader) {
        let (Some(producer_id), Some(base_sequence)) = (header.producer_id, header.base_sequence)
        else {
            return;
        };
        let meta = BatchMeta {
            base_sequence,
            last_sequence: add_sequence(base_sequence, header.last_offset_delta),
            base_offset: header.base_offset,
        };
        let entry = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: header.producer_epoch,
                batches: VecDeque::new(),
            });
        if entry.epoch != header.producer_epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(meta);
        while entry.batches.len() > RETAINED_BATCHES {
            entry.batches.pop_front();
        }
    }
}

/// Sequence arithmetic: sequences wrap from `i32::MAX` to 0, as in Kafka.
fn add_sequence(sequence: i32, delta: u32) -> i32 {
    let res = (i64::from(sequence) + i64::from(delta)) % (i64::from(i32::MAX) + 1);
    i32::try_from(res).expect("a value reduced modulo 2^31 fits an i32")
}

#[cfg(test)]
mod tests {
    use strom_record::Timestamp;

    use super::*;

    fn header(epoch: i16, base_sequence: i32, records: u32, base_offset: u64) -> BatchHeader {
        BatchHeader {
            base_offset: Offset(base_offset),
            batch_length: 0,
            partition_leader_epoch: None,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: Timestamp(0),
            max_timestamp: Timestamp(0),
            producer_id: Some(7),
            producer_epoch: epoch,
            base_sequence: Some(base_sequence),
            record_count: records,
        }
    }

    /// Feeds `(epoch, base_sequence, records)` batches through check-then-record and returns
    /// what each check said; appended batches get consecutive offsets.
    #[track_caller]
    fn check(batches: &[(i16, i32, u32)], expect: &[Result<SequenceCheck, SequenceError>]) {
        let mut table = ProducerTable::default();
        let mut next_offset = 0;
        let mut res = Vec::new();
        for &(epoch, base_sequence, records) in batches {
            let mut batch = header(epoch, base_sequence, records, next_offset);
            let outcome = table.check(&batch, false);
            if outcome == Ok(SequenceCheck::Append) {
                batch.base_offset = Offset(next_offset);
                table.record(&batch);
                next_offset += u64::from(records);
            }
            res.push(outcome);
        }
        assert_eq!(res, expect);
    }

    const APPEND: Result<SequenceCheck, SequenceError> = Ok(SequenceCheck::Append);

    #[test]
    fn in_order_batches_append() {
        check(
            &[(0, 0, 3), (0, 3, 2), (0, 5, 1)],
            &[APPEND, APPEND, APPEND],
        );
    }

    #[test]
    fn retries_of_recent_batches_are_duplicates() {
        check(
            &[(0, 0, 3), (0, 3, 2), (0, 0, 3), (0, 3, 2)],
            &[
                APPEND,
                APPEND,
                Ok(SequenceCheck::Duplicate {
                    base_offset: Offset(0),
                }),
                Ok(SequenceCheck::Duplicate {
                    base_offset: Offset(3),
                }),
            ],
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let batches: Vec<_> = (0..6)
            .map(|index| (0, index, 1))
            .chain([(0, 0, 1)])
            .collect();
        let mut expect = vec![APPEND; 6];
        expect.push(Err(SequenceError::OutOfOrder));
        check(&batches, &expect);
    }

    #[test]
    fn gaps_and_stale_epochs_are_refused() {
        check(
            &[(1, 0, 1), (1, 2, 1), (0, 1, 1), (2, 5, 1), (2, 0, 1)],
            &[
                APPEND,
                Err(SequenceError::OutOfOrder),
                Err(SequenceError::StaleEpoch),
                Err(SequenceError::OutOfOrder),
                APPEND,
            ],
        );
    }

    #[test]
    fn unknown_producer_must_start_at_zero_unless_state_may_be_lost() {
        let table = ProducerTable::default();
        let batch = header(0, 9, 1, 0);
        assert_eq!(
            table.check(&batch, false),
            Err(SequenceError::UnknownProducer)
        );
        assert_eq!(table.check(&batch, true), APPEND);
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        check(&[(0, 0, 1), (0, 1, 1)], &[APPEND, APPEND]);
        assert_eq!(add_sequence(i32::MAX, 1), 0);
        assert_eq!(add_sequence(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn rebuilt_from_the_log_it_recognises_every_remembered_batch() {
        let batch = |base_sequence: i32, base_offset: u64| ProducerBatch {
            producer_epoch: 0,
            base_sequence,
            last_sequence: base_sequence + 4,
            base_offset: Offset(base_offset),
            last_offset: Offset(base_offset + 4),
        };
        let states = BTreeMap::from([(7, VecDeque::from([batch(5, 95), batch(10, 100)]))]);
        let table = ProducerTable::from_log(&states);
        // A resend of either remembered batch (five in flight when the broker died) is a
        // duplicate answered with its original offset.
        for (base_sequence, base_offset) in [(5, 95), (10, 100)] {
            assert_eq!(
                table.check(&header(0, base_sequence, 5, 0), false),
                Ok(SequenceCheck::Duplicate {
                    base_offset: Offset(base_offset)
                })
            );
        }
        assert_eq!(table.check(&header(0, 15, 1, 0), false), APPEND);
        assert_eq!(
            table.check(&header(0, 16, 1, 0), false),
            Err(SequenceError::OutOfOrder)
        );
    }
}
