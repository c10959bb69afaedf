//! Sans-IO NORM protocol state machines (RFC 5740).
//!
//! [`Sender`] and [`Receiver`] own no sockets, clocks or threads. The caller
//! (the engine, or the simulator in tests) feeds them datagrams and the current
//! time and drains what they produce:
//!
//! - `handle_datagram(now, from, bytes)` for every datagram that arrives;
//! - `handle_timeout(now)` once `now` reaches `poll_timeout()`;
//! - `poll_transmit(now, buf)` until it returns `None`: each call writes one
//!   datagram into `buf` and says where it goes;
//! - `poll_event()` until it returns `None`;
//! - `poll_timeout()` for the next instant anything is due.
//!
//! This is the shape of quinn-proto: the engine is a thin loop around it, and
//! the simulator drives thousands of lossy runs on a virtual clock.

pub mod cc;
pub mod receiver;
pub mod sender;
pub mod source;
mod common;
mod stream;

use std::net::SocketAddr;

pub use receiver::{ObjectProgress, ReceivedObject, Receiver, ReceiverConfig, ReceiverEvent, ReceiverStats, SyncPolicy};
pub use sender::{FlowControl, Sender, SenderConfig, SenderEvent, SenderStats};
pub use source::{FileSource, ObjectSource};

/// Where a datagram produced by `poll_transmit` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The session's multicast group and port.
    Group,
    /// A unicast address (for example a NACK sent straight to its sender).
    Unicast(SocketAddr),
}

/// NORM object types (RFC 5740 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// An application memory buffer.
    Data,
    /// A file; its name travels in NORM_INFO.
    File,
    /// A stream of bytes without a predetermined size.
    Stream,
}

/// Identifies a remote sender: its NORM node id, instance id and the address
/// its packets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SenderId {
    pub node_id: u32,
    pub addr: SocketAddr,
}
