"""Partition reassignment (KIP-455) on a 3-node Strom cluster of real processes: topic `moving`
starts with one replica on node 1; while an idempotent acks=all producer runs throughout, the
Strom CLI moves it to node 2 (the leader hands over), then kafka-python's admin client moves it
to nodes 2 and 3 (the replication factor grows). Each move is waited for until
ListPartitionReassignments (the CLI's, then kafka-python's) is empty. At the end
every acknowledged record is consumed exactly once and in order (history.py's checker), node 1's
copy of the partition is gone from its data directory, and Metadata shows replicas [2, 3].
"""

import json
import subprocess
import threading
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KafkaPythonPartition

from history import History, check
from test_cli import strom_bin
from test_cluster import Cluster

TOPIC = "moving"


def strom(cluster: Cluster, *args: str) -> str:
    res = subprocess.run(
        [strom_bin(), "--bootstrap-server", cluster.bootstrap, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, f"strom {' '.join(args)} failed: {res.stderr}\n{cluster.logs()}"
    return res.stdout


def replicas(cluster: Cluster) -> list[int]:
    return list(cluster.metadata().topics[TOPIC].partitions[0].replicas)


def move(cluster: Cluster, target: list[int]) -> None:
    """Moves the partition to `target` with the Strom CLI and waits until the move completed."""
    strom(
        cluster,
        "topics",
        "reassign",
        "--topic",
        TOPIC,
        "--partition",
        "0",
        "--replicas",
        ",".join(map(str, target)),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        moving = json.loads(strom(cluster, "--output", "json", "topics", "reassignments"))
        if not moving and replicas(cluster) == target:
            return
        time.sleep(0.2)
    raise AssertionError(f"the move to {target} did not complete:\n{moving}\n{cluster.logs()}")


def move_with_kafka_python(cluster: Cluster, target: list[int]) -> None:
    """Moves the partition to `target` with kafka-python and waits until the move completed."""
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        partition = KafkaPythonPartition(TOPIC, 0)
        errors = admin.alter_partition_reassignments({partition: target})
        assert errors == {partition: None}, errors
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            moving = admin.list_partition_reassignments()
            if not moving and replicas(cluster) == target:
                return
            time.sleep(0.2)
        raise AssertionError(f"the move to {target} did not complete:\n{moving}\n{cluster.logs()}")
    finally:
        admin.close()


def test_a_partition_moves_between_brokers_while_producing(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        cluster.wait_ready()
        admin = cluster.admin()
        futures = admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1]])])
        futures[TOPIC].result(30)
        assert cluster.leader_of(TOPIC, 0) == 1
        node1_copy = cluster.nodes[1].data_dir / "data" / f"{TOPIC}-0"
        assert node1_copy.is_dir()

        history = History()
        stop = threading.Event()
        errors: list[str] = []

        def produce():
            producer = Producer(
                {
                    "bootstrap.servers": cluster.bootstrap,
                    "enable.idempotence": True,
                    "acks": "all",
                    "linger.ms": 5,
                    "message.timeout.ms": 60000,
                }
            )

            def delivered(err, msg):
                value = msg.value().decode()
                if err is None:
                    history.ack(value, msg.partition(), msg.offset())
                elif err.code() in (KafkaError._MSG_TIMED_OUT, KafkaError._TIMED_OUT):
                    pass  # indeterminate: the record may or may not be in the log
                else:
                    history.fail(value, str(err))

            n = 0
            while not stop.is_set():
                value = f"v{n:07}"
                history.send(value, 0)
                try:
                    producer.produce(TOPIC, value=value, partition=0, on_delivery=delivered)
                except BufferError:
                    producer.poll(0.1)
                    continue
                n += 1
                producer.poll(0)
                if n % 50 == 0:
                    time.sleep(0.01)
            remaining = producer.flush(60)
            if remaining:
                errors.append(f"{remaining} records undelivered after flush")

        producer_thread = threading.Thread(target=produce)
        producer_thread.start()
        try:
            time.sleep(1.5)
            move(cluster, [2])
            assert cluster.leader_of(TOPIC, 0) == 2
            time.sleep(1.5)
            move_with_kafka_python(cluster, [2, 3])
            time.sleep(1.5)
        finally:
            stop.set()
            producer_thread.join(90)
        assert not errors, errors
        acked = {op.value for op in history.ops() if op.kind == "ack"}
        assert len(acked) > 500, f"only {len(acked)} records acknowledged:\n{cluster.logs()}"

        consumer = Consumer(
            {"bootstrap.servers": cluster.bootstrap, "group.id": "unused", "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        history.reposition("c", 0)
        deadline = time.monotonic() + 60
        polled: set[str] = set()
        while time.monotonic() < deadline and not acked <= polled:
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            value = msg.value().decode()
            history.poll("c", msg.partition(), msg.offset(), value)
            polled.add(value)
        consumer.close()
        report = check(history)
        assert report.ok, report.summary() + "\n" + cluster.logs()

        assert replicas(cluster) == [2, 3]
        assert sorted(cluster.metadata().topics[TOPIC].partitions[0].isrs) == [2, 3]
        assert not node1_copy.exists(), f"{node1_copy} is still there"
        assert "no longer a replica after a reassignment" in cluster.nodes[1].log()
        for n in (2, 3):
            assert (cluster.nodes[n].data_dir / "data" / f"{TOPIC}-0").is_dir()
    finally:
        cluster.stop_all()
