//! A deterministic network simulator for the sans-IO protocol core.
//!
//! One sender and N receivers exchange datagrams through a simulated group on
//! a virtual clock. Each receiver has its own inbound loss; a shared loss can
//! model a common bottleneck link; packets can be duplicated and reordered.
//! Everything is driven by one seeded RNG, so a failing seed replays exactly.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use mcast::proto::{Destination, ObjectKind, Receiver, ReceiverConfig, ReceiverEvent, Sender, SenderConfig};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[derive(Debug, Clone)]
pub struct NetConfig {
    /// One-way delay and uniform jitter.
    pub delay: Duration,
    pub jitter: Duration,
    /// Loss applied once per datagram to every receiver behind the shared link.
    pub shared_loss: f64,
    /// Probability of duplicating a datagram.
    pub duplicate: f64,
    /// Probability of an extra delay (reordering) of up to 5 * delay.
    pub reorder: f64,
    /// Gilbert-Elliott burst loss: probability to enter / leave the bad state
    /// per datagram, loss in the bad state.
    pub burst_enter: f64,
    pub burst_leave: f64,
    pub burst_loss: f64,
    /// A bottleneck on the sender's way to the group: this many bits per
    /// second (0: none) with a drop-tail queue of `bottleneck_queue` bytes
    /// (what `tc tbf` does).
    pub bottleneck_bps: u64,
    pub bottleneck_queue: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            delay: Duration::from_millis(2),
            jitter: Duration::from_micros(500),
            shared_loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            burst_enter: 0.0,
            burst_leave: 0.3,
            burst_loss: 0.0,
            bottleneck_bps: 0,
            bottleneck_queue: 0,
        }
    }
}

pub struct RxNode {
    pub proto: Receiver,
    pub addr: SocketAddr,
    /// Independent inbound loss of this receiver.
    pub loss: f64,
    /// Everything this receiver sends is lost (with `loss` 1.0: cut off).
    pub muted: bool,
    /// Joins (starts receiving) at this virtual time.
    pub join_at: Duration,
    pub joined: bool,
    pub burst_bad: bool,
    pub delivered: Vec<(u64, Vec<u8>, Vec<u8>)>,
    pub aborted: Vec<(u64, String)>,
    /// Stream messages received whole (pieces joined up to `message_end`).
    pub stream_msgs: Vec<Vec<u8>>,
    /// Bytes of a message under way.
    pub stream_partial: Vec<u8>,
    /// Bytes reported lost (StreamGap), and how many gap reports.
    pub stream_lost: u64,
    pub stream_gaps: u64,
    pub stream_ended: bool,
    /// The signer of each `StreamData` piece.
    pub stream_signers: Vec<Option<mcast::PublicKey>>,
    /// FILE objects being assembled from `ReceiverEvent::FileData`, as the
    /// engine writes them to disk (`ReceiverConfig::file_dir`).
    pub files: std::collections::HashMap<u64, Vec<u8>>,
    /// `ReceiverEvent::Rejected` (source node id, reason), in order.
    pub rejected: Vec<(u32, String)>,
    /// The signer of each delivered object (`ReceivedObject::signer`).
    pub signers: Vec<Option<mcast::PublicKey>>,
}

/// A stream the simulated application writes whenever the sender has room.
pub struct StreamJob {
    pub id: u64,
    pub messages: std::collections::VecDeque<Vec<u8>>,
    /// Bytes of the front message already written.
    pub offset: usize,
    /// Close the stream once every message is written.
    pub close: bool,
    pub closed: bool,
}

struct InFlight {
    at: Duration,
    seq: u64,
    /// usize::MAX = the sender; otherwise a receiver index.
    to: usize,
    from: SocketAddr,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

pub const SENDER: usize = usize::MAX;

pub struct Sim {
    pub base: Instant,
    pub now: Duration,
    pub rng: SmallRng,
    pub net: NetConfig,
    pub sender: Sender,
    pub sender_addr: SocketAddr,
    pub receivers: Vec<RxNode>,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    shared_bad: bool,
    pub sent_objects: Vec<(u64, Vec<u8>, Vec<u8>)>,
    pub flushes_done: Vec<u64>,
    /// AckComplete events: (token, acked, missing).
    pub acks: Vec<(u64, Vec<u32>, Vec<u32>)>,
    pub stream: Option<StreamJob>,
    /// Every message given to the stream, in order.
    pub stream_sent: Vec<Vec<u8>>,
    pub datagrams: u64,
    /// NACK datagrams sent by receivers (any destination).
    pub nacks: u64,
    /// Sender datagrams dropped on the shared link.
    pub shared_drops: u64,
    /// Sender datagrams dropped by the bottleneck's full queue.
    pub bottleneck_drops: u64,
    /// When the bottleneck has sent everything queued so far.
    bottleneck_free: Duration,
    /// Every datagram the sender sent, when `record_wire` is set.
    pub record_wire: bool,
    pub wire: Vec<Vec<u8>>,
}

fn addr(i: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i), 6003, 0, 0))
}

