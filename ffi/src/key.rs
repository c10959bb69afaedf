//! Keys of sealed channels (`mcast_sender_config.key`,
//! `mcast_receiver_config.key`) and of signed objects
//! (`mcast_sender_config.signing_key`,
//! `mcast_receiver_config.trusted_signers`).

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use mcast_core::seal::KeyError;
use mcast_core::{Error, Key, PublicKey, SigningKey};

use crate::config::{wipe, MCAST_KEY_LEN, MCAST_SIGNATURE_KEY_LEN};
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

/// `Key::from_file`, with errors as the C API reports them.
fn read_key_file(path: &Path) -> Result<Key, Error> {
    read_file_as(path, "key file", |p| Key::from_file(p))
}

/// Reads the key file at `path` with `load` (`Key::from_file`,
/// `SigningKey::from_file`, `PublicKey::from_file`), with errors as the C
/// API reports them: opening the file first gives `MCAST_ERR_IO` its errno;
/// content that is not a key (or not a curve point) is
/// `MCAST_ERR_INVALID_ARGUMENT`. `what` names the file in messages.
fn read_file_as<K>(path: &Path, what: &str, load: impl FnOnce(&Path) -> Result<K, KeyError>) -> Result<K, Error> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("cannot open the {what} {shown}"), e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(invalid(format!("the {what} {shown} is a directory")));
    }
    drop(file);
    load(path).map_err(|e| match e {
        KeyError::Io(why) => Error::io(format!("reading the {what} {shown}"), std::io::Error::other(why)),
        KeyError::Format | KeyError::Length(_) | KeyError::Invalid => invalid(format!("the {what} {shown} holds no key: {e}")),
    })
}

