//! Embeds the partition log engine alone: builds record batches with `strom-record`, appends
//! them to a `strom-log` partition log in a directory, reads them back by offset and by
//! timestamp, closes the log cleanly and opens it again.
//!
//! `cargo run -p strom-examples --example embedded_log [DIR]` (default: a new temporary
//! directory under the system temp dir). It does not start a broker or use the network.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use strom_log::{Log, LogConfig};
use strom_record::{BatchBuilder, BatchConfig, DecodeLimits, Offset, Timestamp, records_of};

fn main() -> anyhow::Result<()> {
    let dir = match std::env::args().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("strom-embedded-log-{}", std::process::id())),
    };
    let now = Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("clock before 1970")?
            .as_millis() as i64,
    );

    let mut log = Log::open(&dir, LogConfig::default(), now).context("open the log")?;
    for batch_number in 0..3 {
        let mut builder = BatchBuilder::new(BatchConfig::default());
        for i in 0..4 {
            let key = Bytes::from(format!("key-{batch_number}-{i}"));
            let value = Bytes::from(format!("value {batch_number}.{i}"));
            builder.push(
                Timestamp(now.0 + batch_number),
                Some(key),
                Some(value),
                Vec::new(),
            );
        }
        let appended = log.append(builder.build()?, now)?;
        println!(
            "appended offsets {}..={}",
            appended.base_offset, appended.last_offset
        );
    }

    // Read from the middle of the second batch: the whole batch comes back, and the reader
    // skips the records before the offset it asked for.
    let from = Offset(6);
    let slice = log.read(from, 1 << 20, log.log_end_offset())?;
    let bytes = slice.read_to_bytes()?;
    for record in records_of(&bytes, DecodeLimits::default())?
        .into_iter()
        .filter(|record| record.offset >= from)
    {
        let value = record.value.unwrap_or_default();
        println!("{} {}", record.offset, String::from_utf8_lossy(&value));
    }

    let found = log.offset_for_timestamp(Timestamp(now.0 + 2))?;
    println!("first offset with timestamp >= now+2: {found:?}");

    log.close(now)?;
    let reopened = Log::open(&dir, LogConfig::default(), now)?;
    println!(
        "reopened: log start {} log end {}",
        reopened.log_start_offset(),
        reopened.log_end_offset()
    );
    Ok(())
}
