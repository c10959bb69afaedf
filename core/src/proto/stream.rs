//! NORM_OBJECT_STREAM (RFC 5740 section 2, libnorm's stream encoding): the
//! sender's bounded stream buffer and the receiver's in-order reassembly.
//!
//! A stream is an object without a size. Its bytes are cut into segments of at
//! most `segment_size` bytes; every data segment carries libnorm's 8-byte
//! stream header before its bytes ([`StreamHeader`]):
//!
//! - `payload_len`: bytes of stream data in this segment (0 for a control
//!   segment);
//! - `payload_msg_start`: 0, or 1 + the index in this segment's data where the
//!   first application message starting in this segment begins (libnorm marks
//!   only the first one per segment); in a control segment it is the control
//!   code, 0 meaning "end of stream";
//! - `payload_offset`: the stream byte offset of the segment's first byte,
//!   modulo 2^32.
//!
//! Segments fill FEC blocks of exactly `block_size` data segments numbered
//! without end (24-bit block numbers on the wire for fec_id 5, unwrapped here
//! to 64 bits). Parity covers header and data: segments are zero-padded to
//! `segment_size + 8` bytes and parity is sent as long as the longest segment
//! of its block (libnorm's `GetSegSizeMax`). Parity exists only for full
//! blocks.
//!
//! A signing sender's stream also carries signature control segments
//! (`payload_len` 0, `payload_msg_start` [`STREAM_SIGNATURE_CODE`], the
//! signature after the header; see [`crate::sign`]): the writer adds one
//! after each message, flush and full block of data, and before the end;
//! the reader hashes data segments as it passes them and hands each
//! signature up ([`StreamOut::Signature`]).
//!
//! Nothing here does I/O or knows about NACKs; `sender.rs` and `receiver.rs`
//! drive these buffers.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::fec::Rs8;
use crate::sign::{StreamSigner, UnitHash, STREAM_SIGNATURE_CODE, STREAM_SIGNATURE_LEN};
use crate::wire::StreamHeader;

/// Length of the stream payload header.
pub(crate) const HDR: usize = StreamHeader::LEN;

/// Receivers number stream blocks from this base so that unwrapping a 24-bit
/// block number never goes below zero.
pub(crate) const BLOCK_BASE: u64 = 1 << 24;

/// Extends a 24-bit wrapping block number to 64 bits, choosing the value
/// closest to `reference`.
pub(crate) fn unwrap_u24(reference: u64, wire: u32) -> u64 {
    let w = (wire & 0x00ff_ffff) as i64;
    let r = reference as i64;
    let mut delta = w - (r & 0x00ff_ffff);
    if delta >= 0x0080_0000 {
        delta -= 0x0100_0000;
    } else if delta < -0x0080_0000 {
        delta += 0x0100_0000;
    }
    (r + delta).max(0) as u64
}

/// The 24 bits of a block number that travel on the wire.
pub(crate) fn wire_block(block: u64) -> u32 {
    (block & 0x00ff_ffff) as u32
}

fn header(seg: &[u8]) -> StreamHeader {
    StreamHeader::split(seg).map(|(h, _)| h).unwrap_or_default()
}

/// Whether a segment with this header is a stream signature.
fn is_signature(h: &StreamHeader) -> bool {
    h.payload_len == 0 && h.msg_start == STREAM_SIGNATURE_CODE
}

/// Bytes of a received segment worth keeping (header included): its data,
/// or a signature's body.
fn kept_len(h: &StreamHeader, available: usize) -> usize {
    if is_signature(h) {
        HDR + available.saturating_sub(HDR).min(STREAM_SIGNATURE_LEN)
    } else {
        HDR + h.payload_len as usize
    }
}

fn set_payload_len(seg: &mut [u8], len: u16) {
    seg[0..2].copy_from_slice(&len.to_be_bytes());
}

fn set_msg_start(seg: &mut [u8], v: u16) {
    seg[2..4].copy_from_slice(&v.to_be_bytes());
}

fn new_segment(offset: u64) -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR);
    StreamHeader { payload_len: 0, msg_start: 0, offset: offset as u32 }.write(&mut s);
    s
}

// ---------------------------------------------------------------------------
// Sender side
// ---------------------------------------------------------------------------

/// One FEC block of the sender's stream buffer.
pub(crate) struct TxBlock {
    /// Closed segments, then possibly the one being filled (header + data).
    pub segments: Vec<Vec<u8>>,
    /// Parity segments sent so far (first pass and repairs).
    pub parity_sent: u16,
    /// The block is not reused for new data before this instant: the sender
    /// moves it forward (by its flow delay) whenever it sends or repairs the
    /// block, so that late NACKs still find it.
    pub hold_until: Option<Instant>,
}

/// The sender's side of a stream: a buffer of at most `max_blocks` blocks.
///
/// Positions are absolute segment indexes (`block * ndata + symbol`).
/// Segments below `write_index` are closed (full, flushed, or the end
/// marker) and may be sent; the segment at `write_index`, if it exists, is
/// being filled.
pub(crate) struct TxStream {
    pub ndata: u16,
    pub seg_size: u16,
    pub max_blocks: usize,
    pub blocks: VecDeque<TxBlock>,
    pub first_block: u64,
    pub write_index: u64,
    pub write_offset: u64,
    /// The next byte written begins an application message.
    pub msg_start: bool,
    /// `stream_close` was called; the end marker is written when there is room.
    pub end_pending: bool,
    pub end_written: bool,
    /// First-pass position: block, and symbol (data segments, then auto parity).
    pub tx_block: u64,
    pub tx_symbol: u16,
    /// A write was cut short: report `StreamVacancy` once there is room.
    pub vacancy_wanted: bool,
    /// A signing sender's unit state.
    signer: Option<StreamSigner>,
    /// A signature segment is due before any more data (written as soon as
    /// there is room).
    pub signature_due: bool,
    /// The due signature is the last, before the end marker.
    last_due: bool,
    /// The last signature is written.
    end_signed: bool,
}

impl TxStream {
    pub fn new(ndata: u16, seg_size: u16, max_blocks: usize) -> Self {
        TxStream {
            ndata,
            seg_size,
            max_blocks: max_blocks.max(2),
            blocks: VecDeque::new(),
            first_block: 0,
            write_index: 0,
            write_offset: 0,
            msg_start: true,
            end_pending: false,
            end_written: false,
            tx_block: 0,
            tx_symbol: 0,
            vacancy_wanted: false,
            signer: None,
            signature_due: false,
            last_due: false,
            end_signed: false,
        }
    }

