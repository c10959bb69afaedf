//! `mcast._mcast`: the Python extension module, a thin layer over mcast's
//! Rust API (no protocol logic here). The package `mcast` (python/mcast/)
//! re-exports it and adds what is easier in Python: the exception classes
//! (multiple inheritance: `mcast.Timeout` is also a `TimeoutError`), asyncio
//! receiving and type stubs.
//!
//! Blocking calls (recv, send, send_file, flush, flush_acked,
//! StreamWriter.write) release the GIL and wait in short slices so that
//! Ctrl-C (KeyboardInterrupt) is raised within about 50 ms, and so that a
//! handle closed from another thread ends the wait with `mcast.Closed`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mcast_core as core;
use pyo3::exceptions::{PyOSError, PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict};

/// How long one slice of a blocking wait lasts before signals are checked.
const SLICE: Duration = Duration::from_millis(50);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Raises the `mcast._errors` class `name` with `message` (and attributes).
fn raise(py: Python<'_>, name: &str, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let cls = py.import("mcast._errors")?.getattr(name)?;
        let exc = cls.call1((message.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v.bind(py))?;
        }
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|e| e)
}

/// Maps an mcast error to the documented Python exception.
fn to_py(py: Python<'_>, e: core::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        core::Error::Timeout => raise(py, "Timeout", msg, &[]),
        core::Error::Closed => raise(py, "Closed", msg, &[]),
        core::Error::InvalidArgument(_) => raise(py, "InvalidArgument", msg, &[]),
        core::Error::NoSuchInterface { interface, .. } => {
            raise(py, "NoSuchInterface", msg, &[("interface", interface.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None()))])
        }
        core::Error::WouldBlock(_) => raise(py, "WouldBlock", msg, &[]),
        core::Error::CacheFull(_) => raise(py, "CacheFull", msg, &[]),
        core::Error::Aborted { sender, sender_node_id, object_id, reason } => {
            let attrs: Vec<(&str, Py<PyAny>)> = vec![
                ("sender", sender.to_string().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ("sender_node_id", sender_node_id.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ("object_id", object_id.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ("reason", reason.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
            ];
            raise(py, "Aborted", msg, &attrs)
        }
        core::Error::Rejected { sender, sender_node_id, reason } => {
            let attrs: Vec<(&str, Py<PyAny>)> = vec![
                ("sender", sender.to_string().into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ("sender_node_id", sender_node_id.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
                ("reason", reason.into_pyobject(py).map(|o| o.into_any().unbind()).unwrap_or_else(|_| py.None())),
            ];
            raise(py, "Rejected", msg, &attrs)
        }
        core::Error::Io { source, .. } => match source.raw_os_error() {
            // OSError(errno, text) becomes the matching subclass
            // (PermissionError, FileNotFoundError, ...).
            Some(errno) => PyOSError::new_err((errno, msg)),
            None => PyOSError::new_err(msg),
        },
        _ => raise(py, "Error", msg, &[]),
    }
}

fn invalid(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    raise(py, "InvalidArgument", msg.into(), &[])
}

/// The name of `v`'s type, for error messages.
fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
}

/// A short repr of `v` for error messages (a huge value is cut, and one
/// whose repr fails is named by its type).
fn show(v: &Bound<'_, PyAny>) -> String {
    let s = v.repr().map(|r| r.to_string()).unwrap_or_else(|_| format!("<{}>", type_name(v)));
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

/// An int argument `name` (anything `operator.index` takes, but not a
/// bool): TypeError for another type, InvalidArgument outside `lo..=hi`
/// (never OverflowError).
fn int_arg(v: &Bound<'_, PyAny>, name: &str, lo: i128, hi: i128) -> PyResult<i128> {
    let py = v.py();
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{name}: expected an int, not bool")));
    }
    let out_of_range = || invalid(py, format!("{name}: {} is out of range ({lo}..={hi})", show(v)));
    match v.extract::<i128>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(_) => Err(out_of_range()),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => Err(out_of_range()),
        Err(_) => Err(PyTypeError::new_err(format!("{name}: expected an int, not {}", type_name(v)))),
    }
}

/// A timeout argument: a number of seconds >= 0 (int or float, not bool).
/// TypeError for another type; InvalidArgument for a negative number, NaN,
/// infinity or an int too large for a float.
struct Secs(f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Secs {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err("timeout must be a number of seconds, not bool"));
        }
        match obj.extract::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => Ok(Secs(t)),
            Ok(t) => Err(invalid(py, format!("timeout must be a number of seconds >= 0, not {t}"))),
            Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
                Err(invalid(py, format!("timeout must be a number of seconds >= 0 that a float can hold, not {}", show(&obj))))
            }
            Err(_) => Err(PyTypeError::new_err(format!("timeout must be a number of seconds, not {}", type_name(&obj)))),
        }
    }
}

impl Secs {
    /// The timeout as a Duration: at most 1e9 s (about 31 years), so that
    /// adding it to an Instant cannot overflow.
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.0.min(1e9))
    }
}

/// A path argument: InvalidArgument if it holds a NUL byte (which no path
/// the operating system takes can hold; Python's open() refuses it with
/// ValueError too).
fn path_arg(py: Python<'_>, path: PathBuf, what: &str) -> PyResult<PathBuf> {
    if path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(invalid(py, format!("{what} {:?} contains a NUL byte", path.display().to_string())));
    }
    Ok(path)
}

