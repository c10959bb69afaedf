//! `mcast demo`: a complete transfer to several receivers over a private,
//! lossy IPv6 network that the command builds and removes itself.
//!
//! Where the network lives, in order of preference:
//! 1. `unshare`: the command re-executes itself under
//!    `unshare [--user --map-root-user] --net --mount --fork` with the hidden
//!    flag `--inside-namespace`. Inside, a private tmpfs on /run/netns lets
//!    `ip netns` create the hosts without touching the machine's namespaces,
//!    and everything disappears with the last process, even after kill -9.
//!    Works for an ordinary user where unprivileged user namespaces are
//!    allowed, and for root.
//! 2. `ip netns` as root, with names `mcast-demo-PID-*` in the machine's
//!    /run/netns, deleted on exit and on Ctrl-C.
//!
//! Either way the parent process itself stays in a namespace with no
//! network (case 1) or in its own (case 2) and sends nothing: the sender and
//! the receivers are `mcast send/recv --report` child processes started with
//! `ip netns exec`, which report progress as JSON lines on stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use crate::args::{Common, DemoArgs, Isolation};
use crate::netns::{find_tool, private_run_netns, Net, Tools};
use crate::util::{
    hex, human_bytes, human_rate, install_interrupt_handler, interrupted, interrupted_exit_code,
    sha256_file, want_progress, CliResult, Context, Failure,
};

const GROUP: &str = "ff3e::4d43";
const PORT: u16 = 6003;
/// How long receivers may take to join before the demo gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

pub fn run(common: &Common, args: &DemoArgs) -> CliResult {
    in_private_network("demo", args.isolation, args.inside_namespace, |prefix| inside(common, args, prefix))
}

/// Runs `inside` with a namespace name prefix in a private network: this
/// process re-executed under `unshare` (prefix `WHAT`), or, as root without
/// it, here with `ip netns` names `mcast-WHAT-PID-*` (see the module
/// documentation). `mcast demo` and `mcast bench` share it.
pub fn in_private_network(
    what: &str,
    isolation: Isolation,
    inside_namespace: bool,
    inside: impl FnOnce(&str) -> CliResult,
) -> CliResult {
    if inside_namespace {
        return inside(what);
    }
    let root = unsafe { libc::geteuid() } == 0;
    match isolation {
        Isolation::Unshare => reexec_in_unshare(root),
        Isolation::Netns if root => inside(&format!("mcast-{what}-{}", std::process::id())),
        Isolation::Netns => Err(Failure::new("--isolation netns needs root (ip netns add)")),
        Isolation::Auto => {
            if unshare_works(root) {
                reexec_in_unshare(root)
            } else if root {
                tracing::info!("unshare unavailable; using ip netns in the machine's /run/netns");
                inside(&format!("mcast-{what}-{}", std::process::id()))
            } else {
                Err(Failure::new(format!(
                    "mcast {what} needs its own network namespaces, and this system allows neither: \
                     unprivileged user namespaces are off (unshare --user --net failed; \
                     see `sysctl kernel.unprivileged_userns_clone` / `user.max_user_namespaces`, \
                     or an AppArmor restriction) and you are not root. \
                     Run it as root (sudo mcast {what}) or enable user namespaces."
                )))
            }
        }
    }
}

fn unshare_args(root: bool) -> Vec<&'static str> {
    // Root needs no user namespace; an ordinary user becomes root inside one
    // (mapped to itself), which is enough to build bridges and veths there.
    let mut a = vec![];
    if !root {
        a.extend(["--user", "--map-root-user"]);
    }
    a.extend(["--net", "--mount", "--fork", "--kill-child"]);
    a
}

fn unshare_works(root: bool) -> bool {
    let Some(unshare) = find_tool("unshare") else { return false };
    Command::new(unshare)
        .args(unshare_args(root))
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs this same command line again inside fresh namespaces and exits with
/// its status.
fn reexec_in_unshare(root: bool) -> CliResult {
    let unshare = find_tool("unshare")
        .ok_or_else(|| Failure::new("`unshare` (util-linux) is not installed; it is needed for the demo's private network"))?;
    let exe = std::env::current_exe().context(|| "cannot find the mcast executable".into())?;
    // Ctrl-C reaches the child too (same process group); we only wait for it
    // to clean up and report its status.
    install_interrupt_handler();
    let mut cmd = Command::new(unshare);
    cmd.args(unshare_args(root))
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .arg("--inside-namespace");
    die_with_parent(&mut cmd);
    let status = cmd.status().context(|| "cannot run unshare".into())?;
    std::process::exit(exit_code(status));
}

fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(1))
}

