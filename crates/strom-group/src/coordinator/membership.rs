//! Classic-protocol membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, and the rebalance
//! transitions and timeouts behind them, following Kafka's `GroupCoordinator`.
//!
//! Offsets are not handled here (see `offsets.rs`).

use crate::coordinator::{Coordinator, Ctx, Effect, Output, instance_matches};
use crate::error::GroupError;
use crate::group::{Group, GroupState, JoinWaiter, Member};
use crate::ids::{GenerationId, MemberId, TimeMs, Token};
use crate::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, LeftMember, SyncGroupRequest, SyncGroupResponse,
};

impl Coordinator {
    /// JoinGroup. The answer comes as `Effect::Respond` with `token`, now or when the rebalance
    /// completes (from another member's request or from `tick`).
    pub fn join_group(
        &mut self,
        token: Token,
        request: JoinGroupRequest,
        now: TimeMs,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let error = |error: GroupError| JoinGroupResponse {
            error: Some(error),
            member_id: request.member_id.clone(),
            ..JoinGroupResponse::default()
        };
        let partition = match self.check_partition(&group_id) {
            Ok(partition) => partition,
            Err(code) => {
                effects.push(join_effect(token, error(code)));
                return effects;
            }
        };
        let session_timeout_ms = u64::try_from(request.session_timeout_ms).unwrap_or(0);
        if session_timeout_ms < self.config.group_min_session_timeout_ms
            || session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            effects.push(join_effect(token, error(GroupError::InvalidSessionTimeout)));
            return effects;
        }
        let mut group = match (self.take_group(&group_id), &request.member_id) {
            (Some(group), _) => group,
            (None, None) => Group::new(group_id.clone(), partition, now),
            (None, Some(_)) => {
                effects.push(join_effect(token, error(GroupError::UnknownMemberId)));
                return effects;
            }
        };
        if !accepts_joining_member(&group, &request, self.config.group_max_size) {
            effects.push(join_effect(token, error(GroupError::GroupMaxSizeReached)));
            self.put_group(group);
            return effects;
        }
        let new_member_id = match request.member_id {
            None => Some(self.generate_member_id(&request.client_id)),
            Some(_) => None,
        };
        let mut ctx = Ctx {
            config: &self.config,
            now,
            effects: &mut effects,
        };
        match new_member_id {
            Some(member_id) => join_unknown_member(&mut group, member_id, token, request, &mut ctx),
            None => join_known_member(&mut group, token, request, &mut ctx),
        }
        self.put_group(group);
        self.finish(&[group_id], now, &mut effects);
        effects
    }

    /// SyncGroup. The leader's request completes everyone's; followers that sync before the
    /// leader wait. The answer comes as `Effect::Respond` with `token`.
    pub fn sync_group(
        &mut self,
        token: Token,
        request: SyncGroupRequest,
        now: TimeMs,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let fail = |effects: &mut Vec<Effect>, error: GroupError| {
            let response = SyncGroupResponse {
                error: Some(error),
                ..SyncGroupResponse::default()
            };
            effects.push(Effect::Respond {
                token,
                response: super::DelayedResponse::SyncGroup(response),
            });
        };
        if let Err(error) = self.check_partition(&group_id) {
            fail(&mut effects, error);
            return effects;
        }
        let Some(mut group) = self.take_group(&group_id) else {
            fail(&mut effects, GroupError::UnknownMemberId);
            return effects;
        };
        let mut ctx = Ctx {
            config: &self.config,
            now,
            effects: &mut effects,
        };
        if let Err(error) = sync(&mut group, token, request, &mut ctx) {
            fail(ctx.effects, error);
        }
        self.put_group(group);
        self.finish(&[group_id], now, &mut effects);
        effects
    }

    /// Heartbeat: keeps the member's session alive and tells it about rebalances.
    pub fn heartbeat(
        &mut self,
        request: HeartbeatRequest,
        now: TimeMs,
    ) -> Output<HeartbeatResponse> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let error = match self.check_partition(&group_id) {
            Err(error) => Some(error),
            Ok(_) => match self.groups.get_mut(&group_id) {
                None => Some(GroupError::UnknownMemberId),
                Some(group) => heartbeat(group, &request, now).err(),
            },
        };
        self.finish(&[group_id], now, &mut effects);
        Output {
            response: HeartbeatResponse { error },
            effects,
        }
    }

    /// LeaveGroup, for one member (v0-2) or a batch (v3+).
    pub fn leave_group(
        &mut self,
        request: LeaveGroupRequest,
        now: TimeMs,
    ) -> Output<LeaveGroupResponse> {
        let mut effects = Vec::new();
        let group_id = request.group_id.clone();
        let results = |error: GroupError| -> Vec<LeftMember> {
            request
                .members
                .iter()
                .map(|member| LeftMember {
                    member_id: member.member_id.clone(),
                    group_instance_id: member.group_instance_id.clone(),
                    error: Some(error),
                })
                .collect()
        };
        if let Err(error) = self.check_partition(&group_id) {
            let response = LeaveGroupResponse {
                error: Some(error),
                members: Vec::new(),
            };
            return Output { response, effects };
        }
        let Some(mut group) = self.take_group(&group_id) else {
            let members = results(GroupError::UnknownMemberId);
            return Output {
                response: LeaveGroupResponse {
                    error: None,
                    members,
                },
                effects,
            };
        };
        let mut ctx = Ctx {
            config: &self.config,
            now,
            effects: &mut effects,
        };
        let response = leave(&mut group, &request, &mut ctx);
        self.put_group(group);
        self.finish(&[group_id], now, &mut effects);
        Output { response, effects }
    }
}

