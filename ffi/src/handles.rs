//! The handles C holds.
//!
//! Every live handle is registered in one table, keyed by the value handed
//! to C. That value is not the object's address but a number never handed
//! out before (a multiple of 16, never 0): addresses are reused as soon as
//! an object is freed, and a freed handle that became a newer object's
//! handle would let a double free (or any call on a freed handle) reach that
//! newer object. Each call looks its handle up (and takes a
//! reference-counted clone) before using it, so:
//! - NULL, a freed handle (double free) or a handle of the wrong type gives
//!   `MCAST_ERR_INVALID_ARGUMENT` instead of undefined behaviour, however
//!   many handles were created since (on 32-bit targets the numbers wrap
//!   after 2^28 handles; values still in use are skipped);
//! - freeing a handle while another thread is inside a call on it is safe:
//!   the object lives until that call returns.
//!
//! Objects are dropped outside the table's lock: dropping a context joins its
//! engine thread, which may itself need the table (callbacks register
//! messages).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use mcast_core::{Context, Error, Receiver, Sender};

use crate::error::invalid;
use crate::msg::Msg;

/// A context: one engine thread and the senders and receivers made from it.
/// Opaque; create with `mcast_ctx_new`, free with `mcast_ctx_free`.
pub struct mcast_ctx {
    _opaque: [u8; 0],
}

/// A sender on one group. Opaque; create with `mcast_sender_new`, free with
/// `mcast_sender_free`.
pub struct mcast_sender {
    _opaque: [u8; 0],
}

/// A receiver on one group. Opaque; create with `mcast_receiver_new`, free
/// with `mcast_receiver_free`.
pub struct mcast_receiver {
    _opaque: [u8; 0],
}

/// One received object (or the report of an aborted one). Opaque; returned
/// by `mcast_recv` or handed to a callback, freed with `mcast_msg_free`.
pub struct mcast_msg {
    _opaque: [u8; 0],
}

pub(crate) enum Handle {
    Ctx(Arc<Context>),
    Sender(Arc<Sender>),
    Receiver(Arc<Receiver>),
    Msg(Arc<Msg>),
}

static HANDLES: LazyLock<Mutex<HashMap<usize, Handle>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn table() -> MutexGuard<'static, HashMap<usize, Handle>> {
    HANDLES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts the handles handed out; the next one is 16 times this.
static NEXT: AtomicUsize = AtomicUsize::new(1);

/// Registers `h` under a handle value never handed out before (see the
/// module documentation) and returns that value.
fn insert(h: Handle) -> usize {
    let mut t = table();
    loop {
        // Wraps around only on 32-bit targets (see the module documentation).
        let k = NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(16);
        if k != 0 && !t.contains_key(&k) {
            t.insert(k, h);
            return k;
        }
    }
}

pub(crate) fn add_ctx(c: Context) -> *mut mcast_ctx {
    insert(Handle::Ctx(Arc::new(c))) as *mut mcast_ctx
}

pub(crate) fn add_sender(s: Sender) -> *mut mcast_sender {
    insert(Handle::Sender(Arc::new(s))) as *mut mcast_sender
}

pub(crate) fn add_receiver(r: Receiver) -> *mut mcast_receiver {
    insert(Handle::Receiver(Arc::new(r))) as *mut mcast_receiver
}

pub(crate) fn add_msg(m: Msg) -> *mut mcast_msg {
    insert(Handle::Msg(Arc::new(m))) as *mut mcast_msg
}

/// Frees the table's memory once the last handle is gone (a `HashMap`
/// keeps its allocation when emptied). A program that freed every handle
/// then leaves nothing of libmcast's allocated: leak checkers such as
/// valgrind report no "possibly lost" block (the table's only pointer
/// points inside its allocation, so valgrind cannot call it reachable).
fn release_if_empty(t: &mut HashMap<usize, Handle>) {
    if t.is_empty() && t.capacity() > 0 {
        *t = HashMap::new();
    }
}

macro_rules! getter {
    ($get:ident, $take:ident, $cty:ty, $variant:ident, $rty:ty, $what:literal) => {
        /// The live handle behind `p`.
        pub(crate) fn $get(p: *const $cty) -> Result<Arc<$rty>, Error> {
            if p.is_null() {
                return Err(invalid(concat!($what, " is NULL")));
            }
            match table().get(&(p as usize)) {
                Some(Handle::$variant(a)) => Ok(a.clone()),
                _ => Err(invalid(format!(concat!("{:p} is not a live ", $what, " (freed already?)"), p))),
            }
        }

        /// Removes the handle from the table; the caller drops it (outside
        /// the lock).
        pub(crate) fn $take(p: *const $cty) -> Result<Arc<$rty>, Error> {
            if p.is_null() {
                return Err(invalid(concat!($what, " is NULL")));
            }
            let mut t = table();
            match t.get(&(p as usize)) {
                Some(Handle::$variant(_)) => match t.remove(&(p as usize)) {
                    Some(Handle::$variant(a)) => {
                        release_if_empty(&mut t);
                        Ok(a)
                    }
                    _ => unreachable!("checked above"),
                },
                _ => Err(invalid(format!(concat!("{:p} is not a live ", $what, " (freed already?)"), p))),
            }
        }
    };
}

getter!(ctx, take_ctx, mcast_ctx, Ctx, Context, "mcast_ctx");
getter!(sender, take_sender, mcast_sender, Sender, Sender, "mcast_sender");
getter!(receiver, take_receiver, mcast_receiver, Receiver, Receiver, "mcast_receiver");
getter!(msg, take_msg, mcast_msg, Msg, Msg, "mcast_msg");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Msg;

    #[test]
    fn lookups_check_liveness_and_type() {
        let m = add_msg(Msg::test_message(b"x"));
        assert!(msg(m).is_ok());
        assert!(sender(m as *const mcast_sender).is_err(), "wrong type");
        assert!(msg(std::ptr::null()).is_err());
        let held = msg(m).unwrap();
        drop(take_msg(m).unwrap());
        assert!(msg(m).is_err(), "freed");
        assert!(take_msg(m).is_err(), "double free");
        assert_eq!(held.data, b"x", "a call in progress keeps its object alive");
    }

    #[test]
    fn an_emptied_table_releases_its_memory() {
        let mut t = HashMap::new();
        t.insert(16, Handle::Msg(Arc::new(Msg::test_message(b"x"))));
        t.remove(&16);
        assert!(t.capacity() > 0, "a HashMap keeps its allocation when emptied");
        release_if_empty(&mut t);
        assert_eq!(t.capacity(), 0);
    }

    #[test]
    fn freed_handles_are_never_reused() {
        // Addresses are reused at once (same size, just freed); handles
        // must not be, or a double free would free the newer message.
        let first = add_msg(Msg::test_message(b"a"));
        drop(take_msg(first).unwrap());
        let mut newer = Vec::new();
        for _ in 0..100 {
            let m = add_msg(Msg::test_message(b"b"));
            assert_ne!(m, first, "a freed handle was handed out again");
            assert!(!m.is_null() && m as usize % 16 == 0);
            newer.push(m);
        }
        assert!(take_msg(first).is_err(), "the double free is detected");
        for m in newer {
            assert_eq!(msg(m).unwrap().data, b"b", "... and no newer message was freed by it");
            drop(take_msg(m).unwrap());
        }
    }
}
