//! Hostile and malformed input to the protocol state machines: whatever
//! arrives, they must not panic, and they must keep serving the honest sender.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use mcast::proto::{ObjectKind, Receiver, ReceiverConfig, ReceiverEvent, Sender, SenderConfig};
use mcast::wire::{
    fec_id, flags, nack_flags, nack_form, Body, Cmd, CmdMsg, Data, FecPayloadId, Fti, Info, Nack, NormTime, ObjectHeader, Packet,
    RepairItem, RepairRequest, SenderHeader,
};
use proptest::prelude::*;

fn addr(i: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i), 6003, 0, 0))
}

fn arb_fti() -> impl Strategy<Value = Fti> {
    (any::<u64>(), any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(size, seg, k, p)| Fti {
        object_size: size & 0xffff_ffff_ffff,
        segment_size: seg,
        max_block_len: k,
        num_parity: p,
        fec_m: 8,
        fec_instance: 0,
    })
}

fn arb_packet_bytes() -> impl Strategy<Value = Vec<u8>> {
    let sender = (any::<u16>(), any::<u8>(), 0u8..16, 0u8..16).prop_map(|(i, g, b, s)| SenderHeader { instance_id: i % 3, grtt: g, backoff: b, gsize: s }).boxed();
    let obj = (sender.clone(), any::<u8>(), any::<u16>(), proptest::option::of(arb_fti())).prop_map(|(sender, f, id, fti)| ObjectHeader {
        sender,
        flags: f,
        fec_id: fec_id::RS8,
        object_id: id % 8,
        fti,
    }).boxed();
    let payload_id = (0u32..1 << 24, any::<u8>()).prop_map(|(b, s)| FecPayloadId { block: b % 4, symbol: s as u16, block_len: 0 }).boxed();
    let item = (any::<u16>(), payload_id.clone()).prop_map(|(o, p)| RepairItem { fec_id: fec_id::RS8, object_id: o % 8, payload_id: p }).boxed();
    let req = (1u8..4, any::<u8>(), proptest::collection::vec(item.clone(), 0..6)).prop_map(|(form, f, mut items)| {
        if form == nack_form::RANGES && items.len() % 2 == 1 {
            items.pop();
        }
        RepairRequest { form, flags: f & 0x0f, items }
    });
    let data = proptest::collection::vec(any::<u8>(), 0..300).boxed();
    prop_oneof![
        (obj.clone(), payload_id.clone(), data.clone()).prop_map(|(object, payload_id, d)| {
            let mut out = Vec::new();
            Packet { sequence: 0, source_id: 77, body: Body::Data(Data { object, payload_id, payload: &d }) }.encode(&mut out);
            out
        }),
        (obj, data.clone()).prop_map(|(object, d)| {
            let mut out = Vec::new();
            Packet { sequence: 0, source_id: 77, body: Body::Info(Info { object, info: &d, signed: false }) }.encode(&mut out);
            out
        }),
        (sender.clone(), item.clone(), proptest::collection::vec(any::<u16>(), 0..20)).prop_map(|(sender, item, inv)| {
            let mut out = Vec::new();
            let cmd = if inv.len() % 2 == 0 { Cmd::Flush { item, acking_nodes: vec![] } } else { Cmd::Squelch { item, invalid_objects: inv } };
            Packet { sequence: 0, source_id: 77, body: Body::Cmd(CmdMsg { sender, cmd }) }.encode(&mut out);
            out
        }),
        (sender, any::<u16>()).prop_map(|(sender, seq)| {
            let mut out = Vec::new();
            let cmd = if seq % 3 == 0 { Cmd::Eot } else { Cmd::Cc { cc_sequence: seq, send_time: NormTime { sec: 1, usec: 5 }, rate: None, nodes: vec![] } };
            Packet { sequence: 0, source_id: 77, body: Body::Cmd(CmdMsg { sender, cmd }) }.encode(&mut out);
            out
        }),
        (proptest::collection::vec(req, 0..4), any::<u32>()).prop_map(|(requests, server)| {
            let mut out = Vec::new();
            let nack = Nack { server_id: if server % 2 == 0 { 5 } else { server }, instance_id: 7, grtt_response: NormTime::default(), cc: None, requests };
            Packet { sequence: 0, source_id: 99, body: Body::Nack(nack) }.encode(&mut out);
            out
        }),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// A receiver fed hostile packets from one sender never panics and keeps
    /// its memory within the configured bound (objects over it are aborted).
    #[test]
    fn receiver_survives_hostile_sender(packets in proptest::collection::vec(arb_packet_bytes(), 1..60)) {
        let t0 = Instant::now();
        let cfg = ReceiverConfig { max_object_size: 1 << 20, max_buffer_per_sender: 2 << 20, ..Default::default() };
        let mut rx = Receiver::new(cfg, 42, t0).unwrap();
        let mut buf = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            let now = t0 + Duration::from_millis(i as u64 * 7);
            rx.handle_datagram(now, addr(1), p);
            if rx.poll_timeout().is_some_and(|t| t <= now + Duration::from_millis(50)) {
                rx.handle_timeout(now + Duration::from_millis(50));
            }
            while rx.poll_transmit(now, &mut buf).is_some() {
                // Whatever the receiver sends must itself decode.
                prop_assert!(Packet::decode(&buf).is_ok());
            }
            while let Some(ev) = rx.poll_event() {
                if let ReceiverEvent::Object(o) = ev {
                    prop_assert!(o.data.len() <= 1 << 20);
                }
            }
            let _ = rx.progress();
        }
        // Run the timers out: inactivity drops the sender.
        let end = t0 + Duration::from_secs(3600);
        rx.handle_timeout(end);
        while rx.poll_event().is_some() {}
        prop_assert_eq!(rx.stats().senders, 0);
    }

    /// A sender fed hostile NACKs (any objects, blocks, ranges, flags) never
    /// panics and keeps sending decodable packets.
    #[test]
    fn sender_survives_hostile_nacks(packets in proptest::collection::vec(arb_packet_bytes(), 1..60)) {
        let t0 = Instant::now();
        let cfg = SenderConfig { segment_size: 100, block_size: 4, parity: 2, ..Default::default() };
        let mut tx = Sender::new(cfg, 5, 7, t0).unwrap();
        tx.enqueue(t0, ObjectKind::Data, Box::new(vec![1u8; 1000]), Some(b"a".to_vec())).unwrap();
        tx.enqueue(t0, ObjectKind::Data, Box::new(Vec::<u8>::new()), None).unwrap();
        let mut buf = Vec::new();
        let mut now = t0;
        for p in &packets {
            now += Duration::from_millis(3);
            tx.handle_datagram(now, addr(2), p);
            if tx.poll_timeout().is_some_and(|t| t <= now) {
                tx.handle_timeout(now);
            }
            let mut n = 0;
            while n < 1000 && tx.poll_transmit(now, &mut buf).is_some() {
                prop_assert!(Packet::decode(&buf).is_ok());
                n += 1;
            }
            while tx.poll_event().is_some() {}
        }
    }
}

