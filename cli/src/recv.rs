//! `mcast recv`: writes every DATA or FILE object received on the group into
//! a directory, named from its NORM_INFO (sanitized, see `names.rs`).
//!
//! `--timeout` bounds the whole run (not the time since the last packet): a
//! script that says `--count 3 --timeout 60` knows the command is over within
//! a minute, whatever the sender does.
//!
//! Exit status: 0 once `--count` objects are written (or on Ctrl-C when no
//! `--count` was given); 3 on timeout; 128+signal when interrupted before
//! `--count` was reached; 1 on any other error.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::args::{Common, RecvArgs};
use crate::names::{sanitize_name, NameBook};
use crate::stats::{emit_line, print_summary, receiver_stats_json};
use crate::util::{
    bits_per_sec, hex, human_bytes, human_rate, interrupted, interrupted_exit_code, sha256_bytes, sha256_file,
    want_progress, CliResult, Context, Failure,
};

/// Exit status for `--timeout` expiring.
pub const EXIT_TIMEOUT: i32 = 3;

/// How long one wait for an object lasts: the loop checks the deadline,
/// Ctrl-C and progress this often.
const POLL: Duration = Duration::from_millis(25);
/// Progress (bars and `--report` lines) is refreshed this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// One object written to the output directory.
struct Saved {
    name: String,
    path: PathBuf,
    size: u64,
    sha256: [u8; 32],
    object_id: u64,
    sender: String,
    /// The sender's NORM node id (several senders may share an address,
    /// and a sender's address may change; its node id stays).
    sender_node_id: u32,
    kind: &'static str,
    /// For a stream: bytes the sender's buffer lost before they could be repaired.
    lost_bytes: u64,
    /// With --trust: the public key that signed it (hexadecimal).
    signer: Option<String>,
}

/// A stream being written to the output directory (under a temporary name
/// until it ends).
struct StreamFile {
    tmp: PathBuf,
    file: fs::File,
    hasher: sha2::Sha256,
    size: u64,
    lost: u64,
    info: Vec<u8>,
}

impl Saved {
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "path": self.path,
            "size": self.size,
            "sha256": hex(&self.sha256),
            "object_id": self.object_id,
            "sender": self.sender,
            "sender_node_id": self.sender_node_id,
            "kind": self.kind,
            "lost_bytes": self.lost_bytes,
            "signer": self.signer,
        })
    }
}

enum End {
    Count,
    Timeout,
    Interrupted,
}

