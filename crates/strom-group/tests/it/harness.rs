//! A test driver for the coordinator: injected time, broker-side tokens, and a text log of
//! every effect with member ids replaced by short aliases (m1, m2, ...) in order of appearance.

use std::collections::BTreeMap;
use std::fmt::Write;

use strom_group::{
    Config, Coordinator, DelayedResponse, Effect, GenerationId, GroupId, GroupInstanceId,
    HeartbeatRequest, JoinGroupProtocol, JoinGroupRequest, LeaveGroupRequest, LeavingMember,
    LoadRecord, MemberId, Offset, OffsetCommitPartition, OffsetCommitRequest, OffsetsPartition,
    OffsetsRecord, ProducerId, RecordKey, RecordValue, SyncGroupAssignment, SyncGroupRequest,
    TimeMs, Token, TopicPartition,
};

pub const GROUP: &str = "g";

/// Test settings: one offsets partition, short timeouts.
pub fn config() -> Config {
    Config {
        offsets_topic_partitions: 1,
        group_min_session_timeout_ms: 1_000,
        group_initial_rebalance_delay_ms: 100,
        ..Config::default()
    }
}

pub struct Harness {
    pub coordinator: Coordinator,
    pub now: u64,
    next_token: u64,
    aliases: BTreeMap<String, String>,
    pub log: String,
    /// Every record persisted, in order, with the producer of transactional ones.
    pub persisted: Vec<(Option<ProducerId>, OffsetsRecord)>,
    /// The latest response per token.
    pub responses: BTreeMap<u64, DelayedResponse>,
}

/// A member's join parameters.
#[derive(Clone)]
pub struct Joiner {
    pub client_id: &'static str,
    pub member_id: Option<MemberId>,
    pub group_instance_id: Option<&'static str>,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocols: Vec<(&'static str, Vec<u8>)>,
    pub require_known_member_id: bool,
    pub supports_skip_assignment: bool,
}

impl Joiner {
    pub fn new(client_id: &'static str) -> Joiner {
        Joiner {
            client_id,
            member_id: None,
            group_instance_id: None,
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: vec![("range", b"meta".to_vec())],
            require_known_member_id: false,
            supports_skip_assignment: false,
        }
    }

    pub fn member(mut self, member_id: &MemberId) -> Joiner {
        self.member_id = Some(member_id.clone());
        self
    }

    pub fn instance(mut self, instance: &'static str) -> Joiner {
        self.group_instance_id = Some(instance);
        self
    }

    pub fn protocols(mut self, protocols: &[(&'static str, &[u8])]) -> Joiner {
        self.protocols = protocols
            .iter()
            .map(|(name, metadata)| (*name, metadata.to_vec()))
            .collect();
        self
    }
}

impl Harness {
    /// A coordinator with partition 0 loaded (empty) at time 0.
    pub fn new() -> Harness {
        Harness::with_config(config())
    }

    pub fn with_config(config: Config) -> Harness {
        let mut coordinator = Coordinator::new(config);
        coordinator.begin_load(OffsetsPartition(0));
        let effects = coordinator
            .load(OffsetsPartition(0), Vec::new(), TimeMs(0))
            .unwrap();
        let mut harness = Harness::unloaded(coordinator);
        harness.record(effects);
        harness
    }

    pub fn unloaded(coordinator: Coordinator) -> Harness {
        Harness {
            coordinator,
            now: 0,
            next_token: 0,
            aliases: BTreeMap::new(),
            log: String::new(),
            persisted: Vec::new(),
            responses: BTreeMap::new(),
        }
    }

    /// Sends a JoinGroup and returns its token.
    pub fn join(&mut self, joiner: &Joiner) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let request = JoinGroupRequest {
            group_id: GroupId(GROUP.into()),
            session_timeout_ms: joiner.session_timeout_ms,
            rebalance_timeout_ms: joiner.rebalance_timeout_ms,
            member_id: joiner.member_id.clone(),
            group_instance_id: joiner
                .group_instance_id
                .map(|id| GroupInstanceId(id.into())),
            protocol_type: "consumer".into(),
            protocols: joiner
                .protocols
                .iter()
                .map(|(name, metadata)| JoinGroupProtocol {
                    name: name.to_string(),
                    metadata: metadata.clone(),
                })
                .collect(),
            reason: None,
            client_id: joiner.client_id.into(),
            client_host: "/127.0.0.1".into(),
            require_known_member_id: joiner.require_known_member_id,
            supports_skip_assignment: joiner.supports_skip_assignment,
        };
        let who = match &joiner.member_id {
            Some(member_id) => self.alias(&member_id.0),
            None => joiner.client_id.to_string(),
        };
        writeln!(self.log, "@{} join t{token} {who}", self.now).unwrap();
        let effects = self
            .coordinator
            .join_group(Token(token), request, TimeMs(self.now));
        self.record(effects);
        token
    }

    /// Sends a SyncGroup; `assignments` are (member, assignment text) for the leader.
    pub fn sync(
        &mut self,
        member_id: &MemberId,
        generation: i32,
        assignments: &[(&MemberId, &str)],
    ) -> u64 {
        self.sync_as(member_id, None, generation, assignments)
    }

    pub fn sync_as(
        &mut self,
        member_id: &MemberId,
        instance: Option<&str>,
        generation: i32,
        assignments: &[(&MemberId, &str)],
    ) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        let request = SyncGroupRequest {
            group_id: GroupId(GROUP.into()),
            generation_id: GenerationId(generation),
            member_id: member_id.clone(),
            group_instance_id: instance.map(|id| GroupInstanceId(id.into())),
            protocol_type: Some("consumer".into()),
            protocol_name: None,
            assignments: assignments
                .iter()
                .map(|(member_id, text)| SyncGroupAssignment {
                    member_id: (*member_id).clone(),
                    assignment: text.as_bytes().to_vec(),
                })
                .collect(),
        };
        let who = self.alias(&member_id.0);
        writeln!(
            self.log,
            "@{} sync t{token} {who} gen={generation}",
            self.now
        )
        .unwrap();
        let effects = self
            .coordinator
            .sync_group(Token(token), request, TimeMs(self.now));
        self.record(effects);
        token
    }