fn join_effect(token: Token, response: JoinGroupResponse) -> Effect {
    Effect::Respond {
        token,
        response: super::DelayedResponse::JoinGroup(response),
    }
}

/// Kafka's `acceptJoiningMember`: `group.max.size` counts members that are in the next
/// generation.
fn accepts_joining_member(group: &Group, request: &JoinGroupRequest, max_size: usize) -> bool {
    // A static member that rejoins under a new member id replaces itself, so it counts as known.
    let static_member_id = request
        .group_instance_id
        .as_ref()
        .and_then(|instance| group.static_members.get(instance));
    let member_id = request.member_id.as_ref().or(static_member_id);
    let member = member_id.and_then(|member_id| group.member(member_id));
    match group.state {
        GroupState::Empty | GroupState::Dead => true,
        GroupState::PreparingRebalance => {
            let awaiting = group
                .members
                .iter()
                .filter(|member| member.awaiting_join.is_some())
                .count();
            member.is_some_and(|member| member.awaiting_join.is_some()) || awaiting < max_size
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            member.is_some() || group.members.len() < max_size
        }
    }
}

fn error_join(error: GroupError, member_id: Option<MemberId>) -> JoinGroupResponse {
    JoinGroupResponse {
        error: Some(error),
        member_id,
        ..JoinGroupResponse::default()
    }
}

/// A JoinGroup without a member id.
fn join_unknown_member(
    group: &mut Group,
    member_id: MemberId,
    token: Token,
    request: JoinGroupRequest,
    ctx: &mut Ctx<'_>,
) {
    if group.state == GroupState::Dead {
        ctx.respond_join(token, error_join(GroupError::CoordinatorNotAvailable, None));
        return;
    }
    if !group.supports_protocols(&request.protocol_type, &request.protocols) {
        ctx.respond_join(
            token,
            error_join(GroupError::InconsistentGroupProtocol, None),
        );
        return;
    }
    if let Some(instance) = &request.group_instance_id {
        match group.static_members.get(instance).cloned() {
            Some(old_member_id) => {
                replace_static_member(group, old_member_id, member_id, token, request, ctx);
            }
            None => add_member_and_rebalance(group, member_id, token, request, ctx),
        }
        return;
    }
    if request.require_known_member_id {
        // The client must retry with this id; until it does (or its session passes) the
        // rebalance waits for it.
        let deadline = ctx.now.plus_ms(session_timeout(&request));
        group.pending_members.insert(member_id.clone(), deadline);
        ctx.respond_join(
            token,
            error_join(GroupError::MemberIdRequired, Some(member_id)),
        );
        return;
    }
    add_member_and_rebalance(group, member_id, token, request, ctx);
}

