//! Kafka's zigzag variable-length integers (protobuf style), as used inside records: `varint` for
//! 32-bit values (at most 5 bytes) and `varlong` for 64-bit values (at most 10 bytes). Decoding
//! rejects values that run past the end of the input or past the type's width; it does not know
//! what the numbers mean.

use bytes::BufMut;

use crate::Error;

/// Appends `value` as a zigzag varint.
pub(crate) fn put_varint(out: &mut impl BufMut, value: i32) {
    put_unsigned(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

/// Appends `value` as a zigzag varlong.
pub(crate) fn put_varlong(out: &mut impl BufMut, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

/// Bytes `put_varint(value)` writes.
pub(crate) fn varint_size(value: i32) -> usize {
    unsigned_size(u64::from(((value << 1) ^ (value >> 31)) as u32))
}

/// Bytes `put_varlong(value)` writes.
pub(crate) fn varlong_size(value: i64) -> usize {
    unsigned_size(((value << 1) ^ (value >> 63)) as u64)
}

/// Reads a zigzag varint from the start of `bytes`; returns it and the bytes it used.
pub(crate) fn read_varint(bytes: &[u8]) -> Result<(i32, usize), Error> {
    let (raw, used) = read_unsigned(bytes, 5)?;
    let Ok(raw) = u32::try_from(raw) else {
        return Err(Error::InvalidVarint);
    };
    Ok((((raw >> 1) as i32) ^ -((raw & 1) as i32), used))
}

/// Reads a zigzag varlong from the start of `bytes`; returns it and the bytes it used.
pub(crate) fn read_varlong(bytes: &[u8]) -> Result<(i64, usize), Error> {
    let (raw, used) = read_unsigned(bytes, 10)?;
    Ok((((raw >> 1) as i64) ^ -((raw & 1) as i64), used))
}

fn put_unsigned(out: &mut impl BufMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

fn unsigned_size(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

fn read_unsigned(bytes: &[u8], max_bytes: usize) -> Result<(u64, usize), Error> {
    let mut res: u64 = 0;
    for (index, byte) in bytes.iter().take(max_bytes).enumerate() {
        let shift = 7 * index as u32;
        let payload = u64::from(byte & 0x7f);
        // The tenth byte of a varlong may carry only the top bit of a u64.
        if shift == 63 && payload > 1 {
            return Err(Error::InvalidVarint);
        }
        res |= payload << shift;
        if byte & 0x80 == 0 {
            return Ok((res, index + 1));
        }
    }
    Err(Error::InvalidVarint)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check_varint(value: i32, expected: &[u8]) {
        let mut out = Vec::new();
        put_varint(&mut out, value);
        assert_eq!(out, expected);
        assert_eq!(varint_size(value), expected.len());
        assert_eq!(read_varint(&out), Ok((value, expected.len())));
    }

    #[test]
    fn known_encodings() {
        check_varint(0, &[0x00]);
        check_varint(-1, &[0x01]);
        check_varint(1, &[0x02]);
        check_varint(63, &[0x7e]);
        check_varint(-64, &[0x7f]);
        check_varint(64, &[0x80, 0x01]);
        check_varint(i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]);
        check_varint(i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn rejects_truncated_and_overlong() {
        assert_eq!(read_varint(&[]), Err(Error::InvalidVarint));
        assert_eq!(read_varint(&[0x80]), Err(Error::InvalidVarint));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(Error::InvalidVarint)
        );
        // Five bytes whose value does not fit in 32 bits.
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(Error::InvalidVarint)
        );
        assert_eq!(read_varlong(&[0xff; 10]), Err(Error::InvalidVarint));
        assert_eq!(
            read_varlong(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Ok((i64::MIN, 10))
        );
    }

    proptest! {
        #[test]
        fn varint_round_trip(value: i32, tail: Vec<u8>) {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            prop_assert_eq!(out.len(), varint_size(value));
            out.extend_from_slice(&tail);
            prop_assert_eq!(read_varint(&out), Ok((value, varint_size(value))));
        }

        #[test]
        fn varlong_round_trip(value: i64, tail: Vec<u8>) {
            let mut out = Vec::new();
            put_varlong(&mut out, value);
            prop_assert_eq!(out.len(), varlong_size(value));
            out.extend_from_slice(&tail);
            prop_assert_eq!(read_varlong(&out), Ok((value, varlong_size(value))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = read_varint(&bytes);
            let _ = read_varlong(&bytes);
        }
    }
}
