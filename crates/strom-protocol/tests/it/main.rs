//! Integration tests for strom-protocol (one binary; modules per area). The binary installs a
//! counting global allocator so tests can assert how much a decode allocated on their thread.

#![expect(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure there is a test failure"
)]

mod alloc_counter;
mod differential;
mod fuzz_corpus;
mod golden;
mod robustness;
mod round_trip;
mod zero_copy;

#[global_allocator]
static ALLOCATOR: alloc_counter::CountingAllocator = alloc_counter::CountingAllocator;
