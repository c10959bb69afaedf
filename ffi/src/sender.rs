//! Senders.

use std::ffi::{c_char, c_int, c_void, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use mcast_core::{Error, SenderStats};

use crate::config::{mcast_sender_config, read_config, write_sized};
use crate::ctx::{clear_text, group_arg, put_text};
use crate::error::{guard, guard_value, invalid, mcast_status, not_in_callback, put};
use crate::handles::{self, mcast_ctx, mcast_sender};

/// Sender counters (`mcast_sender_get_stats`). Fields may be appended in
/// later minor versions.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct mcast_sender_stats {
    /// Datagrams sent (all NORM messages).
    pub datagrams_sent: u64,
    /// Bytes of those datagrams (UDP payload).
    pub bytes_sent: u64,
    /// Datagrams received (NACKs, ACKs, other senders' traffic).
    pub datagrams_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// NACKs received.
    pub nacks_received: u64,
    /// Data segments sent in first passes.
    pub data_segments_sent: u64,
    /// Data segments sent again as repairs.
    pub repair_segments_sent: u64,
    /// Parity segments sent (proactive and repairs).
    pub parity_segments_sent: u64,
    /// NORM_INFO messages sent.
    pub info_sent: u64,
    /// NORM_CMD(FLUSH) messages sent.
    pub flushes_sent: u64,
    /// NORM_CMD(CC) probes sent.
    pub probes_sent: u64,
    /// NORM_CMD(SQUELCH) messages sent.
    pub squelches_sent: u64,
    /// Objects queued.
    pub objects_enqueued: u64,
    /// Objects whose first pass is complete.
    pub objects_sent: u64,
    /// Objects that left the transmit cache.
    pub objects_purged: u64,
    /// Objects dropped because their source failed (e.g. a file read error).
    pub objects_aborted: u64,
    /// Datagrams that were not valid NORM messages.
    pub malformed_received: u64,
    /// Current advertised group round-trip time, in microseconds.
    pub grtt_us: u64,
    /// Current transmission rate in bits per second (congestion control
    /// moves it; fixed otherwise).
    pub tx_rate_bps: u64,
    /// Congestion control feedback messages received from receivers.
    pub cc_feedback_received: u64,
    /// Node id of the current limiting receiver, the slowest one that
    /// congestion control follows (0: none).
    pub cc_clr: u64,
    /// Sealed channels: feedback that failed authentication (forged,
    /// altered, sealed with another key).
    pub datagrams_unauthenticated: u64,
    /// Sealed channels: feedback seen before, or sealed longer ago than
    /// `seal_max_age_ms`.
    pub datagrams_replayed: u64,
    /// Unsealed feedback at a sender with a key, or sealed feedback at a
    /// sender without one.
    pub datagrams_seal_mismatch: u64,
}

impl From<SenderStats> for mcast_sender_stats {
    fn from(s: SenderStats) -> Self {
        mcast_sender_stats {
            datagrams_sent: s.datagrams_sent,
            bytes_sent: s.bytes_sent,
            datagrams_received: s.datagrams_received,
            bytes_received: s.bytes_received,
            nacks_received: s.nacks_received,
            data_segments_sent: s.data_segments_sent,
            repair_segments_sent: s.repair_segments_sent,
            parity_segments_sent: s.parity_segments_sent,
            info_sent: s.info_sent,
            flushes_sent: s.flushes_sent,
            probes_sent: s.probes_sent,
            squelches_sent: s.squelches_sent,
            objects_enqueued: s.objects_enqueued,
            objects_sent: s.objects_sent,
            objects_purged: s.objects_purged,
            objects_aborted: s.objects_aborted,
            malformed_received: s.malformed_received,
            grtt_us: s.grtt_us,
            tx_rate_bps: s.tx_rate_bps,
            cc_feedback_received: s.cc_feedback_received,
            cc_clr: s.cc_clr as u64,
            datagrams_unauthenticated: s.datagrams_unauthenticated,
            datagrams_replayed: s.datagrams_replayed,
            datagrams_seal_mismatch: s.datagrams_seal_mismatch,
        }
    }
}

/// `len` bytes at `buf` (NULL allowed when `len` is 0).
pub(crate) unsafe fn bytes_arg<'a>(buf: *const c_void, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if buf.is_null() {
        return Err(invalid(format!("{what} is NULL but its length is {len}")));
    }
    // SAFETY: the caller passes `len` readable bytes at `buf`.
    Ok(unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) })
}

