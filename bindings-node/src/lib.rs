//! The native part of the Node module `mcast`: a thin napi-rs layer over
//! mcast's Rust API (no protocol logic here). `index.js` wraps these classes
//! into the documented JavaScript API (options objects, EventEmitter, async
//! iteration, error codes).
//!
//! Nothing here blocks the JavaScript thread: every call that can wait runs on
//! the handle's own worker thread (one per sender or receiver, so a sender's
//! objects keep their order) and settles a promise from there. Errors carry
//! their code at the start of the message ("MCAST_TIMEOUT: timed out");
//! index.js moves it to `error.code`.
//!
//! No panic reaches Node: every exported function catches unwinding
//! (`catch_unwind`: the panic becomes an error without a code, which
//! index.js reports as MCAST_INTERNAL), and so does every job of a worker
//! thread (its promise rejects with MCAST_INTERNAL and the worker goes on). Numbers from JavaScript arrive as
//! f64 and are checked here (whole, in range), never wrapped or rounded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mcast_core as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// Longest single wait of a worker, so that close() is noticed promptly.
const SLICE: Duration = Duration::from_millis(100);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn code_of(e: &core::Error) -> &'static str {
    match e {
        core::Error::Timeout => "MCAST_TIMEOUT",
        core::Error::Closed => "MCAST_CLOSED",
        core::Error::InvalidArgument(_) => "MCAST_INVALID_ARGUMENT",
        core::Error::NoSuchInterface { .. } => "MCAST_NO_SUCH_INTERFACE",
        core::Error::WouldBlock(_) => "MCAST_WOULD_BLOCK",
        core::Error::CacheFull(_) => "MCAST_CACHE_FULL",
        core::Error::Aborted { .. } => "MCAST_ABORTED",
        core::Error::Rejected { .. } => "MCAST_REJECTED",
        core::Error::Io { .. } => "MCAST_IO",
        _ => "MCAST_INTERNAL",
    }
}

fn js_err(e: core::Error) -> Error {
    let mut reason = format!("{}: {e}", code_of(&e));
    if let core::Error::Io { source, .. } = &e {
        if let Some(errno) = source.raw_os_error() {
            reason = format!("{reason} [errno {errno}]");
        }
    }
    Error::new(Status::GenericFailure, reason)
}

fn invalid(msg: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("MCAST_INVALID_ARGUMENT: {msg}"))
}

/// Longest wait or age taken from JavaScript, in milliseconds (about 31.7
/// years): longer ones are cut to it, so that no deadline overflows an
/// `Instant` (which panics).
const MAX_MS: f64 = 1e12;

/// A timeout in milliseconds (finite, >= 0) as a Duration, at most MAX_MS.
fn timeout_of(t: f64) -> Result<Duration> {
    if t.is_finite() && t >= 0.0 {
        Ok(Duration::from_secs_f64(t.min(MAX_MS) / 1000.0))
    } else {
        Err(invalid(format!("timeout must be a number of milliseconds >= 0, not {t}")))
    }
}

/// A timeout in milliseconds (undefined or null: none) as a deadline.
fn deadline_of(timeout_ms: Option<f64>) -> Result<Option<Instant>> {
    match timeout_ms {
        None => Ok(None),
        Some(t) => Ok(Some(Instant::now() + timeout_of(t)?)),
    }
}

/// What a caught panic said, as an MCAST_INTERNAL error.
fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into());
    js_err(core::Error::Internal(format!("a panic in mcast: {what}")))
}

type Job = Box<dyn FnOnce() + Send>;

/// A thread that runs one handle's waiting calls, in order.
struct Worker {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Worker {
    fn new(name: &str) -> Result<Worker> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .map_err(|source| js_err(core::Error::Io { context: "cannot start a worker thread".into(), source }))?;
        Ok(Worker { tx: Mutex::new(Some(tx)) })
    }

    fn run(&self, job: Job) -> Result<()> {
        match &*lock(&self.tx) {
            Some(tx) => tx.send(job).map_err(|_| js_err(core::Error::Closed)),
            None => Err(js_err(core::Error::Closed)),
        }
    }

    /// Lets the thread end once the jobs queued so far are done.
    fn stop(&self) {
        lock(&self.tx).take();
    }
}

