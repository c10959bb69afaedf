//! Protocol cases found by interoperating with libnorm and in the lab, each
//! pinned with hand-made packets.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use mcast::proto::{ObjectKind, Receiver, ReceiverConfig, ReceiverEvent, Sender, SenderConfig};
use mcast::wire::{
    fec_id, flags, nack_flags, nack_form, Body, Cmd, CmdMsg, FecPayloadId, Fti, Info, Nack, NormTime, ObjectHeader, Packet,
    RepairItem, RepairRequest, SenderHeader,
};

fn addr(i: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i), 6003, 0, 0))
}

fn encode(p: Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(&mut out);
    out
}

const SENDER_HDR: SenderHeader = SenderHeader { instance_id: 9, grtt: 60, backoff: 4, gsize: 3 };

/// libnorm sends an empty object as NORM_INFO (with its FTI) and flushes; it
/// sends no NORM_DATA and never answers a NACK for one. The receiver must
/// complete it from the FTI alone, without asking for anything.
#[test]
fn an_empty_object_announced_by_info_alone_completes() {
    let t0 = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig::default(), 500, t0).unwrap();
    let fti = Fti { object_size: 0, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 };
    let object = ObjectHeader { sender: SENDER_HDR, flags: flags::INFO | flags::FILE, fec_id: fec_id::RS8, object_id: 0, fti: Some(fti) };
    rx.handle_datagram(t0, addr(1), &encode(Packet { sequence: 0, source_id: 42, body: Body::Info(Info { object, info: b"empty.txt", signed: false }) }));
    let flush = Cmd::Flush {
        item: RepairItem { fec_id: fec_id::RS8, object_id: 0, payload_id: FecPayloadId { block: 0, symbol: 0, block_len: 1 } },
        acking_nodes: vec![],
    };
    rx.handle_datagram(t0, addr(1), &encode(Packet { sequence: 1, source_id: 42, body: Body::Cmd(CmdMsg { sender: SENDER_HDR, cmd: flush }) }));
    let mut got = None;
    while let Some(ev) = rx.poll_event() {
        if let ReceiverEvent::Object(o) = ev {
            got = Some(o);
        }
    }
    let o = got.expect("the empty object was delivered");
    assert_eq!((o.data.len(), o.info.as_slice(), o.kind), (0, &b"empty.txt"[..], ObjectKind::File));
    // Nothing to ask for: no NACK over several seconds of timers.
    let mut now = t0;
    let mut buf = Vec::new();
    for _ in 0..100 {
        now += Duration::from_millis(50);
        rx.handle_timeout(now);
        while rx.poll_transmit(now, &mut buf).is_some() {
            assert_ne!(buf[0] & 0x0f, 4, "a NACK was sent");
        }
    }
    assert_eq!(rx.stats().nacks_sent, 0);
}

/// A NACK naming three separate missing segments of one block (three ITEMS)
/// is one receiver missing three segments: the sender answers with three
/// fresh parity segments, not one per NACK round.
#[test]
fn separate_items_of_one_block_count_as_that_many_erasures() {
    let t0 = Instant::now();
    // A fixed rate: the first pass is over within 20 ms (congestion
    // control would start slowly, with no receiver to give feedback).
    let cfg = SenderConfig { block_size: 16, parity: 8, segment_size: 100, congestion_control: false, ..Default::default() };
    let mut tx = Sender::new(cfg, 7, 3, t0).unwrap();
    tx.enqueue(t0, ObjectKind::Data, Box::new(vec![5u8; 1600]), None).unwrap();
    let mut now = t0;
    let mut buf = Vec::new();
    while now < t0 + Duration::from_millis(20) {
        while tx.poll_transmit(now, &mut buf).is_some() {}
        tx.handle_timeout(now);
        now += Duration::from_millis(1);
    }
    assert_eq!(tx.stats().data_segments_sent, 16);
    let items = [2u16, 7, 11]
        .iter()
        .map(|s| RepairItem { fec_id: fec_id::RS8, object_id: 0, payload_id: FecPayloadId { block: 0, symbol: *s, block_len: 16 } })
        .collect();
    let nack = Nack {
        server_id: 7,
        instance_id: 3,
        grtt_response: NormTime::default(),
        cc: None,
        requests: vec![RepairRequest { form: nack_form::ITEMS, flags: nack_flags::SEGMENT, items }],
    };
    tx.handle_datagram(now, addr(2), &encode(Packet { sequence: 0, source_id: 600, body: Body::Nack(nack) }));
    let before = tx.stats().parity_segments_sent;
    let end = now + Duration::from_secs(2);
    while now < end {
        tx.handle_timeout(now);
        while tx.poll_transmit(now, &mut buf).is_some() {}
        now += Duration::from_millis(1);
    }
    let st = tx.stats();
    assert_eq!(st.parity_segments_sent - before, 3, "{st:?}");
    assert_eq!(st.repair_segments_sent, 3);
}

