//! The NORM receiver state machine.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::cc::RxCc;
use super::common::{exponential_backoff, norm_time_add, secs, unwrap_u16, BlockLayout};
use super::stream::{wire_block, RxStream, Stored, StreamOut, BLOCK_BASE};
use super::{Destination, ObjectKind, SenderId};
use crate::fec::Rs8;
use crate::seal::{self, Key, OpenError, Seal};
use crate::sign::{self, PublicKey, Refusal};
use crate::wire::{
    ack_type, cc_flags, fec_id, flags, nack_flags, nack_form, quant, Ack, AckBody, Body, CcFeedback, Cmd, Data, FecPayloadId,
    Fti, Nack, NormTime, ObjectHeader, Packet, RepairItem, RepairRequest, SenderHeader,
};
use crate::Error;

/// Which objects a receiver tries to get from a sender it hears for the first time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Start with the object the first packet belongs to (libnorm's default).
    Current,
    /// Also ask for up to `sync_window` older objects still in the sender's
    /// cache; the sender squelches ids it no longer (or never) had. This is
    /// what makes a receiver that started before the sender get every object
    /// even if all packets of the first objects were lost.
    All,
}

/// Receiver settings.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub sync_policy: SyncPolicy,
    /// How many objects before the first one heard `SyncPolicy::All` asks for.
    pub sync_window: u16,
    /// Largest object accepted; larger ones are reported aborted.
    pub max_object_size: u64,
    /// Most bytes buffered per sender for incomplete or undelivered objects.
    pub max_buffer_per_sender: u64,
    /// Most bytes buffered for all senders together.
    pub max_buffer_total: u64,
    /// Most senders tracked at once.
    pub max_senders: usize,
    /// A sender silent this long is dropped (its incomplete objects aborted).
    /// More than 0; anything over a century counts as a century.
    pub inactivity_timeout: Duration,
    /// Send NACKs unicast to the sender instead of to the group.
    pub unicast_nacks: bool,
    /// Never send anything (no NACKs, no ACKs): rely on proactive parity.
    pub silent: bool,
    /// Most objects of one sender tracked ahead of the next one to deliver;
    /// object ids further ahead are ignored (and counted) until delivery
    /// catches up. Bounds what a flood of object ids can make a receiver hold.
    pub max_pending_objects: u64,
    /// The NORM node id to use (for senders that ask this receiver for
    /// positive acknowledgement); `None`: a random one. Used by the engine;
    /// `Receiver::new` takes the id as an argument.
    pub node_id: Option<u32>,
    /// Where FILE objects go: with a directory, each FILE object is written
    /// to a file there block by block as blocks complete (whatever its
    /// size, memory holds only blocks still incomplete, and
    /// `max_object_size` does not apply), and its message names the file
    /// (`Message::path`) instead of carrying the data. `None` (the default):
    /// FILE objects are delivered in memory like DATA objects. The state
    /// machine does no I/O itself: it hands complete blocks over as
    /// `ReceiverEvent::FileData` and the engine writes them.
    pub file_dir: Option<std::path::PathBuf>,
    /// A sealed channel's key (see [`crate::seal`]): only datagrams sealed
    /// with it are heard (each is authenticated before anything else reads
    /// it), and NACKs and ACKs go out sealed. Without a key, sealed
    /// datagrams are dropped. Either way a source whose datagrams are
    /// dropped is reported once (`ReceiverEvent::Rejected`) and counted.
    pub key: Option<Key>,
    /// With a key: datagrams sealed longer ago than this (by this host's
    /// clock) are dropped as replayed; `None`: no age limit (replays of a
    /// sender instance already heard are refused all the same).
    pub seal_max_age: Option<Duration>,
    /// Accept only objects signed by one of these Ed25519 keys (see
    /// [`crate::sign`]); empty (the default): accept objects whether signed
    /// or not. With keys, unsigned objects, objects signed by another key,
    /// bad signatures and content that differs from what was signed are
    /// reported `Aborted`, and their sender `Rejected` once per reason;
    /// delivered objects name their signer (`ReceivedObject::signer`).
    /// Streams are delivered a unit at a time as their signatures verify
    /// (`StreamData::signer`); units that fail are dropped and reported as
    /// gaps, and a stream that is never signed is refused.
    pub trusted_signers: Vec<PublicKey>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            sync_policy: SyncPolicy::All,
            sync_window: 256,
            max_object_size: 1 << 30,
            max_buffer_per_sender: 1 << 30,
            max_buffer_total: 2 << 30,
            max_senders: 64,
            inactivity_timeout: Duration::from_secs(60),
            unicast_nacks: false,
            silent: false,
            max_pending_objects: 4096,
            node_id: None,
            file_dir: None,
            key: None,
            seal_max_age: Some(seal::DEFAULT_MAX_AGE),
            trusted_signers: Vec::new(),
        }
    }
}

/// A completely received object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedObject {
    pub sender: SenderId,
    /// The NORM transport id extended to 64 bits by counting wraps.
    pub object_id: u64,
    pub kind: ObjectKind,
    /// NORM_INFO content (empty if the object had none).
    pub info: Vec<u8>,
    /// The content; empty when it went out as `ReceiverEvent::FileData`.
    pub data: Vec<u8>,
    /// Its size in bytes (that of `data`, or of the file).
    pub size: u64,
    /// The content went out as `ReceiverEvent::FileData` (a FILE object
    /// with `ReceiverConfig::file_dir` set).
    pub in_file: bool,
    /// The key that signed it, at a receiver with `trusted_signers` (always
    /// one of them); `None` otherwise.
    pub signer: Option<PublicKey>,
}

/// What the receiver reports, in delivery order per sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiverEvent {
    Object(ReceivedObject),
    /// The object will never complete (sender squelched it, left, restarted,
    /// or it exceeded a limit).
    Aborted { sender: SenderId, object_id: u64, reason: String },
    SenderJoined(SenderId),
    SenderLeft(SenderId),
    /// A complete block of a FILE object written to a file
    /// (`ReceiverConfig::file_dir`): `data` belongs at byte `offset`. Blocks
    /// come in any order, before the object's `Object` event (or its
    /// `Aborted` event, after which the file is of no use).
    FileData { sender: SenderId, object_id: u64, offset: u64, data: Vec<u8> },
    /// Bytes of a stream, in order. `message_end` is true when they end an
    /// application message (the sender wrote it with `end_of_message`); a
    /// message may come in several pieces.
    /// At a receiver with trusted signers, `signer` names the key that
    /// signed the bytes (they are held until their signature verifies).
    StreamData { sender: SenderId, object_id: u64, info: Vec<u8>, data: Vec<u8>, message_end: bool, signer: Option<PublicKey> },
    /// Stream bytes that can no longer be recovered (the sender's buffer moved
    /// on, or this receiver's window overflowed); delivery resumes at the next
    /// message start.
    StreamGap { sender: SenderId, object_id: u64, lost_bytes: u64 },
    /// The sender closed the stream; nothing more of it follows.
    /// (`signer`: the key that signed the end, at a receiver with trusted
    /// signers.)
    StreamEnd { sender: SenderId, object_id: u64, signer: Option<PublicKey> },
    /// Datagrams from this source are dropped, for `reason` (a sealed
    /// channel's key is missing, differs, or they fail authentication).
    /// Reported once per source and reason.
    Rejected { from: SocketAddr, node_id: u32, reason: String },
}

/// How far along an incomplete object is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProgress {
    pub sender: SenderId,
    pub object_id: u64,
    pub info: Vec<u8>,
    pub received_bytes: u64,
    pub total_bytes: Option<u64>,
}

/// Receiver counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    pub datagrams_received: u64,
    pub bytes_received: u64,
    pub datagrams_sent: u64,
    pub bytes_sent: u64,
    pub nacks_sent: u64,
    pub nacks_suppressed: u64,
    pub acks_sent: u64,
    pub data_segments_received: u64,
    pub repair_segments_received: u64,
    pub parity_segments_received: u64,
    pub fec_recovered_segments: u64,
    pub duplicates: u64,
    pub objects_completed: u64,
    pub objects_aborted: u64,
    pub malformed_received: u64,
    pub senders: u64,
    /// Datagrams ignored because they came from a source the (source-
    /// specific) receiver does not accept. Counted by the engine.
    pub datagrams_foreign_source: u64,
    /// Senders dropped to make room for new ones (more than `max_senders`).
    pub senders_evicted: u64,
    /// Datagrams ignored because their object lies more than
    /// `max_pending_objects` ahead of delivery.
    pub objects_rejected: u64,
    /// Sealed channels: datagrams that failed authentication (forged,
    /// altered, sealed with another key).
    pub datagrams_unauthenticated: u64,
    /// Sealed channels: datagrams seen before, from an older instance of
    /// their sender, or older than `seal_max_age`.
    pub datagrams_replayed: u64,
    /// Unsealed datagrams on a sealed channel, or sealed ones at a
    /// receiver without a key.
    pub datagrams_seal_mismatch: u64,
    /// With `trusted_signers`: objects refused (unsigned, signed by another
    /// key, bad signature, content or size not as signed, streams).
    pub objects_unverified: u64,
    /// With `trusted_signers`: NORM_INFO messages whose signature was
    /// refused (each either refuses its object or, from a sender that has
    /// proved itself, is ignored as a forgery while its object waits for
    /// the genuine one).
    pub signatures_refused: u64,
    /// NACKs overheard from other receivers (for senders this receiver
    /// follows); they suppress our own NACKs for the same segments.
    pub nacks_received: u64,
}

/// Unwrapped object ids start here so that ids "before" the first one heard
/// (asked for by `SyncPolicy::All`) never underflow.
const ID_BASE: u64 = 1 << 32;
/// NACK rounds after which objects we only guessed might exist are given up.
const SPECULATIVE_ROUNDS: u32 = 20;
/// Receive buffer charged per complete block of an object whose content is
/// hashed for a signature check (a block hash kept out of order, at most).
const DIGEST_CHARGE: u64 = 48;
/// Most repair request items in one NACK (keeps it within one datagram).
const MAX_NACK_ITEMS: usize = 150;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Pos {
    obj: u64,
    block: u32,
}

#[derive(Debug, Clone, Copy)]
enum NackState {
    Idle,
    Backoff(Instant),
    Holdoff(Instant),
}

/// A block some but not all of whose segments have arrived.
#[derive(Default)]
struct RxBlock {
    /// Bit i set: data segment i is in the object buffer.
    have: [u64; 4],
    data_count: u16,
    parity: Vec<(u16, Vec<u8>)>,
    /// The block's data, for objects that go to a file (`RxObject::in_file`);
    /// others keep it in the object's buffer.
    buf: Vec<u8>,
    /// Bytes of receive buffer charged for this block.
    charge: u64,
}

