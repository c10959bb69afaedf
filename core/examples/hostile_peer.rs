//! A hostile NORM peer for robustness tests: it sends crafted datagrams to a
//! group (well-formed NORM that lies, and garbage) as fast as it can.
//!
//! ```text
//! hostile_peer GROUP PORT IFACE MODE COUNT
//! ```
//!
//! MODE:
//! - `fake-senders`: COUNT different node ids, each announcing a 1 GiB FILE
//!   object (NORM_INFO and a few NORM_DATA with EXT_FTI) it never sends;
//! - `huge-objects`: one node id announcing COUNT objects of 2^47 bytes;
//! - `absurd-fec`: COUNT NORM_DATA with impossible FEC parameters (segment
//!   size 0 or 65535, block 255 + parity 255, blocks past the end);
//! - `object-flood`: one node id sending NORM_INFO for COUNT object ids;
//! - `garbage`: COUNT random datagrams, and truncated or corrupted NORM.
//! - `tamper`: an on-path attacker of a sealed channel: joins the group and,
//!   for each datagram it hears, sends a copy with one bit flipped and, a
//!   little later, an unaltered replay; COUNT datagrams in all.
//! - `alter`: an on-path attacker against signed objects: for each NORM_DATA
//!   it hears, sends a copy with one bit of its payload flipped (headers
//!   intact, so only the content is wrong); COUNT datagrams in all.
//!
//! Used by `tests/net/hostile_netns.sh`; run it only inside a network
//! namespace (it sends multicast).

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::process::ExitCode;

use mcast::wire::{fec_id, flags, Body, Data, FecPayloadId, Fti, Info, ObjectHeader, Packet, SenderHeader};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

fn main() -> ExitCode {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 5 {
        eprintln!("usage: hostile_peer GROUP PORT IFACE MODE COUNT");
        return ExitCode::from(2);
    }
    let (Ok(group), Ok(port), Ok(count)) = (a[0].parse::<Ipv6Addr>(), a[1].parse::<u16>(), a[4].parse::<u32>()) else {
        eprintln!("hostile_peer: bad GROUP, PORT or COUNT");
        return ExitCode::from(2);
    };
    let ifindex = mcast::net::interface_index(&a[2]).unwrap_or(0);
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
    socket.set_multicast_if_v6(ifindex).expect("IPV6_MULTICAST_IF");
    socket.set_multicast_hops_v6(1).expect("hop limit");
    let to = SockAddr::from(SocketAddr::V6(SocketAddrV6::new(group, port, 0, 0)));
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut buf = Vec::with_capacity(2048);
    let mut sent = 0u64;
    let mut send = |buf: &[u8]| {
        // A full socket buffer is fine: this peer does not care what arrives.
        if socket.send_to(buf, &to).is_ok() {
            sent += 1;
        }
    };
    if a[3] == "tamper" || a[3] == "alter" {
        return tamper(&socket, group, port, ifindex, &to, count, a[3] == "alter", &mut rand);
    }
    let sender = |instance: u16| SenderHeader { instance_id: instance, grtt: 60, backoff: 4, gsize: 3 };
    let payload = vec![0xa5u8; 1400];
    for i in 0..count {
        buf.clear();
        match a[3].as_str() {
            "fake-senders" => {
                let fti = Fti { object_size: 1 << 30, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 };
                let object = ObjectHeader { sender: sender(1), flags: flags::FILE | flags::INFO, fec_id: fec_id::RS8, object_id: 0, fti: Some(fti) };
                let node = 0x1000_0000 + i;
                Packet { sequence: 0, source_id: node, body: Body::Info(Info { object, info: b"fake.bin", signed: false }) }.encode(&mut buf);
                send(&buf);
                for s in 0..3u16 {
                    buf.clear();
                    let payload_id = FecPayloadId { block: (rand() % 10_000) as u32, symbol: s, block_len: 64 };
                    Packet { sequence: s + 1, source_id: node, body: Body::Data(Data { object, payload_id, payload: &payload }) }.encode(&mut buf);
                    send(&buf);
                }
            }
            "huge-objects" => {
                let fti = Fti { object_size: 1 << 47, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 };
                let object = ObjectHeader { sender: sender(2), flags: 0, fec_id: fec_id::RS8, object_id: i as u16, fti: Some(fti) };
                let payload_id = FecPayloadId { block: 0, symbol: 0, block_len: 64 };
                Packet { sequence: i as u16, source_id: 0x2000_0001, body: Body::Data(Data { object, payload_id, payload: &payload }) }.encode(&mut buf);
                send(&buf);
            }
            "absurd-fec" => {
                let (seg, k, p) = match i % 3 {
                    0 => (0u16, 64u16, 16u16),
                    1 => (65535, 64, 16),
                    _ => (1400, 255, 255),
                };
                let fti = Fti { object_size: 1 << 20, segment_size: seg, max_block_len: k, num_parity: p, fec_m: 8, fec_instance: 0 };
                let object = ObjectHeader { sender: sender(3), flags: 0, fec_id: fec_id::RS8, object_id: i as u16, fti: Some(fti) };
                let payload_id = FecPayloadId { block: (rand() % (1 << 24)) as u32, symbol: (rand() % 256) as u16, block_len: k };
                Packet { sequence: i as u16, source_id: 0x3000_0001, body: Body::Data(Data { object, payload_id, payload: &payload }) }.encode(&mut buf);
                send(&buf);
            }
            "object-flood" => {
                let fti = Fti { object_size: 1 << 24, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 };
                let object = ObjectHeader { sender: sender(4), flags: flags::INFO, fec_id: fec_id::RS8, object_id: i as u16, fti: Some(fti) };
                Packet { sequence: i as u16, source_id: 0x4000_0001, body: Body::Info(Info { object, info: b"flood", signed: false }) }.encode(&mut buf);
                send(&buf);
            }
            "garbage" => {
                let len = (rand() % 1500) as usize;
                buf.extend((0..len).map(|_| rand() as u8));
                if i % 2 == 0 && len > 0 {
                    // Mostly-valid NORM: a real header, then corruption.
                    buf[0] = 0x12; // version 1, NORM_DATA
                }
                send(&buf);
            }
            m => {
                eprintln!("hostile_peer: unknown mode {m}");
                return ExitCode::from(2);
            }
        }
    }
    println!("{sent}");
    ExitCode::SUCCESS
}

