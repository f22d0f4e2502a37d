//! The openraft type configuration and the aliases the rest of the crate uses. Everything here
//! is crate-private: openraft's types stay behind the seam of [`Quorum`](crate::Quorum).
//!
//! A log entry's application data is a [`RecordBatch`] planned by the leader; applying it yields
//! an [`ApplyOutcome`] that the leader hands back to the proposer.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use strom_metadata::RecordBatch;

openraft::declare_raft_types!(
    /// Strom's Raft types: batches of metadata records, u64 node ids, nodes addressed by
    /// `host:port`, snapshots as bytes in memory.
    pub(crate) TypeConfig:
        D = RecordBatch,
        R = ApplyOutcome,
);

/// A log entry.
pub(crate) type Entry = openraft::Entry<TypeConfig>;
/// A log entry's id: the term of the leader that wrote it and its index.
pub(crate) type LogId = openraft::LogId<u64>;
/// A vote: the term and the candidate voted for.
pub(crate) type Vote = openraft::Vote<u64>;
/// Openraft's storage error.
pub(crate) type StorageError = openraft::StorageError<u64>;
/// The Raft node.
pub(crate) type Raft = openraft::Raft<TypeConfig>;
/// A snapshot's metadata.
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<u64, openraft::BasicNode>;
/// The membership as of some log id.
pub(crate) type StoredMembership = openraft::StoredMembership<u64, openraft::BasicNode>;

/// What applying one entry did, returned to the proposer by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ApplyOutcome {
    /// A batch was applied; the image now ends at this offset.
    Applied {
        /// The image's end offset after the batch.
        end_offset: u64,
    },
    /// A batch contradicted the image and was skipped on every node.
    Refused {
        /// Why.
        reason: String,
    },
    /// A blank or membership entry: nothing for the image.
    NoBatch,
}