/// Runs `work` on `worker` and returns a promise of its result.
fn promise<'env, T, R>(env: &'env Env, worker: &Worker, work: impl FnOnce() -> core::Result<T> + Send + 'static, to_js: R) -> Result<Object<'env>>
where
    T: Send + 'static,
    R: FnOnce(T) -> Result<JsValueOf> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<JsValueOf, _>()?;
    // A panic in `work` would end the worker thread and leave the promise
    // pending for ever: it rejects the promise instead (MCAST_INTERNAL).
    worker.run(Box::new(move || match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(Ok(v)) => deferred.resolve(move |_| to_js(v)),
        Ok(Err(e)) => deferred.reject(js_err(e)),
        Err(payload) => deferred.reject(panic_error(payload)),
    }))?;
    Ok(promise)
}

/// What a promise resolves to.
enum JsValueOf {
    Undefined,
    BigInt(u64),
    Message(Box<Message>),
    Ack(AckReport),
}

#[napi(object)]
pub struct AckReport {
    pub acked: Vec<u32>,
    pub missing: Vec<u32>,
}

impl ToNapiValue for JsValueOf {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        match val {
            JsValueOf::Undefined => unsafe { <()>::to_napi_value(env, ()) },
            JsValueOf::BigInt(v) => unsafe { BigInt::to_napi_value(env, BigInt::from(v)) },
            JsValueOf::Message(m) => unsafe { Message::to_napi_value(env, *m) },
            JsValueOf::Ack(a) => unsafe { AckReport::to_napi_value(env, a) },
        }
    }
}

/// A received object (or piece of a stream), as handed to JavaScript.
#[napi(object)]
pub struct Message {
    pub data: Buffer,
    pub info: Buffer,
    /// "[address]:port" of the sender.
    pub sender: String,
    pub sender_node_id: u32,
    pub object_id: BigInt,
    /// "data", "file" or "stream".
    pub kind: String,
    pub message_end: bool,
    pub lost_before: f64,
    pub stream_end: bool,
    /// For a FILE object received with `fileDir`: the file holding it.
    pub path: Option<String>,
    /// At a receiver with `trustedSigners`: the 32-byte public key that
    /// signed the object; null otherwise.
    pub signer: Either<Buffer, Null>,
}

fn message(m: core::Message) -> Message {
    Message {
        data: m.data.into(),
        info: m.info.into(),
        sender: m.sender.to_string(),
        sender_node_id: m.sender_node_id,
        object_id: BigInt::from(m.object_id),
        kind: match m.kind {
            core::ObjectKind::Data => "data",
            core::ObjectKind::File => "file",
            core::ObjectKind::Stream => "stream",
        }
        .into(),
        message_end: m.message_end,
        lost_before: m.lost_before as f64,
        stream_end: m.stream_end,
        path: m.path.map(|p| p.to_string_lossy().into_owned()),
        signer: match m.signer {
            Some(k) => Either::A(k.as_bytes().to_vec().into()),
            None => Either::B(Null),
        },
    }
}

#[napi(object)]
pub struct ContextOptions {
    /// 0..=255.
    pub hop_limit: Option<f64>,
    pub loopback: Option<bool>,
    /// Bytes.
    pub recv_buffer: Option<f64>,
    /// Bytes.
    pub send_buffer: Option<f64>,
}

#[napi(object)]
pub struct SenderOptions {
    pub group: String,
    pub port: f64,
    /// Default: mcast's choice (see `mcast interfaces`).
    pub interface: Option<String>,
    // Whole numbers, as f64: a u32 field would take 2**32 + 100 as 100.
    pub segment_size: Option<f64>,
    pub block_size: Option<f64>,
    pub parity: Option<f64>,
    pub auto_parity: Option<f64>,
    pub rate_bps: Option<f64>,
    pub congestion_control: Option<bool>,
    pub rate_min_bps: Option<f64>,
    /// Flow control: node ids of receivers every object waits for.
    pub wait_for_acks: Option<Vec<f64>>,
    pub cache_max_objects: Option<f64>,
    pub cache_max_bytes: Option<f64>,
    /// Seconds.
    pub grtt_initial: Option<f64>,
    pub grtt_max: Option<f64>,
    pub backoff_factor: Option<f64>,
    pub group_size: Option<f64>,
    pub robust_factor: Option<f64>,
    pub stream_buffer_blocks: Option<f64>,
    /// A sealed channel's 32-byte key (index.js passes Uint8Arrays as Buffers).
    pub key: Option<Buffer>,
    /// Milliseconds; 0: no age limit. Default 120000.
    pub seal_max_age_ms: Option<f64>,
    /// The NORM node id to send as (default: random).
    pub node_id: Option<f64>,
    /// Signs every DATA and FILE object with this Ed25519 secret key (32
    /// bytes; index.js passes Uint8Arrays as Buffers).
    pub signing_key: Option<Buffer>,
}

