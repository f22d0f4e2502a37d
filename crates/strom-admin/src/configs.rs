//! Config operations: describe (DescribeConfigs) and incremental alter (IncrementalAlterConfigs)
//! of topic and broker configs. It does not use the deprecated non-incremental AlterConfigs.

use std::fmt;

use strom_protocol::messages::describe_configs::{DescribeConfigsRequest, DescribeConfigsResource};
use strom_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};

use crate::admin::expect_response;
use crate::error::check;
use crate::{Admin, Error, Result};

/// The thing a config belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    /// A topic, by name.
    Topic(String),
    /// A broker, by node id.
    Broker(i32),
}

/// One config of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The config name, e.g. `retention.ms`.
    pub name: String,
    /// The value; `None` when unset or sensitive.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be altered.
    pub read_only: bool,
    /// Whether the value is hidden because it is sensitive.
    pub sensitive: bool,
}

/// Where a config value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    Topic,
    /// Set dynamically on this broker.
    DynamicBroker,
    /// Set dynamically as the default of every broker.
    DynamicDefaultBroker,
    /// Set in the broker's configuration file.
    StaticBroker,
    /// Kafka's default.
    Default,
    /// Anything else the broker reports.
    Unknown,
}

/// One change of [`Admin::alter_configs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    /// Sets `name` to `value`.
    Set {
        /// The config name.
        name: String,
        /// The new value.
        value: String,
    },
    /// Removes `name`, reverting it to its default.
    Delete {
        /// The config name.
        name: String,
    },
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(name) => (2, name.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
        }
    }
}

impl fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigResource::Topic(name) => write!(f, "topic {name}"),
            ConfigResource::Broker(id) => write!(f, "broker {id}"),
        }
    }
}

impl ConfigSource {
    /// The source for a wire value.
    pub fn from_wire(source: i8) -> ConfigSource {
        match source {
            1 => ConfigSource::Topic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            _ => ConfigSource::Unknown,
        }
    }

    /// Kafka's name for the source, as `kafka-configs.sh` prints it.
    pub fn name(self) -> &'static str {
        match self {
            ConfigSource::Topic => "DYNAMIC_TOPIC_CONFIG",
            ConfigSource::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
            ConfigSource::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            ConfigSource::StaticBroker => "STATIC_BROKER_CONFIG",
            ConfigSource::Default => "DEFAULT_CONFIG",
            ConfigSource::Unknown => "UNKNOWN",
        }
    }
}

impl Admin {
    /// Every config of `resource`, ordered by name.
    pub async fn describe_configs(&self, resource: &ConfigResource) -> Result<Vec<ConfigEntry>> {
        let (resource_type, resource_name) = resource.wire();
        let request = DescribeConfigsRequest {
            resources: vec![DescribeConfigsResource {
                resource_type,
                resource_name,
                configuration_keys: None,
                ..DescribeConfigsResource::default()
            }],
            ..DescribeConfigsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, DescribeConfigs);
        let Some(result) = response.results.into_iter().next() else {
            return Err(Error::MissingResult(resource.to_string()));
        };
        check(
            &resource.to_string(),
            result.error_code,
            result.error_message.as_deref(),
        )?;
        let mut res: Vec<ConfigEntry> = result
            .configs
            .into_iter()
            .map(|config| ConfigEntry {
                name: config.name,
                value: config.value,
                source: ConfigSource::from_wire(config.config_source),
                read_only: config.read_only,
                sensitive: config.is_sensitive,
            })
            .collect();
        res.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(res)
    }

    /// Applies `ops` to `resource` (IncrementalAlterConfigs); other configs stay as they are.
    pub async fn alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
    ) -> Result<()> {
        let (resource_type, resource_name) = resource.wire();
        let configs = ops
            .iter()
            .map(|op| match op {
                AlterConfigOp::Set { name, value } => AlterableConfig {
                    name: name.clone(),
                    config_operation: 0,
                    value: Some(value.clone()),
                    ..AlterableConfig::default()
                },
                AlterConfigOp::Delete { name } => AlterableConfig {
                    name: name.clone(),
                    config_operation: 1,
                    value: None,
                    ..AlterableConfig::default()
                },
            })
            .collect();
        let request = IncrementalAlterConfigsRequest {
            resources: vec![AlterConfigsResource {
                resource_type,
                resource_name,
                configs,
                ..AlterConfigsResource::default()
            }],
            validate_only: false,
            ..IncrementalAlterConfigsRequest::default()
        };
        let response = expect_response!(self.send_any(request).await?, IncrementalAlterConfigs);
        let Some(result) = response.responses.first() else {
            return Err(Error::MissingResult(resource.to_string()));
        };
        check(
            &resource.to_string(),
            result.error_code,
            result.error_message.as_deref(),
        )
    }
}
