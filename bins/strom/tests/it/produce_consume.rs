//! `strom produce` (stdin and file, keys, headers) and `strom consume` (from the beginning,
//! an offset, a partition, the end; format strings and JSON).

use serde_json::json;

use crate::fixture::TestBroker;

#[tokio::test(flavor = "multi_thread")]
async fn produced_lines_are_consumed_exactly() {
    let broker = TestBroker::start().await;
    broker
        .ok(&["topics", "create", "--topic", "lines"], "")
        .await;
    let out = broker
        .ok(
            &[
                "produce",
                "--topic",
                "lines",
                "--key-separator",
                ":",
                "--header",
                "source=test",
                "--header",
                "v=2",
            ],
            "a:1\nb:2\r\nc:3:x\n",
        )
        .await;
    assert_eq!(out, "TOPIC  PARTITION  RECORDS\nlines  0          3\n");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.txt");
    std::fs::write(&file, "from file\nsecond line\n").unwrap();
    let produced = broker
        .json(&[
            "produce",
            "--topic",
            "lines",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert_eq!(
        produced,
        json!([{"topic": "lines", "partition": 0, "records": 2}])
    );

    let run = broker
        .strom(
            &[
                "consume",
                "--topic",
                "lines",
                "--from-beginning",
                "--exit-at-end",
                "--format",
                "%k|%v|%h|%p|%o",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "a|1|source=test,v=2|0|0\n\
         b|2|source=test,v=2|0|1\n\
         c|3:x|source=test,v=2|0|2\n\
         null|from file||0|3\n\
         null|second line||0|4\n"
    );
    assert!(
        run.stderr.contains("Processed a total of 5 messages"),
        "{run:?}"
    );

    let out = broker
        .ok(
            &[
                "consume",
                "--topic",
                "lines",
                "--partition",
                "0",
                "--offset",
                "1",
                "--max-messages",
                "2",
            ],
            "",
        )
        .await;
    assert_eq!(out, "2\n3:x\n");

    let out = broker
        .ok(
            &[
                "--output",
                "json",
                "consume",
                "--topic",
                "lines",
                "--from-beginning",
                "--max-messages",
                "1",
            ],
            "",
        )
        .await;
    let record: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(record["key"], json!("a"));
    assert_eq!(record["value"], json!("1"));
    assert_eq!(record["offset"], json!(0));
    assert_eq!(record["headers"], json!({"source": "test", "v": "2"}));
    assert!(record["timestamp"].as_i64().unwrap() > 0);

    // From the end, with --exit-at-end: nothing to read.
    let run = broker
        .strom(&["consume", "--topic", "lines", "--exit-at-end"], "")
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "");

    // A line without the separator is a clear error.
    let run = broker
        .strom(
            &["produce", "--topic", "lines", "--key-separator", "="],
            "no separator\n",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains("line 1 has no key separator"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_partition_is_read_to_its_end() {
    let broker = TestBroker::start().await;
    broker
        .ok(
            &["topics", "create", "--topic", "spread", "--partitions", "3"],
            "",
        )
        .await;
    let input: String = (0..60)
        .map(|index| format!("key{index}:value{index}\n"))
        .collect();
    let produced = broker
        .json(&["produce", "--topic", "spread", "--key-separator", ":"])
        .await;
    // Nothing on stdin for `json` above: no partition rows.
    assert_eq!(produced, json!([]));
    let out = broker
        .ok(
            &["produce", "--topic", "spread", "--key-separator", ":"],
            &input,
        )
        .await;
    let total: u64 = out
        .lines()
        .skip(1)
        .map(|line| {
            line.split_whitespace()
                .nth(2)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 60);
    assert!(
        out.lines().count() > 2,
        "keys should spread over partitions: {out}"
    );

    let out = broker
        .ok(
            &[
                "consume",
                "--topic",
                "spread",
                "--from-beginning",
                "--exit-at-end",
                "--format",
                "%k=%v",
            ],
            "",
        )
        .await;
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = (0..60)
        .map(|index| format!("key{index}=value{index}"))
        .collect();
    expected.sort_unstable();
    assert_eq!(lines, expected);
}
