//! The engine: one thread per [`crate::Context`] running a mio event loop
//! that owns every socket, timer and protocol state machine of the context.
//!
//! Handles ([`crate::Sender`], [`crate::Receiver`]) never touch protocol
//! state. They send a [`Command`] over a channel and wake the loop with a
//! `mio::Waker`; answers come back on a one-shot channel. Received messages
//! go the other way through a bounded [`RxQueue`] per receiver.
//!
//! Each loop turn: apply commands, then for every session read what the socket
//! has (bounded batch), run due timers, write what the protocol wants to send
//! (paced by the protocol, bounded batch), hand events to their waiters, and
//! sleep in `poll` until the earliest deadline. Idle sessions have no deadline,
//! so an idle engine sleeps without timeout.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use rand::Rng;

use crate::api::Message;
use crate::spool::Spool;
use crate::net::{self, Group, SocketConfig};
use crate::proto::{
    self, Destination, ObjectKind, ObjectProgress, ObjectSource, ReceiverConfig, ReceiverEvent, ReceiverStats, SenderConfig,
    SenderEvent, SenderStats,
};
use crate::{Error, Result};

const WAKER: Token = Token(0);

thread_local! {
    /// True on engine threads (where receiver callbacks run).
    static ON_ENGINE_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
/// Datagrams read or written per session per loop turn, so that one busy
/// session cannot starve the others or the command channel.
const BATCH: usize = 256;
/// Longest time a closing sender gets to put its NORM_CMD(EOT) on the wire.
const CLOSE_GRACE: Duration = Duration::from_millis(200);

/// One-shot reply channel.
type Reply<T> = mpsc::SyncSender<Result<T>>;

pub(crate) fn reply_channel<T>() -> (Reply<T>, mpsc::Receiver<Result<T>>) {
    mpsc::sync_channel(1)
}

pub(crate) enum Command {
    OpenSender { group: Group, config: SenderConfig, reply: Reply<(Token, u32, Arc<Mutex<SenderStats>>)> },
    OpenReceiver { group: Group, config: ReceiverConfig, queue: Arc<RxQueue>, reply: Reply<(Token, u32, Arc<Mutex<ReceiverStats>>)> },
    Enqueue {
        session: Token,
        kind: ObjectKind,
        source: Box<dyn ObjectSource>,
        info: Option<Vec<u8>>,
        /// The content digest a signing sender signs (worked out by the caller).
        digest: Option<[u8; 32]>,
        wait: Wait,
        reply: Reply<u64>,
    },
    /// Whether an object holding `memory` bytes would be queued at once
    /// (a signing sender asks before reading the object to sign it).
    HasRoom { session: Token, memory: u64, reply: Reply<bool> },
    Flush { session: Token, deadline: Option<Instant>, reply: Reply<()> },
    FlushAcked { session: Token, nodes: Vec<u32>, deadline: Option<Instant>, reply: Reply<AckReport> },
    OpenStream { session: Token, info: Option<Vec<u8>>, reply: Reply<u64> },
    /// Writes `data` to a stream: all of it (waiting for room until the
    /// deadline) or, with `Wait::No`, what fits now. Replies with the bytes taken.
    StreamWrite { session: Token, stream: u64, data: Vec<u8>, end_of_message: bool, wait: Wait, reply: Reply<usize> },
    StreamFlush { session: Token, stream: u64, reply: Reply<()> },
    StreamClose { session: Token, stream: u64, reply: Option<Reply<()>> },
    Progress { session: Token, reply: Reply<Vec<ObjectProgress>> },
    /// The application drained its queue below the low-water mark.
    Resume { session: Token },
    Close { session: Token },
    Shutdown,
}

/// How long an enqueue may wait for room in the transmit cache.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// Fail with `WouldBlock` at once.
    No,
    /// Wait until the instant, or forever.
    Until(Option<Instant>),
}

/// State shared by the engine thread and every handle of one context.
pub(crate) struct EngineShared {
    tx: Mutex<Option<mpsc::Sender<Command>>>,
    waker: Waker,
    /// Set when the engine thread ended because of a bug (a panic).
    failure: Mutex<Option<String>>,
}

impl EngineShared {
    /// Sends a command to the engine thread and wakes it.
    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        let sent = match &*lock(&self.tx) {
            Some(tx) => tx.send(cmd).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.gone());
        }
        self.waker.wake().map_err(|e| Error::io("waking the engine thread", e))
    }

    /// Sends a command and waits for its answer.
    pub(crate) fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T> {
        let answer = self.start_call(make)?;
        answer.recv().unwrap_or_else(|_| Err(self.gone()))
    }

    /// Sends a command and returns where its answer will come, for callers
    /// that wait for it themselves (in slices). Like [`EngineShared::call`]
    /// it fails at once on the engine thread (a receiver callback), where
    /// the answer could never come while it waits.
    pub(crate) fn start_call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<mpsc::Receiver<Result<T>>> {
        if ON_ENGINE_THREAD.with(|f| f.get()) {
            return Err(Error::WouldBlock(
                "this call waits for the engine thread and cannot be made from a receiver callback".into(),
            ));
        }
        let (reply, answer) = reply_channel();
        self.send(make(reply))?;
        Ok(answer)
    }

    /// The error for "the engine is not there any more".
    pub(crate) fn gone(&self) -> Error {
        match &*lock(&self.failure) {
            Some(m) => Error::Internal(format!("the engine thread stopped: {m}")),
            None => Error::Closed,
        }
    }

    pub(crate) fn stop_accepting(&self) {
        lock(&self.tx).take();
    }
}

