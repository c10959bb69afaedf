//! The NORM sender state machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Destination, ObjectKind, ObjectSource};
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
    /// Transmission rate in bits per second (all messages count).
    pub rate_bps: u64,
    /// Most objects held for repair at once.
    pub cache_max_objects: usize,
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
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            segment_size: 1400,
            block_size: 64,
            parity: 16,
            auto_parity: 0,
            rate_bps: 100_000_000,
            cache_max_objects: 1024,
            cache_max_bytes: 512 << 20,
            grtt_initial: Duration::from_millis(500),
            grtt_max: Duration::from_secs(10),
            backoff_factor: 4,
            group_size: 1000,
            robust_factor: 20,
        }
    }
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
    /// Current advertised GRTT in microseconds.
    pub grtt_us: u64,
}

/// A NORM sender (sans-IO). See the module docs of [`crate::proto`].
pub struct Sender {
    _private: (),
}

impl Sender {
    /// Creates a sender with a NORM node id (non-zero, not 0xffffffff) and an
    /// instance id that changes every time the application restarts.
    pub fn new(config: SenderConfig, node_id: u32, instance_id: u16, now: Instant) -> Result<Sender, Error> {
        let _ = (config, node_id, instance_id, now);
        todo!()
    }

    /// Queues an object. Returns its id (the low 16 bits are its NORM transport
    /// id). `Error::WouldBlock` means the cache is full of objects still being
    /// sent: retry after `SenderEvent::QueueVacancy`. `Error::CacheFull` means
    /// the object can never fit.
    pub fn enqueue(&mut self, now: Instant, kind: ObjectKind, source: Box<dyn ObjectSource>, info: Option<Vec<u8>>) -> Result<u64, Error> {
        let _ = (now, kind, source, info);
        todo!()
    }

    /// Asks for a flush round after everything queued so far; returns a token
    /// reported by `SenderEvent::FlushComplete` when the round is over.
    pub fn flush(&mut self, now: Instant) -> u64 {
        let _ = now;
        todo!()
    }

    /// Stops the session: sends NORM_CMD(EOT) and then goes quiet.
    pub fn close(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let _ = (now, from, data);
        todo!()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    /// Writes the next datagram into `buf` (cleared first) if one is due now.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Destination> {
        let _ = (now, buf);
        todo!()
    }

    /// The next instant at which `handle_timeout` or `poll_transmit` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    pub fn poll_event(&mut self) -> Option<SenderEvent> {
        todo!()
    }

    pub fn stats(&self) -> SenderStats {
        todo!()
    }

    pub fn node_id(&self) -> u32 {
        todo!()
    }
}
