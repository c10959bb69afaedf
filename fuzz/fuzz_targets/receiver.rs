//! Feeds the receiver state machine an arbitrary sequence of datagrams from a
//! few source addresses at arbitrary times, with its timers and outputs
//! driven in between. Whatever arrives, it must not panic, and it must stay
//! within the memory its configuration allows (libFuzzer's malloc and RSS
//! limits catch what it does not).
//!
//! Input: records of [source (1 byte), time step in ms (1 byte), length
//! (2 bytes, big-endian), datagram (length bytes)].
#![no_main]

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mcast::proto::{Receiver, ReceiverConfig, SyncPolicy};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let config = ReceiverConfig {
        sync_policy: if data.first().is_some_and(|b| b & 1 == 1) { SyncPolicy::All } else { SyncPolicy::Current },
        max_object_size: 1 << 20,
        max_buffer_per_sender: 4 << 20,
        max_buffer_total: 8 << 20,
        max_senders: 4,
        // Half the inputs face a sealed receiver: every datagram goes
        // through the opener first (EXT_SEAL parsing, AEAD, replay state).
        key: data.first().is_some_and(|b| b & 2 == 2).then(|| mcast::Key::from_bytes([7; 32])),
        // A quarter trust a signer: NORM_INFO signature blocks are parsed
        // and checked, objects hashed block by block, stream units held
        // until their signature segments verify. (One seed is a stream
        // signed by this key, end to end.)
        trusted_signers: match data.first() {
            Some(b) if b & 4 == 4 => vec![mcast::SigningKey::from_bytes([9; 32]).public_key()],
            _ => Vec::new(),
        },
        ..Default::default()
    };
    let mut rx = Receiver::new(config, 77, t0).expect("receiver");
    let mut now = t0;
    let mut rest = data;
    let mut buf = Vec::new();
    while rest.len() >= 4 {
        let src = rest[0] % 4;
        now += Duration::from_millis(rest[1] as u64 * 4);
        let len = (u16::from_be_bytes([rest[2], rest[3]]) as usize).min(rest.len() - 4);
        let dgram = &rest[4..4 + len];
        rest = &rest[4 + len..];
        let from = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, src as u16 + 1), 5000, 0, 0));
        rx.handle_datagram(now, from, dgram);
        if rx.poll_timeout().is_some_and(|t| t <= now) {
            rx.handle_timeout(now);
        }
        // What it sends per datagram heard is bounded.
        let mut sent = 0;
        while rx.poll_transmit(now, &mut buf).is_some() {
            sent += 1;
            assert!(sent < 10_000, "a receiver sent 10,000 datagrams in one step");
        }
        while rx.poll_event().is_some() {}
        let _ = rx.progress();
    }
    // Run the clock on: timers must settle without panics.
    for _ in 0..50 {
        match rx.poll_timeout() {
            Some(t) => {
                now = now.max(t);
                rx.handle_timeout(now);
                while rx.poll_transmit(now, &mut buf).is_some() {}
                while rx.poll_event().is_some() {}
            }
            None => break,
        }
    }
});
