//! Sealed channels in simulation: content never on the wire in the clear,
//! loss repaired as usual, receivers without the key (or with another)
//! deliver nothing and say why, and forged, altered or replayed datagrams
//! never reach an object.

mod sim;

use std::time::Duration;

use mcast::proto::{Receiver, ReceiverConfig, Sender, SenderConfig};
use mcast::Key;
use sim::{NetConfig, Sim};

const MARKER: &[u8] = b"PLAINTEXT-MARKER-6f1d";
const INFO: &[u8] = b"secret-file-name.txt";

/// `n` objects of `size` bytes, each full of the marker.
fn objects(n: usize, size: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut v: Vec<u8> = MARKER.iter().copied().cycle().take(size).collect();
            v[0] = i as u8;
            v
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn sealed_configs(key: &Key) -> (SenderConfig, ReceiverConfig) {
    let scfg = SenderConfig { key: Some(key.clone()), rate_bps: 20_000_000, ..Default::default() };
    let rcfg = ReceiverConfig { key: Some(key.clone()), ..Default::default() };
    (scfg, rcfg)
}

#[test]
fn sealed_transfer_hides_content_and_repairs_loss() {
    let key = Key::generate();
    let (scfg, rcfg) = sealed_configs(&key);
    let mut sim = Sim::new(7, NetConfig::default(), scfg, rcfg, &[0.1, 0.1, 0.0], &[]);
    sim.record_wire = true;
    for o in objects(20, 30_000) {
        sim.send(o, INFO.to_vec());
    }
    assert!(sim.run_until(Duration::from_secs(60), Sim::all_delivered), "not everything was delivered");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty(), "receiver {i}: {:?}", r.aborted);
        assert_eq!(r.delivered.len(), 20);
        for ((id, data, info), (sid, sdata, sinfo)) in r.delivered.iter().zip(&sim.sent_objects) {
            assert_eq!((id, data, info), (sid, sdata, sinfo), "receiver {i}");
        }
        assert!(r.rejected.is_empty(), "receiver {i}: {:?}", r.rejected);
    }
    let st = sim.sender.stats();
    assert!(st.nacks_received > 0 && st.repair_segments_sent > 0, "loss was repaired: {st:?}");
    assert_eq!((st.datagrams_unauthenticated, st.datagrams_replayed, st.datagrams_seal_mismatch), (0, 0, 0));
    // On the wire: every datagram sealed, no content and no NORM_INFO in
    // the clear, and none larger than without a key.
    assert!(sim.wire.len() > 400);
    for d in &sim.wire {
        assert!(mcast::seal::is_sealed(d));
        assert!(!contains(d, &MARKER[..8]) && !contains(d, &INFO[..8]), "plaintext on the wire");
        assert!(d.len() <= 1400 + 40, "{} bytes", d.len());
    }
}

#[test]
fn receivers_without_the_key_deliver_nothing_and_say_why() {
    let key = Key::generate();
    let (scfg, rcfg) = sealed_configs(&key);
    let mut sim = Sim::new(8, NetConfig::default(), scfg, rcfg, &[0.05, 0.05, 0.05, 0.0], &[]);
    let base = sim.base;
    // Receiver 1 has no key, 2 another key, 3 is unsealed and sends
    // (unsealed) NACKs that the sender must not act on.
    sim.receivers[1].proto = Receiver::new(ReceiverConfig::default(), 10_001, base).unwrap();
    let other = Key::from_bytes([0x55; 32]);
    let other = if other.id() == key.id() { Key::from_bytes([0x56; 32]) } else { other };
    sim.receivers[2].proto = Receiver::new(ReceiverConfig { key: Some(other), ..Default::default() }, 10_002, base).unwrap();
    for o in objects(5, 20_000) {
        sim.send(o, Vec::new());
    }
    let done = |s: &Sim| s.receivers[0].delivered.len() == 5;
    assert!(sim.run_until(Duration::from_secs(60), done));
    let later = sim.now + Duration::from_secs(2);
    sim.run_until(later, |_| false);
    assert_eq!(sim.receivers[0].delivered.len(), 5);
    // Each says why, once per source: the sender, and the sealed
    // receivers whose NACKs went to the group.
    let sender = sim.sender.node_id();
    for (i, why) in [(1, "no key"), (2, "different key")] {
        let r = &sim.receivers[i];
        assert!(r.delivered.is_empty() && r.aborted.is_empty(), "receiver {i} delivered something");
        assert_eq!(r.rejected.iter().filter(|(n, _)| *n == sender).count(), 1, "receiver {i}: {:?}", r.rejected);
        assert!(r.rejected.iter().all(|(_, x)| x.contains(why)), "receiver {i}: {:?}", r.rejected);
        let mut sources: Vec<u32> = r.rejected.iter().map(|(n, _)| *n).collect();
        sources.dedup();
        assert_eq!(sources.len(), r.rejected.len(), "receiver {i}: {:?}", r.rejected);
    }
    let st1 = sim.receivers[1].proto.stats();
    let st2 = sim.receivers[2].proto.stats();
    assert!(st1.datagrams_seal_mismatch > 100, "{st1:?}");
    assert!(st2.datagrams_unauthenticated > 100, "{st2:?}");
    assert_eq!((st1.nacks_sent, st2.nacks_sent, st1.senders, st2.senders), (0, 0, 0, 0));
}

