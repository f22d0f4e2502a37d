"""Leader elections on real clusters (combined broker and controller nodes, see
test_cluster.Cluster): after a kill -9 the partitions of the killed node get other leaders and,
once it is back, the automatic preferred-leader rebalance gives its partition back; with the
rebalance off, confluent-kafka's AdminClient.elect_leaders does it; and a topic with
unclean.leader.election.enable=true gets a leader from outside its ISR when only such a replica
comes back, while the same topic without it stays leaderless until an explicit unclean
election.
"""

import signal
import time

from confluent_kafka import Consumer, ElectionType, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from test_cluster import Cluster


def partition_state(cluster: Cluster, topic: str, partition: int):
    """(leader, isr) of a partition as the live nodes' metadata says, or None if unknown."""
    try:
        found = cluster.metadata().topics[topic].partitions[partition]
    except Exception:  # noqa: BLE001 - metadata may be unavailable mid-failover
        return None
    return found.leader, sorted(found.isrs)


def wait_for(cluster: Cluster, what: str, done, timeout: float = 30):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = done()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what} (last {last!r})\n{cluster.logs()}")


def create(cluster: Cluster, topic: str, assignment: list[list[int]], config=None) -> None:
    admin = cluster.admin()  # kept alive until the future resolves
    futures = admin.create_topics(
        [NewTopic(topic, len(assignment), replica_assignment=assignment, config=config or {})]
    )
    futures[topic].result(30)
    for p, replicas in enumerate(assignment):
        wait_for(
            cluster,
            f"{topic}-{p} led by {replicas[0]}",
            lambda p=p, replicas=replicas: (partition_state(cluster, topic, p) or (None,))[0]
            == replicas[0],
        )


def produce(cluster: Cluster, topic: str, values: list[str], acks: str = "all") -> None:
    """Writes `values` to partition 0 and checks every one was acknowledged."""
    producer = Producer(
        {"bootstrap.servers": cluster.bootstrap, "acks": acks, "message.timeout.ms": 30000}
    )
    errors = []
    for value in values:
        producer.produce(
            topic, value=value, partition=0, on_delivery=lambda err, _msg: errors.append(err)
        )
    assert producer.flush(40) == 0
    assert errors == [None] * len(values), errors


