"""Durability across restarts: a clean restart keeps every topic and record, and after kill -9
mid-produce every acknowledged acks=all record is still there with the same offset."""

import signal
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def read_partition(bootstrap: str, topic: str, partition: int, count: int) -> dict[int, bytes]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "compat-unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, partition, 0)])
    out: dict[int, bytes] = {}
    deadline = time.monotonic() + 60
    while len(out) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            out[msg.offset()] = msg.value()
    consumer.close()
    return out


def test_clean_restart_keeps_topics_and_records(broker, topic_name):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 3, 1, config={"cleanup.policy": "compact"})])[topic_name].result(30)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for i in range(300):
        producer.produce(topic_name, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 3)
    assert producer.flush(30) == 0

    broker.restart()

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.topics[topic_name].partitions) == 3
    for p in range(3):
        got = read_partition(broker.bootstrap, topic_name, p, 100)
        assert sorted(got) == list(range(100))
        assert sorted(got.values()) == sorted(f"v{i}".encode() for i in range(p, 300, 3))


def test_kill_minus_nine_keeps_every_acknowledged_record(broker, topic_name):
    acked: dict[int, bytes] = {}
    stop = threading.Event()

    def run_producer():
        producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap,
                "acks": "all",
                "linger.ms": 2,
                "message.timeout.ms": 5000,
                "retries": 0,
            }
        )

        def on_delivery(err, msg):
            if err is None:
                acked[msg.offset()] = msg.value()

        i = 0
        while not stop.is_set():
            try:
                producer.produce(topic_name, value=f"record-{i}".encode(), on_delivery=on_delivery)
            except BufferError:
                producer.poll(0.01)
                continue
            producer.poll(0)
            i += 1
        producer.flush(6)

    thread = threading.Thread(target=run_producer)
    thread.start()
    deadline = time.monotonic() + 30
    while len(acked) < 2000 and time.monotonic() < deadline:
        time.sleep(0.01)
    broker.stop(signal.SIGKILL)
    stop.set()
    thread.join(30)
    assert len(acked) >= 2000, "the producer should have been acknowledged before the kill"

    broker.start()
    got = read_partition(broker.bootstrap, topic_name, 0, max(acked) + 1)
    missing = [o for o in acked if got.get(o) != acked[o]]
    assert not missing, f"{len(missing)} acknowledged records lost or changed, e.g. {missing[:5]}"
    # Offsets are dense: whatever survived is a prefix with no gaps.
    assert sorted(got) == list(range(len(got)))
