//! Integration tests of strom-consumer against an in-process Strom broker and against kcat
//! (librdkafka), one binary with modules per area. Records are produced with strom-producer.
#![expect(
    clippy::unwrap_used,
    reason = "test set-up fails loudly; library code keeps the lint"
)]

mod fixture;
mod groups;
mod kcat;
mod positions;
