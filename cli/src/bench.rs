//! `mcast bench`: goodput measured side by side in one private lab (the
//! demo's: a bridge, a sender `s` and receivers `r1..rN`, see netns.rs).
//!
//! Runs, each moving the same generated file (or as many bytes, for the
//! blast) from `s` to every receiver:
//! 1. a raw UDP multicast blast (`mcast blast`, sendmmsg batches, no
//!    reliability): the most this machine moves over the lab;
//! 2. mcast with no loss;
//! 3. with `--loss` % independent loss on each receiver (nftables): mcast at
//!    a fixed rate (as libnorm and uftp run), mcast with NORM-CC (its
//!    default), libnorm (tests/interop/normpeer.cpp, built when libnorm-dev
//!    and g++ are there) and uftp (when installed).
//!
//! A receiver's time is from the sender's start to the receiver process's
//! exit with the whole file (the blast: first to last datagram received);
//! goodput is the file's size over that time. Every tool gets the same rate
//! cap. The ratios of the targets are printed with the verdict, and
//! `--json` gives everything to scripts.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::{BenchArgs, BlastArgs, Common};
use crate::demo::{die_with_parent, generate_file, in_private_network, WorkDir};
use crate::netns::{find_tool, private_run_netns, Net, Tools};
use crate::util::{install_interrupt_handler, interrupted, interrupted_exit_code, CliResult, Context, Failure};

const GROUP: &str = "ff3e::4d43:be";
/// Each run has its own port, so that loss rules (per port) apply only to
/// the lossy runs.
const PORT_BLAST: u16 = 6401;
const PORT_CLEAN: u16 = 6402;
const PORT_FIXED: u16 = 6403;
const PORT_CC: u16 = 6404;
const PORT_NORM: u16 = 6405;
const PORT_UFTP: u16 = 6406;
/// The libnorm peer, built from source when libnorm-dev is installed.
const NORMPEER_SRC: &str = include_str!("../../tests/interop/normpeer.cpp");

pub fn run(common: &Common, args: &BenchArgs) -> CliResult {
    in_private_network("bench", args.isolation, args.inside_namespace, |prefix| inside(common, args, prefix))
}

/// One receiver's outcome in one run.
struct RxResult {
    secs: Option<f64>,
    bytes: u64,
}

struct RunResult {
    name: String,
    note: String,
    receivers: Vec<RxResult>,
    extra: Value,
}

impl RunResult {
    fn goodputs(&self) -> Vec<Option<f64>> {
        self.receivers.iter().map(|r| r.secs.filter(|s| *s > 0.0).map(|s| r.bytes as f64 * 8.0 / s)).collect()
    }
    /// The slowest receiver's goodput (None if one did not finish).
    fn worst(&self) -> Option<f64> {
        self.goodputs().into_iter().try_fold(f64::INFINITY, |m, g| g.map(|g| m.min(g)))
    }
    /// When the last receiver had everything.
    fn last_secs(&self) -> Option<f64> {
        self.receivers.iter().try_fold(0.0f64, |m, r| r.secs.map(|s| m.max(s)))
    }
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "note": self.note,
            "receivers": self.receivers.iter().zip(self.goodputs()).enumerate().map(|(i, (r, g))| json!({
                "host": format!("r{}", i + 1), "complete": r.secs.is_some(), "secs": r.secs, "bytes": r.bytes, "goodput_bps": g,
            })).collect::<Vec<_>>(),
            "worst_goodput_bps": self.worst(),
            "last_secs": self.last_secs(),
            "extra": self.extra,
        })
    }
}

