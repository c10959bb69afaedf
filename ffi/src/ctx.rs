//! Contexts.

use std::ffi::{c_char, c_int};

use mcast_core::{Context, Error, Group};

use crate::config::{mcast_config, read_config};
use crate::error::{guard, invalid, mcast_status, not_in_callback, put, utf8_arg};
use crate::handles::{self, mcast_ctx};

/// Checks and parses the group arguments shared by senders and receivers.
pub(crate) unsafe fn group_arg(group: *const c_char, port: u16, ifname: *const c_char) -> Result<Group, Error> {
    let addr = unsafe { utf8_arg(group, "group") }?;
    let ifname = if ifname.is_null() { mcast_core::net::default_interface()? } else { unsafe { utf8_arg(ifname, "ifname") }?.to_string() };
    Group::parse(addr, port, &ifname)
}

/// Creates a context: one engine thread that will run every sender and
/// receiver created from it.
///
/// `cfg_or_null`: settings (see `mcast_config`, initialise with
/// `mcast_config_init`), or NULL for the defaults. Only read during the call.
/// `out`: receives the new context; set to NULL on failure.
///
/// Ownership: the caller owns `*out` and frees it with `mcast_ctx_free`.
/// Thread safety: safe from any thread; the context may be used from any
/// number of threads at once.
/// Blocking: returns once the engine thread runs (quickly).
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL `out`, bad config),
/// `MCAST_ERR_IO` (the thread could not be started).
#[no_mangle]
pub unsafe extern "C" fn mcast_ctx_new(cfg_or_null: *const mcast_config, out: *mut *mut mcast_ctx) -> mcast_status {
    unsafe { put(out, std::ptr::null_mut()) };
    guard("mcast_ctx_new", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let cfg = unsafe { read_config(cfg_or_null) }?.to_core()?;
        let ctx = Context::with_config(cfg)?;
        unsafe { put(out, handles::add_ctx(ctx)) };
        Ok(())
    })
}

/// Stops the context's engine thread and frees the context.
///
/// Senders stop at once (NORM_CMD(EOT) is sent; data not yet flushed with
/// `mcast_flush` is not delivered); receivers return their queued messages
/// and then `MCAST_ERR_CLOSED`, including `mcast_recv` calls blocked in
/// other threads. Senders and receivers made from the context stay valid
/// handles (answering `MCAST_ERR_CLOSED`) and must still be freed with
/// their own free functions, in any order. No receiver callback runs after
/// this returns.
///
/// `ctx`: NULL is ignored. A handle that is not a live context (already
/// freed) is ignored and reported through `mcast_last_error()`.
/// Thread safety: do not use `ctx` in other calls after (or while) freeing
/// it; calls on its senders and receivers from other threads are fine.
/// Blocking: waits for the engine thread to stop (quickly). Must not be
/// called from a receiver callback: it is then ignored (and reported
/// through `mcast_last_error()`).
#[no_mangle]
pub unsafe extern "C" fn mcast_ctx_free(ctx: *mut mcast_ctx) {
    if ctx.is_null() {
        return;
    }
    guard("mcast_ctx_free", || {
        not_in_callback("mcast_ctx_free")?;
        let c = handles::take_ctx(ctx)?;
        // Usually the last reference: dropping it joins the engine thread.
        // A call still running in another thread holds a clone; close now
        // so that it returns, then drop.
        c.close();
        drop(c);
        Ok(())
    });
}

/// Scopes of a channel's address (`mcast_channel_address`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcast_scope {
    /// The local link (address scope 2).
    MCAST_SCOPE_LINK = 2,
    /// The site (5).
    MCAST_SCOPE_SITE = 5,
    /// The organisation (8).
    MCAST_SCOPE_ORG = 8,
    /// Global (e), the usual choice.
    MCAST_SCOPE_GLOBAL = 14,
}

/// Longest address text `mcast_channel_address` writes, with its NUL.
pub const MCAST_ADDRESS_TEXT_MAX: usize = 46;

/// The multicast address and port of the channel `name` (UTF-8, not
/// empty): the mapping of docs/PROTOCOL.md ("Channels"), the same in every
/// language. `ssm` non-zero gives the source-specific address.
///
/// `addr_out`: receives the address as NUL-terminated text (at most
/// `MCAST_ADDRESS_TEXT_MAX` bytes with the NUL); `addr_len` is its size.
/// `port_out`: receives the port. `scope`: one of `mcast_scope`. Pass the
/// results to `mcast_sender_new` / `mcast_receiver_new`.
///
/// Thread safety: safe from any thread. Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or empty name, invalid UTF-8,
/// unknown scope, NULL outputs, `addr_len` too small).
#[no_mangle]
pub unsafe extern "C" fn mcast_channel_address(
    name: *const c_char,
    scope: c_int,
    ssm: c_int,
    addr_out: *mut c_char,
    addr_len: usize,
    port_out: *mut u16,
) -> mcast_status {
    unsafe { put(port_out, 0) };
    unsafe { clear_text(addr_out, addr_len) };
    guard("mcast_channel_address", || {
        let name = unsafe { utf8_arg(name, "name") }?;
        if addr_out.is_null() || port_out.is_null() {
            return Err(invalid("addr_out and port_out must not be NULL"));
        }
        // An int, not the enum type: a value outside the enum from C must be
        // an error here, not undefined behaviour.
        let s = match scope {
            2 => mcast_core::Scope::Link,
            5 => mcast_core::Scope::Site,
            8 => mcast_core::Scope::Organization,
            14 => mcast_core::Scope::Global,
            other => return Err(invalid(format!("unknown scope {other}"))),
        };
        let (addr, port) = mcast_core::channel_address(name, s, ssm != 0)?;
        unsafe { put_text(addr_out, addr_len, &addr.to_string(), "addr_len") }?;
        unsafe { put(port_out, port) };
        Ok(())
    })
}

/// Makes `out`, a buffer of `len` bytes (or NULL), an empty string: what
/// a text output holds after a failure.
pub(crate) unsafe fn clear_text(out: *mut c_char, len: usize) {
    if !out.is_null() && len > 0 {
        // SAFETY: the caller gives a buffer of len bytes.
        unsafe { *out = 0 };
    }
}

/// Writes `text` and a NUL into `out`, a buffer of `len` bytes (`what`
/// names `len` in the error when it is too small).
pub(crate) unsafe fn put_text(out: *mut c_char, len: usize, text: &str, what: &str) -> Result<(), Error> {
    if out.is_null() {
        return Err(invalid("the output buffer must not be NULL"));
    }
    if text.len() + 1 > len {
        return Err(invalid(format!("{what} {len} is too small ({} needed)", text.len() + 1)));
    }
    // SAFETY: the caller gives a buffer of len >= text.len() + 1 bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast::<u8>(), text.len());
        *out.add(text.len()) = 0;
    }
    Ok(())
}

/// Longest interface name `mcast_sender_interface` and
/// `mcast_receiver_interface` write, with its NUL (the kernel's IFNAMSIZ).
pub const MCAST_INTERFACE_NAME_MAX: usize = 16;