#[napi(object)]
pub struct ReceiverOptions {
    pub group: String,
    pub port: f64,
    /// Default: mcast's choice (see `mcast interfaces`).
    pub interface: Option<String>,
    /// "all" or "current".
    pub sync_policy: Option<String>,
    pub sync_window: Option<f64>,
    pub max_object_size: Option<f64>,
    pub max_buffer_per_sender: Option<f64>,
    pub max_buffer_total: Option<f64>,
    pub max_senders: Option<f64>,
    /// Seconds.
    pub inactivity_timeout: Option<f64>,
    pub unicast_nacks: Option<bool>,
    pub silent: Option<bool>,
    /// Source-specific multicast: only these senders (IPv6 addresses).
    pub sources: Option<Vec<String>>,
    /// This receiver's NORM node id (for acknowledged flushes).
    pub node_id: Option<f64>,
    /// FILE objects go to files in this directory (message.path).
    pub file_dir: Option<String>,
    /// A sealed channel's 32-byte key (index.js passes Uint8Arrays as Buffers).
    pub key: Option<Buffer>,
    /// Milliseconds; 0: no age limit. Default 120000.
    pub seal_max_age_ms: Option<f64>,
    /// Deliver only objects signed by one of these Ed25519 public keys (32
    /// bytes each; index.js passes Uint8Arrays as Buffers).
    pub trusted_signers: Option<Vec<Buffer>>,
}

/// A whole number in 0..=max (JavaScript numbers are never wrapped or
/// rounded into range).
fn int_of(v: f64, name: &str, max: u64) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(invalid(format!("{name} must be a whole number in 0..={max}, not {v}")))
    }
}

fn u8_of(v: f64, name: &str) -> Result<u8> {
    Ok(int_of(v, name, u8::MAX.into())? as u8)
}

fn u16_of(v: f64, name: &str) -> Result<u16> {
    Ok(int_of(v, name, u16::MAX.into())? as u16)
}

fn u32_of(v: f64, name: &str) -> Result<u32> {
    Ok(int_of(v, name, u32::MAX.into())? as u32)
}

/// A whole number up to 2^53 (the largest a JavaScript number holds exactly).
fn u64_of(v: f64, name: &str) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 2f64.powi(53) {
        Ok(v as u64)
    } else {
        Err(invalid(format!("{name} must be a whole number >= 0, not {v}")))
    }
}

fn usize_of(v: f64, name: &str) -> Result<usize> {
    usize::try_from(u64_of(v, name)?).map_err(|_| invalid(format!("{name} {v} is too large for this platform")))
}

/// Seconds (finite, >= 0); more than MAX_MS is cut to it.
fn secs_of(v: f64, name: &str) -> Result<Duration> {
    if v.is_finite() && v >= 0.0 {
        Ok(Duration::from_secs_f64(v.min(MAX_MS / 1000.0)))
    } else {
        Err(invalid(format!("{name} must be a number of seconds >= 0, not {v}")))
    }
}

fn key_of(key: Option<&Buffer>) -> Result<Option<core::Key>> {
    match key {
        None => Ok(None),
        Some(k) => core::Key::from_slice(k)
            .map(Some)
            .map_err(|_| invalid(format!("key must be exactly {} bytes (generateKey() makes one), not {}", core::seal::KEY_LEN, k.len()))),
    }
}

/// A `nodeId` option: a whole number in 1..=0xfffffffe (0 and 0xffffffff
/// are reserved by NORM).
fn node_id_of(v: f64, name: &str) -> Result<u32> {
    if !(v.is_finite() && v.fract() == 0.0 && v >= 0.0 && v <= u32::MAX as f64) {
        return Err(invalid(format!("{name} must be a whole number in 1..4294967294, not {v}")));
    }
    let id = v as u32;
    if id == 0 || id == u32::MAX {
        return Err(invalid(format!("{name} {id} ({id:#x}) is reserved (0 and 0xffffffff are)")));
    }
    Ok(id)
}

/// Copies 32 bytes out of `b`, or says what `what` must be.
fn bytes_32(b: &[u8], what: &str) -> Result<[u8; 32]> {
    b.try_into().map_err(|_| invalid(format!("{what} must be exactly 32 bytes, not {}", b.len())))
}

/// Overwrites `bytes` (a copy of secret key material) with zeros.
fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

fn signing_key_of(key: &[u8], what: &str) -> Result<core::SigningKey> {
    let mut seed = bytes_32(key, what)?;
    let k = core::SigningKey::from_bytes(seed);
    wipe(&mut seed);
    Ok(k)
}

