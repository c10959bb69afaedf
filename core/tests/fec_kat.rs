//! Known-answer tests: our RS8 code against parity produced by the real
//! libnorm `NormEncoderRS8` (vectors from tests/interop/fec-kat/run.sh).

use mcast::fec::Rs8;

const KAT: &str = include_str!("data/fec_rs8_kat.txt");

struct Case {
    k: usize,
    p: usize,
    b: usize,
    len: usize,
    seed: u64,
    parity: Vec<Vec<u8>>,
}

/// Same generator as kat.cpp: byte i of segment j is bits 32..39 of the
/// (j * len + i)-th SplitMix64 output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn block_data(b: usize, len: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut st = seed;
    (0..b)
        .map(|_| {
            (0..len)
                .map(|_| (splitmix64(&mut st) >> 32) as u8)
                .collect()
        })
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for line in KAT.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("case ") {
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            let [k, p, b, len, seed] = f[..] else {
                panic!("bad case line {line}")
            };
            out.push(Case {
                k: k as usize,
                p: p as usize,
                b: b as usize,
                len: len as usize,
                seed,
                parity: vec![],
            });
        } else {
            out.last_mut()
                .expect("parity before case")
                .parity
                .push(hex(line));
        }
    }
    for c in &out {
        assert_eq!(c.parity.len(), c.p, "case k={} p={} b={}", c.k, c.p, c.b);
        assert!(c.parity.iter().all(|s| s.len() == c.len));
    }
    out
}

#[test]
fn fec_kat_vectors_cover_required_shapes() {
    let cs = cases();
    assert!(cs.len() >= 20);
    for (k, p) in [(1, 1), (4, 2), (16, 4), (64, 16), (200, 55)] {
        assert!(
            cs.iter().any(|c| c.k == k && c.p == p && c.b == k),
            "full block {k},{p}"
        );
        assert!(
            cs.iter().any(|c| c.k == k && c.p == p && c.b < k) || k == 1,
            "short block {k},{p}"
        );
    }
}

#[test]
fn fec_kat_encode_parity_matches_libnorm() {
    for c in cases() {
        let rs = Rs8::new(c.k, c.p).unwrap();
        let data = block_data(c.b, c.len, c.seed);
        let refs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
        for i in 0..c.p {
            let mut out = vec![0xAAu8; c.len];
            rs.encode_parity(&refs, i, &mut out);
            assert_eq!(
                out, c.parity[i],
                "k={} p={} b={} len={} parity {i}",
                c.k, c.p, c.b, c.len
            );
        }
    }
}

#[test]
fn fec_kat_encode_all_and_incremental_match_libnorm() {
    for c in cases() {
        let rs = Rs8::new(c.k, c.p).unwrap();
        let data = block_data(c.b, c.len, c.seed);
        let refs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();

        let mut par = vec![vec![0x55u8; c.len]; c.p];
        let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
        rs.encode_all(&refs, &mut outs);
        assert_eq!(
            par, c.parity,
            "encode_all k={} p={} b={} len={}",
            c.k, c.p, c.b, c.len
        );

        // libnorm's sender style: zeroed parity, one data segment at a time
        // (here in reverse order: the sum does not depend on order).
        let mut inc = vec![vec![0u8; c.len]; c.p];
        let mut outs: Vec<&mut [u8]> = inc.iter_mut().map(|v| v.as_mut_slice()).collect();
        for (j, d) in data.iter().enumerate().rev() {
            rs.encode_segment(j, d, &mut outs).unwrap();
        }
        assert_eq!(
            inc, c.parity,
            "incremental k={} p={} b={} len={}",
            c.k, c.p, c.b, c.len
        );
    }
}

#[test]
fn fec_kat_runt_segment_is_zero_padded() {
    // Passing the last data segment unpadded must give the same parity as
    // libnorm's explicit zero padding. Build a padded copy from a KAT case and
    // compare both ways.
    let c = cases()
        .into_iter()
        .find(|c| c.k == 16 && c.b == 10 && c.len == 1400)
        .unwrap();
    let rs = Rs8::new(c.k, c.p).unwrap();
    let mut data = block_data(c.b, c.len, c.seed);
    let last = data.len() - 1;
    data[last][700..].fill(0);
    let padded: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
    let mut runt = padded.clone();
    runt[last] = &data[last][..700];
    for i in 0..c.p {
        let (mut a, mut b) = (vec![0u8; c.len], vec![0u8; c.len]);
        rs.encode_parity(&padded, i, &mut a);
        rs.encode_parity(&runt, i, &mut b);
        assert_eq!(a, b);
    }
}