/// Node ids (a sequence of ints in 0..=0xffffffff) from `v`, named `label`
/// in errors. With `option`, every error is InvalidArgument (as for all
/// keyword options); otherwise a wrong type is a TypeError.
fn node_ids(v: &Bound<'_, PyAny>, label: &str, option: bool) -> PyResult<Vec<u32>> {
    let py = v.py();
    let type_error = |msg: String| if option { invalid(py, msg) } else { PyTypeError::new_err(msg) };
    let single = v.is_instance_of::<pyo3::types::PyString>() || v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyByteArray>();
    let items = match v.try_iter() {
        Ok(items) if !single => items,
        _ => return Err(type_error(format!("{label}: a sequence of node ids (ints), not {}", type_name(v)))),
    };
    let mut ids = Vec::new();
    for (i, item) in items.enumerate() {
        let item = item?;
        let n = int_arg(&item, &format!("{label}[{i}]"), 0, u32::MAX as i128).map_err(|e| {
            if option && e.is_instance_of::<PyTypeError>(py) {
                invalid(py, e.value(py).to_string())
            } else {
                e
            }
        })?;
        ids.push(n as u32);
    }
    Ok(ids)
}

/// Bytes of a `bytes`, `bytearray`, `memoryview` or other buffer object
/// passed as argument `name` (TypeError for anything else).
fn bytes_of(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if obj.is_instance_of::<pyo3::types::PyString>() {
        return Err(PyTypeError::new_err(format!("{name}: expected bytes, bytearray or memoryview, not str (encode it first)")));
    }
    // Anything else with the buffer protocol (memoryview, array, ...):
    // memoryview() accepts only those (bytes(12) would make 12 zero bytes).
    let py = obj.py();
    let view = py.import("builtins")?.getattr("memoryview")?.call1((obj,)).map_err(|_| {
        PyTypeError::new_err(format!("{name}: expected bytes, bytearray or memoryview, not {}", type_name(obj)))
    })?;
    let b = py.get_type::<PyBytes>().call1((view,))?;
    Ok(b.cast::<PyBytes>()?.as_bytes().to_vec())
}

/// A timeout (None: forever) as an optional deadline.
fn deadline_of(timeout: Option<Secs>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t.duration())
}

/// Runs `step(slice)` without the GIL until it returns something other than
/// `Timeout`, the deadline passes (`Timeout`), or a signal handler raises.
fn blocking<T: Send>(
    py: Python<'_>,
    deadline: Option<Instant>,
    mut step: impl FnMut(Duration) -> core::Result<T> + Send,
) -> PyResult<T> {
    loop {
        let slice = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Err(to_py(py, core::Error::Timeout));
                }
                SLICE.min(d - now)
            }
            None => SLICE,
        };
        match py.detach(|| step(slice)) {
            Err(core::Error::Timeout) => py.check_signals()?,
            r => return r.map_err(|e| to_py(py, e)),
        }
    }
}

