//! `strom groups list|describe|delete|reset-offsets`.

use serde_json::json;

use crate::fixture::TestBroker;

#[tokio::test(flavor = "multi_thread")]
async fn groups_subcommands() {
    let broker = TestBroker::start().await;
    broker
        .ok(
            &["topics", "create", "--topic", "jobs", "--partitions", "2"],
            "",
        )
        .await;
    let input: String = (0..4).map(|index| format!("{index}\n")).collect();
    broker
        .ok(&["produce", "--topic", "jobs", "--partition", "0"], &input)
        .await;
    broker
        .ok(
            &["produce", "--topic", "jobs", "--partition", "1"],
            "only\n",
        )
        .await;

    // A dry run prints the plan and commits nothing.
    let run = broker
        .strom(
            &[
                "groups",
                "reset-offsets",
                "--group",
                "workers",
                "--topic",
                "jobs",
                "--to-offset",
                "1",
            ],
            "",
        )
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout,
        "GROUP    TOPIC  PARTITION  NEW_OFFSET\n\
         workers  jobs   0          1\n\
         workers  jobs   1          1\n"
    );
    assert!(run.stderr.contains("Dry run"), "{run:?}");
    assert_eq!(
        broker
            .json(&["groups", "describe", "--group", "workers"])
            .await,
        json!([])
    );

    broker
        .ok(
            &[
                "groups",
                "reset-offsets",
                "--group",
                "workers",
                "--topic",
                "jobs",
                "--to-offset",
                "1",
                "--execute",
            ],
            "",
        )
        .await;
    let listed = broker.json(&["groups", "list"]).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["group"] == json!("workers")),
        "{listed}"
    );
    let out = broker.ok(&["groups", "list"], "").await;
    assert!(
        out.lines().any(|line| line.starts_with("workers ")),
        "{out}"
    );

    let out = broker
        .ok(&["groups", "describe", "--group", "workers"], "")
        .await;
    assert_eq!(
        out,
        "Group workers is Empty with 0 member(s).\n\
         GROUP    TOPIC  PARTITION  CURRENT_OFFSET  LOG_END_OFFSET  LAG\n\
         workers  jobs   0          1               4               3\n\
         workers  jobs   1          1               1               0\n"
    );

    let plan = broker
        .json(&[
            "groups",
            "reset-offsets",
            "--group",
            "workers",
            "--all-topics",
            "--to-earliest",
            "--execute",
        ])
        .await;
    assert_eq!(
        plan,
        json!([
            {"group": "workers", "topic": "jobs", "partition": 0, "new_offset": 0},
            {"group": "workers", "topic": "jobs", "partition": 1, "new_offset": 0},
        ])
    );
    let lag = broker
        .json(&["groups", "describe", "--group", "workers"])
        .await;
    assert_eq!(
        lag,
        json!([
            {"group": "workers", "topic": "jobs", "partition": 0, "current_offset": 0, "log_end_offset": 4, "lag": 4},
            {"group": "workers", "topic": "jobs", "partition": 1, "current_offset": 0, "log_end_offset": 1, "lag": 1},
        ])
    );
    broker
        .ok(
            &[
                "groups",
                "reset-offsets",
                "--group",
                "workers",
                "--all-topics",
                "--to-latest",
                "--execute",
            ],
            "",
        )
        .await;
    let lag = broker
        .json(&["groups", "describe", "--group", "workers"])
        .await;
    let lags: Vec<&serde_json::Value> = lag
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["lag"])
        .collect();
    assert_eq!(lags, vec![&json!(0), &json!(0)]);
    broker
        .ok(
            &[
                "groups",
                "reset-offsets",
                "--group",
                "workers",
                "--topic",
                "jobs",
                "--to-timestamp",
                "0",
                "--execute",
            ],
            "",
        )
        .await;
    let lag = broker
        .json(&["groups", "describe", "--group", "workers"])
        .await;
    let current: Vec<&serde_json::Value> = lag
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["current_offset"])
        .collect();
    assert_eq!(current, vec![&json!(0), &json!(0)]);

    let out = broker
        .ok(&["groups", "delete", "--group", "workers"], "")
        .await;
    assert_eq!(out, "Deleted group workers.\n");
    let listed = broker.json(&["groups", "list"]).await;
    assert!(
        !listed
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["group"] == json!("workers")),
        "{listed}"
    );

    // Neither a scope nor a target: a usage error.
    let run = broker
        .strom(&["groups", "reset-offsets", "--group", "workers"], "")
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
}
