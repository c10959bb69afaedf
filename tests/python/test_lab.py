"""Python senders and receivers in separate processes on the lab's bridge
(tests/lab/lab.sh): 5 % loss per receiver, against each other, against the
mcast command and against libnorm (tests/interop/normpeer); a sealed channel
(key=) against receivers with another key or none; signed objects
(signing_key=, trusted_signers=) from Python and from the mcast command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
import queue
import threading
from typing import Any, Dict, List

import pytest

import mcast
from conftest import ROOT, Lab

GROUP = "ff3e::4d43:51"
MCAST = Path(os.environ.get("MCAST", ROOT / "target" / "release" / "mcast"))
NORMPEER = ROOT / "target" / "interop" / "normpeer"
EXAMPLES = ROOT / "examples" / "python"


def lines(p: "subprocess.Popen[str]", timeout: float) -> List[Dict[str, Any]]:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, f"exit {p.returncode}: {err[-2000:]} {out[-500:]}"
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def start_receivers(lab: Lab, port: int, count: int, loss: float, *extra: str) -> List["subprocess.Popen[str]"]:
    procs = []
    for r in ("r1", "r2", "r3"):
        lab.loss(r, loss, port)
        procs.append(lab.peer(r, "recv", GROUP, str(port), "eth0", "--count", str(count), "--timeout", "120", *extra))
    for r in ("r1", "r2", "r3"):
        lab.wait_joined(r, GROUP)
    return procs


def test_ten_thousand_small_messages_in_order_at_5_percent_loss(lab: Lab) -> None:
    port, n = 6400, 10_000
    receivers = start_receivers(lab, port, n, 5)
    sender = lab.peer("s", "send", GROUP, str(port), "eth0", "--messages", str(n), "--size", "64")
    stats = lines(sender, 180)[-1]
    for r, p in zip(("r1", "r2", "r3"), receivers):
        got = lines(p, 180)
        objs = [g for g in got if "object_id" in g]
        assert len(objs) == n, f"{r}: {len(objs)} of {n}"
        assert [g["head"] for g in objs] == ["%08d" % i for i in range(n)], f"{r}: out of order or corrupt"
        assert [g["info"] for g in objs] == ["m%d" % i for i in range(n)]
        assert all(g["size"] == 64 for g in objs)
        assert lab.dropped(r) > 0, f"{r}: no loss was injected"
    assert stats["nacks_received"] > 0 and stats["repair_segments_sent"] > 0
    for r in ("r1", "r2", "r3"):
        lab.loss(r, 0, port)


def test_files_at_5_percent_loss(lab: Lab, tmp_path: Path) -> None:
    port = 6410
    files = []
    for name, size in (("empty.bin", 0), ("one.bin", 1), ("big.bin", 5_000_000)):
        p = tmp_path / name
        p.write_bytes(os.urandom(size))
        files.append(p)
    os.chmod(tmp_path, 0o755)
    receivers = start_receivers(lab, port, len(files), 5)
    sender = lab.peer("s", "send-files", GROUP, str(port), "eth0", *map(str, files))
    lines(sender, 180)
    for r, p in zip(("r1", "r2", "r3"), receivers):
        objs = [g for g in lines(p, 180) if "object_id" in g]
        assert [(g["info"], g["kind"], g["sha256"]) for g in objs] == [
            (f.name, "file", hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
        ], r
    for r in ("r1", "r2", "r3"):
        lab.loss(r, 0, port)


def test_python_receivers_get_what_the_mcast_command_sends(lab: Lab, tmp_path: Path) -> None:
    assert MCAST.exists(), f"no mcast binary at {MCAST} (cargo build --release)"
    port = 6420
    f = tmp_path / "from-cli.bin"
    f.write_bytes(os.urandom(3_000_000))
    os.chmod(tmp_path, 0o755)
    receivers = start_receivers(lab, port, 1, 5)
    send = lab.popen("s", [str(MCAST), "send", "--group", GROUP, "--port", str(port), "--interface", "eth0", "--quiet", str(f)])
    lines(send, 120)
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    for r, p in zip(("r1", "r2", "r3"), receivers):
        objs = [g for g in lines(p, 120) if "object_id" in g]
        assert [(g["info"], g["sha256"]) for g in objs] == [("from-cli.bin", want)], r
    for r in ("r1", "r2", "r3"):
        lab.loss(r, 0, port)


def test_the_mcast_command_gets_what_python_sends(lab: Lab, tmp_path: Path) -> None:
    port = 6430
    out = tmp_path / "out"
    os.chmod(tmp_path, 0o755)
    lab.loss("r1", 5, port)
    recv = lab.popen(
        "r1",
        [str(MCAST), "recv", "--group", GROUP, "--port", str(port), "--interface", "eth0", "--out", str(out), "--count", "50", "--timeout", "120", "--quiet"],
    )
    lab.wait_joined("r1", GROUP)
    lines(lab.peer("s", "send", GROUP, str(port), "eth0", "--messages", "50", "--size", "3000"), 120)
    lines(recv, 120)
    for i in range(50):
        data = (out / f"m{i}").read_bytes()
        assert data[:8] == b"%08d" % i and len(data) == 3000
    lab.loss("r1", 0, port)


def test_a_sealed_channel_reaches_only_receivers_with_its_key(lab: Lab, tmp_path: Path) -> None:
    """One sealed sender; r1 has the key (5 % loss: its NACKs go sealed), r2
    another key, r3 none. r1 gets everything intact; r2 and r3 get nothing
    and one Rejected per source (the sender, r1), saying why."""
    port, n = 6450, 200
    key_file = tmp_path / "channel.key"
    key_file.write_text(mcast.generate_key().hex() + "\n")  # as `mcast keygen` writes it
    other_file = tmp_path / "other.key"
    other_file.write_bytes(mcast.generate_key())  # the raw form
    os.chmod(tmp_path, 0o755)
    lab.loss("r1", 5, port)
    common = ["recv", GROUP, str(port), "eth0"]
    sealed = lab.peer("r1", *common, "--count", str(n), "--timeout", "60", "--key-file", str(key_file))
    # r2 and r3 listen for 3 s (the sender starts well within it), then time out.
    wrong = lab.peer("r2", *common, "--count", "1", "--timeout", "3", "--key-file", str(other_file))
    keyless = lab.peer("r3", *common, "--count", "1", "--timeout", "3")
    for r in ("r1", "r2", "r3"):
        lab.wait_joined(r, GROUP)
    sender = lab.peer("s", "send", GROUP, str(port), "eth0", "--messages", str(n), "--size", "3000", "--key-file", str(key_file))
    stats = lines(sender, 60)[-1]

    got = lines(sealed, 60)
    objs = [g for g in got if "object_id" in g]
    assert [g["head"] for g in objs] == ["%08d" % i for i in range(n)], "r1: missing, out of order or corrupt"
    assert [g["info"] for g in objs] == ["m%d" % i for i in range(n)] and all(g["size"] == 3000 for g in objs)
    want = [hashlib.sha256(b"%08d" % i + bytes((i + j) % 251 for j in range(3000 - 8))).hexdigest() for i in range(n)]
    assert [g["sha256"] for g in objs] == want, "r1: content differs from what was sent"
    assert not [g for g in got if "rejected" in g], got
    r1 = got[-1]["stats"]
    assert r1["datagrams_unauthenticated"] == 0 and r1["datagrams_seal_mismatch"] == 0
    assert lab.dropped("r1") > 0, "r1: no loss was injected"
    # The sender heard r1's sealed NACKs, and nothing it could not open.
    assert stats["nacks_received"] > 0 and stats["repair_segments_sent"] > 0
    assert stats["datagrams_unauthenticated"] == 0 and stats["datagrams_seal_mismatch"] == 0

    for host, p, reason, counter in (
        ("r2", wrong, "different key", "datagrams_unauthenticated"),
        ("r3", keyless, "no key", "datagrams_seal_mismatch"),
    ):
        out, err = p.communicate(timeout=30)
        assert p.returncode == 3, f"{host}: exit {p.returncode} (3: timed out): {err[-2000:]} {out[-500:]}"
        got = [json.loads(l) for l in out.splitlines() if l.strip()]
        assert not [g for g in got if "object_id" in g], f"{host} received a message: {got}"
        # Once per source: the sender, and r1 (whose sealed NACKs and
        # congestion feedback every receiver hears) if it spoke in time.
        rejected = [g for g in got if "rejected" in g]
        assert all(reason in g["rejected"] for g in rejected), f"{host}: {rejected}"
        assert len({g["sender_node_id"] for g in rejected}) == len(rejected), f"{host}: reported twice: {rejected}"
        assert [g["sender"] for g in rejected if g["sender_node_id"] == stats["node_id"]] == [objs[0]["sender"]], rejected
        assert got[-1]["error"] == "timeout" and got[-1]["stats"][counter] > 0, got[-1]
        assert got[-1]["stats"]["senders"] == 0 and got[-1]["stats"]["nacks_sent"] == 0
    lab.loss("r1", 0, port)


def signing_keys(tmp_path: Path, name: str) -> Path:
    """`mcast keygen --sign` writes a signing key to NAME and its public key
    to NAME.pub (no network involved); returns NAME."""
    assert MCAST.exists(), f"no mcast binary at {MCAST} (cargo build --release)"
    path = tmp_path / name
    r = subprocess.run([str(MCAST), "keygen", "--sign", "--quiet", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # The files as documented: 64 hexadecimal digits and a newline each.
    for f in (path, Path(f"{path}.pub")):
        text = f.read_text()
        assert len(text) == 65 and text.endswith("\n") and int(text, 16) >= 0, (f, text)
    secret = mcast.load_signing_key(path)
    assert mcast.signing_public_key(secret) == mcast.load_public_key(f"{path}.pub")
    return path


def collect(p: "subprocess.Popen[str]", timeout: float, exit_code: int) -> List[Dict[str, Any]]:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == exit_code, f"exit {p.returncode}, not {exit_code}: {err[-2000:]} {out[-500:]}"
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def test_signed_files_reach_only_receivers_that_trust_their_key(lab: Lab, tmp_path: Path) -> None:
    """A Python sender signs three files with a key from `mcast keygen
    --sign`. r1 trusts it (5 % loss: blocks complete out of order and are
    repaired, the content is checked all the same), r2 trusts another key
    (5 % loss), r3 trusts no key. r1 and r3 get every file intact, r1 with
    its signer; r2 gets none, one Rejected and an Aborted per file."""
    port = 6460
    signer = signing_keys(tmp_path, "signer")
    other = signing_keys(tmp_path, "other")
    public = mcast.load_public_key(f"{signer}.pub").hex()
    files = []
    for name, size in (("empty.bin", 0), ("one.bin", 1), ("big.bin", 3_000_000)):
        p = tmp_path / name
        p.write_bytes(os.urandom(size))
        files.append(p)
    os.chmod(tmp_path, 0o755)
    for f in (signer, other):
        os.chmod(f, 0o644)  # the peers run as the same user anyway
    lab.loss("r1", 5, port)
    lab.loss("r2", 5, port)
    common = ["recv", GROUP, str(port), "eth0", "--count", str(len(files))]
    trusting = lab.peer("r1", *common, "--timeout", "90", "--trust-file", f"{signer}.pub")
    # r2 listens for 10 s (the sender is done well within it), then times out.
    distrusting = lab.peer("r2", *common, "--timeout", "10", "--trust-file", f"{other}.pub")
    plain = lab.peer("r3", *common, "--timeout", "90")
    for r in ("r1", "r2", "r3"):
        lab.wait_joined(r, GROUP)
    # (Options after the files: argparse takes no positionals after them.)
    sender = lab.peer("s", "send-files", GROUP, str(port), "eth0", *map(str, files), "--sign-key-file", str(signer))
    stats = lines(sender, 90)[-1]
    want = [(f.name, "file", hashlib.sha256(f.read_bytes()).hexdigest()) for f in files]

    for host, proc, signed_by in (("r1", trusting, public), ("r3", plain, None)):
        got = lines(proc, 90)
        objs = [g for g in got if "object_id" in g]
        assert [(g["info"], g["kind"], g["sha256"]) for g in objs] == want, host
        assert all(g["signer"] == signed_by for g in objs), (host, objs)
        assert not [g for g in got if "rejected" in g or "aborted" in g], (host, got)
        assert got[-1]["stats"]["objects_unverified"] == 0 and got[-1]["stats"]["signatures_refused"] == 0, host
    assert lab.dropped("r1") > 0, "r1: no loss was injected"
    assert stats["nacks_received"] > 0 and stats["repair_segments_sent"] > 0

    got = collect(distrusting, 30, 3)
    assert not [g for g in got if "object_id" in g], f"r2 received a file: {got}"
    rejected = [g for g in got if "rejected" in g]
    assert len(rejected) == 1 and "does not trust" in rejected[0]["rejected"], rejected
    assert rejected[0]["sender_node_id"] == stats["node_id"]
    aborted = [g for g in got if "aborted" in g]
    assert len(aborted) == len(files) and len({g["aborted_id"] for g in aborted}) == len(files), aborted
    assert all(g["aborted"].startswith("refused: ") and g["sender_node_id"] == stats["node_id"] for g in aborted), aborted
    r2 = got[-1]["stats"]
    assert got[-1]["error"] == "timeout" and r2["objects_unverified"] == len(files) and r2["objects_completed"] == 0, r2
    for r in ("r1", "r2"):
        lab.loss(r, 0, port)


def test_python_receivers_check_what_the_mcast_command_signs(lab: Lab, tmp_path: Path) -> None:
    """`mcast send --sign-key` to a Python receiver that trusts its key (5 %
    loss) and to one that trusts another key."""
    port = 6470
    signer = signing_keys(tmp_path, "cli-signer")
    other = signing_keys(tmp_path, "cli-other")
    f = tmp_path / "signed-by-cli.bin"
    f.write_bytes(os.urandom(2_000_000))
    os.chmod(tmp_path, 0o755)
    for k in (signer, other):
        os.chmod(k, 0o644)
    lab.loss("r1", 5, port)
    common = ["recv", GROUP, str(port), "eth0", "--count", "1"]
    trusting = lab.peer("r1", *common, "--timeout", "90", "--trust-file", f"{signer}.pub")
    distrusting = lab.peer("r2", *common, "--timeout", "10", "--trust-file", f"{other}.pub")
    for r in ("r1", "r2"):
        lab.wait_joined(r, GROUP)
    send = lab.popen(
        "s", [str(MCAST), "send", "--group", GROUP, "--port", str(port), "--interface", "eth0", "--quiet", "--sign-key", str(signer), str(f)]
    )
    lines(send, 90)
    got = lines(trusting, 90)
    objs = [g for g in got if "object_id" in g]
    want = ("signed-by-cli.bin", hashlib.sha256(f.read_bytes()).hexdigest(), mcast.load_public_key(f"{signer}.pub").hex())
    assert [(g["info"], g["sha256"], g["signer"]) for g in objs] == [want], got
    assert lab.dropped("r1") > 0, "r1: no loss was injected"
    got = collect(distrusting, 30, 3)
    assert not [g for g in got if "object_id" in g], got
    assert [g["rejected"] for g in got if "rejected" in g] and all("does not trust" in g["rejected"] for g in got if "rejected" in g), got
    assert [g["aborted"] for g in got if "aborted" in g], got
    lab.loss("r1", 0, port)


def test_python_receivers_get_what_libnorm_sends(lab: Lab, tmp_path: Path) -> None:
    if not NORMPEER.exists():
        r = subprocess.run(["bash", str(ROOT / "tests" / "interop" / "build.sh")], capture_output=True, text=True)
        assert r.returncode == 0, f"building the libnorm peer failed: {r.stderr}"
    port = 6440
    files = []
    for name, size in (("a.bin", 1), ("b.bin", 40_000), ("c.bin", 3_000_000)):
        p = tmp_path / name
        p.write_bytes(os.urandom(size))
        files.append(p)
    os.chmod(tmp_path, 0o755)
    receivers = start_receivers(lab, port, len(files), 5)
    send = lab.popen(
        "s",
        [str(NORMPEER), "send", "--group", GROUP, "--port", str(port), "--interface", "eth0", "--rate", "100000000", "--block", "64", "--parity", "16", *map(str, files)],
    )
    out, err = send.communicate(timeout=180)
    assert send.returncode == 0, f"libnorm sender failed: {err[-2000:]}"
    for r, p in zip(("r1", "r2", "r3"), receivers):
        got = lines(p, 120)
        objs = [g for g in got if "object_id" in g]
        assert [(g["info"], g["sha256"]) for g in objs] == [
            (f.name, hashlib.sha256(f.read_bytes()).hexdigest()) for f in files
        ], r
        assert got[-1]["stats"]["nacks_sent"] > 0, f"{r}: no NACKs: was there loss?"
    for r in ("r1", "r2", "r3"):
        lab.loss(r, 0, port)


def test_the_readme_example_exchanges_data_with_the_mcast_command(lab: Lab, tmp_path: Path) -> None:
    """The Python example of README.md, run as written (interface eth1 is
    eth0 in the lab), receives what `mcast send` sends, then sends a file."""
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0].replace('"eth1"', '"eth0"')
    (tmp_path / "example.py").write_text(code)
    report = tmp_path / "report.pdf"
    report.write_bytes(os.urandom(200_000))
    os.chmod(tmp_path, 0o755)
    port = 5000
    example = lab.popen("r1", ["sh", "-c", f'cd "{tmp_path}" && exec "{sys.executable}" example.py'])
    lab.wait_joined("r1", "ff3e::4d43")
    out_dir = tmp_path / "cli-out"
    recv = lab.popen(
        "r2",
        [str(MCAST), "recv", "--group", "ff3e::4d43", "--port", str(port), "--interface", "eth0", "--out", str(out_dir), "--count", "3", "--timeout", "60", "--quiet"],
    )
    lab.wait_joined("r2", "ff3e::4d43")
    send = lab.popen("s", [str(MCAST), "send", "--group", "ff3e::4d43", "--port", str(port), "--interface", "eth0", "--quiet", str(report)])
    lines(send, 60)
    out, err = example.communicate(timeout=60)
    assert example.returncode == 0, err
    assert "b'report.pdf'" in out and "fd6d:6361:7374::1" in out, out
    # The mcast command on r2 got the CLI's file and the example's two objects.
    lines(recv, 60)
    assert (out_dir / "report.pdf").read_bytes() == report.read_bytes()
    assert (out_dir / "greeting").read_bytes() == b"hello"


def test_the_file_receiver_example_gets_what_the_mcast_command_sends(lab: Lab, tmp_path: Path) -> None:
    """examples/python/file_receiver.py on r1 (5 % loss) receives the files
    `mcast send` sends, byte for byte, under their names (and nothing else is
    left in its directory)."""
    assert MCAST.exists(), f"no mcast binary at {MCAST} (cargo build --release)"
    port, group = 6480, "ff3e::4d43:52"
    files = []
    for name, size in (("photo.jpg", 4_000_000), ("notes.txt", 1), ("empty", 0)):
        p = tmp_path / name
        p.write_bytes(os.urandom(size))
        files.append(p)
    out = tmp_path / "received"
    os.chmod(tmp_path, 0o755)
    lab.loss("r1", 5, port)
    receiver = lab.popen(
        "r1",
        [sys.executable, str(EXAMPLES / "file_receiver.py"), str(out), "--group", group, "--port", str(port), "--interface", "eth0", "--count", str(len(files))],
    )
    try:
        lab.wait_joined("r1", group)
        send = lab.popen("s", [str(MCAST), "send", "--group", group, "--port", str(port), "--interface", "eth0", "--quiet", *map(str, files)])
        lines(send, 120)
        _, err = receiver.communicate(timeout=120)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.communicate()
    assert receiver.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(f.name for f in files), err
    for f in files:
        assert (out / f.name).read_bytes() == f.read_bytes(), f.name
        assert f"{f.name}: {f.stat().st_size} bytes from " in err, err
    assert lab.dropped("r1") > 0, "r1: no loss was injected"
    lab.loss("r1", 0, port)


def test_two_chat_examples_talk_to_each_other(lab: Lab) -> None:
    """examples/python/chat.py on r1 (alice) and r2 (bob), their standard
    input piped: each one's lines appear at the other, not at itself, and
    end of input ends both."""
    port, group = 6490, "ff3e::4d43:53"
    chats: Dict[str, "subprocess.Popen[str]"] = {}
    for host, nick in (("r1", "alice"), ("r2", "bob")):
        chats[nick] = lab.popen(
            host,
            [sys.executable, "-u", str(EXAMPLES / "chat.py"), nick, "--group", group, "--port", str(port), "--interface", "eth0"],
            stdin=subprocess.PIPE,
        )
    try:
        for host, p in zip(("r1", "r2"), chats.values()):
            if p.poll() is not None:
                raise AssertionError(f"chat on {host} exited {p.returncode}: {p.communicate()[1][-2000:]}")
            lab.wait_joined(host, group)
        # Each chat's output, line by line, as it comes.
        heard: Dict[str, "queue.Queue[str]"] = {nick: queue.Queue() for nick in chats}

        def read(nick: str) -> None:
            for line in chats[nick].stdout or []:
                heard[nick].put(line)

        readers = [threading.Thread(target=read, args=(nick,), daemon=True) for nick in chats]
        for t in readers:
            t.start()

        def say(nick: str, text: str) -> None:
            stdin = chats[nick].stdin
            assert stdin is not None
            stdin.write(text + "\n")
            stdin.flush()

        def next_line(nick: str) -> str:
            try:
                return heard[nick].get(timeout=20).rstrip("\n")
            except queue.Empty:
                raise AssertionError(f"{nick} saw nothing within 20 s") from None

        say("alice", "hello bob")
        assert next_line("bob") == "<alice> hello bob"
        say("bob", "hi alice")
        say("bob", "how are you?")
        assert [next_line("alice"), next_line("alice")] == ["<bob> hi alice", "<bob> how are you?"]
        for nick, p in chats.items():
            assert p.stdin is not None
            p.stdin.close()
        for nick, p in chats.items():
            assert p.wait(30) == 0, (nick, p.stderr.read() if p.stderr else "")
        for t in readers:
            t.join(5)
    finally:
        for p in chats.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    # Nobody saw their own lines, nor anything more.
    assert heard["alice"].empty() and heard["bob"].empty()
