//! Versioned configuration structs.
//!
//! Each config struct starts with `size`, the `sizeof` the caller compiled
//! with; `mcast_*_config_init` (an inline function in the header that passes
//! `sizeof *cfg` to `mcast_*_config_init_sized`) fills it in. The library
//! reads only `size` bytes and takes its defaults for fields the caller does
//! not know yet, and refuses a larger struct whose unknown tail is not zero,
//! and sizes no version of the struct can have (shorter than `size` itself,
//! not a multiple of the struct's alignment, over 64 KiB).
//!
//! Rules for changing these structs (the ABI depends on them):
//! - only append fields; never reorder, resize or remove one;
//! - keep every struct free of implicit padding (fill gaps with `reserved`
//!   fields, which must be 0), so an old struct's tail never overlaps a
//!   new field (the `no_padding` test checks this);
//! - only use integer types (any bit pattern is a valid value), or a
//!   pointer (`const char *file_dir`, `const uint8_t *key`,
//!   `const uint8_t *signing_key`, `const uint8_t *trusted_signers`) that
//!   NULL (what init sets) leaves at its default and that the library reads
//!   only during the call it is passed to.

use std::ffi::{c_char, c_int};
use std::mem::{align_of, size_of};
use std::time::Duration;

use mcast_core::{ContextConfig, Error, FlowControl, Key, PublicKey, ReceiverConfig, SenderConfig, SigningKey, SocketConfig, SyncPolicy};

use crate::error::{guard, invalid, mcast_status};

/// How a receiver treats objects sent before it heard a sender
/// (`mcast_receiver_config.sync_policy`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcast_sync_policy {
    /// Start with the object the first packet heard belongs to (libnorm's
    /// default).
    MCAST_SYNC_CURRENT = 0,
    /// Also ask for up to `sync_window` older objects still in the sender's
    /// cache, so a receiver started before the sender gets every object
    /// (the default).
    MCAST_SYNC_ALL = 1,
}

/// What a sender's full transmit cache does about receivers that still need
/// its oldest object (`mcast_sender_config.flow_control`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcast_flow_control {
    /// The default: an object leaves the cache once receivers had time to
    /// ask for repairs (about 40 GRTT after its last transmission or last
    /// NACK); a receiver that falls silent is left behind (it reports the
    /// objects it missed aborted). The sender does not wait for it.
    MCAST_FLOW_LEAVE_BEHIND = 0,
    /// An object also stays until every receiver listed in
    /// `wait_for_acks_nodes` acknowledged it; meanwhile a full cache makes
    /// `mcast_send` wait (or return `MCAST_ERR_WOULD_BLOCK`). The slowest
    /// listed receiver sets the pace; one that is gone stops the sender.
    MCAST_FLOW_WAIT_FOR_ACKS = 1,
}

/// Most node ids in `mcast_sender_config.wait_for_acks_nodes`.
pub const MCAST_WAIT_FOR_ACKS_MAX: usize = 16;

/// Bytes of a sealed channel's key (`mcast_sender_config.key`,
/// `mcast_receiver_config.key`, `mcast_key_generate`, `mcast_key_from_file`).
pub const MCAST_KEY_LEN: usize = 32;

/// Bytes of an Ed25519 key of signed objects: a signing key (its secret
/// seed: `mcast_sender_config.signing_key`, `mcast_signing_key_generate`,
/// `mcast_signing_key_from_file`) and a public key
/// (`mcast_receiver_config.trusted_signers`, `mcast_public_key_from_file`,
/// `mcast_msg_signer`) are both this long.
pub const MCAST_SIGNATURE_KEY_LEN: usize = 32;

/// Most public keys in `mcast_receiver_config.trusted_signers`.
pub const MCAST_TRUSTED_SIGNERS_MAX: usize = 65536;

/// The default `seal_max_age_ms` of sender and receiver configs: sealed
/// datagrams older than this (two minutes) are dropped as replays.
pub const MCAST_SEAL_MAX_AGE_DEFAULT_MS: u32 = 120_000;

/// Settings of a context (`mcast_ctx_new`), applied to every socket of it.
/// Initialise with `mcast_config_init` before setting fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mcast_config {
    /// `sizeof(mcast_config)` as the caller compiled it; set by
    /// `mcast_config_init`.
    pub size: usize,
    /// IPv6 hop limit of multicast datagrams (default 1: the local link; at
    /// most 255).
    pub hop_limit: u32,
    /// Non-zero: other sockets of this host receive our datagrams (needed
    /// when sender and receiver share a host). Default 1.
    pub loopback: c_int,
    /// Socket receive buffer in bytes (default 4 MiB; 0 keeps the kernel's).
    pub recv_buffer: u64,
    /// Socket send buffer in bytes (default 1 MiB; 0 keeps the kernel's).
    pub send_buffer: u64,
}

