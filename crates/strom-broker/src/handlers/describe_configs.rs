//! DescribeConfigs (32): the configuration of topics and of this broker, all keys or the listed
//! ones, each with its source, Kafka's read-only and sensitive flags, its synonyms (when
//! `include_synonyms`), and its type and documentation (v3+, documentation only when
//! `include_documentation`). Unknown topics are `UNKNOWN_TOPIC_OR_PARTITION`; a broker id that is
//! not this node's is `INVALID_REQUEST`. Also home of [`Resource`], the config resource check
//! that AlterConfigs and IncrementalAlterConfigs share.
//!
//! It does not describe broker loggers, client-metrics or group resources: those answer
//! `INVALID_REQUEST`.

use strom_metadata::validate_topic_name;
use strom_protocol::ErrorCode;
use strom_protocol::messages::describe_configs::{
    DescribeConfigsRequest, DescribeConfigsResource, DescribeConfigsResourceResult,
    DescribeConfigsResponse, DescribeConfigsResult, DescribeConfigsSynonym,
};

use crate::broker::Broker;
use crate::config::{BROKER_KEYS, ConfigEntry, ConfigKey, Kind, TOPIC_KEYS};

/// Kafka's `ConfigResource.Type` number for a topic.
pub const RESOURCE_TYPE_TOPIC: i8 = 2;
/// Kafka's `ConfigResource.Type` number for a broker.
pub const RESOURCE_TYPE_BROKER: i8 = 4;
/// Kafka's `ConfigResource.Type` number for a broker's loggers.
pub const RESOURCE_TYPE_BROKER_LOGGER: i8 = 8;

/// A config resource named in a request, checked against this broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// An existing topic.
    Topic(String),
    /// This broker (its id as the resource name).
    Broker,
    /// The cluster-wide broker defaults (a broker resource with an empty name).
    ClusterDefault,
}

/// Why a resource cannot be served: the wire code and its message.
pub type Refusal = (ErrorCode, String);

/// Checks a resource named in a config request: a valid, existing topic name, or this broker's
/// id (or the empty name for the cluster defaults).
pub fn resource(broker: &Broker, resource_type: i8, name: &str) -> Result<Resource, Refusal> {
    match resource_type {
        RESOURCE_TYPE_TOPIC => {
            if let Err(error) = validate_topic_name(name) {
                return Err((ErrorCode::InvalidTopicException, error.to_string()));
            }
            if broker.image().topic(name).is_none() {
                return Err((
                    ErrorCode::UnknownTopicOrPartition,
                    format!("topic {name} does not exist"),
                ));
            }
            Ok(Resource::Topic(name.to_owned()))
        }
        RESOURCE_TYPE_BROKER => {
            if name.is_empty() {
                return Ok(Resource::ClusterDefault);
            }
            let ours = broker.node_id().0;
            match name.parse::<i32>() {
                Ok(id) if id == ours => Ok(Resource::Broker),
                Ok(_) | Err(_) => Err((
                    ErrorCode::InvalidRequest,
                    format!(
                        "unexpected broker id, expected {ours} or the empty string, but received {name:?}"
                    ),
                )),
            }
        }
        RESOURCE_TYPE_BROKER_LOGGER => Err((
            ErrorCode::InvalidRequest,
            "broker logger configs are not supported".to_owned(),
        )),
        other => Err((
            ErrorCode::InvalidRequest,
            format!("unsupported config resource type {other}"),
        )),
    }
}

/// Answers a DescribeConfigs request.
pub fn handle(broker: &Broker, request: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let options = Options {
        include_synonyms: request.include_synonyms,
        include_documentation: request.include_documentation,
    };
    let results = request
        .resources
        .iter()
        .map(|requested| describe(broker, requested, options))
        .collect();
    DescribeConfigsResponse {
        results,
        ..DescribeConfigsResponse::default()
    }
}

/// What to include for each key.
#[derive(Debug, Clone, Copy)]
struct Options {
    include_synonyms: bool,
    include_documentation: bool,
}

/// Kafka's `ConfigDef.Type` numbers, as DescribeConfigs v3+ reports them.
const CONFIG_TYPE_BOOLEAN: i8 = 1;
const CONFIG_TYPE_STRING: i8 = 2;
const CONFIG_TYPE_INT: i8 = 3;
const CONFIG_TYPE_LONG: i8 = 5;
const CONFIG_TYPE_DOUBLE: i8 = 6;
const CONFIG_TYPE_LIST: i8 = 7;

