//! The records the coordinator persists to the compacted `__consumer_offsets` topic, their byte
//! encodings, and which partition of that topic owns a group.
//!
//! A key is a 2-byte big-endian key type (0 = committed offset, 1 = group metadata) followed by
//! the postcard encoding of the key body. A value is a 2-byte big-endian schema version (0)
//! followed by the postcard encoding of the value; a tombstone (no value) deletes the key.
//! docs/groups.md describes the layout. These are Strom's own formats: Kafka's
//! `__consumer_offsets` records are not readable here and Strom's are not readable by Kafka.
//! This module does not write anything: the broker appends the records.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{
    GenerationId, GroupId, GroupInstanceId, LeaderEpoch, MemberId, Offset, OffsetsPartition,
    ProducerId, TimeMs, TopicPartition,
};

/// Key type of a committed offset record.
const KEY_OFFSET: u16 = 0;
/// Key type of a group metadata record.
const KEY_GROUP: u16 = 1;
/// The only value schema version so far.
const VALUE_VERSION: u16 = 0;

/// A record for `__consumer_offsets`: key and value bytes; `None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetsRecord {
    /// The encoded `RecordKey`.
    pub key: Vec<u8>,
    /// The encoded `RecordValue`, or `None` to delete the key.
    pub value: Option<Vec<u8>>,
}

/// What a record is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordKey {
    /// A group's committed offset for one partition.
    Offset {
        /// The group.
        group_id: GroupId,
        /// The partition.
        topic_partition: TopicPartition,
    },
    /// A group's membership and assignment.
    Group {
        /// The group.
        group_id: GroupId,
    },
}

/// A decoded record value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordValue {
    /// For `RecordKey::Offset`.
    Offset(OffsetCommitValue),
    /// For `RecordKey::Group`.
    Group(GroupMetadataValue),
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitValue {
    /// The offset.
    pub offset: Offset,
    /// Its leader epoch.
    pub leader_epoch: Option<LeaderEpoch>,
    /// The client's metadata string.
    pub metadata: String,
    /// When it was committed.
    pub commit_timestamp: TimeMs,
    /// An explicit expiry (OffsetCommit v2-4 retention time); `None` uses the group rules.
    pub expire_timestamp: Option<TimeMs>,
}

/// A group's metadata as stored: written when a generation's assignment is complete, when the
/// group becomes empty, and when a static member is replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMetadataValue {
    /// The protocol type, `None` for offsets-only groups.
    pub protocol_type: Option<String>,
    /// The generation.
    pub generation_id: GenerationId,
    /// The selected assignor.
    pub protocol_name: Option<String>,
    /// The leader.
    pub leader: Option<MemberId>,
    /// When the group entered its current state (drives offset expiry of empty groups).
    pub current_state_timestamp: Option<TimeMs>,
    /// The members.
    pub members: Vec<MemberMetadataValue>,
}

/// A member as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberMetadataValue {
    /// The member.
    pub member_id: MemberId,
    /// Its instance id, if static.
    pub group_instance_id: Option<GroupInstanceId>,
    /// Its client id.
    pub client_id: String,
    /// Its client address.
    pub client_host: String,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// Its session timeout.
    pub session_timeout_ms: u64,
    /// Its metadata for the selected protocol.
    pub subscription: Vec<u8>,
    /// Its assignment.
    pub assignment: Vec<u8>,
}

/// A record replayed from `__consumer_offsets` into `Coordinator::load`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadRecord {
    /// A data record; `producer_id` is set when it came in a transactional batch.
    Data {
        /// The producer of a transactional batch.
        producer_id: Option<ProducerId>,
        /// The record.
        record: OffsetsRecord,
    },
    /// A transaction marker (control batch) for `producer_id`.
    Marker {
        /// The producer.
        producer_id: ProducerId,
        /// Commit (`true`) or abort.
        commit: bool,
    },
}

