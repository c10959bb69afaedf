"""The Python API in one process, over the veth pair va <-> vb of the test's
private namespace: types, errors, threads, signals, asyncio, streams, keys
and sealed channels."""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator, List, Tuple

import pytest

import mcast

GROUP = "ff3e::4d43:50"
_ports = itertools.count(7300)


@pytest.fixture
def pair() -> Iterator[Tuple[mcast.Context, mcast.Sender, mcast.Receiver]]:
    port = next(_ports)
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb")
        tx = ctx.sender(GROUP, port, "va", rate_bps=200_000_000)
        yield ctx, tx, rx


def test_bytes_bytearray_memoryview_and_info(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair
    ids = [
        tx.send(b"plain"),
        tx.send(bytearray(b"array"), info=b"i1"),
        tx.send(memoryview(b"xxview")[2:], info=bytearray(b"i2")),
        tx.send(b"", info=memoryview(b"empty")),
    ]
    assert ids == sorted(ids) and len(set(ids)) == 4
    tx.flush(timeout=10)
    got = [rx.recv(timeout=5) for _ in ids]
    assert [m.data for m in got] == [b"plain", b"array", b"view", b""]
    assert [m.info for m in got] == [b"", b"i1", b"i2", b"empty"]
    assert [m.object_id for m in got] == ids
    m = got[0]
    assert m.kind == "data" and m.message_end and not m.stream_end and m.lost_before == 0
    assert m.sender.startswith("[fe80::") and m.sender_node_id == tx.node_id
    assert isinstance(m.data, bytes) and "Message(" in repr(m)


def test_files(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver], tmp_path: Path) -> None:
    _, tx, rx = pair
    sizes = [0, 1, 300_000]
    paths = []
    for n in sizes:
        p = tmp_path / f"f{n}.bin"
        p.write_bytes(os.urandom(n))
        paths.append(p)
    ids = [tx.send_file(paths[0]), tx.send_file(str(paths[1])), tx.send_file(paths[2])]
    tx.flush(timeout=20)
    for p, i in zip(paths, ids):
        m = rx.recv(timeout=10)
        assert (m.object_id, m.kind, m.info, m.data) == (i, "file", p.name.encode(), p.read_bytes())
        assert m.path is None


def test_files_to_a_directory(tmp_path: Path) -> None:
    port = next(_ports)
    out = tmp_path / "in"
    out.mkdir()
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb", file_dir=out)
        tx = ctx.sender(GROUP, port, "va", rate_bps=200_000_000)
        src = tmp_path / "big.bin"
        src.write_bytes(os.urandom(2_000_000))
        tx.send_file(src)
        tx.send(b"in memory")
        m = rx.recv(timeout=20)
        assert m.kind == "file" and m.data == b"" and m.info == b"big.bin" and m.path is not None
        assert Path(m.path).parent == out and Path(m.path).read_bytes() == src.read_bytes()
        m2 = rx.recv(timeout=10)
        assert m2.data == b"in memory" and m2.path is None
        os.unlink(m.path)
        rx.close()
        assert list(out.iterdir()) == []
        with pytest.raises(OSError):
            ctx.receiver(GROUP, port, "vb", file_dir=tmp_path / "missing")


