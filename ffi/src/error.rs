//! Status codes, the thread-local last error, and the guard every exported
//! function runs its body in (panics become `MCAST_ERR_INTERNAL`).

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use mcast_core::Error;

/// What a fallible call returns. New codes may be added in later minor
/// versions: treat unknown values as failures.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcast_status {
    /// Success.
    MCAST_OK = 0,
    /// An argument is NULL, out of range or malformed (not UTF-8, not an IPv6
    /// multicast address, not a live handle, a config without its `size`...).
    MCAST_ERR_INVALID_ARGUMENT = 1,
    /// The time limit passed before the operation could complete.
    MCAST_ERR_TIMEOUT = 2,
    /// The operation cannot proceed without waiting and the caller asked not
    /// to wait (timeout 0, `mcast_try_send`), or it was called from a
    /// receiver callback, where waiting is not allowed.
    MCAST_ERR_WOULD_BLOCK = 3,
    /// An operating-system call failed; `mcast_last_os_error()` has errno.
    MCAST_ERR_IO = 4,
    /// The handle's context was freed (or its engine stopped).
    MCAST_ERR_CLOSED = 5,
    /// The named interface does not exist (in this network namespace).
    MCAST_ERR_NO_SUCH_INTERFACE = 6,
    /// The sender's transmit cache can never hold this object (raise
    /// `cache_max_bytes` / `cache_max_objects`).
    MCAST_ERR_CACHE_FULL = 7,
    /// An object will never be delivered (the sender gave up on it, left,
    /// restarted, it broke a receiver limit, or a receiver with
    /// `trusted_signers` refused it: the reason then starts with
    /// "refused: "). `mcast_recv` hands out a message of kind
    /// `MCAST_KIND_ABORTED` that names the object.
    MCAST_ERR_ABORTED = 8,
    /// A bug in libmcast (a Rust panic was caught, or an invariant broke).
    /// The message says where; please report it.
    MCAST_ERR_INTERNAL = 9,
    /// A receiver refuses what a sender sends: on a sealed channel (a
    /// receiver with a key) its datagrams are not sealed, sealed with a
    /// different key, or fail authentication; or they are sealed and the
    /// receiver has no key; or, at a receiver with `trusted_signers`, its
    /// objects are unsigned, signed by a key the receiver does not trust,
    /// or not what was signed (each such object is also reported with
    /// `MCAST_ERR_ABORTED`). Reported once per sender and reason; the
    /// receiver goes on with other senders. `mcast_recv` hands out a
    /// message of kind `MCAST_KIND_REJECTED` that names the sender, and
    /// `mcast_last_error()` says why (e.g. "refusing [fe80::1%2]:5000 (node
    /// 0x1234): its datagrams are sealed with a different key", "... this
    /// receiver has no key", "... its objects are signed by a key this
    /// receiver does not trust").
    MCAST_ERR_REJECTED = 10,
}

use mcast_status::*;

/// Room for the last error message, NUL included; longer ones are cut.
const LAST_ERROR_CAP: usize = 2048;