impl RxBlock {
    fn has(&self, i: u16) -> bool {
        self.have[(i / 64) as usize] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: u16) {
        self.have[(i / 64) as usize] |= 1 << (i % 64);
    }
    fn count(&self) -> u16 {
        self.data_count + self.parity.len() as u16
    }
}

struct RxObject {
    kind: ObjectKind,
    has_info: bool,
    info: Option<Vec<u8>>,
    layout: Option<BlockLayout>,
    data: Vec<u8>,
    /// One bit per block: complete. Per-block state exists only for blocks
    /// under way, so what a sender announces costs 1 bit per block up front.
    done: Vec<u64>,
    partial: HashMap<u32, RxBlock>,
    blocks_done: u32,
    /// Blocks below this index are all done.
    first_incomplete: u32,
    received_bytes: u64,
    aborted: Option<String>,
    /// Reassembly state of a stream (once its FTI is known).
    stream: Option<RxStream>,
    /// Bytes of receive buffer charged to this object.
    charge: u64,
    /// Complete blocks leave as `ReceiverEvent::FileData` (a FILE object with
    /// `ReceiverConfig::file_dir`); `data` stays empty.
    in_file: bool,
    /// At a receiver with trusted signers: the object may not be delivered
    /// until its signature and content are checked (`settle_signature`).
    unchecked: bool,
    /// Its NORM_INFO's verified signature (with the size it covers).
    verified: Option<(sign::Verified, u64)>,
    /// Hash of its blocks so far (with trusted signers).
    digest: Option<sign::Digest>,
    /// Its content failed the signature check once and is being received
    /// again (a second failure refuses it).
    retried: bool,
    /// A stream at a receiver with trusted signers: what waits for its
    /// unit's signature.
    hold: Option<StreamHold>,
}

/// A signed stream's bytes held back until the signature of their unit
/// verifies (see [`crate::sign`]).
#[derive(Default)]
struct StreamHold {
    /// Data and gaps of the unit under way, in order.
    pieces: Vec<StreamOut>,
    /// Data bytes in `pieces`.
    bytes: u64,
    /// Bytes dropped since the last unit was delivered (reported as one gap).
    lost: u64,
    /// Bytes were dropped: verified bytes are dropped too up to the end of
    /// the message under way, so that delivery resumes at a message start
    /// (as after any stream gap).
    resync: bool,
    /// More than a unit's worth arrived without a signature: everything up
    /// to the next signature is dropped.
    overflowed: bool,
    /// Why the last refused unit was refused.
    refusal: Option<Refusal>,
    /// A signature segment was passed (the first one from the stream's
    /// start must be unit 0's).
    boundary_seen: bool,
    /// The last unit passed was signed as the stream's last: its end may
    /// follow.
    last_seen: bool,
    /// The signer of the units delivered so far, and the next unit's number.
    signer: Option<PublicKey>,
    next_unit: Option<u64>,
}

/// Why a receive budget is exceeded: the sender's (`buffered`) or all
/// senders' (`total`), if either is.
fn over_budget(buffered: u64, total: u64, max_buffer: u64, max_total: u64) -> Option<String> {
    if buffered > max_buffer {
        Some(format!("receive buffer for this sender is full ({max_buffer} bytes)"))
    } else if total > max_total {
        Some(format!("receive buffer is full ({max_total} bytes for all senders)"))
    } else {
        None
    }
}

/// Sets an object's charge to `new`, keeping its sender's total in step.
fn set_charge(buffered: &mut u64, charge: &mut u64, new: u64) {
    *buffered = *buffered - *charge + new;
    *charge = new;
}

impl RxObject {
    /// Aborts the object and frees its buffers; returns the charge released.
    fn abort_and_free(&mut self, reason: String) -> u64 {
        self.aborted = Some(reason);
        self.data = Vec::new();
        self.partial.clear();
        self.stream = None;
        std::mem::take(&mut self.charge)
    }

    /// Forgets every block received (keeping what the object is) so that it
    /// is received again; returns the charge released.
    fn restart(&mut self) -> u64 {
        self.data.fill(0);
        self.done.fill(0);
        self.partial.clear();
        self.blocks_done = 0;
        self.first_incomplete = 0;
        self.received_bytes = 0;
        self.digest = Some(sign::Digest::default());
        std::mem::take(&mut self.charge)
    }

    fn new(kind: ObjectKind, has_info: bool, signed_only: bool) -> Self {
        RxObject {
            unchecked: signed_only,
            verified: None,
            digest: None,
            retried: false,
            hold: None,
            kind,
            has_info,
            info: None,
            layout: None,
            data: Vec::new(),
            done: Vec::new(),
            partial: HashMap::new(),
            blocks_done: 0,
            first_incomplete: 0,
            received_bytes: 0,
            aborted: None,
            stream: None,
            charge: 0,
            in_file: false,
        }
    }
    /// Whether its FTI (size, FEC parameters) is known.
    fn known(&self) -> bool {
        self.layout.is_some() || self.stream.is_some()
    }
    fn block_done(&self, block: u32) -> bool {
        self.done.get((block / 64) as usize).is_some_and(|w| w & (1 << (block % 64)) != 0)
    }
    /// Everything is in (the signature check may still be due).
    fn received(&self) -> bool {
        self.aborted.is_none()
            && self.layout.is_some_and(|l| self.blocks_done == l.num_blocks)
            && (!self.has_info || self.info.is_some())
    }
    /// Ready for delivery.
    fn complete(&self) -> bool {
        self.received() && !self.unchecked
    }
}

/// What other receivers' NACKs and the sender's repairs already cover during
/// our backoff: the basis of NACK suppression (RFC 5740 section 5.3).
#[derive(Default)]
struct Overheard {
    objects: HashSet<u64>,
    info: HashSet<u64>,
    blocks: HashMap<(u64, u32), u16>,
}

struct Probe {
    send_time: NormTime,
    received: Instant,
    cc_sequence: u16,
    respond_at: Option<Instant>,
}

struct RemoteSender {
    id: SenderId,
    instance_id: u16,
    grtt: f64,
    backoff: u8,
    gsize: f64,
    last_heard: Instant,
    /// First object id heard; ids below it are only guesses (sync policy All).
    first_heard: u64,
    reference: u64,
    next_deliver: u64,
    objects: BTreeMap<u64, RxObject>,
    invalid: HashSet<u64>,
    /// Every (object, block) below this should have arrived by now.
    due: Pos,
    nack: NackState,
    overheard: Overheard,
    nack_rounds: u32,
    probe: Option<Probe>,
    /// NORM-CC measurements and feedback for this sender.
    cc: RxCc,
    buffered: u64,
    /// The highest object id reported aborted (positive acknowledgement
    /// must not confirm a watermark past a lost object).
    aborted_upto: Option<u64>,
    /// The last watermark this receiver confirmed.
    acked_upto: Option<u64>,
    /// Objects (and streams) delivered complete: a sender that has proved
    /// itself is the last to be evicted when `max_senders` is reached.
    completed: u64,
    /// A trusted signer's signature verified on one of its objects: a
    /// refused signature claiming to be this sender's is then a forgery,
    /// ignored, rather than a sender that does not sign.
    proved_signer: bool,
    codecs: HashMap<(u16, u16), Rs8>,
    fti: HashMap<u64, Fti>,
}

impl RemoteSender {
    fn grtt_d(&self) -> Duration {
        secs(self.grtt)
    }
    fn unwrap(&self, wire_id: u16) -> u64 {
        unwrap_u16(self.reference, wire_id)
    }
    /// Whether at least the start of object `id` should have arrived.
    fn object_due(&self, id: u64) -> bool {
        Pos { obj: id, block: 0 } < self.due
    }
    fn report_id(&self, id: u64) -> u64 {
        id - ID_BASE
    }
}

/// A NORM receiver (sans-IO) tracking every sender it hears on its group.
pub struct Receiver {
    cfg: ReceiverConfig,
    node_id: u32,
    rng: SmallRng,
    sequence: u16,
    senders: HashMap<u32, RemoteSender>,
    events: VecDeque<ReceiverEvent>,
    outbox: VecDeque<(Destination, Vec<u8>)>,
    seal: Option<Seal>,
    /// (source node id, reason) pairs already reported `Rejected`.
    rejected: HashSet<(u32, &'static str)>,
    stats: ReceiverStats,
    /// A watermark flush naming us, to answer once the datagram is handled.
    pending_ack: Option<(u32, RepairItem)>,
}

impl Receiver {
    pub fn new(config: ReceiverConfig, node_id: u32, now: Instant) -> Result<Receiver, Error> {
        if node_id == 0 || node_id == u32::MAX {
            return Err(Error::InvalidArgument(format!("node id {node_id:#x} is reserved")));
        }
        let _ = now;
        if config.max_senders == 0 {
            return Err(Error::InvalidArgument("max_senders 0 would ignore every sender (at least 1)".into()));
        }
        if config.inactivity_timeout.is_zero() {
            return Err(Error::InvalidArgument("an inactivity timeout of 0 would drop every sender at once".into()));
        }
        // Longer than a century is the same as a century (and keeps
        // `last_heard + inactivity_timeout` representable).
        let mut config = config;
        config.inactivity_timeout = config.inactivity_timeout.min(Duration::from_secs(100 * 365 * 86_400));
        if config.seal_max_age.is_some_and(|a| a.is_zero()) {
            return Err(Error::InvalidArgument("a seal maximum age of 0 would drop every datagram (no limit is None)".into()));
        }
        let seal = config.key.as_ref().map(|k| Seal::new(k, config.seal_max_age));
        Ok(Receiver {
            rng: SmallRng::seed_from_u64(node_id as u64 ^ 0x6d63_6173_7400),
            cfg: config,
            node_id,
            sequence: 0,
            senders: HashMap::new(),
            events: VecDeque::new(),
            outbox: VecDeque::new(),
            seal,
            rejected: HashSet::new(),
            stats: ReceiverStats::default(),
            pending_ack: None,
        })
    }

    pub fn node_id(&self) -> u32 {
        self.node_id
    }

    pub fn stats(&self) -> ReceiverStats {
        let mut s = self.stats.clone();
        s.senders = self.senders.len() as u64;
        s
    }

    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        self.events.pop_front()
    }

    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Destination> {
        let _ = now;
        let (dest, bytes) = self.outbox.pop_front()?;
        buf.clear();
        buf.extend_from_slice(&bytes);
        if let Some(seal) = self.seal.as_mut() {
            let sealed = seal.sealer.seal(buf, seal::unix_micros());
            debug_assert!(sealed, "a message we wrote could not be sealed");
        }
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += buf.len() as u64;
        Some(dest)
    }

