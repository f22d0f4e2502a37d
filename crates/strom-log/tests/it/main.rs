//! Integration tests for this crate (one binary; modules per area).
