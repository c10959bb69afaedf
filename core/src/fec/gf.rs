//! Arithmetic in GF(2^8) as used by RFC 5510's m = 8 Reed-Solomon code.
//!
//! The field is built from the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1
//! (0x11D) with generator alpha = x (0x02). RFC 5510 section 8.1 and libnorm's
//! `NormEncoderRS8` both use this polynomial; any other choice would produce
//! different parity bytes and break interoperability.
//!
//! All tables are computed at compile time so there is no start-up cost and
//! no synchronisation needed to use them from any thread.
//!
//! The hot operation is `dst ^= c * src` over a whole segment
//! ([`mul_add`]). It uses the "split nibble" technique: c * x equals
//! c * (x & 0x0f) ^ c * (x & 0xf0), so two 16-entry tables per coefficient
//! cover every byte, and those fit in one SIMD register which lets a byte
//! shuffle instruction perform 16 or 32 table lookups at once.

/// The reduction polynomial, including the x^8 term.
pub const POLY: u16 = 0x11D;

/// `EXP[i]` = alpha^i. Twice the period long (510 entries) so that
/// `EXP[LOG[a] + LOG[b]]` never needs a modulo.
pub static EXP: [u8; 512] = build_exp();

/// `LOG[a]` = i such that alpha^i = a, for a != 0. `LOG[0]` is meaningless (0).
pub static LOG: [u8; 256] = build_log();

/// Full 64 KiB product table: `MUL[a][b]` = a * b. Used wherever a single
/// coefficient is applied to many bytes without SIMD, and to derive the
/// nibble tables.
pub static MUL: [[u8; 256]; 256] = build_mul();

const fn build_exp() -> [u8; 512] {
    let mut t = [0u8; 512];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        t[i] = x as u8;
        t[i + 255] = x as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= POLY;
        }
        i += 1;
    }
    // Entries 510 and 511 are never read by a correct caller (the largest
    // index is 254 + 254); keep them as a continuation of the cycle anyway.
    t[510] = t[0];
    t[511] = t[1];
    t
}

const fn build_log() -> [u8; 256] {
    let exp = build_exp();
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        t[exp[i] as usize] = i as u8;
        i += 1;
    }
    t
}

const fn build_mul() -> [[u8; 256]; 256] {
    let exp = build_exp();
    let log = build_log();
    let mut t = [[0u8; 256]; 256];
    let mut a = 1;
    while a < 256 {
        let mut b = 1;
        while b < 256 {
            t[a][b] = exp[log[a] as usize + log[b] as usize];
            b += 1;
        }
        a += 1;
    }
    t
}

/// a * b in GF(2^8).
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    MUL[a as usize][b as usize]
}

/// Multiplicative inverse; `None` for zero, which has none.
#[inline]
pub fn inv(a: u8) -> Option<u8> {
    if a == 0 {
        None
    } else {
        Some(EXP[255 - LOG[a as usize] as usize])
    }
}

/// alpha^e for any exponent (reduced mod 255, the multiplicative order).
#[inline]
pub fn exp(e: usize) -> u8 {
    EXP[e % 255]
}

/// Precomputed lookup data for multiplying many bytes by one constant.
///
/// Built once per coefficient (32 bytes of nibble tables) so the per-byte
/// work is two shuffles and two XORs on SIMD hardware.
#[derive(Clone, Copy, Debug)]
pub struct Coef {
    c: u8,
    /// c * n for n in 0..16.
    lo: [u8; 16],
    /// c * (n << 4) for n in 0..16.
    hi: [u8; 16],
}

impl Coef {
    pub fn new(c: u8) -> Self {
        let mut lo = [0u8; 16];
        let mut hi = [0u8; 16];
        for n in 0..16u8 {
            lo[n as usize] = mul(c, n);
            hi[n as usize] = mul(c, n << 4);
        }
        Coef { c, lo, hi }
    }

    #[inline]
    pub fn value(&self) -> u8 {
        self.c
    }
}

/// `dst[..src.len()] ^= c * src`.
///
/// `src` may be shorter than `dst`: the missing tail behaves as zero bytes,
/// which contribute nothing. This is exactly the zero-padding libnorm applies
/// to short ("runt") segments before coding them.
///
/// # Panics
/// If `src` is longer than `dst` (an internal invariant; callers check sizes
/// coming from the network before getting here).
#[inline]
pub fn mul_add(dst: &mut [u8], src: &[u8], c: &Coef) {
    assert!(
        src.len() <= dst.len(),
        "gf::mul_add: source longer than destination"
    );
    let dst = &mut dst[..src.len()];
    match c.c {
        0 => {}
        1 => xor_into(dst, src),
        _ => simd::mul_add(dst, src, c),
    }
}

/// `dst ^= src` over equal-length slices. Written over u64 words so the
/// compiler vectorises it.
#[inline]
fn xor_into(dst: &mut [u8], src: &[u8]) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let v = u64::from_ne_bytes(dw[..8].try_into().unwrap())
            ^ u64::from_ne_bytes(sw.try_into().unwrap());
        dw.copy_from_slice(&v.to_ne_bytes());
    }
    for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *db ^= *sb;
    }
}

