"""Strom's idempotent producer (the `strom produce` process) keeps writing while the broker is
killed with SIGKILL and restarted twice: when it exits successfully, every line it was given is in
the topic exactly once, in input order per partition, as a confluent-kafka consumer reads it."""

import signal
import subprocess
import threading
import time

from confluent_kafka import Consumer, TopicPartition

from test_cli import strom, strom_bin

LINES = 20_000
PARTITIONS = 3


def read_everything(bootstrap: str, topic: str, count: int) -> dict[int, list[str]]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "compat-unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    out: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    total = 0
    deadline = time.monotonic() + 60
    quiet_until = None
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            # Once everything arrived, wait a little longer for anything extra (duplicates).
            if total >= count:
                quiet_until = quiet_until or time.monotonic() + 1.5
                if time.monotonic() > quiet_until:
                    break
            continue
        if msg.error() is None:
            out[msg.partition()].append(msg.value().decode())
            total += 1
    consumer.close()
    return out


def test_idempotent_producer_survives_broker_kills(broker, topic_name):
    strom(broker, "topics", "create", "--topic", topic_name, "--partitions", str(PARTITIONS))
    producer = subprocess.Popen(
        [
            strom_bin(), "--bootstrap-server", broker.bootstrap, "--request-timeout-ms", "3000",
            "produce", "--topic", topic_name, "--acks", "all",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert producer.stdin is not None

    def feed():
        for i in range(LINES):
            producer.stdin.write(f"{i:06}\n")
            if i % 200 == 0:
                producer.stdin.flush()
                time.sleep(0.03)
        producer.stdin.close()

    feeder = threading.Thread(target=feed)
    feeder.start()
    for _ in range(2):
        time.sleep(0.7)
        assert feeder.is_alive(), "the input should still be flowing when the broker dies"
        broker.stop(signal.SIGKILL)
        time.sleep(0.3)
        broker.start()
    feeder.join(timeout=120)
    producer.wait(timeout=180)
    assert producer.stdout is not None and producer.stderr is not None
    out, err = producer.stdout.read(), producer.stderr.read()
    assert producer.returncode == 0, f"strom produce failed: {err}\n{out}"

    got = read_everything(broker.bootstrap, topic_name, LINES)
    everything = [line for lines in got.values() for line in lines]
    assert len(everything) == len(set(everything)), "no line was written twice"
    assert sorted(everything) == [f"{i:06}" for i in range(LINES)], "no line was lost"
    for partition, lines in got.items():
        assert lines == sorted(lines), f"partition {partition} is in input order"
