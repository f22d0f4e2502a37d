//! Message bodies, one module per API. Each module only declares structs with `wire_struct!`;
//! `api.rs` ties them to API keys and version ranges. Nothing here is written by hand per
//! version.

pub mod api_versions;
pub mod create_topics;
pub mod delete_topics;
pub mod fetch;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
