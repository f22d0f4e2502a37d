//! Newtypes for the identifiers and counters the metadata deals in: brokers, topics, partitions,
//! epochs, the cluster id and the position in the metadata log.
//!
//! Kafka's `-1` sentinels do not exist here: "no leader" is `None`. Translating sentinels and the
//! wire's `Uuid` type is the broker's job; these types only hold and compare values.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A broker's `node.id`. Registered brokers have non-negative ids, as in Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BrokerId(pub i32);

/// A topic's id: a 16-byte UUID chosen (randomly) by the caller when the topic is created.
///
/// The all-zero id is reserved (Kafka's `ZERO_UUID` means "no id") and never names a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicId(pub [u8; 16]);

/// A partition's number within its topic: partitions of a topic are numbered `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PartitionIndex(pub u32);

/// A partition's leader epoch: bumped every time the partition gets a new leader.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LeaderEpoch(pub u32);

/// A partition's epoch: bumped by every change to the partition (leader, ISR, replicas).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct PartitionEpoch(pub u32);

/// The cluster's id (`cluster.id`), fixed when the first node formats its data directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterId(pub String);

/// A record's place in the metadata log. The first record has offset 0; an image's
/// [`end_offset`](crate::MetadataImage::end_offset) is the offset the next record will get.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct MetadataOffset(pub u64);

impl TopicId {
    /// The reserved all-zero id, which names no topic.
    pub const ZERO: TopicId = TopicId([0; 16]);
}

impl MetadataOffset {
    /// The offset `count` records after this one.
    pub fn plus(self, count: u64) -> MetadataOffset {
        MetadataOffset(self.0 + count)
    }
}

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for TopicId {
    /// Kafka's text form of a UUID: URL-safe base64 without padding (22 characters).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bits: u32 = 0;
        let mut bit_count = 0;
        let mut text = String::with_capacity(22);
        for byte in self.0 {
            bits = (bits << 8) | u32::from(byte);
            bit_count += 8;
            while bit_count >= 6 {
                bit_count -= 6;
                text.push(char::from(ALPHABET[((bits >> bit_count) & 63) as usize]));
            }
        }
        if bit_count > 0 {
            text.push(char::from(
                ALPHABET[((bits << (6 - bit_count)) & 63) as usize],
            ));
        }
        f.write_str(&text)
    }
}

impl fmt::Display for PartitionIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for PartitionEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MetadataOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(id: [u8; 16], expect: &str) {
        assert_eq!(TopicId(id).to_string(), expect);
    }

    #[test]
    fn topic_id_displays_as_kafka_base64() {
        check([0; 16], "AAAAAAAAAAAAAAAAAAAAAA");
        check([0xff; 16], "_____________________w");
        // Kafka's METADATA_TOPIC_ID is UUID(0, 1), printed as "AAAAAAAAAAAAAAAAAAAAAQ".
        let mut one = [0; 16];
        one[15] = 1;
        check(one, "AAAAAAAAAAAAAAAAAAAAAQ");
    }
}
