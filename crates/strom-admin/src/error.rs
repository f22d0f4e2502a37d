//! The one error type of the admin client. A wire error code becomes [`Error::Broker`], which
//! names the resource, the code and the broker's message. It does not retry anything.

use strom_protocol::{ApiKey, ErrorCode};

/// Errors of admin operations.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The broker refused the operation on one resource.
    #[error("{resource}: {}{}", code.name(), message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Broker {
        /// The topic, partition, group or config resource concerned.
        resource: String,
        /// The wire error code.
        code: ErrorCode,
        /// The broker's error message, when it sent one.
        message: Option<String>,
    },
    /// The broker answered with an error code that Kafka does not define.
    #[error("{resource}: unknown error code {code}")]
    UnknownErrorCode {
        /// The resource concerned.
        resource: String,
        /// The raw code.
        code: i16,
    },
    /// Offsets of a group can only be reset while it has no members, as Kafka's tool requires.
    #[error("group {group} is {state}: stop its consumers before resetting offsets")]
    GroupNotEmpty {
        /// The group.
        group: String,
        /// Its state (e.g. `Stable`).
        state: String,
    },
    /// The broker answered with a response of another API than the request.
    #[error("expected a {0:?} response")]
    UnexpectedResponse(ApiKey),
    /// The broker's answer did not mention a resource that was asked about.
    #[error("the broker's answer omits {0}")]
    MissingResult(String),
    /// An argument was invalid before anything was sent.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client core failed (connection, timeout, metadata).
    #[error(transparent)]
    Client(#[from] strom_client::Error),
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks the wire error `code` of `resource` (with the broker's `message`, if any).
pub(crate) fn check(resource: &str, code: i16, message: Option<&str>) -> Result<()> {
    match ErrorCode::try_from(code) {
        Ok(ErrorCode::None) => Ok(()),
        Ok(code) => Err(Error::Broker {
            resource: resource.to_owned(),
            code,
            message: message.filter(|m| !m.is_empty()).map(str::to_owned),
        }),
        Err(_) => Err(Error::UnknownErrorCode {
            resource: resource.to_owned(),
            code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_display(code: i16, message: Option<&str>, expect: &str) {
        let res = check("topic events", code, message);
        match res {
            Ok(()) => assert_eq!(expect, "ok"),
            Err(error) => assert_eq!(error.to_string(), expect),
        }
    }

    #[test]
    fn codes_name_resource_code_and_message() {
        check_display(0, None, "ok");
        check_display(36, None, "topic events: TOPIC_ALREADY_EXISTS");
        check_display(
            37,
            Some("count must be positive"),
            "topic events: INVALID_PARTITIONS (count must be positive)",
        );
        check_display(3, Some(""), "topic events: UNKNOWN_TOPIC_OR_PARTITION");
        check_display(-9999, None, "topic events: unknown error code -9999");
    }
}
