//! The `strom-broker` executable: reads the configuration (a `server.properties` file, `STROM_*`
//! environment variables, then `--override key=value` flags), starts the node `process.roles`
//! asks for (a single-node broker by default; a cluster's broker, controller or both), and
//! shuts it down cleanly on SIGINT or SIGTERM (stop accepting, finish in-flight requests, flush
//! and close every log), exiting 0. An invalid configuration exits 1 with a message naming the
//! key. Everything else lives in the `strom-broker` library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use strom_broker::RunningNode;
use strom_broker::config::{BrokerConfig, Sources, parse_properties};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// A Kafka-wire-compatible streaming broker: a single node, or a cluster node (process.roles).
///
/// With no arguments it listens on 127.0.0.1:9092 and keeps its data in ./strom-data.
#[derive(Debug, Parser)]
#[command(name = "strom-broker", version)]
struct Args {
    /// A configuration file in Kafka's server.properties format.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Sets one configuration key, overriding the file and the environment (repeatable).
    /// Environment variables STROM_<KEY> (dots as `_`, underscores as `__`) come in between.
    #[arg(long = "override", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

fn main() -> ExitCode {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = match load(&args) {
        Ok(config) => config,
        Err(error) => {
            tracing::error!("{error:#}");
            return ExitCode::from(1);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the runtime");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            ExitCode::from(1)
        }
    }
}

fn load(args: &Args) -> anyhow::Result<BrokerConfig> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            parse_properties(&text)
        }
        None => Vec::new(),
    };
    let mut overrides = Vec::with_capacity(args.overrides.len());
    for flag in &args.overrides {
        let Some((key, value)) = flag.split_once('=') else {
            anyhow::bail!("--override {flag:?} is not of the form key=value");
        };
        overrides.push((key.trim().to_owned(), value.to_owned()));
    }
    let sources = Sources {
        file,
        env: std::env::vars().collect(),
        overrides,
    };
    let loaded = BrokerConfig::load(&sources).context("invalid configuration")?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.config)
}

async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let running = RunningNode::start(config)
        .await
        .context("the node failed to start")?;
    let received = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!(signal = received, "shutting down");
    running
        .shutdown()
        .await
        .context("the broker did not shut down cleanly")?;
    Ok(())
}