#[test]
fn fec_kat_decode_recovers_from_libnorm_parity() {
    let mut rng = 0x5EED_u64;
    for c in cases() {
        if c.p == 0 {
            continue;
        }
        let rs = Rs8::new(c.k, c.p).unwrap();
        let data = block_data(c.b, c.len, c.seed);
        for trial in 0..8 {
            let mut segs: Vec<Option<Vec<u8>>> = data
                .iter()
                .cloned()
                .chain(c.parity.iter().cloned())
                .map(Some)
                .collect();
            // Erase a random subset of at most p symbols (data and parity).
            let n = segs.len();
            let erase = if trial == 0 {
                c.p.min(c.b)
            } else {
                (splitmix64(&mut rng) as usize) % (c.p + 1)
            };
            let mut erased = 0;
            if trial == 0 {
                // Worst case: the leading data segments, as the libnorm check in kat.cpp does.
                for s in segs.iter_mut().take(erase) {
                    *s = None;
                }
            } else {
                while erased < erase {
                    let i = (splitmix64(&mut rng) as usize) % n;
                    if segs[i].take().is_some() {
                        erased += 1;
                    }
                }
            }
            rs.decode(c.b, &mut segs, c.len).unwrap();
            for j in 0..c.b {
                assert_eq!(
                    segs[j].as_deref(),
                    Some(&data[j][..]),
                    "k={} p={} b={} seg {j}",
                    c.k,
                    c.p,
                    c.b
                );
            }
        }
    }
}

/// NORM_DATA symbols captured from a real libnorm sender
/// (tests/interop/fec-kat/wire_capture.sh): checks the on-wire conventions
/// the sender/receiver rely on, not just the arithmetic.
const WIRE: &str = include_str!("data/fec_rs8_wire.txt");

/// RFC 5052 section 9.1 block partitioning, as libnorm applies it: returns
/// the data segment count of each source block.
fn partition(object_size: u64, seg: u64, k: u64) -> Vec<usize> {
    let n = object_size.div_ceil(seg);
    let z = n.div_ceil(k);
    let (large, small) = (n.div_ceil(z), n / z);
    let i_large = n - small * z;
    (0..z)
        .map(|b| {
            if b < i_large {
                large as usize
            } else {
                small as usize
            }
        })
        .collect()
}

#[test]
fn fec_kat_wire_capture_matches_libnorm_sender() {
    use std::collections::BTreeMap;
    // (obj) -> (segment size, k, p, object size)
    let mut fti: BTreeMap<u16, (u64, usize, usize, u64)> = BTreeMap::new();
    // (obj, blk) -> symbol id -> payload
    let mut blocks: BTreeMap<(u16, u32), BTreeMap<u16, Vec<u8>>> = BTreeMap::new();
    for line in WIRE.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[0] {
            "fti" => {
                let v: Vec<u64> = f[1..].iter().map(|x| x.parse().unwrap()).collect();
                fti.insert(v[0] as u16, (v[1], v[2] as usize, v[3] as usize, v[4]));
            }
            "obj" => {
                let payload = hex(f[8]);
                assert_eq!(payload.len(), f[7].parse::<usize>().unwrap());
                blocks
                    .entry((f[1].parse().unwrap(), f[3].parse().unwrap()))
                    .or_default()
                    .insert(f[5].parse().unwrap(), payload);
            }
            _ => panic!("bad line {line}"),
        }
    }
    assert_eq!(fti.len(), 3);
    let mut short_blocks = 0;
    for (&obj, &(seg, k, p, size)) in &fti {
        let rs = Rs8::new(k, p).unwrap();
        for (blk, &b) in partition(size, seg, k as u64).iter().enumerate() {
            let syms = &blocks[&(obj, blk as u32)];
            // libnorm sent data ids 0..b and parity ids b..b+p, nothing else.
            let ids: Vec<u16> = syms.keys().copied().collect();
            assert_eq!(
                ids,
                (0..(b + p) as u16).collect::<Vec<_>>(),
                "obj {obj} blk {blk}"
            );
            if b < k {
                short_blocks += 1;
            }
            let data: Vec<&[u8]> = (0..b as u16).map(|i| syms[&i].as_slice()).collect();
            let max_len = data.iter().map(|d| d.len()).max().unwrap();
            for i in 0..p {
                let id = rs.parity_symbol_id(b, i);
                assert_eq!(rs.parity_position(b, id), Some(i));
                let wire = &syms[&id];
                // Parity goes out at the block's longest data payload, not
                // the full segment size.
                assert_eq!(wire.len(), max_len, "obj {obj} blk {blk} parity {i} length");
                let mut ours = vec![0u8; max_len];
                rs.encode_parity(&data, i, &mut ours); // runt segments zero-padded
                assert_eq!(&ours, wire, "obj {obj} blk {blk} parity {i}");
            }
            // And a receiver can rebuild the block from the wire parity alone
            // when p data segments are lost.
            let mut segs: Vec<Option<Vec<u8>>> = (0..(b + p) as u16)
                .map(|i| Some(syms[&i].clone()))
                .collect();
            for s in segs.iter_mut().take(p.min(b)) {
                *s = None;
            }
            rs.decode(b, &mut segs, seg as usize).unwrap();
            for j in 0..b {
                let got = segs[j].as_deref().unwrap();
                let want = &syms[&(j as u16)];
                assert_eq!(&got[..want.len()], &want[..]);
                assert!(got[want.len()..].iter().all(|&x| x == 0));
            }
        }
    }
    assert!(short_blocks >= 3, "capture should include short blocks");
}