def test_errors_are_the_documented_exceptions(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver], tmp_path: Path) -> None:
    ctx, tx, rx = pair
    with pytest.raises(mcast.InvalidArgument):
        ctx.sender("not-an-address", 5000, "va")
    with pytest.raises(mcast.InvalidArgument, match="port"):
        ctx.sender(GROUP, 70000, "va")
    with pytest.raises(mcast.InvalidArgument, match="multicast"):
        ctx.receiver("2001:db8::1", 5000, "vb")
    with pytest.raises(mcast.NoSuchInterface) as e:
        ctx.receiver(GROUP, 5000, "nope0")
    assert e.value.interface == "nope0" and isinstance(e.value, ValueError)
    with pytest.raises(mcast.InvalidArgument, match="unknown sender option"):
        ctx.sender(GROUP, 5000, "va", rate=1)
    with pytest.raises(mcast.InvalidArgument, match="minimum rate"):
        ctx.sender(GROUP, 5000, "va", rate_bps=1_000_000, rate_min_bps=2_000_000)
    with pytest.raises(mcast.InvalidArgument, match="congestion_control"):
        ctx.sender(GROUP, 5000, "va", congestion_control="yes")
    with pytest.raises(mcast.InvalidArgument, match="sync_policy"):
        ctx.receiver(GROUP, 5000, "vb", sync_policy="some")
    with pytest.raises(mcast.InvalidArgument, match="block size"):
        ctx.sender(GROUP, 5000, "va", block_size=250, parity=10)
    with pytest.raises(mcast.InvalidArgument):
        ctx.sender(GROUP, 5000, "va", parity=-1)
    with pytest.raises(mcast.InvalidArgument, match="timeout"):
        rx.recv(timeout=-1)
    with pytest.raises(TypeError, match="str"):
        tx.send("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tx.send(12)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError) as f:
        tx.send_file(tmp_path / "missing")
    assert f.value.errno == errno.ENOENT
    with pytest.raises(mcast.Timeout):
        rx.recv(timeout=0.05)
    with pytest.raises(TimeoutError):
        rx.recv(timeout=0)
    with pytest.raises(mcast.WouldBlock):
        rx.try_recv()
    # Every one of them is an mcast.Error (except the OS and type errors).
    assert issubclass(mcast.Timeout, mcast.Error) and issubclass(mcast.Closed, mcast.Error)


def test_closed_handles_raise_closed() -> None:
    ctx = mcast.Context()
    port = next(_ports)
    tx = ctx.sender(GROUP, port, "va")
    rx = ctx.receiver(GROUP, port, "vb")
    tx.close()
    with pytest.raises(mcast.Closed):
        tx.send(b"x")
    ctx.close()
    assert ctx.closed
    with pytest.raises(mcast.Closed):
        rx.recv(timeout=1)
    with pytest.raises(mcast.Closed):
        ctx.sender(GROUP, port, "va")
    ctx.close()  # twice is fine


def test_closing_the_context_wakes_a_recv_blocked_in_another_thread() -> None:
    ctx = mcast.Context()
    rx = ctx.receiver(GROUP, next(_ports), "vb")
    result: list[BaseException] = []

    def wait() -> None:
        try:
            rx.recv()
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            result.append(e)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    ctx.close()
    t.join(5)
    assert not t.is_alive(), "recv did not return after the context closed"
    assert len(result) == 1 and isinstance(result[0], mcast.Closed)
    assert time.monotonic() - t0 < 2


def test_closing_the_receiver_wakes_a_recv_blocked_in_another_thread(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, _, rx = pair
    result: list[BaseException] = []
    t = threading.Thread(target=lambda: result.append(pytest.raises(mcast.Closed, rx.recv).value))
    t.start()
    time.sleep(0.2)
    rx.close()
    t.join(5)
    assert not t.is_alive() and isinstance(result[0], mcast.Closed)


def test_blocking_recv_releases_the_gil(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, _, rx = pair
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    with pytest.raises(mcast.Timeout):
        rx.recv(timeout=0.5)
    stop.set()
    t.join()
    # A thread that held the GIL for 0.5 s would starve the counter.
    assert counter[0] > 10_000


def interrupt_delay(setup: str, call: str) -> float:
    """Seconds from SIGINT to KeyboardInterrupt in a child process that runs
    `setup`, then blocks in `call` (Ctrl-C is a SIGINT to the process)."""
    code = (
        "import mcast, sys, time\n"
        f"{setup}\n"
        "print('ready', flush=True)\n"
        "try:\n"
        f"    {call}\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', time.monotonic(), flush=True)\n"
        "    sys.exit(42)\n"
        "print('returned', flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # well into the call
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            out = p.communicate(timeout=5)[0]
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{call}: no KeyboardInterrupt within 5 s of SIGINT") from None
        line = out.split()
        assert p.returncode == 42 and line[:1] == ["interrupted"], f"{call}: exit {p.returncode}: {out}"
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return float(line[1]) - sent


def assert_interrupted_quickly(setup: str, call: str) -> None:
    """KeyboardInterrupt within 0.2 s of SIGINT (the best of three tries,
    on a busy machine)."""
    delays: List[float] = []
    for _ in range(3):
        delays.append(interrupt_delay(setup, call))
        if delays[-1] < 0.2:
            break
    print(f"{call}: KeyboardInterrupt {min(delays) * 1000:.0f} ms after SIGINT")
    assert min(delays) < 0.2, f"{call}: KeyboardInterrupt took {', '.join(f'{d:.3f}' for d in delays)} s"


def test_ctrl_c_interrupts_a_blocking_recv_quickly() -> None:
    assert_interrupted_quickly(f"ctx = mcast.Context()\nrx = ctx.receiver('{GROUP}', {next(_ports)}, 'vb')", "rx.recv()")


# A sender at 100 kbit/s with 400 kB to send: flushes wait for about 30 s.
SLOW_SENDER = (
    "ctx = mcast.Context()\n"
    f"tx = ctx.sender('{GROUP}', {{port}}, 'va', rate_bps=100_000, congestion_control=False)\n"
    "tx.send(bytes(400_000))"
)


def test_ctrl_c_interrupts_a_blocking_flush_quickly() -> None:
    assert_interrupted_quickly(SLOW_SENDER.format(port=next(_ports)), "tx.flush()")


def test_ctrl_c_interrupts_a_blocking_flush_acked_quickly() -> None:
    assert_interrupted_quickly(SLOW_SENDER.format(port=next(_ports)), "tx.flush_acked([4343], timeout=60)")


def test_ctrl_c_interrupts_a_send_file_waiting_for_room_quickly(tmp_path: Path) -> None:
    f = tmp_path / "waits.bin"
    f.write_bytes(b"x" * 1000)
    # A one-object cache that waits for a receiver that is not there: the
    # first object fills it for good.
    setup = (
        "ctx = mcast.Context()\n"
        f"tx = ctx.sender('{GROUP}', {next(_ports)}, 'va', cache_max_objects=1, wait_for_acks=[4245])\n"
        "tx.send(b'fills the cache', timeout=5)"
    )
    assert_interrupted_quickly(setup, f"tx.send_file({str(f)!r})")
    # Left alone, it waits (in slices) until there is room, then queues
    # the file once: here, until the receiver acknowledges the first object.
    port = next(_ports)
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb", node_id=4246)
        tx = ctx.sender(GROUP, port, "va", cache_max_objects=1, wait_for_acks=[4246], rate_bps=200_000_000)
        tx.send(b"first", timeout=5)
        tx.send_file(f)
        assert rx.recv(timeout=5).data == b"first"
        m = rx.recv(timeout=5)
        assert (m.kind, m.info, m.data) == ("file", b"waits.bin", f.read_bytes())
        with pytest.raises(mcast.Timeout):
            rx.recv(timeout=0.5)


def test_selectors_see_the_receiver(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair
    sel = selectors.DefaultSelector()
    sel.register(rx, selectors.EVENT_READ)
    assert sel.select(timeout=0.1) == []
    tx.send(b"ping")
    events = sel.select(timeout=5)
    assert len(events) == 1 and events[0][0].fileobj is rx
    assert rx.try_recv().data == b"ping"
    assert sel.select(timeout=0.1) == []


def test_asyncio_recv_keeps_the_loop_responsive(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair

    async def main() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        with pytest.raises(mcast.Timeout):
            await rx.recv_async(timeout=0.3)
        assert ticks >= 10, f"the event loop was blocked ({ticks} ticks in 0.3 s)"
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, tx.send, b"late")
        m = await rx.recv_async(timeout=5)
        assert m.data == b"late"
        for i in range(20):
            tx.send(b"n%d" % i)
        got = []
        async for m in rx:
            got.append(m.data)
            if len(got) == 20:
                break
        assert got == [b"n%d" % i for i in range(20)]
        t.cancel()

    asyncio.run(main())


def test_async_for_ends_when_the_receiver_closes(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair

    async def main() -> int:
        asyncio.get_running_loop().call_later(0.2, rx.close)
        n = 0
        async for _ in rx:
            n += 1
        return n

    assert asyncio.run(asyncio.wait_for(main(), 5)) == 0


def test_a_stream(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair
    msgs = [b"line %d " % i + b"x" * (i * 37 % 3000) for i in range(300)]
    with tx.open_stream(b"feed") as st:
        assert isinstance(st.id, int)
        for m in msgs:
            st.write(m)
    tx.flush(timeout=30)
    assert _stream_messages(iter(lambda: rx.recv(timeout=10), None), b"feed") == msgs


def _stream_messages(pieces: Iterable[mcast.Message], info: bytes) -> List[bytes]:
    """The messages of a stream from its pieces, up to its end (which must
    come), nothing lost, each piece carrying `info`."""
    got: List[bytes] = []
    part = b""
    for m in pieces:
        assert m.kind == "stream" and m.lost_before == 0
        if m.stream_end:
            return got
        assert m.info == info
        part += m.data
        if m.message_end:
            got.append(part)
            part = b""
    raise AssertionError("the stream did not end")


def test_stats_are_dicts_of_counters(pair: Tuple[mcast.Context, mcast.Sender, mcast.Receiver]) -> None:
    _, tx, rx = pair
    tx.send(b"x" * 5000)
    tx.flush(timeout=10)
    rx.recv(timeout=5)
    s, r = tx.stats(), rx.stats()
    assert s["objects_sent"] == 1 and s["data_segments_sent"] == 4 and s["bytes_sent"] > 5000
    assert r["objects_completed"] == 1 and r["senders"] == 1
    # Congestion control is on by default: the receiver gave feedback.
    assert s["cc_feedback_received"] > 0 and s["cc_clr"] != 0 and 64_000 <= s["tx_rate_bps"] <= 200_000_000
    assert all(isinstance(v, int) for v in [*s.values(), *r.values()])
    assert rx.progress() == []


def test_version() -> None:
    assert mcast.__version__ == mcast.version() and mcast.__version__.count(".") == 2


def test_channel_addresses_match_the_documented_vectors() -> None:
    assert mcast.channel_address("news") == ("ff1e:ed75:5737:908e:e779:efa7:6800:c7c3", 53117)
    assert mcast.channel_address("news", ssm=True) == ("ff3e::ed75:5737", 53117)
    assert mcast.channel_address("news", scope="link") == ("ff12:ed75:5737:908e:e779:efa7:6800:c7c3", 53117)
    assert mcast.channel_address("news", "site", True) == ("ff35::ed75:5737", 53117)
    assert mcast.channel_address("sensor/42") == ("ff1e:411:977f:7741:5e1:bd8:86e:313b", 61661)
    assert mcast.channel_address("sensor/42", ssm=True) == ("ff3e::8411:977f", 61661)
    assert mcast.channel_address("Grüße ☃") == ("ff1e:c75f:d652:f9be:c1aa:1f53:5856:6f3c", 50305)
    assert mcast.channel_address("Grüße ☃", scope="org", ssm=True) == ("ff38::c75f:d652", 50305)
    with pytest.raises(mcast.InvalidArgument):
        mcast.channel_address("")
    with pytest.raises(mcast.InvalidArgument):
        mcast.channel_address("x", scope="planet")  # type: ignore[arg-type]
    # A channel is a group like any other.
    group, port = mcast.channel_address("py-test-channel", scope="link")
    with mcast.Context() as ctx:
        rx = ctx.receiver(group, port, "vb")
        tx = ctx.sender(group, port, "va")
        tx.send(b"on a channel")
        assert rx.recv(timeout=5).data == b"on a channel"


def test_source_specific_receivers_hear_only_their_sources() -> None:
    out = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", "va", "scope", "link"], capture_output=True, text=True).stdout
    va = out.split("inet6 ")[1].split("/")[0]
    port = next(_ports)
    with mcast.Context() as ctx:
        mine = ctx.receiver("ff3e::8000:1", port, "vb", sources=[va])
        other = ctx.receiver("ff3e::8000:1", port, "vb", sources=["fe80::1234"])
        tx = ctx.sender("ff3e::8000:1", port, "va")
        tx.send(b"ssm")
        assert mine.recv(timeout=5).data == b"ssm"
        with pytest.raises(mcast.Timeout):
            other.recv(timeout=1)
        with pytest.raises(mcast.InvalidArgument):
            ctx.receiver("ff3e::8000:1", port, "vb", sources=["not-an-address"])


def test_acknowledged_flush() -> None:
    port = next(_ports)
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb", node_id=4242)
        tx = ctx.sender(GROUP, port, "va")
        assert rx.node_id == 4242
        tx.send(b"x" * 10000)
        acked, missing = tx.flush_acked([4242, 4343], timeout=5)
        assert (acked, missing) == ([4242], [4343])
        assert rx.recv(timeout=5).data == b"x" * 10000
        with pytest.raises(mcast.InvalidArgument):
            ctx.receiver(GROUP, port, "vb", node_id=0)


def test_flow_control_waits_for_the_listed_receivers() -> None:
    port = next(_ports)
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb", node_id=4244)
        # A two-object cache that waits for the receiver: twenty objects go
        # through as it acknowledges them.
        tx = ctx.sender(GROUP, port, "va", cache_max_objects=2, wait_for_acks=[4244])
        for i in range(20):
            tx.send(bytes([i]) * 3000, timeout=10)
        assert [rx.recv(timeout=5).data[0] for _ in range(20)] == list(range(20))
        # Waiting for a receiver that is not there: the cache stays full.
        gone = ctx.sender(GROUP, port + 1, "va", cache_max_objects=2, wait_for_acks=[4245])
        gone.send(b"a", timeout=5)
        gone.send(b"b", timeout=5)
        with pytest.raises(mcast.Timeout):
            gone.send(b"c", timeout=3)
        # The default (leave behind) goes on once the objects' hold is over.
        free = ctx.sender(GROUP, port + 2, "va", cache_max_objects=2)
        for data in [b"a", b"b", b"c"]:
            free.send(data, timeout=15)
        with pytest.raises(mcast.InvalidArgument, match="at least one node id"):
            ctx.sender(GROUP, port, "va", wait_for_acks=[])
        with pytest.raises(mcast.InvalidArgument, match="wait_for_acks"):
            ctx.sender(GROUP, port, "va", wait_for_acks=[-1])


def test_without_an_interface_mcast_picks_one() -> None:
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, next(_ports))
        assert rx.node_id > 0
        # It says which: here the veth end with the lower index (the rule of
        # docs/PROTOCOL.md "Interface choice"; lo is never a candidate).
        by_index = sorted(socket.if_nameindex())
        assert rx.interface == next(name for _, name in by_index if name in ("va", "vb"))
        tx = ctx.sender(GROUP, next(_ports), "va")
        assert tx.interface == "va"
        tx.close()
        with pytest.raises(mcast.Closed):
            tx.interface


def test_keys_are_generated_and_loaded(tmp_path: Path) -> None:
    k1, k2 = mcast.generate_key(), mcast.generate_key()
    assert isinstance(k1, bytes) and len(k1) == 32 and len(k2) == 32 and k1 != k2
    hex_file = tmp_path / "hex.key"
    hex_file.write_text(k1.hex() + "\n")  # what `mcast keygen` writes
    assert mcast.load_key(hex_file) == k1 and mcast.load_key(str(hex_file)) == k1
    (tmp_path / "upper.key").write_text("  " + k1.hex().upper() + "\r\n")
    assert mcast.load_key(tmp_path / "upper.key") == k1
    raw = bytes(range(200, 232))  # not all hexadecimal digits: the raw form
    (tmp_path / "raw.key").write_bytes(raw)
    assert mcast.load_key(tmp_path / "raw.key") == raw
    for name, content in (
        ("short.key", k1.hex()[:-1].encode()),
        ("long.key", (k1.hex() + "0").encode()),
        ("nothex.key", b"g" * 64),
        ("raw31.key", raw[:31]),
        ("raw33.key", raw + b"\x00"),
        ("empty.key", b""),
    ):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(mcast.InvalidArgument, match="64 hexadecimal digits") as e:
            mcast.load_key(tmp_path / name)
        assert name in str(e.value)
    with pytest.raises(FileNotFoundError) as f:
        mcast.load_key(tmp_path / "missing.key")
    assert f.value.errno == errno.ENOENT and "missing.key" in str(f.value)
    with pytest.raises(IsADirectoryError):
        mcast.load_key(tmp_path)


def test_keys_and_max_ages_are_checked() -> None:
    port = next(_ports)
    with mcast.Context() as ctx:
        for bad in (b"", b"k" * 31, bytearray(33)):
            with pytest.raises(mcast.InvalidArgument, match=f"sender option key: a key is 32 bytes, not {len(bad)}"):
                ctx.sender(GROUP, port, "va", key=bad)
            with pytest.raises(mcast.InvalidArgument, match=f"receiver option key: a key is 32 bytes, not {len(bad)}"):
                ctx.receiver(GROUP, port, "vb", key=bad)
        with pytest.raises(mcast.InvalidArgument, match="not str"):
            ctx.sender(GROUP, port, "va", key="00" * 32)  # type: ignore[arg-type]
        with pytest.raises(mcast.InvalidArgument, match="not int"):
            ctx.receiver(GROUP, port, "vb", key=32)  # type: ignore[arg-type]
        for age in (-1, 0, float("nan"), 1e300, "soon"):
            with pytest.raises(mcast.InvalidArgument, match="seal_max_age"):
                ctx.sender(GROUP, port, "va", key=bytes(32), seal_max_age=age)  # type: ignore[arg-type]
            with pytest.raises(mcast.InvalidArgument, match="seal_max_age"):
                ctx.receiver(GROUP, port, "vb", key=bytes(32), seal_max_age=age)  # type: ignore[arg-type]
        # Sealing takes 44 bytes of each segment: 16 + 44 is the least.
        with pytest.raises(mcast.InvalidArgument, match="segment size 59 .*with a key"):
            ctx.sender(GROUP, port, "va", key=bytes(32), segment_size=59)
        ctx.sender(GROUP, port, "va", key=bytes(32), segment_size=60).close()
        # Every bytes-like form, None (no key), and None for no age limit.
        ctx.sender(GROUP, port, "va", key=bytearray(32), seal_max_age=None).close()
        ctx.receiver(GROUP, port, "vb", key=memoryview(bytes(64))[::2], seal_max_age=0.5).close()
        ctx.receiver(GROUP, port, "vb", key=None, seal_max_age=None).close()


def test_a_sealed_channel_rejects_other_keys_and_no_key() -> None:
    port = next(_ports)
    key = mcast.generate_key()
    with mcast.Context() as ctx:
        same = ctx.receiver(GROUP, port, "vb", key=key)
        other = ctx.receiver(GROUP, port, "vb", key=mcast.generate_key())
        keyless = ctx.receiver(GROUP, port, "vb")
        tx = ctx.sender(GROUP, port, "va", key=key, rate_bps=200_000_000)
        tx.send(b"secret" * 1000, info=b"sealed")
        tx.flush(timeout=10)
        m = same.recv(timeout=5)
        assert (m.data, m.info, m.sender_node_id) == (b"secret" * 1000, b"sealed", tx.node_id)
        for rx, reason, counter in ((other, "different key", "datagrams_unauthenticated"), (keyless, "no key", "datagrams_seal_mismatch")):
            # One Rejected per source (the sender, and `same`, whose sealed
            # feedback every receiver hears), then nothing: no message.
            rejected: list[mcast.Rejected] = []
            while True:
                try:
                    unexpected = rx.recv(timeout=0.5 if rejected else 5)
                except mcast.Rejected as e:
                    rejected.append(e)
                    continue
                except mcast.Timeout:
                    break
                pytest.fail(f"{reason}: received {unexpected!r}")
            assert rejected, f"{reason}: no Rejected"
            assert all(isinstance(r, mcast.Error) and reason in r.reason and reason in str(r) for r in rejected)
            assert sorted(r.sender_node_id for r in rejected) == sorted({r.sender_node_id for r in rejected})
            assert [r.sender for r in rejected if r.sender_node_id == tx.node_id] == [m.sender]
            st = rx.stats()
            assert st[counter] > 0 and st["senders"] == 0 and st["objects_completed"] == 0
        # (datagrams_replayed is not 0 here: every datagram arrives twice in
        # this namespace, looped back on va and through vb, and the second
        # copy is dropped as a replay.)
        s, r = tx.stats(), same.stats()
        for name in ("datagrams_unauthenticated", "datagrams_seal_mismatch"):
            assert s[name] == 0 and r[name] == 0, name
        assert "datagrams_replayed" in s and "datagrams_replayed" in r
        # An unsealed sender on the sealed channel: rejected, also by asyncio.
        plain = ctx.sender(GROUP, port, "va")
        plain.send(b"in the clear")

        async def main() -> mcast.Rejected:
            with pytest.raises(mcast.Rejected) as e:
                await same.recv_async(timeout=5)
            return e.value

        unsealed = asyncio.run(main())
        assert "not sealed" in unsealed.reason and unsealed.sender_node_id == plain.node_id
        # The engine publishes stats just after it queues what recv returns:
        # give it a moment.
        deadline = time.monotonic() + 2
        while same.stats()["datagrams_seal_mismatch"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert same.stats()["datagrams_seal_mismatch"] > 0
    assert "Rejected" in mcast.__all__ and "generate_key" in mcast.__all__ and "load_key" in mcast.__all__


# RFC 8032, section 7.1, TEST 1: a secret key and its public key.
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
# 32 bytes that are no point of the curve at all (y = 0x0202...02).
NOT_A_POINT = bytes([2]) * 32
# 32 bytes that are no usable public key either: a non-canonical encoding
# (all 0xff: y = 2^255 - 1, above the field's prime, would decode to the
# point with y = 18), a small-order point (all zeros) and a point with a
# small-order part (all 0x01).
NOT_PUBLIC_KEYS = [NOT_A_POINT, bytes([0xFF]) * 32, bytes(32), bytes([1]) * 32]


def test_signing_keys_are_generated_derived_and_loaded(tmp_path: Path) -> None:
    secret, public = mcast.generate_signing_key()
    secret2, public2 = mcast.generate_signing_key()
    assert all(isinstance(k, bytes) and len(k) == 32 for k in (secret, public, secret2, public2))
    assert secret != secret2 and public != public2 and secret != public
    assert mcast.signing_public_key(secret) == public and mcast.signing_public_key(secret2) == public2
    assert mcast.signing_public_key(bytearray(secret)) == public
    assert mcast.signing_public_key(memoryview(b"xx" + secret)[2:]) == public
    assert mcast.signing_public_key(RFC8032_SECRET) == RFC8032_PUBLIC
    for bad in (b"", secret[:31], secret + b"\x00", public + public):
        with pytest.raises(mcast.InvalidArgument, match=f"signing_public_key: a key is 32 bytes, not {len(bad)}"):
            mcast.signing_public_key(bad)
    with pytest.raises(mcast.InvalidArgument, match="not str"):
        mcast.signing_public_key(secret.hex())  # type: ignore[arg-type]

    # Files as `mcast keygen --sign FILE` writes them: FILE and FILE.pub,
    # each 64 hexadecimal digits and a newline.
    (tmp_path / "signer").write_text(secret.hex() + "\n")
    (tmp_path / "signer.pub").write_text(public.hex() + "\n")
    assert mcast.load_signing_key(tmp_path / "signer") == secret
    assert mcast.load_signing_key(str(tmp_path / "signer")) == secret
    assert mcast.load_public_key(tmp_path / "signer.pub") == public
    assert mcast.load_public_key(str(tmp_path / "signer.pub")) == public
    (tmp_path / "upper").write_text("  " + RFC8032_SECRET.hex().upper() + "\r\n")
    (tmp_path / "upper.pub").write_text("\t" + RFC8032_PUBLIC.hex().upper() + "\n\n")
    assert mcast.load_signing_key(tmp_path / "upper") == RFC8032_SECRET
    assert mcast.load_public_key(tmp_path / "upper.pub") == RFC8032_PUBLIC
    # The raw form: exactly 32 bytes, not all hexadecimal digits.
    (tmp_path / "raw").write_bytes(secret2)
    (tmp_path / "raw.pub").write_bytes(public2)
    if not all(chr(b) in "0123456789abcdefABCDEF" for b in secret2 + public2):
        assert mcast.load_signing_key(tmp_path / "raw") == secret2
        assert mcast.load_public_key(tmp_path / "raw.pub") == public2

    for name, content in (
        ("short", secret.hex()[:-1].encode()),
        ("long", (secret.hex() + "0").encode()),
        ("nothex", b"g" * 64),
        ("raw31", bytes(range(200, 231))),
        ("raw33", bytes(range(200, 233))),
        ("empty", b""),
        ("both", (secret.hex() + "\n" + public.hex() + "\n").encode()),
    ):
        (tmp_path / name).write_bytes(content)
        for load in (mcast.load_signing_key, mcast.load_public_key):
            with pytest.raises(mcast.InvalidArgument, match="64 hexadecimal digits") as e:
                load(tmp_path / name)
            assert name in str(e.value), (load, str(e.value))
    for load in (mcast.load_signing_key, mcast.load_public_key):
        with pytest.raises(FileNotFoundError) as f:
            load(tmp_path / "missing")
        assert f.value.errno == errno.ENOENT and "missing" in str(f.value)
        with pytest.raises(IsADirectoryError):
            load(tmp_path)

    # A public key must be a usable point of the curve, in either form; any
    # 32 bytes are a signing key (a seed).
    for i, bad in enumerate(NOT_PUBLIC_KEYS):
        (tmp_path / f"bad{i}.pub").write_text(bad.hex() + "\n")
        (tmp_path / f"badraw{i}.pub").write_bytes(bad)
        for name in (f"bad{i}.pub", f"badraw{i}.pub"):
            with pytest.raises(mcast.InvalidArgument, match="not a valid Ed25519 public key") as e:
                mcast.load_public_key(tmp_path / name)
            assert name in str(e.value)
        assert mcast.load_signing_key(tmp_path / f"bad{i}.pub") == bad
        assert len(mcast.signing_public_key(bad)) == 32


def test_signing_options_are_checked() -> None:
    port = next(_ports)
    secret, public = mcast.generate_signing_key()
    with mcast.Context() as ctx:
        for bad in (b"", secret[:31], bytearray(33), secret + public):
            with pytest.raises(mcast.InvalidArgument, match=f"sender option signing_key: a key is 32 bytes, not {len(bad)}"):
                ctx.sender(GROUP, port, "va", signing_key=bad)
            with pytest.raises(mcast.InvalidArgument, match=rf"receiver option trusted_signers\[0\]: a key is 32 bytes, not {len(bad)}"):
                ctx.receiver(GROUP, port, "vb", trusted_signers=[bad])
        with pytest.raises(mcast.InvalidArgument, match="signing_key: a key is 32 bytes .*not str"):
            ctx.sender(GROUP, port, "va", signing_key=secret.hex())  # type: ignore[arg-type]
        with pytest.raises(mcast.InvalidArgument, match="signing_key: a key is 32 bytes .*not int"):
            ctx.sender(GROUP, port, "va", signing_key=7)  # type: ignore[arg-type]
        # Which key is wrong, and how.
        for bad in NOT_PUBLIC_KEYS:
            with pytest.raises(mcast.InvalidArgument, match=r"trusted_signers\[1\]: not a valid Ed25519 public key"):
                ctx.receiver(GROUP, port, "vb", trusted_signers=[public, bad])
        with pytest.raises(mcast.InvalidArgument, match=r"trusted_signers\[2\]: a key is 32 bytes, not 31"):
            ctx.receiver(GROUP, port, "vb", trusted_signers=(public, public, public[:31]))
        with pytest.raises(mcast.InvalidArgument, match=r"trusted_signers\[0\]: .*not str"):
            ctx.receiver(GROUP, port, "vb", trusted_signers=[public.hex()])  # type: ignore[list-item]
        # One key alone is not a sequence of keys (bytes would be one of ints).
        for single in (public, bytearray(public), memoryview(public), public.hex()):
            with pytest.raises(mcast.InvalidArgument, match="trusted_signers: a sequence of 32-byte public keys .*not a single"):
                ctx.receiver(GROUP, port, "vb", trusted_signers=single)  # type: ignore[arg-type]
        with pytest.raises(mcast.InvalidArgument, match="trusted_signers: a sequence of 32-byte public keys, not int"):
            ctx.receiver(GROUP, port, "vb", trusted_signers=5)  # type: ignore[arg-type]
        # The signature takes 128 bytes of a segment (and sealing 44 more).
        with pytest.raises(mcast.InvalidArgument, match="too small to sign"):
            ctx.sender(GROUP, port, "va", signing_key=secret, segment_size=143)
        with pytest.raises(mcast.InvalidArgument, match="too small to sign .*with a key"):
            ctx.sender(GROUP, port, "va", signing_key=secret, key=bytes(32), segment_size=187)
        ctx.sender(GROUP, port, "va", signing_key=secret, key=bytes(32), segment_size=188).close()
        # Every accepted form: bytes-like keys, any sequence, None, empty.
        ctx.sender(GROUP, port, "va", signing_key=bytearray(secret)).close()
        ctx.sender(GROUP, port, "va", signing_key=memoryview(secret), node_id=None).close()
        ctx.sender(GROUP, port, "va", signing_key=None).close()
        ctx.receiver(GROUP, port, "vb", trusted_signers=(bytearray(public), memoryview(public), RFC8032_PUBLIC)).close()
        ctx.receiver(GROUP, port, "vb", trusted_signers=iter([public])).close()  # type: ignore[arg-type]
        ctx.receiver(GROUP, port, "vb", trusted_signers=[]).close()
        ctx.receiver(GROUP, port, "vb", trusted_signers=()).close()


def _drain(rx: mcast.Receiver, first: float = 5, quiet: float = 1) -> Tuple[list[mcast.Message], list[mcast.Rejected], list[mcast.Aborted]]:
    """Everything a receiver raises or returns until it is quiet."""
    msgs: list[mcast.Message] = []
    rejected: list[mcast.Rejected] = []
    aborted: list[mcast.Aborted] = []
    while True:
        try:
            msgs.append(rx.recv(timeout=quiet if msgs or rejected or aborted else first))
        except mcast.Rejected as e:
            rejected.append(e)
        except mcast.Aborted as e:
            aborted.append(e)
        except mcast.Timeout:
            return msgs, rejected, aborted


def test_signed_objects_reach_only_receivers_that_trust_their_key(tmp_path: Path) -> None:
    port = next(_ports)
    secret, public = mcast.generate_signing_key()
    _, other_public = mcast.generate_signing_key()
    big = os.urandom(300_000)  # many FEC blocks
    f = tmp_path / "signed.bin"
    f.write_bytes(os.urandom(100_000))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with mcast.Context() as ctx:
        trusting = ctx.receiver(GROUP, port, "vb", trusted_signers=[public])
        either = ctx.receiver(GROUP, port, "vb", trusted_signers=[other_public, public])
        distrusting = ctx.receiver(GROUP, port, "vb", trusted_signers=[other_public])
        plain = ctx.receiver(GROUP, port, "vb")
        # FILE objects written to disk block by block are checked too.
        (tmp_path / "in").mkdir()
        (tmp_path / "refused").mkdir()
        spooled = ctx.receiver(GROUP, port, "vb", trusted_signers=[public], file_dir=tmp_path / "in")
        spool_refused = ctx.receiver(GROUP, port, "vb", trusted_signers=[other_public], file_dir=tmp_path / "refused")
        tx = ctx.sender(GROUP, port, "va", signing_key=secret, rate_bps=200_000_000)
        # info may use the segment less the 128-byte signature.
        with pytest.raises(mcast.InvalidArgument, match="less the 128-byte signature"):
            tx.send(b"x", info=b"i" * (1400 - 127))
        ids = [
            tx.send(b"small", info=b"i1"),
            tx.send(big),
            tx.send(b"", info=b"i" * (1400 - 128)),
            tx.send_file(f),
            tx.send_file(empty),
        ]
        tx.flush(timeout=20)
        want = [
            (b"small", b"i1", "data"),
            (big, b"", "data"),
            (b"", b"i" * (1400 - 128), "data"),
            (f.read_bytes(), b"signed.bin", "file"),
            (b"", b"empty.bin", "file"),
        ]
        for rx, signer in ((trusting, public), (either, public), (plain, None)):
            msgs, rejected, aborted = _drain(rx)
            assert not rejected and not aborted, (signer, rejected, aborted)
            # The signature block is not part of the info anyone sees.
            assert [(m.data, m.info, m.kind) for m in msgs] == want
            assert [m.object_id for m in msgs] == ids
            assert all(m.signer == signer and m.sender_node_id == tx.node_id for m in msgs)
            st = rx.stats()
            assert st["objects_unverified"] == 0 and st["signatures_refused"] == 0 and st["objects_completed"] == len(ids)
        msgs, rejected, aborted = _drain(spooled)
        assert not rejected and not aborted, (rejected, aborted)
        assert [m.object_id for m in msgs] == ids and all(m.signer == public for m in msgs)
        files = [(m.info, Path(m.path).read_bytes()) for m in msgs if m.path is not None]
        assert files == [(b"signed.bin", f.read_bytes()), (b"empty.bin", b"")]

        # A receiver that trusts another key: every object aborted, the
        # sender rejected once, no data.
        msgs, rejected, aborted = _drain(distrusting)
        assert msgs == [], msgs
        assert len(rejected) == 1, rejected
        assert "does not trust" in rejected[0].reason and "does not trust" in str(rejected[0])
        assert rejected[0].sender_node_id == tx.node_id and isinstance(rejected[0], mcast.Error)
        assert sorted(a.object_id for a in aborted) == ids, aborted
        assert all(a.reason.startswith("refused: ") and "does not trust" in a.reason for a in aborted)
        assert all(a.sender_node_id == tx.node_id for a in aborted)
        st = distrusting.stats()
        assert st["objects_unverified"] == len(ids) and st["signatures_refused"] >= len(ids) and st["objects_completed"] == 0
        assert "objects_unverified" in plain.stats() and "signatures_refused" in plain.stats()
        msgs, rejected, aborted = _drain(spool_refused)
        assert msgs == [] and len(rejected) == 1 and sorted(a.object_id for a in aborted) == ids
        spool_refused.close()
        assert list((tmp_path / "refused").iterdir()) == []


def test_signed_streams_name_their_signer() -> None:
    port = next(_ports)
    secret, public = mcast.generate_signing_key()
    _, other_public = mcast.generate_signing_key()
    msgs = [b"line %d " % i + b"x" * (i * 37 % 3000) for i in range(300)]
    with mcast.Context() as ctx:
        trusting = ctx.receiver(GROUP, port, "vb", trusted_signers=[public])
        distrusting = ctx.receiver(GROUP, port, "vb", trusted_signers=[other_public])
        plain = ctx.receiver(GROUP, port, "vb")
        tx = ctx.sender(GROUP, port, "va", signing_key=secret, rate_bps=200_000_000)
        with tx.open_stream(b"feed") as st:
            for m in msgs:
                st.write(m)
        tx.flush(timeout=30)
        for rx, signer in ((trusting, public), (plain, None)):
            pieces, rejected, aborted = _drain(rx)
            assert not rejected and not aborted, (rejected, aborted)
            assert all(m.signer == signer for m in pieces)
            assert _stream_messages(pieces, b"feed") == msgs
        # Signed by a key it does not trust: refused when it ends.
        pieces, rejected, aborted = _drain(distrusting)
        assert pieces == [], pieces
        assert len(rejected) == 1 and "does not trust" in rejected[0].reason, rejected
        assert len(aborted) == 1 and aborted[0].reason.startswith("refused: ") and "does not trust" in aborted[0].reason, aborted
        assert distrusting.stats()["signatures_refused"] > 0


def test_receivers_that_trust_signers_refuse_unsigned_objects_and_streams() -> None:
    port = next(_ports)
    secret, public = mcast.generate_signing_key()
    with mcast.Context() as ctx:
        trusting = ctx.receiver(GROUP, port, "vb", trusted_signers=[public])
        unsigned = ctx.sender(GROUP, port, "va", rate_bps=200_000_000)
        data_id = unsigned.send(b"unsigned", info=b"u")
        with unsigned.open_stream(b"feed") as st:
            st.write(b"a stream")
        unsigned.flush(timeout=10)
        msgs, rejected, aborted = _drain(trusting)
        assert msgs == [], msgs
        # Neither is signed: the sender is rejected once for that.
        reasons = [r.reason for r in rejected]
        assert len(reasons) == 1 and "not signed" in reasons[0], reasons
        assert all(r.sender_node_id == unsigned.node_id for r in rejected)
        assert len(aborted) == 2 and aborted[0].object_id == data_id, aborted
        assert all(a.reason.startswith("refused: ") for a in aborted)
        assert trusting.stats()["objects_unverified"] == 2


def test_a_sender_with_a_fixed_node_id() -> None:
    port = next(_ports)
    secret, public = mcast.generate_signing_key()
    with mcast.Context() as ctx:
        rx = ctx.receiver(GROUP, port, "vb")
        tx = ctx.sender(GROUP, port, "va", node_id=1234)
        assert tx.node_id == 1234
        tx.send(b"from 1234")
        m = rx.recv(timeout=5)
        assert (m.data, m.sender_node_id, m.signer) == (b"from 1234", 1234, None)
        tx.close()
        # The highest id there is, signing on a sealed channel.
        port = next(_ports)
        key = mcast.generate_key()
        sealed = ctx.receiver(GROUP, port, "vb", key=key, trusted_signers=[public])
        tx = ctx.sender(GROUP, port, "va", node_id=0xFFFFFFFE, key=key, signing_key=secret)
        assert tx.node_id == 0xFFFFFFFE
        tx.send(b"signed and sealed", info=b"i" * (1400 - 44 - 128))
        m = sealed.recv(timeout=5)
        assert (m.data, m.info, m.sender_node_id, m.signer) == (b"signed and sealed", b"i" * (1400 - 44 - 128), 0xFFFFFFFE, public)
        with pytest.raises(mcast.InvalidArgument, match="less the 128-byte signature"):
            tx.send(b"", info=b"i" * (1400 - 44 - 127))
        for reserved in (0, 0xFFFFFFFF):
            with pytest.raises(mcast.InvalidArgument, match=f"sender option node_id: {reserved} is reserved"):
                ctx.sender(GROUP, port, "va", node_id=reserved)
        for bad in (-1, 1 << 32, "1234", 12.5):
            with pytest.raises(mcast.InvalidArgument, match="sender option node_id"):
                ctx.sender(GROUP, port, "va", node_id=bad)  # type: ignore[arg-type]
    assert {"generate_signing_key", "signing_public_key", "load_signing_key", "load_public_key"} <= set(mcast.__all__)
