//! Property tests for the RS8 code: for random shapes, block lengths,
//! segment lengths and erasure patterns of at most p symbols, decoding
//! recovers the data exactly; beyond p it errors instead of panicking.

use mcast::fec::{FecError, Rs8};
use proptest::prelude::*;

/// (k, p, block_len, segment_len, data seed, erasure seed)
fn shape() -> impl Strategy<Value = (usize, usize, usize, usize, u64, u64)> {
    (1usize..=64, 0usize..=32).prop_flat_map(|(k, p)| {
        (
            Just(k),
            Just(p),
            1..=k,
            0usize..=300,
            any::<u64>(),
            any::<u64>(),
        )
    })
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn make_block(b: usize, len: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut s = seed | 1;
    (0..b)
        .map(|_| (0..len).map(|_| xorshift(&mut s) as u8).collect())
        .collect()
}

fn encode(rs: &Rs8, data: &[Vec<u8>], len: usize) -> Vec<Vec<u8>> {
    let refs: Vec<&[u8]> = data.iter().map(|v| v.as_slice()).collect();
    let mut par = vec![vec![0u8; len]; rs.num_parity()];
    let mut outs: Vec<&mut [u8]> = par.iter_mut().map(|v| v.as_mut_slice()).collect();
    rs.encode_all(&refs, &mut outs);
    par
}

/// Erases `count` distinct random slots out of `n`.
fn erase(segs: &mut [Option<Vec<u8>>], count: usize, seed: u64) {
    let mut s = seed | 1;
    let mut left = count.min(segs.len());
    while left > 0 {
        let i = (xorshift(&mut s) % segs.len() as u64) as usize;
        if segs[i].take().is_some() {
            left -= 1;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fec_prop_decode_recovers_up_to_p_erasures((k, p, b, len, dseed, eseed) in shape(), frac in 0.0f64..=1.0) {
        let rs = Rs8::new(k, p).unwrap();
        let data = make_block(b, len, dseed);
        let parity = encode(&rs, &data, len);
        let mut segs: Vec<Option<Vec<u8>>> = data.iter().cloned().chain(parity).map(Some).collect();
        let count = ((p as f64) * frac).round() as usize;
        erase(&mut segs, count, eseed);
        rs.decode(b, &mut segs, len).unwrap();
        for j in 0..b {
            prop_assert_eq!(segs[j].as_deref(), Some(&data[j][..]));
        }
    }

    #[test]
    fn fec_prop_too_many_erasures_is_an_error((k, p, b, len, dseed, eseed) in shape()) {
        let rs = Rs8::new(k, p).unwrap();
        let data = make_block(b, len, dseed);
        let parity = encode(&rs, &data, len);
        let mut segs: Vec<Option<Vec<u8>>> = data.iter().cloned().chain(parity).map(Some).collect();
        // p + 1 erasures all landing on data needs more parity than exists.
        let n_data_erased = (p + 1).min(b);
        erase(&mut segs[..b], n_data_erased, eseed);
        let res = rs.decode(b, &mut segs, len);
        if n_data_erased > p {
            prop_assert!(
                matches!(res, Err(FecError::TooManyErasures { .. })),
                "expected TooManyErasures, got {:?}", res
            );
        } else {
            prop_assert!(res.is_ok());
        }
    }

    #[test]
    fn fec_prop_short_parity_payloads_decode(
        (k, p, b, len, dseed, eseed) in shape(), cut in 0usize..=300,
    ) {
        // libnorm sends parity only as long as the block's longest data
        // payload and the receiver zero-extends; trailing zero bytes of data
        // give trailing zero parity, so truncated parity must still decode.
        prop_assume!(p > 0 && len > 0);
        let rs = Rs8::new(k, p).unwrap();
        let keep = cut.min(len);
        let mut data = make_block(b, len, dseed);
        for d in &mut data {
            d[keep..].fill(0);
        }
        let parity = encode(&rs, &data, len);
        prop_assert!(parity.iter().all(|s| s[keep..].iter().all(|&x| x == 0)));
        let mut segs: Vec<Option<Vec<u8>>> = data.iter().map(|d| Some(d[..keep].to_vec()))
            .chain(parity.into_iter().map(|s| Some(s[..keep].to_vec()))).collect();
        erase(&mut segs, p, eseed);
        rs.decode(b, &mut segs, len).unwrap();
        for j in 0..b {
            let got = segs[j].as_deref().unwrap();
            prop_assert_eq!(&got[..keep], &data[j][..keep]);
        }
    }

    #[test]
    fn fec_prop_decode_never_panics_on_garbage(
        k in 1usize..=20, p in 0usize..=10, b in 0usize..=25, len in 0usize..=40,
        present in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=50)), 0..=40),
    ) {
        let rs = Rs8::new(k, p).unwrap();
        let mut segs = present;
        let _ = rs.decode(b, &mut segs, len);
    }

    #[test]
    fn fec_prop_symbol_id_roundtrip(k in 1usize..=200, p in 0usize..=55, b_off in 0usize..200, i_off in 0usize..55) {
        prop_assume!(k + p <= 255);
        let rs = Rs8::new(k, p).unwrap();
        let b = 1 + b_off % k;
        if p > 0 {
            let i = i_off % p;
            let id = rs.parity_symbol_id(b, i);
            prop_assert_eq!(id as usize, b + i);
            prop_assert_eq!(rs.parity_position(b, id), Some(i));
        }
        for id in 0..b as u16 {
            prop_assert_eq!(rs.parity_position(b, id), None);
        }
        prop_assert_eq!(rs.parity_position(b, (b + p) as u16), None);
    }
}

#[test]
fn fec_prop_extreme_shapes_roundtrip() {
    // Corners of k + p <= 255 that random sampling above does not reach.
    for (k, p) in [(254, 1), (1, 254), (128, 127), (200, 55), (255, 0)] {
        let rs = Rs8::new(k, p).unwrap();
        for b in [1, k / 2 + 1, k] {
            let len = 37;
            let data = make_block(b, len, (k * 1000 + b) as u64);
            let parity = encode(&rs, &data, len);
            let mut segs: Vec<Option<Vec<u8>>> =
                data.iter().cloned().chain(parity).map(Some).collect();
            let e = p.min(b);
            for s in segs.iter_mut().take(e) {
                *s = None;
            }
            rs.decode(b, &mut segs, len).unwrap();
            for j in 0..b {
                assert_eq!(segs[j].as_deref(), Some(&data[j][..]), "k={k} p={p} b={b}");
            }
        }
    }
}