    /// Gives up an object the application cannot take (writing its file
    /// failed, say): it is reported `Aborted` with `reason` in its turn and
    /// its buffers are freed. Unknown or finished objects are ignored.
    pub fn abort_object(&mut self, sender_node_id: u32, object_id: u64, reason: String) {
        let Some(s) = self.senders.get_mut(&sender_node_id) else { return };
        let Some(o) = object_id.checked_add(ID_BASE).and_then(|id| s.objects.get_mut(&id)) else { return };
        if o.aborted.is_none() {
            s.buffered -= o.abort_and_free(reason);
            let trusted = &self.cfg.trusted_signers;
            deliver(s, &mut Sink { events: &mut self.events, stats: &mut self.stats, rejected: &mut self.rejected, trusted });
        }
    }

    pub fn progress(&self) -> Vec<ObjectProgress> {
        let mut out = Vec::new();
        for s in self.senders.values() {
            for (id, o) in &s.objects {
                if o.complete() || o.aborted.is_some() {
                    continue;
                }
                out.push(ObjectProgress {
                    sender: s.id,
                    object_id: s.report_id(*id),
                    info: o.info.clone().unwrap_or_default(),
                    received_bytes: o.stream.as_ref().map_or(o.received_bytes, |st| st.delivered_bytes),
                    total_bytes: o.layout.map(|l| l.object_size),
                });
            }
        }
        out
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |x: Instant| t = Some(t.map_or(x, |t: Instant| t.min(x)));
        for s in self.senders.values() {
            consider(s.last_heard + self.cfg.inactivity_timeout);
            match s.nack {
                NackState::Backoff(x) | NackState::Holdoff(x) => consider(x),
                NackState::Idle => {}
            }
            if let Some(Probe { respond_at: Some(x), .. }) = s.probe {
                consider(x);
            }
        }
        t
    }

    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += data.len() as u64;
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
                // Replays are the network's business (or an attacker's that
                // achieves nothing): counted, not reported.
                if r != seal::Refused::Open(OpenError::Replayed) {
                    self.reject(from, data, r.explain());
                }
            }
        }
    }

    /// Reports a source whose datagrams are dropped, once per reason.
    fn reject(&mut self, from: SocketAddr, data: &[u8], reason: &'static str) {
        let node_id = data.get(4..8).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        self.report_rejected(from, node_id, reason);
    }

    fn report_rejected(&mut self, from: SocketAddr, node_id: u32, reason: &'static str) {
        report_rejected(&mut self.rejected, &mut self.events, from, node_id, reason);
    }

    /// A datagram that is not sealed, or was opened.
    fn handle_opened(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let packet = match Packet::decode(data) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed_received += 1;
                return;
            }
        };
        if packet.source_id == self.node_id {
            return; // our own feedback, looped back
        }
        match &packet.body {
            // Every sender message counts for congestion control's loss and
            // receive-rate measurement (its NORM sequence numbers).
            Body::Info(info) => {
                if let Some(s) = self.sender_for(now, packet.source_id, from, &info.object.sender) {
                    s.cc.on_packet(now, packet.sequence, data.len(), s.grtt);
                    self.on_info(now, packet.source_id, &info.object, info.info, info.signed);
                }
            }
            Body::Data(d) => {
                if let Some(s) = self.sender_for(now, packet.source_id, from, &d.object.sender) {
                    s.cc.on_packet(now, packet.sequence, data.len(), s.grtt);
                    self.on_data(now, packet.source_id, d);
                }
            }
            Body::Cmd(c) => {
                if let Some(s) = self.sender_for(now, packet.source_id, from, &c.sender) {
                    s.cc.on_packet(now, packet.sequence, data.len(), s.grtt);
                    self.on_cmd(now, packet.source_id, &c.cmd);
                }
            }
            Body::Nack(n) => self.on_overheard_nack(n),
            Body::Ack(a) => self.on_overheard_ack(a),
            Body::Report(_) => {}
        }
        self.deliver_all();
        if let Some((node_id, item)) = self.pending_ack.take() {
            if self.has_everything_up_to(node_id, &item) {
                self.send_flush_ack(now, node_id, item);
            }
        }
    }

    /// Finds or creates the state for a sender, handling restarts and limits.
    fn sender_for(&mut self, now: Instant, node_id: u32, from: SocketAddr, h: &SenderHeader) -> Option<&mut RemoteSender> {
        if let Some(s) = self.senders.get(&node_id) {
            if s.instance_id != h.instance_id {
                // The sender restarted: what it had in flight is gone.
                let s = self.senders.remove(&node_id).expect("present");
                self.drop_sender(s, "the sender restarted");
            }
        }
        if !self.senders.contains_key(&node_id) {
            if self.senders.len() >= self.cfg.max_senders {
                // Full: make room by dropping the sender heard least
                // recently among those that never completed an object (a
                // flood of fake node ids then evicts its own kind), else the
                // one heard least recently.
                let Some(oldest) = self
                    .senders
                    .values()
                    .min_by_key(|s| (s.completed > 0, s.last_heard))
                    .map(|s| s.id.node_id)
                else {
                    return None;
                };
                let s = self.senders.remove(&oldest).expect("present");
                self.stats.senders_evicted += 1;
                self.drop_sender(s, "dropped to make room for another sender (max_senders)");
            }
            let id = SenderId { node_id, addr: from };
            self.senders.insert(
                node_id,
                RemoteSender {
                    id,
                    instance_id: h.instance_id,
                    grtt: 0.5,
                    backoff: 4,
                    gsize: 1000.0,
                    last_heard: now,
                    first_heard: 0,
                    reference: 0,
                    next_deliver: 0,
                    objects: BTreeMap::new(),
                    invalid: HashSet::new(),
                    due: Pos { obj: 0, block: 0 },
                    nack: NackState::Idle,
                    overheard: Overheard::default(),
                    nack_rounds: 0,
                    probe: None,
                    cc: RxCc::default(),
                    buffered: 0,
                    aborted_upto: None,
                    acked_upto: None,
                    completed: 0,
                    proved_signer: false,
                    codecs: HashMap::new(),
                    fti: HashMap::new(),
                },
            );
            self.events.push_back(ReceiverEvent::SenderJoined(id));
        }
        let s = self.senders.get_mut(&node_id).expect("inserted");
        s.last_heard = now;
        s.id.addr = from;
        s.grtt = quant::unquantize_rtt(h.grtt).max(0.001);
        s.backoff = h.backoff;
        s.gsize = quant::unquantize_gsize(h.gsize);
        // Timers set while the advertised GRTT was larger are cut to what the
        // current one allows: the sender's flush rounds are timed by it, and a
        // receiver still holding off from an early NACK when the last flush
        // passes would never ask again.
        let k = s.backoff.max(1) as f64;
        match s.nack {
            NackState::Backoff(t) if t > now + secs(k * s.grtt) => s.nack = NackState::Backoff(now + secs(k * s.grtt)),
            NackState::Holdoff(t) if t > now + secs((k + 2.0) * s.grtt) => s.nack = NackState::Holdoff(now + secs((k + 2.0) * s.grtt)),
            _ => {}
        }
        Some(s)
    }

    /// Establishes the object id space on the first object message heard.
    fn sync(&mut self, node_id: u32, wire_id: u16) -> Option<u64> {
        let policy = self.cfg.sync_policy;
        let window = self.cfg.sync_window as u64;
        let s = self.senders.get_mut(&node_id)?;
        if s.reference == 0 {
            let id = ID_BASE + wire_id as u64;
            s.reference = id;
            s.first_heard = id;
            // With All, guess up to `window` earlier objects, but not across
            // id 0: a sender's first object is 0, and one that has sent
            // 65536 objects has long purged the ones before the wrap.
            s.next_deliver = match policy {
                SyncPolicy::Current => id,
                SyncPolicy::All => id - window.min(wire_id as u64),
            };
            s.due = Pos { obj: s.next_deliver, block: 0 };
        }
        let id = s.unwrap(wire_id);
        if id >= s.next_deliver.saturating_add(self.cfg.max_pending_objects.max(1)) && !s.objects.contains_key(&id) {
            self.stats.objects_rejected += 1;
            return None;
        }
        if id > s.reference {
            s.reference = id;
        }
        if id < s.next_deliver || s.invalid.contains(&id) {
            return None;
        }
        Some(id)
    }

    fn on_info(&mut self, now: Instant, node_id: u32, h: &ObjectHeader, payload: &[u8], signed: bool) {
        // A signed NORM_INFO ends with its signature block.
        let (info, signature) = match signed {
            false => (payload, None),
            true => match sign::split_info(payload) {
                Some((info, block)) => (info, Some(block)),
                None => {
                    self.stats.malformed_received += 1;
                    return;
                }
            },
        };
        let Some(id) = self.sync(node_id, h.object_id) else {
            self.stats.duplicates += 1;
            return;
        };
        let repair = h.flags & flags::REPAIR != 0;
        let signed_only = !self.cfg.trusted_signers.is_empty();
        let s = self.senders.get_mut(&node_id).expect("synced");
        if repair {
            s.overheard.info.insert(id);
            s.touch_holdoff(now);
        }
        let instance_id = s.instance_id;
        let o = s.objects.entry(id).or_insert_with(|| RxObject::new(kind_of(h.flags), true, signed_only));
        o.has_info = true;
        if o.info.is_some() {
            self.stats.duplicates += 1;
        } else if o.aborted.is_none() {
            if signed_only {
                let kind = kind_of(h.flags);
                let checked = match (kind, signature, h.fti) {
                    (_, None, _) => Err(Refusal::Unsigned),
                    (_, Some(_), None) => Err(Refusal::BadSignature),
                    (_, Some(block), Some(fti)) => {
                        let ident = sign::ObjectIdentity { node_id, instance_id, object_id: h.object_id, kind, size: fti.object_size };
                        sign::verify(&self.cfg.trusted_signers, &ident, info, block).map(|v| (v, fti.object_size))
                    }
                };
                match checked {
                    Ok(v) => {
                        if o.layout.is_some_and(|l| l.object_size != v.1) {
                            // Its data came first, with another size: not
                            // the signer's. Start over with the signed one.
                            s.buffered -= o.restart();
                            o.layout = None;
                            o.data = Vec::new();
                            o.done = Vec::new();
                        }
                        o.verified = Some(v);
                        o.info = Some(info.to_vec());
                        s.proved_signer = true;
                    }
                    Err(r) if s.proved_signer => {
                        // Someone else speaking for a signer we know: the
                        // genuine NORM_INFO may still come.
                        self.stats.signatures_refused += 1;
                        let from = s.id.addr;
                        self.report_rejected(from, node_id, r.explain());
                        return;
                    }
                    Err(r) => {
                        self.stats.signatures_refused += 1;
                        self.refuse(node_id, id, r);
                        return;
                    }
                }
            } else {
                o.info = Some(info.to_vec());
            }
        }
        if let Some(fti) = h.fti {
            self.apply_fti(node_id, id, h.fec_id, fti);
        }
        self.settle_signature(now, node_id, id);
        self.advance_due(now, node_id, Pos { obj: id, block: 0 });
    }

    /// Refuses an object at a receiver with trusted signers: it is reported
    /// aborted in its turn, its sender rejected (once per reason).
    fn refuse(&mut self, node_id: u32, id: u64, r: Refusal) {
        let Some(s) = self.senders.get_mut(&node_id) else { return };
        let Some(o) = s.objects.get_mut(&id) else { return };
        if o.aborted.is_some() {
            return;
        }
        self.stats.objects_unverified += 1;
        s.buffered -= o.abort_and_free(format!("refused: {}", r.explain()));
        let from = s.id.addr;
        self.report_rejected(from, node_id, r.explain());
    }

    /// At a receiver with trusted signers, checks an object once everything
    /// of it is in: a verified signature, the size it covers, and content
    /// that hashes to the signed digest. Until then it is not delivered.
    fn settle_signature(&mut self, now: Instant, node_id: u32, id: u64) {
        let Some(s) = self.senders.get_mut(&node_id) else { return };
        let Some(o) = s.objects.get_mut(&id) else { return };
        if !o.unchecked || !o.received() {
            return;
        }
        let size = o.layout.map(|l| (l.object_size, l.num_blocks));
        let outcome = match (&o.verified, &o.digest, size) {
            (None, _, _) => Err(Refusal::Unsigned),
            (Some((v, signed_size)), Some(d), Some((size, blocks))) if *signed_size == size => {
                if d.finish(blocks) == Some(v.digest) {
                    Ok(())
                } else {
                    Err(Refusal::Mismatch)
                }
            }
            _ => Err(Refusal::Mismatch),
        };
        match outcome {
            Ok(()) => o.unchecked = false,
            Err(Refusal::Mismatch) if !o.retried && o.digest.is_some() && size.is_some_and(|(n, _)| n > 0) => {
                // Genuinely signed, but some segment was not the sender's
                // (injected ahead of the genuine one): receive it all once
                // more before giving up on it.
                o.retried = true;
                s.buffered -= o.restart();
                let from = s.id.addr;
                self.report_rejected(from, node_id, Refusal::Mismatch.explain());
                self.maybe_start_nack(now, node_id);
            }
            Err(r) => self.refuse(node_id, id, r),
        }
    }

    fn on_data(&mut self, now: Instant, node_id: u32, d: &Data<'_>) {
        let h = &d.object;
        let Some(id) = self.sync(node_id, h.object_id) else {
            self.stats.duplicates += 1;
            return;
        };
        let repair = h.flags & flags::REPAIR != 0;
        let signed_only = !self.cfg.trusted_signers.is_empty();
        {
            let s = self.senders.get_mut(&node_id).expect("synced");
            let o = s.objects.entry(id).or_insert_with(|| RxObject::new(kind_of(h.flags), h.flags & flags::INFO != 0, signed_only));
            if o.unchecked && o.aborted.is_none() && o.info.is_none() && o.kind != ObjectKind::Stream && h.flags & flags::INFO == 0 {
                // Refused at first sight: a signed object announces its
                // NORM_INFO. (Streams are signed in their data.)
                self.refuse(node_id, id, Refusal::Unsigned);
                return;
            }
            let s = self.senders.get_mut(&node_id).expect("synced");
            let o = s.objects.get_mut(&id).expect("inserted");
            // Repairs of something this receiver still misses: wait for the
            // rest of them before asking again. (Repairs for other receivers'
            // losses must not hold it off, or a steady flow of them would
            // keep it from ever asking for its own.)
            let useful = match (&o.stream, &o.layout) {
                (Some(st), _) => st.block_incomplete(st.peek_block(d.payload_id.block)),
                (None, Some(_)) => !o.block_done(d.payload_id.block),
                (None, None) => true,
            };
            if repair {
                self.stats.repair_segments_received += 1;
                *s.overheard.blocks.entry((id, d.payload_id.block)).or_insert(0) = u16::MAX;
                if useful {
                    s.touch_holdoff(now);
                }
            }
            let o = s.objects.get_mut(&id).expect("inserted");
            if h.flags & flags::INFO != 0 {
                o.has_info = true;
            }
        }
        if let Some(fti) = h.fti {
            self.apply_fti(node_id, id, h.fec_id, fti);
        }
        self.store_segment(node_id, id, d);
        self.settle_signature(now, node_id, id);
        if !repair {
            let block = if kind_of(h.flags) == ObjectKind::Stream { 0 } else { d.payload_id.block };
            self.advance_due(now, node_id, Pos { obj: id, block });
        } else {
            self.maybe_start_nack(now, node_id);
        }
    }

    /// Takes an object's FEC transmission information and allocates its buffer.
    fn apply_fti(&mut self, node_id: u32, id: u64, fec: u8, fti: Fti) {
        let max_object = self.cfg.max_object_size;
        let to_file = self.cfg.file_dir.is_some();
        let max_buffer = self.cfg.max_buffer_per_sender;
        let total: u64 = self.senders.values().map(|s| s.buffered).sum();
        let max_total = self.cfg.max_buffer_total;
        let s = self.senders.get_mut(&node_id).expect("known");
        let Some(o) = s.objects.get_mut(&id) else { return };
        if o.known() || o.aborted.is_some() {
            return;
        }
        let reason = if fec != fec_id::RS8 {
            Some(format!("FEC encoding {fec} is not supported (only RFC 5510 Reed-Solomon, fec_id 5)"))
        } else if fti.segment_size == 0 || fti.max_block_len == 0 || fti.max_block_len as u32 + fti.num_parity as u32 > 255 {
            Some(format!(
                "invalid FEC parameters (segment {}, block {}, parity {})",
                fti.segment_size, fti.max_block_len, fti.num_parity
            ))
        } else if o.kind == ObjectKind::Stream {
            // A stream's FTI size is the sender's buffer: keep that many
            // blocks (what the sender can still repair), within our limits.
            let block_bytes = fti.max_block_len as u64 * (fti.segment_size as u64 + 8);
            let sender_blocks = (fti.object_size / (fti.max_block_len as u64 * fti.segment_size as u64)).max(2);
            let room = max_buffer.saturating_sub(s.buffered).min(max_total.saturating_sub(total));
            // Room for four times the sender's buffer (at least 64 blocks):
            // delivery may wait for an earlier object's repair meanwhile.
            let window = (4 * sender_blocks).max(64).min(room / block_bytes).min(1 << 20);
            if window < 2 {
                Some(format!("receive buffer is full (a stream needs 2 blocks of {block_bytes} bytes)"))
            } else {
                // Charged for the blocks it actually buffers (store_segment),
                // like objects: an announcement alone uses up no budget.
                let mut st = RxStream::new(fti.max_block_len, fti.segment_size, fti.num_parity, fti.object_size, window);
                if o.unchecked {
                    st.check_signatures();
                    o.hold = Some(StreamHold::default());
                }
                o.stream = Some(st);
                None
            }
        } else if fti.object_size > max_object && !(o.kind == ObjectKind::File && to_file) {
            Some(format!("object of {} bytes exceeds the limit of {max_object} bytes", fti.object_size))
        } else {
            // Buffer memory is charged as segments arrive (store_segment),
            // not as announced: announcing huge objects costs a peer nothing
            // and must not use up the budget of genuine senders.
            None
        };
        if let Some(reason) = reason {
            o.aborted = Some(reason);
            return;
        }
        if o.stream.is_some() {
            s.fti.insert(id, fti);
            if fti.num_parity > 0 {
                s.codecs
                    .entry((fti.max_block_len, fti.num_parity))
                    .or_insert_with(|| Rs8::new(fti.max_block_len as usize, fti.num_parity as usize).expect("checked bounds"));
            }
            return;
        }
        let Some(layout) = BlockLayout::new(fti.object_size, fti.segment_size, fti.max_block_len, fti.num_parity) else {
            o.aborted = Some("object needs more blocks than fec_id 5 can number".into());
            return;
        };
        o.layout = Some(layout);
        o.in_file = o.kind == ObjectKind::File && to_file;
        if !o.in_file {
            o.data = vec![0u8; fti.object_size as usize];
        }
        o.done = vec![0u64; layout.num_blocks.div_ceil(64) as usize];
        if o.unchecked {
            o.digest = Some(sign::Digest::default());
        }
        if fti.object_size == 0 {
            // Nothing to receive. (mcast sends one empty NORM_DATA for it;
            // libnorm sends only NORM_INFO and never answers a NACK for data.)
            o.done[0] = 1;
            o.blocks_done = 1;
            o.first_incomplete = 1;
            if let Some(d) = o.digest.as_mut() {
                d.add(0, sign::block_hash(&[]));
            }
        }
        s.fti.insert(id, fti);
        if fti.num_parity > 0 {
            s.codecs
                .entry((fti.max_block_len, fti.num_parity))
                .or_insert_with(|| Rs8::new(fti.max_block_len as usize, fti.num_parity as usize).expect("checked bounds"));
        }
    }

    fn store_segment(&mut self, node_id: u32, id: u64, d: &Data<'_>) {
        let policy = self.cfg.sync_policy;
        let total: u64 = self.senders.values().map(|s| s.buffered).sum();
        let (max_buffer, max_total) = (self.cfg.max_buffer_per_sender, self.cfg.max_buffer_total);
        let stats = &mut self.stats;
        let s = self.senders.get_mut(&node_id).expect("known");
        let Some(o) = s.objects.get_mut(&id) else { return };
        if o.stream.as_ref().is_some_and(|st| st.beyond_window(st.peek_block(d.payload_id.block))) && s.next_deliver < id {
            // The stream cannot move on while delivery waits for objects
            // before it. Those we only guessed at (SyncPolicy::All, nothing
            // heard of them) are given up rather than the stream's data.
            for g in s.next_deliver..id.min(s.first_heard) {
                if !s.objects.contains_key(&g) {
                    s.invalid.insert(g);
                }
            }
            let trusted = &self.cfg.trusted_signers;
            deliver(s, &mut Sink { events: &mut self.events, stats, rejected: &mut self.rejected, trusted });
        }
        let Some(o) = s.objects.get_mut(&id) else { return };
        if let Some(st) = o.stream.as_mut() {
            if o.aborted.is_none() {
                let codec = s.codecs.get(&(st.ndata, st.nparity));
                let repair = d.object.flags & flags::REPAIR != 0;
                store_stream_segment(st, codec, d, repair, policy, stats);
                let grown = st.allocated_bytes().saturating_sub(o.charge);
                set_charge(&mut s.buffered, &mut o.charge, st.allocated_bytes());
                if let Some(reason) = over_budget(s.buffered, total + grown, max_buffer, max_total) {
                    s.buffered -= o.abort_and_free(reason);
                }
            }
            return;
        }
        let Some(layout) = o.layout else { return };
        if o.aborted.is_some() {
            return;
        }
        let block = d.payload_id.block;
        if block >= layout.num_blocks {
            stats.malformed_received += 1;
            return;
        }
        let block_len = layout.block_len(block);
        let symbol = d.payload_id.symbol;
        if o.block_done(block) {
            stats.duplicates += 1;
            return;
        }
        let charged: u64;
        let b = o.partial.entry(block).or_default();
        if symbol < block_len {
            if b.has(symbol) {
                stats.duplicates += 1;
                return;
            }
            let (offset, len) = layout.segment_range(block, symbol);
            if d.payload.len() != len {
                stats.malformed_received += 1;
                return;
            }
            if o.in_file {
                let (base, bytes) = layout.block_range(block);
                if b.buf.is_empty() {
                    // Zeroed on demand by the allocator: only what arrives
                    // becomes resident.
                    b.buf = vec![0u8; bytes as usize];
                }
                let at = (offset - base) as usize;
                b.buf[at..at + len].copy_from_slice(d.payload);
            } else {
                o.data[offset as usize..offset as usize + len].copy_from_slice(d.payload);
            }
            b.set(symbol);
            b.data_count += 1;
            charged = len as u64;
            o.received_bytes += len as u64;
            stats.data_segments_received += 1;
        } else {
            let Some(codec) = s.codecs.get(&(layout.max_block_len, layout.num_parity)) else {
                stats.malformed_received += 1;
                return;
            };
            let Some(index) = codec.parity_position(block_len as usize, symbol) else {
                stats.malformed_received += 1;
                return;
            };
            // libnorm sends parity at the length of the longest data segment
            // of the block (shorter than a segment for tiny objects); the
            // rest is implicitly zero.
            if d.payload.len() > layout.segment_size as usize {
                stats.malformed_received += 1;
                return;
            }
            if b.parity.iter().any(|(i, _)| *i as usize == index) {
                stats.duplicates += 1;
                return;
            }
            stats.parity_segments_received += 1;
            // Parity beyond what the block needs is of no use.
            if b.count() >= block_len {
                return;
            }
            let mut p = d.payload.to_vec();
            p.resize(layout.segment_size as usize, 0);
            b.parity.push((index as u16, p));
            charged = layout.segment_size as u64;
        }
        // Memory in use grows with what arrives: hold it to the limits.
        o.charge += charged;
        s.buffered += charged;
        if let Some(b) = o.partial.get_mut(&block) {
            b.charge += charged;
        }
        if let Some(reason) = over_budget(s.buffered, total + charged, max_buffer, max_total) {
            s.buffered -= o.abort_and_free(reason);
            return;
        }
        let Some(b) = o.partial.get_mut(&block) else { return };
        if b.count() >= block_len {
            if b.data_count < block_len {
                let codec = s.codecs.get(&(layout.max_block_len, layout.num_parity)).expect("parity implies codec");
                let recovered = if o.in_file {
                    let mut buf = std::mem::take(&mut b.buf);
                    if buf.is_empty() {
                        buf = vec![0u8; layout.block_range(block).1 as usize];
                    }
                    let r = decode_block(codec, &layout, block, b, &mut buf, layout.block_range(block).0);
                    b.buf = buf;
                    r
                } else {
                    decode_block(codec, &layout, block, b, &mut o.data, 0)
                };
                match recovered {
                    Ok((n, bytes)) => {
                        stats.fec_recovered_segments += n as u64;
                        o.received_bytes += bytes;
                    }
                    Err(_) => {
                        // Should not happen with distinct segments; start over.
                        b.parity.clear();
                        return;
                    }
                }
            }
            let b = o.partial.remove(&block).expect("present");
            if let Some(digest) = o.digest.as_mut() {
                let (offset, len) = layout.block_range(block);
                let bytes = if o.in_file { &b.buf[..] } else { &o.data[offset as usize..(offset + len) as usize] };
                digest.add(block, sign::block_hash(bytes));
                // What the digest may hold for this block (its hash, if it
                // completed ahead of an earlier one) stays charged to the
                // object until it is delivered.
                o.charge += DIGEST_CHARGE;
                s.buffered += DIGEST_CHARGE;
            }
            if o.in_file {
                // The block leaves for its file: its memory is free.
                o.charge -= b.charge;
                s.buffered -= b.charge;
                let (offset, _) = layout.block_range(block);
                self.events.push_back(ReceiverEvent::FileData { sender: s.id, object_id: id - ID_BASE, offset, data: b.buf });
            }
            o.done[(block / 64) as usize] |= 1 << (block % 64);
            o.blocks_done += 1;
            while o.first_incomplete < layout.num_blocks && o.block_done(o.first_incomplete) {
                o.first_incomplete += 1;
            }
            if o.blocks_done == layout.num_blocks {
                o.received_bytes = layout.object_size;
            }
        }
    }

    fn on_cmd(&mut self, now: Instant, node_id: u32, cmd: &Cmd<'_>) {
        match cmd {
            Cmd::Flush { item, acking_nodes } => {
                if acking_nodes.contains(&self.node_id) && !self.cfg.silent {
                    // Positive acknowledgement asked of us: answer at once if
                    // everything up to the watermark is here (else the NACK
                    // process below gets it, and a later flush asks again).
                    self.pending_ack = Some((node_id, *item));
                }
                let Some(s) = self.senders.get(&node_id) else { return };
                if s.reference == 0 {
                    // A flush from a sender we have no object from yet: sync to it
                    // so that everything up to the flush point is asked for.
                    let _ = self.sync(node_id, item.object_id);
                }
                let policy = self.cfg.sync_policy;
                let s = self.senders.get_mut(&node_id).expect("known");
                let id = s.unwrap(item.object_id);
                if id > s.reference {
                    s.reference = id;
                }
                let mut block = item.payload_id.block.saturating_add(1);
                if let Some(st) = s.objects.get_mut(&id).and_then(|o| o.stream.as_mut()) {
                    // Everything up to the flushed segment was sent.
                    if !st.started {
                        st.start(BLOCK_BASE + (item.payload_id.block & 0x00ff_ffff) as u64, stream_from_start(st, item.payload_id.block, policy));
                    }
                    let b = st.unwrap_block(item.payload_id.block);
                    st.due = st.due.max(b * st.ndata as u64 + item.payload_id.symbol.min(st.ndata - 1) as u64 + 1);
                    block = 0;
                }
                self.advance_due(now, node_id, Pos { obj: id, block });
            }
            Cmd::Squelch { item, invalid_objects } => {
                let Some(s) = self.senders.get_mut(&node_id) else { return };
                if s.reference == 0 {
                    return;
                }
                let oldest = s.unwrap(item.object_id);
                let mut gone: Vec<u64> = (s.next_deliver..oldest.min(s.reference + 1)).collect();
                gone.extend(invalid_objects.iter().map(|w| s.unwrap(*w)).filter(|id| *id >= s.next_deliver && *id < oldest.max(s.next_deliver) || *id >= oldest));
                for id in gone {
                    if id < s.next_deliver || s.objects.get(&id).is_some_and(|o| o.complete()) {
                        continue;
                    }
                    s.invalid.insert(id);
                    let o = s.objects.entry(id).or_insert_with(|| RxObject::new(ObjectKind::Data, false, false));
                    if o.aborted.is_none() {
                        o.aborted = Some("the sender no longer has this object (squelched)".into());
                    }
                }
                // For a stream, the squelch names its oldest block still kept:
                // what lies before it is lost (reported as a gap).
                if let Some(st) = s.objects.get_mut(&oldest).and_then(|o| o.stream.as_mut()).filter(|st| st.started) {
                    let b = st.unwrap_block(item.payload_id.block);
                    st.skip_to(b);
                }
            }
            Cmd::Eot => {
                let Some(s) = self.senders.remove(&node_id) else { return };
                self.drop_sender(s, "the sender ended the session");
            }
            Cmd::Cc { cc_sequence, send_time, nodes, rate } => {
                if self.cfg.silent {
                    return;
                }
                let own = self.node_id;
                let Some(s) = self.senders.get_mut(&node_id) else { return };
                let k = s.backoff.max(1) as f64 * s.grtt;
                s.cc.on_probe(now, own, nodes, rate.is_some());
                let listed = nodes.iter().any(|n| n.node_id == own);
                // Under congestion control (RFC 5740 section 5.5) the CLR
                // answers at once; another receiver answers only when it is
                // slower than both the sender's rate and the CLR (its
                // feedback then makes it the CLR). Without, every probe gets
                // an answer after a random delay so that one answer (which
                // suppresses the others) gives the sender a round-trip
                // sample.
                let answer = match rate {
                    Some(q) if !s.cc.is_clr => {
                        let clr = nodes.iter().filter(|n| n.flags & cc_flags::CLR != 0).map(|n| quant::unquantize_rate(n.rate)).reduce(f64::min);
                        clr.is_none_or(|c| s.cc.rate(s.grtt) < c.min(quant::unquantize_rate(*q)))
                    }
                    _ => true,
                };
                let respond_at = answer.then(|| {
                    let delay = if listed { 0.0 } else { self.rng.gen_range(0.0..=k.max(0.001)) };
                    now + secs(delay)
                });
                s.probe = Some(Probe { send_time: *send_time, received: now, cc_sequence: *cc_sequence, respond_at });
            }
            Cmd::RepairAdv { requests, .. } => {
                if let Some(s) = self.senders.get_mut(&node_id) {
                    note_requests(s, requests);
                }
            }
            Cmd::AckReq { .. } | Cmd::Application { .. } => {}
        }
    }

    fn on_overheard_nack(&mut self, n: &Nack) {
        let Some(s) = self.senders.get_mut(&n.server_id) else { return };
        if n.instance_id != s.instance_id {
            return;
        }
        self.stats.nacks_received += 1;
        note_requests(s, &n.requests);
        if let Some(cc) = n.cc {
            suppress_feedback(s, &cc);
        }
    }

    fn on_overheard_ack(&mut self, a: &Ack<'_>) {
        let Some(s) = self.senders.get_mut(&a.server_id) else { return };
        if a.ack_type != ack_type::CC {
            return;
        }
        if let Some(cc) = a.cc {
            suppress_feedback(s, &cc);
        }
    }

    /// Moves the "should have arrived" frontier and starts a NACK cycle if
    /// something below it is missing.
    fn advance_due(&mut self, now: Instant, node_id: u32, pos: Pos) {
        let Some(s) = self.senders.get_mut(&node_id) else { return };
        if pos > s.due {
            s.due = pos;
        }
        self.maybe_start_nack(now, node_id);
    }

    fn maybe_start_nack(&mut self, now: Instant, node_id: u32) {
        if self.cfg.silent {
            return;
        }
        let Some(s) = self.senders.get_mut(&node_id) else { return };
        if !matches!(s.nack, NackState::Idle) || !needs_repair(s) {
            return;
        }
        let max = s.backoff as f64 * s.grtt;
        let delay = exponential_backoff(&mut self.rng, max, s.gsize);
        s.overheard = Overheard::default();
        s.nack = NackState::Backoff(now + secs(delay));
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<u32> = self.senders.keys().copied().collect();
        for node_id in ids {
            let Some(s) = self.senders.get_mut(&node_id) else { continue };
            if now >= s.last_heard + self.cfg.inactivity_timeout {
                let s = self.senders.remove(&node_id).expect("present");
                self.drop_sender(s, "the sender went silent (inactivity timeout)");
                continue;
            }
            if let Some(p) = &mut s.probe {
                if p.respond_at.is_some_and(|t| t <= now) {
                    p.respond_at = None;
                    self.send_probe_ack(now, node_id);
                }
            }
            let s = self.senders.get_mut(&node_id).expect("present");
            match s.nack {
                NackState::Backoff(t) if t <= now => {
                    let requests = build_nack(s, MAX_NACK_ITEMS);
                    let grtt = s.grtt;
                    let k = s.backoff as f64;
                    s.nack = NackState::Holdoff(now + secs((k + 2.0) * grtt));
                    if s.next_deliver < s.first_heard {
                        s.nack_rounds += 1;
                    }
                    if requests.is_empty() {
                        self.stats.nacks_suppressed += 1;
                    } else {
                        self.send_nack(now, node_id, requests);
                    }
                    self.give_up_speculative(node_id);
                }
                NackState::Holdoff(t) if t <= now => {
                    s.nack = NackState::Idle;
                    self.maybe_start_nack(now, node_id);
                }
                _ => {}
            }
        }
        self.deliver_all();
    }

    /// Objects older than the first one heard were only guesses: stop asking
    /// for them after a few rounds without an answer (a sender that never had
    /// them may not squelch).
    fn give_up_speculative(&mut self, node_id: u32) {
        let Some(s) = self.senders.get_mut(&node_id) else { return };
        if s.nack_rounds < SPECULATIVE_ROUNDS {
            return;
        }
        for id in s.next_deliver..s.first_heard {
            if !s.objects.contains_key(&id) {
                s.invalid.insert(id);
            }
        }
    }

    fn grtt_response(s: &RemoteSender, now: Instant) -> NormTime {
        match &s.probe {
            Some(p) => norm_time_add(p.send_time, now.saturating_duration_since(p.received)),
            None => NormTime::default(),
        }
    }

    fn feedback_destination(&self, s: &RemoteSender) -> Destination {
        if self.cfg.unicast_nacks {
            Destination::Unicast(s.id.addr)
        } else {
            Destination::Group
        }
    }

    fn next_sequence(&mut self) -> u16 {
        let v = self.sequence;
        self.sequence = self.sequence.wrapping_add(1);
        v
    }

    fn send_nack(&mut self, now: Instant, node_id: u32, requests: Vec<RepairRequest>) {
        let s = &self.senders[&node_id];
        // Under congestion control every NACK carries our feedback too.
        let cc = s.cc.active.then(|| s.cc.feedback(s.probe.as_ref().map_or(0, |p| p.cc_sequence), s.grtt));
        let nack = Nack { server_id: node_id, instance_id: s.instance_id, grtt_response: Self::grtt_response(s, now), cc, requests };
        let dest = self.feedback_destination(s);
        let sequence = self.next_sequence();
        let mut buf = Vec::new();
        Packet { sequence, source_id: self.node_id, body: Body::Nack(nack) }.encode(&mut buf);
        self.outbox.push_back((dest, buf));
        self.stats.nacks_sent += 1;
    }

    fn send_probe_ack(&mut self, now: Instant, node_id: u32) {
        let s = &self.senders[&node_id];
        let Some(p) = &s.probe else { return };
        let cc = if s.cc.active {
            s.cc.feedback(p.cc_sequence, s.grtt)
        } else {
            CcFeedback { cc_sequence: p.cc_sequence, cc_flags: cc_flags::RTT, cc_rtt: quant::quantize_rtt(s.grtt), cc_loss: 0, cc_rate: 0 }
        };
        self.send_ack(now, node_id, ack_type::CC, Some(cc), AckBody::Other(&[]));
    }

    /// Queues a NORM_ACK to sender `node_id` (to the group, or unicast).
    fn send_ack(&mut self, now: Instant, node_id: u32, ack_type: u8, cc: Option<CcFeedback>, body: AckBody<'_>) {
        let s = &self.senders[&node_id];
        let ack = Ack {
            server_id: node_id,
            instance_id: s.instance_id,
            ack_type,
            ack_id: 0,
            grtt_response: Self::grtt_response(s, now),
            cc,
            body,
        };
        let dest = self.feedback_destination(s);
        let sequence = self.next_sequence();
        let mut buf = Vec::new();
        Packet { sequence, source_id: self.node_id, body: Body::Ack(ack) }.encode(&mut buf);
        self.outbox.push_back((dest, buf));
        self.stats.acks_sent += 1;
    }

    /// Whether everything of sender `node_id` up to the watermark `item`
    /// arrived (and nothing up to it was aborted).
    fn has_everything_up_to(&self, node_id: u32, item: &RepairItem) -> bool {
        let Some(s) = self.senders.get(&node_id) else { return false };
        if s.reference == 0 {
            return false;
        }
        let w = s.unwrap(item.object_id);
        // An object aborted since the last watermark we confirmed (and not
        // after this one) means not everything up to it arrived.
        if s.aborted_upto.is_some_and(|a| a <= w && s.acked_upto.is_none_or(|l| a > l)) {
            return false;
        }
        if s.next_deliver > w {
            return true;
        }
        // A stream at the watermark: delivered up to the named segment.
        if s.next_deliver == w {
            if let Some(st) = s.objects.get(&w).and_then(|o| o.stream.as_ref()).filter(|st| st.started) {
                let b = st.peek_block(item.payload_id.block);
                return st.read > b * st.ndata as u64 + item.payload_id.symbol as u64;
            }
        }
        false
    }

    fn send_flush_ack(&mut self, now: Instant, node_id: u32, item: RepairItem) {
        let s = self.senders.get_mut(&node_id).expect("known");
        let w = s.unwrap(item.object_id);
        s.acked_upto = Some(s.acked_upto.map_or(w, |l| l.max(w)));
        self.send_ack(now, node_id, ack_type::FLUSH, None, AckBody::Flush(item));
    }

    /// Reports every object that can be delivered in order.
    fn deliver_all(&mut self) {
        let trusted = &self.cfg.trusted_signers;
        for s in self.senders.values_mut() {
            deliver(s, &mut Sink { events: &mut self.events, stats: &mut self.stats, rejected: &mut self.rejected, trusted });
        }
    }

    fn drop_sender(&mut self, mut s: RemoteSender, reason: &str) {
        let trusted = &self.cfg.trusted_signers;
        deliver(&mut s, &mut Sink { events: &mut self.events, stats: &mut self.stats, rejected: &mut self.rejected, trusted });
        let pending: Vec<u64> = s.objects.keys().copied().filter(|id| *id >= s.next_deliver).collect();
        for id in pending {
            // Objects we only guessed at are not reported.
            if id < s.first_heard && s.objects.get(&id).is_some_and(|o| !o.known() && o.info.is_none()) {
                continue;
            }
            self.stats.objects_aborted += 1;
            self.events.push_back(ReceiverEvent::Aborted { sender: s.id, object_id: s.report_id(id), reason: reason.to_string() });
        }
        self.events.push_back(ReceiverEvent::SenderLeft(s.id));
    }
}

