//! [`GroupHandle`]: this consumer's side of the group coordinator, shared by the application's
//! task (which joins, syncs, commits inside `poll`) and the background heartbeat task.
//!
//! It finds the coordinator (FindCoordinator, retried on COORDINATOR_NOT_AVAILABLE,
//! COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR and broken connections), keeps the member id
//! and generation, commits and fetches offsets, leaves the group, and runs the heartbeat loop
//! that also enforces `max.poll.interval.ms`. Error codes change the shared [`MemberState`] the
//! way Kafka's Java consumer does; the join protocol itself and the rebalance callbacks live in
//! `consumer/group.rs`, which reads that state at every poll.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use strom_client::{BrokerId, Client, TopicPartition};
use strom_protocol::messages::find_coordinator::FindCoordinatorRequest;
use strom_protocol::messages::heartbeat::HeartbeatRequest;
use strom_protocol::messages::leave_group::{LeaveGroupRequest, MemberIdentity};
use strom_protocol::messages::offset_commit::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    OffsetCommitResponse,
};
use strom_protocol::messages::offset_fetch::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    OffsetFetchResponse,
};
use strom_protocol::{ApiKey, ErrorCode, Request, Response};
use strom_record::Offset;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::{Error, OffsetAndMetadata, Result};

/// The generation of a member that is not in a group (Kafka's `-1`, wire-only).
pub(crate) const NO_GENERATION: i32 = -1;

/// What the application task and the heartbeat task both know about the membership.
#[derive(Debug)]
pub(crate) struct MemberState {
    /// The coordinator, when known.
    pub(crate) coordinator: Option<BrokerId>,
    /// Empty until the coordinator assigned one.
    pub(crate) member_id: String,
    /// [`NO_GENERATION`] when not a member of a generation.
    pub(crate) generation: i32,
    /// Joined and synced: heartbeats run and the assignment is valid.
    pub(crate) stable: bool,
    /// A rebalance is needed (REBALANCE_IN_PROGRESS, a metadata change, a cooperative
    /// follow-up round, a new subscription).
    pub(crate) rejoin: bool,
    /// The membership was lost while owning partitions: `on_lost` runs at the next poll.
    pub(crate) lost: bool,
    /// Another consumer took over our `group.instance.id`.
    pub(crate) fenced: bool,
    /// When the application last called poll.
    pub(crate) last_poll: Instant,
}

/// Settings the heartbeat task needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeartbeatConfig {
    pub(crate) interval: Duration,
    pub(crate) max_poll_interval: Duration,
}

/// A cheap handle on the coordinator connection and the membership.
#[derive(Debug, Clone)]
pub(crate) struct GroupHandle {
    pub(crate) client: Client,
    pub(crate) group_id: String,
    pub(crate) group_instance_id: Option<String>,
    state: Arc<Mutex<MemberState>>,
    /// Wakes a waiting poll when the heartbeat task saw something that needs a rejoin.
    pub(crate) wake: Arc<Notify>,
}