pub fn run(common: &Common, args: &RecvArgs) -> CliResult {
    let out = &args.out;
    fs::create_dir_all(out).context(|| format!("cannot create output directory {}", out.display()))?;
    // Fail now, not after the first 20 MB have arrived.
    check_writable(out)?;

    let (key, seal_max_age) = args.seal.load().map_err(Failure::new)?;
    let g = &args.group;
    let group = g.resolve()?.with_sources(&args.sources)?;
    let ctx = crate::util::context(g)?;
    let trusted_signers = args.trust.iter().map(|t| crate::args::load_public_key(t)).collect::<Result<Vec<_>, _>>().map_err(Failure::new)?;
    let config = mcast::ReceiverConfig {
        key,
        seal_max_age,
        trusted_signers,
        unicast_nacks: args.unicast_nacks,
        silent: args.silent,
        node_id: args.node_id,
        sync_policy: if args.sync == "current" { mcast::SyncPolicy::Current } else { mcast::SyncPolicy::All },
        // FILE objects stream to disk there (whatever their size, memory
        // holds only incomplete blocks) and are renamed into place.
        file_dir: Some(out.clone()),
        ..Default::default()
    };
    let receiver = ctx.receiver(&group, config)?;
    let start = Instant::now();
    let deadline = args.timeout.map(|t| start + t);
    if args.report {
        emit_line(&json!({"type": "ready"}));
    } else if !common.quiet {
        eprintln!(
            "listening on [{}]:{} via {}; writing to {}{}",
            group.addr(),
            group.port(),
            group.interface(),
            out.display(),
            match args.count {
                Some(n) => format!(" (until {n} object{})", if n == 1 { "" } else { "s" }),
                None => " (Ctrl-C to stop)".into(),
            }
        );
    }

    let multi = want_progress(common.quiet).then(MultiProgress::new);
    let mut bars: HashMap<(String, u64), ProgressBar> = HashMap::new();
    let mut book = NameBook::default();
    let mut saved: Vec<Saved> = Vec::new();
    let mut streams: HashMap<(u32, u64), StreamFile> = HashMap::new();
    let mut aborted: Vec<Value> = Vec::new();
    let mut rejected: Vec<Value> = Vec::new();
    let mut first_data: Option<Instant> = None;
    let mut last_object: Option<Instant> = None;
    let mut last_progress = start;

    let end = loop {
        if interrupted() {
            break End::Interrupted;
        }
        if args.count.is_some_and(|n| saved.len() as u64 >= n) {
            break End::Count;
        }
        let now = Instant::now();
        let wait = match deadline {
            Some(d) if now >= d => break End::Timeout,
            Some(d) => POLL.min(d - now),
            None => POLL,
        };
        match receiver.recv_timeout(wait) {
            Ok(msg) if msg.kind == mcast::ObjectKind::Stream && !msg.stream_end => {
                stream_piece(out, &mut book, &mut streams, &msg)?;
            }
            Ok(msg) => {
                let s = if msg.kind == mcast::ObjectKind::Stream {
                    stream_piece(out, &mut book, &mut streams, &msg)?.expect("a stream's end saves it")
                } else {
                    save(out, &mut book, &msg, args.no_digest)?
                };
                if s.lost_bytes > 0 && !common.quiet {
                    eprintln!("mcast: warning: stream {} lost {} bytes that could not be repaired", s.name, s.lost_bytes);
                }
                last_object = Some(Instant::now());
                if let Some(bar) = bars.remove(&(format!("{:?}", msg.sender), msg.object_id)) {
                    bar.finish_and_clear();
                }
                if args.report {
                    let mut v = s.json();
                    v["type"] = json!("object");
                    emit_line(&v);
                } else if !common.quiet {
                    let line = format!(
                        "received {} ({}, sha256 {}) from {} (node {}){}",
                        s.name,
                        human_bytes(s.size),
                        &hex(&s.sha256)[..16],
                        s.sender,
                        s.sender_node_id,
                        s.signer.as_ref().map_or(String::new(), |k| format!(", signed by {}", &k[..16]))
                    );
                    match &multi {
                        Some(m) => {
                            let _ = m.println(line);
                        }
                        None => eprintln!("{line}"),
                    }
                }
                saved.push(s);
            }
            Err(mcast::Error::Timeout) => {}
            Err(mcast::Error::Aborted { sender, sender_node_id, object_id, reason }) => {
                // The sender gave up on (or no longer has) this object; it
                // will never arrive, so say so instead of waiting silently.
                let text = format!("object {object_id} from {sender} (node {sender_node_id}) aborted: {reason}");
                if args.report {
                    emit_line(&json!({"type": "aborted", "object_id": object_id,
                        "sender": sender.to_string(), "sender_node_id": sender_node_id, "reason": reason.to_string()}));
                } else if !common.quiet {
                    eprintln!("mcast: warning: {text}");
                }
                aborted.push(json!({"object_id": object_id, "sender": sender.to_string(),
                    "sender_node_id": sender_node_id, "reason": reason.to_string()}));
            }
            Err(mcast::Error::Rejected { sender, sender_node_id, reason }) => {
                // A sealed channel's key is missing or differs, someone
                // sends forgeries, or (--trust) objects are not signed by a
                // trusted key: said once per source and reason, then counted.
                if args.report {
                    emit_line(&json!({"type": "rejected", "sender": sender.to_string(), "sender_node_id": sender_node_id, "reason": reason}));
                } else if !common.quiet {
                    eprintln!("mcast: warning: refusing {sender} (node {sender_node_id}): {reason}");
                }
                rejected.push(json!({"sender": sender.to_string(), "node_id": sender_node_id,
                    "sender_node_id": sender_node_id, "reason": reason}));
            }
            Err(e) => return Err(Failure::new(format!("receiving: {e}"))),
        }

        if first_data.is_none() && receiver.stats().datagrams_received > 0 {
            first_data = Some(Instant::now());
        }
        if last_progress.elapsed() >= PROGRESS_EVERY && (multi.is_some() || args.report) {
            last_progress = Instant::now();
            let progress = receiver.progress();
            if args.report && !progress.is_empty() {
                let objects: Vec<Value> = progress
                    .iter()
                    .map(|p| {
                        json!({
                            "object_id": p.object_id,
                            "name": sanitize_name(&p.info, p.object_id),
                            "received": p.received_bytes,
                            "total": p.total_bytes,
                        })
                    })
                    .collect();
                emit_line(&json!({"type": "progress", "objects": objects}));
            }
            if let Some(m) = &multi {
                for p in &progress {
                    let Some(total) = p.total_bytes.filter(|&t| t >= crate::PROGRESS_MIN_BYTES) else {
                        continue;
                    };
                    let bar = bars.entry((format!("{:?}", p.sender), p.object_id)).or_insert_with(|| {
                        let bar = m.add(ProgressBar::new(total));
                        bar.set_style(
                            ProgressStyle::with_template(
                                "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
                            )
                            .expect("valid template")
                            .progress_chars("=> "),
                        );
                        bar
                    });
                    bar.set_prefix(sanitize_name(&p.info, p.object_id));
                    bar.set_position(p.received_bytes.min(total));
                }
            }
        }
    };

    for (_, bar) in bars.drain() {
        bar.finish_and_clear();
    }
    // Streams that did not end are not written under their names.
    for (_, st) in streams.drain() {
        let _ = fs::remove_file(&st.tmp);
        if !common.quiet {
            eprintln!("mcast: warning: stream {} did not end ({} bytes received, not saved)", sanitize_name(&st.info, 0), st.size);
        }
    }
    let elapsed = start.elapsed();
    let stats = receiver.stats();
    let bytes: u64 = saved.iter().map(|s| s.size).sum();
    // Throughput over the transfer itself, not the time spent waiting for
    // the sender to start.
    let transfer = match (first_data, last_object) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => Duration::ZERO,
    };
    let error = match end {
        End::Count | End::Interrupted if args.count.is_none() => None,
        End::Count => None,
        End::Interrupted => Some(format!(
            "interrupted after {} of {} objects",
            saved.len(),
            args.count.unwrap_or(0)
        )),
        End::Timeout => Some(format!(
            "timed out after {:.1} s: received {} of {} objects{}",
            args.timeout.unwrap_or_default().as_secs_f64(),
            saved.len(),
            args.count.map_or("?".into(), |n| n.to_string()),
            if stats.datagrams_received == 0 {
                format!(
                    " (nothing at all arrived: is a sender running on [{}]:{} and is {} the right interface?)",
                    group.addr(), group.port(), group.interface()
                )
            } else {
                String::new()
            }
        )),
    };

    if !common.quiet && !args.report && error.is_none() {
        eprintln!(
            "received {} object{} ({}) in {:.2} s, {}; {} NACKs sent, {} repair and {} parity segments received",
            saved.len(),
            if saved.len() == 1 { "" } else { "s" },
            human_bytes(bytes),
            elapsed.as_secs_f64(),
            human_rate(bytes, transfer),
            stats.nacks_sent,
            stats.repair_segments_received,
            stats.parity_segments_received,
        );
    }
    if common.json || args.report {
        let summary = json!({
            "type": "summary",
            "command": "recv",
            "ok": error.is_none(),
            "error": error,
            "group": group.addr().to_string(), "port": group.port(), "interface": group.interface(),
            "out": out,
            "files": saved.iter().map(Saved::json).collect::<Vec<_>>(),
            "aborted": aborted,
            "rejected": rejected,
            "objects": saved.len(),
            "bytes": bytes,
            "elapsed_secs": elapsed.as_secs_f64(),
            "transfer_secs": transfer.as_secs_f64(),
            "throughput_bps": bits_per_sec(bytes, transfer),
            "stats": receiver_stats_json(&stats),
            "node_id": receiver.node_id(),
            "max_rss_kib": crate::util::max_rss_kib(),
        });
        if args.report {
            emit_line(&summary);
        } else {
            print_summary(&summary);
        }
    }
    drop(receiver);
    ctx.close();
    match (end, error) {
        (_, None) => Ok(()),
        (End::Timeout, Some(e)) => Err(Failure::with_code(e, EXIT_TIMEOUT)),
        (End::Interrupted, Some(e)) => Err(Failure::with_code(e, interrupted_exit_code())),
        (_, Some(e)) => Err(Failure::new(e)),
    }
}

