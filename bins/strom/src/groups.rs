//! `strom groups list|describe|delete|reset-offsets`. `describe` shows each partition's
//! committed offset, log end offset and lag; `reset-offsets` is a dry run unless `--execute`
//! is given, as with Kafka's tool, and refuses groups that still have members.

use clap::{ArgGroup, Args, Subcommand};
use serde_json::json;
use strom_admin::{Offset, ResetSpec, Timestamp, TopicPartition};

use crate::Context;
use crate::table::{Output, Table};

/// The `groups` subcommands.
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List groups.
    List,
    /// Show a group's state, members and per-partition lag.
    Describe(GroupArg),
    /// Delete an empty group and its offsets.
    Delete(GroupArg),
    /// Move an empty group's committed offsets.
    ResetOffsets(ResetArgs),
}

/// A single `--group`.
#[derive(Debug, Args)]
pub struct GroupArg {
    /// The group id.
    #[arg(long)]
    group: String,
}

/// Arguments of `groups reset-offsets`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["to_earliest", "to_latest", "to_offset", "to_timestamp"])))]
#[command(group(ArgGroup::new("scope").required(true).args(["topic", "all_topics"])))]
pub struct ResetArgs {
    /// The group id.
    #[arg(long)]
    group: String,
    /// Reset all partitions of this topic (repeatable).
    #[arg(long)]
    topic: Vec<String>,
    /// Reset every partition the group has committed offsets for.
    #[arg(long)]
    all_topics: bool,
    /// To the log start offset.
    #[arg(long)]
    to_earliest: bool,
    /// To the log end offset.
    #[arg(long)]
    to_latest: bool,
    /// To this offset (clamped to the log's range).
    #[arg(long)]
    to_offset: Option<u64>,
    /// To the first offset at or after this timestamp (milliseconds since the epoch).
    #[arg(long)]
    to_timestamp: Option<i64>,
    /// Commit the new offsets (without it, only print them).
    #[arg(long)]
    execute: bool,
}

impl ResetArgs {
    fn spec(&self) -> ResetSpec {
        if let Some(offset) = self.to_offset {
            ResetSpec::Offset(Offset(offset))
        } else if let Some(timestamp) = self.to_timestamp {
            ResetSpec::Timestamp(Timestamp(timestamp))
        } else if self.to_latest {
            ResetSpec::Latest
        } else {
            ResetSpec::Earliest
        }
    }
}

/// Runs a `groups` subcommand.
pub async fn run(context: &Context, command: GroupsCommand) -> anyhow::Result<()> {
    let admin = context.admin().await?;
    match command {
        GroupsCommand::List => {
            let mut table = Table::new(&["group", "state", "protocol_type"]);
            for group in admin.list_groups().await? {
                table.row(vec![
                    json!(group.group),
                    json!(group.state),
                    json!(group.protocol_type),
                ]);
            }
            print!("{}", table.render(context.output));
        }
        GroupsCommand::Describe(args) => {
            let description = admin.describe_group(&args.group).await?;
            let lag = admin.group_lag(&args.group).await?;
            if context.output == Output::Table {
                println!(
                    "Group {} is {} with {} member(s).",
                    args.group,
                    description.state,
                    description.members.len()
                );
            }
            let mut table = Table::new(&[
                "group",
                "topic",
                "partition",
                "current_offset",
                "log_end_offset",
                "lag",
            ]);
            for partition in lag {
                table.row(vec![
                    json!(args.group),
                    json!(partition.topic_partition.topic),
                    json!(partition.topic_partition.partition),
                    json!(partition.committed.0),
                    json!(partition.log_end_offset.0),
                    json!(partition.lag),
                ]);
            }
            print!("{}", table.render(context.output));
        }
        GroupsCommand::Delete(args) => {
            admin.delete_group(&args.group).await?;
            println!("Deleted group {}.", args.group);
        }
        GroupsCommand::ResetOffsets(args) => {
            let mut partitions: Vec<TopicPartition> = Vec::new();
            if args.all_topics {
                partitions.extend(
                    admin
                        .group_offsets(&args.group)
                        .await?
                        .into_iter()
                        .map(|(topic_partition, _)| topic_partition),
                );
            }
            for topic in &args.topic {
                partitions.extend(admin.partitions_of(topic).await?);
            }
            if partitions.is_empty() {
                anyhow::bail!("group {} has no partitions to reset", args.group);
            }
            let spec = args.spec();
            let offsets = if args.execute {
                admin
                    .reset_group_offsets(&args.group, &partitions, spec)
                    .await?
            } else {
                admin.plan_group_offsets_reset(&partitions, spec).await?
            };
            let mut table = Table::new(&["group", "topic", "partition", "new_offset"]);
            for (topic_partition, offset) in offsets {
                table.row(vec![
                    json!(args.group),
                    json!(topic_partition.topic),
                    json!(topic_partition.partition),
                    json!(offset.0),
                ]);
            }
            print!("{}", table.render(context.output));
            if !args.execute {
                eprintln!("Dry run: nothing committed. Add --execute to reset the offsets.");
            }
        }
    }
    admin.close().await;
    Ok(())
}