/// Object-level and block-level NACKs for objects the sender never had are
/// answered with a squelch, not a crash or a repair.
#[test]
fn sender_squelches_unknown_objects() {
    let t0 = Instant::now();
    let mut tx = Sender::new(SenderConfig::default(), 5, 7, t0).unwrap();
    tx.enqueue(t0, ObjectKind::Data, Box::new(vec![1u8; 10]), None).unwrap();
    let mut buf = Vec::new();
    while tx.poll_transmit(t0, &mut buf).is_some() {}
    let nack = Nack {
        server_id: 5,
        instance_id: 7,
        grtt_response: NormTime::default(),
        cc: None,
        requests: vec![RepairRequest {
            form: nack_form::RANGES,
            flags: nack_flags::OBJECT,
            items: vec![
                RepairItem { fec_id: fec_id::RS8, object_id: 65000, payload_id: FecPayloadId::default() },
                RepairItem { fec_id: fec_id::RS8, object_id: 65535, payload_id: FecPayloadId::default() },
            ],
        }],
    };
    let mut out = Vec::new();
    Packet { sequence: 0, source_id: 9, body: Body::Nack(nack) }.encode(&mut out);
    tx.handle_datagram(t0, addr(2), &out);
    let mut now = t0;
    let mut squelched = false;
    for _ in 0..2000 {
        now += Duration::from_millis(1);
        tx.handle_timeout(now);
        while tx.poll_transmit(now, &mut buf).is_some() {
            if let Ok(Packet { body: Body::Cmd(CmdMsg { cmd: Cmd::Squelch { item, invalid_objects }, .. }), .. }) = Packet::decode(&buf) {
                assert_eq!(item.object_id, 0, "squelch names the oldest object held");
                assert_eq!(invalid_objects.len(), 536);
                squelched = true;
            }
        }
    }
    assert!(squelched, "no squelch sent");
}

