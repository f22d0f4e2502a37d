//! Integration tests of strom-admin against an in-process broker: every admin operation,
//! including group lag and offset resets.
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod elections;
mod fixture;
mod groups;
mod offsets;
mod reassignments;
mod topics;
