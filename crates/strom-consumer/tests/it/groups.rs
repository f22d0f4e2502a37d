//! Group membership against the in-process broker: partitions split between members, hand-over
//! on close with commit-on-revoke (nothing lost, nothing twice), session expiry and
//! `max.poll.interval.ms`, cooperative-sticky moving only what must move, commits and
//! `committed`, static membership, and pattern subscriptions picking up new topics.
//!
//! Each member runs its poll loop on its own task ([`Member`]); the test steers it (run, stop
//! polling, close, crash) and reads what its listener and polls saw.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strom_client::TopicPartition;
use strom_consumer::{
    Assignor, AutoOffsetReset, Consumer, ConsumerConfig, Error, OffsetAndMetadata,
    RebalanceContext, RebalanceListener,
};
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_record::Offset;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::fixture::{TestBroker, create_topic};

/// Broker settings that let groups form and expire quickly.
const GROUP_BROKER: &[(&str, &str)] = &[
    ("group.initial.rebalance.delay.ms", "0"),
    ("group.min.session.timeout.ms", "500"),
    ("offsets.topic.num.partitions", "1"),
];

/// What a member's listener and polls saw.
#[derive(Debug, Default)]
struct Events {
    assigned: Vec<Vec<TopicPartition>>,
    revoked: Vec<Vec<TopicPartition>>,
    lost: Vec<Vec<TopicPartition>>,
    /// (partition, offset, value) of every record returned by poll.
    records: Vec<(TopicPartition, u64, String)>,
    /// The assignment after the last poll.
    assignment: Vec<TopicPartition>,
    generation: Option<i32>,
    polls: u64,
}

type Shared = Arc<Mutex<Events>>;

/// Records the callbacks; commits the revoked partitions' positions when `commit_on_revoke`.
struct Recorder {
    events: Shared,
    commit_on_revoke: bool,
}

impl RebalanceListener for Recorder {
    fn on_assigned(&mut self, partitions: &[TopicPartition], _context: &mut RebalanceContext) {
        self.events
            .lock()
            .unwrap()
            .assigned
            .push(partitions.to_vec());
    }

    fn on_revoked(&mut self, partitions: &[TopicPartition], context: &mut RebalanceContext) {
        if self.commit_on_revoke {
            context.commit_positions();
        }
        self.events
            .lock()
            .unwrap()
            .revoked
            .push(partitions.to_vec());
    }

    fn on_lost(&mut self, partitions: &[TopicPartition]) {
        self.events.lock().unwrap().lost.push(partitions.to_vec());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Run,
    /// Stop polling (the heartbeat task keeps running).
    Stop,
    /// Commit and close.
    Close,
    /// Drop without closing: no LeaveGroup, no more heartbeats.
    Crash,
}

/// A consumer polling on its own task.
struct Member {
    events: Shared,
    control: watch::Sender<Control>,
    task: JoinHandle<()>,
}

impl Member {
    async fn start(config: ConsumerConfig, subscribe: Subscribe<'_>) -> Member {
        let events = Shared::default();
        let mut consumer = Consumer::new(config).await.unwrap();
        consumer
            .set_rebalance_listener(Recorder {
                events: events.clone(),
                commit_on_revoke: true,
            })
            .unwrap();
        match subscribe {
            Subscribe::Topics(topics) => consumer.subscribe(topics.iter().copied()).unwrap(),
            Subscribe::Pattern(pattern) => consumer.subscribe_pattern(pattern).unwrap(),
        }
        let (control, mut commands) = watch::channel(Control::Run);
        let shared = events.clone();
        let task = tokio::spawn(async move {
            loop {
                let command = *commands.borrow_and_update();
                match command {
                    Control::Run => {}
                    Control::Stop => {
                        let _ = commands.changed().await;
                        continue;
                    }
                    Control::Close => {
                        consumer.commit_sync().await.unwrap();
                        consumer.close().await;
                        return;
                    }
                    Control::Crash => return,
                }
                let records = consumer.poll(Duration::from_millis(100)).await.unwrap();
                let mut events = shared.lock().unwrap();
                for record in records {
                    let value = String::from_utf8(record.value.unwrap().to_vec()).unwrap();
                    let topic_partition =
                        TopicPartition::new(record.topic.to_string(), record.partition);
                    events
                        .records
                        .push((topic_partition, record.offset.0, value));
                }
                events.assignment = consumer.assignment();
                events.generation = consumer.generation();
                events.polls += 1;
            }
        });
        Member {
            events,
            control,
            task,
        }
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.events.lock().unwrap().assignment.clone()
    }

