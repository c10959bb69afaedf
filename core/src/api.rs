//! The public Rust API: [`Context`], [`Sender`], [`Receiver`].
//!
//! Every handle is `Send + Sync`; calls from several threads are fine. All
//! protocol work happens on the context's engine thread (see
//! [`crate::engine`]); the calls here only exchange commands with it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::Token;

use std::net::SocketAddr;

pub use crate::engine::AckReport;
use crate::engine::{self, lock, Callback, Command, EngineShared, RxQueue, Wait};
use crate::net::{Group, SocketConfig};
use crate::proto::{FileSource, ObjectKind, ObjectProgress, ObjectSource, ReceiverConfig, ReceiverStats, SenderConfig, SenderStats};
use crate::sign::PublicKey;
use crate::{Error, Result};

/// The instant `timeout` from now; `None` (no deadline) when that is too far
/// to represent (a timeout of centuries means waiting for ever).
fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// A complete object handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The object's content.
    pub data: Vec<u8>,
    /// Its NORM_INFO (for files, the name the sender gave it); may be empty.
    pub info: Vec<u8>,
    /// Address (and port) the sender's packets come from.
    pub sender: SocketAddr,
    /// The sender's NORM node id.
    pub sender_node_id: u32,
    /// Object id, increasing per sender (the low 16 bits are NORM's transport id).
    pub object_id: u64,
    pub kind: ObjectKind,
    /// For a stream ([`ObjectKind::Stream`]), `data` is the next piece of its
    /// bytes and this is true when the piece ends an application message
    /// (written with `end_of_message`); a long message may come in several
    /// pieces. Always true for DATA and FILE objects.
    pub message_end: bool,
    /// For a stream: bytes that were lost for good just before this piece
    /// (the sender's buffer moved on before a repair could arrive). Delivery
    /// then resumes at a message start. Always 0 for DATA and FILE objects.
    pub lost_before: u64,
    /// For a stream: the sender closed it; this message carries no data and
    /// nothing more of the stream follows.
    pub stream_end: bool,
    /// For a FILE object received with `ReceiverConfig::file_dir`: the file
    /// holding its content (`data` is then empty), named
    /// `mcast-NODE-OBJECT` in that directory. The file is the
    /// application's: rename it (NORM_INFO, in `info`, is usually the name
    /// the sender gave it) or delete it.
    pub path: Option<std::path::PathBuf>,
    /// At a receiver with `ReceiverConfig::trusted_signers`: the key that
    /// signed this object or piece of a stream (one of them; checked with
    /// its content). `None` at other receivers.
    pub signer: Option<PublicKey>,
}

/// Settings of a [`Context`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextConfig {
    /// Socket options applied to every sender and receiver of the context.
    pub socket: SocketConfig,
}

/// Owns one engine thread and every sender and receiver created from it.
///
/// Dropping the context (or calling [`Context::close`]) stops the engine:
/// senders send NORM_CMD(EOT) and stop (data not yet flushed is not
/// delivered: call [`Sender::flush`] first), receivers return
/// [`Error::Closed`] once their queued messages are taken.
pub struct Context {
    shared: Arc<EngineShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Context {
    /// A context with default settings.
    pub fn new() -> Result<Context> {
        Context::with_config(ContextConfig::default())
    }

    pub fn with_config(config: ContextConfig) -> Result<Context> {
        let (shared, thread) = engine::start(config.socket)?;
        Ok(Context { shared, thread: Mutex::new(Some(thread)) })
    }

    /// Starts a sender on the group: opens the socket, joins the group (to
    /// hear NACKs) and returns once it is ready.
    pub fn sender(&self, group: &Group, config: SenderConfig) -> Result<Sender> {
        let group = group.clone();
        // A signing sender works out each object's digest in the caller's
        // thread (reading a whole file), not on the engine thread.
        let signing = config.signing_key.is_some().then(|| config.clone());
        let (token, node_id, stats) =
            self.shared.call(|reply| Command::OpenSender { group: group.clone(), config, reply })?;
        Ok(Sender { shared: self.shared.clone(), token, node_id, group, stats, signing })
    }

    /// Starts a receiver on the group; it hears senders from this moment on
    /// (and, with [`crate::SyncPolicy::All`], asks them for recent objects).
    pub fn receiver(&self, group: &Group, config: ReceiverConfig) -> Result<Receiver> {
        let group = group.clone();
        let queue = Arc::new(RxQueue::new(config.max_buffer_total)?);
        let (token, node_id, stats) = self
            .shared
            .call(|reply| Command::OpenReceiver { group: group.clone(), config, queue: queue.clone(), reply })?;
        Ok(Receiver { shared: self.shared.clone(), token, node_id, group, queue, stats })
    }

    /// Stops the engine thread and waits for it. Idempotent.
    pub fn close(&self) {
        let _ = self.shared.send(Command::Shutdown);
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
        self.shared.stop_accepting();
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// Sends objects to a group. Dropping it sends NORM_CMD(EOT) and stops;
/// call [`Sender::flush`] first so receivers can finish repairs.
pub struct Sender {
    shared: Arc<EngineShared>,
    token: Token,
    node_id: u32,
    group: Group,
    stats: Arc<Mutex<SenderStats>>,
    /// For a signing sender, what `proto::object_digest` needs of its config.
    signing: Option<SenderConfig>,
}

impl Sender {
    /// Queues `data` as one DATA object and returns its id. Blocks while the
    /// transmit cache is full (back-pressure); returns once queued, not sent.
    pub fn send(&self, data: &[u8]) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data.to_vec()), None, Wait::Until(None))
    }