/// A receiver that hears a sender's very first object (id 0) has nothing
/// earlier to ask for, whatever its sync policy: no NACK for "objects before
/// 0" (ids 0xff00..0xffff), which a fresh sender would have to squelch.
#[test]
fn no_speculative_nack_before_object_zero() {
    let t0 = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig::default(), 500, t0).unwrap();
    let fti = Fti { object_size: 10, segment_size: 1400, max_block_len: 64, num_parity: 0, fec_m: 8, fec_instance: 0 };
    let object = ObjectHeader { sender: SENDER_HDR, flags: 0, fec_id: fec_id::RS8, object_id: 0, fti: Some(fti) };
    let data = mcast::wire::Data { object, payload_id: FecPayloadId { block: 0, symbol: 0, block_len: 1 }, payload: b"0123456789" };
    rx.handle_datagram(t0, addr(1), &encode(Packet { sequence: 0, source_id: 42, body: Body::Data(data) }));
    let mut now = t0;
    let mut buf = Vec::new();
    for _ in 0..100 {
        now += Duration::from_millis(50);
        rx.handle_timeout(now);
        while rx.poll_transmit(now, &mut buf).is_some() {
            assert_ne!(buf[0] & 0x0f, 4, "a NACK was sent");
        }
    }
    let delivered = std::iter::from_fn(|| rx.poll_event()).filter(|e| matches!(e, ReceiverEvent::Object(_))).count();
    assert_eq!(delivered, 1);
}

fn data_packet(node: u32, object_id: u16, size: u64, block: u32, symbol: u16, payload: &[u8]) -> Vec<u8> {
    let fti = Fti { object_size: size, segment_size: 1400, max_block_len: 64, num_parity: 0, fec_m: 8, fec_instance: 0 };
    let object = ObjectHeader { sender: SENDER_HDR, flags: 0, fec_id: fec_id::RS8, object_id, fti: Some(fti) };
    let data = mcast::wire::Data { object, payload_id: FecPayloadId { block, symbol, block_len: 64 }, payload };
    encode(Packet { sequence: 0, source_id: node, body: Body::Data(data) })
}

/// Announcing huge objects costs a peer nothing, so it must not use up the
/// receive budget: memory is charged as data arrives. A flood of fake node
/// ids evicts its own kind, not a sender that keeps talking.
#[test]
fn fake_announcements_do_not_starve_a_genuine_sender() {
    let t0 = Instant::now();
    let cfg = ReceiverConfig { max_senders: 8, max_buffer_total: 10 << 20, max_object_size: 1 << 30, ..Default::default() };
    let mut rx = Receiver::new(cfg, 500, t0).unwrap();
    let mut now = t0;
    let mut delivered = 0;
    for i in 0..2000u32 {
        now += Duration::from_millis(1);
        // A fake sender announcing a 1 GiB object (one segment of it).
        rx.handle_datagram(now, addr(9), &data_packet(0x1000_0000 + i, 0, 1 << 30, 5, 0, &[1u8; 1400]));
        // The genuine sender: 100 objects of one segment each, interleaved.
        if i % 20 == 0 {
            let id = (i / 20) as u16;
            rx.handle_datagram(now, addr(1), &data_packet(42, id, 100, 0, 0, &[7u8; 100]));
        }
        while let Some(ev) = rx.poll_event() {
            if let ReceiverEvent::Object(o) = ev {
                if o.sender.node_id == 42 {
                    assert_eq!(o.data, vec![7u8; 100]);
                    delivered += 1;
                }
            }
        }
    }
    assert_eq!(delivered, 100, "the genuine sender's objects");
    let st = rx.stats();
    assert!(st.senders <= 8 && st.senders_evicted > 1900, "{st:?}");
}

