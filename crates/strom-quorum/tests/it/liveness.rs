//! Broker liveness on the active controller: a broker that stops heartbeating is fenced after
//! the session timeout and its partitions fail over within their ISR; it is unfenced when it
//! heartbeats again; a new controller leader does not fence brokers that keep heartbeating.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use strom_metadata::{
    BrokerId, CreateTopic, LeaderEpoch, MetadataImage, Mode, PartitionIndex, TopicId, TopicLayout,
};
use strom_quorum::{Intent, Outcome, Quorum, QuorumConfig};
use tokio::time::Instant;

use crate::cluster::{CONVERGE, Cluster, broker};

const SESSION: Duration = Duration::from_millis(1500);
const HEARTBEAT_EVERY: Duration = Duration::from_millis(100);

fn short_sessions(config: &mut QuorumConfig) {
    config.broker_session_timeout = SESSION;
}

/// Heartbeats every broker in `alive` through `quorum`, forever.
async fn heartbeats(quorum: &Quorum, alive: &Mutex<BTreeSet<i32>>) {
    loop {
        let brokers = alive.lock().unwrap().clone();
        for id in brokers {
            // Errors (e.g. during an election) are retried on the next round.
            let _ = quorum.heartbeat(BrokerId(id)).await;
        }
        tokio::time::sleep(HEARTBEAT_EVERY).await;
    }
}

/// Creates a topic of `partitions` partitions, each on all of `replication_factor` brokers.
async fn create(quorum: &Quorum, name: &str, partitions: i32, replication_factor: i16) {
    let topic = CreateTopic {
        name: name.to_owned(),
        topic_id: TopicId([1; 16]),
        layout: TopicLayout::Placed {
            partitions,
            replication_factor,
        },
        configs: Default::default(),
    };
    let outcome = quorum
        .submit(Intent::CreateTopics(vec![topic], Mode::Apply))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, Outcome::CreatedTopics(res) if res[0].is_ok()),
        "{outcome:?}"
    );
}

/// Waits until `quorum`'s image satisfies `done`.
async fn wait_image(quorum: &Quorum, what: &str, done: impl Fn(&MetadataImage) -> bool) {
    let mut images = quorum.watch_image();
    let res = tokio::time::timeout(CONVERGE, images.wait_for(|image| done(image))).await;
    assert!(matches!(res, Ok(Ok(_))), "not within {CONVERGE:?}: {what}");
}

fn fenced(image: &MetadataImage, id: i32) -> bool {
    image.broker(BrokerId(id)).unwrap().fenced
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_broker_is_fenced_its_partitions_fail_over_and_a_heartbeat_unfences_it() {
    let cluster = Cluster::start(3, short_sessions).await;
    let leader = cluster.leader().await;
    let follower = cluster.node(*cluster.nodes.keys().find(|id| **id != leader).unwrap());
    for id in 1..=3 {
        follower
            .submit(Intent::RegisterBroker(broker(id)))
            .await
            .unwrap();
    }
    let alive = Mutex::new(BTreeSet::from([1, 2, 3]));
    let scenario = async {
        create(follower, "t", 6, 3).await;
        let before = follower.image();
        let led_by_2: Vec<(PartitionIndex, LeaderEpoch, Vec<BrokerId>)> = before
            .topic("t")
            .unwrap()
            .partitions
            .iter()
            .zip(0..)
            .filter(|(partition, _)| partition.leader == Some(BrokerId(2)))
            .map(|(partition, index)| {
                (
                    PartitionIndex(index),
                    partition.leader_epoch,
                    partition.isr.clone(),
                )
            })
            .collect();
        assert!(
            !led_by_2.is_empty(),
            "placement gave broker 2 nothing to lead"
        );

        // Broker 2 goes silent; the others keep heartbeating through several sessions.
        alive.lock().unwrap().remove(&2);
        let silent_since = Instant::now();
        tokio::time::sleep(SESSION / 2).await;
        assert!(
            !fenced(&follower.image(), 2),
            "fenced before its session expired"
        );
        wait_image(follower, "broker 2 fenced", |image| fenced(image, 2)).await;
        let elapsed = silent_since.elapsed();
        // Its last heartbeat was at most one round before it went silent.
        assert!(
            elapsed + HEARTBEAT_EVERY * 2 >= SESSION,
            "fenced after only {elapsed:?}"
        );
        let image = follower.image();
        for (index, epoch, isr) in &led_by_2 {
            let partition = image.partition("t", *index).unwrap();
            let new_leader = partition.leader.unwrap();
            assert_ne!(new_leader, BrokerId(2));
            assert!(
                isr.contains(&new_leader),
                "{index}: {new_leader} was not in {isr:?}"
            );
            assert!(partition.leader_epoch > *epoch, "{index}: epoch not bumped");
            assert!(!partition.isr.contains(&BrokerId(2)));
        }
        tokio::time::sleep(SESSION * 2).await;
        let image = follower.image();
        assert!(
            !fenced(&image, 1) && !fenced(&image, 3),
            "live brokers fenced"
        );

        // Registering again keeps it fenced: only a heartbeat unfences it.
        follower
            .submit(Intent::RegisterBroker(broker(2)))
            .await
            .unwrap();
        assert!(fenced(&follower.image(), 2));
        alive.lock().unwrap().insert(2);
        wait_image(follower, "broker 2 unfenced", |image| !fenced(image, 2)).await;
    };
    tokio::select! {
        () = heartbeats(follower, &alive) => unreachable!("heartbeats run forever"),
        () = scenario => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_controller_leader_does_not_fence_brokers_that_heartbeat() {
    let mut cluster = Cluster::start(3, short_sessions).await;
    let old_leader = cluster.leader().await;
    let beater_id = *cluster.nodes.keys().find(|id| **id != old_leader).unwrap();
    for id in 1..=2 {
        cluster
            .node(beater_id)
            .submit(Intent::RegisterBroker(broker(id)))
            .await
            .unwrap();
    }
    create(cluster.node(beater_id), "t", 4, 2).await;
    let epochs = |image: &MetadataImage| -> Vec<_> {
        image
            .topic("t")
            .unwrap()
            .partitions
            .iter()
            .map(|partition| (partition.leader_epoch, partition.partition_epoch))
            .collect()
    };
    let before = epochs(&cluster.node(beater_id).image());
    let leader_node = cluster.nodes.remove(&old_leader).unwrap();
    let beater = cluster.node(beater_id);
    let alive = Mutex::new(BTreeSet::from([1, 2]));
    let scenario = async {
        tokio::time::sleep(SESSION / 2).await;
        leader_node.shutdown().await.unwrap();
        // Wait for a new leader, then several sessions.
        let deadline = Instant::now() + CONVERGE;
        loop {
            let leader = beater.leader();
            if leader.is_some() && leader != Some(old_leader) {
                break;
            }
            assert!(Instant::now() < deadline, "no new leader");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(SESSION * 3).await;
    };
    tokio::select! {
        () = heartbeats(beater, &alive) => unreachable!("heartbeats run forever"),
        () = scenario => {}
    }
    let new_leader = beater.leader().unwrap();
    assert_ne!(new_leader, old_leader);
    let records = cluster.node(new_leader).image().to_records();
    cluster.wait_images(&records).await;
    let image = beater.image();
    assert!(!fenced(&image, 1) && !fenced(&image, 2));
    // No fence happened in between either: it would have moved leaders and shrunk ISRs.
    assert_eq!(epochs(&image), before);
}
