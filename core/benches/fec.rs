//! RS8 encode/decode throughput.
//!
//! No benchmark framework is a dependency, so the measurements are ignored
//! tests that print MB/s (of source data). Run in release mode with:
//!
//! ```text
//! cargo test --release -p mcast --bench fec -- --ignored --nocapture
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use mcast::fec::Rs8;

fn block(k: usize, len: usize) -> Vec<Vec<u8>> {
    let mut s = 0x1234_5678_9abc_def1u64;
    (0..k)
        .map(|_| {
            (0..len)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    s as u8
                })
                .collect()
        })
        .collect()
}

/// Runs `f` (which processes `bytes` of source data) for about half a second
/// and returns MB/s (10^6 bytes per second).
fn rate(bytes: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm caches and the CPU feature detection
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < Duration::from_millis(500) {
        f();
        iters += 1;
    }
    (bytes as f64 * iters as f64) / start.elapsed().as_secs_f64() / 1e6
}

#[test]
#[ignore = "throughput measurement; run with --ignored in release mode"]
fn fec_throughput() {
    for (k, p, len) in [(64, 16, 1400), (16, 4, 1400), (200, 55, 1400), (64, 16, 64)] {
        let rs = Rs8::new(k, p).unwrap();
        let data = block(k, len);
        let refs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        let mut par = vec![vec![0u8; len]; p];

        let all = rate(k * len, || {
            let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
            rs.encode_all(black_box(&refs), &mut outs);
        });
        let inc = rate(k * len, || {
            let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
            for o in outs.iter_mut() {
                o.fill(0);
            }
            for (j, d) in refs.iter().enumerate() {
                rs.encode_segment(j, black_box(d), &mut outs).unwrap();
            }
        });

        // Decode the worst case: p data segments lost.
        let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
        rs.encode_all(&refs, &mut outs);
        let full: Vec<Option<Vec<u8>>> = data
            .iter()
            .cloned()
            .chain(par.iter().cloned())
            .map(Some)
            .collect();
        let dec = rate(k * len, || {
            let mut segs = full.clone();
            for s in segs.iter_mut().take(p.min(k)) {
                *s = None;
            }
            rs.decode(k, black_box(&mut segs), len).unwrap();
        });
        println!(
            "RS8 k={k:3} p={p:3} len={len:4}: encode_all {all:8.1} MB/s, incremental {inc:8.1} MB/s, \
             decode ({} lost) {dec:8.1} MB/s",
            p.min(k)
        );
    }
}