impl RemoteSender {
    /// While repairs are arriving, wait for them before asking again.
    fn touch_holdoff(&mut self, now: Instant) {
        if let NackState::Holdoff(t) = self.nack {
            let until = now + self.grtt_d() * (self.backoff as u32 + 2);
            if until > t {
                self.nack = NackState::Holdoff(until);
            }
        }
    }
}

fn kind_of(f: u8) -> ObjectKind {
    if f & flags::STREAM != 0 {
        ObjectKind::Stream
    } else if f & flags::FILE != 0 {
        ObjectKind::File
    } else {
        ObjectKind::Data
    }
}

/// Records what another receiver's NACK (or the sender's REPAIR_ADV) asks for.
fn note_requests(s: &mut RemoteSender, requests: &[RepairRequest]) {
    for req in requests {
        for (a, b) in req.pairs() {
            let o0 = s.unwrap(a.object_id);
            let o1 = s.unwrap(b.object_id).max(o0);
            if o1 - o0 > 4096 {
                continue;
            }
            for obj in o0..=o1 {
                if req.flags & nack_flags::OBJECT != 0 {
                    s.overheard.objects.insert(obj);
                }
                if req.flags & nack_flags::INFO != 0 {
                    s.overheard.info.insert(obj);
                }
            }
            if req.flags & nack_flags::BLOCK != 0 || (o0 == o1 && a.payload_id.block != b.payload_id.block) {
                for block in a.payload_id.block..=b.payload_id.block.max(a.payload_id.block).min(a.payload_id.block + 65536) {
                    s.overheard.blocks.insert((o0, block), u16::MAX);
                }
            } else if req.flags & nack_flags::SEGMENT != 0 && o0 == o1 {
                let n = if req.form == nack_form::ERASURES {
                    a.payload_id.symbol
                } else {
                    b.payload_id.symbol.saturating_sub(a.payload_id.symbol) + 1
                };
                let e = s.overheard.blocks.entry((o0, a.payload_id.block)).or_insert(0);
                *e = e.saturating_add(n);
            }
        }
    }
}

