//! `strom configs describe|alter` (topic or broker configs, incremental alter),
//! `strom cluster describe` and `strom cluster elect-leaders`.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use strom_admin::{AlterConfigOp, ConfigResource, ElectionType, TopicPartition};

use crate::Context;
use crate::table::Table;

/// The `configs` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigsCommand {
    /// Print every config of a topic or broker with its source.
    Describe(ResourceArgs),
    /// Set or delete configs of a topic or broker; others stay as they are.
    Alter(AlterArgs),
}

/// The `cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Print the cluster id, controller and brokers.
    Describe,
    /// Elect leaders: the preferred replica, or with --unclean any live replica when no
    /// in-sync replica is live (loses data). Every partition when no topic is given.
    ElectLeaders(ElectArgs),
}

/// Arguments of `cluster elect-leaders`.
#[derive(Debug, Args)]
pub struct ElectArgs {
    /// An unclean election instead of a preferred one.
    #[arg(long)]
    unclean: bool,
    /// Only this topic's partitions.
    #[arg(long)]
    topic: Option<String>,
    /// Only this partition of the topic.
    #[arg(long, requires = "topic")]
    partition: Option<i32>,
}

/// Which resource: exactly one of `--topic` and `--broker`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResourceArgs {
    /// A topic.
    #[arg(long)]
    topic: Option<String>,
    /// A broker id.
    #[arg(long)]
    broker: Option<i32>,
}

/// Arguments of `configs alter`.
#[derive(Debug, Args)]
pub struct AlterArgs {
    #[command(flatten)]
    resource: ResourceArgs,
    /// Set a config, `key=value` (repeatable).
    #[arg(long = "set", value_parser = crate::key_value)]
    set: Vec<(String, String)>,
    /// Delete a config, reverting it to its default (repeatable).
    #[arg(long = "delete")]
    delete: Vec<String>,
}

impl ResourceArgs {
    fn resource(&self) -> anyhow::Result<ConfigResource> {
        match (&self.topic, self.broker) {
            (Some(topic), None) => Ok(ConfigResource::Topic(topic.clone())),
            (None, Some(broker)) => Ok(ConfigResource::Broker(broker)),
            _ => anyhow::bail!("give exactly one of --topic and --broker"),
        }
    }
}

/// Runs a `configs` subcommand.
pub async fn run(context: &Context, command: ConfigsCommand) -> anyhow::Result<()> {
    let admin = context.admin().await?;
    match command {
        ConfigsCommand::Describe(args) => {
            let resource = args.resource()?;
            let mut table = Table::new(&["name", "value", "source", "read_only"]);
            for entry in admin.describe_configs(&resource).await? {
                let value = if entry.sensitive {
                    json!("(sensitive)")
                } else {
                    entry.value.map_or(Value::Null, |value| json!(value))
                };
                table.row(vec![
                    json!(entry.name),
                    value,
                    json!(entry.source.name()),
                    json!(entry.read_only),
                ]);
            }
            print!("{}", table.render(context.output));
        }
        ConfigsCommand::Alter(args) => {
            let resource = args.resource.resource()?;
            let mut ops: Vec<AlterConfigOp> = args
                .set
                .into_iter()
                .map(|(name, value)| AlterConfigOp::Set { name, value })
                .collect();
            ops.extend(
                args.delete
                    .into_iter()
                    .map(|name| AlterConfigOp::Delete { name }),
            );
            if ops.is_empty() {
                anyhow::bail!("nothing to alter: give --set key=value or --delete key");
            }
            admin.alter_configs(&resource, &ops).await?;
            println!("Altered {} config(s) of {resource}.", ops.len());
        }
    }
    admin.close().await;
    Ok(())
}

/// Runs a `cluster` subcommand.
pub async fn run_cluster(context: &Context, command: ClusterCommand) -> anyhow::Result<()> {
    let admin = context.admin().await?;
    match command {
        ClusterCommand::Describe => {
            let cluster = admin.describe_cluster().await?;
            let mut table = Table::new(&["cluster_id", "broker", "host", "port", "controller"]);
            for broker in &cluster.brokers {
                table.row(vec![
                    json!(cluster.cluster_id),
                    json!(broker.id),
                    json!(broker.host),
                    json!(broker.port),
                    json!(cluster.controller == Some(broker.id)),
                ]);
            }
            print!("{}", table.render(context.output));
        }
        ClusterCommand::ElectLeaders(args) => {
            let election = if args.unclean {
                ElectionType::Unclean
            } else {
                ElectionType::Preferred
            };
            let partitions = match (&args.topic, args.partition) {
                (Some(topic), Some(partition)) => {
                    Some(vec![TopicPartition::new(topic.clone(), partition)])
                }
                (Some(topic), None) => Some(admin.partitions_of(topic).await?),
                (None, _) => None,
            };
            let res = admin.elect_leaders(election, partitions.as_deref()).await?;
            let mut table = Table::new(&["topic", "partition", "result", "message"]);
            let mut failed = 0;
            for result in &res {
                let (outcome, message) = match &result.res {
                    Ok(()) => ("ELECTED".to_owned(), Value::Null),
                    Err(strom_admin::Error::Broker { code, message, .. }) => {
                        if !result.not_needed() {
                            failed += 1;
                        }
                        (
                            code.name().to_owned(),
                            message
                                .as_ref()
                                .map_or(Value::Null, |message| json!(message)),
                        )
                    }
                    Err(error) => {
                        failed += 1;
                        ("ERROR".to_owned(), json!(error.to_string()))
                    }
                };
                table.row(vec![
                    json!(result.topic_partition.topic),
                    json!(result.topic_partition.partition),
                    json!(outcome),
                    message,
                ]);
            }
            print!("{}", table.render(context.output));
            admin.close().await;
            if failed > 0 {
                anyhow::bail!("{failed} of {} election(s) failed", res.len());
            }
            return Ok(());
        }
    }
    admin.close().await;
    Ok(())
}
