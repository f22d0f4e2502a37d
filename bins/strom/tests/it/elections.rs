//! `strom cluster elect-leaders` against one broker, where every partition's only replica leads
//! already: one row per partition with `ELECTION_NOT_NEEDED` (not a failure), nothing for the
//! whole cluster, and exit code 1 when an election fails (an unknown partition).

use serde_json::json;

use crate::fixture::TestBroker;

#[tokio::test(flavor = "multi_thread")]
async fn elect_leaders_prints_a_row_per_partition() {
    let broker = TestBroker::start().await;
    broker
        .ok(
            &["topics", "create", "--topic", "e", "--partitions", "2"],
            "",
        )
        .await;
    let out = broker
        .ok(&["cluster", "elect-leaders", "--topic", "e"], "")
        .await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("TOPIC"), "{out}");
    assert!(
        lines[1..]
            .iter()
            .all(|line| line.contains("ELECTION_NOT_NEEDED")),
        "{out}"
    );
    let rows = broker
        .json(&[
            "cluster",
            "elect-leaders",
            "--unclean",
            "--topic",
            "e",
            "--partition",
            "1",
        ])
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["topic"], json!("e"));
    assert_eq!(rows[0]["partition"], json!(1));
    assert_eq!(rows[0]["result"], json!("ELECTION_NOT_NEEDED"));
    assert_eq!(broker.json(&["cluster", "elect-leaders"]).await, json!([]));

    let failed = broker
        .strom(
            &[
                "cluster",
                "elect-leaders",
                "--topic",
                "e",
                "--partition",
                "9",
            ],
            "",
        )
        .await;
    assert_eq!(failed.code, Some(1), "{failed:?}");
    assert!(
        failed.stdout.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{failed:?}"
    );
    assert!(
        failed.stderr.contains("1 of 1 election(s) failed"),
        "{failed:?}"
    );
    // A partition needs its topic.
    let usage = broker
        .strom(&["cluster", "elect-leaders", "--partition", "0"], "")
        .await;
    assert_eq!(usage.code, Some(1), "{usage:?}");
}
