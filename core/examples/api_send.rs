//! Sends files to an IPv6 multicast group with the mcast Rust API.
//!
//! ```text
//! api_send GROUP PORT IFACE [--data] FILE...
//! ```
//!
//! Each FILE becomes one NORM object:
//!
//! * by default a FILE object ([`Sender::send_file`]): the file is read while
//!   it is sent and its base name travels as NORM_INFO;
//! * with `--data` a DATA object: the file is read into memory first and sent
//!   with [`Sender::send_with_info`], its base name as NORM_INFO.
//!
//! After queueing everything the program waits for [`Sender::flush`] (every
//! object sent and the end-of-transmission flush round over, so receivers
//! had their chance to ask for repairs), then prints one JSON document on
//! stdout: the sender's node id, the object id of every file and the
//! sender's counters. Errors go to stderr; the exit status is 0 on success,
//! 1 on an error and 2 on bad usage.
//!
//! Example (inside a network namespace, or on a network where multicast is
//! welcome):
//!
//! ```text
//! cargo run --release -p mcast --example api_send -- ff3e::4d43 5000 eth0 report.pdf
//! ```
//!
//! `api_recv` is the matching receiver. Both are also the drivers of the
//! network test `tests/net/api_netns.sh`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use mcast::{Context, Group, ObjectKind, Sender, SenderConfig, SenderStats};
use serde_json::json;

const USAGE: &str = "usage: api_send GROUP PORT IFACE [--data] FILE...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `--data` may stand anywhere after the three fixed arguments.
    let as_data = args.iter().any(|a| a == "--data");
    let positional: Vec<&String> = args.iter().filter(|a| *a != "--data").collect();
    if positional.len() < 4 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let Ok(port) = positional[1].parse::<u16>() else {
        eprintln!("api_send: PORT must be a number from 1 to 65535, not {:?}\n{USAGE}", positional[1]);
        return ExitCode::from(2);
    };
    let files: Vec<&Path> = positional[3..].iter().map(Path::new).collect();

    match run(positional[0], port, positional[2], &files, as_data) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // mcast errors say what went wrong in words a person can act on,
            // e.g. "ff3e::4d43 is not joined: interface br9 does not exist".
            eprintln!("api_send: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(addr: &str, port: u16, iface: &str, files: &[&Path], as_data: bool) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let start = Instant::now();

    // Group::parse only checks the values (a multicast address, a port, a
    // plausible interface name); the interface must exist once the sender
    // joins the group.
    let group = Group::parse(addr, port, iface)?;

    // One Context is one engine thread. It can carry any number of senders
    // and receivers; dropping it stops them all.
    let ctx = Context::new()?;

    // The defaults suit a LAN (100 Mbit/s, 1400-byte segments, 64 + 16
    // Reed-Solomon blocks). A sender joins the group too, to hear NACKs.
    let sender = ctx.sender(&group, SenderConfig::default())?;

    let mut objects = Vec::new();
    for path in files {
        // Both calls return as soon as the object is queued; they block only
        // while the transmit cache is full (back-pressure). The returned id
        // is the one receivers see in `Message::object_id`.
        let (object_id, size, kind) = if as_data {
            send_as_data(&sender, path)?
        } else {
            let size = std::fs::metadata(path)?.len();
            (sender.send_file(path)?, size, ObjectKind::File)
        };
        objects.push(json!({
            "path": path.display().to_string(),
            "object_id": object_id,
            "size": size,
            "kind": kind_name(kind),
        }));
    }

    // Wait until everything was sent and the final flush round is over.
    // Dropping the sender before this would cut receivers off from repairs.
    sender.flush()?;

    Ok(json!({
        "group": group.to_string(),
        "node_id": sender.node_id(),
        "objects": objects,
        "seconds": start.elapsed().as_secs_f64(),
        "stats": stats_json(&sender.stats()),
    }))
    // `sender` and then `ctx` are dropped here: the sender sends
    // NORM_CMD(EOT) so receivers know it is gone, the engine thread stops.
}

/// Reads the whole file and queues it as a DATA object named after the file.
fn send_as_data(sender: &Sender, path: &Path) -> Result<(u64, u64, ObjectKind), Box<dyn std::error::Error>> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.file_name().ok_or_else(|| format!("{} has no file name", path.display()))?;
    // NORM_INFO is at most one segment (1400 bytes by default); a longer
    // info is refused with Error::InvalidArgument.
    let id = sender.send_with_info(&data, name.as_encoded_bytes())?;
    Ok((id, data.len() as u64, ObjectKind::Data))
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Data => "data",
        ObjectKind::File => "file",
        ObjectKind::Stream => "stream",
    }
}

/// The sender's counters as JSON (the mcast crate itself has no serde).
fn stats_json(s: &SenderStats) -> serde_json::Value {
    json!({
        "datagrams_sent": s.datagrams_sent,
        "bytes_sent": s.bytes_sent,
        "datagrams_received": s.datagrams_received,
        "nacks_received": s.nacks_received,
        "data_segments_sent": s.data_segments_sent,
        "repair_segments_sent": s.repair_segments_sent,
        "parity_segments_sent": s.parity_segments_sent,
        "info_sent": s.info_sent,
        "flushes_sent": s.flushes_sent,
        "squelches_sent": s.squelches_sent,
        "objects_enqueued": s.objects_enqueued,
        "objects_sent": s.objects_sent,
        "objects_purged": s.objects_purged,
        "objects_aborted": s.objects_aborted,
        "grtt_us": s.grtt_us,
    })
}
