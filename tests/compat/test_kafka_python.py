"""kafka-python 3 (pure Python; idempotent producer by default) against Strom."""

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def test_idempotent_producer_and_assigned_consumer(broker, topic_name):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    futures = [
        producer.send(
            topic_name,
            key=f"k{i}".encode(),
            value=f"v{i}".encode(),
            headers=[("n", str(i).encode())],
            timestamp_ms=1_700_000_000_000 + i,
        )
        for i in range(200)
    ]
    offsets = [f.get(timeout=30).offset for f in futures]
    producer.close()
    assert offsets == list(range(200))

    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    consumer.assign([TopicPartition(topic_name, 0)])
    consumer.seek_to_beginning()
    records = []
    for record in consumer:
        records.append(record)
        if len(records) == 200:
            break
    consumer.close()
    assert [r.offset for r in records] == list(range(200))
    assert [r.key for r in records] == [f"k{i}".encode() for i in range(200)]
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(200)]
    assert [r.timestamp for r in records] == [1_700_000_000_000 + i for i in range(200)]
    assert [r.headers for r in records] == [[("n", str(i).encode())] for i in range(200)]


def test_admin_create_list_delete(broker, topic_name):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic(topic_name, num_partitions=4, replication_factor=1)])
    assert topic_name in admin.list_topics()
    described = admin.describe_topics([topic_name])
    assert len(described[0]["partitions"]) == 4
    admin.delete_topics([topic_name])
    assert topic_name not in admin.list_topics()
    admin.close()
