//! Keys of sealed channels (`mcast_sender_config.key`,
//! `mcast_receiver_config.key`).

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mcast_core::seal::KeyError;
use mcast_core::{Error, Key};

use crate::config::MCAST_KEY_LEN;
use crate::error::{guard, invalid, mcast_status};

/// Copies `key` into the caller's `MCAST_KEY_LEN` bytes at `out`.
unsafe fn write_key(out: *mut u8, key: &Key) {
    // SAFETY: the caller gives MCAST_KEY_LEN writable bytes at `out`.
    unsafe { std::ptr::copy_nonoverlapping(key.as_bytes().as_ptr(), out, MCAST_KEY_LEN) };
}

/// Zeroes the caller's `MCAST_KEY_LEN` bytes at `out` (if not NULL).
unsafe fn clear_key(out: *mut u8) {
    if !out.is_null() {
        // SAFETY: the caller gives NULL or MCAST_KEY_LEN writable bytes.
        unsafe { std::ptr::write_bytes(out, 0, MCAST_KEY_LEN) };
    }
}

/// Fills `out` with a new random key for a sealed channel, from the
/// operating system's generator.
///
/// `out`: `MCAST_KEY_LEN` (32) writable bytes. Give the same key to every
/// sender and receiver of the channel (`mcast_sender_config.key`,
/// `mcast_receiver_config.key`); to share it through a file, write it as 64
/// hexadecimal digits (what `mcast keygen` writes and `mcast_key_from_file`
/// reads).
/// Thread safety: safe from any thread. Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL `out`), `MCAST_ERR_INTERNAL`
/// (the operating system's generator failed; `out` is then zeroed).
#[no_mangle]
pub unsafe extern "C" fn mcast_key_generate(out: *mut u8) -> mcast_status {
    let st = guard("mcast_key_generate", || {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        unsafe { write_key(out, &Key::generate()) };
        Ok(())
    });
    if st != mcast_status::MCAST_OK {
        unsafe { clear_key(out) };
    }
    st
}

/// Reads a sealed channel's key from a file: 64 hexadecimal digits (what
/// `mcast keygen` writes; whitespace around them is ignored) or exactly 32
/// raw bytes. Keep key files readable only by their owner.
///
/// `path`: a NUL-terminated path. `out`: `MCAST_KEY_LEN` (32) writable
/// bytes; receives the key, or zeroes on failure.
/// Thread safety: safe from any thread. Blocking: reads the file.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL or empty `path`, NULL `out`,
/// a directory, content that is not a key), `MCAST_ERR_IO` (the file
/// cannot be read; `mcast_last_os_error()` has errno when the file could
/// not be opened, e.g. ENOENT). The message names the file and the
/// problem.
#[no_mangle]
pub unsafe extern "C" fn mcast_key_from_file(path: *const c_char, out: *mut u8) -> mcast_status {
    unsafe { clear_key(out) };
    guard("mcast_key_from_file", || {
        if path.is_null() {
            return Err(invalid("path is NULL"));
        }
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
        if bytes.is_empty() {
            return Err(invalid("path is empty"));
        }
        let path = Path::new(OsStr::from_bytes(bytes));
        let key = read_key_file(path)?;
        unsafe { write_key(out, &key) };
        Ok(())
    })
}

/// `Key::from_file`, with errors as the C API reports them: opening the
/// file first gives `MCAST_ERR_IO` its errno.
fn read_key_file(path: &Path) -> Result<Key, Error> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot open the key file {shown}"), e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(invalid(format!("the key file {shown} is a directory")));
    }
    drop(file);
    Key::from_file(path).map_err(|e| match e {
        KeyError::Io(why) => Error::io(format!("reading the key file {shown}"), std::io::Error::other(why)),
        KeyError::Format | KeyError::Length(_) | KeyError::Invalid => invalid(format!("the key file {shown} holds no key: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::mcast_status::*;

    fn last() -> String {
        unsafe { CStr::from_ptr(crate::mcast_last_error()) }.to_str().unwrap().to_string()
    }

    #[test]
    fn generate() {
        let (mut a, mut b) = ([0u8; MCAST_KEY_LEN], [0u8; MCAST_KEY_LEN]);
        assert_eq!(unsafe { mcast_key_generate(a.as_mut_ptr()) }, MCAST_OK);
        assert_eq!(unsafe { mcast_key_generate(b.as_mut_ptr()) }, MCAST_OK);
        assert_ne!(a, b);
        assert_ne!(a, [0; MCAST_KEY_LEN]);
        assert_eq!(unsafe { mcast_key_generate(std::ptr::null_mut()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(last(), "mcast_key_generate: invalid argument: out is NULL");
    }

    #[test]
    fn from_file() {
        let dir = std::env::temp_dir().join(format!("mcast-ffi-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = Key::generate();
        let hex = dir.join("hex");
        std::fs::write(&hex, format!("{}\n", key.to_hex())).unwrap();
        let raw = dir.join("raw");
        std::fs::write(&raw, key.as_bytes()).unwrap();
        let bad = dir.join("bad");
        std::fs::write(&bad, "not a key").unwrap();
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();

        let mut out = [0xaau8; MCAST_KEY_LEN];
        for p in [&hex, &raw] {
            out = [0xaa; MCAST_KEY_LEN];
            assert_eq!(unsafe { mcast_key_from_file(c(p).as_ptr(), out.as_mut_ptr()) }, MCAST_OK);
            assert_eq!(&out, key.as_bytes());
        }
        assert_eq!(unsafe { mcast_key_from_file(c(&bad).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(out, [0; MCAST_KEY_LEN], "zeroed on failure");
        assert!(last().contains("holds no key") && last().contains("64 hexadecimal digits"), "{}", last());
        let missing = dir.join("missing");
        assert_eq!(unsafe { mcast_key_from_file(c(&missing).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_IO);
        assert_eq!(crate::mcast_last_os_error(), libc::ENOENT);
        assert!(last().contains("cannot open the key file") && last().contains("missing"), "{}", last());
        assert_eq!(unsafe { mcast_key_from_file(c(&dir).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert!(last().contains("is a directory"), "{}", last());
        assert_eq!(unsafe { mcast_key_from_file(std::ptr::null(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(unsafe { mcast_key_from_file(c"".as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(unsafe { mcast_key_from_file(c(&hex).as_ptr(), std::ptr::null_mut()) }, MCAST_ERR_INVALID_ARGUMENT);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