impl GroupHandle {
    /// A handle for `group_id`, not yet a member.
    pub(crate) fn new(
        client: Client,
        group_id: String,
        group_instance_id: Option<String>,
    ) -> GroupHandle {
        GroupHandle {
            client,
            group_id,
            group_instance_id,
            state: Arc::new(Mutex::new(MemberState {
                coordinator: None,
                member_id: String::new(),
                generation: NO_GENERATION,
                stable: false,
                rejoin: true,
                lost: false,
                fenced: false,
                last_poll: Instant::now(),
            })),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The shared state, locked. Nothing panics while holding it, so poisoning is ignored.
    pub(crate) fn state(&self) -> MutexGuard<'_, MemberState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the application task to rejoin at its next poll (waking it if it waits).
    pub(crate) fn request_rejoin(&self) {
        self.state().rejoin = true;
        self.wake.notify_one();
    }

    /// Forgets the coordinator: the next request looks it up again.
    pub(crate) fn coordinator_failed(&self) {
        self.state().coordinator = None;
    }

    /// Marks the membership lost: generation reset (and member id, when `reset_member_id`),
    /// partitions to be reported lost, rejoin needed. Kafka's `resetGenerationOnResponseError`.
    pub(crate) fn lose_membership(&self, reset_member_id: bool) {
        {
            let mut state = self.state();
            state.generation = NO_GENERATION;
            if reset_member_id {
                state.member_id.clear();
            }
            state.stable = false;
            state.lost = true;
            state.rejoin = true;
        }
        self.wake.notify_one();
    }

    /// Marks this static member fenced (fatal, as in Java).
    pub(crate) fn fence(&self) {
        {
            let mut state = self.state();
            state.fenced = true;
            state.stable = false;
            state.lost = true;
        }
        self.wake.notify_one();
    }

    /// The coordinator, looked up with FindCoordinator when unknown, retrying retriable errors
    /// with backoff until `request.timeout.ms` has passed.
    pub(crate) async fn coordinator(&self) -> Result<BrokerId> {
        if let Some(coordinator) = self.state().coordinator {
            return Ok(coordinator);
        }
        let config = self.client.config().clone();
        let deadline = Instant::now() + config.request_timeout;
        let mut backoff = strom_client::Backoff::new(&config);
        loop {
            let error = match self.find_coordinator().await {
                Ok(coordinator) => {
                    self.state().coordinator = Some(coordinator);
                    return Ok(coordinator);
                }
                Err(error) => error,
            };
            if !error.is_retriable() {
                return Err(error.into());
            }
            tracing::debug!(%error, group = self.group_id, "finding the coordinator, retrying");
            if !backoff.sleep_before(deadline).await {
                return Err(error.into());
            }
        }
    }

    /// One FindCoordinator round trip (key type 0: a group).
    async fn find_coordinator(&self) -> Result<BrokerId, strom_client::Error> {
        let request = FindCoordinatorRequest {
            key: self.group_id.clone(),
            key_type: 0,
            coordinator_keys: vec![self.group_id.clone()],
            ..FindCoordinatorRequest::default()
        };
        let response = match self.client.send_any(request).await? {
            Response::FindCoordinator(response) => response,
            other => {
                return Err(strom_client::Error::UnexpectedResponse {
                    expected: ApiKey::FindCoordinator,
                    actual: other.api_key(),
                });
            }
        };
        // v4+ answers per key; older versions in the top-level fields.
        let (code, node_id) = match response.coordinators.first() {
            Some(coordinator) => (coordinator.error_code, coordinator.node_id),
            None => (response.error_code, response.node_id),
        };
        strom_client::check_code(code)?;
        let coordinator = BrokerId(node_id);
        if !self
            .client
            .cached_metadata()
            .brokers
            .contains_key(&coordinator)
        {
            // A broker we have not heard of yet: learn its address.
            self.client.refresh_metadata().await?;
        }
        Ok(coordinator)
    }

    /// Sends `request` to the coordinator; a broken connection forgets the coordinator.
    pub(crate) async fn send(
        &self,
        request: impl Into<Request>,
        timeout: Duration,
    ) -> Result<Response> {
        let coordinator = self.coordinator().await?;
        match self
            .client
            .send_with_timeout(coordinator, request, timeout)
            .await
        {
            Ok(response) => Ok(response),
            Err(error) => {
                if error.is_retriable() {
                    self.coordinator_failed();
                }
                Err(error.into())
            }
        }
    }

    /// Commits `offsets` for the current generation, retrying coordinator errors until
    /// `request.timeout.ms` has passed. Membership errors update the shared state as Java
    /// does and fail the commit.
    pub(crate) async fn commit(
        &self,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let config = self.client.config().clone();
        let deadline = Instant::now() + config.request_timeout;
        let mut backoff = strom_client::Backoff::new(&config);
        loop {
            let (generation, member_id) = {
                let state = self.state();
                (state.generation, state.member_id.clone())
            };
            let request = offset_commit_request(
                &self.group_id,
                generation,
                &member_id,
                self.group_instance_id.as_deref(),
                offsets,
            );
            let error = match self.send(request, config.request_timeout).await {
                Ok(Response::OffsetCommit(response)) => match first_commit_error(&response) {
                    None => return Ok(()),
                    Some(code) => match self.on_group_error(code) {
                        GroupErrorAction::Retry => Error::CommitFailed { code },
                        GroupErrorAction::Fail(error) => return Err(error),
                    },
                },
                Ok(other) => {
                    return Err(Error::Client(strom_client::Error::UnexpectedResponse {
                        expected: ApiKey::OffsetCommit,
                        actual: other.api_key(),
                    }));
                }
                Err(error) if error.is_retriable() => error,
                Err(error) => return Err(error),
            };
            if !backoff.sleep_before(deadline).await {
                return Err(error);
            }
        }
    }

    /// The committed offsets of `partitions` (OffsetFetch with `require_stable`, retrying
    /// UNSTABLE_OFFSET_COMMIT and coordinator errors until `request.timeout.ms` has passed).
    pub(crate) async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let config = self.client.config().clone();
        let deadline = Instant::now() + config.request_timeout;
        let mut backoff = strom_client::Backoff::new(&config);
        loop {
            let request = offset_fetch_request(&self.group_id, partitions);
            let error = match self.send(request, config.request_timeout).await {
                Ok(Response::OffsetFetch(response)) => {
                    match committed_offsets(&self.group_id, partitions, &response) {
                        Ok(res) => return Ok(res),
                        Err(code) => {
                            let error = Error::Group {
                                group_id: self.group_id.clone(),
                                code,
                            };
                            match code {
                                ErrorCode::UnstableOffsetCommit
                                | ErrorCode::CoordinatorLoadInProgress => error,
                                ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                                    self.coordinator_failed();
                                    error
                                }
                                _ => return Err(error),
                            }
                        }
                    }
                }
                Ok(other) => {
                    return Err(Error::Client(strom_client::Error::UnexpectedResponse {
                        expected: ApiKey::OffsetFetch,
                        actual: other.api_key(),
                    }));
                }
                Err(error) if error.is_retriable() => error,
                Err(error) => return Err(error),
            };
            if !backoff.sleep_before(deadline).await {
                return Err(error);
            }
        }
    }

