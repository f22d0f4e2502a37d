//! How a sent record's future learns its fate. The records of a batch share its fate: one
//! outcome per batch, set once when the batch is acknowledged or fails for good, and a future
//! per record holding the batch's outcome and the record's index in it (its offset is the
//! batch's base offset plus the index). A send costs a reference count, not a channel.
//!
//! A batch dropped without an outcome (the producer was dropped without `close`) fails its
//! records with [`Error::Closed`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};

use strom_record::{Offset, Timestamp};

use crate::{Error, RecordMetadata, Result};

/// Where a batch landed, as its records' metadata needs it.
#[derive(Debug, Clone)]
pub(crate) struct Landed {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: i32,
    /// `None` with `acks=0` or for a duplicate whose offset the broker did not say.
    pub(crate) base_offset: Option<i64>,
    /// The broker's append time, for `LogAppendTime` topics.
    pub(crate) log_append_time: Option<Timestamp>,
}

/// The fate of one batch, shared by its records' futures.
#[derive(Debug, Default)]
struct Shared {
    /// Set once; read without a lock, so a batch's records complete without contending.
    outcome: OnceLock<Result<Landed>>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// One slot per future that waited; a slot's waker is replaced when its future is polled
    /// again by another task.
    wakers: Vec<Option<Waker>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The batch's side: sets the outcome once. Dropped without one, it fails the records with
/// [`Error::Closed`].
#[derive(Debug)]
pub(crate) struct Outcome {
    shared: Arc<Shared>,
}

impl Outcome {
    /// A batch's outcome, not known yet.
    pub(crate) fn new() -> Outcome {
        Outcome {
            shared: Arc::new(Shared::default()),
        }
    }

    /// The future of the record at `index` in the batch, created at `timestamp`.
    pub(crate) fn future(&self, index: u32, timestamp: Timestamp) -> DeliveryFuture {
        DeliveryFuture {
            shared: Arc::clone(&self.shared),
            index,
            timestamp,
            slot: None,
            registered: None,
        }
    }

    /// Sets the outcome (the first one wins) and wakes every waiting future. A future that
    /// found no outcome registered its waker under the lock, which is taken here after the
    /// outcome is set: it is either among the wakers taken, or sees the outcome.
    pub(crate) fn set(&self, outcome: Result<Landed>) {
        if self.shared.outcome.set(outcome).is_err() {
            return;
        }
        let wakers = std::mem::take(&mut self.shared.lock().wakers);
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        self.set(Err(Error::Closed));
    }
}

/// Resolves when the record is acknowledged (or failed).
#[derive(Debug)]
pub struct DeliveryFuture {
    shared: Arc<Shared>,
    index: u32,
    timestamp: Timestamp,
    /// This future's waker slot, once it waited.
    slot: Option<usize>,
    /// The waker in that slot.
    registered: Option<Waker>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(outcome) = this.shared.outcome.get() {
            return Poll::Ready(this.metadata(outcome));
        }
        // Still pending and registered by this task: the completion will wake it.
        if this
            .registered
            .as_ref()
            .is_some_and(|registered| registered.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let mut state = this.shared.lock();
        // Set meanwhile: its wakers were taken already.
        if let Some(outcome) = this.shared.outcome.get() {
            return Poll::Ready(this.metadata(outcome));
        }
        let waker = cx.waker().clone();
        match this.slot.and_then(|slot| state.wakers.get_mut(slot)) {
            Some(slot) => *slot = Some(waker.clone()),
            None => {
                this.slot = Some(state.wakers.len());
                state.wakers.push(Some(waker.clone()));
            }
        }
        this.registered = Some(waker);
        Poll::Pending
    }
}

impl DeliveryFuture {
    /// The record's metadata from its batch's outcome.
    fn metadata(&self, outcome: &Result<Landed>) -> Result<RecordMetadata> {
        outcome.as_ref().map_err(Clone::clone).map(|landed| {
            let offset = landed
                .base_offset
                .and_then(|base| u64::try_from(base).ok())
                .map(|base| Offset(base + u64::from(self.index)));
            RecordMetadata {
                topic: Arc::clone(&landed.topic),
                partition: landed.partition,
                offset,
                timestamp: landed.log_append_time.unwrap_or(self.timestamp),
            }
        })
    }
}

impl Drop for DeliveryFuture {
    fn drop(&mut self) {
        // A future that waited and is given up frees its waker now rather than at completion.
        if let Some(slot) = self.slot {
            let mut state = self.shared.lock();
            if let Some(waker) = state.wakers.get_mut(slot) {
                *waker = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    use super::*;

    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(future: &mut DeliveryFuture, waker: &Waker) -> Poll<Result<RecordMetadata>> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    fn landed(base_offset: Option<i64>, log_append_time: Option<Timestamp>) -> Landed {
        Landed {
            topic: Arc::from("t"),
            partition: 2,
            base_offset,
            log_append_time,
        }
    }

    #[test]
    fn records_get_their_own_offset_and_timestamp() {
        let outcome = Outcome::new();
        let mut first = outcome.future(0, Timestamp(10));
        let mut third = outcome.future(2, Timestamp(30));
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        assert!(poll(&mut first, &waker).is_pending());
        // Polled again by the same task: one slot, one wake.
        assert!(poll(&mut first, &waker).is_pending());
        assert!(poll(&mut third, &waker).is_pending());
        outcome.set(Ok(landed(Some(100), None)));
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        let Poll::Ready(Ok(metadata)) = poll(&mut third, &waker) else {
            panic!("third not ready");
        };
        assert_eq!(metadata.offset, Some(Offset(102)));
        assert_eq!(metadata.timestamp, Timestamp(30));
        assert_eq!(metadata.partition, 2);
        let Poll::Ready(Ok(metadata)) = poll(&mut first, &waker) else {
            panic!("first not ready");
        };
        assert_eq!(metadata.offset, Some(Offset(100)));
        // The first outcome wins.
        outcome.set(Err(Error::Closed));
        assert!(matches!(poll(&mut first, &waker), Poll::Ready(Ok(_))));
    }

    #[test]
    fn log_append_time_and_unknown_offsets() {
        let outcome = Outcome::new();
        let mut future = outcome.future(1, Timestamp(10));
        outcome.set(Ok(landed(None, Some(Timestamp(99)))));
        let Poll::Ready(Ok(metadata)) = poll(&mut future, Waker::noop()) else {
            panic!("not ready");
        };
        assert_eq!(metadata.offset, None);
        assert_eq!(metadata.timestamp, Timestamp(99));
    }

    #[test]
    fn a_dropped_batch_fails_its_records_as_closed() {
        let outcome = Outcome::new();
        let mut future = outcome.future(0, Timestamp(1));
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        assert!(poll(&mut future, &waker).is_pending());
        drop(outcome);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll(&mut future, &waker),
            Poll::Ready(Err(Error::Closed))
        ));
    }

    #[test]
    fn a_new_waker_replaces_the_old_one() {
        let outcome = Outcome::new();
        let mut future = outcome.future(0, Timestamp(1));
        let old = Arc::new(Counter(AtomicUsize::new(0)));
        let new = Arc::new(Counter(AtomicUsize::new(0)));
        assert!(poll(&mut future, &Waker::from(old.clone())).is_pending());
        assert!(poll(&mut future, &Waker::from(new.clone())).is_pending());
        outcome.set(Err(Error::Closed));
        assert_eq!(old.0.load(Ordering::SeqCst), 0);
        assert_eq!(new.0.load(Ordering::SeqCst), 1);
    }
}
