"""`process.roles` with real processes: a broker-only node added to a running 3-node cluster of
combined nodes (it registers, takes over a partition created before it existed through a
reassignment, leads and follows partitions, serves clients on its own, and catches up after a
kill -9), and a cluster of one controller-only node and two broker-only nodes
(a confluent-kafka round trip with replication factor 2; the controller is never a broker, and
the brokers carry on after it is killed and restarted).
"""

import signal
import socket
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient
from kafka.structs import TopicPartition as KafkaPythonPartition

from conftest import Broker, free_port
from test_cluster import Cluster

# Short sessions so a killed node is fenced quickly.
TIMINGS = {
    "broker.heartbeat.interval.ms": "300",
    "broker.session.timeout.ms": "2500",
    "replica.lag.time.max.ms": "3000",
}


class ControllerNode(Broker):
    """A controller-only strom-broker process: it has no client listener, so starting waits for
    its quorum listener instead."""

    def __init__(self, data_dir: Path, quorum_port: int, overrides: dict[str, str]):
        self.quorum_port = quorum_port
        super().__init__(data_dir, overrides)

    def start(self) -> None:
        client_port = self.port
        self.port = self.quorum_port
        try:
            super().start()
        finally:
            self.port = client_port


class RolesCluster(Cluster):
    """`Cluster` of test_cluster.py (`size` combined nodes) plus nodes of other roles."""

    def __init__(self, root: Path, size: int = 3):
        if size:
            super().__init__(root, size)
        else:
            self.voter_ports: dict[int, int] = {}
            self.nodes: dict[int, Broker] = {}

    def add_controller(self, root: Path, node_id: int) -> Broker:
        """Starts a controller-only node (`process.roles=controller`); its voter port must be in
        `voter_ports` already."""
        data = root / f"node{node_id}"
        data.mkdir()
        node = ControllerNode(
            data,
            self.voter_ports[node_id],
            {
                "node.id": str(node_id),
                "process.roles": "controller",
                "controller.quorum.voters": self.voters(),
                **TIMINGS,
            },
        )
        self.nodes[node_id] = node
        return node

    def voters(self) -> str:
        return ",".join(f"{n}@127.0.0.1:{port}" for n, port in self.voter_ports.items())

    def add_broker(self, root: Path, node_id: int, extra: dict[str, str] | None = None) -> Broker:
        """Starts a broker-only node (`process.roles=broker`) that is not a voter."""
        data = root / f"node{node_id}"
        data.mkdir()
        node = Broker(
            data,
            {
                "node.id": str(node_id),
                "process.roles": "broker",
                "controller.quorum.voters": self.voters(),
                **TIMINGS,
                **(extra or {}),
            },
        )
        self.nodes[node_id] = node
        return node


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def wait_for(what: str, condition, timeout: float = 30, logs=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 - metadata may be unavailable for a moment
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s\n{logs()}")


def create_topic(bootstrap: str, topic: NewTopic) -> None:
    client = admin(bootstrap)  # kept alive until the future resolves
    futures = client.create_topics([topic], operation_timeout=20)
    futures[topic.topic].result(timeout=30)


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": 30000,
        }
    )
    errors = []
    for value in values:
        producer.produce(
            topic,
            value=value,
            partition=int(value.split(b"-")[-1]) % 2,
            on_delivery=lambda err, _msg: err and errors.append(err),
        )
    assert producer.flush(40) == 0
    assert not errors, errors


