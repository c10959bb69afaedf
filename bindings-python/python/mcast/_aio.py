"""asyncio support: Receiver.recv_async and `async for` (the extension's
methods call these)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Optional

from ._errors import Closed, Timeout, WouldBlock

if TYPE_CHECKING:
    from ._mcast import Message, Receiver

# Longest wait between looks at the receiver (it may be closed meanwhile,
# and a closed receiver's descriptor never becomes readable).
_SLICE = 0.25


async def recv_async(self: "Receiver", timeout: Optional[float] = None) -> Message:
    """Waits for the next message without blocking the event loop (the
    receiver's file descriptor is watched with loop.add_reader; a receiver
    closed meanwhile is noticed within a quarter of a second). Raises what
    try_recv raises: Timeout, Aborted, Rejected, Closed."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        try:
            return self.try_recv()
        except WouldBlock:
            pass
        fd = self.fileno()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        wait = _SLICE
        if deadline is not None:
            wait = min(wait, deadline - loop.time())
            if wait <= 0:
                raise Timeout("timed out")
        loop.add_reader(fd, wake)
        try:
            await asyncio.wait([ready], timeout=wait)
        finally:
            loop.remove_reader(fd)
            if not ready.done():
                ready.cancel()


async def aiter(self: "Receiver") -> AsyncIterator[Message]:
    """`async for msg in receiver`: every message until the receiver closes
    (Aborted and Rejected end the loop by propagating; iterate again to go
    on)."""
    while True:
        try:
            yield await recv_async(self)
        except Closed:
            return

