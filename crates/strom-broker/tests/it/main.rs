//! Integration tests for the broker (one binary; modules per area).
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod server;
