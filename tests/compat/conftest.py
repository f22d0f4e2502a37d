"""Fixtures for the real-client compatibility tests.

A `broker` is a real `strom-broker` process (the binary named by STROM_BROKER_BIN, which the test
command builds) on a free loopback port with its own data directory. Each test gets a fresh one
unless it asks for the module-scoped `shared_broker`.
"""

import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A strom-broker process; `restart()` keeps the data directory."""

    def __init__(self, data_dir: Path, overrides: dict[str, str] | None = None):
        self.binary = os.environ.get("STROM_BROKER_BIN")
        if not self.binary or not Path(self.binary).exists():
            raise RuntimeError(
                "STROM_BROKER_BIN must name a built strom-broker binary (scripts/test sets it)"
            )
        self.data_dir = data_dir
        self.port = free_port()
        self.overrides = {
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": str(data_dir / "data"),
            "num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            **(overrides or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir / "broker.log"
        self.start()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        args = [self.binary]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"broker exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"broker did not listen within 30 s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError(f"broker did not stop within 30 s after {sig}:\n{self.log()}")
        return code

    def restart(self) -> None:
        assert self.stop() == 0, self.log()
        self.start()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return "(no log)"


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    yield b
    if b.process and b.process.poll() is None:
        code = b.stop()
        assert code == 0, f"broker exited with {code} on SIGTERM:\n{b.log()}"


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory):
    b = Broker(tmp_path_factory.mktemp("shared"))
    yield b
    if b.process and b.process.poll() is None:
        code = b.stop()
        assert code == 0, f"broker exited with {code} on SIGTERM:\n{b.log()}"


@pytest.fixture
def topic_name():
    return f"t-{uuid.uuid4().hex[:12]}"
