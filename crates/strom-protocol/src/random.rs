//! Random message values for property tests (feature `testing`): a small seeded generator and
//! a [`Random`] implementation for every wire type, so tests can build arbitrary messages of
//! every kind from one `u64` seed. Not for production use and not cryptographic.

use bytes::Bytes;

use crate::field::RawTaggedField;
use crate::primitives::Uuid;

/// A seeded xorshift64* generator: deterministic, so a failing seed reproduces.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, including 0).
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }
}

/// A type whose values can be generated at random.
pub trait Random {
    /// A random value.
    fn random(rng: &mut Rng) -> Self;
}

macro_rules! random_int {
    ($($ty:ty),*) => {$(
        impl Random for $ty {
            fn random(rng: &mut Rng) -> Self {
                // Favour the boundary values and small numbers that sentinels and defaults use.
                match rng.below(4) {
                    0 => <$ty>::MIN,
                    1 => <$ty>::MAX,
                    2 => (rng.below(5) as $ty).wrapping_sub(1),
                    _ => rng.next_u64() as $ty,
                }
            }
        }
    )*};
}

random_int!(i8, i16, i32, i64, u16, u32);

impl Random for bool {
    fn random(rng: &mut Rng) -> Self {
        rng.below(2) == 1
    }
}

impl Random for f64 {
    fn random(rng: &mut Rng) -> Self {
        // Finite values only: NaN would not compare equal to itself.
        (rng.next_u64() as i64) as f64 / 1024.0
    }
}

impl Random for Uuid {
    fn random(rng: &mut Rng) -> Self {
        let mut res = [0u8; 16];
        res[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        res[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        Uuid(res)
    }
}

impl Random for String {
    fn random(rng: &mut Rng) -> Self {
        const ALPHABET: [char; 8] = ['a', 'z', '0', '-', '.', '_', 'é', '日'];
        let len = rng.below(8);
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect()
    }
}

impl Random for Bytes {
    fn random(rng: &mut Rng) -> Self {
        let len = rng.below(40);
        (0..len).map(|_| rng.next_u64() as u8).collect()
    }
}

impl<T: Random> Random for Vec<T> {
    fn random(rng: &mut Rng) -> Self {
        let len = rng.below(4);
        (0..len).map(|_| T::random(rng)).collect()
    }
}

impl<T: Random> Random for Option<T> {
    fn random(rng: &mut Rng) -> Self {
        if rng.below(4) == 0 {
            return None;
        }
        Some(T::random(rng))
    }
}

/// Random unknown tagged fields, with tags far above any declared tag and in ascending order.
pub fn random_unknown_tagged_fields(rng: &mut Rng) -> Vec<RawTaggedField> {
    let count = if rng.below(4) == 0 { rng.below(3) } else { 0 };
    (0..count)
        .map(|i| RawTaggedField {
            tag: 1000 + 10 * i as u32 + rng.below(10) as u32,
            data: Bytes::random(rng),
        })
        .collect()
}
