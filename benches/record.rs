//! Criterion benchmarks for strom-record: validating and iterating, and building, a batch of about
//! 16 KiB of record data for each codec, and the produce path's append check (owned decode versus
//! the in-place walk) for none and lz4. Throughput is counted in uncompressed record bytes.
//! Run with `cargo bench -p strom-benches --bench record`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strom_record::{
    BatchBuilder, BatchConfig, Compression, DecodeLimits, Header, Offset, Record, Timestamp,
    ValidatedBatch, records_of, split_batches,
};

/// Records per batch; with the value size below the record area is about 16 KiB.
const RECORDS: usize = 64;
const VALUE_SIZE: usize = 220;

/// The records to batch, with log-like values: compressible, but not trivially (as real JSON or
/// log lines are). Their offsets are ignored: the builder assigns them.
fn records() -> Vec<Record> {
    (0..RECORDS)
        .map(|index| {
            let mut value = format!(
                "{{\"ts\":{},\"level\":\"info\",\"user\":{},\"msg\":\"request served\",\"path\":\"/api/v1/items/{}\"}}",
                1_700_000_000_000u64 + index as u64 * 37,
                (index * 7919) % 1000,
                (index * 104_729) % 100_000,
            )
            .into_bytes();
            value.resize(VALUE_SIZE, b' ');
            Record {
                offset: Offset(index as u64),
                timestamp: Timestamp(1_700_000_000_000 + index as i64),
                key: Some(Bytes::from(format!("user-{}", index % 17))),
                value: Some(Bytes::from(value)),
                headers: vec![Header {
                    key: "trace".to_owned(),
                    value: Some(Bytes::from(format!("{index:016x}"))),
                }],
            }
        })
        .collect()
}

fn build(compression: Compression, records: &[Record]) -> Bytes {
    let mut builder = BatchBuilder::new(BatchConfig {
        compression,
        ..BatchConfig::default()
    });
    for record in records {
        builder.push(
            record.timestamp,
            record.key.clone(),
            record.value.clone(),
            record.headers.clone(),
        );
    }
    builder
        .build()
        .expect("the benchmark batch is valid")
        .into_bytes()
}

fn record_batch(c: &mut Criterion) {
    let records = records();
    let uncompressed = build(Compression::None, &records).len() as u64;
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Bytes(uncompressed));
    for compression in Compression::ALL {
        let batch = build(compression, &records);
        group.bench_function(format!("validate_iterate/{compression}"), |b| {
            b.iter(|| {
                records_of(black_box(&batch), DecodeLimits::default()).map(|records| records.len())
            })
        });
        group.bench_function(format!("split_validate/{compression}"), |b| {
            b.iter(|| split_batches(black_box(batch.clone())).map(|batches| batches.len()))
        });
        group.bench_function(format!("build/{compression}"), |b| {
            b.iter(|| build(compression, black_box(&records)))
        });
        if matches!(compression, Compression::None | Compression::Lz4) {
            let validated =
                ValidatedBatch::new(batch.clone()).expect("the benchmark batch is valid");
            group.bench_function(format!("records_for_append/{compression}"), |b| {
                b.iter(|| {
                    black_box(&validated)
                        .records_for_append(DecodeLimits::default())
                        .map(|records| records.len())
                })
            });
            group.bench_function(format!("check_for_append/{compression}"), |b| {
                b.iter(|| {
                    black_box(&validated)
                        .check_for_append(DecodeLimits::default())
                        .map(|checked| checked.record_count)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, record_batch);
criterion_main!(benches);