/// Children die with us even if we are killed outright, so nothing is left
/// running in (or keeping alive) the demo's namespaces.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// A process of the demo and what it has said.
struct Proc {
    label: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    eof: bool,
    status: Option<ExitStatus>,
    summary: Option<Value>,
    done_at: Option<Instant>,
    last_line: Option<String>,
}

enum Event {
    Json(usize, Value),
    Eof(usize),
}

struct Procs {
    list: Vec<Proc>,
    tx: mpsc::Sender<Event>,
    rx: mpsc::Receiver<Event>,
}

impl Procs {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Procs { list: Vec::new(), tx, rx }
    }

    fn spawn(&mut self, label: &str, mut cmd: Command, verbose: bool, multi: Option<MultiProgress>) -> CliResult<usize> {
        die_with_parent(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context(|| format!("cannot start the {label} process"))?;
        let idx = self.list.len();
        let stdout = child.stdout.take().expect("piped");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(Event::Json(idx, v)).is_err() {
                        break;
                    }
                }
            }
            let _ = tx.send(Event::Eof(idx));
        });
        // stderr is kept to explain a failure; with -v it is shown live.
        let buf = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("piped");
        let b = buf.clone();
        let prefix = label.to_string();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            let mut pending = String::new();
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]);
                b.lock().expect("not poisoned").push_str(&text);
                if verbose {
                    pending.push_str(&text);
                    while let Some(pos) = pending.find('\n') {
                        let line: String = pending.drain(..=pos).collect();
                        let line = format!("[{prefix}] {}", line.trim_end());
                        match &multi {
                            Some(m) => {
                                let _ = m.println(line);
                            }
                            None => eprintln!("{line}"),
                        }
                    }
                }
            }
        });
        self.list.push(Proc {
            label: label.to_string(),
            child,
            stderr: buf,
            eof: false,
            status: None,
            summary: None,
            done_at: None,
            last_line: None,
        });
        Ok(idx)
    }

    /// Reaps processes whose output has ended.
    fn reap(&mut self) {
        for p in &mut self.list {
            if p.status.is_none() {
                if let Ok(Some(st)) = p.child.try_wait() {
                    p.status = Some(st);
                }
            }
        }
    }

    fn finished(&self, idx: usize) -> bool {
        let p = &self.list[idx];
        p.eof && p.status.is_some()
    }

    fn error_text(&self, idx: usize) -> String {
        let p = &self.list[idx];
        let err = p.stderr.lock().expect("not poisoned").trim().to_string();
        let summary_err = p
            .summary
            .as_ref()
            .and_then(|s| s["error"].as_str().map(str::to_string))
            .unwrap_or_default();
        match (summary_err.is_empty(), err.is_empty()) {
            (false, _) => summary_err,
            (true, false) => err.lines().last().unwrap_or_default().to_string(),
            (true, true) => match p.status {
                Some(st) => format!("exited with {st}"),
                None => "still running".into(),
            },
        }
    }

    /// Stops everything still running: SIGTERM, a moment's grace, SIGKILL.
    fn stop_all(&mut self) {
        self.reap();
        for p in &mut self.list {
            if p.status.is_none() {
                unsafe {
                    libc::kill(p.child.id() as libc::pid_t, libc::SIGTERM);
                }
            }
        }
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline && self.list.iter().any(|p| p.status.is_none()) {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
        for p in &mut self.list {
            if p.status.is_none() {
                let _ = p.child.kill();
                p.status = p.child.wait().ok();
            }
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The demo's scratch directory; removed on drop.
pub struct WorkDir(pub PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `size` pseudo-random bytes (splitmix64, seeded from the clock so
/// each run sends different data) and returns their SHA-256.
pub fn generate_file(path: &Path, size: u64) -> std::io::Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut h = Sha256::new();
    let mut left = size;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            let v = next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        f.write_all(&buf[..n])?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    f.flush()?;
    Ok(h.finalize().into())
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).expect("valid template").progress_chars("=> ")
}

/// The demo proper, inside whatever namespaces `run` arranged.
fn inside(common: &Common, args: &DemoArgs, prefix: &str) -> CliResult {
    install_interrupt_handler();
    let private = args.inside_namespace;
    let say = |s: String| {
        if !common.quiet {
            eprintln!("{s}");
        }
    };
    let tools = Tools::find(args.loss > 0.0)?;
    if private {
        private_run_netns()?;
    } else if Path::new(&format!("/run/netns/{prefix}-sw")).exists() {
        return Err(Failure::new(format!("namespace {prefix}-sw already exists; remove it with `ip netns del`")));
    }
    let exe = std::env::current_exe().context(|| "cannot find the mcast executable".into())?;
    let rate = args.rate.unwrap_or(mcast::SenderConfig::default().rate_bps);
    let n = args.receivers;

    // Scratch space: the generated file and one output directory per receiver.
    let base = std::env::temp_dir().join(format!("mcast-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).context(|| format!("cannot create {}", base.display()))?;
    let work = WorkDir(base);
    let file_name = format!("demo-{}-bytes.bin", args.size);
    let source = work.0.join(&file_name);
    let t0 = Instant::now();
    let sha = generate_file(&source, args.size).context(|| format!("cannot write {}", source.display()))?;
    tracing::info!(elapsed = ?t0.elapsed(), "generated {}", source.display());

    say(format!(
        "mcast demo: {} to {n} receiver{} at {}, {}% loss injected on each receiver",
        human_bytes(args.size),
        if n == 1 { "" } else { "s" },
        human_rate(rate / 8, Duration::from_secs(1)),
        args.loss
    ));
    say(format!(
        "building a private network ({}): bridge + sender + {n} receiver namespaces ...",
        if private { "own user/network/mount namespaces" } else { "ip netns" }
    ));
    let net = Net::build(tools, prefix, n)?;
    if args.loss > 0.0 {
        for i in 1..=n {
            net.add_loss(&format!("r{i}"), args.loss, PORT)?;
        }
    }
    if interrupted() {
        return Err(Failure::with_code("interrupted", interrupted_exit_code()));
    }

    let show_bars = want_progress(common.quiet);
    let multi = MultiProgress::with_draw_target(if show_bars {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let verbosity: Vec<String> = (0..common.verbose).map(|_| "-v".to_string()).collect();
    let child_multi = show_bars.then(|| multi.clone());

    // Generous: ten times the nominal transfer time plus a minute, so a
    // slow CI machine does not fail the demo, but a hang still ends.
    let nominal = args.size as f64 * 8.0 / rate as f64;
    let recv_timeout = 60.0 + 10.0 * nominal;

    let mut procs = Procs::new();
    let mut bars = Vec::new();
    for i in 1..=n {
        let host = format!("r{i}");
        let out = work.0.join(&host);
        let mut cmd = net.command(&host, &exe);
        cmd.args(&verbosity).args(["recv", "--group", GROUP, "--port", &PORT.to_string(), "--interface", "eth0"])
            .arg("--out")
            .arg(&out)
            .args(["--count", "1", "--timeout", &format!("{recv_timeout:.0}"), "--report"]);
        procs.spawn(&host, cmd, common.verbose > 0, child_multi.clone())?;
        let bar = multi.add(ProgressBar::new(args.size));
        bar.set_style(bar_style("{prefix:>7} [{bar:40}] {bytes:>10}/{total_bytes:<10} {msg}"));
        bar.set_prefix(host);
        bar.set_message("joining");
        bars.push(bar);
    }

    // Wait until every receiver has joined the group, so none starts late.
    let mut ready = vec![false; n as usize];
    let deadline = Instant::now() + READY_TIMEOUT;
    while ready.iter().any(|r| !r) {
        if interrupted() {
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        match procs.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Json(i, v)) if v["type"] == "ready" => {
                ready[i] = true;
                bars[i].set_message("waiting");
            }
            Ok(Event::Json(..)) => {}
            Ok(Event::Eof(i)) => {
                procs.list[i].eof = true;
                let _ = procs.list[i].child.wait().map(|s| procs.list[i].status = Some(s));
                multi.clear().ok();
                return Err(Failure::new(format!(
                    "receiver {} failed to start: {}",
                    procs.list[i].label,
                    procs.error_text(i)
                )));
            }
            Err(_) if Instant::now() > deadline => {
                return Err(Failure::new(format!("receivers not ready after {} s", READY_TIMEOUT.as_secs())));
            }
            Err(_) => {}
        }
    }

    let sender_bar = multi.insert(0, ProgressBar::new(args.size));
    sender_bar.set_style(bar_style("{prefix:>7} [{bar:40}] {bytes:>10}/{total_bytes:<10} {msg}"));
    sender_bar.set_prefix("sender");
    sender_bar.set_message("starting");
    let mut cmd = net.command("s", &exe);
    cmd.args(&verbosity)
        .args(["send", "--group", GROUP, "--port", &PORT.to_string(), "--interface", "eth0"])
        .args(["--rate", &rate.to_string(), "--report"])
        .arg(&source);
    let start = Instant::now();
    let s_idx = procs.spawn("sender", cmd, common.verbose > 0, child_multi)?;
    if !show_bars {
        say(format!("sending {file_name} ..."));
    }

    // Follow everyone until all processes are over.
    let overall = Duration::from_secs_f64(recv_timeout + 30.0);
    let mut timed_out = false;
    loop {
        if interrupted() {
            multi.clear().ok();
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        procs.reap();
        if (0..procs.list.len()).all(|i| procs.finished(i)) {
            break;
        }
        if start.elapsed() > overall {
            timed_out = true;
            break;
        }
        let ev = match procs.rx.recv_timeout(Duration::from_millis(100)) {
            Ok(ev) => ev,
            Err(_) => continue,
        };
        match ev {
            Event::Eof(i) => procs.list[i].eof = true,
            Event::Json(i, v) if i == s_idx => match v["type"].as_str() {
                Some("progress") => {
                    sender_bar.set_position(v["sent"].as_u64().unwrap_or(0));
                    sender_bar.set_message("sending");
                }
                Some("summary") => {
                    sender_bar.set_position(args.size);
                    sender_bar.finish_with_message(format!("done in {:.2} s", start.elapsed().as_secs_f64()));
                    procs.list[i].done_at = Some(Instant::now());
                    procs.list[i].summary = Some(v);
                }
                _ => {}
            },
            Event::Json(i, v) => match v["type"].as_str() {
                Some("progress") => {
                    if let Some(o) = v["objects"].get(0) {
                        if let Some(t) = o["total"].as_u64() {
                            bars[i].set_length(t);
                        }
                        bars[i].set_position(o["received"].as_u64().unwrap_or(0));
                        bars[i].set_message("receiving");
                    }
                }
                Some("object") => {
                    let took = start.elapsed();
                    procs.list[i].done_at = Some(Instant::now());
                    bars[i].set_position(args.size);
                    bars[i].finish_with_message(format!(
                        "done in {:.2} s ({})",
                        took.as_secs_f64(),
                        human_rate(args.size, took)
                    ));
                    if !show_bars {
                        say(format!("{}: received in {:.2} s", procs.list[i].label, took.as_secs_f64()));
                    }
                }
                Some("aborted") => {
                    let line = format!("{}: object aborted: {}", procs.list[i].label, v["reason"]);
                    procs.list[i].last_line = Some(line.clone());
                    let _ = multi.println(line);
                }
                Some("summary") => procs.list[i].summary = Some(v),
                _ => {}
            },
        }
    }
    if timed_out {
        procs.stop_all();
    }
    for bar in bars.iter().chain(std::iter::once(&sender_bar)) {
        if !bar.is_finished() {
            bar.abandon_with_message("failed");
        }
    }

    // Verify every copy ourselves rather than trusting the receivers' word.
    let mut results = Vec::new();
    let mut failures = 0;
    for i in 1..=n as usize {
        let p = &procs.list[i - 1];
        let copy = work.0.join(&p.label).join(&file_name);
        let got = sha256_file(&copy).ok();
        let ok = got == Some(sha);
        if !ok {
            failures += 1;
        }
        let stats = p.summary.as_ref().map(|s| s["stats"].clone()).unwrap_or(Value::Null);
        let took = p.done_at.map(|t| t - start);
        let verdict = match got {
            Some(g) if g == sha => "OK".to_string(),
            Some(_) => "DIFFERENT".to_string(),
            None => format!("MISSING: {}", procs.error_text(i - 1)),
        };
        results.push(json!({
            "receiver": p.label,
            "ok": ok,
            "result": verdict,
            "sha256": got.map(|g| hex(&g)),
            "seconds": took.map(|t| t.as_secs_f64()),
            "throughput_bps": took.map(|t| args.size as f64 * 8.0 / t.as_secs_f64().max(1e-9)),
            "dropped_by_loss_rule": net.dropped(&p.label),
            "stats": stats,
        }));
    }
    let sender = &procs.list[s_idx];
    let sender_ok = sender.status.is_some_and(|s| s.success());
    let sender_stats = sender.summary.as_ref().map(|s| s["stats"].clone()).unwrap_or(Value::Null);
    let sender_secs = sender.done_at.map(|t| (t - start).as_secs_f64());

    if !common.quiet {
        print_report(&results, &sender_stats, sender_secs, args.size, &sha);
        if !sender_ok {
            eprintln!("sender failed: {}", procs.error_text(s_idx));
        }
        if timed_out {
            eprintln!("gave up after {:.0} s", overall.as_secs_f64());
        }
    }
    if common.json {
        crate::stats::print_summary(&json!({
            "command": "demo",
            "ok": failures == 0 && sender_ok,
            "file": file_name,
            "size": args.size,
            "sha256": hex(&sha),
            "receivers": results,
            "loss_percent": args.loss,
            "rate_bps": rate,
            "isolation": if private { "unshare" } else { "netns" },
            "sender": {"ok": sender_ok, "seconds": sender_secs, "stats": sender_stats},
        }));
    }
    // Processes first, then namespaces, then files (drop order matters).
    drop(procs);
    drop(net);
    drop(work);
    if failures > 0 {
        return Err(Failure::new(format!("{failures} of {n} copies are missing or differ from the original")));
    }
    if !sender_ok {
        return Err(Failure::new("the sender failed"));
    }
    Ok(())
}

fn num(v: &Value, key: &str) -> String {
    v[key].as_u64().map_or("-".into(), |x| x.to_string())
}

fn print_report(results: &[Value], sender: &Value, sender_secs: Option<f64>, size: u64, sha: &[u8; 32]) {
    eprintln!();
    eprintln!(
        "{:<8} {:<10} {:>8} {:>13} {:>8} {:>6} {:>6} {:>8} {:>8} {:>6}",
        "receiver", "result", "time", "throughput", "dropped", "NACKs", "suppr", "repairs", "parity", "FEC"
    );
    for r in results {
        let st = &r["stats"];
        let result = r["result"].as_str().unwrap_or("?");
        let short = if result.len() > 10 { &result[..7] } else { result };
        eprintln!(
            "{:<8} {:<10} {:>8} {:>13} {:>8} {:>6} {:>6} {:>8} {:>8} {:>6}",
            r["receiver"].as_str().unwrap_or("?"),
            short,
            r["seconds"].as_f64().map_or("-".into(), |s| format!("{s:.2} s")),
            r["seconds"]
                .as_f64()
                .map_or("-".into(), |s| human_rate(size, Duration::from_secs_f64(s.max(1e-9)))),
            num(r, "dropped_by_loss_rule"),
            num(st, "nacks_sent"),
            num(st, "nacks_suppressed"),
            num(st, "repair_segments_received"),
            num(st, "parity_segments_received"),
            num(st, "fec_recovered_segments"),
        );
        if result.len() > 10 {
            eprintln!("         {result}");
        }
    }
    eprintln!(
        "sender: {} datagrams ({}){}; {} NACKs received; {} repair and {} parity segments sent; GRTT {}",
        num(sender, "datagrams_sent"),
        sender["bytes_sent"].as_u64().map_or("-".into(), human_bytes),
        sender_secs.map_or(String::new(), |s| format!(" in {s:.2} s")),
        num(sender, "nacks_received"),
        num(sender, "repair_segments_sent"),
        num(sender, "parity_segments_sent"),
        sender["grtt_us"].as_u64().map_or("-".into(), |us| format!("{:.1} ms", us as f64 / 1000.0)),
    );
    let ok = results.iter().filter(|r| r["ok"] == true).count();
    if ok == results.len() {
        eprintln!("all {ok} copies are identical to the original (sha256 {})", &hex(sha)[..16]);
    } else {
        eprintln!("{} of {} copies are identical to the original", ok, results.len());
    }
}
