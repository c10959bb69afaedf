"""mcast: reliable IPv6 multicast (NORM, RFC 5740).

One sender reaches any number of receivers with one packet per link, and
every receiver gets every object, complete and in order, or is told why not.

    import mcast

    with mcast.Context() as ctx:
        rx = ctx.receiver("ff3e::4d43", 5000, "eth0")
        tx = ctx.sender("ff3e::4d43", 5000, "eth0")
        tx.send(b"hello", info=b"greeting")
        tx.flush()
        msg = rx.recv(timeout=5)
        print(msg.data, msg.info, msg.sender)
"""

from __future__ import annotations

from ._errors import (
    Aborted,
    CacheFull,
    Closed,
    Error,
    InvalidArgument,
    NoSuchInterface,
    Timeout,
    WouldBlock,
)
from ._mcast import Context, Message, Receiver, Sender, StreamWriter, channel_address, version

__all__ = [
    "Aborted",
    "CacheFull",
    "Closed",
    "Context",
    "Error",
    "InvalidArgument",
    "Message",
    "NoSuchInterface",
    "Receiver",
    "Sender",
    "StreamWriter",
    "Timeout",
    "WouldBlock",
    "__version__",
    "channel_address",
    "version",
]

__version__: str = version()
