//! The NORM sender state machine.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::cc::TxCc;
use super::common::{secs, BlockLayout, Clock};
use super::stream::{unwrap_u24, wire_block, StreamParity, TxStream};
use super::{Destination, ObjectKind, ObjectSource};
use crate::fec::Rs8;
use crate::seal::{self, Key, Seal};
use crate::sign::{self, SigningKey};
use crate::wire::{
    self, ack_type, fec_id, flags, nack_flags, nack_form, quant, Body, Cmd, CmdMsg, Data, FecPayloadId, Fti, Info,
    ObjectHeader, Packet, RepairItem, SenderHeader,
};
use crate::Error;

/// Sender settings. `Default` gives values suited to a LAN.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Payload bytes per NORM_DATA segment.
    pub segment_size: u16,
    /// Data segments per FEC block (k).
    pub block_size: u16,
    /// Parity segments available per block for repair (block + parity <= 255).
    pub parity: u16,
    /// Parity segments sent proactively with every block.
    pub auto_parity: u16,
    /// Transmission rate in bits per second (all messages count, with their
    /// IPv6 and UDP headers): the most the sender sends with congestion
    /// control, the rate it sends at without.
    pub rate_bps: u64,
    /// NORM-CC congestion control (RFC 5740 section 5.5): the sender's rate
    /// follows the slowest receiver's TCP-friendly rate, between
    /// `rate_min_bps` and `rate_bps`. Off: a fixed rate of `rate_bps`. On by
    /// default. Receivers that never send (`silent`) give no feedback: a
    /// group of only silent receivers needs a fixed rate.
    pub congestion_control: bool,
    /// The lowest rate congestion control goes down to, in bits per second.
    pub rate_min_bps: u64,
    /// Most objects held for repair at once.
    pub cache_max_objects: usize,
    /// What a full transmit cache does about receivers that still need its
    /// oldest object (see [`FlowControl`]; default `LeaveBehind`).
    pub flow_control: FlowControl,
    /// Most bytes of in-memory objects held for repair at once.
    pub cache_max_bytes: u64,
    /// Initial group round-trip time estimate.
    pub grtt_initial: Duration,
    /// Upper bound for the GRTT estimate.
    pub grtt_max: Duration,
    /// NACK backoff factor K advertised to receivers.
    pub backoff_factor: u8,
    /// Group size estimate advertised to receivers.
    pub group_size: u32,
    /// Number of NORM_CMD(FLUSH) rounds at the end of transmission.
    pub robust_factor: u32,
    /// FEC blocks (of `block_size` segments) each stream buffers (at least
    /// 2; default 64, about 5.8 MB with the default segment and block sizes).
    /// The writer may run at most half of them ahead of transmission; the
    /// rest keep sent data for repairs. Data that has left the buffer can no
    /// longer be repaired (its NACKs are answered with NORM_CMD(SQUELCH)).
    pub stream_buffer_blocks: usize,
    /// A sealed channel's key (see [`crate::seal`]): every datagram is
    /// sealed, object content and NORM_INFO encrypted, and only sealed
    /// feedback from receivers with the key is heard. Sealing takes
    /// [`seal::OVERHEAD`] (44) bytes of each datagram: segments then carry
    /// `segment_size - 44` bytes of content, so datagrams stay the size
    /// they are without a key.
    pub key: Option<Key>,
    /// With a key: feedback sealed longer ago than this (by this host's
    /// clock) is dropped as replayed; `None`: no age limit.
    pub seal_max_age: Option<Duration>,
    /// The NORM node id to send as; `None`: a random one. Used by the
    /// engine (`Sender::new` takes the id as an argument). A sender that
    /// restarts with the same id (and, as always, a new instance id) is
    /// recognised by receivers as a restart: they abort what they had
    /// unfinished of it at once and keep what they completed.
    pub node_id: Option<u32>,
    /// Signs every DATA and FILE object with this Ed25519 key (see
    /// [`crate::sign`]), so that receivers trusting its public key
    /// (`ReceiverConfig::trusted_signers`) can tell its objects from
    /// anyone else's. Every signed object carries NORM_INFO, whose payload
    /// then ends with [`sign::TRAILER_LEN`] (128) bytes of signature: the
    /// application's info may be that much shorter than a segment. Streams
    /// are signed in units as they are written: a signature segment after
    /// each message, flush and block of data (see [`crate::sign`]).
    pub signing_key: Option<SigningKey>,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            segment_size: 1400,
            block_size: 64,
            parity: 16,
            auto_parity: 0,
            rate_bps: 100_000_000,
            congestion_control: true,
            rate_min_bps: 64_000,
            cache_max_objects: 1024,
            flow_control: FlowControl::LeaveBehind,
            cache_max_bytes: 512 << 20,
            grtt_initial: Duration::from_millis(100),
            grtt_max: Duration::from_secs(10),
            backoff_factor: 4,
            group_size: 1000,
            robust_factor: 20,
            stream_buffer_blocks: 64,
            key: None,
            seal_max_age: Some(seal::DEFAULT_MAX_AGE),
            node_id: None,
            signing_key: None,
        }
    }
}

/// The sender's flow control: when an object may leave the transmit cache
/// (`cache_max_objects`, `cache_max_bytes`), which is what bounds the
/// sender's memory whatever its receivers do. While no object may leave, a
/// full cache makes `enqueue` return `WouldBlock` (the blocking API calls
/// wait).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FlowControl {
    /// The default: an object leaves once its first pass is over and
    /// receivers had time for four repair rounds after its last
    /// transmission (40 GRTT with the default backoff factor); a NACK for
    /// it starts that time again, so a receiver still asking is served. A
    /// receiver that falls silent (cut off, gone, or too late to ask) is
    /// left behind: its NACKs for purged objects are answered with
    /// NORM_CMD(SQUELCH) and it reports those objects aborted. The sender
    /// does not wait for silent receivers.
    #[default]
    LeaveBehind,
    /// An object also waits until every listed receiver (NORM node ids, as in
    /// `flush_acked`) acknowledged it: when the cache is full the sender asks
    /// them with acknowledged flushes (NORM_CMD(FLUSH) with an
    /// acknowledgement request, repeated until they answer) and sends
    /// nothing new meanwhile. The slowest listed receiver sets the pace; one
    /// that is gone stops the sender until it is back (or the sender is
    /// closed). Streams keep their own buffer rule.
    WaitForAcks(Vec<u32>),
}

/// What the sender reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderEvent {
    /// The object's first transmission pass is complete.
    ObjectSent { id: u64 },
    /// The object left the transmit cache; it can no longer be repaired.
    ObjectPurged { id: u64 },
    /// The flush requested with this token is over.
    FlushComplete { token: u64 },
    /// There is room in the transmit cache again after a `WouldBlock`.
    QueueVacancy,
    /// Reading the object's source failed; the object was dropped.
    ObjectError { id: u64, message: String },
    /// Stream `id` has room again after a `stream_write` that accepted less
    /// than it was given (or a `stream_close` that is waiting for room).
    StreamVacancy { id: u64 },
    /// The acknowledged flush asked for with this token is over: `acked`
    /// confirmed everything up to its watermark, `missing` did not (in time).
    AckComplete { token: u64, acked: Vec<u32>, missing: Vec<u32> },
}

/// Sender counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderStats {
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    pub datagrams_received: u64,
    pub bytes_received: u64,
    pub nacks_received: u64,
    pub data_segments_sent: u64,
    pub repair_segments_sent: u64,
    pub parity_segments_sent: u64,
    pub info_sent: u64,
    pub flushes_sent: u64,
    pub probes_sent: u64,
    pub squelches_sent: u64,
    pub objects_enqueued: u64,
    pub objects_sent: u64,
    pub objects_purged: u64,
    pub objects_aborted: u64,
    pub malformed_received: u64,
    /// Sealed channels: feedback that failed authentication (forged,
    /// altered, another key).
    pub datagrams_unauthenticated: u64,
    /// Sealed channels: feedback seen before or too old.
    pub datagrams_replayed: u64,
    /// Unsealed feedback on a sealed channel, or sealed feedback at a
    /// sender without a key.
    pub datagrams_seal_mismatch: u64,
    /// Current advertised GRTT in microseconds.
    pub grtt_us: u64,
    /// Current transmission rate in bits per second (congestion control
    /// moves it; fixed otherwise).
    pub tx_rate_bps: u64,
    /// NORM-CC feedback messages received (EXT_CC in ACKs and NACKs).
    pub cc_feedback_received: u64,
    /// The current limiting receiver's node id (0: none).
    pub cc_clr: u32,
}


/// Most transmission time a paced sender may catch up on in one burst.
/// Least repair volume one repair round may queue (see
/// `Sender::repair_round_budget`).
const REPAIR_ROUND_MIN_BYTES: u64 = 8 << 20;
const PACING_CREDIT: Duration = Duration::from_millis(4);

/// Smallest spacing of NORM_CMD(FLUSH) messages. The RFC spaces them 2*GRTT,
/// but on a LAN the GRTT floor (1 ms) would make a whole flush round last a few
/// tens of milliseconds, shorter than the scheduling jitter of busy receivers;
/// late NACKs would then find the sender gone.
const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(10);
/// GRTT bounds (RFC 5740 / libnorm).
const GRTT_MIN: f64 = 0.001;
/// Probe spacing bounds.
const MIN_PROBE_INTERVAL: f64 = 0.05;
/// Probe spacing floor under congestion control: the rate changes once per
/// probe, so probes come about once per GRTT, but not more often than this.
const MIN_CC_PROBE_INTERVAL: f64 = 0.01;
/// Congestion control starts at this many segments per initial GRTT (like
/// TFRC's initial window of about four packets).
const CC_START_SEGMENTS: f64 = 4.0;
/// A NORM_CMD(CC) probe naming the CLR on the wire (with IPv6 and UDP
/// headers), in bytes.
const PROBE_WIRE_BYTES: f64 = 100.0;
const MAX_PROBE_INTERVAL: f64 = 2.0;
/// Parity of this many recent blocks is kept for repairs.
const PARITY_CACHE_BLOCKS: usize = 8;

