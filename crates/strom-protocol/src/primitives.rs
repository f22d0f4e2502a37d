//! Primitive wire types of the Kafka protocol: fixed-width integers, varints, UUIDs, and the
//! length prefixes of strings, bytes and arrays in their classic and compact (flexible) forms.
//!
//! Every read checks the bytes that remain before consuming anything, and every length read off
//! the wire is checked against the remaining input before the caller allocates. This module does
//! not know about messages or versions; `field` builds on it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::Error;

/// A 16-byte UUID as Kafka sends it (topic ids, directory ids).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

/// Checks that `buf` holds at least `needed` bytes.
pub fn ensure(buf: &Bytes, needed: usize) -> Result<(), Error> {
    if buf.remaining() < needed {
        return Err(Error::Truncated {
            needed,
            remaining: buf.remaining(),
        });
    }
    Ok(())
}

/// Splits off the next `len` bytes without copying them.
pub fn take(buf: &mut Bytes, len: usize) -> Result<Bytes, Error> {
    ensure(buf, len)?;
    Ok(buf.split_to(len))
}

/// Reads an int8.
pub fn read_i8(buf: &mut Bytes) -> Result<i8, Error> {
    ensure(buf, 1)?;
    Ok(buf.get_i8())
}

/// Reads a big-endian int16.
pub fn read_i16(buf: &mut Bytes) -> Result<i16, Error> {
    ensure(buf, 2)?;
    Ok(buf.get_i16())
}

/// Reads a big-endian int32.
pub fn read_i32(buf: &mut Bytes) -> Result<i32, Error> {
    ensure(buf, 4)?;
    Ok(buf.get_i32())
}

/// Reads a big-endian int64.
pub fn read_i64(buf: &mut Bytes) -> Result<i64, Error> {
    ensure(buf, 8)?;
    Ok(buf.get_i64())
}

/// Reads a big-endian uint16.
pub fn read_u16(buf: &mut Bytes) -> Result<u16, Error> {
    ensure(buf, 2)?;
    Ok(buf.get_u16())
}

/// Reads a big-endian uint32.
pub fn read_u32(buf: &mut Bytes) -> Result<u32, Error> {
    ensure(buf, 4)?;
    Ok(buf.get_u32())
}

/// Reads a big-endian IEEE 754 float64.
pub fn read_f64(buf: &mut Bytes) -> Result<f64, Error> {
    ensure(buf, 8)?;
    Ok(buf.get_f64())
}

/// Reads a 16-byte UUID.
pub fn read_uuid(buf: &mut Bytes) -> Result<Uuid, Error> {
    ensure(buf, 16)?;
    let mut res = [0u8; 16];
    buf.copy_to_slice(&mut res);
    Ok(Uuid(res))
}

/// Reads an unsigned LEB128 varint of at most 5 bytes (Kafka's `UNSIGNED_VARINT`).
pub fn read_unsigned_varint(buf: &mut Bytes) -> Result<u32, Error> {
    let mut res: u32 = 0;
    for i in 0..5 {
        let byte = read_i8(buf)? as u8;
        let bits = u32::from(byte & 0x7f);
        // The fifth byte may carry only the top 4 bits of a u32.
        if i == 4 && bits > 0x0f {
            return Err(Error::InvalidVarint);
        }
        res |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(res);
        }
    }
    Err(Error::InvalidVarint)
}

/// Reads an unsigned LEB128 varlong of at most 10 bytes.
pub fn read_unsigned_varlong(buf: &mut Bytes) -> Result<u64, Error> {
    let mut res: u64 = 0;
    for i in 0..10 {
        let byte = read_i8(buf)? as u8;
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 0x01 {
            return Err(Error::InvalidVarint);
        }
        res |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(res);
        }
    }
    Err(Error::InvalidVarint)
}