impl Sim {
    pub fn new(seed: u64, net: NetConfig, scfg: SenderConfig, rcfg: ReceiverConfig, losses: &[f64], joins: &[Duration]) -> Sim {
        let base = Instant::now();
        let mut rng = SmallRng::seed_from_u64(seed);
        let sender = Sender::new(scfg, 1 + rng.gen_range(1..1000), rng.gen(), base).expect("sender");
        let receivers = losses
            .iter()
            .enumerate()
            .map(|(i, loss)| RxNode {
                proto: Receiver::new(rcfg.clone(), 10_000 + i as u32, base).expect("receiver"),
                addr: addr(100 + i as u16),
                loss: *loss,
                muted: false,
                join_at: joins.get(i).copied().unwrap_or_default(),
                joined: joins.get(i).is_none_or(|j| j.is_zero()),
                burst_bad: false,
                delivered: Vec::new(),
                aborted: Vec::new(),
                stream_msgs: Vec::new(),
                stream_partial: Vec::new(),
                stream_lost: 0,
                stream_gaps: 0,
                stream_ended: false,
                stream_signers: Vec::new(),
                files: Default::default(),
                rejected: Vec::new(),
                signers: Vec::new(),
            })
            .collect();
        Sim {
            base,
            now: Duration::ZERO,
            rng,
            net,
            sender,
            sender_addr: addr(1),
            receivers,
            queue: BinaryHeap::new(),
            seq: 0,
            shared_bad: false,
            sent_objects: Vec::new(),
            flushes_done: Vec::new(),
            acks: Vec::new(),
            stream: None,
            stream_sent: Vec::new(),
            datagrams: 0,
            nacks: 0,
            shared_drops: 0,
            bottleneck_drops: 0,
            bottleneck_free: Duration::ZERO,
            record_wire: false,
            wire: Vec::new(),
        }
    }

    pub fn instant(&self) -> Instant {
        self.base + self.now
    }

    pub fn send(&mut self, data: Vec<u8>, info: Vec<u8>) -> u64 {
        self.send_kind(ObjectKind::Data, data, info)
    }

    pub fn send_kind(&mut self, kind: ObjectKind, data: Vec<u8>, info: Vec<u8>) -> u64 {
        let now = self.instant();
        let id = self
            .sender
            .enqueue(now, kind, Box::new(data.clone()), if info.is_empty() { None } else { Some(info.clone()) })
            .expect("enqueue");
        self.sent_objects.push((id, data, info));
        id
    }

    /// Opens a stream and queues `messages` to be written to it (each with
    /// end_of_message), closing it after the last one when `close`.
    pub fn stream(&mut self, info: Vec<u8>, messages: Vec<Vec<u8>>, close: bool) -> u64 {
        let now = self.instant();
        let id = self.sender.open_stream(now, if info.is_empty() { None } else { Some(info) }).expect("open_stream");
        self.stream_sent.extend(messages.iter().cloned());
        self.stream = Some(StreamJob { id, messages: messages.into(), offset: 0, close, closed: false });
        id
    }

    /// Writes what the stream buffer takes now.
    fn pump_stream(&mut self) {
        let now = self.instant();
        let Some(job) = self.stream.as_mut() else { return };
        while let Some(m) = job.messages.front() {
            let n = self.sender.stream_write(now, job.id, &m[job.offset..], true).expect("stream_write");
            job.offset += n;
            if job.offset < m.len() {
                return;
            }
            job.messages.pop_front();
            job.offset = 0;
        }
        if job.close && !job.closed {
            self.sender.stream_close(now, job.id).expect("stream_close");
            job.closed = true;
        }
    }

    fn lost(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.gen_bool(p.min(1.0))
    }

    fn schedule(&mut self, to: usize, from: SocketAddr, bytes: &[u8], queued: Duration) {
        let mut at = self.now + queued + self.net.delay;
        if !self.net.jitter.is_zero() {
            at += Duration::from_nanos(self.rng.gen_range(0..self.net.jitter.as_nanos() as u64));
        }
        if self.net.reorder > 0.0 && self.rng.gen_bool(self.net.reorder) {
            at += Duration::from_nanos(self.rng.gen_range(0..(self.net.delay.as_nanos() as u64 * 5).max(1)));
        }
        self.seq += 1;
        self.queue.push(Reverse(InFlight { at, seq: self.seq, to, from, bytes: bytes.to_vec() }));
        if self.net.duplicate > 0.0 && self.rng.gen_bool(self.net.duplicate) {
            self.seq += 1;
            self.queue.push(Reverse(InFlight { at: at + self.net.delay, seq: self.seq, to, from, bytes: bytes.to_vec() }));
        }
    }

