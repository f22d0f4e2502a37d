"""kcat (librdkafka 2.0, from Debian) against Strom: metadata, produce with keys and headers,
consume back with offsets and timestamps."""

import json
import shutil
import subprocess

import pytest

KCAT = shutil.which("kcat")


def kcat(*args: str, stdin: str | None = None, timeout: float = 60) -> str:
    if KCAT is None:
        raise RuntimeError("kcat is not installed (scripts/test installs it with apt-get)")
    res = subprocess.run(
        [KCAT, *args], input=stdin, capture_output=True, text=True, timeout=timeout
    )
    assert res.returncode == 0, f"kcat {' '.join(args)} failed: {res.stderr}"
    return res.stdout


def test_metadata_lists_broker_and_auto_created_topic(broker, topic_name):
    # Producing to an unknown topic auto-creates it (auto.create.topics.enable defaults to true).
    kcat("-b", broker.bootstrap, "-t", topic_name, "-P", stdin="hello\n")
    meta = json.loads(kcat("-b", broker.bootstrap, "-L", "-J"))
    assert [b["name"] for b in meta["brokers"]] == [broker.bootstrap]
    topics = {t["topic"]: t for t in meta["topics"]}
    assert topic_name in topics
    partitions = topics[topic_name]["partitions"]
    assert len(partitions) == 1
    assert partitions[0]["leader"] == meta["brokers"][0]["id"]


def test_produce_and_consume_keys_values_headers(broker, topic_name):
    lines = "".join(f"key{i}:value {i}\n" for i in range(50))
    kcat("-b", broker.bootstrap, "-t", topic_name, "-P", "-K:", "-H", "source=kcat", stdin=lines)
    out = kcat(
        "-b", broker.bootstrap, "-t", topic_name, "-C", "-e", "-o", "beginning", "-J"
    )
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["offset"] for r in records] == list(range(50))
    assert [r["key"] for r in records] == [f"key{i}" for i in range(50)]
    assert [r["payload"] for r in records] == [f"value {i}" for i in range(50)]
    assert all(r["headers"] == ["source", "kcat"] for r in records)
    assert all(r["ts"] > 1_600_000_000_000 for r in records)


def test_consume_from_offset_returns_the_tail(broker, topic_name):
    kcat("-b", broker.bootstrap, "-t", topic_name, "-P", stdin="".join(f"m{i}\n" for i in range(20)))
    out = kcat(
        "-b", broker.bootstrap, "-t", topic_name, "-p", "0", "-C", "-e", "-o", "15",
        "-f", "%o %s\n",
    )
    assert out.splitlines() == [f"{i} m{i}" for i in range(15, 20)]


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_round_trip(broker, topic_name, codec):
    lines = "".join(f"{codec} record {i}\n" for i in range(100))
    kcat(
        "-b", broker.bootstrap, "-t", topic_name, "-P", "-z", codec,
        "-X", "linger.ms=50", stdin=lines,
    )
    out = kcat("-b", broker.bootstrap, "-t", topic_name, "-C", "-e", "-o", "beginning", "-f", "%o %s\n")
    assert out.splitlines() == [f"{i} {codec} record {i}" for i in range(100)]