    /// Signs the stream with `signer` (before anything is written).
    pub fn with_signer(mut self, signer: StreamSigner) -> Self {
        self.signer = Some(signer);
        self
    }

    fn nd(&self) -> u64 {
        self.ndata as u64
    }

    /// The writer may be at most this many blocks ahead of the first pass, so
    /// that at least half of the buffer holds sent blocks for repairs
    /// (libnorm's rule).
    fn ahead_limit(&self) -> u64 {
        (self.max_blocks as u64 / 2).max(1)
    }

    pub fn block(&self, b: u64) -> Option<&TxBlock> {
        let i = b.checked_sub(self.first_block)?;
        self.blocks.get(usize::try_from(i).ok()?)
    }

    pub fn block_mut(&mut self, b: u64) -> Option<&mut TxBlock> {
        let i = b.checked_sub(self.first_block)?;
        self.blocks.get_mut(usize::try_from(i).ok()?)
    }

    /// Block number one past the buffered ones.
    fn end_block(&self) -> u64 {
        self.first_block + self.blocks.len() as u64
    }

    /// Data segments of block `b` sent by the first pass.
    pub fn sent_in(&self, b: u64) -> u16 {
        if b < self.tx_block {
            self.ndata
        } else if b == self.tx_block {
            self.tx_symbol.min(self.ndata)
        } else {
            0
        }
    }

    /// Whether all `ndata` segments of block `b` are closed (parity possible).
    pub fn block_full(&self, b: u64) -> bool {
        (b + 1) * self.nd() <= self.write_index
    }

    /// Whether the oldest block may be dropped for new data now.
    fn front_reusable(&self, now: Instant, busy: &HashSet<u64>) -> bool {
        let Some(front) = self.blocks.front() else { return false };
        let b = self.first_block;
        b < self.tx_block && !busy.contains(&b) && front.hold_until.is_none_or(|t| now >= t)
    }

    /// When the oldest block becomes reusable if only time stands in the way.
    pub fn front_reusable_at(&self, busy: &HashSet<u64>) -> Option<Instant> {
        let front = self.blocks.front()?;
        let b = self.first_block;
        if b >= self.tx_block || busy.contains(&b) || self.blocks.len() < self.max_blocks {
            return None;
        }
        let next = self.write_index / self.nd();
        if next < self.end_block() || next >= self.tx_block + self.ahead_limit() {
            return None;
        }
        front.hold_until
    }

    /// Whether a write of at least one byte (or the end marker) fits now.
    pub fn has_room(&self, now: Instant, busy: &HashSet<u64>) -> bool {
        let b = self.write_index / self.nd();
        if b < self.end_block() {
            return true;
        }
        b < self.tx_block + self.ahead_limit() && (self.blocks.len() < self.max_blocks || self.front_reusable(now, busy))
    }

    /// Makes sure the segment at `write_index` exists; returns false when the
    /// buffer is full. Blocks dropped to make room are appended to `dropped`.
    fn open_segment(&mut self, now: Instant, busy: &HashSet<u64>, dropped: &mut Vec<u64>) -> bool {
        let nd = self.nd();
        let b = self.write_index / nd;
        let sym = (self.write_index % nd) as usize;
        if b >= self.end_block() {
            debug_assert_eq!(b, self.end_block());
            if !self.has_room(now, busy) {
                return false;
            }
            if self.blocks.len() >= self.max_blocks {
                self.blocks.pop_front();
                dropped.push(self.first_block);
                self.first_block += 1;
            }
            self.blocks.push_back(TxBlock { segments: Vec::with_capacity(self.ndata as usize), parity_sent: 0, hold_until: None });
        }
        let offset = self.write_offset;
        let block = self.block_mut(b).expect("block exists");
        if block.segments.len() == sym {
            block.segments.push(new_segment(offset));
        }
        true
    }

    /// The segment being filled, if any.
    fn current_mut(&mut self) -> Option<&mut Vec<u8>> {
        let nd = self.nd();
        let (b, sym) = (self.write_index / nd, (self.write_index % nd) as usize);
        self.block_mut(b)?.segments.get_mut(sym)
    }

    /// Closes the data segment being filled (a signing stream hashes it,
    /// and wants a signature after a full block of them).
    fn close_segment(&mut self) {
        let nd = self.nd();
        if let Some(signer) = self.signer.as_mut() {
            let (b, sym) = (self.write_index / nd, (self.write_index % nd) as usize);
            let first = self.first_block;
            let seg = &self.blocks[(b - first) as usize].segments[sym];
            signer.add(seg);
            if signer.pending() as u64 >= nd {
                self.signature_due = true;
            }
        }
        self.write_index += 1;
    }

    /// Writes the due signature segment if there is room; true when none is
    /// due any more.
    fn write_signature(&mut self, now: Instant, busy: &HashSet<u64>, dropped: &mut Vec<u64>) -> bool {
        if !self.signature_due {
            return true;
        }
        if self.signer.as_ref().is_none_or(|s| s.pending() == 0 && !self.last_due) {
            self.signature_due = false;
            return true;
        }
        if !self.open_segment(now, busy, dropped) {
            return false;
        }
        let body = self.signer.as_mut().expect("signing").sign(self.last_due);
        let offset = self.write_offset as u32;
        let s = self.current_mut().expect("opened");
        debug_assert_eq!(s.len(), HDR, "a signature goes into a fresh segment");
        s.clear();
        StreamHeader { payload_len: 0, msg_start: STREAM_SIGNATURE_CODE, offset }.write(s);
        s.extend_from_slice(&body);
        self.write_index += 1;
        self.signature_due = false;
        self.last_due = false;
        true
    }

    /// Closes the segment being filled if it holds data; a signing stream
    /// then signs what it wrote since its last signature (now, or as soon as
    /// there is room). Returns whether anything was closed or written, and
    /// the blocks dropped to make room.
    pub fn flush(&mut self, now: Instant, busy: &HashSet<u64>) -> (bool, Vec<u64>) {
        let has_data = self.current_mut().is_some_and(|s| s.len() > HDR);
        if has_data {
            self.close_segment();
        }
        let mut dropped = Vec::new();
        let mut signed = false;
        if self.signer.as_ref().is_some_and(|s| s.pending() > 0) {
            self.signature_due = true;
            signed = self.write_signature(now, busy, &mut dropped);
        }
        (has_data || signed, dropped)
    }

