//! The crate's one error type. These are caller mistakes or stale inputs the broker must reject;
//! replication decisions themselves (an ack that failed, an ISR change) are `Action`s, not errors.

use crate::ids::{BrokerId, LeaderEpoch, Offset, PartitionEpoch, RequestId};

/// What went wrong when feeding an event to the replication state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The broker is not a replica of this partition.
    #[error("broker {0} is not a replica of this partition")]
    UnknownReplica(BrokerId),
    /// A follower fetched beyond the leader's log end offset.
    #[error("fetch offset {fetch_offset} is beyond the log end offset {log_end_offset}")]
    FetchOffsetOutOfRange {
        /// The offset the follower asked for.
        fetch_offset: Offset,
        /// The leader's log end offset.
        log_end_offset: Offset,
    },
    /// The log end offset went backwards on the leader.
    #[error("log end offset {new} is below the previous {previous}")]
    LogEndOffsetWentBack {
        /// The log end offset known before.
        previous: Offset,
        /// The log end offset given now.
        new: Offset,
    },
    /// A committed ISR carries a partition epoch no newer than the one already applied.
    #[error("partition epoch {got} is not newer than {current}")]
    StalePartitionEpoch {
        /// The partition epoch already applied.
        current: PartitionEpoch,
        /// The partition epoch given now.
        got: PartitionEpoch,
    },
    /// An ISR change was proposed from another partition epoch than the registration's.
    #[error("partition epoch {got} does not match the current {current}")]
    PartitionEpochMismatch {
        /// The registration's partition epoch.
        current: PartitionEpoch,
        /// The proposal's partition epoch.
        got: PartitionEpoch,
    },
    /// An ISR change was proposed for another leader epoch than the registration's.
    #[error("leader epoch {got} does not match the current {current}")]
    LeaderEpochMismatch {
        /// The registration's leader epoch.
        current: LeaderEpoch,
        /// The proposal's leader epoch.
        got: LeaderEpoch,
    },
    /// An ISR proposal is invalid: empty, without the leader, or naming a non-replica or a
    /// fenced broker as a new member.
    #[error("invalid isr proposal: {0}")]
    InvalidIsr(&'static str),
    /// The request id already waits for an acknowledgement.
    #[error("request {0} already waits for an acknowledgement")]
    DuplicateRequest(RequestId),
    /// An `acks=all` request waits for an offset the log has not reached.
    #[error("required offset {required_offset} is beyond the log end offset {log_end_offset}")]
    RequiredOffsetBeyondLogEnd {
        /// The offset the request waits for.
        required_offset: Offset,
        /// The leader's log end offset.
        log_end_offset: Offset,
    },
    /// A leader was started with a high watermark beyond its log end offset.
    #[error("high watermark {high_watermark} is beyond the log end offset {log_end_offset}")]
    HighWatermarkBeyondLogEnd {
        /// The high watermark given.
        high_watermark: Offset,
        /// The log end offset given.
        log_end_offset: Offset,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
