//! The crate's one error type. Openraft's own errors are turned into these variants at the seam
//! (see `quorum`), so no openraft type appears in a public signature.

use std::io;
use std::path::PathBuf;

use crate::ids::NodeId;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The controller rules refused the intent (the broker maps the inner error to a wire code,
    /// e.g. `TOPIC_ALREADY_EXISTS`).
    #[error("refused by the controller: {0}")]
    Metadata(#[from] strom_metadata::Error),
    /// This node is not the active controller; `leader` is the one it knows of, if any
    /// (`NOT_CONTROLLER`).
    #[error("not the leader; the leader is {leader:?}")]
    NotLeader {
        /// The current leader as far as this node knows.
        leader: Option<NodeId>,
    },
    /// The batch was committed but the image refused it when applying (it contradicts the image,
    /// e.g. it was planned against an older image). Nothing changed; every node refused it alike.
    #[error("committed batch was refused by the image: {reason}")]
    Refused {
        /// Why the image refused it.
        reason: String,
    },
    /// The planned batch is larger than a proposal may be (half of
    /// [`QuorumConfig::max_frame_bytes`](crate::QuorumConfig::max_frame_bytes), so that it always
    /// fits in one RPC frame), or an intent to forward does not fit in one frame; nothing was
    /// written (`POLICY_VIOLATION`).
    #[error("{bytes} bytes exceed the limit of {max} bytes")]
    TooLarge {
        /// The encoded batch's size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The quorum could not be reached or the node is shutting down; the change may or may not
    /// have been committed.
    #[error("quorum unavailable: {reason}")]
    Unavailable {
        /// What openraft reported.
        reason: String,
    },
    /// A file under the node's directory is damaged beyond the torn tail that recovery cuts.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration that cannot work (e.g. a voter that is not in `voters`).
    #[error("invalid quorum config: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error on the node's directory or its listening socket.
    #[error("io error")]
    Io(#[from] io::Error),
}
