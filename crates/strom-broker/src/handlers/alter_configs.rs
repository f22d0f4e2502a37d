//! AlterConfigs (33): replaces the whole set of a topic's config overrides (keys left out go back
//! to their defaults). Also home of [`alter`], the part AlterConfigs and IncrementalAlterConfigs
//! share: one resource named twice is `INVALID_REQUEST`, the resource is checked, the change goes
//! through the metadata controller (which validates the complete new set of overrides:
//! `INVALID_CONFIG` with the reason), and, unless `validate_only`, the topic's new configuration
//! is pushed to its partition logs at once, so it takes effect live.
//!
//! Broker configs are static in Strom (no dynamic broker configs): a change to a broker resource
//! is `INVALID_REQUEST` with a message that says so. Changing nothing on a broker succeeds.

use std::collections::{BTreeMap, HashMap};

use strom_metadata::{AlterConfigs, ConfigOp, ConfigResource, ConfigRules, Mode};
use strom_protocol::ErrorCode;
use strom_protocol::messages::alter_configs::{
    AlterConfigsRequest, AlterConfigsResource, AlterConfigsResourceResponse, AlterConfigsResponse,
};

use crate::Error;
use crate::broker::Broker;
use crate::config::{TOPIC_KEYS, validate_topic_overrides};
use crate::handlers::describe_configs::{RESOURCE_TYPE_TOPIC, Refusal, Resource, resource};
use crate::handlers::{broker_error_code, metadata_error_code};

/// One resource's requested change, as both alter APIs describe it.
#[derive(Debug, Clone)]
pub struct Change {
    /// Kafka's resource type number.
    pub resource_type: i8,
    /// The resource's name.
    pub resource_name: String,
    /// The operations, or why the request for this resource is refused before it is tried.
    pub ops: Result<Vec<ConfigOp>, Refusal>,
}

/// The answer to an AlterConfigs request.
pub fn handle(broker: &Broker, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let changes: Vec<Change> = request.resources.iter().map(replacement).collect();
    let outcomes = alter(broker, &changes, mode(request.validate_only));
    let responses = changes
        .into_iter()
        .zip(outcomes)
        .map(|(change, outcome)| {
            let (error_code, error_message) = match outcome {
                Ok(()) => (ErrorCode::None, None),
                Err((error_code, message)) => (error_code, Some(message)),
            };
            AlterConfigsResourceResponse {
                error_code: error_code.code(),
                error_message,
                resource_type: change.resource_type,
                resource_name: change.resource_name,
                ..AlterConfigsResourceResponse::default()
            }
        })
        .collect();
    AlterConfigsResponse {
        responses,
        ..AlterConfigsResponse::default()
    }
}

/// The controller mode for a request's `validate_only`.
pub fn mode(validate_only: bool) -> Mode {
    if validate_only {
        Mode::ValidateOnly
    } else {
        Mode::Apply
    }
}

/// Checks and applies `changes` (or only checks them, in [`Mode::ValidateOnly`]); one outcome per
/// change, in order. Blocking.
pub fn alter(broker: &Broker, changes: &[Change], mode: Mode) -> Vec<Result<(), Refusal>> {
    let mut counts: HashMap<(i8, &str), usize> = HashMap::new();
    for change in changes {
        *counts
            .entry((change.resource_type, change.resource_name.as_str()))
            .or_default() += 1;
    }
    let mut res: Vec<Result<(), Refusal>> = vec![Ok(()); changes.len()];
    let mut planned: Vec<(usize, AlterConfigs)> = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let key = (change.resource_type, change.resource_name.as_str());
        if counts.get(&key).copied().unwrap_or(0) > 1 {
            res[index] = Err((
                ErrorCode::InvalidRequest,
                format!(
                    "resource {:?} of type {} appears more than once in the request",
                    change.resource_name, change.resource_type
                ),
            ));
            continue;
        }
        let ops = match &change.ops {
            Ok(ops) => ops,
            Err(refusal) => {
                res[index] = Err(refusal.clone());
                continue;
            }
        };
        match resource(broker, change.resource_type, &change.resource_name) {
            Ok(Resource::Topic(name)) => planned.push((
                index,
                AlterConfigs {
                    resource: ConfigResource::Topic(name),
                    ops: ops.clone(),
                },
            )),
            Ok(Resource::Broker | Resource::ClusterDefault) => {
                res[index] = refuse_broker_change(ops);
            }
            Err(refusal) => res[index] = Err(refusal),
        }
    }
    let requests: Vec<AlterConfigs> = planned.iter().map(|(_, request)| request.clone()).collect();
    match broker.alter_topic_configs(&requests, mode) {
        Ok(outcomes) => {
            for ((index, _), outcome) in planned.iter().zip(outcomes) {
                res[*index] = outcome;
            }
        }
        Err(error) => {
            tracing::warn!(%error, "altering configs failed");
            for (index, _) in &planned {
                res[*index] = Err((broker_error_code(&error), error.to_string()));
            }
        }
    }
    res
}

