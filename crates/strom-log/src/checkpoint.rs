//! Checkpoint files: small text files that record a few numbers durably (the log start offset,
//! the recovery point, the leader-epoch cache). The format follows Kafka's checkpoint files: a
//! version line (`0`), a line with the number of entries, then one entry per line with
//! space-separated decimal fields.
//!
//! A checkpoint is replaced atomically: written to `<name>.tmp`, fsynced, renamed over the old
//! file, and the directory fsynced. A reader therefore sees the old or the new file, never a mix.
//! This module does not decide what the numbers mean.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::{Error, Result};

const VERSION: u64 = 0;

/// Replaces the checkpoint at `path` with `entries`, durably.
pub(crate) fn write<const N: usize>(path: &Path, entries: &[[u64; N]]) -> Result<()> {
    let mut text = format!("{VERSION}\n{}\n", entries.len());
    for entry in entries {
        let fields: Vec<String> = entry.iter().map(u64::to_string).collect();
        text.push_str(&fields.join(" "));
        text.push('\n');
    }
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(text.as_bytes())?;
    if let Err(error) = file.sync_all() {
        return Err(Error::FlushFailed(error));
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Reads the checkpoint at `path`; `None` if the file does not exist.
pub(crate) fn read<const N: usize>(path: &Path) -> Result<Option<Vec<[u64; N]>>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let bad = |reason: &str| Error::BadCheckpoint {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let mut lines = text.lines();
    let version = lines
        .next()
        .and_then(|line| line.trim().parse::<u64>().ok());
    if version != Some(VERSION) {
        return Err(bad("unknown version"));
    }
    let Some(count) = lines
        .next()
        .and_then(|line| line.trim().parse::<usize>().ok())
    else {
        return Err(bad("missing entry count"));
    };
    let mut res = Vec::new();
    for line in lines.by_ref().take(count) {
        let mut entry = [0u64; N];
        let mut fields = line.split_whitespace();
        for field in &mut entry {
            let Some(value) = fields.next().and_then(|text| text.parse::<u64>().ok()) else {
                return Err(bad("malformed entry"));
            };
            *field = value;
        }
        if fields.next().is_some() {
            return Err(bad("too many fields in an entry"));
        }
        res.push(entry);
    }
    if res.len() != count {
        return Err(bad("fewer entries than the count says"));
    }
    Ok(Some(res))
}

/// Fsyncs a directory, so that files created, renamed or removed in it survive a power loss.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let file = File::open(dir)?;
    if let Err(error) = file.sync_all() {
        return Err(Error::FlushFailed(error));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip(entries in proptest::collection::vec(any::<[u64; 2]>(), 0..20)) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("checkpoint");
            write(&path, &entries).unwrap();
            prop_assert_eq!(read::<2>(&path).unwrap(), Some(entries));
        }
    }

    #[test]
    fn missing_is_none_and_garbage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        assert_eq!(read::<1>(&path).unwrap(), None);
        for text in ["", "1\n0\n", "0\n2\n5\n", "0\n1\n5 6\n", "0\n1\nx\n"] {
            fs::write(&path, text).unwrap();
            assert!(read::<1>(&path).is_err(), "{text:?} should not parse");
        }
        fs::write(&path, "0\n1\n7\n").unwrap();
        assert_eq!(read::<1>(&path).unwrap(), Some(vec![[7]]));
    }
}
