//! `mcast channel` against the test vectors of docs/PROTOCOL.md ("Channels"),
//! and `mcast interfaces`, running the built binary. Nothing here sends a
//! packet: `mcast channel` only computes, `mcast interfaces` only lists.
//!
//! `interfaces_in_a_private_namespace` moves its own thread into a new
//! network namespace (`unshare(CLONE_NEWNET)` affects only the calling
//! thread; the processes it starts inherit it) with interfaces of known
//! kinds, so it needs root, like core/tests/engine_netns.rs: without it the
//! test fails with a message saying so.

use std::process::{Command, Output};

use serde_json::Value;

const MCAST: &str = env!("CARGO_BIN_EXE_mcast");

fn mcast(args: &[&str]) -> Output {
    let out = Command::new(MCAST).args(args).env_remove("RUST_LOG").output().expect("run mcast");
    assert!(
        out.status.success(),
        "mcast {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// docs/PROTOCOL.md, "Channels": name, --scope, --ssm, address, port.
const VECTORS: [(&str, &str, bool, &str, u16); 8] = [
    ("news", "global", false, "ff1e:ed75:5737:908e:e779:efa7:6800:c7c3", 53117),
    ("news", "global", true, "ff3e::ed75:5737", 53117),
    ("news", "link", false, "ff12:ed75:5737:908e:e779:efa7:6800:c7c3", 53117),
    ("news", "site", true, "ff35::ed75:5737", 53117),
    ("sensor/42", "global", false, "ff1e:411:977f:7741:5e1:bd8:86e:313b", 61661),
    ("sensor/42", "global", true, "ff3e::8411:977f", 61661),
    ("Grüße ☃", "global", false, "ff1e:c75f:d652:f9be:c1aa:1f53:5856:6f3c", 50305),
    ("Grüße ☃", "org", true, "ff38::c75f:d652", 50305),
];

fn channel_args<'a>(name: &'a str, scope: &'a str, ssm: bool) -> Vec<&'a str> {
    let mut args = vec!["channel", name, "--scope", scope];
    if ssm {
        args.push("--ssm");
    }
    args
}

#[test]
fn channel_prints_the_documented_vectors() {
    for (name, scope, ssm, addr, port) in VECTORS {
        let out = mcast(&channel_args(name, scope, ssm));
        assert_eq!(stdout(&out), format!("{addr} {port}\n"), "mcast channel {name:?} --scope {scope} ssm={ssm}");
        assert!(out.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn channel_json_matches_the_vectors() {
    for (name, scope, ssm, addr, port) in VECTORS {
        let mut args = channel_args(name, scope, ssm);
        args.push("--json");
        let v: Value = serde_json::from_str(&stdout(&mcast(&args))).expect("--json prints JSON");
        assert_eq!(v["channel"], name);
        assert_eq!(v["group"], addr, "{name:?} {scope} ssm={ssm}");
        assert_eq!(v["port"], port);
        assert_eq!(v["ssm"], ssm);
        let scope_name = if scope == "org" { "organization" } else { scope };
        assert_eq!(v["scope"], scope_name);
    }
}

#[test]
fn channel_defaults_to_global_asm() {
    assert_eq!(stdout(&mcast(&["channel", "news"])), "ff1e:ed75:5737:908e:e779:efa7:6800:c7c3 53117\n");
    assert_eq!(stdout(&mcast(&["channel", "news", "--ssm"])), "ff3e::ed75:5737 53117\n");
    // The long spellings of the scopes say the same as the short ones.
    assert_eq!(stdout(&mcast(&["channel", "Grüße ☃", "--scope", "organization", "--ssm"])), "ff38::c75f:d652 50305\n");
}

#[test]
fn channel_refuses_bad_input() {
    for args in [&["channel", ""][..], &["channel", "news", "--scope", "planet"], &["channel"]] {
        let out = Command::new(MCAST).args(args).output().expect("run mcast");
        assert!(!out.status.success(), "mcast {args:?} should fail");
        assert!(out.stdout.is_empty(), "mcast {args:?} printed {:?}", String::from_utf8_lossy(&out.stdout));
        assert!(!out.stderr.is_empty(), "mcast {args:?} says why");
    }
}

/// One line of `mcast interfaces`: name, mark, addresses, reasons.
#[derive(Debug)]
struct Line {
    name: String,
    mark: String,
    addrs: Vec<String>,
    why: String,
}

fn parse_lines(text: &str) -> Vec<Line> {
    text.lines()
        .map(|l| {
            let (main, why) = match l.split_once("  (") {
                Some((m, w)) => (m, w.trim_end_matches(')').to_string()),
                None => (l, String::new()),
            };
            let mut words = main.split_whitespace();
            let name = words.next().expect("a name").to_string();
            let mark = words.next().expect("a mark").to_string();
            let addrs: Vec<String> = words.map(str::to_string).filter(|a| a != "-").collect();
            Line { name, mark, addrs, why }
        })
        .collect()
}

/// The text and --json forms of `mcast interfaces` say the same, and the
/// marks follow the rule (candidate: up, multicast, not loopback, with IPv6;
/// default: the first candidate with a global or ULA address, else the
/// first candidate). Returns (lines, json).
fn interfaces_agree() -> (Vec<Line>, Value) {
    let text = mcast(&["interfaces"]);
    let lines = parse_lines(&stdout(&text));
    let json: Value = serde_json::from_str(&stdout(&mcast(&["interfaces", "--json"]))).expect("--json prints JSON");
    let list = json["interfaces"].as_array().expect("an interfaces array");
    assert_eq!(lines.len(), list.len(), "one line per interface: {lines:?} vs {list:?}");
    let mut first_candidate = None;
    let mut first_routable = None;
    for (line, j) in lines.iter().zip(list) {
        assert_eq!(j["name"], line.name.as_str());
        let addrs: Vec<&str> = j["ipv6"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(line.addrs, addrs, "{}", line.name);
        let (up, multicast, loopback) = (j["up"] == true, j["multicast"] == true, j["loopback"] == true);
        let candidate = up && multicast && !loopback && !addrs.is_empty();
        assert_eq!(j["candidate"], candidate, "{}: the rule", line.name);
        if candidate {
            first_candidate.get_or_insert(line.name.clone());
            if addrs.iter().any(|a| !a.starts_with("fe80:")) {
                first_routable.get_or_insert(line.name.clone());
            }
        }
        let expected_mark = if j["default"] == true {
            "default"
        } else if candidate {
            "candidate"
        } else {
            "-"
        };
        assert_eq!(line.mark, expected_mark, "{}", line.name);
        for (flag, word) in [(!up, "down"), (!multicast, "no multicast"), (loopback, "loopback"), (addrs.is_empty(), "no IPv6 address")] {
            assert_eq!(line.why.contains(word), flag, "{}: reasons {:?}", line.name, line.why);
        }
    }
    let chosen = first_routable.or(first_candidate);
    assert_eq!(json["default"].as_str(), chosen.as_deref(), "the default follows the documented rule");
    let defaults = list.iter().filter(|j| j["default"] == true).count();
    assert_eq!(defaults, usize::from(chosen.is_some()), "at most one default");
    (lines, json)
}

#[test]
fn interfaces_here() {
    // The machine's own interfaces: whatever they are, both forms agree and
    // follow the rule; loopback is never a candidate.
    let (lines, _) = interfaces_agree();
    if let Some(lo) = lines.iter().find(|l| l.name == "lo") {
        assert_eq!(lo.mark, "-");
        assert!(lo.why.contains("loopback"), "{lo:?}");
    }
}

#[test]
fn interfaces_in_a_private_namespace() {
    // SAFETY: unshare has no pointer arguments.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "cannot create a network namespace (unshare(CLONE_NEWNET): {}); this test needs root",
        std::io::Error::last_os_error()
    );
    let sh = |cmd: &str| {
        let out = Command::new("sh").arg("-c").arg(cmd).output().expect("run sh");
        assert!(out.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    };
    sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    // (A veth's peer is registered first, so ll1 and down0 come before
    // ll0 and eth0 by index; ll0 comes before eth0 all the same.)
    //   lo     up, loopback                          -
    //   ll0    up, link-local address only           candidate (not default: eth0 has a ULA)
    //   ll1    up, no address (addrgenmode none)     - (no IPv6 address)
    //   eth0   up, ULA address                       default
    //   down0  down                                  - (down, no IPv6 address)
    sh("ip link set lo up");
    sh("ip link add ll0 type veth peer name ll1 && ip link set ll1 addrgenmode none && ip link set ll0 up && ip link set ll1 up");
    sh("ip link add eth0 type veth peer name down0 && ip link set eth0 addrgenmode none && ip link set eth0 up");
    sh("ip addr add fd00:6d63::1/64 dev eth0 nodad");
    // ll0's link-local address appears once the link is up (DAD is off).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let out = Command::new("ip").args(["-6", "-o", "addr", "show", "dev", "ll0"]).output().expect("ip addr");
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("fe80:") && !text.contains("tentative") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "ll0 got no link-local address: {text}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let (lines, json) = interfaces_agree();
    let mut names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["down0", "eth0", "ll0", "ll1", "lo"], "{lines:?}");
    let index = |n: &str| json["interfaces"].as_array().unwrap().iter().find(|j| j["name"] == n).unwrap()["index"].as_u64().unwrap();
    assert!(index("ll0") < index("eth0"), "ll0 comes first: eth0 is the default for its ULA, not its place");
    let by = |n: &str| lines.iter().find(|l| l.name == n).unwrap();
    assert_eq!(by("lo").mark, "-");
    assert!(by("lo").why.contains("loopback"), "{:?}", by("lo"));
    assert_eq!(by("ll0").mark, "candidate");
    assert!(by("ll0").addrs.iter().all(|a| a.starts_with("fe80:")) && !by("ll0").addrs.is_empty(), "{:?}", by("ll0"));
    assert_eq!((by("ll1").mark.as_str(), by("ll1").why.as_str()), ("-", "no IPv6 address"));
    assert_eq!(by("eth0").mark, "default");
    assert_eq!(by("eth0").addrs, ["fd00:6d63::1"]);
    assert_eq!(by("eth0").why, "");
    assert_eq!(by("down0").mark, "-");
    assert!(by("down0").why.starts_with("down"), "{:?}", by("down0"));
    assert_eq!(json["default"], "eth0");

    // With no candidate left, it says so (and still lists the interfaces).
    sh("ip link set ll0 down && ip link set eth0 down");
    let out = mcast(&["interfaces"]);
    assert!(parse_lines(&stdout(&out)).iter().all(|l| l.mark == "-"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no interface qualifies"), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, json) = interfaces_agree();
    assert_eq!(json["default"], Value::Null);
}
