//! Command-line syntax of `mcast` (clap derive) and the value parsers it uses.
//!
//! Option names here are a contract: scripts and the outside checks call
//! `mcast send/recv/demo` with exactly these spellings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Reliable IPv6 multicast file transfer (NORM, RFC 5740).
#[derive(Debug, Parser)]
#[command(name = "mcast", version, about, propagate_version = true)]
#[command(after_help = "Start with `mcast demo`: it needs no set-up and shows a transfer to \
three receivers over a private lossy network.")]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts (before or after the subcommand name).
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Print nothing but errors (and the --json summary)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Print a JSON summary on stdout at the end (files, sizes, SHA-256, timing, statistics)
    #[arg(long, global = true)]
    pub json: bool,

    /// More logging on stderr: -v info, -vv debug, -vvv trace (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send files to a multicast group, each as one NORM FILE object, then exit
    Send(SendArgs),
    /// Receive objects from a multicast group into a directory
    Recv(RecvArgs),
    /// Run a complete demonstration on a private network of namespaces (no set-up needed)
    Demo(DemoArgs),
    /// Measure goodput in a private lab: a raw UDP blast, mcast at 0 % and
    /// at 5 % loss, and libnorm and uftp when installed, side by side
    Bench(BenchArgs),
    /// Raw UDP multicast blast for `mcast bench` (internal)
    #[command(hide = true)]
    Blast(BlastArgs),
    /// Show the multicast address and port a channel name maps to
    Channel(ChannelArgs),
    /// Write a new random key for sealed channels (--key) to FILE, or to
    /// standard output without FILE; with --sign, an Ed25519 signing key
    /// (--sign-key) to FILE and its public key (--trust) to FILE.pub
    Keygen(KeygenArgs),
    /// List network interfaces and which ones mcast would use
    Interfaces,
}

#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Where to write the key (created with mode 0600; never overwritten
    /// unless --force)
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Replace FILE if it exists
    #[arg(long, requires = "file")]
    pub force: bool,

    /// Write an Ed25519 signing key for `mcast send --sign-key` to FILE
    /// and its public key, for `mcast recv --trust`, to FILE.pub
    #[arg(long, requires = "file")]
    pub sign: bool,
}

/// Sealed channels: the options `mcast send` and `mcast recv` share.
#[derive(Debug, Clone, Args)]
pub struct SealArgs {
    /// Seal the channel with the key in FILE (from `mcast keygen`): content
    /// and names travel encrypted, every datagram is authenticated, and
    /// only peers with the same key are heard
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// With --key: drop datagrams sealed longer ago than this many seconds
    /// by this host's clock, as replays (0: no limit; the hosts' clocks must
    /// agree this well)
    #[arg(long, value_name = "SECS", default_value = "120", requires = "key", value_parser = parse_duration_secs)]
    pub seal_max_age: Duration,
}

/// A `--trust` value: a public key file, or the key's hexadecimal digits.
pub fn load_public_key(arg: &str) -> Result<mcast::PublicKey, String> {
    let path = std::path::Path::new(arg);
    let key = if path.exists() {
        mcast::PublicKey::from_file(path)
    } else if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        mcast::PublicKey::parse(arg.as_bytes())
    } else {
        return Err(format!("--trust {arg}: no such file, and not 64 hexadecimal digits"));
    };
    key.map_err(|e| format!("--trust {arg}: {e}"))
}

