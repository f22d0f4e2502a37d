//! Metadata records: the changes a controller decides and every node applies, in log order, to
//! build the same [`MetadataImage`](crate::MetadataImage). Records are serialized with `postcard`
//! behind a format version byte, and grouped into [`RecordBatch`]es that are applied atomically
//! (a topic and its partitions appear together or not at all).
//!
//! How the format evolves: the version byte covers the framing of a batch; a record whose shape
//! must change gets a new enum variant appended at the end (postcard encodes the variant index,
//! so old variants keep decoding). Never reorder or remove variants or fields.
//!
//! This module does not validate records against an image (see `image`) or frame them on disk
//! (see `storage`).

use serde::{Deserialize, Serialize};

use crate::ids::{
    BrokerId, ClusterId, LeaderEpoch, MetadataOffset, PartitionEpoch, PartitionIndex, TopicId,
};
use crate::{Error, Result};

/// The version byte that starts every encoded record and batch.
pub const FORMAT_VERSION: u8 = 0;

/// One change to the cluster metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// Names the cluster. Appears once, first, in every metadata log.
    ClusterId {
        /// The cluster's id.
        cluster_id: ClusterId,
    },
    /// A broker joined, or re-registered with new endpoints or rack.
    RegisterBroker(BrokerRegistration),
    /// A broker may no longer lead or be in an ISR (it stopped heartbeating or shut down).
    FenceBroker {
        /// The broker.
        broker_id: BrokerId,
    },
    /// A fenced broker is back and may be chosen as a replica or leader again.
    UnfenceBroker {
        /// The broker.
        broker_id: BrokerId,
    },
    /// A topic was created. Its partitions follow as [`MetadataRecord::Partition`] records.
    Topic {
        /// The topic's name.
        name: String,
        /// The topic's id.
        topic_id: TopicId,
    },
    /// A partition was created (with a new topic, or by CreatePartitions).
    Partition(PartitionRecord),
    /// A partition's leader, ISR or epochs changed.
    PartitionChange(PartitionChangeRecord),
    /// A topic was deleted, with its partitions and config overrides.
    RemoveTopic {
        /// The topic's id.
        topic_id: TopicId,
    },
    /// A config override was set (`Some`) or deleted (`None`).
    Config {
        /// What the config belongs to.
        resource: ConfigResource,
        /// The config key, e.g. `retention.ms`.
        key: String,
        /// The new value, or `None` to delete the override.
        value: Option<String>,
    },
    /// A partition's replica set changed: a reassignment started, was replaced, was cancelled
    /// or completed (KIP-455). Carries the partition's new state in full; the partition epoch
    /// is the old one plus one, the leader epoch is bumped when the leader changes.
    PartitionReassignment(PartitionReassignmentRecord),
}

/// A broker's registration: who it is and where clients reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// The broker's `node.id`.
    pub broker_id: BrokerId,
    /// Its advertised listeners.
    pub endpoints: Vec<Endpoint>,
    /// Its `broker.rack`, if set.
    pub rack: Option<String>,
    /// Whether it starts fenced (not eligible as replica or leader until unfenced).
    pub fenced: bool,
}

/// One advertised listener of a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The listener's name, e.g. `PLAINTEXT`.
    pub listener: String,
    /// The host clients connect to.
    pub host: String,
    /// The port clients connect to.
    pub port: u16,
    /// The listener's security protocol, e.g. `PLAINTEXT` or `SSL`.
    pub security_protocol: String,
}

/// A new partition with its full initial state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionRecord {
    /// The topic the partition belongs to.
    pub topic_id: TopicId,
    /// The partition's number: always the topic's current partition count.
    pub partition: PartitionIndex,
    /// The brokers holding a replica, preferred leader first.
    pub replicas: Vec<BrokerId>,
    /// The in-sync replicas: a subset of `replicas`.
    pub isr: Vec<BrokerId>,
    /// The leader (a member of `isr`), or `None` when no replica can lead.
    pub leader: Option<BrokerId>,
    /// The leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch.
    pub partition_epoch: PartitionEpoch,
}

