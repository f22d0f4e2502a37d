//! Integration tests for strom-group (one binary; modules per area). The coordinator is driven
//! through `harness::Harness`, which injects time and renders effects as text.

// Test drivers outside `#[test]` functions unwrap too: a panic is a failed test.
#![expect(
    clippy::unwrap_used,
    reason = "a panic in a test helper fails the test"
)]

mod assignors;
mod harness;
mod membership;
mod offsets;
mod replay;
