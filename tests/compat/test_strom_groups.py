"""A consumer group mixing Strom's consumer (`strom consume --group`, one process each) with
confluent-kafka (librdkafka) consumers, on a 6-partition topic while a producer runs.

Both sides use the `range` assignor explicitly (librdkafka's default is range,roundrobin and
Strom's range,cooperative-sticky; only a common one can be chosen). Two Strom members and one
librdkafka member share the partitions: the group's assignments (DescribeGroups, read with
confluent-kafka's AdminClient) are disjoint and cover the topic, and every record is consumed
exactly once between them. Then one member is killed with SIGKILL (a Strom one, and in the other
case the librdkafka one): once its session times out the others take its partitions over and no
record is lost (records after its last commit may repeat). Finally the survivors stop (SIGTERM for
Strom: a final commit and LeaveGroup) and the group's committed offsets are every partition's end.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker
from test_cli import strom_bin
from test_groups import committed_offsets, produce, read_records, wait_until

PARTITIONS = 6
SESSION_TIMEOUT_MS = 3000

CONFLUENT_CONSUMER = textwrap.dedent(
    """
    import sys, os
    from confluent_kafka import Consumer
    bootstrap, group, topic, out, stop = sys.argv[1:6]
    f = open(out, "a", buffering=1)
    c = Consumer({
        "bootstrap.servers": bootstrap, "group.id": group,
        "partition.assignment.strategy": "range",
        "session.timeout.ms": %d, "heartbeat.interval.ms": 500,
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
    })
    c.subscribe([topic])
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


def start_strom(bootstrap: str, group: str, topic: str, out: Path) -> subprocess.Popen:
    args = [
        strom_bin(), "--bootstrap-server", bootstrap, "consume", "--topic", topic,
        "--group", group, "--from-beginning", "--assignment-strategy", "range",
        "--session-timeout-ms", str(SESSION_TIMEOUT_MS), "--format", "rec %p %o %v",
    ]
    return subprocess.Popen(args, stdout=open(out, "ab"), stderr=open(str(out) + ".err", "ab"))


def start_confluent(bootstrap: str, group: str, topic: str, out: Path, stop: Path):
    return subprocess.Popen(
        [sys.executable, "-c", CONFLUENT_CONSUMER, bootstrap, group, topic, str(out), str(stop)],
        stderr=open(str(out) + ".err", "ab"),
    )


def assignments(admin: AdminClient, group: str) -> list[list[int]]:
    """Each member's partitions, as the coordinator hands them out."""
    description = admin.describe_consumer_groups([group])[group].result(30)
    return [
        sorted(tp.partition for tp in member.assignment.topic_partitions)
        for member in description.members
    ]


def split_exactly(admin: AdminClient, group: str, members: int) -> bool:
    try:
        res = assignments(admin, group)
    except Exception:
        return False
    flat = [p for partitions in res for p in partitions]
    return (
        len(res) == members
        and all(res)
        and len(flat) == len(set(flat))
        and set(flat) == set(range(PARTITIONS))
    )


def run_scenario(broker, tmp_path: Path, topic: str, victim: str):
    bootstrap = broker.bootstrap
    group = f"g-mixed-{victim}-{topic}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        future.result(30)

    stop = tmp_path / "stop"
    outs = {name: tmp_path / f"{name}.txt" for name in ["strom-0", "strom-1", "confluent"]}
    processes = {
        "strom-0": start_strom(bootstrap, group, topic, outs["strom-0"]),
        "strom-1": start_strom(bootstrap, group, topic, outs["strom-1"]),
        "confluent": start_confluent(bootstrap, group, topic, outs["confluent"], stop),
    }
    try:
        # Phase 1: a stable group of three, two partitions each, then records exactly once.
        wait_until(lambda: split_exactly(admin, group, 3), 30, "three members sharing the topic")
        assert sorted(len(p) for p in assignments(admin, group)) == [2, 2, 2]
        first = range(0, 300)
        producer = threading.Thread(target=produce, args=(bootstrap, topic, first))
        producer.start()
        producer.join()
        wait_until(lambda: len(read_records(outs.values())) >= len(first), 30, "phase 1 records")
        time.sleep(1.0)
        records = read_records(outs.values())
        values = sorted(int(value) for _, _, value in records)
        assert values == list(first), "each record exactly once between the consumers"
        for name, out in outs.items():
            assert read_records([out]), f"{name} consumed nothing"
        # Strom auto-commits every 5 s; let one round land so the kill repeats little.
        time.sleep(5.5)

        # Phase 2: kill the victim; the two survivors take over all partitions, nothing lost.
        killed = "strom-0" if victim == "strom" else "confluent"
        processes[killed].send_signal(signal.SIGKILL)
        processes[killed].wait()
        second = range(300, 600)
        produce(bootstrap, topic, second, pace_s=0.001)
        wait_until(
            lambda: {int(v) for _, _, v in read_records(outs.values())} >= set(range(600)),
            SESSION_TIMEOUT_MS / 1000 + 30,
            "every record after the kill",
        )
        wait_until(lambda: split_exactly(admin, group, 2), 30, "two members sharing the topic")
        survivors = [out for name, out in outs.items() if name != killed]
        survivor_partitions = {p for p, _, v in read_records(survivors) if int(v) >= 300}
        assert survivor_partitions == set(range(PARTITIONS)), survivor_partitions
        seen = [int(v) for _, _, v in read_records(outs.values())]
        assert set(seen) == set(range(600)), "no record lost"
    finally:
        stop.touch()
        for name, process in processes.items():
            if process.poll() is None and name.startswith("strom"):
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    for name, process in processes.items():
        if name.startswith("strom") and name != killed:
            assert process.returncode == 0, (outs[name].with_suffix(".txt.err")).read_text()
    # Phase 3: everything consumed was committed, by whichever member owned the partition last.
    assert committed_offsets(bootstrap, group, topic) == {p: 100 for p in range(PARTITIONS)}


@pytest.fixture
def group_broker(tmp_path):
    broker = Broker(tmp_path, {"group.min.session.timeout.ms": "1000"})
    yield broker
    if broker.process and broker.process.poll() is None:
        assert broker.stop() == 0, broker.log()


@pytest.mark.parametrize("victim", ["strom", "confluent"])
def test_mixed_group_shares_and_survives_a_kill(group_broker, tmp_path, topic_name, victim):
    try:
        run_scenario(group_broker, tmp_path, topic_name, victim)
    except Exception:
        print(group_broker.log()[-5000:])
        for path in sorted(tmp_path.glob("*.txt*")):
            print(path, path.read_text()[-2000:])
        raise
