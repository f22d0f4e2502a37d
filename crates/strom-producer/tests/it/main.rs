//! Integration tests of strom-producer against an in-process Strom broker (one binary; modules
//! per area). Records are read back with strom-consumer.
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod buffer_memory;
mod fixture;
mod idempotence;
mod not_leader;
mod restart;
mod round_trip;