    /// Like [`Sender::send`], taking the buffer without copying it.
    pub fn send_owned(&self, data: Vec<u8>) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data), None, Wait::Until(None))
    }

    /// Queues a DATA object with NORM_INFO `info` (at most one segment long).
    pub fn send_with_info(&self, data: &[u8], info: &[u8]) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data.to_vec()), Some(info.to_vec()), Wait::Until(None))
    }

    /// Like [`Sender::send`] but fails with [`Error::WouldBlock`] instead of
    /// waiting when the transmit cache is full.
    pub fn try_send(&self, data: &[u8]) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data.to_vec()), None, Wait::No)
    }

    /// Like [`Sender::send`] but waits at most `timeout` for room
    /// ([`Error::Timeout`] after that; the object is then not queued).
    pub fn send_timeout(&self, data: &[u8], timeout: Duration) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data.to_vec()), None, Wait::Until(deadline_after(timeout)))
    }

    /// [`Sender::send_with_info`] waiting at most `timeout` for room in the
    /// transmit cache ([`Error::Timeout`]: nothing was queued).
    pub fn send_with_info_timeout(&self, data: &[u8], info: &[u8], timeout: Duration) -> Result<u64> {
        self.enqueue(ObjectKind::Data, Box::new(data.to_vec()), Some(info.to_vec()), Wait::Until(deadline_after(timeout)))
    }

    /// Queues the file as one FILE object; NORM_INFO is its base name. The
    /// file is read while it is sent: do not change it until flushed.
    pub fn send_file(&self, path: impl AsRef<Path>) -> Result<u64> {
        self.send_file_waiting(path.as_ref(), Wait::Until(None))
    }

    /// Like [`Sender::send_file`] but waits at most `timeout` for room in
    /// the transmit cache ([`Error::Timeout`] after that; nothing was
    /// queued, and the file opened for it is closed again). A signing
    /// sender reads the file to sign it only once there is room.
    pub fn send_file_timeout(&self, path: impl AsRef<Path>, timeout: Duration) -> Result<u64> {
        self.send_file_waiting(path.as_ref(), Wait::Until(deadline_after(timeout)))
    }

    fn send_file_waiting(&self, path: &Path, wait: Wait) -> Result<u64> {
        let name = path
            .file_name()
            .ok_or_else(|| Error::InvalidArgument(format!("{} has no file name", path.display())))?;
        let meta = std::fs::metadata(path).map_err(|e| Error::io(format!("cannot send {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(Error::InvalidArgument(format!("cannot send {}: not a regular file", path.display())));
        }
        let source = FileSource::open(path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        let info = name.as_encoded_bytes().to_vec();
        self.enqueue(ObjectKind::File, Box::new(source), Some(info), wait)
    }

    /// Queues any [`ObjectSource`] (for example a memory-mapped buffer).
    pub fn send_source(&self, kind: ObjectKind, source: Box<dyn ObjectSource>, info: Option<Vec<u8>>) -> Result<u64> {
        self.enqueue(kind, source, info, Wait::Until(None))
    }

    /// Opens a NORM stream: an object without a predetermined size, for data
    /// produced over time (a log, a feed, a chat). Receivers get its bytes as
    /// [`Message`]s of kind [`ObjectKind::Stream`] as they arrive, in order.
    /// `info` travels as NORM_INFO (a name, say). Objects sent while the
    /// stream is open follow it, once it is closed. Fails with
    /// [`Error::WouldBlock`] when the transmit cache has no room for the
    /// stream's buffer (`SenderConfig::stream_buffer_blocks`). A signing
    /// sender (`SenderConfig::signing_key`) signs the stream as it goes:
    /// after each message, flush and block of data, and before its end;
    /// trusting receivers deliver its bytes once their signature verifies.
    pub fn open_stream(&self, info: Option<&[u8]>) -> Result<StreamWriter> {
        let info = info.map(<[u8]>::to_vec);
        let id = self.shared.call(|reply| Command::OpenStream { session: self.token, info, reply })?;
        Ok(StreamWriter { shared: self.shared.clone(), token: self.token, id, closed: false })
    }

    fn enqueue(&self, kind: ObjectKind, source: Box<dyn ObjectSource>, info: Option<Vec<u8>>, wait: Wait) -> Result<u64> {
        let digest = match &self.signing {
            Some(cfg) if kind != ObjectKind::Stream => {
                self.wait_for_room(source.memory_size(), wait)?;
                crate::proto::sender::object_digest(cfg, &*source).map_err(|e| Error::io("cannot read the object to sign it", e))?
            }
            _ => None,
        };
        self.shared.call(|reply| Command::Enqueue { session: self.token, kind, source, info, digest, wait, reply })
    }

    /// A signing sender reads the whole object to sign it, so it first
    /// waits (as `wait` says) until the transmit cache has room: a caller
    /// that waits in short slices (the bindings do, to stay interruptible)
    /// then reads and hashes an object once, not once per slice. It polls
    /// (every 5 ms): the engine has no waiter list for room alone, and the
    /// wait is for a cache full of objects still being sent.
    fn wait_for_room(&self, memory: u64, wait: Wait) -> Result<()> {
        const POLL: Duration = Duration::from_millis(5);
        loop {
            if self.shared.call(|reply| Command::HasRoom { session: self.token, memory, reply })? {
                return Ok(());
            }
            match wait {
                Wait::No => return Err(Error::WouldBlock("the transmit cache is full".into())),
                Wait::Until(Some(deadline)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::Timeout);
                    }
                    std::thread::sleep(POLL.min(deadline - now));
                }
                Wait::Until(None) => std::thread::sleep(POLL),
            }
        }
    }

    /// Returns once everything queued so far was sent and a flush round
    /// (NORM_CMD(FLUSH), answering late NACKs) is over.
    pub fn flush(&self) -> Result<()> {
        self.shared.call(|reply| Command::Flush { session: self.token, deadline: None, reply })
    }

    /// Like [`Sender::flush`], giving up with [`Error::Timeout`] after
    /// `timeout` (the flush goes on in the background).
    pub fn flush_timeout(&self, timeout: Duration) -> Result<()> {
        let deadline = deadline_after(timeout);
        self.shared.call(|reply| Command::Flush { session: self.token, deadline, reply })
    }

    /// Positive acknowledgement: asks the receivers with these NORM node ids
    /// (see `ReceiverConfig::node_id`, [`Receiver::node_id`]) to confirm that
    /// they have everything sent so far (a NORM watermark flush), and returns
    /// who did: once all have, after the flush rounds (`robust_factor`
    /// flushes, repeated after repairs), or after `timeout`, whichever is
    /// first. Receivers that lost an object since their last confirmation do
    /// not confirm.
    pub fn flush_acked(&self, nodes: &[u32], timeout: Duration) -> Result<AckReport> {
        let deadline = deadline_after(timeout);
        let nodes = nodes.to_vec();
        self.shared.call(|reply| Command::FlushAcked { session: self.token, nodes, deadline, reply })
    }

    /// [`Sender::flush_acked`] for callers that wait in short slices (the
    /// bindings do, to stay interruptible): asks the receivers once, now,
    /// and returns a function that waits at most the time it is given for
    /// the report, failing with [`Error::Timeout`] while it is not there
    /// yet. The report comes as from `flush_acked` (once all have confirmed,
    /// after the flush rounds, or after `timeout`); the function is not to
    /// be called after it returned anything but `Timeout`. Dropping it
    /// gives up waiting (the flush goes on). In a receiver callback it
    /// fails with [`Error::WouldBlock`], as `flush_acked` does.
    pub fn flush_acked_start(
        &self,
        nodes: &[u32],
        timeout: Duration,
    ) -> Result<impl FnMut(Duration) -> Result<AckReport> + Send + 'static> {
        let deadline = deadline_after(timeout);
        let nodes = nodes.to_vec();
        let answer = self.shared.start_call(|reply| Command::FlushAcked { session: self.token, nodes, deadline, reply })?;
        let shared = self.shared.clone();
        Ok(move |wait: Duration| match answer.recv_timeout(wait) {
            Ok(report) => report,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::Timeout),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(shared.gone()),
        })
    }

    pub fn stats(&self) -> SenderStats {
        lock(&self.stats).clone()
    }

    /// This sender's NORM node id.
    pub fn node_id(&self) -> u32 {
        self.node_id
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    /// Sends NORM_CMD(EOT) and stops. Same as dropping the handle.
    pub fn close(self) {}
}