/// A NUL-terminated, non-empty path argument.
unsafe fn path_arg<'a>(path: *const c_char) -> Result<&'a Path, Error> {
    if path.is_null() {
        return Err(invalid("path is NULL"));
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    if bytes.is_empty() {
        return Err(invalid("path is empty"));
    }
    Ok(Path::new(OsStr::from_bytes(bytes)))
}

/// Copies 32 bytes of a signing or public key into the caller's
/// `MCAST_SIGNATURE_KEY_LEN` bytes at `out`.
unsafe fn write_32(out: *mut u8, bytes: &[u8; MCAST_SIGNATURE_KEY_LEN]) {
    // SAFETY: the caller gives MCAST_SIGNATURE_KEY_LEN writable bytes.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), out, MCAST_SIGNATURE_KEY_LEN) };
}

/// Copies a signing key's secret seed to `out`, wiping the temporary copy.
unsafe fn write_secret(out: *mut u8, key: &SigningKey) {
    let mut seed = key.to_bytes();
    unsafe { write_32(out, &seed) };
    wipe(&mut seed);
}

/// Zeroes the caller's `MCAST_SIGNATURE_KEY_LEN` bytes at `out` (if not
/// NULL).
unsafe fn clear_32(out: *mut u8) {
    if !out.is_null() {
        // SAFETY: the caller gives NULL or MCAST_SIGNATURE_KEY_LEN writable
        // bytes.
        unsafe { std::ptr::write_bytes(out, 0, MCAST_SIGNATURE_KEY_LEN) };
    }
}

/// Fills `secret_out` with a new random Ed25519 signing key for signed
/// objects, from the operating system's generator, and `public_out` with
/// its public key.
///
/// `secret_out`: `MCAST_SIGNATURE_KEY_LEN` (32) writable bytes; receives
/// the secret seed, for `mcast_sender_config.signing_key`. Keep it secret:
/// whoever holds it can sign as this sender. To keep it in a file, write it
/// as 64 hexadecimal digits (what `mcast keygen --sign` writes and
/// `mcast_signing_key_from_file` reads), readable only by its owner.
/// `public_out`: `MCAST_SIGNATURE_KEY_LEN` (32) writable bytes; receives
/// the public key, for receivers' `mcast_receiver_config.trusted_signers`
/// (it can also be derived later with `mcast_signing_key_public`). Both
/// are zeroed on failure.
/// Thread safety: safe from any thread. Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL `secret_out` or
/// `public_out`), `MCAST_ERR_INTERNAL` (the operating system's generator
/// failed).
#[no_mangle]
pub unsafe extern "C" fn mcast_signing_key_generate(secret_out: *mut u8, public_out: *mut u8) -> mcast_status {
    let st = guard("mcast_signing_key_generate", || {
        if secret_out.is_null() {
            return Err(invalid("secret_out is NULL"));
        }
        if public_out.is_null() {
            return Err(invalid("public_out is NULL"));
        }
        let key = SigningKey::generate();
        unsafe { write_secret(secret_out, &key) };
        unsafe { write_32(public_out, key.public_key().as_bytes()) };
        Ok(())
    });
    if st != mcast_status::MCAST_OK {
        unsafe { clear_32(secret_out) };
        unsafe { clear_32(public_out) };
    }
    st
}

/// Derives the public key of a signing key: what receivers trusting its
/// signer put in `mcast_receiver_config.trusted_signers`.
///
/// `secret`: `MCAST_SIGNATURE_KEY_LEN` (32) bytes, a signing key's secret
/// seed (any 32 bytes are one), only read during the call.
/// `public_out`: `MCAST_SIGNATURE_KEY_LEN` (32) writable bytes; receives the
/// public key, or zeroes on failure.
/// Thread safety: safe from any thread. Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` (NULL `secret` or `public_out`).
#[no_mangle]
pub unsafe extern "C" fn mcast_signing_key_public(secret: *const u8, public_out: *mut u8) -> mcast_status {
    unsafe { clear_32(public_out) };
    guard("mcast_signing_key_public", || {
        if secret.is_null() {
            return Err(invalid("secret is NULL"));
        }
        if public_out.is_null() {
            return Err(invalid("public_out is NULL"));
        }
        // SAFETY: the caller gives MCAST_SIGNATURE_KEY_LEN readable bytes.
        let key = unsafe { crate::config::signing_key_arg(secret) }.expect("not NULL");
        unsafe { write_32(public_out, key.public_key().as_bytes()) };
        Ok(())
    })
}

/// Reads a signing key (its secret seed) from a file: 64 hexadecimal digits
/// (what `mcast keygen --sign` writes; whitespace around them is ignored)
/// or exactly 32 raw bytes. Keep such files readable only by their owner.
///
/// `path`: a NUL-terminated path. `secret_out`: `MCAST_SIGNATURE_KEY_LEN`
/// (32) writable bytes; receives the secret seed (for
/// `mcast_sender_config.signing_key`), or zeroes on failure.
/// Thread safety: safe from any thread. Blocking: reads the file.
/// Errors: as `mcast_key_from_file`: `MCAST_ERR_INVALID_ARGUMENT` (NULL or
/// empty `path`, NULL `secret_out`, a directory, content that is not a
/// key), `MCAST_ERR_IO` (the file cannot be read; `mcast_last_os_error()`
/// has errno when it could not be opened, e.g. ENOENT). The message names
/// the file and the problem.
#[no_mangle]
pub unsafe extern "C" fn mcast_signing_key_from_file(path: *const c_char, secret_out: *mut u8) -> mcast_status {
    unsafe { clear_32(secret_out) };
    guard("mcast_signing_key_from_file", || {
        let path = unsafe { path_arg(path) }?;
        if secret_out.is_null() {
            return Err(invalid("secret_out is NULL"));
        }
        let key = read_file_as(path, "signing key file", |p| SigningKey::from_file(p))?;
        unsafe { write_secret(secret_out, &key) };
        Ok(())
    })
}

/// Reads an Ed25519 public key (of a signer to trust) from a file: 64
/// hexadecimal digits (what `mcast keygen --sign FILE` writes to FILE.pub;
/// whitespace around them is ignored) or exactly 32 raw bytes.
///
/// `path`: a NUL-terminated path. `public_out`: `MCAST_SIGNATURE_KEY_LEN`
/// (32) writable bytes; receives the public key (for
/// `mcast_receiver_config.trusted_signers`), or zeroes on failure.
/// Thread safety: safe from any thread. Blocking: reads the file.
/// Errors: as `mcast_key_from_file`; `MCAST_ERR_INVALID_ARGUMENT` also for
/// 32 bytes that are not a valid Ed25519 public key (not a point of the
/// curve).
#[no_mangle]
pub unsafe extern "C" fn mcast_public_key_from_file(path: *const c_char, public_out: *mut u8) -> mcast_status {
    unsafe { clear_32(public_out) };
    guard("mcast_public_key_from_file", || {
        let path = unsafe { path_arg(path) }?;
        if public_out.is_null() {
            return Err(invalid("public_out is NULL"));
        }
        let key = read_file_as(path, "public key file", |p| PublicKey::from_file(p))?;
        unsafe { write_32(public_out, key.as_bytes()) };
        Ok(())
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

    #[test]
    fn signing_key_generate_and_public() {
        let (mut s1, mut p1) = ([0u8; MCAST_SIGNATURE_KEY_LEN], [0u8; MCAST_SIGNATURE_KEY_LEN]);
        let (mut s2, mut p2) = ([0u8; MCAST_SIGNATURE_KEY_LEN], [0u8; MCAST_SIGNATURE_KEY_LEN]);
        assert_eq!(unsafe { mcast_signing_key_generate(s1.as_mut_ptr(), p1.as_mut_ptr()) }, MCAST_OK);
        assert_eq!(unsafe { mcast_signing_key_generate(s2.as_mut_ptr(), p2.as_mut_ptr()) }, MCAST_OK);
        assert_ne!(s1, s2);
        assert_ne!(p1, p2);
        assert_ne!(s1, p1, "the public key is not the seed");
        assert_eq!(SigningKey::from_bytes(s1).public_key().as_bytes(), &p1);
        assert!(PublicKey::from_bytes(&p1).is_ok());

        let mut derived = [0xaau8; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_signing_key_public(s1.as_ptr(), derived.as_mut_ptr()) }, MCAST_OK);
        assert_eq!(derived, p1);

        let mut out = [0xaau8; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_signing_key_generate(std::ptr::null_mut(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(last(), "mcast_signing_key_generate: invalid argument: secret_out is NULL");
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN], "zeroed on failure");
        out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_signing_key_generate(out.as_mut_ptr(), std::ptr::null_mut()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(last(), "mcast_signing_key_generate: invalid argument: public_out is NULL");
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN], "no secret left behind on failure");
        out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
        assert_eq!(unsafe { mcast_signing_key_public(std::ptr::null(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(last(), "mcast_signing_key_public: invalid argument: secret is NULL");
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN]);
        assert_eq!(unsafe { mcast_signing_key_public(s1.as_ptr(), std::ptr::null_mut()) }, MCAST_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn signing_and_public_keys_from_files() {
        let dir = std::env::temp_dir().join(format!("mcast-ffi-sign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::generate();
        let public = key.public_key();
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let put = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let secret_hex = put("secret", format!("{}\n", key.to_hex()).as_bytes());
        let secret_raw = put("secret.raw", &key.to_bytes());
        let public_hex = put("secret.pub", format!("{}\n", public.to_hex()).as_bytes());
        let public_raw = put("public.raw", public.as_bytes());
        // 32 bytes of 0x02 are no point of the curve (32 of 0xff, read as
        // the non-canonical y = 18, are accepted by ed25519-dalek).
        assert!(PublicKey::from_bytes(&[0x02; MCAST_SIGNATURE_KEY_LEN]).is_err());
        let bad_point = put("bad.pub", format!("{}\n", "02".repeat(32)).as_bytes());
        let garbage = put("garbage", b"not a key");

        let mut out = [0xaau8; MCAST_SIGNATURE_KEY_LEN];
        for p in [&secret_hex, &secret_raw] {
            out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
            assert_eq!(unsafe { mcast_signing_key_from_file(c(p).as_ptr(), out.as_mut_ptr()) }, MCAST_OK, "{}", last());
            assert_eq!(out, key.to_bytes());
        }
        for p in [&public_hex, &public_raw] {
            out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
            assert_eq!(unsafe { mcast_public_key_from_file(c(p).as_ptr(), out.as_mut_ptr()) }, MCAST_OK, "{}", last());
            assert_eq!(&out, public.as_bytes());
        }
        // Any 32 bytes are a signing key, but not every 32 bytes a public key.
        assert_eq!(unsafe { mcast_signing_key_from_file(c(&bad_point).as_ptr(), out.as_mut_ptr()) }, MCAST_OK);
        assert_eq!(unsafe { mcast_public_key_from_file(c(&bad_point).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
        assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN], "zeroed on failure");
        assert!(last().contains("the public key file") && last().contains("not a valid Ed25519 public key"), "{}", last());
        for f in [mcast_signing_key_from_file, mcast_public_key_from_file] {
            out = [0xaa; MCAST_SIGNATURE_KEY_LEN];
            assert_eq!(unsafe { f(c(&garbage).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
            assert_eq!(out, [0; MCAST_SIGNATURE_KEY_LEN], "zeroed on failure");
            assert!(last().contains("holds no key") && last().contains("64 hexadecimal digits"), "{}", last());
            let missing = dir.join("missing");
            assert_eq!(unsafe { f(c(&missing).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_IO);
            assert_eq!(crate::mcast_last_os_error(), libc::ENOENT);
            assert!(last().contains("cannot open the") && last().contains("missing"), "{}", last());
            assert_eq!(unsafe { f(c(&dir).as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
            assert!(last().contains("is a directory"), "{}", last());
            assert_eq!(unsafe { f(std::ptr::null(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
            assert_eq!(unsafe { f(c"".as_ptr(), out.as_mut_ptr()) }, MCAST_ERR_INVALID_ARGUMENT);
            assert_eq!(unsafe { f(c(&public_hex).as_ptr(), std::ptr::null_mut()) }, MCAST_ERR_INVALID_ARGUMENT);
        }
        assert!(last().starts_with("mcast_public_key_from_file: "), "{}", last());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
