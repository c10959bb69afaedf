//! Signed objects and streams in simulation: receivers that trust a signer
//! deliver its objects (through loss, to memory and to files) and streams
//! and name it; they refuse unsigned objects and streams, other signers, and
//! anything forged or altered by someone who can send to the group, and say
//! why. Receivers that trust no signer deliver signed objects and streams as
//! usual.

mod sim;

use std::time::Duration;

use mcast::proto::{ObjectKind, Receiver, ReceiverConfig, Sender, SenderConfig};
use mcast::sign::Refusal;
use mcast::{Key, PublicKey, SigningKey};
use sim::{NetConfig, Sim};

fn objects(n: usize, size: usize, fill: u8) -> Vec<Vec<u8>> {
    (0..n).map(|i| (0..size + i * 37).map(|j| (j as u8).wrapping_mul(31) ^ fill ^ i as u8).collect()).collect()
}

fn signing(key: &SigningKey) -> SenderConfig {
    SenderConfig { signing_key: Some(key.clone()), rate_bps: 20_000_000, ..Default::default() }
}

fn trusting(keys: &[PublicKey]) -> ReceiverConfig {
    ReceiverConfig { trusted_signers: keys.to_vec(), ..Default::default() }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Another receiver config for receiver `i` of `sim`.
fn replace(sim: &mut Sim, i: usize, cfg: ReceiverConfig) {
    sim.receivers[i].proto = Receiver::new(cfg, 10_000 + i as u32, sim.base).unwrap();
}

#[test]
fn signed_objects_arrive_through_loss_with_their_signer() {
    let key = SigningKey::generate();
    let other = SigningKey::generate();
    let trusted = [other.public_key(), key.public_key()];
    let mut sim = Sim::new(21, NetConfig::default(), signing(&key), trusting(&trusted), &[0.1, 0.1, 0.1, 0.05], &[]);
    sim.record_wire = true;
    // Receiver 1 writes FILE objects to disk block by block (hashed as
    // blocks complete, in any order); receiver 3 trusts no signer.
    let dir = std::env::temp_dir().join("mcast-sim-sign");
    replace(&mut sim, 1, ReceiverConfig { file_dir: Some(dir), ..trusting(&trusted) });
    replace(&mut sim, 3, ReceiverConfig::default());
    let sent = objects(12, 40_000, 0);
    for (i, o) in sent.iter().enumerate() {
        let info = if i % 3 == 0 { Vec::new() } else { format!("object-{i}").into_bytes() };
        let kind = if i % 2 == 0 { ObjectKind::File } else { ObjectKind::Data };
        sim.send_kind(kind, o.clone(), info);
    }
    sim.send(Vec::new(), b"empty".to_vec());
    // One large object: many blocks, completed out of order under loss.
    sim.send_kind(ObjectKind::File, objects(1, 1_500_000, 9).remove(0), b"big".to_vec());
    assert!(sim.run_until(Duration::from_secs(120), Sim::all_delivered), "not everything was delivered");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty() && r.rejected.is_empty(), "receiver {i}: {:?} {:?}", r.aborted, r.rejected);
        assert_eq!(r.delivered, sim.sent_objects, "receiver {i} delivered exactly what was sent, info without signature");
        let want = if i == 3 { None } else { Some(key.public_key()) };
        assert!(r.signers.iter().all(|s| *s == want), "receiver {i}: {:?}", r.signers);
        assert_eq!(r.proto.stats().objects_unverified, 0);
    }
    assert!(sim.receivers[0].proto.stats().fec_recovered_segments > 0, "loss was repaired");
    // Every object's NORM_INFO carries the signature (the public key is in
    // the clear on an unsealed channel).
    let infos = sim.wire.iter().filter(|d| d[0] & 0x0f == 1).count();
    let signed = sim.wire.iter().filter(|d| d[0] & 0x0f == 1 && contains(d, key.public_key().as_bytes())).count();
    assert!(infos >= sim.sent_objects.len() && signed == infos, "{signed} of {infos} NORM_INFO signed");
}

