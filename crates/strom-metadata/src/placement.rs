//! Replica placement for new partitions: leaders go round-robin over the brokers from a start
//! offset, so leadership spreads evenly, and each partition's followers are the next brokers after
//! its leader, shifted once per full round so that the same pairs of brokers do not always share
//! partitions (the scheme of Kafka's rack-unaware assignment).
//!
//! It is deterministic: the same brokers, counts and start offset give the same placement. It does
//! not know about racks yet, and it does not check its inputs against an image (the controller
//! does).

use crate::ids::BrokerId;

/// Chooses replicas for `partition_count` new partitions with `replication_factor` replicas each
/// on `brokers` (distinct ids, in a fixed order). Partition `p` gets its leader at position
/// `(start + p) % brokers.len()`; every partition's replicas are distinct brokers.
///
/// The caller guarantees `1 <= replication_factor <= brokers.len()`.
///
/// ```
/// use strom_metadata::{BrokerId, place_replicas};
///
/// let brokers = [BrokerId(1), BrokerId(2), BrokerId(3)];
/// let res = place_replicas(&brokers, 3, 2, 0);
/// assert_eq!(res[0], [BrokerId(1), BrokerId(2)]);
/// assert_eq!(res[1][0], BrokerId(2));
/// assert_eq!(res[2][0], BrokerId(3));
/// ```
pub fn place_replicas(
    brokers: &[BrokerId],
    partition_count: u32,
    replication_factor: usize,
    start: u64,
) -> Vec<Vec<BrokerId>> {
    assert!(
        (1..=brokers.len()).contains(&replication_factor),
        "replication factor {replication_factor} does not fit {} brokers",
        brokers.len()
    );
    let broker_count = brokers.len() as u64;
    let mut res = Vec::with_capacity(partition_count as usize);
    for partition in 0..u64::from(partition_count) {
        let position = start.wrapping_add(partition);
        let leader = position % broker_count;
        // One shift per full round of leaders; followers sit 1..broker_count-1 places after the
        // leader, which keeps them distinct from it and from each other.
        let shift = if broker_count > 1 {
            (position / broker_count) % (broker_count - 1)
        } else {
            0
        };
        let mut replicas = Vec::with_capacity(replication_factor);
        replicas.push(brokers[leader as usize]);
        for follower in 0..replication_factor as u64 - 1 {
            let distance = 1 + (shift + follower) % (broker_count - 1);
            replicas.push(brokers[((leader + distance) % broker_count) as usize]);
        }
        res.push(replicas);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(
        broker_count: i32,
        partitions: u32,
        replication_factor: usize,
        start: u64,
        expect: &str,
    ) {
        let brokers: Vec<BrokerId> = (0..broker_count).map(BrokerId).collect();
        let res = place_replicas(&brokers, partitions, replication_factor, start);
        let text: Vec<String> = res
            .iter()
            .map(|replicas| {
                replicas
                    .iter()
                    .map(|broker_id| broker_id.0.to_string())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .collect();
        assert_eq!(text.join(" "), expect);
    }

    #[test]
    fn layouts() {
        check(1, 3, 1, 0, "0 0 0");
        check(3, 3, 1, 1, "1 2 0");
        check(3, 6, 2, 0, "01 12 20 02 10 21");
        check(3, 3, 3, 0, "012 120 201");
        check(4, 4, 3, 2, "230 301 023 130");
    }
}