    /// Sends one datagram from `from_idx` to its destination(s).
    fn route(&mut self, from_idx: usize, dest: Destination, bytes: &[u8]) {
        self.datagrams += 1;
        if from_idx != SENDER && self.receivers[from_idx].muted {
            return;
        }
        let from = if from_idx == SENDER { self.sender_addr } else { self.receivers[from_idx].addr };
        match dest {
            Destination::Unicast(a) => {
                let to = if a == self.sender_addr { Some(SENDER) } else { self.receivers.iter().position(|r| r.addr == a) };
                if let Some(to) = to {
                    self.schedule(to, from, bytes, Duration::ZERO);
                }
            }
            Destination::Group => {
                // Shared link state (burst and shared loss) applies to traffic
                // from the sender to all receivers at once.
                let mut shared_drop = false;
                if from_idx == SENDER {
                    if self.net.burst_enter > 0.0 {
                        if self.shared_bad {
                            if self.rng.gen_bool(self.net.burst_leave) {
                                self.shared_bad = false;
                            }
                        } else if self.rng.gen_bool(self.net.burst_enter) {
                            self.shared_bad = true;
                        }
                        if self.shared_bad && self.lost(self.net.burst_loss) {
                            shared_drop = true;
                        }
                    }
                    if self.lost(self.net.shared_loss) {
                        shared_drop = true;
                    }
                    if shared_drop {
                        self.shared_drops += 1;
                    }
                }
                // The bottleneck: a datagram waits for those ahead of it, or
                // is dropped when they fill the queue.
                let mut queued = Duration::ZERO;
                if from_idx == SENDER && self.net.bottleneck_bps > 0 && !shared_drop {
                    let per_byte = 8.0 / self.net.bottleneck_bps as f64;
                    let wire = bytes.len() + 48;
                    let backlog = self.bottleneck_free.saturating_sub(self.now);
                    if backlog.as_secs_f64() / per_byte > self.net.bottleneck_queue as f64 {
                        self.bottleneck_drops += 1;
                        shared_drop = true;
                    } else {
                        self.bottleneck_free = self.bottleneck_free.max(self.now) + Duration::from_secs_f64(wire as f64 * per_byte);
                        queued = self.bottleneck_free - self.now;
                    }
                }
                if from_idx != SENDER {
                    self.schedule(SENDER, from, bytes, Duration::ZERO);
                }
                for i in 0..self.receivers.len() {
                    if i == from_idx || !self.receivers[i].joined {
                        continue;
                    }
                    if from_idx == SENDER && shared_drop {
                        continue;
                    }
                    let loss = self.receivers[i].loss;
                    if self.lost(loss) {
                        continue;
                    }
                    self.schedule(i, from, bytes, queued);
                }
            }
        }
    }

    fn drain(&mut self) {
        let now = self.instant();
        let mut buf = Vec::new();
        self.pump_stream();
        while let Some(dest) = self.sender.poll_transmit(now, &mut buf) {
            if self.record_wire {
                self.wire.push(buf.clone());
            }
            let b = std::mem::take(&mut buf);
            self.route(SENDER, dest, &b);
            buf = b;
        }
        while let Some(ev) = self.sender.poll_event() {
            match ev {
                mcast::proto::SenderEvent::FlushComplete { token } => self.flushes_done.push(token),
                mcast::proto::SenderEvent::AckComplete { token, acked, missing } => self.acks.push((token, acked, missing)),
                _ => {}
            }
        }
        for i in 0..self.receivers.len() {
            while let Some(dest) = self.receivers[i].proto.poll_transmit(now, &mut buf) {
                if buf.len() > 3 && buf[0] & 0x0f == 4 {
                    self.nacks += 1;
                }
                let b = std::mem::take(&mut buf);
                self.route(i, dest, &b);
                buf = b;
            }
            while let Some(ev) = self.receivers[i].proto.poll_event() {
                match ev {
                    ReceiverEvent::Object(o) => {
                        let r = &mut self.receivers[i];
                        let data = if o.in_file { r.files.remove(&o.object_id).unwrap_or_default() } else { o.data };
                        r.delivered.push((o.object_id, data, o.info));
                        r.signers.push(o.signer);
                    }
                    ReceiverEvent::FileData { object_id, offset, data, .. } => {
                        let f = self.receivers[i].files.entry(object_id).or_default();
                        let end = offset as usize + data.len();
                        if f.len() < end {
                            f.resize(end, 0);
                        }
                        f[offset as usize..end].copy_from_slice(&data);
                    }
                    ReceiverEvent::Aborted { object_id, reason, .. } => self.receivers[i].aborted.push((object_id, reason)),
                    ReceiverEvent::StreamData { data, message_end, signer, .. } => {
                        let r = &mut self.receivers[i];
                        r.stream_signers.push(signer);
                        r.stream_partial.extend_from_slice(&data);
                        if message_end {
                            let m = std::mem::take(&mut r.stream_partial);
                            r.stream_msgs.push(m);
                        }
                    }
                    ReceiverEvent::StreamGap { lost_bytes, .. } => {
                        let r = &mut self.receivers[i];
                        r.stream_partial.clear();
                        r.stream_lost += lost_bytes;
                        r.stream_gaps += 1;
                    }
                    ReceiverEvent::StreamEnd { .. } => self.receivers[i].stream_ended = true,
                    ReceiverEvent::Rejected { node_id, reason, .. } => self.receivers[i].rejected.push((node_id, reason)),
                    _ => {}
                }
            }
        }
    }