fn stats_dict<'py>(py: Python<'py>, pairs: &[(&str, u64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in pairs {
        d.set_item(*k, *v)?;
    }
    Ok(d)
}

/// Where signing keys come from, for error messages.
const SIGNING_HINT: &str = "mcast.generate_signing_key() or mcast.load_signing_key() make one";

/// Overwrites a copy of secret bytes before it is dropped.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// The bytes of a 32-byte key passed as `label` (bytes, bytearray,
/// memoryview or another buffer); InvalidArgument for anything else. The
/// length is the caller's to check. `hint` says how to make a key.
fn key_bytes(v: &Bound<'_, PyAny>, label: &str, hint: &str) -> PyResult<Vec<u8>> {
    let py = v.py();
    if v.is_instance_of::<pyo3::types::PyString>() {
        return Err(invalid(py, format!("{label}: a key is 32 bytes (bytes, bytearray or memoryview), not str; {hint}")));
    }
    bytes_of(v, label).map_err(|_| invalid(py, format!("{label}: a key is 32 bytes (bytes, bytearray or memoryview), not {}", type_name(v))))
}

/// An Ed25519 signing key from its 32-byte secret seed.
fn secret_key(py: Python<'_>, bytes: &[u8], label: &str) -> PyResult<core::SigningKey> {
    let mut seed: [u8; 32] =
        bytes.try_into().map_err(|_| invalid(py, format!("{label}: {}", core::seal::KeyError::Length(bytes.len()))))?;
    let key = core::SigningKey::from_bytes(seed);
    wipe(&mut seed);
    Ok(key)
}

/// An Ed25519 public key from its 32 bytes: InvalidArgument for another
/// length or for 32 bytes that are not a point of the curve.
fn public_key(py: Python<'_>, bytes: &[u8], label: &str) -> PyResult<core::PublicKey> {
    core::PublicKey::from_slice(bytes).map_err(|e| invalid(py, format!("{label}: {e}")))
}

/// Settings from keyword arguments: every key must be known.
struct Kwargs<'a, 'py> {
    py: Python<'py>,
    map: HashMap<String, Bound<'py, PyAny>>,
    what: &'a str,
}

impl<'a, 'py> Kwargs<'a, 'py> {
    fn new(py: Python<'py>, kwargs: Option<&Bound<'py, PyDict>>, what: &'a str) -> PyResult<Self> {
        let mut map = HashMap::new();
        if let Some(k) = kwargs {
            for (key, value) in k.iter() {
                map.insert(key.extract::<String>()?, value);
            }
        }
        Ok(Kwargs { py, map, what })
    }

    fn take<T: for<'a2> FromPyObject<'a2, 'py>>(&mut self, key: &str) -> PyResult<Option<T>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => v
                .extract::<T>()
                .map(Some)
                .map_err(|_| invalid(self.py, format!("{} option {key}: bad value {}", self.what, show(&v)))),
        }
    }

    /// A number: as `take`, but a bool (which Python would take for the
    /// int 0 or 1) is a bad value too.
    fn take_num<T: for<'a2> FromPyObject<'a2, 'py>>(&mut self, key: &str) -> PyResult<Option<T>> {
        match self.map.get(key) {
            Some(v) if v.is_instance_of::<PyBool>() => Err(invalid(self.py, format!("{} option {key}: bad value {} (a number, not a bool)", self.what, show(v)))),
            _ => self.take(key),
        }
    }

    /// Node ids (None or absent: `None`).
    fn node_ids(&mut self, key: &str) -> PyResult<Option<Vec<u32>>> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => node_ids(&v, &format!("{} option {key}", self.what), true).map(Some),
        }
    }

    /// A node id for this handle: 0 and 0xffffffff are reserved.
    fn node_id(&mut self) -> PyResult<Option<u32>> {
        let Some(n) = self.take_num::<u32>("node_id")? else { return Ok(None) };
        if n == 0 || n == u32::MAX {
            return Err(invalid(self.py, format!("{} option node_id: {n} is reserved", self.what)));
        }
        Ok(Some(n))
    }

    fn secs(&mut self, key: &str) -> PyResult<Option<Duration>> {
        match self.take_num::<f64>(key)? {
            None => Ok(None),
            // try_: a number of seconds too large for a Duration is refused,
            // not a panic.
            Some(s) if s.is_finite() && s >= 0.0 => Duration::try_from_secs_f64(s)
                .map(Some)
                .map_err(|_| invalid(self.py, format!("{} option {key}: {s} seconds is too long", self.what))),
            Some(s) => Err(invalid(self.py, format!("{} option {key}: {s} is not a number of seconds >= 0", self.what))),
        }
    }

    /// `key=`: a sealed channel's key, 32 bytes (None or absent: no key).
    fn key(&mut self) -> PyResult<Option<core::Key>> {
        let what = self.what;
        let Some(v) = self.map.remove("key") else { return Ok(None) };
        if v.is_none() {
            return Ok(None);
        }
        let mut bytes = key_bytes(&v, &format!("{what} option key"), "bytes.fromhex() or mcast.load_key() make one")?;
        let key = core::Key::from_slice(&bytes).map(Some).map_err(|e| invalid(self.py, format!("{what} option key: {e}")));
        wipe(&mut bytes);
        key
    }

    /// `signing_key=`: an Ed25519 signing key's 32-byte secret seed (None or
    /// absent: objects are not signed).
    fn signing_key(&mut self) -> PyResult<Option<core::SigningKey>> {
        let what = self.what;
        let Some(v) = self.map.remove("signing_key") else { return Ok(None) };
        if v.is_none() {
            return Ok(None);
        }
        let mut bytes = key_bytes(&v, &format!("{what} option signing_key"), SIGNING_HINT)?;
        let key = secret_key(self.py, &bytes, &format!("{what} option signing_key"));
        wipe(&mut bytes);
        key.map(Some)
    }

    /// `trusted_signers=`: a sequence of 32-byte Ed25519 public keys
    /// (None, absent or empty: objects are accepted signed or not).
    fn trusted_signers(&mut self) -> PyResult<Vec<core::PublicKey>> {
        let (py, what) = (self.py, self.what);
        let Some(v) = self.map.remove("trusted_signers") else { return Ok(Vec::new()) };
        if v.is_none() {
            return Ok(Vec::new());
        }
        let label = format!("{what} option trusted_signers");
        let ty = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        // One key alone is a sequence too (of ints, or of characters).
        let single = v.is_instance_of::<pyo3::types::PyString>()
            || v.is_instance_of::<PyBytes>()
            || v.is_instance_of::<PyByteArray>()
            || v.is_instance_of::<pyo3::types::PyMemoryView>();
        if single {
            return Err(invalid(py, format!("{label}: a sequence of 32-byte public keys (a list, [key] for one), not a single {ty}")));
        }
        let items = v.try_iter().map_err(|_| invalid(py, format!("{label}: a sequence of 32-byte public keys, not {ty}")))?;
        let mut keys = Vec::new();
        for (i, item) in items.enumerate() {
            let item = item?;
            let label = format!("{label}[{i}]");
            let bytes = key_bytes(&item, &label, "mcast.load_public_key() or mcast.signing_public_key() make one")?;
            keys.push(public_key(py, &bytes, &label)?);
        }
        Ok(keys)
    }

    /// `seal_max_age=`: seconds > 0, or None for no limit (absent: the
    /// default, 120 s).
    fn max_age(&mut self) -> PyResult<Option<Option<Duration>>> {
        let key = "seal_max_age";
        match self.map.get(key) {
            None => return Ok(None),
            Some(v) if v.is_none() => {
                self.map.remove(key);
                return Ok(Some(None));
            }
            Some(_) => {}
        }
        match self.secs(key)? {
            Some(d) if d > Duration::ZERO => Ok(Some(Some(d))),
            _ => Err(invalid(self.py, format!("{} option {key}: 0 would drop every datagram (None: no limit)", self.what))),
        }
    }

    fn finish(self) -> PyResult<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(invalid(self.py, format!("unknown {} option {k:?}", self.what))),
        }
    }
}