fn inside(common: &Common, args: &BenchArgs, prefix: &str) -> CliResult {
    install_interrupt_handler();
    let say = |s: String| {
        if !common.quiet {
            eprintln!("{s}");
        }
    };
    let tools = Tools::find(args.loss > 0.0)?;
    if args.inside_namespace {
        private_run_netns()?;
    } else if Path::new(&format!("/run/netns/{prefix}-sw")).exists() {
        return Err(Failure::new(format!("namespace {prefix}-sw already exists; remove it with `ip netns del`")));
    }
    let exe = std::env::current_exe().context(|| "cannot find the mcast executable".into())?;
    let base = std::env::temp_dir().join(format!("mcast-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).context(|| format!("cannot create {}", base.display()))?;
    let work = WorkDir(base);
    let file = work.0.join("bench.bin");
    generate_file(&file, args.size).context(|| format!("cannot write {}", file.display()))?;
    let normpeer = find_normpeer(args, &work.0, &say);
    let uftp = (find_tool("uftp"), find_tool("uftpd"));

    let n = args.receivers;
    say(format!(
        "mcast bench: {} bytes to {n} receivers, {}-byte segments, rate cap {} bit/s, lossy runs at {} % per receiver",
        args.size, args.segment, args.rate, args.loss
    ));
    let net = Net::build(tools, prefix, n)?;
    for i in (1..=n).filter(|_| args.loss > 0.0) {
        for port in [PORT_FIXED, PORT_CC, PORT_NORM, PORT_UFTP] {
            net.add_loss(&format!("r{i}"), args.loss, port)?;
        }
    }
    let b = Bench { net: &net, exe: &exe, args, work: &work.0, file: &file };
    let mut runs = Vec::new();
    let mut step = |name: &str, f: &dyn Fn() -> CliResult<RunResult>| -> CliResult {
        if interrupted() {
            return Err(Failure::with_code("interrupted", interrupted_exit_code()));
        }
        // Each run `--repeat` times; the one with the median completion
        // time stands (these numbers are noisy on small machines).
        let mut tries = Vec::new();
        for i in 0..args.repeat.max(1) {
            say(format!("  {name}{} ...", if args.repeat > 1 { format!(" ({}/{})", i + 1, args.repeat) } else { String::new() }));
            let r = f()?;
            say(format!("    {}", summary_line(&r)));
            tries.push(r);
        }
        tries.sort_by(|a, b| a.last_secs().unwrap_or(f64::INFINITY).total_cmp(&b.last_secs().unwrap_or(f64::INFINITY)));
        runs.push(tries.swap_remove(tries.len() / 2));
        Ok(())
    };
    step("raw UDP blast", &|| b.blast())?;
    step("mcast, no loss", &|| b.mcast("mcast, no loss", PORT_CLEAN, false))?;
    let lossy = format!("{} % loss", args.loss);
    step(&format!("mcast, {lossy}, fixed rate"), &|| b.mcast(&format!("mcast, {lossy}, fixed rate"), PORT_FIXED, true))?;
    step(&format!("mcast, {lossy}, NORM-CC"), &|| b.mcast(&format!("mcast, {lossy}, NORM-CC"), PORT_CC, false))?;
    let name = format!("libnorm, {lossy}");
    match &normpeer {
        Some(p) => step(&name, &|| b.libnorm(&name, p))?,
        None => step(&name, &|| Ok(skipped(&name, "libnorm-dev or g++ not installed", n)))?,
    }
    let name = format!("uftp, {lossy}");
    match &uftp {
        (Some(tx), Some(rx)) => step(&name, &|| b.uftp(&name, tx, rx))?,
        _ => step(&name, &|| Ok(skipped(&name, "uftp not installed", n)))?,
    }
    drop(net);

    let targets = targets(&runs, args.loss);
    if args.json {
        let out = json!({
            "config": {"receivers": n, "bytes": args.size, "segment": args.segment, "loss_percent": args.loss, "rate_cap_bps": args.rate, "repeat": args.repeat},
            "machine": machine(),
            "runs": runs.iter().map(RunResult::json).collect::<Vec<_>>(),
            "targets": targets,
        });
        println!("{out}");
    } else {
        print_table(&runs, &targets, n);
    }
    Ok(())
}

fn skipped(name: &str, why: &str, n: u32) -> RunResult {
    RunResult {
        name: name.into(),
        note: format!("skipped: {why}"),
        receivers: (0..n).map(|_| RxResult { secs: None, bytes: 0 }).collect(),
        extra: Value::Null,
    }
}

struct Bench<'a> {
    net: &'a Net,
    exe: &'a Path,
    args: &'a BenchArgs,
    work: &'a Path,
    file: &'a Path,
}

impl Bench<'_> {
    /// Receivers that each got the whole file, after `secs` (None: never).
    fn whole_file(&self, secs: Vec<Option<f64>>) -> Vec<RxResult> {
        secs.into_iter().map(|s| RxResult { secs: s, bytes: self.args.size }).collect()
    }

    fn hosts(&self) -> Vec<String> {
        (1..=self.args.receivers).map(|i| format!("r{i}")).collect()
    }

    /// Generous: ten times the file at a tenth of the cap, at least 5 min.
    fn timeout(&self) -> u64 {
        (self.args.size as f64 * 8.0 / (self.args.rate as f64 / 100.0)).max(300.0) as u64
    }

    fn spawn(&self, host: &str, program: &Path, args: &[String], out: &Path) -> CliResult<Child> {
        let mut cmd = self.net.command(host, program);
        cmd.args(args).stdin(Stdio::null());
        cmd.stdout(std::fs::File::create(out.with_extension("out")).context(|| "bench output file".into())?);
        cmd.stderr(std::fs::File::create(out.with_extension("err")).context(|| "bench output file".into())?);
        die_with_parent(&mut cmd);
        cmd.spawn().context(|| format!("cannot start {} in {host}", program.display()))
    }

    /// Waits (at most `timeout`) until every child exited; returns each
    /// one's exit time since `t0` if it succeeded.
    fn wait_all(&self, children: &mut [Child], t0: Instant, timeout: Duration) -> Vec<Option<f64>> {
        let mut done: Vec<Option<Option<f64>>> = vec![None; children.len()];
        while done.iter().any(Option::is_none) && t0.elapsed() < timeout && !interrupted() {
            for (c, d) in children.iter_mut().zip(done.iter_mut()) {
                if d.is_none() {
                    if let Ok(Some(st)) = c.try_wait() {
                        *d = Some(st.success().then(|| t0.elapsed().as_secs_f64()));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        for (c, d) in children.iter_mut().zip(done.iter_mut()) {
            if d.is_none() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        done.into_iter().map(Option::flatten).collect()
    }

    fn wait_joined(&self, port_group: &str) -> CliResult {
        for host in self.hosts() {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let out = Command::new("ip")
                    .args(["-n", &self.net.ns(&host), "-6", "maddr", "show", "dev", "eth0"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if out.contains(port_group) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Failure::new(format!("{host} did not join {port_group} within 20 s")));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // The join is in place; give the receiving socket a moment.
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    }

    fn blast(&self) -> CliResult<RunResult> {
        let dir = self.work.join("blast");
        std::fs::create_dir_all(&dir).context(|| "bench directory".into())?;
        let common = |role: &str| -> Vec<String> {
            [role, "--group", GROUP, "--port", &PORT_BLAST.to_string(), "--interface", "eth0", "--segment", &self.args.segment.to_string()]
                .map(String::from)
                .to_vec()
        };
        let mut rx = Vec::new();
        for host in self.hosts() {
            let mut a = vec!["blast".to_string()];
            a.extend(common("recv"));
            rx.push(self.spawn(&host, self.exe, &a, &dir.join(&host))?);
        }
        self.wait_joined(GROUP)?;
        let mut a = vec!["blast".to_string()];
        a.extend(common("send"));
        a.extend(["--bytes".into(), self.args.size.to_string()]);
        let t0 = Instant::now();
        let mut tx = vec![self.spawn("s", self.exe, &a, &dir.join("s"))?];
        self.wait_all(&mut tx, t0, Duration::from_secs(self.timeout()));
        self.wait_all(&mut rx, t0, Duration::from_secs(30));
        let receivers = self
            .hosts()
            .iter()
            .map(|h| {
                let v: Value = std::fs::read_to_string(dir.join(h).with_extension("out"))
                    .ok()
                    .and_then(|s| serde_json::from_str(s.trim()).ok())
                    .unwrap_or(Value::Null);
                RxResult { secs: v["secs"].as_f64(), bytes: v["bytes"].as_u64().unwrap_or(0) }
            })
            .collect();
        Ok(RunResult {
            name: "raw UDP blast".into(),
            note: "no reliability: goodput is what each receiver got (first to last datagram)".into(),
            receivers,
            extra: Value::Null,
        })
    }

    fn mcast(&self, name: &str, port: u16, fixed: bool) -> CliResult<RunResult> {
        let dir = self.work.join(format!("mcast-{port}"));
        std::fs::create_dir_all(&dir).context(|| "bench directory".into())?;
        let group_args = |role: &str| -> Vec<String> {
            [role, "--group", GROUP, "--port", &port.to_string(), "--interface", "eth0", "--quiet", "--json"].map(String::from).to_vec()
        };
        let mut rx = Vec::new();
        for host in self.hosts() {
            let mut a = group_args("recv");
            a.extend(["--out".into(), dir.join(&host).display().to_string(), "--count".into(), "1".into(), "--no-digest".into()]);
            a.extend(["--timeout".into(), self.timeout().to_string()]);
            rx.push(self.spawn(&host, self.exe, &a, &dir.join(format!("{host}.log")))?);
        }
        self.wait_joined(GROUP)?;
        let mut a = group_args("send");
        a.extend(["--rate".into(), self.args.rate.to_string(), "--segment".into(), self.args.segment.to_string()]);
        if fixed {
            a.push("--fixed-rate".into());
        }
        a.push(self.file.display().to_string());
        let t0 = Instant::now();
        let mut tx = vec![self.spawn("s", self.exe, &a, &dir.join("s.log"))?];
        let secs = self.wait_all(&mut rx, t0, Duration::from_secs(self.timeout()));
        self.wait_all(&mut tx, t0, Duration::from_secs(60));
        let read = |name: &str| -> Value {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .and_then(|s| serde_json::from_str(&s).ok().or_else(|| s.lines().last().and_then(|l| serde_json::from_str(l).ok())))
                .unwrap_or(Value::Null)
        };
        let sender = read("s.out");
        let rxs: Vec<Value> = self.hosts().iter().map(|h| read(&format!("{h}.out"))).collect();
        let _ = std::fs::remove_dir_all(&dir);
        // What each receiver needed: the data segments it lost in the first
        // pass. Its stats give two lower bounds of that (segments it got
        // from FEC; segments of the file it never received as data, repairs
        // included), so the larger is used and the ratio below errs high.
        // Repairs are every segment the sender sent as a repair (parity or
        // data; the parity count includes them).
        let seg = self.args.segment as u64;
        let segments = self.args.size.div_ceil(seg);
        let needs: Vec<u64> = rxs
            .iter()
            .map(|v| {
                let st = &v["stats"];
                let fec = st["fec_recovered_segments"].as_u64().unwrap_or(0);
                fec.max(segments.saturating_sub(st["data_segments_received"].as_u64().unwrap_or(0)))
            })
            .collect();
        let st = &sender["stats"];
        let repairs = st["repair_segments_sent"].as_u64().unwrap_or(0);
        Ok(RunResult {
            name: name.into(),
            note: if fixed { "NORM-CC off (--fixed-rate), as libnorm and uftp run".into() } else { "NORM-CC (the default)".into() },
            receivers: self.whole_file(secs),
            extra: json!({
                "repair_segments": repairs,
                "needed_segments": needs,
                "sender_final_rate_bps": st["tx_rate_bps"],
                "sender_stats": st,
            }),
        })
    }

    fn libnorm(&self, name: &str, normpeer: &Path) -> CliResult<RunResult> {
        let dir = self.work.join("libnorm");
        std::fs::create_dir_all(&dir).context(|| "bench directory".into())?;
        let group_args = |role: &str| -> Vec<String> {
            [role, "--group", GROUP, "--port", &PORT_NORM.to_string(), "--interface", "eth0"].map(String::from).to_vec()
        };
        let mut rx = Vec::new();
        for host in self.hosts() {
            let out = dir.join(&host);
            std::fs::create_dir_all(&out).context(|| "bench directory".into())?;
            let mut a = group_args("recv");
            a.extend(["--out".into(), out.display().to_string(), "--count".into(), "1".into()]);
            a.extend(["--timeout".into(), self.timeout().to_string(), "--socket-buffer".into(), "4194304".into()]);
            rx.push(self.spawn(&host, normpeer, &a, &dir.join(format!("{host}.log")))?);
        }
        self.wait_joined(GROUP)?;
        let mut a = group_args("send");
        a.extend(["--rate".into(), self.args.rate.to_string(), "--segment".into(), self.args.segment.to_string()]);
        a.push(self.file.display().to_string());
        let t0 = Instant::now();
        let mut tx = vec![self.spawn("s", normpeer, &a, &dir.join("s.log"))?];
        let secs = self.wait_all(&mut rx, t0, Duration::from_secs(self.timeout()));
        self.wait_all(&mut tx, t0, Duration::from_secs(30));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(RunResult {
            name: name.into(),
            note: "NRL libnorm (normpeer): 64-segment blocks, 16 parity, repairs on demand, fixed rate".into(),
            receivers: self.whole_file(secs),
            extra: Value::Null,
        })
    }

    fn uftp(&self, name: &str, uftp: &Path, uftpd: &Path) -> CliResult<RunResult> {
        let dir = self.work.join("uftp");
        std::fs::create_dir_all(&dir).context(|| "bench directory".into())?;
        let port = PORT_UFTP.to_string();
        let mut rx = Vec::new();
        for (i, host) in self.hosts().iter().enumerate() {
            let out = dir.join(host);
            std::fs::create_dir_all(&out).context(|| "bench directory".into())?;
            // uftp needs an interface address that is not link-local.
            let addr = format!("fd6d:6361:7374:de::{:x}", i + 2);
            // -d: in the foreground; -t: a file gets its name once complete.
            let a: Vec<String> =
                ["-d", "-t", "-I", &addr, "-p", &port, "-M", GROUP, "-B", "4194304", "-D", &out.display().to_string()]
                    .map(String::from)
                    .to_vec();
            rx.push(self.spawn(host, uftpd, &a, &dir.join(format!("{host}.log")))?);
        }
        self.wait_joined(GROUP)?;
        let kbps = (self.args.rate / 1000).to_string();
        let a: Vec<String> = [
            "-I", "fd6d:6361:7374:de::1", "-p", &port, "-M", GROUP, "-P", "ff3e::4d43:bf", "-R", &kbps, "-b",
            &self.args.segment.to_string(), "-Y", "none", "-B", "4194304", &self.file.display().to_string(),
        ]
        .map(String::from)
        .to_vec();
        let t0 = Instant::now();
        let mut tx = vec![self.spawn("s", uftp, &a, &dir.join("s.log"))?];
        // uftpd never exits: a receiver is done when its file has its name
        // and its size.
        let files: Vec<PathBuf> = self.hosts().iter().map(|h| dir.join(h).join("bench.bin")).collect();
        let mut secs: Vec<Option<f64>> = vec![None; files.len()];
        let look = |secs: &mut Vec<Option<f64>>| {
            for (f, s) in files.iter().zip(secs.iter_mut()) {
                if s.is_none() && std::fs::metadata(f).is_ok_and(|m| m.len() == self.args.size) {
                    *s = Some(t0.elapsed().as_secs_f64());
                }
            }
        };
        let deadline = Duration::from_secs(self.timeout());
        while secs.iter().any(Option::is_none) && t0.elapsed() < deadline && !interrupted() {
            look(&mut secs);
            if secs.iter().any(Option::is_none) && tx[0].try_wait().ok().flatten().is_some() && t0.elapsed() > Duration::from_secs(1) {
                // The sender gave up; a last look, then stop.
                std::thread::sleep(Duration::from_millis(200));
                look(&mut secs);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.wait_all(&mut tx, t0, t0.elapsed() + Duration::from_secs(30));
        for c in &mut rx {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&dir);
        Ok(RunResult {
            name: name.into(),
            note: "uftp/uftpd (Debian), no encryption, same rate cap and block size".into(),
            receivers: self.whole_file(secs),
            extra: Value::Null,
        })
    }
}

/// The libnorm peer: --normpeer, else built with g++ from the copy of
/// tests/interop/normpeer.cpp in this binary when libnorm-dev is installed.
fn find_normpeer(args: &BenchArgs, work: &Path, say: &dyn Fn(String)) -> Option<PathBuf> {
    if let Some(p) = &args.normpeer {
        return Some(p.clone());
    }
    let gxx = find_tool("g++")?;
    if !Path::new("/usr/include/normApi.h").exists() {
        return None;
    }
    let src = work.join("normpeer.cpp");
    let bin = work.join("normpeer");
    std::fs::write(&src, NORMPEER_SRC).ok()?;
    let ok = Command::new(gxx)
        .args(["-O2", "-std=c++17", "-o"])
        .arg(&bin)
        .arg(&src)
        .arg("-lnorm")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        say("  (building the libnorm peer with g++ failed: libnorm is skipped)".into());
    }
    ok.then_some(bin)
}

/// The targets, from this run's numbers.
fn targets(runs: &[RunResult], loss: f64) -> Vec<Value> {
    let find = |prefix: &str| runs.iter().find(|r| r.name.starts_with(prefix));
    let mut out = Vec::new();
    let verdict = |met: Option<bool>| match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "not measured",
    };
    let blast = find("raw UDP blast").and_then(RunResult::worst);
    let clean = find("mcast, no loss").and_then(RunResult::worst);
    let ratio = blast.zip(clean).map(|(b, c)| c / b);
    out.push(json!({"target": "no loss: mcast goodput >= 0.8 x raw UDP blast (slowest receivers)", "ratio": ratio,
        "verdict": verdict(ratio.map(|r| r >= 0.8))}));
    let lossy = format!("{loss} % loss");
    let fixed = find(&format!("mcast, {lossy}, fixed rate"));
    let cc = find(&format!("mcast, {lossy}, NORM-CC"));
    for (peer, factor) in [("libnorm", 5.0), ("uftp", 3.0)] {
        let p = find(&format!("{peer}, {lossy}")).and_then(RunResult::last_secs);
        for (label, m) in [("fixed rate", fixed), ("NORM-CC", cc)] {
            let r = m.and_then(RunResult::last_secs).zip(p).map(|(a, b)| b / a);
            out.push(json!({
                "target": format!("{lossy}: every receiver complete >= {factor}x sooner than {peer} (mcast {label})"),
                "ratio": r, "verdict": verdict(r.map(|r| r >= factor)),
            }));
        }
    }
    if let Some(m) = fixed {
        let repairs = m.extra["repair_segments"].as_u64();
        let need = m.extra["needed_segments"].as_array().and_then(|a| a.iter().filter_map(Value::as_u64).max());
        let r = repairs.zip(need).filter(|(_, n)| *n > 0).map(|(r, n)| r as f64 / n as f64);
        out.push(json!({"target": format!("{lossy}: repair traffic < 1.5 x the worst receiver's need (mcast fixed rate)"),
            "ratio": r, "verdict": verdict(r.map(|r| r < 1.5))}));
    }
    out
}

fn mbit(bps: Option<f64>) -> String {
    bps.map_or("-".into(), |b| format!("{:.1}", b / 1e6))
}

fn summary_line(r: &RunResult) -> String {
    if r.note.starts_with("skipped") {
        return r.note.clone();
    }
    let g: Vec<String> = r.goodputs().into_iter().map(mbit).collect();
    format!("goodput per receiver (Mbit/s): {}; last done after {} s", g.join(", "), r.last_secs().map_or("-".into(), |s| format!("{s:.2}")))
}

fn print_table(runs: &[RunResult], targets: &[Value], n: u32) {
    let mut head = format!("{:<34}", "goodput, Mbit/s");
    for i in 1..=n {
        head += &format!("{:>9}", format!("r{i}"));
    }
    head += &format!("{:>9}{:>10}", "worst", "last (s)");
    println!("{head}");
    for r in runs {
        let mut line = format!("{:<34}", r.name);
        if r.note.starts_with("skipped") {
            println!("{line}{}", r.note);
            continue;
        }
        for g in r.goodputs() {
            line += &format!("{:>9}", mbit(g));
        }
        line += &format!("{:>9}{:>10}", mbit(r.worst()), r.last_secs().map_or("-".into(), |s| format!("{s:.2}")));
        println!("{line}");
    }
    println!();
    for t in targets {
        let ratio = t["ratio"].as_f64().map_or("-".into(), |r| format!("{r:.2}"));
        println!("{:<12} ratio {:>6}  {}", t["verdict"].as_str().unwrap_or(""), ratio, t["target"].as_str().unwrap_or(""));
    }
}

/// What the numbers were measured on.
fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    json!({"cpu": cpu, "cores": cores, "kernel": kernel, "mcast": env!("CARGO_PKG_VERSION")})
}

// ------------------------------------------------------------ the blast

/// `mcast blast send|recv`: the raw UDP multicast baseline.
pub fn blast(args: &BlastArgs) -> CliResult {
    let index = mcast::net::interface_index(&args.interface)
        .ok_or_else(|| Failure::new(format!("no interface {}", args.interface)))?;
    let sock = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .context(|| "socket".into())?;
    match args.role.as_str() {
        "send" => blast_send(&sock, args, index),
        "recv" => blast_recv(&sock, args, index),
        r => Err(Failure::new(format!("blast role {r}: send or recv"))),
    }
}

/// Sends `bytes` of payload as fast as the kernel takes it, in sendmmsg
/// batches of UDP GSO runs (`mcast::net::send_many_gso`, which falls back to
/// plain datagrams, as the engine sends: the machine's limit, not a paced
/// rate), then end markers.
fn blast_send(sock: &socket2::Socket, args: &BlastArgs, index: u32) -> CliResult {
    sock.set_multicast_if_v6(index).context(|| "IPV6_MULTICAST_IF".into())?;
    sock.set_multicast_hops_v6(1).context(|| "hops".into())?;
    let _ = sock.set_send_buffer_size(4 << 20);
    let group = std::net::SocketAddr::V6(SocketAddrV6::new(args.group, args.port, 0, 0));
    let to: socket2::SockAddr = group.into();
    let seg = args.segment as usize;
    let total = args.bytes.div_ceil(seg as u64);
    let batch = mcast::net::IO_BATCH;
    let mut datagrams: Vec<(Vec<u8>, std::net::SocketAddr)> = (0..batch).map(|_| (vec![0u8; seg], group)).collect();
    let mut seq: u64 = 0;
    let mut gso = true;
    while seq < total {
        let n = batch.min((total - seq) as usize);
        for (i, (d, _)) in datagrams.iter_mut().take(n).enumerate() {
            d[..8].copy_from_slice(&(seq + i as u64).to_be_bytes());
        }
        match mcast::net::send_many_gso(std::os::fd::AsRawFd::as_raw_fd(sock), &datagrams[..n], &mut gso) {
            Ok(sent) => seq += sent as u64,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) => {
                std::thread::yield_now();
            }
            Err(e) => return Err(Failure::new(format!("sendmmsg: {e}"))),
        }
    }
    for _ in 0..20 {
        let _ = sock.send_to(&u64::MAX.to_be_bytes(), &to);
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Counts payload bytes until the end marker (or 2 s of silence), and
/// prints {"bytes", "packets", "secs"} (first to last datagram).
fn blast_recv(sock: &socket2::Socket, args: &BlastArgs, index: u32) -> CliResult {
    sock.set_reuse_address(true).context(|| "SO_REUSEADDR".into())?;
    let _ = sock.set_recv_buffer_size(4 << 20);
    sock.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, args.port, 0, 0).into()).context(|| "bind".into())?;
    sock.join_multicast_v6(&args.group, index).context(|| "join".into())?;
    sock.set_read_timeout(Some(Duration::from_millis(200))).context(|| "timeout".into())?;
    let udp: std::net::UdpSocket = sock.try_clone().context(|| "socket".into())?.into();
    let mut buf = vec![0u8; 65536];
    let (mut bytes, mut packets) = (0u64, 0u64);
    let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
    let start = Instant::now();
    loop {
        match udp.recv(&mut buf) {
            Ok(8) if buf[..8] == u64::MAX.to_be_bytes() => {
                if first.is_some() {
                    break;
                }
            }
            Ok(n) => {
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
                bytes += n as u64;
                packets += 1;
            }
            Err(_) => {
                let idle = last.map_or(start.elapsed() > Duration::from_secs(args.timeout), |l| l.elapsed() > Duration::from_secs(2));
                if idle {
                    break;
                }
            }
        }
    }
    let secs = first.zip(last).map(|(f, l)| (l - f).as_secs_f64());
    println!("{}", json!({"bytes": bytes, "packets": packets, "secs": secs}));
    Ok(())
}
