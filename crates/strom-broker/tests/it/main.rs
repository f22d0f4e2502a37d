//! Integration tests for the broker (one binary; modules per area).
