//! Small helpers shared by the subcommands: human-readable numbers, hashing,
//! interrupt handling, logging set-up.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// An error for the user: printed as `mcast: error: MESSAGE` and the process
/// exits with `code`.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: i32,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: 1 }
    }
    pub fn with_code(message: impl Into<String>, code: i32) -> Self {
        Failure { message: message.into(), code }
    }
}

impl From<mcast::Error> for Failure {
    fn from(e: mcast::Error) -> Self {
        Failure::new(e.to_string())
    }
}

pub type CliResult<T = ()> = Result<T, Failure>;

/// Adds context to any displayable error.
pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> CliResult<T>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| Failure::new(format!("{}: {e}", what())))
    }
}

/// "20.0 MiB" style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// "94.3 Mbit/s" style rates, from bytes over a duration.
pub fn human_rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "-".into();
    }
    let bits = bytes as f64 * 8.0 / secs;
    if bits >= 1e9 {
        format!("{:.2} Gbit/s", bits / 1e9)
    } else if bits >= 1e6 {
        format!("{:.1} Mbit/s", bits / 1e6)
    } else if bits >= 1e3 {
        format!("{:.1} kbit/s", bits / 1e3)
    } else {
        format!("{bits:.0} bit/s")
    }
}

/// Bits per second as a number for JSON (0 when no time has passed).
pub fn bits_per_sec(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        bytes as f64 * 8.0 / secs
    } else {
        0.0
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// This process's peak resident memory so far, in KiB (getrusage).
pub fn max_rss_kib() -> u64 {
    // SAFETY: getrusage fills the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } == 0 {
        u.ru_maxrss.max(0) as u64
    } else {
        0
    }
}

pub fn sha256_bytes(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn sha256_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Whether progress bars make sense: stderr is a terminal and not --quiet.
pub fn want_progress(quiet: bool) -> bool {
    !quiet && io::stderr().is_terminal()
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: two atomic stores.
    SIGNAL.store(sig, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch SIGINT/SIGTERM/SIGHUP so that the main loop can stop cleanly (write
/// the summary, remove namespaces) instead of dying mid-way. The loops poll
/// [`interrupted`] at least every 100 ms.
pub fn install_interrupt_handler() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installing a handler that only touches atomics.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The exit status a shell reports for death by the signal we caught (130
/// for Ctrl-C).
pub fn interrupted_exit_code() -> i32 {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => 130,
        s => 128 + s,
    }
}

/// Logging on stderr. `-v` levels raise mcast's own verbosity; RUST_LOG, if
/// set, wins. Warnings and errors are shown by default unless --quiet.
pub fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let level = match (quiet, verbose) {
        (true, 0) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_target(verbose >= 2)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(20 << 20), "20.0 MiB");
        assert_eq!(human_rate(12_500_000, Duration::from_secs(1)), "100.0 Mbit/s");
        assert_eq!(human_rate(1, Duration::ZERO), "-");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            hex(&sha256_bytes(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

/// The context for a send or receive command, with the socket options given.
pub fn context(g: &crate::args::GroupArgs) -> Result<mcast::Context, mcast::Error> {
    let mut config = mcast::ContextConfig::default();
    config.socket.hop_limit = g.hop_limit;
    mcast::Context::with_config(config)
}