impl SealArgs {
    /// The key, read from its file, and the maximum age.
    pub fn load(&self) -> Result<(Option<mcast::Key>, Option<Duration>), String> {
        let Some(path) = &self.key else { return Ok((None, None)) };
        let key = mcast::Key::from_file(path).map_err(|e| format!("--key {}: {e}", path.display()))?;
        Ok((Some(key), (!self.seal_max_age.is_zero()).then_some(self.seal_max_age)))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ChannelArgs {
    /// The channel's name (any UTF-8 text)
    pub name: String,

    /// Scope of the address: link, site, org or global
    #[arg(long, value_name = "SCOPE", default_value = "global", value_parser = parse_scope)]
    pub scope: mcast::Scope,

    /// Show the source-specific (SSM) address
    #[arg(long)]
    pub ssm: bool,
}

/// Where a session lives: the group, its port and the interface it is joined on.
#[derive(Debug, Clone, Args)]
pub struct GroupArgs {
    /// IPv6 multicast group address, e.g. ff3e::4d43 (or use --channel)
    #[arg(long, value_name = "ADDR", required_unless_present = "channel", requires = "port")]
    pub group: Option<String>,

    /// UDP port of the session
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..), requires = "group")]
    pub port: Option<u16>,

    /// A named channel instead of --group/--port: the name maps to an
    /// address and port (`mcast channel NAME` shows them)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["group", "port"])]
    pub channel: Option<String>,

    /// Scope of the channel's address: link, site, org or global (default global)
    #[arg(long, value_name = "SCOPE", requires = "channel", value_parser = parse_scope)]
    pub scope: Option<mcast::Scope>,

    /// Use the channel's source-specific (SSM) address
    #[arg(long, requires = "channel")]
    pub ssm: bool,

    /// Network interface to send and join on, e.g. eth0 (default: the first
    /// interface that is up, multicast-capable, not loopback and has an IPv6
    /// address, preferring one with a global or ULA address; see `mcast interfaces`)
    #[arg(long, value_name = "IF")]
    pub interface: Option<String>,

    /// IPv6 hop limit of the datagrams we send (1 = this link only)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub hop_limit: u32,
}

impl GroupArgs {
    /// The group these options name (choosing the interface if none was given).
    pub fn resolve(&self) -> Result<mcast::Group, mcast::Error> {
        let interface = match &self.interface {
            Some(i) => i.clone(),
            None => {
                let i = mcast::net::default_interface()?;
                tracing::debug!(interface = %i, "no --interface given; using the first suitable one (send and recv say which)");
                i
            }
        };
        if self.channel.is_none() && (self.scope.is_some() || self.ssm) {
            return Err(mcast::Error::InvalidArgument("--scope and --ssm go with --channel".into()));
        }
        match (&self.channel, &self.group, self.port) {
            (Some(name), _, _) => mcast::Group::channel_with(name, self.scope.unwrap_or_default(), self.ssm, &interface),
            (None, Some(g), Some(p)) => mcast::Group::parse(g, p, &interface),
            _ => Err(mcast::Error::InvalidArgument("give --group and --port, or --channel".into())),
        }
    }
}

fn parse_node_id(s: &str) -> Result<u32, String> {
    let v: u32 = s.trim().parse().map_err(|_| format!("{s:?} is not a node id (a number)"))?;
    if v == 0 || v == u32::MAX {
        return Err(format!("node id {v} is reserved (use 1..4294967294)"));
    }
    Ok(v)
}

