//! Random identifiers the broker mints: topic ids and the cluster id of a freshly formatted data
//! directory. They need to be unique, not secret, so they come from the standard library's
//! randomly seeded hasher mixed with the clock and a counter (no extra dependency). Nothing here is
//! suitable for cryptographic use.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 16 random bytes that are never all zero (the zero UUID is Kafka's "no topic id").
pub fn random_bytes() -> [u8; 16] {
    loop {
        let mut res = [0u8; 16];
        for chunk in res.chunks_mut(8) {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos());
            hasher.write_u128(nanos);
            chunk.copy_from_slice(&hasher.finish().to_be_bytes());
        }
        if res != [0; 16] {
            return res;
        }
    }
}

/// A cluster id in Kafka's format: a random UUID as 22 characters of URL-safe base64.
pub fn cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = random_bytes();
    let value = u128::from_be_bytes(bytes);
    // 22 characters of 6 bits hold 132 bits; the top 4 bits of the first character are zero.
    (0..22)
        .rev()
        .map(|index| {
            let shift = index * 6;
            let digit = if shift >= 128 {
                0
            } else {
                ((value >> shift) & 0x3f) as usize
            };
            char::from(ALPHABET[digit])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_and_well_formed() {
        let first = random_bytes();
        let second = random_bytes();
        assert_ne!(first, second);
        let id = cluster_id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
        );
        assert_ne!(id, cluster_id());
    }
}