#[test]
fn unsigned_objects_other_signers_and_streams_are_refused() {
    let key = SigningKey::generate();
    let stranger = SigningKey::generate();
    // The sender signs with a key the receivers do not trust.
    let mut sim = Sim::new(22, NetConfig::default(), signing(&stranger), trusting(&[key.public_key()]), &[0.05, 0.05], &[]);
    for o in objects(4, 10_000, 1) {
        sim.send(o, b"x".to_vec());
    }
    let done = |s: &Sim| s.receivers.iter().all(|r| r.aborted.len() == 4);
    assert!(sim.run_until(Duration::from_secs(30), done), "{:?}", sim.receivers[0].aborted);
    for r in &sim.receivers {
        assert!(r.delivered.is_empty());
        assert_eq!(r.rejected.len(), 1, "reported once: {:?}", r.rejected);
        assert_eq!(r.rejected[0].1, Refusal::Untrusted.explain());
        assert!(r.aborted.iter().all(|(_, why)| why.contains(Refusal::Untrusted.explain())));
        assert_eq!(r.proto.stats().objects_unverified, 4);
    }

    // An unsigned sender, with and without NORM_INFO, and a stream.
    let scfg = SenderConfig { rate_bps: 20_000_000, ..Default::default() };
    let mut sim = Sim::new(23, NetConfig::default(), scfg, trusting(&[key.public_key()]), &[0.05], &[]);
    sim.send(objects(1, 5_000, 2).remove(0), Vec::new());
    sim.send(objects(1, 5_000, 3).remove(0), b"named".to_vec());
    sim.stream(b"feed".to_vec(), vec![b"one".to_vec(), b"two".to_vec()], true);
    let done = |s: &Sim| s.receivers[0].aborted.len() == 3;
    assert!(sim.run_until(Duration::from_secs(30), done), "{:?}", sim.receivers[0].aborted);
    let r = &sim.receivers[0];
    assert!(r.delivered.is_empty() && r.stream_msgs.is_empty() && !r.stream_ended);
    assert!(r.aborted.iter().all(|(_, why)| why.contains(Refusal::Unsigned.explain())), "{:?}", r.aborted);
    let reasons: Vec<&str> = r.rejected.iter().map(|(_, x)| x.as_str()).collect();
    assert_eq!(reasons, [Refusal::Unsigned.explain()]);

    // A stream signed by a key the receiver does not trust.
    let mut sim = Sim::new(27, NetConfig::default(), signing(&stranger), trusting(&[key.public_key()]), &[0.05], &[]);
    sim.stream(Vec::new(), vec![b"one".to_vec(), vec![7; 5000], b"two".to_vec()], true);
    let done = |s: &Sim| s.receivers[0].aborted.len() == 1;
    assert!(sim.run_until(Duration::from_secs(30), done), "{:?}", sim.receivers[0].aborted);
    let r = &sim.receivers[0];
    assert!(r.stream_msgs.is_empty() && r.stream_partial.is_empty() && !r.stream_ended);
    assert!(r.aborted[0].1.contains(Refusal::Untrusted.explain()), "{:?}", r.aborted);
}

fn messages(n: usize, seed: u8) -> Vec<Vec<u8>> {
    // Short and long messages (several blocks of 16 segments of 1400 bytes).
    (0..n).map(|i| vec![seed ^ i as u8; if i % 7 == 3 { 50_000 + i } else { 10 + i * 13 }]).collect()
}

#[test]
fn signed_streams_arrive_through_loss_with_their_signer() {
    let key = SigningKey::generate();
    let trusted = [key.public_key()];
    let mut sim = Sim::new(28, NetConfig::default(), signing(&key), trusting(&trusted), &[0.1, 0.05, 0.05], &[]);
    // Receiver 2 trusts nobody: signature segments are invisible to it.
    replace(&mut sim, 2, ReceiverConfig::default());
    let sent = messages(60, 3);
    sim.stream(b"feed".to_vec(), sent.clone(), true);
    assert!(sim.run_until(Duration::from_secs(120), |s| s.receivers.iter().all(|r| r.stream_ended)), "stream not ended");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty() && r.rejected.is_empty(), "receiver {i}: {:?} {:?}", r.aborted, r.rejected);
        assert_eq!((r.stream_lost, r.stream_gaps), (0, 0), "receiver {i}");
        // The last message ends with the stream.
        let mut got = r.stream_msgs.clone();
        if !r.stream_partial.is_empty() {
            got.push(r.stream_partial.clone());
        }
        assert_eq!(got, sent, "receiver {i}");
        let want = if i == 2 { None } else { Some(key.public_key()) };
        assert!(r.stream_signers.iter().all(|s| *s == want), "receiver {i}");
        assert_eq!(r.proto.stats().signatures_refused, 0);
    }
    assert!(sim.receivers[0].proto.stats().nacks_sent > 0, "loss was repaired");
}

