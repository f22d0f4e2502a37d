"""confluent-kafka (bundled librdkafka 2.16) against Strom: producer (plain and idempotent, every
codec), consumer with manual assignment, and AdminClient."""

import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic


def produce(bootstrap: str, topic: str, count: int, **config) -> list:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **config})
    delivered = []

    def on_delivery(err, msg):
        assert err is None, err
        delivered.append((msg.partition(), msg.offset(), msg.key()))

    base_ts = 1_700_000_000_000
    for i in range(count):
        producer.produce(
            topic,
            key=f"k{i}".encode(),
            value=f"value-{i}".encode(),
            headers=[("h", f"hv{i}".encode()), ("empty", b"")],
            timestamp=base_ts + i,
            on_delivery=on_delivery,
        )
        producer.poll(0)
    assert producer.flush(60) == 0
    return delivered


def consume_all(bootstrap: str, topic: str, partition: int, expected: int, start: int = 0) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "compat-unused",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    consumer.assign([TopicPartition(topic, partition, start)])
    out = []
    deadline = time.monotonic() + 60
    while len(out) < expected and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        out.append(msg)
    consumer.close()
    return out


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("idempotent", [False, True])
def test_produce_consume_round_trip(shared_broker, topic_name, codec, idempotent):
    delivered = produce(
        shared_broker.bootstrap, topic_name, 300,
        **{"compression.type": codec, "enable.idempotence": idempotent, "acks": "all"},
    )
    assert sorted(offset for _, offset, _ in delivered) == list(range(300))
    messages = consume_all(shared_broker.bootstrap, topic_name, 0, 300)
    assert [m.offset() for m in messages] == list(range(300))
    assert [m.key() for m in messages] == [f"k{i}".encode() for i in range(300)]
    assert [m.value() for m in messages] == [f"value-{i}".encode() for i in range(300)]
    assert [m.timestamp()[1] for m in messages] == [1_700_000_000_000 + i for i in range(300)]
    assert all(m.headers() == [("h", f"hv{i}".encode()), ("empty", b"")] for i, m in enumerate(messages))


def test_consume_from_the_middle_of_a_batch(shared_broker, topic_name):
    # One batch of 100; starting at 42 must still begin exactly at 42.
    produce(shared_broker.bootstrap, topic_name, 100, **{"linger.ms": 200})
    messages = consume_all(shared_broker.bootstrap, topic_name, 0, 58, start=42)
    assert [m.offset() for m in messages] == list(range(42, 100))


def test_watermarks_and_offsets_for_times(shared_broker, topic_name):
    produce(shared_broker.bootstrap, topic_name, 10)
    consumer = Consumer({"bootstrap.servers": shared_broker.bootstrap, "group.id": "compat-unused"})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic_name, 0), timeout=10)
    assert (low, high) == (0, 10)
    found = consumer.offsets_for_times([TopicPartition(topic_name, 0, 1_700_000_000_000 + 7)], timeout=10)
    assert found[0].offset == 7
    past_end = consumer.offsets_for_times([TopicPartition(topic_name, 0, 1_800_000_000_000)], timeout=10)
    assert past_end[0].offset == -1
    consumer.close()


def test_admin_create_describe_alter_partitions_delete(shared_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic_name, num_partitions=3, replication_factor=1, config={"retention.ms": "3600000"})]
    )
    futures[topic_name].result(30)

    # Creating it again fails with TOPIC_ALREADY_EXISTS.
    again = admin.create_topics([NewTopic(topic_name, num_partitions=3, replication_factor=1)])
    with pytest.raises(KafkaException) as err:
        again[topic_name].result(30)
    assert "TOPIC_ALREADY_EXISTS" in str(err.value)

    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[topic_name].partitions) == 3

    resource = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].is_default

    admin.create_partitions([NewPartitions(topic_name, 5)])[topic_name].result(30)
    deadline = time.monotonic() + 10
    while len(admin.list_topics(topic_name, timeout=10).topics[topic_name].partitions) != 5:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    admin.delete_topics([topic_name])[topic_name].result(30)
    deadline = time.monotonic() + 10
    while topic_name in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_admin_validate_only_creates_nothing(shared_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)], validate_only=True)[topic_name].result(30)
    assert topic_name not in admin.list_topics(timeout=10).topics


def test_record_too_large_is_rejected(shared_broker, topic_name):
    admin = AdminClient({"bootstrap.servers": shared_broker.bootstrap})
    admin.create_topics(
        [NewTopic(topic_name, 1, 1, config={"max.message.bytes": "2000"})]
    )[topic_name].result(30)
    producer = Producer({"bootstrap.servers": shared_broker.bootstrap, "linger.ms": 0})
    errors = []
    producer.produce(topic_name, value=b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(30)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].name() == "MSG_SIZE_TOO_LARGE"
