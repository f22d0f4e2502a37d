"""A history checker in the style of Jepsen's queue checkers, for tests that write and read a
topic while brokers fail.

A test records every operation into one `History` (thread-safe, append-only):
- `send(value, partition=None, producer="p")` when a producer is asked to write `value` (values
  are unique strings; a value identifies its record);
- `ack(value, partition, offset)` when the write is acknowledged, or `fail(value, reason)` when it
  definitely failed (an indeterminate outcome is recorded as nothing: the value may or may not be
  in the log);
- `poll(reader, partition, offset, value)` for every record a consumer returns, `reader` naming
  the consumer session; `reposition(reader, partition)` when that consumer seeks or is assigned the
  partition anew (then its next poll of the partition may go backwards).

`check(history)` then reports, each as a list of human-readable findings:
- lost: acknowledged values that no poll returned;
- duplicates: values returned at more than one (partition, offset);
- inconsistent: one (partition, offset) returned with different values, or a value returned at
  another place than its acknowledgement said;
- non_monotonic: a reader's polls of a partition going backwards or repeating without a
  reposition in between;
- gaps: offsets missing between the lowest and highest offset polled in a partition (with
  idempotent, non-transactional producers a partition's offsets are dense);
- reordered: values one producer sent to one partition, acknowledged, and returned in another
  order than they were sent;
- unknown: returned values that were never sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Op:
    """One recorded operation; `kind` is send, ack, fail, poll or reposition."""

    kind: str
    value: str | None = None
    partition: int | None = None
    offset: int | None = None
    reader: str | None = None
    reason: str | None = None
    producer: str | None = None


class History:
    """The operations of one test run, in the order they were recorded."""

    def __init__(self) -> None:
        self._ops: list[Op] = []
        self._lock = threading.Lock()

    def _add(self, op: Op) -> None:
        with self._lock:
            self._ops.append(op)

    def send(self, value: str, partition: int | None = None, producer: str = "p") -> None:
        self._add(Op("send", value=value, partition=partition, producer=producer))

    def ack(self, value: str, partition: int, offset: int) -> None:
        self._add(Op("ack", value=value, partition=partition, offset=offset))

    def fail(self, value: str, reason: str) -> None:
        self._add(Op("fail", value=value, reason=reason))

    def poll(self, reader: str, partition: int, offset: int, value: str) -> None:
        self._add(Op("poll", value=value, partition=partition, offset=offset, reader=reader))

    def reposition(self, reader: str, partition: int) -> None:
        self._add(Op("reposition", partition=partition, reader=reader))

    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)


@dataclass
class Report:
    """What `check` found; `ok` when nothing."""

    sent: int = 0
    acked: int = 0
    polled: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    non_monotonic: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    reordered: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    ANOMALIES = ("lost", "duplicates", "inconsistent", "non_monotonic", "gaps", "reordered", "unknown")

    @property
    def ok(self) -> bool:
        return not any(getattr(self, name) for name in self.ANOMALIES)

    def summary(self, limit: int = 10) -> str:
        lines = [f"sent {self.sent}, acknowledged {self.acked}, polled {self.polled}"]
        for name in self.ANOMALIES:
            found = getattr(self, name)
            if found:
                shown = "; ".join(found[:limit])
                more = f" (and {len(found) - limit} more)" if len(found) > limit else ""
                lines.append(f"{name}: {len(found)}: {shown}{more}")
        return "\n".join(lines)


def check(history: History) -> Report:
    ops = history.ops()
    report = Report()
    send_order: dict[str, int] = {}
    producer_of: dict[str, str] = {}
    acks: dict[str, tuple[int, int]] = {}
    # Where each value was returned, and what each place held.
    places_of: dict[str, set[tuple[int, int]]] = {}
    value_at: dict[tuple[int, int], str] = {}
    # Per (reader, partition): the last offset polled since the last reposition.
    last_polled: dict[tuple[str, int], int] = {}
    for op in ops:
        if op.kind == "send":
            report.sent += 1
            send_order.setdefault(op.value, len(send_order))
            producer_of.setdefault(op.value, op.producer or "p")
        elif op.kind == "ack":
            report.acked += 1
            previous = acks.get(op.value)
            if previous is not None and previous != (op.partition, op.offset):
                report.inconsistent.append(
                    f"{op.value} acknowledged at {previous} and at {(op.partition, op.offset)}"
                )
            acks[op.value] = (op.partition, op.offset)
        elif op.kind == "reposition":
            last_polled.pop((op.reader, op.partition), None)
        elif op.kind == "poll":
            report.polled += 1
            place = (op.partition, op.offset)
            if op.value not in send_order:
                report.unknown.append(f"{op.value!r} at {place}")
            held = value_at.setdefault(place, op.value)
            if held != op.value:
                report.inconsistent.append(f"{place} returned {held!r} and {op.value!r}")
            places_of.setdefault(op.value, set()).add(place)
            key = (op.reader, op.partition)
            last = last_polled.get(key)
            if last is not None and op.offset <= last:
                report.non_monotonic.append(
                    f"reader {op.reader} polled partition {op.partition} offset {op.offset} after {last}"
                )
            last_polled[key] = op.offset

    for value, places in sorted(places_of.items()):
        if len(places) > 1:
            report.duplicates.append(f"{value} at {sorted(places)}")
        acked_at = acks.get(value)
        if acked_at is not None and acked_at not in places:
            report.inconsistent.append(f"{value} acknowledged at {acked_at} but returned at {sorted(places)}")
    for value in sorted(acks, key=lambda v: send_order.get(v, -1)):
        if value not in places_of:
            report.lost.append(f"{value} (acknowledged at {acks[value]})")

    by_partition: dict[int, list[int]] = {}
    for partition, offset in value_at:
        by_partition.setdefault(partition, []).append(offset)
    for partition, offsets in sorted(by_partition.items()):
        present = set(offsets)
        missing = [o for o in range(min(offsets), max(offsets) + 1) if o not in present]
        if missing:
            report.gaps.append(f"partition {partition} lacks offsets {missing[:20]}")

    # Per partition and producer, acknowledged values in log order must be in send order.
    for partition in sorted(by_partition):
        in_log = [
            value_at[(partition, offset)]
            for offset in sorted(o for (p, o) in value_at if p == partition)
        ]
        previous: dict[str, tuple[int, str]] = {}
        for value in in_log:
            if value not in acks or value not in send_order:
                continue
            order, producer = send_order[value], producer_of[value]
            before = previous.get(producer)
            if before is not None and order < before[0]:
                report.reordered.append(f"partition {partition}: {value} after {before[1]}")
            previous[producer] = (order, value)
    return report
