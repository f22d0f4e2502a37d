//! The ConsumerProtocol byte formats: the subscription a consumer puts in JoinGroup metadata and
//! the assignment a leader puts in SyncGroup, versions 0 to 3, as Java and librdkafka write them.
//!
//! Decoding is bounded: every length and count is checked against the bytes that remain before
//! anything is allocated. A version newer than 3 is read as version 3 and trailing bytes are
//! ignored, as Kafka does, so newer clients still show up in DescribeGroups. This module does not
//! choose assignments (see `assignor`).

use crate::error::Error;
use crate::ids::{GenerationId, PartitionIndex, TopicPartition};

/// The protocol type consumers use in JoinGroup.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// The newest ConsumerProtocol version this module writes.
pub const LATEST_VERSION: i16 = 3;

/// A consumer's JoinGroup metadata for one assignor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// The version to encode with (and the version read).
    pub version: i16,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Assignor-specific bytes; `None` is encoded as a null byte array.
    pub user_data: Option<Vec<u8>>,
    /// Partitions the member owns now (v1+; cooperative rebalancing).
    pub owned_partitions: Vec<TopicPartition>,
    /// The generation the owned partitions belong to (v2+).
    pub generation_id: Option<GenerationId>,
    /// The consumer's `client.rack` (v3+).
    pub rack_id: Option<String>,
}

/// A member's SyncGroup assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The version to encode with (and the version read).
    pub version: i16,
    /// Assigned partitions.
    pub partitions: Vec<TopicPartition>,
    /// Assignor-specific bytes; `None` is encoded as a null byte array.
    pub user_data: Option<Vec<u8>>,
}

impl Subscription {
    /// Encodes the subscription; fields newer than `self.version` are left out. Fails when a
    /// string is longer than the format's 16-bit length allows (or a collection has 2^31 items).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        let version = self.version.max(0);
        out.extend_from_slice(&version.to_be_bytes());
        put_count(&mut out, self.topics.len())?;
        for topic in &self.topics {
            put_string(&mut out, topic)?;
        }
        put_bytes(&mut out, self.user_data.as_deref())?;
        if version >= 1 {
            put_topic_partitions(&mut out, &self.owned_partitions)?;
        }
        if version >= 2 {
            let generation = self.generation_id.map_or(-1, |generation| generation.0);
            out.extend_from_slice(&generation.to_be_bytes());
        }
        if version >= 3 {
            put_nullable_string(&mut out, self.rack_id.as_deref())?;
        }
        Ok(out)
    }

    /// Decodes a subscription of any version (newer than 3 is read as 3).
    pub fn decode(bytes: &[u8]) -> Result<Subscription, Error> {
        let mut reader = Reader { bytes };
        let version = reader.i16("subscription version")?;
        if version < 0 {
            return Err(Error::UnsupportedVersion {
                what: "subscription",
                version: version.into(),
            });
        }
        let count = reader.count("subscription topics", 2)?;
        let mut topics = Vec::with_capacity(count);
        for _ in 0..count {
            topics.push(reader.string("subscription topic")?);
        }
        let user_data = reader.nullable_bytes("subscription user data")?;
        let owned_partitions = if version >= 1 {
            reader.topic_partitions("owned partitions")?
        } else {
            Vec::new()
        };
        let mut generation_id = None;
        if version >= 2 {
            let generation = reader.i32("subscription generation")?;
            if generation >= 0 {
                generation_id = Some(GenerationId(generation));
            }
        }
        let rack_id = if version >= 3 {
            reader.nullable_string("rack id")?
        } else {
            None
        };
        Ok(Subscription {
            version,
            topics,
            user_data,
            owned_partitions,
            generation_id,
            rack_id,
        })
    }
}

impl Assignment {
    /// Encodes the assignment (versions 0 to 3 share one layout). Fails when a topic name is
    /// longer than the format's 16-bit length allows (or a collection has 2^31 items).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.version.max(0).to_be_bytes());
        put_topic_partitions(&mut out, &self.partitions)?;
        put_bytes(&mut out, self.user_data.as_deref())?;
        Ok(out)
    }

    /// Decodes an assignment of any version. Empty input is an empty assignment, which is what
    /// the coordinator hands members the leader left out.
    pub fn decode(bytes: &[u8]) -> Result<Assignment, Error> {
        if bytes.is_empty() {
            return Ok(Assignment::default());
        }
        let mut reader = Reader { bytes };
        let version = reader.i16("assignment version")?;
        if version < 0 {
            return Err(Error::UnsupportedVersion {
                what: "assignment",
                version: version.into(),
            });
        }
        let partitions = reader.topic_partitions("assigned partitions")?;
        // Some old clients leave the user data out altogether.
        let user_data = if reader.bytes.is_empty() {
            None
        } else {
            reader.nullable_bytes("assignment user data")?
        };
        Ok(Assignment {
            version,
            partitions,
            user_data,
        })
    }
}

