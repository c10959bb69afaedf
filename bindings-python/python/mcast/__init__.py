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

Sealed channels: with key=mcast.generate_key() (or mcast.load_key(path) of a
file `mcast keygen` wrote) on every sender and receiver, every datagram is
authenticated and content is encrypted; a receiver raises mcast.Rejected
(once per source) for senders whose datagrams it drops.

Signed objects: a sender with signing_key=secret signs every object, and a
receiver with trusted_signers=[public] delivers only objects signed by one
of those keys (msg.signer says which), reporting the rest as mcast.Aborted
and their sender as mcast.Rejected. secret, public =
mcast.generate_signing_key(), or mcast.load_signing_key(path) and
mcast.load_public_key(path + ".pub") of files `mcast keygen --sign` wrote.
"""

from __future__ import annotations

from ._errors import (
    Aborted,
    CacheFull,
    Closed,
    Error,
    InvalidArgument,
    NoSuchInterface,
    Rejected,
    Timeout,
    WouldBlock,
)
from ._mcast import (
    Context,
    Message,
    Receiver,
    Sender,
    StreamWriter,
    channel_address,
    generate_key,
    generate_signing_key,
    load_key,
    load_public_key,
    load_signing_key,
    signing_public_key,
    version,
)

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
    "Rejected",
    "Sender",
    "StreamWriter",
    "Timeout",
    "WouldBlock",
    "__version__",
    "channel_address",
    "generate_key",
    "generate_signing_key",
    "load_key",
    "load_public_key",
    "load_signing_key",
    "signing_public_key",
    "version",
]

__version__: str = version()
