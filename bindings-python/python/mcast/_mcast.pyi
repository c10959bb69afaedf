"""Type stubs of the extension module mcast._mcast."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, AsyncIterator, Literal, Optional, Sequence, Union, final

_Bytes = Union[bytes, bytearray, memoryview]

def version() -> str: ...
def channel_address(
    name: str, scope: Literal["link", "site", "org", "global"] = "global", ssm: bool = False
) -> tuple[str, int]:
    """The multicast address and port of a named channel (same in every language)."""
    ...

def generate_key() -> bytes:
    """A new random channel key: 32 bytes from the operating system's
    generator, for key= of the senders and receivers of a sealed channel."""
    ...

def load_key(path: Union[str, os.PathLike[str]]) -> bytes:
    """Reads a key file: 64 hexadecimal digits (as `mcast keygen` writes
    them; surrounding whitespace is ignored) or exactly 32 raw bytes. Returns
    the 32-byte key. Raises OSError (FileNotFoundError, PermissionError, ...)
    if the file cannot be read, InvalidArgument if it holds no key."""
    ...

def generate_signing_key() -> tuple[bytes, bytes]:
    """A new Ed25519 signing key: (secret, public), 32 bytes each. Pass the
    secret as signing_key= to a sender (and keep it secret), the public key
    in trusted_signers= to receivers."""
    ...

def signing_public_key(secret: _Bytes) -> bytes:
    """The 32-byte public key of a signing key (its 32-byte secret). Raises
    InvalidArgument if secret is not 32 bytes."""
    ...

def load_signing_key(path: Union[str, os.PathLike[str]]) -> bytes:
    """Reads a signing key file (as `mcast keygen --sign FILE` writes FILE):
    64 hexadecimal digits (surrounding whitespace is ignored) or exactly 32
    raw bytes. Returns the 32-byte secret. Raises OSError if the file cannot
    be read, InvalidArgument if it holds no key."""
    ...

def load_public_key(path: Union[str, os.PathLike[str]]) -> bytes:
    """Reads a public key file (as `mcast keygen --sign FILE` writes
    FILE.pub): 64 hexadecimal digits or exactly 32 raw bytes. Returns the
    32-byte key. Raises OSError if the file cannot be read, InvalidArgument
    if it holds no key or 32 bytes that are not an Ed25519 public key."""
    ...

@final
class Context:
    """Owns one mcast engine thread; make senders and receivers from it.

    Use it as a context manager, or call close(). Keyword settings apply to
    every socket of the context: hop_limit 0..=255, recv_buffer and
    send_buffer in bytes (0: the kernel's default). A value out of range
    raises InvalidArgument, one of another type TypeError.

    Arguments everywhere: a value out of range or malformed raises
    InvalidArgument, one of a wrong type TypeError (a bool is not a number
    here), and the message names the argument. Keyword options of sender()
    and receiver(), and keys wherever they are passed, raise InvalidArgument
    for wrong types too (and an unknown option InvalidArgument). Timeouts
    are numbers of seconds >= 0 (None: wait forever); a negative one, NaN
    or infinity raises InvalidArgument."""

    def __init__(
        self,
        *,
        hop_limit: Optional[int] = None,
        loopback: Optional[bool] = None,
        recv_buffer: Optional[int] = None,
        send_buffer: Optional[int] = None,
    ) -> None: ...
    def sender(
        self,
        group: str,
        port: int,
        interface: Optional[str] = None,
        *,
        segment_size: int = ...,
        block_size: int = ...,
        parity: int = ...,
        auto_parity: int = ...,
        rate_bps: int = ...,
        congestion_control: bool = ...,
        rate_min_bps: int = ...,
        cache_max_objects: int = ...,
        cache_max_bytes: int = ...,
        grtt_initial: float = ...,
        grtt_max: float = ...,
        backoff_factor: int = ...,
        group_size: int = ...,
        robust_factor: int = ...,
        stream_buffer_blocks: int = ...,
        wait_for_acks: Optional[Sequence[int]] = None,
        key: Optional[_Bytes] = None,
        seal_max_age: Optional[float] = 120.0,
        signing_key: Optional[_Bytes] = None,
        node_id: Optional[int] = None,
    ) -> Sender:
        """A sender to group:port on interface (None: the default one).
        A keyword option set to None keeps its default (seal_max_age=None:
        no age limit).

        key: a sealed channel's 32-byte key (see generate_key, load_key):
        every datagram is sealed (authenticated; object content and info
        encrypted) and only feedback sealed with the same key is heard.
        Sealing takes 44 bytes of each segment_size. seal_max_age: feedback
        sealed longer ago than this many seconds is dropped as replayed
        (None: no age limit). A key that is not 32 bytes raises
        InvalidArgument.

        signing_key: the 32-byte secret of an Ed25519 signing key (see
        generate_signing_key, load_signing_key): every object (send,
        send_file) is signed, so that receivers that trust its public key
        (trusted_signers=) can tell its objects from anyone else's. The
        signature takes 128 bytes of the info an object may carry (info is
        then at most segment_size - 128 bytes, 44 fewer with a key). Streams
        (open_stream) are signed as they are written: after every message,
        flush and block of data. send() hashes the whole object before
        queueing it.

        node_id: the NORM node id to send as (None: a random one); 0 and
        0xffffffff are reserved (InvalidArgument). A sender that restarts
        with the same id is recognised by receivers as a restart."""
        ...
    def receiver(
        self,
        group: str,
        port: int,
        interface: Optional[str] = None,
        *,
        sync_policy: Literal["all", "current"] = ...,
        sync_window: int = ...,
        max_object_size: int = ...,
        max_buffer_per_sender: int = ...,
        max_buffer_total: int = ...,
        max_senders: int = ...,
        inactivity_timeout: float = ...,
        unicast_nacks: bool = ...,
        silent: bool = ...,
        sources: list[str] = ...,
        node_id: int = ...,
        file_dir: Union[str, os.PathLike[str], None] = None,
        key: Optional[_Bytes] = None,
        seal_max_age: Optional[float] = 120.0,
        trusted_signers: Sequence[_Bytes] = (),
    ) -> Receiver:
        """A receiver of group:port on interface (None: the default one).
        A keyword option set to None keeps its default (seal_max_age=None:
        no age limit).

        key: a sealed channel's 32-byte key (see generate_key, load_key):
        only datagrams sealed with it are heard, and NACKs and ACKs go out
        sealed. Without a key, sealed datagrams are dropped. Either way,
        recv() raises Rejected once for each source (and reason) whose
        datagrams are dropped. seal_max_age: datagrams sealed longer ago than
        this many seconds (by this host's clock) are dropped as replayed
        (None: no age limit). A key that is not 32 bytes raises
        InvalidArgument.

        trusted_signers: 32-byte Ed25519 public keys (see
        generate_signing_key, load_public_key, signing_public_key). With
        any, only objects signed by one of them are delivered (Message.signer
        names which); unsigned objects, objects signed by another key, bad
        signatures and content that differs from what was signed are
        reported as Aborted (reason "refused: ...") and their sender once per
        reason as Rejected. Stream bytes are delivered as their signatures
        verify (each Message names the signer); bytes that fail are dropped
        and reported as lost (Message.lost_before), and an unsigned stream
        is refused. Empty
        (the default): objects are delivered whether signed or not. A key
        that is not 32 bytes, or not a valid Ed25519 public key, raises
        InvalidArgument."""
        ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> Context: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]: ...

@final
class Sender:
    """Sends objects to one group, in order."""

    def send(self, data: _Bytes, info: Optional[_Bytes] = None, *, timeout: Optional[float] = None) -> int: ...
    def send_file(self, path: Union[str, os.PathLike[str]]) -> int:
        """Queues a file as one FILE object named by its base name; returns
        its id. Waits while the transmit cache is full."""
        ...
    def flush(self, timeout: Optional[float] = None) -> None: ...
    def flush_acked(self, nodes: Sequence[int], timeout: float = 30.0) -> tuple[list[int], list[int]]:
        """Asks these receivers (node ids) to confirm everything sent so far: (acked, missing)."""
        ...
    def open_stream(self, info: Optional[_Bytes] = None) -> StreamWriter: ...
    def stats(self) -> dict[str, int]:
        """Counters by name. Sealed channels add datagrams_unauthenticated
        (feedback that failed authentication or used another key),
        datagrams_replayed (seen before or older than seal_max_age) and
        datagrams_seal_mismatch (unsealed feedback with a key, sealed
        feedback without one)."""
        ...
    @property
    def node_id(self) -> int: ...
    @property
    def interface(self) -> str:
        """The interface the group was joined on (named, or chosen when
        none was)."""
        ...
    def close(self) -> None: ...
    def __enter__(self) -> Sender: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]: ...

@final
class StreamWriter:
    """Writes messages to one stream of a sender."""

    @property
    def id(self) -> int: ...
    def write(self, message: _Bytes) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> StreamWriter: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]: ...

@final
class Message:
    """One received object, or a piece of a stream."""

    @property
    def data(self) -> bytes: ...
    @property
    def info(self) -> bytes: ...
    @property
    def sender(self) -> str: ...
    @property
    def sender_node_id(self) -> int: ...
    @property
    def object_id(self) -> int: ...
    @property
    def kind(self) -> Literal["data", "file", "stream"]: ...
    @property
    def message_end(self) -> bool: ...
    @property
    def lost_before(self) -> int: ...
    @property
    def stream_end(self) -> bool: ...
    @property
    def path(self) -> Optional[str]:
        """For a FILE object received with file_dir: the file holding it
        (data is then empty). The file is yours: rename or delete it."""
        ...
    @property
    def signer(self) -> Optional[bytes]:
        """At a receiver with trusted_signers: the 32-byte public key (one
        of them) that signed this object or piece of a stream, checked with
        its content. None at other receivers."""
        ...

@final
class Receiver:
    """Receives what is sent to one group, in order per sender."""

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (timeout None: wait forever). Raises Timeout,
        Aborted (an object will never arrive, or was refused by
        trusted_signers), Rejected (a sealed channel drops a source's
        datagrams, or trusted_signers refuses its objects: reported once per
        source and reason, recv again to go on) and Closed."""
        ...
    async def recv_async(self, timeout: Optional[float] = None) -> Message: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    def try_recv(self) -> Message:
        """The next message if one is ready; raises WouldBlock otherwise (and
        Aborted, Rejected, Closed as recv does)."""
        ...
    def fileno(self) -> int: ...
    def stats(self) -> dict[str, int]:
        """Counters by name. Sealed channels add datagrams_unauthenticated
        (failed authentication or sealed with another key),
        datagrams_replayed (seen before, from an older instance of their
        sender, or older than seal_max_age) and datagrams_seal_mismatch
        (unsealed datagrams with a key, sealed ones without). With
        trusted_signers: objects_unverified (objects refused: unsigned,
        signed by another key, bad signature, content or size not as
        signed, streams) and signatures_refused (object infos whose
        signature was refused). nacks_received counts the NACKs overheard
        from other receivers of the same senders."""
        ...
    def progress(self) -> list[dict[str, Any]]: ...
    @property
    def node_id(self) -> int: ...
    @property
    def interface(self) -> str:
        """The interface the group was joined on (named, or chosen when
        none was)."""
        ...
    def close(self) -> None: ...
    def __enter__(self) -> Receiver: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> Literal[False]: ...
