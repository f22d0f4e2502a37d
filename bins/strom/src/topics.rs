//! `strom topics create|list|describe|delete|alter|reassign|reassignments`: topic
//! administration through `strom-admin`. `alter` only grows the partition count; configs are
//! `strom configs alter`. `reassign` moves one partition to other brokers (or cancels its move)
//! and `reassignments` lists the moves in progress; neither plans where partitions should go.

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use strom_admin::{NewTopic, TopicPartition};

use crate::Context;
use crate::table::Table;

/// The `topics` subcommands.
#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topics.
    List,
    /// Describe partitions (leader, replicas, ISR) of one topic or all.
    Describe(DescribeArgs),
    /// Delete a topic.
    Delete(TopicArg),
    /// Grow a topic's partition count.
    Alter(AlterArgs),
    /// Move a partition to other brokers, or cancel its move in progress.
    Reassign(ReassignArgs),
    /// List the partition moves in progress.
    Reassignments(DescribeArgs),
}

/// Arguments of `topics reassign`.
#[derive(Debug, Args)]
pub struct ReassignArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// The partition.
    #[arg(long)]
    partition: i32,
    /// The target brokers, comma-separated, preferred leader first.
    #[arg(long, value_delimiter = ',', required_unless_present = "cancel")]
    replicas: Vec<i32>,
    /// Cancel the move in progress instead (the partition goes back to its replicas before it).
    #[arg(long, conflicts_with = "replicas")]
    cancel: bool,
}

/// Arguments of `topics create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// The number of partitions.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
    /// The replication factor (the broker's default if not given).
    #[arg(long)]
    replication_factor: Option<i16>,
    /// A topic config, `key=value` (repeatable).
    #[arg(long = "config", value_parser = crate::key_value)]
    configs: Vec<(String, String)>,
}

/// Arguments of `topics describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The topic (all topics if not given).
    #[arg(long)]
    topic: Option<String>,
}

/// A single `--topic`.
#[derive(Debug, Args)]
pub struct TopicArg {
    /// The topic.
    #[arg(long)]
    topic: String,
}

/// Arguments of `topics alter`.
#[derive(Debug, Args)]
pub struct AlterArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// The new total partition count.
    #[arg(long)]
    partitions: i32,
}

/// Runs a `topics` subcommand.
pub async fn run(context: &Context, command: TopicsCommand) -> anyhow::Result<()> {
    let admin = context.admin().await?;
    match command {
        TopicsCommand::Create(args) => {
            let topic = NewTopic {
                name: args.topic.clone(),
                partitions: args.partitions,
                replication_factor: args.replication_factor,
                configs: args.configs,
            };
            admin.create_topics(&[topic]).await?;
            println!("Created topic {}.", args.topic);
        }
        TopicsCommand::List => {
            let mut table = Table::new(&["topic", "partitions", "internal"]);
            for topic in admin.list_topics().await? {
                table.row(vec![
                    json!(topic.name),
                    json!(topic.partitions),
                    json!(topic.internal),
                ]);
            }
            print!("{}", table.render(context.output));
        }
        TopicsCommand::Describe(args) => {
            let names: Vec<&str> = args.topic.as_deref().into_iter().collect();
            let mut table = Table::new(&["topic", "partition", "leader", "replicas", "isr"]);
            for topic in admin.describe_topics(&names).await? {
                for partition in topic.partitions {
                    table.row(vec![
                        json!(topic.name),
                        json!(partition.partition),
                        partition.leader.map_or(Value::Null, |leader| json!(leader)),
                        json!(partition.replicas),
                        json!(partition.isr),
                    ]);
                }
            }
            print!("{}", table.render(context.output));
        }
        TopicsCommand::Delete(args) => {
            admin.delete_topics(&[&args.topic]).await?;
            println!("Deleted topic {}.", args.topic);
        }
        TopicsCommand::Alter(args) => {
            admin
                .create_partitions(&args.topic, args.partitions)
                .await?;
            println!(
                "Topic {} now has {} partitions.",
                args.topic, args.partitions
            );
        }
        TopicsCommand::Reassign(args) => {
            let topic_partition = TopicPartition {
                topic: args.topic.clone(),
                partition: args.partition,
            };
            let target = (!args.cancel).then(|| args.replicas.clone());
            admin
                .alter_partition_reassignments(&[(topic_partition, target)])
                .await?;
            if args.cancel {
                println!(
                    "Cancelled the move of partition {}-{}.",
                    args.topic, args.partition
                );
            } else {
                println!(
                    "Moving partition {}-{} to brokers {:?}.",
                    args.topic, args.partition, args.replicas
                );
            }
        }
        TopicsCommand::Reassignments(args) => {
            let mut table = Table::new(&["topic", "partition", "replicas", "adding", "removing"]);
            for reassignment in admin.list_partition_reassignments(None).await? {
                let topic_partition = &reassignment.topic_partition;
                if args
                    .topic
                    .as_ref()
                    .is_some_and(|topic| *topic != topic_partition.topic)
                {
                    continue;
                }
                table.row(vec![
                    json!(topic_partition.topic),
                    json!(topic_partition.partition),
                    json!(reassignment.replicas),
                    json!(reassignment.adding_replicas),
                    json!(reassignment.removing_replicas),
                ]);
            }
            print!("{}", table.render(context.output));
        }
    }
    admin.close().await;
    Ok(())
}