/// A JoinGroup with a member id.
fn join_known_member(
    group: &mut Group,
    token: Token,
    request: JoinGroupRequest,
    ctx: &mut Ctx<'_>,
) {
    let member_id = request
        .member_id
        .clone()
        .expect("the caller checked for a member id");
    let fail = |ctx: &mut Ctx<'_>, error| {
        ctx.respond_join(token, error_join(error, Some(member_id.clone())))
    };
    if group.state == GroupState::Dead {
        return fail(ctx, GroupError::CoordinatorNotAvailable);
    }
    if !group.supports_protocols(&request.protocol_type, &request.protocols) {
        return fail(ctx, GroupError::InconsistentGroupProtocol);
    }
    if group.pending_members.contains_key(&member_id) {
        if request.group_instance_id.is_some() {
            // Static members never get MEMBER_ID_REQUIRED, so this id was not issued to one.
            return fail(ctx, GroupError::UnknownMemberId);
        }
        group.pending_members.remove(&member_id);
        add_member_and_rebalance(group, member_id, token, request, ctx);
        return;
    }
    if let Err(error) = instance_matches(group, request.group_instance_id.as_ref(), &member_id) {
        return fail(ctx, error);
    }
    let unchanged = group
        .member(&member_id)
        .is_some_and(|member| member.protocols == request.protocols);
    match group.state {
        GroupState::PreparingRebalance => {
            update_member_and_rebalance(group, &member_id, token, request, ctx)
        }
        GroupState::CompletingRebalance if unchanged => {
            // It probably missed its JoinGroup response: send the current generation again.
            refresh_heartbeat(group, &member_id, ctx.now);
            let is_leader = group.is_leader(&member_id);
            let response = current_generation_response(group, &member_id, is_leader, false, None);
            ctx.respond_join(token, response);
        }
        GroupState::Stable if unchanged && !group.is_leader(&member_id) => {
            // A follower rejoining with the same metadata changes nothing.
            refresh_heartbeat(group, &member_id, ctx.now);
            let response = current_generation_response(group, &member_id, false, false, None);
            ctx.respond_join(token, response);
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            update_member_and_rebalance(group, &member_id, token, request, ctx);
        }
        GroupState::Empty | GroupState::Dead => fail(ctx, GroupError::UnknownMemberId),
    }
}

fn session_timeout(request: &JoinGroupRequest) -> u64 {
    u64::try_from(request.session_timeout_ms).unwrap_or(0)
}

/// JoinGroup v0 has no rebalance timeout; the broker may pass 0 (or the wire's -1), which
/// means the session timeout, as Kafka uses for v0.
fn rebalance_timeout(request: &JoinGroupRequest) -> u64 {
    match u64::try_from(request.rebalance_timeout_ms) {
        Ok(rebalance_timeout_ms) if rebalance_timeout_ms > 0 => rebalance_timeout_ms,
        _ => session_timeout(request),
    }
}

fn current_generation_response(
    group: &Group,
    member_id: &MemberId,
    with_members: bool,
    skip_assignment: bool,
    leader: Option<MemberId>,
) -> JoinGroupResponse {
    JoinGroupResponse {
        error: None,
        generation_id: Some(group.generation_id),
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader: leader.or_else(|| group.leader.clone()),
        skip_assignment,
        member_id: Some(member_id.clone()),
        members: if with_members {
            group.join_members()
        } else {
            Vec::new()
        },
    }
}

fn add_member_and_rebalance(
    group: &mut Group,
    member_id: MemberId,
    token: Token,
    request: JoinGroupRequest,
    ctx: &mut Ctx<'_>,
) {
    let member = Member {
        member_id,
        group_instance_id: request.group_instance_id.clone(),
        client_id: request.client_id.clone(),
        client_host: request.client_host.clone(),
        rebalance_timeout_ms: rebalance_timeout(&request),
        session_timeout_ms: session_timeout(&request),
        protocols: request.protocols,
        assignment: Vec::new(),
        awaiting_join: Some(JoinWaiter { token }),
        awaiting_sync: None,
        is_new: true,
        heartbeat_deadline: Some(ctx.now.plus_ms(ctx.config.group_new_member_join_timeout_ms)),
    };
    if group.state == GroupState::PreparingRebalance && group.generation_id == GenerationId(0) {
        group.new_member_added = true;
    }
    group.add(member, &request.protocol_type);
    maybe_prepare_rebalance(group, ctx);
}