fn parse_scope(s: &str) -> Result<mcast::Scope, String> {
    s.parse::<mcast::Scope>().map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub group: GroupArgs,

    #[command(flatten)]
    pub seal: SealArgs,

    /// Sign every object with the Ed25519 key in FILE (from `mcast keygen
    /// --sign FILE`), so that receivers trusting FILE.pub (`mcast recv
    /// --trust`) can tell them from anyone else's; a --stream is signed
    /// after every line
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// The most the sender sends, in bits per second (default 100M): NORM-CC
    /// congestion control keeps the rate at or under what the slowest
    /// receiver's path takes; with --fixed-rate, the rate itself. Suffixes
    /// k, M, G (powers of 1000), e.g. 100M
    #[arg(long, value_name = "BITS_PER_SEC", value_parser = parse_rate)]
    pub rate: Option<u64>,

    /// The least congestion control goes down to, in bits per second (default 64k)
    #[arg(long, value_name = "BITS_PER_SEC", value_parser = parse_rate, conflicts_with = "fixed_rate")]
    pub rate_min: Option<u64>,

    /// No congestion control: send at --rate whatever the receivers say
    /// (needed when every receiver is --silent, as they give no feedback)
    #[arg(long)]
    pub fixed_rate: bool,

    /// Payload bytes per data segment (keep segment + ~50 bytes of headers
    /// under the path MTU; with --key, 44 of them carry the seal)
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(1..))]
    pub segment: Option<u16>,

    /// Data segments per FEC block
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=255))]
    pub block: Option<u16>,

    /// Parity segments available per block for repairs (block + parity <= 255)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=254))]
    pub parity: Option<u16>,

    /// Parity segments sent proactively with every block
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=254))]
    pub auto_parity: Option<u16>,

    /// Send each file's content as a NORM DATA object (read into memory)
    /// instead of a FILE object; NORM_INFO is still its base name
    #[arg(long)]
    pub data: bool,

    /// Files to send, in order; each becomes one object named by its base name
    #[arg(value_name = "FILE", required_unless_present = "stream")]
    pub files: Vec<PathBuf>,

    /// Ask these receivers (NORM node ids, comma-separated; see `mcast recv
    /// --node-id`) to acknowledge everything sent; report who did and exit
    /// with status 4 if someone did not within --ack-timeout
    #[arg(long, value_name = "NODEID,...", value_delimiter = ',', value_parser = parse_node_id)]
    pub ack: Vec<u32>,

    /// Flow control: keep every object in the transmit cache until all the
    /// --ack receivers acknowledged it, so the sender waits for the slowest
    /// of them (default: a receiver that falls behind is left behind)
    #[arg(long, requires = "ack")]
    pub wait_for_acks: bool,

    /// How long to wait for the acknowledgements, in seconds
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_duration_secs)]
    pub ack_timeout: Duration,

    /// This sender's NORM node id (1..4294967294); default: a random one.
    /// A sender restarted with the same id is known to receivers as a
    /// restart: they report what it left unfinished at once
    #[arg(long, value_name = "N", value_parser = parse_node_id)]
    pub node_id: Option<u32>,

    /// Send standard input as one NORM stream named NAME (its NORM_INFO)
    /// instead of files: every line, or 64 KiB without a newline, is one
    /// message; the stream ends at end of input
    #[arg(long, value_name = "NAME", conflicts_with_all = ["files", "data"])]
    pub stream: Option<String>,

    /// Emit progress as JSON lines on stdout (used by `mcast demo`)
    #[arg(long, hide = true)]
    pub report: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RecvArgs {
    #[command(flatten)]
    pub group: GroupArgs,

    #[command(flatten)]
    pub seal: SealArgs,

    /// Accept only objects signed by this Ed25519 public key: a file (FILE.pub
    /// from `mcast keygen --sign FILE`) or its 64 hexadecimal digits. Repeat
    /// to trust several senders. Other objects (unsigned, signed by another
    /// key, altered) are refused and reported; streams are delivered as
    /// their signatures verify
    #[arg(long = "trust", value_name = "PUBKEY")]
    pub trust: Vec<String>,

    /// Do not compute the SHA-256 of received FILE objects (all zeros in
    /// --json, and same-named files then replace each other): `mcast bench`
    /// times receivers against tools that do not hash
    #[arg(long, hide = true)]
    pub no_digest: bool,

    /// Directory to write received objects into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Exit 0 once this many objects have been received (default: run until interrupted)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Give up after this many seconds in total (the whole run, not since the last packet) and exit non-zero
    #[arg(long, value_name = "SECS", value_parser = parse_duration_secs)]
    pub timeout: Option<Duration>,

    /// Send NACKs unicast to the sender instead of to the group
    #[arg(long)]
    pub unicast_nacks: bool,

    /// Source-specific multicast (RFC 4607): accept only this sender address
    /// (repeat for several); the group is joined as (S,G) for each
    #[arg(long = "source", value_name = "ADDR")]
    pub sources: Vec<std::net::Ipv6Addr>,

    /// This receiver's NORM node id (1..4294967294), so that senders can ask
    /// it for acknowledgement (`mcast send --ack`); default: a random one
    #[arg(long, value_name = "N", value_parser = parse_node_id)]
    pub node_id: Option<u32>,

    /// Never send a packet (no NACKs, no ACKs, no congestion feedback):
    /// rely on the sender's proactive parity (--auto-parity); what cannot be
    /// recovered is lost. A sender with only silent receivers hears no
    /// feedback and should use --fixed-rate
    #[arg(long)]
    pub silent: bool,

    /// Which objects to ask for from a sender first heard mid-session: `all`
    /// (also recent objects still in its cache) or `current` (from the first
    /// object heard on, like libnorm)
    #[arg(long, value_name = "POLICY", default_value = "all", value_parser = ["all", "current"])]
    pub sync: String,

    /// Emit readiness, progress and the summary as JSON lines on stdout (used by `mcast demo`)
    #[arg(long, hide = true)]
    pub report: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of receivers
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub receivers: u32,

    /// Packet loss injected on every receiver, in percent (0-100, up to 2 decimals)
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = parse_percent)]
    pub loss: f64,

    /// Size of the generated file; suffixes k, M, G (powers of 1024), e.g. 20M
    #[arg(long, value_name = "BYTES", default_value = "20M", value_parser = parse_size)]
    pub size: u64,

    /// Transmission rate in bits per second; suffixes k, M, G (powers of 1000)
    #[arg(long, value_name = "BITS_PER_SEC", value_parser = parse_rate)]
    pub rate: Option<u64>,

    /// How to build the private network: `auto` tries an unprivileged user
    /// namespace, then `ip netns` as root
    #[arg(long, value_enum, default_value_t = Isolation::Auto, hide = true)]
    pub isolation: Isolation,

    /// Set when `mcast demo` re-executes itself inside `unshare` (internal)
    #[arg(long, hide = true)]
    pub inside_namespace: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Number of receivers
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=16))]
    pub receivers: u32,

    /// Size of the data moved in each run; suffixes k, M, G (powers of 1024)
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = parse_size)]
    pub size: u64,

    /// Payload bytes per datagram (mcast and libnorm segments, blast datagrams)
    #[arg(long, value_name = "BYTES", default_value_t = 1400, value_parser = clap::value_parser!(u16).range(64..=8000))]
    pub segment: u16,

    /// Independent loss on each receiver in the lossy runs, in percent
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = parse_percent)]
    pub loss: f64,

    /// Rate cap for every tool, in bits per second (suffixes k, M, G)
    #[arg(long, value_name = "BITS_PER_SEC", default_value = "1G", value_parser = parse_rate)]
    pub rate: u64,

    /// Run each measurement this many times and keep the median one
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub repeat: u32,

    /// libnorm peer (tests/interop/normpeer.cpp built); default: build it
    /// with g++ when libnorm-dev is installed, else skip libnorm
    #[arg(long, value_name = "PATH")]
    pub normpeer: Option<PathBuf>,

    /// Print the results as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    /// How to build the private network (as for the demo)
    #[arg(long, value_enum, default_value_t = Isolation::Auto, hide = true)]
    pub isolation: Isolation,

    /// Set when `mcast bench` re-executes itself inside `unshare` (internal)
    #[arg(long, hide = true)]
    pub inside_namespace: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BlastArgs {
    /// send or recv
    #[arg(value_name = "ROLE")]
    pub role: String,
    #[arg(long)]
    pub group: std::net::Ipv6Addr,
    #[arg(long)]
    pub port: u16,
    #[arg(long)]
    pub interface: String,
    /// Payload bytes to send
    #[arg(long, default_value_t = 0)]
    pub bytes: u64,
    /// Payload bytes per datagram
    #[arg(long, default_value_t = 1400)]
    pub segment: u16,
    /// Seconds a receiver waits for the first datagram
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Isolation {
    /// unshare if it works here, else ip netns as root
    Auto,
    /// A private user + network + mount namespace (`unshare`), also as root
    Unshare,
    /// Named namespaces in the machine's /run/netns (`ip netns`, root only)
    Netns,
}

/// Parses a bit rate: a plain number, or a number with a k/M/G/T suffix in
/// powers of 1000 (network rates are decimal). A trailing "bps"/"bit"/"b" is
/// accepted so that `100Mbps` and `100mbit` mean what they say.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = ["bps", "bit/s", "bits", "bit", "b"]
        .iter()
        .find_map(|u| lower.strip_suffix(u))
        .unwrap_or(&lower);
    let (num, mult) = split_suffix(body, 1000);
    let value = parse_scaled(num, mult).ok_or_else(|| {
        format!("invalid rate '{s}': expected bits per second like 500000, 500k, 100M or 1G")
    })?;
    if value == 0 {
        return Err(format!("invalid rate '{s}': must be greater than 0"));
    }
    Ok(value)
}

