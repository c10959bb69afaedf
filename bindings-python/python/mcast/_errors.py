"""The exceptions mcast raises (the extension module raises these classes)."""

from __future__ import annotations


class Error(Exception):
    """Base class of every mcast error (OS errors are OSError subclasses)."""


class Timeout(Error, TimeoutError):
    """The call did not complete within its timeout."""


class InvalidArgument(Error, ValueError):
    """A value passed in is out of range or malformed."""


class NoSuchInterface(InvalidArgument):
    """The network interface named does not exist (here)."""

    interface: str


class Closed(Error):
    """The handle or its context has been closed."""


class WouldBlock(Error):
    """The call would have to wait (for example try_recv with nothing ready)."""


class CacheFull(Error):
    """The sender's transmit cache can never hold the object."""


class Aborted(Error):
    """An object from a sender will never arrive; later ones still do. A
    receiver with trusted_signers also reports the objects it refuses this
    way (reason "refused: ...")."""

    sender: str
    sender_node_id: int
    object_id: int
    reason: str


class Rejected(Error):
    """A receiver drops a source's datagrams (sealed channels): they are not
    sealed while the receiver has a key, sealed with a different key, fail
    authentication, or are sealed while the receiver has no key. Or a
    receiver with trusted_signers refuses a sender's objects: unsigned,
    signed by a key it does not trust, with signatures that do not verify,
    content that is not what was signed, or streams. Raised by recv() once
    per source and reason; the receiver goes on with other senders (call
    recv() again)."""

    sender: str
    sender_node_id: int
    reason: str