#[test]
fn altered_stream_data_is_dropped_and_reported_never_delivered() {
    let key = SigningKey::generate();
    let mut sim = Sim::new(29, NetConfig::default(), signing(&key), trusting(&[key.public_key()]), &[0.02, 0.02], &[]);
    sim.record_wire = true;
    let sent = messages(200, 5);
    sim.stream(Vec::new(), sent.clone(), true);
    let mut injected = 0;
    let mut round = 0usize;
    while sim.now < Duration::from_secs(60) && !sim.receivers.iter().all(|r| r.stream_ended) {
        round += 1;
        let t = sim.now + Duration::from_millis(5);
        sim.run_until(t, |_| false);
        sim.now = t;
        // Now and then, a copy of a recent data segment with one payload
        // byte altered, ahead of any repair of it.
        // (Until the sender is done: replayed copies of its last repairs
        // would hold receivers' NACKs off for as long as they come, which
        // is denial of service, not forgery.)
        if round % 20 != 0 || sim.sender.stats().objects_sent > 0 {
            continue;
        }
        if sim.inject_altered_copy(200, round % 100) {
            injected += 1;
        }
    }
    assert!(injected > 5, "{injected}");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.stream_ended, "receiver {i}: now {:?}, {} msgs, lost {}, aborted {:?}, rejected {:?}, {:?}", sim.now, r.stream_msgs.len(), r.stream_lost, r.aborted, r.rejected, r.proto.stats());
        // Every message delivered is genuine, whole, in order; what was
        // dropped is reported as lost, and why.
        whole_signed_messages(&sim, i, &key);
        let st = r.proto.stats();
        eprintln!("receiver {i}: {} of {} messages, {} bytes lost in {} gaps, {} signatures refused", r.stream_msgs.len(), sent.len(), r.stream_lost, r.stream_gaps, st.signatures_refused);
        assert!(r.stream_msgs.len() > sent.len() / 2, "receiver {i}: most messages survive");
        assert!(st.signatures_refused > 0 && r.stream_lost > 0, "receiver {i}: {st:?}");
        // Altered offsets do not inflate what is reported lost.
        let total: usize = sent.iter().map(|m| m.len()).sum();
        assert!(r.stream_lost as usize <= total, "receiver {i}: {} bytes lost of {total}", r.stream_lost);
        assert!(r.rejected.iter().any(|(_, x)| x == Refusal::Mismatch.explain()), "{:?}", r.rejected);
    }
}

