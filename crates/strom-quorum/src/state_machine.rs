//! The state machine: the [`MetadataImage`], built by applying committed batches in log order,
//! and its snapshot.
//!
//! A batch the image refuses (it contradicts the image, e.g. it was planned against an older
//! image) is skipped: the image stays as it was, the outcome says why, and since every node
//! applies the same entries to the same image, every node skips it alike. After each call to
//! `apply` the new image is published on a `watch` channel, before openraft answers the proposer,
//! so a leader's proposer reads its own write.
//!
//! The image itself is not persisted on apply; the snapshot is. [`SNAPSHOT_FILE_NAME`] holds one
//! frame (see `durable`) with the snapshot's Raft metadata (last log id, membership) and the
//! image's records (`MetadataImage::to_records`) with its end offset, replaced atomically. On
//! start the image is rebuilt from it, and openraft re-applies the committed entries after it.

use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};
use strom_metadata::{MetadataImage, MetadataOffset, MetadataRecord, RecordBatch};
use tokio::sync::watch;

use crate::durable::{decode_frame, decode_payload, encode_frame, encode_payload, replace_file};
use crate::raft_types::{
    ApplyOutcome, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::{Error, Result};

/// The snapshot file's name in a node's directory.
pub const SNAPSHOT_FILE_NAME: &str = "snapshot";

/// The state machine handed to openraft.
#[derive(Debug)]
pub(crate) struct StateMachine {
    image: Arc<MetadataImage>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    snapshot: SnapshotSlot,
    image_tx: watch::Sender<Arc<MetadataImage>>,
}

/// Builds a snapshot of the image as of the moment it was made.
#[derive(Debug)]
pub(crate) struct SnapshotBuilder {
    image: Arc<MetadataImage>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    snapshot: SnapshotSlot,
}

/// The current snapshot, shared by the state machine and its builders, and where it is stored.
#[derive(Debug, Clone)]
struct SnapshotSlot {
    path: PathBuf,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
}

#[derive(Debug, Clone)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    /// The payload of [`SnapshotFile`], which is also what is sent to followers.
    data: Vec<u8>,
}

/// The snapshot as stored and sent.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta,
    end_offset: MetadataOffset,
    records: Vec<MetadataRecord>,
}

impl StateMachine {
    /// Opens the state machine of the node whose directory is `dir`: the image of its snapshot,
    /// or an empty one. Returns the receiver of published images too.
    pub(crate) fn open(dir: &Path) -> Result<(StateMachine, watch::Receiver<Arc<MetadataImage>>)> {
        let path = dir.join(SNAPSHOT_FILE_NAME);
        let mut res_image = MetadataImage::new();
        let mut last_applied = None;
        let mut last_membership = StoredMembership::default();
        let mut current = None;
        match std::fs::read(&path) {
            Ok(bytes) => {
                let corrupt = |reason: String| Error::Corrupt {
                    path: path.clone(),
                    reason,
                };
                // Replaced atomically, so anything but one whole frame is damage.
                let data = match decode_frame(&bytes) {
                    Ok((payload, len)) if len == bytes.len() => payload.to_vec(),
                    Ok(_) => return Err(corrupt("bytes after the snapshot".to_owned())),
                    Err(error) => return Err(corrupt(format!("{error:?}"))),
                };
                let file = match decode_payload::<SnapshotFile>(&data) {
                    Ok(file) => file,
                    Err(reason) => return Err(corrupt(reason)),
                };
                res_image = MetadataImage::from_snapshot(file.end_offset, &file.records)?;
                last_applied = file.meta.last_log_id;
                last_membership = file.meta.last_membership.clone();
                current = Some(StoredSnapshot {
                    meta: file.meta,
                    data,
                });
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::Io(error)),
        }
        let image = Arc::new(res_image);
        let (image_tx, image_rx) = watch::channel(Arc::clone(&image));
        let res = StateMachine {
            image,
            last_applied,
            last_membership,
            snapshot: SnapshotSlot {
                path,
                current: Arc::new(Mutex::new(current)),
            },
            image_tx,
        };
        Ok((res, image_rx))
    }

    fn apply_batch(&mut self, batch: &RecordBatch) -> ApplyOutcome {
        let mut next = MetadataImage::clone(&self.image);
        match next.apply_batch(batch) {
            Ok(()) => {
                let end_offset = next.end_offset().0;
                self.image = Arc::new(next);
                ApplyOutcome::Applied { end_offset }
            }
            Err(error) => {
                tracing::warn!(%error, "committed metadata batch refused by the image");
                ApplyOutcome::Refused {
                    reason: error.to_string(),
                }
            }
        }
    }
}