/// Locks a mutex, ignoring poisoning: every structure behind these mutexes is
/// left consistent between statements, so a panic elsewhere cannot leave it
/// half-updated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the engine thread.
pub(crate) fn start(socket_config: SocketConfig) -> Result<(Arc<EngineShared>, std::thread::JoinHandle<()>)> {
    let poll = Poll::new().map_err(|e| Error::io("creating the event loop (epoll)", e))?;
    let waker = Waker::new(poll.registry(), WAKER).map_err(|e| Error::io("creating the event loop waker", e))?;
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(EngineShared { tx: Mutex::new(Some(tx)), waker, failure: Mutex::new(None) });
    let engine = Engine { poll, rx, socket_config, sessions: HashMap::new(), next_token: 1 };
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("mcast-engine".into())
        .spawn(move || {
            ON_ENGINE_THREAD.with(|f| f.set(true));
            let mut engine = engine;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.run()));
            if let Err(panic) = result {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(%message, "engine thread panicked");
                *lock(&thread_shared.failure) = Some(message);
            }
            thread_shared.stop_accepting();
            engine.abandon_all();
        })
        .map_err(|e| Error::io("starting the engine thread", e))?;
    Ok((shared, thread))
}

/// What a receiver delivers: a message, or why an object will never come.
pub(crate) type Delivery = Result<Message>;

/// A function the engine thread calls with every delivery instead of queueing it.
pub type Callback = Box<dyn FnMut(Result<Message>) + Send>;

/// Messages waiting for the application, bounded by bytes.
///
/// An eventfd mirrors "the queue is not empty (or closed)" so that
/// applications can wait in their own epoll/select loop: it is readable exactly
/// while `pop` would return at once.
pub(crate) struct RxQueue {
    inner: Mutex<RxInner>,
    ready: Condvar,
    limit: u64,
    event_fd: OwnedFd,
    callback: Mutex<Option<Callback>>,
}

struct RxInner {
    items: VecDeque<Delivery>,
    bytes: u64,
    closed: bool,
    /// The engine stopped reading the socket because the queue is full.
    paused: bool,
    /// The eventfd's counter is non-zero.
    signalled: bool,
}

impl RxQueue {
    pub(crate) fn new(limit: u64) -> Result<RxQueue> {
        // SAFETY: eventfd has no pointer arguments; a non-negative result is
        // a new descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(Error::io("creating the receiver's eventfd", io::Error::last_os_error()));
        }
        // SAFETY: `fd` was just returned by eventfd and is owned by nobody else.
        let event_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(RxQueue {
            inner: Mutex::new(RxInner { items: VecDeque::new(), bytes: 0, closed: false, paused: false, signalled: false }),
            ready: Condvar::new(),
            limit: limit.max(1),
            event_fd,
            callback: Mutex::new(None),
        })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.event_fd.as_raw_fd()
    }

    pub(crate) fn set_callback(&self, cb: Option<Callback>) {
        *lock(&self.callback) = cb;
    }

    /// Keeps the eventfd readable exactly while there is something to take.
    fn update_signal(&self, q: &mut RxInner) {
        let want = !q.items.is_empty() || q.closed;
        if want && !q.signalled {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our own eventfd.
            unsafe { libc::write(self.event_fd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
            q.signalled = true;
        } else if !want && q.signalled {
            let mut v: u64 = 0;
            // SAFETY: reads 8 bytes into a live u64 from our own eventfd
            // (non-blocking; resets the counter to zero).
            unsafe { libc::read(self.event_fd.as_raw_fd(), &mut v as *mut u64 as *mut libc::c_void, 8) };
            q.signalled = false;
        }
    }

    fn push(&self, item: Delivery) {
        let mut cb = lock(&self.callback);
        if let Some(f) = cb.as_mut() {
            // The application's function runs on the engine thread; a panic in
            // it must not take the engine (and every other session) down.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
            if r.is_err() {
                tracing::error!("a receiver callback panicked; it is removed");
                *cb = None;
            }
            return;
        }
        drop(cb);
        let mut q = lock(&self.inner);
        if let Ok(m) = &item {
            q.bytes += (m.data.len() + m.info.len()) as u64;
        }
        q.items.push_back(item);
        self.update_signal(&mut q);
        drop(q);
        self.ready.notify_one();
    }

    /// Whether the engine should stop reading (and marks it paused).
    fn should_pause(&self) -> bool {
        let mut q = lock(&self.inner);
        if q.bytes >= self.limit {
            q.paused = true;
        }
        q.paused
    }

    fn close(&self) {
        // A callback hears about the end once, then is dropped.
        if let Some(mut f) = lock(&self.callback).take() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(Err(Error::Closed))));
        }
        let mut q = lock(&self.inner);
        q.closed = true;
        self.update_signal(&mut q);
        drop(q);
        self.ready.notify_all();
    }

    /// Takes the next item, waiting until `deadline` (`None`: forever).
    /// Returns `(item, resume)`: `resume` tells the caller to ask the engine
    /// to read again.
    pub(crate) fn pop(&self, deadline: Option<Instant>) -> (Delivery, bool) {
        let mut q = lock(&self.inner);
        loop {
            if let Some(item) = q.items.pop_front() {
                if let Ok(m) = &item {
                    q.bytes -= (m.data.len() + m.info.len()) as u64;
                }
                let resume = q.paused && q.bytes < self.limit / 2;
                if resume {
                    q.paused = false;
                }
                self.update_signal(&mut q);
                return (item, resume);
            }
            if q.closed {
                return (Err(Error::Closed), false);
            }
            q = match deadline {
                None => self.ready.wait(q).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return (Err(Error::Timeout), false);
                    }
                    self.ready.wait_timeout(q, d - now).unwrap_or_else(|p| p.into_inner()).0
                }
            };
        }
    }
}