#[test]
fn forgeries_by_other_senders_on_the_group_are_never_delivered() {
    let key = SigningKey::generate();
    let mut sim = Sim::new(24, NetConfig::default(), signing(&key), trusting(&[key.public_key()]), &[0.05, 0.05, 0.05], &[]);
    sim.record_wire = true;
    let sent = objects(10, 20_000, 4);
    for o in &sent {
        sim.send(o.clone(), b"genuine".to_vec());
    }
    // Forgers posing as the sender (its node id and instance id, which are
    // in every packet): one signs its own objects with its own key, one
    // signs nothing; both use the genuine object ids.
    let node_id = sim.sender.node_id();
    sim.run_until(Duration::from_millis(50), |s| s.wire.iter().any(|d| d[0] & 0x0f == 2));
    let d = sim.wire.iter().find(|d| d[0] & 0x0f == 2).expect("data on the wire");
    let instance = u16::from_be_bytes([d[8], d[9]]);
    let mut forgers = [
        Sender::new(signing(&SigningKey::generate()), node_id, instance, sim.base).unwrap(),
        Sender::new(SenderConfig { rate_bps: 20_000_000, ..Default::default() }, node_id, instance, sim.base).unwrap(),
    ];
    for f in &mut forgers {
        for i in 0..10 {
            f.enqueue(sim.base, ObjectKind::Data, Box::new(vec![0xEE; 20_000 + i]), Some(b"genuine".to_vec())).unwrap();
        }
    }
    let from = sim.sender_addr;
    let mut buf = Vec::new();
    let mut injected = 0;
    let mut round = 0usize;
    while sim.now < Duration::from_secs(40) && !sim.receivers.iter().all(|r| r.delivered.len() + r.aborted.len() >= 10) {
        round += 1;
        let t = sim.now + Duration::from_millis(5);
        sim.run_until(t, |_| false);
        sim.now = t;
        let now = sim.instant();
        // A forger's datagram now and then (at full rate they would win
        // every race with the genuine sender, and nothing would be
        // delivered: they can deny service, not forge).
        let f = &mut forgers[round % 2];
        if round % 3 == 0 && f.poll_transmit(now, &mut buf).is_some() {
            for r in &mut sim.receivers {
                r.proto.handle_datagram(now, from, &buf);
            }
            injected += 1;
        }
        // Genuine data segments with their payload altered: the signature
        // in NORM_INFO is genuine, the content is not.
        if round % 5 != 0 {
            continue;
        }
        if sim.inject_altered_copy(500, round % 200) {
            injected += 1;
        }
    }
    assert!(injected > 100, "{injected}");
    let delivered: usize = sim.receivers.iter().map(|r| r.delivered.len()).sum();
    eprintln!("under attack: {delivered} of {} objects delivered, the rest refused", 10 * sim.receivers.len());
    for (i, r) in sim.receivers.iter().enumerate() {
        // Whatever was delivered is genuine, byte for byte; the rest was
        // refused and reported, never delivered altered.
        for (id, data, info) in &r.delivered {
            let (_, want, _) = sim.sent_objects.iter().find(|(s, _, _)| s == id).expect("a sent id");
            assert_eq!((data, info.as_slice()), (want, &b"genuine"[..]), "receiver {i} object {id}");
        }
        assert!(r.signers.iter().all(|s| *s == Some(key.public_key())));
        let st = r.proto.stats();
        assert!(st.objects_unverified > 0, "receiver {i} refused forgeries: {st:?}");
        assert_eq!(st.objects_unverified as usize, r.aborted.len(), "receiver {i}");
        assert!(!r.rejected.is_empty(), "receiver {i} said why");
    }
}

#[test]
fn sealed_and_signed_hides_the_signature_too() {
    let key = SigningKey::generate();
    let channel = Key::generate();
    let scfg = SenderConfig { key: Some(channel.clone()), ..signing(&key) };
    let rcfg = ReceiverConfig { key: Some(channel), ..trusting(&[key.public_key()]) };
    let mut sim = Sim::new(25, NetConfig::default(), scfg, rcfg, &[0.1, 0.0], &[]);
    sim.record_wire = true;
    for o in objects(5, 30_000, 5) {
        sim.send(o, b"name".to_vec());
    }
    assert!(sim.run_until(Duration::from_secs(60), Sim::all_delivered));
    for r in &sim.receivers {
        assert_eq!(r.delivered, sim.sent_objects);
        assert!(r.signers.iter().all(|s| *s == Some(key.public_key())));
    }
    assert!(!sim.wire.iter().any(|d| contains(d, &key.public_key().as_bytes()[..16])), "signature block in the clear");
}