fn public_key_of(key: &[u8], what: &str) -> Result<core::PublicKey> {
    let bytes = bytes_32(key, what)?;
    core::PublicKey::from_bytes(&bytes).map_err(|_| invalid(format!("{what} is not a valid Ed25519 public key (not a point of the curve)")))
}

/// `sealMaxAgeMs` (0: no age limit) as the configs' `seal_max_age`.
fn max_age_of(ms: f64) -> Result<Option<Duration>> {
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(invalid(format!("sealMaxAgeMs must be a number of milliseconds >= 0 (0: no limit), not {ms}")));
    }
    Ok((ms > 0.0).then(|| Duration::from_secs_f64(ms.min(MAX_MS) / 1000.0)))
}

fn group(addr: &str, port: f64, interface: Option<&str>) -> Result<core::Group> {
    let interface = match interface {
        Some(i) => i.to_string(),
        None => core::net::default_interface().map_err(js_err)?,
    };
    core::Group::parse(addr, u16_of(port, "port")?, &interface).map_err(js_err)
}

fn sender_config(o: &SenderOptions) -> Result<core::SenderConfig> {
    let mut c = core::SenderConfig::default();
    if let Some(v) = o.segment_size {
        c.segment_size = u16_of(v, "segmentSize")?;
    }
    if let Some(v) = o.block_size {
        c.block_size = u16_of(v, "blockSize")?;
    }
    if let Some(v) = o.parity {
        c.parity = u16_of(v, "parity")?;
    }
    if let Some(v) = o.auto_parity {
        c.auto_parity = u16_of(v, "autoParity")?;
    }
    if let Some(v) = o.rate_bps {
        c.rate_bps = u64_of(v, "rateBps")?;
    }
    if let Some(v) = o.congestion_control {
        c.congestion_control = v;
    }
    if let Some(v) = o.rate_min_bps {
        c.rate_min_bps = u64_of(v, "rateMinBps")?;
    }
    if let Some(nodes) = &o.wait_for_acks {
        let nodes = nodes
            .iter()
            .map(|&n| u32::try_from(u64_of(n, "waitForAcks node id")?).map_err(|_| invalid(format!("waitForAcks node id {n} is over 2^32 - 1"))))
            .collect::<Result<Vec<u32>>>()?;
        c.flow_control = core::FlowControl::WaitForAcks(nodes);
    }
    if let Some(v) = o.cache_max_objects {
        c.cache_max_objects = usize_of(v, "cacheMaxObjects")?;
    }
    if let Some(v) = o.cache_max_bytes {
        c.cache_max_bytes = u64_of(v, "cacheMaxBytes")?;
    }
    if let Some(v) = o.grtt_initial {
        c.grtt_initial = secs_of(v, "grttInitial")?;
    }
    if let Some(v) = o.grtt_max {
        c.grtt_max = secs_of(v, "grttMax")?;
    }
    if let Some(v) = o.backoff_factor {
        c.backoff_factor = u8_of(v, "backoffFactor")?;
    }
    if let Some(v) = o.group_size {
        c.group_size = u32_of(v, "groupSize")?;
    }
    if let Some(v) = o.robust_factor {
        c.robust_factor = u32_of(v, "robustFactor")?;
    }
    if let Some(v) = o.stream_buffer_blocks {
        c.stream_buffer_blocks = usize_of(v, "streamBufferBlocks")?;
    }
    c.key = key_of(o.key.as_ref())?;
    if let Some(v) = o.seal_max_age_ms {
        c.seal_max_age = max_age_of(v)?;
    }
    if let Some(v) = o.node_id {
        c.node_id = Some(node_id_of(v, "nodeId")?);
    }
    if let Some(k) = &o.signing_key {
        c.signing_key = Some(signing_key_of(k, "signingKey")?);
    }
    Ok(c)
}

