//! Received messages.

use std::ffi::{c_char, c_int, CString};
use std::net::SocketAddr;

use mcast_core::{Error, Message, ObjectKind};

use crate::config::MCAST_SIGNATURE_KEY_LEN;
use crate::error::{guard_value, put};
use crate::handles::{self, mcast_msg};

/// What an `mcast_msg` holds (`mcast_msg_kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcast_kind {
    /// A NORM DATA object (sent with `mcast_send` and friends).
    MCAST_KIND_DATA = 0,
    /// A NORM FILE object (`mcast_send_file`); its info is the file's name.
    MCAST_KIND_FILE = 1,
    /// A NORM STREAM object.
    MCAST_KIND_STREAM = 2,
    /// Not data: the report that this object will never be delivered
    /// (`mcast_recv` returned `MCAST_ERR_ABORTED`). Sender and object id say
    /// which object; the data and info are empty.
    MCAST_KIND_ABORTED = 3,
    /// Not data: the report that this receiver drops a sender's datagrams
    /// or refuses its objects (`mcast_recv` returned `MCAST_ERR_REJECTED`;
    /// `mcast_last_error()` says why). Sender address and node id say which
    /// sender; the object id is 0 and the data and info are empty.
    MCAST_KIND_REJECTED = 4,
}

/// What an `mcast_msg` handle points to.
pub(crate) struct Msg {
    pub(crate) data: Vec<u8>,
    pub(crate) info: Vec<u8>,
    sender: CString,
    sender_node_id: u32,
    object_id: u64,
    kind: mcast_kind,
    message_end: bool,
    lost_before: u64,
    stream_end: bool,
    /// The file holding a FILE object's content (`file_dir`).
    path: Option<CString>,
    /// The public key that signed the object (`trusted_signers`).
    signer: Option<[u8; MCAST_SIGNATURE_KEY_LEN]>,
}

fn addr_text(a: &SocketAddr) -> CString {
    CString::new(a.to_string()).unwrap_or_default()
}

impl Msg {
    pub(crate) fn from_message(m: Message) -> Msg {
        let kind = match m.kind {
            ObjectKind::Data => mcast_kind::MCAST_KIND_DATA,
            ObjectKind::File => mcast_kind::MCAST_KIND_FILE,
            ObjectKind::Stream => mcast_kind::MCAST_KIND_STREAM,
        };
        Msg {
            sender: addr_text(&m.sender),
            data: m.data,
            info: m.info,
            sender_node_id: m.sender_node_id,
            object_id: m.object_id,
            kind,
            message_end: m.message_end,
            lost_before: m.lost_before,
            stream_end: m.stream_end,
            path: m.path.map(|p| {
                use std::os::unix::ffi::OsStringExt;
                // A path from the OS has no NUL byte.
                CString::new(p.into_os_string().into_vec()).unwrap_or_default()
            }),
            signer: m.signer.map(|k| *k.as_bytes()),
        }
    }