struct TxObject {
    id: u64,
    kind: ObjectKind,
    info: Option<Vec<u8>>,
    /// `info` ends with a signature block (EXT_AUTH goes with it).
    signed: bool,
    source: Box<dyn ObjectSource>,
    memory: u64,
    layout: BlockLayout,
    /// First-pass progress: INFO still to send, then (block, symbol) where
    /// symbol runs over data segments and then auto-parity segments.
    info_pending: bool,
    next_block: u32,
    next_symbol: u16,
    first_pass_done: bool,
    /// Parity segments already sent per block (fresh parity serves new losses).
    parity_sent: HashMap<u32, u16>,
    /// The stream buffer, for `ObjectKind::Stream`.
    stream: Option<TxStream>,
    /// Once its first pass is over, the object stays in the cache at least
    /// until then (moved on by repairs), so that receivers' NACKs find it.
    /// `None` after the first pass: purgeable.
    hold_until: Option<Instant>,
}

impl TxObject {
    fn base_flags(&self) -> u8 {
        // (A signed object always has NORM_INFO: its signature is there.)
        let mut f = 0;
        if self.info.is_some() {
            f |= flags::INFO;
        }
        match self.kind {
            ObjectKind::File => f |= flags::FILE,
            ObjectKind::Stream => f |= flags::STREAM,
            ObjectKind::Data => {}
        }
        f
    }

    /// Whether the first pass has already covered (block, symbol 0).
    fn block_started(&self, block: u32) -> bool {
        self.first_pass_done || block < self.next_block || (block == self.next_block && self.next_symbol > 0)
    }

    /// Whether it may leave the cache now: sent once, and its hold time over.
    fn purgeable(&self, now: Instant) -> bool {
        self.first_pass_done && self.hold_until.is_none_or(|t| t <= now)
    }

    /// Whether the first pass has something to send now (an open stream may
    /// have nothing written yet).
    fn first_pass_ready(&self) -> bool {
        !self.first_pass_done && (self.info_pending || self.stream.as_ref().is_none_or(|st| st.has_ready()))
    }
}

/// Repair needs gathered from NACKs during one aggregation period.
#[derive(Default)]
struct ObjectRepair {
    info: bool,
    whole: bool,
    blocks: BTreeMap<u32, BlockRepair>,
    /// Stream blocks (64-bit block numbers).
    stream_blocks: BTreeMap<u64, BlockRepair>,
}

#[derive(Default)]
struct BlockRepair {
    /// Largest number of missing segments any one receiver reported.
    erasures: u16,
    /// Data segments receivers named explicitly (used once parity runs out).
    explicit: BTreeSet<u16>,
    /// Parity segments (indices) receivers named: they ask for parity they
    /// lack first, as libnorm receivers do; resent once fresh parity runs out.
    parity: BTreeSet<u16>,
}

#[derive(Debug, Clone, Copy)]
enum TxItem {
    Info(u64),
    Segment { obj: u64, block: u32, symbol: u16 },
    Parity { obj: u64, block: u32, index: u16 },
    /// Whole-object retransmission, expanded block by block when reached.
    Blocks { obj: u64, next: u32, end: u32 },
    /// A stream data segment.
    StreamSegment { obj: u64, block: u64, symbol: u16 },
    /// A parity segment of a full stream block.
    StreamParity { obj: u64, block: u64, index: u16 },
}

impl TxItem {
    fn obj(&self) -> u64 {
        match *self {
            TxItem::Info(o)
            | TxItem::Segment { obj: o, .. }
            | TxItem::Parity { obj: o, .. }
            | TxItem::Blocks { obj: o, .. }
            | TxItem::StreamSegment { obj: o, .. }
            | TxItem::StreamParity { obj: o, .. } => o,
        }
    }
}

/// A positive-acknowledgement request (RFC 5740 watermark flush).
struct AckRound {
    token: u64,
    nodes: Vec<u32>,
    acked: BTreeSet<u32>,
    /// The position acknowledged: set when its flush round starts (the last
    /// data position sent by then).
    watermark: Option<(u64, u64, u16)>,
    /// The last object whose every byte is at or before the watermark.
    covers: Option<u64>,
    /// Started by flow control (`FlowControl::WaitForAcks`), not by
    /// `flush_acked`: reports no `AckComplete`.
    auto: bool,
}

impl AckRound {
    /// The nodes still to acknowledge.
    fn missing(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes.iter().copied().filter(|n| !self.acked.contains(n))
    }

    /// (acked, missing) node ids.
    fn report(&self) -> (Vec<u32>, Vec<u32>) {
        (self.acked.iter().copied().collect(), self.missing().collect())
    }
}

enum Ctrl {
    Probe,
    Flush,
    /// Objects no longer (or never) in the cache; with `stream`, the stream
    /// whose oldest buffered block the squelch names.
    Squelch { stream: Option<u64>, invalid: Vec<u16> },
    Eot,
}

/// A NORM sender (sans-IO). See the module docs of [`crate::proto`].
pub struct Sender {
    cfg: SenderConfig,
    node_id: u32,
    instance_id: u16,
    clock: Clock,
    #[allow(dead_code)]
    rng: SmallRng,
    sequence: u16,
    rs: Option<Rs8>,
    gsize_q: u8,

    objects: VecDeque<TxObject>,
    next_id: u64,
    cache_bytes: u64,
    blocked: bool,

    pending: BTreeMap<u64, ObjectRepair>,
    pending_squelch: BTreeSet<u16>,
    aggregate_at: Option<Instant>,
    repair_queue: VecDeque<TxItem>,
    repaired_at: HashMap<(u64, u32), Instant>,
    parity_cache: VecDeque<((u64, u32), std::sync::Arc<Vec<Vec<u8>>>)>,
    /// Acknowledged flushes (positive acknowledgement of a watermark by named
    /// receivers), oldest first; the front one is under way.
    ack_rounds: VecDeque<AckRound>,
    /// Per node of `FlowControl::WaitForAcks`: the last object it
    /// acknowledged having (with everything before it).
    acked_through: HashMap<u32, u64>,
    /// A stream got NACKs for blocks that left its buffer.
    pending_stream_squelch: Option<u64>,
    stream_repaired_at: HashMap<(u64, u64), Instant>,
    stream_parity: VecDeque<((u64, u64), StreamParity)>,
    /// Segments the NACK being processed names per (object, block): one
    /// receiver's loss, which fresh parity segments repair one for one.
    nack_tally: HashMap<(u64, u64), u16>,

    ctrl: VecDeque<Ctrl>,
    next_tx: Instant,

    grtt: f64,
    grtt_q: u8,
    grtt_peak: f64,
    /// NORM-CC; `None` at a fixed rate.
    cc: Option<TxCc>,
    seal: Option<Seal>,
    probe_seq: u16,
    next_probe: Option<Instant>,

    /// Last data position of the first pass, named by NORM_CMD(FLUSH).
    last_pos: Option<(u64, u64, u16)>,
    flush_remaining: u32,
    next_flush: Option<Instant>,
    flush_tokens: Vec<u64>,
    next_token: u64,
    /// A flush round completed and nothing was sent since.
    flush_done_since_data: bool,

    closed: bool,
    events: VecDeque<SenderEvent>,
    stats: SenderStats,
    scratch: Vec<u8>,
}

impl Sender {
    /// Creates a sender with a NORM node id (non-zero, not 0xffffffff) and an
    /// instance id that changes every time the application restarts.
    pub fn new(config: SenderConfig, node_id: u32, instance_id: u16, now: Instant) -> Result<Sender, Error> {
        if node_id == 0 || node_id == u32::MAX {
            return Err(Error::InvalidArgument(format!("node id {node_id:#x} is reserved")));
        }
        if let FlowControl::WaitForAcks(nodes) = &config.flow_control {
            if nodes.is_empty() {
                return Err(Error::InvalidArgument("flow control that waits for acknowledgements needs at least one node id".into()));
            }
            if let Some(n) = nodes.iter().find(|&&n| n == 0 || n == u32::MAX) {
                return Err(Error::InvalidArgument(format!("node id {n:#x} is reserved")));
            }
        }
        let min_segment = if config.key.is_some() { 16 + seal::OVERHEAD as u16 } else { 16 };
        if config.segment_size < min_segment || config.segment_size > 8192 {
            return Err(Error::InvalidArgument(format!(
                "segment size {} is out of range ({min_segment}..=8192 bytes{})",
                config.segment_size,
                if config.key.is_some() { " with a key" } else { "" }
            )));
        }
        if config.seal_max_age.is_some_and(|a| a.is_zero()) {
            return Err(Error::InvalidArgument("a seal maximum age of 0 would drop every datagram (no limit is None)".into()));
        }
        let seal = config.key.as_ref().map(|k| Seal::new(k, config.seal_max_age));
        let mut config = config;
        config.segment_size = content_segment_size(&config);
        if config.signing_key.is_some() && (config.segment_size as usize) < sign::TRAILER_LEN + 16 {
            return Err(Error::InvalidArgument(format!(
                "segment size {} is too small to sign objects (at least {} bytes{})",
                config.segment_size as usize + if seal.is_some() { seal::OVERHEAD } else { 0 },
                sign::TRAILER_LEN + 16 + if seal.is_some() { seal::OVERHEAD } else { 0 },
                if seal.is_some() { " with a key" } else { "" }
            )));
        }
        if config.block_size == 0 || config.block_size as u32 + config.parity as u32 > 255 {
            return Err(Error::InvalidArgument(format!(
                "block size {} with {} parity segments is out of range (block >= 1, block + parity <= 255)",
                config.block_size, config.parity
            )));
        }
        if config.auto_parity > config.parity {
            return Err(Error::InvalidArgument(format!(
                "auto parity {} exceeds the parity count {}",
                config.auto_parity, config.parity
            )));
        }
        if config.rate_bps < 1000 {
            return Err(Error::InvalidArgument(format!("rate {} bit/s is too low (at least 1000)", config.rate_bps)));
        }
        if config.congestion_control && (config.rate_min_bps < 1000 || config.rate_min_bps > config.rate_bps) {
            return Err(Error::InvalidArgument(format!(
                "minimum rate {} bit/s must be at least 1000 and at most the rate cap {} bit/s",
                config.rate_min_bps, config.rate_bps
            )));
        }
        if config.backoff_factor > 15 {
            return Err(Error::InvalidArgument("backoff factor must be at most 15".into()));
        }
        if config.stream_buffer_blocks < 2 {
            return Err(Error::InvalidArgument(format!(
                "stream buffer of {} blocks is too small (at least 2)",
                config.stream_buffer_blocks
            )));
        }
        // A stream's buffer size travels as a 48-bit object size; checked
        // here in wide arithmetic so that no product of these overflows.
        let stream_bytes =
            config.stream_buffer_blocks as u128 * (config.block_size as u128 + config.parity as u128) * (config.segment_size as u128 + 8);
        if stream_bytes >= 1 << 48 {
            return Err(Error::InvalidArgument(format!(
                "stream buffer of {} blocks is too large (blocks x (block + parity) x segment must stay under 2^48 bytes)",
                config.stream_buffer_blocks
            )));
        }
        let rs = if config.parity > 0 {
            Some(Rs8::new(config.block_size as usize, config.parity as usize).map_err(|e| Error::InvalidArgument(e.to_string()))?)
        } else {
            None
        };
        let grtt = config.grtt_initial.as_secs_f64().clamp(GRTT_MIN, config.grtt_max.as_secs_f64().max(GRTT_MIN));
        let grtt_q = quant::quantize_rtt(grtt);
        // A full data datagram on the wire: IPv6 + UDP headers, the seal.
        let full = config.segment_size as f64 + 48.0 + if seal.is_some() { seal::OVERHEAD as f64 } else { 0.0 };
        let cc = config.congestion_control.then(|| {
            let start = CC_START_SEGMENTS * full / grtt;
            TxCc::new(config.rate_min_bps as f64 / 8.0, config.rate_bps as f64 / 8.0, start, full)
        });
        let tx_rate_bps = cc.as_ref().map_or(config.rate_bps, |c| (c.rate() * 8.0) as u64);
        Ok(Sender {
            cc,
            seal,
            gsize_q: quant::quantize_gsize(config.group_size.max(1) as f64),
            cfg: config,
            node_id,
            instance_id,
            clock: Clock::new(now),
            rng: SmallRng::seed_from_u64(((node_id as u64) << 16) ^ instance_id as u64),
            sequence: 0,
            rs,
            objects: VecDeque::new(),
            next_id: 0,
            cache_bytes: 0,
            blocked: false,
            pending: BTreeMap::new(),
            pending_squelch: BTreeSet::new(),
            aggregate_at: None,
            repair_queue: VecDeque::new(),
            repaired_at: HashMap::new(),
            parity_cache: VecDeque::new(),
            pending_stream_squelch: None,
            ack_rounds: VecDeque::new(),
            acked_through: HashMap::new(),
            stream_repaired_at: HashMap::new(),
            stream_parity: VecDeque::new(),
            nack_tally: HashMap::new(),
            ctrl: VecDeque::new(),
            next_tx: now,
            grtt: quant::unquantize_rtt(grtt_q),
            grtt_q,
            grtt_peak: 0.0,
            probe_seq: 0,
            next_probe: None,
            last_pos: None,
            flush_remaining: 0,
            next_flush: None,
            flush_tokens: Vec::new(),
            next_token: 1,
            flush_done_since_data: false,
            closed: false,
            events: VecDeque::new(),
            stats: SenderStats { grtt_us: (grtt * 1e6) as u64, tx_rate_bps, ..Default::default() },
            scratch: Vec::new(),
        })
    }