    pub fn heartbeat(&mut self, member_id: &MemberId, generation: i32) {
        let request = HeartbeatRequest {
            group_id: GroupId(GROUP.into()),
            generation_id: GenerationId(generation),
            member_id: member_id.clone(),
            group_instance_id: None,
        };
        let output = self.coordinator.heartbeat(request, TimeMs(self.now));
        let who = self.alias(&member_id.0);
        let error = output
            .response
            .error
            .map_or("ok".to_string(), |error| format!("{error:?}"));
        writeln!(
            self.log,
            "@{} heartbeat {who} gen={generation}: {error}",
            self.now
        )
        .unwrap();
        self.record(output.effects);
    }

    pub fn leave(&mut self, member_id: Option<&MemberId>, instance: Option<&str>) {
        let request = LeaveGroupRequest {
            group_id: GroupId(GROUP.into()),
            members: vec![LeavingMember {
                member_id: member_id.cloned(),
                group_instance_id: instance.map(|id| GroupInstanceId(id.into())),
                reason: None,
            }],
        };
        let output = self.coordinator.leave_group(request, TimeMs(self.now));
        let who = member_id.map_or_else(
            || format!("{instance:?}"),
            |member_id| self.alias(&member_id.0),
        );
        let errors: Vec<String> = output
            .response
            .members
            .iter()
            .map(|member| {
                member
                    .error
                    .map_or("ok".to_string(), |error| format!("{error:?}"))
            })
            .collect();
        writeln!(
            self.log,
            "@{} leave {who}: {:?} {}",
            self.now,
            output.response.error,
            errors.join(",")
        )
        .unwrap();
        self.record(output.effects);
    }

    /// Commits `offset` for partition t-0.
    pub fn commit(&mut self, member_id: Option<&MemberId>, generation: Option<i32>, offset: i64) {
        let request = OffsetCommitRequest {
            group_id: GroupId(GROUP.into()),
            generation_id: generation.map(GenerationId),
            member_id: member_id.cloned(),
            group_instance_id: None,
            retention_time_ms: None,
            partitions: vec![OffsetCommitPartition {
                topic_partition: TopicPartition::new("t", 0),
                committed_offset: Offset(offset),
                committed_leader_epoch: None,
                committed_metadata: Some("m".into()),
            }],
        };
        let output = self.coordinator.offset_commit(request, TimeMs(self.now));
        let who = member_id.map_or("-".to_string(), |member_id| self.alias(&member_id.0));
        let error = output.response.partitions[0]
            .error
            .map_or("ok".to_string(), |error| format!("{error:?}"));
        writeln!(
            self.log,
            "@{} commit {who} gen={generation:?} offset={offset}: {error}",
            self.now
        )
        .unwrap();
        self.record(output.effects);
    }

