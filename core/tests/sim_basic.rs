//! Quick simulation checks of the protocol core (the full seed sweep is in sim_sweep.rs).

mod sim;

use std::time::Duration;

use mcast::proto::{ReceiverConfig, SenderConfig};
use sim::{NetConfig, Sim};

fn payload(rng: &mut impl rand::Rng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.gen()).collect()
}

fn check_exact(sim: &Sim) {
    for (i, r) in sim.receivers.iter().enumerate() {
        assert!(r.aborted.is_empty(), "receiver {i} aborted {:?}", r.aborted);
        assert_eq!(r.delivered.len(), sim.sent_objects.len(), "receiver {i} delivered {} of {}", r.delivered.len(), sim.sent_objects.len());
        for (got, sent) in r.delivered.iter().zip(&sim.sent_objects) {
            assert_eq!(got.0, sent.0, "receiver {i}: object order");
            assert!(got.1 == sent.1, "receiver {i}: object {} data differs ({} vs {} bytes)", sent.0, got.1.len(), sent.1.len());
            assert_eq!(got.2, sent.2, "receiver {i}: object {} info differs", sent.0);
        }
    }
}

#[test]
fn lossless_delivery() {
    let mut sim = Sim::new(1, NetConfig::default(), SenderConfig::default(), ReceiverConfig::default(), &[0.0, 0.0, 0.0], &[]);
    let mut rng = rand::thread_rng();
    for len in [0usize, 1, 1399, 1400, 1401, 100_000, 300_000] {
        let d = payload(&mut rng, len);
        sim.send(d, format!("obj-{len}").into_bytes());
    }
    assert!(sim.run_until(Duration::from_secs(60), |s| s.all_delivered()), "not all delivered");
    check_exact(&sim);
}

#[test]
fn lossy_delivery_with_parity() {
    let scfg = SenderConfig { block_size: 16, parity: 4, ..Default::default() };
    let mut sim = Sim::new(7, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.1, 0.2, 0.05], &[]);
    let mut rng = rand::thread_rng();
    for len in [0usize, 1, 5000, 200_000] {
        let d = payload(&mut rng, len);
        sim.send(d, Vec::new());
    }
    assert!(sim.run_until(Duration::from_secs(120), |s| s.all_delivered()), "not all delivered");
    check_exact(&sim);
}


#[test]
fn a_small_cache_holds_objects_until_late_nacks_can_arrive() {
    // Thousands of tiny objects through a 64-object cache at 10 % loss: the
    // sender must not purge an object before receivers had time to ask for
    // it (it blocks the writer instead), so nothing is aborted.
    let scfg = SenderConfig { cache_max_objects: 64, ..Default::default() };
    let mut sim = Sim::new(11, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.1, 0.1, 0.05], &[]);
    let mut rng = rand::thread_rng();
    let mut pending: std::collections::VecDeque<Vec<u8>> = (0..3000).map(|_| payload(&mut rng, 40)).collect();
    while !pending.is_empty() {
        let now = sim.instant();
        while let Some(d) = pending.front() {
            match sim.sender.enqueue(now, mcast::proto::ObjectKind::Data, Box::new(d.clone()), None) {
                Ok(id) => {
                    sim.sent_objects.push((id, pending.pop_front().unwrap(), Vec::new()));
                }
                Err(mcast::Error::WouldBlock(_)) => break,
                Err(e) => panic!("enqueue: {e}"),
            }
        }
        let target = sim.now + Duration::from_millis(5);
        sim.run_until(Duration::from_secs(600), |s| s.now >= target);
    }
    assert!(sim.run_until(Duration::from_secs(600), |s| s.all_delivered()), "not all delivered");
    check_exact(&sim);
}

#[test]
fn acknowledged_flush_reports_who_has_everything() {
    // Receivers have node ids 10000.. (see sim/mod.rs); 99999 does not exist.
    for seed in 0..20u64 {
        let scfg = SenderConfig { block_size: 16, parity: 4, ..Default::default() };
        let mut sim = Sim::new(seed, NetConfig::default(), scfg, ReceiverConfig::default(), &[0.1, 0.2, 0.0], &[]);
        let mut rng = rand::thread_rng();
        for len in [1usize, 5000, 100_000] {
            sim.send(payload(&mut rng, len), Vec::new());
        }
        let token = sim.sender.flush_acked(sim.instant(), &[10002, 10000, 99999, 10001]);
        assert!(sim.run_until(Duration::from_secs(120), |s| !s.acks.is_empty()), "seed {seed}: no AckComplete");
        check_exact(&sim);
        assert_eq!(sim.acks[0], (token, vec![10000, 10001, 10002], vec![99999]), "seed {seed}");
        // A second watermark after more data, asking only the receivers.
        sim.send(payload(&mut rng, 20_000), Vec::new());
        let t2 = sim.sender.flush_acked(sim.instant(), &[10000, 10001, 10002]);
        assert!(sim.run_until(Duration::from_secs(120), |s| s.acks.len() == 2), "seed {seed}: no second AckComplete");
        assert_eq!(sim.acks[1], (t2, vec![10000, 10001, 10002], vec![]), "seed {seed}");
    }
}

#[test]
fn files_to_disk_need_only_incomplete_blocks_in_memory() {
    // With file_dir, a FILE object leaves block by block (FileData events,
    // which the engine writes to disk): a 20 MB file at 5 % loss completes
    // within a 4 MB receive buffer (what arrives during a repair round or
    // two at 100 Mbit/s), and DATA objects still come in memory.
    let rcfg = ReceiverConfig {
        file_dir: Some("/unused-by-the-state-machine".into()),
        max_buffer_per_sender: 4_000_000,
        max_buffer_total: 4_000_000,
        ..Default::default()
    };
    let scfg = SenderConfig {
        congestion_control: false,
        rate_bps: 100_000_000,
        grtt_initial: Duration::from_millis(5),
        ..Default::default()
    };
    let mut sim = Sim::new(21, NetConfig::default(), scfg.clone(), rcfg.clone(), &[0.05, 0.0, 0.1], &[]);
    let mut rng = rand::thread_rng();
    sim.send_kind(mcast::proto::ObjectKind::File, payload(&mut rng, 20_000_000), b"big.bin".to_vec());
    sim.send(payload(&mut rng, 5000), Vec::new());
    sim.send_kind(mcast::proto::ObjectKind::File, Vec::new(), b"empty".to_vec());
    assert!(sim.run_until(Duration::from_secs(120), |s| s.all_delivered()), "not all delivered");
    check_exact(&sim);
    assert!(sim.receivers.iter().all(|r| r.files.is_empty()), "file data left over");

    // The control: without file_dir the file needs 20 MB of buffer.
    let rcfg = ReceiverConfig { file_dir: None, ..rcfg };
    let mut sim = Sim::new(21, NetConfig::default(), scfg, rcfg, &[0.05], &[]);
    sim.send_kind(mcast::proto::ObjectKind::File, payload(&mut rng, 20_000_000), b"big.bin".to_vec());
    assert!(sim.run_until(Duration::from_secs(120), |s| s.all_delivered()), "no outcome");
    assert_eq!(sim.receivers[0].aborted.len(), 1, "the file fit a 4 MB buffer in memory");
}