impl Broker {
    /// Changes topics' config overrides in the metadata log and, unless only validating, applies
    /// each changed topic's new configuration to its partition logs. Blocking. The outer error
    /// is a storage failure of the metadata log; each topic has its own outcome.
    pub fn alter_topic_configs(
        &self,
        requests: &[AlterConfigs],
        mode: Mode,
    ) -> Result<Vec<Result<(), Refusal>>, Error> {
        let defaults = self.config().describe_topic(&BTreeMap::new());
        // The controller takes a validator that borrows nothing, so it gets its own copy.
        let config = self.config().clone();
        let default_value = |resource: &ConfigResource, key: &str| -> Option<String> {
            match resource {
                ConfigResource::Topic(_) => defaults
                    .iter()
                    .find(|entry| entry.name == key)
                    .and_then(|entry| entry.value.clone()),
                ConfigResource::Broker(_) | ConfigResource::ClusterDefault => None,
            }
        };
        let validate = move |resource: &ConfigResource,
                             overrides: &BTreeMap<String, String>|
              -> Result<(), String> {
            if !matches!(resource, ConfigResource::Topic(_)) {
                return Err(STATIC_BROKER_CONFIGS.to_owned());
            }
            if let Err(error) = validate_topic_overrides(
                overrides
                    .iter()
                    .map(|(key, value)| (key.as_str(), value.as_str())),
            ) {
                return Err(error.to_string());
            }
            if let Err(error) = config.topic_config(overrides) {
                return Err(error.to_string());
            }
            Ok(())
        };
        let rules = ConfigRules {
            default_value: &default_value,
            validate: &validate,
        };
        let outcomes = self.plane().alter_configs(requests, &rules, mode)?;
        let mut res = Vec::with_capacity(outcomes.len());
        for (request, outcome) in requests.iter().zip(outcomes) {
            if let Err(error) = outcome {
                res.push(Err((metadata_error_code(&error), error.to_string())));
                continue;
            }
            if let (Mode::Apply, ConfigResource::Topic(name)) = (mode, &request.resource) {
                if let Err(error) = self.apply_topic_config(name) {
                    tracing::warn!(topic = name, %error, "applying a topic's new config failed");
                    res.push(Err((broker_error_code(&error), error.to_string())));
                    continue;
                }
                tracing::info!(topic = name, "topic config changed");
            }
            res.push(Ok(()));
        }
        Ok(res)
    }
}

/// Why a broker resource cannot be changed.
const STATIC_BROKER_CONFIGS: &str = "dynamic broker configs are not supported: broker configs are \
     static in Strom; set them in the broker's properties file or with --override and restart it";

/// A change to a broker resource: nothing to do succeeds, anything else is refused.
fn refuse_broker_change(ops: &[ConfigOp]) -> Result<(), Refusal> {
    if ops.is_empty() {
        return Ok(());
    }
    Err((ErrorCode::InvalidRequest, STATIC_BROKER_CONFIGS.to_owned()))
}

/// The change that replaces a resource's overrides by the request's set.
fn replacement(requested: &AlterConfigsResource) -> Change {
    Change {
        resource_type: requested.resource_type,
        resource_name: requested.resource_name.clone(),
        ops: replacement_ops(requested),
    }
}

/// Sets every given key and deletes every other topic key.
fn replacement_ops(requested: &AlterConfigsResource) -> Result<Vec<ConfigOp>, Refusal> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for config in &requested.configs {
        *counts.entry(config.name.as_str()).or_default() += 1;
    }
    let mut ops = Vec::with_capacity(requested.configs.len());
    for config in &requested.configs {
        if counts.get(config.name.as_str()).copied().unwrap_or(0) > 1 {
            return Err((
                ErrorCode::InvalidRequest,
                format!("config key {} appears more than once", config.name),
            ));
        }
        let Some(value) = &config.value else {
            return Err((
                ErrorCode::InvalidRequest,
                format!("null value not supported for config key {}", config.name),
            ));
        };
        ops.push(ConfigOp::Set {
            key: config.name.clone(),
            value: value.clone(),
        });
    }
    // Broker resources get no deletes: on a broker, an empty set changes nothing.
    if requested.resource_type == RESOURCE_TYPE_TOPIC {
        for (spec, _) in TOPIC_KEYS {
            if !counts.contains_key(spec.name) {
                ops.push(ConfigOp::Delete {
                    key: spec.name.to_owned(),
                });
            }
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use strom_protocol::messages::alter_configs::AlterableConfig;

    use super::*;

    #[track_caller]
    fn check(resource_type: i8, configs: &[(&str, Option<&str>)], expect: &str) {
        let requested = AlterConfigsResource {
            resource_type,
            resource_name: "name".to_owned(),
            configs: configs
                .iter()
                .map(|(name, value)| AlterableConfig {
                    name: (*name).to_owned(),
                    value: value.map(str::to_owned),
                    ..AlterableConfig::default()
                })
                .collect(),
            ..AlterConfigsResource::default()
        };
        let res = match replacement_ops(&requested) {
            Ok(ops) => ops
                .iter()
                .map(|op| match op {
                    ConfigOp::Set { key, value } => format!("set {key}={value}"),
                    ConfigOp::Delete { key } => format!("delete {key}"),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join("; "),
            Err((error_code, message)) => format!("{} {message}", error_code.name()),
        };
        assert_eq!(res, expect);
    }

    /// A topic's given keys are set and every other topic key deleted; a broker's are only set.
    #[test]
    fn replacement_sets_given_keys_and_deletes_the_rest() {
        let deletes: Vec<String> = TOPIC_KEYS
            .iter()
            .map(|(spec, _)| spec.name)
            .filter(|name| *name != "retention.ms")
            .map(|name| format!("delete {name}"))
            .collect();
        check(
            RESOURCE_TYPE_TOPIC,
            &[("retention.ms", Some("5"))],
            &format!("set retention.ms=5; {}", deletes.join("; ")),
        );
        check(4, &[("num.partitions", Some("3"))], "set num.partitions=3");
        check(4, &[], "");
    }

    #[test]
    fn replacement_refusals() {
        check(
            RESOURCE_TYPE_TOPIC,
            &[("retention.ms", None)],
            "INVALID_REQUEST null value not supported for config key retention.ms",
        );
        check(
            RESOURCE_TYPE_TOPIC,
            &[("retention.ms", Some("1")), ("retention.ms", Some("2"))],
            "INVALID_REQUEST config key retention.ms appears more than once",
        );
    }
}
