//! Integration tests for the broker (one binary; modules per area).
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod admin;
mod admin_configs;
mod api_versions;
mod bad_input;
mod elections;
mod fixture;
mod follower;
mod group_replication;
mod groups;
mod idempotence;
mod produce_fetch;
mod rdkafka_client;
mod reassign;
mod replication;
mod roles;
mod server;
