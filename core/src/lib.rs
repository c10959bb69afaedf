//! mcast: reliable IPv6 multicast (NORM, RFC 5740).
//!
//! ```no_run
//! # fn main() -> mcast::Result<()> {
//! let ctx = mcast::Context::new()?;
//! let group = mcast::Group::parse("ff3e::4d43", 5000, "eth1")?;
//! let sender = ctx.sender(&group, mcast::SenderConfig::default())?;
//! sender.send(b"hello, everyone")?;
//! sender.flush()?;
//!
//! let receiver = ctx.receiver(&group, mcast::ReceiverConfig::default())?;
//! let msg = receiver.recv()?;
//! println!("{} bytes from {}", msg.data.len(), msg.sender);
//! # Ok(()) }
//! ```
//!
//! Layers (see docs/ARCHITECTURE.md): [`wire`] encodes NORM messages,
//! [`fec`] is the Reed-Solomon code, [`proto`] holds the sans-IO sender and
//! receiver state machines, [`seal`] seals and opens the datagrams of sealed
//! channels, [`sign`] signs and checks objects, [`net`] opens sockets, and the engine thread
//! drives it all behind [`Context`], [`Sender`] and [`Receiver`].

mod api;
pub mod channel;
mod engine;
pub mod error;
pub mod fec;
pub mod net;
pub mod proto;
pub mod seal;
pub mod sign;
mod spool;
pub mod wire;

pub use api::{AckReport, Context, ContextConfig, Message, Receiver, Sender, StreamWriter};
pub use channel::{channel_address, Scope};
pub use engine::Callback;
pub use error::{Error, Result};
pub use net::{Group, SocketConfig};
pub use seal::Key;
pub use sign::{PublicKey, SigningKey};
pub use proto::{FlowControl, ObjectKind, ObjectProgress, ReceiverConfig, ReceiverStats, SenderConfig, SenderStats, SyncPolicy};

/// The README's examples compile (they are `no_run`: they would send
/// multicast on the host's own network).
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
