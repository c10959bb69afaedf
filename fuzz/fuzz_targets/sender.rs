//! Feeds a sender that holds a few objects and an open stream an arbitrary
//! sequence of datagrams (forged NACKs, ACKs, anything) at arbitrary times.
//! It must not panic, and its transmissions stay paced by its rate: one small
//! packet never makes it send without bound (no amplification).
//!
//! Input: records of [time step in ms (1 byte), length (2 bytes,
//! big-endian), datagram (length bytes)].
#![no_main]

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mcast::proto::{ObjectKind, Sender, SenderConfig};

/// The sender's rate: at most this many bits per second may go out.
const RATE: u64 = 10_000_000;

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let config = SenderConfig {
        block_size: 8,
        parity: 4,
        segment_size: 200,
        rate_bps: RATE,
        stream_buffer_blocks: 4,
        ..Default::default()
    };
    // Node id 7, instance 3: what a forged NACK must name to be heard.
    let mut tx = Sender::new(config, 7, 3, t0).expect("sender");
    tx.enqueue(t0, ObjectKind::Data, Box::new(vec![1u8; 5000]), Some(b"a".to_vec())).expect("enqueue");
    tx.enqueue(t0, ObjectKind::Data, Box::new(Vec::new()), None).expect("enqueue");
    let stream = tx.open_stream(t0, Some(b"s".to_vec())).expect("stream");
    let _ = tx.stream_write(t0, stream, &[2u8; 3000], true);
    let from = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9), 5000, 0, 0));
    let mut now = t0;
    let mut rest = data;
    let mut buf = Vec::new();
    let mut bytes_sent: u64 = 0;
    while rest.len() >= 3 {
        now += Duration::from_millis(rest[0] as u64);
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let dgram = &rest[3..3 + len];
        rest = &rest[3 + len..];
        tx.handle_datagram(now, from, dgram);
        if tx.poll_timeout().is_some_and(|t| t <= now) {
            tx.handle_timeout(now);
        }
        while tx.poll_transmit(now, &mut buf).is_some() {
            bytes_sent += buf.len() as u64 + 48;
            // Pacing allows the rate plus a small burst credit, never more.
            let allowed = (now - t0).as_secs_f64() * RATE as f64 / 8.0 + 64_000.0;
            assert!((bytes_sent as f64) <= allowed, "sent {bytes_sent} bytes by {:?}, more than the rate allows", now - t0);
        }
        while tx.poll_event().is_some() {}
    }
    let _ = tx.stream_close(now, stream);
    let _ = tx.flush(now);
    for _ in 0..200 {
        match tx.poll_timeout() {
            Some(t) => {
                now = now.max(t);
                tx.handle_timeout(now);
                while tx.poll_transmit(now, &mut buf).is_some() {}
                while tx.poll_event().is_some() {}
            }
            None => break,
        }
    }
});