/// Settings of a sender (`mcast_sender_new`). Initialise with
/// `mcast_sender_config_init` before setting fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mcast_sender_config {
    /// `sizeof(mcast_sender_config)` as the caller compiled it; set by
    /// `mcast_sender_config_init`.
    pub size: usize,
    /// Payload bytes per NORM_DATA segment (default 1400; 16 to 8192, at
    /// least 60 with a `key`).
    pub segment_size: u16,
    /// Data segments per FEC block (default 64; at least 1).
    pub block_size: u16,
    /// Parity segments available per block for repairs (default 16;
    /// block_size + parity <= 255).
    pub parity: u16,
    /// Parity segments sent proactively with every block (default 0; at
    /// most `parity`).
    pub auto_parity: u16,
    /// Transmission rate in bits per second, all messages counted (default
    /// 100000000; at least 1000): with congestion control the most the
    /// sender sends, else the rate it sends at.
    pub rate_bps: u64,
    /// Most objects held for repair at once (default 1024).
    pub cache_max_objects: u64,
    /// Most bytes of in-memory objects held for repair at once (default 512
    /// MiB).
    pub cache_max_bytes: u64,
    /// Initial group round-trip time estimate in microseconds (default
    /// 100000).
    pub grtt_initial_us: u64,
    /// Upper bound of the GRTT estimate in microseconds (default 10000000).
    pub grtt_max_us: u64,
    /// NACK backoff factor advertised to receivers (default 4; at most 15).
    pub backoff_factor: u32,
    /// Group size estimate advertised to receivers (default 1000).
    pub group_size: u32,
    /// Number of NORM_CMD(FLUSH) messages at the end of transmission
    /// (default 20).
    pub robust_factor: u32,
    /// Must be 0.
    pub reserved0: u32,
    /// With congestion control, the lowest rate in bits per second (default
    /// 64000; at least 1000 and at most `rate_bps`).
    pub rate_min_bps: u64,
    /// Non-zero (the default): NORM-CC congestion control (RFC 5740 section
    /// 5.5) keeps the rate between `rate_min_bps` and `rate_bps` at what the
    /// slowest receiver's path takes. 0: a fixed rate of `rate_bps` (needed
    /// when every receiver is silent, as they give no feedback).
    pub congestion_control: c_int,
    /// Must be 0 (keeps the struct free of implicit padding).
    pub reserved1: u32,
    /// An `mcast_flow_control` value (default `MCAST_FLOW_LEAVE_BEHIND`).
    pub flow_control: u32,
    /// With `MCAST_FLOW_WAIT_FOR_ACKS`: how many node ids of
    /// `wait_for_acks_nodes` count (1 to `MCAST_WAIT_FOR_ACKS_MAX`).
    pub wait_for_acks_count: u32,
    /// NORM node ids of the receivers to wait for (their
    /// `mcast_receiver_config.node_id`).
    pub wait_for_acks_nodes: [u32; MCAST_WAIT_FOR_ACKS_MAX],
    /// NULL (the default): an open channel. Otherwise a sealed channel's key:
    /// `MCAST_KEY_LEN` (32) bytes, copied during `mcast_sender_new` (the
    /// caller may wipe its copy afterwards). Every datagram is then sealed
    /// (authenticated; object content and info encrypted) and only sealed
    /// feedback from receivers with the same key is heard. Sealing takes 44
    /// bytes of each datagram: segments carry `segment_size - 44` bytes of
    /// content (datagrams stay the size they are without a key). Receivers
    /// without this key report the sender with `MCAST_ERR_REJECTED`. Get a
    /// key from `mcast_key_generate` or `mcast_key_from_file`.
    pub key: *const u8,
    /// With a key: feedback sealed longer ago than this many milliseconds
    /// (by this host's clock) is dropped as replayed; 0: no age limit.
    /// Default `MCAST_SEAL_MAX_AGE_DEFAULT_MS` (120000). Ignored without a
    /// key.
    pub seal_max_age_ms: u32,
    /// Must be 0 (keeps the struct free of implicit padding).
    pub reserved2: u32,
    /// NULL (the default): objects are not signed. Otherwise an Ed25519
    /// signing key: `MCAST_SIGNATURE_KEY_LEN` (32) bytes, its secret seed
    /// (from `mcast_signing_key_generate` or `mcast_signing_key_from_file`),
    /// copied during `mcast_sender_new` (the caller may wipe its copy
    /// afterwards). Every DATA and FILE object is then signed once, as a
    /// whole, so that receivers trusting the matching public key
    /// (`mcast_receiver_config.trusted_signers`) can tell its objects from
    /// anyone else's. The signature travels at the end of each object's
    /// NORM_INFO: the info given to `mcast_send_with_info` may be at most
    /// `segment_size - 128` bytes (`segment_size - 172` with a `key`), and
    /// `segment_size` must leave room for it (at least 144, 188 with a
    /// key). `mcast_send_file` reads the file once more during the call to
    /// sign it. Signing works with and without a sealed channel's `key`
    /// (the key keeps outsiders out; signatures tell its holders apart).
    pub signing_key: *const u8,
    /// The sender's NORM node id (what receivers see in
    /// `mcast_msg_sender_node_id`; with a `signing_key`, each signature
    /// covers it); 0 (the default): a random one. 0xffffffff (NORM_NODE_ANY) is refused with
    /// `MCAST_ERR_INVALID_ARGUMENT`. Give each sender of a group its own id:
    /// a sender that restarts with the same id is recognised by receivers as
    /// a restart (they abort what they had unfinished of it at once and
    /// keep what they completed).
    pub node_id: u32,
    /// Must be 0 (keeps the struct free of implicit padding).
    pub reserved3: u32,
}

