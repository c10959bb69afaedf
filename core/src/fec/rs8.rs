//! Systematic Reed-Solomon erasure code over GF(2^8), RFC 5510 / libnorm RS8.
//!
//! # Construction (what makes the parity bytes match libnorm)
//!
//! For a code with k = `num_data` and p = `num_parity` (n = k + p), take the
//! n x k Vandermonde-style matrix V whose rows are the evaluation points
//! 0, alpha^0, alpha^1, ..., alpha^(n-2) raised to the column powers:
//!
//! ```text
//! V[0]   = [1, 0, 0, ..., 0]                  (the point 0: 0^0 = 1)
//! V[r]   = [alpha^((r-1)*c) for c in 0..k]     for r = 1..n-1
//! ```
//!
//! The generator is G = V * inverse(top k rows of V): its top k rows are
//! the identity (so data goes out unchanged) and its bottom p rows are the
//! parity coefficients P (p x k). Parity segment i is
//! `sum over j of P[i][j] * data[j]`, byte by byte. This is Rizzo's
//! construction that RFC 5510 specifies and libnorm implements; the inverse is
//! unique, so computing it by plain Gauss-Jordan (as here) gives exactly the
//! same P as libnorm's specialised Vandermonde inversion.
//!
//! # Short blocks
//!
//! NORM's last source block of an object may hold fewer than k segments.
//! libnorm does *not* build a smaller code for it: it keeps the full (k, p)
//! matrix and simply never adds the missing columns, i.e. the absent data
//! segments are implicit zeros (a shortened code). Parity row i is still row
//! k + i of the full generator. [`Rs8::encode_parity`] with `data.len() < k`
//! does exactly that.
//!
//! Every distinct set of k rows of V is invertible (distinct evaluation
//! points), so the code is MDS: any square submatrix of P is nonsingular,
//! which is what lets [`Rs8::decode`] use *any* e surviving parity segments to
//! rebuild e missing data segments.

use super::gf::{self, Coef};
use super::FecError;

/// Encoder and decoder for one (max data, parity) shape of the RS8 code.
///
/// Immutable after construction, so one instance can be shared (`&Rs8`)
/// between any number of blocks and threads.
#[derive(Clone)]
pub struct Rs8 {
    k: usize,
    p: usize,
    /// Parity coefficients, row-major: `raw[i * k + j]` multiplies data
    /// segment j into parity segment i.
    raw: Vec<u8>,
    /// The same coefficients with their SIMD lookup tables prebuilt, so the
    /// encoder's hot path does no per-call setup or allocation.
    coef: Vec<Coef>,
}

impl std::fmt::Debug for Rs8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rs8")
            .field("num_data", &self.k)
            .field("num_parity", &self.p)
            .finish_non_exhaustive()
    }
}

/// Inverts the n x n row-major matrix `m` in place by Gauss-Jordan
/// elimination over GF(2^8).
fn invert(m: &mut [u8], n: usize) -> Result<(), FecError> {
    debug_assert_eq!(m.len(), n * n);
    // Augment with the identity on the right: rows of width 2n.
    let w = 2 * n;
    let mut a = vec![0u8; n * w];
    for r in 0..n {
        a[r * w..r * w + n].copy_from_slice(&m[r * n..r * n + n]);
        a[r * w + n + r] = 1;
    }
    for col in 0..n {
        let pivot = (col..n)
            .find(|&r| a[r * w + col] != 0)
            .ok_or(FecError::Singular)?;
        if pivot != col {
            for c in 0..w {
                a.swap(pivot * w + c, col * w + c);
            }
        }
        // Scale the pivot row so the pivot becomes 1.
        let s = gf::inv(a[col * w + col]).ok_or(FecError::Singular)?;
        for c in 0..w {
            a[col * w + c] = gf::mul(a[col * w + c], s);
        }
        // Eliminate this column from every other row (subtraction is XOR).
        let pivot_row: Vec<u8> = a[col * w..col * w + w].to_vec();
        for r in 0..n {
            if r == col {
                continue;
            }
            let f = a[r * w + col];
            if f != 0 {
                let row = &mut a[r * w..r * w + w];
                for (x, &pv) in row.iter_mut().zip(&pivot_row) {
                    *x ^= gf::mul(f, pv);
                }
            }
        }
    }
    for r in 0..n {
        m[r * n..r * n + n].copy_from_slice(&a[r * w + n..r * w + w]);
    }
    Ok(())
}

