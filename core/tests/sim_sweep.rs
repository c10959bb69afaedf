//! The seed sweep: many randomized lossy runs of the protocol core on the
//! simulator. Every receiver must deliver every object exactly once, in order
//! and byte-identical. `MCAST_SIM_SEEDS` overrides the seed count (default
//! 1000); `MCAST_SIM_SEED` runs one seed (to replay a failure).

mod sim;

use std::time::Duration;

use mcast::proto::{ReceiverConfig, SenderConfig};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sim::{NetConfig, Sim};

fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed);
    let receivers = if rng.gen_bool(0.1) { rng.gen_range(20..=50) } else { rng.gen_range(1..=8) };
    let losses: Vec<f64> = (0..receivers).map(|_| if rng.gen_bool(0.2) { 0.0 } else { rng.gen_range(0.0..0.30) }).collect();
    let mut net = NetConfig {
        delay: Duration::from_micros(rng.gen_range(200..20_000)),
        ..Default::default()
    };
    net.jitter = net.delay / 4;
    if rng.gen_bool(0.3) {
        net.duplicate = rng.gen_range(0.0..0.05);
    }
    if rng.gen_bool(0.3) {
        net.reorder = rng.gen_range(0.0..0.2);
    }
    if rng.gen_bool(0.3) {
        net.burst_enter = rng.gen_range(0.005..0.05);
        net.burst_leave = rng.gen_range(0.1..0.5);
        net.burst_loss = rng.gen_range(0.5..1.0);
    }
    let block = rng.gen_range(1..=64u16);
    let parity = if rng.gen_bool(0.2) { 0 } else { rng.gen_range(0..=32u16.min(255 - block)) };
    let scfg = SenderConfig {
        segment_size: rng.gen_range(64..=1400),
        block_size: block,
        parity,
        auto_parity: if parity > 0 && rng.gen_bool(0.3) { rng.gen_range(0..=parity.min(4)) } else { 0 },
        rate_bps: rng.gen_range(5_000_000..200_000_000),
        ..Default::default()
    };
    // Late joiners join while the transfer is under way.
    let joins: Vec<Duration> = (0..receivers)
        .map(|_| if rng.gen_bool(0.15) { Duration::from_millis(rng.gen_range(1..30)) } else { Duration::ZERO })
        .collect();
    let desc = format!("seed {seed}: {receivers} rx, losses {losses:.2?}, net {net:?}, cfg seg {} block {} parity {} auto {}", scfg.segment_size, scfg.block_size, scfg.parity, scfg.auto_parity);
    let mut sim = Sim::new(seed, net, scfg, ReceiverConfig::default(), &losses, &joins);
    let objects = rng.gen_range(1..=6);
    for _ in 0..objects {
        let len = match rng.gen_range(0..4) {
            0 => rng.gen_range(0..3),
            1 => rng.gen_range(0..2000),
            _ => rng.gen_range(0..60_000),
        };
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let info = if rng.gen_bool(0.5) { format!("file-{len}").into_bytes() } else { Vec::new() };
        sim.send(data, info);
    }
    let ok = sim.run_until(Duration::from_secs(600), |s| s.all_delivered());
    if !ok {
        let counts: Vec<usize> = sim.receivers.iter().map(|r| r.delivered.len()).collect();
        if std::env::var("MCAST_SIM_SEED").is_ok() {
            eprintln!("sender {:?}", sim.sender.stats());
            for r in &sim.receivers {
                eprintln!("rx {:?}\n progress {:?}\n delivered {:?}", r.proto.stats(), r.proto.progress(), r.delivered.iter().map(|d| (d.0, d.1.len())).collect::<Vec<_>>());
            }
            eprintln!("sent {:?}", sim.sent_objects.iter().map(|d| (d.0, d.1.len(), d.2.len())).collect::<Vec<_>>());
        }
        return Err(format!("{desc}: not all delivered by {:?}: {counts:?} of {}", sim.now, sim.sent_objects.len()));
    }
    // Two more simulated seconds (late repairs, flushes, duplicates in
    // flight): nothing may be delivered twice or aborted after the fact.
    let settle = sim.now + Duration::from_secs(2);
    sim.run_until(settle, |_| false);
    for (i, r) in sim.receivers.iter().enumerate() {
        if !r.aborted.is_empty() {
            return Err(format!("{desc}: receiver {i} aborted {:?}", r.aborted));
        }
        if r.delivered.len() != sim.sent_objects.len() {
            return Err(format!("{desc}: receiver {i} delivered {} objects, {} sent", r.delivered.len(), sim.sent_objects.len()));
        }
        for (got, sent) in r.delivered.iter().zip(&sim.sent_objects) {
            if got.0 != sent.0 || got.1 != sent.1 || got.2 != sent.2 {
                return Err(format!("{desc}: receiver {i} object {} differs (got id {}, {} bytes)", sent.0, got.0, got.1.len()));
            }
        }
    }
    Ok(())
}

