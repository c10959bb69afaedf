//! Receivers.

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use mcast_core::{Error, Message, ReceiverStats};

use crate::config::{mcast_receiver_config, read_config, write_sized};
use crate::ctx::{clear_text, group_arg, put_text};
use crate::error::{guard, guard_value, invalid, mcast_status, not_in_callback, put, set_error, CallbackScope};
use crate::handles::{self, mcast_ctx, mcast_msg, mcast_receiver};
use crate::msg::Msg;

/// Receiver counters (`mcast_receiver_get_stats`). Fields may be appended
/// in later minor versions.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct mcast_receiver_stats {
    /// Datagrams received.
    pub datagrams_received: u64,
    /// Bytes of those datagrams (UDP payload).
    pub bytes_received: u64,
    /// Datagrams sent (NACKs, ACKs).
    pub datagrams_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// NACKs sent.
    pub nacks_sent: u64,
    /// NACKs not sent because other receivers' NACKs or repairs covered them.
    pub nacks_suppressed: u64,
    /// ACKs sent.
    pub acks_sent: u64,
    /// Data segments received.
    pub data_segments_received: u64,
    /// Repair data segments received.
    pub repair_segments_received: u64,
    /// Parity segments received.
    pub parity_segments_received: u64,
    /// Segments rebuilt by FEC decoding.
    pub fec_recovered_segments: u64,
    /// Segments received more than once.
    pub duplicates: u64,
    /// Objects received completely.
    pub objects_completed: u64,
    /// Objects reported aborted.
    pub objects_aborted: u64,
    /// Datagrams that were not valid NORM messages.
    pub malformed_received: u64,
    /// Senders currently tracked.
    pub senders: u64,
    /// Sealed channels: datagrams that failed authentication (forged,
    /// altered, sealed with another key).
    pub datagrams_unauthenticated: u64,
    /// Sealed channels: datagrams seen before, from an older instance of
    /// their sender, or sealed longer ago than `seal_max_age_ms`.
    pub datagrams_replayed: u64,
    /// Unsealed datagrams at a receiver with a key, or sealed ones at a
    /// receiver without one.
    pub datagrams_seal_mismatch: u64,
    /// With `trusted_signers`: objects refused (unsigned, signed by a key
    /// not trusted, bad signature, content or size not as signed, streams);
    /// each was reported aborted.
    pub objects_unverified: u64,
    /// With `trusted_signers`: NORM_INFO messages whose signature was
    /// refused (each either refused its object or, coming from a sender
    /// that already proved itself, was ignored as a forgery while the
    /// genuine one is awaited).
    pub signatures_refused: u64,
    /// NACKs overheard from other receivers of the same senders (they
    /// suppress this receiver's own NACKs for the same segments).
    pub nacks_received: u64,
}

impl From<ReceiverStats> for mcast_receiver_stats {
    fn from(s: ReceiverStats) -> Self {
        mcast_receiver_stats {
            datagrams_received: s.datagrams_received,
            bytes_received: s.bytes_received,
            datagrams_sent: s.datagrams_sent,
            bytes_sent: s.bytes_sent,
            nacks_sent: s.nacks_sent,
            nacks_suppressed: s.nacks_suppressed,
            acks_sent: s.acks_sent,
            data_segments_received: s.data_segments_received,
            repair_segments_received: s.repair_segments_received,
            parity_segments_received: s.parity_segments_received,
            fec_recovered_segments: s.fec_recovered_segments,
            duplicates: s.duplicates,
            objects_completed: s.objects_completed,
            objects_aborted: s.objects_aborted,
            malformed_received: s.malformed_received,
            senders: s.senders,
            datagrams_unauthenticated: s.datagrams_unauthenticated,
            datagrams_replayed: s.datagrams_replayed,
            datagrams_seal_mismatch: s.datagrams_seal_mismatch,
            objects_unverified: s.objects_unverified,
            signatures_refused: s.signatures_refused,
            nacks_received: s.nacks_received,
        }
    }
}

/// A receiver callback (`mcast_receiver_set_callback`).
///
/// `user_data`: the pointer given to `mcast_receiver_set_callback`.
/// `status`: `MCAST_OK` for a message, `MCAST_ERR_ABORTED` for the report of
/// an object that will never come, `MCAST_ERR_REJECTED` for the report of a
/// sender whose datagrams are dropped or whose objects are refused (for
/// both, `mcast_last_error()`, on this thread, says why).
/// `msg`: the message (or abort or rejection report); the callback owns it
/// and must free it with `mcast_msg_free`, at once or later from any thread.
///
/// Runs on the context's engine thread, which also runs every other sender
/// and receiver of the context: return quickly. Functions that wait for the
/// engine fail there with `MCAST_ERR_WOULD_BLOCK` (`mcast_sender_new`,
/// `mcast_receiver_new`, `mcast_send*`, `mcast_send_file`, `mcast_flush`,
/// `mcast_recv` with a timeout other than 0, `mcast_receiver_set_callback`)
/// and `mcast_ctx_free` / `mcast_receiver_free` are ignored there.
pub type mcast_recv_callback = Option<unsafe extern "C" fn(user_data: *mut c_void, status: mcast_status, msg: *mut mcast_msg)>;

