//! [`RebalanceListener`]: the application's hooks into group rebalances, and the
//! [`RebalanceContext`] they get to read positions, commit and seek with.
//!
//! The callbacks run synchronously inside [`crate::Consumer::poll`] (and `unsubscribe`/`close`),
//! on the application's task, at the point where Kafka's Java consumer runs them: revocation
//! before the partitions are given up, assignment after the new assignment arrived. A callback
//! cannot await, so it does not commit itself: it hands offsets to the context, and the consumer
//! commits them synchronously right after the callback returns and before the partitions are
//! released (a failed commit is returned by the `poll`). This module does not talk to the broker.

use std::collections::BTreeMap;

use strom_client::TopicPartition;
use strom_record::Offset;

/// An offset to commit for a partition, with its metadata string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The offset of the next record to read (one past the last processed record).
    pub offset: Offset,
    /// Free text stored with the offset (Kafka's `metadata`; empty by default).
    pub metadata: String,
}

/// Hooks the consumer calls inside `poll` when the group's assignment changes. Every method has
/// an empty default.
///
/// ```
/// use strom_client::TopicPartition;
/// use strom_consumer::{RebalanceContext, RebalanceListener};
///
/// /// Commits exactly what was returned by poll before giving partitions up.
/// struct CommitOnRevoke;
///
/// impl RebalanceListener for CommitOnRevoke {
///     fn on_revoked(&mut self, _partitions: &[TopicPartition], context: &mut RebalanceContext) {
///         context.commit_positions();
///     }
/// }
/// ```
pub trait RebalanceListener: Send {
    /// Partitions were added to the assignment. Their positions are not known yet: they come
    /// from the committed offsets (or `auto.offset.reset`) unless the callback seeks with
    /// [`RebalanceContext::seek`]. Called after every completed rebalance, possibly with no
    /// partitions, as Java does.
    fn on_assigned(&mut self, partitions: &[TopicPartition], context: &mut RebalanceContext) {
        let _ = (partitions, context);
    }

    /// Partitions are about to be taken away while the membership is still valid: buffered
    /// records are dropped, and offsets committed through the context are committed before
    /// another member can read the partitions.
    fn on_revoked(&mut self, partitions: &[TopicPartition], context: &mut RebalanceContext) {
        let _ = (partitions, context);
    }

    /// The membership was lost (session expired, `max.poll.interval.ms` exceeded, fenced): the
    /// partitions may already belong to another member, so nothing can be committed for them.
    fn on_lost(&mut self, partitions: &[TopicPartition]) {
        let _ = partitions;
    }
}

/// What a [`RebalanceListener`] callback can see and ask for.
#[derive(Debug, Default)]
pub struct RebalanceContext {
    positions: BTreeMap<TopicPartition, Offset>,
    commits: BTreeMap<TopicPartition, OffsetAndMetadata>,
    seeks: BTreeMap<TopicPartition, Offset>,
}

impl RebalanceContext {
    /// A context showing `positions` (the partitions being revoked, or none).
    pub(crate) fn new(positions: BTreeMap<TopicPartition, Offset>) -> RebalanceContext {
        RebalanceContext {
            positions,
            ..RebalanceContext::default()
        }
    }

    /// The position (next offset `poll` would return) of each partition being revoked whose
    /// position is known: everything before it was returned to the application.
    pub fn positions(&self) -> &BTreeMap<TopicPartition, Offset> {
        &self.positions
    }

    /// Asks the consumer to commit `offsets` as soon as the callback returns (synchronously,
    /// before the partitions are released). Later calls add to or replace earlier ones.
    pub fn commit(&mut self, offsets: BTreeMap<TopicPartition, OffsetAndMetadata>) {
        self.commits.extend(offsets);
    }

    /// [`RebalanceContext::commit`] of every position in [`RebalanceContext::positions`], with
    /// empty metadata.
    pub fn commit_positions(&mut self) {
        let offsets = self
            .positions
            .iter()
            .map(|(topic_partition, offset)| {
                let value = OffsetAndMetadata {
                    offset: *offset,
                    metadata: String::new(),
                };
                (topic_partition.clone(), value)
            })
            .collect();
        self.commit(offsets);
    }

    /// In `on_assigned`: start `topic_partition` at `offset` instead of its committed offset.
    /// Ignored for partitions that were not just assigned.
    pub fn seek(&mut self, topic_partition: TopicPartition, offset: Offset) {
        self.seeks.insert(topic_partition, offset);
    }

    /// The commits and seeks asked for.
    pub(crate) fn into_requests(
        self,
    ) -> (
        BTreeMap<TopicPartition, OffsetAndMetadata>,
        BTreeMap<TopicPartition, Offset>,
    ) {
        (self.commits, self.seeks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_positions_commits_what_was_returned() {
        let tp = TopicPartition::new("t", 1);
        let mut context = RebalanceContext::new([(tp.clone(), Offset(7))].into_iter().collect());
        context.commit_positions();
        context.seek(tp.clone(), Offset(3));
        let (commits, seeks) = context.into_requests();
        assert_eq!(
            commits.get(&tp),
            Some(&OffsetAndMetadata {
                offset: Offset(7),
                metadata: String::new()
            })
        );
        assert_eq!(seeks.get(&tp), Some(&Offset(3)));
    }
}
