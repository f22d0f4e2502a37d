"""Consumer groups with real clients: three consumers in separate processes share a 6-partition
topic while a producer runs, each record is consumed exactly once between them; after one
consumer is killed with SIGKILL its partitions move to the others once its session times out
(session.timeout.ms=6000) and no record is skipped (records after its last commit may repeat);
after a broker restart the committed offsets are still there.

The same scenario runs with confluent-kafka (librdkafka), kafka-python and kcat's balanced
consumer (-G). Each consumer process appends what it sees to its own file: `assign p,p,...` when
it gets partitions and `rec <partition> <offset> <value>` per record, committing synchronously
after each record (kcat: auto-commit every 100 ms).
"""

import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 6
SESSION_TIMEOUT_MS = 6000

CONFLUENT_CONSUMER = textwrap.dedent(
    """
    import sys, os
    from confluent_kafka import Consumer
    bootstrap, group, topic, out, stop = sys.argv[1:6]
    f = open(out, "a", buffering=1)
    def on_assign(consumer, partitions):
        f.write("assign " + ",".join(str(p.partition) for p in partitions) + "\\n")
    c = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group,
        "session.timeout.ms": %d, "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    c.subscribe([topic], on_assign=on_assign)
    while not os.path.exists(stop):
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        f.write("rec %%d %%d %%s\\n" %% (m.partition(), m.offset(), m.value().decode()))
        c.commit(message=m, asynchronous=False)
    c.close()
    """
    % SESSION_TIMEOUT_MS
)

KAFKA_PYTHON_CONSUMER = textwrap.dedent(
    """
    import sys, os
    from kafka import KafkaConsumer, ConsumerRebalanceListener, OffsetAndMetadata
    bootstrap, group, topic, out, stop = sys.argv[1:6]
    f = open(out, "a", buffering=1)
    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            pass
        def on_partitions_assigned(self, assigned):
            f.write("assign " + ",".join(str(p.partition) for p in assigned) + "\\n")
    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group,
        session_timeout_ms=%d, heartbeat_interval_ms=500,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    c.subscribe([topic], listener=Listener())
    while not os.path.exists(stop):
        batches = c.poll(timeout_ms=200)
        for tp, records in batches.items():
            for r in records:
                f.write("rec %%d %%d %%s\\n" %% (r.partition, r.offset, r.value.decode()))
                c.commit({tp: OffsetAndMetadata(r.offset + 1, "", -1)})
    c.close()
    """
    % SESSION_TIMEOUT_MS
)


def start_consumer(kind: str, bootstrap: str, group: str, topic: str, out: Path, stop: Path):
    if kind == "kcat":
        args = [
            "kcat", "-b", bootstrap, "-G", group, "-o", "beginning", "-u", "-q",
            "-X", f"session.timeout.ms={SESSION_TIMEOUT_MS}",
            "-X", "heartbeat.interval.ms=500",
            "-X", "auto.commit.interval.ms=100",
            "-f", "rec %p %o %s\\n", topic,
        ]
        return subprocess.Popen(args, stdout=open(out, "ab"), stderr=subprocess.DEVNULL)
    script = CONFLUENT_CONSUMER if kind == "confluent" else KAFKA_PYTHON_CONSUMER
    return subprocess.Popen(
        [sys.executable, "-c", script, bootstrap, group, topic, str(out), str(stop)],
        stderr=open(str(out) + ".err", "ab"),
    )


def read_records(paths) -> list[tuple[int, int, str]]:
    res = []
    for path in paths:
        if not Path(path).exists():
            continue
        for line in Path(path).read_text().splitlines():
            parts = line.split(" ")
            if parts[0] == "rec" and len(parts) == 4:
                res.append((int(parts[1]), int(parts[2]), parts[3]))
    return res