thread_local! {
    /// A fixed buffer, so the pointer `mcast_last_error()` returns never
    /// dangles (even if the C caller keeps it across a later failure).
    static LAST_ERROR: RefCell<[u8; LAST_ERROR_CAP]> = const { RefCell::new([0; LAST_ERROR_CAP]) };
    static LAST_OS_ERROR: Cell<c_int> = const { Cell::new(0) };
    /// Set while a receiver callback runs on this (engine) thread.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// The status for a core error.
pub(crate) fn status_of(e: &Error) -> mcast_status {
    match e {
        Error::InvalidArgument(_) => MCAST_ERR_INVALID_ARGUMENT,
        Error::NoSuchInterface { .. } => MCAST_ERR_NO_SUCH_INTERFACE,
        Error::Io { .. } => MCAST_ERR_IO,
        Error::Timeout => MCAST_ERR_TIMEOUT,
        Error::Closed => MCAST_ERR_CLOSED,
        Error::WouldBlock(_) => MCAST_ERR_WOULD_BLOCK,
        Error::CacheFull(_) => MCAST_ERR_CACHE_FULL,
        Error::Aborted { .. } => MCAST_ERR_ABORTED,
        Error::Rejected { .. } => MCAST_ERR_REJECTED,
        Error::Internal(_) => MCAST_ERR_INTERNAL,
        _ => MCAST_ERR_INTERNAL,
    }
}

/// Records `e` as this thread's last error (prefixed with the function
/// name) and returns its status.
pub(crate) fn set_error(func: &str, e: &Error) -> mcast_status {
    let os_error = match e {
        Error::Io { source, .. } => source.raw_os_error().unwrap_or(0),
        _ => 0,
    };
    let mut text = format!("{func}: {e}").replace('\0', "\\0");
    if text.len() >= LAST_ERROR_CAP {
        let mut cut = LAST_ERROR_CAP - 4;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    LAST_ERROR.with(|l| {
        let mut buf = l.borrow_mut();
        buf[..text.len()].copy_from_slice(text.as_bytes());
        buf[text.len()] = 0;
    });
    LAST_OS_ERROR.with(|o| o.set(os_error));
    status_of(e)
}

pub(crate) fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidArgument(msg.into())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// Runs the body of a fallible exported function: errors and panics become a
/// status and this thread's last error.
pub(crate) fn guard(func: &str, f: impl FnOnce() -> Result<(), Error>) -> mcast_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => MCAST_OK,
        Ok(Err(e)) => set_error(func, &e),
        Err(payload) => {
            set_error(func, &Error::Internal(format!("a panic was caught: {} (please report this)", panic_message(&*payload))))
        }
    }
}

/// Like [`guard`] for functions that return a value instead of a status:
/// `fallback` on error or panic (the last error says why).
pub(crate) fn guard_value<T>(func: &str, fallback: T, f: impl FnOnce() -> Result<T, Error>) -> T {
    let mut out = None;
    guard(func, || {
        out = Some(f()?);
        Ok(())
    });
    out.unwrap_or(fallback)
}

/// Fails with `MCAST_ERR_WOULD_BLOCK` when called from a receiver callback:
/// `func` would wait for the engine thread the callback runs on.
pub(crate) fn not_in_callback(func: &str) -> Result<(), Error> {
    if IN_CALLBACK.with(|c| c.get()) {
        return Err(Error::WouldBlock(format!(
            "{func} cannot be called from a receiver callback (it would wait for the engine thread the callback runs on)"
        )));
    }
    Ok(())
}

/// Marks this thread as running a receiver callback until dropped.
pub(crate) struct CallbackScope(bool);

impl CallbackScope {
    pub(crate) fn enter() -> CallbackScope {
        CallbackScope(IN_CALLBACK.with(|c| c.replace(true)))
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.0));
    }
}

/// A NUL-terminated UTF-8 argument.
pub(crate) unsafe fn utf8_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string (the header says so).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|_| invalid(format!("{what} is not valid UTF-8: {:?}", c.to_string_lossy())))
}

/// Writes `value` through `out` if it is not NULL.
pub(crate) unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: the caller passes NULL or a valid, writable pointer.
        unsafe { out.write(value) };
    }
}

/// A human-readable description of the last failure of a libmcast call on
/// the calling thread, e.g. `"mcast_sender_new: ff3e::1 is not joined:
/// interface eth9 does not exist"`. Calls that succeed do not clear it.
///
/// Ownership: a thread-local buffer owned by libmcast: the pointer stays
/// valid as long as the thread lives, and its content is replaced by the
/// next failing call on this thread (copy it to keep it). Never NULL: `""`
/// if no call failed on this thread yet. Messages longer than 2047 bytes
/// are cut and end in `...`.
/// Thread safety: thread-local; each thread sees its own last error.
/// Blocking: no. Never fails.
#[no_mangle]
pub extern "C" fn mcast_last_error() -> *const c_char {
    catch_unwind(|| LAST_ERROR.with(|l| l.as_ptr().cast::<c_char>().cast_const())).unwrap_or(c"".as_ptr())
}

/// The `errno` value of the last failure on the calling thread if it was
/// `MCAST_ERR_IO`, else 0.
///
/// Thread safety: thread-local, like `mcast_last_error()`. Blocking: no.
/// Never fails.
#[no_mangle]
pub extern "C" fn mcast_last_os_error() -> c_int {
    catch_unwind(|| LAST_OS_ERROR.with(|o| o.get())).unwrap_or(0)
}