impl Rs8 {
    /// Builds the code for source blocks of up to `num_data` segments (the
    /// FTI's max_block_len, k) with `num_parity` parity segments (p).
    /// Requires k >= 1 and k + p <= 255 (the field has 255 nonzero points
    /// plus zero, and libnorm caps n at 255).
    pub fn new(num_data: usize, num_parity: usize) -> Result<Self, FecError> {
        let (k, p) = (num_data, num_parity);
        if k == 0 || k > 255 || p > 255 || k + p > 255 {
            return Err(FecError::InvalidShape {
                num_data,
                num_parity,
            });
        }
        // Top k x k part of V (see module docs), then invert it.
        let mut top = vec![0u8; k * k];
        top[0] = 1;
        for r in 1..k {
            for c in 0..k {
                top[r * k + c] = gf::exp((r - 1) * c);
            }
        }
        invert(&mut top, k)?;
        // P = V_bottom * top^-1, where V_bottom row i is V[k + i], the
        // evaluation point alpha^(k - 1 + i).
        let mut raw = vec![0u8; p * k];
        let mut vrow = vec![0u8; k];
        for i in 0..p {
            for (c, v) in vrow.iter_mut().enumerate() {
                *v = gf::exp((k - 1 + i) * c);
            }
            for j in 0..k {
                let mut acc = 0u8;
                for t in 0..k {
                    acc ^= gf::mul(vrow[t], top[t * k + j]);
                }
                raw[i * k + j] = acc;
            }
        }
        let coef = raw.iter().map(|&c| Coef::new(c)).collect();
        Ok(Rs8 { k, p, raw, coef })
    }

    /// Maximum source block length k.
    pub fn num_data(&self) -> usize {
        self.k
    }

    /// Number of parity segments p.
    pub fn num_parity(&self) -> usize {
        self.p
    }

    /// The generator coefficient that multiplies data segment `data_index`
    /// into parity segment `parity_index` (row k + parity_index, column
    /// data_index of libnorm's encoding matrix). `None` if out of range.
    pub fn coefficient(&self, parity_index: usize, data_index: usize) -> Option<u8> {
        (parity_index < self.p && data_index < self.k)
            .then(|| self.raw[parity_index * self.k + data_index])
    }

    /// Computes parity segment `parity_index` (0-based) for a block whose
    /// data segments are `data` into `out`.
    ///
    /// `data.len() <= num_data`: a short last block is coded exactly as
    /// libnorm does, with the absent segments taken as zero. Data segments
    /// shorter than `out` are treated as zero-padded (libnorm zero-pads runt
    /// segments before encoding), so callers may pass the last segment
    /// unpadded.
    ///
    /// # Panics
    /// On caller bugs: `parity_index >= num_parity`, more than `num_data`
    /// segments, or a data segment longer than `out`. Use
    /// [`Rs8::try_encode_parity`] to get an error instead.
    pub fn encode_parity(&self, data: &[&[u8]], parity_index: usize, out: &mut [u8]) {
        if let Err(e) = self.try_encode_parity(data, parity_index, out) {
            panic!("Rs8::encode_parity: {e}");
        }
    }

    /// Fallible form of [`Rs8::encode_parity`].
    pub fn try_encode_parity(
        &self,
        data: &[&[u8]],
        parity_index: usize,
        out: &mut [u8],
    ) -> Result<(), FecError> {
        self.check_data(data, out.len())?;
        if parity_index >= self.p {
            return Err(FecError::ParityIndex {
                index: parity_index,
                num_parity: self.p,
            });
        }
        out.fill(0);
        let row = &self.coef[parity_index * self.k..][..self.k];
        for (seg, c) in data.iter().zip(row) {
            gf::mul_add(out, seg, c);
        }
        Ok(())
    }

    /// Computes the first `parity.len()` (normally all `num_parity`) parity
    /// segments at once. All parity buffers must have the same length;
    /// data segments as in [`Rs8::encode_parity`].
    ///
    /// Faster than calling `encode_parity` per index because each data
    /// segment is read once while it is hot in cache.
    ///
    /// # Panics
    /// On caller bugs as described for [`Rs8::try_encode_all`].
    pub fn encode_all(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) {
        if let Err(e) = self.try_encode_all(data, parity) {
            panic!("Rs8::encode_all: {e}");
        }
    }

