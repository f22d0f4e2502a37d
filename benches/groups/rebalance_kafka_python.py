"""Rebalance time with kafka-python: 10 consumers on 100 partitions, one closes (LeaveGroup);
time from its close() to all 9 others holding new assignments that cover the 100 partitions."""
import sys, threading, time, uuid
from kafka import KafkaConsumer, ConsumerRebalanceListener
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
topic = "bench-kp-" + uuid.uuid4().hex[:8]
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, 100, 1)]).values():
    f.result(30)

class Member(ConsumerRebalanceListener):
    def __init__(self, group):
        self.assignment = set(); self.assigned_at = 0.0; self.stop = False
        self.c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, session_timeout_ms=6000,
                               heartbeat_interval_ms=50, enable_auto_commit=False)
        self.c.subscribe([topic], listener=self)
        self.t = threading.Thread(target=self.run, daemon=True); self.t.start()
    def on_partitions_revoked(self, revoked):
        self.assignment = set()
    def on_partitions_assigned(self, assigned):
        self.assignment = {p.partition for p in assigned}; self.assigned_at = time.monotonic()
    def run(self):
        while not self.stop:
            self.c.poll(timeout_ms=10)
        self.close_started = time.monotonic(); self.c.close(); self.closed_at = time.monotonic()

def stable(ms):
    return set().union(*(m.assignment for m in ms)) == set(range(100)) and all(m.assignment for m in ms)

res = []
for _ in range(3):
    ms = [Member("bench-kp-g-" + uuid.uuid4().hex[:6]) if not res and False else None for _ in range(0)]
    group = "bench-kp-g-" + uuid.uuid4().hex[:6]
    ms = [Member(group) for _ in range(10)]
    d = time.monotonic() + 120
    while not stable(ms):
        assert time.monotonic() < d; time.sleep(0.005)
    time.sleep(1)
    leaver = ms.pop(); leaver.stop = True; leaver.t.join()
    t0 = leaver.closed_at
    while not (stable(ms) and all(m.assigned_at > leaver.close_started for m in ms)):
        assert time.monotonic() < t0 + 60; time.sleep(0.001)
    res.append(max(m.assigned_at for m in ms) - t0)
    for m in ms: m.stop = True
    for m in ms: m.t.join()
print("kafka-python rebalance 10->9 on 100 partitions, from LeaveGroup answered to all assigned (s):", ", ".join(f"{r:.3f}" for r in res))