/// Creates a sender on a group: opens a UDP socket bound to `port`, joins
/// `group` on interface `ifname` (to hear NACKs) and starts sending NORM
/// from its node id (`mcast_sender_config.node_id`, random by default).
///
/// `ctx`: a live context. `group`: an IPv6 multicast address as UTF-8 text
/// (`"ff3e::4d43"`; brackets allowed). `port`: 1-65535. `ifname`: the
/// interface name (`"eth0"`), or NULL for mcast's choice (the first
/// interface that is up, multicast-capable, not loopback and has an IPv6
/// address, preferring a global or ULA address). `cfg_or_null`: settings (initialise with
/// `mcast_sender_config_init`), or NULL for the defaults; only read during
/// the call. `out`: receives the sender; NULL on failure.
///
/// Ownership: the caller owns `*out` and frees it with `mcast_sender_free`.
/// The strings and config are only read during the call.
/// Thread safety: safe from any thread; the sender may be used from several
/// threads at once.
/// Blocking: waits for the engine thread to open the socket (quickly). Fails
/// with `MCAST_ERR_WOULD_BLOCK` in a receiver callback.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL, non-UTF-8 or malformed
/// strings, not a multicast address, port 0, bad config such as
/// `node_id` 0xffffffff or a `segment_size` too small for `signing_key`,
/// dead `ctx`),
/// `MCAST_ERR_NO_SUCH_INTERFACE`, `MCAST_ERR_IO` (socket, bind or join
/// failed), `MCAST_ERR_CLOSED` (the context was freed).
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_new(
    ctx: *mut mcast_ctx,
    group: *const c_char,
    port: u16,
    ifname: *const c_char,
    cfg_or_null: *const mcast_sender_config,
    out: *mut *mut mcast_sender,
) -> mcast_status {
    unsafe { put(out, std::ptr::null_mut()) };
    guard("mcast_sender_new", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let c = handles::ctx(ctx)?;
        let g = unsafe { group_arg(group, port, ifname) }?;
        let cfg = unsafe { read_config(cfg_or_null)?.to_core() }?;
        not_in_callback("mcast_sender_new")?;
        let s = c.sender(&g, cfg)?;
        unsafe { put(out, handles::add_sender(s)) };
        Ok(())
    })
}

/// Queues `len` bytes at `buf` as one NORM DATA object and returns once it
/// is queued (not yet sent: use `mcast_flush` to wait for that).
///
/// Ownership: `buf` may be NULL if `len` is 0 (an empty object); it is
/// copied during the call, so the caller may reuse it at once. `object_id_out`: receives the object's id (the same id receivers
/// see in `mcast_msg_object_id`); may be NULL; set to 0 on failure.
///
/// Thread safety: safe from several threads at once (objects are queued in
/// the order the calls are served).
/// Blocking: waits while the transmit cache is full (back-pressure); see
/// `mcast_try_send` and `mcast_send_timeout`. Fails with
/// `MCAST_ERR_WOULD_BLOCK` in a receiver callback.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL `sender`, NULL `buf` with
/// `len` > 0), `MCAST_ERR_CACHE_FULL` (the object can never fit the
/// configured cache), `MCAST_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn mcast_send(sender: *mut mcast_sender, buf: *const c_void, len: usize, object_id_out: *mut u64) -> mcast_status {
    unsafe { send_common("mcast_send", sender, buf, len, object_id_out, |s, d| s.send(d)) }
}

/// Like `mcast_send`, with NORM_INFO: `info_len` bytes at `info` travel with
/// the object (receivers read them with `mcast_msg_info`; at most one
/// segment: `segment_size` bytes, less 44 with a `key` and 128 more with a
/// `signing_key`). `info` may be NULL if `info_len` is 0 (then the object
/// has an empty NORM_INFO).
///
/// Ownership: `buf` and `info` are copied during the call.
/// Thread safety: as `mcast_send`. Blocking: as `mcast_send`.
/// Errors: as `mcast_send`; `MCAST_ERR_INVALID_ARGUMENT` also for a NULL
/// `info` with `info_len` > 0 and for an `info` longer than that.
#[no_mangle]
pub unsafe extern "C" fn mcast_send_with_info(
    sender: *mut mcast_sender,
    buf: *const c_void,
    len: usize,
    info: *const c_void,
    info_len: usize,
    object_id_out: *mut u64,
) -> mcast_status {
    unsafe {
        send_common("mcast_send_with_info", sender, buf, len, object_id_out, |s, d| {
            s.send_with_info(d, bytes_arg(info, info_len, "info")?)
        })
    }
}

/// Like `mcast_send`, but never waits: fails with `MCAST_ERR_WOULD_BLOCK`
/// (the object is then not queued) while the transmit cache is full.
///
/// Ownership: as `mcast_send`. Thread safety: as `mcast_send`.
/// Blocking: only for the short exchange with the engine thread (so it
/// also fails with `MCAST_ERR_WOULD_BLOCK` in a receiver callback).
/// Errors: as `mcast_send`; also `MCAST_ERR_WOULD_BLOCK` (cache full, or
/// called from a receiver callback).
#[no_mangle]
pub unsafe extern "C" fn mcast_try_send(sender: *mut mcast_sender, buf: *const c_void, len: usize, object_id_out: *mut u64) -> mcast_status {
    unsafe { send_common("mcast_try_send", sender, buf, len, object_id_out, |s, d| s.try_send(d)) }
}