fn update_member_and_rebalance(
    group: &mut Group,
    member_id: &MemberId,
    token: Token,
    request: JoinGroupRequest,
    ctx: &mut Ctx<'_>,
) {
    let Some(member) = group.member_mut(member_id) else {
        return;
    };
    member.protocols = request.protocols.clone();
    member.rebalance_timeout_ms = rebalance_timeout(&request);
    member.session_timeout_ms = session_timeout(&request);
    if let Some(previous) = member.awaiting_join.replace(JoinWaiter { token }) {
        // A retried JoinGroup replaces the earlier one; answer the earlier so its token does
        // not wait forever (the client has given up on it already).
        let response = error_join(GroupError::RebalanceInProgress, Some(member_id.clone()));
        ctx.respond_join(previous.token, response);
    }
    maybe_prepare_rebalance(group, ctx);
}

/// KIP-345: a static member rejoins with a new member id; the old id is fenced. If its
/// protocols would not change the selected protocol, the group keeps its assignment and no
/// rebalance happens.
fn replace_static_member(
    group: &mut Group,
    old_member_id: MemberId,
    new_member_id: MemberId,
    token: Token,
    request: JoinGroupRequest,
    ctx: &mut Ctx<'_>,
) {
    let previous_leader = group.leader.clone();
    let Some(member) = group.member_mut(&old_member_id) else {
        return;
    };
    fail_waiters(member, GroupError::FencedInstanceId, ctx);
    member.member_id = new_member_id.clone();
    member.protocols = request.protocols.clone();
    member.rebalance_timeout_ms = rebalance_timeout(&request);
    member.session_timeout_ms = session_timeout(&request);
    member.heartbeat_deadline = Some(ctx.now.plus_ms(member.session_timeout_ms));
    if let Some(instance) = &request.group_instance_id {
        group
            .static_members
            .insert(instance.clone(), new_member_id.clone());
    }
    if group.leader.as_ref() == Some(&old_member_id) {
        group.leader = Some(new_member_id.clone());
    }
    if group.pending_sync.remove(&old_member_id) {
        group.pending_sync.insert(new_member_id.clone());
    }
    match group.state {
        GroupState::Stable if group.select_protocol() == group.protocol_name => {
            ctx.persist_group(group);
            let is_leader = group.is_leader(&new_member_id);
            let skip = is_leader && request.supports_skip_assignment;
            // Older clients must not think they lead, or they would assign with no member
            // list: they get the leader id from before the replacement (as Kafka does).
            let leader = if request.supports_skip_assignment {
                None
            } else {
                previous_leader
            };
            let response = current_generation_response(group, &new_member_id, skip, skip, leader);
            ctx.respond_join(token, response);
        }
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::PreparingRebalance => {
            if let Some(member) = group.member_mut(&new_member_id) {
                member.awaiting_join = Some(JoinWaiter { token });
            }
            // In CompletingRebalance the leader may be assigning to the old member id, so the
            // generation has to be redone.
            if group.state == GroupState::CompletingRebalance {
                prepare_rebalance(group, ctx);
            }
            maybe_prepare_rebalance(group, ctx);
        }
        GroupState::Empty | GroupState::Dead => {
            ctx.respond_join(token, error_join(GroupError::UnknownMemberId, None));
        }
    }
}

/// Answers a member's waiting JoinGroup and SyncGroup with `error`.
pub(crate) fn fail_waiters(member: &Member, error: GroupError, ctx: &mut Ctx<'_>) {
    if let Some(waiter) = member.awaiting_join {
        ctx.respond_join(
            waiter.token,
            error_join(error, Some(member.member_id.clone())),
        );
    }
    if let Some(token) = member.awaiting_sync {
        ctx.respond_sync(
            token,
            SyncGroupResponse {
                error: Some(error),
                ..SyncGroupResponse::default()
            },
        );
    }
}

fn maybe_prepare_rebalance(group: &mut Group, ctx: &mut Ctx<'_>) {
    if matches!(
        group.state,
        GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty
    ) {
        prepare_rebalance(group, ctx);
    }
    try_complete_join(group, ctx);
}

