"""Group benchmarks against a running strom-broker (argv[1] = bootstrap):
1. rebalance time: 10 confluent-kafka consumers on a 100-partition topic; one closes (LeaveGroup);
   time until the 9 others all got their new assignment covering the 100 partitions.
2. OffsetCommit throughput: synchronous commits from one consumer, then async (pipelined)."""

import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
topic = "bench-" + uuid.uuid4().hex[:8]
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, 100, 1)]).values():
    f.result(30)


class Member:
    def __init__(self, group, index):
        self.assignment = set()
        self.assigned_at = 0.0
        self.stop = False
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group,
            "client.id": f"m{index}",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 100,
            "enable.auto.commit": False,
            "partition.assignment.strategy": "range",
        })
        self.consumer.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def on_assign(self, consumer, partitions):
        self.assignment = {p.partition for p in partitions}
        self.assigned_at = time.monotonic()

    def on_revoke(self, consumer, partitions):
        self.assignment = set()
        self.revoked_at = time.monotonic()

    def run(self):
        while not self.stop:
            self.consumer.poll(0.01)
        self.close_started = time.monotonic()
        self.consumer.close()
        self.closed_at = time.monotonic()


def stable(members):
    covered = set().union(*(m.assignment for m in members))
    return covered == set(range(100)) and all(m.assignment for m in members)


rebalance_times = []
for round_ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 3):
    group = "bench-g-" + uuid.uuid4().hex[:8]
    members = [Member(group, i) for i in range(10)]
    deadline = time.monotonic() + 120
    while not stable(members):
        assert time.monotonic() < deadline, "group never stabilised"
        time.sleep(0.005)
    time.sleep(1.0)
    leaver = members.pop()
    t0 = time.monotonic()
    leaver.stop = True
    while not (stable(members) and all(m.assigned_at > t0 for m in members)):
        assert time.monotonic() < t0 + 60, "no rebalance after the leave"
        time.sleep(0.001)
    t1 = max(m.assigned_at for m in members)
    rebalance_times.append(t1 - t0)
    leaver.thread.join()
    print("leaver close() from", round(leaver.close_started - t0, 3), "to", round(leaver.closed_at - t0, 3))
    print("revoked after", sorted(round(m.revoked_at - t0, 3) for m in members), "assigned after", sorted(round(m.assigned_at - t0, 3) for m in members))
    for m in members:
        m.stop = True
    for m in members + [leaver]:
        m.thread.join()
print("rebalance 10->9 members, 100 partitions (s):", ", ".join(f"{t:.3f}" for t in rebalance_times))

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-commit-" + uuid.uuid4().hex[:8],
                     "enable.auto.commit": False})
offsets = [TopicPartition(topic, 0, 0)]
consumer.commit(offsets=offsets, asynchronous=False)
n = 0
start = time.monotonic()
while time.monotonic() - start < 5:
    n += 1
    consumer.commit(offsets=[TopicPartition(topic, n % 100, n)], asynchronous=False)
elapsed = time.monotonic() - start
print(f"sync OffsetCommit: {n / elapsed:.0f} commits/s ({n} in {elapsed:.1f} s)")

done = 0
lock = threading.Lock()


def on_commit(err, partitions):
    global done
    with lock:
        done += 1


consumer2 = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-commit2-" + uuid.uuid4().hex[:8],
                      "enable.auto.commit": False, "on_commit": on_commit})
consumer2.commit(offsets=offsets, asynchronous=False)
done = 0
total = 20000
start = time.monotonic()
for i in range(total):
    consumer2.commit(offsets=[TopicPartition(topic, i % 100, i)], asynchronous=True)
    consumer2.poll(0)
while done < total and time.monotonic() - start < 60:
    consumer2.poll(0.01)
elapsed = time.monotonic() - start
print(f"async OffsetCommit: {done / elapsed:.0f} commits/s ({done} in {elapsed:.1f} s)")
consumer.close()
consumer2.close()