    /// Writes a due signature once there is room (`service_streams`): the
    /// blocks dropped to make room when one was written, `None` when none
    /// was.
    pub fn write_due_signature(&mut self, now: Instant, busy: &HashSet<u64>) -> Option<Vec<u64>> {
        if !self.signature_due {
            return None;
        }
        let mut dropped = Vec::new();
        self.write_signature(now, busy, &mut dropped).then_some(dropped)
    }

    /// Appends as much of `data` as fits. With `eom`, once all of `data` is
    /// in, the current segment is closed and the next byte written starts a
    /// new message. Returns the bytes accepted and the blocks dropped.
    pub fn write(&mut self, data: &[u8], eom: bool, now: Instant, busy: &HashSet<u64>) -> (usize, Vec<u64>) {
        let mut dropped = Vec::new();
        let seg = self.seg_size as usize;
        let mut n = 0;
        while n < data.len() {
            if !self.write_signature(now, busy, &mut dropped) || !self.open_segment(now, busy, &mut dropped) {
                break;
            }
            let msg_start = std::mem::replace(&mut self.msg_start, false);
            let s = self.current_mut().expect("opened");
            let len = s.len() - HDR;
            if msg_start && header(s).msg_start == 0 {
                set_msg_start(s, len as u16 + 1);
            }
            let count = (data.len() - n).min(seg - len);
            s.extend_from_slice(&data[n..n + count]);
            set_payload_len(s, (len + count) as u16);
            n += count;
            self.write_offset += count as u64;
            if len + count == seg {
                self.close_segment();
            }
        }
        if n == data.len() {
            if eom {
                self.msg_start = true;
                dropped.extend(self.flush(now, busy).1);
            }
        } else {
            self.vacancy_wanted = true;
        }
        (n, dropped)
    }

    /// Writes the end-of-stream marker (after flushing, and a signing
    /// stream's last signature) if there is room. Returns whether anything
    /// was written, and the blocks dropped to make room.
    pub fn write_end(&mut self, now: Instant, busy: &HashSet<u64>) -> (bool, Vec<u64>) {
        if self.end_written {
            return (false, Vec::new());
        }
        let (mut written, mut dropped) = self.flush(now, busy);
        if self.signer.is_some() && !self.signature_due && !self.end_signed {
            // The last signature, over no data, says that the end follows.
            self.signature_due = true;
            self.last_due = true;
        }
        if self.last_due && self.write_signature(now, busy, &mut dropped) {
            self.end_signed = true;
            written = true;
        }
        if self.signature_due || !self.open_segment(now, busy, &mut dropped) {
            return (written, dropped);
        }
        // A fresh segment: payload_len 0 and msg_start 0 mean "stream end".
        self.write_index += 1;
        self.end_written = true;
        self.end_pending = false;
        (true, dropped)
    }

    /// Whether the first pass has something to send now.
    pub fn has_ready(&self) -> bool {
        self.tx_symbol >= self.ndata || self.tx_block * self.nd() + (self.tx_symbol as u64) < self.write_index
    }

    /// The next first-pass transmission: `(block, symbol)` where symbols at or
    /// above `ndata` are auto-parity segments.
    pub fn next_first_pass(&mut self, auto_parity: u16) -> Option<(u64, u16)> {
        if !self.has_ready() {
            return None;
        }
        let item = (self.tx_block, self.tx_symbol);
        self.tx_symbol += 1;
        if self.tx_symbol >= self.ndata + auto_parity {
            self.tx_block += 1;
            self.tx_symbol = 0;
        }
        Some(item)
    }

    /// The stream is closed and every segment (and auto parity of its full
    /// blocks) has been sent once.
    pub fn first_pass_done(&self) -> bool {
        self.end_written && self.tx_symbol < self.ndata && self.tx_block * self.nd() + self.tx_symbol as u64 >= self.write_index
    }

    /// Parity of a full block, and the length to send it at (its longest segment).
    pub fn parity(&self, b: u64, rs: &Rs8, num_parity: usize) -> Option<(Vec<Vec<u8>>, usize)> {
        if !self.block_full(b) {
            return None;
        }
        let block = self.block(b)?;
        let width = self.seg_size as usize + HDR;
        let mut padded = vec![0u8; width * self.ndata as usize];
        let mut max_len = 0;
        for (i, s) in block.segments.iter().enumerate().take(self.ndata as usize) {
            padded[i * width..i * width + s.len()].copy_from_slice(s);
            max_len = max_len.max(s.len());
        }
        let mut parity = vec![vec![0u8; width]; num_parity];
        {
            let refs: Vec<&[u8]> = padded.chunks(width).collect();
            let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(|p| p.as_mut_slice()).collect();
            rs.encode_all(&refs, &mut outs);
        }
        Some((parity, max_len))
    }

    /// Bytes of memory the buffer may hold (counted against the transmit cache).
    pub fn memory(ndata: u16, seg_size: u16, max_blocks: usize, num_parity: u16) -> u64 {
        max_blocks as u64 * (ndata as u64 + num_parity as u64) * (seg_size as u64 + HDR as u64)
    }
}

// ---------------------------------------------------------------------------
// Receiver side
// ---------------------------------------------------------------------------

/// What a receive stream hands to the application, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamOut {
    /// Contiguous bytes; `true` when they end a message.
    Data(Vec<u8>, bool),
    /// Bytes skipped since the last delivered byte.
    Gap(u64),
    /// The sender ended the stream.
    End,
    /// A signature segment (with [`RxStream::check_signatures`]): its body,
    /// and the hash and count of the data segments passed since the last
    /// one. `whole` is false when some of them were lost or passed before
    /// the previous signature was seen (a late join): the unit cannot be
    /// verified.
    Signature { body: Vec<u8>, hash: [u8; 32], count: u32, whole: bool },
}

enum Seek {
    /// Resume at this segment (a message start or the end marker).
    At(u64),
    /// A whole block without a message start: the stream does not mark
    /// boundaries (or its messages are longer than a block); resume here.
    NoBoundaries,
    /// Not enough has arrived to tell.
    Wait,
}

#[derive(Default)]
pub(crate) struct RxStreamBlock {
    /// Data segments as received (header + data).
    segs: Vec<Option<Vec<u8>>>,
    have: u16,
    /// Parity (index, bytes zero-extended to segment size + header).
    parity: Vec<(u16, Vec<u8>)>,
}

/// Outcome of offering a segment to a receive stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Kept; the number of data segments recovered by FEC.
    New(usize),
    Duplicate,
    Malformed,
    /// Before the read position or of no use.
    Stale,
}