/// Like `mcast_send`, waiting at most `timeout_ms` milliseconds for room in
/// the transmit cache: `MCAST_ERR_TIMEOUT` after that (the object is then
/// not queued). `timeout_ms` < 0 waits as long as needed (`mcast_send`);
/// 0 does not wait (`mcast_try_send`, `MCAST_ERR_WOULD_BLOCK`).
///
/// Ownership: as `mcast_send`. Thread safety: as `mcast_send`.
/// Blocking: at most `timeout_ms` (fails with `MCAST_ERR_WOULD_BLOCK` in a
/// receiver callback).
/// Errors: as `mcast_send`; also `MCAST_ERR_TIMEOUT`, and
/// `MCAST_ERR_WOULD_BLOCK` (`timeout_ms` 0 with a full cache, or called
/// from a receiver callback).
#[no_mangle]
pub unsafe extern "C" fn mcast_send_timeout(
    sender: *mut mcast_sender,
    buf: *const c_void,
    len: usize,
    timeout_ms: c_int,
    object_id_out: *mut u64,
) -> mcast_status {
    unsafe {
        send_common("mcast_send_timeout", sender, buf, len, object_id_out, |s, d| match timeout_ms {
            t if t < 0 => s.send(d),
            0 => s.try_send(d),
            t => s.send_timeout(d, Duration::from_millis(t as u64)),
        })
    }
}

unsafe fn send_common(
    func: &str,
    sender: *mut mcast_sender,
    buf: *const c_void,
    len: usize,
    object_id_out: *mut u64,
    f: impl FnOnce(&mcast_core::Sender, &[u8]) -> Result<u64, Error>,
) -> mcast_status {
    unsafe { put(object_id_out, 0) };
    guard(func, || {
        let s = handles::sender(sender)?;
        let data = unsafe { bytes_arg(buf, len, "buf") }?;
        not_in_callback(func)?;
        let id = f(&s, data)?;
        unsafe { put(object_id_out, id) };
        Ok(())
    })
}

/// Queues the file at `path` as one NORM FILE object whose NORM_INFO is the
/// file's base name (what `mcast recv` and libnorm receivers name it).
///
/// `path`: a NUL-terminated path (any bytes; not necessarily UTF-8), read
/// during the call. The file is read while it is sent: do not change it
/// until `mcast_flush` returned (a sender with a `signing_key` also reads
/// it once during the call, to sign it). `object_id_out`: as in
/// `mcast_send`.
///
/// Thread safety: as `mcast_send`. Blocking: like `mcast_send`, waits while
/// the transmit cache is full; with a `signing_key`, also reads the whole
/// file.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL, empty, no base name, not a
/// regular file), `MCAST_ERR_IO` (cannot open or stat; see
/// `mcast_last_os_error`), `MCAST_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn mcast_send_file(sender: *mut mcast_sender, path: *const c_char, object_id_out: *mut u64) -> mcast_status {
    unsafe { put(object_id_out, 0) };
    guard("mcast_send_file", || {
        let s = handles::sender(sender)?;
        if path.is_null() {
            return Err(invalid("path is NULL"));
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let p = OsStr::from_bytes(unsafe { CStr::from_ptr(path) }.to_bytes());
        if p.is_empty() {
            return Err(invalid("path is empty"));
        }
        not_in_callback("mcast_send_file")?;
        let id = s.send_file(std::path::Path::new(p))?;
        unsafe { put(object_id_out, id) };
        Ok(())
    })
}

/// Waits until everything queued so far was sent and a flush round
/// (NORM_CMD(FLUSH) messages, answering late NACKs) is over, so receivers
/// had their chance to ask for repairs. Call it before `mcast_sender_free`.
///
/// `timeout_ms`: < 0 waits as long as needed; otherwise gives up with
/// `MCAST_ERR_TIMEOUT` after that many milliseconds (the flush goes on in
/// the background).
/// Ownership: nothing changes hands.
/// Thread safety: safe from several threads at once.
/// Blocking: yes (usually about `robust_factor` x 2 x GRTT after the last
/// data). Fails with `MCAST_ERR_WOULD_BLOCK` in a receiver callback.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT`, `MCAST_ERR_TIMEOUT`,
/// `MCAST_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn mcast_flush(sender: *mut mcast_sender, timeout_ms: c_int) -> mcast_status {
    guard("mcast_flush", || {
        let s = handles::sender(sender)?;
        not_in_callback("mcast_flush")?;
        if timeout_ms < 0 {
            s.flush()
        } else {
            s.flush_timeout(Duration::from_millis(timeout_ms as u64))
        }
    })
}

