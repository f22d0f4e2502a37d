//! Integration tests for strom-replication (one binary; modules per area): scenario tests of
//! the leader, follower and election rules through `check`-style harnesses, and a seeded
//! simulation of three replicas with crashes and a lossy network.

#![expect(
    clippy::unwrap_used,
    reason = "a panic in a test helper fails the test"
)]

mod election;
mod leader;
mod simulation;
mod truncation;