def latest_assignment(path: Path) -> set[int]:
    latest: set[int] = set()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("assign"):
                latest = {int(p) for p in line[len("assign "):].split(",") if p}
    return latest


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def produce(bootstrap: str, topic: str, values: range, pace_s: float = 0.002):
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value=str(value).encode(), partition=value % PARTITIONS)
        producer.poll(0)
        time.sleep(pace_s)
    assert producer.flush(30) == 0


def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        res = consumer.committed(
            [TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30
        )
        return {tp.partition: tp.offset for tp in res}
    finally:
        consumer.close()


def run_scenario(broker, tmp_path: Path, kind: str, topic: str):
    if kind == "kcat" and shutil.which("kcat") is None:
        raise RuntimeError("kcat is not installed (scripts/compat/setup-clients installs it)")
    bootstrap = broker.bootstrap
    group = f"g-{kind}-{topic}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(30)

    stop = tmp_path / "stop"
    outs = [tmp_path / f"consumer-{i}.txt" for i in range(3)]
    consumers = [start_consumer(kind, bootstrap, group, topic, out, stop) for out in outs]
    try:
        # Phase 1: while a producer runs, the three members share the records exactly once.
        first = range(0, 300)
        producer = threading.Thread(target=produce, args=(bootstrap, topic, first))
        if kind != "kcat":
            # Start producing once the group is stable: every member owns partitions.
            wait_until(
                lambda: all(latest_assignment(out) for out in outs)
                and set().union(*(latest_assignment(out) for out in outs))
                == set(range(PARTITIONS)),
                60,
                "three members with partitions",
            )
        producer.start()
        producer.join()
        wait_until(lambda: len(read_records(outs)) >= len(first), 60, "phase 1 records")
        time.sleep(1.0)
        records = read_records(outs)
        values = sorted(int(value) for _, _, value in records)
        assert values == list(first), "each record exactly once between the consumers"
        per_consumer = [len(read_records([out])) for out in outs]
        assert sum(1 for count in per_consumer if count > 0) == 3, per_consumer
        # Let the last commits land (kcat commits on a 100 ms interval).
        time.sleep(1.0)

        # Phase 2: kill one member; its partitions move to the others after the session
        # timeout, and nothing is skipped.
        victim = 0
        consumers[victim].send_signal(signal.SIGKILL)
        consumers[victim].wait()
        second = range(300, 600)
        produce(bootstrap, topic, second, pace_s=0.001)
        survivors = [out for i, out in enumerate(outs) if i != victim]
        wait_until(
            lambda: {int(v) for _, _, v in read_records(outs)} >= set(range(600)),
            SESSION_TIMEOUT_MS / 1000 + 60,
            "every record after the kill",
        )
        seen = {int(value) for _, _, value in read_records(outs)}
        assert seen == set(range(600)), "no record skipped"
        survivor_partitions = {p for p, _, v in read_records(survivors) if int(v) >= 300}
        assert survivor_partitions == set(range(PARTITIONS)), survivor_partitions
        time.sleep(1.5)
    finally:
        stop.touch()
        for consumer in consumers:
            if consumer.poll() is None:
                if kind == "kcat":
                    consumer.send_signal(signal.SIGTERM)
                try:
                    consumer.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    consumer.kill()
                    consumer.wait()

    # Phase 3: the committed offsets survive a broker restart: every partition's commit is its
    # end offset (each partition holds 100 records).
    before = committed_offsets(bootstrap, group, topic)
    assert before == {p: 100 for p in range(PARTITIONS)}, before
    broker.restart()
    after = committed_offsets(bootstrap, group, topic)
    assert after == before


@pytest.mark.parametrize("kind", ["confluent", "kafka-python", "kcat"])
def test_three_consumers_share_survive_a_kill_and_a_restart(broker, tmp_path, topic_name, kind):
    try:
        run_scenario(broker, tmp_path, kind, topic_name)
    except Exception:
        print(broker.log()[-5000:])
        for path in sorted(tmp_path.glob("consumer-*")):
            print(path, path.read_text()[-2000:])
        raise
