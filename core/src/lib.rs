//! mcast: reliable IPv6 multicast (NORM, RFC 5740).
pub mod error;
pub mod fec;
pub mod net;
pub mod proto;
pub mod wire;

pub use error::{Error, Result};
