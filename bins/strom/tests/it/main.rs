//! End-to-end tests of the `strom` binary: every subcommand runs as a process against an
//! in-process broker, and its output (tables and JSON) is checked.
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod elections;
mod fixture;
mod groups;
mod perf;
mod produce_consume;
mod topics;
