//! `buffer.memory`: a pool of bytes that batches hold from when they are opened until they
//! complete. As in Kafka's producer, a batch takes `batch.size` bytes (or its first record's
//! size, if larger) when it opens, so the records appended to it cost nothing more. When the
//! pool is used up, `send` waits up to `max.block.ms` for acknowledgements to return memory,
//! which is how a fast application is slowed to the pace of the brokers. It does not allocate
//! the bytes; it only counts them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::{Error, Result};

/// The pool of `buffer.memory` bytes.
#[derive(Debug, Clone)]
pub(crate) struct BufferPool {
    semaphore: Arc<Semaphore>,
    total: u32,
}

/// Bytes taken from the pool; returned when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "held until dropped, which returns the bytes")
    )]
    permit: Option<OwnedSemaphorePermit>,
}

impl BufferPool {
    /// A pool of `total` bytes.
    pub(crate) fn new(total: u32) -> BufferPool {
        BufferPool {
            semaphore: Arc::new(Semaphore::new(total as usize)),
            total,
        }
    }

    /// Takes `size` bytes if they are free now (`None` otherwise, or when closed). A request
    /// for more than the whole pool takes the whole pool.
    pub(crate) fn try_reserve(&self, size: usize) -> Option<Reservation> {
        let size = u32::try_from(size).unwrap_or(u32::MAX).min(self.total);
        let permit = self.semaphore.clone().try_acquire_many_owned(size).ok()?;
        Some(Reservation {
            permit: Some(permit),
        })
    }

    /// The pool's size in bytes.
    pub(crate) fn total(&self) -> usize {
        self.total as usize
    }

    /// Takes `size` bytes, waiting at most `max_block` for them to be returned. A request
    /// for more than the whole pool takes the whole pool.
    pub(crate) async fn reserve(&self, size: usize, max_block: Duration) -> Result<Reservation> {
        let size = u32::try_from(size).unwrap_or(u32::MAX).min(self.total);
        // Without waiting first: no timer to set up while the pool has room.
        match self.semaphore.clone().try_acquire_many_owned(size) {
            Ok(permit) => {
                return Ok(Reservation {
                    permit: Some(permit),
                });
            }
            Err(TryAcquireError::Closed) => return Err(Error::Closed),
            Err(TryAcquireError::NoPermits) => {}
        }
        let acquire = self.semaphore.clone().acquire_many_owned(size);
        match tokio::time::timeout(max_block, acquire).await {
            Ok(Ok(permit)) => Ok(Reservation {
                permit: Some(permit),
            }),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Err(Error::Blocked(max_block, "buffer memory")),
        }
    }

    /// Bytes free right now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.semaphore.available_permits()
    }

    /// Wakes every waiter with [`Error::Closed`].
    pub(crate) fn close(&self) {
        self.semaphore.close();
    }
}

impl Reservation {
    /// An empty reservation to merge others into.
    #[cfg(test)]
    pub(crate) fn empty() -> Reservation {
        Reservation { permit: None }
    }

    /// Adds `other`'s bytes to this reservation.
    #[cfg(test)]
    pub(crate) fn merge(&mut self, other: Reservation) {
        match (&mut self.permit, other.permit) {
            (Some(permit), Some(other)) => permit.merge(other),
            (slot @ None, other) => *slot = other,
            (Some(_), None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn full_pool_blocks_until_memory_returns_or_max_block() {
        let pool = BufferPool::new(100);
        let mut held = pool.reserve(60, Duration::from_secs(1)).await.unwrap();
        held.merge(pool.reserve(30, Duration::from_secs(1)).await.unwrap());
        assert_eq!(pool.available(), 10);
        // Not enough left: waits max.block.ms, then fails.
        let blocked = pool.reserve(20, Duration::from_millis(50)).await;
        assert!(matches!(blocked, Err(Error::Blocked(..))), "{blocked:?}");
        // Completing the batch returns its memory and wakes the waiter.
        let pool_in_task = pool.clone();
        let waiter =
            tokio::spawn(async move { pool_in_task.reserve(20, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
        // More than the whole pool (batch.size above buffer.memory): the whole pool.
        let all = pool.reserve(101, Duration::from_secs(1)).await.unwrap();
        assert_eq!(pool.available(), 0);
        assert!(pool.try_reserve(1).is_none());
        drop(all);
        assert!(pool.try_reserve(100).is_some());
    }
}