fn describe(
    broker: &Broker,
    requested: &DescribeConfigsResource,
    options: Options,
) -> DescribeConfigsResult {
    let mut res = DescribeConfigsResult {
        resource_type: requested.resource_type,
        resource_name: requested.resource_name.clone(),
        error_message: None,
        ..DescribeConfigsResult::default()
    };
    let entries: Vec<(ConfigEntry, Option<&'static ConfigKey>)> =
        match resource(broker, requested.resource_type, &requested.resource_name) {
            Ok(Resource::Topic(name)) => {
                let image = broker.image();
                let Some(topic) = image.topic(&name) else {
                    res.error_code = ErrorCode::UnknownTopicOrPartition.code();
                    res.error_message = Some(format!("topic {name} does not exist"));
                    return res;
                };
                broker
                    .config()
                    .describe_topic(&topic.configs)
                    .into_iter()
                    .map(|entry| {
                        let spec = TOPIC_KEYS
                            .iter()
                            .map(|(spec, _)| spec)
                            .find(|spec| spec.name == entry.name);
                        (entry, spec)
                    })
                    .collect()
            }
            Ok(Resource::Broker) => broker
                .config()
                .describe_broker()
                .into_iter()
                .map(|entry| {
                    let spec = BROKER_KEYS.iter().find(|spec| spec.name == entry.name);
                    (entry, spec)
                })
                .collect(),
            // Dynamic cluster-wide broker defaults are not supported, so there are none.
            Ok(Resource::ClusterDefault) => Vec::new(),
            Err((error_code, message)) => {
                res.error_code = error_code.code();
                res.error_message = Some(message);
                return res;
            }
        };
    let read_only = requested.resource_type == RESOURCE_TYPE_BROKER;
    let wanted = requested
        .configuration_keys
        .as_ref()
        .filter(|keys| !keys.is_empty());
    res.configs = entries
        .into_iter()
        .filter(|(entry, _)| wanted.is_none_or(|keys| keys.iter().any(|key| key == entry.name)))
        .map(|(entry, spec)| row(entry, spec, read_only, options))
        .collect();
    res
}

fn row(
    entry: ConfigEntry,
    spec: Option<&ConfigKey>,
    read_only: bool,
    options: Options,
) -> DescribeConfigsResourceResult {
    let synonyms = if options.include_synonyms {
        entry
            .synonyms
            .into_iter()
            .map(|(name, value, source)| DescribeConfigsSynonym {
                name,
                value,
                source: source.wire_id(),
                ..DescribeConfigsSynonym::default()
            })
            .collect()
    } else {
        Vec::new()
    };
    let documentation = if options.include_documentation {
        spec.map(|spec| spec.doc.to_owned())
    } else {
        None
    };
    DescribeConfigsResourceResult {
        name: entry.name.to_owned(),
        value: entry.value,
        // Broker configs are static in Strom: none can be altered while it runs.
        read_only,
        config_source: entry.source.wire_id(),
        is_sensitive: false,
        synonyms,
        config_type: spec.map_or(0, |spec| config_type(spec.kind)),
        documentation,
        ..DescribeConfigsResourceResult::default()
    }
}

/// The `ConfigDef.Type` Kafka gives a key of this kind.
fn config_type(kind: Kind) -> i8 {
    match kind {
        Kind::Bool => CONFIG_TYPE_BOOLEAN,
        Kind::Int { max, .. } if max <= i64::from(i32::MAX) => CONFIG_TYPE_INT,
        Kind::Int { .. } => CONFIG_TYPE_LONG,
        Kind::Double { .. } => CONFIG_TYPE_DOUBLE,
        Kind::Text | Kind::OneOf(_) => CONFIG_TYPE_STRING,
        Kind::ListOf(_) => CONFIG_TYPE_LIST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_types_follow_kafka() {
        let type_of = |name: &str| {
            TOPIC_KEYS
                .iter()
                .map(|(spec, _)| spec)
                .find(|spec| spec.name == name)
                .map(|spec| config_type(spec.kind))
        };
        assert_eq!(type_of("cleanup.policy"), Some(CONFIG_TYPE_LIST));
        assert_eq!(type_of("retention.ms"), Some(CONFIG_TYPE_LONG));
        assert_eq!(type_of("segment.bytes"), Some(CONFIG_TYPE_INT));
        assert_eq!(type_of("compression.type"), Some(CONFIG_TYPE_STRING));
        assert_eq!(
            type_of("unclean.leader.election.enable"),
            Some(CONFIG_TYPE_BOOLEAN)
        );
    }
}
