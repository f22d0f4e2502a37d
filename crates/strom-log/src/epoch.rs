//! The leader-epoch cache: for each leader epoch, the first offset appended in it. Replication uses
//! it to answer `OffsetForLeaderEpoch` (where did epoch `e` end?) so a follower can truncate its log
//! where it diverged from the leader. It is persisted in `leader-epoch-checkpoint` after every
//! change. It does not decide when to truncate: the replication layer does.

use std::path::{Path, PathBuf};

use strom_record::{LeaderEpoch, Offset};

use crate::{Error, Result, checkpoint};

const FILE_NAME: &str = "leader-epoch-checkpoint";

/// One entry of the leader-epoch cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The leader epoch.
    pub epoch: LeaderEpoch,
    /// The first offset appended in that epoch.
    pub start_offset: Offset,
}

/// The cache: entries with strictly increasing epochs and non-decreasing start offsets.
#[derive(Debug)]
pub(crate) struct LeaderEpochCache {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    /// Loads the cache of the log in `dir` (empty if there is no checkpoint yet).
    pub(crate) fn load(dir: &Path) -> Result<LeaderEpochCache> {
        let path = dir.join(FILE_NAME);
        let rows = checkpoint::read::<2>(&path)?.unwrap_or_default();
        let mut entries: Vec<EpochEntry> = Vec::with_capacity(rows.len());
        for [epoch, start_offset] in rows {
            let Ok(epoch) = u32::try_from(epoch) else {
                return Err(Error::BadCheckpoint {
                    path,
                    reason: format!("epoch {epoch} out of range"),
                });
            };
            let entry = EpochEntry {
                epoch: LeaderEpoch(epoch),
                start_offset: Offset(start_offset),
            };
            if let Some(last) = entries.last()
                && (last.epoch >= entry.epoch || last.start_offset > entry.start_offset)
            {
                return Err(Error::BadCheckpoint {
                    path,
                    reason: "entries out of order".to_owned(),
                });
            }
            entries.push(entry);
        }
        Ok(LeaderEpochCache { path, entries })
    }

    pub(crate) fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub(crate) fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.last().map(|entry| entry.epoch)
    }

    /// Records that `epoch` starts at `start_offset`. Entries that contradict it (a later or equal
    /// epoch, or a start at or after `start_offset`) are removed first, as Kafka does. Returns
    /// whether anything changed; persists if so.
    pub(crate) fn assign(&mut self, epoch: LeaderEpoch, start_offset: Offset) -> Result<bool> {
        if let Some(last) = self.entries.last()
            && last.epoch == epoch
            && last.start_offset <= start_offset
        {
            return Ok(false);
        }
        self.entries
            .retain(|entry| entry.epoch < epoch && entry.start_offset < start_offset);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.persist()?;
        Ok(true)
    }

    /// Assigns `epoch` only if it is newer than every epoch in the cache (what an append of a batch
    /// stamped with `epoch` implies).
    pub(crate) fn assign_if_newer(
        &mut self,
        epoch: LeaderEpoch,
        start_offset: Offset,
    ) -> Result<()> {
        if self.latest_epoch().is_some_and(|latest| latest >= epoch) {
            return Ok(());
        }
        self.assign(epoch, start_offset)?;
        Ok(())
    }

    /// Drops entries that start at or after `log_end_offset` (after a truncation).
    pub(crate) fn truncate_from_end(&mut self, log_end_offset: Offset) -> Result<()> {
        let before = self.entries.len();
        self.entries
            .retain(|entry| entry.start_offset < log_end_offset);
        if self.entries.len() != before {
            self.persist()?;
        }
        Ok(())
    }

    /// Drops entries wholly before `log_start_offset`; the entry covering it now starts there.
    pub(crate) fn truncate_from_start(&mut self, log_start_offset: Offset) -> Result<()> {
        let covering = self
            .entries
            .iter()
            .rposition(|entry| entry.start_offset <= log_start_offset);
        let Some(covering) = covering else {
            return Ok(());
        };
        if covering == 0 && self.entries[0].start_offset == log_start_offset {
            return Ok(());
        }
        self.entries.drain(..covering);
        self.entries[0].start_offset = log_start_offset;
        self.persist()
    }

    /// Forgets everything (the log was truncated fully).
    pub(crate) fn clear(&mut self) -> Result<()> {
        self.entries.clear();
        self.persist()
    }

    /// Kafka's `OffsetForLeaderEpoch` answer: the largest epoch `<= epoch` the cache knows and
    /// the offset where it ended (the start of the next epoch, or the log end offset for the
    /// latest epoch). `None` (Kafka's undefined epoch and offset) if the cache is empty or `epoch`
    /// is newer than every epoch in it.
    pub(crate) fn end_offset_for(
        &self,
        epoch: LeaderEpoch,
        log_end_offset: Offset,
    ) -> Option<(LeaderEpoch, Offset)> {
        let latest = self.entries.last()?;
        if latest.epoch == epoch {
            return Some((epoch, log_end_offset));
        }
        let higher = self.entries.iter().find(|entry| entry.epoch > epoch)?;
        let floor = self.entries.iter().rev().find(|entry| entry.epoch <= epoch);
        match floor {
            Some(floor) => Some((floor.epoch, higher.start_offset)),
            None => Some((epoch, higher.start_offset)),
        }
    }

    fn persist(&self) -> Result<()> {
        let rows: Vec<[u64; 2]> = self
            .entries
            .iter()
            .map(|entry| [u64::from(entry.epoch.0), entry.start_offset.0])
            .collect();
        checkpoint::write(&self.path, &rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path, entries: &[(u32, u64)]) -> LeaderEpochCache {
        let mut res = LeaderEpochCache::load(dir).unwrap();
        for &(epoch, start) in entries {
            res.assign(LeaderEpoch(epoch), Offset(start)).unwrap();
        }
        res
    }

    #[test]
    fn end_offset_for_epoch_follows_kafka() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path(), &[(1, 0), (3, 10), (5, 20)]);
        let check = |epoch: u32, expect: Option<(u32, u64)>| {
            let res = cache.end_offset_for(LeaderEpoch(epoch), Offset(30));
            assert_eq!(
                res,
                expect.map(|(e, o)| (LeaderEpoch(e), Offset(o))),
                "epoch {epoch}"
            );
        };
        check(5, Some((5, 30)));
        check(4, Some((3, 20)));
        check(3, Some((3, 20)));
        check(1, Some((1, 10)));
        check(0, Some((0, 0)));
        check(6, None);
    }

    #[test]
    fn assign_truncate_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = cache(dir.path(), &[(1, 0), (2, 10), (3, 20)]);
        // A new epoch starting before existing entries replaces them.
        cache.assign(LeaderEpoch(4), Offset(15)).unwrap();
        assert_eq!(cache.entries().len(), 3);
        cache.truncate_from_end(Offset(15)).unwrap();
        assert_eq!(cache.latest_epoch(), Some(LeaderEpoch(2)));
        cache.assign(LeaderEpoch(3), Offset(12)).unwrap();
        cache.truncate_from_start(Offset(13)).unwrap();
        let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(
            reloaded.entries(),
            &[EpochEntry {
                epoch: LeaderEpoch(3),
                start_offset: Offset(13)
            }]
        );
    }
}
