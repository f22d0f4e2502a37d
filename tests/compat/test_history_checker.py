"""The history checker (history.py) finds each anomaly it claims to find, and accepts a clean
history, including a reader that re-reads after a reposition."""

from history import History, check


def clean(partitions: int = 2, count: int = 10) -> History:
    h = History()
    offsets = [0] * partitions
    for i in range(count):
        p = i % partitions
        h.send(f"v{i}", p)
        h.ack(f"v{i}", p, offsets[p])
        h.poll("r1", p, offsets[p], f"v{i}")
        offsets[p] += 1
    return h


def test_clean_history_passes():
    h = clean()
    # A second reader that reads partition 0 twice with a reposition between: still fine.
    h.poll("r2", 0, 0, "v0")
    h.reposition("r2", 0)
    h.poll("r2", 0, 0, "v0")
    report = check(h)
    assert report.ok, report.summary()
    assert (report.sent, report.acked, report.polled) == (10, 10, 12)


def test_lost_write():
    h = History()
    h.send("a", 0)
    h.ack("a", 0, 0)
    h.send("b", 0)
    h.ack("b", 0, 1)
    h.poll("r", 0, 0, "a")
    report = check(h)
    assert report.lost == ["b (acknowledged at (0, 1))"]
    assert not report.ok


def test_unacknowledged_value_may_be_missing_or_present():
    h = History()
    h.send("a", 0)  # indeterminate: neither ack nor fail
    h.send("b", 0)
    h.ack("b", 0, 0)
    h.poll("r", 0, 0, "b")
    assert check(h).ok


def test_duplicate():
    h = History()
    h.send("a", 0)
    h.ack("a", 0, 0)
    h.poll("r", 0, 0, "a")
    h.poll("r", 0, 1, "a")
    report = check(h)
    assert report.duplicates == ["a at [(0, 0), (0, 1)]"]
    assert report.inconsistent == []


def test_same_offset_different_record():
    h = History()
    for v in ("a", "b"):
        h.send(v, 0)
    h.poll("r1", 0, 0, "a")
    h.poll("r2", 0, 0, "b")
    report = check(h)
    assert report.inconsistent == ["(0, 0) returned 'a' and 'b'"]


def test_value_found_elsewhere_than_acknowledged():
    h = History()
    h.send("a", 0)
    h.ack("a", 0, 5)
    h.poll("r", 0, 6, "a")
    assert check(h).inconsistent == ["a acknowledged at (0, 5) but returned at [(0, 6)]"]


def test_non_monotonic_poll():
    h = History()
    for i in range(3):
        h.send(f"v{i}", 0)
        h.ack(f"v{i}", 0, i)
    h.poll("r", 0, 0, "v0")
    h.poll("r", 0, 2, "v2")
    h.poll("r", 0, 1, "v1")
    report = check(h)
    assert report.non_monotonic == ["reader r polled partition 0 offset 1 after 2"]


def test_gap():
    h = History()
    h.send("a", 0)
    h.send("b", 0)
    h.poll("r", 0, 0, "a")
    h.poll("r", 0, 3, "b")
    assert check(h).gaps == ["partition 0 lacks offsets [1, 2]"]


def test_reordered_per_producer_only():
    h = History()
    h.send("a", 0, producer="p1")
    h.send("x", 0, producer="p2")
    h.send("b", 0, producer="p1")
    for v, offset in (("b", 0), ("x", 1), ("a", 2)):
        h.ack(v, 0, offset)
        h.poll("r", 0, offset, v)
    report = check(h)
    assert report.reordered == ["partition 0: a after b"]


def test_unknown_value():
    h = History()
    h.poll("r", 0, 0, "ghost")
    assert check(h).unknown == ["'ghost' at (0, 0)"]


def test_summary_names_every_anomaly():
    h = History()
    h.send("a", 0)
    h.ack("a", 0, 0)
    h.poll("r", 0, 1, "ghost")
    text = check(h).summary()
    assert "lost: 1" in text and "unknown: 1" in text
