//! The Strom broker: configuration, and (as the broker work lands) the network server, the
//! per-API request handlers and the wiring of the log, group and metadata crates.
//!
//! It holds no record-format or state-machine logic of its own: those live in the crates below.

pub mod config;
pub mod server;
