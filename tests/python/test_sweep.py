"""An invalid-argument sweep of the whole Python API: every public function,
method and keyword option, called with wrong types, values just outside
each limit (and just inside it), unknown options, bad groups, ports and
interfaces, and on closed handles and closed contexts.

Each case checks the documented exception class (mcast.InvalidArgument for
values out of range or malformed, and for anything wrong in a keyword option
of Context.sender/receiver; TypeError for an argument of the wrong type;
OSError subclasses for the operating system's refusals; mcast.Closed after
close), that the message names the offending argument or option, and that
no Rust panic (pyo3's PanicException) ever reaches Python. A last test runs
a matrix of garbage arguments in a fresh interpreter, which must survive it.

(test_local.py has the behaviour of valid calls; this file only adds the
cases it does not have.)"""

from __future__ import annotations

import array
import asyncio
import errno
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

import pytest

import mcast

GROUP = "ff3e::4d43:53"
# Calls that fail never bind a socket; the few that succeed use their own
# ports from here (test_local.py counts up from 7300).
PORT = 7700
_ports = itertools.count(7710)

NAN = float("nan")
INF = float("inf")
U8, U16, U32, U64 = 2**8 - 1, 2**16 - 1, 2**32 - 1, 2**64 - 1
SECRET = bytes(range(32))
PUBLIC = mcast.signing_public_key(SECRET)
NOT_A_POINT = bytes([2]) * 32  # 32 bytes that are no Ed25519 public key
ARGS_NAMED_IN_NOTES = sys.version_info >= (3, 11)

Exc = Union[Type[BaseException], Tuple[Type[BaseException], ...]]


class Arg:
    """A pattern for an argument that pyo3 itself refuses: it names the
    argument in a note of the exception ("while processing 'port'"), which
    Python 3.11 and later show."""

    def __init__(self, name: str) -> None:
        self.name = name


Pattern = Union[str, Arg]


def _is_panic(e: BaseException) -> bool:
    return type(e).__name__ == "PanicException"


def _text(e: BaseException) -> str:
    return " ".join([str(e), *getattr(e, "__notes__", [])])


def _close(result: Any) -> None:
    for r in result if isinstance(result, tuple) else (result,):
        close = getattr(r, "close", None)
        if close is not None and not isinstance(r, mcast.Context):
            close()


def check(call: Callable[[], Any], exc: Exc, *patterns: Pattern) -> BaseException:
    """`call()` raises `exc` (not a panic) with every pattern in its message."""
    try:
        result = call()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001 - a PanicException is a BaseException
        if _is_panic(e):
            pytest.fail(f"a Rust panic crossed into Python: {e!r}")
        names = exc.__name__ if isinstance(exc, type) else " or ".join(x.__name__ for x in exc)
        assert isinstance(e, exc), f"expected {names}, got {type(e).__module__}.{type(e).__name__}: {_text(e)}"
        for p in patterns:
            if isinstance(p, Arg):
                if ARGS_NAMED_IN_NOTES:
                    assert f"'{p.name}'" in _text(e) or p.name in str(e), f"{p.name!r} not named in {_text(e)!r}"
            else:
                assert re.search(p, _text(e)), f"{p!r} not in the message {_text(e)!r}"
        return e
    _close(result)
    pytest.fail(f"no exception: returned {result!r}")


def accept(call: Callable[[], Any]) -> Any:
    """`call()` succeeds (whatever it made is closed again)."""
    try:
        result = call()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # noqa: BLE001
        pytest.fail(f"refused: {type(e).__module__}.{type(e).__name__}: {_text(e)}")
    _close(result)
    return result


@pytest.fixture(scope="module")
def ctx() -> Iterator[mcast.Context]:
    with mcast.Context() as c:
        yield c


@pytest.fixture(scope="module")
def pair(ctx: mcast.Context) -> Iterator[Tuple[mcast.Sender, mcast.Receiver]]:
    port = next(_ports)
    rx = ctx.receiver(GROUP, port, "vb")
    tx = ctx.sender(GROUP, port, "va", rate_bps=200_000_000)
    yield tx, rx
    tx.close()
    rx.close()


def _recv_data(rx: mcast.Receiver, timeout: float = 5) -> mcast.Message:
    """The next DATA message (the module's pair also carries the streams
    some tests open)."""
    while True:
        m = rx.recv(timeout=timeout)
        if m.kind != "stream":
            return m


