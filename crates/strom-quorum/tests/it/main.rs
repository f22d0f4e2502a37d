//! Integration tests of the controller quorum: real nodes on 127.0.0.1 with ephemeral ports,
//! their directories in temporary directories, short Raft timeouts.

// Test drivers outside `#[test]` functions unwrap too: a panic is a failed test.
#![expect(
    clippy::unwrap_used,
    reason = "a panic in a test helper fails the test"
)]

mod cluster;
mod elections;
mod failover;
mod forward;
mod large;
mod learner;
mod liveness;
mod malformed;
mod reassign;
mod replicate;
mod restart;
