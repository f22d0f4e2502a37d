//! ApiVersions (18): the APIs and versions this broker serves. The answer to an unsupported
//! ApiVersions version is built by the dispatcher, which must not decode such a request.

use strom_protocol::api_versions_table;
use strom_protocol::messages::api_versions::{ApiVersionsRequest, ApiVersionsResponse};

use crate::dispatch::ADVERTISED;

/// Answers an ApiVersions request of a supported version.
pub fn handle(_request: &ApiVersionsRequest) -> ApiVersionsResponse {
    ApiVersionsResponse {
        api_keys: api_versions_table(ADVERTISED),
        ..ApiVersionsResponse::default()
    }
}
