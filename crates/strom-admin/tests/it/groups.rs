//! Groups: committed offsets, lag, resets (and their refusal for a live group), listing,
//! describing and deleting.

use strom_admin::{Error, NewTopic, Offset, ResetSpec, Timestamp, TopicPartition};
use strom_protocol::ErrorCode;

use crate::fixture::{TestBroker, join_in_background, produce};

fn lag_of(lag: &[strom_admin::PartitionLag]) -> Vec<(i32, u64, u64, u64)> {
    lag.iter()
        .map(|p| {
            (
                p.topic_partition.partition,
                p.committed.0,
                p.log_end_offset.0,
                p.lag,
            )
        })
        .collect()
}

#[tokio::test]
async fn lag_and_every_kind_of_reset() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("orders", 2)])
        .await
        .unwrap();
    produce(&broker.addr(), "orders", 0, 10).await;
    produce(&broker.addr(), "orders", 1, 5).await;
    let p0 = TopicPartition::new("orders", 0);
    let p1 = TopicPartition::new("orders", 1);
    let both = [p0.clone(), p1.clone()];

    admin
        .commit_group_offsets(
            "billing",
            &[(p0.clone(), Offset(7)), (p1.clone(), Offset(5))],
        )
        .await
        .unwrap();
    assert_eq!(
        admin.group_offsets("billing").await.unwrap(),
        vec![(p0.clone(), Offset(7)), (p1.clone(), Offset(5))]
    );
    let lag = admin.group_lag("billing").await.unwrap();
    assert_eq!(lag_of(&lag), vec![(0, 7, 10, 3), (1, 5, 5, 0)]);

    let listed = admin.list_groups().await.unwrap();
    assert!(listed.iter().any(|g| g.group == "billing"), "{listed:?}");
    let description = admin.describe_group("billing").await.unwrap();
    assert_eq!(description.state, "Empty");
    assert!(description.members.is_empty());

    let reset = |spec| {
        let admin = admin.clone();
        let both = both.clone();
        async move {
            admin
                .reset_group_offsets("billing", &both, spec)
                .await
                .unwrap();
            lag_of(&admin.group_lag("billing").await.unwrap())
        }
    };
    assert_eq!(
        reset(ResetSpec::Earliest).await,
        vec![(0, 0, 10, 10), (1, 0, 5, 5)]
    );
    assert_eq!(
        reset(ResetSpec::Latest).await,
        vec![(0, 10, 10, 0), (1, 5, 5, 0)]
    );
    // Offsets are clamped to the log: 8 stays on partition 0, becomes 5 on partition 1.
    assert_eq!(
        reset(ResetSpec::Offset(Offset(8))).await,
        vec![(0, 8, 10, 2), (1, 5, 5, 0)]
    );
    // Timestamp 3000 is record 2; partition 1 has it too.
    assert_eq!(
        reset(ResetSpec::Timestamp(Timestamp(3000))).await,
        vec![(0, 2, 10, 8), (1, 2, 5, 3)]
    );
    // Past every record: the log end.
    assert_eq!(
        reset(ResetSpec::Timestamp(Timestamp(1_000_000))).await,
        vec![(0, 10, 10, 0), (1, 5, 5, 0)]
    );
    // A dry run plans without committing.
    let plan = admin
        .plan_group_offsets_reset(&both, ResetSpec::Earliest)
        .await
        .unwrap();
    assert_eq!(plan, vec![(p0.clone(), Offset(0)), (p1.clone(), Offset(0))]);
    assert_eq!(lag_of(&admin.group_lag("billing").await.unwrap())[0].1, 10);

    admin.delete_group("billing").await.unwrap();
    assert_eq!(admin.group_offsets("billing").await.unwrap(), vec![]);
    let listed = admin.list_groups().await.unwrap();
    assert!(!listed.iter().any(|g| g.group == "billing"), "{listed:?}");
    admin.close().await;
}

#[tokio::test]
async fn a_group_with_members_is_neither_reset_nor_deleted() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    admin
        .create_topics(&[NewTopic::new("live", 1)])
        .await
        .unwrap();
    let member = join_in_background(&broker.addr(), &admin, "busy").await;
    let description = admin.describe_group("busy").await.unwrap();
    assert_ne!(description.state, "Empty");
    assert_eq!(description.members.len(), 1);
    assert_eq!(
        description.members[0].instance_id.as_deref(),
        Some("static-member")
    );

    let res = admin
        .reset_group_offsets(
            "busy",
            &[TopicPartition::new("live", 0)],
            ResetSpec::Earliest,
        )
        .await;
    match &res {
        Err(Error::GroupNotEmpty { group, state }) => {
            assert_eq!(group, "busy");
            assert_eq!(state, &description.state);
        }
        other => panic!("expected GroupNotEmpty, got {other:?}"),
    }
    assert!(res.unwrap_err().to_string().contains("stop its consumers"));

    let res = admin.delete_group("busy").await;
    assert!(
        matches!(
            &res,
            Err(Error::Broker {
                code: ErrorCode::NonEmptyGroup,
                ..
            })
        ),
        "{res:?}"
    );
    member.close().await;
    admin.close().await;
}

#[tokio::test]
async fn an_unknown_group_is_dead_and_empty() {
    let broker = TestBroker::start().await;
    let admin = broker.admin().await;
    let description = admin.describe_group("nobody").await.unwrap();
    assert_eq!(description.state, "Dead");
    assert_eq!(admin.group_offsets("nobody").await.unwrap(), vec![]);
    assert_eq!(admin.group_lag("nobody").await.unwrap(), vec![]);
    admin.close().await;
}