fn receiver_config(o: &ReceiverOptions) -> Result<core::ReceiverConfig> {
    let mut c = core::ReceiverConfig::default();
    match o.sync_policy.as_deref() {
        None => {}
        Some("all") => c.sync_policy = core::SyncPolicy::All,
        Some("current") => c.sync_policy = core::SyncPolicy::Current,
        Some(p) => return Err(invalid(format!("syncPolicy {p:?} is not 'all' or 'current'"))),
    }
    if let Some(v) = o.sync_window {
        c.sync_window = u16_of(v, "syncWindow")?;
    }
    if let Some(v) = o.max_object_size {
        c.max_object_size = u64_of(v, "maxObjectSize")?;
    }
    if let Some(v) = o.max_buffer_per_sender {
        c.max_buffer_per_sender = u64_of(v, "maxBufferPerSender")?;
    }
    if let Some(v) = o.max_buffer_total {
        c.max_buffer_total = u64_of(v, "maxBufferTotal")?;
    }
    if let Some(v) = o.max_senders {
        c.max_senders = usize_of(v, "maxSenders")?;
    }
    if let Some(v) = o.inactivity_timeout {
        c.inactivity_timeout = secs_of(v, "inactivityTimeout")?;
    }
    if let Some(v) = o.unicast_nacks {
        c.unicast_nacks = v;
    }
    if let Some(v) = o.silent {
        c.silent = v;
    }
    if let Some(v) = o.node_id {
        c.node_id = Some(node_id_of(v, "nodeId")?);
    }
    if let Some(d) = &o.file_dir {
        c.file_dir = Some(d.into());
    }
    c.key = key_of(o.key.as_ref())?;
    if let Some(v) = o.seal_max_age_ms {
        c.seal_max_age = max_age_of(v)?;
    }
    if let Some(keys) = &o.trusted_signers {
        c.trusted_signers =
            keys.iter().enumerate().map(|(i, k)| public_key_of(k, &format!("trustedSigners[{i}]"))).collect::<Result<Vec<_>>>()?;
    }
    Ok(c)
}

/// Owns one mcast engine thread.
#[napi]
pub struct NativeContext {
    inner: Mutex<Option<Arc<core::Context>>>,
}

impl NativeContext {
    fn get(&self) -> Result<Arc<core::Context>> {
        lock(&self.inner).clone().ok_or_else(|| js_err(core::Error::Closed))
    }
}

#[napi]
impl NativeContext {
    #[napi(constructor, catch_unwind)]
    pub fn new(options: Option<ContextOptions>) -> Result<Self> {
        let mut socket = core::SocketConfig::default();
        if let Some(o) = options {
            if let Some(v) = o.hop_limit {
                // The kernel takes 0..=255 (IPV6_MULTICAST_HOPS).
                socket.hop_limit = int_of(v, "hopLimit", 255)? as u32;
            }
            if let Some(v) = o.loopback {
                socket.loopback = v;
            }
            if let Some(v) = o.recv_buffer {
                socket.recv_buffer = usize_of(v, "recvBuffer")?;
            }
            if let Some(v) = o.send_buffer {
                socket.send_buffer = usize_of(v, "sendBuffer")?;
            }
        }
        let ctx = core::Context::with_config(core::ContextConfig { socket }).map_err(js_err)?;
        Ok(NativeContext { inner: Mutex::new(Some(Arc::new(ctx))) })
    }

    #[napi(catch_unwind)]
    pub fn sender(&self, options: SenderOptions) -> Result<NativeSender> {
        let g = group(&options.group, options.port, options.interface.as_deref())?;
        let cfg = sender_config(&options)?;
        let s = self.get()?.sender(&g, cfg).map_err(js_err)?;
        Ok(NativeSender { inner: Mutex::new(Some(Arc::new(s))), worker: Worker::new("mcast-js-sender")? })
    }

    #[napi(catch_unwind)]
    pub fn receiver(&self, options: ReceiverOptions) -> Result<NativeReceiver> {
        let mut g = group(&options.group, options.port, options.interface.as_deref())?;
        if let Some(list) = &options.sources {
            let mut addrs = Vec::new();
            for a in list {
                addrs.push(a.parse::<std::net::Ipv6Addr>().map_err(|_| invalid(format!("sources: {a:?} is not an IPv6 address")))?);
            }
            g = g.with_sources(&addrs).map_err(js_err)?;
        }
        let cfg = receiver_config(&options)?;
        let r = self.get()?.receiver(&g, cfg).map_err(js_err)?;
        Ok(NativeReceiver {
            inner: Mutex::new(Some(Arc::new(r))),
            closed: Arc::new(AtomicBool::new(false)),
            worker: Worker::new("mcast-js-receiver")?,
        })
    }

    /// Stops the engine (quick: it does not wait for anything to be sent).
    #[napi(catch_unwind)]
    pub fn close(&self) {
        if let Some(ctx) = lock(&self.inner).take() {
            ctx.close();
        }
    }
}

/// Sends objects to one group; waiting calls run on its worker, in order.
#[napi]
pub struct NativeSender {
    inner: Mutex<Option<Arc<core::Sender>>>,
    worker: Worker,
}

impl NativeSender {
    fn get(&self) -> Result<Arc<core::Sender>> {
        lock(&self.inner).clone().ok_or_else(|| js_err(core::Error::Closed))
    }
}