    /// Moves time forward and ticks.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        writeln!(self.log, "@{} tick", self.now).unwrap();
        let effects = self.coordinator.tick(TimeMs(self.now));
        self.record(effects);
    }

    /// The member id in the latest JoinGroup response for `token`.
    pub fn member_id(&self, token: u64) -> MemberId {
        match &self.responses[&token] {
            DelayedResponse::JoinGroup(response) => response.member_id.clone().unwrap(),
            DelayedResponse::SyncGroup(_) => panic!("t{token} is a SyncGroup"),
        }
    }

    /// Returns the log so far and clears it.
    pub fn take_log(&mut self) -> String {
        std::mem::take(&mut self.log)
    }

    /// Replays everything persisted into a fresh coordinator.
    pub fn replay(&self, now: u64) -> Coordinator {
        let mut coordinator = Coordinator::new(self.coordinator.config().clone());
        coordinator.begin_load(OffsetsPartition(0));
        let records = self
            .persisted
            .iter()
            .map(|(producer_id, record)| LoadRecord::Data {
                producer_id: *producer_id,
                record: record.clone(),
            });
        coordinator
            .load(OffsetsPartition(0), records, TimeMs(now))
            .unwrap();
        coordinator
    }

    pub fn alias(&mut self, member_id: &str) -> String {
        let next = format!("m{}", self.aliases.len() + 1);
        self.aliases
            .entry(member_id.to_string())
            .or_insert(next)
            .clone()
    }

    pub fn record(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            let line = match effect {
                Effect::Respond { token, response } => {
                    let text = self.render_response(&response);
                    self.responses.insert(token.0, response);
                    format!("  -> t{} {text}", token.0)
                }
                Effect::Persist {
                    partition,
                    producer_id,
                    records,
                } => {
                    let mut text = format!("  persist p{}", partition.0);
                    if let Some(producer_id) = producer_id {
                        write!(text, " txn={}", producer_id.0).unwrap();
                    }
                    for record in &records {
                        text.push(' ');
                        text.push_str(&self.render_record(record));
                        self.persisted.push((producer_id, record.clone()));
                    }
                    text
                }
                Effect::ScheduleWakeup { at } => format!("  wakeup @{}", at.0),
            };
            self.log.push_str(&line);
            self.log.push('\n');
        }
    }

    fn render_response(&mut self, response: &DelayedResponse) -> String {
        match response {
            DelayedResponse::JoinGroup(response) => {
                let member = response
                    .member_id
                    .as_ref()
                    .map_or("-".into(), |id| self.alias(&id.0));
                if let Some(error) = response.error {
                    return format!("join {error:?} member={member}");
                }
                let leader = response
                    .leader
                    .as_ref()
                    .map_or("-".into(), |id| self.alias(&id.0));
                let members: Vec<String> = response
                    .members
                    .iter()
                    .map(|m| self.alias(&m.member_id.0))
                    .collect();
                let mut text = format!(
                    "join ok gen={} protocol={} leader={leader} member={member} members=[{}]",
                    response.generation_id.map_or(-1, |generation| generation.0),
                    response.protocol_name.clone().unwrap_or_default(),
                    members.join(",")
                );
                if response.skip_assignment {
                    text.push_str(" skip_assignment");
                }
                text
            }
            DelayedResponse::SyncGroup(response) => match response.error {
                Some(error) => format!("sync {error:?}"),
                None => format!(
                    "sync ok assignment={:?}",
                    String::from_utf8_lossy(&response.assignment)
                ),
            },
        }
    }

    fn render_record(&mut self, record: &OffsetsRecord) -> String {
        let key = RecordKey::decode(&record.key).unwrap();
        let value = record
            .value
            .as_ref()
            .map(|bytes| RecordValue::decode(&key, bytes).unwrap());
        match (key, value) {
            (
                RecordKey::Offset {
                    topic_partition, ..
                },
                Some(RecordValue::Offset(value)),
            ) => {
                format!("offset[{topic_partition}={}]", value.offset.0)
            }
            (
                RecordKey::Offset {
                    topic_partition, ..
                },
                _,
            ) => format!("offset[{topic_partition}=tombstone]"),
            (RecordKey::Group { .. }, Some(RecordValue::Group(value))) => {
                let members: Vec<String> = value
                    .members
                    .iter()
                    .map(|member| {
                        format!(
                            "{}:{}",
                            self.alias(&member.member_id.0),
                            String::from_utf8_lossy(&member.assignment)
                        )
                    })
                    .collect();
                format!(
                    "group[gen={} members={}]",
                    value.generation_id.0,
                    members.join(",")
                )
            }
            (RecordKey::Group { .. }, _) => "group[tombstone]".into(),
        }
    }
}
