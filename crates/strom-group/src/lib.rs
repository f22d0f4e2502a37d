//! strom-group: see docs/ARCHITECTURE.md for what this crate owns and what it must not do.

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {}
