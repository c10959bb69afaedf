//! Contexts.

use std::ffi::c_char;

use mcast_core::{Context, Error, Group};

use crate::config::{mcast_config, read_config};
use crate::error::{guard, invalid, mcast_status, not_in_callback, put, utf8_arg};
use crate::handles::{self, mcast_ctx};

/// Checks and parses the group arguments shared by senders and receivers.
pub(crate) unsafe fn group_arg(group: *const c_char, port: u16, ifname: *const c_char) -> Result<Group, Error> {
    let addr = unsafe { utf8_arg(group, "group") }?;
    let ifname = unsafe { utf8_arg(ifname, "ifname") }?;
    Group::parse(addr, port, ifname)
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
