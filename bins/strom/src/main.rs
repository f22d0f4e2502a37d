//! `strom`: the command-line tool for Strom and any Kafka-compatible cluster. One binary with
//! subcommands: `topics`, `produce`, `consume`, `groups`, `configs`, `cluster` and `perf`.
//! Results print as tables, or as JSON with `--output json`. Every failure prints one clear
//! message to stderr and exits with code 1.
//!
//! This file parses the command line and dispatches; each subcommand lives in its own module.

mod configs;
mod consume;
mod groups;
mod perf;
mod produce;
mod table;
mod topics;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use strom_admin::Admin;
use strom_client::ClientConfig;

use crate::table::Output;

/// Command-line tool for Strom and other Kafka-compatible clusters.
#[derive(Debug, Parser)]
#[command(name = "strom", version, about)]
struct Cli {
    /// A broker to bootstrap from (`host:port`; comma-separated for several).
    #[arg(long, global = true, default_value = "127.0.0.1:9092")]
    bootstrap_server: String,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: Output,
    /// How long to wait for a broker's answer (and to keep retrying an unreachable cluster).
    #[arg(long, global = true, default_value_t = 10_000)]
    request_timeout_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, list, describe, delete and alter topics.
    #[command(subcommand)]
    Topics(topics::TopicsCommand),
    /// Produce lines from stdin or a file, one record per line.
    Produce(produce::ProduceArgs),
    /// Print records of a topic.
    Consume(consume::ConsumeArgs),
    /// List, describe (with lag), delete consumer groups and reset their offsets.
    #[command(subcommand)]
    Groups(groups::GroupsCommand),
    /// Describe and alter topic and broker configs.
    #[command(subcommand)]
    Configs(configs::ConfigsCommand),
    /// Describe the cluster, elect partition leaders.
    #[command(subcommand)]
    Cluster(configs::ClusterCommand),
    /// Producer and consumer performance tests.
    #[command(subcommand)]
    Perf(perf::PerfCommand),
}

/// What every subcommand needs: where the cluster is and how to print.
#[derive(Debug, Clone)]
pub struct Context {
    /// The bootstrap servers.
    pub bootstrap_servers: Vec<String>,
    /// The output form.
    pub output: Output,
    /// `request.timeout.ms`.
    pub request_timeout: Duration,
}

impl Context {
    /// Client settings for the bootstrap servers.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            bootstrap_servers: self.bootstrap_servers.clone(),
            client_id: "strom-cli".to_owned(),
            request_timeout: self.request_timeout,
            ..ClientConfig::default()
        }
    }

    /// An admin client.
    pub async fn admin(&self) -> anyhow::Result<Admin> {
        Ok(Admin::connect(self.client_config()).await?)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Usage errors exit with 1 like every other failure; help and version exit with 0.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let context = Context {
        bootstrap_servers: cli
            .bootstrap_server
            .split(',')
            .map(|addr| addr.trim().to_owned())
            .filter(|addr| !addr.is_empty())
            .collect(),
        output: cli.output,
        request_timeout: Duration::from_millis(cli.request_timeout_ms),
    };
    let mut builder = match &cli.command {
        // The perf tools run their client on as many threads as asked (see perf.rs).
        Command::Perf(command) if command.threads() <= 1 => {
            tokio::runtime::Builder::new_current_thread()
        }
        Command::Perf(command) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            // The send (or poll) loop runs on this thread, the producer's (or consumer's) tasks on
            // the workers.
            builder.worker_threads(command.threads() - 1);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let res = runtime.block_on(run(context, cli.command));
    // Do not wait for connection tasks of a finished command.
    runtime.shutdown_background();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(context: Context, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Topics(command) => topics::run(&context, command).await,
        Command::Produce(args) => produce::run(&context, args).await,
        Command::Consume(args) => consume::run(&context, args).await,
        Command::Groups(command) => groups::run(&context, command).await,
        Command::Configs(command) => configs::run(&context, command).await,
        Command::Cluster(command) => configs::run_cluster(&context, command).await,
        Command::Perf(command) => perf::run(&context, command).await,
    }
}

/// Parses `key=value`.
pub fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected key=value, got {text:?}")),
    }
}