/// Settings of a receiver (`mcast_receiver_new`). Initialise with
/// `mcast_receiver_config_init` before setting fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mcast_receiver_config {
    /// `sizeof(mcast_receiver_config)` as the caller compiled it; set by
    /// `mcast_receiver_config_init`.
    pub size: usize,
    /// An `mcast_sync_policy` value (default `MCAST_SYNC_ALL`).
    pub sync_policy: u32,
    /// How many objects before the first one heard `MCAST_SYNC_ALL` asks
    /// for (default 256; at most 65535).
    pub sync_window: u32,
    /// Largest object accepted; larger ones are reported aborted (default 1
    /// GiB).
    pub max_object_size: u64,
    /// Most bytes buffered per sender for incomplete or undelivered objects
    /// (default 1 GiB).
    pub max_buffer_per_sender: u64,
    /// Most bytes buffered for all senders together, including messages
    /// waiting for `mcast_recv` (default 2 GiB).
    pub max_buffer_total: u64,
    /// Most senders tracked at once (default 64; at least 1).
    pub max_senders: u64,
    /// A sender silent this long (milliseconds) is dropped and its
    /// incomplete objects aborted (default 60000; at least 1).
    pub inactivity_timeout_ms: u64,
    /// Non-zero: send NACKs unicast to the sender instead of to the group
    /// (default 0).
    pub unicast_nacks: c_int,
    /// Non-zero: never send anything (no NACKs), rely on proactive parity
    /// (default 0).
    pub silent: c_int,
    /// The receiver's NORM node id, for senders that ask it for positive
    /// acknowledgement (`mcast_flush_acked`); 0 (the default): a random one.
    pub node_id: u32,
    /// Reserved, must be 0 (keeps the struct free of implicit padding).
    pub reserved1: u32,
    /// NULL (the default): FILE objects are delivered in memory
    /// (`mcast_msg_data`, at most `max_object_size`). A directory: each FILE
    /// object is written to a file there as its blocks complete, so memory
    /// holds only incomplete blocks whatever the file's size (and
    /// `max_object_size` does not apply to files); its message names the
    /// file (`mcast_msg_path`). A NUL-terminated path, read during
    /// `mcast_receiver_new` only; the directory must exist and be writable.
    pub file_dir: *const c_char,
    /// NULL (the default): no key; sealed datagrams are dropped and their
    /// sender reported once with `MCAST_ERR_REJECTED`. Otherwise a sealed
    /// channel's key: `MCAST_KEY_LEN` (32) bytes, copied during
    /// `mcast_receiver_new`. Only datagrams sealed with it are heard (each
    /// is authenticated before anything else reads it) and NACKs and ACKs
    /// go out sealed; a sender whose datagrams are not sealed, are sealed
    /// with another key or fail authentication is reported once per reason
    /// with `MCAST_ERR_REJECTED` and ignored.
    pub key: *const u8,
    /// With a key: datagrams sealed longer ago than this many milliseconds
    /// (by this host's clock) are dropped as replayed; 0: no age limit
    /// (replays of a sender instance already heard are refused all the
    /// same). Default `MCAST_SEAL_MAX_AGE_DEFAULT_MS` (120000): the clocks
    /// of a channel's hosts must agree this well. Ignored without a key.
    pub seal_max_age_ms: u32,
    /// Must be 0 (keeps the struct free of implicit padding).
    pub reserved2: u32,
    /// NULL (the default, with `trusted_signers_count` 0): objects are
    /// delivered whether signed or not. Otherwise `trusted_signers_count`
    /// Ed25519 public keys of `MCAST_SIGNATURE_KEY_LEN` (32) bytes each, one
    /// after the other (from `mcast_signing_key_generate`,
    /// `mcast_signing_key_public` or `mcast_public_key_from_file`), copied
    /// during `mcast_receiver_new`. Only DATA and FILE objects signed by one
    /// of these keys are delivered, each naming its signer
    /// (`mcast_msg_signer`); content is checked against the signature before
    /// delivery. Unsigned objects, objects signed by another key, bad
    /// signatures, content that differs from what was signed, and unsigned
    /// streams (from senders in other languages) are reported as aborted
    /// (`MCAST_ERR_ABORTED`), and their sender once per reason with
    /// `MCAST_ERR_REJECTED` (e.g. "... signed by a key this receiver does
    /// not trust"); they are counted in `mcast_receiver_stats`
    /// (`objects_unverified`, `signatures_refused`). A key that is not a
    /// valid Ed25519 public key is refused with `MCAST_ERR_INVALID_ARGUMENT`
    /// (the message names its index).
    pub trusted_signers: *const u8,
    /// How many keys `trusted_signers` holds (0 to
    /// `MCAST_TRUSTED_SIGNERS_MAX`); must be 0 when it is NULL and not 0
    /// when it is not.
    pub trusted_signers_count: usize,
}

/// The largest `backoff_factor`: NORM messages carry it in 4 bits (RFC
/// 5740), and the core refuses more.
const MAX_BACKOFF_FACTOR: u8 = 15;

/// A config struct as defined here: `size` first, integers only.
pub(crate) trait Versioned: Copy {
    const NAME: &'static str;
    fn defaults() -> Self;
    fn set_size(&mut self, size: usize);
}

impl Versioned for mcast_config {
    const NAME: &'static str = "mcast_config";
    fn defaults() -> Self {
        let d = SocketConfig::default();
        mcast_config {
            size: size_of::<Self>(),
            hop_limit: d.hop_limit,
            loopback: d.loopback as c_int,
            recv_buffer: d.recv_buffer as u64,
            send_buffer: d.send_buffer as u64,
        }
    }
    fn set_size(&mut self, size: usize) {
        self.size = size;
    }
}

impl Versioned for mcast_sender_config {
    const NAME: &'static str = "mcast_sender_config";
    fn defaults() -> Self {
        let d = SenderConfig::default();
        mcast_sender_config {
            size: size_of::<Self>(),
            segment_size: d.segment_size,
            block_size: d.block_size,
            parity: d.parity,
            auto_parity: d.auto_parity,
            rate_bps: d.rate_bps,
            cache_max_objects: d.cache_max_objects as u64,
            cache_max_bytes: d.cache_max_bytes,
            grtt_initial_us: d.grtt_initial.as_micros() as u64,
            grtt_max_us: d.grtt_max.as_micros() as u64,
            backoff_factor: d.backoff_factor as u32,
            group_size: d.group_size,
            robust_factor: d.robust_factor,
            reserved0: 0,
            rate_min_bps: d.rate_min_bps,
            congestion_control: d.congestion_control as c_int,
            reserved1: 0,
            flow_control: mcast_flow_control::MCAST_FLOW_LEAVE_BEHIND as u32,
            wait_for_acks_count: 0,
            wait_for_acks_nodes: [0; MCAST_WAIT_FOR_ACKS_MAX],
            key: std::ptr::null(),
            seal_max_age_ms: max_age_ms(d.seal_max_age),
            reserved2: 0,
            signing_key: std::ptr::null(),
            node_id: 0,
            reserved3: 0,
        }
    }
    fn set_size(&mut self, size: usize) {
        self.size = size;
    }
}

