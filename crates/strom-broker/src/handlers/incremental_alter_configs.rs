//! IncrementalAlterConfigs (44): SET, DELETE, APPEND and SUBTRACT on single config keys of a
//! topic, the rest of its overrides untouched. An unknown operation, or a null value for anything
//! but DELETE, is `INVALID_REQUEST`; APPEND or SUBTRACT on a key that is not a list is
//! `INVALID_CONFIG`, as in Kafka. The rest (resource checks, validation of the resulting set,
//! applying it live) is [`alter_configs::alter`](crate::handlers::alter_configs::alter).
//!
//! It does not alter broker configs: those are static in Strom.

use strom_metadata::ConfigOp;
use strom_protocol::ErrorCode;
use strom_protocol::messages::incremental_alter_configs::{
    AlterConfigsResource, AlterConfigsResourceResponse, AlterableConfig,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};

use crate::broker::Broker;
use crate::config::{Kind, TOPIC_KEYS};
use crate::handlers::alter_configs::{Change, alter, mode};
use crate::handlers::describe_configs::{RESOURCE_TYPE_TOPIC, Refusal};

/// Kafka's `AlterConfigOp.OpType` numbers.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// Answers an IncrementalAlterConfigs request.
pub fn handle(
    broker: &Broker,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let changes: Vec<Change> = request.resources.iter().map(change).collect();
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
    IncrementalAlterConfigsResponse {
        responses,
        ..IncrementalAlterConfigsResponse::default()
    }
}

fn change(requested: &AlterConfigsResource) -> Change {
    let ops = requested
        .configs
        .iter()
        .map(|config| op(requested.resource_type, config))
        .collect();
    Change {
        resource_type: requested.resource_type,
        resource_name: requested.resource_name.clone(),
        ops,
    }
}

/// One requested operation as the controller's [`ConfigOp`].
fn op(resource_type: i8, config: &AlterableConfig) -> Result<ConfigOp, Refusal> {
    let key = config.name.clone();
    let value = || {
        config.value.clone().ok_or_else(|| {
            (
                ErrorCode::InvalidRequest,
                format!("null value not supported for config key {key}"),
            )
        })
    };
    match config.config_operation {
        OP_SET => Ok(ConfigOp::Set {
            value: value()?,
            key,
        }),
        OP_DELETE => Ok(ConfigOp::Delete { key }),
        OP_APPEND | OP_SUBTRACT => {
            let value = value()?;
            let spec = TOPIC_KEYS.iter().find(|(spec, _)| spec.name == key);
            if resource_type == RESOURCE_TYPE_TOPIC
                && let Some((spec, _)) = spec
                && !matches!(spec.kind, Kind::ListOf(_))
            {
                let verb = if config.config_operation == OP_APPEND {
                    "append"
                } else {
                    "subtract"
                };
                return Err((
                    ErrorCode::InvalidConfig,
                    format!(
                        "config value {verb} is not allowed for config key {key}: it is not a list"
                    ),
                ));
            }
            if config.config_operation == OP_APPEND {
                Ok(ConfigOp::Append { key, value })
            } else {
                Ok(ConfigOp::Subtract { key, value })
            }
        }
        other => Err((
            ErrorCode::InvalidRequest,
            format!("unknown config operation {other} for config key {key}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(resource_type: i8, name: &str, operation: i8, value: Option<&str>, expect: &str) {
        let config = AlterableConfig {
            name: name.to_owned(),
            config_operation: operation,
            value: value.map(str::to_owned),
            ..AlterableConfig::default()
        };
        let res = match op(resource_type, &config) {
            Ok(op) => format!("{op:?}"),
            Err((error_code, message)) => format!("{} {message}", error_code.name()),
        };
        assert_eq!(res, expect);
    }

    #[test]
    fn operations_from_the_wire() {
        check(
            2,
            "retention.ms",
            OP_SET,
            Some("5"),
            r#"Set { key: "retention.ms", value: "5" }"#,
        );
        check(
            2,
            "retention.ms",
            OP_DELETE,
            None,
            r#"Delete { key: "retention.ms" }"#,
        );
        check(
            2,
            "retention.ms",
            OP_DELETE,
            Some("ignored"),
            r#"Delete { key: "retention.ms" }"#,
        );
        check(
            2,
            "cleanup.policy",
            OP_APPEND,
            Some("compact"),
            r#"Append { key: "cleanup.policy", value: "compact" }"#,
        );
        check(
            2,
            "cleanup.policy",
            OP_SUBTRACT,
            Some("delete"),
            r#"Subtract { key: "cleanup.policy", value: "delete" }"#,
        );
    }

    #[test]
    fn refused_operations() {
        check(
            2,
            "retention.ms",
            OP_SET,
            None,
            "INVALID_REQUEST null value not supported for config key retention.ms",
        );
        check(
            2,
            "cleanup.policy",
            OP_APPEND,
            None,
            "INVALID_REQUEST null value not supported for config key cleanup.policy",
        );
        check(
            2,
            "retention.ms",
            OP_APPEND,
            Some("1"),
            "INVALID_CONFIG config value append is not allowed for config key retention.ms: it is not a list",
        );
        check(
            2,
            "segment.ms",
            OP_SUBTRACT,
            Some("1"),
            "INVALID_CONFIG config value subtract is not allowed for config key segment.ms: it is not a list",
        );
        check(
            2,
            "retention.ms",
            4,
            Some("1"),
            "INVALID_REQUEST unknown config operation 4 for config key retention.ms",
        );
        check(
            2,
            "retention.ms",
            -1,
            None,
            "INVALID_REQUEST unknown config operation -1 for config key retention.ms",
        );
    }
}
