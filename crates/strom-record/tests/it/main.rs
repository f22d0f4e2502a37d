//! Integration tests for this crate (one binary; modules per area). Tests go through the public
//! API only: build -> parse round trips, a cross-check against the independent `kafka-protocol`
//! codec, corrupt and hostile input, and the in-place rewrites a leader does.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails by panicking, with the error shown"
)]

mod append_check;
mod corrupt;
mod cross_check;
mod peak_memory;
mod rewrite;
mod round_trip;
mod strategy;

#[global_allocator]
static ALLOCATOR: peak_memory::PeakTracking = peak_memory::PeakTracking;