/// Creates a receiver on a group: opens a UDP socket bound to `port`, joins
/// `group` on interface `ifname`, and from then on receives every sender
/// heard on it.
///
/// Arguments as in `mcast_sender_new`; `cfg_or_null`: settings (initialise
/// with `mcast_receiver_config_init`), or NULL for the defaults.
/// Ownership: the caller owns `*out` and frees it with
/// `mcast_receiver_free`.
/// Thread safety: safe from any thread; the receiver may be used from
/// several threads at once.
/// Blocking: waits for the engine thread to open the socket (quickly). Fails
/// with `MCAST_ERR_WOULD_BLOCK` in a receiver callback.
/// Errors: as `mcast_sender_new`.
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_new(
    ctx: *mut mcast_ctx,
    group: *const c_char,
    port: u16,
    ifname: *const c_char,
    cfg_or_null: *const mcast_receiver_config,
    out: *mut *mut mcast_receiver,
) -> mcast_status {
    unsafe { put(out, std::ptr::null_mut()) };
    guard("mcast_receiver_new", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let c = handles::ctx(ctx)?;
        let g = unsafe { group_arg(group, port, ifname) }?;
        let cfg = unsafe { read_config(cfg_or_null)?.to_core() }?;
        not_in_callback("mcast_receiver_new")?;
        let r = c.receiver(&g, cfg)?;
        unsafe { put(out, handles::add_receiver(r)) };
        Ok(())
    })
}

/// Like `mcast_receiver_new`, source-specific (SSM, RFC 4607): joins
/// (S,G) for each of the `n_sources` source addresses (IPv6 unicast
/// addresses as UTF-8 text) and takes datagrams only from them.
///
/// Ownership: as `mcast_receiver_new`. Thread safety: as
/// `mcast_receiver_new`. Blocking: as `mcast_receiver_new`.
/// Errors: as `mcast_receiver_new`; `MCAST_ERR_INVALID_ARGUMENT` also for a
/// NULL `sources` with `n_sources` > 0 or an address that is not a unicast
/// IPv6 address.
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_new_ssm(
    ctx: *mut mcast_ctx,
    group: *const c_char,
    port: u16,
    ifname: *const c_char,
    sources: *const *const c_char,
    n_sources: usize,
    cfg_or_null: *const mcast_receiver_config,
    out: *mut *mut mcast_receiver,
) -> mcast_status {
    unsafe { put(out, std::ptr::null_mut()) };
    guard("mcast_receiver_new_ssm", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        if n_sources > 0 && sources.is_null() {
            return Err(invalid("sources is NULL"));
        }
        if n_sources > 1024 {
            return Err(invalid(format!("{n_sources} sources is too many")));
        }
        let c = handles::ctx(ctx)?;
        let mut addrs = Vec::with_capacity(n_sources);
        for i in 0..n_sources {
            // SAFETY: the caller passes n_sources string pointers.
            let p = unsafe { *sources.add(i) };
            let text = unsafe { crate::error::utf8_arg(p, "source") }?;
            addrs.push(text.parse::<std::net::Ipv6Addr>().map_err(|_| invalid(format!("source {text:?} is not an IPv6 address")))?);
        }
        let g = unsafe { group_arg(group, port, ifname) }?.with_sources(&addrs)?;
        let cfg = unsafe { read_config(cfg_or_null)?.to_core() }?;
        not_in_callback("mcast_receiver_new_ssm")?;
        let r = c.receiver(&g, cfg)?;
        unsafe { put(out, handles::add_receiver(r)) };
        Ok(())
    })
}

