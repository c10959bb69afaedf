//! Congestion control (NORM-CC, RFC 5740 section 5.5) in simulation: a
//! sender whose cap is far above a drop-tail bottleneck settles near the
//! bottleneck's rate without sustained loss, follows its slowest receiver,
//! and still delivers everything. The fixed-rate control runs show the
//! checks can fail.

mod sim;

use std::time::Duration;

use mcast::proto::{ReceiverConfig, SenderConfig};
use rand::{Rng, SeedableRng};
use sim::{NetConfig, Sim};

const BOTTLENECK: u64 = 20_000_000;

fn bottleneck_net() -> NetConfig {
    NetConfig {
        delay: Duration::from_millis(5),
        jitter: Duration::from_micros(200),
        bottleneck_bps: BOTTLENECK,
        // 30 ms of queue at the bottleneck rate.
        bottleneck_queue: 75_000,
        ..Default::default()
    }
}

fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..len).map(|_| rng.gen()).collect()
}

struct Run {
    secs: f64,
    goodput_bps: f64,
    drop_fraction: f64,
    /// Drop fraction over the second half of the run.
    late_drop_fraction: f64,
    sim: Sim,
}

fn run(scfg: SenderConfig, losses: &[f64], bytes: usize) -> Run {
    let mut sim = Sim::new(
        3,
        bottleneck_net(),
        scfg,
        ReceiverConfig::default(),
        losses,
        &[],
    );
    let chunk = 1 << 20;
    for i in 0..bytes / chunk {
        sim.send(data(i as u64, chunk), Vec::new());
    }
    // Halfway through, note the counters to see the drops of the second half.
    let half = sim.sent_objects.len() / 2;
    let ok = sim.run_until(Duration::from_secs(300), |s| {
        s.receivers
            .iter()
            .all(|r| r.delivered.len() + r.aborted.len() >= half)
    });
    assert!(ok, "half not delivered in 300 s of simulated time");
    let (d0, s0) = (sim.bottleneck_drops, sim.sender.stats().datagrams_sent);
    let ok = sim.run_until(Duration::from_secs(600), |s| s.all_delivered());
    assert!(ok, "not all delivered in 600 s of simulated time");
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty(), "receiver {i} aborted {:?}", r.aborted);
        assert_eq!(r.delivered.len(), sim.sent_objects.len());
        for (got, sent) in r.delivered.iter().zip(&sim.sent_objects) {
            assert!(got.1 == sent.1, "receiver {i}: object {} differs", sent.0);
        }
    }
    let st = sim.sender.stats();
    let secs = sim.now.as_secs_f64();
    Run {
        secs,
        goodput_bps: bytes as f64 * 8.0 / secs,
        drop_fraction: sim.bottleneck_drops as f64 / st.datagrams_sent as f64,
        late_drop_fraction: (sim.bottleneck_drops - d0) as f64
            / (st.datagrams_sent - s0).max(1) as f64,
        sim,
    }
}

#[test]
fn converges_under_a_bottleneck_without_sustained_loss() {
    // The cap is ten times the bottleneck.
    let scfg = SenderConfig {
        rate_bps: 10 * BOTTLENECK,
        ..Default::default()
    };
    let r = run(scfg, &[0.0, 0.0, 0.0], 24 << 20);
    let st = r.sim.sender.stats();
    eprintln!(
        "cc: {:.1} s, goodput {:.1} Mbit/s, drops {:.2} % (second half {:.2} %), final rate {:.1} Mbit/s, {} feedback, sender {st:?}",
        r.secs,
        r.goodput_bps / 1e6,
        100.0 * r.drop_fraction,
        100.0 * r.late_drop_fraction,
        st.tx_rate_bps as f64 / 1e6,
        st.cc_feedback_received
    );
    assert!(
        st.cc_feedback_received > 0,
        "no congestion feedback reached the sender"
    );
    assert!(
        r.goodput_bps > 0.5 * BOTTLENECK as f64,
        "goodput {:.1} Mbit/s is under half the bottleneck",
        r.goodput_bps / 1e6
    );
    assert!(
        r.late_drop_fraction < 0.05,
        "sustained loss at the bottleneck: {:.1} %",
        100.0 * r.late_drop_fraction
    );
    assert!(
        st.tx_rate_bps < 2 * BOTTLENECK,
        "the rate ended at {} bit/s",
        st.tx_rate_bps
    );

    // Control: a fixed rate at the cap overruns the bottleneck.
    let fixed = SenderConfig {
        rate_bps: 10 * BOTTLENECK,
        congestion_control: false,
        ..Default::default()
    };
    let f = run(fixed, &[0.0, 0.0, 0.0], 8 << 20);
    eprintln!("fixed: drops {:.1} %", 100.0 * f.drop_fraction);
    assert!(
        f.late_drop_fraction > 0.3,
        "the fixed-rate control lost only {:.1} %",
        100.0 * f.late_drop_fraction
    );
}

#[test]
fn the_slowest_receiver_sets_the_rate() {
    // Receiver 2 (node id 10002) loses 3 % of what reaches it, the others
    // nothing: it becomes the current limiting receiver and the rate falls
    // below what the bottleneck alone allows.
    let scfg = SenderConfig {
        rate_bps: 10 * BOTTLENECK,
        ..Default::default()
    };
    let clean = run(scfg.clone(), &[0.0, 0.0, 0.0], 8 << 20);
    let lossy = run(scfg, &[0.0, 0.0, 0.03], 8 << 20);
    let st = lossy.sim.sender.stats();
    eprintln!(
        "clean {:.1} Mbit/s, lossy {:.1} Mbit/s, CLR {}",
        clean.goodput_bps / 1e6,
        lossy.goodput_bps / 1e6,
        st.cc_clr
    );
    assert_eq!(st.cc_clr, 10_002, "the lossy receiver is the CLR");
    assert!(
        lossy.goodput_bps < 0.8 * clean.goodput_bps,
        "loss at one receiver did not slow the sender"
    );
}

#[test]
fn a_fixed_rate_ignores_feedback() {
    let scfg = SenderConfig {
        rate_bps: 5_000_000,
        congestion_control: false,
        ..Default::default()
    };
    let r = run(scfg, &[0.0, 0.1], 2 << 20);
    let st = r.sim.sender.stats();
    assert_eq!(st.tx_rate_bps, 5_000_000);
    assert_eq!(st.cc_feedback_received, 0);
    assert_eq!(st.cc_clr, 0);
}

#[test]
fn bad_rate_bounds_are_refused() {
    let now = std::time::Instant::now();
    for (min, max) in [(0, 1_000_000), (2_000_000, 1_000_000)] {
        let cfg = SenderConfig {
            rate_min_bps: min,
            rate_bps: max,
            ..Default::default()
        };
        assert!(
            matches!(
                mcast::proto::Sender::new(cfg, 1, 1, now),
                Err(mcast::Error::InvalidArgument(_))
            ),
            "min {min} max {max}"
        );
    }
}
