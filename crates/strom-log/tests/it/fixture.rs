//! Test fixture: building batches, reading a whole log back, snapshotting directories (to
//! simulate a crash at a write boundary), and comparing indexes with freshly rebuilt ones.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use bytes::Bytes;
use strom_log::{Log, LogConfig};
use strom_record::{
    BatchBuilder, BatchConfig, Compression, DecodeLimits, Offset, Record, Timestamp,
    ValidatedBatch, complete_batches,
};

/// A small config: many segments and index entries from little data.
pub fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 2048,
        index_interval_bytes: 200,
        retention_ms: None,
        ..LogConfig::default()
    }
}

/// One batch of `(key, value)` records stamped `timestamp`.
pub fn batch(records: &[(Option<&str>, Option<&str>)], timestamp: Timestamp) -> ValidatedBatch {
    batch_with(BatchConfig::default(), records, timestamp)
}

/// Like [`batch`] with a given batch config.
pub fn batch_with(
    config: BatchConfig,
    records: &[(Option<&str>, Option<&str>)],
    timestamp: Timestamp,
) -> ValidatedBatch {
    let mut builder = BatchBuilder::new(config);
    for (key, value) in records {
        builder.push(
            timestamp,
            key.map(|key| Bytes::copy_from_slice(key.as_bytes())),
            value.map(|value| Bytes::copy_from_slice(value.as_bytes())),
            Vec::new(),
        );
    }
    builder.build().unwrap()
}

/// A batch of `count` records with `value_bytes`-long values, compressed with `compression`.
pub fn sized_batch(
    count: usize,
    value_bytes: usize,
    timestamp: Timestamp,
    compression: Compression,
) -> ValidatedBatch {
    let mut builder = BatchBuilder::new(BatchConfig {
        compression,
        ..BatchConfig::default()
    });
    for index in 0..count {
        let value = vec![b'a' + (index % 26) as u8; value_bytes];
        builder.push(
            timestamp,
            Some(Bytes::from(format!("k{index}"))),
            Some(Bytes::from(value)),
            Vec::new(),
        );
    }
    builder.build().unwrap()
}

/// Every batch from the log start offset to the log end offset, as `(header base, last, bytes)`.
pub fn read_all_batches(log: &Log) -> Vec<ValidatedBatch> {
    let mut res = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let slice = log.read(offset, 1 << 20, log.log_end_offset()).unwrap();
        if slice.is_empty() {
            break;
        }
        let batches = complete_batches(slice.read_to_bytes().unwrap()).unwrap();
        assert!(!batches.is_empty(), "a non-empty read holds whole batches");
        offset = batches.last().unwrap().header().next_offset();
        res.extend(batches);
    }
    res
}

/// Every record from the log start offset on.
pub fn read_all_records(log: &Log) -> Vec<Record> {
    read_all_batches(log)
        .iter()
        .flat_map(|batch| batch.records(DecodeLimits::default()).unwrap())
        .filter(|record| record.offset >= log.log_start_offset())
        .collect()
}

/// The files of a directory and their bytes.
pub type Snapshot = BTreeMap<String, Vec<u8>>;

/// Copies every file of `dir` into memory.
pub fn snapshot(dir: &Path) -> Snapshot {
    let mut res = Snapshot::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            res.insert(
                entry.file_name().to_str().unwrap().to_owned(),
                fs::read(entry.path()).unwrap(),
            );
        }
    }
    res
}

/// Writes `snapshot` into the (new or emptied) directory `dir`.
pub fn restore(snapshot: &Snapshot, dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    fs::create_dir_all(dir).unwrap();
    for (name, bytes) in snapshot {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The index files of `dir`.
pub fn index_files(dir: &Path) -> Snapshot {
    snapshot(dir)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".index") || name.ends_with(".timeindex"))
        .collect()
}

/// Asserts that the indexes of the closed log in `dir` equal those rebuilt from its `.log` files
/// alone.
#[track_caller]
pub fn assert_indexes_equal_rebuilt(dir: &Path, config: &LogConfig, now: Timestamp) {
    let indexes = index_files(dir);
    let copy = tempfile::tempdir().unwrap();
    let mut files = snapshot(dir);
    files.retain(|name, _| !(name.ends_with(".index") || name.ends_with(".timeindex")));
    restore(&files, copy.path());
    let rebuilt = Log::open(copy.path(), config.clone(), now).unwrap();
    rebuilt.close(now).unwrap();
    let rebuilt = index_files(copy.path());
    assert_eq!(
        indexes.keys().collect::<Vec<_>>(),
        rebuilt.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &indexes {
        assert_eq!(
            bytes, &rebuilt[name],
            "index file {name} differs from a rebuilt one"
        );
    }
}

/// Offsets of records in a list.
pub fn offsets(records: &[Record]) -> Vec<u64> {
    records.iter().map(|record| record.offset.0).collect()
}

/// `Offset` shorthand.
pub fn o(offset: u64) -> Offset {
    Offset(offset)
}