/// Is anything that should have arrived by now missing?
fn needs_repair(s: &RemoteSender) -> bool {
    for id in s.next_deliver..=s.due.obj.min(s.next_deliver + 65536) {
        if s.invalid.contains(&id) {
            continue;
        }
        match s.objects.get(&id) {
            None => {
                if s.object_due(id) {
                    return true;
                }
            }
            Some(o) => {
                if o.aborted.is_some() || o.complete() {
                    continue;
                }
                if let Some(st) = &o.stream {
                    if st.started && !st.ended {
                        // A late joiner also asks for the stream's NORM_INFO.
                        if (o.has_info && o.info.is_none()) || !st.repair_needs(stream_frontier(s, id, st), st.window).is_empty() {
                            return true;
                        }
                    }
                    continue;
                }
                let Some(layout) = o.layout else {
                    if s.object_due(id) {
                        return true;
                    }
                    continue;
                };
                let due_blocks = if id < s.due.obj { layout.num_blocks } else { s.due.block.min(layout.num_blocks) };
                if o.first_incomplete < due_blocks {
                    return true;
                }
                if o.has_info && o.info.is_none() && (id < s.due.obj || s.due.block > 0) {
                    return true;
                }
            }
        }
    }
    false
}

/// Builds the repair requests for everything missing below the due frontier
/// that no overheard NACK or repair already covers.
/// Another receiver's feedback to sender `s` was overheard: our pending
/// answer to the probe is not needed if theirs answers it (no congestion
/// control: any answer gives the round-trip sample) or reports a rate no
/// higher than about ours (congestion control: the sender follows the
/// slowest, so ours would not change anything).
fn suppress_feedback(s: &mut RemoteSender, cc: &CcFeedback) {
    let Some(p) = &mut s.probe else { return };
    if p.respond_at.is_none() {
        return;
    }
    let redundant = if s.cc.active {
        quant::unquantize_rate(cc.cc_rate) <= 1.1 * s.cc.rate(s.grtt)
    } else {
        cc.cc_sequence == p.cc_sequence
    };
    if redundant && !s.cc.is_clr {
        p.respond_at = None;
    }
}