def consume_all(cluster: Cluster, topic: str, count: int) -> list[str]:
    """Reads `count` records of partition 0 from the beginning."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "unused"})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    deadline = time.monotonic() + 30
    while len(values) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            values.append(msg.value().decode())
    consumer.close()
    return values


def led_by(cluster: Cluster, topic: str, partition: int, leader: int):
    return lambda: (partition_state(cluster, topic, partition) or (None,))[0] == leader


def test_automatic_rebalance_gives_a_restarted_broker_its_partition_back(tmp_path):
    cluster = Cluster(tmp_path, 3, {"leader.imbalance.check.interval.seconds": "2"})
    topic = "balanced"
    try:
        cluster.wait_ready()
        create(cluster, topic, [[1, 2, 3], [2, 3, 1], [3, 1, 2]])
        cluster.nodes[1].stop(signal.SIGKILL)
        wait_for(
            cluster,
            f"{topic}-0 led by another node",
            lambda: (partition_state(cluster, topic, 0) or (None,))[0] in (2, 3),
        )
        cluster.nodes[1].start()
        # Fenced node 1 comes back, rejoins the ISR, and the rebalance moves leadership back.
        wait_for(cluster, f"{topic}-0 led by node 1 again", led_by(cluster, topic, 0, 1))
        assert partition_state(cluster, topic, 1)[0] == 2
        assert partition_state(cluster, topic, 2)[0] == 3
        logs = cluster.nodes[1].log() + cluster.nodes[2].log() + cluster.nodes[3].log()
        assert "rebalanced partition leadership" in logs
    finally:
        cluster.stop_all()


def test_explicit_preferred_election_and_unclean_election(tmp_path):
    # Five voters, so that two nodes may be down at once; no automatic rebalance.
    cluster = Cluster(tmp_path, 5, {"auto.leader.rebalance.enable": "false"})
    try:
        cluster.wait_ready()
        admin = cluster.admin()

        # Preferred: node 4 leads pref-0 until it is killed; back in the ISR it does not lead
        # again on its own, but an ElectLeaders request makes it.
        create(cluster, "pref", [[4, 5]])
        produce(cluster, "pref", ["a", "b"])
        cluster.nodes[4].stop(signal.SIGKILL)
        wait_for(cluster, "pref-0 led by node 5", led_by(cluster, "pref", 0, 5))
        produce(cluster, "pref", ["c"])
        cluster.nodes[4].start()
        wait_for(
            cluster,
            "node 4 back in the ISR of pref-0",
            lambda: partition_state(cluster, "pref", 0) == (5, [4, 5]),
        )
        time.sleep(3)
        assert partition_state(cluster, "pref", 0)[0] == 5
        tp = TopicPartition("pref", 0)
        res = admin.elect_leaders(ElectionType.PREFERRED, [tp]).result(30)
        assert list(res.values()) == [None], res
        wait_for(cluster, "pref-0 led by node 4", led_by(cluster, "pref", 0, 4))
        # The handover from a live leader keeps every acknowledged record and takes new ones.
        produce(cluster, "pref", ["d"])
        assert consume_all(cluster, "pref", 4) == ["a", "b", "c", "d"]
        res = admin.elect_leaders(ElectionType.PREFERRED, [tp]).result(30)
        error = list(res.values())[0]
        assert error is not None and error.code() == KafkaError.ELECTION_NOT_NEEDED, res

        # Unclean: node 5 goes first (it leaves the ISRs), then node 4, the last ISR member.
        # Only node 5 comes back.
        create(cluster, "unclean", [[4, 5]], {"unclean.leader.election.enable": "true"})
        create(cluster, "clean", [[4, 5]])
        produce(cluster, "unclean", ["before"])
        cluster.nodes[5].stop(signal.SIGKILL)
        for topic in ("unclean", "clean"):
            wait_for(
                cluster,
                f"{topic}-0 ISR is node 4 alone",
                lambda topic=topic: partition_state(cluster, topic, 0) == (4, [4]),
            )
        # Acknowledged by node 4 alone: the unclean election loses it. (acks=1: right after the
        # controller shrank the ISR, an acks=all write waits until node 5's replica.lag.time.max.ms
        # has passed and then for the next append or fetch; see the report of this change.)
        produce(cluster, "unclean", ["lost"], acks="1")
        cluster.nodes[4].stop(signal.SIGKILL)
        for topic in ("unclean", "clean"):
            wait_for(
                cluster,
                f"{topic}-0 without a leader",
                lambda topic=topic: (partition_state(cluster, topic, 0) or (None,))[0] == -1,
            )
        cluster.nodes[5].start()
        wait_for(cluster, "unclean-0 led by node 5", led_by(cluster, "unclean", 0, 5))
        assert partition_state(cluster, "unclean", 0) == (5, [5])
        # The new leader serves what it has (not what only node 4 had), and takes writes.
        produce(cluster, "unclean", ["after"])
        assert consume_all(cluster, "unclean", 2) == ["before", "after"]
        time.sleep(3)
        assert partition_state(cluster, "clean", 0)[0] == -1
        # An explicit unclean election (ElectLeaders v1+ ElectionType) elects node 5 there too.
        tp = TopicPartition("clean", 0)
        res = admin.elect_leaders(ElectionType.UNCLEAN, [tp]).result(30)
        assert list(res.values()) == [None], res
        wait_for(cluster, "clean-0 led by node 5", led_by(cluster, "clean", 0, 5))
    finally:
        cluster.stop_all()
