"""A sender or receiver process for the Python network tests (run inside a
lab namespace by test_lab.py).

    peer.py send GROUP PORT IFACE --messages N [--size BYTES]
    peer.py send-files GROUP PORT IFACE FILE... [options after the files]
    peer.py recv GROUP PORT IFACE --count N [--timeout SECS] [--sync all|current]
    (each mode also takes --key-file PATH: a sealed channel's key file;
    send and send-files take --sign-key-file PATH, a signing key file, and
    recv --trust-file PATH, a public key file to trust, repeatable)

send: N DATA objects, object i = b"%08d" % i padded to --size with a pattern,
      info b"m<i>"; then flush; prints one JSON line with the stats (and
      node_id).
recv: prints one JSON line per object (object_id, info, size, sha256, head,
      signer: hexadecimal or null), one per mcast.Rejected (rejected: the
      reason, sender, sender_node_id) and, with --trust-file, one per
      mcast.Aborted (aborted: the reason, aborted_id, sender_node_id); exits
      0 after --count objects, 3 on timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time

import mcast


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["send", "send-files", "recv"])
    p.add_argument("group")
    p.add_argument("port", type=int)
    p.add_argument("iface")
    p.add_argument("files", nargs="*")
    p.add_argument("--messages", type=int, default=0)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--sync", default="all")
    p.add_argument("--key-file")
    p.add_argument("--sign-key-file")
    p.add_argument("--trust-file", action="append", default=[])
    a = p.parse_args()
    key = mcast.load_key(a.key_file) if a.key_file else None
    signing_key = mcast.load_signing_key(a.sign_key_file) if a.sign_key_file else None
    trusted = [mcast.load_public_key(f) for f in a.trust_file]

    with mcast.Context() as ctx:
        if a.mode == "send":
            tx = ctx.sender(a.group, a.port, a.iface, rate_bps=50_000_000, key=key, signing_key=signing_key)
            for i in range(a.messages):
                head = b"%08d" % i
                tx.send(head + bytes((i + j) % 251 for j in range(max(0, a.size - len(head)))), info=b"m%d" % i)
            tx.flush(timeout=120)
            print(json.dumps({**tx.stats(), "node_id": tx.node_id}), flush=True)
        elif a.mode == "send-files":
            tx = ctx.sender(a.group, a.port, a.iface, rate_bps=100_000_000, key=key, signing_key=signing_key)
            for f in a.files:
                tx.send_file(f)
            tx.flush(timeout=120)
            print(json.dumps({**tx.stats(), "node_id": tx.node_id}), flush=True)
        else:
            rx = ctx.receiver(a.group, a.port, a.iface, sync_policy=a.sync, key=key, trusted_signers=trusted)
            # Ready: the group is joined (the test waits for the join itself).
            deadline = time.monotonic() + a.timeout
            got = 0
            while got < a.count:
                try:
                    m = rx.recv(timeout=max(0.0, deadline - time.monotonic()))
                except mcast.Timeout:
                    print(json.dumps({"error": "timeout", "stats": rx.stats()}), flush=True)
                    return 3
                except mcast.Rejected as e:
                    print(json.dumps({"rejected": e.reason, "sender": e.sender, "sender_node_id": e.sender_node_id}), flush=True)
                    continue
                except mcast.Aborted as e:
                    if not trusted:
                        raise
                    print(json.dumps({"aborted": e.reason, "aborted_id": e.object_id, "sender_node_id": e.sender_node_id}), flush=True)
                    continue
                got += 1
                print(
                    json.dumps(
                        {
                            "object_id": m.object_id,
                            "kind": m.kind,
                            "info": m.info.decode("utf-8", "replace"),
                            "size": len(m.data),
                            "sha256": hashlib.sha256(m.data).hexdigest(),
                            "head": m.data[:8].decode("ascii", "replace"),
                            "sender": m.sender,
                            "signer": m.signer.hex() if m.signer is not None else None,
                        }
                    ),
                    flush=True,
                )
            print(json.dumps({"stats": rx.stats()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
