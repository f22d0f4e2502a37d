//! An in-process broker on 127.0.0.1:0 and a runner for the `strom` binary.

use std::io::Write;
use std::process::{Command, Stdio};

use strom_broker::config::{BrokerConfig, Sources};
use strom_broker::{Broker, RunningBroker};

/// A broker running in this process, with its data directory.
pub struct TestBroker {
    /// Kept so the data directory lives as long as the broker.
    _dir: tempfile::TempDir,
    pub running: RunningBroker,
}

/// What a `strom` process did.
#[derive(Debug)]
pub struct Run {
    /// Its exit code.
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl TestBroker {
    /// Starts a broker (one partition per topic by default, no rebalance delay).
    pub async fn start() -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let overrides = vec![
            ("listeners".to_owned(), "PLAINTEXT://127.0.0.1:0".to_owned()),
            (
                "log.dirs".to_owned(),
                dir.path().join("data").display().to_string(),
            ),
            ("num.partitions".to_owned(), "1".to_owned()),
            (
                "group.initial.rebalance.delay.ms".to_owned(),
                "0".to_owned(),
            ),
        ];
        let sources = Sources {
            overrides,
            ..Sources::default()
        };
        let config = BrokerConfig::load(&sources).unwrap().config;
        let running = Broker::start(config).await.unwrap();
        TestBroker { _dir: dir, running }
    }

    /// The listener's `host:port`.
    pub fn addr(&self) -> String {
        self.running.local_addr().to_string()
    }

    /// Runs `strom --bootstrap-server <this broker> args...` with `stdin`.
    pub async fn strom(&self, args: &[&str], stdin: &str) -> Run {
        let mut all = vec!["--bootstrap-server".to_owned(), self.addr()];
        all.extend(args.iter().map(|arg| (*arg).to_owned()));
        run(all, stdin.to_owned()).await
    }

    /// Runs the command and asserts it succeeded; returns its stdout.
    pub async fn ok(&self, args: &[&str], stdin: &str) -> String {
        let run = self.strom(args, stdin).await;
        assert_eq!(run.code, Some(0), "strom {args:?} failed: {run:?}");
        run.stdout
    }

    /// Runs the command and parses its stdout as JSON.
    pub async fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all, "").await;
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
    }
}

/// Runs the `strom` binary with `args` and `stdin` (on a blocking thread, so the in-process
/// broker keeps serving).
pub async fn run(args: Vec<String>, stdin: String) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strom"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    })
    .await
    .unwrap()
}
