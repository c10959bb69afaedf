//! Flow control in simulation: what a full transmit cache does about a
//! receiver that falls behind (`SenderConfig::flow_control`).

mod sim;

use std::collections::VecDeque;
use std::time::Duration;

use mcast::proto::{FlowControl, ObjectKind, ReceiverConfig, SenderConfig};
use sim::{NetConfig, Sim};

const OBJECTS: usize = 2000;
const CACHE: usize = 16;
/// Receiver 2 hears nothing in this window.
const CUT: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3));

struct Run {
    sim: Sim,
    /// When the last object was accepted.
    last_enqueue: Duration,
    /// Most objects the sender held at once (enqueued, not yet purged).
    max_cached: u64,
    /// Objects accepted while receiver 2 was cut off.
    during_cut: usize,
}

/// 2,000 objects of 2 KB at a fixed 10 Mbit/s (about 3.5 s of sending)
/// through a 16-object cache to three receivers at 2 % loss, of which
/// receiver 2 (node 10002) is cut off (hears and sends nothing) from 1 s
/// to 3 s.
fn run(seed: u64, flow_control: FlowControl) -> Run {
    let scfg = SenderConfig {
        cache_max_objects: CACHE,
        flow_control,
        congestion_control: false,
        rate_bps: 10_000_000,
        // The path's RTT is 4 ms: start near it, so that objects leave
        // the cache (40 GRTT after their last transmission) well within
        // the cut.
        grtt_initial: Duration::from_millis(5),
        ..Default::default()
    };
    let mut sim = Sim::new(seed, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.02, 0.02, 0.02], &[]);
    let mut pending: VecDeque<Vec<u8>> = (0..OBJECTS).map(|i| (0..2000).map(|j| (i * 7 + j) as u8).collect()).collect();
    let (mut last_enqueue, mut max_cached, mut before_cut, mut during_cut) = (Duration::ZERO, 0, 0, 0);
    while !pending.is_empty() {
        let now = sim.instant();
        let cut = sim.now >= CUT.0 && sim.now < CUT.1;
        sim.receivers[2].loss = if cut { 1.0 } else { 0.02 };
        sim.receivers[2].muted = cut;
        if sim.now < CUT.0 {
            before_cut = sim.sent_objects.len();
        } else if sim.now < CUT.1 {
            during_cut = sim.sent_objects.len() - before_cut;
        }
        while let Some(d) = pending.front() {
            match sim.sender.enqueue(now, ObjectKind::Data, Box::new(d.clone()), None) {
                Ok(id) => {
                    sim.sent_objects.push((id, pending.pop_front().expect("front"), Vec::new()));
                    last_enqueue = sim.now;
                }
                Err(mcast::Error::WouldBlock(_)) => break,
                Err(e) => panic!("enqueue: {e}"),
            }
        }
        let st = sim.sender.stats();
        max_cached = max_cached.max(st.objects_enqueued - st.objects_purged);
        let target = sim.now + Duration::from_millis(2);
        assert!(sim.now < Duration::from_secs(120), "seed {seed}: still enqueuing after 120 s");
        // Never past the target: the writer acts every 2 ms.
        sim.run_until(target, |s| s.now >= target);
        sim.now = sim.now.max(target);
    }
    sim.receivers[2].loss = 0.02;
    sim.receivers[2].muted = false;
    sim.run_until(Duration::from_secs(600), |s| s.all_delivered());
    Run { sim, last_enqueue, max_cached, during_cut }
}

#[test]
fn wait_for_acks_holds_objects_for_a_receiver_cut_off() {
    for seed in [1, 2] {
        let r = run(seed, FlowControl::WaitForAcks(vec![10000, 10001, 10002]));
        assert!(r.max_cached <= CACHE as u64, "seed {seed}: the cache held {} objects", r.max_cached);
        for (i, rx) in r.sim.receivers.iter().enumerate() {
            assert!(rx.aborted.is_empty(), "seed {seed}: receiver {i} aborted {} objects", rx.aborted.len());
            assert_eq!(rx.delivered.len(), OBJECTS, "seed {seed}: receiver {i}");
            for (got, sent) in rx.delivered.iter().zip(&r.sim.sent_objects) {
                assert!(got.0 == sent.0 && got.1 == sent.1, "seed {seed}: receiver {i}, object {}", sent.0);
            }
        }
        // The sender waited for the receiver while it was cut off: what
        // it accepted then was at most what the cache had room for.
        assert!(r.during_cut <= CACHE, "seed {seed}: {} objects accepted during the cut", r.during_cut);
        assert!(r.last_enqueue > CUT.1, "seed {seed}: last object accepted at {:?}", r.last_enqueue);
    }
}

#[test]
fn leave_behind_goes_on_without_a_receiver_cut_off() {
    // The control: the default policy gives receiver 2's objects up (it
    // reports them aborted), and the others get everything.
    for seed in [1, 2] {
        let r = run(seed, FlowControl::LeaveBehind);
        assert!(r.max_cached <= CACHE as u64, "seed {seed}: the cache held {} objects", r.max_cached);
        for i in 0..2 {
            assert_eq!(r.sim.receivers[i].delivered.len(), OBJECTS, "seed {seed}: receiver {i}");
        }
        // The sender went on without the silent receiver.
        assert!(r.during_cut > 2 * CACHE, "seed {seed}: {} objects accepted during the cut", r.during_cut);
        let rx = &r.sim.receivers[2];
        assert!(!rx.aborted.is_empty(), "seed {seed}: receiver 2 lost nothing (delivered {})", rx.delivered.len());
        assert_eq!(rx.aborted.len() + rx.delivered.len(), OBJECTS, "seed {seed}");
    }
}

#[test]
fn wait_for_acks_names_only_who_it_waits_for() {
    // Receiver 2 is not listed: it is left behind as with LeaveBehind, while
    // the listed ones get everything.
    let r = run(3, FlowControl::WaitForAcks(vec![10000, 10001]));
    assert!(r.during_cut > 2 * CACHE, "{} objects accepted during the cut", r.during_cut);
    for i in 0..2 {
        assert_eq!(r.sim.receivers[i].delivered.len(), OBJECTS, "receiver {i}");
    }
    assert!(!r.sim.receivers[2].aborted.is_empty(), "receiver 2 was waited for");
}
