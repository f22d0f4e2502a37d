//! Choosing a partition for a record: Kafka's default (murmur2 of the key, exactly as the Java
//! client computes it, and sticky partitioning for null keys), round-robin, or a closure the
//! application supplies. It does not look at leaders or availability: every partition of the
//! topic is a candidate.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A user-supplied partitioner: `(topic, key, partition count) -> partition`. The result must
/// be below the partition count.
pub type PartitionFn = Arc<dyn Fn(&str, Option<&[u8]>, u32) -> u32 + Send + Sync>;

/// How records without an explicit partition are placed.
#[derive(Clone, Default)]
pub enum Partitioner {
    /// Kafka's built-in partitioner: a keyed record goes to
    /// `(murmur2(key) & 0x7fffffff) % partitions`; records with a null key stick to one random
    /// partition until `batch.size` bytes went there, then move on.
    #[default]
    Default,
    /// Every record to the next partition in turn (Kafka's `RoundRobinPartitioner`), keys
    /// ignored.
    RoundRobin,
    /// The application decides.
    Custom(PartitionFn),
}

impl fmt::Debug for Partitioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Partitioner::Default => f.write_str("Default"),
            Partitioner::RoundRobin => f.write_str("RoundRobin"),
            Partitioner::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`), seed `0x9747b28c`.
///
/// ```
/// assert_eq!(strom_producer::murmur2(b"foobar"), -790332482);
/// ```
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java takes the length as an int; keys longer than 2 GiB cannot be produced anyway.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (index, byte) in tail.iter().enumerate().rev() {
            h ^= u32::from(*byte) << (8 * index);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner gives `key` among `partitions` (which must not
/// be zero).
///
/// ```
/// assert_eq!(strom_producer::partition_for_key(b"foobar", 50), 16);
/// ```
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    (murmur2(key) as u32 & 0x7fff_ffff) % partitions
}

/// The mutable part of partitioning: the sticky partition and round-robin counter per topic
/// (ordered maps: a producer has few topics, and comparing a name or two costs less than hashing
/// it for every record).
#[derive(Debug)]
pub(crate) struct PartitionerState {
    sticky: BTreeMap<String, Sticky>,
    round_robin: BTreeMap<String, u32>,
    rng: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sticky {
    partition: u32,
    bytes: usize,
}

impl PartitionerState {
    /// A state whose random choices follow `seed`.
    pub(crate) fn new(seed: u64) -> PartitionerState {
        PartitionerState {
            sticky: BTreeMap::new(),
            round_robin: BTreeMap::new(),
            rng: seed | 1,
        }
    }

    /// The partition for a record of `record_size` bytes with `key` (`partitions` > 0). A
    /// custom partitioner's answer is returned as is; the caller checks it.
    pub(crate) fn partition(
        &mut self,
        partitioner: &Partitioner,
        topic: &str,
        key: Option<&[u8]>,
        partitions: u32,
        record_size: usize,
        batch_size: usize,
    ) -> u32 {
        match (partitioner, key) {
            (Partitioner::Custom(choose), key) => choose(topic, key, partitions),
            (Partitioner::RoundRobin, _) => {
                // Looked up first: `entry` would take (and so allocate) the key every time.
                let counter = match self.round_robin.get_mut(topic) {
                    Some(counter) => counter,
                    None => self.round_robin.entry(topic.to_owned()).or_insert(0),
                };
                let res = (*counter & 0x7fff_ffff) % partitions;
                *counter = counter.wrapping_add(1);
                res
            }
            (Partitioner::Default, Some(key)) => partition_for_key(key, partitions),
            (Partitioner::Default, None) => {
                self.sticky_partition(topic, partitions, record_size, batch_size)
            }
        }
    }

    /// Kafka's sticky choice for null keys: stay on one partition until `batch_size` bytes
    /// went there (one full batch), then switch to another partition chosen at random. One
    /// lookup of the topic per record.
    fn sticky_partition(
        &mut self,
        topic: &str,
        partitions: u32,
        record_size: usize,
        batch_size: usize,
    ) -> u32 {
        let rng = &mut self.rng;
        let choose = |rng: &mut u64, previous: Option<u32>| {
            let mut partition = next_random(rng) % partitions;
            if partitions > 1 && Some(partition) == previous {
                partition = (partition + 1 + next_random(rng) % (partitions - 1)) % partitions;
            }
            Sticky {
                partition,
                bytes: 0,
            }
        };
        let sticky = match self.sticky.get_mut(topic) {
            Some(sticky) => sticky,
            None => self
                .sticky
                .entry(topic.to_owned())
                .or_insert_with(|| choose(rng, None)),
        };
        if sticky.partition >= partitions || sticky.bytes >= batch_size {
            *sticky = choose(rng, Some(sticky.partition));
        }
        sticky.bytes = sticky.bytes.saturating_add(record_size);
        sticky.partition
    }
}

/// xorshift64: placement only needs to spread, not to be unpredictable.
fn next_random(rng: &mut u64) -> u32 {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    (*rng >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2` vectors.
    #[test]
    fn murmur2_matches_the_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
        // toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16.
        assert_eq!(partition_for_key(b"foobar", 50), 16);
    }

    #[test]
    fn keyed_records_use_murmur2_whatever_the_state() {
        let mut state = PartitionerState::new(7);
        for key in [&b"a"[..], b"bb", b"ccc", b"dddd", b"eeeee"] {
            let got = state.partition(&Partitioner::Default, "t", Some(key), 12, 10, 100);
            assert_eq!(got, partition_for_key(key, 12));
        }
    }

    #[test]
    fn null_keys_stick_until_a_batch_is_full_then_move() {
        let seed = 0x5eed_u64;
        println!("seed {seed}");
        let mut state = PartitionerState::new(seed);
        let mut chosen = Vec::new();
        // Records of 10 bytes with batch.size 30: three records per partition, then a switch.
        for _ in 0..12 {
            chosen.push(state.partition(&Partitioner::Default, "t", None, 4, 10, 30));
        }
        for run in chosen.chunks(3) {
            assert!(
                run.iter().all(|partition| *partition == run[0]),
                "{chosen:?}"
            );
        }
        for pair in chosen.chunks(3).collect::<Vec<_>>().windows(2) {
            assert_ne!(pair[0][0], pair[1][0], "{chosen:?}");
        }
        assert!(chosen.iter().all(|partition| *partition < 4));
        // Another topic has its own sticky partition and byte count.
        let other = state.partition(&Partitioner::Default, "u", None, 1, 10, 30);
        assert_eq!(other, 0);
    }

    #[test]
    fn round_robin_cycles_and_ignores_keys() {
        let mut state = PartitionerState::new(1);
        let chosen: Vec<u32> = (0..7)
            .map(|index| {
                let key = format!("same-key-{}", index % 2);
                state.partition(&Partitioner::RoundRobin, "t", Some(key.as_bytes()), 3, 1, 1)
            })
            .collect();
        assert_eq!(chosen, [0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn custom_partitioner_decides() {
        let mut state = PartitionerState::new(1);
        let custom = Partitioner::Custom(Arc::new(|topic, key, partitions| {
            assert_eq!(topic, "t");
            key.map_or(0, |key| key.len() as u32 % partitions)
        }));
        assert_eq!(state.partition(&custom, "t", Some(b"abcde"), 3, 1, 1), 2);
        assert_eq!(state.partition(&custom, "t", None, 3, 1, 1), 0);
    }
}