#[napi(object)]
pub struct SenderStats {
    pub datagrams_sent: i64,
    pub bytes_sent: i64,
    pub datagrams_received: i64,
    pub bytes_received: i64,
    pub nacks_received: i64,
    pub data_segments_sent: i64,
    pub repair_segments_sent: i64,
    pub parity_segments_sent: i64,
    pub info_sent: i64,
    pub flushes_sent: i64,
    pub probes_sent: i64,
    pub squelches_sent: i64,
    pub objects_enqueued: i64,
    pub objects_sent: i64,
    pub objects_purged: i64,
    pub objects_aborted: i64,
    pub malformed_received: i64,
    pub datagrams_unauthenticated: i64,
    pub datagrams_replayed: i64,
    pub datagrams_seal_mismatch: i64,
    pub grtt_us: i64,
    pub tx_rate_bps: i64,
    pub cc_feedback_received: i64,
    pub cc_clr: u32,
}

#[napi(object)]
pub struct ReceiverStats {
    pub datagrams_received: i64,
    pub bytes_received: i64,
    pub datagrams_sent: i64,
    pub bytes_sent: i64,
    pub nacks_sent: i64,
    pub nacks_suppressed: i64,
    pub acks_sent: i64,
    pub data_segments_received: i64,
    pub repair_segments_received: i64,
    pub parity_segments_received: i64,
    pub fec_recovered_segments: i64,
    pub duplicates: i64,
    pub objects_completed: i64,
    pub objects_aborted: i64,
    pub malformed_received: i64,
    pub datagrams_unauthenticated: i64,
    pub datagrams_replayed: i64,
    pub datagrams_seal_mismatch: i64,
    pub senders: i64,
    pub objects_unverified: i64,
    pub signatures_refused: i64,
    pub nacks_received: i64,
}