impl SnapshotSlot {
    fn lock(&self) -> MutexGuard<'_, Option<StoredSnapshot>> {
        self.current
            .lock()
            .expect("the snapshot lock is never poisoned unless a write panicked")
    }

    /// Stores `snapshot` unless a newer one is stored already (a build racing an install).
    fn store(&self, snapshot: StoredSnapshot) -> io::Result<()> {
        let mut current = self.lock();
        if let Some(current) = &*current
            && current.meta.last_log_id > snapshot.meta.last_log_id
        {
            return Ok(());
        }
        replace_file(&self.path, &encode_frame(&snapshot.data))?;
        *current = Some(snapshot);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let snapshot_id = match self.last_applied {
            Some(log_id) => format!("{}-{}", log_id.leader_id, log_id.index),
            None => "empty".to_owned(),
        };
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.last_membership.clone(),
            snapshot_id,
        };
        let file = SnapshotFile {
            meta: meta.clone(),
            end_offset: self.image.end_offset(),
            records: self.image.to_records(),
        };
        let data = encode_payload(&file);
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        if let Err(error) = self.snapshot.store(stored) {
            return Err(StorageIOError::write_snapshot(Some(meta.signature()), &error).into());
        }
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyOutcome>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut res = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let outcome = match entry.payload {
                EntryPayload::Blank => ApplyOutcome::NoBatch,
                EntryPayload::Normal(batch) => self.apply_batch(&batch),
                EntryPayload::Membership(membership) => {
                    self.last_membership = StoredMembership::new(Some(entry.log_id), membership);
                    ApplyOutcome::NoBatch
                }
            };
            res.push(outcome);
        }
        // Publish before openraft answers the proposer: it reads its own write.
        self.image_tx.send_replace(Arc::clone(&self.image));
        Ok(res)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            image: Arc::clone(&self.image),
            last_applied: self.last_applied,
            last_membership: self.last_membership.clone(),
            snapshot: self.snapshot.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let read_error = |reason: String| -> StorageError {
            let error = io::Error::new(io::ErrorKind::InvalidData, reason);
            StorageIOError::read_snapshot(Some(meta.signature()), &error).into()
        };
        let file = match decode_payload::<SnapshotFile>(&data) {
            Ok(file) => file,
            Err(reason) => return Err(read_error(reason)),
        };
        let image = match MetadataImage::from_snapshot(file.end_offset, &file.records) {
            Ok(image) => image,
            Err(error) => return Err(read_error(error.to_string())),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        if let Err(error) = self.snapshot.store(stored) {
            return Err(StorageIOError::write_snapshot(Some(meta.signature()), &error).into());
        }
        self.image = Arc::new(image);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        self.image_tx.send_replace(Arc::clone(&self.image));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        Ok(self.snapshot.lock().clone().map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, Membership};
    use strom_metadata::{
        BrokerId, BrokerRegistration, ClusterId, PartitionIndex, PartitionRecord, TopicId,
    };

    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn entry(index: u64, payload: EntryPayload<TypeConfig>) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload,
        }
    }

    fn batch(base_offset: u64, records: Vec<MetadataRecord>) -> EntryPayload<TypeConfig> {
        EntryPayload::Normal(RecordBatch {
            base_offset: MetadataOffset(base_offset),
            records,
        })
    }

    fn register(broker_id: i32) -> MetadataRecord {
        MetadataRecord::RegisterBroker(BrokerRegistration {
            broker_id: BrokerId(broker_id),
            endpoints: Vec::new(),
            rack: None,
            fenced: false,
        })
    }

    /// Applies `payloads` as entries 0, 1, 2, ... and returns the outcomes and the image.
    fn apply_all(
        state_machine: &mut StateMachine,
        payloads: Vec<EntryPayload<TypeConfig>>,
    ) -> Vec<ApplyOutcome> {
        let entries: Vec<Entry> = (0..)
            .zip(payloads)
            .map(|(index, payload)| entry(index, payload))
            .collect();
        block_on(state_machine.apply(entries)).unwrap()
    }

    #[test]
    fn refused_batches_leave_the_image_and_do_not_stop_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (mut state_machine, image_rx) = StateMachine::open(dir.path()).unwrap();
        let membership = Membership::new(vec![[1u64].into_iter().collect()], None);
        let unknown_topic = MetadataRecord::Partition(PartitionRecord {
            topic_id: TopicId([3; 16]),
            partition: PartitionIndex(0),
            replicas: vec![BrokerId(1)],
            isr: vec![BrokerId(1)],
            leader: Some(BrokerId(1)),
            leader_epoch: Default::default(),
            partition_epoch: Default::default(),
        });
        let outcomes = apply_all(
            &mut state_machine,
            vec![
                EntryPayload::Membership(membership),
                EntryPayload::Blank,
                batch(
                    0,
                    vec![
                        MetadataRecord::ClusterId {
                            cluster_id: ClusterId("c".into()),
                        },
                        register(1),
                    ],
                ),
                // Planned against the empty image: stale.
                batch(0, vec![register(2)]),
                // A partition of a topic that does not exist; the first record alone would fit.
                batch(2, vec![register(3), unknown_topic]),
                batch(2, vec![register(4)]),
            ],
        );
        assert_eq!(outcomes[0], ApplyOutcome::NoBatch);
        assert_eq!(outcomes[1], ApplyOutcome::NoBatch);
        assert_eq!(outcomes[2], ApplyOutcome::Applied { end_offset: 2 });
        assert!(
            matches!(&outcomes[3], ApplyOutcome::Refused { .. }),
            "{:?}",
            outcomes[3]
        );
        assert!(
            matches!(&outcomes[4], ApplyOutcome::Refused { .. }),
            "{:?}",
            outcomes[4]
        );
        assert_eq!(outcomes[5], ApplyOutcome::Applied { end_offset: 3 });
        let image = image_rx.borrow().clone();
        let brokers: Vec<BrokerId> = image.brokers().map(|broker| broker.broker_id).collect();
        assert_eq!(brokers, vec![BrokerId(1), BrokerId(4)]);
        let (last_applied, membership) = block_on(state_machine.applied_state()).unwrap();
        assert_eq!(last_applied.map(|log_id| log_id.index), Some(5));
        assert_eq!(membership.log_id().map(|log_id| log_id.index), Some(0));
    }

    #[test]
    fn snapshot_rebuilds_the_image_on_reopen_and_on_install() {
        let dir = tempfile::tempdir().unwrap();
        let (mut state_machine, _) = StateMachine::open(dir.path()).unwrap();
        assert!(
            block_on(state_machine.get_current_snapshot())
                .unwrap()
                .is_none()
        );
        apply_all(
            &mut state_machine,
            vec![
                EntryPayload::Blank,
                batch(0, vec![register(1), register(2)]),
                batch(2, vec![register(7)]),
            ],
        );
        let image = Arc::clone(&state_machine.image);
        let mut builder = block_on(state_machine.get_snapshot_builder());
        let snapshot = block_on(builder.build_snapshot()).unwrap();
        assert_eq!(
            snapshot.meta.last_log_id.map(|log_id| log_id.index),
            Some(2)
        );
        drop(state_machine);

        let (mut reopened, image_rx) = StateMachine::open(dir.path()).unwrap();
        assert_eq!(**image_rx.borrow(), *image);
        let (last_applied, _) = block_on(reopened.applied_state()).unwrap();
        assert_eq!(last_applied, snapshot.meta.last_log_id);
        let current = block_on(reopened.get_current_snapshot()).unwrap().unwrap();
        assert_eq!(current.meta, snapshot.meta);

        // Another node installs the snapshot's bytes.
        let other_dir = tempfile::tempdir().unwrap();
        let (mut other, other_rx) = StateMachine::open(other_dir.path()).unwrap();
        let data = snapshot.snapshot.into_inner();
        block_on(other.install_snapshot(&snapshot.meta, Box::new(Cursor::new(data)))).unwrap();
        assert_eq!(**other_rx.borrow(), *image);
        assert_eq!(other_rx.borrow().end_offset(), MetadataOffset(3));
        drop(other);
        let (_, reopened_rx) = StateMachine::open(other_dir.path()).unwrap();
        assert_eq!(**reopened_rx.borrow(), *image);
    }

    #[test]
    fn damaged_snapshot_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(SNAPSHOT_FILE_NAME),
            encode_frame(b"\x01garbage"),
        )
        .unwrap();
        assert!(matches!(
            StateMachine::open(dir.path()),
            Err(Error::Corrupt { .. })
        ));
        std::fs::write(dir.path().join(SNAPSHOT_FILE_NAME), b"short").unwrap();
        assert!(matches!(
            StateMachine::open(dir.path()),
            Err(Error::Corrupt { .. })
        ));
    }
}