fn build_nack(s: &RemoteSender, max_items: usize) -> Vec<RepairRequest> {
    let mut out = NackBuilder { requests: Vec::new(), items: 0, max_items };
    let mut missing_objects: Vec<u64> = Vec::new();
    let last = s.due.obj.min(s.next_deliver + 65536);
    for id in s.next_deliver..=last {
        if out.full() {
            break;
        }
        if s.invalid.contains(&id) {
            continue;
        }
        let wire_id = id as u16;
        match s.objects.get(&id) {
            None => {
                if s.object_due(id) && !s.overheard.objects.contains(&id) {
                    missing_objects.push(id);
                }
            }
            Some(o) => {
                if o.aborted.is_some() || o.complete() {
                    continue;
                }
                if let Some(st) = &o.stream {
                    if !st.started || st.ended {
                        continue;
                    }
                    if o.has_info && o.info.is_none() && !s.overheard.info.contains(&id) {
                        out.push(nack_form::ITEMS, nack_flags::INFO, item(wire_id, 0, 0, 0), None);
                    }
                    let max_blocks = (max_items - out.items.min(max_items)) as u64;
                    for (b, needed, missing) in st.repair_needs(stream_frontier(s, id, st), max_blocks) {
                        if out.full() {
                            break;
                        }
                        let wb = wire_block(b);
                        let covered = s.overheard.blocks.get(&(id, wb)).copied().unwrap_or(0);
                        if covered >= needed {
                            continue;
                        }
                        push_runs(&mut out, wire_id, wb, st.ndata, &missing);
                    }
                    continue;
                }
                let Some(layout) = o.layout else {
                    if s.object_due(id) && !s.overheard.objects.contains(&id) {
                        missing_objects.push(id);
                    }
                    continue;
                };
                let due_blocks = if id < s.due.obj { layout.num_blocks } else { s.due.block.min(layout.num_blocks) };
                if o.has_info && o.info.is_none() && (id < s.due.obj || s.due.block > 0) && !s.overheard.info.contains(&id) {
                    out.push(nack_form::ITEMS, nack_flags::INFO, item(wire_id, 0, 0, 0), None);
                }
                for block in o.first_incomplete..due_blocks {
                    if out.full() {
                        break;
                    }
                    if o.block_done(block) {
                        continue;
                    }
                    let empty = RxBlock::default();
                    let b = o.partial.get(&block).unwrap_or(&empty);
                    let block_len = layout.block_len(block);
                    let needed = block_len - b.count().min(block_len);
                    let covered = s.overheard.blocks.get(&(id, block)).copied().unwrap_or(0);
                    if needed == 0 || covered >= needed {
                        continue;
                    }
                    // Name `needed` segments we lack, as libnorm receivers do:
                    // parity segments first (any `needed` of them rebuild the
                    // block, and the same ones serve every receiver), then
                    // data segments if the parity alone cannot. Our sender
                    // answers with that many fresh parity segments, or, once
                    // its parity is used up, with the named segments; a
                    // libnorm sender sends the named segments, parity too.
                    let mut names: Vec<u16> = (0..layout.num_parity)
                        .filter(|i| !b.parity.iter().any(|(p, _)| p == i))
                        .map(|i| block_len + i)
                        .take(needed as usize)
                        .collect();
                    let lacking = needed as usize - names.len();
                    names.splice(0..0, (0..block_len).filter(|sym| !b.has(*sym)).take(lacking));
                    let mut run: Option<(u16, u16)> = None;
                    for sym in names {
                        run = match run {
                            Some((a, z)) if z + 1 == sym => Some((a, sym)),
                            Some((a, z)) => {
                                out.push_run(wire_id, block, block_len, a, z);
                                Some((sym, sym))
                            }
                            None => Some((sym, sym)),
                        };
                    }
                    if let Some((a, z)) = run {
                        out.push_run(wire_id, block, block_len, a, z);
                    }
                }
            }
        }
    }
    // Whole objects we have nothing of, as ranges of object ids.
    let mut i = 0;
    while i < missing_objects.len() && !out.full() {
        let start = missing_objects[i];
        let mut end = start;
        while i + 1 < missing_objects.len() && missing_objects[i + 1] == end + 1 {
            i += 1;
            end += 1;
        }
        let f = nack_flags::OBJECT | nack_flags::INFO;
        if start == end {
            out.push(nack_form::ITEMS, f, item(start as u16, 0, 0, 0), None);
        } else {
            out.push(nack_form::RANGES, f, item(start as u16, 0, 0, 0), Some(item(end as u16, 0, 0, 0)));
        }
        i += 1;
    }
    out.requests
}