impl Drop for Sender {
    fn drop(&mut self) {
        let _ = self.shared.send(Command::Close { session: self.token });
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").field("group", &self.group).field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

/// Writes to one stream of a [`Sender`] (from [`Sender::open_stream`]).
///
/// Writes return once the bytes are in the stream's buffer, not once sent;
/// they wait while the buffer is full, since the sender keeps every block
/// for repair for a while after sending it. [`StreamWriter::close`] (or
/// dropping the writer) ends the stream. `Send + Sync`, like the other handles;
/// closing the [`Sender`] ends its streams too.
///
/// It also implements [`std::io::Write`]: `write` takes what fits (waiting
/// for room for at least one byte) without marking message ends, and `flush`
/// sends a partly filled segment at once.
pub struct StreamWriter {
    shared: Arc<EngineShared>,
    token: Token,
    id: u64,
    closed: bool,
}

impl StreamWriter {
    /// The stream's object id (as receivers see it in [`Message::object_id`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Writes one application message: all of `message`, marked as ending a
    /// message, so receivers get it with [`Message::message_end`] and
    /// receivers that join late or lose data resume at a message start.
    /// Blocks until it is all in the buffer.
    pub fn write_message(&self, message: &[u8]) -> Result<()> {
        self.write_bytes(message, true, None).map(|_| ())
    }

    /// Like [`StreamWriter::write_message`], giving up after `timeout` with
    /// [`Error::Timeout`] if none of it could be written; if part of it was,
    /// returns how many bytes (the rest is not written).
    pub fn write_message_timeout(&self, message: &[u8], timeout: Duration) -> Result<usize> {
        self.write_bytes(message, true, deadline_after(timeout))
    }

    /// Writes all of `data` (blocking while the buffer is full), ending a
    /// message after it when `end_of_message`.
    pub fn write_bytes(&self, data: &[u8], end_of_message: bool, deadline: Option<Instant>) -> Result<usize> {
        let data = data.to_vec();
        self.shared.call(|reply| Command::StreamWrite {
            session: self.token,
            stream: self.id,
            data,
            end_of_message,
            wait: Wait::Until(deadline),
            reply,
        })
    }

    /// Writes what fits now without waiting; returns the bytes taken (0 when
    /// the buffer is full). `end_of_message` applies only if all was taken.
    pub fn try_write(&self, data: &[u8], end_of_message: bool) -> Result<usize> {
        let data = data.to_vec();
        self.shared.call(|reply| Command::StreamWrite { session: self.token, stream: self.id, data, end_of_message, wait: Wait::No, reply })
    }

    /// Sends the partly filled last segment now instead of waiting for more
    /// bytes to fill it.
    pub fn flush_stream(&self) -> Result<()> {
        self.shared.call(|reply| Command::StreamFlush { session: self.token, stream: self.id, reply })
    }

    /// Ends the stream: what was written is sent, then the end-of-stream
    /// mark. Use [`Sender::flush`] afterwards to wait until it is all out and
    /// receivers had their chance to ask for repairs.
    pub fn close(mut self) -> Result<()> {
        self.closed = true;
        self.shared.call(|reply| Command::StreamClose { session: self.token, stream: self.id, reply: Some(reply) })
    }
}

impl std::io::Write for StreamWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // At most one segment's worth waits for room; the rest is the
        // caller's to offer again, as io::Write expects.
        let n = self.try_write(buf, false).map_err(std::io::Error::from)?;
        if n > 0 {
            return Ok(n);
        }
        let part = &buf[..buf.len().min(1024)];
        self.write_bytes(part, false, None).map_err(std::io::Error::from)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_stream().map_err(std::io::Error::from)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if !self.closed {
            let _ = self.shared.send(Command::StreamClose { session: self.token, stream: self.id, reply: None });
        }
    }
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter").field("id", &self.id).finish_non_exhaustive()
    }
}