/// Starts a rebalance: waiting SyncGroups are told to rejoin, and members get the rebalance
/// timeout (or, for a group that was empty, the initial rebalance delay) to join.
fn prepare_rebalance(group: &mut Group, ctx: &mut Ctx<'_>) {
    if group.state == GroupState::CompletingRebalance {
        for member in &mut group.members {
            member.assignment.clear();
            if let Some(token) = member.awaiting_sync.take() {
                let response = SyncGroupResponse {
                    error: Some(GroupError::RebalanceInProgress),
                    ..SyncGroupResponse::default()
                };
                ctx.respond_sync(token, response);
            }
        }
    }
    group.sync_deadline = None;
    group.pending_sync.clear();
    let rebalance_timeout_ms = group.rebalance_timeout_ms();
    if group.state == GroupState::Empty {
        let delay_ms = ctx.config.group_initial_rebalance_delay_ms;
        group.initial_delay_remaining_ms = Some(rebalance_timeout_ms.saturating_sub(delay_ms));
        group.join_deadline = Some(ctx.now.plus_ms(delay_ms));
    } else {
        group.initial_delay_remaining_ms = None;
        group.join_deadline = Some(ctx.now.plus_ms(rebalance_timeout_ms));
    }
    group.transition(GroupState::PreparingRebalance, ctx.now);
}

/// Completes the join phase early once every member has rejoined (not during the initial
/// delay, which always runs its course).
fn try_complete_join(group: &mut Group, ctx: &mut Ctx<'_>) {
    if group.state == GroupState::PreparingRebalance
        && group.initial_delay_remaining_ms.is_none()
        && group.all_members_joined()
    {
        complete_join(group, ctx);
    }
}

/// Ends the join phase: dynamic members that did not rejoin are removed, a leader that did not
/// rejoin is replaced, the generation advances and every waiting JoinGroup is answered.
fn complete_join(group: &mut Group, ctx: &mut Ctx<'_>) {
    group.join_deadline = None;
    group.initial_delay_remaining_ms = None;
    let gone: Vec<MemberId> = group
        .members
        .iter()
        .filter(|member| member.awaiting_join.is_none() && member.group_instance_id.is_none())
        .map(|member| member.member_id.clone())
        .collect();
    for member_id in gone {
        if let Some(member) = group.remove(&member_id) {
            fail_waiters(&member, GroupError::UnknownMemberId, ctx);
        }
    }
    if !elect_joined_leader(group) && !group.members.is_empty() {
        // Only static members that did not rejoin are left: wait for them (or their sessions).
        group.join_deadline = Some(ctx.now.plus_ms(group.rebalance_timeout_ms().max(1)));
        return;
    }
    group.generation_id = GenerationId(group.generation_id.0.wrapping_add(1));
    if group.members.is_empty() {
        group.protocol_name = None;
        group.transition(GroupState::Empty, ctx.now);
        ctx.persist_group(group);
        return;
    }
    group.protocol_name = group.select_protocol();
    group.transition(GroupState::CompletingRebalance, ctx.now);
    group.pending_sync = group
        .members
        .iter()
        .map(|member| member.member_id.clone())
        .collect();
    group.sync_deadline = Some(ctx.now.plus_ms(group.rebalance_timeout_ms()));
    let leader_members = group.join_members();
    for index in 0..group.members.len() {
        let member = &group.members[index];
        let member_id = member.member_id.clone();
        let waiter = member.awaiting_join;
        let session_timeout_ms = member.session_timeout_ms;
        let is_leader = group.is_leader(&member_id);
        let response = JoinGroupResponse {
            error: None,
            generation_id: Some(group.generation_id),
            protocol_type: group.protocol_type.clone(),
            protocol_name: group.protocol_name.clone(),
            leader: group.leader.clone(),
            skip_assignment: false,
            member_id: Some(member_id),
            members: if is_leader {
                leader_members.clone()
            } else {
                Vec::new()
            },
        };
        let member = &mut group.members[index];
        member.awaiting_join = None;
        member.is_new = false;
        member.heartbeat_deadline = Some(ctx.now.plus_ms(session_timeout_ms));
        if let Some(waiter) = waiter {
            ctx.respond_join(waiter.token, response);
        }
    }
}

/// Makes sure the leader is a member that rejoined; false if no member rejoined.
fn elect_joined_leader(group: &mut Group) -> bool {
    let leader_joined = group
        .leader
        .as_ref()
        .and_then(|leader| group.member(leader))
        .is_some_and(|leader| leader.awaiting_join.is_some());
    if leader_joined {
        return true;
    }
    match group
        .members
        .iter()
        .find(|member| member.awaiting_join.is_some())
    {
        Some(member) => {
            group.leader = Some(member.member_id.clone());
            true
        }
        None => false,
    }
}