fn item(object_id: u16, block: u32, symbol: u16, block_len: u16) -> RepairItem {
    RepairItem { fec_id: fec_id::RS8, object_id, payload_id: FecPayloadId { block, symbol, block_len } }
}

struct NackBuilder {
    requests: Vec<RepairRequest>,
    items: usize,
    max_items: usize,
}

impl NackBuilder {
    fn full(&self) -> bool {
        self.items >= self.max_items
    }
    /// Appends an item (or a range) to the last request if form and flags match.
    fn push(&mut self, form: u8, flags: u8, a: RepairItem, b: Option<RepairItem>) {
        match self.requests.last_mut() {
            Some(r) if r.form == form && r.flags == flags => {}
            _ => self.requests.push(RepairRequest { form, flags, items: Vec::new() }),
        }
        let r = self.requests.last_mut().expect("pushed");
        r.items.push(a);
        self.items += 1;
        if let Some(b) = b {
            r.items.push(b);
            self.items += 1;
        }
    }
    fn push_run(&mut self, obj: u16, block: u32, block_len: u16, a: u16, z: u16) {
        if a == z {
            self.push(nack_form::ITEMS, nack_flags::SEGMENT, item(obj, block, a, block_len), None);
        } else {
            self.push(nack_form::RANGES, nack_flags::SEGMENT, item(obj, block, a, block_len), Some(item(obj, block, z, block_len)));
        }
    }
}

/// Recovers a block's missing data segments from its parity into `data`,
/// which holds the object from byte `base` on. Returns the number of
/// segments and bytes recovered.
fn decode_block(
    codec: &Rs8,
    layout: &BlockLayout,
    block: u32,
    b: &RxBlock,
    data: &mut [u8],
    base: u64,
) -> Result<(usize, u64), crate::fec::FecError> {
    let seg = layout.segment_size as usize;
    let block_len = layout.block_len(block);
    let mut segments: Vec<Option<Vec<u8>>> = vec![None; block_len as usize + layout.num_parity as usize];
    for sym in 0..block_len {
        if b.has(sym) {
            let (off, len) = layout.segment_range(block, sym);
            let off = off - base;
            let mut v = vec![0u8; seg];
            v[..len].copy_from_slice(&data[off as usize..off as usize + len]);
            segments[sym as usize] = Some(v);
        }
    }
    for (index, p) in &b.parity {
        segments[block_len as usize + *index as usize] = Some(p.clone());
    }
    codec.decode(block_len as usize, &mut segments, seg)?;
    let mut n = 0;
    let mut bytes = 0;
    for sym in 0..block_len {
        if b.has(sym) {
            continue;
        }
        let (off, len) = layout.segment_range(block, sym);
        let off = off - base;
        let v = segments[sym as usize].as_ref().ok_or(crate::fec::FecError::Singular)?;
        data[off as usize..off as usize + len].copy_from_slice(&v[..len]);
        n += 1;
        bytes += len as u64;
    }
    Ok((n, bytes))
}

/// Where `deliver` puts what it finds.
struct Sink<'a> {
    events: &'a mut VecDeque<ReceiverEvent>,
    stats: &'a mut ReceiverStats,
    /// Rejections reported (`Receiver::report_rejected`).
    rejected: &'a mut HashSet<(u32, &'static str)>,
    trusted: &'a [PublicKey],
}

impl Sink<'_> {
    fn report_rejected(&mut self, from: SocketAddr, node_id: u32, reason: &'static str) {
        report_rejected(self.rejected, self.events, from, node_id, reason);
    }
}

