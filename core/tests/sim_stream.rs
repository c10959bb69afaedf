//! NORM_OBJECT_STREAM in simulation: messages written to a stream arrive
//! whole, in order, once each, through loss, FEC repair, buffer reuse, late
//! joins, and between ordinary objects.

mod sim;

use std::time::Duration;

use mcast::proto::{ReceiverConfig, SenderConfig, SyncPolicy};
use rand::{Rng, SeedableRng};
use sim::{NetConfig, Sim};

fn messages(seed: u64, count: usize, max_len: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let len = rng.gen_range(1..=max_len);
            let mut m: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            // Number the messages so that a mix-up is obvious in a failure.
            m[..len.min(4)].copy_from_slice(&(i as u32).to_be_bytes()[..len.min(4)]);
            m
        })
        .collect()
}

fn ended(sim: &Sim) -> bool {
    sim.receivers.iter().all(|r| r.stream_ended)
}

/// Every receiver got exactly the messages sent, and the end.
fn check_all(sim: &Sim) {
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.stream_ended, "receiver {i}: no stream end");
        assert_eq!(r.stream_gaps, 0, "receiver {i}: {} gaps ({} bytes lost)", r.stream_gaps, r.stream_lost);
        assert_eq!(r.stream_msgs.len(), sim.stream_sent.len(), "receiver {i}: message count");
        for (k, (got, sent)) in r.stream_msgs.iter().zip(&sim.stream_sent).enumerate() {
            assert!(got == sent, "receiver {i}: message {k} differs ({} vs {} bytes)", got.len(), sent.len());
        }
        assert!(r.stream_partial.is_empty(), "receiver {i}: a message was left unfinished");
    }
}

/// What a receiver got is the sent messages in order, whole, possibly with
/// runs missing where (and only where) it reported gaps.
#[test]
fn lossless_stream_delivers_every_message() {
    let scfg = SenderConfig { block_size: 16, parity: 4, segment_size: 500, stream_buffer_blocks: 8, ..Default::default() };
    // No jitter: it reorders datagrams sent microseconds apart, and a
    // flush overtaking the last data segment can draw a (legitimate) NACK
    // when the random backoff happens to be shorter than the reordering.
    let net = NetConfig { jitter: Duration::ZERO, ..NetConfig::default() };
    let mut sim = Sim::new(1, net, scfg, ReceiverConfig::default(), &[0.0, 0.0, 0.0], &[]);
    // 300 messages of up to 3000 bytes: several times the 8-block buffer.
    sim.stream(b"stream-1".to_vec(), messages(1, 300, 3000), true);
    assert!(sim.run_until(Duration::from_secs(60), ended), "stream did not end at every receiver");
    check_all(&sim);
    let st = sim.sender.stats();
    assert_eq!(st.repair_segments_sent, 0);
    assert_eq!(st.objects_sent, 1);
}

#[test]
fn lossy_streams_repair_with_parity_across_seeds() {
    // Independent loss 0..15 % per receiver; small blocks and buffers so that
    // block numbers advance far and the buffer is reused many times.
    let mut parity_repairs = 0;
    for seed in 0..400u64 {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let n = rng.gen_range(1..=5);
        let losses: Vec<f64> = (0..n).map(|_| rng.gen_range(0.0..0.15)).collect();
        let scfg = SenderConfig {
            block_size: rng.gen_range(4..=32),
            parity: rng.gen_range(0..=8),
            segment_size: rng.gen_range(64..=1400),
            stream_buffer_blocks: rng.gen_range(8..=32),
            rate_bps: 50_000_000,
            ..Default::default()
        };
        let scfg = SenderConfig { auto_parity: if seed % 5 == 0 { scfg.parity.min(1) } else { 0 }, ..scfg };
        let net = NetConfig { reorder: if seed % 3 == 0 { 0.05 } else { 0.0 }, duplicate: if seed % 4 == 0 { 0.02 } else { 0.0 }, ..Default::default() };
        let mut sim = Sim::new(seed, net, scfg.clone(), ReceiverConfig::default(), &losses, &[]);
        let count = rng.gen_range(1..200);
        sim.stream(Vec::new(), messages(seed, count, 4000), true);
        let done = sim.run_until(Duration::from_secs(300), ended);
        assert!(done, "seed {seed} ({scfg:?}, losses {losses:?}): the stream did not end everywhere");
        for i in 0..n {
            let r = &sim.receivers[i];
            assert_eq!(
                (r.stream_gaps, r.stream_msgs.len()),
                (0, count),
                "seed {seed} receiver {i} (loss {:.3}, {scfg:?}): gaps or messages missing",
                losses[i]
            );
        }
        check_all(&sim);
        parity_repairs += sim.sender.stats().parity_segments_sent;
    }
    assert!(parity_repairs > 0, "no parity was ever sent");
}