impl Versioned for mcast_receiver_config {
    const NAME: &'static str = "mcast_receiver_config";
    fn defaults() -> Self {
        let d = ReceiverConfig::default();
        mcast_receiver_config {
            size: size_of::<Self>(),
            sync_policy: match d.sync_policy {
                SyncPolicy::Current => mcast_sync_policy::MCAST_SYNC_CURRENT as u32,
                _ => mcast_sync_policy::MCAST_SYNC_ALL as u32,
            },
            sync_window: d.sync_window as u32,
            max_object_size: d.max_object_size,
            max_buffer_per_sender: d.max_buffer_per_sender,
            max_buffer_total: d.max_buffer_total,
            max_senders: d.max_senders as u64,
            inactivity_timeout_ms: d.inactivity_timeout.as_millis() as u64,
            unicast_nacks: d.unicast_nacks as c_int,
            silent: d.silent as c_int,
            node_id: 0,
            reserved1: 0,
            file_dir: std::ptr::null(),
            key: std::ptr::null(),
            seal_max_age_ms: max_age_ms(d.seal_max_age),
            reserved2: 0,
            trusted_signers: std::ptr::null(),
            trusted_signers_count: 0,
        }
    }
    fn set_size(&mut self, size: usize) {
        self.size = size;
    }
}

