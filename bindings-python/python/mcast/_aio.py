"""asyncio support: Receiver.recv_async and `async for` (the extension's
methods call these)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, AsyncIterator, Optional

from ._errors import Closed, Timeout, WouldBlock

if TYPE_CHECKING:
    from ._mcast import Message, Receiver


async def recv_async(self: "Receiver", timeout: Optional[float] = None) -> Message:
    """Waits for the next message without blocking the event loop (the
    receiver's file descriptor is watched with loop.add_reader)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    fd = self.fileno()
    while True:
        try:
            return self.try_recv()
        except WouldBlock:
            pass
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            if deadline is None:
                await ready
            else:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Timeout("timed out")
                try:
                    await asyncio.wait_for(ready, remaining)
                except asyncio.TimeoutError:
                    raise Timeout("timed out") from None
        finally:
            loop.remove_reader(fd)


async def aiter(self: "Receiver") -> AsyncIterator[Message]:
    """`async for msg in receiver`: every message until the receiver closes."""
    while True:
        try:
            yield await recv_async(self)
        except Closed:
            return