#[napi]
impl NativeSender {
    /// Queues one DATA object; resolves to its id once queued.
    #[napi(ts_return_type = "Promise<bigint>", catch_unwind)]
    pub fn send<'env>(&self, env: &'env Env, data: Buffer, info: Option<Buffer>) -> Result<Object<'env>> {
        let s = self.get()?;
        let data = data.to_vec();
        let info = info.map(|i| i.to_vec());
        promise(
            env,
            &self.worker,
            move || match &info {
                Some(i) => s.send_with_info(&data, i),
                None => s.send(&data),
            },
            |id| Ok(JsValueOf::BigInt(id)),
        )
    }

    #[napi(ts_return_type = "Promise<bigint>", catch_unwind)]
    pub fn send_file<'env>(&self, env: &'env Env, path: String) -> Result<Object<'env>> {
        let s = self.get()?;
        promise(env, &self.worker, move || s.send_file(&path), |id| Ok(JsValueOf::BigInt(id)))
    }

    /// Resolves once everything queued was sent and a flush round is over.
    #[napi(ts_return_type = "Promise<void>", catch_unwind)]
    pub fn flush<'env>(&self, env: &'env Env, timeout_ms: Option<f64>) -> Result<Object<'env>> {
        let s = self.get()?;
        let deadline = deadline_of(timeout_ms)?;
        promise(
            env,
            &self.worker,
            move || match deadline {
                Some(d) => s.flush_timeout(d.saturating_duration_since(Instant::now())),
                None => s.flush(),
            },
            |()| Ok(JsValueOf::Undefined),
        )
    }

    /// Asks the receivers with these node ids to confirm everything sent so
    /// far; resolves to { acked, missing }.
    #[napi(ts_return_type = "Promise<{ acked: number[]; missing: number[] }>", catch_unwind)]
    pub fn flush_acked<'env>(&self, env: &'env Env, nodes: Vec<f64>, timeout_ms: f64) -> Result<Object<'env>> {
        let s = self.get()?;
        let nodes = nodes.into_iter().map(|n| node_id_of(n, "flushAcked node id")).collect::<Result<Vec<u32>>>()?;
        let timeout = timeout_of(timeout_ms)?;
        promise(env, &self.worker, move || s.flush_acked(&nodes, timeout), |r| Ok(JsValueOf::Ack(AckReport { acked: r.acked, missing: r.missing })))
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<SenderStats> {
        let st = self.get()?.stats();
        let i = |v: u64| v as i64;
        Ok(SenderStats {
            datagrams_sent: i(st.datagrams_sent),
            bytes_sent: i(st.bytes_sent),
            datagrams_received: i(st.datagrams_received),
            bytes_received: i(st.bytes_received),
            nacks_received: i(st.nacks_received),
            data_segments_sent: i(st.data_segments_sent),
            repair_segments_sent: i(st.repair_segments_sent),
            parity_segments_sent: i(st.parity_segments_sent),
            info_sent: i(st.info_sent),
            flushes_sent: i(st.flushes_sent),
            probes_sent: i(st.probes_sent),
            squelches_sent: i(st.squelches_sent),
            objects_enqueued: i(st.objects_enqueued),
            objects_sent: i(st.objects_sent),
            objects_purged: i(st.objects_purged),
            objects_aborted: i(st.objects_aborted),
            malformed_received: i(st.malformed_received),
            datagrams_unauthenticated: i(st.datagrams_unauthenticated),
            datagrams_replayed: i(st.datagrams_replayed),
            datagrams_seal_mismatch: i(st.datagrams_seal_mismatch),
            grtt_us: i(st.grtt_us),
            tx_rate_bps: i(st.tx_rate_bps),
            cc_feedback_received: i(st.cc_feedback_received),
            cc_clr: st.cc_clr,
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn node_id(&self) -> Result<u32> {
        Ok(self.get()?.node_id())
    }

    /// The interface the group was joined on (named, or chosen).
    #[napi(getter, catch_unwind)]
    pub fn interface(&self) -> Result<String> {
        Ok(self.get()?.group().interface().to_string())
    }

    /// Stops the sender (after the calls already made have run).
    #[napi(catch_unwind)]
    pub fn close(&self) {
        // The worker's queued jobs hold their own references; the sender
        // stops when the last one is done.
        lock(&self.inner).take();
        self.worker.stop();
    }
}

/// Receives what is sent to one group.
#[napi]
pub struct NativeReceiver {
    inner: Mutex<Option<Arc<core::Receiver>>>,
    closed: Arc<AtomicBool>,
    worker: Worker,
}

impl NativeReceiver {
    fn get(&self) -> Result<Arc<core::Receiver>> {
        lock(&self.inner).clone().ok_or_else(|| js_err(core::Error::Closed))
    }
}

#[napi]
impl NativeReceiver {
    /// Resolves to the next message; rejects with MCAST_TIMEOUT after
    /// `timeoutMs` (undefined: wait), MCAST_ABORTED for an object that will
    /// never arrive, MCAST_REJECTED for a source whose datagrams are dropped
    /// (sealed channels; once per source and reason), MCAST_CLOSED once
    /// closed.
    #[napi(ts_return_type = "Promise<Message>", catch_unwind)]
    pub fn recv<'env>(&self, env: &'env Env, timeout_ms: Option<f64>) -> Result<Object<'env>> {
        let r = self.get()?;
        let deadline = deadline_of(timeout_ms)?;
        let closed = self.closed.clone();
        promise(
            env,
            &self.worker,
            move || loop {
                if closed.load(Ordering::Acquire) {
                    return Err(core::Error::Closed);
                }
                let slice = match deadline {
                    Some(d) => {
                        let now = Instant::now();
                        if now >= d {
                            return Err(core::Error::Timeout);
                        }
                        SLICE.min(d - now)
                    }
                    None => SLICE,
                };
                match r.recv_timeout(slice) {
                    Err(core::Error::Timeout) => continue,
                    other => return other,
                }
            },
            |m| Ok(JsValueOf::Message(Box::new(message(m)))),
        )
    }

    #[napi(catch_unwind)]
    pub fn stats(&self) -> Result<ReceiverStats> {
        let st = self.get()?.stats();
        let i = |v: u64| v as i64;
        Ok(ReceiverStats {
            datagrams_received: i(st.datagrams_received),
            bytes_received: i(st.bytes_received),
            datagrams_sent: i(st.datagrams_sent),
            bytes_sent: i(st.bytes_sent),
            nacks_sent: i(st.nacks_sent),
            nacks_suppressed: i(st.nacks_suppressed),
            acks_sent: i(st.acks_sent),
            data_segments_received: i(st.data_segments_received),
            repair_segments_received: i(st.repair_segments_received),
            parity_segments_received: i(st.parity_segments_received),
            fec_recovered_segments: i(st.fec_recovered_segments),
            duplicates: i(st.duplicates),
            objects_completed: i(st.objects_completed),
            objects_aborted: i(st.objects_aborted),
            malformed_received: i(st.malformed_received),
            datagrams_unauthenticated: i(st.datagrams_unauthenticated),
            datagrams_replayed: i(st.datagrams_replayed),
            datagrams_seal_mismatch: i(st.datagrams_seal_mismatch),
            senders: i(st.senders),
            objects_unverified: i(st.objects_unverified),
            signatures_refused: i(st.signatures_refused),
            nacks_received: i(st.nacks_received),
        })
    }

    #[napi(getter, catch_unwind)]
    pub fn node_id(&self) -> Result<u32> {
        Ok(self.get()?.node_id())
    }

    /// The interface the group was joined on (named, or chosen).
    #[napi(getter, catch_unwind)]
    pub fn interface(&self) -> Result<String> {
        Ok(self.get()?.group().interface().to_string())
    }

    /// Stops receiving; a pending recv() rejects with MCAST_CLOSED.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        lock(&self.inner).take();
        self.worker.stop();
    }
}