/// Table-driven fallback, one lookup per byte.
#[inline]
fn mul_add_scalar(dst: &mut [u8], src: &[u8], c: &Coef) {
    let row = &MUL[c.c as usize];
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= row[*s as usize];
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    //! x86-64 kernels. `pshufb` (SSSE3) / `vpshufb` (AVX2) perform a 16-entry
    //! table lookup per byte lane, which is exactly the nibble-table product.
    use super::{mul_add_scalar, Coef};
    use std::arch::x86_64::*;

    #[inline]
    pub(super) fn mul_add(dst: &mut [u8], src: &[u8], c: &Coef) {
        debug_assert_eq!(dst.len(), src.len());
        // Below one vector the setup costs more than it saves.
        if src.len() >= 32 && std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { mul_add_avx2(dst, src, c) }
        } else if src.len() >= 16 && std::is_x86_feature_detected!("ssse3") {
            // SAFETY: the CPU supports SSSE3 (checked just above).
            unsafe { mul_add_ssse3(dst, src, c) }
        } else {
            mul_add_scalar(dst, src, c)
        }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn mul_add_avx2(dst: &mut [u8], src: &[u8], c: &Coef) {
        let n = src.len().min(dst.len());
        let full = n - n % 32;
        // SAFETY (whole block): every load/store below touches
        // [i, i + 32) with i + 32 <= full <= len of both slices, and the
        // unaligned load/store intrinsics have no alignment requirement.
        unsafe {
            let lo = _mm256_broadcastsi128_si256(_mm_loadu_si128(c.lo.as_ptr() as *const __m128i));
            let hi = _mm256_broadcastsi128_si256(_mm_loadu_si128(c.hi.as_ptr() as *const __m128i));
            let mask = _mm256_set1_epi8(0x0f);
            let sp = src.as_ptr();
            let dp = dst.as_mut_ptr();
            let mut i = 0;
            while i < full {
                let s = _mm256_loadu_si256(sp.add(i) as *const __m256i);
                let l = _mm256_and_si256(s, mask);
                // No 8-bit shift exists; shifting 64-bit lanes and masking
                // gives the same high nibbles.
                let h = _mm256_and_si256(_mm256_srli_epi64(s, 4), mask);
                let p = _mm256_xor_si256(_mm256_shuffle_epi8(lo, l), _mm256_shuffle_epi8(hi, h));
                let d = _mm256_loadu_si256(dp.add(i) as *const __m256i);
                _mm256_storeu_si256(dp.add(i) as *mut __m256i, _mm256_xor_si256(d, p));
                i += 32;
            }
        }
        mul_add_scalar(&mut dst[full..n], &src[full..n], c);
    }

    #[target_feature(enable = "ssse3")]
    unsafe fn mul_add_ssse3(dst: &mut [u8], src: &[u8], c: &Coef) {
        let n = src.len().min(dst.len());
        let full = n - n % 16;
        // SAFETY: as in the AVX2 kernel, with 16-byte accesses below `full`.
        unsafe {
            let lo = _mm_loadu_si128(c.lo.as_ptr() as *const __m128i);
            let hi = _mm_loadu_si128(c.hi.as_ptr() as *const __m128i);
            let mask = _mm_set1_epi8(0x0f);
            let sp = src.as_ptr();
            let dp = dst.as_mut_ptr();
            let mut i = 0;
            while i < full {
                let s = _mm_loadu_si128(sp.add(i) as *const __m128i);
                let l = _mm_and_si128(s, mask);
                let h = _mm_and_si128(_mm_srli_epi64(s, 4), mask);
                let p = _mm_xor_si128(_mm_shuffle_epi8(lo, l), _mm_shuffle_epi8(hi, h));
                let d = _mm_loadu_si128(dp.add(i) as *const __m128i);
                _mm_storeu_si128(dp.add(i) as *mut __m128i, _mm_xor_si128(d, p));
                i += 16;
            }
        }
        mul_add_scalar(&mut dst[full..n], &src[full..n], c);
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod simd {
    use super::{mul_add_scalar, Coef};

    #[inline]
    pub(super) fn mul_add(dst: &mut [u8], src: &[u8], c: &Coef) {
        mul_add_scalar(dst, src, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Carry-less multiply then reduce: an independent definition of the
    /// field product to check the tables against.
    fn slow_mul(a: u8, b: u8) -> u8 {
        let mut acc: u16 = 0;
        for i in 0..8 {
            if b & (1 << i) != 0 {
                acc ^= (a as u16) << i;
            }
        }
        for bit in (8..16).rev() {
            if acc & (1 << bit) != 0 {
                acc ^= POLY << (bit - 8);
            }
        }
        acc as u8
    }

    #[test]
    fn tables_match_definition() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a} * {b}");
            }
        }
        // alpha = 2 must be primitive: 255 distinct powers.
        let mut seen = [false; 256];
        for i in 0..255 {
            assert!(!seen[EXP[i] as usize]);
            seen[EXP[i] as usize] = true;
        }
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a).unwrap()), 1);
        }
        assert_eq!(inv(0), None);
    }

    #[test]
    fn kernels_agree_with_scalar() {
        let src: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for c in [0u8, 1, 2, 0x1d, 0x80, 0xff] {
            for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 63, 64, 100, 1000] {
                let mut a: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut b = a.clone();
                mul_add(&mut a, &src[..len], &Coef::new(c));
                for (d, s) in b.iter_mut().zip(&src[..len]) {
                    *d ^= slow_mul(c, *s);
                }
                assert_eq!(a, b, "c={c} len={len}");
            }
        }
    }

    #[test]
    fn short_source_is_zero_extended() {
        let mut dst = vec![7u8; 40];
        mul_add(&mut dst, &[1u8; 20], &Coef::new(3));
        assert!(dst[..20].iter().all(|&b| b == 7 ^ 3));
        assert!(dst[20..].iter().all(|&b| b == 7));
    }
}
