//! Consumer group operations: list (ListGroups on every broker), describe (DescribeGroups at
//! the coordinator) and delete (DeleteGroups). Offsets and lag are in `offsets.rs`.

use strom_protocol::messages::delete_groups::DeleteGroupsRequest;
use strom_protocol::messages::describe_groups::DescribeGroupsRequest;
use strom_protocol::messages::list_groups::ListGroupsRequest;

use crate::admin::expect_response;
use crate::error::check;
use crate::{Admin, Error, Result};

/// One group of [`Admin::list_groups`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// The group id.
    pub group: String,
    /// The protocol type (`consumer` for consumer groups, empty for offset-only groups).
    pub protocol_type: String,
    /// The state (`Empty`, `Stable`, ...), when the broker reports it.
    pub state: String,
}

/// What [`Admin::describe_group`] returns for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group: String,
    /// The state: `Empty`, `PreparingRebalance`, `CompletingRebalance`, `Stable` or `Dead`.
    pub state: String,
    /// The protocol type.
    pub protocol_type: String,
    /// The chosen assignor, once the group is stable.
    pub protocol: String,
    /// The members.
    pub members: Vec<MemberDescription>,
}

/// One member of a [`GroupDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// The member id.
    pub member_id: String,
    /// The static instance id, if any.
    pub instance_id: Option<String>,
    /// The client id.
    pub client_id: String,
    /// The client's host.
    pub client_host: String,
}

impl Admin {
    /// Every group known to any broker, ordered by id.
    pub async fn list_groups(&self) -> Result<Vec<GroupListing>> {
        let mut res = Vec::new();
        for broker in self.brokers() {
            let response = self.send(broker, ListGroupsRequest::default()).await?;
            let response = expect_response!(response, ListGroups);
            check(&format!("broker {broker}"), response.error_code, None)?;
            res.extend(response.groups.into_iter().map(|group| GroupListing {
                group: group.group_id,
                protocol_type: group.protocol_type,
                state: group.group_state,
            }));
        }
        res.sort_by(|a, b| a.group.cmp(&b.group));
        res.dedup_by(|a, b| a.group == b.group);
        Ok(res)
    }

    /// Describes `group` at its coordinator. An unknown group is described as `Dead` with no
    /// members, as Kafka does.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription> {
        let coordinator = self.coordinator(group).await?;
        let request = DescribeGroupsRequest {
            groups: vec![group.to_owned()],
            ..DescribeGroupsRequest::default()
        };
        let response = expect_response!(self.send(coordinator, request).await?, DescribeGroups);
        let Some(described) = response.groups.into_iter().find(|g| g.group_id == group) else {
            return Err(Error::MissingResult(format!("group {group}")));
        };
        check(&format!("group {group}"), described.error_code, None)?;
        Ok(GroupDescription {
            group: described.group_id,
            state: described.group_state,
            protocol_type: described.protocol_type,
            protocol: described.protocol_data,
            members: described
                .members
                .into_iter()
                .map(|member| MemberDescription {
                    member_id: member.member_id,
                    instance_id: member.group_instance_id,
                    client_id: member.client_id,
                    client_host: member.client_host,
                })
                .collect(),
        })
    }

    /// Deletes `group` and its committed offsets; the broker refuses (NON_EMPTY_GROUP) while
    /// it has members.
    pub async fn delete_group(&self, group: &str) -> Result<()> {
        let coordinator = self.coordinator(group).await?;
        let request = DeleteGroupsRequest {
            groups_names: vec![group.to_owned()],
            ..DeleteGroupsRequest::default()
        };
        let response = expect_response!(self.send(coordinator, request).await?, DeleteGroups);
        let Some(result) = response.results.iter().find(|g| g.group_id == group) else {
            return Err(Error::MissingResult(format!("group {group}")));
        };
        check(&format!("group {group}"), result.error_code, None)
    }
}
