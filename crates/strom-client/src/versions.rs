//! Version negotiation: from a broker's ApiVersions table, the version of each API to use (the
//! highest version both sides support), and the version to retry ApiVersions with when the
//! broker rejected ours. It does no I/O; [`crate::Connection`] sends the requests.

use std::collections::HashMap;

use strom_protocol::messages::api_versions::{ApiVersion, ApiVersionsResponse};
use strom_protocol::{ApiKey, ErrorCode, VersionRange};

use crate::{Error, Result};

/// The versions a broker advertised, for the APIs this client speaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersions {
    broker: HashMap<ApiKey, VersionRange>,
}

impl ApiVersions {
    /// The table of a successful ApiVersions response. Entries for APIs this client does not
    /// know are ignored.
    pub fn from_table(table: &[ApiVersion]) -> ApiVersions {
        let broker = table
            .iter()
            .filter_map(|entry| {
                let api_key = ApiKey::try_from(entry.api_key).ok()?;
                Some((
                    api_key,
                    VersionRange {
                        min: entry.min_version,
                        max: entry.max_version,
                    },
                ))
            })
            .collect();
        ApiVersions { broker }
    }

    /// The highest version of `api_key` that both this client and the broker support.
    ///
    /// ```
    /// use strom_client::ApiVersions;
    /// use strom_protocol::ApiKey;
    /// use strom_protocol::messages::api_versions::ApiVersion;
    ///
    /// let table = [ApiVersion { api_key: 3, min_version: 0, max_version: 7, ..Default::default() }];
    /// let versions = ApiVersions::from_table(&table);
    /// assert_eq!(versions.version_for(ApiKey::Metadata).unwrap(), 7);
    /// assert!(versions.version_for(ApiKey::Produce).is_err());
    /// ```
    pub fn version_for(&self, api_key: ApiKey) -> Result<i16> {
        let Some(broker) = self.broker.get(&api_key) else {
            return Err(Error::UnsupportedApi(api_key));
        };
        let ours = api_key.supported_versions();
        let max = broker.max.min(ours.max);
        let min = broker.min.max(ours.min);
        if min > max {
            return Err(Error::UnsupportedApi(api_key));
        }
        Ok(max)
    }
}

/// What to do with an ApiVersions response to a request sent at `sent_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiVersionsOutcome {
    /// The broker accepted the request: use this table.
    Accepted(ApiVersions),
    /// The broker did not support `sent_version` and answered with its own table (encoded as
    /// v0): retry at this version, as librdkafka and the Java client do.
    Retry(i16),
}

/// Interprets an ApiVersions response. On UNSUPPORTED_VERSION the broker's table says which
/// ApiVersions versions it accepts: retry with the highest one we also speak (v0 if the table
/// names none, since every broker answers v0). Any other error code is an error.
pub fn api_versions_outcome(
    response: &ApiVersionsResponse,
    sent_version: i16,
) -> Result<ApiVersionsOutcome> {
    match ErrorCode::try_from(response.error_code) {
        Ok(ErrorCode::None) => Ok(ApiVersionsOutcome::Accepted(ApiVersions::from_table(
            &response.api_keys,
        ))),
        Ok(ErrorCode::UnsupportedVersion) => {
            let ours = ApiKey::ApiVersions.supported_versions();
            let retry = response
                .api_keys
                .iter()
                .find(|entry| entry.api_key == ApiKey::ApiVersions.code())
                .map_or(0, |entry| entry.max_version.min(ours.max));
            if retry >= sent_version || retry < ours.min {
                // The broker rejected a version its own table allows, or allows none of ours:
                // retrying would loop.
                return Err(Error::UnsupportedApi(ApiKey::ApiVersions));
            }
            Ok(ApiVersionsOutcome::Retry(retry))
        }
        Ok(code) => Err(Error::Broker(code)),
        Err(_) => Err(Error::UnknownErrorCode(response.error_code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(api_key: ApiKey, min_version: i16, max_version: i16) -> ApiVersion {
        ApiVersion {
            api_key: api_key.code(),
            min_version,
            max_version,
            ..ApiVersion::default()
        }
    }

    #[track_caller]
    fn check(table: &[ApiVersion], api_key: ApiKey, expect: Option<i16>) {
        let versions = ApiVersions::from_table(table);
        assert_eq!(versions.version_for(api_key).ok(), expect, "{api_key:?}");
    }

    #[test]
    fn picks_highest_common_version() {
        let table = [
            entry(ApiKey::Produce, 0, 13),
            entry(ApiKey::Fetch, 0, 8),
            entry(ApiKey::Metadata, 0, 3),
            entry(ApiKey::ListOffsets, 10, 11),
            ApiVersion {
                api_key: 999,
                ..ApiVersion::default()
            },
        ];
        // Newer broker: capped at what we speak.
        check(&table, ApiKey::Produce, Some(12));
        // Older broker: its maximum.
        check(&table, ApiKey::Fetch, Some(8));
        check(&table, ApiKey::Metadata, Some(3));
        // No overlap, and missing entirely.
        check(&table, ApiKey::ListOffsets, None);
        check(&table, ApiKey::InitProducerId, None);
    }

    #[test]
    fn unsupported_version_retries_at_the_broker_maximum() {
        let mut response = ApiVersionsResponse {
            error_code: ErrorCode::UnsupportedVersion.code(),
            api_keys: vec![entry(ApiKey::ApiVersions, 0, 2)],
            ..ApiVersionsResponse::default()
        };
        assert_eq!(
            api_versions_outcome(&response, 4).unwrap(),
            ApiVersionsOutcome::Retry(2)
        );
        // No entry for ApiVersions: v0, which every broker answers.
        response.api_keys.clear();
        assert_eq!(
            api_versions_outcome(&response, 4).unwrap(),
            ApiVersionsOutcome::Retry(0)
        );
        // Rejected at v0 already: give up rather than loop.
        assert!(api_versions_outcome(&response, 0).is_err());
        response.error_code = 0;
        response.api_keys = vec![entry(ApiKey::Metadata, 0, 5)];
        let ApiVersionsOutcome::Accepted(versions) = api_versions_outcome(&response, 4).unwrap()
        else {
            panic!("expected accepted");
        };
        assert_eq!(versions.version_for(ApiKey::Metadata).unwrap(), 5);
    }
}
