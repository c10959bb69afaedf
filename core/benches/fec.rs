//! RFC 5510 Reed-Solomon (RS8) encode and decode throughput, in bytes of
//! source data per second (criterion). Run with `cargo bench -p mcast --bench fec`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

fn fec(c: &mut Criterion) {
    let mut g = c.benchmark_group("rs8");
    for (k, p, len) in [(64usize, 16usize, 1400usize), (16, 4, 1400), (200, 55, 1400)] {
        let rs = Rs8::new(k, p).unwrap();
        let data = block(k, len);
        let refs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        let mut par = vec![vec![0u8; len]; p];
        g.throughput(Throughput::Bytes((k * len) as u64));
        let id = format!("k{k}_p{p}_len{len}");
        g.bench_function(BenchmarkId::new("encode", &id), |b| {
            b.iter(|| {
                let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
                rs.encode_all(black_box(&refs), &mut outs);
            })
        });
        let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
        rs.encode_all(&refs, &mut outs);
        let full: Vec<Option<Vec<u8>>> = data.iter().cloned().chain(par.iter().cloned()).map(Some).collect();
        // The worst case: as many data segments lost as there is parity.
        g.bench_function(BenchmarkId::new("decode", &id), |b| {
            b.iter(|| {
                let mut segs = full.clone();
                for s in segs.iter_mut().take(p.min(k)) {
                    *s = None;
                }
                rs.decode(k, black_box(&mut segs), len).unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fec);
criterion_main!(benches);
