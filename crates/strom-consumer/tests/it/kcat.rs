//! Interop with a client nobody here wrote: kcat (librdkafka) reads exactly what strom-producer
//! wrote, and strom-consumer reads exactly what kcat wrote, with every codec.

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;
use strom_client::TopicPartition;
use strom_producer::{Producer, ProducerConfig, ProducerRecord};
use strom_record::{Compression, Header, Offset, Timestamp};

use crate::fixture::{TestBroker, create_topic, read_all};

const COUNT: usize = 40;

/// Runs kcat with `args` and `stdin`, failing the test with kcat's stderr if it fails.
async fn kcat(args: Vec<String>, stdin: String) -> String {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("kcat")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kcat must be installed for the interop tests (apt-get install kcat)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "kcat {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kcat_reads_what_strom_produced() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    for compression in Compression::ALL {
        let topic = format!("to-kcat-{}", compression.name());
        create_topic(&addr, &topic, 1).await;
        let config = ProducerConfig {
            compression,
            ..ProducerConfig::bootstrap(addr.clone())
        };
        let producer = Producer::new(config).await.unwrap();
        for index in 0..COUNT {
            let record = ProducerRecord::new(&topic, format!("value-{index}"))
                .with_key(format!("key-{index}"))
                .with_header("h", format!("x{index}"))
                .with_timestamp(Timestamp(1_700_000_000_000 + index as i64));
            producer.send_and_forget(record).await.unwrap();
        }
        producer.close().await.unwrap();

        let args = [
            "-b",
            &addr,
            "-C",
            "-t",
            &topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%p|%o|%k|%s|%T|%h\\n",
        ]
        .map(str::to_owned)
        .to_vec();
        let output = kcat(args, String::new()).await;
        let expected: String = (0..COUNT)
            .map(|index| {
                format!(
                    "0|{index}|key-{index}|value-{index}|{}|h=x{index}\n",
                    1_700_000_000_000 + index as i64
                )
            })
            .collect();
        assert_eq!(output, expected, "{compression}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strom_reads_what_kcat_produced() {
    let broker = TestBroker::start(&[]).await;
    let addr = broker.addr();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("from-kcat-{codec}");
        create_topic(&addr, &topic, 1).await;
        let input: String = (0..COUNT)
            .map(|index| format!("key-{index}|value-{index}\n"))
            .collect();
        let args = [
            "-b",
            &addr,
            "-P",
            "-t",
            &topic,
            "-p",
            "0",
            "-K",
            "|",
            "-H",
            "origin=kcat",
            "-z",
            codec,
        ]
        .map(str::to_owned)
        .to_vec();
        kcat(args, input).await;

        let read = read_all(&addr, vec![TopicPartition::new(topic.clone(), 0)], COUNT).await;
        assert_eq!(read.len(), COUNT, "{codec}");
        for (index, record) in read.iter().enumerate() {
            assert_eq!(record.offset, Offset(index as u64), "{codec}");
            assert_eq!(
                record.key,
                Some(Bytes::from(format!("key-{index}"))),
                "{codec}"
            );
            assert_eq!(
                record.value,
                Some(Bytes::from(format!("value-{index}"))),
                "{codec}"
            );
            assert_eq!(
                record.headers,
                [Header {
                    key: "origin".to_owned(),
                    value: Some(Bytes::from("kcat")),
                }],
                "{codec}"
            );
            assert!(
                record.timestamp.0 > 1_600_000_000_000,
                "{codec}: create time set"
            );
        }
    }
}