/// The `tamper` mode: altered copies and replays of what the group carries.
/// `tamper` (any bit of any datagram, and replays) or, with `payload_only`,
/// `alter` (a bit of the payload of NORM_DATA).
#[allow(clippy::too_many_arguments)]
fn tamper(
    socket: &Socket,
    group: Ipv6Addr,
    port: u16,
    ifindex: u32,
    to: &SockAddr,
    count: u32,
    payload_only: bool,
    rand: &mut impl FnMut() -> u64,
) -> ExitCode {
    use std::mem::MaybeUninit;
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&SockAddr::from(SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0)))).expect("bind");
    socket.join_multicast_v6(&group, ifindex).expect("join");
    socket.set_multicast_loop_v6(false).expect("IPV6_MULTICAST_LOOP");
    socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let mut heard: Vec<Vec<u8>> = Vec::new();
    let mut buf = [MaybeUninit::<u8>::uninit(); 9000];
    let mut sent = 0u32;
    while sent < count {
        let Ok(n) = socket.recv(&mut buf) else { break };
        // SAFETY: recv initialised the first n bytes.
        let d: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
        if d.len() < 8 {
            continue;
        }
        let mut altered = d.clone();
        let start = if payload_only {
            let payload = d[1] as usize * 4;
            if d[0] & 0x0f != 2 || payload >= d.len() {
                continue;
            }
            payload
        } else {
            8
        };
        let at = start + (rand() as usize) % (altered.len() - start);
        altered[at] ^= 1 << (rand() % 8);
        if socket.send_to(&altered, to).is_ok() {
            sent += 1;
        }
        if payload_only {
            continue;
        }
        heard.push(d);
        if heard.len() > 50 {
            let old = heard.remove((rand() as usize) % 25);
            if socket.send_to(&old, to).is_ok() {
                sent += 1;
            }
        }
    }
    println!("{sent}");
    ExitCode::SUCCESS
}