/// The `__consumer_offsets` partition that owns `group_id`: Kafka's
/// `abs(groupId.hashCode) % offsets.topic.num.partitions`, with Java's `String.hashCode` and
/// Kafka's `Utils.abs` (which maps `i32::MIN` to 0), so clients and tools agree with Kafka.
pub fn offsets_partition_for(group_id: &GroupId, partition_count: u32) -> OffsetsPartition {
    assert!(
        partition_count > 0,
        "offsets.topic.num.partitions must be positive"
    );
    let mut hash: i32 = 0;
    for unit in group_id.0.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    let abs = if hash == i32::MIN {
        0
    } else {
        hash.unsigned_abs()
    };
    OffsetsPartition(abs % partition_count)
}

impl RecordKey {
    /// Encodes the key.
    pub fn encode(&self) -> Vec<u8> {
        let key_type = match self {
            RecordKey::Offset { .. } => KEY_OFFSET,
            RecordKey::Group { .. } => KEY_GROUP,
        };
        let mut res = key_type.to_be_bytes().to_vec();
        let body = match self {
            RecordKey::Offset {
                group_id,
                topic_partition,
            } => postcard::to_stdvec(&(group_id, topic_partition)),
            RecordKey::Group { group_id } => postcard::to_stdvec(group_id),
        };
        res.extend(body.expect("encoding into a Vec cannot fail"));
        res
    }

    /// Decodes a key.
    pub fn decode(bytes: &[u8]) -> Result<RecordKey, Error> {
        let Some((key_type, body)) = bytes.split_first_chunk::<2>() else {
            return Err(Error::Truncated {
                what: "offsets record key",
            });
        };
        match u16::from_be_bytes(*key_type) {
            KEY_OFFSET => {
                let (group_id, topic_partition) = decode_body(body, "offset key")?;
                Ok(RecordKey::Offset {
                    group_id,
                    topic_partition,
                })
            }
            KEY_GROUP => Ok(RecordKey::Group {
                group_id: decode_body(body, "group key")?,
            }),
            version => Err(Error::UnsupportedVersion {
                what: "offsets record key",
                version: version.into(),
            }),
        }
    }

    /// The group the record belongs to.
    pub fn group_id(&self) -> &GroupId {
        match self {
            RecordKey::Offset { group_id, .. } | RecordKey::Group { group_id } => group_id,
        }
    }
}

impl RecordValue {
    /// Encodes the value.
    pub fn encode(&self) -> Vec<u8> {
        let mut res = VALUE_VERSION.to_be_bytes().to_vec();
        let body = match self {
            RecordValue::Offset(value) => postcard::to_stdvec(value),
            RecordValue::Group(value) => postcard::to_stdvec(value),
        };
        res.extend(body.expect("encoding into a Vec cannot fail"));
        res
    }

    /// Decodes the value of a record with this key.
    pub fn decode(key: &RecordKey, bytes: &[u8]) -> Result<RecordValue, Error> {
        let Some((version, body)) = bytes.split_first_chunk::<2>() else {
            return Err(Error::Truncated {
                what: "offsets record value",
            });
        };
        let version = u16::from_be_bytes(*version);
        if version != VALUE_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "offsets record value",
                version: version.into(),
            });
        }
        match key {
            RecordKey::Offset { .. } => Ok(RecordValue::Offset(decode_body(body, "offset value")?)),
            RecordKey::Group { .. } => Ok(RecordValue::Group(decode_body(body, "group value")?)),
        }
    }
}

impl OffsetsRecord {
    /// A record with this key and value.
    pub fn new(key: &RecordKey, value: Option<&RecordValue>) -> OffsetsRecord {
        OffsetsRecord {
            key: key.encode(),
            value: value.map(RecordValue::encode),
        }
    }
}

