"""Type stubs of the extension module mcast._mcast."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, AsyncIterator, Literal, Optional, Sequence, Union

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

class Context:
    """Owns one mcast engine thread; make senders and receivers from it.

    Use it as a context manager, or call close(). Keyword settings apply to
    every socket of the context."""

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
    ) -> Sender:
        """A sender to group:port on interface (None: the default one).

        key: a sealed channel's 32-byte key (see generate_key, load_key):
        every datagram is sealed (authenticated; object content and info
        encrypted) and only feedback sealed with the same key is heard.
        Sealing takes 44 bytes of each segment_size. seal_max_age: feedback
        sealed longer ago than this many seconds is dropped as replayed
        (None: no age limit). A key that is not 32 bytes raises
        InvalidArgument."""
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
    ) -> Receiver:
        """A receiver of group:port on interface (None: the default one).

        key: a sealed channel's 32-byte key (see generate_key, load_key):
        only datagrams sealed with it are heard, and NACKs and ACKs go out
        sealed. Without a key, sealed datagrams are dropped. Either way,
        recv() raises Rejected once for each source (and reason) whose
        datagrams are dropped. seal_max_age: datagrams sealed longer ago than
        this many seconds (by this host's clock) are dropped as replayed
        (None: no age limit). A key that is not 32 bytes raises
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
    ) -> bool: ...

class Sender:
    """Sends objects to one group, in order."""

    def send(self, data: _Bytes, info: Optional[_Bytes] = None, *, timeout: Optional[float] = None) -> int: ...
    def send_file(self, path: Union[str, os.PathLike[str]]) -> int: ...
    def flush(self, timeout: Optional[float] = None) -> None: ...
    def flush_acked(self, nodes: list[int], timeout: float = 30.0) -> tuple[list[int], list[int]]:
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
    def close(self) -> None: ...
    def __enter__(self) -> Sender: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

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
    ) -> bool: ...

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

class Receiver:
    """Receives what is sent to one group, in order per sender."""

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message (timeout None: wait forever). Raises Timeout,
        Aborted (an object will never arrive), Rejected (a sealed channel
        drops a source's datagrams: reported once per source and reason,
        recv again to go on) and Closed."""
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
        (unsealed datagrams with a key, sealed ones without)."""
        ...
    def progress(self) -> list[dict[str, Any]]: ...
    @property
    def node_id(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Receiver: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