/// The receiver's side of a stream.
pub(crate) struct RxStream {
    pub ndata: u16,
    pub seg_size: u16,
    pub nparity: u16,
    /// Blocks in the sender's buffer (from the FTI object size).
    pub sender_blocks: u64,
    /// Most blocks this stream may buffer (from the receiver's memory limits).
    pub window: u64,
    pub started: bool,
    /// Highest block number seen (reference for unwrapping).
    pub reference: u64,
    /// Next segment to deliver.
    pub read: u64,
    /// Segments below this should have arrived.
    pub due: u64,
    blocks: BTreeMap<u64, RxStreamBlock>,
    /// Skipping to the next message start (after a late join or a gap).
    pub seeking: bool,
    seek_from: u64,
    /// Stream offset after the last delivered byte, once any was delivered.
    delivered_to: Option<u32>,
    /// The last delivered bytes did not end a message.
    msg_open: bool,
    pub ended: bool,
    pub end_at: Option<u64>,
    pub highest: Option<u64>,
    pub delivered_bytes: u64,
    /// With signatures checked: the hash of the unit being passed, and
    /// whether all of it was.
    unit: Option<UnitHash>,
    unit_whole: bool,
    /// The most stream bytes the segments passed over since the last byte
    /// delivered could have held: a gap's size from segment offsets is
    /// capped by it (an altered or forged offset must not report gigabytes
    /// lost).
    passed_over: u64,
}

impl RxStream {
    pub fn new(ndata: u16, seg_size: u16, nparity: u16, object_size: u64, window: u64) -> Self {
        let block_bytes = (ndata as u64 * seg_size as u64).max(1);
        RxStream {
            ndata,
            seg_size,
            nparity,
            sender_blocks: (object_size / block_bytes).max(1),
            window: window.max(2),
            started: false,
            reference: 0,
            read: 0,
            due: 0,
            blocks: BTreeMap::new(),
            seeking: false,
            seek_from: 0,
            delivered_to: None,
            msg_open: false,
            ended: false,
            end_at: None,
            highest: None,
            delivered_bytes: 0,
            unit: None,
            unit_whole: false,
            passed_over: 0,
        }
    }

    /// Hashes data segments as they are passed and reports signature
    /// segments ([`StreamOut::Signature`]); call before `start`.
    pub fn check_signatures(&mut self) {
        self.unit = Some(UnitHash::default());
    }

    fn nd(&self) -> u64 {
        self.ndata as u64
    }

    pub fn read_block(&self) -> u64 {
        self.read / self.nd()
    }

    /// Bytes of the blocks buffered now (charged against the receive budget).
    pub fn allocated_bytes(&self) -> u64 {
        self.blocks.len() as u64 * self.nd() * (self.seg_size as u64 + HDR as u64)
    }

    /// Whether block `b` still lacks data segments this receiver wants.
    pub fn block_incomplete(&self, b: u64) -> bool {
        match self.blocks.get(&b) {
            Some(block) => block.have < self.ndata,
            None => self.started && b >= self.read_block(),
        }
    }

    /// Whether block `b` lies beyond what this receiver may buffer.
    pub fn beyond_window(&self, b: u64) -> bool {
        self.started && b >= self.read_block() + self.window
    }

    /// Begins reception at the first block heard, `first` (a `BLOCK_BASE`
    /// relative number): from the stream's start when `from_start`, else at
    /// the next message start from `first` on.
    pub fn start(&mut self, first: u64, from_start: bool) {
        self.started = true;
        self.reference = first;
        let start = if from_start { BLOCK_BASE } else { first };
        self.read = start * self.nd();
        self.due = self.read;
        self.seeking = start != BLOCK_BASE;
        self.seek_from = self.read;
        self.unit_whole = !self.seeking;
        if !self.seeking {
            // From the stream's first byte: anything missing there is a gap.
            self.delivered_to = Some(0);
        }
    }

    /// Unwraps a wire block number (and moves the reference forward).
    /// Unwraps a wire block number without moving the reference.
    pub fn peek_block(&self, wire: u32) -> u64 {
        unwrap_u24(self.reference, wire)
    }

    pub fn unwrap_block(&mut self, wire: u32) -> u64 {
        let b = unwrap_u24(self.reference, wire);
        if b > self.reference {
            self.reference = b;
        }
        b
    }

    /// Drops every block below `b` and moves the read position there; what
    /// follows is delivered from the next message start.
    pub fn skip_to(&mut self, b: u64) {
        let pos = b * self.nd();
        if pos <= self.read {
            return;
        }
        self.blocks = self.blocks.split_off(&b);
        self.passed_over += (pos - self.read) * self.seg_size as u64;
        self.read = pos;
        self.unit_whole = false;
        self.due = self.due.max(pos);
        self.seeking = true;
        self.seek_from = pos;
    }

    pub fn alloc_block(&mut self, b: u64) {
        if b < self.read_block() {
            return;
        }
        let nd = self.ndata as usize;
        self.blocks.entry(b).or_insert_with(|| RxStreamBlock { segs: vec![None; nd], have: 0, parity: Vec::new() });
    }