/// No amplification: one forged NACK asking for a whole 40 MB object again
/// gets at most one repair round's worth (a second at the rate cap, at least
/// 8 MiB), not the object; nobody asks for the rest, so nothing more goes.
#[test]
fn one_nack_cannot_make_the_sender_resend_a_whole_large_object() {
    let t0 = Instant::now();
    let cfg = SenderConfig { congestion_control: false, rate_bps: 100_000_000, ..Default::default() };
    let segment = cfg.segment_size as usize;
    let mut tx = Sender::new(cfg, 5, 7, t0).unwrap();
    let size = 40_000_000usize;
    tx.enqueue(t0, ObjectKind::Data, Box::new(vec![7u8; size]), None).unwrap();
    let mut buf = Vec::new();
    let mut now = t0;
    let mut first_pass = 0usize;
    let step = |tx: &mut Sender, now: Instant, buf: &mut Vec<u8>| {
        if tx.poll_timeout().is_some_and(|t| t <= now) {
            tx.handle_timeout(now);
        }
        let mut repairs = 0;
        while tx.poll_transmit(now, buf).is_some() {
            if let Ok(Packet { body: Body::Data(d), .. }) = Packet::decode(buf) {
                if d.object.flags & flags::REPAIR != 0 {
                    repairs += 1;
                }
            }
        }
        repairs
    };
    while now < t0 + Duration::from_secs(5) {
        now += Duration::from_millis(1);
        first_pass += step(&mut tx, now, &mut buf);
    }
    assert_eq!(first_pass, 0);
    assert!(tx.stats().data_segments_sent as usize >= size / segment, "first pass over");
    let nack = Nack {
        server_id: 5,
        instance_id: 7,
        grtt_response: NormTime::default(),
        cc: None,
        requests: vec![RepairRequest {
            form: nack_form::ITEMS,
            flags: nack_flags::OBJECT,
            items: vec![RepairItem { fec_id: fec_id::RS8, object_id: 0, payload_id: FecPayloadId::default() }],
        }],
    };
    let mut out = Vec::new();
    Packet { sequence: 0, source_id: 9, body: Body::Nack(nack) }.encode(&mut out);
    tx.handle_datagram(now, addr(2), &out);
    let mut repairs = 0;
    let end = now + Duration::from_secs(10);
    while now < end {
        now += Duration::from_millis(1);
        repairs += step(&mut tx, now, &mut buf);
    }
    let budget = 12_500_000 / segment;
    assert!(repairs > budget / 2, "the request was served ({repairs} segments)");
    assert!(repairs <= budget, "{repairs} repair segments for one NACK (at most {budget}; the object has {})", size / segment);
}
