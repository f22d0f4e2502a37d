//! strom-group: the consumer group coordinator for Kafka's classic group protocol, the offsets
//! it stores, the records it persists to `__consumer_offsets`, and the partition assignors.
//!
//! Everything here is sans-IO: no sockets, no tokio, no clock. The broker turns wire requests
//! into the request types of `messages`, calls the `Coordinator` with the current time, and
//! executes the `Effect`s it returns (send a response, write records, wake the coordinator up
//! later). The crate does not depend on `strom-protocol`; `GroupError` maps 1:1 to wire codes.
//!
//! ```
//! use strom_group::{
//!     Config, Coordinator, DelayedResponse, Effect, GenerationId, GroupId, JoinGroupProtocol,
//!     JoinGroupRequest, OffsetsPartition, TimeMs, Token,
//! };
//!
//! let config = Config {
//!     offsets_topic_partitions: 1,
//!     group_initial_rebalance_delay_ms: 0,
//!     ..Config::default()
//! };
//! let mut coordinator = Coordinator::new(config);
//! // The broker leads __consumer_offsets partition 0 and replays it (empty here).
//! coordinator.begin_load(OffsetsPartition(0));
//! coordinator.load(OffsetsPartition(0), Vec::new(), TimeMs(0))?;
//!
//! let request = JoinGroupRequest {
//!     group_id: GroupId("orders".into()),
//!     session_timeout_ms: 10_000,
//!     rebalance_timeout_ms: 30_000,
//!     member_id: None,
//!     group_instance_id: None,
//!     protocol_type: "consumer".into(),
//!     protocols: vec![JoinGroupProtocol { name: "range".into(), metadata: Vec::new() }],
//!     reason: None,
//!     client_id: "app".into(),
//!     client_host: "/127.0.0.1".into(),
//!     require_known_member_id: false,
//!     supports_skip_assignment: false,
//! };
//! for effect in coordinator.join_group(Token(1), request, TimeMs(0)) {
//!     match effect {
//!         // With no initial delay a lone member's join completes at once.
//!         Effect::Respond { token, response: DelayedResponse::JoinGroup(response) } => {
//!             assert_eq!(token, Token(1));
//!             assert_eq!(response.generation_id, Some(GenerationId(1)));
//!         }
//!         Effect::ScheduleWakeup { at } => { /* call coordinator.tick(at) then */ }
//!         other => unreachable!("{other:?}"),
//!     }
//! }
//! # Ok::<(), strom_group::Error>(())
//! ```

mod assignor;
mod consumer_protocol;
mod coordinator;
mod error;
mod group;
mod ids;
mod messages;
mod offsets_topic;

pub use assignor::{
    Assignor, GroupAssignment, MemberSubscription, PartitionsPerTopic, cooperative_sticky, range,
    round_robin,
};
pub use consumer_protocol::{Assignment, CONSUMER_PROTOCOL_TYPE, LATEST_VERSION, Subscription};
pub use coordinator::{Config, Coordinator, DelayedResponse, Effect, Output};
pub use error::{Error, GroupError};
pub use group::GroupState;
pub use ids::{
    GenerationId, GroupId, GroupInstanceId, LeaderEpoch, MemberId, Offset, OffsetsPartition,
    PartitionIndex, ProducerId, TimeMs, Token, TopicPartition,
};
pub use messages::*;
pub use offsets_topic::{
    GroupMetadataValue, LoadRecord, MemberMetadataValue, OffsetCommitValue, OffsetsRecord,
    RecordKey, RecordValue, offsets_partition_for,
};