fn sender_config(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<core::SenderConfig> {
    let mut k = Kwargs::new(py, kwargs, "sender")?;
    let mut c = core::SenderConfig::default();
    macro_rules! set {
        ($take:ident: $($f:ident),*) => { $( if let Some(v) = k.$take(stringify!($f))? { c.$f = v; } )* };
    }
    set!(
        take_num: segment_size, block_size, parity, auto_parity, rate_bps, rate_min_bps, cache_max_objects, cache_max_bytes, backoff_factor,
        group_size, robust_factor, stream_buffer_blocks
    );
    set!(take: congestion_control);
    if let Some(v) = k.secs("grtt_initial")? {
        c.grtt_initial = v;
    }
    if let Some(v) = k.secs("grtt_max")? {
        c.grtt_max = v;
    }
    if let Some(nodes) = k.node_ids("wait_for_acks")? {
        // Checked here (the core would too) so that the message names the option.
        if nodes.is_empty() {
            return Err(invalid(py, "sender option wait_for_acks: at least one node id is needed (None: wait for no one)"));
        }
        if let Some(n) = nodes.iter().find(|&&n| n == 0 || n == u32::MAX) {
            return Err(invalid(py, format!("sender option wait_for_acks: node id {n} is reserved")));
        }
        c.flow_control = core::FlowControl::WaitForAcks(nodes);
    }
    c.node_id = k.node_id()?;
    c.key = k.key()?;
    if let Some(age) = k.max_age()? {
        c.seal_max_age = age;
    }
    c.signing_key = k.signing_key()?;
    k.finish()?;
    Ok(c)
}

fn receiver_config(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<core::ReceiverConfig> {
    let mut k = Kwargs::new(py, kwargs, "receiver")?;
    let mut c = core::ReceiverConfig::default();
    macro_rules! set {
        ($take:ident: $($f:ident),*) => { $( if let Some(v) = k.$take(stringify!($f))? { c.$f = v; } )* };
    }
    set!(take_num: sync_window, max_object_size, max_buffer_per_sender, max_buffer_total, max_senders);
    set!(take: unicast_nacks, silent);
    if let Some(d) = k.take::<std::path::PathBuf>("file_dir")? {
        c.file_dir = Some(path_arg(py, d, "receiver option file_dir:")?);
    }
    c.node_id = k.node_id()?;
    if let Some(v) = k.secs("inactivity_timeout")? {
        c.inactivity_timeout = v;
    }
    c.key = k.key()?;
    if let Some(age) = k.max_age()? {
        c.seal_max_age = age;
    }
    c.trusted_signers = k.trusted_signers()?;
    match k.take::<String>("sync_policy")?.as_deref() {
        None => {}
        Some("all") => c.sync_policy = core::SyncPolicy::All,
        Some("current") => c.sync_policy = core::SyncPolicy::Current,
        Some(other) => return Err(invalid(py, format!("receiver option sync_policy: {other:?} is not 'all' or 'current'"))),
    }
    k.finish()?;
    Ok(c)
}

fn group(py: Python<'_>, addr: &str, port: &Bound<'_, PyAny>, interface: Option<&str>) -> PyResult<core::Group> {
    let port = int_arg(port, "port", 0, u16::MAX as i128)? as u16;
    let interface = match interface {
        Some(i) => i.to_string(),
        None => core::net::default_interface().map_err(|e| to_py(py, e))?,
    };
    core::Group::parse(addr, port, &interface).map_err(|e| to_py(py, e))
}

/// Owns one mcast engine thread; make senders and receivers from it.
#[pyclass(module = "mcast._mcast", frozen)]
struct Context {
    inner: Mutex<Option<Arc<core::Context>>>,
}

impl Context {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<core::Context>> {
        lock(&self.inner).clone().ok_or_else(|| to_py(py, core::Error::Closed))
    }
}

#[pymethods]
impl Context {
    #[new]
    #[pyo3(signature = (*, hop_limit=None, loopback=None, recv_buffer=None, send_buffer=None))]
    fn new(
        py: Python<'_>,
        hop_limit: Option<&Bound<'_, PyAny>>,
        loopback: Option<bool>,
        recv_buffer: Option<&Bound<'_, PyAny>>,
        send_buffer: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut socket = core::SocketConfig::default();
        if let Some(h) = hop_limit {
            // IPV6_MULTICAST_HOPS takes 0..=255 (a larger value would fail
            // only when the first socket is made).
            socket.hop_limit = int_arg(h, "Context option hop_limit", 0, 255)? as u32;
        }
        if let Some(l) = loopback {
            socket.loopback = l;
        }
        if let Some(r) = recv_buffer {
            socket.recv_buffer = int_arg(r, "Context option recv_buffer", 0, usize::MAX as i128)? as usize;
        }
        if let Some(s) = send_buffer {
            socket.send_buffer = int_arg(s, "Context option send_buffer", 0, usize::MAX as i128)? as usize;
        }
        let ctx = core::Context::with_config(core::ContextConfig { socket }).map_err(|e| to_py(py, e))?;
        Ok(Context { inner: Mutex::new(Some(Arc::new(ctx))) })
    }

    #[pyo3(signature = (group, port, interface=None, **config))]
    fn sender(
        &self,
        py: Python<'_>,
        group: &str,
        port: &Bound<'_, PyAny>,
        interface: Option<&str>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Sender> {
        let g = self::group(py, group, port, interface)?;
        let cfg = sender_config(py, config)?;
        let ctx = self.get(py)?;
        let s = py.detach(|| ctx.sender(&g, cfg)).map_err(|e| to_py(py, e))?;
        Ok(Sender { inner: Mutex::new(Some(Arc::new(s))) })
    }

    #[pyo3(signature = (group, port, interface=None, **config))]
    fn receiver(
        &self,
        py: Python<'_>,
        group: &str,
        port: &Bound<'_, PyAny>,
        interface: Option<&str>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Receiver> {
        let mut g = self::group(py, group, port, interface)?;
        // sources=[...]: source-specific multicast (only these senders).
        let config = match config {
            Some(c) => {
                let c = c.copy()?;
                // None, like absent: any source.
                if let Some(src) = c.get_item("sources")?.filter(|s| !s.is_none()) {
                    let list: Vec<String> = src
                        .extract()
                        .map_err(|_| invalid(py, format!("receiver option sources: a list of IPv6 addresses, not {}", show(&src))))?;
                    let mut addrs = Vec::new();
                    for a in list {
                        addrs.push(
                            a.parse::<std::net::Ipv6Addr>()
                                .map_err(|_| invalid(py, format!("receiver option sources: {a:?} is not an IPv6 address")))?,
                        );
                    }
                    g = g.with_sources(&addrs).map_err(|e| match e {
                        core::Error::InvalidArgument(m) => invalid(py, format!("receiver option sources: {m}")),
                        e => to_py(py, e),
                    })?;
                }
                if c.contains("sources")? {
                    c.del_item("sources")?;
                }
                Some(c)
            }
            None => None,
        };
        let cfg = receiver_config(py, config.as_ref())?;
        let ctx = self.get(py)?;
        let r = py.detach(|| ctx.receiver(&g, cfg)).map_err(|e| to_py(py, e))?;
        Ok(Receiver { inner: Mutex::new(Some(Arc::new(r))) })
    }

    /// Stops the engine: senders stop (unflushed data is not delivered),
    /// receivers raise Closed once their queued messages are taken.
    fn close(&self, py: Python<'_>) {
        if let Some(ctx) = lock(&self.inner).take() {
            py.detach(|| ctx.close());
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        lock(&self.inner).is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }
}

/// Sends objects to one group.
#[pyclass(module = "mcast._mcast", frozen)]
struct Sender {
    inner: Mutex<Option<Arc<core::Sender>>>,
}

impl Sender {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<core::Sender>> {
        lock(&self.inner).clone().ok_or_else(|| to_py(py, core::Error::Closed))
    }
}

#[pymethods]
impl Sender {
    /// Queues `data` as one DATA object (NORM_INFO `info`); returns its id.
    /// Waits while the transmit cache is full (at most `timeout` seconds).
    #[pyo3(signature = (data, info=None, *, timeout=None))]
    fn send(&self, py: Python<'_>, data: &Bound<'_, PyAny>, info: Option<&Bound<'_, PyAny>>, timeout: Option<Secs>) -> PyResult<u64> {
        let data = bytes_of(data, "data")?;
        let info = info.map(|i| bytes_of(i, "info")).transpose()?;
        let deadline = deadline_of(timeout);
        let s = self.get(py)?;
        // Wait for room in slices (send_timeout consumes nothing on timeout).
        blocking(py, deadline, move |slice| match &info {
            Some(i) => s.send_with_info_timeout(&data, i, slice),
            None => s.send_timeout(&data, slice),
        })
    }

    /// Queues a file as one FILE object named by its base name; returns its id.
    /// Waits while the transmit cache is full.
    fn send_file(&self, py: Python<'_>, path: PathBuf) -> PyResult<u64> {
        let path = path_arg(py, path, "send_file: path")?;
        let s = self.get(py)?;
        // Wait for room in slices (send_file_timeout queues nothing and
        // closes the file again on timeout; a signing sender reads the file
        // only once there is room).
        blocking(py, None, move |slice| s.send_file_timeout(&path, slice))
    }

    /// Waits until everything queued was sent and a flush round is over.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<Secs>) -> PyResult<()> {
        let deadline = deadline_of(timeout);
        let s = self.get(py)?;
        blocking(py, deadline, move |slice| s.flush_timeout(slice))
    }

    /// Asks the receivers with these node ids to confirm they have everything
    /// sent so far; returns (acked, missing) lists of node ids.
    #[pyo3(signature = (nodes, timeout=Secs(30.0)), text_signature = "($self, nodes, timeout=30.0)")]
    fn flush_acked(&self, py: Python<'_>, nodes: &Bound<'_, PyAny>, timeout: Secs) -> PyResult<(Vec<u32>, Vec<u32>)> {
        let nodes = node_ids(nodes, "flush_acked: nodes", false)?;
        let s = self.get(py)?;
        let timeout = timeout.duration();
        // Asked once; the report is awaited in slices (the engine sends it
        // by the deadline, so no deadline here). The sender is kept open
        // while waiting, as the other blocking calls keep theirs.
        let mut report = py.detach(|| s.flush_acked_start(&nodes, timeout)).map_err(|e| to_py(py, e))?;
        let r = blocking(py, None, move |slice| {
            let _open = &s;
            report(slice)
        })?;
        Ok((r.acked, r.missing))
    }

    /// Opens a stream (an object without a size) named by `info`.
    #[pyo3(signature = (info=None))]
    fn open_stream(&self, py: Python<'_>, info: Option<&Bound<'_, PyAny>>) -> PyResult<StreamWriter> {
        let info = info.map(|i| bytes_of(i, "info")).transpose()?;
        let s = self.get(py)?;
        let w = py.detach(|| s.open_stream(info.as_deref())).map_err(|e| to_py(py, e))?;
        Ok(StreamWriter { inner: Mutex::new(Some(Arc::new(w))) })
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let st = self.get(py)?.stats();
        stats_dict(
            py,
            &[
                ("datagrams_sent", st.datagrams_sent),
                ("bytes_sent", st.bytes_sent),
                ("datagrams_received", st.datagrams_received),
                ("bytes_received", st.bytes_received),
                ("nacks_received", st.nacks_received),
                ("data_segments_sent", st.data_segments_sent),
                ("repair_segments_sent", st.repair_segments_sent),
                ("parity_segments_sent", st.parity_segments_sent),
                ("info_sent", st.info_sent),
                ("flushes_sent", st.flushes_sent),
                ("probes_sent", st.probes_sent),
                ("squelches_sent", st.squelches_sent),
                ("objects_enqueued", st.objects_enqueued),
                ("objects_sent", st.objects_sent),
                ("objects_purged", st.objects_purged),
                ("objects_aborted", st.objects_aborted),
                ("malformed_received", st.malformed_received),
                ("datagrams_unauthenticated", st.datagrams_unauthenticated),
                ("datagrams_replayed", st.datagrams_replayed),
                ("datagrams_seal_mismatch", st.datagrams_seal_mismatch),
                ("grtt_us", st.grtt_us),
                ("tx_rate_bps", st.tx_rate_bps),
                ("cc_feedback_received", st.cc_feedback_received),
                ("cc_clr", st.cc_clr as u64),
            ],
        )
    }

    #[getter]
    fn node_id(&self, py: Python<'_>) -> PyResult<u32> {
        Ok(self.get(py)?.node_id())
    }

    /// The interface the group was joined on (the one named, or the one
    /// chosen when none was: see docs/PROTOCOL.md "Interface choice").
    #[getter]
    fn interface(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.group().interface().to_string())
    }

    /// Sends NORM_CMD(EOT) and stops (call flush() first).
    fn close(&self) {
        lock(&self.inner).take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }
}

/// Writes to one stream of a sender.
#[pyclass(module = "mcast._mcast", frozen)]
struct StreamWriter {
    inner: Mutex<Option<Arc<core::StreamWriter>>>,
}

impl StreamWriter {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<core::StreamWriter>> {
        lock(&self.inner).clone().ok_or_else(|| to_py(py, core::Error::Closed))
    }
}

#[pymethods]
impl StreamWriter {
    #[getter]
    fn id(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.get(py)?.id())
    }

    /// Writes one message (all of it; waits while the stream buffer is full).
    fn write(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = bytes_of(message, "message")?;
        let w = self.get(py)?;
        let mut taken = 0usize;
        blocking(py, None, move |slice| {
            // Whatever part fits goes in; the rest (still a message end) waits.
            taken += w.write_bytes(&data[taken..], true, Some(Instant::now() + slice))?;
            if taken < data.len() {
                Err(core::Error::Timeout)
            } else {
                Ok(())
            }
        })
    }

    /// Sends a partly filled segment now.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let w = self.get(py)?;
        py.detach(|| w.flush_stream()).map_err(|e| to_py(py, e))
    }

    /// Ends the stream.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let Some(w) = lock(&self.inner).take() else { return Ok(()) };
        match Arc::try_unwrap(w) {
            // Its sender or context closed already: so is the stream.
            Ok(w) => match py.detach(|| w.close()) {
                Ok(()) | Err(core::Error::Closed) => Ok(()),
                Err(e) => Err(to_py(py, e)),
            },
            // A write in another thread still holds it: it closes on drop.
            Err(_) => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

/// One received object (or piece of a stream).
#[pyclass(module = "mcast._mcast", frozen, get_all)]
struct Message {
    data: Py<PyBytes>,
    info: Py<PyBytes>,
    /// "[address]:port" of the sender.
    sender: String,
    sender_node_id: u32,
    object_id: u64,
    /// "data", "file" or "stream".
    kind: &'static str,
    message_end: bool,
    lost_before: u64,
    stream_end: bool,
    /// The file holding a FILE object's content (receivers with `file_dir`).
    path: Option<String>,
    /// The 32-byte public key that signed the object (receivers with
    /// `trusted_signers`).
    signer: Option<Py<PyBytes>>,
}

#[pymethods]
impl Message {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Message(kind={:?}, object_id={}, sender={:?}, data=<{} bytes>, info={})",
            self.kind,
            self.object_id,
            self.sender,
            self.data.bind(py).as_bytes().len(),
            self.info.bind(py).repr().map(|r| r.to_string()).unwrap_or_default()
        )
    }
}

fn message(py: Python<'_>, m: core::Message) -> Message {
    Message {
        data: PyBytes::new(py, &m.data).unbind(),
        info: PyBytes::new(py, &m.info).unbind(),
        sender: m.sender.to_string(),
        sender_node_id: m.sender_node_id,
        object_id: m.object_id,
        kind: match m.kind {
            core::ObjectKind::Data => "data",
            core::ObjectKind::File => "file",
            core::ObjectKind::Stream => "stream",
        },
        message_end: m.message_end,
        lost_before: m.lost_before,
        stream_end: m.stream_end,
        path: m.path.map(|p| p.to_string_lossy().into_owned()),
        signer: m.signer.map(|k| PyBytes::new(py, k.as_bytes()).unbind()),
    }
}

/// Receives what is sent to one group.
#[pyclass(module = "mcast._mcast", frozen)]
struct Receiver {
    inner: Mutex<Option<Arc<core::Receiver>>>,
}

impl Receiver {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<core::Receiver>> {
        lock(&self.inner).clone().ok_or_else(|| to_py(py, core::Error::Closed))
    }
}

#[pymethods]
impl Receiver {
    /// The next message (None: wait forever); raises Timeout, Aborted,
    /// Rejected (a sealed channel drops a source's datagrams, or
    /// trusted_signers refuses its objects), Closed.
    #[pyo3(signature = (timeout=None))]
    fn recv(slf: &Bound<'_, Self>, timeout: Option<Secs>) -> PyResult<Message> {
        let py = slf.py();
        let deadline = deadline_of(timeout);
        let r = slf.get().get(py)?;
        let me = slf.clone().unbind();
        let m = blocking(py, deadline, move |slice| {
            // Closed from another thread while we wait: stop.
            if lock(&me.get().inner).is_none() {
                return Err(core::Error::Closed);
            }
            r.recv_timeout(slice)
        })?;
        Ok(message(py, m))
    }

    /// Awaitable: the next message, without blocking the event loop.
    #[pyo3(signature = (timeout=None))]
    fn recv_async<'py>(slf: &Bound<'py, Self>, timeout: Option<Secs>) -> PyResult<Bound<'py, PyAny>> {
        // Checked here as recv checks it (a bad timeout raises at once).
        slf.py().import("mcast._aio")?.getattr("recv_async")?.call1((slf, timeout.map(|t| t.0)))
    }

    /// `async for msg in receiver`: messages until the receiver is closed.
    fn __aiter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        slf.py().import("mcast._aio")?.getattr("aiter")?.call1((slf,))
    }

    /// The next message if one is ready; raises WouldBlock otherwise (and
    /// Aborted, Rejected, Closed as recv does).
    fn try_recv(&self, py: Python<'_>) -> PyResult<Message> {
        let r = self.get(py)?;
        let m = r.try_recv().map_err(|e| to_py(py, e))?;
        Ok(message(py, m))
    }

    /// A file descriptor that is readable while a message is ready (for
    /// selectors and asyncio's add_reader).
    fn fileno(&self, py: Python<'_>) -> PyResult<i32> {
        Ok(self.get(py)?.pollable_fd())
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let st = self.get(py)?.stats();
        stats_dict(
            py,
            &[
                ("datagrams_received", st.datagrams_received),
                ("bytes_received", st.bytes_received),
                ("datagrams_sent", st.datagrams_sent),
                ("bytes_sent", st.bytes_sent),
                ("nacks_sent", st.nacks_sent),
                ("nacks_suppressed", st.nacks_suppressed),
                ("acks_sent", st.acks_sent),
                ("data_segments_received", st.data_segments_received),
                ("repair_segments_received", st.repair_segments_received),
                ("parity_segments_received", st.parity_segments_received),
                ("fec_recovered_segments", st.fec_recovered_segments),
                ("duplicates", st.duplicates),
                ("objects_completed", st.objects_completed),
                ("objects_aborted", st.objects_aborted),
                ("malformed_received", st.malformed_received),
                ("datagrams_unauthenticated", st.datagrams_unauthenticated),
                ("datagrams_replayed", st.datagrams_replayed),
                ("datagrams_seal_mismatch", st.datagrams_seal_mismatch),
                ("objects_unverified", st.objects_unverified),
                ("signatures_refused", st.signatures_refused),
                ("nacks_received", st.nacks_received),
                ("senders", st.senders),
            ],
        )
    }

    /// Incomplete objects: a list of dicts (sender, object_id, info,
    /// received_bytes, total_bytes or None).
    fn progress<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let r = self.get(py)?;
        let list = py.detach(|| r.progress());
        list.into_iter()
            .map(|p| {
                let d = PyDict::new(py);
                d.set_item("sender", p.sender.addr.to_string())?;
                d.set_item("object_id", p.object_id)?;
                d.set_item("info", PyBytes::new(py, &p.info))?;
                d.set_item("received_bytes", p.received_bytes)?;
                d.set_item("total_bytes", p.total_bytes)?;
                Ok(d)
            })
            .collect()
    }

    #[getter]
    fn node_id(&self, py: Python<'_>) -> PyResult<u32> {
        Ok(self.get(py)?.node_id())
    }

    /// The interface the group was joined on (the one named, or the one
    /// chosen when none was: see docs/PROTOCOL.md "Interface choice").
    #[getter]
    fn interface(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.group().interface().to_string())
    }

    fn close(&self) {
        lock(&self.inner).take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }
}

