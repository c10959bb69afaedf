//! The demo's private network: a bridge namespace and one namespace per host,
//! built with `ip`, `sysctl` and `nft` (iproute2, procps, nftables).
//!
//! Layout (same as tests/lab/lab.sh, so what the demo shows is what the tests
//! check):
//!
//! ```text
//!   PREFIX-s  eth0 --veth-- s  \
//!   PREFIX-r1 eth0 --veth-- r1  > br0 (mcast_snooping 0) in PREFIX-sw
//!   PREFIX-rN eth0 --veth-- rN /
//! ```
//!
//! Multicast is only ever sent inside these namespaces. Snooping is off so the
//! bridge floods group traffic to every port whatever MLD says; DAD is off
//! before any link exists because tentative addresses make sends fail.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{CliResult, Failure};

/// ULA prefix of the demo network (host H is PREFIX::H).
const ULA_PREFIX: &str = "fd6d:6361:7374:de::";
/// nftables table holding the loss rule on each receiver.
const NFT_TABLE: &str = "mcastdemo";

/// Finds a system tool in PATH or the sbin directories (which an ordinary
/// user's PATH often lacks, and which the unprivileged demo needs too).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Runs a set-up command; on failure the error names the command and quotes
/// its stderr, which is what someone debugging a kernel or permission
/// problem needs.
pub fn run_checked(cmd: &mut Command) -> CliResult<String> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(OsStr::to_string_lossy).collect::<Vec<_>>().join(" ")
    );
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Failure::new(format!("cannot run `{shown}`: {e}")))?;
    if !out.status.success() {
        return Err(Failure::new(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub struct Tools {
    pub ip: PathBuf,
    pub sysctl: PathBuf,
    pub nft: Option<PathBuf>,
}

impl Tools {
    /// The tools the demo needs; `need_nft` only when loss is asked for.
    pub fn find(need_nft: bool) -> CliResult<Tools> {
        let hint = "run scripts/setup.sh (or: apt-get install iproute2 procps nftables)";
        let ip = find_tool("ip")
            .ok_or_else(|| Failure::new(format!("the demo needs `ip` (iproute2) to build its network: {hint}")))?;
        let sysctl = find_tool("sysctl")
            .ok_or_else(|| Failure::new(format!("the demo needs `sysctl` (procps): {hint}")))?;
        let nft = find_tool("nft");
        if need_nft && nft.is_none() {
            return Err(Failure::new(format!(
                "the demo injects packet loss with nftables but `nft` is not installed: {hint}; \
                 or run the demo without loss: mcast demo --loss 0"
            )));
        }
        Ok(Tools { ip, sysctl, nft })
    }
}

/// A built network. Dropping it deletes the namespaces (after the caller has
/// stopped the processes running in them).
pub struct Net {
    tools: Tools,
    prefix: String,
    /// Namespaces created so far, deleted in reverse order on drop.
    created: Vec<String>,
}

impl Net {
    /// Creates `PREFIX-sw` with the bridge, the sender host `s` and receiver
    /// hosts `r1..rN`, and waits until their addresses are usable.
    pub fn build(tools: Tools, prefix: &str, receivers: u32) -> CliResult<Net> {
        let mut net = Net { tools, prefix: prefix.to_string(), created: Vec::new() };
        let sw = net.ns("sw");
        net.add_ns(&sw)?;
        // The switch needs no IPv6 of its own; without it it stays silent.
        net.sysctl(&sw, &["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])?;
        net.ip(&["-n", &sw, "link", "set", "lo", "up"])?;
        net.ip(&[
            "-n", &sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0", "stp_state", "0",
            "forward_delay", "0",
        ])?;
        net.ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        let mut hosts = vec!["s".to_string()];
        hosts.extend((1..=receivers).map(|i| format!("r{i}")));
        for (i, host) in hosts.iter().enumerate() {
            net.add_host(host, i + 1)?;
        }
        net.wait_ready(&hosts)?;
        Ok(net)
    }

    pub fn ns(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    fn ip(&self, args: &[&str]) -> CliResult<String> {
        run_checked(Command::new(&self.tools.ip).args(args))
    }

    fn sysctl(&self, ns: &str, settings: &[&str]) -> CliResult {
        let mut cmd = Command::new(&self.tools.ip);
        cmd.args(["netns", "exec", ns]).arg(&self.tools.sysctl).args(["-q", "-w"]).args(settings);
        run_checked(&mut cmd).map(drop)
    }

    fn add_ns(&mut self, ns: &str) -> CliResult {
        self.ip(&["netns", "add", ns])?;
        self.created.push(ns.to_string());
        Ok(())
    }

    fn add_host(&mut self, host: &str, number: usize) -> CliResult {
        let ns = self.ns(host);
        let sw = self.ns("sw");
        self.add_ns(&ns)?;
        self.sysctl(
            &ns,
            &[
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv6.conf.all.accept_ra=0",
                "net.ipv6.conf.default.accept_ra=0",
                "net.ipv6.conf.all.disable_ipv6=0",
                "net.ipv6.conf.default.disable_ipv6=0",
            ],
        )?;
        // The bridge end is named after the host inside the switch namespace,
        // so names never collide with the machine's or another lab's.
        self.ip(&["-n", &sw, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", &ns])?;
        self.ip(&["-n", &sw, "link", "set", host, "master", "br0", "up"])?;
        self.ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        let addr = format!("{ULA_PREFIX}{number:x}/64");
        self.ip(&["-n", &ns, "addr", "add", &addr, "dev", "eth0", "nodad"])?;
        // The switch cuts GSO sends into datagrams as it forwards them, like
        // a wire (a veth would carry a UDP GSO run whole to a receiver, and a
        // loss rule there would drop whole runs); hosts keep their offloads.
        self.ip(&["-n", &sw, "link", "set", host, "gso_max_segs", "1"])?;
        self.ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        // Multicast route: sockets that do not pick an interface use eth0.
        let _ = self.ip(&["-n", &ns, "-6", "route", "replace", "multicast", "ff00::/8", "dev", "eth0", "table", "main"]);
        Ok(())
    }

    fn wait_ready(&self, hosts: &[String]) -> CliResult {
        let deadline = Instant::now() + Duration::from_secs(10);
        for host in hosts {
            let ns = self.ns(host);
            loop {
                let out = self.ip(&["-n", &ns, "-6", "addr", "show", "dev", "eth0"])?;
                let link = self.ip(&["-n", &ns, "link", "show", "eth0"])?;
                if out.contains("inet6 fe80::")
                    && out.contains(&format!("inet6 {ULA_PREFIX}"))
                    && !out.contains("tentative")
                    && link.contains("state UP")
                {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Failure::new(format!(
                        "the addresses of namespace {ns} are not usable after 10 s:\n{out}{link}"
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(())
    }

    /// Drops `percent` % of the UDP packets arriving at `host` for `port`.
    pub fn add_loss(&self, host: &str, percent: f64, port: u16) -> CliResult {
        let nft = self.tools.nft.as_ref().ok_or_else(|| Failure::new("nft is not installed"))?;
        let ns = self.ns(host);
        // numgen over 10000 so that fractional percentages (0.5 %) work.
        let threshold = (percent * 100.0).round() as u32;
        let script = format!(
            "add table inet {NFT_TABLE}\n\
             add chain inet {NFT_TABLE} input {{ type filter hook input priority 0; policy accept; }}\n\
             add rule inet {NFT_TABLE} input udp dport {port} numgen random mod 10000 < {threshold} counter drop\n"
        );
        let mut cmd = Command::new(&self.tools.ip);
        cmd.args(["netns", "exec", &ns]).arg(nft).arg(script);
        run_checked(&mut cmd).map(drop)
    }

    /// Packets dropped so far by the loss rule on `host`.
    pub fn dropped(&self, host: &str) -> Option<u64> {
        let nft = self.tools.nft.as_ref()?;
        let ns = self.ns(host);
        let mut cmd = Command::new(&self.tools.ip);
        cmd.args(["netns", "exec", &ns]).arg(nft).args(["list", "chain", "inet", NFT_TABLE, "input"]);
        let out = run_checked(&mut cmd).ok()?;
        parse_nft_packets(&out)
    }

    /// A command that runs `program` inside `host`'s namespace.
    pub fn command(&self, host: &str, program: &Path) -> Command {
        let mut cmd = Command::new(&self.tools.ip);
        cmd.args(["netns", "exec", &self.ns(host)]).arg(program);
        cmd
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            // Deleting the namespaces takes the veths and the bridge with them.
            let _ = Command::new(&self.tools.ip)
                .args(["netns", "del", ns])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Sums the `packets N` of the counters in `nft list` output.
pub fn parse_nft_packets(out: &str) -> Option<u64> {
    let mut total = None;
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if w[0] == "packets" {
                if let Ok(n) = w[1].parse::<u64>() {
                    *total.get_or_insert(0) += n;
                }
            }
        }
    }
    total
}

/// Gives this process (already in a new mount namespace) its own, empty
/// /run/netns, so that `ip netns add/exec` work without touching the
/// machine's: the namespaces it names there vanish with the mount namespace
/// when the demo exits, however it exits.
pub fn private_run_netns() -> CliResult {
    let target = if Path::new("/run/netns").is_dir() || std::fs::create_dir_all("/run/netns").is_ok() {
        "/run/netns"
    } else {
        // An unprivileged user cannot create /run/netns: cover all of /run
        // (in this mount namespace only) and create it inside.
        "/run"
    };
    mount_tmpfs(target)?;
    if target == "/run" {
        std::fs::create_dir_all("/run/netns")
            .map_err(|e| Failure::new(format!("cannot create /run/netns on the private /run: {e}")))?;
    }
    Ok(())
}

fn mount_tmpfs(target: &str) -> CliResult {
    use std::ffi::CString;
    let src = CString::new("tmpfs").expect("no NUL");
    let dst = CString::new(target).expect("no NUL");
    let opts = CString::new("mode=0755").expect("no NUL");
    // SAFETY: plain mount(2) with valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(src.as_ptr(), dst.as_ptr(), src.as_ptr(), libc::MS_NOSUID | libc::MS_NODEV, opts.as_ptr().cast())
    };
    if rc != 0 {
        let e = std::io::Error::last_os_error();
        return Err(Failure::new(format!("cannot mount a private tmpfs on {target}: {e}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_counter_parsing() {
        let out = "table inet mcastdemo {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tudp dport 6003 numgen random mod 10000 < 500 counter packets 812 bytes 1234567 drop\n\t}\n}\n";
        assert_eq!(parse_nft_packets(out), Some(812));
        assert_eq!(parse_nft_packets("nothing"), None);
    }

    #[test]
    fn tools_are_found_in_sbin() {
        // `sh` is everywhere; the point is that lookup works without PATH tricks.
        assert!(find_tool("sh").is_some());
        assert!(find_tool("surely-not-a-command-xyz").is_none());
    }
}