#[napi(object)]
pub struct ChannelAddress {
    pub group: String,
    pub port: u32,
}

/// The multicast address and port of channel `name` (same in every language).
#[napi(catch_unwind)]
pub fn channel_address(name: String, scope: Option<String>, ssm: Option<bool>) -> Result<ChannelAddress> {
    let scope: core::Scope = match scope.as_deref() {
        None => core::Scope::Global,
        Some(s) => s.parse().map_err(js_err)?,
    };
    let (addr, port) = core::channel_address(&name, scope, ssm.unwrap_or(false)).map_err(js_err)?;
    Ok(ChannelAddress { group: addr.to_string(), port: port as u32 })
}

/// A new random 32-byte channel key (from the operating system's generator).
#[napi(catch_unwind)]
pub fn generate_key() -> Buffer {
    core::Key::generate().as_bytes().to_vec().into()
}

/// Reads a key file: 64 hexadecimal digits (as `mcast keygen` writes;
/// surrounding whitespace is ignored) or exactly 32 raw bytes.
#[napi(catch_unwind)]
pub fn load_key(path: String) -> Result<Buffer> {
    let mut text = std::fs::read(&path).map_err(|source| js_err(core::Error::Io { context: format!("cannot read the key file {path}"), source }))?;
    let key = core::Key::parse(&text);
    // Wipe the file's content (the key lives on in the Buffer, which is the
    // caller's to keep).
    wipe(&mut text);
    match key {
        Ok(k) => Ok(k.as_bytes().to_vec().into()),
        Err(e) => Err(invalid(format!("key file {path}: {e}"))),
    }
}

#[napi(object)]
pub struct SigningKeyPair {
    /// The Ed25519 secret key (its 32-byte seed), for `signingKey`.
    pub secret_key: Buffer,
    /// Its 32-byte public key, for receivers' `trustedSigners`.
    pub public_key: Buffer,
}

/// A new random Ed25519 signing key (from the operating system's generator)
/// and its public key.
#[napi(catch_unwind)]
pub fn generate_signing_key() -> SigningKeyPair {
    let k = core::SigningKey::generate();
    let mut seed = k.to_bytes();
    let secret_key = seed.to_vec().into();
    wipe(&mut seed);
    SigningKeyPair { secret_key, public_key: k.public_key().as_bytes().to_vec().into() }
}

/// The public key of a 32-byte signing key.
#[napi(catch_unwind)]
pub fn signing_public_key(secret: Buffer) -> Result<Buffer> {
    Ok(signing_key_of(&secret, "a signing key")?.public_key().as_bytes().to_vec().into())
}

/// Reads a key file (`what`: "signing key" or "public key") and parses it
/// with `parse`, wiping the copy read.
fn load_32<K>(path: &str, what: &str, parse: impl FnOnce(&[u8]) -> std::result::Result<K, core::seal::KeyError>) -> Result<K> {
    let mut text = std::fs::read(path).map_err(|source| js_err(core::Error::Io { context: format!("cannot read the {what} file {path}"), source }))?;
    let key = parse(&text);
    wipe(&mut text);
    key.map_err(|e| invalid(format!("{what} file {path}: {e}")))
}

/// Reads a signing key file: 64 hexadecimal digits (as `mcast keygen --sign`
/// writes; surrounding whitespace is ignored) or exactly 32 raw bytes.
#[napi(catch_unwind)]
pub fn load_signing_key(path: String) -> Result<Buffer> {
    let k = load_32(&path, "signing key", core::SigningKey::parse)?;
    let mut seed = k.to_bytes();
    let out = seed.to_vec().into();
    wipe(&mut seed);
    Ok(out)
}

/// Reads a public key file (as `mcast keygen --sign` writes to FILE.pub):
/// 64 hexadecimal digits or exactly 32 raw bytes, a point of the curve.
#[napi(catch_unwind)]
pub fn load_public_key(path: String) -> Result<Buffer> {
    Ok(load_32(&path, "public key", core::PublicKey::parse)?.as_bytes().to_vec().into())
}
