"""A chat over a multicast group: every line you type goes to everyone on
the group; what the others type appears as it arrives.

    python chat.py NICK [--group ff3e::4d43:c4a7] [--port 5099] [--interface eth0]

Run it on several hosts (or network namespaces) on one link. It uses asyncio:
the receiver is awaited (`async for`) while standard input is read in a
thread, so neither blocks the other.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import mcast


async def show(receiver: mcast.Receiver, me: int) -> None:
    async for msg in receiver:
        if msg.sender_node_id == me:
            continue  # our own line, looped back
        nick = msg.info.decode("utf-8", "replace")
        print(f"<{nick}> {msg.data.decode('utf-8', 'replace')}", flush=True)


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("nick")
    p.add_argument("--group", default="ff3e::4d43:c4a7")
    p.add_argument("--port", type=int, default=5099)
    p.add_argument("--interface", default="eth0")
    a = p.parse_args()

    with mcast.Context() as ctx:
        receiver = ctx.receiver(a.group, a.port, a.interface, sync_policy="current")
        sender = ctx.sender(a.group, a.port, a.interface, rate_bps=1_000_000)
        task = asyncio.create_task(show(receiver, sender.node_id))
        loop = asyncio.get_running_loop()
        print(f"chatting on [{a.group}]:{a.port} via {a.interface} as {a.nick}; Ctrl-D ends", file=sys.stderr)
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            sender.send(line.rstrip("\n").encode(), info=a.nick.encode())
        sender.flush(timeout=5)
        receiver.close()
        await task
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