fn refresh_heartbeat(group: &mut Group, member_id: &MemberId, now: TimeMs) {
    if let Some(member) = group.member_mut(member_id) {
        member.heartbeat_deadline = Some(now.plus_ms(member.session_timeout_ms));
    }
}

fn sync(
    group: &mut Group,
    token: Token,
    request: SyncGroupRequest,
    ctx: &mut Ctx<'_>,
) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    instance_matches(
        group,
        request.group_instance_id.as_ref(),
        &request.member_id,
    )?;
    if request.generation_id != group.generation_id {
        return Err(GroupError::IllegalGeneration);
    }
    let type_differs = request
        .protocol_type
        .as_ref()
        .is_some_and(|name| Some(name) != group.protocol_type.as_ref());
    let name_differs = request
        .protocol_name
        .as_ref()
        .is_some_and(|name| Some(name) != group.protocol_name.as_ref());
    if type_differs || name_differs {
        return Err(GroupError::InconsistentGroupProtocol);
    }
    match group.state {
        GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
        GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
        GroupState::CompletingRebalance => {
            refresh_heartbeat(group, &request.member_id, ctx.now);
            group.pending_sync.remove(&request.member_id);
            if let Some(member) = group.member_mut(&request.member_id)
                && let Some(previous) = member.awaiting_sync.replace(token)
            {
                let response = SyncGroupResponse {
                    error: Some(GroupError::RebalanceInProgress),
                    ..SyncGroupResponse::default()
                };
                ctx.respond_sync(previous, response);
            }
            if group.is_leader(&request.member_id) {
                // Members the leader left out get an empty assignment; unknown ids are ignored.
                for member in &mut group.members {
                    member.assignment = request
                        .assignments
                        .iter()
                        .find(|assignment| assignment.member_id == member.member_id)
                        .map(|assignment| assignment.assignment.clone())
                        .unwrap_or_default();
                }
                group.transition(GroupState::Stable, ctx.now);
                ctx.persist_group(group);
                for member in &mut group.members {
                    if let Some(token) = member.awaiting_sync.take() {
                        let response = SyncGroupResponse {
                            error: None,
                            protocol_type: group.protocol_type.clone(),
                            protocol_name: group.protocol_name.clone(),
                            assignment: member.assignment.clone(),
                        };
                        ctx.respond_sync(token, response);
                    }
                }
            }
            if group.pending_sync.is_empty() {
                group.sync_deadline = None;
            }
            Ok(())
        }
        GroupState::Stable => {
            refresh_heartbeat(group, &request.member_id, ctx.now);
            group.pending_sync.remove(&request.member_id);
            if group.pending_sync.is_empty() {
                group.sync_deadline = None;
            }
            let assignment = group
                .member(&request.member_id)
                .map(|member| member.assignment.clone());
            let response = SyncGroupResponse {
                error: None,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                assignment: assignment.unwrap_or_default(),
            };
            ctx.respond_sync(token, response);
            Ok(())
        }
    }
}

fn heartbeat(group: &mut Group, request: &HeartbeatRequest, now: TimeMs) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    instance_matches(
        group,
        request.group_instance_id.as_ref(),
        &request.member_id,
    )?;
    if request.generation_id != group.generation_id {
        return Err(GroupError::IllegalGeneration);
    }
    match group.state {
        GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
        GroupState::PreparingRebalance => {
            refresh_heartbeat(group, &request.member_id, now);
            Err(GroupError::RebalanceInProgress)
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            refresh_heartbeat(group, &request.member_id, now);
            Ok(())
        }
    }
}

fn leave(group: &mut Group, request: &LeaveGroupRequest, ctx: &mut Ctx<'_>) -> LeaveGroupResponse {
    if group.state == GroupState::Dead {
        return LeaveGroupResponse {
            error: Some(GroupError::CoordinatorNotAvailable),
            members: Vec::new(),
        };
    }
    let mut members = Vec::new();
    for leaving in &request.members {
        let error = match &leaving.member_id {
            None => match leaving
                .group_instance_id
                .as_ref()
                .and_then(|instance| group.static_members.get(instance))
                .cloned()
            {
                None => Some(GroupError::UnknownMemberId),
                Some(member_id) => {
                    remove_member_and_update_group(group, &member_id, ctx);
                    None
                }
            },
            Some(member_id) if group.pending_members.contains_key(member_id) => {
                group.pending_members.remove(member_id);
                try_complete_join(group, ctx);
                None
            }
            Some(member_id) => {
                match instance_matches(group, leaving.group_instance_id.as_ref(), member_id) {
                    Err(error) => Some(error),
                    Ok(()) => {
                        remove_member_and_update_group(group, member_id, ctx);
                        None
                    }
                }
            }
        };
        members.push(LeftMember {
            member_id: leaving.member_id.clone(),
            group_instance_id: leaving.group_instance_id.clone(),
            error,
        });
    }
    LeaveGroupResponse {
        error: None,
        members,
    }
}

