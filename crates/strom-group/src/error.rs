//! The crate's `Error` (malformed bytes) and `GroupError`, the group answers Kafka clients expect.
//!
//! `GroupError` is not a Rust error type of this crate's functions: it is the content of a
//! response. Each variant maps 1:1 to the Kafka wire error code of the same name; the broker does
//! that mapping (this crate does not depend on `strom-protocol`).

/// Errors of this crate: bytes that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended before a field was complete.
    #[error("{what} is truncated")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
    },
    /// A length or count is negative where that is not allowed, or larger than the bytes left.
    #[error("{what} has invalid length {length}")]
    InvalidLength {
        /// What was being decoded.
        what: &'static str,
        /// The length read.
        length: i64,
    },
    /// A string is not UTF-8.
    #[error("{what} is not valid utf-8")]
    InvalidUtf8 {
        /// What was being decoded.
        what: &'static str,
    },
    /// A version this crate cannot read.
    #[error("{what} has unsupported version {version}")]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version read.
        version: i32,
    },
    /// A `__consumer_offsets` record whose body does not decode.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

/// A group-level answer other than success, named after Kafka's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupError {
    /// `NOT_COORDINATOR`: this broker does not own the group's `__consumer_offsets` partition.
    NotCoordinator,
    /// `COORDINATOR_NOT_AVAILABLE`: the group was just removed (Dead); retry.
    CoordinatorNotAvailable,
    /// `COORDINATOR_LOAD_IN_PROGRESS`: the group's partition is still being loaded.
    CoordinatorLoadInProgress,
    /// `INVALID_GROUP_ID`: empty group id.
    InvalidGroupId,
    /// `UNKNOWN_MEMBER_ID`.
    UnknownMemberId,
    /// `ILLEGAL_GENERATION`.
    IllegalGeneration,
    /// `REBALANCE_IN_PROGRESS`.
    RebalanceInProgress,
    /// `MEMBER_ID_REQUIRED`: JoinGroup v4+ first join; retry with the returned member id.
    MemberIdRequired,
    /// `INCONSISTENT_GROUP_PROTOCOL`.
    InconsistentGroupProtocol,
    /// `GROUP_MAX_SIZE_REACHED`.
    GroupMaxSizeReached,
    /// `FENCED_INSTANCE_ID`: another member took over this `group.instance.id`.
    FencedInstanceId,
    /// `INVALID_SESSION_TIMEOUT`.
    InvalidSessionTimeout,
    /// `UNKNOWN_TOPIC_OR_PARTITION` (decided by the broker, which knows the topics).
    UnknownTopicOrPartition,
    /// `OFFSET_METADATA_TOO_LARGE`.
    OffsetMetadataTooLarge,
    /// `GROUP_ID_NOT_FOUND`.
    GroupIdNotFound,
    /// `NON_EMPTY_GROUP`.
    NonEmptyGroup,
    /// `GROUP_SUBSCRIBED_TO_TOPIC`: OffsetDelete on a topic the group consumes.
    GroupSubscribedToTopic,
    /// `UNSTABLE_OFFSET_COMMIT`: a transactional commit for the partition is pending.
    UnstableOffsetCommit,
    /// `INVALID_COMMIT_OFFSET_SIZE`.
    InvalidCommitOffsetSize,
}
