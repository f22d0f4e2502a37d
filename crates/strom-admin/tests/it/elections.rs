//! Leader elections through the admin client against one broker, where every partition's only
//! replica leads already: named partitions answer `ELECTION_NOT_NEEDED` (typed), unknown ones
//! `UNKNOWN_TOPIC_OR_PARTITION`, and "every partition" lists none.

use strom_admin::{ElectionType, Error, NewTopic, TopicPartition};
use strom_protocol::ErrorCode;

use crate::fixture::TestBroker;

#[tokio::test]
async fn elections_on_one_broker_are_not_needed() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin.create_topics(&[NewTopic::new("e", 2)]).await.unwrap();
    let named = [
        TopicPartition::new("e", 1),
        TopicPartition::new("e", 0),
        TopicPartition::new("e", 1),
        TopicPartition::new("missing", 0),
    ];
    for election in [ElectionType::Preferred, ElectionType::Unclean] {
        let res = admin.elect_leaders(election, Some(&named)).await.unwrap();
        let summary: Vec<(String, i32, bool)> = res
            .iter()
            .map(|result| {
                (
                    result.topic_partition.topic.clone(),
                    result.topic_partition.partition,
                    result.not_needed(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("e".to_owned(), 0, true),
                ("e".to_owned(), 1, true),
                ("missing".to_owned(), 0, false),
            ]
        );
        assert!(matches!(
            res[2].res,
            Err(Error::Broker {
                code: ErrorCode::UnknownTopicOrPartition,
                ..
            })
        ));
        let all = admin.elect_leaders(election, None).await.unwrap();
        assert!(all.is_empty(), "{all:?}");
    }
}
