//! The decisions replication hands back to the broker. The crate never does I/O itself: each
//! `Action` says what the broker must do (move a high watermark, ask the controller for an ISR
//! change, answer a produce request, truncate or fetch). docs/replication.md lists them all.

use crate::ids::{BrokerId, LeaderEpoch, Offset, PartitionEpoch, RequestId};

/// Something the broker must do, returned by the leader and follower state machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set the partition's high watermark (it only moves forward while leading or following one
    /// leader). Consumers may now read below it; delayed consumer fetches can be woken up.
    AdvanceHighWatermark(Offset),
    /// Send this ISR shrink to the controller (AlterPartition). Nothing changes until the
    /// controller commits it and the broker calls `Leader::on_isr_committed`.
    ShrinkIsr(IsrProposal),
    /// Send this ISR expansion to the controller (AlterPartition), as for `ShrinkIsr`.
    ExpandIsr(IsrProposal),
    /// Answer the waiting `acks=all` produce request with success.
    AckCompleted(RequestId),
    /// Answer the waiting `acks=all` produce request with this error.
    AckFailed(RequestId, AckError),
    /// Follower: truncate the local log (and its leader epoch cache) to end at this offset.
    TruncateTo(Offset),
    /// Follower: send `OffsetForLeaderEpoch` for this epoch to the leader and pass the answer to
    /// `Follower::on_epoch_end_offset`.
    RequestEpochEndOffset(LeaderEpoch),
    /// Follower: fetch from the leader starting at this offset (the local log end offset).
    FetchFrom(Offset),
}

/// A proposed ISR, sent to the controller with the epochs it was computed from so the
/// controller can reject it when the partition changed meanwhile (as Kafka's AlterPartition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrProposal {
    /// The full proposed ISR, sorted by broker id, leader included.
    pub isr: Vec<BrokerId>,
    /// The leader epoch of the proposing leader.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch the proposal was based on.
    pub partition_epoch: PartitionEpoch,
}

/// Why an `acks=all` produce request fails. Maps 1:1 to the wire error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// NOT_ENOUGH_REPLICAS: the ISR is smaller than `min.insync.replicas`; nothing was appended.
    #[error("the isr is smaller than min.insync.replicas")]
    NotEnoughReplicas,
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND: the batch was appended and is below the high
    /// watermark, but the ISR shrank below `min.insync.replicas` meanwhile.
    #[error("the isr shrank below min.insync.replicas after the append")]
    NotEnoughReplicasAfterAppend,
    /// NOT_LEADER_OR_FOLLOWER: this broker stopped leading before the batch was replicated.
    #[error("this broker is no longer the leader")]
    NotLeader,
}
