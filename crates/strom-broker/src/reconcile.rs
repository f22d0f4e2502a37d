//! Reconciliation: after every change of the metadata image (and at start), the broker brings
//! its local state in line with it. For every partition with a replica on this broker: its log
//! exists; it leads the partition if the image says so (at the image's leader epoch, with the
//! image's ISR) and otherwise follows the leader through the replica fetchers; logs of topics the
//! image no longer has are deleted, and so are logs of partitions a reassignment moved off this
//! broker (once it is no longer among their replicas). With one node and no quorum every
//! partition is led here and this is what opening the logs does.

use std::collections::BTreeMap;
use std::sync::Arc;

use strom_log::TopicPartition;
use strom_metadata::PartitionIndex;
use tokio::sync::watch;

use crate::Error;
use crate::broker::{Broker, METADATA_TOPIC, log_config, now, time_ms};
use crate::fetcher::Followed;
use crate::handlers::metadata::CONSUMER_OFFSETS_TOPIC;
use crate::producer_state::ProducerTable;
use crate::replica::{Effects, LeaderChange};

impl Broker {
    /// Brings logs, leaderships and followed partitions in line with the current image.
    /// Blocking.
    pub(crate) fn reconcile(self: &Arc<Self>) -> Result<(), Error> {
        let image = self.image();
        let node_id = self.node_id();
        let mut followed = BTreeMap::new();
        let mut effects = Effects::default();
        for topic in image.topics() {
            let log_config = log_config(&self.topic_config(topic));
            for (index, partition) in (0u32..).zip(&topic.partitions) {
                if !partition.replicas.contains(&node_id) {
                    continue;
                }
                let topic_partition = TopicPartition::new(topic.name.clone(), index);
                let change = self.with_logs(|logs| {
                    if logs.manager.get(&topic_partition).is_none() {
                        logs.manager
                            .create_log(&topic_partition, log_config.clone(), now())?;
                        tracing::info!(partition = %topic_partition, "replica log created");
                        self.adopt_log(logs, topic_partition.clone(), partition)?;
                        let leads = logs.replication.leader(&topic_partition).is_some();
                        return Ok(if leads {
                            LeaderChange::Started
                        } else {
                            LeaderChange::Unchanged
                        });
                    }
                    let Some(log) = logs.manager.get_mut(&topic_partition) else {
                        return Ok(LeaderChange::Unchanged);
                    };
                    let change = logs.replication.sync(
                        &topic_partition,
                        partition,
                        log,
                        self.leader_config(),
                        time_ms(),
                        &mut effects,
                    )?;
                    if change == LeaderChange::Started {
                        // A follower appended without checking sequences: what it knows of
                        // idempotent producers comes from its log.
                        logs.producers.insert(
                            topic_partition.clone(),
                            ProducerTable::from_log(log.producer_states()),
                        );
                        tracing::info!(
                            partition = %topic_partition,
                            leader_epoch = partition.leader_epoch.0,
                            "leading"
                        );
                    }
                    Ok::<LeaderChange, Error>(change)
                })??;
                if topic.name == CONSUMER_OFFSETS_TOPIC && change != LeaderChange::Unchanged {
                    self.groups()
                        .on_leadership(self, index, change == LeaderChange::Started);
                }
                if partition.leader == Some(node_id) {
                    continue;
                }
                let Some(leader) = partition.leader else {
                    continue;
                };
                let Some(endpoint) = image
                    .broker(leader)
                    .and_then(|registration| registration.endpoints.first())
                else {
                    continue;
                };
                followed.insert(
                    topic_partition,
                    Followed {
                        leader,
                        leader_addr: format!("{}:{}", endpoint.host, endpoint.port),
                        leader_epoch: partition.leader_epoch.0,
                    },
                );
            }
        }
        let gone: Vec<TopicPartition> = self.with_logs(|logs| {
            logs.manager
                .partitions()
                .filter(|topic_partition| {
                    topic_partition.topic != METADATA_TOPIC
                        && image
                            .partition(
                                &topic_partition.topic,
                                PartitionIndex(topic_partition.partition),
                            )
                            .is_none()
                })
                .cloned()
                .collect()
        })?;
        for topic_partition in gone {
            self.with_logs(|logs| {
                logs.replication.resign(&topic_partition);
                logs.producers.remove(&topic_partition);
                logs.manager.delete_log(&topic_partition)
            })??;
            self.forget_watch(&topic_partition);
            tracing::info!(partition = %topic_partition, "log of a deleted topic removed");
        }
        self.apply_effects(effects)?;
        // Stop following before deleting: a fetch in flight then finds the partition no longer
        // current (or its log gone) and skips it.
        self.set_followed(followed);
        let deleted = self.with_logs(|logs| {
            let moved_away: Vec<TopicPartition> = logs
                .manager
                .partitions()
                .filter(|topic_partition| {
                    image
                        .partition(
                            &topic_partition.topic,
                            PartitionIndex(topic_partition.partition),
                        )
                        .is_some_and(|partition| !partition.replicas.contains(&node_id))
                })
                .cloned()
                .collect();
            let mut res = Vec::new();
            for topic_partition in moved_away {
                logs.replication.resign(&topic_partition);
                logs.producers.remove(&topic_partition);
                logs.manager.delete_log(&topic_partition)?;
                res.push(topic_partition);
            }
            Ok::<Vec<TopicPartition>, Error>(res)
        })??;
        for topic_partition in deleted {
            self.forget_watch(&topic_partition);
            tracing::info!(
                partition = %topic_partition,
                "no longer a replica after a reassignment; log deleted"
            );
        }
        Ok(())
    }
}

/// Reconciles after every change of the quorum's image, until the broker stops.
pub(crate) async fn follow_metadata(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let Some(quorum) = broker.plane().quorum().cloned() else {
        return;
    };
    let mut images = quorum.watch_image();
    let mut first = true;
    loop {
        if first {
            // The image as of the start, before waiting for changes.
            first = false;
            let pass = Arc::clone(&broker);
            if let Ok(Err(error)) = tokio::task::spawn_blocking(move || pass.reconcile()).await {
                tracing::warn!(%error, "reconciling with the metadata failed");
            }
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            changed = images.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
        let pass = Arc::clone(&broker);
        match tokio::task::spawn_blocking(move || pass.reconcile()).await {
            Ok(Ok(())) | Ok(Err(Error::ShutDown)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "reconciling with the metadata failed"),
            Err(error) => tracing::error!(%error, "reconciliation panicked"),
        }
    }
}