/// Reports a rejected sender once per reason (at most 1024 reports).
fn report_rejected(
    rejected: &mut HashSet<(u32, &'static str)>,
    events: &mut VecDeque<ReceiverEvent>,
    from: SocketAddr,
    node_id: u32,
    reason: &'static str,
) {
    const MAX_REPORTED: usize = 1024;
    if rejected.len() < MAX_REPORTED && rejected.insert((node_id, reason)) {
        events.push_back(ReceiverEvent::Rejected { from, node_id, reason: reason.to_string() });
    }
}

impl StreamHold {
    /// Drops `n` bytes.
    fn drop(&mut self, n: u64) {
        self.lost += n;
        self.resync |= n > 0;
    }

    /// Drops what was held (taken out of `pieces`).
    fn discard(&mut self, pieces: Vec<StreamOut>) {
        self.bytes = 0;
        for p in pieces {
            match p {
                StreamOut::Data(d, _) => self.drop(d.len() as u64),
                StreamOut::Gap(n) => self.drop(n),
                _ => {}
            }
        }
    }
}

/// The event for a piece of a stream (none for a signature segment, which
/// only the hold of a signed stream looks at).
fn stream_event(sender: SenderId, object_id: u64, info: &[u8], piece: StreamOut, signer: Option<PublicKey>) -> Option<ReceiverEvent> {
    Some(match piece {
        StreamOut::Data(data, message_end) => ReceiverEvent::StreamData { sender, object_id, info: info.to_vec(), data, message_end, signer },
        StreamOut::Gap(lost_bytes) => ReceiverEvent::StreamGap { sender, object_id, lost_bytes },
        StreamOut::End => ReceiverEvent::StreamEnd { sender, object_id, signer },
        StreamOut::Signature { .. } => return None,
    })
}

/// Passes the pieces of a signed stream through its hold: bytes wait for
/// their unit's signature, and leave as events once it verifies. Returns a
/// refusal when the whole stream is to be refused (nothing of it ever
/// verified).
fn settle_stream(s: &mut RemoteSender, id: u64, pieces: Vec<StreamOut>, sink: &mut Sink<'_>) -> Option<Refusal> {
    let (sender, object_id) = (s.id, id - ID_BASE);
    let ids = sign::StreamIdentity { node_id: s.id.node_id, instance_id: s.instance_id, object_id: id as u16 };
    let o = s.objects.get_mut(&id).expect("present");
    let info = o.info.clone().unwrap_or_default();
    let limit = o.stream.as_ref().map_or(0, |st| 2 * st.ndata as u64 * st.seg_size as u64);
    let hold = o.hold.as_mut().expect("signed stream");
    for piece in pieces {
        match piece {
            StreamOut::Data(data, _) if hold.overflowed => hold.drop(data.len() as u64),
            StreamOut::Data(..) | StreamOut::Gap(_) => {
                if let StreamOut::Data(d, _) = &piece {
                    hold.bytes += d.len() as u64;
                    hold.last_seen &= d.is_empty();
                } else {
                    hold.last_seen = false;
                }
                hold.pieces.push(piece);
                if hold.bytes > limit {
                    // A signing sender signs at least once per block.
                    if hold.signer.is_none() {
                        return Some(Refusal::Unsigned);
                    }
                    hold.overflowed = true;
                    let pieces = std::mem::take(&mut hold.pieces);
                    hold.discard(pieces);
                    sink.report_rejected(sender.addr, sender.node_id, Refusal::Unsigned.explain());
                }
            }
            StreamOut::Signature { body, hash, count, whole } => {
                let pieces = std::mem::take(&mut hold.pieces);
                hold.bytes = 0;
                let overflowed = std::mem::take(&mut hold.overflowed);
                let boundary_seen = std::mem::replace(&mut hold.boundary_seen, true);
                hold.last_seen = false;
                if !whole || overflowed {
                    // Part of the unit was lost for good, or heard before
                    // this receiver joined: what arrived of it cannot be
                    // checked (nor is its signature: the hash would differ).
                    hold.discard(pieces);
                    continue;
                }
                match sign::verify_unit(sink.trusted, &ids, &body, &hash, count) {
                    Ok(v) if hold.next_unit.is_some_and(|n| v.unit < n) || (!boundary_seen && v.unit != 0) => {
                        // A replayed signature of an earlier unit (from the
                        // stream's start, the first unit is 0).
                        hold.discard(pieces);
                        sink.stats.signatures_refused += 1;
                        sink.report_rejected(sender.addr, sender.node_id, Refusal::Mismatch.explain());
                    }
                    Ok(v) => {
                        hold.signer = Some(v.signer);
                        hold.next_unit = Some(v.unit + 1);
                        hold.last_seen = v.last;
                        s.proved_signer = true;
                        for piece in pieces {
                            if hold.resync {
                                // Up to the end of the message under way.
                                match piece {
                                    StreamOut::Data(d, end) => {
                                        hold.lost += d.len() as u64;
                                        hold.resync = !end;
                                    }
                                    StreamOut::Gap(n) => hold.lost += n,
                                    _ => {}
                                }
                                continue;
                            }
                            if hold.lost > 0 {
                                sink.events.push_back(ReceiverEvent::StreamGap { sender, object_id, lost_bytes: std::mem::take(&mut hold.lost) });
                            }
                            sink.events.extend(stream_event(sender, object_id, &info, piece, Some(v.signer)));
                        }
                    }
                    Err(r) => {
                        // The unit is dropped, not the stream: anyone who
                        // can send to the group can spoil a unit, and the
                        // next one may verify.
                        hold.refusal = Some(r);
                        hold.discard(pieces);
                        sink.stats.signatures_refused += 1;
                        sink.report_rejected(sender.addr, sender.node_id, r.explain());
                    }
                }
            }
            StreamOut::End => {
                if hold.signer.is_none() {
                    // Never a signature that verified.
                    return Some(hold.refusal.unwrap_or(Refusal::Unsigned));
                }
                if !hold.last_seen || hold.bytes > 0 {
                    // Data after the last signature, or an end no
                    // signature announced.
                    return Some(Refusal::UnsignedEnd);
                }
                // What follows the last signature is the end of the last
                // message: no bytes.
                let signer = hold.signer;
                for piece in std::mem::take(&mut hold.pieces) {
                    if !hold.resync {
                        sink.events.extend(stream_event(sender, object_id, &info, piece, signer));
                    }
                }
                if hold.lost > 0 {
                    sink.events.push_back(ReceiverEvent::StreamGap { sender, object_id, lost_bytes: std::mem::take(&mut hold.lost) });
                }
                sink.events.extend(stream_event(sender, object_id, &info, StreamOut::End, signer));
            }
        }
    }
    None
}

fn deliver(s: &mut RemoteSender, sink: &mut Sink<'_>) {
    loop {
        let id = s.next_deliver;
        if s.invalid.contains(&id) && !s.objects.contains_key(&id) {
            s.invalid.remove(&id);
            s.next_deliver += 1;
            continue;
        }
        let Some(o) = s.objects.get_mut(&id) else { break };
        if let (Some(st), None) = (o.stream.as_mut(), &o.aborted) {
            let mut out = Vec::new();
            st.deliver(&mut out);
            let ended = st.ended;
            let allocated = st.allocated_bytes();
            let (sender, object_id) = (s.id, id - ID_BASE);
            if o.hold.is_some() {
                if let Some(r) = settle_stream(s, id, out, sink) {
                    let o = s.objects.get_mut(&id).expect("present");
                    sink.stats.objects_unverified += 1;
                    s.buffered -= o.abort_and_free(format!("refused: {}", r.explain()));
                    sink.report_rejected(sender.addr, sender.node_id, r.explain());
                    continue;
                }
            } else {
                let info = o.info.as_deref().unwrap_or_default();
                sink.events.extend(out.into_iter().filter_map(|piece| stream_event(sender, object_id, info, piece, None)));
            }
            // Delivered blocks are freed: charge what is still buffered
            // (and held for a signature).
            let o = s.objects.get_mut(&id).expect("present");
            let held = o.hold.as_ref().map_or(0, |h| h.bytes);
            set_charge(&mut s.buffered, &mut o.charge, allocated + held);
            if !ended {
                break;
            }
            sink.stats.objects_completed += 1;
            s.completed += 1;
            let o = s.objects.remove(&id).expect("present");
            s.invalid.remove(&id);
            s.fti.remove(&id);
            s.buffered -= o.charge;
            s.next_deliver += 1;
            continue;
        }
        let o = s.objects.get(&id).expect("present");
        if let Some(reason) = &o.aborted {
            // Only report objects known to have existed.
            if id >= s.first_heard || o.known() || o.info.is_some() {
                s.aborted_upto = Some(s.aborted_upto.map_or(id, |a| a.max(id)));
                sink.stats.objects_aborted += 1;
                sink.events.push_back(ReceiverEvent::Aborted { sender: s.id, object_id: s.report_id(id), reason: reason.clone() });
            }
        } else if o.complete() {
            sink.stats.objects_completed += 1;
            s.completed += 1;
        } else {
            break;
        }
        let o = s.objects.remove(&id).expect("present");
        s.invalid.remove(&id);
        s.fti.remove(&id);
        s.buffered -= o.charge;
        if o.aborted.is_none() {
            sink.events.push_back(ReceiverEvent::Object(ReceivedObject {
                sender: s.id,
                object_id: s.report_id(id),
                kind: o.kind,
                info: o.info.unwrap_or_default(),
                size: o.layout.map_or(0, |l| l.object_size),
                data: o.data,
                in_file: o.in_file,
                signer: o.verified.map(|(v, _)| v.signer),
            }));
        }
        s.next_deliver += 1;
    }
}

/// Pushes NACK items for a sorted list of missing segments (runs as ranges).
fn push_runs(out: &mut NackBuilder, obj: u16, block: u32, block_len: u16, missing: &[u16]) {
    let mut run: Option<(u16, u16)> = None;
    for &sym in missing {
        run = match run {
            Some((a, z)) if z + 1 == sym => Some((a, sym)),
            Some((a, z)) => {
                out.push_run(obj, block, block_len, a, z);
                Some((sym, sym))
            }
            None => Some((sym, sym)),
        };
    }
    if let Some((a, z)) = run {
        out.push_run(obj, block, block_len, a, z);
    }
}

/// Up to where (in segments) a stream's data should have arrived: what its
/// sender has sent and flushed or, once a later object has begun, everything
/// up to its end.
fn stream_frontier(s: &RemoteSender, id: u64, st: &RxStream) -> u64 {
    if id < s.due.obj {
        st.overdue_frontier()
    } else {
        st.due
    }
}

/// Whether a receiver hearing a stream first at wire block `wire` asks for it
/// from its beginning: with `SyncPolicy::All` when the sender may still hold
/// block 0 (it keeps `sender_blocks`), else only at block 0 itself.
fn stream_from_start(st: &RxStream, wire: u32, policy: SyncPolicy) -> bool {
    let wire = (wire & 0x00ff_ffff) as u64;
    wire == 0 || (policy == SyncPolicy::All && wire < st.sender_blocks)
}

/// Offers a NORM_DATA segment of a stream to its reassembly.
fn store_stream_segment(st: &mut RxStream, codec: Option<&Rs8>, d: &Data<'_>, repair: bool, policy: SyncPolicy, stats: &mut ReceiverStats) {
    let wire = d.payload_id.block;
    if !st.started {
        st.start(BLOCK_BASE + (wire & 0x00ff_ffff) as u64, stream_from_start(st, wire, policy));
    }
    let b = st.unwrap_block(wire);
    let nd = st.ndata as u64;
    let symbol = d.payload_id.symbol;
    if b >= st.read_block() + st.window {
        // The sender is further ahead than this receiver can buffer: give up
        // the oldest blocks (reported as a gap when delivery reaches them).
        st.skip_to(b + 1 - st.window);
    }
    if !repair {
        // Everything the sender sent before this segment should be here.
        let pos = if symbol < st.ndata { b * nd + symbol as u64 } else { (b + 1) * nd };
        st.due = st.due.max(pos);
    }
    st.alloc_block(b);
    match st.insert(b, symbol, d.payload, codec) {
        Stored::New(recovered) => {
            if symbol < st.ndata {
                stats.data_segments_received += 1;
            } else {
                stats.parity_segments_received += 1;
            }
            stats.fec_recovered_segments += recovered as u64;
        }
        Stored::Duplicate | Stored::Stale => stats.duplicates += 1,
        Stored::Malformed => stats.malformed_received += 1,
    }
}
