//! DeleteTopics (20): deletes topics by name (all versions) or id (v6+): their metadata, then
//! their partition logs on disk. `delete.topic.enable=false` refuses every deletion with
//! `TOPIC_DELETION_DISABLED`.

use strom_metadata::{TopicId, TopicRef};
use strom_protocol::messages::delete_topics::{
    DeletableTopicResult, DeleteTopicsRequest, DeleteTopicsResponse,
};
use strom_protocol::{ErrorCode, Uuid};

use crate::broker::Broker;
use crate::handlers::{broker_error_code, metadata_error_code};

/// Answers a DeleteTopics request.
pub fn handle(broker: &Broker, request: DeleteTopicsRequest, version: i16) -> DeleteTopicsResponse {
    let refs: Vec<TopicRef> = if version >= 6 {
        request
            .topics
            .into_iter()
            .map(|topic| match topic.name {
                Some(name) => TopicRef::Name(name),
                None => TopicRef::Id(TopicId(topic.topic_id.0)),
            })
            .collect()
    } else {
        request
            .topic_names
            .into_iter()
            .map(TopicRef::Name)
            .collect()
    };
    let failed = |topic: &TopicRef, error_code: ErrorCode, message: String| {
        let (name, topic_id) = match topic {
            TopicRef::Name(name) => (Some(name.clone()), Uuid::default()),
            TopicRef::Id(topic_id) => (None, Uuid(topic_id.0)),
        };
        DeletableTopicResult {
            name,
            topic_id,
            error_code: error_code.code(),
            error_message: Some(message),
            ..DeletableTopicResult::default()
        }
    };
    let responses = if !broker.config().delete_topic_enable {
        refs.iter()
            .map(|topic| {
                failed(
                    topic,
                    ErrorCode::TopicDeletionDisabled,
                    "delete.topic.enable is false".to_owned(),
                )
            })
            .collect()
    } else {
        match broker.delete_topics(&refs) {
            Ok(outcomes) => refs
                .iter()
                .zip(outcomes)
                .map(|(topic, outcome)| match outcome {
                    Ok(deleted) => DeletableTopicResult {
                        name: Some(deleted.name),
                        topic_id: Uuid(deleted.topic_id.0),
                        error_code: 0,
                        error_message: None,
                        ..DeletableTopicResult::default()
                    },
                    Err(error) => failed(topic, metadata_error_code(&error), error.to_string()),
                })
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "deleting topics failed");
                refs.iter()
                    .map(|topic| failed(topic, broker_error_code(&error), error.to_string()))
                    .collect()
            }
        }
    };
    DeleteTopicsResponse {
        responses,
        ..DeleteTopicsResponse::default()
    }
}
