"""A 3-node Strom cluster as real processes (combined broker and controller nodes), modelled on
Kafka's replication tests: a topic with replication factor 3 and min.insync.replicas=2, an
idempotent acks=all confluent-kafka producer and a consumer running throughout, while the leader
of a partition (and once the active controller) is killed with SIGKILL and restarted, repeatedly.
At the end the history checker (history.py) finds no lost acknowledged write, no duplicate, no
offset holding two records, no non-monotonic poll and no gap; every replica holds byte-identical
batches up to the high watermark; and a metadata change after the controller died succeeds.
A second test kills a group's coordinator right after synchronous offset commits: the new
coordinator returns at least the last committed offset.
"""

import os
import signal
import struct
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker, free_port
from history import History, check

PARTITIONS = 3
KILLS = 4


class Cluster:
    def __init__(self, root: Path, size: int = 3, overrides: dict[str, str] | None = None):
        self.voter_ports = {n: free_port() for n in range(1, size + 1)}
        voters = ",".join(f"{n}@127.0.0.1:{port}" for n, port in self.voter_ports.items())
        self.nodes: dict[int, Broker] = {}
        for n in range(1, size + 1):
            data = root / f"node{n}"
            data.mkdir()
            self.nodes[n] = Broker(
                data,
                {
                    "node.id": str(n),
                    "controller.quorum.voters": voters,
                    "broker.heartbeat.interval.ms": "300",
                    "broker.session.timeout.ms": "2500",
                    "replica.lag.time.max.ms": "3000",
                    "default.replication.factor": "3",
                    "offsets.topic.replication.factor": "3",
                    **(overrides or {}),
                },
            )

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes.values())

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def metadata(self):
        return self.admin().list_topics(timeout=10)

    def leader_of(self, topic: str, partition: int) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                leader = self.metadata().topics[topic].partitions[partition].leader
                if leader in self.nodes:
                    return leader
            except Exception:  # noqa: BLE001 - metadata may be unavailable mid-failover
                pass
            time.sleep(0.2)
        raise AssertionError(f"no leader for {topic}-{partition}")

    def controller(self, other_than: int | None = None) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                controller = self.metadata().controller_id
                if controller in self.nodes and controller != other_than:
                    return controller
            except Exception:  # noqa: BLE001 - metadata may be unavailable mid-election
                pass
            time.sleep(0.2)
        raise AssertionError("no controller")

    def wait_ready(self) -> None:
        """Until every node is registered and a controller is elected."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                metadata = self.metadata()
                if len(metadata.brokers) == len(self.nodes) and metadata.controller_id in self.nodes:
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        raise AssertionError(f"the cluster did not form:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- node {n}\n{node.log()[-6000:]}" for n, node in self.nodes.items())

    def stop_all(self) -> None:
        for node in self.nodes.values():
            if node.process and node.process.poll() is None:
                node.stop()


def batches(partition_dir: Path) -> dict[int, bytes]:
    """The record batches of a partition's segment files, by base offset."""
    out: dict[int, bytes] = {}
    for segment in sorted(partition_dir.glob("*.log")):
        data = segment.read_bytes()
        position = 0
        while position + 12 <= len(data):
            base_offset, length = struct.unpack(">qi", data[position : position + 12])
            end = position + 12 + length
            if length <= 0 or end > len(data):
                break
            out[base_offset] = data[position:end]
            position = end
    return out


