"""The `strom` CLI against real clients: what `strom produce` writes, kcat reads exactly (keys,
values, headers); what kcat writes, `strom consume` prints exactly; offsets that
`strom groups reset-offsets` commits are what a confluent-kafka consumer sees as committed, and
the lag `strom groups describe` reports matches confluent-kafka's own commits.

The binary is STROM_CLI_BIN, or `strom` next to STROM_BROKER_BIN (the workspace's test run
builds both into the same target directory)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition


def strom_bin() -> str:
    explicit = os.environ.get("STROM_CLI_BIN")
    if explicit:
        return explicit
    broker_bin = os.environ.get("STROM_BROKER_BIN", "")
    sibling = Path(broker_bin).parent / "strom"
    if broker_bin and sibling.exists():
        return str(sibling)
    raise RuntimeError(
        "set STROM_CLI_BIN, or build `cargo build -p strom-cli` into the directory of STROM_BROKER_BIN"
    )


def strom(broker, *args: str, stdin: str = "") -> str:
    res = subprocess.run(
        [strom_bin(), "--bootstrap-server", broker.bootstrap, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, f"strom {' '.join(args)} failed: {res.stderr}"
    return res.stdout


def kcat(*args: str, stdin: str | None = None) -> str:
    binary = shutil.which("kcat")
    if binary is None:
        raise RuntimeError("kcat is not installed (scripts/test installs it with apt-get)")
    res = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"kcat {' '.join(args)} failed: {res.stderr}"
    return res.stdout


def test_kcat_reads_what_strom_produces(broker, topic_name):
    strom(broker, "topics", "create", "--topic", topic_name, "--partitions", "2")
    lines = "".join(f"key{i}|value {i}\n" for i in range(40))
    strom(broker, "produce", "--topic", topic_name, "--key-separator", "|", "--header", "origin=strom", stdin=lines)
    out = kcat("-b", broker.bootstrap, "-t", topic_name, "-C", "-e", "-o", "beginning", "-J")
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    got = sorted((r["key"], r["payload"], tuple(r["headers"])) for r in records)
    want = sorted((f"key{i}", f"value {i}", ("origin", "strom")) for i in range(40))
    assert got == want


def test_strom_reads_what_kcat_produces(broker, topic_name):
    lines = "".join(f"k{i}:v{i}\n" for i in range(30))
    kcat("-b", broker.bootstrap, "-t", topic_name, "-P", "-K:", "-H", "from=kcat", stdin=lines)
    out = strom(
        broker, "consume", "--topic", topic_name, "--from-beginning", "--exit-at-end",
        "--format", "%k %v %h %o",
    )
    assert out.splitlines() == [f"k{i} v{i} from=kcat {i}" for i in range(30)]


def test_group_offsets_match_confluent_kafka(broker, topic_name):
    strom(broker, "topics", "create", "--topic", topic_name)
    strom(broker, "produce", "--topic", topic_name, stdin="".join(f"{i}\n" for i in range(10)))
    group = f"{topic_name}-group"
    strom(broker, "groups", "reset-offsets", "--group", group, "--topic", topic_name, "--to-offset", "4", "--execute")
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(topic_name, 0)], timeout=10)
        assert committed[0].offset == 4
        consumer.commit(offsets=[TopicPartition(topic_name, 0, 7)], asynchronous=False)
    finally:
        consumer.close()
    lag = json.loads(strom(broker, "--output", "json", "groups", "describe", "--group", group))
    assert lag == [
        {"group": group, "topic": topic_name, "partition": 0, "current_offset": 7, "log_end_offset": 10, "lag": 3}
    ]


def test_consume_with_a_group_commits_what_it_printed(broker, topic_name):
    strom(broker, "topics", "create", "--topic", topic_name, "--partitions", "2")
    strom(broker, "produce", "--topic", topic_name, stdin="".join(f"v{i}\n" for i in range(30)))
    group = f"{topic_name}-members"
    consume = ["consume", "--topic", topic_name, "--group", group, "--from-beginning", "--format", "%p %o %v"]
    # Two runs that stop mid-way: the second starts exactly where the first stopped.
    first = strom(broker, *consume, "--max-messages", "12").splitlines()
    second = strom(broker, *consume, "--max-messages", "18").splitlines()
    assert len(first) == 12 and len(second) == 18
    values = sorted(line.split(" ")[2] for line in first + second)
    assert values == sorted(f"v{i}" for i in range(30))
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    try:
        committed = consumer.committed([TopicPartition(topic_name, p) for p in range(2)], timeout=10)
    finally:
        consumer.close()
    assert sum(tp.offset for tp in committed) == 30
    # Nothing left for the group.
    assert strom(broker, *consume, "--timeout-ms", "1500") == ""
    # --partition and --offset are for reading without a group.
    res = subprocess.run(
        [strom_bin(), "--bootstrap-server", broker.bootstrap, *consume, "--partition", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 1 and "cannot be used with" in res.stderr, res.stderr