/// Takes the next complete object. Objects of one sender come in the order
/// they were sent; one that will never complete comes as an abort report in
/// its place (and the next call goes on with later objects). A sender whose
/// datagrams this receiver drops (sealed channels: see
/// `mcast_receiver_config.key`) or whose objects it refuses (signed
/// objects: see `mcast_receiver_config.trusted_signers`; each refused
/// object also comes as an abort report) comes as a rejection report, once
/// per sender and reason.
///
/// `out`: receives the message; the caller owns it and frees it with
/// `mcast_msg_free`. With `MCAST_OK` it is a received object; with
/// `MCAST_ERR_ABORTED` it is a report of kind `MCAST_KIND_ABORTED` naming
/// the sender and object id, with `MCAST_ERR_REJECTED` one of kind
/// `MCAST_KIND_REJECTED` naming the sender (both also to be freed; the
/// last error says why); with any other status it is NULL. Neither report
/// ends the receiver: call `mcast_recv` again for what follows.
/// `timeout_ms`: < 0 waits as long as needed; 0 does not wait
/// (`MCAST_ERR_WOULD_BLOCK` if nothing is ready: use it after the
/// receiver's fd became readable); > 0 waits at most that many
/// milliseconds (`MCAST_ERR_TIMEOUT`).
/// Thread safety: safe from several threads at once (each message goes to
/// one caller).
/// Blocking: as `timeout_ms` says. A context freed from another thread
/// ends the wait with `MCAST_ERR_CLOSED`. In a receiver callback only
/// `timeout_ms` 0 is allowed (else `MCAST_ERR_WOULD_BLOCK`).
/// Errors: `MCAST_ERR_INVALID_ARGUMENT`, `MCAST_ERR_TIMEOUT`,
/// `MCAST_ERR_WOULD_BLOCK`, `MCAST_ERR_ABORTED` and `MCAST_ERR_REJECTED`
/// (see above), `MCAST_ERR_CLOSED` (the context was freed and every queued
/// message was taken).
#[no_mangle]
pub unsafe extern "C" fn mcast_recv(receiver: *mut mcast_receiver, out: *mut *mut mcast_msg, timeout_ms: c_int) -> mcast_status {
    unsafe { put(out, std::ptr::null_mut()) };
    guard("mcast_recv", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let r = handles::receiver(receiver)?;
        let item = match timeout_ms {
            0 => r.try_recv(),
            t => {
                not_in_callback("mcast_recv with a timeout")?;
                if t < 0 {
                    r.recv()
                } else {
                    r.recv_timeout(Duration::from_millis(t as u64))
                }
            }
        };
        deliver(item, out)
    })
}

/// Registers the message (or abort or rejection report) of `item` and
/// stores it in `out`.
fn deliver(item: Result<Message, Error>, out: *mut *mut mcast_msg) -> Result<(), Error> {
    match item {
        Ok(m) => {
            unsafe { put(out, handles::add_msg(Msg::from_message(m))) };
            Ok(())
        }
        Err(e) => {
            if let Some(m) = Msg::from_report(&e) {
                unsafe { put(out, handles::add_msg(m)) };
            }
            Err(e)
        }
    }
}

/// A file descriptor that is readable exactly while `mcast_recv(receiver,
/// &msg, 0)` would return at once (a message, an abort or rejection
/// report, or `MCAST_ERR_CLOSED`), for waiting in the application's own
/// epoll/poll/select/libuv loop. Level-triggered use is simplest; with
/// edge-triggered epoll, call `mcast_recv(..., 0)` until it returns
/// `MCAST_ERR_WOULD_BLOCK` after each wake-up.
///
/// Ownership: the fd belongs to the receiver: only wait for readability;
/// never read from, write to or close it. Valid until
/// `mcast_receiver_free`. With a callback set, messages go to the callback
/// and do not make the fd readable.
/// Returns -1 if `receiver` is not a live receiver (see
/// `mcast_last_error()`).
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_fd(receiver: *const mcast_receiver) -> c_int {
    guard_value("mcast_receiver_fd", -1, || Ok(handles::receiver(receiver)?.pollable_fd()))
}

/// The user's callback and pointer, moved to the engine thread.
struct CCallback {
    f: unsafe extern "C" fn(*mut c_void, mcast_status, *mut mcast_msg),
    user_data: *mut c_void,
}

// SAFETY: the header tells the caller that the callback runs on the engine
// thread with this pointer; making that safe is the caller's contract.
unsafe impl Send for CCallback {}

impl CCallback {
    fn call(&mut self, item: Result<Message, Error>) {
        let mut msg = std::ptr::null_mut();
        let status = match deliver(item, &mut msg) {
            Ok(()) => mcast_status::MCAST_OK,
            Err(e) => set_error("receiver callback", &e),
        };
        if msg.is_null() {
            // Not a message and not a report: nothing to hand over (the
            // engine only delivers those).
            return;
        }
        let _scope = CallbackScope::enter();
        // SAFETY: `f` is the caller's function; it owns `msg` from now on.
        unsafe { (self.f)(self.user_data, status, msg) };
    }
}

