//! The small numbers replication talks about: brokers, offsets, epochs, time and request ids.
//! They are plain newtypes with no knowledge of Kafka's `-1` sentinels (those live in
//! `strom-protocol`; an absent value is an `Option` here).

use std::fmt;

/// The id of a broker (a replica of a partition is named by the broker that hosts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BrokerId(pub u32);

/// A record's place in a partition log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub u64);

/// The epoch of a partition's leadership; bumped by the controller on every leader change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeaderEpoch(pub u32);

/// The version of a partition's registration (leader, ISR); bumped on every change of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PartitionEpoch(pub u32);

/// A point in time in milliseconds, as given by the caller (the crate never reads a clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimeMs(pub u64);

/// The broker's handle for one waiting `acks=all` produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RequestId(pub u64);

impl LeaderEpoch {
    /// The epoch that follows this one.
    #[must_use]
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(
            self.0
                .checked_add(1)
                .expect("a leader epoch never reaches u32::MAX"),
        )
    }
}

impl PartitionEpoch {
    /// The epoch that follows this one.
    #[must_use]
    pub fn next(self) -> PartitionEpoch {
        PartitionEpoch(
            self.0
                .checked_add(1)
                .expect("a partition epoch never reaches u32::MAX"),
        )
    }
}

impl TimeMs {
    /// Milliseconds from `earlier` to `self`, zero if `earlier` is later.
    #[must_use]
    pub fn since(self, earlier: TimeMs) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for PartitionEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
