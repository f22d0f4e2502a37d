//! `strom topics ...`, `strom configs ...`, `strom cluster describe`, and failures.

use serde_json::json;

use crate::fixture::{TestBroker, run};

#[tokio::test(flavor = "multi_thread")]
async fn topics_subcommands() {
    let broker = TestBroker::start().await;
    let out = broker
        .ok(
            &["topics", "create", "--topic", "events", "--partitions", "3"],
            "",
        )
        .await;
    assert_eq!(out, "Created topic events.\n");
    broker
        .ok(
            &[
                "topics",
                "create",
                "--topic",
                "audit",
                "--config",
                "retention.ms=1000",
            ],
            "",
        )
        .await;

    let out = broker.ok(&["topics", "list"], "").await;
    let user_lines: Vec<&str> = out.lines().filter(|line| !line.starts_with("__")).collect();
    assert_eq!(
        user_lines,
        vec![
            "TOPIC   PARTITIONS  INTERNAL",
            "audit   1           false",
            "events  3           false",
        ]
    );

    let described = broker
        .json(&["topics", "describe", "--topic", "events"])
        .await;
    let rows = described.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row["topic"], json!("events"));
        assert_eq!(row["partition"], json!(index));
        assert_eq!(row["replicas"], row["isr"]);
        assert_eq!(row["replicas"].as_array().unwrap().len(), 1);
        assert!(row["leader"].is_number(), "{row}");
    }
    let out = broker
        .ok(&["topics", "describe", "--topic", "audit"], "")
        .await;
    assert!(
        out.starts_with("TOPIC  PARTITION  LEADER  REPLICAS  ISR\naudit  0"),
        "{out}"
    );

    let out = broker
        .ok(
            &["topics", "alter", "--topic", "events", "--partitions", "5"],
            "",
        )
        .await;
    assert_eq!(out, "Topic events now has 5 partitions.\n");
    let described = broker
        .json(&["topics", "describe", "--topic", "events"])
        .await;
    assert_eq!(described.as_array().unwrap().len(), 5);

    // A refusal is one clear line on stderr and exit code 1.
    let run = broker
        .strom(&["topics", "create", "--topic", "events"], "")
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        run.stderr,
        "error: topic events: TOPIC_ALREADY_EXISTS (topic events already exists)\n"
    );

    let out = broker
        .ok(&["topics", "delete", "--topic", "audit"], "")
        .await;
    assert_eq!(out, "Deleted topic audit.\n");
    let listed = broker.json(&["topics", "list"]).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["internal"] == json!(false))
        .map(|row| row["topic"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["events"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn configs_and_cluster_subcommands() {
    let broker = TestBroker::start().await;
    broker
        .ok(&["topics", "create", "--topic", "conf"], "")
        .await;
    let out = broker
        .ok(
            &[
                "configs",
                "alter",
                "--topic",
                "conf",
                "--set",
                "retention.ms=12345",
                "--set",
                "cleanup.policy=compact",
            ],
            "",
        )
        .await;
    assert_eq!(out, "Altered 2 config(s) of topic conf.\n");

    let configs = broker
        .json(&["configs", "describe", "--topic", "conf"])
        .await;
    let find = |name: &str| {
        configs
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["name"] == json!(name))
            .cloned()
            .unwrap()
    };
    assert_eq!(find("retention.ms")["value"], json!("12345"));
    assert_eq!(
        find("retention.ms")["source"],
        json!("DYNAMIC_TOPIC_CONFIG")
    );
    assert_eq!(find("cleanup.policy")["value"], json!("compact"));

    broker
        .ok(
            &[
                "configs",
                "alter",
                "--topic",
                "conf",
                "--delete",
                "cleanup.policy",
            ],
            "",
        )
        .await;
    let out = broker
        .ok(&["configs", "describe", "--topic", "conf"], "")
        .await;
    let line = out
        .lines()
        .find(|line| line.starts_with("cleanup.policy "))
        .unwrap();
    assert!(
        line.contains("delete") && !line.contains("DYNAMIC_TOPIC_CONFIG"),
        "{line}"
    );
    assert!(out.starts_with("NAME"), "{out}");

    let cluster = broker.json(&["cluster", "describe"]).await;
    let rows = cluster.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let port = broker.running.local_addr().port();
    assert_eq!(rows[0]["port"], json!(port));
    assert_eq!(rows[0]["controller"], json!(true));
    assert!(!rows[0]["cluster_id"].as_str().unwrap().is_empty());
    let out = broker.ok(&["cluster", "describe"], "").await;
    assert!(out.starts_with("CLUSTER_ID"), "{out}");
    assert_eq!(out.lines().count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_exit_with_one_and_a_message() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let run_unreachable = run(
        vec![
            "--bootstrap-server".to_owned(),
            format!("127.0.0.1:{port}"),
            "--request-timeout-ms".to_owned(),
            "1000".to_owned(),
            "topics".to_owned(),
            "list".to_owned(),
        ],
        String::new(),
    )
    .await;
    assert_eq!(run_unreachable.code, Some(1), "{run_unreachable:?}");
    assert!(
        run_unreachable.stderr.starts_with("error: "),
        "{run_unreachable:?}"
    );
    assert!(
        !run_unreachable.stderr.contains("panicked"),
        "{run_unreachable:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let broker = TestBroker::start().await;
    let run = broker.strom(&["topics", "frobnicate"], "").await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("unrecognized subcommand"), "{run:?}");
    let run = broker
        .strom(&["configs", "describe", "--topic", "missing"], "")
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.starts_with("error: topic missing: "), "{run:?}");
    let run = broker.strom(&["--help"], "").await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("perf"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reassign_and_reassignments_subcommands() {
    let broker = TestBroker::start().await;
    broker
        .ok(&["topics", "create", "--topic", "moving"], "")
        .await;
    let described = broker
        .json(&["topics", "describe", "--topic", "moving"])
        .await;
    let own = described[0]["leader"].as_i64().unwrap().to_string();
    let out = broker
        .ok(
            &[
                "topics",
                "reassign",
                "--topic",
                "moving",
                "--partition",
                "0",
                "--replicas",
                &own,
            ],
            "",
        )
        .await;
    assert_eq!(
        out,
        format!("Moving partition moving-0 to brokers [{own}].\n")
    );
    // One broker: no other target exists, and nothing is moving to cancel.
    let run = broker
        .strom(
            &[
                "topics",
                "reassign",
                "--topic",
                "moving",
                "--partition",
                "0",
                "--replicas",
                "77,78",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: partition moving-0: INVALID_REPLICA_ASSIGNMENT"),
        "{run:?}"
    );
    let run = broker
        .strom(
            &[
                "topics",
                "reassign",
                "--topic",
                "moving",
                "--partition",
                "0",
                "--cancel",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: partition moving-0: NO_REASSIGNMENT_IN_PROGRESS"),
        "{run:?}"
    );
    // Neither replicas nor --cancel: a usage error.
    let run = broker
        .strom(
            &[
                "topics",
                "reassign",
                "--topic",
                "moving",
                "--partition",
                "0",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.stderr.contains("--replicas <REPLICAS>"), "{run:?}");

    let out = broker.ok(&["topics", "reassignments"], "").await;
    assert_eq!(out, "TOPIC  PARTITION  REPLICAS  ADDING  REMOVING\n");
    let listed = broker.json(&["topics", "reassignments"]).await;
    assert_eq!(listed, json!([]));
}