    /// Offers segment `symbol` of block `b` (`payload` as on the wire).
    pub fn insert(&mut self, b: u64, symbol: u16, payload: &[u8], codec: Option<&Rs8>) -> Stored {
        let nd = self.nd();
        if b < self.read_block() || (symbol < self.ndata && b * nd + (symbol as u64) < self.read) {
            return Stored::Stale;
        }
        let width = self.seg_size as usize + HDR;
        let ndata = self.ndata;
        let Some(block) = self.blocks.get_mut(&b) else { return Stored::Stale };
        if block.have >= ndata {
            return Stored::Duplicate;
        }
        if symbol < ndata {
            let Some((h, data)) = StreamHeader::split(payload) else { return Stored::Malformed };
            let len = h.payload_len as usize;
            if len > self.seg_size as usize || data.len() < len {
                return Stored::Malformed;
            }
            if block.segs[symbol as usize].is_some() {
                return Stored::Duplicate;
            }
            block.segs[symbol as usize] = Some(payload[..kept_len(&h, payload.len())].to_vec());
            block.have += 1;
            let abs = b * nd + symbol as u64;
            self.highest = Some(self.highest.map_or(abs, |x| x.max(abs)));
            if len == 0 && h.msg_start == 0 {
                self.end_at = Some(abs);
                self.due = self.due.max(abs);
            }
        } else {
            let Some(codec) = codec else { return Stored::Malformed };
            let Some(index) = codec.parity_position(ndata as usize, symbol) else { return Stored::Malformed };
            if payload.len() > width {
                return Stored::Malformed;
            }
            if block.parity.iter().any(|(i, _)| *i as usize == index) {
                return Stored::Duplicate;
            }
            if block.have + block.parity.len() as u16 >= ndata {
                return Stored::Duplicate;
            }
            let mut p = payload.to_vec();
            p.resize(width, 0);
            block.parity.push((index as u16, p));
        }
        let mut recovered = 0;
        if block.have < ndata && block.have + block.parity.len() as u16 >= ndata {
            match codec.map(|c| Self::decode(c, ndata, width, block)) {
                Some(Ok(n)) => recovered = n,
                _ => block.parity.clear(),
            }
            if let Some(abs) = block.segs.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| b * nd + i as u64).max() {
                self.highest = Some(self.highest.map_or(abs, |x| x.max(abs)));
            }
            for (i, s) in block.segs.iter().enumerate() {
                if let Some(s) = s {
                    let h = header(s);
                    if h.payload_len == 0 && h.msg_start == 0 {
                        let abs = b * nd + i as u64;
                        self.end_at = Some(abs);
                        self.due = self.due.max(abs);
                    }
                }
            }
        }
        Stored::New(recovered)
    }

    fn decode(codec: &Rs8, ndata: u16, width: usize, block: &mut RxStreamBlock) -> Result<usize, ()> {
        let np = codec.num_parity();
        let mut segments: Vec<Option<Vec<u8>>> = vec![None; ndata as usize + np];
        for (i, s) in block.segs.iter().enumerate() {
            if let Some(s) = s {
                let mut v = s.clone();
                v.resize(width, 0);
                segments[i] = Some(v);
            }
        }
        for (index, p) in &block.parity {
            segments[ndata as usize + *index as usize] = Some(p.clone());
        }
        codec.decode(ndata as usize, &mut segments, width).map_err(|_| ())?;
        let mut recovered = Vec::new();
        for i in 0..ndata as usize {
            if block.segs[i].is_some() {
                continue;
            }
            let v = segments[i].take().ok_or(())?;
            let h = header(&v);
            if h.payload_len > width.saturating_sub(HDR) as u16 {
                return Err(());
            }
            recovered.push((i, v[..kept_len(&h, v.len())].to_vec()));
        }
        let n = recovered.len();
        for (i, v) in recovered {
            block.segs[i] = Some(v);
            block.have += 1;
        }
        block.parity.clear();
        Ok(n)
    }

    /// For each block from the read position up to `frontier` (exclusive,
    /// in segments) that still needs segments: the block and the data
    /// segments to name (as many as it needs, after parity received).
    pub fn repair_needs(&self, frontier: u64, max_blocks: u64) -> Vec<(u64, u16, Vec<u16>)> {
        let nd = self.nd();
        let mut out = Vec::new();
        if frontier <= self.read {
            return out;
        }
        let first = self.read_block();
        let last = (frontier - 1) / nd;
        for b in first..=last.min(first + max_blocks.saturating_sub(1)) {
            let hi = (frontier - b * nd).min(nd) as u16;
            let lo = if b == first { (self.read - b * nd) as u16 } else { 0 };
            let (missing, parity): (Vec<u16>, usize) = match self.blocks.get(&b) {
                Some(block) if block.have >= self.ndata => continue,
                Some(block) => ((lo..hi).filter(|i| block.segs[*i as usize].is_none()).collect(), block.parity.len()),
                None => ((lo..hi).collect(), 0),
            };
            let needed = missing.len().saturating_sub(parity);
            if needed > 0 {
                out.push((b, needed as u16, missing.into_iter().take(needed).collect()));
            }
        }
        out
    }

    /// The repair frontier when the whole stream is overdue (a later object
    /// has begun) but its end has not arrived: up to the end of the block
    /// after the highest segment heard.
    pub fn overdue_frontier(&self) -> u64 {
        let nd = self.nd();
        if let Some(e) = self.end_at {
            return self.due.max(e + 1);
        }
        let f = match self.highest {
            Some(h) => (h / nd + if h % nd == nd - 1 { 2 } else { 1 }) * nd,
            None => self.read + nd,
        };
        self.due.max(f)
    }

    /// Hands every deliverable byte to `out`, in order.
    pub fn deliver(&mut self, out: &mut Vec<StreamOut>) {
        let nd = self.nd();
        let mut chunk: Vec<u8> = Vec::new();
        while !self.ended {
            let b = self.read / nd;
            let i = (self.read % nd) as usize;
            let Some(seg) = self.blocks.get(&b).and_then(|bl| bl.segs[i].as_ref()) else { break };
            let h = header(seg);
            let len = h.payload_len as usize;
            if len == 0 {
                if h.msg_start == 0 {
                    // End of stream: it also ends the message under way.
                    if let Some(exp) = self.delivered_to.filter(|e| *e != h.offset) {
                        if !chunk.is_empty() {
                            out.push(StreamOut::Data(std::mem::take(&mut chunk), false));
                        }
                        out.push(StreamOut::Gap(self.gap(h.offset, exp)));
                    } else if !chunk.is_empty() || self.msg_open {
                        out.push(StreamOut::Data(std::mem::take(&mut chunk), true));
                    }
                    self.msg_open = false;
                    out.push(StreamOut::End);
                    self.ended = true;
                }
                if is_signature(&h) {
                    if let Some(unit) = self.unit.as_mut() {
                        let (hash, count) = unit.take();
                        let whole = std::mem::replace(&mut self.unit_whole, true);
                        hand_open(&mut chunk, &mut self.msg_open, out);
                        out.push(StreamOut::Signature { body: seg[HDR..].to_vec(), hash, count, whole });
                    }
                }
                // Other control codes are skipped (as libnorm does).
                self.advance();
                continue;
            }
            let mut start = 0;
            if self.seeking {
                match self.seek() {
                    Seek::At(pos) if pos == self.read => {
                        start = h.msg_start as usize - 1;
                        self.passed_over += start as u64;
                        self.seeking = false;
                    }
                    Seek::At(pos) => {
                        while self.read < pos {
                            self.hash_passed();
                            self.passed_over += self.seg_size as u64;
                            self.advance();
                        }
                        continue;
                    }
                    Seek::NoBoundaries => self.seeking = false,
                    Seek::Wait => break,
                }
            }
            self.hash_passed();
            let seg = self.blocks.get(&b).and_then(|bl| bl.segs[i].as_ref()).expect("present");
            let data = &seg[HDR..HDR + len];
            let first = h.offset.wrapping_add(start as u32);
            if let Some(exp) = self.delivered_to {
                if first != exp {
                    if !chunk.is_empty() {
                        out.push(StreamOut::Data(std::mem::take(&mut chunk), false));
                    }
                    out.push(StreamOut::Gap(self.gap(first, exp)));
                    self.msg_open = false;
                }
            }
            let ms = h.msg_start as usize;
            if ms > start && ms - 1 < len {
                // A message begins at index k: what precedes it ends the
                // previous message.
                let k = ms - 1;
                chunk.extend_from_slice(&data[start..k]);
                if !chunk.is_empty() || self.msg_open {
                    out.push(StreamOut::Data(std::mem::take(&mut chunk), true));
                }
                self.msg_open = false;
                chunk.extend_from_slice(&data[k..]);
            } else {
                chunk.extend_from_slice(&data[start..]);
            }
            self.delivered_bytes += (len - start) as u64;
            self.delivered_to = Some(h.offset.wrapping_add(len as u32));
            self.passed_over = 0;
            self.advance();
        }
        hand_open(&mut chunk, &mut self.msg_open, out);
    }

    /// The bytes lost between stream offsets `exp` and `next`: their
    /// distance, but no more than the segments passed over could hold.
    fn gap(&self, next: u32, exp: u32) -> u64 {
        (next.wrapping_sub(exp) as u64).min(self.passed_over)
    }

    /// Adds the data segment at the read position to the unit hash (when
    /// signatures are checked).
    fn hash_passed(&mut self) {
        let nd = self.nd();
        let Some(unit) = self.unit.as_mut() else { return };
        if let Some(seg) = self.blocks.get(&(self.read / nd)).and_then(|bl| bl.segs[(self.read % nd) as usize].as_ref()) {
            if header(seg).payload_len > 0 {
                unit.add(seg);
            }
        }
    }

    /// Looks for where delivery resumes after a join or a gap: the next
    /// segment with a message start, the end marker or a control segment
    /// (handled where it stands), within one block of where the seek began.
    fn seek(&self) -> Seek {
        let nd = self.nd();
        for pos in self.read..self.seek_from + nd {
            let Some(seg) = self.blocks.get(&(pos / nd)).and_then(|bl| bl.segs[(pos % nd) as usize].as_ref()) else {
                return Seek::Wait;
            };
            let h = header(seg);
            let len = h.payload_len as usize;
            if len == 0 || (h.msg_start > 0 && (h.msg_start as usize) <= len) {
                return Seek::At(pos);
            }
        }
        Seek::NoBoundaries
    }

    /// Moves past the segment at the read position (freeing finished blocks).
    fn advance(&mut self) {
        let nd = self.nd();
        self.read += 1;
        if self.read % nd == 0 {
            self.blocks.remove(&(self.read / nd - 1));
        }
        if self.due < self.read {
            self.due = self.read;
        }
    }
}