#[test]
fn an_injected_segment_costs_a_second_reception_not_the_object() {
    let key = SigningKey::generate();
    let mut sim = Sim::new(26, NetConfig::default(), signing(&key), trusting(&[key.public_key()]), &[0.0, 0.05], &[]);
    sim.record_wire = true;
    let sent = objects(6, 50_000, 6);
    for o in &sent {
        sim.send(o.clone(), Vec::new());
    }
    // The first data segment of object 2, altered, reaches the receivers
    // ahead of the genuine one (an attacker closer to them than the sender).
    let is_target = |d: &Vec<u8>| d[0] & 0x0f == 2 && u16::from_be_bytes([d[14], d[15]]) == 2;
    sim.run_until(Duration::from_secs(10), |s| s.wire.iter().any(is_target));
    let mut forged = sim.wire.iter().find(|d| is_target(d)).unwrap().clone();
    let n = forged.len();
    forged[n - 10] ^= 0x40;
    let (now, from) = (sim.instant(), sim.sender_addr);
    for r in &mut sim.receivers {
        r.proto.handle_datagram(now, from, &forged);
    }
    assert!(sim.run_until(Duration::from_secs(60), Sim::all_delivered), "{:?}", sim.receivers[0].aborted);
    for r in &sim.receivers {
        assert_eq!(r.delivered, sim.sent_objects, "delivered intact");
        assert!(r.aborted.is_empty());
        assert_eq!(r.rejected.iter().map(|(_, x)| x.as_str()).collect::<Vec<_>>(), [Refusal::Mismatch.explain()]);
        assert_eq!(r.proto.stats().objects_unverified, 0);
    }
}

/// Checks that receiver `i` delivered whole messages of the stream sent,
/// in order, each signed by `key`.
fn whole_signed_messages(sim: &Sim, i: usize, key: &SigningKey) {
    let r = &sim.receivers[i];
    assert!(r.aborted.is_empty(), "receiver {i}: {:?}", r.aborted);
    assert!(r.stream_signers.iter().all(|s| *s == Some(key.public_key())), "receiver {i}");
    sim.check_stream_subsequence(i);
}

#[test]
fn signed_stream_late_joiners_get_a_whole_suffix() {
    let key = SigningKey::generate();
    let scfg = SenderConfig { block_size: 8, parity: 2, segment_size: 200, stream_buffer_blocks: 4, rate_bps: 2_000_000, ..signing(&key) };
    // (Signature segments make the stream longer: the sender's buffer of 4
    // blocks has moved on from block 0 after about 4 s.)
    let joins = [Duration::ZERO, Duration::from_secs(6)];
    let mut sim = Sim::new(30, NetConfig::default(), scfg, trusting(&[key.public_key()]), &[0.0, 0.0], &joins);
    let sent: Vec<Vec<u8>> = (0..400).map(|i| vec![i as u8; 1 + (i * 37) % 450]).collect();
    sim.stream(b"info".to_vec(), sent.clone(), true);
    assert!(sim.run_until(Duration::from_secs(120), |s| s.receivers.iter().all(|r| r.stream_ended)), "stream did not end");
    let r0 = &sim.receivers[0];
    assert!(r0.stream_msgs == sent, "{} of {} messages", r0.stream_msgs.len(), sent.len());
    whole_signed_messages(&sim, 1, &key);
    let late = &sim.receivers[1];
    assert!(!late.stream_msgs.is_empty() && late.stream_msgs.len() < sent.len(), "late joiner got {}", late.stream_msgs.len());
    let first = sent.iter().position(|m| *m == late.stream_msgs[0]).unwrap();
    assert!(sent[first..] == late.stream_msgs[..], "a late joiner gets a whole suffix");
    assert!(late.rejected.is_empty(), "{:?}", late.rejected);
}