#[test]
fn forged_altered_and_replayed_datagrams_never_reach_an_object() {
    let key = Key::generate();
    let (scfg, rcfg) = sealed_configs(&key);
    let mut sim = Sim::new(9, NetConfig::default(), scfg.clone(), rcfg, &[0.05, 0.05], &[]);
    sim.record_wire = true;
    let sent = objects(10, 20_000);
    for o in &sent {
        sim.send(o.clone(), Vec::new());
    }
    // A forger without the key, posing as the sender (same node and
    // instance ids would be needed to fool an unsealed receiver), sends its
    // own objects with the same object ids.
    let node_id = sim.sender.node_id();
    let mut forger = Sender::new(SenderConfig { key: None, ..scfg }, node_id, 0, sim.base).unwrap();
    for i in 0..10 {
        forger.enqueue(sim.base, mcast::proto::ObjectKind::Data, Box::new(vec![0xEE; 20_000 + i]), None).unwrap();
    }
    let mut injected = (0u64, 0u64, 0u64);
    let from = sim.sender_addr;
    let mut buf = Vec::new();
    let mut round = 0;
    while !sim.all_delivered() && sim.now < Duration::from_secs(60) {
        round += 1;
        let t = sim.now + Duration::from_millis(5);
        sim.run_until(t, |_| false);
        sim.now = t;
        let now = sim.instant();
        // Unsealed forgeries.
        for _ in 0..5 {
            if forger.poll_transmit(now, &mut buf).is_some() {
                for r in &mut sim.receivers {
                    r.proto.handle_datagram(now, from, &buf);
                }
                injected.0 += 1;
            }
        }
        // Genuine datagrams with one byte altered, and replays of genuine
        // ones (captured earlier).
        let n = sim.wire.len();
        if n > 4 {
            let mut altered = sim.wire[n - 1 - round % 4].clone();
            let at = altered.len() - 1 - round % 50;
            altered[at] ^= 0x20;
            let replay = sim.wire[round % (n - 1)].clone();
            for r in &mut sim.receivers {
                r.proto.handle_datagram(now, from, &altered);
                r.proto.handle_datagram(now, from, &replay);
            }
            injected.1 += 1;
            injected.2 += 1;
        }
    }
    assert!(sim.all_delivered(), "not delivered in time");
    assert!(injected.0 > 50 && injected.1 > 50, "{injected:?}");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty(), "receiver {i}: {:?}", r.aborted);
        let got: Vec<&Vec<u8>> = r.delivered.iter().map(|(_, d, _)| d).collect();
        assert_eq!(got, sent.iter().collect::<Vec<_>>(), "receiver {i} delivered exactly what was sent");
        let st = r.proto.stats();
        assert!(st.datagrams_seal_mismatch >= injected.0, "receiver {i}: {st:?}");
        assert!(st.datagrams_unauthenticated >= injected.1, "receiver {i}: {st:?}");
        // Replays of datagrams this receiver had are refused (all but those
        // its loss took: those open once, as if late).
        assert!(st.datagrams_replayed >= injected.2 * 8 / 10, "receiver {i}: {st:?} after {injected:?}");
        let replayed = mcast::seal::OpenError::Replayed.explain();
        assert!(!r.rejected.iter().any(|(_, x)| x == replayed), "replays are not reported: {:?}", r.rejected);
    }
}
