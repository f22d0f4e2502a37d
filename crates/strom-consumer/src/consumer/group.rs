//! Group membership for [`Consumer`]: `subscribe`, `subscribe_pattern`, `unsubscribe`, commits,
//! and the rebalance protocol run inside `poll`.
//!
//! The application's task does everything that changes the assignment, inside `poll`: it
//! revokes (eager: everything before rejoining; cooperative: only what the new assignment
//! removes, then rejoins once more, KIP-429), sends JoinGroup (with the MEMBER_ID_REQUIRED
//! second step) and SyncGroup, runs the assignor when it is the leader, calls the
//! [`RebalanceListener`], and sets positions of new partitions from the committed offsets. The
//! background heartbeat task (`coordinator.rs`) only heartbeats and flags what it learns in the
//! shared state; `poll` reads the flags at every turn and is woken when one is raised. Buffered
//! records of revoked partitions are dropped with their partition state, so no record of a
//! partition is returned after it was revoked.
//!
//! It does not fetch records: the fetch loop in `consumer.rs` works on whatever the assignment is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Mutex, PoisonError};

use regex::Regex;
use strom_client::TopicPartition;
use strom_group::{Assignment, Assignor, MemberSubscription, PartitionsPerTopic, Subscription};
use strom_protocol::messages::join_group::{JoinGroupRequest, JoinGroupRequestProtocol};
use strom_protocol::messages::metadata::MetadataRequest;
use strom_protocol::messages::sync_group::{SyncGroupRequest, SyncGroupRequestAssignment};
use strom_protocol::{ApiKey, ErrorCode, Response};
use strom_record::Offset;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Consumer, PartitionState};
use crate::coordinator::{GroupHandle, HeartbeatConfig, NO_GENERATION, heartbeat_loop};
use crate::{
    ConsumerConfig, Error, OffsetAndMetadata, RebalanceContext, RebalanceListener, Result,
};

/// A commit running in the background, from [`Consumer::commit_async`].
#[derive(Debug)]
pub struct CommitHandle {
    task: JoinHandle<Result<()>>,
}

impl CommitHandle {
    /// Waits for the commit's outcome.
    pub async fn wait(self) -> Result<()> {
        match self.task.await {
            Ok(res) => res,
            // The task only ends without a result if the runtime shuts down.
            Err(_) => Err(Error::CommitFailed {
                code: ErrorCode::UnknownServerError,
            }),
        }
    }
}

/// The group side of a consumer with a `group.id`.
pub(super) struct Membership {
    handle: GroupHandle,
    subscription: Topics,
    /// The topics subscribed to now (a pattern's matches).
    topics: BTreeSet<String>,
    /// The topics sent in the last JoinGroup, to notice a changed subscription.
    joined_topics: BTreeSet<String>,
    /// In a mutex only so that `Membership` is `Sync` (and `poll`'s future `Send`) without
    /// asking listeners to be `Sync`; it is only ever used through `&mut self`.
    listener: Option<Mutex<Box<dyn RebalanceListener>>>,
    heartbeat: Option<JoinHandle<()>>,
    /// As leader: the partition counts the last assignment was computed from.
    assigned_counts: Option<PartitionsPerTopic>,
    next_metadata_check: Instant,
    next_auto_commit: Instant,
    /// New partitions whose committed offset is still to be looked up.
    awaiting_committed: BTreeSet<TopicPartition>,
    /// How often a `poll` that waits wakes up to count as polling (`heartbeat.interval.ms`).
    poll_refresh: std::time::Duration,
}

/// What the consumer subscribes to.
#[derive(Debug)]
enum Topics {
    /// Nothing: `assign` mode (commits only).
    None,
    /// These topics.
    List,
    /// Every topic whose whole name matches.
    Pattern(Regex),
}

impl fmt::Debug for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Membership")
            .field("group_id", &self.handle.group_id)
            .field("subscription", &self.subscription)
            .field("topics", &self.topics)
            .field("listener", &self.listener.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
    }
}

