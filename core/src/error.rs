//! The one error type of the public API.

use std::io;

/// Everything that can go wrong in mcast, with messages a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The named interface does not exist on this host (or in this namespace).
    #[error("{group} is not joined: interface {interface} does not exist")]
    NoSuchInterface { group: String, interface: String },

    /// An operating-system call failed; `context` says what we were doing.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// The operation did not complete within its time limit.
    #[error("timed out")]
    Timeout,

    /// The handle, context or engine has been closed.
    #[error("closed")]
    Closed,

    /// The operation cannot proceed now without blocking (for example the
    /// sender's transmit cache is full and the caller asked not to wait).
    #[error("would block: {0}")]
    WouldBlock(String),

    /// The sender's transmit cache cannot hold the object at all.
    #[error("transmit cache full: {0}")]
    CacheFull(String),

    /// An object from `sender` will never be delivered: the sender gave up on
    /// it (it left its transmit cache), left, restarted, or the object broke a
    /// configured limit. Later objects from that sender are still delivered.
    #[error("object {object_id} from {sender} aborted: {reason}")]
    Aborted { sender: std::net::SocketAddr, sender_node_id: u32, object_id: u64, reason: String },

    /// A receiver refuses what `sender` sends: on a sealed channel its
    /// datagrams are not sealed, sealed with another key, or fail
    /// authentication; or they are sealed and the receiver has no key; or,
    /// at a receiver that trusts signers (`ReceiverConfig::trusted_signers`),
    /// its objects are unsigned, signed by another key, or not what was
    /// signed (each such object is also reported `Aborted`). Reported once
    /// per sender and reason; the receiver goes on with other senders.
    #[error("refusing {sender} (node {sender_node_id:#x}): {reason}")]
    Rejected { sender: std::net::SocketAddr, sender_node_id: u32, reason: String },

    /// A bug in mcast: an invariant was broken. Please report it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with a description of what was being attempted.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// For `std::io::Write` and friends: OS errors keep their kind and errno,
/// the rest map to the closest [`io::ErrorKind`].
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match &e {
            Error::Io { source, .. } => source.kind(),
            Error::InvalidArgument(_) => io::ErrorKind::InvalidInput,
            Error::NoSuchInterface { .. } => io::ErrorKind::NotFound,
            Error::Timeout => io::ErrorKind::TimedOut,
            Error::Closed => io::ErrorKind::BrokenPipe,
            Error::WouldBlock(_) => io::ErrorKind::WouldBlock,
            Error::CacheFull(_) => io::ErrorKind::OutOfMemory,
            Error::Rejected { .. } => io::ErrorKind::PermissionDenied,
            Error::Aborted { .. } | Error::Internal(_) => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}