struct PendingEnqueue {
    kind: ObjectKind,
    source: Box<dyn ObjectSource>,
    info: Option<Vec<u8>>,
    digest: Option<[u8; 32]>,
    deadline: Option<Instant>,
    reply: Reply<u64>,
}

struct SenderSession {
    proto: proto::Sender,
    /// Enqueues waiting for room in the transmit cache, oldest first.
    waiting: VecDeque<PendingEnqueue>,
    /// Stream writes waiting for room in their stream's buffer, oldest first.
    stream_writes: VecDeque<PendingWrite>,
    /// Streams to close once their waiting writes are in.
    closing_streams: Vec<u64>,
    /// Flush tokens and their waiters.
    flushes: HashMap<u64, (Option<Instant>, Reply<()>)>,
    /// Acknowledged flushes and their waiters.
    ack_flushes: HashMap<u64, (Option<Instant>, Reply<AckReport>)>,
    stats: Arc<Mutex<SenderStats>>,
    /// When `close` was asked and how many datagrams had been sent by then.
    closing: Option<(Instant, u64)>,
}

/// Who confirmed an acknowledged flush ([`crate::Sender::flush_acked`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AckReport {
    /// Node ids that acknowledged everything up to the watermark.
    pub acked: Vec<u32>,
    /// Node ids that did not (in time).
    pub missing: Vec<u32>,
}

/// A stream write not yet wholly taken.
struct PendingWrite {
    stream: u64,
    data: Vec<u8>,
    taken: usize,
    end_of_message: bool,
    deadline: Option<Instant>,
    reply: Reply<usize>,
}

struct ReceiverSession {
    proto: proto::Receiver,
    /// Stream bytes lost and not yet reported, per (sender node id, stream).
    stream_lost: HashMap<(u32, u64), u64>,
    /// Source-specific receiver: the only addresses datagrams are taken from
    /// (the kernel filters too; this also holds when another socket on the
    /// host joined the group from any source).
    sources: Vec<std::net::Ipv6Addr>,
    /// Datagrams dropped for coming from another source.
    foreign: u64,
    queue: Arc<RxQueue>,
    stats: Arc<Mutex<ReceiverStats>>,
    paused: bool,
    /// FILE objects being written to `ReceiverConfig::file_dir`.
    spool: Option<Spool>,
}

enum Role {
    Sender(Box<SenderSession>),
    Receiver(Box<ReceiverSession>),
}

struct Session {
    socket: UdpSocket,
    group_addr: SocketAddr,
    /// Left explicitly when the session ends (`abandon`).
    membership: net::Membership,
    group: Group,
    role: Role,
    /// The socket may have more to read (edge-triggered: read until WouldBlock).
    readable: bool,
    /// Datagrams polled from the protocol and not yet taken by the socket
    /// (it said WouldBlock: they go first when it is writable again).
    pending: VecDeque<(Vec<u8>, SocketAddr)>,
    /// Datagram buffers to reuse.
    spare: Vec<Vec<u8>>,
    /// Send runs of equal datagrams with UDP GSO (off once the kernel
    /// refuses it, or with MCAST_NO_GSO set, to measure without it).
    gso: bool,
}

struct Engine {
    poll: Poll,
    rx: mpsc::Receiver<Command>,
    socket_config: SocketConfig,
    sessions: HashMap<Token, Session>,
    next_token: usize,
}