    /// Sends LeaveGroup for this member (dynamic members only: a static member stays until its
    /// session expires, as in Kafka) and forgets member id and generation either way.
    pub(crate) async fn leave(&self, reason: &str) {
        let member_id = {
            let mut state = self.state();
            state.stable = false;
            state.generation = NO_GENERATION;
            std::mem::take(&mut state.member_id)
        };
        if self.group_instance_id.is_some() || member_id.is_empty() {
            return;
        }
        let request = LeaveGroupRequest {
            group_id: self.group_id.clone(),
            member_id: member_id.clone(),
            members: vec![MemberIdentity {
                member_id,
                group_instance_id: None,
                reason: Some(reason.to_owned()),
                ..MemberIdentity::default()
            }],
            ..LeaveGroupRequest::default()
        };
        let timeout = self.client.config().request_timeout;
        match self.send(request, timeout).await {
            Ok(Response::LeaveGroup(response)) => {
                let code = response
                    .members
                    .first()
                    .map_or(response.error_code, |member| member.error_code);
                if code != 0 {
                    tracing::debug!(code, group = self.group_id, "LeaveGroup refused");
                }
            }
            Ok(other) => tracing::debug!(api = ?other.api_key(), "unexpected LeaveGroup answer"),
            Err(error) => tracing::debug!(%error, group = self.group_id, "LeaveGroup failed"),
        }
    }

    /// Applies a group-level error code of a heartbeat or commit to the shared state.
    pub(crate) fn on_group_error(&self, code: ErrorCode) -> GroupErrorAction {
        match code {
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.coordinator_failed();
                GroupErrorAction::Retry
            }
            ErrorCode::CoordinatorLoadInProgress => GroupErrorAction::Retry,
            ErrorCode::RebalanceInProgress => {
                self.request_rejoin();
                GroupErrorAction::Fail(Error::CommitFailed { code })
            }
            ErrorCode::UnknownMemberId => {
                self.lose_membership(true);
                GroupErrorAction::Fail(Error::CommitFailed { code })
            }
            ErrorCode::IllegalGeneration => {
                self.lose_membership(false);
                GroupErrorAction::Fail(Error::CommitFailed { code })
            }
            ErrorCode::FencedInstanceId => {
                self.fence();
                GroupErrorAction::Fail(Error::Fenced(
                    self.group_instance_id.clone().unwrap_or_default(),
                ))
            }
            code => GroupErrorAction::Fail(Error::CommitFailed { code }),
        }
    }
}

/// What to do after a group-level error.
#[derive(Debug)]
pub(crate) enum GroupErrorAction {
    /// Send again (after a backoff; the coordinator may have to be found again).
    Retry,
    /// Give up with this error.
    Fail(Error),
}