fn kind_name(kind: mcast::ObjectKind) -> &'static str {
    match kind {
        mcast::ObjectKind::Data => "data",
        mcast::ObjectKind::File => "file",
        mcast::ObjectKind::Stream => "stream",
    }
}

/// Writes one object: to a temporary name in the same directory first, then
/// renamed, so that nobody (a script polling the directory, a later `cmp`)
/// ever sees a half-written file under the final name.
fn save(out: &Path, book: &mut NameBook, msg: &mcast::Message, no_digest: bool) -> CliResult<Saved> {
    if let Some(file) = &msg.path {
        return save_file(out, book, msg, file, no_digest);
    }
    let sha = sha256_bytes(&msg.data);
    let wanted = sanitize_name(&msg.info, msg.object_id);
    let name = book.claim(&wanted, sha);
    let path = out.join(&name);
    let tmp = out.join(format!(".mcast-part-{}-{}", std::process::id(), msg.object_id));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&msg.data)?;
        f.flush()?;
        fs::rename(&tmp, &path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(Failure::new(format!("writing {}: {e}", path.display())));
    }
    tracing::info!(name = %name, size = msg.data.len(), object_id = msg.object_id, "saved");
    Ok(Saved {
        name,
        path,
        size: msg.data.len() as u64,
        sha256: sha,
        object_id: msg.object_id,
        sender: msg.sender.to_string(),
        sender_node_id: msg.sender_node_id,
        kind: kind_name(msg.kind),
        lost_bytes: 0,
        signer: msg.signer.map(|k| k.to_hex()),
    })
}

