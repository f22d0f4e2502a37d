//! strom-admin: Strom's admin client. [`Admin`] creates, deletes, lists and describes topics,
//! adds partitions, describes and incrementally alters configs, deletes records, lists,
//! describes and deletes consumer groups, lists offsets (earliest, latest, by timestamp),
//! computes group lag and resets group offsets, moves partitions between brokers and lists the
//! moves in progress, describes the cluster and runs leader elections. Results are typed
//! values; a wire error code becomes [`Error::Broker`], which names the code and the message.
//!
//! It speaks the Kafka protocol through `strom-client`, so it works against any
//! Kafka-compatible broker. It does not retry failed operations and does not consume or produce.
//!
//! ```no_run
//! # async fn run() -> strom_admin::Result<()> {
//! use strom_admin::{Admin, NewTopic};
//! use strom_client::ClientConfig;
//!
//! let admin = Admin::connect(ClientConfig::bootstrap("127.0.0.1:9092")).await?;
//! admin.create_topics(&[NewTopic::new("events", 3)]).await?;
//! for topic in admin.list_topics().await? {
//!     println!("{} ({} partitions)", topic.name, topic.partitions);
//! }
//! # Ok(())
//! # }
//! ```

mod admin;
mod configs;
mod elections;
mod error;
mod groups;
mod offsets;
mod reassignments;
mod topics;

pub use crate::admin::{Admin, BrokerDescription, ClusterDescription};
pub use crate::configs::{AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource};
pub use crate::elections::{ElectionResult, ElectionType};
pub use crate::error::{Error, Result};
pub use crate::groups::{GroupDescription, GroupListing, MemberDescription};
pub use crate::offsets::{ListedOffset, OffsetSpec, PartitionLag, ResetSpec};
pub use crate::reassignments::PartitionReassignment;
pub use crate::topics::{NewTopic, PartitionDescription, TopicDescription, TopicListing};
pub use strom_client::{ClientConfig, TopicPartition};
pub use strom_record::{Offset, Timestamp};