/// A short static description of a status code (`"timed out"`), or
/// `"unknown status"` for values this library does not know.
///
/// `status`: an `mcast_status` value (an `int` so any value is safe to pass).
/// Ownership: a static string; do not free it.
/// Thread safety: safe from any thread. Blocking: no. Never fails.
#[no_mangle]
pub extern "C" fn mcast_status_str(status: c_int) -> *const c_char {
    let s: &CStr = match status {
        0 => c"ok",
        1 => c"invalid argument",
        2 => c"timed out",
        3 => c"would block",
        4 => c"I/O error",
        5 => c"closed",
        6 => c"no such interface",
        7 => c"transmit cache full",
        8 => c"object aborted",
        9 => c"internal error",
        10 => c"datagrams rejected",
        _ => c"unknown status",
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        unsafe { CStr::from_ptr(mcast_last_error()) }.to_str().unwrap().to_string()
    }

    #[test]
    fn panics_become_internal_errors() {
        let st = guard("mcast_test", || panic!("boom {}", 42));
        assert_eq!(st, MCAST_ERR_INTERNAL);
        assert!(last().starts_with("mcast_test: internal error: a panic was caught: boom 42"), "{}", last());
        let v = guard_value("mcast_test2", 7u32, || panic!("static"));
        assert_eq!(v, 7);
        assert!(last().contains("mcast_test2") && last().contains("static"));
    }

    #[test]
    fn errors_map_to_statuses_and_messages() {
        assert_eq!(guard("f", || Ok(())), MCAST_OK);
        assert_eq!(guard("f", || Err(Error::Timeout)), MCAST_ERR_TIMEOUT);
        assert_eq!(last(), "f: timed out");
        assert_eq!(mcast_last_os_error(), 0);
        let st = guard("g", || Err(Error::io("binding", std::io::Error::from_raw_os_error(libc::EADDRINUSE))));
        assert_eq!(st, MCAST_ERR_IO);
        assert_eq!(mcast_last_os_error(), libc::EADDRINUSE);
        assert!(last().starts_with("g: binding: "));
        let rejected = Error::Rejected {
            sender: "[fe80::1%2]:5000".parse().unwrap(),
            sender_node_id: 0x1234,
            reason: "its datagrams are sealed with a different key".into(),
        };
        assert_eq!(guard("mcast_recv", || Err(rejected)), MCAST_ERR_REJECTED);
        assert!(last().starts_with("mcast_recv: refusing [fe80::1%2]:5000 (node 0x1234): ") && last().ends_with("different key"), "{}", last());
        // Messages with NUL bytes survive.
        guard("h", || Err(invalid("a\0b")));
        assert_eq!(last(), "h: invalid argument: a\\0b");
    }

    #[test]
    fn last_error_pointer_is_stable_and_long_messages_are_cut() {
        guard("f", || Err(Error::Timeout));
        let p = mcast_last_error();
        let long = "é".repeat(3000);
        guard("f", || Err(invalid(long.clone())));
        assert_eq!(p, mcast_last_error(), "same buffer");
        let text = last();
        assert!(text.len() < LAST_ERROR_CAP && text.ends_with("...") && text.starts_with("f: invalid argument: é"));
    }

    #[test]
    fn last_error_is_thread_local() {
        guard("mine", || Err(Error::Closed));
        let other = std::thread::spawn(last).join().unwrap();
        assert_eq!(other, "");
        assert_eq!(last(), "mine: closed");
    }

    #[test]
    fn status_strings() {
        for (s, text) in [
            (MCAST_OK, "ok"),
            (MCAST_ERR_INTERNAL, "internal error"),
            (MCAST_ERR_ABORTED, "object aborted"),
            (MCAST_ERR_REJECTED, "datagrams rejected"),
        ] {
            assert_eq!(unsafe { CStr::from_ptr(mcast_status_str(s as c_int)) }.to_str().unwrap(), text);
        }
        assert_eq!(unsafe { CStr::from_ptr(mcast_status_str(-5)) }.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn callback_scope_nests() {
        assert!(not_in_callback("x").is_ok());
        {
            let _a = CallbackScope::enter();
            assert!(matches!(not_in_callback("x"), Err(Error::WouldBlock(_))));
            {
                let _b = CallbackScope::enter();
            }
            assert!(not_in_callback("x").is_err());
        }
        assert!(not_in_callback("x").is_ok());
    }
}