/// Names a FILE object the engine wrote to `file` (in `out`, as
/// `ReceiverConfig::file_dir`): renamed to its name, whole or not at all.
fn save_file(out: &Path, book: &mut NameBook, msg: &mcast::Message, file: &Path, no_digest: bool) -> CliResult<Saved> {
    let done = || -> std::io::Result<([u8; 32], u64)> {
        let sha = if no_digest { [0; 32] } else { sha256_file(file)? };
        Ok((sha, fs::metadata(file)?.len()))
    };
    let (sha, size) = done().map_err(|e| {
        let _ = fs::remove_file(file);
        Failure::new(format!("reading {}: {e}", file.display()))
    })?;
    let name = book.claim(&sanitize_name(&msg.info, msg.object_id), sha);
    let path = out.join(&name);
    if let Err(e) = fs::rename(file, &path) {
        let _ = fs::remove_file(file);
        return Err(Failure::new(format!("writing {}: {e}", path.display())));
    }
    tracing::info!(name = %name, size, object_id = msg.object_id, "saved");
    Ok(Saved {
        name,
        path,
        size,
        sha256: sha,
        object_id: msg.object_id,
        sender: msg.sender.to_string(),
        sender_node_id: msg.sender_node_id,
        kind: kind_name(msg.kind),
        lost_bytes: 0,
        signer: msg.signer.map(|k| k.to_hex()),
    })
}

/// Appends a piece of a stream to its file; at the stream's end renames the
/// file to its name (from NORM_INFO) and returns it as saved.
fn stream_piece(
    out: &Path,
    book: &mut NameBook,
    streams: &mut HashMap<(u32, u64), StreamFile>,
    msg: &mcast::Message,
) -> CliResult<Option<Saved>> {
    use sha2::Digest;
    // By node id, not address: a sender's source address may change (and
    // anyone can send copies of its packets from elsewhere), while its
    // stream stays one stream with one file.
    let key = (msg.sender_node_id, msg.object_id);
    if !streams.contains_key(&key) {
        let tmp = out.join(format!(".mcast-part-{}-{}-{}", std::process::id(), msg.sender_node_id, msg.object_id));
        let file = fs::File::create(&tmp).context(|| format!("creating {}", tmp.display()))?;
        streams.insert(key, StreamFile { tmp, file, hasher: sha2::Sha256::new(), size: 0, lost: 0, info: msg.info.clone() });
    }
    let st = streams.get_mut(&key).expect("inserted");
    if st.info.is_empty() {
        // A receiver that joined late gets the name once it asked for it.
        st.info = msg.info.clone();
    }
    if msg.lost_before > 0 {
        tracing::warn!(object_id = msg.object_id, lost = msg.lost_before, "stream data lost");
        st.lost += msg.lost_before;
    }
    if !msg.data.is_empty() {
        st.file.write_all(&msg.data).context(|| format!("writing {}", st.tmp.display()))?;
        st.hasher.update(&msg.data);
        st.size += msg.data.len() as u64;
    }
    if !msg.stream_end {
        return Ok(None);
    }
    let st = streams.remove(&key).expect("present");
    let sha: [u8; 32] = st.hasher.finalize().into();
    let name = book.claim(&sanitize_name(&st.info, msg.object_id), sha);
    let path = out.join(&name);
    drop(st.file);
    fs::rename(&st.tmp, &path).context(|| format!("writing {}", path.display()))?;
    Ok(Some(Saved {
        name,
        path,
        size: st.size,
        sha256: sha,
        object_id: msg.object_id,
        sender: msg.sender.to_string(),
        sender_node_id: msg.sender_node_id,
        kind: "stream",
        lost_bytes: st.lost,
        signer: msg.signer.map(|k| k.to_hex()),
    }))
}

/// Fails early, with the directory's name, if we cannot create files in it.
fn check_writable(dir: &Path) -> CliResult {
    let probe = dir.join(format!(".mcast-probe-{}", std::process::id()));
    fs::File::create(&probe).context(|| format!("cannot write to output directory {}", dir.display()))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}
