//! The NORM receiver state machine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Destination, ObjectKind, SenderId};
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
    /// Most senders tracked at once.
    pub max_senders: usize,
    /// A sender silent this long is dropped (its incomplete objects aborted).
    pub inactivity_timeout: Duration,
    /// Send NACKs unicast to the sender instead of to the group.
    pub unicast_nacks: bool,
    /// Never send anything (no NACKs, no ACKs): rely on proactive parity.
    pub silent: bool,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            sync_policy: SyncPolicy::All,
            sync_window: 256,
            max_object_size: 1 << 30,
            max_buffer_per_sender: 2 << 30,
            max_senders: 64,
            inactivity_timeout: Duration::from_secs(60),
            unicast_nacks: false,
            silent: false,
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
    pub data: Vec<u8>,
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
}

/// A NORM receiver (sans-IO) tracking every sender it hears on its group.
pub struct Receiver {
    _private: (),
}

impl Receiver {
    pub fn new(config: ReceiverConfig, node_id: u32, now: Instant) -> Result<Receiver, Error> {
        let _ = (config, node_id, now);
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
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Destination> {
        let _ = (now, buf);
        todo!()
    }
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }
    pub fn poll_event(&mut self) -> Option<ReceiverEvent> {
        todo!()
    }
    pub fn stats(&self) -> ReceiverStats {
        todo!()
    }
    pub fn progress(&self) -> Vec<ObjectProgress> {
        todo!()
    }
    pub fn node_id(&self) -> u32 {
        todo!()
    }
}
