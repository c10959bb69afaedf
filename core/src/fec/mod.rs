//! Forward error correction for NORM.
//!
//! NORM (RFC 5740) with FEC Encoding ID 5 uses the RFC 5510 Reed-Solomon
//! erasure code over GF(2^8). The implementation here is byte-for-byte
//! compatible with NRL libnorm's `NormEncoderRS8` / `NormDecoderRS8`, which is
//! what the reference NORM implementation puts on the wire; see
//! `docs/PROTOCOL-fec-notes.md` for the libnorm behaviour this mirrors
//! (parity numbering, short blocks, padding) and `tests/fec_kat.rs` for the
//! known-answer vectors produced by the real libnorm.

pub mod gf;
mod rs8;

pub use rs8::Rs8;

/// Errors from FEC setup, encoding and decoding.
///
/// Decoding inputs come from the network, so every size problem is reported
/// here rather than by panicking.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FecError {
    /// The (k, p) shape cannot be built over GF(2^8).
    #[error("invalid Reed-Solomon shape: {num_data} data + {num_parity} parity segments (need data >= 1 and data + parity <= 255)")]
    InvalidShape { num_data: usize, num_parity: usize },

    /// A block claims more data segments than the code was built for.
    #[error(
        "block length {block_len} is outside 1..={max} (the code's maximum source block length)"
    )]
    BlockTooLong { block_len: usize, max: usize },

    /// The segment list does not hold block_len data + num_parity parity slots.
    #[error("expected {expected} segment slots (data + parity), got {got}")]
    WrongSegmentCount { expected: usize, got: usize },

    /// A segment is longer than the coding length.
    #[error("segment {index} is {len} bytes, longer than the segment length {max}")]
    SegmentTooLong {
        index: usize,
        len: usize,
        max: usize,
    },

    /// Not enough segments survived to rebuild the block.
    #[error("cannot decode: {missing} data segment(s) missing but only {available} parity segment(s) present")]
    TooManyErasures { missing: usize, available: usize },

    /// A parity index is not below the number of parity segments.
    #[error("parity index {index} out of range (code has {num_parity} parity segments)")]
    ParityIndex { index: usize, num_parity: usize },

    /// A data segment index is not below the block length.
    #[error("data segment index {index} out of range (block has {block_len} data segments)")]
    DataIndex { index: usize, block_len: usize },

    /// Output buffers of different lengths were supplied where one length is required.
    #[error("segment length mismatch: expected {expected} bytes, got {got}")]
    LengthMismatch { expected: usize, got: usize },

    /// The linear system for recovery was singular. Cannot happen for a
    /// correct MDS code; reported instead of panicking as a safety net.
    #[error("decoding matrix is singular")]
    Singular,
}
