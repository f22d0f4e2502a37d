//! How every file under a node's directory is written: checked frames
//! (`[length u32 LE][crc32c u32 LE][payload]`) and whole-file replacement (write a temporary file,
//! fsync it, rename it over the old one, fsync the directory). The log appends frames; the vote
//! and snapshot files hold one frame each and are only ever replaced.
//!
//! It knows nothing of what the payloads mean (see `log_store` and `state_machine`).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The version byte in front of every postcard payload this crate writes (files and RPC frames).
pub(crate) const PAYLOAD_VERSION: u8 = 1;

/// Bytes before a frame's payload: its length and its CRC32C.
pub(crate) const FRAME_HEADER_LEN: usize = 8;

/// Why the bytes at some position are not a whole, intact frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The bytes end before the frame does (a torn write).
    Incomplete,
    /// The payload does not match its checksum.
    Checksum,
}

/// Encodes `payload` as one checked frame.
pub(crate) fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frames are far smaller than 4 GiB");
    let mut res = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    res.extend_from_slice(&len.to_le_bytes());
    res.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    res.extend_from_slice(payload);
    res
}

/// Decodes the frame at the start of `bytes`: its payload and the bytes it took.
pub(crate) fn decode_frame(bytes: &[u8]) -> Result<(&[u8], usize), FrameError> {
    let Some((header, rest)) = bytes.split_first_chunk::<FRAME_HEADER_LEN>() else {
        return Err(FrameError::Incomplete);
    };
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
    let crc = u32::from_le_bytes([c0, c1, c2, c3]);
    let Some(payload) = rest.get(..len) else {
        return Err(FrameError::Incomplete);
    };
    if crc32c::crc32c(payload) != crc {
        return Err(FrameError::Checksum);
    }
    Ok((payload, FRAME_HEADER_LEN + len))
}

/// Encodes a value as a payload: [`PAYLOAD_VERSION`], then postcard.
pub(crate) fn encode_payload<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_extend(value, vec![PAYLOAD_VERSION]).expect("encoding into a Vec cannot fail")
}

/// Decodes a payload written by [`encode_payload`]; the error says why it cannot be read.
pub(crate) fn decode_payload<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err("empty payload".to_owned());
    };
    if version != PAYLOAD_VERSION {
        return Err(format!("unknown payload version {version}"));
    }
    match postcard::from_bytes(body) {
        Ok(res) => Ok(res),
        Err(error) => Err(error.to_string()),
    }
}

/// Replaces the file at `path` with `bytes`, so that after a crash it holds either the old
/// contents or the new ones.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path)
}

/// Fsyncs the directory holding `path`, making a rename or a new file in it durable.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn frame_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..300), cut in 0usize..320) {
            let frame = encode_frame(&payload);
            let (decoded, len) = decode_frame(&frame).unwrap();
            prop_assert_eq!(decoded, &payload[..]);
            prop_assert_eq!(len, frame.len());
            // Any strict prefix is incomplete, never a different frame.
            let cut = cut.min(frame.len());
            if cut < frame.len() {
                prop_assert_eq!(decode_frame(&frame[..cut]), Err(FrameError::Incomplete));
            }
        }
    }

    #[test]
    fn payload_version_is_checked() {
        let mut bytes = encode_payload(&(7u64, "seven".to_owned()));
        assert_eq!(
            decode_payload::<(u64, String)>(&bytes).unwrap(),
            (7, "seven".to_owned())
        );
        bytes[0] = 9;
        assert!(decode_payload::<(u64, String)>(&bytes).is_err());
        assert!(decode_payload::<(u64, String)>(&[]).is_err());
    }

    #[test]
    fn flipped_bit_fails_the_checksum() {
        let mut frame = encode_frame(b"metadata");
        let last = frame.len() - 1;
        frame[last] ^= 1;
        assert_eq!(decode_frame(&frame), Err(FrameError::Checksum));
    }

    #[test]
    fn replace_file_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vote");
        replace_file(&path, b"one").unwrap();
        replace_file(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert!(!path.with_extension("tmp").exists());
    }
}