/// A change of a partition's leader or ISR. It carries the partition's new state in full; the
/// partition epoch is always the old one plus one, the leader epoch is bumped when the leader
/// changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionChangeRecord {
    /// The topic the partition belongs to.
    pub topic_id: TopicId,
    /// The partition's number.
    pub partition: PartitionIndex,
    /// The new ISR: a subset of the partition's replicas.
    pub isr: Vec<BrokerId>,
    /// The new leader (a member of `isr`), or `None`.
    pub leader: Option<BrokerId>,
    /// The new leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The new partition epoch.
    pub partition_epoch: PartitionEpoch,
}

/// A partition's new replica set, with the reassignment in progress (if any) and the ISR,
/// leader and epochs that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionReassignmentRecord {
    /// The topic the partition belongs to.
    pub topic_id: TopicId,
    /// The partition's number.
    pub partition: PartitionIndex,
    /// The new replicas: the target replicas first, then those being removed.
    pub replicas: Vec<BrokerId>,
    /// Replicas being added by a reassignment in progress (empty when nothing moves).
    pub adding_replicas: Vec<BrokerId>,
    /// Replicas being removed by a reassignment in progress (empty when nothing moves).
    pub removing_replicas: Vec<BrokerId>,
    /// The new ISR: a subset of `replicas`.
    pub isr: Vec<BrokerId>,
    /// The new leader (a member of `isr`), or `None`.
    pub leader: Option<BrokerId>,
    /// The new leader epoch.
    pub leader_epoch: LeaderEpoch,
    /// The new partition epoch.
    pub partition_epoch: PartitionEpoch,
}

/// What a config override belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConfigResource {
    /// A topic, by name.
    Topic(String),
    /// One broker.
    Broker(BrokerId),
    /// The cluster-wide default for every broker (Kafka's broker resource with an empty name).
    ClusterDefault,
}

/// Records applied together: all of them or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBatch {
    /// The offset of the first record; the others follow densely.
    pub base_offset: MetadataOffset,
    /// The records, in order.
    pub records: Vec<MetadataRecord>,
}

impl MetadataRecord {
    /// Encodes the record: the format version byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(self)
    }

    /// Decodes a record written by [`MetadataRecord::encode`].
    pub fn decode(bytes: &[u8]) -> Result<MetadataRecord> {
        decode_versioned(bytes)
    }
}

impl RecordBatch {
    /// The offset after the last record of the batch.
    pub fn end_offset(&self) -> MetadataOffset {
        self.base_offset.plus(self.records.len() as u64)
    }

    /// Encodes the batch: the format version byte, then postcard.
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(self)
    }

    /// Decodes a batch written by [`RecordBatch::encode`].
    pub fn decode(bytes: &[u8]) -> Result<RecordBatch> {
        decode_versioned(bytes)
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigResource::Topic(name) => write!(f, "topic {name}"),
            ConfigResource::Broker(broker_id) => write!(f, "broker {broker_id}"),
            ConfigResource::ClusterDefault => write!(f, "the cluster default"),
        }
    }
}

pub(crate) fn encode_versioned<T: Serialize>(value: &T) -> Vec<u8> {
    let res = vec![FORMAT_VERSION];
    postcard::to_extend(value, res).expect("encoding into a Vec cannot fail")
}

pub(crate) fn decode_versioned<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(Error::Undecodable {
            reason: "empty input".to_owned(),
        });
    };
    if version != FORMAT_VERSION {
        return Err(Error::UnknownFormatVersion { version });
    }
    let (res, rest) = match postcard::take_from_bytes(body) {
        Ok(decoded) => decoded,
        Err(error) => {
            return Err(Error::Undecodable {
                reason: error.to_string(),
            });
        }
    };
    if !rest.is_empty() {
        return Err(Error::Undecodable {
            reason: format!("{} bytes after the end", rest.len()),
        });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_byte_and_trailing_bytes_are_checked() {
        let record = MetadataRecord::FenceBroker {
            broker_id: BrokerId(3),
        };
        let mut bytes = record.encode();
        assert_eq!(bytes[0], FORMAT_VERSION);
        assert_eq!(MetadataRecord::decode(&bytes).unwrap(), record);
        bytes.push(0);
        assert!(matches!(
            MetadataRecord::decode(&bytes),
            Err(Error::Undecodable { .. })
        ));
        bytes.pop();
        bytes[0] = 9;
        assert!(matches!(
            MetadataRecord::decode(&bytes),
            Err(Error::UnknownFormatVersion { version: 9 })
        ));
        assert!(matches!(
            MetadataRecord::decode(&[]),
            Err(Error::Undecodable { .. })
        ));
    }
}