    /// The report of an aborted object or of a rejected sender, if `e` is
    /// one.
    pub(crate) fn from_report(e: &Error) -> Option<Msg> {
        match e {
            Error::Aborted { sender, sender_node_id, object_id, .. } => Some(Msg {
                data: Vec::new(),
                info: Vec::new(),
                sender: addr_text(sender),
                sender_node_id: *sender_node_id,
                object_id: *object_id,
                kind: mcast_kind::MCAST_KIND_ABORTED,
                message_end: true,
                lost_before: 0,
                stream_end: false,
                path: None,
                signer: None,
            }),
            Error::Rejected { sender, sender_node_id, .. } => Some(Msg {
                data: Vec::new(),
                info: Vec::new(),
                sender: addr_text(sender),
                sender_node_id: *sender_node_id,
                object_id: 0,
                kind: mcast_kind::MCAST_KIND_REJECTED,
                message_end: true,
                lost_before: 0,
                stream_end: false,
                path: None,
                signer: None,
            }),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn test_message(data: &[u8]) -> Msg {
        Msg::from_message(Message {
            data: data.to_vec(),
            info: b"name".to_vec(),
            sender: "[fe80::1%2]:5000".parse().unwrap(),
            sender_node_id: 7,
            object_id: 42,
            kind: ObjectKind::File,
            message_end: true,
            lost_before: 0,
            stream_end: false,
            path: None,
            signer: None,
        })
    }
}

/// A byte that empty buffers point to, so data pointers are never NULL.
static EMPTY: u8 = 0;

fn bytes_out(b: &[u8], len: *mut usize) -> *const u8 {
    unsafe { put(len, b.len()) };
    if b.is_empty() {
        &EMPTY
    } else {
        b.as_ptr()
    }
}

/// The message's content: returns a pointer to its bytes and stores their
/// number in `*len` (if `len` is not NULL).
///
/// Ownership: the bytes belong to the message and stay valid, unchanged,
/// until `mcast_msg_free(msg)`. Never NULL for a live message (an empty
/// object gives a valid pointer and length 0); NULL with `*len` = 0 if
/// `msg` is not a live message (see `mcast_last_error()`).
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_data(msg: *const mcast_msg, len: *mut usize) -> *const u8 {
    unsafe { put(len, 0) };
    guard_value("mcast_msg_data", std::ptr::null(), || Ok(bytes_out(&handles::msg(msg)?.data, len)))
}

/// The message's NORM_INFO (for files, the name the sender gave them, not
/// NUL-terminated and not sanitised: do not use it as a path as is); may be
/// empty. Pointer, length, ownership and errors as in `mcast_msg_data`.
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_info(msg: *const mcast_msg, len: *mut usize) -> *const u8 {
    unsafe { put(len, 0) };
    guard_value("mcast_msg_info", std::ptr::null(), || Ok(bytes_out(&handles::msg(msg)?.info, len)))
}

/// The address the sender's packets came from, as text:
/// `"[fe80::1%2]:5000"` (with the interface index as scope for link-local
/// addresses).
///
/// Ownership: a NUL-terminated string owned by the message, valid until
/// `mcast_msg_free(msg)`. NULL if `msg` is not a live message.
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_sender(msg: *const mcast_msg) -> *const c_char {
    guard_value("mcast_msg_sender", std::ptr::null(), || Ok(handles::msg(msg)?.sender.as_ptr()))
}

/// The sender's NORM node id (also for `MCAST_KIND_ABORTED` and
/// `MCAST_KIND_REJECTED` reports), or 0 if `msg` is not a live message.
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_sender_node_id(msg: *const mcast_msg) -> u32 {
    guard_value("mcast_msg_sender_node_id", 0, || Ok(handles::msg(msg)?.sender_node_id))
}

/// The object's id: increasing per sender, equal to what the sender's
/// `mcast_send*` returned (the low 16 bits are NORM's transport id). 0 for
/// `MCAST_KIND_REJECTED` reports, and if `msg` is not a live message.
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_object_id(msg: *const mcast_msg) -> u64 {
    guard_value("mcast_msg_object_id", 0, || Ok(handles::msg(msg)?.object_id))
}

/// What the message holds (data, file, stream, or an abort or rejection
/// report).
/// `MCAST_KIND_ABORTED` if `msg` is not a live message (see
/// `mcast_last_error()`).
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_kind(msg: *const mcast_msg) -> mcast_kind {
    guard_value("mcast_msg_kind", mcast_kind::MCAST_KIND_ABORTED, || Ok(handles::msg(msg)?.kind))
}

/// For `MCAST_KIND_STREAM`: 1 when the message's bytes end an application
/// message (a message may come in several pieces), else 0. Always 1 for
/// DATA and FILE objects; 0 if `msg` is not a live message.
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_message_end(msg: *const mcast_msg) -> c_int {
    guard_value("mcast_msg_message_end", 0, || Ok(c_int::from(handles::msg(msg)?.message_end)))
}

/// For `MCAST_KIND_STREAM`: bytes of the stream lost for good just before
/// this piece (the sender's buffer moved on before a repair arrived;
/// delivery resumed at a message start). 0 otherwise, and if `msg` is not a
/// live message.
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_lost_before(msg: *const mcast_msg) -> u64 {
    guard_value("mcast_msg_lost_before", 0, || Ok(handles::msg(msg)?.lost_before))
}

/// For `MCAST_KIND_STREAM`: 1 when the sender closed the stream (this
/// message has no data and nothing more of the stream follows), else 0.
///
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_stream_end(msg: *const mcast_msg) -> c_int {
    guard_value("mcast_msg_stream_end", 0, || Ok(c_int::from(handles::msg(msg)?.stream_end)))
}

/// For a FILE object received with `mcast_receiver_config.file_dir` set:
/// the path of the file holding its content (`mcast_msg_data` is then
/// empty), `mcast-NODE-OBJECT` in that directory. The file belongs to the
/// application: rename it (`mcast_msg_info` usually holds the name the
/// sender gave it) or delete it. NULL for other messages, and if `msg` is
/// not a live message.
///
/// Ownership: a NUL-terminated string owned by the message, valid until
/// `mcast_msg_free(msg)`. Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_path(msg: *const mcast_msg) -> *const c_char {
    guard_value("mcast_msg_path", std::ptr::null(), || {
        Ok(handles::msg(msg)?.path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()))
    })
}

