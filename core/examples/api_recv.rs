//! Receives objects from an IPv6 multicast group with the mcast Rust API and
//! writes each one to a file.
//!
//! ```text
//! api_recv GROUP PORT IFACE OUTDIR COUNT [TIMEOUT_SECS]
//! ```
//!
//! Waits for COUNT complete objects (from any sender on the group), at most
//! TIMEOUT_SECS seconds in all (default 60). Each object is written to
//! `OUTDIR/NAME`, where NAME is the base name of its NORM_INFO (what
//! `api_send` and `mcast send` put there) or `object-ID` if it has none; an
//! existing file of that name is replaced.
//!
//! stdout gets one JSON line per object, in the order they arrive:
//!
//! ```text
//! {"object_id":0,"sender":"[fd6d:6361:7374::1]:5000","sender_node_id":123,"size":17,"kind":"file","info":"a.txt","file":"a.txt"}
//! ```
//!
//! and, after the last one, a line `{"stats":{...}}` with the receiver's
//! counters. Exit status: 0 when COUNT objects arrived, 3 on timeout, 1 on
//! any other error (including an object the sender gave up on:
//! `Error::Aborted`), 2 on bad usage.
//!
//! Example (start it before the sender; see also `api_send`):
//!
//! ```text
//! cargo run --release -p mcast --example api_recv -- ff3e::4d43 5000 eth0 received 1 30
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mcast::{Context, Error, Group, Message, ObjectKind, ReceiverConfig, ReceiverStats};
use serde_json::json;

const USAGE: &str = "usage: api_recv GROUP PORT IFACE OUTDIR COUNT [TIMEOUT_SECS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 5 && args.len() != 6 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let (Ok(port), Ok(count)) = (args[1].parse::<u16>(), args[4].parse::<u64>()) else {
        eprintln!("api_recv: PORT and COUNT must be numbers\n{USAGE}");
        return ExitCode::from(2);
    };
    let timeout = match args.get(5).map(|t| t.parse::<f64>()) {
        None => Duration::from_secs(60),
        Some(Ok(t)) if t.is_finite() && t >= 0.0 => Duration::from_secs_f64(t),
        Some(_) => {
            eprintln!("api_recv: TIMEOUT_SECS must be a number of seconds\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    match run(&args[0], port, &args[2], Path::new(&args[3]), count, timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("api_recv: {e}");
            match e {
                Failure::Timeout(_) => ExitCode::from(3),
                _ => ExitCode::from(1),
            }
        }
    }
}

fn run(addr: &str, port: u16, iface: &str, outdir: &Path, count: u64, timeout: Duration) -> Result<(), Failure> {
    let group = Group::parse(addr, port, iface)?;
    std::fs::create_dir_all(outdir).map_err(|e| Failure::Other(format!("cannot create {}: {e}", outdir.display())))?;

    let ctx = Context::new()?;
    // Joining the group happens here; a missing interface is reported as
    // Error::NoSuchInterface ("... is not joined: interface br9 does not
    // exist"). From now on the receiver hears every sender on the group. With
    // the default SyncPolicy::All it also asks a sender it hears for the
    // first time for the objects before (still in the sender's cache), so a
    // receiver started before the sender gets everything even if the first
    // packets were lost.
    let receiver = ctx.receiver(&group, ReceiverConfig::default())?;
    eprintln!("api_recv: listening on {group} (node id {})", receiver.node_id());

    let deadline = Instant::now() + timeout;
    for _ in 0..count {
        // recv_timeout waits for the next complete object. Objects of one
        // sender come in the order they were sent; one that can never
        // complete comes as Err(Error::Aborted { .. }) instead. Here that is
        // fatal; an application could also note it and go on receiving.
        let remaining = deadline.saturating_duration_since(Instant::now());
        let msg = match receiver.recv_timeout(remaining) {
            Ok(msg) => msg,
            Err(Error::Timeout) => {
                return Err(Failure::Timeout(format!(
                    "timed out after {:.1} s waiting for {count} object(s); receiver stats: {}",
                    timeout.as_secs_f64(),
                    stats_json(&receiver.stats())
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let name = file_name(&msg);
        std::fs::write(outdir.join(&name), &msg.data)
            .map_err(|e| Failure::Other(format!("cannot write {}: {e}", outdir.join(&name).display())))?;
        println!(
            "{}",
            json!({
                "object_id": msg.object_id,
                "sender": msg.sender.to_string(),
                "sender_node_id": msg.sender_node_id,
                "size": msg.data.len(),
                "kind": kind_name(msg.kind),
                "info": String::from_utf8_lossy(&msg.info),
                "file": name,
            })
        );
    }
    println!("{}", json!({ "stats": stats_json(&receiver.stats()) }));
    Ok(())
    // Dropping `receiver` leaves the group; dropping `ctx` stops the engine.
}

/// A safe file name for the message: the last path component of its
/// NORM_INFO (which whoever sends to the group chooses, so it must never be
/// used as a path), or `object-ID` when that is empty, "." or "..".
fn file_name(msg: &Message) -> String {
    // Some NORM implementations (libnorm's tools) end NORM_INFO with a NUL.
    let info = msg.info.split(|&b| b == 0).next().unwrap_or_default();
    let info = String::from_utf8_lossy(info);
    let base = info.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        format!("object-{}", msg.object_id)
    } else {
        base.to_string()
    }
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Data => "data",
        ObjectKind::File => "file",
        ObjectKind::Stream => "stream",
    }
}

/// The receiver's counters as JSON (the mcast crate itself has no serde).
fn stats_json(s: &ReceiverStats) -> serde_json::Value {
    json!({
        "datagrams_received": s.datagrams_received,
        "datagrams_sent": s.datagrams_sent,
        "nacks_sent": s.nacks_sent,
        "nacks_suppressed": s.nacks_suppressed,
        "data_segments_received": s.data_segments_received,
        "repair_segments_received": s.repair_segments_received,
        "parity_segments_received": s.parity_segments_received,
        "fec_recovered_segments": s.fec_recovered_segments,
        "duplicates": s.duplicates,
        "objects_completed": s.objects_completed,
        "objects_aborted": s.objects_aborted,
        "senders": s.senders,
    })
}

/// What can end the program early.
enum Failure {
    Timeout(String),
    Mcast(Error),
    Other(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Mcast(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Mcast(e) => e.fmt(f),
            Failure::Timeout(m) | Failure::Other(m) => f.write_str(m),
        }
    }
}