/// The heartbeat loop: every `heartbeat.interval.ms` while the member is stable, and a
/// LeaveGroup when the application has not polled for `max.poll.interval.ms`. Runs until
/// aborted (the consumer aborts it when dropped or closed).
pub(crate) async fn heartbeat_loop(handle: GroupHandle, config: HeartbeatConfig) {
    loop {
        tokio::time::sleep(config.interval).await;
        let (stable, generation, member_id, last_poll) = {
            let state = handle.state();
            (
                state.stable,
                state.generation,
                state.member_id.clone(),
                state.last_poll,
            )
        };
        if !stable {
            continue;
        }
        if last_poll.elapsed() > config.max_poll_interval {
            tracing::warn!(
                group = handle.group_id,
                "poll was not called within max.poll.interval.ms; leaving the group"
            );
            handle.leave("consumer poll timeout has expired").await;
            handle.lose_membership(true);
            continue;
        }
        let request = HeartbeatRequest {
            group_id: handle.group_id.clone(),
            generation_id: generation,
            member_id,
            group_instance_id: handle.group_instance_id.clone(),
            ..HeartbeatRequest::default()
        };
        let timeout = handle.client.config().request_timeout;
        let code = match handle.send(request, timeout).await {
            Ok(Response::Heartbeat(response)) => {
                ErrorCode::try_from(response.error_code).unwrap_or(ErrorCode::UnknownServerError)
            }
            Ok(other) => {
                tracing::debug!(api = ?other.api_key(), "unexpected Heartbeat answer");
                continue;
            }
            Err(error) => {
                tracing::debug!(%error, group = handle.group_id, "heartbeat failed");
                continue;
            }
        };
        if code == ErrorCode::None {
            continue;
        }
        // An answer about a generation we already left behind changes nothing.
        if handle.state().generation != generation {
            continue;
        }
        tracing::debug!(
            code = code.name(),
            group = handle.group_id,
            "heartbeat answer"
        );
        match handle.on_group_error(code) {
            GroupErrorAction::Retry => {}
            GroupErrorAction::Fail(error) => {
                tracing::debug!(%error, group = handle.group_id, "heartbeat says rejoin");
            }
        }
    }
}

/// OffsetCommit for `offsets`, filled for every version (fields a version lacks are not sent).
fn offset_commit_request(
    group_id: &str,
    generation: i32,
    member_id: &str,
    group_instance_id: Option<&str>,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
) -> OffsetCommitRequest {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (topic_partition, value) in offsets {
        topics
            .entry(&topic_partition.topic)
            .or_default()
            .push(OffsetCommitRequestPartition {
                partition_index: topic_partition.partition,
                committed_offset: i64::try_from(value.offset.0).unwrap_or(i64::MAX),
                committed_metadata: Some(value.metadata.clone()),
                ..OffsetCommitRequestPartition::default()
            });
    }
    OffsetCommitRequest {
        group_id: group_id.to_owned(),
        generation_id_or_member_epoch: generation,
        member_id: member_id.to_owned(),
        group_instance_id: group_instance_id.map(str::to_owned),
        topics: topics
            .into_iter()
            .map(|(name, partitions)| OffsetCommitRequestTopic {
                name: name.to_owned(),
                partitions,
                ..OffsetCommitRequestTopic::default()
            })
            .collect(),
        ..OffsetCommitRequest::default()
    }
}

/// The first partition error of an OffsetCommit response (they are all the same for
/// group-level problems).
fn first_commit_error(response: &OffsetCommitResponse) -> Option<ErrorCode> {
    response
        .topics
        .iter()
        .flat_map(|topic| &topic.partitions)
        .map(|partition| {
            ErrorCode::try_from(partition.error_code).unwrap_or(ErrorCode::UnknownServerError)
        })
        .find(|code| *code != ErrorCode::None)
}

/// OffsetFetch for `partitions`, in both the single-group (v0-7) and the batched (v8+) form,
/// with `require_stable` (v7+).
fn offset_fetch_request(group_id: &str, partitions: &[TopicPartition]) -> OffsetFetchRequest {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for topic_partition in partitions {
        by_topic
            .entry(&topic_partition.topic)
            .or_default()
            .push(topic_partition.partition);
    }
    OffsetFetchRequest {
        group_id: group_id.to_owned(),
        topics: Some(
            by_topic
                .iter()
                .map(|(name, indexes)| OffsetFetchRequestTopic {
                    name: (*name).to_owned(),
                    partition_indexes: indexes.clone(),
                    ..OffsetFetchRequestTopic::default()
                })
                .collect(),
        ),
        groups: vec![OffsetFetchRequestGroup {
            group_id: group_id.to_owned(),
            topics: Some(
                by_topic
                    .iter()
                    .map(|(name, indexes)| OffsetFetchRequestTopics {
                        name: (*name).to_owned(),
                        partition_indexes: indexes.clone(),
                        ..OffsetFetchRequestTopics::default()
                    })
                    .collect(),
            ),
            ..OffsetFetchRequestGroup::default()
        }],
        require_stable: true,
        ..OffsetFetchRequest::default()
    }
}