/// Who signed the object: at a receiver with
/// `mcast_receiver_config.trusted_signers`, every delivered DATA or FILE
/// object was signed by one of them, and this names which.
///
/// `public_out`: `MCAST_SIGNATURE_KEY_LEN` (32) writable bytes, or NULL.
/// Returns 1 and copies the signer's Ed25519 public key to `public_out` (if
/// not NULL) when the message has a signer; returns 0 and zeroes
/// `public_out` (if not NULL) when it has none (a receiver without
/// `trusted_signers`, abort and rejection reports), and if `msg` is not a
/// live message (NULL included; see `mcast_last_error()`).
/// Thread safety: safe from any thread. Blocking: no.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_signer(msg: *const mcast_msg, public_out: *mut u8) -> c_int {
    if !public_out.is_null() {
        // SAFETY: the caller gives NULL or MCAST_SIGNATURE_KEY_LEN writable
        // bytes.
        unsafe { std::ptr::write_bytes(public_out, 0, MCAST_SIGNATURE_KEY_LEN) };
    }
    guard_value("mcast_msg_signer", 0, || {
        let Some(key) = handles::msg(msg)?.signer else { return Ok(0) };
        if !public_out.is_null() {
            // SAFETY: as above.
            unsafe { std::ptr::copy_nonoverlapping(key.as_ptr(), public_out, MCAST_SIGNATURE_KEY_LEN) };
        }
        Ok(1)
    })
}