/// Reads a zigzag-encoded signed varint (Kafka's `VARINT`).
pub fn read_varint(buf: &mut Bytes) -> Result<i32, Error> {
    let raw = read_unsigned_varint(buf)?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// Reads a zigzag-encoded signed varlong (Kafka's `VARLONG`).
pub fn read_varlong(buf: &mut Bytes) -> Result<i64, Error> {
    let raw = read_unsigned_varlong(buf)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

/// Writes an unsigned LEB128 varint.
pub fn write_unsigned_varint(buf: &mut BytesMut, value: u32) {
    let mut value = value;
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes an unsigned LEB128 varlong.
pub fn write_unsigned_varlong(buf: &mut BytesMut, value: u64) {
    let mut value = value;
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

/// Writes a zigzag-encoded signed varint.
pub fn write_varint(buf: &mut BytesMut, value: i32) {
    write_unsigned_varint(buf, ((value << 1) ^ (value >> 31)) as u32);
}

/// Writes a zigzag-encoded signed varlong.
pub fn write_varlong(buf: &mut BytesMut, value: i64) {
    write_unsigned_varlong(buf, ((value << 1) ^ (value >> 63)) as u64);
}

/// How the length of a string, byte string or array is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPrefix {
    /// int16 length, -1 for null (classic strings).
    Int16,
    /// int32 length, -1 for null (classic bytes and arrays).
    Int32,
    /// Unsigned varint of length + 1, 0 for null (flexible versions).
    Compact,
}

/// Reads a length prefix; `None` means null. The length is checked against the remaining
/// bytes (each unit of length needs at least one byte), so callers may allocate up to `len`.
pub fn read_length(buf: &mut Bytes, prefix: LengthPrefix) -> Result<Option<usize>, Error> {
    let raw: i64 = match prefix {
        LengthPrefix::Int16 => i64::from(read_i16(buf)?),
        LengthPrefix::Int32 => i64::from(read_i32(buf)?),
        LengthPrefix::Compact => i64::from(read_unsigned_varint(buf)?) - 1,
    };
    if raw == -1 {
        return Ok(None);
    }
    let Ok(len) = usize::try_from(raw) else {
        return Err(Error::InvalidLength(raw));
    };
    if len > buf.remaining() {
        return Err(Error::InvalidLength(raw));
    }
    Ok(Some(len))
}

/// Writes a length prefix; `None` writes null.
pub fn write_length(
    buf: &mut BytesMut,
    prefix: LengthPrefix,
    len: Option<usize>,
) -> Result<(), Error> {
    match (prefix, len) {
        (LengthPrefix::Int16, None) => buf.put_i16(-1),
        (LengthPrefix::Int32, None) => buf.put_i32(-1),
        (LengthPrefix::Compact, None) => buf.put_u8(0),
        (LengthPrefix::Int16, Some(len)) => {
            let Ok(len) = i16::try_from(len) else {
                return Err(Error::TooLong(len));
            };
            buf.put_i16(len);
        }
        (LengthPrefix::Int32, Some(len)) => {
            let Ok(len) = i32::try_from(len) else {
                return Err(Error::TooLong(len));
            };
            buf.put_i32(len);
        }
        (LengthPrefix::Compact, Some(len)) => {
            let Some(len) = u32::try_from(len).ok().and_then(|len| len.checked_add(1)) else {
                return Err(Error::TooLong(len));
            };
            write_unsigned_varint(buf, len);
        }
    }
    Ok(())
}

/// Reads a UTF-8 string of `len` bytes.
pub fn read_str(buf: &mut Bytes, len: usize) -> Result<String, Error> {
    let raw = take(buf, len)?;
    match std::str::from_utf8(&raw) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => Err(Error::InvalidUtf8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_unsigned_varint(value: u32, expect: &[u8]) {
        let mut buf = BytesMut::new();
        write_unsigned_varint(&mut buf, value);
        assert_eq!(&buf[..], expect);
        let mut bytes = buf.freeze();
        assert_eq!(read_unsigned_varint(&mut bytes).unwrap(), value);
        assert!(bytes.is_empty());
    }

    #[test]
    fn unsigned_varints() {
        check_unsigned_varint(0, &[0]);
        check_unsigned_varint(127, &[0x7f]);
        check_unsigned_varint(128, &[0x80, 0x01]);
        check_unsigned_varint(300, &[0xac, 0x02]);
        check_unsigned_varint(u32::MAX, &[0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn overlong_varint_is_rejected() {
        let mut bytes = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x1f]);
        assert!(matches!(
            read_unsigned_varint(&mut bytes),
            Err(Error::InvalidVarint)
        ));
        let mut bytes = Bytes::from_static(&[0x80, 0x80]);
        assert!(matches!(
            read_unsigned_varint(&mut bytes),
            Err(Error::Truncated { .. })
        ));
    }

    #[test]
    fn signed_varints_zigzag() {
        for value in [0, -1, 1, i32::MIN, i32::MAX, 63, -64] {
            let mut buf = BytesMut::new();
            write_varint(&mut buf, value);
            assert_eq!(read_varint(&mut buf.freeze()).unwrap(), value);
        }
        for value in [0, -1, 1, i64::MIN, i64::MAX] {
            let mut buf = BytesMut::new();
            write_varlong(&mut buf, value);
            assert_eq!(read_varlong(&mut buf.freeze()).unwrap(), value);
        }
        let mut buf = BytesMut::new();
        write_varint(&mut buf, -1);
        assert_eq!(&buf[..], &[0x01]);
    }

    #[test]
    fn length_beyond_input_is_rejected() {
        let mut bytes = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]);
        assert!(matches!(
            read_length(&mut bytes, LengthPrefix::Int32),
            Err(Error::InvalidLength(0x7fff_ffff))
        ));
        let mut bytes = Bytes::from_static(&[0xff, 0xfe]);
        assert!(matches!(
            read_length(&mut bytes, LengthPrefix::Int16),
            Err(Error::InvalidLength(-2))
        ));
        let mut bytes = Bytes::from_static(&[0x00]);
        assert_eq!(
            read_length(&mut bytes, LengthPrefix::Compact).unwrap(),
            None
        );
    }
}