#[test]
fn objects_before_and_after_a_stream_keep_their_order() {
    let scfg = SenderConfig { block_size: 8, parity: 2, segment_size: 256, stream_buffer_blocks: 4, ..Default::default() };
    let mut sim = Sim::new(3, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.05, 0.1], &[]);
    sim.send(vec![1u8; 5000], b"before".to_vec());
    sim.stream(b"s".to_vec(), messages(3, 50, 700), true);
    // Queued while the stream is open: sent after it closes.
    sim.send(vec![2u8; 3000], b"after".to_vec());
    let all = |s: &Sim| s.receivers.iter().all(|r| r.stream_ended && r.delivered.len() == 2);
    assert!(sim.run_until(Duration::from_secs(60), all), "not everything arrived");
    check_all(&sim);
    for r in &sim.receivers {
        assert_eq!(r.delivered[0].2, b"before");
        assert_eq!(r.delivered[1].2, b"after");
        assert!(r.delivered[0].0 < r.delivered[1].0);
    }
}

#[test]
fn a_late_joiner_starts_at_a_message_boundary() {
    // Receiver 1 joins after the sender's buffer has moved on from block 0:
    // it gets a suffix of the messages, each whole, and the end.
    let scfg = SenderConfig { block_size: 8, parity: 2, segment_size: 200, stream_buffer_blocks: 4, rate_bps: 2_000_000, ..Default::default() };
    let joins = [Duration::ZERO, Duration::from_millis(800)];
    for policy in [SyncPolicy::Current, SyncPolicy::All] {
        let rcfg = ReceiverConfig { sync_policy: policy, ..Default::default() };
        let mut sim = Sim::new(5, NetConfig::default(), scfg.clone(), rcfg, &[0.0, 0.0], &joins);
        sim.stream(Vec::new(), messages(5, 400, 450), true);
        assert!(sim.run_until(Duration::from_secs(120), ended), "{policy:?}: stream did not end");
        let early = &sim.receivers[0];
        assert_eq!(early.stream_msgs.len(), 400);
        let late = &sim.receivers[1];
        assert!(!late.stream_msgs.is_empty() && late.stream_msgs.len() < 400, "{policy:?}: late joiner got {}", late.stream_msgs.len());
        // A contiguous suffix: from the first message it got on, nothing is missing.
        let first = sim.stream_sent.iter().position(|m| *m == late.stream_msgs[0]).expect("a sent message");
        assert_eq!(&sim.stream_sent[first..], &late.stream_msgs[..], "{policy:?}: not a whole suffix");
        sim.check_stream_subsequence(1);
    }
}

#[test]
fn a_receiver_that_falls_behind_the_buffer_reports_a_gap() {
    // 60 % loss for one receiver with no parity and a tiny buffer: some data
    // leaves the sender's buffer before that receiver gets it. It must say so
    // (StreamGap) and every message it does deliver must be whole and in order;
    // the other receiver gets everything.
    let scfg = SenderConfig { block_size: 4, parity: 0, segment_size: 100, stream_buffer_blocks: 2, backoff_factor: 1, ..Default::default() };
    let mut sim = Sim::new(9, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.0, 0.6], &[]);
    sim.stream(Vec::new(), messages(9, 2000, 150), true);
    assert!(sim.run_until(Duration::from_secs(600), ended), "stream did not end");
    assert_eq!(sim.receivers[0].stream_msgs, sim.stream_sent);
    let lossy = &sim.receivers[1];
    let delivered = lossy.stream_msgs.len();
    sim.check_stream_subsequence(1);
    if delivered < 2000 {
        assert!(lossy.stream_gaps > 0 && lossy.stream_lost > 0, "{} messages missing without a gap report", 2000 - delivered);
    }
    assert!(sim.sender.stats().squelches_sent > 0 || lossy.stream_gaps == 0, "gaps without a squelch");
}