/// Frees a message and its bytes.
///
/// `msg`: NULL is ignored; a handle that is not a live message (already
/// freed) is ignored and reported through `mcast_last_error()`.
/// Thread safety: any thread may free a message (also one received on
/// another thread or in a callback); do not use it, or pointers obtained
/// from it, afterwards. Blocking: no. Allowed in a receiver callback.
#[no_mangle]
pub unsafe extern "C" fn mcast_msg_free(msg: *mut mcast_msg) {
    if msg.is_null() {
        return;
    }
    crate::error::guard("mcast_msg_free", || {
        drop(handles::take_msg(msg)?);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn accessors() {
        let m = handles::add_msg(Msg::test_message(b"hello"));
        let mut len = 99;
        let p = unsafe { mcast_msg_data(m, &mut len) };
        assert_eq!(unsafe { std::slice::from_raw_parts(p, len) }, b"hello");
        let p = unsafe { mcast_msg_info(m, &mut len) };
        assert_eq!(unsafe { std::slice::from_raw_parts(p, len) }, b"name");
        assert_eq!(unsafe { CStr::from_ptr(mcast_msg_sender(m)) }.to_str().unwrap(), "[fe80::1%2]:5000");
        assert_eq!(unsafe { mcast_msg_object_id(m) }, 42);
        assert_eq!(unsafe { mcast_msg_sender_node_id(m) }, 7);
        assert_eq!(unsafe { mcast_msg_kind(m) }, mcast_kind::MCAST_KIND_FILE);
        assert!(!unsafe { mcast_msg_data(m, std::ptr::null_mut()) }.is_null());
        unsafe { mcast_msg_free(m) };
        // Double free and use after free are caught.
        unsafe { mcast_msg_free(m) };
        assert!(unsafe { CStr::from_ptr(crate::mcast_last_error()) }.to_str().unwrap().contains("not a live mcast_msg"));
        assert!(unsafe { mcast_msg_data(m, &mut len) }.is_null());
        assert_eq!(len, 0);
    }

    #[test]
    fn stream_flags() {
        let file = handles::add_msg(Msg::test_message(b"x"));
        assert_eq!(unsafe { (mcast_msg_message_end(file), mcast_msg_stream_end(file), mcast_msg_lost_before(file)) }, (1, 0, 0));
        unsafe { mcast_msg_free(file) };
        let piece = Message {
            data: b"part".to_vec(),
            info: Vec::new(),
            sender: "[fe80::1%2]:5000".parse().unwrap(),
            sender_node_id: 7,
            object_id: 3,
            kind: ObjectKind::Stream,
            message_end: false,
            lost_before: 1234,
            stream_end: false,
            path: None,
            signer: None,
        };
        let end = Message { data: Vec::new(), message_end: true, lost_before: 0, stream_end: true, ..piece.clone() };
        let (p, e) = (handles::add_msg(Msg::from_message(piece)), handles::add_msg(Msg::from_message(end)));
        assert_eq!(unsafe { mcast_msg_kind(p) }, mcast_kind::MCAST_KIND_STREAM);
        assert_eq!(unsafe { (mcast_msg_message_end(p), mcast_msg_stream_end(p), mcast_msg_lost_before(p)) }, (0, 0, 1234));
        assert_eq!(unsafe { (mcast_msg_message_end(e), mcast_msg_stream_end(e), mcast_msg_lost_before(e)) }, (1, 1, 0));
        unsafe { mcast_msg_free(p) };
        unsafe { mcast_msg_free(e) };
        assert_eq!(unsafe { mcast_msg_stream_end(e) }, 0);
    }

    #[test]
    fn reports_name_the_sender() {
        let sender: SocketAddr = "[fe80::1%2]:5000".parse().unwrap();
        let rejected = Error::Rejected { sender, sender_node_id: 0x77, reason: "no key".into() };
        let m = handles::add_msg(Msg::from_report(&rejected).unwrap());
        assert_eq!(unsafe { mcast_msg_kind(m) }, mcast_kind::MCAST_KIND_REJECTED);
        assert_eq!(unsafe { CStr::from_ptr(mcast_msg_sender(m)) }.to_str().unwrap(), "[fe80::1%2]:5000");
        assert_eq!(unsafe { (mcast_msg_sender_node_id(m), mcast_msg_object_id(m)) }, (0x77, 0));
        let mut len = 9;
        assert!(!unsafe { mcast_msg_data(m, &mut len) }.is_null());
        assert_eq!(len, 0);
        unsafe { mcast_msg_free(m) };
        let aborted = Error::Aborted { sender, sender_node_id: 0x78, object_id: 9, reason: "gone".into() };
        let m = handles::add_msg(Msg::from_report(&aborted).unwrap());
        assert_eq!(unsafe { (mcast_msg_kind(m), mcast_msg_sender_node_id(m), mcast_msg_object_id(m)) }, (mcast_kind::MCAST_KIND_ABORTED, 0x78, 9));
        unsafe { mcast_msg_free(m) };
        assert!(Msg::from_report(&Error::Timeout).is_none());
    }

    #[test]
    fn signer() {
        let key = mcast_core::SigningKey::generate().public_key();
        let mut signed = Message {
            data: b"x".to_vec(),
            info: Vec::new(),
            sender: "[fe80::1%2]:5000".parse().unwrap(),
            sender_node_id: 7,
            object_id: 3,
            kind: ObjectKind::Data,
            message_end: true,
            lost_before: 0,
            stream_end: false,
            path: None,
            signer: Some(key),
        };
        let m = handles::add_msg(Msg::from_message(signed.clone()));
        let mut out = [0u8; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_msg_signer(m, out.as_mut_ptr()) }, 1);
        assert_eq!(&out, key.as_bytes());
        assert_eq!(unsafe { mcast_msg_signer(m, std::ptr::null_mut()) }, 1, "NULL out: only the answer");
        unsafe { mcast_msg_free(m) };
        out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_msg_signer(m, out.as_mut_ptr()) }, 0, "a freed message");
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN]);

        signed.signer = None;
        let unsigned = handles::add_msg(Msg::from_message(signed));
        out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_msg_signer(unsigned, out.as_mut_ptr()) }, 0);
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN], "zeroed without a signer");
        unsafe { mcast_msg_free(unsigned) };
        let sender: SocketAddr = "[fe80::1%2]:5000".parse().unwrap();
        let report = Error::Aborted { sender, sender_node_id: 7, object_id: 3, reason: "refused: unsigned".into() };
        let r = handles::add_msg(Msg::from_report(&report).unwrap());
        assert_eq!(unsafe { mcast_msg_signer(r, out.as_mut_ptr()) }, 0, "reports have no signer");
        unsafe { mcast_msg_free(r) };
        assert_eq!(unsafe { mcast_msg_signer(std::ptr::null(), out.as_mut_ptr()) }, 0);
    }

    #[test]
    fn empty_data_is_not_null() {
        let m = handles::add_msg(Msg::test_message(b""));
        let mut len = 5;
        assert!(!unsafe { mcast_msg_data(m, &mut len) }.is_null());
        assert_eq!(len, 0);
        unsafe { mcast_msg_free(m) };
    }
}