/// A stream announcement (NORM_INFO with a huge buffer in its FTI) reserves
/// nothing: the budget is charged for blocks actually buffered.
#[test]
fn a_stream_announcement_uses_no_budget() {
    let t0 = Instant::now();
    let cfg = ReceiverConfig { max_buffer_total: 2 << 20, max_buffer_per_sender: 2 << 20, ..Default::default() };
    let mut rx = Receiver::new(cfg, 500, t0).unwrap();
    let fti = Fti { object_size: 1 << 40, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 };
    for i in 0..10u16 {
        let object = ObjectHeader { sender: SENDER_HDR, flags: flags::STREAM | flags::INFO, fec_id: fec_id::RS8, object_id: i, fti: Some(fti) };
        rx.handle_datagram(t0, addr(9), &encode(Packet { sequence: i, source_id: 0x5000_0000 + i as u32, body: Body::Info(Info { object, info: b"s", signed: false }) }));
    }
    // A genuine object of 10 full blocks (896,000 bytes), segment by segment.
    let size = 10 * 64 * 1400u64;
    let segs = size.div_ceil(1400);
    for k in 0..segs {
        let len = (size - k * 1400).min(1400) as usize;
        let (block, symbol) = ((k / 64) as u32, (k % 64) as u16);
        rx.handle_datagram(t0, addr(1), &data_packet(42, 0, size, block, symbol, &vec![3u8; len]));
    }
    let got: Vec<_> = std::iter::from_fn(|| rx.poll_event())
        .filter_map(|e| match e {
            ReceiverEvent::Object(o) => Some(o.data.len()),
            ReceiverEvent::Aborted { reason, .. } => panic!("aborted: {reason}"),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![size as usize]);
}

#[test]
fn receiver_settings_that_would_ignore_everyone_are_refused() {
    use mcast::proto::{Receiver, ReceiverConfig};
    use std::time::{Duration, Instant};
    let t0 = Instant::now();
    for (cfg, says) in [
        (ReceiverConfig { max_senders: 0, ..Default::default() }, "max_senders"),
        (ReceiverConfig { inactivity_timeout: Duration::ZERO, ..Default::default() }, "inactivity timeout"),
        (ReceiverConfig { seal_max_age: Some(Duration::ZERO), key: Some(mcast::Key::generate()), ..Default::default() }, "maximum age"),
    ] {
        match Receiver::new(cfg, 5, t0) {
            Err(mcast::Error::InvalidArgument(m)) => assert!(m.contains(says), "{m}"),
            Err(e) => panic!("{says}: {e}"),
            Ok(_) => panic!("{says}: accepted"),
        }
    }
    assert!(Receiver::new(ReceiverConfig { max_senders: 1, inactivity_timeout: Duration::from_millis(1), ..Default::default() }, 5, t0).is_ok());
}

#[test]
fn a_stream_buffer_past_48_bits_is_refused_up_front() {
    use mcast::proto::{Sender, SenderConfig};
    use std::time::Instant;
    let t0 = Instant::now();
    for blocks in [1usize << 40, 1 << 57, 1 << 62, usize::MAX] {
        match Sender::new(SenderConfig { stream_buffer_blocks: blocks, ..Default::default() }, 5, 1, t0) {
            Err(mcast::Error::InvalidArgument(m)) => assert!(m.contains("too large"), "{m}"),
            Err(e) => panic!("{blocks}: {e}"),
            Ok(_) => panic!("{blocks} blocks accepted"),
        }
    }
    let mut s = Sender::new(SenderConfig { stream_buffer_blocks: 1 << 20, cache_max_bytes: u64::MAX, ..Default::default() }, 5, 1, t0).unwrap();
    assert!(s.open_stream(t0, None).is_ok());
}

/// The segments a receiver's NACKs ask for, as (block, symbol) pairs, over
/// `secs` seconds of its timers.
fn nacked_symbols(rx: &mut Receiver, t0: Instant, secs: u64) -> Vec<(u32, u16)> {
    let mut now = t0;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while now < t0 + Duration::from_secs(secs) {
        now += Duration::from_millis(10);
        rx.handle_timeout(now);
        while rx.poll_transmit(now, &mut buf).is_some() {
            if let Ok(Packet { body: Body::Nack(n), .. }) = Packet::decode(&buf) {
                for r in &n.requests {
                    for (a, z) in r.pairs() {
                        out.extend((a.payload_id.symbol..=z.payload_id.symbol).map(|s| (a.payload_id.block, s)));
                    }
                }
                if !out.is_empty() {
                    return out;
                }
            }
        }
    }
    out
}

/// Like libnorm's receivers, ours ask for the parity segments they lack
/// first (any `needed` of them rebuild the block, and the same ones serve
/// every receiver), so a libnorm sender repairs with parity too; data
/// segments are named only for what the block's parity cannot cover.
#[test]
fn receivers_nack_for_parity_they_lack_first() {
    // An object of one block: 8 data segments of 100 bytes, 4 parity.
    let fti = Fti { object_size: 800, segment_size: 100, max_block_len: 8, num_parity: 4, fec_m: 8, fec_instance: 0 };
    let object = ObjectHeader { sender: SENDER_HDR, flags: 0, fec_id: fec_id::RS8, object_id: 0, fti: Some(fti) };
    let segment = |symbol: u16| {
        let payload = [symbol as u8; 100];
        encode(Packet { sequence: symbol, source_id: 42, body: Body::Data(mcast::wire::Data { object, payload_id: FecPayloadId { block: 0, symbol, block_len: 8 }, payload: &payload }) })
    };
    let flush = Cmd::Flush {
        item: RepairItem { fec_id: fec_id::RS8, object_id: 0, payload_id: FecPayloadId { block: 0, symbol: 7, block_len: 8 } },
        acking_nodes: vec![],
    };
    let flush = encode(Packet { sequence: 100, source_id: 42, body: Body::Cmd(CmdMsg { sender: SENDER_HDR, cmd: flush }) });
    for (have, parity, want) in [
        // Two data segments lost, parity 0 (symbol 8) received: one more
        // segment rebuilds the block, the first parity not received.
        (vec![0u16, 1, 3, 4, 6, 7], vec![8u16], vec![(0u32, 9u16)]),
        // Six lost and no parity: all four parity, then two data segments.
        (vec![0, 7], vec![], vec![(0, 1), (0, 2), (0, 8), (0, 9), (0, 10), (0, 11)]),
    ] {
        let t0 = Instant::now();
        let mut rx = Receiver::new(ReceiverConfig::default(), 500, t0).unwrap();
        for s in have.iter().chain(&parity) {
            rx.handle_datagram(t0, addr(1), &segment(*s));
        }
        rx.handle_datagram(t0, addr(1), &flush);
        assert_eq!(nacked_symbols(&mut rx, t0, 5), want, "having {have:?} and parity {parity:?}");
    }
}

/// Once its parity is used up, a sender resends the parity segments a NACK
/// names (a receiver lost them) rather than the whole block.
#[test]
fn named_parity_is_resent_once_fresh_parity_is_used_up() {
    let t0 = Instant::now();
    let cfg = SenderConfig { block_size: 16, parity: 2, segment_size: 100, congestion_control: false, ..Default::default() };
    let mut tx = Sender::new(cfg, 7, 3, t0).unwrap();
    tx.enqueue(t0, ObjectKind::Data, Box::new(vec![5u8; 1600]), None).unwrap();
    let mut now = t0;
    let mut buf = Vec::new();
    let mut run = |tx: &mut Sender, now: &mut Instant, ms: u64| {
        let end = *now + Duration::from_millis(ms);
        while *now < end {
            tx.handle_timeout(*now);
            while tx.poll_transmit(*now, &mut buf).is_some() {}
            *now += Duration::from_millis(1);
        }
    };
    run(&mut tx, &mut now, 20);
    let nack = |symbols: std::ops::RangeInclusive<u16>| {
        let a = RepairItem { fec_id: fec_id::RS8, object_id: 0, payload_id: FecPayloadId { block: 0, symbol: *symbols.start(), block_len: 16 } };
        let z = RepairItem { payload_id: FecPayloadId { symbol: *symbols.end(), ..a.payload_id }, ..a };
        let nack = Nack {
            server_id: 7,
            instance_id: 3,
            grtt_response: NormTime::default(),
            cc: None,
            requests: vec![RepairRequest { form: nack_form::RANGES, flags: nack_flags::SEGMENT, items: vec![a, z] }],
        };
        encode(Packet { sequence: 0, source_id: 600, body: Body::Nack(nack) })
    };
    // Both parity segments (symbols 16 and 17) go out fresh...
    tx.handle_datagram(now, addr(2), &nack(16..=17));
    run(&mut tx, &mut now, 2000);
    let st = tx.stats();
    assert_eq!((st.parity_segments_sent, st.repair_segments_sent), (2, 2), "{st:?}");
    // ...and a receiver that lost the second asks for it again: it gets
    // that one segment, not the block's 16 data segments.
    tx.handle_datagram(now, addr(2), &nack(17..=17));
    run(&mut tx, &mut now, 2000);
    let st = tx.stats();
    assert_eq!((st.parity_segments_sent, st.repair_segments_sent), (3, 3), "{st:?}");
}

/// One parity segment repairs different losses at different receivers:
/// two receivers each lose a different data segment of a block, and one
/// repair (a parity segment) completes the object at both.
#[test]
fn one_parity_segment_repairs_different_losses_at_different_receivers() {
    let t0 = Instant::now();
    let cfg = SenderConfig { block_size: 16, parity: 4, segment_size: 100, congestion_control: false, ..Default::default() };
    let mut tx = Sender::new(cfg, 7, 3, t0).unwrap();
    let data: Vec<u8> = (0..1600u32).map(|i| (i * 7 % 251) as u8).collect();
    tx.enqueue(t0, ObjectKind::Data, Box::new(data.clone()), None).unwrap();
    let mut rxs = [Receiver::new(ReceiverConfig::default(), 501, t0).unwrap(), Receiver::new(ReceiverConfig::default(), 502, t0).unwrap()];
    // Receiver i loses data segment `lose[i]` of block 0 the first time.
    let lose = [3u16, 11];
    let mut lost = [false, false];
    let mut got: [Option<Vec<u8>>; 2] = [None, None];
    let (mut now, mut buf, mut fb) = (t0, Vec::new(), Vec::new());
    while now < t0 + Duration::from_secs(10) && got.iter().any(Option::is_none) {
        tx.handle_timeout(now);
        while tx.poll_transmit(now, &mut buf).is_some() {
            let symbol = match Packet::decode(&buf) {
                Ok(Packet { body: Body::Data(d), .. }) if d.payload_id.block == 0 => Some(d.payload_id.symbol),
                _ => None,
            };
            for (i, rx) in rxs.iter_mut().enumerate() {
                if symbol == Some(lose[i]) && !lost[i] {
                    lost[i] = true;
                    continue;
                }
                rx.handle_datagram(now, addr(1), &buf);
            }
        }
        for i in 0..2 {
            rxs[i].handle_timeout(now);
            while rxs[i].poll_transmit(now, &mut fb).is_some() {
                // Feedback goes to the group: the sender and the other receiver.
                tx.handle_datagram(now, addr(10 + i as u16), &fb);
                rxs[1 - i].handle_datagram(now, addr(10 + i as u16), &fb);
            }
            while let Some(ev) = rxs[i].poll_event() {
                if let ReceiverEvent::Object(o) = ev {
                    got[i] = Some(o.data);
                }
            }
        }
        now += Duration::from_millis(1);
    }
    assert!(lost[0] && lost[1]);
    assert_eq!(got, [Some(data.clone()), Some(data)], "both receivers complete the object");
    let st = tx.stats();
    assert_eq!((st.parity_segments_sent, st.repair_segments_sent), (1, 1), "one repair for both: {st:?}");
    assert_eq!(rxs.iter().map(|r| r.stats().fec_recovered_segments).sum::<u64>(), 2);
}