    /// Runs until `done` holds or the virtual time limit passes; returns whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Sim) -> bool) -> bool {
        self.drain();
        // Steps without the clock moving: a protocol that keeps asking to be
        // woken "now" without doing anything would spin forever.
        let mut stuck = 0u32;
        loop {
            if done(self) {
                return true;
            }
            // Next event: a delivery, a protocol timer or a late join.
            let mut next: Option<Duration> = self.queue.peek().map(|Reverse(p)| p.at);
            let mut consider = |t: Option<Instant>, base: Instant| {
                if let Some(t) = t {
                    let d = t.saturating_duration_since(base);
                    next = Some(next.map_or(d, |n: Duration| n.min(d)));
                }
            };
            consider(self.sender.poll_timeout(), self.base);
            for r in &self.receivers {
                consider(r.proto.poll_timeout(), self.base);
                if !r.joined {
                    consider(Some(self.base + r.join_at), self.base);
                }
            }
            let Some(next) = next else { return done(self) };
            if next > limit {
                return done(self);
            }
            if next <= self.now {
                stuck += 1;
                assert!(
                    stuck < 100_000,
                    "simulation stuck at {:?}: sender timeout {:?}, receiver timeouts {:?}",
                    self.now,
                    self.sender.poll_timeout().map(|t| t.saturating_duration_since(self.base)),
                    self.receivers.iter().map(|r| r.proto.poll_timeout().map(|t| t.saturating_duration_since(self.base))).collect::<Vec<_>>()
                );
            } else {
                stuck = 0;
            }
            self.now = self.now.max(next);
            let now = self.instant();
            for r in &mut self.receivers {
                if !r.joined && r.join_at <= self.now {
                    r.joined = true;
                }
            }
            while self.queue.peek().is_some_and(|Reverse(p)| p.at <= self.now) {
                let Reverse(p) = self.queue.pop().expect("peeked");
                if p.to == SENDER {
                    self.sender.handle_datagram(now, p.from, &p.bytes);
                } else if self.receivers[p.to].joined {
                    self.receivers[p.to].proto.handle_datagram(now, p.from, &p.bytes);
                }
            }
            if self.sender.poll_timeout().is_some_and(|t| t <= now) {
                self.sender.handle_timeout(now);
            }
            for r in &mut self.receivers {
                if r.proto.poll_timeout().is_some_and(|t| t <= now) {
                    r.proto.handle_timeout(now);
                }
            }
            self.drain();
        }
    }

    /// True when every joined-from-start receiver delivered every sent object.
    pub fn all_delivered(&self) -> bool {
        self.receivers.iter().all(|r| r.delivered.len() + r.aborted.len() >= self.sent_objects.len())
    }

    /// Checks that the stream messages receiver `i` delivered are a
    /// subsequence of those sent (each whole, in order); returns how far
    /// into the sent messages they reach.
    pub fn check_stream_subsequence(&self, i: usize) -> usize {
        let r = &self.receivers[i];
        let mut k = 0;
        for got in &r.stream_msgs {
            while k < self.stream_sent.len() && self.stream_sent[k] != *got {
                k += 1;
            }
            assert!(k < self.stream_sent.len(), "receiver {i}: a delivered message was never sent (or out of order)");
            k += 1;
        }
        k
    }

    /// Hands every receiver, as if from the sender, a copy of the latest
    /// NORM_DATA on the wire longer than `min_len` bytes with one bit
    /// flipped `from_end` bytes before its end (`record_wire` must be on).
    /// Returns whether there was one.
    pub fn inject_altered_copy(&mut self, min_len: usize, from_end: usize) -> bool {
        let Some(mut d) = self.wire.iter().rev().find(|d| d[0] & 0x0f == 2 && d.len() > min_len).cloned() else { return false };
        let at = d.len() - 1 - from_end;
        d[at] ^= 0x01;
        let (now, from) = (self.instant(), self.sender_addr);
        for r in &mut self.receivers {
            r.proto.handle_datagram(now, from, &d);
        }
        true
    }
}