/// Positive acknowledgement: asks the receivers with the NORM node ids
/// `nodes[0..n_nodes]` (see `mcast_receiver_config.node_id`) to confirm that
/// they have everything sent so far (a NORM watermark flush), and reports
/// who did: returns once all have, after the flush rounds, or after
/// `timeout_ms` milliseconds (< 0: 30 s), whichever is first.
///
/// `acked_out`: an array of at least `n_nodes` entries; receives the node ids
/// that confirmed, `*n_acked` how many. The others did not (in time).
/// Returns `MCAST_OK` whoever confirmed.
/// Thread safety: safe from several threads at once. Blocking: yes. Fails
/// with `MCAST_ERR_WOULD_BLOCK` in a receiver callback.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL arrays with `n_nodes` > 0,
/// NULL `n_acked`, dead handle), `MCAST_ERR_CLOSED`.
#[no_mangle]
pub unsafe extern "C" fn mcast_flush_acked(
    sender: *mut mcast_sender,
    nodes: *const u32,
    n_nodes: usize,
    timeout_ms: c_int,
    acked_out: *mut u32,
    n_acked: *mut usize,
) -> mcast_status {
    unsafe { put(n_acked, 0) };
    guard("mcast_flush_acked", || {
        let s = handles::sender(sender)?;
        if n_acked.is_null() || (n_nodes > 0 && (nodes.is_null() || acked_out.is_null())) {
            return Err(invalid("nodes, acked_out and n_acked must not be NULL"));
        }
        if n_nodes > 1 << 16 {
            return Err(invalid(format!("{n_nodes} nodes is too many")));
        }
        not_in_callback("mcast_flush_acked")?;
        // SAFETY: the caller passes n_nodes node ids.
        let list: Vec<u32> = if n_nodes == 0 { Vec::new() } else { unsafe { std::slice::from_raw_parts(nodes, n_nodes) }.to_vec() };
        let timeout = if timeout_ms < 0 { Duration::from_secs(30) } else { Duration::from_millis(timeout_ms as u64) };
        let report = s.flush_acked(&list, timeout)?;
        let n = report.acked.len().min(n_nodes);
        // SAFETY: acked_out has room for n_nodes >= n entries.
        unsafe { std::ptr::copy_nonoverlapping(report.acked.as_ptr(), acked_out, n) };
        unsafe { put(n_acked, n) };
        Ok(())
    })
}

/// Fills `*out` (of `size` bytes) with the sender's counters. Call it
/// through the `mcast_sender_get_stats(sender, out)` inline function, which
/// passes `sizeof *out`.
///
/// Thread safety: safe from any thread, also in a receiver callback.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or dead handle, NULL `out`).
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_get_stats_sized(sender: *const mcast_sender, out: *mut mcast_sender_stats, size: usize) -> mcast_status {
    guard("mcast_sender_get_stats", || {
        let s = handles::sender(sender)?;
        unsafe { write_sized(out, size, mcast_sender_stats::from(s.stats()), "mcast_sender_stats") }
    })
}

/// The sender's NORM node id (`mcast_sender_config.node_id`, or a random
/// one; never 0), or 0 if `sender` is not a live sender (see
/// `mcast_last_error()`).
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_node_id(sender: *const mcast_sender) -> u32 {
    guard_value("mcast_sender_node_id", 0, || Ok(handles::sender(sender)?.node_id()))
}

/// The name of the interface the sender joined its group on: the `ifname`
/// given to `mcast_sender_new`, or the one chosen when it was NULL (the
/// rule of docs/PROTOCOL.md, "Interface choice").
///
/// `out`: receives the name as NUL-terminated text (at most
/// `MCAST_INTERFACE_NAME_MAX` bytes with the NUL); `len` is its size.
/// Thread safety: safe from any thread. Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or dead handle, NULL `out`,
/// `len` too small).
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_interface(sender: *const mcast_sender, out: *mut c_char, len: usize) -> mcast_status {
    unsafe { clear_text(out, len) };
    guard("mcast_sender_interface", || {
        let s = handles::sender(sender)?;
        unsafe { put_text(out, len, s.group().interface(), "len") }
    })
}

/// Stops the sender (NORM_CMD(EOT) is sent) and frees it. Objects not yet
/// flushed may not reach every receiver: call `mcast_flush` first.
///
/// `sender`: NULL is ignored; a handle that is not a live sender (already
/// freed) is ignored and reported through `mcast_last_error()`.
/// Thread safety: do not use `sender` after (or while) freeing it. A call
/// still running on it in another thread finishes safely.
/// Blocking: no. Allowed in a receiver callback.
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_free(sender: *mut mcast_sender) {
    if sender.is_null() {
        return;
    }
    guard("mcast_sender_free", || {
        drop(handles::take_sender(sender)?);
        Ok(())
    });
}
