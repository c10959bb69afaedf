//! The engine and the Rust API over real sockets, inside a private network
//! namespace the test thread creates for itself (`unshare(CLONE_NEWNET)`
//! affects only the calling thread, and the engine thread and `ip` commands
//! started from it inherit the namespace). Nothing is ever sent in the
//! machine's own namespace.
//!
//! Each test makes a veth pair `va` <-> `vb`: senders join on `va`, receivers on
//! `vb`, so every datagram crosses a real (virtual) link. Needs root (CI runs as
//! root); without it the tests fail with a message saying so.

use std::os::fd::RawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use mcast::{Context, Error, Group, ReceiverConfig, SenderConfig};

/// Moves this thread into a new network namespace with a veth pair va<->vb.
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
    // Without these, link-local addresses stay tentative for a while and
    // sends fail with EADDRNOTAVAIL.
    sh("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
    sh("ip link set lo up && ip link add name va type veth peer name vb && ip link set va up && ip link set vb up");
    // Wait for the link-local addresses.
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

fn groups(port: u16) -> (Group, Group) {
    (Group::parse("ff3e::4d43:99", port, "va").unwrap(), Group::parse("ff3e::4d43:99", port, "vb").unwrap())
}

fn fast_sender() -> SenderConfig {
    SenderConfig { rate_bps: 200_000_000, ..Default::default() }
}

fn readable(fd: RawFd, timeout_ms: i32) -> bool {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    n == 1 && p.revents & libc::POLLIN != 0
}

#[test]
fn objects_arrive_in_order_with_info() {
    private_network();
    let (tx_group, rx_group) = groups(7101);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    let mut ids = Vec::new();
    for i in 0..200u32 {
        let data: Vec<u8> = (0..(i * 37 % 5000)).map(|j| (j ^ i) as u8).collect();
        ids.push(sender.send_with_info(&data, format!("m{i}").as_bytes()).unwrap());
    }
    sender.flush_timeout(Duration::from_secs(20)).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let m = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(m.object_id, *id);
        assert_eq!(m.info, format!("m{i}").as_bytes());
        let want: Vec<u8> = (0..(i as u32 * 37 % 5000)).map(|j| (j ^ i as u32) as u8).collect();
        assert_eq!(m.data, want, "object {i}");
        assert_eq!(m.sender_node_id, sender.node_id());
    }
    let st = receiver.stats();
    assert_eq!(st.objects_completed, 200);
    assert!(sender.stats().objects_sent >= 200);
    assert!(matches!(receiver.try_recv(), Err(Error::WouldBlock(_))));
}

#[test]
fn timeouts_of_centuries_mean_for_ever() {
    private_network();
    let (tx_group, rx_group) = groups(7115);
    let ctx = Context::new().unwrap();
    let rcfg = ReceiverConfig { inactivity_timeout: Duration::MAX, ..Default::default() };
    let receiver = ctx.receiver(&rx_group, rcfg).unwrap();
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    let id = sender.send_timeout(b"one", Duration::MAX).unwrap();
    sender.send_with_info_timeout(b"two", b"2", Duration::MAX).unwrap();
    sender.flush_timeout(Duration::MAX).unwrap();
    let report = sender.flush_acked(&[receiver.node_id()], Duration::MAX).unwrap();
    assert_eq!(report.acked, [receiver.node_id()]);
    let m = receiver.recv_timeout(Duration::MAX).unwrap();
    assert_eq!((m.object_id, m.data.as_slice()), (id, &b"one"[..]));
    assert_eq!(receiver.recv_timeout(Duration::MAX).unwrap().data, b"two");
}

