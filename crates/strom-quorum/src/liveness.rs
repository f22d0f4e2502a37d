//! Broker sessions on the active controller (KRaft-style): when each broker was last heard from,
//! kept in memory on the leader only (never in the log), and which registered, unfenced brokers
//! have let their session expire.
//!
//! A leader starts every broker's session afresh when it takes office in a term: it has not heard
//! anyone yet, and a broker must not be fenced because the previous leader died. The task that
//! acts on this (fencing through the quorum) lives in `quorum`; this is only the bookkeeping,
//! with time passed in.

use std::collections::HashMap;
use std::time::Duration;

use strom_metadata::{BrokerId, MetadataImage};
use tokio::time::Instant;

/// The leader's record of broker sessions.
#[derive(Debug, Default)]
pub(crate) struct Liveness {
    /// The term this node leads in and when it noticed, or `None` while it does not lead.
    leading: Option<(u64, Instant)>,
    /// When each broker was last heard from in that term.
    last_heard: HashMap<BrokerId, Instant>,
}

impl Liveness {
    /// Notes whether this node leads, and in which term. A new term (or losing leadership)
    /// forgets every session.
    pub(crate) fn observe(&mut self, leading_term: Option<u64>, now: Instant) {
        match (leading_term, self.leading) {
            (Some(term), Some((current, _))) if term == current => {}
            (Some(term), _) => {
                self.leading = Some((term, now));
                self.last_heard.clear();
            }
            (None, _) => {
                self.leading = None;
                self.last_heard.clear();
            }
        }
    }

    /// Renews a broker's session (a heartbeat or a registration) in `term`.
    pub(crate) fn heard(&mut self, broker_id: BrokerId, term: u64, now: Instant) {
        self.observe(Some(term), now);
        self.last_heard.insert(broker_id, now);
    }

    /// Whether `broker_id`'s session has expired: this node leads, and the broker has not been
    /// heard from for longer than `timeout` since the later of the leader taking office and its
    /// last heartbeat.
    pub(crate) fn is_expired(&self, broker_id: BrokerId, now: Instant, timeout: Duration) -> bool {
        let Some((_, since)) = self.leading else {
            return false;
        };
        let last = match self.last_heard.get(&broker_id) {
            Some(heard) => (*heard).max(since),
            None => since,
        };
        now.saturating_duration_since(last) > timeout
    }

    /// The registered, unfenced brokers of `image` whose session has expired.
    pub(crate) fn expired(
        &self,
        image: &MetadataImage,
        now: Instant,
        timeout: Duration,
    ) -> Vec<BrokerId> {
        image
            .brokers()
            .filter(|broker| !broker.fenced && self.is_expired(broker.broker_id, now, timeout))
            .map(|broker| broker.broker_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use strom_metadata::{BrokerRegistration, MetadataRecord};

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(9);

    fn image(brokers: &[(i32, bool)]) -> MetadataImage {
        let mut res = MetadataImage::new();
        for &(id, fenced) in brokers {
            res.apply(&MetadataRecord::RegisterBroker(BrokerRegistration {
                broker_id: BrokerId(id),
                endpoints: Vec::new(),
                rack: None,
                fenced,
            }))
            .unwrap();
        }
        res
    }

    #[test]
    fn nobody_expires_while_not_leading() {
        let start = Instant::now();
        let mut liveness = Liveness::default();
        let image = image(&[(1, false)]);
        assert!(
            liveness
                .expired(&image, start + TIMEOUT * 10, TIMEOUT)
                .is_empty()
        );
        liveness.observe(Some(3), start);
        liveness.observe(None, start + TIMEOUT);
        assert!(
            liveness
                .expired(&image, start + TIMEOUT * 10, TIMEOUT)
                .is_empty()
        );
    }

    #[test]
    fn sessions_start_when_the_leader_takes_office_and_renew_on_heartbeat() {
        let start = Instant::now();
        let mut liveness = Liveness::default();
        let image = image(&[(1, false), (2, false), (3, true)]);
        liveness.observe(Some(5), start);
        // Exactly the timeout is not yet expired.
        assert!(
            liveness
                .expired(&image, start + TIMEOUT, TIMEOUT)
                .is_empty()
        );
        liveness.heard(BrokerId(1), 5, start + TIMEOUT / 2);
        let later = start + TIMEOUT + Duration::from_millis(1);
        // Broker 3 is fenced already, broker 1 heartbeated: only broker 2 expires.
        assert_eq!(liveness.expired(&image, later, TIMEOUT), vec![BrokerId(2)]);
        let much_later = start + TIMEOUT * 2;
        assert_eq!(
            liveness.expired(&image, much_later, TIMEOUT),
            vec![BrokerId(1), BrokerId(2)]
        );
        // Observing the same term changes nothing.
        liveness.observe(Some(5), much_later);
        assert_eq!(liveness.expired(&image, much_later, TIMEOUT).len(), 2);
    }

    #[test]
    fn a_new_term_gives_every_broker_a_fresh_session() {
        let start = Instant::now();
        let mut liveness = Liveness::default();
        let image = image(&[(1, false), (2, false)]);
        liveness.heard(BrokerId(1), 5, start);
        let later = start + TIMEOUT * 3;
        assert_eq!(liveness.expired(&image, later, TIMEOUT).len(), 2);
        liveness.observe(Some(6), later);
        assert!(
            liveness
                .expired(&image, later + TIMEOUT, TIMEOUT)
                .is_empty()
        );
        assert_eq!(
            liveness.expired(&image, later + TIMEOUT * 2, TIMEOUT).len(),
            2
        );
        // A heartbeat that reports a newer term also starts it.
        liveness.heard(BrokerId(2), 7, later + TIMEOUT * 2);
        assert!(
            liveness
                .expired(&image, later + TIMEOUT * 3, TIMEOUT)
                .is_empty()
        );
    }
}
