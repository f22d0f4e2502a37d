//! The quorum's identifiers. A node id is KRaft's `node.id` of a controller or a broker that
//! follows the log; it is the Raft node id openraft uses underneath.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node of the quorum (a voter or a learner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