#[test]
fn pollable_fd_follows_the_queue() {
    private_network();
    let (tx_group, rx_group) = groups(7102);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let fd = receiver.pollable_fd();
    assert!(!readable(fd, 0), "readable before anything was sent");
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    sender.send(b"one").unwrap();
    sender.send(b"two").unwrap();
    sender.flush_timeout(Duration::from_secs(10)).unwrap();
    assert!(readable(fd, 5000), "not readable after two objects");
    assert_eq!(receiver.try_recv().unwrap().data, b"one");
    // Wait until the second one is there too, then both are taken.
    let deadline = Instant::now() + Duration::from_secs(5);
    let second = loop {
        match receiver.try_recv() {
            Ok(m) => break m,
            Err(Error::WouldBlock(_)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(second.data, b"two");
    assert!(!readable(fd, 0), "still readable with an empty queue");
    drop(sender);
    ctx.close();
    assert!(readable(fd, 1000), "a closed receiver must be readable (recv returns Closed)");
    assert!(matches!(receiver.recv(), Err(Error::Closed)));
}

#[test]
fn callback_runs_instead_of_queueing() {
    private_network();
    let (tx_group, rx_group) = groups(7103);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let (tx, rx) = mpsc::channel();
    receiver.set_callback(Some(Box::new(move |m| {
        let _ = tx.send((std::thread::current().name().map(str::to_string), m.map(|m| m.data)));
    })));
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    for i in 0..20u8 {
        sender.send(&[i; 100]).unwrap();
    }
    sender.flush_timeout(Duration::from_secs(10)).unwrap();
    for i in 0..20u8 {
        let (thread, data) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(thread.as_deref(), Some("mcast-engine"));
        assert_eq!(data.unwrap(), vec![i; 100]);
    }
    assert!(matches!(receiver.try_recv(), Err(Error::WouldBlock(_))), "nothing may be queued too");
    // Closing tells the callback, once.
    drop(sender);
    ctx.close();
    let (_, end) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(end, Err(Error::Closed)), "{end:?}");
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "the callback was dropped after Closed");
}

#[test]
fn panicking_callback_does_not_stop_the_engine() {
    private_network();
    let (tx_group, rx_group) = groups(7104);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    receiver.set_callback(Some(Box::new(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        panic!("application bug");
    })));
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    sender.send(b"first").unwrap();
    sender.send(b"second").unwrap();
    sender.flush_timeout(Duration::from_secs(10)).unwrap();
    // The first delivery panicked and removed the callback; the second is queued.
    let m = receiver.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(m.data, b"second");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn close_wakes_a_blocked_recv() {
    private_network();
    let (_, rx_group) = groups(7105);
    let ctx = Context::new().unwrap();
    let receiver = Arc::new(ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap());
    let r = receiver.clone();
    let t = std::thread::spawn(move || r.recv());
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    ctx.close();
    let result = t.join().unwrap();
    assert!(matches!(result, Err(Error::Closed)), "{result:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // Every call on a handle of a closed context says so.
    assert!(matches!(receiver.try_recv(), Err(Error::Closed)));
}

#[test]
fn calls_after_close_fail_cleanly() {
    private_network();
    let (tx_group, _) = groups(7106);
    let ctx = Context::new().unwrap();
    let sender = ctx.sender(&tx_group, fast_sender()).unwrap();
    drop(ctx);
    assert!(matches!(sender.send(b"x"), Err(Error::Closed)));
    assert!(matches!(sender.flush(), Err(Error::Closed)));
}

#[test]
fn full_cache_blocks_try_send_and_times_out_send() {
    private_network();
    let (tx_group, _) = groups(7107);
    let ctx = Context::new().unwrap();
    // A slow sender with room for two objects: the third cannot be queued
    // until the first has been sent once.
    let cfg = SenderConfig { rate_bps: 100_000, cache_max_objects: 2, ..Default::default() };
    let sender = ctx.sender(&tx_group, cfg).unwrap();
    sender.send(&[1; 20_000]).unwrap();
    sender.send(&[2; 20_000]).unwrap();
    assert!(matches!(sender.try_send(&[3; 10]), Err(Error::WouldBlock(_))));
    let start = Instant::now();
    assert!(matches!(sender.send_timeout(&[3; 10], Duration::from_millis(200)), Err(Error::Timeout)));
    assert!(start.elapsed() >= Duration::from_millis(190));
    assert!(start.elapsed() < Duration::from_secs(2));
    // A blocking send waits for room and then succeeds (20 kB at 100 kbit/s
    // takes about 1.7 s).
    let id = sender.send(&[4; 10]).unwrap();
    assert!(id >= 2);
}

#[test]
fn a_signing_sender_waits_for_room_before_reading_an_object() {
    private_network();
    let (tx_group, _) = groups(7114);
    let ctx = Context::new().unwrap();
    let cfg = SenderConfig { rate_bps: 100_000, cache_max_objects: 1, signing_key: Some(mcast::SigningKey::generate()), ..Default::default() };
    let sender = ctx.sender(&tx_group, cfg).unwrap();
    sender.send(&[1; 20_000]).unwrap();
    // The cache stays full for seconds. Waiting for it in 20 ms slices, as
    // the bindings do, costs a copy of the object per slice, but the object
    // is read and hashed (to be signed) only once, when there is room.
    let big = vec![7u8; 8 << 20];
    assert!(matches!(sender.try_send(&big), Err(Error::WouldBlock(_))));
    let cpu = || {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: a valid timespec for the call to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    };
    let t = cpu();
    let copy = std::hint::black_box(big.to_vec());
    let copy_cost = cpu() - t;
    drop(copy);
    let t = cpu();
    std::hint::black_box(mcast::sign::block_hash(&big));
    let hash_cost = cpu() - t;
    let before = cpu();
    let mut slices = 0u32;
    loop {
        slices += 1;
        match sender.send_timeout(&big, Duration::from_millis(20)) {
            Err(Error::Timeout) => continue,
            other => break other.map(|_| ()).unwrap(),
        }
    }
    let used = cpu() - before;
    assert!(slices >= 20, "the cache was full for only {slices} slices");
    // Hashing the object in every slice would cost slices x hash_cost (a
    // copy per slice costs less than a hash).
    assert!(
        used < hash_cost * slices / 2,
        "{used:?} of CPU for {slices} slices (hashing once: {hash_cost:?}, copying once: {copy_cost:?}): hashed more than once?"
    );
}

#[test]
fn an_idle_context_uses_no_cpu() {
    private_network();
    let (tx_group, rx_group) = groups(7108);
    let ctx = Context::new().unwrap();
    let r = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    // Learn the engine thread's id from a callback that runs on it.
    let (tx, rx) = mpsc::channel();
    r.set_callback(Some(Box::new(move |_| {
        // SAFETY: gettid has no arguments.
        let _ = tx.send(unsafe { libc::gettid() });
    })));
    let s = ctx.sender(&tx_group, fast_sender()).unwrap();
    s.send(b"warm up").unwrap();
    s.flush_timeout(Duration::from_secs(10)).unwrap();
    let tid = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let before = thread_cpu_ticks(tid);
    std::thread::sleep(Duration::from_secs(2));
    let used = thread_cpu_ticks(tid) - before;
    // Clock ticks are 10 ms; a polling loop would use about 200.
    assert!(used <= 2, "the idle engine thread used {used} clock ticks of CPU in 2 s");
}

/// utime + stime of one of our threads, in clock ticks.
fn thread_cpu_ticks(tid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the ")" that ends the thread name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn waiting_calls_from_a_callback_fail_instead_of_deadlocking() {
    private_network();
    let (tx_group, rx_group) = groups(7109);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let sender = Arc::new(ctx.sender(&tx_group, fast_sender()).unwrap());
    let (tx, rx) = mpsc::channel();
    let s = sender.clone();
    receiver.set_callback(Some(Box::new(move |_| {
        let _ = tx.send(s.send(b"from the callback").map(|_| ()));
    })));
    sender.send(b"trigger").unwrap();
    let r = rx.recv_timeout(Duration::from_secs(10)).expect("callback ran");
    assert!(matches!(r, Err(Error::WouldBlock(_))), "{r:?}");
    sender.flush_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn a_stream_arrives_as_its_messages_then_its_end() {
    private_network();
    let (tx_group, rx_group) = groups(7110);
    let ctx = Context::new().unwrap();
    let receiver = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    // A small stream buffer so that the writer has to wait for room.
    let cfg = SenderConfig { stream_buffer_blocks: 8, block_size: 16, segment_size: 1000, ..fast_sender() };
    let sender = ctx.sender(&tx_group, cfg).unwrap();
    let before = sender.send_with_info(b"first", b"before").unwrap();
    let stream = sender.open_stream(Some(b"feed")).unwrap();
    // Queued while the stream is open: arrives after the stream's end.
    let writer = std::thread::spawn({
        let messages: Vec<Vec<u8>> = (0..1500u32).map(|i| format!("message {i} {}", "x".repeat((i % 2500) as usize)).into_bytes()).collect();
        move || {
            for m in &messages {
                stream.write_message(m).unwrap();
            }
            // io::Write: bytes without a message end, then a flush.
            use std::io::Write;
            let mut stream = stream;
            stream.write_all(b"tail without end").unwrap();
            stream.flush().unwrap();
            stream.close().unwrap();
            messages
        }
    });
    let messages = writer.join().unwrap();
    let after = sender.send_with_info(b"last", b"after").unwrap();
    sender.flush_timeout(Duration::from_secs(60)).unwrap();

    let m = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((m.object_id, m.data.as_slice(), m.kind), (before, &b"first"[..], mcast::ObjectKind::Data));
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut partial = Vec::new();
    let mut stream_id = None;
    loop {
        let m = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(m.kind, mcast::ObjectKind::Stream);
        assert_eq!(m.lost_before, 0);
        assert_eq!(*stream_id.get_or_insert(m.object_id), m.object_id);
        if m.stream_end {
            assert!(m.data.is_empty());
            break;
        }
        assert_eq!(m.info, b"feed");
        partial.extend_from_slice(&m.data);
        if m.message_end {
            got.push(std::mem::take(&mut partial));
        }
    }
    // The unterminated tail is ended by the stream's end.
    assert_eq!(got.len(), messages.len() + 1);
    assert_eq!(&got[..messages.len()], &messages[..]);
    assert_eq!(got[messages.len()], b"tail without end");
    let m = receiver.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!((m.object_id, m.data.as_slice()), (after, &b"last"[..]));
    // The stream's id lies between the objects around it.
    assert!(stream_id.unwrap() > before && stream_id.unwrap() < after);
}

/// The kernel's memberships of this thread's namespace on `dev`: for each
/// group (hex, as /proc shows it), how many sockets joined it
/// (/proc/thread-self: /proc/self/net would show the process's namespace,
/// not this thread's).
fn igmp6_users(dev: &str, group_hex: &str) -> u32 {
    let text = std::fs::read_to_string("/proc/thread-self/net/igmp6").expect("read igmp6");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[1] == dev && f[2] == group_hex)
        .map_or(0, |f| f[3].parse().expect("users"))
}

/// The (S,G) entries of this thread's namespace on `dev` (hex addresses).
fn ssm_sources(dev: &str, group_hex: &str) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/thread-self/net/mcfilter6").expect("read mcfilter6");
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 3 && f[1] == dev && f[2] == group_hex)
        .map(|f| f[3].to_string())
        .collect()
}

fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn receivers_join_and_leave_the_group_and_their_sources() {
    private_network();
    let (_, rx_group) = groups(7116);
    let hex = "ff3e000000000000000000004d430099";
    let ctx = Context::new().unwrap();
    assert_eq!(igmp6_users("vb", hex), 0);
    let a = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    let b = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    assert_eq!(igmp6_users("vb", hex), 2, "each receiver joins");
    drop(a);
    eventually("the dropped receiver left", || igmp6_users("vb", hex) == 1);
    // Source-specific: (S,G) for each source, left again when it goes.
    let sources: Vec<std::net::Ipv6Addr> = vec!["fd00::5".parse().unwrap(), "fd00::6".parse().unwrap()];
    let ssm = ctx.receiver(&rx_group.clone().with_sources(&sources).unwrap(), ReceiverConfig::default()).unwrap();
    let mut got = ssm_sources("vb", hex);
    got.sort();
    assert_eq!(got, ["fd000000000000000000000000000005", "fd000000000000000000000000000006"]);
    assert_eq!(igmp6_users("vb", hex), 2);
    ssm.close();
    eventually("the SSM receiver left its sources", || ssm_sources("vb", hex).is_empty() && igmp6_users("vb", hex) == 1);
    // The last one out leaves the group; closing the context does it too.
    let c = ctx.receiver(&rx_group, ReceiverConfig::default()).unwrap();
    drop(b);
    eventually("b left", || igmp6_users("vb", hex) == 1);
    ctx.close();
    eventually("closing the context left the group", || igmp6_users("vb", hex) == 0);
    drop(c);
    // Leaving does not wait for the socket to close.
    let cfg = mcast::net::SocketConfig::default();
    let s = mcast::net::open(&rx_group, &cfg, true).unwrap();
    assert_eq!(igmp6_users("vb", hex), 1);
    s.membership.leave(&s.socket).unwrap();
    assert_eq!(igmp6_users("vb", hex), 0);
    let s = mcast::net::open(&rx_group.with_sources(&sources).unwrap(), &cfg, true).unwrap();
    assert_eq!(ssm_sources("vb", hex).len(), 2);
    s.membership.leave(&s.socket).unwrap();
    assert!(ssm_sources("vb", hex).is_empty());
    assert_eq!(igmp6_users("vb", hex), 0);
}
