"""Shared fixtures of the Python tests.

The whole pytest process runs inside a private network namespace that
tests/python/run.sh made (veth pair va <-> vb, nothing else), so no test can
send multicast on the machine's own network. Tests in separate processes use
the lab of tests/lab/lab.sh (sender s, receivers r1..r3 on a bridge)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB_SH = ROOT / "tests" / "lab" / "lab.sh"
PEER = Path(__file__).resolve().parent / "peer.py"


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f'source "{LAB_SH}"; "$@"', "lab", *args],
        text=True,
        capture_output=True,
        env={**os.environ, "LAB_QUIET": "1"},
    )


class Lab:
    def __init__(self, name: str) -> None:
        self.name = name

    def ns(self, host: str) -> str:
        return f"{self.name}-{host}"

    def popen(self, host: str, args: List[str], stdin: Optional[int] = None) -> "subprocess.Popen[str]":
        return subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), *args],
            text=True,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def peer(self, host: str, *args: str) -> "subprocess.Popen[str]":
        return self.popen(host, [sys.executable, str(PEER), *args])

    def loss(self, host: str, pct: float, port: int) -> None:
        r = _lab("lab_loss", self.name, host, str(pct), str(port))
        assert r.returncode == 0, r.stderr

    def dropped(self, host: str) -> int:
        r = _lab("lab_loss_dropped", self.name, host)
        return int(r.stdout.strip() or 0)

    def wait_joined(self, host: str, group: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["ip", "netns", "exec", self.ns(host), "ip", "-6", "maddr", "show", "dev", "eth0"],
                text=True,
                capture_output=True,
            ).stdout
            # "inet6 GROUP", and " users N" after it when several sockets joined.
            if any(line.split()[:2] == ["inet6", group] for line in out.splitlines()):
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver on {host} did not join {group} within {timeout} s")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    name = f"py{os.getpid() % 100000}"
    r = _lab("lab_up", name, "3")
    if r.returncode != 0:
        _lab("lab_down", name)
        pytest.fail(f"cannot build the network lab (namespaces; needs root): {r.stderr.strip()}")
    try:
        yield Lab(name)
    finally:
        _lab("lab_down", name)


@pytest.fixture(scope="session", autouse=True)
def private_network() -> None:
    """Fails (never skips) unless run by run.sh inside its namespace."""
    out = subprocess.run(["ip", "-o", "link"], text=True, capture_output=True).stdout
    if " va@" not in out or " vb@" not in out or "eth0" in out:
        pytest.fail("run these tests with tests/python/run.sh (it makes the private network namespace they need)")
