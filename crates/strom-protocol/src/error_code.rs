//! Kafka's error codes: every code Kafka defines, with its number, its name as Kafka spells it,
//! and whether a client may retry the request that got it. Wire messages carry error codes as
//! plain `i16`; the broker converts with [`ErrorCode::code`] and `ErrorCode::try_from`.
//! This module does not decide which error a request deserves.

use crate::Error;

macro_rules! error_codes {
    ($(
        $(#[$meta:meta])*
        $variant:ident = $code:literal, $name:literal, $retriable:literal;
    )*) => {
        /// A Kafka error code.
        ///
        /// ```
        /// use strom_protocol::ErrorCode;
        /// let code = ErrorCode::try_from(6).unwrap();
        /// assert_eq!(code, ErrorCode::NotLeaderOrFollower);
        /// assert_eq!(code.name(), "NOT_LEADER_OR_FOLLOWER");
        /// assert!(code.is_retriable());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i16)]
        pub enum ErrorCode {
            $($(#[$meta])* $variant = $code,)*
        }

        impl ErrorCode {
            /// Every error code, in the order Kafka lists them.
            pub const fn all() -> &'static [ErrorCode] {
                &[$(ErrorCode::$variant),*]
            }

            /// The number on the wire.
            pub const fn code(self) -> i16 {
                self as i16
            }

            /// The name as Kafka spells it, e.g. `UNKNOWN_TOPIC_OR_PARTITION`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }

            /// Whether a client may retry a request that failed with this error.
            pub const fn is_retriable(self) -> bool {
                match self {
                    $(ErrorCode::$variant => $retriable,)*
                }
            }
        }

        impl TryFrom<i16> for ErrorCode {
            type Error = Error;

            fn try_from(code: i16) -> Result<ErrorCode, Error> {
                match code {
                    $($code => Ok(ErrorCode::$variant),)*
                    _ => Err(Error::UnknownErrorCode(code)),
                }
            }
        }
    };
}

error_codes! {
    /// No error.
    None = 0, "NONE", false;
    /// Kafka error -1.
    UnknownServerError = -1, "UNKNOWN_SERVER_ERROR", false;
    /// Kafka error 1.
    OffsetOutOfRange = 1, "OFFSET_OUT_OF_RANGE", false;
    /// Kafka error 2.
    CorruptMessage = 2, "CORRUPT_MESSAGE", true;
    /// Kafka error 3.
    UnknownTopicOrPartition = 3, "UNKNOWN_TOPIC_OR_PARTITION", true;
    /// Kafka error 4.
    InvalidFetchSize = 4, "INVALID_FETCH_SIZE", false;
    /// Kafka error 5.
    LeaderNotAvailable = 5, "LEADER_NOT_AVAILABLE", true;
    /// Kafka error 6.
    NotLeaderOrFollower = 6, "NOT_LEADER_OR_FOLLOWER", true;
    /// Kafka error 7.
    RequestTimedOut = 7, "REQUEST_TIMED_OUT", true;
    /// Kafka error 8.
    BrokerNotAvailable = 8, "BROKER_NOT_AVAILABLE", false;
    /// Kafka error 9.
    ReplicaNotAvailable = 9, "REPLICA_NOT_AVAILABLE", true;
    /// Kafka error 10.
    MessageTooLarge = 10, "MESSAGE_TOO_LARGE", false;
    /// Kafka error 11.
    StaleControllerEpoch = 11, "STALE_CONTROLLER_EPOCH", false;
    /// Kafka error 12.
    OffsetMetadataTooLarge = 12, "OFFSET_METADATA_TOO_LARGE", false;
    /// Kafka error 13.
    NetworkException = 13, "NETWORK_EXCEPTION", true;
    /// Kafka error 14.
    CoordinatorLoadInProgress = 14, "COORDINATOR_LOAD_IN_PROGRESS", true;
    /// Kafka error 15.
    CoordinatorNotAvailable = 15, "COORDINATOR_NOT_AVAILABLE", true;
    /// Kafka error 16.
    NotCoordinator = 16, "NOT_COORDINATOR", true;
    /// Kafka error 17.
    InvalidTopicException = 17, "INVALID_TOPIC_EXCEPTION", false;
    /// Kafka error 18.
    RecordListTooLarge = 18, "RECORD_LIST_TOO_LARGE", false;
    /// Kafka error 19.
    NotEnoughReplicas = 19, "NOT_ENOUGH_REPLICAS", true;
    /// Kafka error 20.
    NotEnoughReplicasAfterAppend = 20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true;
    /// Kafka error 21.
    InvalidRequiredAcks = 21, "INVALID_REQUIRED_ACKS", false;
    /// Kafka error 22.
    IllegalGeneration = 22, "ILLEGAL_GENERATION", false;
    /// Kafka error 23.
    InconsistentGroupProtocol = 23, "INCONSISTENT_GROUP_PROTOCOL", false;
    /// Kafka error 24.
    InvalidGroupId = 24, "INVALID_GROUP_ID", false;
    /// Kafka error 25.
    UnknownMemberId = 25, "UNKNOWN_MEMBER_ID", false;
    /// Kafka error 26.
    InvalidSessionTimeout = 26, "INVALID_SESSION_TIMEOUT", false;
    /// Kafka error 27.
    RebalanceInProgress = 27, "REBALANCE_IN_PROGRESS", false;
    /// Kafka error 28.
    InvalidCommitOffsetSize = 28, "INVALID_COMMIT_OFFSET_SIZE", false;
    /// Kafka error 29.
    TopicAuthorizationFailed = 29, "TOPIC_AUTHORIZATION_FAILED", false;
    /// Kafka error 30.
    GroupAuthorizationFailed = 30, "GROUP_AUTHORIZATION_FAILED", false;
    /// Kafka error 31.
    ClusterAuthorizationFailed = 31, "CLUSTER_AUTHORIZATION_FAILED", false;
    /// Kafka error 32.
    InvalidTimestamp = 32, "INVALID_TIMESTAMP", false;
    /// Kafka error 33.
    UnsupportedSaslMechanism = 33, "UNSUPPORTED_SASL_MECHANISM", false;
    /// Kafka error 34.
    IllegalSaslState = 34, "ILLEGAL_SASL_STATE", false;
    /// Kafka error 35.
    UnsupportedVersion = 35, "UNSUPPORTED_VERSION", false;
    /// Kafka error 36.
    TopicAlreadyExists = 36, "TOPIC_ALREADY_EXISTS", false;
    /// Kafka error 37.
    InvalidPartitions = 37, "INVALID_PARTITIONS", false;
    /// Kafka error 38.
    InvalidReplicationFactor = 38, "INVALID_REPLICATION_FACTOR", false;
    /// Kafka error 39.
    InvalidReplicaAssignment = 39, "INVALID_REPLICA_ASSIGNMENT", false;
    /// Kafka error 40.
    InvalidConfig = 40, "INVALID_CONFIG", false;
    /// Kafka error 41.
    NotController = 41, "NOT_CONTROLLER", true;
    /// Kafka error 42.
    InvalidRequest = 42, "INVALID_REQUEST", false;
    /// Kafka error 43.
    UnsupportedForMessageFormat = 43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false;
    /// Kafka error 44.
    PolicyViolation = 44, "POLICY_VIOLATION", false;
    /// Kafka error 45.
    OutOfOrderSequenceNumber = 45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false;
    /// Kafka error 46.
    DuplicateSequenceNumber = 46, "DUPLICATE_SEQUENCE_NUMBER", false;
    /// Kafka error 47.
    InvalidProducerEpoch = 47, "INVALID_PRODUCER_EPOCH", false;
    /// Kafka error 48.
    InvalidTxnState = 48, "INVALID_TXN_STATE", false;
    /// Kafka error 49.
    InvalidProducerIdMapping = 49, "INVALID_PRODUCER_ID_MAPPING", false;
    /// Kafka error 50.
    InvalidTransactionTimeout = 50, "INVALID_TRANSACTION_TIMEOUT", false;
    /// Kafka error 51.
    ConcurrentTransactions = 51, "CONCURRENT_TRANSACTIONS", false;
    /// Kafka error 52.
    TransactionCoordinatorFenced = 52, "TRANSACTION_COORDINATOR_FENCED", false;
    /// Kafka error 53.
    TransactionalIdAuthorizationFailed = 53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false;
    /// Kafka error 54.
    SecurityDisabled = 54, "SECURITY_DISABLED", false;
    /// Kafka error 55.
    OperationNotAttempted = 55, "OPERATION_NOT_ATTEMPTED", false;
    /// Kafka error 56.
    KafkaStorageError = 56, "KAFKA_STORAGE_ERROR", true;
    /// Kafka error 57.
    LogDirNotFound = 57, "LOG_DIR_NOT_FOUND", false;
    /// Kafka error 58.
    SaslAuthenticationFailed = 58, "SASL_AUTHENTICATION_FAILED", false;
    /// Kafka error 59.
    UnknownProducerId = 59, "UNKNOWN_PRODUCER_ID", false;
    /// Kafka error 60.
    ReassignmentInProgress = 60, "REASSIGNMENT_IN_PROGRESS", false;
    /// Kafka error 61.
    DelegationTokenAuthDisabled = 61, "DELEGATION_TOKEN_AUTH_DISABLED", false;
    /// Kafka error 62.
    DelegationTokenNotFound = 62, "DELEGATION_TOKEN_NOT_FOUND", false;
    /// Kafka error 63.
    DelegationTokenOwnerMismatch = 63, "DELEGATION_TOKEN_OWNER_MISMATCH", false;
    /// Kafka error 64.
    DelegationTokenRequestNotAllowed = 64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false;
    /// Kafka error 65.
    DelegationTokenAuthorizationFailed = 65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false;
    /// Kafka error 66.
    DelegationTokenExpired = 66, "DELEGATION_TOKEN_EXPIRED", false;
    /// Kafka error 67.
    InvalidPrincipalType = 67, "INVALID_PRINCIPAL_TYPE", false;
    /// Kafka error 68.
    NonEmptyGroup = 68, "NON_EMPTY_GROUP", false;
    /// Kafka error 69.
    GroupIdNotFound = 69, "GROUP_ID_NOT_FOUND", false;
    /// Kafka error 70.
    FetchSessionIdNotFound = 70, "FETCH_SESSION_ID_NOT_FOUND", true;
    /// Kafka error 71.
    InvalidFetchSessionEpoch = 71, "INVALID_FETCH_SESSION_EPOCH", true;
    /// Kafka error 72.
    ListenerNotFound = 72, "LISTENER_NOT_FOUND", true;
    /// Kafka error 73.
    TopicDeletionDisabled = 73, "TOPIC_DELETION_DISABLED", false;
    /// Kafka error 74.
    FencedLeaderEpoch = 74, "FENCED_LEADER_EPOCH", true;
    /// Kafka error 75.
    UnknownLeaderEpoch = 75, "UNKNOWN_LEADER_EPOCH", true;
    /// Kafka error 76.
    UnsupportedCompressionType = 76, "UNSUPPORTED_COMPRESSION_TYPE", false;
    /// Kafka error 77.
    StaleBrokerEpoch = 77, "STALE_BROKER_EPOCH", false;
    /// Kafka error 78.
    OffsetNotAvailable = 78, "OFFSET_NOT_AVAILABLE", true;
    /// Kafka error 79.
    MemberIdRequired = 79, "MEMBER_ID_REQUIRED", false;
    /// Kafka error 80.
    PreferredLeaderNotAvailable = 80, "PREFERRED_LEADER_NOT_AVAILABLE", true;
    /// Kafka error 81.
    GroupMaxSizeReached = 81, "GROUP_MAX_SIZE_REACHED", false;
    /// Kafka error 82.
    FencedInstanceId = 82, "FENCED_INSTANCE_ID", false;
    /// Kafka error 83.
    EligibleLeadersNotAvailable = 83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true;
    /// Kafka error 84.
    ElectionNotNeeded = 84, "ELECTION_NOT_NEEDED", true;
    /// Kafka error 85.
    NoReassignmentInProgress = 85, "NO_REASSIGNMENT_IN_PROGRESS", false;
    /// Kafka error 86.
    GroupSubscribedToTopic = 86, "GROUP_SUBSCRIBED_TO_TOPIC", false;
    /// Kafka error 87.
    InvalidRecord = 87, "INVALID_RECORD", false;
    /// Kafka error 88.
    UnstableOffsetCommit = 88, "UNSTABLE_OFFSET_COMMIT", true;
    /// Kafka error 89.
    ThrottlingQuotaExceeded = 89, "THROTTLING_QUOTA_EXCEEDED", true;
    /// Kafka error 90.
    ProducerFenced = 90, "PRODUCER_FENCED", false;
    /// Kafka error 91.
    ResourceNotFound = 91, "RESOURCE_NOT_FOUND", false;
    /// Kafka error 92.
    DuplicateResource = 92, "DUPLICATE_RESOURCE", false;
    /// Kafka error 93.
    UnacceptableCredential = 93, "UNACCEPTABLE_CREDENTIAL", false;
    /// Kafka error 94.
    InconsistentVoterSet = 94, "INCONSISTENT_VOTER_SET", false;
    /// Kafka error 95.
    InvalidUpdateVersion = 95, "INVALID_UPDATE_VERSION", false;
    /// Kafka error 96.
    FeatureUpdateFailed = 96, "FEATURE_UPDATE_FAILED", false;
    /// Kafka error 97.
    PrincipalDeserializationFailure = 97, "PRINCIPAL_DESERIALIZATION_FAILURE", false;
    /// Kafka error 98.
    SnapshotNotFound = 98, "SNAPSHOT_NOT_FOUND", false;
    /// Kafka error 99.
    PositionOutOfRange = 99, "POSITION_OUT_OF_RANGE", false;
    /// Kafka error 100.
    UnknownTopicId = 100, "UNKNOWN_TOPIC_ID", true;
    /// Kafka error 101.
    DuplicateBrokerRegistration = 101, "DUPLICATE_BROKER_REGISTRATION", false;
    /// Kafka error 102.
    BrokerIdNotRegistered = 102, "BROKER_ID_NOT_REGISTERED", false;
    /// Kafka error 103.
    InconsistentTopicId = 103, "INCONSISTENT_TOPIC_ID", true;
    /// Kafka error 104.
    InconsistentClusterId = 104, "INCONSISTENT_CLUSTER_ID", false;
    /// Kafka error 105.
    TransactionalIdNotFound = 105, "TRANSACTIONAL_ID_NOT_FOUND", false;
    /// Kafka error 106.
    FetchSessionTopicIdError = 106, "FETCH_SESSION_TOPIC_ID_ERROR", true;
    /// Kafka error 107.
    IneligibleReplica = 107, "INELIGIBLE_REPLICA", false;
    /// Kafka error 108.
    NewLeaderElected = 108, "NEW_LEADER_ELECTED", false;
    /// Kafka error 109.
    OffsetMovedToTieredStorage = 109, "OFFSET_MOVED_TO_TIERED_STORAGE", false;
    /// Kafka error 110.
    FencedMemberEpoch = 110, "FENCED_MEMBER_EPOCH", false;
    /// Kafka error 111.
    UnreleasedInstanceId = 111, "UNRELEASED_INSTANCE_ID", false;
    /// Kafka error 112.
    UnsupportedAssignor = 112, "UNSUPPORTED_ASSIGNOR", false;
    /// Kafka error 113.
    StaleMemberEpoch = 113, "STALE_MEMBER_EPOCH", false;
    /// Kafka error 114.
    MismatchedEndpointType = 114, "MISMATCHED_ENDPOINT_TYPE", false;
    /// Kafka error 115.
    UnsupportedEndpointType = 115, "UNSUPPORTED_ENDPOINT_TYPE", false;
    /// Kafka error 116.
    UnknownControllerId = 116, "UNKNOWN_CONTROLLER_ID", false;
    /// Kafka error 117.
    UnknownSubscriptionId = 117, "UNKNOWN_SUBSCRIPTION_ID", false;
    /// Kafka error 118.
    TelemetryTooLarge = 118, "TELEMETRY_TOO_LARGE", false;
    /// Kafka error 119.
    InvalidRegistration = 119, "INVALID_REGISTRATION", false;
    /// Kafka error 120.
    TransactionAbortable = 120, "TRANSACTION_ABORTABLE", false;
    /// Kafka error 121.
    InvalidRecordState = 121, "INVALID_RECORD_STATE", false;
    /// Kafka error 122.
    ShareSessionNotFound = 122, "SHARE_SESSION_NOT_FOUND", true;
    /// Kafka error 123.
    InvalidShareSessionEpoch = 123, "INVALID_SHARE_SESSION_EPOCH", true;
    /// Kafka error 124.
    FencedStateEpoch = 124, "FENCED_STATE_EPOCH", false;
    /// Kafka error 125.
    InvalidVoterKey = 125, "INVALID_VOTER_KEY", false;
    /// Kafka error 126.
    DuplicateVoter = 126, "DUPLICATE_VOTER", false;
    /// Kafka error 127.
    VoterNotFound = 127, "VOTER_NOT_FOUND", false;
    /// Kafka error 128.
    InvalidRegularExpression = 128, "INVALID_REGULAR_EXPRESSION", false;
    /// Kafka error 129.
    RebootstrapRequired = 129, "REBOOTSTRAP_REQUIRED", false;
    /// Kafka error 130.
    StreamsInvalidTopology = 130, "STREAMS_INVALID_TOPOLOGY", false;
    /// Kafka error 131.
    StreamsInvalidTopologyEpoch = 131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false;
    /// Kafka error 132.
    StreamsTopologyFenced = 132, "STREAMS_TOPOLOGY_FENCED", false;
    /// Kafka error 133.
    ShareSessionLimitReached = 133, "SHARE_SESSION_LIMIT_REACHED", true;

}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::all() {
            assert!(seen.insert(code.code()), "duplicate {code}");
            assert_eq!(ErrorCode::try_from(code.code()).unwrap(), *code);
        }
        assert!(seen.contains(&-1) && seen.contains(&0) && seen.contains(&128));
        assert!(matches!(
            ErrorCode::try_from(10_000),
            Err(Error::UnknownErrorCode(10_000))
        ));
    }

    #[test]
    fn names_and_retriable_flags_match_kafka() {
        assert_eq!(ErrorCode::UnsupportedVersion.code(), 35);
        assert_eq!(ErrorCode::UnsupportedVersion.name(), "UNSUPPORTED_VERSION");
        assert!(!ErrorCode::UnsupportedVersion.is_retriable());
        assert!(ErrorCode::LeaderNotAvailable.is_retriable());
        assert!(!ErrorCode::TopicAlreadyExists.is_retriable());
        assert_eq!(ErrorCode::None.to_string(), "NONE (0)");
    }
}
