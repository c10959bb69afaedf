//! `mcast send`: every file becomes one NORM FILE object (NORM_INFO = its base
//! name); after the last one the sender flushes (so late NACKs are answered)
//! and the command exits.

use std::io::{BufRead, Read};

use sha2::Digest;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::args::{Common, SendArgs};
use crate::stats::{emit_line, print_summary, sender_stats_json};
use crate::util::{
    bits_per_sec, hex, human_bytes, human_rate, interrupted, interrupted_exit_code, sha256_file,
    want_progress, CliResult, Context, Failure,
};

struct Item {
    path: PathBuf,
    name: String,
    size: u64,
    object_id: Option<u64>,
}

pub fn run(common: &Common, args: &SendArgs) -> CliResult {
    // Check every file before anything goes on the wire: a typo in the third
    // name should not leave receivers with two of three files.
    let mut items = Vec::new();
    for path in &args.files {
        let meta = std::fs::metadata(path).context(|| format!("cannot send {}", path.display()))?;
        if !meta.is_file() {
            return Err(Failure::new(format!("cannot send {}: not a regular file", path.display())));
        }
        std::fs::File::open(path).context(|| format!("cannot read {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Failure::new(format!("cannot send {}: it has no file name", path.display())))?;
        items.push(Item { path: path.clone(), name, size: meta.len(), object_id: None });
    }
    let total: u64 = items.iter().map(|i| i.size).sum();

    let mut config = mcast::SenderConfig::default();
    (config.key, config.seal_max_age) = args.seal.load().map_err(Failure::new)?;
    config.node_id = args.node_id;
    if let Some(path) = &args.sign_key {
        let key = mcast::SigningKey::from_file(path).map_err(|e| Failure::new(format!("--sign-key {}: {e}", path.display())))?;
        config.signing_key = Some(key);
    }
    if let Some(r) = args.rate {
        config.rate_bps = r;
    }
    config.congestion_control = !args.fixed_rate;
    if let Some(r) = args.rate_min {
        config.rate_min_bps = r;
    }
    if config.congestion_control && config.rate_min_bps > config.rate_bps {
        return Err(Failure::new(format!(
            "--rate-min {} is more than the rate cap {} (--rate)",
            config.rate_min_bps, config.rate_bps
        )));
    }
    if args.wait_for_acks {
        config.flow_control = mcast::FlowControl::WaitForAcks(args.ack.clone());
    }
    if let Some(s) = args.segment {
        config.segment_size = s;
    }
    if let Some(b) = args.block {
        config.block_size = b;
    }
    if let Some(p) = args.parity {
        config.parity = p;
    }
    if let Some(a) = args.auto_parity {
        config.auto_parity = a;
    }
    if u32::from(config.block_size) + u32::from(config.parity) > 255 {
        return Err(Failure::new(format!(
            "--block {} + --parity {} is more than 255 (the Reed-Solomon code's limit)",
            config.block_size, config.parity
        )));
    }
    if config.auto_parity > config.parity {
        return Err(Failure::new(format!(
            "--auto-parity {} is more than --parity {}",
            config.auto_parity, config.parity
        )));
    }
    let segment = u64::from(config.segment_size);

    let g = &args.group;
    let group = g.resolve()?;
    if g.interface.is_none() && !common.quiet && !args.report {
        // Said at default verbosity (as `recv` says "via IF"): a host with
        // several interfaces may pick another than the user expects.
        eprintln!(
            "sending to [{}]:{} via {} (no --interface given: the first suitable interface, see `mcast interfaces`)",
            group.addr(),
            group.port(),
            group.interface()
        );
    }
    let ctx = crate::util::context(g)?;
    let sender = ctx.sender(&group, config)?;
    let start = Instant::now();
    if let Some(name) = &args.stream {
        let r = send_stream(common, args, &sender, &group, name, start);
        drop(sender);
        ctx.close();
        return report_ack(common, args, r?);
    }

    let bar = (want_progress(common.quiet) && !args.report && total >= crate::PROGRESS_MIN_BYTES).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix("sending");
        bar
    });

    // What has gone out for the first time, as far as the statistics tell:
    // data segments times the segment size (the last segment of an object is
    // shorter, hence the cap).
    let progress = |sender: &mcast::Sender| -> u64 {
        (sender.stats().data_segments_sent * segment).min(total)
    };
    let mut last_report = Instant::now() - Duration::from_secs(1);
    let mut tick = |sender: &mcast::Sender, msg: &str| {
        let sent = progress(sender);
        if let Some(b) = &bar {
            b.set_position(sent);
            b.set_message(msg.to_string());
        }
        if args.report && last_report.elapsed() >= Duration::from_millis(100) {
            last_report = Instant::now();
            emit_line(&json!({"type": "progress", "sent": sent, "total": total}));
        }
    };

    for item in &mut items {
        if interrupted() {
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        tick(&sender, &item.name);
        let id = if args.data {
            let content = std::fs::read(&item.path).context(|| format!("reading {}", item.path.display()))?;
            sender.send_with_info(&content, item.name.as_bytes())
        } else {
            sender.send_file(&item.path)
        }
        .context(|| format!("sending {}", item.path.display()))?;
        tracing::info!(object_id = id, file = %item.path.display(), size = item.size, "queued");
        item.object_id = Some(id);
    }

    // flush() returns once the final flush round is over. Wait for it in
    // short steps so that the progress bar moves and Ctrl-C is noticed.
    loop {
        if interrupted() {
            if let Some(b) = &bar {
                b.abandon_with_message("interrupted");
            }
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        match sender.flush_timeout(Duration::from_millis(100)) {
            Ok(()) => break,
            Err(mcast::Error::Timeout) => tick(&sender, "flushing"),
            Err(e) => return Err(Failure::new(format!("flushing: {e}"))),
        }
    }
    if !args.ack.is_empty() {
        if let Some(b) = &bar {
            b.set_message("waiting for acknowledgements");
        }
    }
    let ack = ask_for_acks(args, &sender)?;
    let elapsed = start.elapsed();
    let stats = sender.stats();
    if let Some(b) = &bar {
        b.set_position(total);
        b.finish_and_clear();
    }

    let throughput = human_rate(total, elapsed);
    if !common.quiet && !args.report {
        eprintln!(
            "sent {} file{} ({}) in {:.2} s, {throughput}; {} NACKs received, {} repair and {} parity segments sent",
            items.len(),
            if items.len() == 1 { "" } else { "s" },
            human_bytes(total),
            elapsed.as_secs_f64(),
            stats.nacks_received,
            stats.repair_segments_sent,
            stats.parity_segments_sent,
        );
    }
    if common.json || args.report {
        let mut files = Vec::new();
        for item in &items {
            let sha = sha256_file(&item.path).context(|| format!("reading {}", item.path.display()))?;
            files.push(json!({
                "path": item.path,
                "name": item.name,
                "size": item.size,
                "sha256": hex(&sha),
                "object_id": item.object_id,
            }));
        }
        let summary = json!({
            "type": "summary",
            "command": "send",
            "ok": true,
            "group": group.addr().to_string(), "port": group.port(), "interface": group.interface(),
            "files": files,
            "ack": ack.as_ref().map(|a| json!({"acked": a.acked, "missing": a.missing})),
            "bytes": total,
            "elapsed_secs": elapsed.as_secs_f64(),
            "throughput_bps": bits_per_sec(total, elapsed),
            "max_rss_kib": crate::util::max_rss_kib(),
            "stats": sender_stats_json(&stats),
        });
        if args.report {
            emit_line(&summary);
        } else {
            print_summary(&summary);
        }
    }
    drop(sender);
    ctx.close();
    report_ack(common, args, ack)
}

/// Exit status when a receiver named by `--ack` did not acknowledge.
pub const EXIT_NOT_ACKNOWLEDGED: i32 = 4;

/// With `--ack`: asks those receivers to confirm everything sent so far
/// (after the final flush, so the watermark is the end of what was sent).
fn ask_for_acks(args: &SendArgs, sender: &mcast::Sender) -> CliResult<Option<mcast::AckReport>> {
    if args.ack.is_empty() {
        return Ok(None);
    }
    sender
        .flush_acked(&args.ack, args.ack_timeout)
        .map(Some)
        .map_err(|e| Failure::new(format!("asking for acknowledgements: {e}")))
}

/// Says who acknowledged (not with --quiet) and fails with status 4 if
/// someone did not.
fn report_ack(common: &Common, args: &SendArgs, ack: Option<mcast::AckReport>) -> CliResult {
    let Some(a) = ack else { return Ok(()) };
    let list = |v: &[u32]| if v.is_empty() { "nobody".to_string() } else { v.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ") };
    if !common.quiet && !args.report {
        eprintln!("acknowledged by {}; not acknowledged by {}", list(&a.acked), list(&a.missing));
    }
    if !a.missing.is_empty() {
        return Err(Failure::with_code(
            format!("not acknowledged by {} within {:?}", list(&a.missing), args.ack_timeout),
            EXIT_NOT_ACKNOWLEDGED,
        ));
    }
    Ok(())
}


/// Longest message `--stream` makes of input without a newline.
const STREAM_MESSAGE_MAX: usize = 64 * 1024;

/// `mcast send --stream NAME`: standard input as one NORM stream, a message
/// per line; at end of input the stream is closed and flushed, and with
/// `--ack` the named receivers are asked to confirm all of it (its end is the
/// watermark). Returns their answer for `report_ack`.
fn send_stream(
    common: &Common,
    args: &SendArgs,
    sender: &mcast::Sender,
    group: &mcast::Group,
    name: &str,
    start: Instant,
) -> CliResult<Option<mcast::AckReport>> {
    if name.is_empty() || name.len() > 1024 {
        return Err(Failure::new("--stream needs a name of 1 to 1024 bytes"));
    }
    let stream = sender.open_stream(Some(name.as_bytes())).context(|| "opening the stream".to_string())?;
    let id = stream.id();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    let (mut bytes, mut messages) = (0u64, 0u64);
    let mut hasher = sha2::Sha256::new();
    loop {
        if interrupted() {
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        line.clear();
        let n = (&mut input)
            .take(STREAM_MESSAGE_MAX as u64)
            .read_until(b'\n', &mut line)
            .context(|| "reading standard input".to_string())?;
        if n == 0 {
            break;
        }
        stream.write_message(&line).context(|| "writing to the stream".to_string())?;
        hasher.update(&line);
        bytes += n as u64;
        messages += 1;
    }
    stream.close().context(|| "closing the stream".to_string())?;
    loop {
        if interrupted() {
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        match sender.flush_timeout(Duration::from_millis(100)) {
            Ok(()) => break,
            Err(mcast::Error::Timeout) => {}
            Err(e) => return Err(Failure::new(format!("flushing: {e}"))),
        }
    }
    let ack = ask_for_acks(args, sender)?;
    let elapsed = start.elapsed();
    let stats = sender.stats();
    if !common.quiet && !args.report {
        eprintln!(
            "sent stream {name} ({messages} messages, {}) in {:.2} s; {} NACKs received, {} repair and {} parity segments sent",
            human_bytes(bytes),
            elapsed.as_secs_f64(),
            stats.nacks_received,
            stats.repair_segments_sent,
            stats.parity_segments_sent,
        );
    }
    if common.json || args.report {
        let summary = json!({
            "type": "summary",
            "command": "send",
            "ok": true,
            "group": group.addr().to_string(), "port": group.port(), "interface": group.interface(),
            "stream": {"name": name, "object_id": id, "messages": messages, "size": bytes, "sha256": hex(hasher.finalize().as_slice())},
            "ack": ack.as_ref().map(|a| json!({"acked": a.acked, "missing": a.missing})),
            "bytes": bytes,
            "elapsed_secs": elapsed.as_secs_f64(),
            "throughput_bps": bits_per_sec(bytes, elapsed),
            "stats": sender_stats_json(&stats),
        });
        if args.report {
            emit_line(&summary);
        } else {
            print_summary(&summary);
        }
    }
    Ok(ack)
}