/// Receives objects sent to a group, in order per sender.
pub struct Receiver {
    shared: Arc<EngineShared>,
    token: Token,
    node_id: u32,
    group: Group,
    queue: Arc<RxQueue>,
    stats: Arc<Mutex<ReceiverStats>>,
}

impl Receiver {
    /// Waits for the next complete object. Objects of one sender come in the
    /// order they were sent; one that will never complete comes as
    /// [`Error::Aborted`] (and the next call goes on with later objects).
    pub fn recv(&self) -> Result<Message> {
        self.pop(None)
    }

    /// Like [`Receiver::recv`], failing with [`Error::Timeout`] after `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message> {
        self.pop(deadline_after(timeout))
    }

    /// The next message if one is ready, else [`Error::WouldBlock`].
    pub fn try_recv(&self) -> Result<Message> {
        match self.pop(Some(Instant::now())) {
            Err(Error::Timeout) => Err(Error::WouldBlock("no message is ready".into())),
            r => r,
        }
    }

    fn pop(&self, deadline: Option<Instant>) -> Result<Message> {
        let (item, resume) = self.queue.pop(deadline);
        if resume {
            let _ = self.shared.send(Command::Resume { session: self.token });
        }
        match item {
            Err(Error::Closed) => Err(self.shared.gone()),
            other => other,
        }
    }

    pub fn stats(&self) -> ReceiverStats {
        lock(&self.stats).clone()
    }

    /// A file descriptor that is readable exactly while [`Receiver::try_recv`]
    /// would return at once (a message, an abort report, or `Closed`), for
    /// waiting in an application's own epoll/select/poll loop. Only wait for
    /// readability; do not read from or close it. Valid while the receiver
    /// lives.
    pub fn pollable_fd(&self) -> std::os::fd::RawFd {
        self.queue.raw_fd()
    }

    /// From now on, hand every message (or [`Error::Aborted`] report) to `f`
    /// instead of queueing it for [`Receiver::recv`]. `f` runs on the
    /// context's engine thread and must return quickly: while it runs, no
    /// session of the context makes progress. Calls that wait for the engine
    /// (`send`, `flush`, `progress`, ...) fail with [`Error::WouldBlock`] when
    /// made from `f`. Messages queued before the call stay in the queue. A
    /// panic in `f` removes it. When the receiver or its context closes, `f`
    /// gets `Err(Error::Closed)` once and is dropped. `None` goes back to
    /// queueing. Do not call
    /// `set_callback` from inside `f` (it would wait for itself).
    pub fn set_callback(&self, f: Option<Callback>) {
        self.queue.set_callback(f);
    }

    /// Objects under way (for progress displays).
    pub fn progress(&self) -> Vec<ObjectProgress> {
        self.shared.call(|reply| Command::Progress { session: self.token, reply }).unwrap_or_default()
    }

    /// This receiver's NORM node id.
    pub fn node_id(&self) -> u32 {
        self.node_id
    }

    pub fn group(&self) -> &Group {
        &self.group
    }

    /// Leaves the group and stops. Same as dropping the handle.
    pub fn close(self) {}
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.shared.send(Command::Close { session: self.token });
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("group", &self.group).field("node_id", &self.node_id).finish_non_exhaustive()
    }
}
