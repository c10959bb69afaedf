//! Pieces shared by the sender and the receiver.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::wire::NormTime;

/// How an object of a given size is cut into FEC blocks of segments
/// (RFC 5052 section 9.1 blocking, which libnorm follows): the first
/// `large_count` blocks hold `large_len` segments, the rest `large_len - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    pub object_size: u64,
    pub segment_size: u16,
    pub max_block_len: u16,
    pub num_parity: u16,
    pub num_segments: u64,
    pub num_blocks: u32,
    pub large_len: u16,
    pub large_count: u32,
}

impl BlockLayout {
    /// `None` when the parameters are unusable (zero sizes, too many blocks).
    pub fn new(object_size: u64, segment_size: u16, max_block_len: u16, num_parity: u16) -> Option<Self> {
        if segment_size == 0 || max_block_len == 0 {
            return None;
        }
        // A zero-length object still has one (empty) segment so that it has a
        // NORM_DATA message to carry its FTI and be acknowledged by.
        let num_segments = object_size.div_ceil(segment_size as u64).max(1);
        let num_blocks = num_segments.div_ceil(max_block_len as u64);
        // fec_id 5 has 24-bit block numbers.
        if num_blocks > 0x00ff_ffff {
            return None;
        }
        let large_len = num_segments.div_ceil(num_blocks);
        let small_len = num_segments / num_blocks;
        let large_count = num_segments - small_len * num_blocks;
        let large_count = if large_count == 0 { num_blocks } else { large_count };
        Some(BlockLayout {
            object_size,
            segment_size,
            max_block_len,
            num_parity,
            num_segments,
            num_blocks: num_blocks as u32,
            large_len: large_len as u16,
            large_count: large_count as u32,
        })
    }

    /// Number of data segments in `block`.
    pub fn block_len(&self, block: u32) -> u16 {
        if block < self.large_count {
            self.large_len
        } else {
            self.large_len - 1
        }
    }

    /// Index of the first segment of `block` within the object.
    pub fn first_segment(&self, block: u32) -> u64 {
        let b = block as u64;
        let large = self.large_count as u64;
        if b <= large {
            b * self.large_len as u64
        } else {
            large * self.large_len as u64 + (b - large) * (self.large_len as u64 - 1)
        }
    }

    /// Byte offset and length of `block` within the object.
    pub fn block_range(&self, block: u32) -> (u64, u64) {
        let (first, _) = self.segment_range(block, 0);
        let (last, len) = self.segment_range(block, self.block_len(block) - 1);
        (first, last + len as u64 - first)
    }

    /// Byte offset and length of segment `symbol` of `block` within the object.
    pub fn segment_range(&self, block: u32, symbol: u16) -> (u64, usize) {
        let index = self.first_segment(block) + symbol as u64;
        let offset = index * self.segment_size as u64;
        let len = self.object_size.saturating_sub(offset).min(self.segment_size as u64);
        (offset, len as usize)
    }
}

/// Extends a 16-bit wrapping id to 64 bits, choosing the value closest to `reference`.
pub(crate) fn unwrap_u16(reference: u64, wire: u16) -> u64 {
    let ref_low = reference as u16;
    let delta = wire.wrapping_sub(ref_low) as i16 as i64;
    (reference as i64 + delta).max(0) as u64
}

/// Converts between `Instant`s and the (sec, usec) timestamps NORM carries,
/// relative to a per-session epoch. Only differences matter on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn new(epoch: Instant) -> Self {
        Clock { epoch }
    }
    pub fn to_norm(&self, t: Instant) -> NormTime {
        let d = t.saturating_duration_since(self.epoch);
        NormTime { sec: d.as_secs() as u32, usec: d.subsec_micros() }
    }
    pub fn from_norm(&self, t: NormTime) -> Instant {
        self.epoch + Duration::from_secs(t.sec as u64) + Duration::from_micros(t.usec.min(999_999) as u64)
    }
}

/// Adds a duration to a NORM timestamp (receivers add their hold time to the
/// echoed probe time so the sender measures the pure round trip).
pub(crate) fn norm_time_add(t: NormTime, d: Duration) -> NormTime {
    let total = t.usec as u64 + d.subsec_micros() as u64;
    NormTime {
        sec: t.sec.wrapping_add(d.as_secs() as u32).wrapping_add((total / 1_000_000) as u32),
        usec: (total % 1_000_000) as u32,
    }
}

/// The NACK backoff of RFC 5740 section 5.3 (from RFC 5401): a truncated
/// exponential random delay in [0, max], skewed so that few of `group_size`
/// receivers pick short delays and the first NACK suppresses the rest.
pub(crate) fn exponential_backoff<R: Rng>(rng: &mut R, max: f64, group_size: f64) -> f64 {
    if max <= 0.0 {
        return 0.0;
    }
    let lambda = group_size.max(1.0).ln() + 1.0;
    let x: f64 = rng.gen_range(0.0..1.0);
    // Inverse CDF of the truncated exponential density on [0, max].
    let t = (max / lambda) * (x * (lambda.exp() - 1.0) + 1.0).ln();
    t.clamp(0.0, max)
}

pub(crate) fn secs(d: f64) -> Duration {
    Duration::from_secs_f64(d.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_partitions_like_rfc5052() {
        // 10 segments, blocks of at most 4: 3 blocks of 4,3,3.
        let l = BlockLayout::new(10 * 100, 100, 4, 2).unwrap();
        assert_eq!((l.num_segments, l.num_blocks), (10, 3));
        assert_eq!((l.block_len(0), l.block_len(1), l.block_len(2)), (4, 3, 3));
        assert_eq!((l.first_segment(1), l.first_segment(2)), (4, 7));
        // Exact multiple: all blocks full.
        let l = BlockLayout::new(8 * 100, 100, 4, 2).unwrap();
        assert_eq!((l.num_blocks, l.block_len(0), l.block_len(1)), (2, 4, 4));
        // Short last segment.
        let l = BlockLayout::new(250, 100, 4, 0).unwrap();
        assert_eq!(l.segment_range(0, 2), (200, 50));
        // Empty object: one empty segment.
        let l = BlockLayout::new(0, 100, 4, 0).unwrap();
        assert_eq!((l.num_segments, l.num_blocks, l.block_len(0)), (1, 1, 1));
        assert_eq!(l.segment_range(0, 0), (0, 0));
    }

    #[test]
    fn layout_covers_every_segment_once() {
        for segs in 1..300u64 {
            for k in [1u16, 2, 3, 7, 64] {
                let l = BlockLayout::new(segs * 10, 10, k, 0).unwrap();
                let mut next = 0;
                for b in 0..l.num_blocks {
                    assert_eq!(l.first_segment(b), next);
                    assert!(l.block_len(b) <= k && l.block_len(b) >= 1);
                    next += l.block_len(b) as u64;
                }
                assert_eq!(next, segs);
            }
        }
    }

    #[test]
    fn unwrap_follows_reference() {
        assert_eq!(unwrap_u16(65536 + 10, 12), 65536 + 12);
        assert_eq!(unwrap_u16(65536 + 10, 5), 65536 + 5);
        assert_eq!(unwrap_u16(65536 + 65535, 2), 2 * 65536 + 2);
        assert_eq!(unwrap_u16(2 * 65536 + 1, 65535), 65536 + 65535);
    }

    #[test]
    fn backoff_stays_in_range() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        use rand::SeedableRng;
        for _ in 0..1000 {
            let t = exponential_backoff(&mut rng, 2.0, 1000.0);
            assert!((0.0..=2.0).contains(&t));
        }
    }
}