/// Decodes a postcard body that must use all of `bytes`. Postcard checks every length against
/// the remaining input, so untrusted bytes cannot make it allocate more than they hold.
fn decode_body<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &'static str) -> Result<T, Error> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(Error::Malformed {
            what,
            reason: format!("{} trailing bytes", rest.len()),
        }),
        Err(error) => Err(Error::Malformed {
            what,
            reason: error.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn partition_matches_kafka() {
        // Java's String.hashCode computed by hand, then abs(hashCode) % count as Kafka's
        // GroupMetadataManager.partitionFor does.
        let check = |group: &str, count: u32, expected: u32| {
            assert_eq!(
                offsets_partition_for(&GroupId(group.into()), count),
                OffsetsPartition(expected)
            );
        };
        // "" hashes to 0.
        check("", 50, 0);
        // "a" hashes to 97.
        check("a", 50, 47);
        // "ab" = 97 * 31 + 98 = 3105.
        check("ab", 50, 5);
        // "polygenelubricants" is a well-known string whose hashCode is i32::MIN.
        check("polygenelubricants", 50, 0);
    }

    fn member() -> impl Strategy<Value = MemberMetadataValue> {
        (
            "[a-z0-9-]{1,12}",
            proptest::option::of("[a-z]{1,5}"),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..16),
        )
            .prop_map(
                |(member_id, instance, timeout, bytes)| MemberMetadataValue {
                    member_id: MemberId(member_id),
                    group_instance_id: instance.map(GroupInstanceId),
                    client_id: "client".into(),
                    client_host: "/127.0.0.1".into(),
                    rebalance_timeout_ms: timeout,
                    session_timeout_ms: timeout / 2,
                    subscription: bytes.clone(),
                    assignment: bytes,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn offset_record_round_trip(
            group in ".{0,10}",
            topic in "[a-z]{1,8}",
            partition in any::<i32>(),
            offset in any::<i64>(),
            epoch in proptest::option::of(any::<i32>()),
            metadata in ".{0,10}",
            commit in any::<u64>(),
            expire in proptest::option::of(any::<u64>()),
        ) {
            let key = RecordKey::Offset {
                group_id: GroupId(group),
                topic_partition: TopicPartition::new(topic, partition),
            };
            let value = RecordValue::Offset(OffsetCommitValue {
                offset: Offset(offset),
                leader_epoch: epoch.map(LeaderEpoch),
                metadata,
                commit_timestamp: TimeMs(commit),
                expire_timestamp: expire.map(TimeMs),
            });
            let decoded_key = RecordKey::decode(&key.encode()).unwrap();
            prop_assert_eq!(&decoded_key, &key);
            prop_assert_eq!(RecordValue::decode(&key, &value.encode()), Ok(value));
        }

        #[test]
        fn group_record_round_trip(
            group in ".{0,10}",
            generation in any::<i32>(),
            members in proptest::collection::vec(member(), 0..4),
            state_time in proptest::option::of(any::<u64>()),
        ) {
            let key = RecordKey::Group { group_id: GroupId(group) };
            let value = RecordValue::Group(GroupMetadataValue {
                protocol_type: Some("consumer".into()),
                generation_id: GenerationId(generation),
                protocol_name: Some("range".into()),
                leader: members.first().map(|member| member.member_id.clone()),
                current_state_timestamp: state_time.map(TimeMs),
                members,
            });
            prop_assert_eq!(RecordKey::decode(&key.encode()), Ok(key.clone()));
            prop_assert_eq!(RecordValue::decode(&key, &value.encode()), Ok(value));
        }

        #[test]
        fn random_bytes_are_rejected_or_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(key) = RecordKey::decode(&bytes) {
                prop_assert_eq!(RecordKey::decode(&key.encode()), Ok(key.clone()));
                if let Ok(value) = RecordValue::decode(&key, &bytes) {
                    prop_assert_eq!(RecordValue::decode(&key, &value.encode()), Ok(value));
                }
            }
        }
    }
}