/// Hands every message (and report) of this receiver to `callback`
/// instead of queueing it for `mcast_recv`; NULL goes back to queueing.
/// Messages queued before the call stay queued for `mcast_recv`.
///
/// `callback` runs on the context's engine thread (see
/// `mcast_recv_callback` for what it may do) with `user_data`, which must
/// stay valid until the callback is replaced, or the receiver or its
/// context is freed. When this function returns, a previous callback is not
/// running and will not be called again.
/// Thread safety: safe from any thread except from within a callback of
/// the same context (`MCAST_ERR_WOULD_BLOCK` there).
/// Blocking: waits for a running call of the previous callback to return.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (not a live receiver),
/// `MCAST_ERR_WOULD_BLOCK` (called from a callback).
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_set_callback(
    receiver: *mut mcast_receiver,
    callback: mcast_recv_callback,
    user_data: *mut c_void,
) -> mcast_status {
    guard("mcast_receiver_set_callback", || {
        let r = handles::receiver(receiver)?;
        not_in_callback("mcast_receiver_set_callback")?;
        match callback {
            None => r.set_callback(None),
            Some(f) => {
                let mut cb = CCallback { f, user_data };
                r.set_callback(Some(Box::new(move |item| cb.call(item))));
            }
        }
        Ok(())
    })
}

/// Fills `*out` (of `size` bytes) with the receiver's counters. Call it
/// through the `mcast_receiver_get_stats(receiver, out)` inline function,
/// which passes `sizeof *out`.
///
/// Thread safety: safe from any thread, also in a receiver callback.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or dead handle, NULL `out`).
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_get_stats_sized(
    receiver: *const mcast_receiver,
    out: *mut mcast_receiver_stats,
    size: usize,
) -> mcast_status {
    guard("mcast_receiver_get_stats", || {
        let r = handles::receiver(receiver)?;
        unsafe { write_sized(out, size, mcast_receiver_stats::from(r.stats()), "mcast_receiver_stats") }
    })
}

/// The receiver's NORM node id (`mcast_receiver_config.node_id`, or a
/// random one; never 0), or 0 if `receiver` is not a live receiver (see
/// `mcast_last_error()`).
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_node_id(receiver: *const mcast_receiver) -> u32 {
    guard_value("mcast_receiver_node_id", 0, || Ok(handles::receiver(receiver)?.node_id()))
}

/// The name of the interface the receiver joined its group on: the
/// `ifname` given to `mcast_receiver_new`, or the one chosen when it was
/// NULL (the rule of docs/PROTOCOL.md, "Interface choice").
///
/// `out`: receives the name as NUL-terminated text (at most
/// `MCAST_INTERFACE_NAME_MAX` bytes with the NUL); `len` is its size.
/// Thread safety: safe from any thread, also in a receiver callback.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or dead handle, NULL `out`,
/// `len` too small).
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_interface(receiver: *const mcast_receiver, out: *mut c_char, len: usize) -> mcast_status {
    unsafe { clear_text(out, len) };
    guard("mcast_receiver_interface", || {
        let r = handles::receiver(receiver)?;
        unsafe { put_text(out, len, r.group().interface(), "len") }
    })
}

/// Leaves the group, stops the receiver and frees it. Messages still queued
/// are dropped; messages already returned stay valid until freed. No
/// callback of this receiver runs after this returns.
///
/// `receiver`: NULL is ignored; a handle that is not a live receiver
/// (already freed) is ignored and reported through `mcast_last_error()`.
/// Thread safety: do not use `receiver` after (or while) freeing it. A call
/// still running on it in another thread finishes safely (a blocked
/// `mcast_recv` keeps waiting until its timeout or until the context is
/// freed).
/// Blocking: waits for a running callback of this receiver to return. Must
/// not be called from a receiver callback: it is then ignored (and reported
/// through `mcast_last_error()`).
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_free(receiver: *mut mcast_receiver) {
    if receiver.is_null() {
        return;
    }
    guard("mcast_receiver_free", || {
        not_in_callback("mcast_receiver_free")?;
        let r = handles::take_receiver(receiver)?;
        r.set_callback(None);
        drop(r);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_counters_are_copied() {
        let core = ReceiverStats { objects_unverified: 3, signatures_refused: 5, datagrams_seal_mismatch: 7, ..Default::default() };
        let c = mcast_receiver_stats::from(core);
        assert_eq!((c.objects_unverified, c.signatures_refused, c.datagrams_seal_mismatch), (3, 5, 7));
        // The new counters are appended: an older, shorter struct gets what
        // it knows and nothing past its size.
        assert_eq!(std::mem::offset_of!(mcast_receiver_stats, objects_unverified), 19 * 8);
        assert_eq!(std::mem::offset_of!(mcast_receiver_stats, signatures_refused), 20 * 8);
        let mut old = [0xaaaa_aaaa_aaaa_aaaau64; 20];
        let size = std::mem::offset_of!(mcast_receiver_stats, objects_unverified);
        assert!(unsafe { write_sized(old.as_mut_ptr().cast::<mcast_receiver_stats>(), size, c, "mcast_receiver_stats") }.is_ok());
        assert_eq!((old[16], old[18], old[19]), (0, 7, 0xaaaa_aaaa_aaaa_aaaa));
    }
}