/// Hands bytes gathered for delivery to `out`, as part of a message still
/// open (a free function: the caller may hold a segment of the stream).
fn hand_open(chunk: &mut Vec<u8>, msg_open: &mut bool, out: &mut Vec<StreamOut>) {
    if !chunk.is_empty() {
        out.push(StreamOut::Data(std::mem::take(chunk), false));
        *msg_open = true;
    }
}

/// Shared parity kept by the sender for a few recent stream blocks.
pub(crate) type StreamParity = Arc<(Vec<Vec<u8>>, usize)>;

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn unwrap24_follows_reference() {
        assert_eq!(unwrap_u24(BLOCK_BASE + 10, 12), BLOCK_BASE + 12);
        assert_eq!(unwrap_u24(BLOCK_BASE + 10, 5), BLOCK_BASE + 5);
        assert_eq!(unwrap_u24(2 * BLOCK_BASE - 1, 2), 2 * BLOCK_BASE + 2);
        assert_eq!(unwrap_u24(2 * BLOCK_BASE + 1, 0x00ff_ffff), 2 * BLOCK_BASE - 1);
        assert_eq!(wire_block(3 * BLOCK_BASE + 7), 7);
    }

    #[test]
    fn writes_fill_segments_and_mark_message_starts() {
        let now = t0();
        let busy = HashSet::new();
        let mut s = TxStream::new(4, 10, 4);
        let (n, _) = s.write(b"hello", true, now, &busy);
        assert_eq!(n, 5);
        // eom closes the segment.
        assert_eq!(s.write_index, 1);
        let (n, _) = s.write(b"0123456789abc", false, now, &busy);
        assert_eq!(n, 13);
        assert_eq!(s.write_index, 2);
        let seg0 = &s.blocks[0].segments[0];
        assert_eq!(header(seg0), StreamHeader { payload_len: 5, msg_start: 1, offset: 0 });
        let seg1 = &s.blocks[0].segments[1];
        assert_eq!(header(seg1), StreamHeader { payload_len: 10, msg_start: 1, offset: 5 });
        let seg2 = &s.blocks[0].segments[2];
        assert_eq!(header(seg2), StreamHeader { payload_len: 3, msg_start: 0, offset: 15 });
        assert!(s.flush(now, &busy).0);
        assert!(!s.flush(now, &busy).0);
        assert_eq!(s.write_index, 3);
        assert!(s.write_end(now, &busy).0);
        let end = &s.blocks[0].segments[3];
        assert_eq!(header(end), StreamHeader { payload_len: 0, msg_start: 0, offset: 18 });
        assert_eq!(s.write_index, 4);
    }

    #[test]
    fn buffer_fills_and_reuses_sent_blocks() {
        let now = t0();
        let busy = HashSet::new();
        let mut s = TxStream::new(2, 10, 4);
        // Ahead limit: 2 blocks of 2 segments of 10 bytes.
        let (n, _) = s.write(&[7u8; 100], false, now, &busy);
        assert_eq!(n, 40);
        assert!(s.vacancy_wanted);
        assert!(!s.has_room(now, &busy));
        // Send one block: the writer may go one block further.
        for _ in 0..2 {
            assert!(s.next_first_pass(0).is_some());
        }
        let (n, dropped) = s.write(&[7u8; 100], false, now, &busy);
        assert_eq!((n, dropped.len()), (20, 0));
        for _ in 0..4 {
            assert!(s.next_first_pass(0).is_some());
        }
        let (n, dropped) = s.write(&[7u8; 20], false, now, &busy);
        assert_eq!((n, dropped.len()), (20, 0));
        // Buffer of 4 blocks is full: block 0 is reused unless busy.
        let mut b = HashSet::new();
        b.insert(0);
        assert!(!s.has_room(now, &b));
        let (n, dropped) = s.write(&[7u8; 10], false, now, &busy);
        assert_eq!((n, dropped), (10, vec![0]));
        assert_eq!(s.first_block, 1);
    }

    fn rx_roundtrip(tx: &TxStream) -> Vec<(u64, u16, Vec<u8>)> {
        let mut out = Vec::new();
        for (i, block) in tx.blocks.iter().enumerate() {
            let b = tx.first_block + i as u64;
            for (sym, seg) in block.segments.iter().enumerate() {
                if ((b * tx.ndata as u64) + sym as u64) < tx.write_index {
                    out.push((b, sym as u16, seg.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn receiver_reassembles_messages_and_end() {
        let now = t0();
        let busy = HashSet::new();
        let mut tx = TxStream::new(4, 8, 8);
        for m in [&b"first message"[..], b"2nd", b"third one!"] {
            tx.write(m, true, now, &busy);
        }
        assert!(tx.write_end(now, &busy).0);
        let mut rx = RxStream::new(4, 8, 0, 8 * 4 * 8, 16);
        rx.start(BLOCK_BASE, true);
        let mut out = Vec::new();
        for (b, sym, seg) in rx_roundtrip(&tx) {
            rx.alloc_block(b + BLOCK_BASE);
            assert_eq!(rx.insert(b + BLOCK_BASE, sym, &seg, None), Stored::New(0));
            rx.deliver(&mut out);
        }
        let mut msgs = Vec::new();
        let mut cur = Vec::new();
        for o in &out {
            match o {
                StreamOut::Data(d, end) => {
                    cur.extend_from_slice(d);
                    if *end {
                        msgs.push(std::mem::take(&mut cur));
                    }
                }
                StreamOut::Gap(_) => panic!("gap"),
                StreamOut::Signature { .. } => panic!("signature in an unsigned stream"),
                StreamOut::End => {}
            }
        }
        assert_eq!(out.last(), Some(&StreamOut::End));
        assert_eq!(msgs, vec![b"first message".to_vec(), b"2nd".to_vec(), b"third one!".to_vec()]);
    }

    #[test]
    fn receiver_recovers_with_parity_and_reports_gaps() {
        let now = t0();
        let busy = HashSet::new();
        let rs = Rs8::new(4, 2).unwrap();
        let mut tx = TxStream::new(4, 8, 8);
        let data: Vec<u8> = (0..100u8).collect();
        tx.write(&data, true, now, &busy);
        assert!(tx.write_end(now, &busy).0);
        let (parity, len) = tx.parity(0, &rs, 2).unwrap();
        assert_eq!(len, 16);
        let mut rx = RxStream::new(4, 8, 2, 8 * 4 * 8, 16);
        rx.start(BLOCK_BASE, true);
        let segs = rx_roundtrip(&tx);
        let mut out = Vec::new();
        for (b, sym, seg) in &segs {
            // Lose segments 1 and 2 of block 0 and all of block 1.
            if (*b == 0 && (*sym == 1 || *sym == 2)) || *b == 1 {
                continue;
            }
            rx.alloc_block(b + BLOCK_BASE);
            rx.insert(b + BLOCK_BASE, *sym, seg, Some(&rs));
        }
        assert_eq!(rx.insert(BLOCK_BASE, 4, &parity[0][..len], Some(&rs)), Stored::New(0));
        assert_eq!(rx.insert(BLOCK_BASE, 5, &parity[1][..len], Some(&rs)), Stored::New(2));
        rx.deliver(&mut out);
        assert_eq!(out, vec![StreamOut::Data(data[..32].to_vec(), false)]);
        // Block 1 is lost for good: skip to block 2.
        rx.skip_to(BLOCK_BASE + 2);
        out.clear();
        rx.deliver(&mut out);
        assert!(rx.ended);
        // No message start in block 2: after scanning it, delivery resumes at
        // its first byte; the stream end closes the message.
        assert_eq!(out, vec![StreamOut::Gap(32), StreamOut::Data(data[64..].to_vec(), true), StreamOut::End]);
    }

    #[test]
    fn a_gap_is_no_larger_than_the_segments_passed_over() {
        let now = t0();
        let busy = HashSet::new();
        let mut tx = TxStream::new(4, 8, 8);
        tx.write(&(0..100u8).collect::<Vec<u8>>(), true, now, &busy);
        let mut rx = RxStream::new(4, 8, 0, 8 * 4 * 8, 16);
        rx.start(BLOCK_BASE, true);
        for (b, sym, mut seg) in rx_roundtrip(&tx) {
            if b == 1 {
                continue;
            }
            if (b, sym) == (2, 0) {
                // An altered offset: 2^31 bytes further on.
                seg[4] ^= 0x80;
            }
            rx.alloc_block(b + BLOCK_BASE);
            rx.insert(b + BLOCK_BASE, sym, &seg, None);
        }
        let mut out = Vec::new();
        rx.deliver(&mut out);
        rx.skip_to(BLOCK_BASE + 2);
        rx.deliver(&mut out);
        // Block 1 (4 segments of 8 bytes) was lost, not 2 GB.
        let gaps: Vec<u64> = out.iter().filter_map(|o| if let StreamOut::Gap(n) = o { Some(*n) } else { None }).collect();
        assert!(gaps.first() == Some(&32) && gaps.iter().sum::<u64>() == 32, "{out:?}");
    }

    #[test]
    fn late_join_seeks_the_next_message_start() {
        let now = t0();
        let busy = HashSet::new();
        let mut tx = TxStream::new(2, 8, 16);
        for m in [&b"aaaaaaaaaaaa"[..], b"bbbbbbbbbbbbbbbbbbbbb", b"cc"] {
            tx.write(m, true, now, &busy);
        }
        let segs = rx_roundtrip(&tx);
        let mut rx = RxStream::new(2, 8, 0, 8 * 2 * 16, 16);
        // Joins at block 1 (segment 2, the first of message "b").
        rx.start(BLOCK_BASE + 1, false);
        let mut out = Vec::new();
        for (b, sym, seg) in &segs {
            rx.alloc_block(b + BLOCK_BASE);
            rx.insert(b + BLOCK_BASE, *sym, seg, None);
        }
        rx.deliver(&mut out);
        assert_eq!(
            out,
            vec![StreamOut::Data(vec![b'b'; 21], true), StreamOut::Data(b"cc".to_vec(), false)]
        );
    }

    fn signed_tx(ndata: u16, seg: u16, key: &crate::sign::SigningKey) -> TxStream {
        let ids = crate::sign::StreamIdentity { node_id: 7, instance_id: 3, object_id: 9 };
        TxStream::new(ndata, seg, 64).with_signer(StreamSigner::new(key.clone(), ids))
    }

    /// Feeds `segs` (with `tamper` applied) to a signature-checking receive
    /// stream; returns what it delivered.
    fn rx_signed(tx: &TxStream, from_block: Option<u64>, tamper: impl Fn(u64, u16, &mut Vec<u8>)) -> Vec<StreamOut> {
        let mut rx = RxStream::new(tx.ndata, tx.seg_size, 0, 64 * tx.ndata as u64 * tx.seg_size as u64, 64);
        rx.check_signatures();
        match from_block {
            None => rx.start(BLOCK_BASE, true),
            Some(b) => rx.start(BLOCK_BASE + b, false),
        }
        let mut out = Vec::new();
        for (b, sym, mut seg) in rx_roundtrip(tx) {
            tamper(b, sym, &mut seg);
            rx.alloc_block(b + BLOCK_BASE);
            rx.insert(b + BLOCK_BASE, sym, &seg, None);
            rx.deliver(&mut out);
        }
        out
    }

    #[test]
    fn signed_streams_sign_every_message_flush_and_block() {
        use crate::sign::{verify_unit, Refusal, SigningKey, StreamIdentity};
        let now = t0();
        let busy = HashSet::new();
        let key = SigningKey::generate();
        let trusted = [key.public_key()];
        let ids = StreamIdentity { node_id: 7, instance_id: 3, object_id: 9 };
        let mut tx = signed_tx(4, 8, &key);
        // A message, a long write without message ends (over two blocks of
        // data), a flush, another message, the end.
        tx.write(b"first", true, now, &busy);
        tx.write(&[b'x'; 70], false, now, &busy);
        assert!(tx.flush(now, &busy).0);
        tx.write(b"last", true, now, &busy);
        assert!(tx.write_end(now, &busy).0);
        let out = rx_signed(&tx, None, |_, _, _| {});
        let mut data = Vec::new();
        let mut units = Vec::new();
        for o in &out {
            match o {
                StreamOut::Data(d, _) => data.extend_from_slice(d),
                StreamOut::Signature { body, hash, count, whole } => {
                    assert!(*whole);
                    assert!(*count as u64 <= 4, "a unit is at most a block of data");
                    let v = verify_unit(&trusted, &ids, body, hash, *count).unwrap();
                    units.push((v.unit, v.last));
                    // The same signature for another stream fails.
                    let other = StreamIdentity { object_id: 10, ..ids };
                    assert_eq!(verify_unit(&trusted, &other, body, hash, *count), Err(Refusal::Mismatch));
                    assert_eq!(verify_unit(&[], &ids, body, hash, *count), Err(Refusal::Untrusted));
                }
                StreamOut::Gap(_) => panic!("gap"),
                StreamOut::End => {}
            }
        }
        let want: Vec<u8> = [&b"first"[..], &[b'x'; 70], b"last"].concat();
        assert_eq!(data, want);
        // "first" | 70 bytes in 9 segments: a block, a block, and the flush |
        // "last" | none, the last unit, before the end.
        assert_eq!(units, (0..6).map(|u| (u, u == 5)).collect::<Vec<_>>());
        assert_eq!(out.last(), Some(&StreamOut::End));
        // A signature comes before any data follows it, so what the
        // receiver holds for one is bounded.
        let mut since = 0;
        for o in &out {
            match o {
                StreamOut::Data(d, _) => since += d.len(),
                StreamOut::Signature { .. } => since = 0,
                _ => {}
            }
            assert!(since <= 4 * 8);
        }

        // One altered byte in a data segment: its unit no longer verifies,
        // the others do.
        let out = rx_signed(&tx, None, |b, sym, seg| {
            if (b, sym) == (1, 1) {
                seg[HDR] ^= 1;
            }
        });
        let verdicts: Vec<bool> = out
            .iter()
            .filter_map(|o| match o {
                StreamOut::Signature { body, hash, count, .. } => Some(verify_unit(&trusted, &ids, body, hash, *count).is_ok()),
                _ => None,
            })
            .collect();
        assert_eq!(verdicts.iter().filter(|v| !**v).count(), 1, "{verdicts:?}");

        // A late joiner: the unit it joined in the middle of is not whole.
        let out = rx_signed(&tx, Some(1), |_, _, _| {});
        let wholes: Vec<bool> = out
            .iter()
            .filter_map(|o| match o {
                StreamOut::Signature { whole, .. } => Some(*whole),
                _ => None,
            })
            .collect();
        assert_eq!(wholes.first(), Some(&false));
        assert!(wholes[1..].iter().all(|w| *w) && wholes.len() >= 2, "{wholes:?}");
    }

    #[test]
    fn a_signature_waits_for_room() {
        let now = t0();
        let busy = HashSet::new();
        let key = crate::sign::SigningKey::generate();
        // Ahead limit: 2 blocks of 2 segments.
        let mut tx = signed_tx(2, 8, &key);
        let tx_max = TxStream::new(2, 8, 4);
        tx.max_blocks = tx_max.max_blocks;
        let (n, _) = tx.write(&[1u8; 24], true, now, &busy);
        // 3 data segments, a signature after the first two (a block), the
        // last one's signature waits: the buffer is full.
        assert_eq!(n, 24);
        assert_eq!(tx.write_index, 4);
        assert!(tx.signature_due);
        assert!(tx.write_due_signature(now, &busy).is_none());
        let (written, _) = tx.write_end(now, &busy);
        assert!(!written && !tx.end_written);
        for _ in 0..2 {
            tx.next_first_pass(0).unwrap();
        }
        assert!(tx.write_due_signature(now, &busy).is_some());
        assert!(!tx.signature_due);
        // The last signature fits, the end marker waits.
        let (written, _) = tx.write_end(now, &busy);
        assert!(written && !tx.end_written);
        for _ in 0..2 {
            tx.next_first_pass(0).unwrap();
        }
        assert!(tx.write_end(now, &busy).0 && tx.end_written);
        let sigs = rx_signed(&tx, None, |_, _, _| {})
            .iter()
            .filter(|o| matches!(o, StreamOut::Signature { whole: true, .. }))
            .count();
        assert_eq!(sigs, 3);
    }
}