/// The multicast address and port of channel `name` (docs/PROTOCOL.md,
/// "Channels"): the same in every language.
#[pyfunction]
#[pyo3(signature = (name, scope="global", ssm=false))]
fn channel_address(py: Python<'_>, name: &str, scope: &str, ssm: bool) -> PyResult<(String, u16)> {
    let scope: core::Scope = scope.parse().map_err(|e| to_py(py, e))?;
    let (addr, port) = core::channel_address(name, scope, ssm).map_err(|e| to_py(py, e))?;
    Ok((addr.to_string(), port))
}

/// A new random channel key: 32 bytes from the operating system's generator
/// (pass it as `key=` to senders and receivers of a sealed channel).
#[pyfunction]
fn generate_key(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, core::Key::generate().as_bytes())
}

/// The content of a key file (the caller wipes it); OSError (keeping its
/// errno: FileNotFoundError, ...) if it cannot be read.
fn read_key_file(py: Python<'_>, path: &std::path::Path, what: &str) -> PyResult<Vec<u8>> {
    // Read here rather than with Key::from_file: an OSError keeps its errno.
    py.detach(|| std::fs::read(path)).map_err(|e| {
        let msg = format!("cannot read the {what} file {}: {e}", path.display());
        match e.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, msg)),
            None => PyOSError::new_err(msg),
        }
    })
}