impl Membership {
    /// The membership of a consumer configured with a `group.id`, not subscribed yet.
    pub(super) fn new(client: strom_client::Client, config: &ConsumerConfig) -> Option<Membership> {
        let group_id = config.group_id.clone()?;
        let now = Instant::now();
        Some(Membership {
            handle: GroupHandle::new(client, group_id, config.group_instance_id.clone()),
            subscription: Topics::None,
            topics: BTreeSet::new(),
            joined_topics: BTreeSet::new(),
            listener: None,
            heartbeat: None,
            assigned_counts: None,
            next_metadata_check: now,
            next_auto_commit: now + config.auto_commit_interval,
            awaiting_committed: BTreeSet::new(),
            poll_refresh: config.heartbeat_interval,
        })
    }

    fn subscribed(&self) -> bool {
        !matches!(self.subscription, Topics::None)
    }
}

/// Waits until the heartbeat task raises a flag, or `heartbeat.interval.ms` passed: a `poll`
/// waiting for records then goes round its loop, which counts as polling for
/// `max.poll.interval.ms` (Java's poll refreshes its poll timer the same way). Forever without a
/// group.
pub(super) async fn changed(group: Option<&Membership>) {
    match group {
        Some(group) => {
            // Either outcome wakes the poll loop.
            let _ = tokio::time::timeout(group.poll_refresh, group.handle.wake.notified()).await;
        }
        None => std::future::pending().await,
    }
}

impl Consumer {
    /// Joins the group (`group.id`) subscribed to `topics`; the partitions are assigned inside
    /// [`Consumer::poll`]. Replaces any earlier subscription. While subscribed, the group owns
    /// the assignment: do not call `assign` (an `assign` is replaced at the next rebalance).
    pub fn subscribe<I, S>(&mut self, topics: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let topics: BTreeSet<String> = topics.into_iter().map(Into::into).collect();
        if topics.is_empty() {
            return Err(Error::Config(
                "subscribe needs at least one topic (use unsubscribe to stop)".to_owned(),
            ));
        }
        self.check_not_assigned()?;
        let group = self.membership_mut("subscribe")?;
        group.subscription = Topics::List;
        group.topics = topics;
        group.handle.request_rejoin();
        Ok(())
    }