    fn send(&self, control: Control) {
        self.control.send(control).unwrap();
    }

    async fn finish(self, control: Control) -> Shared {
        self.send(control);
        self.task.await.unwrap();
        self.events
    }
}

enum Subscribe<'a> {
    Topics(&'a [&'a str]),
    Pattern(&'a str),
}

fn config(addr: &str, group: &str) -> ConsumerConfig {
    let mut config = ConsumerConfig {
        group_id: Some(group.to_owned()),
        auto_offset_reset: AutoOffsetReset::Earliest,
        enable_auto_commit: false,
        fetch_max_wait: Duration::from_millis(50),
        session_timeout: Duration::from_millis(1500),
        heartbeat_interval: Duration::from_millis(200),
        partition_assignment_strategy: vec![Assignor::Range],
        ..ConsumerConfig::bootstrap(addr)
    };
    config.client.metadata_max_age = Duration::from_millis(500);
    config
}

/// Waits up to `timeout` for `condition`, failing with `what`.
async fn eventually(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn partitions(topic: &str, count: i32) -> BTreeSet<TopicPartition> {
    (0..count)
        .map(|partition| TopicPartition::new(topic, partition))
        .collect()
}

/// Checks that the members' assignments are disjoint and cover `expected`.
fn split_exactly(members: &[&Member], expected: &BTreeSet<TopicPartition>) -> bool {
    let mut seen = BTreeSet::new();
    for member in members {
        for topic_partition in member.assignment() {
            if !seen.insert(topic_partition) {
                return false;
            }
        }
    }
    &seen == expected
}

/// Produces `count` records `v<start + i>` round-robin over `partitions` partitions, with a
/// short pause every 20 records so that consumption and production overlap.
async fn produce(addr: String, topic: &'static str, start: usize, count: usize, partitions: i32) {
    let producer = Producer::new(ProducerConfig::bootstrap(addr))
        .await
        .unwrap();
    for index in start..start + count {
        let partition = i32::try_from(index).unwrap() % partitions;
        let record = ProducerRecord::new(topic, format!("v{index}")).with_partition(partition);
        producer.send_and_forget(record).await.unwrap();
        if index % 20 == 19 {
            producer.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    producer.close().await.unwrap();
}

fn values(events: &[&Shared]) -> Vec<String> {
    let mut res = Vec::new();
    for events in events {
        res.extend(
            events
                .lock()
                .unwrap()
                .records
                .iter()
                .map(|(_, _, value)| value.clone()),
        );
    }
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_members_split_partitions_and_hand_over_on_close() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "split", 6).await;
    let all = partitions("split", 6);
    let producing = tokio::spawn(produce(addr.clone(), "split", 0, 600, 6));

    let a = Member::start(config(&addr, "g-split"), Subscribe::Topics(&["split"])).await;
    let b = Member::start(config(&addr, "g-split"), Subscribe::Topics(&["split"])).await;
    eventually(
        "both members to share the partitions",
        Duration::from_secs(15),
        || {
            split_exactly(&[&a, &b], &all)
                && !a.assignment().is_empty()
                && !b.assignment().is_empty()
        },
    )
    .await;
    assert_eq!(a.assignment().len(), 3);
    assert_eq!(b.assignment().len(), 3);
    producing.await.unwrap();
    // Let both read for a moment, then A leaves; B must continue from A's commits.
    eventually("some records read by each", Duration::from_secs(15), || {
        !a.events.lock().unwrap().records.is_empty() && !b.events.lock().unwrap().records.is_empty()
    })
    .await;
    let a_events = a.finish(Control::Close).await;
    eventually(
        "B to own all six partitions",
        Duration::from_secs(15),
        || split_exactly(&[&b], &all),
    )
    .await;
    tokio::spawn(produce(addr.clone(), "split", 600, 60, 6))
        .await
        .unwrap();
    eventually("every record to be read", Duration::from_secs(20), || {
        values(&[&a_events, &b.events]).len() >= 660
    })
    .await;
    // A moment more to catch duplicates arriving late.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b_events = b.finish(Control::Close).await;
    let read = values(&[&a_events, &b_events]);
    let distinct: BTreeSet<&String> = read.iter().collect();
    assert_eq!(distinct.len(), 660, "lost records");
    assert_eq!(read.len(), 660, "records read twice");
    // No record of a partition after it was revoked: A read only what it owned.
    let a_events = a_events.lock().unwrap();
    assert!(!a_events.revoked.is_empty());
    assert!(a_events.lost.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_and_poll_timeout_move_partitions() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "expiry", 6).await;
    let all = partitions("expiry", 6);
    let a = Member::start(config(&addr, "g-expiry"), Subscribe::Topics(&["expiry"])).await;
    let b = Member::start(config(&addr, "g-expiry"), Subscribe::Topics(&["expiry"])).await;
    eventually(
        "both members to share the partitions",
        Duration::from_secs(15),
        || split_exactly(&[&a, &b], &all) && a.assignment().len() == 3,
    )
    .await;

    // B crashes: no LeaveGroup, no heartbeats. After the session timeout A owns everything.
    let crashed_at = Instant::now();
    b.finish(Control::Crash).await;
    eventually(
        "A to own all six after B's session expired",
        Duration::from_secs(15),
        || a.assignment().len() == 6,
    )
    .await;
    assert!(
        crashed_at.elapsed() >= Duration::from_millis(1000),
        "took over before the session could expire"
    );

    // C stops polling for longer than max.poll.interval.ms: it leaves the group, A takes its
    // partitions, and C reports them lost (not revoked) at its next poll, then rejoins.
    let c_config = ConsumerConfig {
        max_poll_interval: Duration::from_millis(1500),
        ..config(&addr, "g-expiry")
    };
    let c = Member::start(c_config, Subscribe::Topics(&["expiry"])).await;
    eventually("C to join", Duration::from_secs(15), || {
        split_exactly(&[&a, &c], &all) && c.assignment().len() == 3
    })
    .await;
    let owned_by_c = c.assignment();
    c.send(Control::Stop);
    eventually(
        "A to own all six after C stopped polling",
        Duration::from_secs(15),
        || a.assignment().len() == 6,
    )
    .await;
    assert!(c.events.lock().unwrap().lost.is_empty());
    c.send(Control::Run);
    eventually(
        "C to report its partitions lost and rejoin",
        Duration::from_secs(15),
        || {
            !c.events.lock().unwrap().lost.is_empty()
                && split_exactly(&[&a, &c], &all)
                && c.assignment().len() == 3
        },
    )
    .await;
    assert_eq!(c.events.lock().unwrap().lost[0], owned_by_c);
    c.finish(Control::Close).await;
    a.finish(Control::Close).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_moves_only_what_must_move() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "coop", 6).await;
    let all = partitions("coop", 6);
    let cooperative = |group: &str| ConsumerConfig {
        partition_assignment_strategy: vec![Assignor::CooperativeSticky],
        ..config(&addr, group)
    };
    let a = Member::start(cooperative("g-coop"), Subscribe::Topics(&["coop"])).await;
    let b = Member::start(cooperative("g-coop"), Subscribe::Topics(&["coop"])).await;
    eventually("A and B to split", Duration::from_secs(15), || {
        split_exactly(&[&a, &b], &all) && a.assignment().len() == 3
    })
    .await;
    let before_a: BTreeSet<TopicPartition> = a.assignment().into_iter().collect();
    let before_b: BTreeSet<TopicPartition> = b.assignment().into_iter().collect();
    let revoked_before = |member: &Member| member.events.lock().unwrap().revoked.concat().len();
    let (a_revoked, b_revoked) = (revoked_before(&a), revoked_before(&b));

    let c = Member::start(cooperative("g-coop"), Subscribe::Topics(&["coop"])).await;
    eventually(
        "three members with two partitions each",
        Duration::from_secs(15),
        || {
            split_exactly(&[&a, &b, &c], &all)
                && [&a, &b, &c]
                    .iter()
                    .all(|member| member.assignment().len() == 2)
        },
    )
    .await;
    let after_a: BTreeSet<TopicPartition> = a.assignment().into_iter().collect();
    let after_b: BTreeSet<TopicPartition> = b.assignment().into_iter().collect();
    let events_a = a.events.lock().unwrap().revoked.concat();
    let events_b = b.events.lock().unwrap().revoked.concat();
    // Each old member gave up exactly the one partition that moved to C, nothing else.
    assert_eq!(
        &events_a[a_revoked..],
        before_a.difference(&after_a).cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        &events_b[b_revoked..],
        before_b.difference(&after_b).cloned().collect::<Vec<_>>()
    );
    assert!(after_a.is_subset(&before_a) && after_b.is_subset(&before_b));
    assert!(c.events.lock().unwrap().revoked.concat().is_empty());
    for member in [a, b, c] {
        member.finish(Control::Close).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_round_trip_with_metadata() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "commits", 2).await;
    produce(addr.clone(), "commits", 0, 20, 2).await;
    let tp0 = TopicPartition::new("commits", 0);
    let tp1 = TopicPartition::new("commits", 1);

    // Without a group id, group operations fail with a clear error.
    let mut plain = Consumer::new(ConsumerConfig::bootstrap(&addr))
        .await
        .unwrap();
    let error = plain.subscribe(["commits"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid configuration: subscribe needs group.id to be set"
    );
    assert!(matches!(plain.commit_sync().await, Err(Error::Config(_))));
    plain.close().await;

    let assign_config = ConsumerConfig {
        max_poll_records: 3,
        ..config(&addr, "g-commits")
    };
    let mut consumer = Consumer::new(assign_config).await.unwrap();
    assert_eq!(
        consumer
            .committed(&[tp0.clone(), tp1.clone()])
            .await
            .unwrap(),
        [(tp0.clone(), None), (tp1.clone(), None)]
            .into_iter()
            .collect()
    );
    let offsets: BTreeMap<TopicPartition, OffsetAndMetadata> = [
        (
            tp0.clone(),
            OffsetAndMetadata {
                offset: Offset(5),
                metadata: "checkpoint-a".to_owned(),
            },
        ),
        (
            tp1.clone(),
            OffsetAndMetadata {
                offset: Offset(7),
                metadata: String::new(),
            },
        ),
    ]
    .into_iter()
    .collect();
    consumer.commit_sync_offsets(offsets.clone()).await.unwrap();
    let committed = consumer
        .committed(&[tp0.clone(), tp1.clone()])
        .await
        .unwrap();
    assert_eq!(committed[&tp0], offsets.get(&tp0).cloned());
    assert_eq!(committed[&tp1], offsets.get(&tp1).cloned());

    // commit_async, then commit_sync of positions after reading with assign.
    let later: BTreeMap<TopicPartition, OffsetAndMetadata> = [(
        tp1.clone(),
        OffsetAndMetadata {
            offset: Offset(9),
            metadata: "async".to_owned(),
        },
    )]
    .into_iter()
    .collect();
    consumer
        .commit_async(Some(later))
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        consumer
            .committed(std::slice::from_ref(&tp1))
            .await
            .unwrap()[&tp1],
        Some(OffsetAndMetadata {
            offset: Offset(9),
            metadata: "async".to_owned()
        })
    );
    consumer.assign(vec![tp0.clone()]);
    assert!(matches!(
        consumer.subscribe(["commits"]),
        Err(Error::Config(_))
    ));
    consumer.seek(&tp0, Offset(2)).unwrap();
    let records = consumer.poll(Duration::from_secs(5)).await.unwrap();
    let next = records.last().unwrap().offset.0 + 1;
    assert_eq!(next, 5);
    consumer.commit_sync().await.unwrap();
    assert_eq!(
        consumer
            .committed(std::slice::from_ref(&tp0))
            .await
            .unwrap()[&tp0]
            .as_ref()
            .map(|c| c.offset),
        Some(Offset(next))
    );
    consumer.close().await;

    // A subscribed member starts from the committed offsets.
    let member = Member::start(config(&addr, "g-commits"), Subscribe::Topics(&["commits"])).await;
    eventually(
        "the member to read from the commits",
        Duration::from_secs(15),
        || member.events.lock().unwrap().records.len() > 10 - usize::try_from(next).unwrap(),
    )
    .await;
    let events = member.finish(Control::Close).await;
    let events = events.lock().unwrap();
    let first = |topic_partition: &TopicPartition| {
        events
            .records
            .iter()
            .find(|(tp, _, _)| tp == topic_partition)
            .map(|(_, offset, _)| *offset)
    };
    assert_eq!(first(&tp0), Some(next));
    assert_eq!(first(&tp1), Some(9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_rejoins_with_its_assignment() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "static", 6).await;
    let all = partitions("static", 6);
    let static_config = |instance: &str| ConsumerConfig {
        group_instance_id: Some(instance.to_owned()),
        session_timeout: Duration::from_secs(10),
        ..config(&addr, "g-static")
    };
    let a = Member::start(static_config("a"), Subscribe::Topics(&["static"])).await;
    let b = Member::start(static_config("b"), Subscribe::Topics(&["static"])).await;
    eventually("A and B to split", Duration::from_secs(15), || {
        split_exactly(&[&a, &b], &all) && a.assignment().len() == 3
    })
    .await;
    let a_before = a.assignment();
    let b_generation = b.events.lock().unwrap().generation;
    let b_revocations = b.events.lock().unwrap().revoked.len();

    // A restarts with the same group.instance.id well within its session timeout.
    a.finish(Control::Close).await;
    let a = Member::start(static_config("a"), Subscribe::Topics(&["static"])).await;
    eventually("A to be back", Duration::from_secs(15), || {
        !a.assignment().is_empty()
    })
    .await;
    assert_eq!(a.assignment(), a_before);
    // B saw no rebalance.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b.events.lock().unwrap().generation, b_generation);
    assert_eq!(b.events.lock().unwrap().revoked.len(), b_revocations);
    a.finish(Control::Close).await;
    b.finish(Control::Close).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_subscription_picks_up_new_topics() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "pat-a", 1).await;
    create_topic(&addr, "other", 1).await;
    let member = Member::start(config(&addr, "g-pattern"), Subscribe::Pattern("pat-.*")).await;
    eventually("pat-a to be assigned", Duration::from_secs(15), || {
        member.assignment() == vec![TopicPartition::new("pat-a", 0)]
    })
    .await;
    create_topic(&addr, "pat-b", 2).await;
    eventually("pat-b to be assigned too", Duration::from_secs(15), || {
        member.assignment().len() == 3
    })
    .await;
    produce(addr.clone(), "pat-b", 0, 4, 2).await;
    eventually("pat-b's records", Duration::from_secs(15), || {
        member.events.lock().unwrap().records.len() == 4
    })
    .await;
    let events = member.finish(Control::Close).await;
    let events = events.lock().unwrap();
    assert!(events.records.iter().all(|(tp, _, _)| tp.topic == "pat-b"));
    assert!(events.assignment.iter().all(|tp| tp.topic != "other"));
}

/// Grows `topic` to `count` partitions.
async fn add_partitions(addr: &str, topic: &str, count: i32) {
    use strom_protocol::Response;
    use strom_protocol::messages::create_partitions::{
        CreatePartitionsRequest, CreatePartitionsTopic,
    };
    let client = strom_client::Client::connect(strom_client::ClientConfig::bootstrap(addr))
        .await
        .unwrap();
    let request = CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: topic.to_owned(),
            count,
            assignments: None,
            ..CreatePartitionsTopic::default()
        }],
        timeout_ms: 10_000,
        ..CreatePartitionsRequest::default()
    };
    let Response::CreatePartitions(response) = client.send_any(request).await.unwrap() else {
        panic!("not a CreatePartitions response");
    };
    assert_eq!(response.results[0].error_code, 0, "{response:?}");
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_rebalances_when_partitions_are_added() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "grow", 2).await;
    let a = Member::start(config(&addr, "g-grow"), Subscribe::Topics(&["grow"])).await;
    let b = Member::start(config(&addr, "g-grow"), Subscribe::Topics(&["grow"])).await;
    eventually(
        "A and B to split two partitions",
        Duration::from_secs(15),
        || split_exactly(&[&a, &b], &partitions("grow", 2)) && a.assignment().len() == 1,
    )
    .await;
    add_partitions(&addr, "grow", 6).await;
    eventually(
        "the new partitions to be assigned",
        Duration::from_secs(15),
        || split_exactly(&[&a, &b], &partitions("grow", 6)) && a.assignment().len() == 3,
    )
    .await;
    a.finish(Control::Close).await;
    b.finish(Control::Close).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_leaves_at_once_and_auto_commit_covers_what_was_read() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "leave", 2).await;
    produce(addr.clone(), "leave", 0, 40, 2).await;
    // A long session: only a LeaveGroup lets the other member take over quickly.
    let slow_expiry = || ConsumerConfig {
        session_timeout: Duration::from_secs(30),
        heartbeat_interval: Duration::from_millis(500),
        enable_auto_commit: true,
        ..config(&addr, "g-leave")
    };
    let mut consumer = Consumer::new(slow_expiry()).await.unwrap();
    consumer.subscribe(["leave"]).unwrap();
    assert_eq!(consumer.subscription(), vec!["leave".to_owned()]);
    let mut read = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while read < 40 {
        assert!(Instant::now() < deadline, "read {read} of 40");
        read += consumer
            .poll(Duration::from_millis(200))
            .await
            .unwrap()
            .len();
    }
    assert_eq!(consumer.assignment().len(), 2);
    assert!(consumer.member_id().is_some());
    let other = Member::start(slow_expiry(), Subscribe::Topics(&["leave"])).await;
    // The other member's join makes this one revoke (committing with auto commit) and rejoin.
    let deadline = Instant::now() + Duration::from_secs(15);
    while other.assignment().is_empty() {
        assert!(Instant::now() < deadline, "the other member never joined");
        let records = consumer.poll(Duration::from_millis(100)).await.unwrap();
        assert!(records.is_empty(), "everything was read already");
    }
    consumer.unsubscribe().await.unwrap();
    assert!(consumer.assignment().is_empty());
    assert!(consumer.subscription().is_empty());
    assert_eq!(consumer.member_id(), None);
    let started = Instant::now();
    eventually(
        "the other member to own both partitions",
        Duration::from_secs(10),
        || other.assignment().len() == 2,
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    // Everything was committed: the other member reads nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = other.finish(Control::Close).await;
    assert!(events.lock().unwrap().records.is_empty());
    consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_consumer_with_the_same_instance_id_fences_the_first() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "fence", 2).await;
    let fenced_config = || ConsumerConfig {
        group_instance_id: Some("same".to_owned()),
        ..config(&addr, "g-fence")
    };
    let mut first = Consumer::new(fenced_config()).await.unwrap();
    first.subscribe(["fence"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while first.assignment().is_empty() {
        assert!(Instant::now() < deadline, "first never joined");
        first.poll(Duration::from_millis(100)).await.unwrap();
    }
    let second = Member::start(fenced_config(), Subscribe::Topics(&["fence"])).await;
    eventually("the second to take over", Duration::from_secs(15), || {
        second.assignment().len() == 2
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let error = loop {
        assert!(Instant::now() < deadline, "the first was never fenced");
        match first.poll(Duration::from_millis(100)).await {
            Ok(_) => continue,
            Err(error) => break error,
        }
    };
    assert!(
        matches!(&error, Error::Fenced(id) if id == "same"),
        "{error:?}"
    );
    assert!(first.assignment().is_empty());
    second.finish(Control::Close).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_counts_as_polling() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    let idle_config = ConsumerConfig {
        max_poll_interval: Duration::from_millis(1000),
        ..config(&addr, "g-idle")
    };
    // A member without partitions (its pattern matches nothing) has no fetches to wake its
    // poll: only the poll's own refresh keeps it from counting as stuck.
    let mut consumer = Consumer::new(idle_config).await.unwrap();
    consumer.subscribe_pattern("nothing-.*").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while consumer.generation().is_none() {
        assert!(Instant::now() < deadline, "never joined");
        consumer.poll(Duration::from_millis(100)).await.unwrap();
    }
    let generation = consumer.generation();
    // Each poll waits three times max.poll.interval.ms.
    for _ in 0..2 {
        assert!(
            consumer
                .poll(Duration::from_secs(3))
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert_eq!(consumer.generation(), generation);
    consumer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_application_keeps_its_partitions_while_heartbeating() {
    let broker = TestBroker::start(GROUP_BROKER).await;
    let addr = broker.addr();
    create_topic(&addr, "slow", 6).await;
    let all = partitions("slow", 6);
    let patient = || ConsumerConfig {
        max_poll_interval: Duration::from_secs(20),
        ..config(&addr, "g-slow")
    };
    let a = Member::start(patient(), Subscribe::Topics(&["slow"])).await;
    let b = Member::start(patient(), Subscribe::Topics(&["slow"])).await;
    eventually("A and B to split", Duration::from_secs(15), || {
        split_exactly(&[&a, &b], &all) && a.assignment().len() == 3
    })
    .await;
    let generation = a.events.lock().unwrap().generation;
    // B does not poll for twice its session timeout: the heartbeat task keeps it in.
    b.send(Control::Stop);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.events.lock().unwrap().generation, generation);
    assert_eq!(a.assignment().len(), 3);
    b.send(Control::Run);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(b.events.lock().unwrap().generation, generation);
    assert!(b.events.lock().unwrap().lost.is_empty());
    a.finish(Control::Close).await;
    b.finish(Control::Close).await;
}