impl Engine {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut recv_batch = net::RecvBatch::new();
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(Command::Shutdown) | Err(mpsc::TryRecvError::Disconnected) => {
                        self.shutdown();
                        return;
                    }
                    Ok(cmd) => self.command(cmd),
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
            let mut deadline: Option<Instant> = None;
            let tokens: Vec<Token> = self.sessions.keys().copied().collect();
            for token in tokens {
                let remove = match self.sessions.get_mut(&token) {
                    Some(s) => s.drive(&mut recv_batch),
                    None => continue,
                };
                if remove {
                    self.remove(token);
                    continue;
                }
                if let Some(d) = self.sessions.get(&token).and_then(|s| s.deadline()) {
                    deadline = Some(deadline.map_or(d, |x| x.min(d)));
                }
            }
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    panic!("epoll_wait failed: {e}");
                }
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                if let Some(s) = self.sessions.get_mut(&ev.token()) {
                    if ev.is_readable() || ev.is_error() {
                        s.readable = true;
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::OpenSender { group, config, reply } => {
                let r = self.open(&group, false).and_then(|(socket, group_addr, membership)| {
                    let node_id = config.node_id.unwrap_or_else(random_node_id);
                    let instance = rand::thread_rng().gen::<u16>();
                    let proto = proto::Sender::new(config, node_id, instance, now)?;
                    let stats = Arc::new(Mutex::new(proto.stats()));
                    let role = Role::Sender(Box::new(SenderSession {
                        proto,
                        waiting: VecDeque::new(),
                        stream_writes: VecDeque::new(),
                        closing_streams: Vec::new(),
                        flushes: HashMap::new(),
                        ack_flushes: HashMap::new(),
                        stats: stats.clone(),
                        closing: None,
                    }));
                    let token = self.add(socket, group_addr, membership, group.clone(), role)?;
                    tracing::info!(%group, node_id, "sender started");
                    Ok((token, node_id, stats))
                });
                let _ = reply.send(r);
            }
            Command::OpenReceiver { group, config, queue, reply } => {
                let r = self.open(&group, true).and_then(|(socket, group_addr, membership)| {
                    let node_id = config.node_id.unwrap_or_else(random_node_id);
                    let spool = config.file_dir.as_deref().map(Spool::new).transpose()?;
                    let proto = proto::Receiver::new(config, node_id, now)?;
                    let stats = Arc::new(Mutex::new(proto.stats()));
                    let role = Role::Receiver(Box::new(ReceiverSession {
                        proto,
                        stream_lost: HashMap::new(),
                        sources: group.sources().to_vec(),
                        foreign: 0,
                        queue,
                        stats: stats.clone(),
                        paused: false,
                        spool,
                    }));
                    let token = self.add(socket, group_addr, membership, group.clone(), role)?;
                    tracing::info!(%group, node_id, "receiver started");
                    Ok((token, node_id, stats))
                });
                let _ = reply.send(r);
            }
            Command::Enqueue { session, kind, source, info, digest, wait, reply } => {
                let Some(Role::Sender(s)) = self.sessions.get_mut(&session).map(|s| &mut s.role) else {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                };
                if s.closing.is_some() {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                }
                let deadline = match wait {
                    Wait::No => None,
                    Wait::Until(d) => d,
                };
                let p = PendingEnqueue { kind, source, info, digest, deadline, reply };
                if !s.waiting.is_empty() {
                    // Keep the order of objects: queue behind earlier waiters.
                    if matches!(wait, Wait::No) {
                        let _ = p.reply.send(Err(Error::WouldBlock("the transmit cache is full".into())));
                    } else {
                        s.waiting.push_back(p);
                    }
                    return;
                }
                if let Some(p) = s.try_enqueue(now, p) {
                    if matches!(wait, Wait::No) {
                        let _ = p.reply.send(Err(Error::WouldBlock("the transmit cache is full of objects not yet sent".into())));
                    } else {
                        s.waiting.push_back(p);
                    }
                }
            }
            Command::HasRoom { session, memory, reply } => {
                let r = match self.sessions.get_mut(&session).map(|s| &mut s.role) {
                    Some(Role::Sender(s)) if s.closing.is_none() => {
                        let room = s.waiting.is_empty() && s.proto.can_enqueue(now, memory);
                        if !room {
                            s.proto.want_room(now);
                        }
                        Ok(room)
                    }
                    _ => Err(Error::Closed),
                };
                let _ = reply.send(r);
            }
            Command::Flush { session, deadline, reply } => {
                let Some(Role::Sender(s)) = self.sessions.get_mut(&session).map(|s| &mut s.role) else {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                };
                let token = s.proto.flush(now);
                s.flushes.insert(token, (deadline, reply));
            }
            Command::FlushAcked { session, nodes, deadline, reply } => {
                let Some(Role::Sender(s)) = self.sessions.get_mut(&session).map(|s| &mut s.role) else {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                };
                let token = s.proto.flush_acked(now, &nodes);
                s.ack_flushes.insert(token, (deadline, reply));
            }
            Command::OpenStream { session, info, reply } => {
                let r = match self.sessions.get_mut(&session).map(|s| &mut s.role) {
                    Some(Role::Sender(s)) if s.closing.is_none() => s.proto.open_stream(now, info),
                    _ => Err(Error::Closed),
                };
                let _ = reply.send(r);
            }
            Command::StreamWrite { session, stream, data, end_of_message, wait, reply } => {
                let Some(Role::Sender(s)) = self.sessions.get_mut(&session).map(|s| &mut s.role) else {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                };
                if s.closing.is_some() {
                    let _ = reply.send(Err(Error::Closed));
                    return;
                }
                let queued = s.stream_writes.iter().any(|w| w.stream == stream);
                match wait {
                    Wait::No => {
                        // Behind a blocked write of the same stream nothing fits.
                        let r = if queued { Ok(0) } else { s.proto.stream_write(now, stream, &data, end_of_message) };
                        let _ = reply.send(r);
                    }
                    Wait::Until(deadline) => {
                        let w = PendingWrite { stream, data, taken: 0, end_of_message, deadline, reply };
                        if queued {
                            s.stream_writes.push_back(w);
                        } else if let Some(w) = s.try_write(now, w) {
                            s.stream_writes.push_back(w);
                        }
                    }
                }
            }
            Command::StreamFlush { session, stream, reply } => {
                let r = match self.sessions.get_mut(&session).map(|s| &mut s.role) {
                    Some(Role::Sender(s)) => s.proto.stream_flush(now, stream),
                    _ => Err(Error::Closed),
                };
                let _ = reply.send(r);
            }
            Command::StreamClose { session, stream, reply } => {
                let r = match self.sessions.get_mut(&session).map(|s| &mut s.role) {
                    Some(Role::Sender(s)) => {
                        // Writes still waiting go first: a stream ends after
                        // everything written to it.
                        if s.stream_writes.iter().any(|w| w.stream == stream) {
                            s.closing_streams.push(stream);
                            Ok(())
                        } else {
                            s.proto.stream_close(now, stream)
                        }
                    }
                    _ => Err(Error::Closed),
                };
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
            }
            Command::Progress { session, reply } => {
                let r = match self.sessions.get(&session).map(|s| &s.role) {
                    Some(Role::Receiver(r)) => Ok(r.proto.progress()),
                    _ => Err(Error::Closed),
                };
                let _ = reply.send(r);
            }
            Command::Resume { session } => {
                if let Some(Session { role: Role::Receiver(r), readable, .. }) = self.sessions.get_mut(&session) {
                    r.paused = false;
                    // Edge-triggered: data that arrived while paused raised no
                    // new event, so look at the socket again.
                    *readable = true;
                }
            }
            Command::Close { session } => {
                let remove = match self.sessions.get_mut(&session).map(|s| &mut s.role) {
                    Some(Role::Sender(s)) => {
                        let sent = s.proto.stats().datagrams_sent;
                        s.proto.close(now);
                        s.closing = Some((now, sent));
                        s.fail_waiters(|| Error::Closed);
                        false
                    }
                    Some(Role::Receiver(_)) => true,
                    None => false,
                };
                if remove {
                    self.remove(session);
                }
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    fn open(&self, group: &Group, ssm: bool) -> Result<(UdpSocket, SocketAddr, net::Membership)> {
        let s = net::open(group, &self.socket_config, ssm)?;
        let std_socket: std::net::UdpSocket = s.socket.into();
        Ok((UdpSocket::from_std(std_socket), s.group_addr, s.membership))
    }

    fn add(&mut self, mut socket: UdpSocket, group_addr: SocketAddr, membership: net::Membership, group: Group, role: Role) -> Result<Token> {
        let token = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut socket, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Error::io("registering the socket with the event loop", e))?;
        self.sessions.insert(token, Session { socket, group_addr, membership, group, role, readable: true, pending: VecDeque::new(), spare: Vec::new(), gso: std::env::var_os("MCAST_NO_GSO").is_none() });
        Ok(token)
    }

    fn remove(&mut self, token: Token) {
        if let Some(mut s) = self.sessions.remove(&token) {
            let _ = self.poll.registry().deregister(&mut s.socket);
            s.abandon();
            tracing::info!(group = %s.group, "session closed");
        }
    }

    /// Context closed: senders say goodbye (EOT) best-effort, then everything
    /// is dropped and every waiter learns the context is closed.
    fn shutdown(&mut self) {
        let now = Instant::now();
        for s in self.sessions.values_mut() {
            if let Role::Sender(snd) = &mut s.role {
                if snd.closing.is_none() {
                    snd.proto.close(now);
                }
                let mut buf = Vec::new();
                if let Some(dest) = snd.proto.poll_transmit(now + CLOSE_GRACE, &mut buf) {
                    let to = match dest {
                        Destination::Group => s.group_addr,
                        Destination::Unicast(a) => a,
                    };
                    let _ = s.socket.send_to(&buf, to);
                }
            }
        }
        self.abandon_all();
    }

    fn abandon_all(&mut self) {
        for (_, mut s) in self.sessions.drain() {
            s.abandon();
        }
    }
}

impl SenderSession {
    /// Tries to queue the object; gives it back if the cache is full.
    fn try_enqueue(&mut self, now: Instant, p: PendingEnqueue) -> Option<PendingEnqueue> {
        // `enqueue` consumes the source, so ask first whether it would fit.
        if !self.proto.can_enqueue(now, p.source.memory_size()) {
            self.proto.want_room(now);
            return Some(p);
        }
        let r = self.proto.enqueue_digested(now, p.kind, p.source, p.info, p.digest);
        let _ = p.reply.send(r);
        None
    }

    /// Writes what fits of a pending stream write; gives it back unless it
    /// is complete (or failed).
    fn try_write(&mut self, now: Instant, mut w: PendingWrite) -> Option<PendingWrite> {
        match self.proto.stream_write(now, w.stream, &w.data[w.taken..], w.end_of_message) {
            Ok(n) => {
                w.taken += n;
                if w.taken == w.data.len() {
                    let _ = w.reply.send(Ok(w.taken));
                    None
                } else {
                    Some(w)
                }
            }
            Err(e) => {
                let _ = w.reply.send(Err(e));
                None
            }
        }
    }

    /// Moves waiting stream writes on; expires those past their deadline.
    fn service_writes(&mut self, now: Instant) {
        let mut kept = VecDeque::new();
        let mut blocked: Vec<u64> = Vec::new();
        for w in std::mem::take(&mut self.stream_writes) {
            if blocked.contains(&w.stream) {
                kept.push_back(w);
                continue;
            }
            match self.try_write(now, w) {
                None => {}
                Some(w) if w.deadline.is_some_and(|d| d <= now) => {
                    // The bytes taken so far are in the stream; say so.
                    let _ = w.reply.send(if w.taken > 0 { Ok(w.taken) } else { Err(Error::Timeout) });
                }
                Some(w) => {
                    blocked.push(w.stream);
                    kept.push_back(w);
                }
            }
        }
        self.stream_writes = kept;
        let closing = std::mem::take(&mut self.closing_streams);
        for stream in closing {
            if self.stream_writes.iter().any(|w| w.stream == stream) {
                self.closing_streams.push(stream);
            } else if let Err(e) = self.proto.stream_close(now, stream) {
                tracing::warn!(stream, error = %e, "closing a stream failed");
            }
        }
    }

    fn fail_waiters(&mut self, err: impl Fn() -> Error) {
        for p in self.waiting.drain(..) {
            let _ = p.reply.send(Err(err()));
        }
        for w in self.stream_writes.drain(..) {
            let _ = w.reply.send(Err(err()));
        }
        for (_, (_, reply)) in self.flushes.drain() {
            let _ = reply.send(Err(err()));
        }
        for (_, (_, reply)) in self.ack_flushes.drain() {
            let _ = reply.send(Err(err()));
        }
    }
}

impl Session {
    /// One turn for this session. Returns true when it is finished and
    /// should be removed.
    fn drive(&mut self, recv: &mut net::RecvBatch) -> bool {
        // Read.
        let paused = match &self.role {
            Role::Receiver(r) => r.paused,
            Role::Sender(_) => false,
        };
        if self.readable && !paused {
            let mut n = 0;
            while n < BATCH {
                // A batch of datagrams per system call (recvmmsg).
                match recv.recv_many(self.socket.as_raw_fd()) {
                    Ok(0) => {
                        // Not for UDP without MSG_WAITFORONE, but never spin.
                        self.readable = false;
                        break;
                    }
                    Ok(got) => {
                        n += got;
                        let now = Instant::now();
                        for i in 0..got {
                            let from = recv.got[i].1;
                            let data = recv.datagram(i);
                            match &mut self.role {
                                Role::Sender(s) => s.proto.handle_datagram(now, from, data),
                                Role::Receiver(r) => {
                                    let allowed = r.sources.is_empty()
                                        || matches!(from, SocketAddr::V6(a) if r.sources.contains(a.ip()));
                                    if allowed {
                                        r.proto.handle_datagram(now, from, data);
                                    } else {
                                        r.foreign += 1;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.readable = false;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // ICMP errors from earlier sends surface here; they
                        // say nothing about this socket's health.
                        tracing::debug!(error = %e, group = %self.group, "receive error");
                    }
                }
            }
        }

        // Timers.
        let now = Instant::now();
        match &mut self.role {
            Role::Sender(s) => {
                if s.proto.poll_timeout().is_some_and(|t| t <= now) {
                    s.proto.handle_timeout(now);
                }
            }
            Role::Receiver(r) => {
                if r.proto.poll_timeout().is_some_and(|t| t <= now) {
                    r.proto.handle_timeout(now);
                }
            }
        }

        // Write: what the socket refused before goes first; then batches
        // polled from the protocol, each sent with one system call
        // (sendmmsg), until the protocol has nothing more to send now or
        // the socket is full.
        let mut sent_after_close = false;
        let mut polled = 0;
        loop {
            if !self.flush_pending() {
                break;
            }
            if polled >= BATCH {
                break;
            }
            while self.pending.len() < net::IO_BATCH {
                let mut buf = self.spare.pop().unwrap_or_default();
                let dest = match &mut self.role {
                    Role::Sender(s) => s.proto.poll_transmit(now, &mut buf),
                    Role::Receiver(r) => r.proto.poll_transmit(now, &mut buf),
                };
                let Some(dest) = dest else {
                    self.spare.push(buf);
                    break;
                };
                polled += 1;
                if matches!(&self.role, Role::Sender(s) if s.closing.is_some()) {
                    sent_after_close = true;
                }
                let to = match dest {
                    Destination::Group => self.group_addr,
                    Destination::Unicast(a) => a,
                };
                self.pending.push_back((buf, to));
            }
            if self.pending.is_empty() {
                break;
            }
        }

        // Events and waiters.
        match &mut self.role {
            Role::Sender(s) => {
                let mut vacancy = false;
                while let Some(ev) = s.proto.poll_event() {
                    match ev {
                        SenderEvent::FlushComplete { token } => {
                            if let Some((_, reply)) = s.flushes.remove(&token) {
                                let _ = reply.send(Ok(()));
                            }
                        }
                        SenderEvent::QueueVacancy | SenderEvent::ObjectPurged { .. } => vacancy = true,
                        SenderEvent::ObjectError { id, message } => {
                            tracing::warn!(object_id = id, %message, "object dropped");
                        }
                        SenderEvent::ObjectSent { id } => tracing::debug!(object_id = id, "object sent"),
                        SenderEvent::StreamVacancy { .. } => {}
                        SenderEvent::AckComplete { token, acked, missing } => {
                            if let Some((_, reply)) = s.ack_flushes.remove(&token) {
                                let _ = reply.send(Ok(AckReport { acked, missing }));
                            }
                        }
                    }
                }
                let now = Instant::now();
                if !s.stream_writes.is_empty() || !s.closing_streams.is_empty() {
                    s.service_writes(now);
                }
                if vacancy || !s.waiting.is_empty() {
                    while let Some(p) = s.waiting.pop_front() {
                        if p.deadline.is_some_and(|d| d <= now) {
                            let _ = p.reply.send(Err(Error::Timeout));
                            continue;
                        }
                        if let Some(p) = s.try_enqueue(now, p) {
                            s.waiting.push_front(p);
                            break;
                        }
                    }
                    // Expire waiters further back too.
                    let mut kept = VecDeque::new();
                    for p in s.waiting.drain(..) {
                        if p.deadline.is_some_and(|d| d <= now) {
                            let _ = p.reply.send(Err(Error::Timeout));
                        } else {
                            kept.push_back(p);
                        }
                    }
                    s.waiting = kept;
                }
                // An acknowledged flush out of time reports what it has.
                let proto = &s.proto;
                s.ack_flushes.retain(|token, (deadline, reply)| {
                    if deadline.is_some_and(|d| d <= now) {
                        let (acked, missing) = proto.ack_status(*token).unwrap_or_default();
                        let _ = reply.send(Ok(AckReport { acked, missing }));
                        false
                    } else {
                        true
                    }
                });
                s.flushes.retain(|_, (deadline, reply)| {
                    if deadline.is_some_and(|d| d <= now) {
                        let _ = reply.send(Err(Error::Timeout));
                        false
                    } else {
                        true
                    }
                });
                *lock(&s.stats) = s.proto.stats();
                if let Some((at, sent_before)) = s.closing {
                    let nothing_to_say = sent_before == 0;
                    let said = sent_after_close && self.pending.is_empty();
                    if nothing_to_say || said || now >= at + CLOSE_GRACE {
                        return true;
                    }
                }
            }
            Role::Receiver(r) => {
                // Statistics first: whoever takes a message or an error off
                // the queue then sees counters that include it.
                let mut st = r.proto.stats();
                st.datagrams_foreign_source = r.foreign;
                *lock(&r.stats) = st;
                while let Some(ev) = r.proto.poll_event() {
                    match ev {
                        ReceiverEvent::Object(o) => {
                            let key = (o.sender.node_id, o.object_id);
                            let path = match (o.in_file, r.spool.as_mut()) {
                                (true, Some(spool)) => match spool.deliver(key, o.size) {
                                    Ok(p) => Some(p),
                                    Err(reason) => {
                                        tracing::warn!(%o.sender.addr, o.object_id, %reason, "object aborted");
                                        r.queue.push(Err(Error::Aborted {
                                            sender: o.sender.addr,
                                            sender_node_id: o.sender.node_id,
                                            object_id: o.object_id,
                                            reason,
                                        }));
                                        continue;
                                    }
                                },
                                _ => None,
                            };
                            r.queue.push(Ok(Message {
                                data: o.data,
                                info: o.info,
                                sender: o.sender.addr,
                                sender_node_id: o.sender.node_id,
                                object_id: o.object_id,
                                kind: o.kind,
                                message_end: true,
                                lost_before: 0,
                                stream_end: false,
                                path,
                                signer: o.signer,
                            }))
                        }
                        ReceiverEvent::FileData { sender, object_id, offset, data } => {
                            if let Some(spool) = r.spool.as_mut() {
                                if let Err(reason) = spool.write((sender.node_id, object_id), offset, &data) {
                                    r.proto.abort_object(sender.node_id, object_id, reason);
                                }
                            }
                        }
                        ReceiverEvent::StreamData { sender, object_id, info, data, message_end, signer } => {
                            let lost_before = r.stream_lost.remove(&(sender.node_id, object_id)).unwrap_or(0);
                            r.queue.push(Ok(Message {
                                data,
                                info,
                                sender: sender.addr,
                                sender_node_id: sender.node_id,
                                object_id,
                                kind: ObjectKind::Stream,
                                message_end,
                                lost_before,
                                stream_end: false,
                                path: None,
                                signer,
                            }))
                        }
                        ReceiverEvent::StreamGap { sender, object_id, lost_bytes } => {
                            tracing::info!(%sender.addr, object_id, lost_bytes, "stream data lost");
                            *r.stream_lost.entry((sender.node_id, object_id)).or_insert(0) += lost_bytes;
                        }
                        ReceiverEvent::StreamEnd { sender, object_id, signer } => {
                            let lost_before = r.stream_lost.remove(&(sender.node_id, object_id)).unwrap_or(0);
                            r.queue.push(Ok(Message {
                                data: Vec::new(),
                                info: Vec::new(),
                                sender: sender.addr,
                                sender_node_id: sender.node_id,
                                object_id,
                                kind: ObjectKind::Stream,
                                message_end: true,
                                lost_before,
                                stream_end: true,
                                path: None,
                                signer,
                            }))
                        }
                        ReceiverEvent::Aborted { sender, object_id, reason } => {
                            if let Some(spool) = r.spool.as_mut() {
                                spool.discard((sender.node_id, object_id));
                            }
                            tracing::info!(%sender.addr, object_id, %reason, "object aborted");
                            r.queue.push(Err(Error::Aborted { sender: sender.addr, sender_node_id: sender.node_id, object_id, reason }));
                        }
                        ReceiverEvent::SenderJoined(id) => {
                            tracing::info!(sender = %id.addr, node_id = id.node_id, "sender joined")
                        }
                        ReceiverEvent::SenderLeft(id) => tracing::info!(sender = %id.addr, node_id = id.node_id, "sender left"),
                        ReceiverEvent::Rejected { from, node_id, reason } => {
                            tracing::warn!(sender = %from, node_id, %reason, "datagrams dropped");
                            r.queue.push(Err(Error::Rejected { sender: from, sender_node_id: node_id, reason }));
                        }
                    }
                }
                if r.queue.should_pause() && !r.paused {
                    tracing::debug!(group = %self.group, "application queue full: pausing reads");
                    r.paused = true;
                }
            }
        }
        false
    }

    /// When this session next needs the loop, if ever.
    fn deadline(&self) -> Option<Instant> {
        let paused = matches!(&self.role, Role::Receiver(r) if r.paused);
        if self.readable && !paused {
            return Some(Instant::now());
        }
        let mut d: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                d = Some(d.map_or(x, |d| d.min(x)));
            }
        };
        match &self.role {
            Role::Sender(s) => {
                // While the socket is full, only writability can make progress
                // on transmissions; the protocol's own deadline would spin.
                if self.pending.is_empty() {
                    consider(s.proto.poll_timeout());
                }
                for p in &s.waiting {
                    consider(p.deadline);
                }
                for w in &s.stream_writes {
                    consider(w.deadline);
                }
                for (deadline, _) in s.flushes.values() {
                    consider(*deadline);
                }
                for (deadline, _) in s.ack_flushes.values() {
                    consider(*deadline);
                }
                if let Some((at, _)) = s.closing {
                    consider(Some(at + CLOSE_GRACE));
                }
            }
            Role::Receiver(r) => {
                if self.pending.is_empty() {
                    consider(r.proto.poll_timeout());
                }
            }
        }
        d
    }

    /// Sends what is pending, in batches; returns whether all of it went
    /// (false: the socket is full, the rest waits for writability).
    fn flush_pending(&mut self) -> bool {
        while !self.pending.is_empty() {
            match net::send_many_gso(self.socket.as_raw_fd(), self.pending.make_contiguous(), &mut self.gso) {
                Ok(n) => {
                    for _ in 0..n {
                        let (buf, _) = self.pending.pop_front().expect("sent");
                        self.spare.push(buf);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // A datagram the kernel refuses (no route, interface went
                    // down) is like a lost packet: NORM repairs it later.
                    let (buf, to) = self.pending.pop_front().expect("not empty");
                    tracing::warn!(error = %e, %to, "send failed");
                    self.spare.push(buf);
                }
            }
        }
        self.spare.truncate(net::IO_BATCH);
        true
    }

    /// Tells everyone waiting on this session that it is gone.
    fn abandon(&mut self) {
        match &mut self.role {
            Role::Sender(s) => s.fail_waiters(|| Error::Closed),
            Role::Receiver(r) => r.queue.close(),
        }
        if let Err(e) = self.membership.leave(&socket2::SockRef::from(&self.socket)) {
            tracing::warn!(group = %self.group, error = %e, "leaving the group failed");
        }
    }
}

/// A random NORM node id, avoiding NORM_NODE_NONE (0) and NORM_NODE_ANY.
fn random_node_id() -> u32 {
    let mut rng = rand::thread_rng();
    loop {
        let id: u32 = rng.gen();
        if id != 0 && id != u32::MAX {
            return id;
        }
    }
}