#[test]
fn seed_sweep() {
    if let Ok(one) = std::env::var("MCAST_SIM_SEED") {
        let seed: u64 = one.parse().expect("MCAST_SIM_SEED is a number");
        run_seed(seed).unwrap();
        return;
    }
    let seeds: u64 = std::env::var("MCAST_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut failures = Vec::new();
    for seed in 0..seeds {
        if let Err(e) = run_seed(seed) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {seeds} seeds failed:\n{}", failures.len(), failures.join("\n"));
}

/// 50 receivers behind one shared lossy link: NACK suppression keeps the
/// NACKs sent per segment lost on that link below a stated bound. At a
/// fixed rate, so that the bound is the suppression's alone (congestion
/// control slows the sender down, so fewer losses fall into each NACK
/// round; see the 1,000-receiver test below).
#[test]
fn nack_suppression_bound() {
    let net = NetConfig { delay: Duration::from_millis(5), shared_loss: 0.05, ..Default::default() };
    let scfg = SenderConfig { block_size: 32, parity: 8, congestion_control: false, ..Default::default() };
    let mut sim = Sim::new(42, net, scfg, ReceiverConfig::default(), &vec![0.0; 50], &[]);
    let mut rng = SmallRng::seed_from_u64(9);
    for _ in 0..4 {
        let data: Vec<u8> = (0..500_000).map(|_| rng.gen()).collect();
        sim.send(data, Vec::new());
    }
    assert!(sim.run_until(Duration::from_secs(600), |s| s.all_delivered()));
    let per_loss = sim.nacks as f64 / sim.shared_drops.max(1) as f64;
    eprintln!("shared drops {}, NACKs {}, NACKs per lost segment {per_loss:.3}", sim.shared_drops, sim.nacks);
    // Bound: without suppression every receiver would NACK every loss (50 per
    // lost segment). We require at most 1 NACK per lost segment on average.
    assert!(sim.shared_drops > 50, "the link should have lost packets");
    assert!(per_loss <= 1.0, "{per_loss:.3} NACKs per lost segment exceeds the bound of 1.0");
    // Suppression works by overhearing: every receiver heard other
    // receivers' NACKs (never more than were sent), and stats say so.
    for (i, r) in sim.receivers.iter().enumerate() {
        let st = r.proto.stats();
        assert!(st.nacks_received > 0 && st.nacks_received + st.nacks_sent <= sim.nacks, "receiver {i}: {st:?}, {} NACKs in all", sim.nacks);
    }
}

/// Issue 7's target: 1,000 receivers behind one shared lossy link (3 %),
/// default settings (congestion control on): at most 5 NACKs reach the
/// sender per segment lost on that link.
#[test]
fn a_thousand_receivers_nack_at_most_five_times_per_lost_segment() {
    // No jitter: each datagram reaches all receivers at one instant, which
    // keeps the simulation of 1,000 receivers fast.
    let net = NetConfig { delay: Duration::from_millis(5), jitter: Duration::ZERO, shared_loss: 0.03, ..Default::default() };
    let mut sim = Sim::new(7, net, SenderConfig::default(), ReceiverConfig::default(), &vec![0.0; 1000], &[]);
    let mut rng = SmallRng::seed_from_u64(10);
    let data: Vec<u8> = (0..std::env::var("MCAST_SIM_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)).map(|_| rng.gen()).collect();
    sim.send(data, Vec::new());
    let t = std::time::Instant::now();
    let ok = sim.run_until(Duration::from_secs(600), |s| s.all_delivered());
    eprintln!("sim {:?} in {:?}, sender {:?}", sim.now, t.elapsed(), sim.sender.stats());
    if std::env::var("MCAST_SIM_DEBUG").is_ok() {
        let mut hist = std::collections::BTreeMap::new();
        for r in &sim.receivers {
            *hist.entry(r.proto.stats().nacks_sent).or_insert(0) += 1;
        }
        eprintln!("receivers by NACKs sent: {hist:?}; suppressed {}", sim.receivers.iter().map(|r| r.proto.stats().nacks_suppressed).sum::<u64>());
    }
    assert!(ok, "not all delivered");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty() && r.delivered.len() == 1 && r.delivered[0].1 == sim.sent_objects[0].1, "receiver {i}");
    }
    let per_loss = sim.nacks as f64 / sim.shared_drops.max(1) as f64;
    eprintln!("1000 receivers: shared drops {}, NACKs {}, NACKs per lost segment {per_loss:.3}", sim.shared_drops, sim.nacks);
    assert!(sim.shared_drops > 10, "the link should have lost packets");
    assert!(per_loss <= 5.0, "{per_loss:.3} NACKs per lost segment exceeds the target of 5");
}