/// Parses a byte size: a plain number or k/M/G/T (powers of 1024, as file
/// sizes are usually meant); an optional trailing "B"/"iB" is accepted.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let body = ["ib", "b"].iter().find_map(|u| lower.strip_suffix(u)).unwrap_or(&lower);
    let (num, mult) = split_suffix(body, 1024);
    parse_scaled(num, mult)
        .ok_or_else(|| format!("invalid size '{s}': expected bytes like 1000, 64k, 20M or 1G"))
}

/// Parses a number of seconds (decimals allowed, e.g. 0.5), strictly positive.
pub fn parse_duration_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("invalid number of seconds '{s}'"))?;
    if !v.is_finite() || v <= 0.0 || v > 1e9 {
        return Err(format!("invalid number of seconds '{s}': must be > 0"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Parses a loss percentage in [0, 100].
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("invalid percentage '{s}'"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("invalid percentage '{s}': must be between 0 and 100"));
    }
    Ok(v)
}

fn split_suffix(body: &str, base: u64) -> (&str, u64) {
    let Some(last) = body.chars().last() else {
        return (body, 1);
    };
    let exp = match last {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        _ => return (body, 1),
    };
    (&body[..body.len() - 1], base.pow(exp))
}

/// `num * mult` for a decimal `num` such as "1.5", without float rounding
/// surprises for whole numbers, rejecting overflow and garbage.
fn parse_scaled(num: &str, mult: u64) -> Option<u64> {
    let num = num.trim();
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult);
    }
    let f: f64 = num.parse().ok()?;
    let v = f * mult as f64;
    if !v.is_finite() || v < 0.0 || v >= u64::MAX as f64 {
        return None;
    }
    Some(v.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("1000"), Ok(1000));
        assert_eq!(parse_rate("500k"), Ok(500_000));
        assert_eq!(parse_rate("500K"), Ok(500_000));
        assert_eq!(parse_rate("100M"), Ok(100_000_000));
        assert_eq!(parse_rate("100m"), Ok(100_000_000));
        assert_eq!(parse_rate("1G"), Ok(1_000_000_000));
        assert_eq!(parse_rate("2.5M"), Ok(2_500_000));
        assert_eq!(parse_rate("100Mbps"), Ok(100_000_000));
        assert_eq!(parse_rate("10mbit"), Ok(10_000_000));
        assert_eq!(parse_rate(" 64k "), Ok(64_000));
        for bad in ["", "M", "-5", "0", "1.2.3M", "fast", "10X", "1e6", "99999999999999999999"] {
            assert!(parse_rate(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1"), Ok(1));
        assert_eq!(parse_size("20M"), Ok(20 << 20));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("20MB"), Ok(20 << 20));
        assert_eq!(parse_size("20MiB"), Ok(20 << 20));
        for bad in ["", "x", "-1", "20Q", "1.5.k"] {
            assert!(parse_size(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn durations_and_percent() {
        assert_eq!(parse_duration_secs("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration_secs("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_duration_secs("0").is_err());
        assert!(parse_duration_secs("-1").is_err());
        assert!(parse_duration_secs("inf").is_err());
        assert_eq!(parse_percent("5"), Ok(5.0));
        assert_eq!(parse_percent("0.25%"), Ok(0.25));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("-1").is_err());
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(args)
    }

    #[test]
    fn send_options() {
        let cli = parse(&[
            "mcast", "send", "--group", "ff3e::1", "--port", "5000", "--interface", "eth0",
            "--rate", "100M", "--segment", "1200", "--block", "32", "--parity", "8",
            "--auto-parity", "2", "a", "b/c.bin",
        ])
        .unwrap();
        let Command::Send(s) = cli.command else { panic!("not send") };
        assert_eq!(s.group.group.as_deref(), Some("ff3e::1"));
        assert_eq!(s.group.port, Some(5000));
        assert_eq!(s.group.interface.as_deref(), Some("eth0"));
        assert_eq!(s.rate, Some(100_000_000));
        assert_eq!(s.segment, Some(1200));
        assert_eq!(s.block, Some(32));
        assert_eq!(s.parity, Some(8));
        assert_eq!(s.auto_parity, Some(2));
        assert_eq!(s.files, vec![PathBuf::from("a"), PathBuf::from("b/c.bin")]);
        assert!(!s.report);
        assert!(!s.fixed_rate, "congestion control by default");
        assert_eq!(s.rate_min, None);
    }

    #[test]
    fn rate_control_options() {
        let base = ["mcast", "send", "--group", "ff3e::1", "--port", "5000", "--interface", "eth0"];
        let with = |extra: &[&str]| parse(&[&base[..], extra, &["f"]].concat());
        let Command::Send(s) = with(&["--rate", "1G", "--rate-min", "2M"]).unwrap().command else { panic!("not send") };
        assert_eq!((s.rate, s.rate_min, s.fixed_rate), (Some(1_000_000_000), Some(2_000_000), false));
        let Command::Send(s) = with(&["--rate", "50M", "--fixed-rate"]).unwrap().command else { panic!("not send") };
        assert_eq!((s.rate, s.fixed_rate), (Some(50_000_000), true));
        assert!(with(&["--fixed-rate", "--rate-min", "1M"]).is_err(), "a minimum means nothing at a fixed rate");
        let Command::Send(s) = with(&["--ack", "7,9", "--wait-for-acks"]).unwrap().command else { panic!("not send") };
        assert!(s.wait_for_acks && s.ack == [7, 9]);
        assert!(with(&["--wait-for-acks"]).is_err(), "waiting needs receivers to wait for");
        assert!(with(&["--rate-min", "0"]).is_err());
    }

    #[test]
    fn send_requires_files_and_group() {
        assert!(parse(&["mcast", "send", "--group", "ff3e::1", "--port", "5000", "--interface", "eth0"]).is_err());
        assert!(parse(&["mcast", "send", "--port", "5000", "--interface", "eth0", "f"]).is_err());
        assert!(parse(&["mcast", "send", "--group", "ff3e::1", "--port", "0", "--interface", "eth0", "f"]).is_err());
        assert!(parse(&["mcast", "send", "--group", "g", "--port", "1", "--interface", "i", "--block", "0", "f"]).is_err());
        assert!(parse(&["mcast", "send", "--group", "g", "--port", "1", "--interface", "i", "--rate", "x", "f"]).is_err());
    }

    #[test]
    fn channel_options() {
        let cli = parse(&["mcast", "send", "--channel", "news", "--scope", "site", "--ssm", "--interface", "eth0", "f"]).unwrap();
        let Command::Send(s) = cli.command else { panic!("not send") };
        let g = s.group.resolve().unwrap();
        let (addr, port) = mcast::channel_address("news", mcast::Scope::Site, true).unwrap();
        assert_eq!((g.addr(), g.port(), g.interface()), (addr, port, "eth0"));
        assert!(parse(&["mcast", "send", "--channel", "news", "--group", "ff3e::1", "--port", "1", "f"]).is_err());
        assert!(parse(&["mcast", "send", "--channel", "news", "--scope", "planet", "f"]).is_err());
        let cli = parse(&["mcast", "send", "--group", "ff3e::1", "--scope", "site", "--port", "1", "--interface", "i", "f"]).unwrap();
        let Command::Send(s) = cli.command else { panic!("not send") };
        assert!(s.group.resolve().is_err(), "--scope needs --channel");
        assert!(parse(&["mcast", "send", "--group", "ff3e::1", "f"]).is_err(), "--group needs --port");
    }

    #[test]
    fn recv_options_and_globals() {
        let cli = parse(&[
            "mcast", "-vv", "recv", "--group", "ff3e::1", "--port", "5000", "--interface", "eth0",
            "--out", "/tmp/x", "--count", "3", "--timeout", "60", "--json", "--quiet",
        ])
        .unwrap();
        assert_eq!(cli.common.verbose, 2);
        assert!(cli.common.json);
        assert!(cli.common.quiet);
        let Command::Recv(r) = cli.command else { panic!("not recv") };
        assert_eq!(r.out, PathBuf::from("/tmp/x"));
        assert_eq!(r.count, Some(3));
        assert_eq!(r.timeout, Some(Duration::from_secs(60)));
        assert!(parse(&["mcast", "recv", "--group", "g", "--port", "1", "--interface", "i"]).is_err(), "--out is required");
        assert!(parse(&["mcast", "recv", "--group", "g", "--port", "1", "--interface", "i", "--out", "d", "--count", "0"]).is_err());
    }

    #[test]
    fn demo_defaults() {
        let cli = parse(&["mcast", "demo"]).unwrap();
        let Command::Demo(d) = cli.command else { panic!("not demo") };
        assert_eq!(d.receivers, 3);
        assert_eq!(d.loss, 5.0);
        assert_eq!(d.size, 20 << 20);
        assert_eq!(d.rate, None);
        assert_eq!(d.isolation, Isolation::Auto);
        assert!(!d.inside_namespace);
        let cli = parse(&["mcast", "demo", "--receivers", "5", "--loss", "10", "--size", "1M", "--rate", "50M"]).unwrap();
        let Command::Demo(d) = cli.command else { panic!("not demo") };
        assert_eq!((d.receivers, d.loss, d.size, d.rate), (5, 10.0, 1 << 20, Some(50_000_000)));
        assert!(parse(&["mcast", "demo", "--receivers", "0"]).is_err());
        assert!(parse(&["mcast", "demo", "--loss", "150"]).is_err());
    }
}