def _case_id(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


# ---------------------------------------------------------------------------
# Keyword options of Context.sender and Context.receiver
# ---------------------------------------------------------------------------

# The integer options and the largest value each takes.
SENDER_INTS: Dict[str, int] = {
    "segment_size": U16,
    "block_size": U16,
    "parity": U16,
    "auto_parity": U16,
    "rate_bps": U64,
    "rate_min_bps": U64,
    "cache_max_objects": U64,
    "cache_max_bytes": U64,
    "backoff_factor": U8,
    "group_size": U32,
    "robust_factor": U32,
    "stream_buffer_blocks": U64,
    "node_id": U32,
}
RECEIVER_INTS: Dict[str, int] = {
    "sync_window": U16,
    "max_object_size": U64,
    "max_buffer_per_sender": U64,
    "max_buffer_total": U64,
    "max_senders": U64,
    "node_id": U32,
}
SENDER_SECS = ["grtt_initial", "grtt_max", "seal_max_age"]
RECEIVER_SECS = ["inactivity_timeout", "seal_max_age"]
SENDER_BOOLS = ["congestion_control"]
RECEIVER_BOOLS = ["unicast_nacks", "silent"]

# Not an int: strings, bytes, floats (even integral ones), bools,
# containers, anything else.
NOT_INTS: List[Any] = ["5", b"5", 5.0, 1.5, NAN, INF, True, False, [5], {5: 5}, object()]
# Not a number of seconds >= 0 that a Duration can hold.
BAD_SECS: List[Any] = ["1", b"1", True, False, [1], object(), -1, -1e-9, -INF, NAN, INF, 1e300, 2**2000, -(2**2000)]
NOT_BOOLS: List[Any] = [1, 0, 1.0, "yes", "", b"\x01", [True]]


def _option_cases(side: str) -> Iterator[Any]:
    ints = SENDER_INTS if side == "sender" else RECEIVER_INTS
    secs = SENDER_SECS if side == "sender" else RECEIVER_SECS
    bools = SENDER_BOOLS if side == "sender" else RECEIVER_BOOLS
    for opt, hi in ints.items():
        for v in [*NOT_INTS, -1, -(2**70), hi + 1, 2**64, 2**200]:
            yield pytest.param(opt, v, id=f"{opt}={_case_id(v)}")
    for opt in secs:
        for v in BAD_SECS:
            yield pytest.param(opt, v, id=f"{opt}={_case_id(v)}")
    for opt in bools:
        for v in NOT_BOOLS:
            yield pytest.param(opt, v, id=f"{opt}={_case_id(v)}")


@pytest.mark.parametrize("opt, value", list(_option_cases("sender")))
def test_sender_option_of_a_wrong_type_or_out_of_range(ctx: mcast.Context, opt: str, value: Any) -> None:
    check(lambda: ctx.sender(GROUP, PORT, "va", **{opt: value}), mcast.InvalidArgument, f"sender option {opt}\\b")


@pytest.mark.parametrize("opt, value", list(_option_cases("receiver")))
def test_receiver_option_of_a_wrong_type_or_out_of_range(ctx: mcast.Context, opt: str, value: Any) -> None:
    check(lambda: ctx.receiver(GROUP, PORT, "vb", **{opt: value}), mcast.InvalidArgument, f"receiver option {opt}\\b")


# Values the option's type holds but the sender refuses: each limit + 1
# (or - 1). The core checks these; its messages name the setting in words.
SENDER_LIMITS: List[Tuple[Dict[str, Any], str]] = [
    ({"segment_size": 0}, "segment size 0 is out of range"),
    ({"segment_size": 15}, r"segment size 15 is out of range \(16\.\.=8192"),
    ({"segment_size": 8193}, "segment size 8193 is out of range"),
    ({"segment_size": U16}, "segment size 65535 is out of range"),
    ({"segment_size": 59, "key": bytes(32)}, r"segment size 59 is out of range \(60\.\.=8192 bytes with a key"),
    ({"segment_size": 8193, "key": bytes(32)}, "segment size 8193 is out of range"),
    ({"segment_size": 143, "signing_key": SECRET}, "segment size 143 is too small to sign"),
    ({"segment_size": 187, "signing_key": SECRET, "key": bytes(32)}, "segment size 187 is too small to sign .*with a key"),
    ({"block_size": 0}, "block size 0 with 16 parity"),
    ({"block_size": 240}, r"block size 240 with 16 parity segments is out of range \(block >= 1, block \+ parity <= 255\)"),
    ({"block_size": 255, "parity": 1}, "block size 255 with 1 parity"),
    ({"block_size": 256, "parity": 0}, "block size 256 with 0 parity"),
    ({"block_size": U16, "parity": U16}, "block size 65535 with 65535 parity"),
    ({"parity": 192}, "block size 64 with 192 parity"),
    ({"auto_parity": 17}, "auto parity 17 exceeds the parity count 16"),
    ({"parity": 0, "auto_parity": 1}, "auto parity 1 exceeds the parity count 0"),
    ({"rate_bps": 0}, "rate 0 bit/s is too low"),
    ({"rate_bps": 999, "congestion_control": False}, r"rate 999 bit/s is too low \(at least 1000\)"),
    ({"rate_bps": 999, "rate_min_bps": 999}, "rate 999 bit/s is too low"),
    ({"rate_min_bps": 0}, "minimum rate 0 bit/s must be at least 1000"),
    ({"rate_min_bps": 999}, "minimum rate 999 bit/s must be at least 1000"),
    ({"rate_bps": 1_000_000, "rate_min_bps": 1_000_001}, "minimum rate 1000001 bit/s .* at most the rate cap 1000000"),
    ({"rate_min_bps": U64}, "minimum rate 18446744073709551615 bit/s"),
    ({"backoff_factor": 16}, "backoff factor must be at most 15"),
    ({"backoff_factor": U8}, "backoff factor must be at most 15"),
    ({"stream_buffer_blocks": 0}, r"stream buffer of 0 blocks is too small \(at least 2\)"),
    ({"stream_buffer_blocks": 1}, "stream buffer of 1 blocks is too small"),
    ({"node_id": 0}, "sender option node_id: 0 is reserved"),
    ({"node_id": U32}, "sender option node_id: 4294967295 is reserved"),
    ({"wait_for_acks": []}, "sender option wait_for_acks: at least one node id"),
    ({"wait_for_acks": [0]}, "sender option wait_for_acks: node id 0 is reserved"),
    ({"wait_for_acks": [5, U32]}, "sender option wait_for_acks: node id 4294967295 is reserved"),
    ({"seal_max_age": 0}, "sender option seal_max_age: 0 would drop every datagram"),
    ({"seal_max_age": 0.0, "key": bytes(32)}, "sender option seal_max_age: 0 would drop every datagram"),
    ({"seal_max_age": -0.0}, "sender option seal_max_age: 0 would drop every datagram"),
]


@pytest.mark.parametrize("kwargs, message", [pytest.param(k, m, id=",".join(f"{a}={_case_id(b)}" for a, b in k.items())) for k, m in SENDER_LIMITS])
def test_sender_limits(ctx: mcast.Context, kwargs: Dict[str, Any], message: str) -> None:
    check(lambda: ctx.sender(GROUP, PORT, "va", **kwargs), mcast.InvalidArgument, message)


# ... and the values at the limits, which are taken.
SENDER_ACCEPTED: List[Dict[str, Any]] = [
    {"segment_size": 16},
    {"segment_size": 8192},
    {"segment_size": 60, "key": bytes(32)},
    {"segment_size": 144, "signing_key": SECRET},
    {"segment_size": 188, "signing_key": SECRET, "key": bytes(32)},
    {"block_size": 1, "parity": 0},
    {"block_size": 255, "parity": 0},
    {"block_size": 239},
    {"parity": 191},
    {"parity": 0},
    {"auto_parity": 16},
    {"block_size": 1, "parity": 254, "auto_parity": 254},
    {"rate_bps": 1000, "congestion_control": False},
    {"rate_bps": 1000, "rate_min_bps": 1000},
    {"rate_bps": 1_000_000, "rate_min_bps": 1_000_000},
    {"rate_bps": U64, "rate_min_bps": U64},
    {"rate_min_bps": 0, "congestion_control": False},
    {"backoff_factor": 0},
    {"backoff_factor": 15},
    {"stream_buffer_blocks": 2},
    {"node_id": 1},
    {"node_id": U32 - 1},
    {"wait_for_acks": [1, U32 - 1]},
    {"wait_for_acks": (7,)},
    {"group_size": 0},
    {"group_size": U32},
    {"robust_factor": 0},
    {"robust_factor": U32},
    {"cache_max_objects": 0},
    {"cache_max_objects": U64},
    {"cache_max_bytes": 0},
    {"cache_max_bytes": U64},
    {"grtt_initial": 0, "grtt_max": 0},
    {"grtt_initial": 1e9, "grtt_max": 1e9},
    {"grtt_initial": 5, "grtt_max": 1},
    {"seal_max_age": 1e-9, "key": bytes(32)},
    {"seal_max_age": 1e9, "key": bytes(32)},
    {"seal_max_age": 1},
    {"key": array.array("B", bytes(32))},
    {"signing_key": memoryview(bytes(64))[::2]},
    # None keeps every option's default.
    {opt: None for opt in [*SENDER_INTS, *SENDER_SECS, *SENDER_BOOLS, "wait_for_acks", "key", "signing_key"]},
]


@pytest.mark.parametrize("kwargs", [pytest.param(k, id=",".join(f"{a}={_case_id(b)}" for a, b in k.items())[:80]) for k in SENDER_ACCEPTED])
def test_sender_values_at_the_limits_are_taken(ctx: mcast.Context, kwargs: Dict[str, Any]) -> None:
    accept(lambda: ctx.sender(GROUP, next(_ports), "va", **kwargs))


RECEIVER_ACCEPTED: List[Dict[str, Any]] = [
    {"sync_window": 0},
    {"sync_window": U16},
    {"max_object_size": 0},
    {"max_object_size": U64},
    {"max_buffer_per_sender": 0, "max_buffer_total": 0},
    {"max_buffer_per_sender": U64, "max_buffer_total": U64},
    {"max_senders": 1},
    {"max_senders": U64},
    {"node_id": 1},
    {"node_id": U32 - 1},
    {"inactivity_timeout": 1e-3},
    {"inactivity_timeout": 1e9},
    {"seal_max_age": 1e-9, "key": bytes(32)},
    {"sync_policy": "all"},
    {"sync_policy": "current"},
    {"sources": []},
    {"sources": ["fe80::1"]},
    {"sources": ("fe80::1", "2001:db8::1")},
    {"key": bytearray(32), "trusted_signers": (k for k in [PUBLIC])},
    {opt: None for opt in [*RECEIVER_INTS, *RECEIVER_SECS, *RECEIVER_BOOLS, "sync_policy", "sources", "file_dir", "key", "trusted_signers"]},
]


@pytest.mark.parametrize("kwargs", [pytest.param(k, id=",".join(f"{a}={_case_id(b)}" for a, b in k.items())[:80]) for k in RECEIVER_ACCEPTED])
def test_receiver_values_at_the_limits_are_taken(ctx: mcast.Context, kwargs: Dict[str, Any]) -> None:
    accept(lambda: ctx.receiver(GROUP, next(_ports), "vb", **kwargs))


class _Boom(Exception):
    pass


def _exploding() -> Iterator[bytes]:
    yield PUBLIC
    raise _Boom("from the caller's iterator")


# Options with a structure: keys, key lists, node ids, sources, policies.
RECEIVER_SHAPES: List[Tuple[str, Any, Exc, str]] = [
    ("key", True, mcast.InvalidArgument, "receiver option key: a key is 32 bytes .*not bool"),
    ("key", [bytes(32)], mcast.InvalidArgument, "receiver option key: a key is 32 bytes .*not list"),
    ("key", 1.5, mcast.InvalidArgument, "receiver option key: .*not float"),
    ("key", bytes(64), mcast.InvalidArgument, "receiver option key: a key is 32 bytes, not 64"),
    ("trusted_signers", True, mcast.InvalidArgument, "receiver option trusted_signers: a sequence of 32-byte public keys, not bool"),
    ("trusted_signers", 1.5, mcast.InvalidArgument, "receiver option trusted_signers: .*not float"),
    ("trusted_signers", [None], mcast.InvalidArgument, r"receiver option trusted_signers\[0\]: .*not NoneType"),
    ("trusted_signers", [5], mcast.InvalidArgument, r"receiver option trusted_signers\[0\]: .*not int"),
    ("trusted_signers", [[PUBLIC]], mcast.InvalidArgument, r"receiver option trusted_signers\[0\]: .*not list"),
    ("trusted_signers", [PUBLIC, PUBLIC, NOT_A_POINT], mcast.InvalidArgument, r"receiver option trusted_signers\[2\]: not a valid Ed25519 public key"),
    ("trusted_signers", [SECRET + PUBLIC], mcast.InvalidArgument, r"receiver option trusted_signers\[0\]: a key is 32 bytes, not 64"),
    ("trusted_signers", _exploding(), _Boom, "from the caller's iterator"),
    ("sources", "fe80::1", mcast.InvalidArgument, "receiver option sources: a list of IPv6 addresses, not 'fe80::1'"),
    ("sources", 5, mcast.InvalidArgument, "receiver option sources: a list of IPv6 addresses"),
    ("sources", True, mcast.InvalidArgument, "receiver option sources: a list of IPv6 addresses"),
    ("sources", [b"fe80::1"], mcast.InvalidArgument, "receiver option sources: a list of IPv6 addresses"),
    ("sources", [None], mcast.InvalidArgument, "receiver option sources: a list of IPv6 addresses"),
    ("sources", ["x"], mcast.InvalidArgument, 'receiver option sources: "x" is not an IPv6 address'),
    ("sources", ["fe80::1%vb"], mcast.InvalidArgument, "receiver option sources: .* is not an IPv6 address"),
    ("sources", ["10.0.0.1"], mcast.InvalidArgument, "receiver option sources: .* is not an IPv6 address"),
    ("sources", ["fe80::1", "ff3e::1"], mcast.InvalidArgument, "receiver option sources: ff3e::1 cannot be a source"),
    ("sources", ["::"], mcast.InvalidArgument, "receiver option sources: :: cannot be a source"),
    ("sync_policy", "some", mcast.InvalidArgument, "receiver option sync_policy: \"some\" is not 'all' or 'current'"),
    ("sync_policy", "ALL", mcast.InvalidArgument, "receiver option sync_policy"),
    ("sync_policy", "", mcast.InvalidArgument, "receiver option sync_policy"),
    ("sync_policy", b"all", mcast.InvalidArgument, "receiver option sync_policy: bad value"),
    ("sync_policy", 0, mcast.InvalidArgument, "receiver option sync_policy: bad value"),
    ("sync_policy", True, mcast.InvalidArgument, "receiver option sync_policy: bad value"),
    ("file_dir", 5, mcast.InvalidArgument, "receiver option file_dir: bad value 5"),
    ("file_dir", True, mcast.InvalidArgument, "receiver option file_dir: bad value"),
    ("file_dir", b"/tmp", mcast.InvalidArgument, "receiver option file_dir: bad value"),
    ("file_dir", "/tmp\x00x", mcast.InvalidArgument, "receiver option file_dir: .* contains a NUL byte"),
    ("file_dir", "/dev/null", mcast.InvalidArgument, "file_dir /dev/null is not a directory"),
    ("file_dir", "/nonexistent/dir", FileNotFoundError, "file_dir /nonexistent/dir"),
    ("file_dir", "", FileNotFoundError, "file_dir"),
    ("max_senders", 0, mcast.InvalidArgument, "max_senders 0 would ignore every sender"),
    ("inactivity_timeout", 0, mcast.InvalidArgument, "inactivity timeout of 0 would drop every sender"),
    ("inactivity_timeout", -0.0, mcast.InvalidArgument, "inactivity timeout of 0 would drop every sender"),
    ("node_id", 0, mcast.InvalidArgument, "receiver option node_id: 0 is reserved"),
    ("node_id", U32, mcast.InvalidArgument, "receiver option node_id: 4294967295 is reserved"),
    ("seal_max_age", 0, mcast.InvalidArgument, "receiver option seal_max_age: 0 would drop every datagram"),
    ("wait_for_acks", [1], mcast.InvalidArgument, "unknown receiver option \"wait_for_acks\""),
    ("segment_size", 1400, mcast.InvalidArgument, "unknown receiver option \"segment_size\""),
    ("signing_key", SECRET, mcast.InvalidArgument, "unknown receiver option \"signing_key\""),
    ("Silent", True, mcast.InvalidArgument, "unknown receiver option \"Silent\""),
    ("timeout", 1, mcast.InvalidArgument, "unknown receiver option \"timeout\""),
]

SENDER_SHAPES: List[Tuple[str, Any, Exc, str]] = [
    ("key", True, mcast.InvalidArgument, "sender option key: a key is 32 bytes .*not bool"),
    ("key", [bytes(32)], mcast.InvalidArgument, "sender option key: .*not list"),
    ("key", bytes(31), mcast.InvalidArgument, "sender option key: a key is 32 bytes, not 31"),
    ("key", bytes(33), mcast.InvalidArgument, "sender option key: a key is 32 bytes, not 33"),
    ("signing_key", True, mcast.InvalidArgument, "sender option signing_key: a key is 32 bytes .*not bool"),
    ("signing_key", [SECRET], mcast.InvalidArgument, "sender option signing_key: .*not list"),
    ("signing_key", SECRET.hex().encode(), mcast.InvalidArgument, "sender option signing_key: a key is 32 bytes, not 64"),
    ("wait_for_acks", [2**32], mcast.InvalidArgument, r"sender option wait_for_acks\[0\]: 4294967296 is out of range"),
    ("wait_for_acks", [1, -1], mcast.InvalidArgument, r"sender option wait_for_acks\[1\]: -1 is out of range"),
    ("wait_for_acks", [1.5], mcast.InvalidArgument, r"sender option wait_for_acks\[0\]: expected an int, not float"),
    ("wait_for_acks", [True], mcast.InvalidArgument, r"sender option wait_for_acks\[0\]: expected an int, not bool"),
    ("wait_for_acks", ["1"], mcast.InvalidArgument, r"sender option wait_for_acks\[0\]: expected an int, not str"),
    ("wait_for_acks", 5, mcast.InvalidArgument, "sender option wait_for_acks: a sequence of node ids .*not int"),
    ("wait_for_acks", "1", mcast.InvalidArgument, "sender option wait_for_acks: a sequence of node ids .*not str"),
    ("wait_for_acks", b"\x01", mcast.InvalidArgument, "sender option wait_for_acks: a sequence of node ids .*not bytes"),
    ("wait_for_acks", True, mcast.InvalidArgument, "sender option wait_for_acks: a sequence of node ids .*not bool"),
    ("sync_policy", "all", mcast.InvalidArgument, "unknown sender option \"sync_policy\""),
    ("trusted_signers", [PUBLIC], mcast.InvalidArgument, "unknown sender option \"trusted_signers\""),
    ("sources", [], mcast.InvalidArgument, "unknown sender option \"sources\""),
    ("rate", 1000, mcast.InvalidArgument, "unknown sender option \"rate\""),
    ("segmentsize", 1000, mcast.InvalidArgument, "unknown sender option \"segmentsize\""),
    ("timeout", 1, mcast.InvalidArgument, "unknown sender option \"timeout\""),
    ("info", b"x", mcast.InvalidArgument, "unknown sender option \"info\""),
]


@pytest.mark.parametrize("opt, value, exc, message", [pytest.param(*c, id=f"{c[0]}={_case_id(c[1])}") for c in SENDER_SHAPES])
def test_sender_structured_options(ctx: mcast.Context, opt: str, value: Any, exc: Exc, message: str) -> None:
    check(lambda: ctx.sender(GROUP, PORT, "va", **{opt: value}), exc, message)


@pytest.mark.parametrize("opt, value, exc, message", [pytest.param(*c, id=f"{c[0]}={_case_id(c[1])}") for c in RECEIVER_SHAPES])
def test_receiver_structured_options(ctx: mcast.Context, opt: str, value: Any, exc: Exc, message: str) -> None:
    check(lambda: ctx.receiver(GROUP, PORT, "vb", **{opt: value}), exc, message)


# ---------------------------------------------------------------------------
# Groups, ports and interfaces (both sides)
# ---------------------------------------------------------------------------

ADDRESS_CASES: List[Tuple[Any, Any, Any, Exc, List[Pattern]]] = [
    # group
    (None, PORT, "{if}", TypeError, [Arg("group")]),
    (5, PORT, "{if}", TypeError, [Arg("group")]),
    (b"ff3e::1", PORT, "{if}", TypeError, [Arg("group")]),
    ("", PORT, "{if}", mcast.InvalidArgument, ['"" is not an IPv6 address']),
    ("x" * 1000, PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("ff3e::zz", PORT, "{if}", mcast.InvalidArgument, ['"ff3e::zz" is not an IPv6 address']),
    ("ff3e::1/64", PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("ff3e::1%va", PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("ff3e::1\x00", PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("ff3e:::1", PORT, "{if}", mcast.InvalidArgument, ['"ff3e:::1" is not an IPv6 address']),
    ("[ff3e::1]:5000", PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("239.1.1.1", PORT, "{if}", mcast.InvalidArgument, ["is not an IPv6 address"]),
    ("::", PORT, "{if}", mcast.InvalidArgument, [":: is not an IPv6 multicast address"]),
    ("2001:db8::1", PORT, "{if}", mcast.InvalidArgument, ["2001:db8::1 is not an IPv6 multicast address"]),
    ("fe80::1", PORT, "{if}", mcast.InvalidArgument, ["not an IPv6 multicast address"]),
    ("\ud800", PORT, "{if}", UnicodeEncodeError, [Arg("group")]),
    # port
    (GROUP, -1, "{if}", mcast.InvalidArgument, [r"port: -1 is out of range \(0\.\.=65535\)"]),
    (GROUP, 0, "{if}", mcast.InvalidArgument, ["port 0 cannot be joined"]),
    (GROUP, 65536, "{if}", mcast.InvalidArgument, ["port: 65536 is out of range"]),
    (GROUP, 2**63, "{if}", mcast.InvalidArgument, ["port: 9223372036854775808 is out of range"]),
    (GROUP, 2**64, "{if}", mcast.InvalidArgument, ["port: 18446744073709551616 is out of range"]),
    (GROUP, -(2**100), "{if}", mcast.InvalidArgument, ["port: .* is out of range"]),
    (GROUP, True, "{if}", TypeError, ["port: expected an int, not bool"]),
    (GROUP, 5000.0, "{if}", TypeError, ["port: expected an int, not float"]),
    (GROUP, NAN, "{if}", TypeError, ["port: expected an int, not float"]),
    (GROUP, "5000", "{if}", TypeError, ["port: expected an int, not str"]),
    (GROUP, None, "{if}", TypeError, ["port: expected an int, not NoneType"]),
    (GROUP, [5000], "{if}", TypeError, ["port: expected an int, not list"]),
    # interface
    (GROUP, PORT, "", mcast.InvalidArgument, ["no interface given"]),
    (GROUP, PORT, "a/b", mcast.InvalidArgument, ['"a/b" is not a valid interface name']),
    (GROUP, PORT, "x" * 16, mcast.InvalidArgument, ["is not a valid interface name"]),
    (GROUP, PORT, "va\x00", mcast.InvalidArgument, ["is not a valid interface name"]),
    (GROUP, PORT, "v a", mcast.InvalidArgument, ['"v a" is not a valid interface name']),
    (GROUP, PORT, "nope0", mcast.NoSuchInterface, ["interface nope0 does not exist"]),
    (GROUP, PORT, "x" * 15, mcast.NoSuchInterface, ["interface x{15} does not exist"]),
    (GROUP, PORT, 5, TypeError, [Arg("interface")]),
    (GROUP, PORT, b"va", TypeError, [Arg("interface")]),
    (GROUP, PORT, ["va"], TypeError, [Arg("interface")]),
]


@pytest.mark.parametrize("side", ["sender", "receiver"])
@pytest.mark.parametrize(
    "group, port, interface, exc, patterns", [pytest.param(*c, id=f"{_case_id(c[0])}-{_case_id(c[1])}-{_case_id(c[2])}") for c in ADDRESS_CASES]
)
def test_bad_groups_ports_and_interfaces(
    ctx: mcast.Context, side: str, group: Any, port: Any, interface: Any, exc: Exc, patterns: List[Pattern]
) -> None:
    if interface == "{if}":
        interface = "va" if side == "sender" else "vb"
    make = ctx.sender if side == "sender" else ctx.receiver
    e = check(lambda: make(group, port, interface), exc, *patterns)
    if isinstance(e, mcast.NoSuchInterface):
        assert e.interface == interface and isinstance(e, mcast.InvalidArgument)


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_arguments_given_twice_or_missing(ctx: mcast.Context, side: str) -> None:
    make: Any = ctx.sender if side == "sender" else ctx.receiver
    check(lambda: make(GROUP, PORT, "va", group=GROUP), TypeError, "group")
    check(lambda: make(GROUP, PORT, "va", interface="va"), TypeError, "interface")
    check(lambda: make(GROUP), TypeError, "port")
    check(lambda: make(), TypeError, "group")
    check(lambda: make(GROUP, PORT, "va", 5), TypeError, "positional|takes no arguments")


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------

CONTEXT_CASES: List[Tuple[Dict[str, Any], Exc, Pattern]] = [
    ({"hop_limit": -1}, mcast.InvalidArgument, r"Context option hop_limit: -1 is out of range \(0\.\.=255\)"),
    ({"hop_limit": 256}, mcast.InvalidArgument, "Context option hop_limit: 256 is out of range"),
    ({"hop_limit": 2**32 - 1}, mcast.InvalidArgument, "Context option hop_limit: 4294967295 is out of range"),
    ({"hop_limit": 2**64}, mcast.InvalidArgument, "Context option hop_limit: 18446744073709551616 is out of range"),
    ({"hop_limit": True}, TypeError, "Context option hop_limit: expected an int, not bool"),
    ({"hop_limit": 1.0}, TypeError, "Context option hop_limit: expected an int, not float"),
    ({"hop_limit": "1"}, TypeError, "Context option hop_limit: expected an int, not str"),
    ({"recv_buffer": -1}, mcast.InvalidArgument, "Context option recv_buffer: -1 is out of range"),
    ({"recv_buffer": 2**64}, mcast.InvalidArgument, "Context option recv_buffer: 18446744073709551616 is out of range"),
    ({"recv_buffer": 1.5}, TypeError, "Context option recv_buffer: expected an int, not float"),
    ({"recv_buffer": False}, TypeError, "Context option recv_buffer: expected an int, not bool"),
    ({"send_buffer": -(2**70)}, mcast.InvalidArgument, "Context option send_buffer: .* is out of range"),
    ({"send_buffer": 2**200}, mcast.InvalidArgument, "Context option send_buffer: .* is out of range"),
    ({"send_buffer": b"1"}, TypeError, "Context option send_buffer: expected an int, not bytes"),
    ({"loopback": 1}, TypeError, Arg("loopback")),
    ({"loopback": "yes"}, TypeError, Arg("loopback")),
    ({"loopback": 1.0}, TypeError, Arg("loopback")),
    ({"bogus": 1}, TypeError, "unexpected keyword argument 'bogus'"),
    ({"rate_bps": 1}, TypeError, "unexpected keyword argument 'rate_bps'"),
]


@pytest.mark.parametrize("kwargs, exc, message", [pytest.param(*c, id=",".join(f"{a}={_case_id(b)}" for a, b in c[0].items())) for c in CONTEXT_CASES])
def test_context_options(kwargs: Dict[str, Any], exc: Exc, message: Pattern) -> None:
    check(lambda: mcast.Context(**kwargs), exc, message)


def test_context_values_at_the_limits_are_taken() -> None:
    port = next(_ports)
    settings: List[Dict[str, Any]] = [
        {"hop_limit": 0},
        {"hop_limit": 255, "loopback": False},
        {"recv_buffer": 0, "send_buffer": 0},
        {"recv_buffer": 2**64 - 1, "send_buffer": 2**64 - 1},
        {"hop_limit": None, "loopback": None, "recv_buffer": None, "send_buffer": None},
    ]
    for kwargs in settings:
        with mcast.Context(**kwargs) as c:
            # The settings apply when the first socket is made.
            accept(lambda: c.sender(GROUP, port, "va"))
            accept(lambda: c.receiver(GROUP, port, "vb"))
    check(lambda: mcast.Context(1), TypeError, "positional|takes no arguments")  # type: ignore[call-arg]


# ---------------------------------------------------------------------------
# Methods: data, info, timeouts, node ids, paths
# ---------------------------------------------------------------------------

NOT_BUFFERS: List[Any] = ["text", 5, 1.5, True, None, [1, 2], {b"x": 1}, object(), iter([b"x"])]
BAD_TIMEOUT_VALUES: List[Any] = [-1, -1e-9, -INF, NAN, INF, 2**2000, -(2**2000)]
BAD_TIMEOUT_TYPES: List[Any] = ["1", b"1", True, False, [1], object()]


def _timeout_calls(tx: mcast.Sender, rx: mcast.Receiver) -> Dict[str, Callable[[Any], Any]]:
    async def recv_async(t: Any) -> mcast.Message:
        return await rx.recv_async(timeout=t)

    return {
        "Sender.send": lambda t: tx.send(b"never sent", timeout=t),
        "Sender.flush": lambda t: tx.flush(timeout=t),
        "Sender.flush_acked": lambda t: tx.flush_acked([1], timeout=t),
        "Receiver.recv": lambda t: rx.recv(timeout=t),
        "Receiver.recv_async": lambda t: asyncio.run(recv_async(t)),
    }


TIMEOUT_METHODS = ["Sender.send", "Sender.flush", "Sender.flush_acked", "Receiver.recv", "Receiver.recv_async"]


@pytest.mark.parametrize("value", [pytest.param(v, id=_case_id(v)) for v in BAD_TIMEOUT_VALUES])
@pytest.mark.parametrize("method", TIMEOUT_METHODS)
def test_timeouts_out_of_range(pair: Tuple[mcast.Sender, mcast.Receiver], method: str, value: Any) -> None:
    call = _timeout_calls(*pair)[method]
    check(lambda: call(value), mcast.InvalidArgument, "timeout must be a number of seconds >= 0")


@pytest.mark.parametrize("value", [pytest.param(v, id=_case_id(v)) for v in BAD_TIMEOUT_TYPES])
@pytest.mark.parametrize("method", TIMEOUT_METHODS)
def test_timeouts_of_a_wrong_type(pair: Tuple[mcast.Sender, mcast.Receiver], method: str, value: Any) -> None:
    call = _timeout_calls(*pair)[method]
    check(lambda: call(value), TypeError, f"timeout must be a number of seconds, not {type(value).__name__}")


def test_flush_acked_timeout_is_not_optional(pair: Tuple[mcast.Sender, mcast.Receiver]) -> None:
    tx, _ = pair
    check(lambda: tx.flush_acked([1], timeout=None), TypeError, "timeout must be a number of seconds, not NoneType")  # type: ignore[arg-type]


def test_huge_timeouts_are_taken(pair: Tuple[mcast.Sender, mcast.Receiver]) -> None:
    """Any finite number of seconds: the wait is capped, nothing overflows
    (flush_acked(timeout=1e300) was a PanicException)."""
    tx, rx = pair
    for t in [1e300, 1.8e19, 1e10, 2**1000]:
        assert accept(lambda: tx.flush_acked([], timeout=t)) == ([], [])
        accept(lambda: tx.send(b"huge timeout", timeout=t))
        accept(lambda: tx.flush(timeout=t))
        assert accept(lambda: _recv_data(rx, timeout=t)).data == b"huge timeout"
    # -0.0 is 0: no wait at all.
    check(lambda: _recv_data(rx, timeout=-0.0), mcast.Timeout)


@pytest.mark.parametrize("value", [pytest.param(v, id=_case_id(v)) for v in NOT_BUFFERS])
def test_send_data_that_is_not_a_buffer(pair: Tuple[mcast.Sender, mcast.Receiver], value: Any) -> None:
    tx, _ = pair
    check(lambda: tx.send(value), TypeError, f"data: expected bytes, bytearray or memoryview, not {type(value).__name__}")


@pytest.mark.parametrize("value", [pytest.param(v, id=_case_id(v)) for v in NOT_BUFFERS if v is not None])
def test_info_that_is_not_a_buffer(pair: Tuple[mcast.Sender, mcast.Receiver], value: Any) -> None:
    tx, _ = pair
    want = f"info: expected bytes, bytearray or memoryview, not {type(value).__name__}"
    check(lambda: tx.send(b"x", info=value), TypeError, want)
    check(lambda: tx.send(b"x", value), TypeError, want)
    check(lambda: tx.open_stream(value), TypeError, want)
    check(lambda: tx.open_stream(info=value), TypeError, want)


@pytest.mark.parametrize("value", [pytest.param(v, id=_case_id(v)) for v in NOT_BUFFERS])
def test_stream_write_of_a_non_buffer(pair: Tuple[mcast.Sender, mcast.Receiver], value: Any) -> None:
    tx, _ = pair
    st = tx.open_stream(b"sweep")
    try:
        check(lambda: st.write(value), TypeError, f"message: expected bytes, bytearray or memoryview, not {type(value).__name__}")
    finally:
        st.close()


def test_info_too_long(ctx: mcast.Context) -> None:
    port = next(_ports)
    senders: List[Tuple[Dict[str, Any], int]] = [
        ({}, 1400),
        ({"segment_size": 100}, 100),
        ({"key": bytes(32)}, 1400 - 44),
        ({"signing_key": SECRET}, 1400 - 128),
    ]
    for kwargs, room in senders:
        with ctx.sender(GROUP, port, "va", **kwargs) as tx:
            infos: List[Union[bytes, bytearray, memoryview]] = [bytes(room + 1), bytearray(room + 1), memoryview(bytes(room + 10))[9:], bytes(100_000)]
            for info in infos:
                check(lambda: tx.send(b"x", info=info), mcast.InvalidArgument, f"info of {len(info)} bytes exceeds the segment size")
                check(lambda: tx.open_stream(info), mcast.InvalidArgument, f"info of {len(info)} bytes exceeds the segment size")
            accept(lambda: tx.send(b"", info=bytes(room)))
            accept(lambda: tx.open_stream(bytes(room)))


def test_every_buffer_kind_is_data(pair: Tuple[mcast.Sender, mcast.Receiver]) -> None:
    tx, rx = pair
    # Any object with the buffer protocol (the stubs name the usual three).
    buffers: List[Any] = [array.array("H", [1, 2, 3]), memoryview(b"abcdef")[::2], memoryview(bytearray(b"xy")), bytearray(), b""]
    info: Any = array.array("B", b"i")
    for data in buffers:
        accept(lambda: tx.send(data, info=info))
        m = _recv_data(rx)
        assert m.data == bytes(data) and m.info == b"i"


FLUSH_ACKED_NODES: List[Tuple[Any, Exc, str]] = [
    ("1", TypeError, "flush_acked: nodes: a sequence of node ids .*not str"),
    (b"\x01", TypeError, "flush_acked: nodes: a sequence of node ids .*not bytes"),
    (5, TypeError, "flush_acked: nodes: a sequence of node ids .*not int"),
    (None, TypeError, "flush_acked: nodes: a sequence of node ids .*not NoneType"),
    (1.5, TypeError, "flush_acked: nodes: a sequence of node ids .*not float"),
    ([True], TypeError, r"flush_acked: nodes\[0\]: expected an int, not bool"),
    ([1, "2"], TypeError, r"flush_acked: nodes\[1\]: expected an int, not str"),
    ([1.0], TypeError, r"flush_acked: nodes\[0\]: expected an int, not float"),
    ([None], TypeError, r"flush_acked: nodes\[0\]: expected an int, not NoneType"),
    ([2**32], mcast.InvalidArgument, r"flush_acked: nodes\[0\]: 4294967296 is out of range \(0\.\.=4294967295\)"),
    ([1, -1], mcast.InvalidArgument, r"flush_acked: nodes\[1\]: -1 is out of range"),
    ([2**70], mcast.InvalidArgument, r"flush_acked: nodes\[0\]: .* is out of range"),
]


@pytest.mark.parametrize("nodes, exc, message", [pytest.param(*c, id=_case_id(c[0])) for c in FLUSH_ACKED_NODES])
def test_flush_acked_nodes(pair: Tuple[mcast.Sender, mcast.Receiver], nodes: Any, exc: Exc, message: str) -> None:
    tx, _ = pair
    check(lambda: tx.flush_acked(nodes, timeout=0.01), exc, message)


def test_flush_acked_takes_any_sequence_of_node_ids(pair: Tuple[mcast.Sender, mcast.Receiver]) -> None:
    tx, _ = pair
    assert accept(lambda: tx.flush_acked((), timeout=0.01)) == ([], [])
    acked, missing = accept(lambda: tx.flush_acked((n for n in [0, U32]), timeout=0.01))  # type: ignore[arg-type]
    assert acked == [] and sorted(missing) == [0, U32]


SEND_FILE_PATHS: List[Tuple[Any, Exc, List[Pattern]]] = [
    (5, TypeError, [Arg("path")]),
    (None, TypeError, [Arg("path")]),
    (1.5, TypeError, [Arg("path")]),
    (b"/etc/hostname", TypeError, [Arg("path")]),
    ("/tmp/a\x00b", mcast.InvalidArgument, ['send_file: path "/tmp/a\\\\0b" contains a NUL byte']),
    ("", mcast.InvalidArgument, ["has no file name"]),
    ("/", mcast.InvalidArgument, ["/ has no file name"]),
    ("/tmp", mcast.InvalidArgument, ["cannot send /tmp: not a regular file"]),
    ("/dev/null", mcast.InvalidArgument, ["cannot send /dev/null: not a regular file"]),
    ("/nonexistent/file", FileNotFoundError, ["cannot send /nonexistent/file"]),
]


@pytest.mark.parametrize("path, exc, patterns", [pytest.param(*c, id=_case_id(c[0])) for c in SEND_FILE_PATHS])
def test_send_file_paths(pair: Tuple[mcast.Sender, mcast.Receiver], path: Any, exc: Exc, patterns: List[Pattern]) -> None:
    tx, _ = pair
    e = check(lambda: tx.send_file(path), exc, *patterns)
    if isinstance(e, FileNotFoundError):
        assert e.errno == errno.ENOENT


def test_send_file_too_large_for_its_blocks(ctx: mcast.Context, tmp_path: Path) -> None:
    # 16-byte segments, one per block: at most 2^24 blocks of 16 bytes.
    big = tmp_path / "sparse.bin"
    with open(big, "wb") as f:
        f.truncate(16 * 2**24 + 1)
    with ctx.sender(GROUP, next(_ports), "va", segment_size=16, block_size=1, parity=0) as tx:
        check(lambda: tx.send_file(big), mcast.InvalidArgument, r"object of 268435457 bytes needs more than 2\^24 blocks")


def test_objects_larger_than_the_cache_are_cache_full(ctx: mcast.Context, tmp_path: Path) -> None:
    with ctx.sender(GROUP, next(_ports), "va", cache_max_bytes=0) as tx:
        check(lambda: tx.send(b"x"), mcast.CacheFull, "exceeds the transmit cache of 0 bytes")
        check(lambda: tx.open_stream(), mcast.CacheFull, "stream buffer of .* exceeds the transmit cache")
    # A stream buffer past 2^48 bytes is refused when the sender is made.
    check(lambda: ctx.sender(GROUP, next(_ports), "va", stream_buffer_blocks=2**40), mcast.InvalidArgument,
          "stream buffer of 1099511627776 blocks is too large")
    check(lambda: ctx.sender(GROUP, next(_ports), "va", stream_buffer_blocks=2**62), mcast.InvalidArgument,
          "stream buffer of 4611686018427387904 blocks is too large")


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------

FUNCTION_CASES: List[Tuple[str, Callable[[], Any], Exc, List[Pattern]]] = [
    ("channel_address name=None", lambda: mcast.channel_address(None), TypeError, [Arg("name")]),  # type: ignore[arg-type]
    ("channel_address name=5", lambda: mcast.channel_address(5), TypeError, [Arg("name")]),  # type: ignore[arg-type]
    ("channel_address name=bytes", lambda: mcast.channel_address(b"news"), TypeError, [Arg("name")]),  # type: ignore[arg-type]
    ("channel_address name=''", lambda: mcast.channel_address(""), mcast.InvalidArgument, ["a channel name cannot be empty"]),
    ("channel_address name=surrogate", lambda: mcast.channel_address("\ud800"), UnicodeEncodeError, [Arg("name")]),
    ("channel_address scope=planet", lambda: mcast.channel_address("x", "planet"), mcast.InvalidArgument, ['unknown scope "planet"']),  # type: ignore[arg-type]
    ("channel_address scope=Global", lambda: mcast.channel_address("x", "Global"), mcast.InvalidArgument, ['unknown scope "Global"']),  # type: ignore[arg-type]
    ("channel_address scope=''", lambda: mcast.channel_address("x", ""), mcast.InvalidArgument, ["unknown scope"]),  # type: ignore[arg-type]
    ("channel_address scope=5", lambda: mcast.channel_address("x", 5), TypeError, [Arg("scope")]),  # type: ignore[arg-type]
    ("channel_address scope=None", lambda: mcast.channel_address("x", None), TypeError, [Arg("scope")]),  # type: ignore[arg-type]
    ("channel_address ssm=1", lambda: mcast.channel_address("x", "global", 1), TypeError, [Arg("ssm")]),  # type: ignore[arg-type]
    ("channel_address ssm='yes'", lambda: mcast.channel_address("x", ssm="yes"), TypeError, [Arg("ssm")]),  # type: ignore[arg-type]
    ("channel_address ssm=None", lambda: mcast.channel_address("x", ssm=None), TypeError, [Arg("ssm")]),  # type: ignore[arg-type]
    ("channel_address unknown", lambda: mcast.channel_address("x", port=1), TypeError, ["port"]),  # type: ignore[call-arg]
    ("channel_address no args", lambda: mcast.channel_address(), TypeError, ["name"]),  # type: ignore[call-arg]
    ("generate_key(1)", lambda: mcast.generate_key(1), TypeError, ["positional|takes no arguments"]),  # type: ignore[call-arg]
    ("generate_signing_key(1)", lambda: mcast.generate_signing_key(1), TypeError, ["positional|takes no arguments"]),  # type: ignore[call-arg]
    ("version(1)", lambda: mcast.version(1), TypeError, ["positional|takes no arguments"]),  # type: ignore[call-arg]
    ("signing_public_key()", lambda: mcast.signing_public_key(), TypeError, ["secret"]),  # type: ignore[call-arg]
    ("signing_public_key None", lambda: mcast.signing_public_key(None), mcast.InvalidArgument, ["signing_public_key: .*not NoneType"]),  # type: ignore[arg-type]
    ("signing_public_key 5", lambda: mcast.signing_public_key(5), mcast.InvalidArgument, ["signing_public_key: .*not int"]),  # type: ignore[arg-type]
    ("signing_public_key True", lambda: mcast.signing_public_key(True), mcast.InvalidArgument, ["signing_public_key: .*not bool"]),  # type: ignore[arg-type]
    ("signing_public_key list", lambda: mcast.signing_public_key([SECRET]), mcast.InvalidArgument, ["signing_public_key: .*not list"]),  # type: ignore[arg-type]
    ("signing_public_key 64", lambda: mcast.signing_public_key(SECRET.hex().encode()), mcast.InvalidArgument, ["signing_public_key: a key is 32 bytes, not 64"]),
    ("signing_public_key 1MB", lambda: mcast.signing_public_key(bytes(1 << 20)), mcast.InvalidArgument, ["signing_public_key: a key is 32 bytes, not 1048576"]),
]


def _calling(f: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: f(*args)


for _load in ("load_key", "load_signing_key", "load_public_key"):
    _f = getattr(mcast, _load)
    FUNCTION_CASES += [
        (f"{_load} 5", _calling(_f, 5), TypeError, [Arg("path")]),
        (f"{_load} None", _calling(_f, None), TypeError, [Arg("path")]),
        (f"{_load} bytes", _calling(_f, b"/etc/hostname"), TypeError, [Arg("path")]),
        (f"{_load} NUL", _calling(_f, "/tmp/k\x00ey"), mcast.InvalidArgument, [f"{_load}: path .* contains a NUL byte"]),
        (f"{_load} ''", _calling(_f, ""), FileNotFoundError, ["file"]),
        (f"{_load} missing", _calling(_f, "/nonexistent/key"), FileNotFoundError, ["/nonexistent/key"]),
        (f"{_load} /dev/null", _calling(_f, "/dev/null"), mcast.InvalidArgument, ["/dev/null.*64 hexadecimal digits"]),
        (f"{_load} no args", _calling(_f), TypeError, ["path"]),
    ]


@pytest.mark.parametrize("call, exc, patterns", [pytest.param(c, e, p, id=i) for i, c, e, p in FUNCTION_CASES])
def test_functions(call: Callable[[], Any], exc: Exc, patterns: List[Pattern]) -> None:
    check(call, exc, *patterns)


@pytest.mark.parametrize("cls", ["Sender", "Receiver", "StreamWriter", "Message"])
def test_handles_are_made_by_their_factories_only(cls: str) -> None:
    check(lambda: getattr(mcast, cls)(), TypeError)


def test_methods_refuse_unknown_and_extra_arguments(pair: Tuple[mcast.Sender, mcast.Receiver]) -> None:
    tx, rx = pair
    t: Any = tx
    r: Any = rx
    check(lambda: t.send(b"x", None, 1), TypeError, "positional|takes no arguments")
    check(lambda: t.send(b"x", bogus=1), TypeError, "bogus")
    check(lambda: t.send(), TypeError, "data")
    check(lambda: t.flush(1, 2), TypeError, "positional|takes no arguments")
    check(lambda: t.flush(wait=1), TypeError, "wait")
    check(lambda: t.flush_acked(), TypeError, "nodes")
    check(lambda: t.send_file(), TypeError, "path")
    check(lambda: t.open_stream(b"i", b"j"), TypeError, "positional|takes no arguments")
    check(lambda: t.stats(1), TypeError, "positional|takes no arguments")
    check(lambda: t.close(1), TypeError, "positional|takes no arguments")
    check(lambda: r.recv(1, 2), TypeError, "positional|takes no arguments")
    check(lambda: r.recv(wait=1), TypeError, "wait")
    check(lambda: r.try_recv(1), TypeError, "positional|takes no arguments")
    check(lambda: r.fileno(1), TypeError, "positional|takes no arguments")
    check(lambda: r.progress(1), TypeError, "positional|takes no arguments")
    check(lambda: r.stats(x=1), TypeError, "keyword")
    check(lambda: r.recv_async(1, 2), TypeError, "positional|takes no arguments")
    with tx.open_stream() as st:
        s: Any = st
        check(lambda: s.write(), TypeError, "message")
        check(lambda: s.write(b"a", b"b"), TypeError, "positional|takes no arguments")
        check(lambda: s.flush(1), TypeError, "positional|takes no arguments")
    # Read-only properties.
    for obj, attr in [(tx, "node_id"), (rx, "node_id"), (st, "id")]:
        check(lambda: setattr(obj, attr, 5), AttributeError)


# ---------------------------------------------------------------------------
# Closed handles and closed contexts
# ---------------------------------------------------------------------------


async def _collect(rx: mcast.Receiver) -> List[mcast.Message]:
    return [m async for m in rx]


def _sender_ops(tx: mcast.Sender, path: Path) -> Dict[str, Callable[[], Any]]:
    return {
        "send": lambda: tx.send(b"x"),
        "send info timeout": lambda: tx.send(b"x", info=b"i", timeout=1),
        "send_file": lambda: tx.send_file(path),
        "flush": lambda: tx.flush(timeout=1),
        "flush_acked": lambda: tx.flush_acked([1], timeout=0.5),
        "open_stream": lambda: tx.open_stream(b"i"),
    }


def _receiver_ops(rx: mcast.Receiver) -> Dict[str, Callable[[], Any]]:
    async def recv_async() -> mcast.Message:
        return await rx.recv_async(timeout=1)

    return {
        "recv": lambda: rx.recv(timeout=1),
        "recv forever": lambda: rx.recv(),
        "recv_async": lambda: asyncio.run(recv_async()),
        "try_recv": lambda: rx.try_recv(),
    }


def _stream_ops(st: mcast.StreamWriter) -> Dict[str, Callable[[], Any]]:
    return {"write": lambda: st.write(b"x"), "flush": lambda: st.flush()}


# Read-only accessors and the type of what they return.
def _accessors(tx: mcast.Sender, rx: mcast.Receiver, st: mcast.StreamWriter) -> Dict[str, Tuple[Callable[[], Any], type]]:
    return {
        "Sender.stats": (lambda: tx.stats(), dict),
        "Sender.node_id": (lambda: tx.node_id, int),
        "Receiver.stats": (lambda: rx.stats(), dict),
        "Receiver.node_id": (lambda: rx.node_id, int),
        "Receiver.fileno": (lambda: rx.fileno(), int),
        "Receiver.progress": (lambda: rx.progress(), list),
        "StreamWriter.id": (lambda: st.id, int),
    }


def _closes(tx: mcast.Sender, rx: mcast.Receiver, st: mcast.StreamWriter) -> None:
    # close() is always allowed, any number of times, and so is `with`.
    for _ in range(2):
        for h in (st, tx, rx):
            assert h.close() is None
    with st, tx, rx:
        pass
    # `async for` over a closed receiver ends at once.
    assert asyncio.run(asyncio.wait_for(_collect(rx), 5)) == []


@pytest.fixture
def handles(tmp_path: Path) -> Iterator[Tuple[mcast.Context, mcast.Sender, mcast.Receiver, mcast.StreamWriter, Path]]:
    f = tmp_path / "f.bin"
    f.write_bytes(b"content")
    c = mcast.Context()
    # Apart: nothing the sender sends reaches the receiver, which must have
    # no message queued for recv() to raise Closed.
    rx = c.receiver(GROUP, next(_ports), "vb")
    tx = c.sender(GROUP, next(_ports), "va")
    st = tx.open_stream(b"s")
    yield c, tx, rx, st, f
    c.close()


def test_every_method_of_closed_handles_raises_closed(handles: Tuple[mcast.Context, mcast.Sender, mcast.Receiver, mcast.StreamWriter, Path]) -> None:
    c, tx, rx, st, f = handles
    st.close()
    tx.close()
    rx.close()
    ops: Dict[str, Callable[[], Any]] = {
        **{f"Sender.{k}": v for k, v in _sender_ops(tx, f).items()},
        **{f"Receiver.{k}": v for k, v in _receiver_ops(rx).items()},
        **{f"StreamWriter.{k}": v for k, v in _stream_ops(st).items()},
        **{k: v for k, (v, _) in _accessors(tx, rx, st).items()},
    }
    for name, op in ops.items():
        e = check(op, mcast.Closed)
        assert isinstance(e, mcast.Error) and not isinstance(e, ValueError), name
    _closes(tx, rx, st)
    # The context goes on.
    assert not c.closed
    accept(lambda: c.sender(GROUP, PORT, "va"))


def test_a_stream_of_a_closed_sender_is_closed(handles: Tuple[mcast.Context, mcast.Sender, mcast.Receiver, mcast.StreamWriter, Path]) -> None:
    _, tx, _, st, _ = handles
    tx.close()
    for name, op in _stream_ops(st).items():
        check(op, mcast.Closed)
    # Closing it (or leaving its `with` block) is no error: it is gone with
    # its sender.
    with st:
        pass
    st.close()
    check(lambda: st.write(b"x"), mcast.Closed)


def test_every_operation_on_a_closed_context_raises_closed(
    handles: Tuple[mcast.Context, mcast.Sender, mcast.Receiver, mcast.StreamWriter, Path],
) -> None:
    c, tx, rx, st, f = handles
    c.close()
    assert c.closed
    ops: Dict[str, Callable[[], Any]] = {
        **{f"Sender.{k}": v for k, v in _sender_ops(tx, f).items()},
        **{f"Receiver.{k}": v for k, v in _receiver_ops(rx).items()},
        **{f"StreamWriter.{k}": v for k, v in _stream_ops(st).items()},
        "Context.sender": lambda: c.sender(GROUP, PORT, "va"),
        "Context.receiver": lambda: c.receiver(GROUP, PORT, "vb"),
        "Context.sender with options": lambda: c.sender(GROUP, PORT, "va", key=bytes(32), rate_bps=10**6),
    }
    for name, op in ops.items():
        check(op, mcast.Closed)
    # Accessors may still answer with what the handle last knew, or raise
    # Closed; nothing else.
    for name, (op, kind) in _accessors(tx, rx, st).items():
        try:
            value = op()
        except mcast.Closed:
            continue
        assert isinstance(value, kind), (name, value)
    _closes(tx, rx, st)
    c.close()
    with c:
        pass
    assert c.closed


def test_a_closed_handle_still_checks_its_arguments_first(
    handles: Tuple[mcast.Context, mcast.Sender, mcast.Receiver, mcast.StreamWriter, Path],
) -> None:
    """Whichever is reported, no bad argument to a closed handle panics."""
    c, tx, rx, st, _ = handles
    c.close()
    t: Any = tx
    r: Any = rx
    s: Any = st
    check(lambda: t.send("text"), TypeError, "data")
    check(lambda: t.send(b"x", timeout=-1), mcast.InvalidArgument, "timeout")
    check(lambda: t.flush_acked([2**32]), mcast.InvalidArgument, "nodes")
    check(lambda: r.recv(timeout=NAN), mcast.InvalidArgument, "timeout")
    check(lambda: s.write(None), TypeError, "message")
    check(lambda: c.sender(GROUP, 2**64, "va"), mcast.InvalidArgument, "port")
    check(lambda: c.sender(GROUP, PORT, "va", segment_size=-1), mcast.InvalidArgument, "segment_size")


# ---------------------------------------------------------------------------
# The interpreter survives a matrix of garbage
# ---------------------------------------------------------------------------

GARBAGE_SCRIPT = r"""
import asyncio, itertools, sys
import mcast

G = "ff3e::4d43:53"
garbage = [None, True, False, 0, -1, 2**31, 2**64, -(2**64), 2**4000, 0.5, -0.0, float("nan"), float("inf"),
           "", "x", "\x00", "\ud800", b"", b"\x00" * 33, bytes(32), bytearray(1500), memoryview(bytes(8))[::2],
           [], [None], [2**40], (1,), {}, {"a": 1}, object(), iter([]), type, Ellipsis]
ctx = mcast.Context()
tx = ctx.sender(G, 7790, "va")
rx = ctx.receiver(G, 7790, "vb")
st = tx.open_stream()
calls = 0
panics = []

# A valid timeout long enough to wait for (not garbage: skipped).
def waits(g):
    return g is None or (isinstance(g, (int, float)) and not isinstance(g, bool) and g == g and g > 0.5)

def run(f):
    global calls
    calls += 1
    try:
        r = f()
        if hasattr(r, "close") and not isinstance(r, mcast.Context):
            r.close()
    except Exception:
        pass
    except BaseException as e:
        if type(e).__name__ == "PanicException":
            panics.append(repr(e))
        else:
            raise

async def ra(g):
    return await rx.recv_async(g)

options = ["segment_size", "block_size", "parity", "auto_parity", "rate_bps", "congestion_control", "rate_min_bps",
           "cache_max_objects", "cache_max_bytes", "grtt_initial", "grtt_max", "backoff_factor", "group_size",
           "robust_factor", "stream_buffer_blocks", "wait_for_acks", "key", "seal_max_age", "signing_key", "node_id",
           "sync_policy", "sync_window", "max_object_size", "max_buffer_per_sender", "max_buffer_total", "max_senders",
           "inactivity_timeout", "unicast_nacks", "silent", "sources", "file_dir", "trusted_signers", "bogus"]
for g in garbage:
    for opt in options:
        run(lambda: ctx.sender(G, 7791, "va", **{opt: g}))
        run(lambda: ctx.receiver(G, 7791, "vb", **{opt: g}))
    for kw in ["hop_limit", "loopback", "recv_buffer", "send_buffer"]:
        run(lambda: mcast.Context(**{kw: g}).close())
    run(lambda: ctx.sender(g, 7791, "va"))
    run(lambda: ctx.sender(G, g, "va"))
    run(lambda: ctx.receiver(G, 7791, g))
    run(lambda: tx.send(g, timeout=0))
    run(lambda: tx.send(b"x", g, timeout=0))
    run(lambda: None if waits(g) else tx.send(b"x", timeout=g))
    run(lambda: None if waits(g) else tx.flush(timeout=g))
    run(lambda: tx.flush_acked(g, timeout=0))
    run(lambda: None if waits(g) else tx.flush_acked([1], timeout=g))
    run(lambda: tx.send_file(g))
    run(lambda: tx.open_stream(g).close())
    run(lambda: st.write(g))
    run(lambda: None if waits(g) else rx.recv(timeout=g))
    run(lambda: None if waits(g) else asyncio.run(ra(g)))
    run(lambda: mcast.channel_address(g))
    run(lambda: mcast.channel_address("x", g))
    run(lambda: mcast.channel_address("x", "global", g))
    run(lambda: mcast.signing_public_key(g))
    for f in (mcast.load_key, mcast.load_signing_key, mcast.load_public_key):
        run(lambda: f(g))
ctx.close()
for g in garbage[:12]:
    run(lambda: tx.send(b"x", timeout=g))
    run(lambda: rx.recv(timeout=g))
    run(lambda: st.write(b"x"))
    run(lambda: ctx.receiver(G, 7791, "vb", node_id=g))
print("calls", calls, "panics", len(panics))
for p in panics:
    print("PANIC", p)
print("survived")
"""


def test_the_interpreter_survives_a_matrix_of_garbage() -> None:
    p = subprocess.run([sys.executable, "-c", GARBAGE_SCRIPT], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0 and p.stdout.rstrip().endswith("survived"), (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    assert "panics 0" in p.stdout and "PanicException" not in p.stderr and "panicked" not in p.stderr, p.stdout + p.stderr[-3000:]
    calls = int(re.search(r"calls (\d+)", p.stdout).group(1))  # type: ignore[union-attr]
    assert calls > 2000, calls