fn put_count(out: &mut Vec<u8>, count: usize) -> Result<(), Error> {
    let Ok(count) = i32::try_from(count) else {
        return Err(Error::InvalidLength {
            what: "collection",
            length: i64::try_from(count).unwrap_or(i64::MAX),
        });
    };
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}

fn put_string(out: &mut Vec<u8>, value: &str) -> Result<(), Error> {
    let Ok(length) = i16::try_from(value.len()) else {
        return Err(Error::InvalidLength {
            what: "string",
            length: i64::try_from(value.len()).unwrap_or(i64::MAX),
        });
    };
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
    Ok(())
}

fn put_nullable_string(out: &mut Vec<u8>, value: Option<&str>) -> Result<(), Error> {
    match value {
        Some(value) => put_string(out, value),
        None => {
            out.extend_from_slice(&(-1i16).to_be_bytes());
            Ok(())
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, value: Option<&[u8]>) -> Result<(), Error> {
    match value {
        Some(value) => {
            put_count(out, value.len())?;
            out.extend_from_slice(value);
            Ok(())
        }
        None => {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            Ok(())
        }
    }
}

/// Writes partitions grouped by topic, in order of first appearance of each topic.
fn put_topic_partitions(out: &mut Vec<u8>, partitions: &[TopicPartition]) -> Result<(), Error> {
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for partition in partitions {
        match topics
            .iter_mut()
            .find(|(topic, _)| *topic == partition.topic)
        {
            Some((_, list)) => list.push(partition.partition.0),
            None => topics.push((&partition.topic, vec![partition.partition.0])),
        }
    }
    put_count(out, topics.len())?;
    for (topic, list) in topics {
        put_string(out, topic)?;
        put_count(out, list.len())?;
        for partition in list {
            out.extend_from_slice(&partition.to_be_bytes());
        }
    }
    Ok(())
}

/// A cursor over untrusted bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize, what: &'static str) -> Result<&'a [u8], Error> {
        if self.bytes.len() < length {
            return Err(Error::Truncated { what });
        }
        let (head, tail) = self.bytes.split_at(length);
        self.bytes = tail;
        Ok(head)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, Error> {
        let head = self.take(2, what)?;
        Ok(i16::from_be_bytes([head[0], head[1]]))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, Error> {
        let head = self.take(4, what)?;
        Ok(i32::from_be_bytes([head[0], head[1], head[2], head[3]]))
    }

    /// An array count; null (-1) is an empty array. Each item takes at least `min_item_bytes`,
    /// so a count larger than the remaining bytes allow is rejected before allocating.
    fn count(&mut self, what: &'static str, min_item_bytes: usize) -> Result<usize, Error> {
        let count = self.i32(what)?;
        if count == -1 {
            return Ok(0);
        }
        let Ok(count) = usize::try_from(count) else {
            return Err(Error::InvalidLength {
                what,
                length: count.into(),
            });
        };
        if count.saturating_mul(min_item_bytes) > self.bytes.len() {
            return Err(Error::InvalidLength {
                what,
                length: count as i64,
            });
        }
        Ok(count)
    }

    fn string(&mut self, what: &'static str) -> Result<String, Error> {
        match self.nullable_string(what)? {
            Some(value) => Ok(value),
            None => Err(Error::InvalidLength { what, length: -1 }),
        }
    }

    fn nullable_string(&mut self, what: &'static str) -> Result<Option<String>, Error> {
        let length = self.i16(what)?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(length) = usize::try_from(length) else {
            return Err(Error::InvalidLength {
                what,
                length: length.into(),
            });
        };
        let raw = self.take(length, what)?;
        match std::str::from_utf8(raw) {
            Ok(value) => Ok(Some(value.to_owned())),
            Err(_) => Err(Error::InvalidUtf8 { what }),
        }
    }

    fn nullable_bytes(&mut self, what: &'static str) -> Result<Option<Vec<u8>>, Error> {
        let length = self.i32(what)?;
        if length == -1 {
            return Ok(None);
        }
        let Ok(length) = usize::try_from(length) else {
            return Err(Error::InvalidLength {
                what,
                length: length.into(),
            });
        };
        Ok(Some(self.take(length, what)?.to_vec()))
    }

    fn topic_partitions(&mut self, what: &'static str) -> Result<Vec<TopicPartition>, Error> {
        let topic_count = self.count(what, 6)?;
        let mut res = Vec::new();
        for _ in 0..topic_count {
            let topic = self.string(what)?;
            let partition_count = self.count(what, 4)?;
            res.reserve(partition_count);
            for _ in 0..partition_count {
                let partition = PartitionIndex(self.i32(what)?);
                res.push(TopicPartition {
                    topic: topic.clone(),
                    partition,
                });
            }
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check_subscription(bytes: &[u8], expect: Expect) {
        expect.assert_debug_eq(&Subscription::decode(bytes));
    }

    #[test]
    fn decodes_java_v0_subscription() {
        // version 0, topics ["t"], user data null.
        check_subscription(
            &[0, 0, 0, 0, 0, 1, 0, 1, b't', 0xff, 0xff, 0xff, 0xff],
            expect![[r#"
                Ok(
                    Subscription {
                        version: 0,
                        topics: [
                            "t",
                        ],
                        user_data: None,
                        owned_partitions: [],
                        generation_id: None,
                        rack_id: None,
                    },
                )
            "#]],
        );
    }

    #[test]
    fn huge_count_is_rejected_before_allocating() {
        check_subscription(
            &[0, 0, 0x7f, 0xff, 0xff, 0xff],
            expect![[r#"
                Err(
                    InvalidLength {
                        what: "subscription topics",
                        length: 2147483647,
                    },
                )
            "#]],
        );
    }

    #[test]
    fn too_long_topic_name_is_an_error() {
        let name = "t".repeat(40_000);
        let subscription = Subscription {
            topics: vec![name.clone()],
            ..Subscription::default()
        };
        assert_eq!(
            subscription.encode(),
            Err(Error::InvalidLength {
                what: "string",
                length: 40_000
            })
        );
        let assignment = Assignment {
            partitions: vec![TopicPartition::new(name, 0)],
            ..Assignment::default()
        };
        assert!(assignment.encode().is_err());
    }

    #[test]
    fn newer_version_reads_as_latest_and_ignores_trailing_bytes() {
        let subscription = Subscription {
            version: 3,
            topics: vec!["a".into()],
            user_data: Some(vec![1]),
            owned_partitions: vec![TopicPartition::new("a", 0)],
            generation_id: Some(GenerationId(4)),
            rack_id: Some("r1".into()),
        };
        let mut bytes = subscription.encode().unwrap();
        bytes[1] = 9;
        bytes.extend_from_slice(&[1, 2, 3]);
        let res = Subscription::decode(&bytes).unwrap();
        assert_eq!(
            res,
            Subscription {
                version: 9,
                ..subscription
            }
        );
    }

    fn topic_partitions() -> impl Strategy<Value = Vec<TopicPartition>> {
        // Grouped by topic, as the wire format forces.
        proptest::collection::btree_map(
            "[a-c]{1,3}",
            proptest::collection::vec(any::<i32>(), 0..4),
            0..3,
        )
        .prop_map(|topics| {
            topics
                .into_iter()
                .flat_map(|(topic, partitions)| {
                    partitions
                        .into_iter()
                        .map(move |p| TopicPartition::new(topic.clone(), p))
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn subscription_round_trip(
            version in 0i16..=3,
            topics in proptest::collection::vec("[a-z.]{0,8}", 0..4),
            user_data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            owned in topic_partitions(),
            generation in proptest::option::of(0i32..1000),
            rack in proptest::option::of("[a-z]{0,4}"),
        ) {
            let subscription = Subscription {
                version,
                topics,
                user_data,
                owned_partitions: if version >= 1 { owned } else { Vec::new() },
                generation_id: if version >= 2 { generation.map(GenerationId) } else { None },
                rack_id: if version >= 3 { rack } else { None },
            };
            prop_assert_eq!(Subscription::decode(&subscription.encode().unwrap()), Ok(subscription));
        }

        #[test]
        fn assignment_round_trip(
            version in 0i16..=3,
            partitions in topic_partitions(),
            user_data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        ) {
            let assignment = Assignment { version, partitions, user_data };
            prop_assert_eq!(Assignment::decode(&assignment.encode().unwrap()), Ok(assignment));
        }

        #[test]
        fn random_bytes_decode_to_stable_values(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            // Whatever decodes must survive a further round trip unchanged.
            if let Ok(subscription) = Subscription::decode(&bytes) {
                let again = Subscription::decode(&subscription.encode().unwrap()).unwrap();
                prop_assert_eq!(Subscription::decode(&again.encode().unwrap()), Ok(again));
            }
            if let Ok(assignment) = Assignment::decode(&bytes) {
                let again = Assignment::decode(&assignment.encode().unwrap()).unwrap();
                prop_assert_eq!(Assignment::decode(&again.encode().unwrap()), Ok(again));
            }
        }
    }
}