/// Reads a caller's config: NULL gives the defaults; otherwise `cfg->size`
/// bytes are taken over the defaults.
pub(crate) unsafe fn read_config<T: Versioned>(cfg: *const T) -> Result<T, Error> {
    let mut out = T::defaults();
    if cfg.is_null() {
        return Ok(out);
    }
    let ours = size_of::<T>();
    // SAFETY: `size` is the first field (a usize at offset 0) of every
    // config struct; the caller passes a valid struct.
    let size = unsafe { cfg.cast::<usize>().read_unaligned() };
    if size < size_of::<usize>() {
        return Err(invalid(format!(
            "{}.size is {size}: initialise the struct with {}_init() before setting fields",
            T::NAME,
            T::NAME
        )));
    }
    // Every version of the struct (an older, a newer header) is a multiple
    // of its alignment long; another size would mix the caller's bytes and
    // the defaults within one field.
    if size > 1 << 16 || size % align_of::<T>() != 0 {
        return Err(invalid(format!("{}.size is {size}, not a struct size (was it initialised?)", T::NAME)));
    }
    let bytes = cfg.cast::<u8>();
    if size > ours {
        // SAFETY: the caller's struct is `size` bytes long.
        let tail = unsafe { std::slice::from_raw_parts(bytes.add(ours), size - ours) };
        if tail.iter().any(|&b| b != 0) {
            return Err(invalid(format!(
                "{} has fields this libmcast ({}) does not know (the program was built with a newer mcast.h): set them to 0 or use a newer library",
                T::NAME,
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    // SAFETY: copies min(size, ours) bytes of the caller's struct over ours;
    // every field is an integer, so any bytes are valid values.
    unsafe { std::ptr::copy_nonoverlapping(bytes, (&mut out as *mut T).cast::<u8>(), size.min(ours)) };
    out.set_size(ours);
    Ok(out)
}

/// Writes the defaults into a caller's struct of `size` bytes.
unsafe fn init_sized<T: Versioned>(cfg: *mut T, size: usize) -> Result<(), Error> {
    if cfg.is_null() {
        return Err(invalid(format!("{} pointer is NULL", T::NAME)));
    }
    if !(size_of::<usize>()..=1 << 16).contains(&size) || size % align_of::<T>() != 0 {
        return Err(invalid(format!("size {size} is not the size of a {}", T::NAME)));
    }
    let mut d = T::defaults();
    d.set_size(size);
    let bytes = cfg.cast::<u8>();
    // SAFETY: the caller's struct is `size` bytes long and writable; fields
    // beyond ours (a newer header) are zeroed, which means "default".
    unsafe {
        std::ptr::write_bytes(bytes, 0, size);
        std::ptr::copy_nonoverlapping((&d as *const T).cast::<u8>(), bytes, size.min(size_of::<T>()));
    }
    Ok(())
}

fn to_usize(v: u64, what: &str) -> Result<usize, Error> {
    usize::try_from(v).map_err(|_| invalid(format!("{what} {v} is too large")))
}

fn flag(v: c_int) -> bool {
    v != 0
}

/// A core `seal_max_age` as `seal_max_age_ms` (0: no limit).
fn max_age_ms(d: Option<Duration>) -> u32 {
    d.map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX).max(1))
}

/// `seal_max_age_ms` as a core `seal_max_age`.
fn max_age(ms: u32) -> Option<Duration> {
    (ms != 0).then(|| Duration::from_millis(u64::from(ms)))
}

/// The key a config's `key` points to (NULL: none).
///
/// # Safety
/// `key` is NULL or points at `MCAST_KEY_LEN` readable bytes.
pub(crate) unsafe fn key_arg(key: *const u8) -> Result<Option<Key>, Error> {
    if key.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's contract above.
    let bytes = unsafe { std::slice::from_raw_parts(key, MCAST_KEY_LEN) };
    Key::from_slice(bytes).map(Some).map_err(|e| invalid(format!("key: {e}")))
}

/// Overwrites `bytes` with zeroes in a way the compiler keeps (copies of
/// secret seeds).
pub(crate) fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, writable byte.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// The signing key a config's `signing_key` points to (NULL: none).
///
/// # Safety
/// `seed` is NULL or points at `MCAST_SIGNATURE_KEY_LEN` readable bytes.
pub(crate) unsafe fn signing_key_arg(seed: *const u8) -> Option<SigningKey> {
    if seed.is_null() {
        return None;
    }
    let mut bytes = [0u8; MCAST_SIGNATURE_KEY_LEN];
    // SAFETY: the caller's contract above.
    unsafe { std::ptr::copy_nonoverlapping(seed, bytes.as_mut_ptr(), MCAST_SIGNATURE_KEY_LEN) };
    let key = SigningKey::from_bytes(bytes);
    wipe(&mut bytes);
    Some(key)
}

/// The public keys of `trusted_signers` / `trusted_signers_count`.
///
/// # Safety
/// `keys` is NULL or points at `count` x `MCAST_SIGNATURE_KEY_LEN` readable
/// bytes.
pub(crate) unsafe fn trusted_signers_arg(keys: *const u8, count: usize) -> Result<Vec<PublicKey>, Error> {
    match (keys.is_null(), count) {
        (true, 0) => return Ok(Vec::new()),
        (true, n) => return Err(invalid(format!("trusted_signers is NULL but trusted_signers_count is {n}"))),
        (false, 0) => {
            return Err(invalid(
                "trusted_signers is not NULL but trusted_signers_count is 0 (NULL and 0 accept unsigned objects)",
            ))
        }
        (false, n) if n > MCAST_TRUSTED_SIGNERS_MAX => {
            return Err(invalid(format!("trusted_signers_count {n} is over {MCAST_TRUSTED_SIGNERS_MAX}")))
        }
        _ => {}
    }
    // SAFETY: the caller's contract above (count is at most 65536, so the
    // length cannot overflow).
    let bytes = unsafe { std::slice::from_raw_parts(keys, count * MCAST_SIGNATURE_KEY_LEN) };
    bytes
        .chunks_exact(MCAST_SIGNATURE_KEY_LEN)
        .enumerate()
        .map(|(i, k)| PublicKey::from_slice(k).map_err(|e| invalid(format!("trusted_signers[{i}] (key {} of {count}): {e}", i + 1))))
        .collect()
}

impl mcast_config {
    pub(crate) fn to_core(self) -> Result<ContextConfig, Error> {
        // The kernel refuses more (EINVAL when a socket is opened) and would
        // read u32::MAX as -1 (its default).
        if self.hop_limit > 255 {
            return Err(invalid(format!("hop_limit {} is over 255", self.hop_limit)));
        }
        Ok(ContextConfig {
            socket: SocketConfig {
                hop_limit: self.hop_limit,
                loopback: flag(self.loopback),
                recv_buffer: to_usize(self.recv_buffer, "recv_buffer")?,
                send_buffer: to_usize(self.send_buffer, "send_buffer")?,
            },
        })
    }
}

impl mcast_sender_config {
    /// # Safety
    /// `key` and `signing_key` are NULL or point at `MCAST_KEY_LEN` bytes
    /// (the header says so).
    pub(crate) unsafe fn to_core(self) -> Result<SenderConfig, Error> {
        if self.reserved0 != 0 || self.reserved1 != 0 || self.reserved2 != 0 || self.reserved3 != 0 {
            return Err(invalid("mcast_sender_config.reserved0, reserved1, reserved2 and reserved3 must be 0"));
        }
        let node_id = match self.node_id {
            0 => None,
            u32::MAX => return Err(invalid("node_id 0xffffffff is reserved (NORM_NODE_ANY)")),
            n => Some(n),
        };
        let count = self.wait_for_acks_count as usize;
        let flow_control = match self.flow_control {
            0 if count == 0 => FlowControl::LeaveBehind,
            0 => return Err(invalid("mcast_sender_config.wait_for_acks_count is set but flow_control is not MCAST_FLOW_WAIT_FOR_ACKS")),
            1 if (1..=MCAST_WAIT_FOR_ACKS_MAX).contains(&count) => {
                FlowControl::WaitForAcks(self.wait_for_acks_nodes[..count].to_vec())
            }
            1 => {
                return Err(invalid(format!(
                    "wait_for_acks_count {count} is not 1 to {MCAST_WAIT_FOR_ACKS_MAX} (MCAST_FLOW_WAIT_FOR_ACKS needs receivers to wait for)"
                )))
            }
            v => return Err(invalid(format!("flow_control {v} is not an mcast_flow_control value"))),
        };
        Ok(SenderConfig {
            segment_size: self.segment_size,
            block_size: self.block_size,
            parity: self.parity,
            auto_parity: self.auto_parity,
            rate_bps: self.rate_bps,
            cache_max_objects: to_usize(self.cache_max_objects, "cache_max_objects")?,
            cache_max_bytes: self.cache_max_bytes,
            grtt_initial: Duration::from_micros(self.grtt_initial_us),
            grtt_max: Duration::from_micros(self.grtt_max_us),
            backoff_factor: match u8::try_from(self.backoff_factor) {
                Ok(b) if b <= MAX_BACKOFF_FACTOR => b,
                _ => return Err(invalid(format!("backoff_factor {} is over {MAX_BACKOFF_FACTOR}", self.backoff_factor))),
            },
            group_size: self.group_size,
            robust_factor: self.robust_factor,
            congestion_control: flag(self.congestion_control),
            rate_min_bps: self.rate_min_bps,
            flow_control,
            // Streams are not in the C API yet.
            stream_buffer_blocks: SenderConfig::default().stream_buffer_blocks,
            // SAFETY: the caller's contract above.
            key: unsafe { key_arg(self.key) }?,
            seal_max_age: max_age(self.seal_max_age_ms),
            node_id,
            // SAFETY: the caller's contract above.
            signing_key: unsafe { signing_key_arg(self.signing_key) },
        })
    }
}

impl mcast_receiver_config {
    /// # Safety
    /// `file_dir` is NULL or a NUL-terminated string, `key` NULL or
    /// `MCAST_KEY_LEN` bytes, `trusted_signers` NULL or
    /// `trusted_signers_count` x `MCAST_SIGNATURE_KEY_LEN` bytes (the header
    /// says so).
    pub(crate) unsafe fn to_core(self) -> Result<ReceiverConfig, Error> {
        let file_dir = if self.file_dir.is_null() {
            None
        } else {
            // SAFETY: the caller's contract above.
            let bytes = unsafe { std::ffi::CStr::from_ptr(self.file_dir) }.to_bytes();
            if bytes.is_empty() {
                return Err(invalid("file_dir is empty (NULL keeps files in memory)"));
            }
            Some(std::path::PathBuf::from(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes)))
        };
        let sync_policy = match self.sync_policy {
            0 => SyncPolicy::Current,
            1 => SyncPolicy::All,
            v => return Err(invalid(format!("sync_policy {v} is not an mcast_sync_policy value"))),
        };
        if self.reserved1 != 0 || self.reserved2 != 0 {
            return Err(invalid("mcast_receiver_config.reserved1 and reserved2 must be 0"));
        }
        Ok(ReceiverConfig {
            sync_policy,
            sync_window: u16::try_from(self.sync_window)
                .map_err(|_| invalid(format!("sync_window {} is over 65535", self.sync_window)))?,
            max_object_size: self.max_object_size,
            max_buffer_per_sender: self.max_buffer_per_sender,
            max_buffer_total: self.max_buffer_total,
            max_senders: to_usize(self.max_senders, "max_senders")?,
            inactivity_timeout: Duration::from_millis(self.inactivity_timeout_ms),
            unicast_nacks: flag(self.unicast_nacks),
            silent: flag(self.silent),
            max_pending_objects: ReceiverConfig::default().max_pending_objects,
            node_id: match self.node_id {
                0 => None,
                u32::MAX => return Err(invalid("node_id 0xffffffff is reserved (NORM_NODE_ANY)")),
                n => Some(n),
            },
            file_dir,
            // SAFETY: the caller's contract above.
            key: unsafe { key_arg(self.key) }?,
            seal_max_age: max_age(self.seal_max_age_ms),
            // SAFETY: the caller's contract above.
            trusted_signers: unsafe { trusted_signers_arg(self.trusted_signers, self.trusted_signers_count) }?,
        })
    }
}

/// Fills `*cfg` (of `size` bytes) with this library's defaults and sets
/// `cfg->size = size`. Call it through the `mcast_config_init(cfg)` inline
/// function, which passes `sizeof *cfg`.
///
/// Ownership: writes only into `*cfg`. Thread safety: safe from any thread.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` if `cfg` is NULL or `size` is
/// implausible.
#[no_mangle]
pub unsafe extern "C" fn mcast_config_init_sized(cfg: *mut mcast_config, size: usize) -> mcast_status {
    guard("mcast_config_init", || unsafe { init_sized(cfg, size) })
}

/// Fills `*cfg` (of `size` bytes) with this library's sender defaults and
/// sets `cfg->size = size`. Call it through the
/// `mcast_sender_config_init(cfg)` inline function, which passes
/// `sizeof *cfg`.
///
/// Ownership: writes only into `*cfg`. Thread safety: safe from any thread.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` if `cfg` is NULL or `size` is
/// implausible.
#[no_mangle]
pub unsafe extern "C" fn mcast_sender_config_init_sized(cfg: *mut mcast_sender_config, size: usize) -> mcast_status {
    guard("mcast_sender_config_init", || unsafe { init_sized(cfg, size) })
}

/// Fills `*cfg` (of `size` bytes) with this library's receiver defaults and
/// sets `cfg->size = size`. Call it through the
/// `mcast_receiver_config_init(cfg)` inline function, which passes
/// `sizeof *cfg`.
///
/// Ownership: writes only into `*cfg`. Thread safety: safe from any thread.
/// Blocking: no.
/// Errors: `MCAST_ERR_INVALID_ARGUMENT` if `cfg` is NULL or `size` is
/// implausible.
#[no_mangle]
pub unsafe extern "C" fn mcast_receiver_config_init_sized(cfg: *mut mcast_receiver_config, size: usize) -> mcast_status {
    guard("mcast_receiver_config_init", || unsafe { init_sized(cfg, size) })
}

/// Copies up to `size` bytes of `value` (a stats struct) into `out`.
pub(crate) unsafe fn write_sized<T: Copy>(out: *mut T, size: usize, value: T, what: &str) -> Result<(), Error> {
    if out.is_null() {
        return Err(invalid(format!("{what} pointer is NULL")));
    }
    if size > 1 << 16 {
        return Err(invalid(format!("size {size} is not the size of a {what}")));
    }
    let bytes = out.cast::<u8>();
    // SAFETY: the caller's struct is `size` bytes long and writable; fields
    // this library does not know (a newer header) read as 0.
    unsafe {
        std::ptr::write_bytes(bytes, 0, size);
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), bytes, size.min(size_of::<T>()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::mcast_status::*;
    use std::mem::MaybeUninit;

    #[test]
    fn no_padding() {
        // Field sizes add up to the struct size: no implicit padding.
        assert_eq!(size_of::<mcast_config>(), 8 + 4 + 4 + 8 + 8);
        assert_eq!(size_of::<mcast_sender_config>(), 8 + 4 * 2 + 5 * 8 + 4 * 4 + 8 + 4 + 4 + 4 + 4 + 4 * 16 + 8 + 4 + 4 + 8 + 4 + 4);
        assert_eq!(size_of::<mcast_receiver_config>(), 8 + 4 + 4 + 5 * 8 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4 + 8 + 8);
        assert_eq!(size_of::<crate::mcast_sender_stats>() % 8, 0);
        assert_eq!(size_of::<crate::mcast_receiver_stats>() % 8, 0);
    }

    #[test]
    fn defaults_round_trip() {
        let mut c = MaybeUninit::<mcast_sender_config>::uninit();
        assert_eq!(unsafe { mcast_sender_config_init_sized(c.as_mut_ptr(), size_of::<mcast_sender_config>()) }, MCAST_OK);
        let c = unsafe { c.assume_init() };
        assert_eq!(c.size, size_of::<mcast_sender_config>());
        let core = unsafe { read_config(&c).unwrap().to_core() }.unwrap();
        let d = SenderConfig::default();
        assert_eq!((core.segment_size, core.rate_bps, core.grtt_initial, core.robust_factor), (d.segment_size, d.rate_bps, d.grtt_initial, d.robust_factor));
        assert_eq!((c.key, c.seal_max_age_ms), (std::ptr::null(), MCAST_SEAL_MAX_AGE_DEFAULT_MS));
        assert_eq!((core.key, core.seal_max_age), (None, d.seal_max_age));
        assert_eq!(Some(Duration::from_millis(MCAST_SEAL_MAX_AGE_DEFAULT_MS.into())), mcast_core::seal::DEFAULT_MAX_AGE.into());
        assert_eq!(MCAST_KEY_LEN, mcast_core::seal::KEY_LEN);

        let mut r = MaybeUninit::<mcast_receiver_config>::uninit();
        assert_eq!(unsafe { mcast_receiver_config_init_sized(r.as_mut_ptr(), size_of::<mcast_receiver_config>()) }, MCAST_OK);
        let r = unsafe { read_config(r.as_ptr()).unwrap().to_core() }.unwrap();
        assert_eq!(r.sync_policy, SyncPolicy::All);
        assert_eq!(r.inactivity_timeout, ReceiverConfig::default().inactivity_timeout);
        assert_eq!((r.key, r.seal_max_age), (None, ReceiverConfig::default().seal_max_age));

        let c = unsafe { read_config::<mcast_config>(std::ptr::null()) }.unwrap().to_core().unwrap();
        assert_eq!(c, ContextConfig::default());
    }

    #[test]
    fn keys_and_max_ages() {
        let bytes: [u8; MCAST_KEY_LEN] = std::array::from_fn(|i| i as u8);
        let mut s = mcast_sender_config::defaults();
        s.key = bytes.as_ptr();
        s.seal_max_age_ms = 0;
        let core = unsafe { s.to_core() }.unwrap();
        assert_eq!(core.key, Some(Key::from_bytes(bytes)));
        assert_eq!(core.seal_max_age, None, "0: no age limit");
        let mut r = mcast_receiver_config::defaults();
        r.key = bytes.as_ptr();
        r.seal_max_age_ms = 1500;
        let core = unsafe { r.to_core() }.unwrap();
        assert_eq!((core.key, core.seal_max_age), (Some(Key::from_bytes(bytes)), Some(Duration::from_millis(1500))));
        // A caller built before keys existed gets no key and the default age.
        let mut old = mcast_receiver_config::defaults();
        old.size = std::mem::offset_of!(mcast_receiver_config, key);
        old.key = bytes.as_ptr(); // beyond the old size: ignored
        old.seal_max_age_ms = 7;
        let got = unsafe { read_config(&old) }.unwrap();
        assert_eq!((got.key, got.seal_max_age_ms), (std::ptr::null(), MCAST_SEAL_MAX_AGE_DEFAULT_MS));
        assert_eq!(max_age_ms(Some(Duration::from_micros(10))), 1, "a tiny limit is not 0 (no limit)");
    }

    /// 32 bytes that are no Ed25519 public key (no point of the curve has
    /// this y; 32 bytes of 0xff, a non-canonical y = 18, are one).
    const NOT_A_POINT: [u8; MCAST_SIGNATURE_KEY_LEN] = [0x02; MCAST_SIGNATURE_KEY_LEN];

    #[test]
    fn signing_keys_and_node_ids() {
        let d = mcast_sender_config::defaults();
        assert_eq!((d.signing_key, d.node_id, d.reserved3), (std::ptr::null(), 0, 0));
        let core = unsafe { d.to_core() }.unwrap();
        assert!(core.signing_key.is_none());
        assert_eq!(core.node_id, None, "0: a random node id");
        assert_eq!(MCAST_SIGNATURE_KEY_LEN, mcast_core::sign::SECRET_KEY_LEN);
        assert_eq!(MCAST_SIGNATURE_KEY_LEN, mcast_core::sign::PUBLIC_KEY_LEN);

        let key = SigningKey::generate();
        let seed = key.to_bytes();
        let mut s = mcast_sender_config::defaults();
        s.signing_key = seed.as_ptr();
        s.node_id = 0x1234;
        let core = unsafe { s.to_core() }.unwrap();
        assert_eq!(core.signing_key.as_ref().map(|k| k.to_bytes()), Some(seed));
        assert_eq!(core.signing_key.unwrap().public_key(), key.public_key());
        assert_eq!(core.node_id, Some(0x1234));
        s.node_id = u32::MAX;
        let e = unsafe { s.to_core() }.unwrap_err();
        assert!(matches!(&e, Error::InvalidArgument(m) if m.contains("0xffffffff")), "{e}");
        s.node_id = 7;
        s.reserved3 = 1;
        assert!(unsafe { s.to_core() }.is_err(), "reserved3 must be 0");

        // A caller built before signing keys existed: neither field is read.
        let mut old = mcast_sender_config::defaults();
        old.size = std::mem::offset_of!(mcast_sender_config, signing_key);
        old.signing_key = seed.as_ptr();
        old.node_id = 99;
        old.reserved3 = 5;
        let got = unsafe { read_config(&old) }.unwrap();
        assert_eq!((got.signing_key, got.node_id, got.reserved3), (std::ptr::null(), 0, 0));
        assert!(unsafe { got.to_core() }.unwrap().signing_key.is_none());
    }

    #[test]
    fn trusted_signers() {
        let r = mcast_receiver_config::defaults();
        assert_eq!((r.trusted_signers, r.trusted_signers_count), (std::ptr::null(), 0));
        assert!(unsafe { r.to_core() }.unwrap().trusted_signers.is_empty());

        let (a, b) = (SigningKey::generate().public_key(), SigningKey::generate().public_key());
        let mut keys = [0u8; 2 * MCAST_SIGNATURE_KEY_LEN];
        keys[..32].copy_from_slice(a.as_bytes());
        keys[32..].copy_from_slice(b.as_bytes());
        let mut r = mcast_receiver_config::defaults();
        r.trusted_signers = keys.as_ptr();
        r.trusted_signers_count = 2;
        assert_eq!(unsafe { r.to_core() }.unwrap().trusted_signers, vec![a, b]);
        r.trusted_signers_count = 1;
        assert_eq!(unsafe { r.to_core() }.unwrap().trusted_signers, vec![a]);

        let msg = |r: &mcast_receiver_config| match unsafe { r.to_core() } {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("not refused: {other:?}"),
        };
        r.trusted_signers_count = 0;
        assert!(msg(&r).contains("trusted_signers_count is 0"), "{}", msg(&r));
        r.trusted_signers = std::ptr::null();
        r.trusted_signers_count = 3;
        assert!(msg(&r).contains("trusted_signers is NULL"), "{}", msg(&r));
        r.trusted_signers = keys.as_ptr();
        r.trusted_signers_count = MCAST_TRUSTED_SIGNERS_MAX + 1;
        assert!(msg(&r).contains("over 65536"), "{}", msg(&r));

        // The second key is not a point of the curve: the message says which.
        assert!(PublicKey::from_bytes(&NOT_A_POINT).is_err(), "NOT_A_POINT must be refused by the core");
        keys[32..].copy_from_slice(&NOT_A_POINT);
        r.trusted_signers_count = 2;
        let m = msg(&r);
        assert!(m.contains("trusted_signers[1]") && m.contains("not a valid Ed25519 public key"), "{m}");

        // A caller built before trusted signers existed: not read.
        let mut old = mcast_receiver_config::defaults();
        old.size = std::mem::offset_of!(mcast_receiver_config, trusted_signers);
        old.trusted_signers = keys.as_ptr();
        old.trusted_signers_count = 2;
        let got = unsafe { read_config(&old) }.unwrap();
        assert_eq!((got.trusted_signers, got.trusted_signers_count), (std::ptr::null(), 0));
        assert!(unsafe { got.to_core() }.unwrap().trusted_signers.is_empty());
    }

    #[test]
    fn older_and_newer_callers() {
        // An "older" caller knows only size + hop_limit + loopback.
        let mut c = mcast_config::defaults();
        c.size = 16;
        c.hop_limit = 7;
        c.recv_buffer = 12345; // beyond the old size: ignored
        let got = unsafe { read_config(&c) }.unwrap();
        assert_eq!(got.hop_limit, 7);
        assert_eq!(got.recv_buffer, mcast_config::defaults().recv_buffer);

        // A "newer" caller with a zero tail is fine; a non-zero tail is not.
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Newer {
            base: mcast_config,
            extra: u64,
        }
        let mut n = Newer { base: mcast_config::defaults(), extra: 0 };
        n.base.size = size_of::<Newer>();
        n.base.hop_limit = 3;
        assert_eq!(unsafe { read_config(&n.base as *const mcast_config) }.unwrap().hop_limit, 3);
        n.extra = 1;
        assert!(unsafe { read_config(&n.base as *const mcast_config) }.is_err());

        // init_sized for a newer caller zeroes the unknown tail.
        let mut n2 = Newer { base: mcast_config::defaults(), extra: 99 };
        assert_eq!(unsafe { mcast_config_init_sized(&mut n2.base, size_of::<Newer>()) }, MCAST_OK);
        assert_eq!((n2.extra, n2.base.size), (0, size_of::<Newer>()));
    }

    #[test]
    fn bad_configs_are_refused() {
        let zeroed: mcast_receiver_config = unsafe { std::mem::zeroed() };
        assert!(unsafe { read_config(&zeroed) }.is_err(), "size 0: not initialised");
        let mut r = mcast_receiver_config::defaults();
        r.sync_policy = 2;
        assert!(unsafe { r.to_core() }.is_err());
        r.sync_policy = 0;
        r.sync_window = 70000;
        assert!(unsafe { r.to_core() }.is_err());
        r.sync_window = 256;
        r.reserved2 = 1;
        assert!(unsafe { r.to_core() }.is_err());
        let mut s = mcast_sender_config::defaults();
        s.backoff_factor = 256;
        assert!(unsafe { s.to_core() }.is_err());
        s.backoff_factor = 16;
        assert!(matches!(unsafe { s.to_core() }, Err(Error::InvalidArgument(m)) if m == "backoff_factor 16 is over 15"));
        s.backoff_factor = 15;
        assert!(unsafe { s.to_core() }.is_ok());
        s.backoff_factor = 4;
        s.reserved0 = 1;
        assert!(unsafe { s.to_core() }.is_err());
        s.reserved0 = 0;
        s.reserved2 = 1;
        assert!(unsafe { s.to_core() }.is_err());
        assert_eq!(unsafe { mcast_config_init_sized(std::ptr::null_mut(), 32) }, MCAST_ERR_INVALID_ARGUMENT);
        let mut c = mcast_config::defaults();
        c.hop_limit = 255;
        assert!(c.to_core().is_ok());
        for h in [256, u32::MAX] {
            c.hop_limit = h;
            assert!(matches!(c.to_core(), Err(Error::InvalidArgument(m)) if m == format!("hop_limit {h} is over 255")));
        }
    }

    #[test]
    fn sizes_that_split_a_field_are_refused() {
        // Struct sizes are multiples of the alignment: no version of one is
        // 9 bytes long, and that size would take one byte of segment_size
        // from the caller and one from the defaults.
        for size in [9usize, 15, size_of::<mcast_sender_config>() + 1] {
            let mut c = mcast_sender_config::defaults();
            c.size = size;
            let e = unsafe { read_config(&c) }.unwrap_err();
            assert!(e.to_string().contains(&format!("mcast_sender_config.size is {size}, not a struct size")), "{e}");
            let mut buf = [0xabu8; 512];
            let st = unsafe { mcast_sender_config_init_sized(buf.as_mut_ptr().cast(), size) };
            assert_eq!(st, MCAST_ERR_INVALID_ARGUMENT);
            assert!(buf.iter().all(|&b| b == 0xab), "nothing written");
        }
        // Multiples of the alignment are older or newer structs.
        let mut c = mcast_sender_config::defaults();
        c.size = 16;
        assert!(unsafe { read_config(&c) }.is_ok());
    }
}
