"""Receives files sent to a group (by `mcast send`, or any NORM sender) and
writes them to a directory, with a progress bar per file on the terminal.

    python file_receiver.py OUTDIR [--group ff3e::4d43] [--port 5000]
                            [--interface eth0] [--count N]

Names come from each object's NORM_INFO, reduced to a safe base name. Files
go straight to disk as they arrive (the receiver's file_dir option; a file
still arriving is a hidden .mcast-*.part file in OUTDIR), so they may be
larger than memory.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import mcast


def safe_name(info: bytes, object_id: int) -> str:
    name = os.path.basename(info.decode("utf-8", "replace").replace("\\", "/"))
    return name if name not in ("", ".", "..") else f"object-{object_id}"


def bar(name: str, done: int, total: int, width: int = 30) -> str:
    frac = done / total if total else 1.0
    filled = int(frac * width)
    return f"\r{name[:24]:24} [{'=' * filled}{' ' * (width - filled)}] {frac * 100:5.1f}% {done / 1e6:8.1f} MB"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--group", default="ff3e::4d43")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--interface", default="eth0")
    p.add_argument("--count", type=int, default=0, help="exit after N files (default: run until Ctrl-C)")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    tty = sys.stderr.isatty()

    received = 0
    with mcast.Context() as ctx, ctx.receiver(a.group, a.port, a.interface, file_dir=a.out) as rx:
        print(f"listening on [{a.group}]:{a.port} via {a.interface}", file=sys.stderr)
        while a.count == 0 or received < a.count:
            try:
                msg = rx.recv(timeout=0.2)
            except mcast.Timeout:
                if tty:
                    for p_ in rx.progress():
                        total = p_["total_bytes"] or 0
                        print(bar(safe_name(p_["info"], p_["object_id"]), p_["received_bytes"], total), end="", file=sys.stderr)
                continue
            except mcast.Aborted as e:
                print(f"\nobject {e.object_id} from {e.sender} will not arrive: {e.reason}", file=sys.stderr)
                continue
            except KeyboardInterrupt:
                print("", file=sys.stderr)
                break
            name = safe_name(msg.info, msg.object_id)
            if msg.path is not None:
                # A FILE object, already in OUTDIR (under a temporary name).
                size = os.path.getsize(msg.path)
                os.replace(msg.path, a.out / name)
            else:
                # A DATA object (mcast send --data, Sender.send) comes in memory.
                size = len(msg.data)
                (a.out / name).write_bytes(msg.data)
            received += 1
            if tty:
                print(bar(name, size, size), file=sys.stderr)
            else:
                print(f"{name}: {size} bytes from {msg.sender}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