/// Removes a member (left, expired or fenced) and rebalances the rest.
fn remove_member_and_update_group(group: &mut Group, member_id: &MemberId, ctx: &mut Ctx<'_>) {
    let Some(member) = group.remove(member_id) else {
        return;
    };
    fail_waiters(&member, GroupError::UnknownMemberId, ctx);
    match group.state {
        GroupState::Dead | GroupState::Empty => {}
        GroupState::Stable | GroupState::CompletingRebalance => maybe_prepare_rebalance(group, ctx),
        GroupState::PreparingRebalance => try_complete_join(group, ctx),
    }
}

/// Handles whatever is due in the group at `ctx.now`.
pub(crate) fn on_deadlines(group: &mut Group, ctx: &mut Ctx<'_>) {
    let now = ctx.now;
    let expired_pending: Vec<MemberId> = group
        .pending_members
        .iter()
        .filter(|(_, deadline)| **deadline <= now)
        .map(|(member_id, _)| member_id.clone())
        .collect();
    for member_id in expired_pending {
        group.pending_members.remove(&member_id);
        try_complete_join(group, ctx);
    }

    let expired: Vec<MemberId> = group
        .members
        .iter()
        .filter(|member| {
            member
                .heartbeat_deadline
                .is_some_and(|deadline| deadline <= now)
        })
        .map(|member| member.member_id.clone())
        .collect();
    for member_id in expired {
        // Decide now, not when collected: removing an earlier member may have completed the
        // join and given this one a new deadline.
        let Some(member) = group.member_mut(&member_id) else {
            continue;
        };
        if member
            .heartbeat_deadline
            .is_none_or(|deadline| deadline > now)
        {
            continue;
        }
        // Members waiting on a rebalance are alive by definition, except new members that
        // never completed a join (KIP-394).
        let satisfied =
            !member.is_new && (member.awaiting_join.is_some() || member.awaiting_sync.is_some());
        if satisfied {
            member.heartbeat_deadline = None;
        } else {
            remove_member_and_update_group(group, &member_id, ctx);
        }
    }

    if group.join_deadline.is_some_and(|deadline| deadline <= now)
        && group.state == GroupState::PreparingRebalance
    {
        on_join_deadline(group, ctx);
    } else if group.join_deadline.is_some_and(|deadline| deadline <= now) {
        group.join_deadline = None;
    }

    if group.sync_deadline.is_some_and(|deadline| deadline <= now) {
        group.sync_deadline = None;
        if matches!(
            group.state,
            GroupState::CompletingRebalance | GroupState::Stable
        ) && !group.pending_sync.is_empty()
        {
            let unsynced: Vec<MemberId> = group.pending_sync.iter().cloned().collect();
            for member_id in unsynced {
                if let Some(member) = group.remove(&member_id) {
                    fail_waiters(&member, GroupError::UnknownMemberId, ctx);
                }
            }
            prepare_rebalance(group, ctx);
            try_complete_join(group, ctx);
        }
    }
}

/// The join phase's time is up: either the initial delay is extended because members keep
/// arriving, or the join completes with whoever rejoined.
fn on_join_deadline(group: &mut Group, ctx: &mut Ctx<'_>) {
    let delay_ms = ctx.config.group_initial_rebalance_delay_ms;
    if let Some(remaining_ms) = group.initial_delay_remaining_ms
        && group.new_member_added
        && remaining_ms > 0
        && delay_ms > 0
    {
        group.new_member_added = false;
        let delay_ms = delay_ms.min(remaining_ms);
        group.initial_delay_remaining_ms = Some(remaining_ms - delay_ms);
        group.join_deadline = Some(ctx.now.plus_ms(delay_ms));
        return;
    }
    complete_join(group, ctx);
}
