//! Integration tests for strom-log (one binary; modules per area), through the public API only:
//! reads and lookups, retention, the log manager, compaction and its swap protocol, crash
//! consistency at every write boundary, and a model-based test of random operation sequences.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, with the error shown"
)]

mod compaction;
mod crash;
mod fixture;
mod manager;
mod model;
mod read;
mod retention;