/// The committed offsets in an OffsetFetch response of any version (`None` where nothing is
/// committed), or the first error code in it.
fn committed_offsets(
    group_id: &str,
    partitions: &[TopicPartition],
    response: &OffsetFetchResponse,
) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>, ErrorCode> {
    let code_of = |code: i16| ErrorCode::try_from(code).unwrap_or(ErrorCode::UnknownServerError);
    // (topic, partition, offset, metadata, error) from either layout.
    let mut found: Vec<(&str, i32, i64, Option<&str>, i16)> = Vec::new();
    if let Some(group) = response
        .groups
        .iter()
        .find(|group| group.group_id == group_id)
    {
        if group.error_code != 0 {
            return Err(code_of(group.error_code));
        }
        for topic in &group.topics {
            for partition in &topic.partitions {
                found.push((
                    &topic.name,
                    partition.partition_index,
                    partition.committed_offset,
                    partition.metadata.as_deref(),
                    partition.error_code,
                ));
            }
        }
    } else {
        if response.error_code != 0 {
            return Err(code_of(response.error_code));
        }
        for topic in &response.topics {
            for partition in &topic.partitions {
                found.push((
                    &topic.name,
                    partition.partition_index,
                    partition.committed_offset,
                    partition.metadata.as_deref(),
                    partition.error_code,
                ));
            }
        }
    }
    let mut res: BTreeMap<TopicPartition, Option<OffsetAndMetadata>> = partitions
        .iter()
        .map(|topic_partition| (topic_partition.clone(), None))
        .collect();
    for (topic, partition, offset, metadata, code) in found {
        if code != 0 {
            return Err(code_of(code));
        }
        let topic_partition = TopicPartition::new(topic, partition);
        let Some(slot) = res.get_mut(&topic_partition) else {
            continue;
        };
        // A negative offset is Kafka's "nothing committed".
        *slot = u64::try_from(offset).ok().map(|offset| OffsetAndMetadata {
            offset: Offset(offset),
            metadata: metadata.unwrap_or_default().to_owned(),
        });
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use strom_protocol::messages::offset_commit::{
        OffsetCommitResponsePartition, OffsetCommitResponseTopic,
    };
    use strom_protocol::messages::offset_fetch::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
        OffsetFetchResponseTopic, OffsetFetchResponseTopics,
    };

    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition::new("t", partition)
    }

    #[test]
    fn commit_request_groups_partitions_by_topic() {
        let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = [
            (
                tp(1),
                OffsetAndMetadata {
                    offset: Offset(5),
                    metadata: "m".to_owned(),
                },
            ),
            (
                tp(0),
                OffsetAndMetadata {
                    offset: Offset(2),
                    metadata: String::new(),
                },
            ),
        ]
        .into_iter()
        .collect();
        let request = offset_commit_request("g", 3, "m-1", Some("i"), &offsets);
        assert_eq!(request.generation_id_or_member_epoch, 3);
        assert_eq!(request.group_instance_id.as_deref(), Some("i"));
        assert_eq!(request.topics.len(), 1);
        let partitions: Vec<(i32, i64, Option<String>)> = request.topics[0]
            .partitions
            .iter()
            .map(|p| {
                (
                    p.partition_index,
                    p.committed_offset,
                    p.committed_metadata.clone(),
                )
            })
            .collect();
        assert_eq!(
            partitions,
            vec![(0, 2, Some(String::new())), (1, 5, Some("m".to_owned()))]
        );
        let response = OffsetCommitResponse {
            topics: vec![OffsetCommitResponseTopic {
                name: "t".to_owned(),
                partitions: vec![
                    OffsetCommitResponsePartition {
                        partition_index: 0,
                        error_code: 0,
                        ..OffsetCommitResponsePartition::default()
                    },
                    OffsetCommitResponsePartition {
                        partition_index: 1,
                        error_code: ErrorCode::IllegalGeneration.code(),
                        ..OffsetCommitResponsePartition::default()
                    },
                ],
                ..OffsetCommitResponseTopic::default()
            }],
            ..OffsetCommitResponse::default()
        };
        assert_eq!(
            first_commit_error(&response),
            Some(ErrorCode::IllegalGeneration)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// What a commit request carries, echoed by an OffsetFetch response (the layout of
        /// v0-7), reads back as the offsets committed.
        #[test]
        fn commit_then_fetch_round_trip(
            entries in proptest::collection::btree_map(
                (proptest::sample::select(vec!["a", "b", "c"]), 0i32..8),
                (0u64..1 << 40, "[a-z]{0,6}"),
                0..12,
            )
        ) {
            let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = entries
                .iter()
                .map(|((topic, partition), (offset, metadata))| {
                    let value = OffsetAndMetadata {
                        offset: Offset(*offset),
                        metadata: metadata.clone(),
                    };
                    (TopicPartition::new(*topic, *partition), value)
                })
                .collect();
            let request = offset_commit_request("g", 1, "m", None, &offsets);
            let echo = OffsetFetchResponse {
                topics: request
                    .topics
                    .iter()
                    .map(|topic| OffsetFetchResponseTopic {
                        name: topic.name.clone(),
                        partitions: topic
                            .partitions
                            .iter()
                            .map(|partition| OffsetFetchResponsePartition {
                                partition_index: partition.partition_index,
                                committed_offset: partition.committed_offset,
                                metadata: partition.committed_metadata.clone(),
                                ..OffsetFetchResponsePartition::default()
                            })
                            .collect(),
                        ..OffsetFetchResponseTopic::default()
                    })
                    .collect(),
                ..OffsetFetchResponse::default()
            };
            let partitions: Vec<TopicPartition> = offsets.keys().cloned().collect();
            let read = committed_offsets("g", &partitions, &echo).unwrap();
            let expected: BTreeMap<TopicPartition, Option<OffsetAndMetadata>> = offsets
                .into_iter()
                .map(|(topic_partition, value)| (topic_partition, Some(value)))
                .collect();
            proptest::prop_assert_eq!(read, expected);
        }
    }

    #[test]
    fn committed_offsets_read_both_layouts() {
        let partitions = [tp(0), tp(1)];
        let old = OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                name: "t".to_owned(),
                partitions: vec![
                    OffsetFetchResponsePartition {
                        partition_index: 0,
                        committed_offset: 9,
                        metadata: Some("x".to_owned()),
                        ..OffsetFetchResponsePartition::default()
                    },
                    OffsetFetchResponsePartition {
                        partition_index: 1,
                        committed_offset: -1,
                        ..OffsetFetchResponsePartition::default()
                    },
                ],
                ..OffsetFetchResponseTopic::default()
            }],
            ..OffsetFetchResponse::default()
        };
        let expected: BTreeMap<TopicPartition, Option<OffsetAndMetadata>> = [
            (
                tp(0),
                Some(OffsetAndMetadata {
                    offset: Offset(9),
                    metadata: "x".to_owned(),
                }),
            ),
            (tp(1), None),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            committed_offsets("g", &partitions, &old),
            Ok(expected.clone())
        );
        let new = OffsetFetchResponse {
            groups: vec![OffsetFetchResponseGroup {
                group_id: "g".to_owned(),
                topics: vec![OffsetFetchResponseTopics {
                    name: "t".to_owned(),
                    partitions: vec![OffsetFetchResponsePartitions {
                        partition_index: 0,
                        committed_offset: 9,
                        metadata: Some("x".to_owned()),
                        ..OffsetFetchResponsePartitions::default()
                    }],
                    ..OffsetFetchResponseTopics::default()
                }],
                ..OffsetFetchResponseGroup::default()
            }],
            ..OffsetFetchResponse::default()
        };
        assert_eq!(committed_offsets("g", &partitions, &new), Ok(expected));
        let unstable = OffsetFetchResponse {
            groups: vec![OffsetFetchResponseGroup {
                group_id: "g".to_owned(),
                error_code: ErrorCode::UnstableOffsetCommit.code(),
                ..OffsetFetchResponseGroup::default()
            }],
            ..OffsetFetchResponse::default()
        };
        assert_eq!(
            committed_offsets("g", &partitions, &unstable),
            Err(ErrorCode::UnstableOffsetCommit)
        );
    }
}
