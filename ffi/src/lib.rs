//! libmcast: the C ABI of mcast.
//!
//! A thin layer over the Rust API of the `mcast` crate (`core/`): it converts
//! C arguments, keeps the handles C holds, maps errors to `mcast_status` and
//! a thread-local message, and catches every panic at the boundary. No
//! protocol logic lives here.
//!
//! `include/mcast.h` is generated from this crate by cbindgen (config in
//! `ffi/cbindgen.toml`); the doc comments below are the header's
//! documentation. After changing anything exported, regenerate it with
//! `MCAST_BLESS=1 cargo test -p mcast-ffi --test header`.
//!
//! Conventions of every function:
//! - fallible calls return `mcast_status`; on failure
//!   `mcast_last_error()` describes it (thread-local);
//! - out-parameters are set to NULL / 0 on failure;
//! - a Rust panic never unwinds into C: it becomes `MCAST_ERR_INTERNAL`.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

// The header lists items in this order.
mod error;
mod handles;
mod config;
mod key;
mod ctx;
mod sender;
mod receiver;
mod msg;

pub use config::*;
pub use ctx::*;
pub use error::*;
pub use key::*;
pub use handles::{mcast_ctx, mcast_msg, mcast_receiver, mcast_sender};
pub use msg::*;
pub use receiver::*;
pub use sender::*;

use std::ffi::c_char;

/// Major version of the header: the ABI version (the soname is
/// libmcast.so.MAJOR). Compare with `mcast_version()` at run time.
pub const MCAST_VERSION_MAJOR: u32 = 0;
/// Minor version of the header.
pub const MCAST_VERSION_MINOR: u32 = 1;
/// Patch version of the header.
pub const MCAST_VERSION_PATCH: u32 = 0;

static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the loaded library as text, `"MAJOR.MINOR.PATCH"`.
///
/// Ownership: a static string; do not free it.
/// Thread safety: safe from any thread. Blocking: no. Never fails.
#[no_mangle]
pub extern "C" fn mcast_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_crate_version() {
        assert_eq!(MCAST_VERSION_MAJOR.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(MCAST_VERSION_MINOR.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
        assert_eq!(MCAST_VERSION_PATCH.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
        let v = unsafe { std::ffi::CStr::from_ptr(mcast_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