def test_kill_leaders_and_controller_lose_nothing(tmp_path):
    cluster = Cluster(tmp_path)
    topic = "replicated"
    try:
        cluster.wait_ready()
        admin = cluster.admin()
        futures = admin.create_topics(
            [NewTopic(topic, PARTITIONS, 3, config={"min.insync.replicas": "2"})]
        )
        futures[topic].result(30)
        for p in range(PARTITIONS):
            cluster.leader_of(topic, p)

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
                    "message.timeout.ms": 120000,
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
                history.send(value, n % PARTITIONS)
                try:
                    producer.produce(topic, value=value, partition=n % PARTITIONS, on_delivery=delivered)
                except BufferError:
                    producer.poll(0.1)
                    continue
                n += 1
                producer.poll(0)
                if n % 50 == 0:
                    time.sleep(0.01)
            remaining = producer.flush(120)
            if remaining:
                errors.append(f"{remaining} records undelivered after flush")

        consumed_done = threading.Event()

        def consume():
            session = 0
            consumer = None
            positions = {p: 0 for p in range(PARTITIONS)}
            while not consumed_done.is_set():
                if consumer is None:
                    session += 1
                    consumer = Consumer(
                        {
                            "bootstrap.servers": cluster.bootstrap,
                            "group.id": "unused",
                            "enable.auto.commit": False,
                        }
                    )
                    consumer.assign([TopicPartition(topic, p, positions[p]) for p in range(PARTITIONS)])
                    for p in range(PARTITIONS):
                        history.reposition(f"c{session}", p)
                msg = consumer.poll(0.2)
                if msg is None or msg.error() is not None:
                    continue
                history.poll(f"c{session}", msg.partition(), msg.offset(), msg.value().decode())
                positions[msg.partition()] = msg.offset() + 1
            if consumer is not None:
                consumer.close()

        producer_thread = threading.Thread(target=produce)
        consumer_thread = threading.Thread(target=consume)
        producer_thread.start()
        consumer_thread.start()

        time.sleep(2)
        for kill in range(KILLS):
            victim = cluster.controller() if kill == 1 else cluster.leader_of(topic, kill % PARTITIONS)
            node = cluster.nodes[victim]
            node.stop(signal.SIGKILL)
            if kill == 1:
                # A new controller is elected and metadata changes continue.
                cluster.controller(other_than=victim)
                extra = f"after-controller-{victim}"
                admin = cluster.admin()
                admin.create_topics([NewTopic(extra, 1, 2)])[extra].result(30)
            time.sleep(2)
            node.start()
            time.sleep(3)

        stop.set()
        producer_thread.join(180)
        assert not errors, errors
        acked = {op.value for op in history.ops() if op.kind == "ack"}
        assert len(acked) > 1000, f"only {len(acked)} records acknowledged:\n{cluster.logs()}"

        # Let the consumer read everything acknowledged.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            polled = {op.value for op in history.ops() if op.kind == "poll"}
            if acked <= polled:
                break
            time.sleep(0.5)
        consumed_done.set()
        consumer_thread.join(30)

        report = check(history)
        assert report.ok, report.summary() + "\n" + cluster.logs()

        # Every replica holds the same batches below the high watermark.
        probe = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "unused"})
        high = {
            p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(PARTITIONS)
        }
        probe.close()
        time.sleep(4)  # followers fetch what they still lack
        cluster.stop_all()
        for p in range(PARTITIONS):
            replicas = {
                n: batches(node.data_dir / "data" / f"{topic}-{p}") for n, node in cluster.nodes.items()
            }
            committed = {
                n: {base: data for base, data in found.items() if base < high[p]}
                for n, found in replicas.items()
            }
            first = committed[1]
            assert first, f"partition {p} has no committed batches on node 1"
            for n, found in committed.items():
                assert found == first, f"partition {p}: node {n} differs from node 1 below {high[p]}"
    finally:
        cluster.stop_all()


def test_committed_offsets_survive_a_coordinator_kill(tmp_path):
    cluster = Cluster(tmp_path)
    topic = "orders"
    group = "survivor"
    try:
        cluster.wait_ready()
        admin = cluster.admin()
        admin.create_topics([NewTopic(topic, 1, 3)])[topic].result(30)
        cluster.leader_of(topic, 0)

        consumer = Consumer(
            {"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False}
        )
        consumer.assign([TopicPartition(topic, 0)])
        # Each commit is answered once every ISR member of the group's __consumer_offsets
        # partition has it.
        last = 0
        for offset in range(1, 21):
            consumer.commit(offsets=[TopicPartition(topic, 0, offset * 10)], asynchronous=False)
            last = offset * 10
        described = admin.describe_consumer_groups([group])[group].result(30)
        coordinator = described.coordinator.id
        cluster.nodes[coordinator].stop(signal.SIGKILL)
        consumer.close()

        # A new coordinator (another ISR member) takes over and has every acknowledged commit.
        deadline = time.monotonic() + 60
        committed = None
        while time.monotonic() < deadline:
            reader = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group})
            try:
                found = reader.committed([TopicPartition(topic, 0)], timeout=10)
                if found and found[0].error is None and found[0].offset >= 0:
                    committed = found[0].offset
                    break
            except Exception:  # noqa: BLE001 - the coordinator may be moving
                pass
            finally:
                reader.close()
            time.sleep(0.5)
        assert committed is not None, f"no committed offset after the coordinator died:\n{cluster.logs()}"
        assert committed >= last, f"committed {committed} < acknowledged {last}"
    finally:
        cluster.stop_all()