    /// Joins the group subscribed to every topic whose whole name matches `pattern` (a
    /// `regex` crate expression), now and as topics are created or deleted (checked every
    /// `metadata.max.age.ms`). Internal topics are never matched.
    pub fn subscribe_pattern(&mut self, pattern: &str) -> Result<()> {
        let regex = match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(regex) => regex,
            Err(error) => {
                return Err(Error::Config(format!(
                    "bad subscription pattern {pattern:?}: {error}"
                )));
            }
        };
        self.check_not_assigned()?;
        let group = self.membership_mut("subscribe_pattern")?;
        group.subscription = Topics::Pattern(regex);
        group.topics.clear();
        group.next_metadata_check = Instant::now();
        group.handle.request_rejoin();
        Ok(())
    }

    /// Sets the listener called inside `poll` when partitions are assigned, revoked or lost.
    pub fn set_rebalance_listener(
        &mut self,
        listener: impl RebalanceListener + 'static,
    ) -> Result<()> {
        let group = self.membership_mut("set_rebalance_listener")?;
        group.listener = Some(Mutex::new(Box::new(listener)));
        Ok(())
    }

    /// Leaves the group: commits the positions (with `enable.auto.commit`), calls `on_revoked`
    /// (or `on_lost`), drops the assignment and sends LeaveGroup (not for static members).
    pub async fn unsubscribe(&mut self) -> Result<()> {
        let res = self.leave_group("the consumer unsubscribed").await;
        if let Some(group) = self.group.as_mut() {
            group.subscription = Topics::None;
            group.topics.clear();
            group.joined_topics.clear();
        }
        res
    }

    /// The subscribed topics (a pattern's current matches).
    pub fn subscription(&self) -> Vec<String> {
        self.group
            .as_ref()
            .map(|group| group.topics.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// This member's id in the group, once joined.
    pub fn member_id(&self) -> Option<String> {
        let group = self.group.as_ref()?;
        let member_id = group.handle.state().member_id.clone();
        (!member_id.is_empty()).then_some(member_id)
    }

    /// The group generation this consumer is a member of, once joined.
    pub fn generation(&self) -> Option<i32> {
        let group = self.group.as_ref()?;
        let generation = group.handle.state().generation;
        (generation != NO_GENERATION).then_some(generation)
    }

    /// Commits the current position of every assigned partition (the next offset `poll` would
    /// return), waiting for the answer.
    pub async fn commit_sync(&mut self) -> Result<()> {
        let offsets = to_commit(&positions(&self.partitions));
        self.commit_sync_offsets(offsets).await
    }

    /// Commits `offsets` (offset and metadata per partition), waiting for the answer.
    pub async fn commit_sync_offsets(
        &mut self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<()> {
        let group = self.membership_mut("commit")?;
        group.handle.commit(&offsets).await
    }

    /// Starts committing `offsets` (or, with `None`, the current positions) and returns at
    /// once; [`CommitHandle::wait`] gives the outcome. Commits started one after the other may
    /// complete in any order, so do not mix them with `commit_sync` for the same partitions
    /// without waiting.
    pub fn commit_async(
        &mut self,
        offsets: Option<BTreeMap<TopicPartition, OffsetAndMetadata>>,
    ) -> Result<CommitHandle> {
        let offsets = offsets.unwrap_or_else(|| to_commit(&positions(&self.partitions)));
        let handle = self.membership_mut("commit")?.handle.clone();
        let task = tokio::spawn(async move { handle.commit(&offsets).await });
        Ok(CommitHandle { task })
    }

    /// The committed offset and metadata of each partition (`None` where nothing is
    /// committed), read with OffsetFetch (`require_stable` where the broker has it).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>> {
        let Some(group) = self.group.as_ref() else {
            return Err(no_group_id("committed"));
        };
        group.handle.committed(partitions).await
    }

    /// Subscribing while partitions are assigned by hand is an error, as in Java.
    fn check_not_assigned(&self) -> Result<()> {
        let subscribed = self.group.as_ref().is_some_and(Membership::subscribed);
        if !subscribed && !self.partitions.is_empty() {
            return Err(Error::Config(
                "subscribe after assign: call assign(Vec::new()) first".to_owned(),
            ));
        }
        Ok(())
    }

    fn membership_mut(&mut self, what: &str) -> Result<&mut Membership> {
        match self.group.as_mut() {
            Some(group) => Ok(group),
            None => Err(no_group_id(what)),
        }
    }

    /// The group's part of a poll: rejoin when needed, auto commit, watch metadata. Returns
    /// when the member is stable (or not subscribed), or when `deadline` has passed after at
    /// least one rebalance attempt (the next poll goes on). A JoinGroup or SyncGroup in flight
    /// is never abandoned: that would leave the group waiting for this member.
    pub(super) async fn poll_group(&mut self, deadline: Instant) -> Result<()> {
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        group.handle.state().last_poll = Instant::now();
        if !group.subscribed() {
            return Ok(());
        }
        let cooperative = self.config.cooperative();
        let mut attempts = 0_u32;
        loop {
            let (fenced, lost, rejoin, stable) = {
                let state = group.handle.state();
                (state.fenced, state.lost, state.rejoin, state.stable)
            };
            if lost {
                lose_partitions(group, &mut self.partitions);
            }
            if fenced {
                return Err(Error::Fenced(
                    group.handle.group_instance_id.clone().unwrap_or_default(),
                ));
            }
            if stable && !rejoin {
                break;
            }
            if attempts > 0 && !stable && Instant::now() >= deadline {
                break;
            }
            attempts += 1;
            group.check_metadata(&self.config).await?;
            group
                .rejoin(&self.config, cooperative, &mut self.partitions)
                .await?;
        }
        group.position_from_committed(&mut self.partitions).await?;
        if !group.handle.state().stable {
            return Ok(());
        }
        let now = Instant::now();
        if self.config.enable_auto_commit && now >= group.next_auto_commit {
            group.next_auto_commit = now + self.config.auto_commit_interval;
            let offsets = to_commit(&positions(&self.partitions));
            match group.handle.commit(&offsets).await {
                Ok(()) => {}
                Err(error @ Error::Fenced(_)) => return Err(error),
                Err(error) => tracing::warn!(%error, "auto commit failed"),
            }
        }
        group.check_metadata(&self.config).await?;
        Ok(())
    }

    /// Leaves the group for `close` or `unsubscribe`.
    pub(super) async fn leave_group(&mut self, reason: &str) -> Result<()> {
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        if let Some(heartbeat) = group.heartbeat.take() {
            heartbeat.abort();
        }
        if !group.subscribed() {
            // assign mode: auto commit on close, as Java does.
            if self.config.enable_auto_commit && !self.partitions.is_empty() {
                let offsets = to_commit(&positions(&self.partitions));
                return group.handle.commit(&offsets).await;
            }
            return Ok(());
        }
        let (lost, generation) = {
            let state = group.handle.state();
            (state.lost, state.generation)
        };
        let mut res = Ok(());
        if lost || generation == NO_GENERATION {
            lose_partitions(group, &mut self.partitions);
        } else {
            let owned: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
            res = group
                .revoke(&self.config, &mut self.partitions, &owned)
                .await;
        }
        self.partitions.clear();
        group.handle.leave(reason).await;
        group.handle.state().rejoin = true;
        res
    }
}

impl Membership {
    /// One rebalance: prepare (revoke or report lost), JoinGroup, SyncGroup (with the
    /// assignment computed here when leader), then take the new assignment.
    async fn rejoin(
        &mut self,
        config: &ConsumerConfig,
        cooperative: bool,
        partitions: &mut BTreeMap<TopicPartition, PartitionState>,
    ) -> Result<()> {
        self.handle.state().stable = false;
        // Prepare. Eager: give everything up first. Cooperative: only what we no longer
        // subscribe to.
        let to_revoke: Vec<TopicPartition> = partitions
            .keys()
            .filter(|topic_partition| !cooperative || !self.topics.contains(&topic_partition.topic))
            .cloned()
            .collect();
        if !to_revoke.is_empty() {
            self.revoke(config, partitions, &to_revoke).await?;
        }
        if self.handle.state().lost {
            lose_partitions(self, partitions);
        }
        let (member_id, generation) = {
            let state = self.handle.state();
            (state.member_id.clone(), state.generation)
        };
        let owned: Vec<strom_group::TopicPartition> =
            partitions.keys().map(to_group_partition).collect();
        let subscription = Subscription {
            version: strom_group::LATEST_VERSION,
            topics: self.topics.iter().cloned().collect(),
            user_data: None,
            owned_partitions: owned,
            generation_id: (generation != NO_GENERATION)
                .then_some(strom_group::GenerationId(generation)),
            rack_id: None,
        };
        let metadata = bytes::Bytes::from(subscription.encode()?);
        let request = JoinGroupRequest {
            group_id: self.handle.group_id.clone(),
            session_timeout_ms: millis(config.session_timeout),
            rebalance_timeout_ms: millis(config.max_poll_interval),
            member_id,
            group_instance_id: self.handle.group_instance_id.clone(),
            protocol_type: strom_group::CONSUMER_PROTOCOL_TYPE.to_owned(),
            protocols: config
                .partition_assignment_strategy
                .iter()
                .map(|assignor| JoinGroupRequestProtocol {
                    name: assignor.name().to_owned(),
                    metadata: metadata.clone(),
                    ..JoinGroupRequestProtocol::default()
                })
                .collect(),
            reason: Some("rebalance".to_owned()),
            ..JoinGroupRequest::default()
        };
        self.joined_topics = self.topics.clone();
        // The coordinator holds JoinGroup until every member rejoined (up to the rebalance
        // timeout), so the request may take that long.
        let timeout = config.max_poll_interval + config.client.request_timeout;
        let response = match self.handle.send(request, timeout).await {
            Ok(Response::JoinGroup(response)) => response,
            Ok(other) => return Err(unexpected(ApiKey::JoinGroup, &other)),
            Err(error) if error.is_retriable() => return self.backoff(config, error).await,
            Err(error) => return Err(error),
        };
        let code = code_of(response.error_code);
        match code {
            ErrorCode::None => {}
            ErrorCode::MemberIdRequired => {
                // KIP-394: join again at once with the id the coordinator chose.
                self.handle.state().member_id = response.member_id;
                return Ok(());
            }
            // As Java: a reset generation (and member id for UNKNOWN_MEMBER_ID) makes the
            // partitions still owned (cooperative) lost at the next round.
            ErrorCode::UnknownMemberId => {
                self.handle.lose_membership(true);
                return Ok(());
            }
            ErrorCode::IllegalGeneration => {
                self.handle.lose_membership(false);
                return Ok(());
            }
            ErrorCode::RebalanceInProgress => return Ok(()),
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress => {
                if code != ErrorCode::CoordinatorLoadInProgress {
                    self.handle.coordinator_failed();
                }
                return self.backoff(config, self.group_error(code)).await;
            }
            ErrorCode::FencedInstanceId => {
                self.handle.fence();
                return Err(Error::Fenced(
                    self.handle.group_instance_id.clone().unwrap_or_default(),
                ));
            }
            code => return Err(self.group_error(code)),
        }
        let generation = response.generation_id;
        let member_id = response.member_id.clone();
        let protocol_name = response.protocol_name.clone().unwrap_or_default();
        let assignments = if response.leader == member_id && !response.skip_assignment {
            self.assign(config, &protocol_name, &response.members)
                .await?
        } else {
            self.assigned_counts = None;
            Vec::new()
        };
        let request = SyncGroupRequest {
            group_id: self.handle.group_id.clone(),
            generation_id: generation,
            member_id: member_id.clone(),
            group_instance_id: self.handle.group_instance_id.clone(),
            protocol_type: Some(strom_group::CONSUMER_PROTOCOL_TYPE.to_owned()),
            protocol_name: Some(protocol_name),
            assignments,
            ..SyncGroupRequest::default()
        };
        let response = match self.handle.send(request, timeout).await {
            Ok(Response::SyncGroup(response)) => response,
            Ok(other) => return Err(unexpected(ApiKey::SyncGroup, &other)),
            Err(error) if error.is_retriable() => return self.backoff(config, error).await,
            Err(error) => return Err(error),
        };
        let code = code_of(response.error_code);
        match code {
            ErrorCode::None => {}
            ErrorCode::RebalanceInProgress => {
                {
                    let mut state = self.handle.state();
                    state.member_id = member_id;
                    state.generation = generation;
                }
                return Ok(());
            }
            ErrorCode::UnknownMemberId => {
                self.handle.lose_membership(true);
                return Ok(());
            }
            ErrorCode::IllegalGeneration => {
                self.handle.lose_membership(false);
                return Ok(());
            }
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress => {
                if code != ErrorCode::CoordinatorLoadInProgress {
                    self.handle.coordinator_failed();
                }
                return self.backoff(config, self.group_error(code)).await;
            }
            ErrorCode::FencedInstanceId => {
                self.handle.fence();
                return Err(Error::Fenced(
                    self.handle.group_instance_id.clone().unwrap_or_default(),
                ));
            }
            code => return Err(self.group_error(code)),
        }
        let assignment = Assignment::decode(&response.assignment)?;
        {
            let mut state = self.handle.state();
            state.member_id = member_id;
            state.generation = generation;
            state.stable = true;
            state.rejoin = false;
            state.lost = false;
            // Still inside poll: a long JoinGroup wait is not the application being slow.
            state.last_poll = Instant::now();
        }
        tracing::info!(
            group = self.handle.group_id,
            generation,
            partitions = assignment.partitions.len(),
            "joined the group"
        );
        self.start_heartbeat(config);
        let assigned: BTreeSet<TopicPartition> = assignment
            .partitions
            .iter()
            .map(|partition| TopicPartition::new(partition.topic.clone(), partition.partition.0))
            .collect();
        // KIP-429: give up what moved elsewhere, then rejoin so it can be handed out.
        let revoked: Vec<TopicPartition> = partitions
            .keys()
            .filter(|topic_partition| !assigned.contains(*topic_partition))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.handle.state().rejoin = true;
            self.revoke(config, partitions, &revoked).await?;
        }
        let added: Vec<TopicPartition> = assigned
            .into_iter()
            .filter(|topic_partition| !partitions.contains_key(topic_partition))
            .collect();
        for topic_partition in &added {
            partitions.insert(topic_partition.clone(), PartitionState::default());
        }
        self.on_assigned(partitions, &added).await
    }

    /// Runs the assignor chosen by the coordinator over the members' subscriptions.
    async fn assign(
        &mut self,
        config: &ConsumerConfig,
        protocol_name: &str,
        members: &[strom_protocol::messages::join_group::JoinGroupResponseMember],
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let Some(assignor) = Assignor::from_name(protocol_name) else {
            return Err(Error::Config(format!(
                "the group chose assignor {protocol_name:?}, which this consumer does not have"
            )));
        };
        if !config.partition_assignment_strategy.contains(&assignor) {
            return Err(Error::Config(format!(
                "the group chose assignor {protocol_name:?}, which is not configured"
            )));
        }
        let mut subscriptions = Vec::with_capacity(members.len());
        let mut topics: BTreeSet<String> = BTreeSet::new();
        for member in members {
            let subscription = Subscription::decode(&member.metadata)?;
            topics.extend(subscription.topics.iter().cloned());
            subscriptions.push(MemberSubscription {
                member_id: strom_group::MemberId(member.member_id.clone()),
                group_instance_id: member
                    .group_instance_id
                    .clone()
                    .map(strom_group::GroupInstanceId),
                subscription,
            });
        }
        let counts = self.partition_counts(&topics).await?;
        let assignment = assignor.assign(&subscriptions, &counts);
        self.assigned_counts = Some(counts);
        let mut res = Vec::with_capacity(assignment.len());
        for (member_id, partitions) in assignment {
            let bytes = Assignment {
                version: strom_group::LATEST_VERSION,
                partitions,
                user_data: None,
            }
            .encode()?;
            res.push(SyncGroupRequestAssignment {
                member_id: member_id.0,
                assignment: bytes::Bytes::from(bytes),
                ..SyncGroupRequestAssignment::default()
            });
        }
        Ok(res)
    }

    /// The partition count of each topic that exists.
    async fn partition_counts(&self, topics: &BTreeSet<String>) -> Result<PartitionsPerTopic> {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        let metadata = self.handle.client.metadata_for(&names).await?;
        Ok(topics
            .iter()
            .filter_map(|topic| Some((topic.clone(), metadata.partition_count(topic)?)))
            .collect())
    }

    /// [`Membership::check_metadata_now`]; a failure that retrying may fix is only logged (the
    /// next check tries again).
    async fn check_metadata(&mut self, config: &ConsumerConfig) -> Result<()> {
        match self.check_metadata_now(config).await {
            Err(error) if error.is_retriable() => {
                tracing::debug!(%error, "metadata check failed");
                Ok(())
            }
            res => res,
        }
    }

    /// Rejoin triggers from metadata, every `metadata.max.age.ms`: a pattern matching another
    /// set of topics, a subscription that changed since the last join, and (as leader) a
    /// partition count that changed since the last assignment.
    async fn check_metadata_now(&mut self, config: &ConsumerConfig) -> Result<()> {
        let now = Instant::now();
        if now < self.next_metadata_check {
            if self.topics != self.joined_topics {
                self.handle.request_rejoin();
            }
            return Ok(());
        }
        self.next_metadata_check = now + config.client.metadata_max_age;
        if let Topics::Pattern(regex) = &self.subscription {
            let request = MetadataRequest {
                topics: None,
                allow_auto_topic_creation: false,
                ..MetadataRequest::default()
            };
            let response = match self.handle.client.send_any(request).await? {
                Response::Metadata(response) => response,
                other => return Err(unexpected(ApiKey::Metadata, &other)),
            };
            let matched: BTreeSet<String> = response
                .topics
                .iter()
                .filter(|topic| !topic.is_internal && topic.error_code == 0)
                .filter_map(|topic| topic.name.clone())
                .filter(|name| !name.starts_with("__") && regex.is_match(name))
                .collect();
            if matched != self.topics {
                tracing::info!(topics = ?matched, "subscription pattern matches other topics");
                self.topics = matched;
            }
        }
        if self.topics != self.joined_topics {
            self.handle.request_rejoin();
        }
        if let Some(assigned) = &self.assigned_counts {
            let topics: BTreeSet<String> = assigned
                .keys()
                .cloned()
                .chain(self.topics.iter().cloned())
                .collect();
            let counts = self.partition_counts(&topics).await?;
            let changed = topics
                .iter()
                .any(|topic| counts.get(topic) != assigned.get(topic));
            if changed {
                tracing::info!("partition counts changed since the assignment; rebalancing");
                self.handle.request_rejoin();
            }
        }
        Ok(())
    }

    /// Gives up `revoked`: auto commit of their positions, `on_revoked` (and the commits it
    /// asked for), then their state and buffered records are dropped.
    async fn revoke(
        &mut self,
        config: &ConsumerConfig,
        partitions: &mut BTreeMap<TopicPartition, PartitionState>,
        revoked: &[TopicPartition],
    ) -> Result<()> {
        let all = positions(partitions);
        let revoked_positions: BTreeMap<TopicPartition, Offset> = revoked
            .iter()
            .filter_map(|topic_partition| {
                Some((topic_partition.clone(), *all.get(topic_partition)?))
            })
            .collect();
        let mut res = Ok(());
        if config.enable_auto_commit
            && let Err(error) = self.handle.commit(&to_commit(&revoked_positions)).await
        {
            tracing::warn!(%error, "commit before revocation failed");
        }
        if let Some(listener) = self.listener.as_mut() {
            let listener = listener.get_mut().unwrap_or_else(PoisonError::into_inner);
            let mut context = RebalanceContext::new(revoked_positions);
            listener.on_revoked(revoked, &mut context);
            let (commits, _) = context.into_requests();
            res = self.handle.commit(&commits).await;
        }
        for topic_partition in revoked {
            partitions.remove(topic_partition);
        }
        res
    }

    /// Tells the listener about `added` and positions them: a seek from the listener, else the
    /// committed offset, else `auto.offset.reset` (left to the fetch loop).
    async fn on_assigned(
        &mut self,
        partitions: &mut BTreeMap<TopicPartition, PartitionState>,
        added: &[TopicPartition],
    ) -> Result<()> {
        self.awaiting_committed.extend(added.iter().cloned());
        let mut res = Ok(());
        if let Some(listener) = self.listener.as_mut() {
            let listener = listener.get_mut().unwrap_or_else(PoisonError::into_inner);
            let mut context = RebalanceContext::default();
            listener.on_assigned(added, &mut context);
            let (commits, seeks) = context.into_requests();
            for (topic_partition, offset) in seeks {
                if let Some(state) = partitions.get_mut(&topic_partition)
                    && added.contains(&topic_partition)
                {
                    state.fetch_position = Some(offset);
                }
            }
            res = self.handle.commit(&commits).await;
        }
        self.position_from_committed(partitions).await?;
        res
    }

    /// Sets the position of new partitions without one to their committed offset. Until that
    /// succeeded, `poll_group` fails instead of returning, so that the fetch loop does not
    /// apply `auto.offset.reset` to a partition that has a committed offset.
    async fn position_from_committed(
        &mut self,
        partitions: &mut BTreeMap<TopicPartition, PartitionState>,
    ) -> Result<()> {
        self.awaiting_committed.retain(|topic_partition| {
            partitions
                .get(topic_partition)
                .is_some_and(|state| state.fetch_position.is_none() && state.reset.is_none())
        });
        if self.awaiting_committed.is_empty() {
            return Ok(());
        }
        let awaiting: Vec<TopicPartition> = self.awaiting_committed.iter().cloned().collect();
        let committed = self.handle.committed(&awaiting).await?;
        for (topic_partition, value) in committed {
            if let (Some(value), Some(state)) = (value, partitions.get_mut(&topic_partition)) {
                state.fetch_position = Some(value.offset);
            }
        }
        self.awaiting_committed.clear();
        Ok(())
    }

    fn start_heartbeat(&mut self, config: &ConsumerConfig) {
        if self
            .heartbeat
            .as_ref()
            .is_some_and(|heartbeat| !heartbeat.is_finished())
        {
            return;
        }
        let heartbeat_config = HeartbeatConfig {
            interval: config.heartbeat_interval,
            max_poll_interval: config.max_poll_interval,
        };
        self.heartbeat = Some(tokio::spawn(heartbeat_loop(
            self.handle.clone(),
            heartbeat_config,
        )));
    }

    /// Waits a backoff after a retriable failure; the caller's loop joins again.
    async fn backoff(&self, config: &ConsumerConfig, error: Error) -> Result<()> {
        tracing::debug!(%error, group = self.handle.group_id, "rebalance failed, retrying");
        tokio::time::sleep(config.client.retry_backoff).await;
        Ok(())
    }

    fn group_error(&self, code: ErrorCode) -> Error {
        Error::Group {
            group_id: self.handle.group_id.clone(),
            code,
        }
    }
}