def consume_all(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"roles-{time.monotonic_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    out: list[bytes] = []
    deadline = time.monotonic() + 40
    try:
        while len(out) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            out.append(message.value())
    finally:
        consumer.close()
    return out


def brokers_of(bootstrap: str) -> set[int]:
    return set(admin(bootstrap).list_topics(timeout=10).brokers)


def isr_sizes(bootstrap: str, topic: str) -> list[int]:
    partitions = admin(bootstrap).list_topics(topic, timeout=10).topics[topic].partitions
    return [len(partitions[p].isrs) for p in sorted(partitions)]


def replicas_of(bootstrap: str, topic: str) -> list[int]:
    return list(admin(bootstrap).list_topics(topic, timeout=10).topics[topic].partitions[0].replicas)


def test_a_broker_only_node_joins_serves_and_catches_up(tmp_path):
    cluster = RolesCluster(tmp_path, size=3)
    try:
        cluster.wait_ready()
        create_topic(cluster.bootstrap, NewTopic("early", num_partitions=1, replication_factor=3))
        # Even suffixes: `produce` picks partition suffix % 2, and "early" has one partition.
        early = [f"early-{2 * i}".encode() for i in range(100)]
        produce(cluster.bootstrap, "early", early)
        original = replicas_of(cluster.bootstrap, "early")

        fourth = cluster.add_broker(tmp_path, 4)
        only4 = fourth.bootstrap
        wait_for(
            "node 4 in Metadata's brokers",
            lambda: brokers_of(only4) == {1, 2, 3, 4},
            logs=cluster.logs,
        )
        # Clients see a voter as the controller, never the broker-only node.
        assert admin(only4).list_topics(timeout=10).controller_id in {1, 2, 3}

        # Expansion: the partition created before node 4 existed moves onto it, taking the
        # place of its preferred replica, with kafka-python's admin client (KIP-455).
        target = [4, *original[1:]]
        mover = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        try:
            partition = KafkaPythonPartition("early", 0)
            assert mover.alter_partition_reassignments({partition: target}) == {partition: None}
            wait_for(
                "the move onto node 4",
                lambda: not mover.list_partition_reassignments()
                and replicas_of(only4, "early") == target,
                logs=cluster.logs,
            )
        finally:
            mover.close()
        assert sorted(consume_all(only4, "early", len(early))) == sorted(early)
        moved_off = cluster.nodes[original[0]].data_dir / "data" / "early-0"
        wait_for("the old replica's log deleted", lambda: not moved_off.exists(), logs=cluster.logs)

        # Node 4 leads partition 0 and follows partition 1: four replicas each.
        topic = "wide"
        assignment = [[4, 1, 2, 3], [1, 2, 3, 4]]
        create_topic(only4, NewTopic(topic, num_partitions=2, replica_assignment=assignment))
        wait_for("ISRs of 4", lambda: isr_sizes(only4, topic) == [4, 4], logs=cluster.logs)
        leaders = admin(only4).list_topics(topic, timeout=10).topics[topic].partitions
        assert leaders[0].leader == 4
        first = [f"first-{i}".encode() for i in range(200)]
        produce(only4, topic, first)
        assert sorted(consume_all(only4, topic, len(first))) == sorted(first)

        # Killed with SIGKILL: it loses its leadership, the cluster goes on without it, and on
        # restart it rejoins the quorum, catches up and is back in every ISR.
        fourth.stop(signal.SIGKILL)
        wait_for(
            "partition 0 led by another node",
            lambda: admin(cluster.nodes[1].bootstrap)
            .list_topics(topic, timeout=10)
            .topics[topic]
            .partitions[0]
            .leader
            in {1, 2, 3},
            logs=cluster.logs,
        )
        survivor = cluster.nodes[1].bootstrap
        wait_for("node 4 out of the ISRs", lambda: isr_sizes(survivor, topic) == [3, 3])
        second = [f"second-{i}".encode() for i in range(200)]
        produce(survivor, topic, second)
        fourth.start()
        wait_for(
            "node 4 back in every ISR",
            lambda: isr_sizes(only4, topic) == [4, 4],
            timeout=40,
            logs=cluster.logs,
        )
        got = consume_all(only4, topic, len(first) + len(second))
        assert sorted(got) == sorted(first + second)
    finally:
        cluster.stop_all()


def test_controller_only_node_with_two_broker_only_nodes(tmp_path):
    cluster = RolesCluster(tmp_path, size=0)
    cluster.voter_ports = {1: free_port()}
    try:
        cluster.add_controller(tmp_path, 1)
        extra = {"default.replication.factor": "2", "offsets.topic.replication.factor": "2"}
        for n in (2, 3):
            cluster.add_broker(tmp_path, n, extra)
        bootstrap = ",".join(cluster.nodes[n].bootstrap for n in (2, 3))
        wait_for(
            "both brokers registered", lambda: brokers_of(bootstrap) == {2, 3}, logs=cluster.logs
        )
        # The controller-only node serves no clients.
        client_port = cluster.nodes[1].port
        try:
            socket.create_connection(("127.0.0.1", client_port), timeout=1).close()
            raise AssertionError("the controller-only node accepted a client connection")
        except OSError:
            pass
        metadata = admin(bootstrap).list_topics(timeout=10)
        assert metadata.controller_id in {2, 3}
        assert 1 not in metadata.brokers

        topic = "pairs"
        create_topic(bootstrap, NewTopic(topic, num_partitions=2, replication_factor=2))
        wait_for("ISRs of 2", lambda: isr_sizes(bootstrap, topic) == [2, 2], logs=cluster.logs)
        values = [f"pair-{i}".encode() for i in range(100)]
        produce(bootstrap, topic, values)
        assert sorted(consume_all(bootstrap, topic, len(values))) == sorted(values)
        assert 1 not in brokers_of(bootstrap)

        # The only controller is killed and restarted: the brokers keep their registrations,
        # and metadata changes and the data path work again.
        cluster.nodes[1].stop(signal.SIGKILL)
        cluster.nodes[1].start()
        create_topic(bootstrap, NewTopic("after-restart", num_partitions=2, replication_factor=2))
        later = [f"later-{i}".encode() for i in range(100)]
        produce(bootstrap, "after-restart", later)
        assert sorted(consume_all(bootstrap, "after-restart", len(later))) == sorted(later)
        assert brokers_of(bootstrap) == {2, 3}
    finally:
        cluster.stop_all()
