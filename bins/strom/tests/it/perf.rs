//! `strom perf produce|consume`.

use serde_json::json;

use crate::fixture::TestBroker;

#[tokio::test(flavor = "multi_thread")]
async fn perf_produce_then_consume() {
    let broker = TestBroker::start().await;
    broker
        .ok(
            &["topics", "create", "--topic", "bench", "--partitions", "2"],
            "",
        )
        .await;
    let run = broker
        .strom(
            &[
                "perf",
                "produce",
                "--topic",
                "bench",
                "--num-records",
                "3000",
                "--record-size",
                "64",
                "--reporting-interval-ms",
                "1",
                "--compression",
                "lz4",
                "--acks",
                "1",
                "--batch-size",
                "4096",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let line = run.stdout.trim();
    assert!(line.starts_with("3000 records sent, "), "{line}");
    for part in [
        "records/sec",
        "MB/sec",
        "ms avg latency",
        "ms max latency",
        "ms 50th",
        "ms 95th",
        "ms 99th",
        "ms 99.9th.",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
    // Progress goes to stderr.
    assert!(run.stderr.contains("records sent,"), "{run:?}");

    let summary = broker
        .json(&[
            "perf",
            "produce",
            "--topic",
            "bench",
            "--num-records",
            "1000",
            "--record-size",
            "10",
            "--throughput",
            "5000",
            // Kafka's spelling of acks=all.
            "--acks",
            "-1",
            // A multi-threaded runtime; the run above used the default, one thread.
            "--threads",
            "3",
        ])
        .await;
    assert_eq!(summary["records"], json!(1000));
    assert_eq!(summary["failed"], json!(0));
    // The cap holds: 1000 records at 5000/s take at least 0.2 s.
    assert!(
        summary["records_per_sec"].as_f64().unwrap() < 5500.0,
        "{summary}"
    );
    let p50 = summary["p50_latency_ms"].as_f64().unwrap();
    let p999 = summary["p999_latency_ms"].as_f64().unwrap();
    let max = summary["max_latency_ms"].as_f64().unwrap();
    assert!(p50 <= p999 && p999 <= max, "{summary}");

    let summary = broker
        .json(&[
            "perf",
            "consume",
            "--topic",
            "bench",
            "--messages",
            "4000",
            "--threads",
            "2",
        ])
        .await;
    assert_eq!(summary["records"], json!(4000));
    assert_eq!(summary["bytes"], json!(3000 * 64 + 1000 * 10));
    let out = broker
        .ok(
            &["perf", "consume", "--topic", "bench", "--messages", "4000"],
            "",
        )
        .await;
    assert!(out.starts_with("4000 records read, "), "{out}");
    assert!(out.contains("99.9th"), "{out}");

    // Asking for more than exists fails after the idle timeout, with exit code 1.
    let run = broker
        .strom(
            &[
                "perf",
                "consume",
                "--topic",
                "bench",
                "--messages",
                "4001",
                "--timeout-ms",
                "500",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("read 4000 of 4001 records"), "{run:?}");

    // A client needs a thread to run on.
    let run = broker
        .strom(
            &[
                "perf",
                "produce",
                "--topic",
                "bench",
                "--num-records",
                "1",
                "--threads",
                "0",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("--threads"), "{run:?}");
}