#[test]
fn signed_stream_data_lost_for_good_is_a_gap_not_a_refusal() {
    // 60 % loss for one receiver with no parity and a tiny buffer: some data
    // leaves the sender's buffer before it gets it.
    let key = SigningKey::generate();
    let scfg = SenderConfig {
        block_size: 4,
        parity: 0,
        segment_size: 160,
        stream_buffer_blocks: 2,
        backoff_factor: 1,
        rate_bps: 2_000_000,
        ..signing(&key)
    };
    let mut sim = Sim::new(32, NetConfig::default(), scfg, trusting(&[key.public_key()]), &[0.0, 0.6], &[]);
    let sent: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 1 + (i * 37) % 150]).collect();
    sim.stream(Vec::new(), sent.clone(), true);
    assert!(sim.run_until(Duration::from_secs(600), |s| s.receivers.iter().all(|r| r.stream_ended)), "stream did not end");
    assert!(sim.receivers[0].stream_msgs == sent);
    whole_signed_messages(&sim, 1, &key);
    let lossy = &sim.receivers[1];
    assert!(lossy.stream_gaps > 0 && lossy.stream_lost > 0 && !lossy.stream_msgs.is_empty(), "{} gaps", lossy.stream_gaps);
    // Loss is not forgery: nothing refused.
    assert!(lossy.rejected.is_empty(), "{:?}", lossy.rejected);
    assert_eq!(lossy.proto.stats().signatures_refused, 0);
}

#[test]
fn an_unsigned_stream_is_refused_before_it_ends() {
    let key = SigningKey::generate();
    let scfg = SenderConfig { rate_bps: 20_000_000, ..Default::default() };
    let mut sim = Sim::new(31, NetConfig::default(), scfg, trusting(&[key.public_key()]), &[0.0], &[]);
    // Never closed: refused once more than two blocks arrived unsigned.
    sim.stream(Vec::new(), vec![vec![1; 3_000_000]], false);
    assert!(sim.run_until(Duration::from_secs(30), |s| !s.receivers[0].aborted.is_empty()), "not refused");
    let r = &sim.receivers[0];
    assert!(r.aborted[0].1.contains(Refusal::Unsigned.explain()), "{:?}", r.aborted);
    assert!(r.stream_msgs.is_empty() && r.stream_partial.is_empty());
}

#[test]
fn a_forged_end_of_stream_refuses_the_stream_instead_of_ending_it() {
    let key = SigningKey::generate();
    let mut sim = Sim::new(35, NetConfig::default(), signing(&key), trusting(&[key.public_key()]), &[0.0, 0.0], &[]);
    sim.record_wire = true;
    sim.stream(Vec::new(), (0..40).map(|i| vec![i as u8; 100]).collect(), true);
    // The data segment right after the 5th signature segment, turned into
    // an end-of-stream marker (payload_len 0, payload_msg_start 0, no data),
    // reaches the receivers ahead of the genuine one: an end where the
    // signatures announce none, with no unsigned data before it.
    let header = |d: &Vec<u8>| {
        let p = d[1] as usize * 4;
        (d[0] & 0x0f == 2 && d.len() >= p + 4).then(|| (u16::from_be_bytes([d[p], d[p + 1]]), u16::from_be_bytes([d[p + 2], d[p + 3]])))
    };
    let after_5th_signature = |s: &Sim| {
        let data: Vec<&Vec<u8>> = s.wire.iter().filter(|d| header(d).is_some()).collect();
        let sig = data.iter().enumerate().filter(|(_, d)| header(d) == Some((0, mcast::sign::STREAM_SIGNATURE_CODE))).nth(4)?.0;
        data.get(sig + 1).map(|d| (*d).clone())
    };
    assert!(sim.run_until(Duration::from_secs(10), |s| after_5th_signature(s).is_some()));
    let mut end = after_5th_signature(&sim).unwrap();
    let payload = end[1] as usize * 4;
    end.truncate(payload + 8);
    end[payload..payload + 4].fill(0);
    let (now, from) = (sim.instant(), sim.sender_addr);
    for r in &mut sim.receivers {
        r.proto.handle_datagram(now, from, &end);
    }
    assert!(sim.run_until(Duration::from_secs(60), |s| s.receivers.iter().all(|r| !r.aborted.is_empty() || r.stream_ended)), "neither");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(!r.stream_ended, "receiver {i} took the forged end for the stream's");
        assert!(r.aborted[0].1.contains(Refusal::UnsignedEnd.explain()), "receiver {i}: {:?}", r.aborted);
        assert_eq!(r.stream_msgs.len(), 4, "receiver {i}: the messages before it, all signed");
        assert!(r.stream_signers.iter().all(|s| *s == Some(key.public_key())), "receiver {i}");
        sim.check_stream_subsequence(i);
    }
}