    /// Queues an object. Returns its id (the low 16 bits are its NORM transport
    /// id). `Error::WouldBlock` means the cache is full of objects still being
    /// sent: retry after `SenderEvent::QueueVacancy`. `Error::CacheFull` means
    /// the object can never fit.
    pub fn enqueue(&mut self, now: Instant, kind: ObjectKind, source: Box<dyn ObjectSource>, info: Option<Vec<u8>>) -> Result<u64, Error> {
        self.enqueue_digested(now, kind, source, info, None)
    }

    /// [`Sender::enqueue`] with the object's content digest already worked
    /// out ([`object_digest`], by the caller's thread: it reads the whole
    /// object). A signing sender needs it and computes it itself when it is
    /// `None`; others ignore it.
    pub fn enqueue_digested(
        &mut self,
        now: Instant,
        kind: ObjectKind,
        source: Box<dyn ObjectSource>,
        info: Option<Vec<u8>>,
        digest: Option<[u8; 32]>,
    ) -> Result<u64, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        if kind == ObjectKind::Stream {
            return Err(Error::InvalidArgument("streams are opened with open_stream, not enqueued".into()));
        }
        self.check_info(&info)?;
        let size = source.len();
        if size >= 1 << 48 {
            return Err(Error::InvalidArgument(format!("object of {size} bytes exceeds NORM's 48-bit size field")));
        }
        let layout = BlockLayout::new(size, self.cfg.segment_size, self.cfg.block_size, self.cfg.parity)
            .ok_or_else(|| Error::InvalidArgument(format!("object of {size} bytes needs more than 2^24 blocks; raise the segment or block size")))?;
        let memory = source.memory_size();
        self.make_room(now, memory, "object")?;
        let (info, signed) = match &self.cfg.signing_key {
            Some(key) => {
                let digest = match digest {
                    Some(d) => d,
                    None => digest_of(&*source, &layout).map_err(|e| Error::io("cannot read the object to sign it", e))?,
                };
                (Some(self.sign_info(key, kind, size, info.as_deref().unwrap_or_default(), &digest)), true)
            }
            None => (info, false),
        };
        Ok(self.push_object(now, kind, source, info, signed, memory, layout, None))
    }

    /// The signed NORM_INFO payload of the next object (`sign::sign_info`).
    fn sign_info(&self, key: &SigningKey, kind: ObjectKind, size: u64, info: &[u8], digest: &[u8; 32]) -> Vec<u8> {
        let id = sign::ObjectIdentity { node_id: self.node_id, instance_id: self.instance_id, object_id: self.next_id as u16, kind, size };
        sign::sign_info(key, &id, info, digest)
    }

    /// Opens a NORM_OBJECT_STREAM: an object without a size, written with
    /// [`Sender::stream_write`] and ended with [`Sender::stream_close`].
    /// The stream holds `stream_buffer_blocks` FEC blocks of memory (counted
    /// against the transmit cache). Objects enqueued while a stream is open
    /// are sent after it is closed: NORM delivers a sender's objects in order.
    pub fn open_stream(&mut self, now: Instant, info: Option<Vec<u8>>) -> Result<u64, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        self.check_info(&info)?;
        let (ndata, seg, blocks) = (self.cfg.block_size, self.cfg.segment_size, self.cfg.stream_buffer_blocks);
        let buffer_bytes = blocks as u64 * ndata as u64 * seg as u64;
        // Like libnorm, a stream's FTI object size is its buffer size: it
        // tells receivers how many blocks the sender keeps for repair.
        let layout = BlockLayout::new(buffer_bytes, seg, ndata, self.cfg.parity)
            .filter(|_| buffer_bytes < 1 << 48)
            .ok_or_else(|| Error::InvalidArgument(format!("stream buffer of {blocks} blocks is too large")))?;
        let memory = TxStream::memory(ndata, seg, blocks, self.cfg.parity);
        self.make_room(now, memory, "stream buffer")?;
        let mut stream = TxStream::new(ndata, seg, blocks);
        let (info, signed) = match &self.cfg.signing_key {
            Some(key) => {
                // Signed in units as it is written (crate::sign); its
                // NORM_INFO is signed like an object's, for the buffer size
                // its FTI announces and no content digest.
                let object_id = self.next_id as u16;
                let ids = sign::StreamIdentity { node_id: self.node_id, instance_id: self.instance_id, object_id };
                stream = stream.with_signer(sign::StreamSigner::new(key.clone(), ids));
                let info = info.map(|info| self.sign_info(key, ObjectKind::Stream, buffer_bytes, &info, &[0; 32]));
                let signed = info.is_some();
                (info, signed)
            }
            None => (info, false),
        };
        Ok(self.push_object(now, ObjectKind::Stream, Box::new(Vec::new()), info, signed, memory, layout, Some(stream)))
    }

    /// Appends bytes to stream `id`; returns how many were taken (possibly
    /// fewer than given, even 0, when the stream buffer is full:
    /// `SenderEvent::StreamVacancy` follows once there is room). With
    /// `end_of_message`, once all of `data` is taken the current segment is
    /// closed (sent without waiting to be filled) and the next byte starts a
    /// new message, which receivers that join late or lose data can resync to.
    pub fn stream_write(&mut self, now: Instant, id: u64, data: &[u8], end_of_message: bool) -> Result<usize, Error> {
        let busy = self.stream_busy(id);
        let idx = self.open_stream_index(id)?;
        let st = self.objects[idx].stream.as_mut().expect("checked");
        let before = st.write_index;
        let (n, dropped) = st.write(data, end_of_message, now, &busy);
        let closed_segment = st.write_index != before;
        self.forget_stream_blocks(id, &dropped);
        if n > 0 || closed_segment {
            self.new_data(now);
        }
        Ok(n)
    }

    /// Sends the partly filled segment of stream `id` now instead of waiting
    /// for more bytes to fill it.
    pub fn stream_flush(&mut self, now: Instant, id: u64) -> Result<(), Error> {
        let busy = self.stream_busy(id);
        let idx = self.open_stream_index(id)?;
        let (written, dropped) = self.objects[idx].stream.as_mut().expect("checked").flush(now, &busy);
        self.forget_stream_blocks(id, &dropped);
        if written {
            self.new_data(now);
        }
        Ok(())
    }

    /// Ends stream `id`: what was written is sent, then an end-of-stream
    /// marker. The marker is written as soon as the buffer has room (at once,
    /// usually); `SenderEvent::ObjectSent` reports when everything went out.
    pub fn stream_close(&mut self, now: Instant, id: u64) -> Result<(), Error> {
        let idx = self.open_stream_index(id)?;
        self.objects[idx].stream.as_mut().expect("checked").end_pending = true;
        self.service_streams(now);
        self.new_data(now);
        Ok(())
    }

    /// Whether stream `id` would take at least one byte now.
    pub fn stream_has_room(&self, now: Instant, id: u64) -> bool {
        let busy = self.stream_busy(id);
        self.object_index(id)
            .and_then(|i| self.objects[i].stream.as_ref())
            .is_some_and(|st| !st.end_pending && !st.end_written && st.has_room(now, &busy))
    }

    fn open_stream_index(&self, id: u64) -> Result<usize, Error> {
        if self.closed {
            return Err(Error::Closed);
        }
        let idx = self.object_index(id).ok_or_else(|| Error::InvalidArgument(format!("object {id} is not an open stream")))?;
        match &self.objects[idx].stream {
            Some(st) if !st.end_pending && !st.end_written => Ok(idx),
            Some(_) => Err(Error::InvalidArgument(format!("stream {id} is closed"))),
            None => Err(Error::InvalidArgument(format!("object {id} is not a stream"))),
        }
    }

    /// Something new to send: a flush round in progress restarts after it.
    fn new_data(&mut self, now: Instant) {
        self.flush_done_since_data = false;
        self.flush_remaining = 0;
        self.next_flush = None;
        self.activate(now);
    }

    fn check_info(&self, info: &Option<Vec<u8>>) -> Result<(), Error> {
        let signature = if self.cfg.signing_key.is_some() { sign::TRAILER_LEN } else { 0 };
        let max = self.cfg.segment_size as usize - signature;
        match info {
            Some(i) if i.len() > max => Err(Error::InvalidArgument(format!(
                "info of {} bytes exceeds the segment size {}{}",
                i.len(),
                self.cfg.segment_size,
                if signature > 0 { format!(" less the {signature}-byte signature") } else { String::new() }
            ))),
            _ => Ok(()),
        }
    }

    /// Makes room for `memory` more bytes by purging the oldest objects whose
    /// first pass is over; objects not yet sent once are never purged.
    fn make_room(&mut self, now: Instant, memory: u64, what: &str) -> Result<(), Error> {
        if memory > self.cfg.cache_max_bytes {
            return Err(Error::CacheFull(format!(
                "{what} of {memory} bytes exceeds the transmit cache of {} bytes",
                self.cfg.cache_max_bytes
            )));
        }
        while self.objects.len() >= self.cfg.cache_max_objects.max(1) || self.cache_bytes + memory > self.cfg.cache_max_bytes {
            match self.objects.front() {
                Some(o) if self.purgeable(o, now) => {
                    let o = self.objects.pop_front().expect("front exists");
                    self.purge(o);
                }
                _ => {
                    self.want_room(now);
                    return Err(Error::WouldBlock("the transmit cache is full of objects not yet sent or still held for repairs".into()));
                }
            }
        }
        Ok(())
    }

    /// Whether object `o` may leave the cache now (see [`FlowControl`]).
    fn purgeable(&self, o: &TxObject, now: Instant) -> bool {
        o.purgeable(now) && self.acked_by_all(o)
    }

    /// Whether every node flow control waits for acknowledged object `o`.
    fn acked_by_all(&self, o: &TxObject) -> bool {
        match &self.cfg.flow_control {
            FlowControl::LeaveBehind => true,
            FlowControl::WaitForAcks(nodes) => nodes.iter().all(|n| self.acked_through.get(n).is_some_and(|&a| a >= o.id)),
        }
    }

    /// With `FlowControl::WaitForAcks`, a full cache asks the listed nodes
    /// to acknowledge what was sent (unless a round is under way already).
    fn ask_for_acks(&mut self, now: Instant) {
        let FlowControl::WaitForAcks(nodes) = &self.cfg.flow_control else { return };
        if nodes.is_empty() || !self.ack_rounds.is_empty() || self.closed {
            return;
        }
        let mut nodes = nodes.clone();
        nodes.sort_unstable();
        nodes.dedup();
        self.ack_rounds.push_back(AckRound { token: 0, nodes, acked: BTreeSet::new(), watermark: None, covers: None, auto: true });
        self.flush_done_since_data = false;
        self.activate(now);
    }

    #[allow(clippy::too_many_arguments)]
    fn push_object(
        &mut self,
        now: Instant,
        kind: ObjectKind,
        source: Box<dyn ObjectSource>,
        info: Option<Vec<u8>>,
        signed: bool,
        memory: u64,
        layout: BlockLayout,
        stream: Option<TxStream>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.cache_bytes += memory;
        self.objects.push_back(TxObject {
            id,
            kind,
            info_pending: info.is_some(),
            info,
            signed,
            source,
            memory,
            layout,
            next_block: 0,
            next_symbol: 0,
            first_pass_done: false,
            parity_sent: HashMap::new(),
            stream,
            hold_until: None,
        });
        self.stats.objects_enqueued += 1;
        self.new_data(now);
        id
    }

    /// How long a sent stream block stays in the buffer at least after it was
    /// last sent or repaired: four repair rounds (a round is the receivers'
    /// NACK backoff, our aggregation, each up to K GRTTs, and two transits),
    /// so that receivers whose NACK or repair was lost can still ask. Without
    /// positive acknowledgement this is what keeps a stream reliable; it
    /// bounds a stream's rate to its buffer size per 40 GRTTs (K = 4).
    fn flow_delay(&self) -> Duration {
        secs(4.0 * self.grtt * (2.0 * self.cfg.backoff_factor as f64 + 2.0))
    }

    /// Blocks of stream `id` with repairs pending: they must not be reused.
    fn stream_busy(&self, id: u64) -> std::collections::HashSet<u64> {
        let mut busy: std::collections::HashSet<u64> =
            self.pending.get(&id).map(|r| r.stream_blocks.keys().copied().collect()).unwrap_or_default();
        for item in &self.repair_queue {
            match *item {
                TxItem::StreamSegment { obj, block, .. } | TxItem::StreamParity { obj, block, .. } if obj == id => {
                    busy.insert(block);
                }
                _ => {}
            }
        }
        busy
    }

    /// Forgets repair state of stream blocks that left the buffer.
    fn forget_stream_blocks(&mut self, id: u64, dropped: &[u64]) {
        for b in dropped {
            self.stream_repaired_at.remove(&(id, *b));
            self.stream_parity.retain(|(k, _)| *k != (id, *b));
        }
    }

    /// Writes pending end markers and reports streams that have room again.
    fn service_streams(&mut self, now: Instant) {
        for i in 0..self.objects.len() {
            let id = self.objects[i].id;
            let Some(st) = self.objects[i].stream.as_ref() else { continue };
            if !st.end_pending && !st.vacancy_wanted && !st.signature_due {
                continue;
            }
            let busy = self.stream_busy(id);
            let st = self.objects[i].stream.as_mut().expect("stream");
            if st.end_pending {
                let (written, dropped) = st.write_end(now, &busy);
                self.forget_stream_blocks(id, &dropped);
                if written {
                    self.new_data(now);
                }
                continue;
            }
            if let Some(dropped) = st.write_due_signature(now, &busy) {
                // The last message's signature had to wait for room.
                self.forget_stream_blocks(id, &dropped);
                self.new_data(now);
            }
            let st = self.objects[i].stream.as_mut().expect("stream");
            if st.vacancy_wanted && st.has_room(now, &busy) {
                st.vacancy_wanted = false;
                self.events.push_back(SenderEvent::StreamVacancy { id });
            }
        }
    }

    /// Keeps object `idx` (once sent) in the cache for another hold time:
    /// it is being asked for or repaired.
    fn hold(&mut self, now: Instant, idx: usize) {
        let until = now + self.flow_delay();
        let o = &mut self.objects[idx];
        if o.first_pass_done {
            o.hold_until = Some(o.hold_until.map_or(until, |t| t.max(until)));
        }
    }

    /// Whether an object whose source holds `memory` bytes would be accepted
    /// by [`Sender::enqueue`] now without `WouldBlock` (objects that can never
    /// fit count as accepted: `enqueue` reports them as `CacheFull`).
    pub fn can_enqueue(&self, now: Instant, memory: u64) -> bool {
        if self.closed || memory > self.cfg.cache_max_bytes {
            return true;
        }
        let max_objects = self.cfg.cache_max_objects.max(1);
        let (mut count, mut bytes) = (self.objects.len(), self.cache_bytes);
        for o in &self.objects {
            if count < max_objects && bytes + memory <= self.cfg.cache_max_bytes {
                return true;
            }
            if !self.purgeable(o, now) {
                return false;
            }
            count -= 1;
            bytes -= o.memory;
        }
        count < max_objects && bytes + memory <= self.cfg.cache_max_bytes
    }

    /// A writer waits for room in the cache (after `can_enqueue` said no):
    /// `SenderEvent::QueueVacancy` follows when there is, and with
    /// `FlowControl::WaitForAcks` the listed receivers are asked to
    /// acknowledge what they have.
    pub fn want_room(&mut self, now: Instant) {
        self.blocked = true;
        self.ask_for_acks(now);
    }

    fn purge(&mut self, o: TxObject) {
        self.cache_bytes -= o.memory;
        self.pending.remove(&o.id);
        self.parity_cache.retain(|((obj, _), _)| *obj != o.id);
        self.repaired_at.retain(|(obj, _), _| *obj != o.id);
        self.stream_repaired_at.retain(|(obj, _), _| *obj != o.id);
        self.stream_parity.retain(|((obj, _), _)| *obj != o.id);
        self.stats.objects_purged += 1;
        self.events.push_back(SenderEvent::ObjectPurged { id: o.id });
    }

    /// Asks for a flush round after everything queued so far; returns a token
    /// reported by `SenderEvent::FlushComplete` when the round is over.
    pub fn flush(&mut self, now: Instant) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        let idle = !self.first_pass_pending() && self.repair_queue.is_empty() && self.aggregate_at.is_none();
        if idle && (self.last_pos.is_none() || self.flush_done_since_data) {
            // Nothing sent since the last flush round: nothing to flush.
            self.events.push_back(SenderEvent::FlushComplete { token });
            return token;
        }
        self.flush_tokens.push(token);
        self.activate(now);
        token
    }

    /// Asks the receivers with node ids `nodes` to acknowledge everything
    /// sent so far (NORM_CMD(FLUSH) with an acking node list, answered by
    /// NORM_ACK(FLUSH)). Once the first pass is over, flushes naming the
    /// watermark go out every 2 GRTT (at least 10 ms), `robust_factor` times
    /// (again after repairs), until every node acknowledged;
    /// `SenderEvent::AckComplete` then says who did. Returns its token.
    pub fn flush_acked(&mut self, now: Instant, nodes: &[u32]) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        let mut nodes: Vec<u32> = nodes.to_vec();
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.is_empty() || self.last_pos.is_none() && !self.first_pass_pending() && self.objects.is_empty() {
            // Nobody to ask, or nothing ever sent to confirm.
            self.events.push_back(SenderEvent::AckComplete { token, acked: Vec::new(), missing: nodes });
            return token;
        }
        self.ack_rounds.push_back(AckRound { token, nodes, acked: BTreeSet::new(), watermark: None, covers: None, auto: false });
        self.flush_done_since_data = false;
        self.activate(now);
        token
    }

    /// Nodes that acknowledged so far, and those still missing, for an
    /// acknowledged flush still under way.
    pub fn ack_status(&self, token: u64) -> Option<(Vec<u32>, Vec<u32>)> {
        Some(self.ack_rounds.iter().find(|r| r.token == token)?.report())
    }

    fn finish_ack_round(&mut self, now: Instant) {
        if let Some(r) = self.ack_rounds.pop_front() {
            let (acked, missing) = r.report();
            if !r.auto {
                self.events.push_back(SenderEvent::AckComplete { token: r.token, acked, missing });
            }
        }
        if self.blocked && self.objects.front().is_some_and(|o| o.first_pass_done && !self.acked_by_all(o)) {
            // Flow control still waits for someone: ask again.
            self.ask_for_acks(now);
        }
        if !self.ack_rounds.is_empty() {
            // The next one needs a flush round of its own.
            self.flush_done_since_data = false;
        }
    }

    /// `node` acknowledged everything through object `covers`.
    fn note_acked(&mut self, now: Instant, node: u32, covers: u64) {
        let FlowControl::WaitForAcks(nodes) = &self.cfg.flow_control else { return };
        if !nodes.contains(&node) {
            return;
        }
        let a = self.acked_through.entry(node).or_insert(covers);
        *a = (*a).max(covers);
        if self.blocked && self.objects.front().is_some_and(|o| self.purgeable(o, now)) {
            self.blocked = false;
            self.events.push_back(SenderEvent::QueueVacancy);
        }
    }

    /// Stops the session: sends NORM_CMD(EOT) and then goes quiet.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.repair_queue.clear();
        self.pending.clear();
        self.aggregate_at = None;
        self.ctrl.clear();
        self.next_probe = None;
        self.next_flush = None;
        self.flush_remaining = 0;
        if self.stats.datagrams_sent > 0 {
            self.ctrl.push_back(Ctrl::Eot);
        }
        let _ = now;
    }

    pub fn node_id(&self) -> u32 {
        self.node_id
    }

    pub fn stats(&self) -> SenderStats {
        self.stats.clone()
    }

    pub fn poll_event(&mut self) -> Option<SenderEvent> {
        self.events.pop_front()
    }

    /// Starts probing (and the flush machinery) when there is work.
    fn activate(&mut self, now: Instant) {
        if self.next_probe.is_none() && !self.closed {
            self.next_probe = Some(now);
        }
    }

    /// Whether the first pass has something to send now. An open stream
    /// with nothing written is not pending (and holds back later objects).
    fn first_pass_pending(&self) -> bool {
        self.objects.iter().find(|o| !o.first_pass_done).is_some_and(|o| o.first_pass_ready())
    }

    fn has_tx_work(&self) -> bool {
        !self.ctrl.is_empty() || !self.repair_queue.is_empty() || self.first_pass_pending()
    }

    fn busy(&self) -> bool {
        self.has_tx_work() || self.aggregate_at.is_some() || self.flush_remaining > 0 || !self.flush_tokens.is_empty()
    }

    // ---- receiving ----

    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += data.len() as u64;
        if self.closed {
            return;
        }
        // A sealed channel opens (authenticates) every datagram before
        // anything else reads it.
        match seal::admit(self.seal.as_mut(), data) {
            Ok(None) => self.handle_opened(now, from, data),
            Ok(Some(buf)) => {
                self.handle_opened(now, from, &buf);
                if let Some(seal) = self.seal.as_mut() {
                    seal.give_back(buf);
                }
            }
            Err(r) => {
                let st = &mut self.stats;
                r.count(&mut st.datagrams_unauthenticated, &mut st.datagrams_replayed, &mut st.datagrams_seal_mismatch);
            }
        }
    }

    /// A datagram that is not sealed, or was opened.
    fn handle_opened(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let _ = from;
        let packet = match Packet::decode(data) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed_received += 1;
                return;
            }
        };
        match packet.body {
            Body::Nack(nack) => {
                if nack.server_id != self.node_id || nack.instance_id != self.instance_id {
                    return;
                }
                self.stats.nacks_received += 1;
                let rtt = self.rtt_sample(now, nack.grtt_response);
                if let Some(fb) = &nack.cc {
                    self.cc_feedback(now, packet.source_id, fb, rtt);
                }
                self.nack_tally.clear();
                for req in &nack.requests {
                    self.handle_repair_request(now, req);
                }
                if !self.pending.is_empty() || !self.pending_squelch.is_empty() || self.pending_stream_squelch.is_some() {
                    if self.aggregate_at.is_none() {
                        let k = (self.cfg.backoff_factor.max(1)) as f64;
                        self.aggregate_at = Some(now + secs(k * self.grtt));
                    }
                    // Repairs restart the flush round once they are out.
                    self.flush_remaining = 0;
                    self.next_flush = None;
                    self.activate(now);
                }
            }
            Body::Ack(ack) => {
                if ack.server_id != self.node_id || ack.instance_id != self.instance_id {
                    return;
                }
                if ack.ack_type == ack_type::CC || ack.ack_type == ack_type::FLUSH {
                    let rtt = self.rtt_sample(now, ack.grtt_response);
                    if let Some(fb) = &ack.cc {
                        self.cc_feedback(now, packet.source_id, fb, rtt);
                    }
                }
                if let (wire::AckBody::Flush(item), Some(r)) = (&ack.body, self.ack_rounds.front_mut()) {
                    let matches = r.watermark.is_some_and(|(obj, block, symbol)| {
                        item.object_id == obj as u16 && item.payload_id.block == (block & 0x00ff_ffff) as u32 && item.payload_id.symbol == symbol
                    });
                    if ack.ack_type == ack_type::FLUSH && matches && r.nodes.contains(&packet.source_id) {
                        r.acked.insert(packet.source_id);
                        let (done, covers) = (r.acked.len() == r.nodes.len(), r.covers);
                        if let Some(c) = covers {
                            self.note_acked(now, packet.source_id, c);
                        }
                        if done {
                            self.finish_ack_round(now);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Takes a round-trip sample from an echoed probe time; returns it.
    fn rtt_sample(&mut self, now: Instant, t: wire::NormTime) -> Option<f64> {
        if t == wire::NormTime::default() {
            return None;
        }
        let sent = self.clock.from_norm(t);
        if sent > now {
            return None;
        }
        let rtt = (now - sent).as_secs_f64();
        if rtt > 60.0 {
            return None;
        }
        let rtt = rtt.max(GRTT_MIN);
        self.grtt_peak = self.grtt_peak.max(rtt);
        if rtt > self.grtt {
            // Increases take effect at once (RFC 5740 section 5.1.1).
            self.set_grtt(rtt);
        }
        Some(rtt)
    }

    fn cc_feedback(&mut self, now: Instant, node_id: u32, fb: &wire::CcFeedback, rtt: Option<f64>) {
        if let Some(cc) = self.cc.as_mut() {
            cc.on_feedback(now, node_id, fb, rtt, self.grtt);
            tracing::trace!(
                node_id,
                rate = quant::unquantize_rate(fb.cc_rate) * 8.0,
                loss = quant::unquantize_loss(fb.cc_loss),
                flags = fb.cc_flags,
                rtt,
                tx_rate = cc.rate() * 8.0,
                clr = cc.clr(),
                "congestion feedback"
            );
            self.stats.cc_feedback_received = cc.feedback_received;
            self.sync_cc_stats();
        }
    }

    /// Copies the rate and the CLR into the stats.
    fn sync_cc_stats(&mut self) {
        if let Some(cc) = &self.cc {
            self.stats.cc_clr = cc.clr().unwrap_or(0);
            self.stats.tx_rate_bps = (cc.rate() * 8.0) as u64;
        }
    }

    /// The pacing rate in bytes per second.
    fn tx_rate(&self) -> f64 {
        self.cc.as_ref().map_or(self.cfg.rate_bps as f64 / 8.0, |c| c.rate())
    }

    fn set_grtt(&mut self, grtt: f64) {
        let g = grtt.clamp(GRTT_MIN, self.cfg.grtt_max.as_secs_f64().max(GRTT_MIN));
        self.grtt_q = quant::quantize_rtt(g);
        self.grtt = quant::unquantize_rtt(self.grtt_q);
        self.stats.grtt_us = (self.grtt * 1e6) as u64;
    }

    /// Resolves a 16-bit object id from a receiver against our id space.
    fn resolve_object(&self, wire_id: u16) -> i64 {
        let reference = self.next_id as i64;
        let delta = wire_id.wrapping_sub(reference as u16) as i16 as i64;
        reference + delta
    }

    fn object_index(&self, id: u64) -> Option<usize> {
        let first = self.objects.front()?.id;
        if id < first {
            return None;
        }
        let idx = (id - first) as usize;
        (idx < self.objects.len()).then_some(idx)
    }

    fn handle_repair_request(&mut self, now: Instant, req: &wire::RepairRequest) {
        for (first, last) in req.pairs() {
            let first_obj = self.resolve_object(first.object_id);
            let last_obj = self.resolve_object(last.object_id).max(first_obj);
            if last_obj - first_obj > 4096 {
                continue; // nonsense range
            }
            for obj in first_obj..=last_obj {
                if obj >= self.next_id as i64 {
                    continue; // not yet enqueued: nothing to repair
                }
                let Some(idx) = (obj >= 0).then(|| self.object_index(obj as u64)).flatten() else {
                    self.pending_squelch.insert(obj as u16);
                    continue;
                };
                self.hold(now, idx);
                if self.objects[idx].stream.is_some() {
                    self.request_stream_repair(now, idx, req, first, last, first_obj == last_obj);
                } else {
                    self.request_object_repair(now, idx, req, first, last, first_obj == last_obj);
                }
            }
        }
    }

    fn request_object_repair(&mut self, now: Instant, idx: usize, req: &wire::RepairRequest, first: RepairItem, last: RepairItem, single: bool) {
        let o = &self.objects[idx];
        let id = o.id;
        let layout = o.layout;
        let has_info = o.info.is_some();
        let started: Vec<bool>;
        let grtt = secs(self.grtt);
        let entry = self.pending.entry(id).or_default();
        if req.flags & nack_flags::INFO != 0 && has_info {
            entry.info = true;
        }
        if req.flags & nack_flags::OBJECT != 0 {
            // The first pass will deliver anything it has not reached yet.
            if self.objects[idx].first_pass_done {
                entry.whole = true;
            }
            return;
        }
        if req.flags & (nack_flags::SEGMENT | nack_flags::BLOCK) == 0 {
            return;
        }
        let (b0, b1) = if single {
            (first.payload_id.block, last.payload_id.block.max(first.payload_id.block))
        } else {
            (0, layout.num_blocks.saturating_sub(1))
        };
        if b0 >= layout.num_blocks {
            return;
        }
        let b1 = b1.min(layout.num_blocks - 1);
        if b1 - b0 > 65536 {
            return;
        }
        started = (b0..=b1).map(|b| self.objects[idx].block_started(b)).collect();
        let entry = self.pending.get_mut(&id).expect("entry inserted above");
        for (i, block) in (b0..=b1).enumerate() {
            if !started[i] {
                continue;
            }
            if let Some(t) = self.repaired_at.get(&(id, block)) {
                // A NACK this soon after the repair went out was sent before the
                // receiver could see it.
                if now < *t + grtt {
                    continue;
                }
            }
            let block_len = layout.block_len(block);
            let br = entry.blocks.entry(block).or_default();
            if req.flags & nack_flags::BLOCK != 0 || b0 != b1 || first.payload_id.block != last.payload_id.block {
                br.erasures = br.erasures.max(block_len);
                br.explicit.extend(0..block_len);
                continue;
            }
            let (s0, s1) = if req.form == nack_form::ERASURES {
                // ERASURES names a count, not the segments themselves.
                (0u16, first.payload_id.symbol.saturating_sub(1))
            } else {
                (first.payload_id.symbol, last.payload_id.symbol.max(first.payload_id.symbol))
            };
            let count = (s1 - s0 + 1).min(block_len);
            let tally = self.nack_tally.entry((id, block as u64)).or_insert(0);
            *tally = tally.saturating_add(count).min(block_len);
            br.erasures = br.erasures.max(*tally);
            if req.form != nack_form::ERASURES {
                br.explicit.extend((s0..=s1).filter(|s| *s < block_len));
                br.parity.extend((s0..=s1).filter(|s| *s >= block_len).map(|s| s - block_len).filter(|i| *i < self.cfg.parity));
            }
        }
    }

    /// A NACK for stream blocks: blocks still buffered are repaired, older
    /// ones answered with NORM_CMD(SQUELCH) naming the oldest block kept.
    fn request_stream_repair(&mut self, now: Instant, idx: usize, req: &wire::RepairRequest, first: RepairItem, last: RepairItem, single: bool) {
        let o = &self.objects[idx];
        let id = o.id;
        let has_info = o.info.is_some();
        let st = o.stream.as_ref().expect("a stream");
        let grtt = secs(self.grtt);
        if req.flags & nack_flags::INFO != 0 && has_info {
            self.pending.entry(id).or_default().info = true;
        }
        if req.flags & (nack_flags::SEGMENT | nack_flags::BLOCK) == 0 || req.flags & nack_flags::OBJECT != 0 || !single {
            // A stream cannot be sent again as a whole.
            return;
        }
        let b0 = unwrap_u24(st.tx_block, first.payload_id.block);
        let b1 = unwrap_u24(st.tx_block, last.payload_id.block).max(b0);
        if b1 - b0 > st.max_blocks as u64 {
            return;
        }
        let mut wanted: Vec<(u64, u16, Vec<u16>)> = Vec::new();
        let mut squelch = false;
        for b in b0..=b1 {
            if b < st.first_block {
                squelch = true;
                continue;
            }
            let sent = st.sent_in(b);
            if sent == 0 || st.block(b).is_none() {
                continue;
            }
            if self.stream_repaired_at.get(&(id, b)).is_some_and(|t| now < *t + grtt) {
                continue;
            }
            if req.flags & nack_flags::BLOCK != 0 || b0 != b1 {
                wanted.push((b, sent, (0..sent).collect()));
                continue;
            }
            let (s0, s1) = if req.form == nack_form::ERASURES {
                (0u16, first.payload_id.symbol.saturating_sub(1))
            } else {
                (first.payload_id.symbol, last.payload_id.symbol.max(first.payload_id.symbol))
            };
            let count = (s1 - s0 + 1).min(sent);
            let explicit = if req.form == nack_form::ERASURES { Vec::new() } else { (s0..=s1).filter(|x| *x < sent).collect() };
            wanted.push((b, count, explicit));
        }
        if squelch {
            self.pending_stream_squelch = Some(id);
        }
        let entry = self.pending.entry(id).or_default();
        for (b, count, explicit) in wanted {
            let br = entry.stream_blocks.entry(b).or_default();
            let tally = self.nack_tally.entry((id, b)).or_insert(0);
            *tally = tally.saturating_add(count).min(st.ndata);
            br.erasures = br.erasures.max(*tally);
            br.explicit.extend(explicit);
        }
    }

    // ---- timers ----

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        if self.has_tx_work() {
            consider(Some(self.next_tx));
        }
        consider(self.aggregate_at);
        consider(self.next_probe);
        consider(self.next_flush);
        // The oldest object's hold ending frees room in the cache.
        if let Some(o) = self.objects.front().filter(|o| o.first_pass_done) {
            consider(o.hold_until);
        }
        // A stream waiting for room that only time will free.
        for o in &self.objects {
            if let Some(st) = o.stream.as_ref().filter(|st| st.end_pending || st.vacancy_wanted || st.signature_due) {
                consider(st.front_reusable_at(&self.stream_busy(o.id)));
            }
        }
        t
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.service_streams(now);
        if let Some(o) = self.objects.front_mut().filter(|o| o.first_pass_done && o.hold_until.is_some_and(|t| t <= now)) {
            o.hold_until = None;
            if self.blocked {
                self.blocked = false;
                self.events.push_back(SenderEvent::QueueVacancy);
            }
        }
        if self.aggregate_at.is_some_and(|t| t <= now) {
            self.aggregate_at = None;
            self.schedule_repairs(now);
        }
        if self.next_probe.is_some_and(|t| t <= now) {
            if self.busy() {
                self.ctrl.push_back(Ctrl::Probe);
                let interval = if self.cc.is_some() {
                    // At low rates probes would crowd out data: they take at
                    // most a tenth of the rate.
                    let share = PROBE_WIRE_BYTES / (0.1 * self.tx_rate());
                    self.grtt.max(share).clamp(MIN_CC_PROBE_INTERVAL, MAX_PROBE_INTERVAL)
                } else {
                    (2.0 * self.grtt).clamp(MIN_PROBE_INTERVAL, MAX_PROBE_INTERVAL)
                };
                if let Some(cc) = self.cc.as_mut() {
                    cc.on_probe(now, secs(interval));
                    self.sync_cc_stats();
                }
                self.next_probe = Some(now + secs(interval));
            } else {
                self.next_probe = None;
            }
        }
        self.maybe_start_flush(now);
        if self.next_flush.is_some_and(|t| t <= now) {
            if self.flush_remaining > 0 {
                self.ctrl.push_back(Ctrl::Flush);
                self.flush_remaining -= 1;
                let interval = secs(2.0 * self.grtt).max(MIN_FLUSH_INTERVAL);
                self.next_flush = Some(now + interval);
            } else {
                // The last flush has had its 2*GRTT for NACKs: the round is over.
                self.next_flush = None;
                self.flush_done_since_data = true;
                match self.ack_rounds.front() {
                    Some(r) if r.watermark.is_some() => self.finish_ack_round(now),
                    // Asked for during this round: it needs one of its own.
                    Some(_) => self.flush_done_since_data = false,
                    None => {}
                }
                for token in self.flush_tokens.drain(..) {
                    self.events.push_back(SenderEvent::FlushComplete { token });
                }
            }
        }
    }

    /// Begins a flush round once the first pass and all repairs are done.
    fn maybe_start_flush(&mut self, now: Instant) {
        if self.next_flush.is_some() || self.last_pos.is_none() {
            return;
        }
        if self.first_pass_pending() || !self.repair_queue.is_empty() || self.aggregate_at.is_some() {
            return;
        }
        if self.flush_remaining == 0 && !self.flush_done_since_data {
            self.flush_remaining = self.cfg.robust_factor.max(1);
            self.next_flush = Some(now);
            if let Some(r) = self.ack_rounds.front_mut().filter(|r| r.watermark.is_none()) {
                r.watermark = self.last_pos;
                // The watermark's object is covered unless it is a stream
                // still open (the watermark is then not its end).
                let wm_obj = self.last_pos.map(|(obj, _, _)| obj);
                let open = wm_obj.and_then(|id| self.objects.iter().find(|o| o.id == id)).is_some_and(|o| !o.first_pass_done);
                r.covers = wm_obj.and_then(|id| if open { id.checked_sub(1) } else { Some(id) });
            }
        }
    }

    /// Turns the NACKs aggregated over the last period into repair transmissions.
    /// Segments one repair round may queue (less what is still queued):
    /// a second of transmission at the rate cap, at least 8 MiB. This is
    /// what bounds the traffic one NACK can cause (a forged one included):
    /// a receiver that needs more asks again next round for what is left.
    fn repair_round_budget(&self) -> usize {
        let bytes = (self.cfg.rate_bps / 8).max(REPAIR_ROUND_MIN_BYTES);
        let segments = (bytes / self.cfg.segment_size.max(1) as u64) as usize;
        segments.saturating_sub(self.repair_queue.len())
    }

    fn schedule_repairs(&mut self, now: Instant) {
        let flow = self.flow_delay();
        let mut budget = self.repair_round_budget();
        let pending = std::mem::take(&mut self.pending);
        for (id, rep) in pending {
            let Some(idx) = self.object_index(id) else { continue };
            if rep.info && !self.repair_queue.iter().any(|i| matches!(i, TxItem::Info(x) if *x == id)) {
                self.repair_queue.push_back(TxItem::Info(id));
            }
            if let Some(st) = self.objects[idx].stream.as_mut() {
                for (b, br) in rep.stream_blocks {
                    let full = st.block_full(b);
                    let sent_data = st.sent_in(b);
                    let Some(block) = st.block_mut(b) else { continue };
                    let sent = block.parity_sent;
                    let avail = if self.rs.is_some() && full { self.cfg.parity.saturating_sub(sent) } else { 0 };
                    let before = budget;
                    let fresh = br.erasures.min(avail).min(budget as u16);
                    budget -= fresh as usize;
                    for index in sent..sent + fresh {
                        self.repair_queue.push_back(TxItem::StreamParity { obj: id, block: b, index });
                    }
                    block.parity_sent += fresh;
                    block.hold_until = block.hold_until.max(Some(now + flow));
                    if br.erasures > fresh {
                        let explicit: Vec<u16> = if br.explicit.is_empty() { (0..sent_data).collect() } else { br.explicit.into_iter().collect() };
                        for symbol in explicit.into_iter().take(budget) {
                            self.repair_queue.push_back(TxItem::StreamSegment { obj: id, block: b, symbol });
                            budget -= 1;
                        }
                    }
                    if budget == before {
                        continue; // nothing queued: not repaired this round
                    }
                    self.stream_repaired_at.insert((id, b), now);
                }
                continue;
            }
            if rep.whole {
                // As many whole blocks as the budget allows, from the start.
                let layout = self.objects[idx].layout;
                let (mut end, mut segments) = (0u32, 0usize);
                while end < layout.num_blocks && segments + layout.block_len(end) as usize <= budget {
                    segments += layout.block_len(end) as usize;
                    end += 1;
                }
                if end > 0 {
                    budget -= segments;
                    self.repair_queue.push_back(TxItem::Blocks { obj: id, next: 0, end });
                }
                continue;
            }
            for (block, br) in rep.blocks {
                let o = &mut self.objects[idx];
                let block_len = o.layout.block_len(block);
                let sent = o.parity_sent.get(&block).copied().unwrap_or(0);
                let avail = if self.rs.is_some() { self.cfg.parity.saturating_sub(sent) } else { 0 };
                let before = budget;
                let fresh = br.erasures.min(avail).min(budget as u16);
                budget -= fresh as usize;
                for index in sent..sent + fresh {
                    self.repair_queue.push_back(TxItem::Parity { obj: id, block, index });
                }
                if fresh > 0 {
                    o.parity_sent.insert(block, sent + fresh);
                }
                if br.erasures > fresh {
                    // Parity is used up: send the named segments themselves,
                    // data and parity sent before (lost by whoever names it).
                    let resend: Vec<u16> = br.parity.into_iter().filter(|i| *i < sent).collect();
                    let explicit: Vec<u16> = if br.explicit.is_empty() && resend.is_empty() { (0..block_len).collect() } else { br.explicit.into_iter().collect() };
                    for symbol in explicit.into_iter().take(budget) {
                        self.repair_queue.push_back(TxItem::Segment { obj: id, block, symbol });
                        budget -= 1;
                    }
                    for index in resend.into_iter().take(budget) {
                        self.repair_queue.push_back(TxItem::Parity { obj: id, block, index });
                        budget -= 1;
                    }
                }
                if budget == before {
                    continue; // nothing queued: not repaired this round
                }
                self.repaired_at.insert((id, block), now);
            }
        }
        let squelch = std::mem::take(&mut self.pending_squelch);
        let stream = self.pending_stream_squelch.take();
        if !squelch.is_empty() || stream.is_some() {
            let max = (self.cfg.segment_size as usize / 2).max(1);
            self.ctrl.push_back(Ctrl::Squelch { stream, invalid: squelch.into_iter().take(max).collect() });
        }
        self.flush_done_since_data = false;
        self.flush_remaining = 0;
        self.next_flush = None;
    }

    // ---- transmitting ----

    fn sender_header(&self) -> SenderHeader {
        SenderHeader { instance_id: self.instance_id, grtt: self.grtt_q, backoff: self.cfg.backoff_factor, gsize: self.gsize_q }
    }

    fn fti(&self, layout: &BlockLayout) -> Fti {
        fti_of(layout)
    }

    fn next_sequence(&mut self) -> u16 {
        let s = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        s
    }

    /// Writes the next datagram into `buf` (cleared first) if one is due now.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Destination> {
        buf.clear();
        if now < self.next_tx {
            return None;
        }
        loop {
            if let Some(c) = self.ctrl.pop_front() {
                self.write_ctrl(now, c, buf);
                break;
            }
            if self.closed {
                return None;
            }
            if let Some(item) = self.repair_queue.pop_front() {
                if self.write_item(now, item, true, buf) {
                    break;
                }
                continue;
            }
            match self.next_first_pass_item(now) {
                Some(item) => {
                    if self.write_item(now, item, false, buf) {
                        break;
                    }
                }
                None => {
                    // The rate allowed a datagram and there was none: for
                    // congestion control, the sender is data-limited.
                    if let Some(cc) = self.cc.as_mut() {
                        cc.note_idle();
                    }
                    return None;
                }
            }
        }
        if let Some(seal) = self.seal.as_mut() {
            // Every message we write has a header with room (hdr_len well
            // under 255 - 11 words).
            let sealed = seal.sealer.seal(buf, seal::unix_micros());
            debug_assert!(sealed, "a message we wrote could not be sealed");
        }
        self.account(now, buf.len());
        if self.objects.iter().any(|o| o.stream.as_ref().is_some_and(|st| st.end_pending || st.vacancy_wanted || st.signature_due)) {
            self.service_streams(now);
        }
        Some(Destination::Group)
    }

    fn account(&mut self, now: Instant, len: usize) {
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += len as u64;
        // Pace on the IPv6 + UDP wire size. Unused time earns credit for a
        // burst of up to PACING_CREDIT (or 4 datagrams): the engine's timers
        // have millisecond granularity (epoll), so without it a sender that
        // sleeps 1 ms between turns could never exceed 4 datagrams per ms.
        let wire = (len + 48) as f64;
        let interval = secs(wire / self.tx_rate());
        let credit = (interval * 4).max(PACING_CREDIT);
        let floor = now.checked_sub(credit).unwrap_or(now);
        self.next_tx = self.next_tx.max(floor) + interval;
    }

    /// Advances the first pass and returns what it sends next.
    fn next_first_pass_item(&mut self, now: Instant) -> Option<TxItem> {
        let hold = now + self.flow_delay();
        let auto = if self.rs.is_some() { self.cfg.auto_parity } else { 0 };
        let idx = self.objects.iter().position(|o| !o.first_pass_done)?;
        let o = &mut self.objects[idx];
        if o.info_pending {
            o.info_pending = false;
            return Some(TxItem::Info(o.id));
        }
        if let Some(st) = o.stream.as_mut() {
            let id = o.id;
            let (block, symbol) = st.next_first_pass(auto)?;
            let item = if symbol < st.ndata {
                self.last_pos = Some((id, block, symbol));
                TxItem::StreamSegment { obj: id, block, symbol }
            } else {
                let index = symbol - st.ndata;
                if let Some(b) = st.block_mut(block) {
                    b.parity_sent = b.parity_sent.max(index + 1);
                }
                TxItem::StreamParity { obj: id, block, index }
            };
            if st.first_pass_done() {
                o.first_pass_done = true;
                o.hold_until = Some(hold);
                self.stats.objects_sent += 1;
                self.events.push_back(SenderEvent::ObjectSent { id });
                if self.blocked {
                    self.blocked = false;
                    self.events.push_back(SenderEvent::QueueVacancy);
                }
            }
            return Some(item);
        }
        let block = o.next_block;
        let symbol = o.next_symbol;
        let block_len = o.layout.block_len(block);
        let item = if symbol < block_len {
            self.last_pos = Some((o.id, block as u64, symbol));
            TxItem::Segment { obj: o.id, block, symbol }
        } else {
            let index = symbol - block_len;
            let sent = o.parity_sent.entry(block).or_insert(0);
            *sent = (*sent).max(index + 1);
            TxItem::Parity { obj: o.id, block, index }
        };
        o.next_symbol += 1;
        if o.next_symbol >= block_len + auto {
            o.next_symbol = 0;
            o.next_block += 1;
            if o.next_block >= o.layout.num_blocks {
                o.first_pass_done = true;
                o.hold_until = Some(hold);
                let id = o.id;
                if auto > 0 && o.info.is_some() {
                    // Proactive parity means receivers may not ask for
                    // anything (silent receivers cannot): send the NORM_INFO
                    // a second time, after the data, so one loss does not
                    // leave the object unnamed (and incomplete) for them.
                    self.repair_queue.push_back(TxItem::Info(id));
                }
                self.stats.objects_sent += 1;
                self.events.push_back(SenderEvent::ObjectSent { id });
                if self.blocked {
                    self.blocked = false;
                    self.events.push_back(SenderEvent::QueueVacancy);
                }
            }
        }
        Some(item)
    }

    /// Encodes one object message; false if the object is gone or unreadable.
    fn write_item(&mut self, now: Instant, item: TxItem, repair: bool, buf: &mut Vec<u8>) -> bool {
        let Some(idx) = self.object_index(item.obj()) else { return false };
        if repair {
            self.hold(now, idx);
        }
        if matches!(item, TxItem::StreamSegment { .. } | TxItem::StreamParity { .. }) {
            return self.write_stream_item(now, idx, item, repair, buf);
        }
        if let TxItem::Blocks { obj, next, end } = item {
            // Expand one block of a whole-object repair, keep the rest queued.
            let layout = self.objects[idx].layout;
            if next >= layout.num_blocks {
                return false;
            }
            if next + 1 < end.min(layout.num_blocks) {
                self.repair_queue.push_front(TxItem::Blocks { obj, next: next + 1, end });
            }
            for symbol in (0..layout.block_len(next)).rev() {
                self.repair_queue.push_front(TxItem::Segment { obj, block: next, symbol });
            }
            return false;
        }
        let sender = self.sender_header();
        let o = &self.objects[idx];
        let mut base_flags = o.base_flags();
        if repair {
            base_flags |= flags::REPAIR;
        }
        let object = ObjectHeader { sender, flags: base_flags, fec_id: fec_id::RS8, object_id: o.id as u16, fti: Some(self.fti(&o.layout)) };
        let sequence = self.next_sequence();
        let source_id = self.node_id;
        match item {
            TxItem::Info(_) => {
                let (info, signed) = (self.objects[idx].info.clone().unwrap_or_default(), self.objects[idx].signed);
                Packet { sequence, source_id, body: Body::Info(Info { object, info: &info, signed }) }.encode(buf);
                self.stats.info_sent += 1;
                true
            }
            TxItem::Segment { block, symbol, .. } => {
                let layout = self.objects[idx].layout;
                let (offset, len) = layout.segment_range(block, symbol);
                let mut payload = std::mem::take(&mut self.scratch);
                payload.resize(len, 0);
                if let Err(e) = self.objects[idx].source.read_at(offset, &mut payload) {
                    self.scratch = payload;
                    self.fail_object(idx, e);
                    return false;
                }
                let payload_id = FecPayloadId { block, symbol, block_len: layout.block_len(block) };
                Packet { sequence, source_id, body: Body::Data(Data { object, payload_id, payload: &payload }) }.encode(buf);
                self.scratch = payload;
                if repair {
                    self.stats.repair_segments_sent += 1;
                } else {
                    self.stats.data_segments_sent += 1;
                }
                true
            }
            TxItem::Parity { block, index, .. } => {
                let parity = match self.parity(idx, block) {
                    Ok(p) => p,
                    Err(e) => {
                        self.fail_object(idx, e);
                        return false;
                    }
                };
                let layout = self.objects[idx].layout;
                let block_len = layout.block_len(block);
                let rs = self.rs.as_ref().expect("parity only with a codec");
                let symbol = rs.parity_symbol_id(block_len as usize, index as usize);
                let payload_id = FecPayloadId { block, symbol, block_len };
                // Like libnorm, send parity only as long as the block's longest
                // data segment (its first): the rest would be zeros.
                let len = layout.segment_range(block, 0).1;
                let payload = &parity[index as usize][..len];
                Packet { sequence, source_id, body: Body::Data(Data { object, payload_id, payload }) }.encode(buf);
                self.stats.parity_segments_sent += 1;
                if repair {
                    self.stats.repair_segments_sent += 1;
                }
                true
            }
            TxItem::Blocks { .. } => unreachable!("expanded above"),
            TxItem::StreamSegment { .. } | TxItem::StreamParity { .. } => unreachable!("written by write_stream_item"),
        }
    }

    /// Encodes one stream segment or parity segment; false if its block left
    /// the buffer (or, for parity, is not full).
    fn write_stream_item(&mut self, now: Instant, idx: usize, item: TxItem, repair: bool, buf: &mut Vec<u8>) -> bool {
        let (block, symbol, parity) = match item {
            TxItem::StreamSegment { block, symbol, .. } => (block, symbol, None),
            TxItem::StreamParity { block, index, .. } => {
                let Some(p) = self.stream_parity_of(idx, block) else { return false };
                (block, index, Some(p))
            }
            _ => return false,
        };
        let sender = self.sender_header();
        let sequence = self.sequence;
        let flow = self.flow_delay();
        let o = &mut self.objects[idx];
        let mut base_flags = o.base_flags();
        if repair {
            base_flags |= flags::REPAIR;
        }
        let object = ObjectHeader { sender, flags: base_flags, fec_id: fec_id::RS8, object_id: o.id as u16, fti: Some(fti_of(&o.layout)) };
        let st = o.stream.as_mut().expect("a stream");
        let ndata = st.ndata;
        let closed = block * ndata as u64 + (symbol as u64) < st.write_index || parity.is_some();
        let Some(b) = st.block_mut(block) else { return false };
        b.hold_until = b.hold_until.max(Some(now + flow));
        let source_id = self.node_id;
        let payload_id;
        match &parity {
            None => {
                let Some(seg) = b.segments.get(symbol as usize).filter(|_| closed) else { return false };
                payload_id = FecPayloadId { block: wire_block(block), symbol, block_len: ndata };
                Packet { sequence, source_id, body: Body::Data(Data { object, payload_id, payload: seg }) }.encode(buf);
            }
            Some(p) => {
                let (segments, len) = &**p;
                let rs = self.rs.as_ref().expect("parity only with a codec");
                let Some(seg) = segments.get(symbol as usize) else { return false };
                payload_id = FecPayloadId { block: wire_block(block), symbol: rs.parity_symbol_id(ndata as usize, symbol as usize), block_len: ndata };
                Packet { sequence, source_id, body: Body::Data(Data { object, payload_id, payload: &seg[..*len] }) }.encode(buf);
            }
        }
        self.sequence = self.sequence.wrapping_add(1);
        if parity.is_some() {
            self.stats.parity_segments_sent += 1;
            if repair {
                self.stats.repair_segments_sent += 1;
            }
        } else if repair {
            self.stats.repair_segments_sent += 1;
        } else {
            self.stats.data_segments_sent += 1;
        }
        true
    }

    /// Parity of a full stream block, computed once and kept for a few blocks.
    fn stream_parity_of(&mut self, idx: usize, block: u64) -> Option<StreamParity> {
        let key = (self.objects[idx].id, block);
        if let Some((_, p)) = self.stream_parity.iter().find(|(k, _)| *k == key) {
            return Some(p.clone());
        }
        let rs = self.rs.as_ref()?;
        let p = std::sync::Arc::new(self.objects[idx].stream.as_ref()?.parity(block, rs, self.cfg.parity as usize)?);
        if self.stream_parity.len() >= PARITY_CACHE_BLOCKS {
            self.stream_parity.pop_front();
        }
        self.stream_parity.push_back((key, p.clone()));
        Some(p)
    }

    fn fail_object(&mut self, idx: usize, e: std::io::Error) {
        let o = self.objects.remove(idx).expect("index valid");
        let id = o.id;
        self.cache_bytes -= o.memory;
        self.pending.remove(&id);
        self.repair_queue.retain(|i| i.obj() != id);
        self.stats.objects_aborted += 1;
        self.events.push_back(SenderEvent::ObjectError { id, message: format!("reading object {id} failed: {e}") });
    }

    /// Parity segments of one block, computed once and kept for a few blocks.
    fn parity(&mut self, idx: usize, block: u32) -> std::io::Result<std::sync::Arc<Vec<Vec<u8>>>> {
        let key = (self.objects[idx].id, block);
        if let Some(pos) = self.parity_cache.iter().position(|(k, _)| *k == key) {
            return Ok(self.parity_cache[pos].1.clone());
        }
        let o = &self.objects[idx];
        let layout = o.layout;
        let seg = layout.segment_size as usize;
        let block_len = layout.block_len(block) as usize;
        let (start, _) = layout.segment_range(block, 0);
        let end = (start + (block_len * seg) as u64).min(layout.object_size);
        // FEC works on whole segments: the short last segment is zero-padded.
        let mut data = vec![0u8; block_len * seg];
        o.source.read_at(start, &mut data[..(end - start) as usize])?;
        let rs = self.rs.as_ref().expect("parity only with a codec");
        let mut parity = vec![vec![0u8; seg]; self.cfg.parity as usize];
        {
            let refs: Vec<&[u8]> = data.chunks(seg).collect();
            let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(|p| p.as_mut_slice()).collect();
            rs.encode_all(&refs, &mut outs);
        }
        let parity = std::sync::Arc::new(parity);
        if self.parity_cache.len() >= PARITY_CACHE_BLOCKS {
            self.parity_cache.pop_front();
        }
        self.parity_cache.push_back((key, parity.clone()));
        Ok(parity)
    }

    fn write_ctrl(&mut self, now: Instant, c: Ctrl, buf: &mut Vec<u8>) {
        let sender = self.sender_header();
        let cmd = match c {
            Ctrl::Probe => {
                self.probe_seq = self.probe_seq.wrapping_add(1);
                // A probe closes a GRTT measurement interval: decrease slowly
                // towards what the responses showed (increases were immediate).
                if self.grtt_peak > 0.0 && self.grtt_peak < self.grtt {
                    self.set_grtt(self.grtt_peak.max(self.grtt * 0.5));
                }
                self.grtt_peak = 0.0;
                self.stats.probes_sent += 1;
                // Under congestion control the probe carries the current rate
                // (EXT_RATE) and names the CLR (cc_node_list).
                let (rate, nodes) = match &self.cc {
                    Some(cc) => (Some(quant::quantize_rate(cc.rate())), cc.probe_nodes()),
                    None => (None, Vec::new()),
                };
                Cmd::Cc { cc_sequence: self.probe_seq, send_time: self.clock.to_norm(now), rate, nodes }
            }
            Ctrl::Flush => {
                let (obj, block, symbol) = self.last_pos.unwrap_or((0, 0, 0));
                let (block, block_len) = match self.object_index(obj).map(|i| &self.objects[i]) {
                    Some(TxObject { stream: Some(st), .. }) => (wire_block(block), st.ndata),
                    Some(o) => (block as u32, o.layout.block_len(block as u32)),
                    None => (block as u32, 0),
                };
                self.stats.flushes_sent += 1;
                // An acknowledged flush under way names its nodes that have
                // not answered yet (when this flush is its watermark).
                let acking_nodes = match self.ack_rounds.front() {
                    Some(r) if r.watermark == self.last_pos => r.missing().collect(),
                    _ => Vec::new(),
                };
                Cmd::Flush {
                    item: RepairItem { fec_id: fec_id::RS8, object_id: obj as u16, payload_id: FecPayloadId { block, symbol, block_len } },
                    acking_nodes,
                }
            }
            Ctrl::Squelch { stream, invalid } => {
                // Names the oldest object kept or, for a stream that got NACKs
                // for blocks it no longer has, the stream and its oldest block
                // (as libnorm does).
                let oldest = self.objects.front().map(|o| o.id).unwrap_or(self.next_id);
                let mut item = RepairItem { fec_id: fec_id::RS8, object_id: oldest as u16, payload_id: FecPayloadId::default() };
                if let Some(st) = stream.and_then(|id| self.object_index(id)).and_then(|i| self.objects[i].stream.as_ref()) {
                    item.object_id = stream.expect("some") as u16;
                    item.payload_id = FecPayloadId { block: wire_block(st.first_block), symbol: 0, block_len: st.ndata };
                }
                self.stats.squelches_sent += 1;
                Cmd::Squelch { item, invalid_objects: invalid }
            }
            Ctrl::Eot => Cmd::Eot,
        };
        let sequence = self.next_sequence();
        Packet { sequence, source_id: self.node_id, body: Body::Cmd(CmdMsg { sender, cmd }) }.encode(buf);
    }
}

/// The segment size objects are cut with: `segment_size` less what sealing
/// takes.
pub(crate) fn content_segment_size(cfg: &SenderConfig) -> u16 {
    cfg.segment_size - if cfg.key.is_some() { seal::OVERHEAD as u16 } else { 0 }
}

/// The content digest a signing sender signs ([`sign::Digest`]), read
/// through `source`: what a sender with `cfg` computes for an object, for
/// callers that do this (reading a whole file) away from the engine thread.
/// `Ok(None)` for a sender that does not sign.
pub fn object_digest(cfg: &SenderConfig, source: &dyn ObjectSource) -> std::io::Result<Option<[u8; 32]>> {
    if cfg.signing_key.is_none() {
        return Ok(None);
    }
    let seg = content_segment_size(cfg);
    let layout = BlockLayout::new(source.len(), seg, cfg.block_size, cfg.parity)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the object needs more than 2^24 blocks"))?;
    digest_of(source, &layout).map(Some)
}

fn digest_of(source: &dyn ObjectSource, layout: &BlockLayout) -> std::io::Result<[u8; 32]> {
    let mut d = sign::Digest::default();
    let mut buf = Vec::new();
    for block in 0..layout.num_blocks {
        let (offset, len) = layout.block_range(block);
        buf.resize(len as usize, 0);
        source.read_at(offset, &mut buf)?;
        d.add(block, sign::block_hash(&buf));
    }
    Ok(d.finish(layout.num_blocks).expect("every block added"))
}

fn fti_of(layout: &BlockLayout) -> Fti {
    Fti {
        object_size: layout.object_size,
        segment_size: layout.segment_size,
        max_block_len: layout.max_block_len,
        num_parity: layout.num_parity,
        fec_m: 8,
        fec_instance: 0,
    }
}