/// Reads a key file: 64 hexadecimal digits (as `mcast keygen` writes them;
/// surrounding whitespace is ignored) or exactly 32 raw bytes. Returns the
/// 32-byte key; raises OSError (FileNotFoundError, ...) if the file cannot
/// be read and InvalidArgument if it holds no key.
#[pyfunction]
fn load_key(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyBytes>> {
    let path = path_arg(py, path, "load_key: path")?;
    let mut text = read_key_file(py, &path, "key")?;
    let key = core::Key::parse(&text);
    wipe(&mut text);
    let key = key.map_err(|e| invalid(py, format!("key file {}: {e}", path.display())))?;
    Ok(PyBytes::new(py, key.as_bytes()))
}

/// A new Ed25519 signing key: (secret, public), 32 bytes each. Pass the
/// secret as `signing_key=` to a sender (keep it secret) and the public key
/// in `trusted_signers=` to receivers.
#[pyfunction]
fn generate_signing_key(py: Python<'_>) -> (Bound<'_, PyBytes>, Bound<'_, PyBytes>) {
    let key = core::SigningKey::generate();
    let mut seed = key.to_bytes();
    let secret = PyBytes::new(py, &seed);
    wipe(&mut seed);
    (secret, PyBytes::new(py, key.public_key().as_bytes()))
}

/// The 32-byte public key of a signing key (its 32-byte secret).
#[pyfunction]
fn signing_public_key<'py>(py: Python<'py>, secret: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let mut bytes = key_bytes(secret, "signing_public_key", SIGNING_HINT)?;
    let key = secret_key(py, &bytes, "signing_public_key");
    wipe(&mut bytes);
    Ok(PyBytes::new(py, key?.public_key().as_bytes()))
}

