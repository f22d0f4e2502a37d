//! Integration tests of strom-client against fake brokers on loopback (one binary; modules per
//! area).
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod fake_broker;
mod metadata_refresh;
mod negotiation;
mod pipelining;