    /// Fallible form of [`Rs8::encode_all`]: errors if there are more than
    /// `num_data` data segments, more than `num_parity` parity buffers,
    /// parity buffers of differing lengths, or a data segment longer than
    /// the parity buffers.
    pub fn try_encode_all(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<(), FecError> {
        if parity.len() > self.p {
            return Err(FecError::ParityIndex {
                index: parity.len() - 1,
                num_parity: self.p,
            });
        }
        if parity.is_empty() {
            // Nothing to compute (e.g. p = 0); data lengths are irrelevant.
            if data.len() > self.k {
                return Err(FecError::BlockTooLong {
                    block_len: data.len(),
                    max: self.k,
                });
            }
            return Ok(());
        }
        let len = parity[0].len();
        for s in parity.iter() {
            if s.len() != len {
                return Err(FecError::LengthMismatch {
                    expected: len,
                    got: s.len(),
                });
            }
        }
        self.check_data(data, len)?;
        for s in parity.iter_mut() {
            s.fill(0);
        }
        for (j, seg) in data.iter().enumerate() {
            for (i, out) in parity.iter_mut().enumerate() {
                gf::mul_add(out, seg, &self.coef[i * self.k + j]);
            }
        }
        Ok(())
    }

    /// Incremental encoding, the way libnorm's sender does it: adds data
    /// segment `segment_id`'s contribution to each parity buffer in `parity`
    /// (the first `parity.len()` parity segments). Start from zeroed parity
    /// buffers and feed every data segment of the block once, in any order;
    /// segments never fed count as zero, which is how a short block is coded.
    /// `data` may be shorter than the parity buffers (zero-padded).
    pub fn encode_segment(
        &self,
        segment_id: usize,
        data: &[u8],
        parity: &mut [&mut [u8]],
    ) -> Result<(), FecError> {
        if segment_id >= self.k {
            return Err(FecError::DataIndex {
                index: segment_id,
                block_len: self.k,
            });
        }
        if parity.len() > self.p {
            return Err(FecError::ParityIndex {
                index: parity.len() - 1,
                num_parity: self.p,
            });
        }
        for out in parity.iter() {
            if data.len() > out.len() {
                return Err(FecError::SegmentTooLong {
                    index: segment_id,
                    len: data.len(),
                    max: out.len(),
                });
            }
        }
        for (i, out) in parity.iter_mut().enumerate() {
            gf::mul_add(out, data, &self.coef[i * self.k + segment_id]);
        }
        Ok(())
    }

    fn check_data(&self, data: &[&[u8]], len: usize) -> Result<(), FecError> {
        if data.len() > self.k {
            return Err(FecError::BlockTooLong {
                block_len: data.len(),
                max: self.k,
            });
        }
        for (index, seg) in data.iter().enumerate() {
            if seg.len() > len {
                return Err(FecError::SegmentTooLong {
                    index,
                    len: seg.len(),
                    max: len,
                });
            }
        }
        Ok(())
    }

    /// Recovers the missing data segments of one block.
    ///
    /// `segments` holds `block_len` data slots followed by `num_parity`
    /// parity slots in parity order (map on-wire symbol ids with
    /// [`Rs8::parity_position`]); `None` marks an erasure. Present segments
    /// may be shorter than `segment_len` (they are zero-extended, as libnorm
    /// does with received payloads, e.g. parity sent at less than full
    /// segment size) but not longer. On success every data slot is `Some`;
    /// recovered segments are `segment_len` bytes, and present ones are left
    /// untouched. Missing parity segments are not rebuilt (NORM has no use for
    /// them on the receiver).
    ///
    /// Errors (never panics) on a bad `block_len`, wrong slot count,
    /// over-long segment, or when fewer than `block_len` segments are present.
    pub fn decode(
        &self,
        block_len: usize,
        segments: &mut [Option<Vec<u8>>],
        segment_len: usize,
    ) -> Result<(), FecError> {
        let (k, p) = (self.k, self.p);
        if block_len == 0 || block_len > k {
            return Err(FecError::BlockTooLong { block_len, max: k });
        }
        if segments.len() != block_len + p {
            return Err(FecError::WrongSegmentCount {
                expected: block_len + p,
                got: segments.len(),
            });
        }
        for (index, s) in segments.iter().enumerate() {
            if let Some(s) = s {
                if s.len() > segment_len {
                    return Err(FecError::SegmentTooLong {
                        index,
                        len: s.len(),
                        max: segment_len,
                    });
                }
            }
        }
        let (data, parity) = segments.split_at_mut(block_len);
        let erased: Vec<usize> = (0..block_len).filter(|&j| data[j].is_none()).collect();
        let e = erased.len();
        if e == 0 {
            return Ok(());
        }
        let available = parity.iter().filter(|s| s.is_some()).count();
        if available < e {
            return Err(FecError::TooManyErasures {
                missing: e,
                available,
            });
        }
        // Any e surviving parity rows will do (MDS); take the first ones.
        let rows: Vec<usize> = (0..p).filter(|&i| parity[i].is_some()).take(e).collect();

        // Square system over the erased columns: M * missing = syndromes.
        let mut m = vec![0u8; e * e];
        for (r, &i) in rows.iter().enumerate() {
            for (c, &j) in erased.iter().enumerate() {
                m[r * e + c] = self.raw[i * k + j];
            }
        }
        invert(&mut m, e)?;

        // Syndrome r = parity row minus the contribution of the data we
        // already have, leaving only the erased segments' contribution.
        let mut syn: Vec<Vec<u8>> = Vec::with_capacity(e);
        for &i in &rows {
            let mut s = vec![0u8; segment_len];
            let par = parity[i].as_deref().unwrap_or_default();
            s[..par.len()].copy_from_slice(par);
            for (j, d) in data.iter().enumerate() {
                if let Some(d) = d {
                    gf::mul_add(&mut s, d, &self.coef[i * k + j]);
                }
            }
            syn.push(s);
        }

        // missing[t] = sum over r of inverse(M)[t][r] * syndrome[r].
        for (t, &j) in erased.iter().enumerate() {
            let mut out = vec![0u8; segment_len];
            for (r, s) in syn.iter().enumerate() {
                gf::mul_add(&mut out, s, &Coef::new(m[t * e + r]));
            }
            data[j] = Some(out);
        }
        Ok(())
    }

    /// The on-wire FEC encoding symbol id of parity segment `parity_index`
    /// in a block of `block_len` data segments.
    ///
    /// libnorm numbers the symbols of a block contiguously: data segments
    /// 0..block_len, then parity at block_len + i (it stores parity at block
    /// positions numData..numData+nparity and sends the position as the
    /// symbol id). So a short block's first parity symbol id is its block
    /// length, not k. Out-of-range inputs saturate rather than panic; use
    /// [`Rs8::parity_position`] to validate received ids.
    pub fn parity_symbol_id(&self, block_len: usize, parity_index: usize) -> u16 {
        u16::try_from(block_len.saturating_add(parity_index)).unwrap_or(u16::MAX)
    }

    /// Inverse of [`Rs8::parity_symbol_id`]: the parity index of on-wire
    /// `symbol_id` in a block of `block_len` data segments, or `None` if the
    /// id is a data symbol or beyond the last parity symbol.
    pub fn parity_position(&self, block_len: usize, symbol_id: u16) -> Option<usize> {
        let idx = (symbol_id as usize).checked_sub(block_len)?;
        (idx < self.p && block_len <= self.k).then_some(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(Rs8::new(0, 1).is_err());
        assert!(Rs8::new(255, 1).is_err());
        assert!(Rs8::new(usize::MAX, 2).is_err());
        assert!(Rs8::new(255, 0).is_ok());
        assert!(Rs8::new(1, 254).is_ok());
        let c = Rs8::new(16, 4).unwrap();
        assert_eq!((c.num_data(), c.num_parity()), (16, 4));
    }

    #[test]
    fn single_data_segment_parity_is_a_copy() {
        // k = 1: G's parity rows are all 1, so every parity equals the data.
        let c = Rs8::new(1, 5).unwrap();
        for i in 0..5 {
            assert_eq!(c.coefficient(i, 0), Some(1));
        }
    }

    #[test]
    fn symbol_ids() {
        let c = Rs8::new(16, 4).unwrap();
        assert_eq!(c.parity_symbol_id(16, 0), 16);
        assert_eq!(c.parity_symbol_id(10, 3), 13);
        assert_eq!(c.parity_position(10, 13), Some(3));
        assert_eq!(c.parity_position(10, 9), None);
        assert_eq!(c.parity_position(10, 14), None);
        assert_eq!(c.parity_position(17, 17), None);
    }

    #[test]
    fn decode_rejects_bad_inputs() {
        let c = Rs8::new(4, 2).unwrap();
        let mut segs: Vec<Option<Vec<u8>>> = vec![None; 6];
        assert!(matches!(
            c.decode(0, &mut segs, 8),
            Err(FecError::BlockTooLong { .. })
        ));
        assert!(matches!(
            c.decode(5, &mut segs, 8),
            Err(FecError::BlockTooLong { .. })
        ));
        assert!(matches!(
            c.decode(3, &mut segs, 8),
            Err(FecError::WrongSegmentCount { .. })
        ));
        assert!(matches!(
            c.decode(4, &mut segs, 8),
            Err(FecError::TooManyErasures {
                missing: 4,
                available: 0
            })
        ));
        segs[0] = Some(vec![0; 9]);
        assert!(matches!(
            c.decode(4, &mut segs, 8),
            Err(FecError::SegmentTooLong { index: 0, .. })
        ));
    }

    #[test]
    fn encode_rejects_bad_inputs() {
        let c = Rs8::new(4, 2).unwrap();
        let d: &[u8] = &[0u8; 8];
        let mut out = [0u8; 8];
        assert!(c.try_encode_parity(&[d; 5], 0, &mut out).is_err());
        assert!(c.try_encode_parity(&[d; 4], 2, &mut out).is_err());
        assert!(c.try_encode_parity(&[&[0u8; 9][..]], 0, &mut out).is_err());
        let (mut a, mut b) = ([0u8; 8], [0u8; 7]);
        assert!(c
            .try_encode_all(&[d], &mut [&mut a[..], &mut b[..]])
            .is_err());
        assert!(c.encode_segment(4, d, &mut [&mut a[..]]).is_err());
    }
}