/// Reports every owned partition lost and drops them (no commit: they may be someone else's).
fn lose_partitions(
    group: &mut Membership,
    partitions: &mut BTreeMap<TopicPartition, PartitionState>,
) {
    group.handle.state().lost = false;
    if partitions.is_empty() {
        return;
    }
    let lost: Vec<TopicPartition> = partitions.keys().cloned().collect();
    tracing::warn!(
        partitions = lost.len(),
        group = group.handle.group_id,
        "membership lost"
    );
    if let Some(listener) = group.listener.as_mut() {
        let listener = listener.get_mut().unwrap_or_else(PoisonError::into_inner);
        listener.on_lost(&lost);
    }
    partitions.clear();
}

/// The position of every partition whose position is known: the first buffered record, else
/// the next fetch offset.
fn positions(
    partitions: &BTreeMap<TopicPartition, PartitionState>,
) -> BTreeMap<TopicPartition, Offset> {
    partitions
        .iter()
        .filter_map(|(topic_partition, state)| {
            let position = state
                .buffered
                .front()
                .map(|record| record.offset)
                .or(state.fetch_position)?;
            Some((topic_partition.clone(), position))
        })
        .collect()
}

fn to_commit(
    positions: &BTreeMap<TopicPartition, Offset>,
) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
    positions
        .iter()
        .map(|(topic_partition, offset)| {
            let value = OffsetAndMetadata {
                offset: *offset,
                metadata: String::new(),
            };
            (topic_partition.clone(), value)
        })
        .collect()
}

fn to_group_partition(topic_partition: &TopicPartition) -> strom_group::TopicPartition {
    strom_group::TopicPartition::new(topic_partition.topic.clone(), topic_partition.partition)
}

fn no_group_id(what: &str) -> Error {
    Error::Config(format!("{what} needs group.id to be set"))
}

fn code_of(code: i16) -> ErrorCode {
    ErrorCode::try_from(code).unwrap_or(ErrorCode::UnknownServerError)
}

fn millis(duration: std::time::Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

fn unexpected(expected: ApiKey, response: &Response) -> Error {
    Error::Client(strom_client::Error::UnexpectedResponse {
        expected,
        actual: response.api_key(),
    })
}