/// Reads a signing key file (as `mcast keygen --sign FILE` writes FILE): 64
/// hexadecimal digits or exactly 32 raw bytes. Returns the 32-byte secret;
/// raises OSError if the file cannot be read and InvalidArgument if it
/// holds no key.
#[pyfunction]
fn load_signing_key(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyBytes>> {
    let path = path_arg(py, path, "load_signing_key: path")?;
    let mut text = read_key_file(py, &path, "signing key")?;
    let key = core::SigningKey::parse(&text);
    wipe(&mut text);
    let key = key.map_err(|e| invalid(py, format!("signing key file {}: {e}", path.display())))?;
    let mut seed = key.to_bytes();
    let secret = PyBytes::new(py, &seed);
    wipe(&mut seed);
    Ok(secret)
}

/// Reads a public key file (as `mcast keygen --sign FILE` writes FILE.pub):
/// 64 hexadecimal digits or exactly 32 raw bytes. Returns the 32-byte key;
/// raises OSError if the file cannot be read and InvalidArgument if it
/// holds no key or one that is not a valid Ed25519 public key.
#[pyfunction]
fn load_public_key(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyBytes>> {
    let path = path_arg(py, path, "load_public_key: path")?;
    let text = read_key_file(py, &path, "public key")?;
    let key = core::PublicKey::parse(&text).map_err(|e| invalid(py, format!("public key file {}: {e}", path.display())))?;
    Ok(PyBytes::new(py, key.as_bytes()))
}

/// The version of the mcast library.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
#[pyo3(name = "_mcast")]
fn mcast_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Context>()?;
    m.add_class::<Sender>()?;
    m.add_class::<StreamWriter>()?;
    m.add_class::<Receiver>()?;
    m.add_class::<Message>()?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(channel_address, m)?)?;
    m.add_function(wrap_pyfunction!(generate_key, m)?)?;
    m.add_function(wrap_pyfunction!(load_key, m)?)?;
    m.add_function(wrap_pyfunction!(generate_signing_key, m)?)?;
    m.add_function(wrap_pyfunction!(signing_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(load_signing_key, m)?)?;
    m.add_function(wrap_pyfunction!(load_public_key, m)?)?;
    Ok(())
}
