//! The public API's argument checks, error values and shutdown behaviour:
//! everything that needs no multicast traffic. (Traffic over a real network is
//! tested by `tests/net/api_netns.sh` with the `api_send`/`api_recv`
//! examples.)
//!
//! Safety: nothing here may send multicast in the machine's own network
//! namespace. Only the pure `Group` checks run there. Every test that opens a
//! `Context` first moves its own thread into a new, empty network namespace
//! (`unshare(CLONE_NEWNET)` affects only the calling thread; the engine thread
//! and any thread the test starts inherit it) holding one veth pair that
//! leads nowhere else. No test queues an object, and receivers only ever send
//! once they hear a sender, so nothing is sent even there (the kernel's MLD
//! reports for a join stay inside the namespace too). Needs root, like
//! `engine_netns.rs`; without it these tests fail with a message saying so.

use std::net::Ipv6Addr;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcast::{Context, ContextConfig, Error, Group, ReceiverConfig, SenderConfig, SocketConfig};

/// Moves this thread into a new network namespace whose only interfaces are
/// `lo` and a veth pair `va` <-> `vb` (up, with link-local addresses).
fn private_network() {
    // SAFETY: unshare has no pointer arguments.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "cannot create a network namespace (unshare(CLONE_NEWNET): {}); these tests need root",
        std::io::Error::last_os_error()
    );
    let sh = |cmd: &str| {
        let out = Command::new("sh").arg("-c").arg(cmd).output().expect("run sh");
        assert!(out.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    };
    sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    sh("ip link set lo up && ip link add name va type veth peer name vb && ip link set va up && ip link set vb up");
    // The namespace really is a new one: the host's interfaces are not here.
    let out = Command::new("ip").args(["-o", "link", "show"]).output().expect("ip link");
    let links = String::from_utf8_lossy(&out.stdout);
    assert_eq!(links.lines().count(), 3, "expected only lo, va and vb in the private namespace:\n{links}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = Command::new("ip").args(["-6", "-o", "addr", "show", "scope", "link"]).output().expect("ip addr");
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains(" va ") && text.contains(" vb ") && !text.contains("tentative") {
            break;
        }
        assert!(Instant::now() < deadline, "veth addresses did not come up: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn invalid_argument<T: std::fmt::Debug>(r: mcast::Result<T>, what: &str) -> String {
    match r {
        Err(e @ Error::InvalidArgument(_)) => {
            let text = e.to_string();
            assert!(text.starts_with("invalid argument: "), "{what}: {text}");
            text
        }
        other => panic!("{what}: expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Context>();
    check::<mcast::Sender>();
    check::<mcast::Receiver>();
    check::<Group>();
    check::<Error>();
}

#[test]
fn invalid_group_values_are_invalid_arguments() {
    // Pure value checks: no socket is opened, so this runs in any namespace.
    for addr in ["2001:db8::1", "::1", "::", "fe80::1", "239.1.1.1", "ff3e::1%eth0", "ff3e::1::2", "not an address", ""] {
        let text = invalid_argument(Group::parse(addr, 5000, "eth0"), addr);
        assert!(text.contains(addr.trim_start_matches('[')), "{addr}: the message names the value: {text}");
    }
    for addr in [Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED, "2001:db8::1".parse().unwrap()] {
        invalid_argument(Group::new(addr, 5000, "eth0"), &addr.to_string());
    }
    let text = invalid_argument(Group::parse("ff3e::1", 0, "eth0"), "port 0");
    assert!(text.contains("port 0"), "{text}");
    let text = invalid_argument(Group::parse("ff3e::1", 5000, ""), "empty interface");
    assert!(text.contains("no interface given"), "{text}");
    // IFNAMSIZ is 16 including the NUL: 15 characters is the longest name.
    for iface in ["a/b", "eth 0", "eth\t0", "eth\00", "sixteen-chars-xx", "a-much-longer-interface-name"] {
        let text = invalid_argument(Group::parse("ff3e::1", 5000, iface), iface);
        assert!(text.contains("is not a valid interface name"), "{iface:?}: {text}");
    }

    // The limits themselves are accepted.
    let g = Group::parse("[ff3e::4d43]", 65535, "fifteen-chars-x").unwrap();
    assert_eq!((g.addr(), g.port(), g.interface()), ("ff3e::4d43".parse().unwrap(), 65535, "fifteen-chars-x"));
    assert_eq!(g.to_string(), "[ff3e::4d43]:65535 on fifteen-chars-x");
    assert_eq!(Group::parse("ff02::1", 1, "br9").unwrap(), Group::new("ff02::1".parse().unwrap(), 1, "br9").unwrap());
}

#[test]
fn a_missing_interface_is_no_such_interface() {
    private_network();
    let ctx = Context::new().unwrap();
    let group = Group::parse("ff3e::4d43:1", 7201, "br9").unwrap();
    let want = "ff3e::4d43:1 is not joined: interface br9 does not exist";

    match ctx.receiver(&group, ReceiverConfig::default()) {
        Err(e @ Error::NoSuchInterface { .. }) => {
            assert_eq!(e.to_string(), want);
            let Error::NoSuchInterface { group, interface } = e else { unreachable!() };
            assert_eq!((group.as_str(), interface.as_str()), ("ff3e::4d43:1", "br9"));
        }
        other => panic!("receiver on br9: expected NoSuchInterface, got {other:?}"),
    }
    // Senders check the interface the same way, before sending anything.
    match ctx.sender(&group, SenderConfig::default()) {
        Err(e @ Error::NoSuchInterface { .. }) => assert_eq!(e.to_string(), want),
        other => panic!("sender on br9: expected NoSuchInterface, got {other:?}"),
    }
    // The failures left the context usable.
    let ok = Group::parse("ff3e::4d43:1", 7201, "vb").unwrap();
    let receiver = ctx.receiver(&ok, ReceiverConfig::default()).unwrap();
    assert_eq!(receiver.group(), &ok);
}

#[test]
fn dropping_the_context_wakes_blocked_receivers() {
    private_network();
    let ctx = Context::new().unwrap();
    let group = Group::parse("ff3e::4d43:2", 7202, "vb").unwrap();
    let receiver = Arc::new(ctx.receiver(&group, ReceiverConfig::default()).unwrap());

    // One thread blocks in recv() (no deadline), one in a long recv_timeout.
    let r = receiver.clone();
    let forever = std::thread::spawn(move || (r.recv(), Instant::now()));
    let r = receiver.clone();
    let long = std::thread::spawn(move || (r.recv_timeout(Duration::from_secs(60)), Instant::now()));
    std::thread::sleep(Duration::from_millis(200));
    assert!(!forever.is_finished() && !long.is_finished(), "recv returned with nothing sent");

    let dropped = Instant::now();
    drop(ctx);
    let took = dropped.elapsed();
    assert!(took < Duration::from_secs(2), "dropping the context took {took:?}");
    for (name, t) in [("recv", forever), ("recv_timeout", long)] {
        let (result, woke) = t.join().unwrap();
        assert!(matches!(result, Err(Error::Closed)), "{name} returned {result:?}");
        let after = woke.saturating_duration_since(dropped);
        assert!(after < Duration::from_secs(2), "{name} woke {after:?} after the drop");
    }

    // The receiver outlives its context: every call says Closed, none blocks.
    assert!(matches!(receiver.try_recv(), Err(Error::Closed)));
    let start = Instant::now();
    assert!(matches!(receiver.recv_timeout(Duration::from_secs(10)), Err(Error::Closed)));
    assert!(matches!(receiver.recv(), Err(Error::Closed)));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(receiver.progress().is_empty());
    let _ = receiver.stats();
    drop(receiver); // must not panic or hang
}

#[test]
fn receiving_with_no_sender_times_out() {
    private_network();
    let ctx = Context::new().unwrap();
    let group = Group::parse("ff3e::4d43:3", 7203, "vb").unwrap();
    let receiver = ctx.receiver(&group, ReceiverConfig::default()).unwrap();

    assert!(matches!(receiver.try_recv(), Err(Error::WouldBlock(_))));
    let start = Instant::now();
    assert!(matches!(receiver.recv_timeout(Duration::from_millis(300)), Err(Error::Timeout)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "recv_timeout(300 ms) took {took:?}");
    // A zero timeout behaves like try_recv but says Timeout.
    assert!(matches!(receiver.recv_timeout(Duration::ZERO), Err(Error::Timeout)));
    assert!(receiver.progress().is_empty());
    let st = receiver.stats();
    assert_eq!((st.datagrams_received, st.datagrams_sent, st.objects_completed, st.senders), (0, 0, 0, 0));
    assert_eq!(Error::Timeout.to_string(), "timed out");
}

#[test]
fn several_receivers_and_configs_on_one_port() {
    private_network();
    let config = ContextConfig {
        socket: SocketConfig { hop_limit: 1, loopback: false, recv_buffer: 1 << 20, send_buffer: 256 << 10 },
    };
    let ctx = Context::with_config(config).unwrap();
    // Same group and port twice, and another group on the same port: the
    // sockets share the port (SO_REUSEPORT) and each gets its own node id.
    let a = ctx.receiver(&Group::parse("ff3e::4d43:4", 7204, "vb").unwrap(), ReceiverConfig::default()).unwrap();
    let b = ctx.receiver(&Group::parse("ff3e::4d43:4", 7204, "vb").unwrap(), ReceiverConfig::default()).unwrap();
    let c = ctx.receiver(&Group::parse("ff02::4d43:4", 7204, "va").unwrap(), ReceiverConfig::default()).unwrap();
    assert!(a.node_id() != b.node_id() && b.node_id() != c.node_id() && a.node_id() != c.node_id());
    // Buffers of size 0 mean "leave the kernel's default".
    let ctx2 = Context::with_config(ContextConfig { socket: SocketConfig { recv_buffer: 0, send_buffer: 0, ..Default::default() } }).unwrap();
    ctx2.receiver(&Group::parse("ff3e::4d43:4", 7204, "vb").unwrap(), ReceiverConfig::default()).unwrap();
}

#[test]
fn sender_argument_errors_send_nothing() {
    private_network();
    let ctx = Context::new().unwrap();
    let group = Group::parse("ff3e::4d43:5", 7205, "va").unwrap();
    // An idle sender (nothing queued) sends nothing; every call below fails
    // before anything is queued.
    let sender = ctx.sender(&group, SenderConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("mcast-api-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let missing = dir.join("no-such-file");
    match sender.send_file(&missing) {
        Err(e @ Error::Io { .. }) => assert_eq!(
            e.to_string(),
            format!("cannot send {}: No such file or directory (os error 2)", missing.display())
        ),
        other => panic!("send_file of a missing file: {other:?}"),
    }
    let text = invalid_argument(sender.send_file(&dir), "send_file of a directory");
    assert!(text.ends_with("not a regular file"), "{text}");
    let text = invalid_argument(sender.send_file("/"), "send_file of /");
    assert!(text.contains("has no file name"), "{text}");
    // NORM_INFO must fit in one segment (1400 bytes by default).
    let text = invalid_argument(sender.send_with_info(b"x", &[b'i'; 1401]), "1401-byte info");
    assert!(text.contains("exceeds the segment size"), "{text}");
    let st = sender.stats();
    assert_eq!((st.objects_enqueued, st.datagrams_sent), (0, 0), "{st:?}");
    assert_ne!(sender.node_id(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_context_refuses_new_sessions() {
    private_network();
    let ctx = Context::new().unwrap();
    let group = Group::parse("ff3e::4d43:6", 7206, "vb").unwrap();
    ctx.close();
    ctx.close(); // idempotent
    assert!(matches!(ctx.receiver(&group, ReceiverConfig::default()), Err(Error::Closed)));
    assert!(matches!(ctx.sender(&group, SenderConfig::default()), Err(Error::Closed)));
    assert_eq!(Error::Closed.to_string(), "closed");
}
