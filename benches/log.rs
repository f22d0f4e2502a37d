//! Criterion benchmarks for strom-log: append throughput with 16 KiB batches and no fsync beside
//! a plain sequential write of the same bytes (interleaved, see `append_vs_plain_write`), read
//! throughput from the page cache, and recovery time after an unclean shutdown.
//!
//! Run with `cargo bench -p strom-benches --bench log -- --warm-up-time 1 --measurement-time 5`.
//! `STROM_BENCH_RECOVER_BYTES` sets the size of the log recovered (default 1 GiB).

use std::fs::{self, File};
use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strom_log::{Log, LogConfig};
use strom_record::{BatchBuilder, BatchConfig, Offset, Timestamp, ValidatedBatch};

const NOW: Timestamp = Timestamp(1_700_000_000_000);
/// Batches appended per iteration of the append benchmark (64 MiB).
const APPEND_BATCHES: usize = 4096;

/// One uncompressed batch of 16 KiB (64 records of about 240 bytes).
fn batch_16k() -> ValidatedBatch {
    let mut builder = BatchBuilder::new(BatchConfig::default());
    let target = 16 * 1024;
    let mut index = 0u64;
    while builder.estimated_size() + 260 <= target {
        let value = format!(
            "{{\"user\":{},\"msg\":\"request served\",\"n\":{index}}}",
            index % 997
        );
        let mut value = value.into_bytes();
        value.resize(230, b' ');
        builder.push(
            Timestamp(NOW.0 + index as i64),
            Some(Bytes::from(format!("user-{}", index % 17))),
            Some(Bytes::from(value)),
            Vec::new(),
        );
        index += 1;
    }
    builder.build().expect("the records fit one batch")
}

fn config() -> LogConfig {
    LogConfig {
        retention_ms: None,
        ..LogConfig::default()
    }
}

fn append_all(dir: &Path, batches: Vec<ValidatedBatch>) -> Duration {
    let mut log = Log::open(dir, config(), NOW).expect("open");
    let start = Instant::now();
    for batch in batches {
        black_box(log.append(batch, NOW).expect("append"));
    }
    let res = start.elapsed();
    drop(log);
    res
}

fn plain_write_all(path: &Path, batches: &[ValidatedBatch]) -> Duration {
    let mut file = File::create(path).expect("create");
    let start = Instant::now();
    for batch in batches {
        file.write_all(batch.as_bytes()).expect("write");
    }
    let res = start.elapsed();
    drop(file);
    res
}

/// Each measured iteration of one side also runs the other side untimed, so both see the same
/// page-cache and writeback conditions (the two are interleaved rather than run back to back).
fn append_vs_plain_write(c: &mut Criterion) {
    let batch = batch_16k();
    let bytes_per_iteration = (batch.as_bytes().len() * APPEND_BATCHES) as u64;
    let mut group = c.benchmark_group("log_append_16k_no_fsync");
    group.throughput(Throughput::Bytes(bytes_per_iteration));
    group.sample_size(10);
    let work = tempfile::tempdir().expect("tempdir");
    let run = |timed_append: bool, iterations: u64| {
        let mut total = Duration::ZERO;
        for iteration in 0..iterations {
            let dir = work.path().join(format!("log-{iteration}"));
            let plain = work.path().join(format!("plain-{iteration}"));
            let batches: Vec<ValidatedBatch> = (0..APPEND_BATCHES).map(|_| batch.clone()).collect();
            let plain_time = plain_write_all(&plain, &batches);
            let append_time = append_all(&dir, batches);
            total += if timed_append {
                append_time
            } else {
                plain_time
            };
            fs::remove_dir_all(&dir).expect("cleanup");
            fs::remove_file(&plain).expect("cleanup");
        }
        total
    };
    group.bench_function("strom_log_append", |b| {
        b.iter_custom(|iterations| run(true, iterations))
    });
    group.bench_function("plain_sequential_write", |b| {
        b.iter_custom(|iterations| run(false, iterations))
    });
    group.finish();
}

fn read_from_page_cache(c: &mut Criterion) {
    let batch = batch_16k();
    let work = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(work.path(), config(), NOW).expect("open");
    for _ in 0..APPEND_BATCHES {
        log.append(batch.clone(), NOW).expect("append");
    }
    let total = log.size_bytes();
    let mut group = c.benchmark_group("log_read_page_cache");
    group.throughput(Throughput::Bytes(total));
    group.sample_size(10);
    group.bench_function("read_1mib_fetches_to_bytes", |b| {
        b.iter(|| {
            let mut offset = Offset(0);
            let end = log.log_end_offset();
            let mut read = 0;
            while offset < end {
                let slice = log.read(offset, 1 << 20, end).expect("read");
                let bytes = slice.read_to_bytes().expect("read bytes");
                read += bytes.len();
                // Batches are whole: the next read starts after the last one.
                let mut position = 0;
                let mut next = offset;
                while position < bytes.len() {
                    let header =
                        strom_record::BatchHeader::parse(&bytes[position..]).expect("header");
                    next = header.next_offset();
                    position += header.total_size();
                }
                offset = next;
            }
            black_box(read)
        })
    });
    group.finish();
}

fn recover_after_unclean_shutdown(c: &mut Criterion) {
    let size: u64 = std::env::var("STROM_BENCH_RECOVER_BYTES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1 << 30);
    let batch = batch_16k();
    let work = tempfile::tempdir().expect("tempdir");
    let mut log = Log::open(work.path(), config(), NOW).expect("open");
    while log.size_bytes() < size {
        log.append(batch.clone(), NOW).expect("append");
    }
    let total = log.size_bytes();
    drop(log);
    let mut group = c.benchmark_group("log_recover_unclean");
    group.throughput(Throughput::Bytes(total));
    group.sample_size(10);
    group.bench_function(format!("{}_mib", total >> 20), |b| {
        b.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iterations {
                // Forget the recovery point and the indexes: every batch is CRC-checked again and
                // every index rebuilt, as after a crash long after the last checkpoint.
                for entry in fs::read_dir(work.path()).expect("list") {
                    let path = entry.expect("entry").path();
                    let name = path
                        .file_name()
                        .and_then(|name| name.to_str())
                        .unwrap_or_default();
                    if name == "recovery-point-checkpoint" || name.ends_with("index") {
                        fs::remove_file(&path).expect("remove");
                    }
                }
                let start = Instant::now();
                let log = Log::open(work.path(), config(), NOW).expect("recover");
                elapsed += start.elapsed();
                assert_eq!(log.recovery_report().truncated_bytes, 0);
                assert!(log.recovery_report().segments_scanned > 0);
                drop(log);
            }
            elapsed
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    append_vs_plain_write,
    read_from_page_cache,
    recover_after_unclean_shutdown
);
criterion_main!(benches);
