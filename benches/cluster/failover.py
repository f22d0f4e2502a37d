"""Cluster benchmarks on one machine: failover time and replicated produce throughput.

Starts a 3-node Strom cluster (release `strom-broker` processes on loopback, combined broker and
controller nodes) and measures:

1. Failover time: a confluent-kafka producer (acks=all, idempotent) sends one record every 5 ms
   to partition 0 of a replication-factor-3 topic; the partition's leader is killed with SIGKILL;
   the time from the kill to the first acknowledgement of a record sent after the kill. Repeated
   KILLS times (the killed node restarts and rejoins the ISR between kills); prints every value,
   the median and the max. Detection waits for broker.session.timeout.ms (SESSION_MS, default
   Kafka's 9000), so the failover time is mostly that timeout.
2. Produce throughput with `strom perf produce`: acks=all on a replication-factor-3 topic versus
   acks=1 on a replication-factor-1 topic, ROUNDS rounds each, alternating, medians and ratio.

Usage (from the repository root, after `cargo build --release -p strom-broker-bin -p strom-cli`):

    target/compat-venv/bin/python benches/cluster/failover.py --bin-dir <dir with release binaries>

Environment: KILLS (10), SESSION_MS (9000), ROUNDS (3), RECORDS (300000), SIZE (1024).
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    def __init__(self, binary: str, node_id: int, voters: str, root: Path, session_ms: int):
        self.binary = binary
        self.node_id = node_id
        self.port = free_port()
        self.data = root / f"node{node_id}"
        self.args = [binary]
        for key, value in {
            "node.id": node_id,
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.data,
            "controller.quorum.voters": voters,
            "broker.session.timeout.ms": session_ms,
            "broker.heartbeat.interval.ms": max(100, session_ms // 6),
            "group.initial.rebalance.delay.ms": 0,
        }.items():
            self.args += ["--override", f"{key}={value}"]
        self.process = None
        self.start()

    def start(self):
        log = open(self.data.parent / f"node{self.node_id}.log", "ab")
        self.process = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


def wait_for(what, condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - the cluster may be mid-failover
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    args = parser.parse_args()
    kills = int(os.environ.get("KILLS", 10))
    session_ms = int(os.environ.get("SESSION_MS", 9000))
    rounds = int(os.environ.get("ROUNDS", 3))
    records = int(os.environ.get("RECORDS", 300000))
    size = int(os.environ.get("SIZE", 1024))
    broker_bin = str(Path(args.bin_dir) / "strom-broker")
    cli = str(Path(args.bin_dir) / "strom")

    root = Path(tempfile.mkdtemp(prefix="strom-cluster-bench-"))
    voter_ports = {n: free_port() for n in (1, 2, 3)}
    voters = ",".join(f"{n}@127.0.0.1:{p}" for n, p in voter_ports.items())
    nodes = {n: Node(broker_bin, n, voters, root, session_ms) for n in (1, 2, 3)}
    bootstrap = ",".join(f"127.0.0.1:{node.port}" for node in nodes.values())

    def metadata():
        return AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=5)

    try:
        wait_for("the cluster", lambda: len(metadata().brokers) == 3 and metadata().controller_id > 0)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("failover", 1, 3, config={"min.insync.replicas": "2"})])[
            "failover"
        ].result(30)

        def isr_full():
            partition = metadata().topics["failover"].partitions[0]
            return partition.leader in nodes and len(partition.isrs) == 3

        wait_for("the ISR", isr_full)

        acked: list[tuple[float, float]] = []  # (send time, ack time)
        stop = threading.Event()

        def produce():
            producer = Producer(
                {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 0}
            )
            while not stop.is_set():
                sent = time.monotonic()

                def done(err, _msg, sent=sent):
                    if err is None:
                        acked.append((sent, time.monotonic()))

                producer.produce("failover", value=b"x", partition=0, on_delivery=done)
                producer.poll(0.005)
            producer.flush(60)

        thread = threading.Thread(target=produce)
        thread.start()
        times = []
        for kill in range(kills):
            wait_for("the ISR", isr_full, timeout=120)
            time.sleep(1)
            leader = metadata().topics["failover"].partitions[0].leader
            killed_at = time.monotonic()
            nodes[leader].kill()
            wait_for(
                "a produce after the kill",
                lambda: any(sent > killed_at for sent, _ in acked[-200:]),
                timeout=120,
            )
            first = min(ack for sent, ack in acked if sent > killed_at)
            times.append(first - killed_at)
            print(f"kill {kill + 1}: leader {leader}, produce succeeded again after {times[-1]:.2f} s", flush=True)
            nodes[leader].start()
        stop.set()
        thread.join(120)
        print(
            f"failover (kill -9 of the leader -> next acks=all success), {kills} kills, "
            f"broker.session.timeout.ms={session_ms}: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s"
        )

        wait_for("the ISR", isr_full, timeout=120)
        throughput = {"rf3-acks-all": [], "rf1-acks-1": []}
        for round_ in range(rounds):
            for name, rf, acks in (("rf3-acks-all", 3, "all"), ("rf1-acks-1", 1, "1")):
                topic = f"{name}-{round_}"
                admin.create_topics([NewTopic(topic, 1, rf, config={"min.insync.replicas": "2" if rf == 3 else "1"})])[
                    topic
                ].result(30)
                time.sleep(1)
                out = subprocess.run(
                    [cli, "--bootstrap-server", bootstrap, "perf", "produce", "--topic", topic,
                     "--num-records", str(records), "--record-size", str(size), "--acks", acks,
                     "--batch-size", "1000000", "--linger-ms", "5"],
                    capture_output=True, text=True, timeout=600, check=True,
                ).stdout
                rate = float(re.search(r"([0-9.]+) records/sec", out).group(1))
                throughput[name].append(rate)
                print(f"round {round_ + 1} {name}: {rate:.0f} records/s", flush=True)
        rf3 = statistics.median(throughput["rf3-acks-all"])
        rf1 = statistics.median(throughput["rf1-acks-1"])
        print(
            f"produce {records} x {size} B: acks=all RF3 median {rf3:.0f} rec/s, acks=1 RF1 median "
            f"{rf1:.0f} rec/s, ratio {rf3 / rf1:.2f}"
        )
    finally:
        for node in nodes.values():
            try:
                node.stop()
            except Exception as error:  # noqa: BLE001 - report and go on stopping the others
                print(f"stopping node {node.node_id}: {error}", file=sys.stderr)


if __name__ == "__main__":
    main()
