//! Sealed channels: every datagram authenticated, content encrypted.
//!
//! With a 32-byte channel key, senders and receivers seal every NORM message
//! they send and open every one they receive before anything else looks at
//! it. The NORM framing stays standard (tshark still decodes every header):
//!
//! - an extension, EXT_SEAL, is appended as the *last* header extension
//!   (`hdr_len` grows by its 11 words): HET 100, HEL 11, a version byte, a
//!   key id byte, the 24-byte nonce and the 16-byte tag;
//! - the payload of NORM_DATA and NORM_INFO messages (object content, stream
//!   payload headers, NORM_INFO content) is encrypted in place;
//! - everything else (all headers and the bodies of commands, NACKs and ACKs,
//!   which say which segments are wanted but nothing of their content) stays
//!   readable and is authenticated.
//!
//! The AEAD is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`). Its
//! nonce is 16 random bytes drawn by each sealer (each sender or receiver
//! instance) followed by a 64-bit counter, so two instances never share a
//! nonce. The counter is the larger of its previous value plus one and the
//! wall clock in microseconds: it increases with every datagram and, below a
//! million datagrams a second, tells the time it was sealed. Openers use it
//! against replay, per NORM source id: a datagram seen before, one older
//! than the last few hundred from that source, one from an instance older
//! than the one last heard, or (with a maximum age) one sealed longer ago
//! than that by the opener's clock is dropped.
//!
//! This module only transforms datagrams; the protocol state machines call
//! it (`proto`), and docs/PROTOCOL.md ("Sealed channels") has the format.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::wire::{ext, msg_type};

/// The default maximum age of a sealed datagram: older ones are dropped as
/// replays (the clocks of a channel's hosts must agree this well).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(120);

/// Bytes of a channel key.
pub const KEY_LEN: usize = 32;
/// Bytes sealing adds to every datagram (the EXT_SEAL extension).
pub const OVERHEAD: usize = 44;
/// EXT_SEAL's length in 32-bit words (its HEL).
const WORDS: u8 = (OVERHEAD / 4) as u8;
/// Format version in EXT_SEAL.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Offsets in EXT_SEAL.
const NONCE_AT: usize = 4;
const COUNTER_AT: usize = NONCE_AT + 16;
const TAG_AT: usize = NONCE_AT + NONCE_LEN;
/// Counters remembered per source: a datagram older than these is a replay.
const REPLAY_WINDOW: usize = 512;
/// Sources whose replay state an opener keeps (only sources that sealed a
/// datagram with the key get one; the least recently heard goes first).
const MAX_SOURCES: usize = 4096;

/// A 32-byte channel key. Its bytes are wiped when it is dropped and never
/// printed (`Debug` shows only its key id).
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(bytes)
    }

    /// A key from exactly [`KEY_LEN`] (32) bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Key, KeyError> {
        let k: [u8; KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Length(bytes.len()))?;
        Ok(Key(k))
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Key {
        let mut k = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key(k)
    }

    /// Parses a key file's content: 64 hexadecimal digits (what
    /// [`Key::to_hex`] and `mcast keygen` write; surrounding whitespace is
    /// ignored) or exactly 32 raw bytes.
    pub fn parse(text: &[u8]) -> Result<Key, KeyError> {
        parse_32(text).map(Key)
    }

    /// Reads a key file (see [`Key::parse`]).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Key, KeyError> {
        read_32(path.as_ref()).map(Key)
    }

    /// The key as 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// One byte derived from the key (not from its secret bits alone: a
    /// hash), carried in every sealed datagram so that an opener with another
    /// key can say so instead of reporting forgeries.
    pub fn id(&self) -> u8 {
        let mut h = Sha256::new();
        h.update(b"mcast seal key id");
        h.update(self.0);
        h.finalize()[0]
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(id {:#04x})", self.id())
    }
}

/// 32 bytes from a key file's content: 64 hexadecimal digits (surrounding
/// whitespace ignored) or exactly 32 raw bytes. Shared by channel keys and
/// the signing keys of [`crate::sign`].
pub(crate) fn parse_32(text: &[u8]) -> Result<[u8; 32], KeyError> {
    let mut k = [0u8; 32];
    if text.len() == 32 && !text.iter().all(|b| b.is_ascii_hexdigit()) {
        k.copy_from_slice(text);
        return Ok(k);
    }
    let s = std::str::from_utf8(text).map_err(|_| KeyError::Format)?.trim();
    if s.len() != 64 || !s.is_ascii() {
        return Err(KeyError::Format);
    }
    for (i, byte) in k.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| KeyError::Format)?;
    }
    Ok(k)
}

/// Reads a key file (see [`parse_32`]), wiping the copy it read.
pub(crate) fn read_32(path: &std::path::Path) -> Result<[u8; 32], KeyError> {
    let mut text = std::fs::read(path).map_err(|e| KeyError::Io(e.to_string()))?;
    let key = parse_32(&text);
    text.zeroize();
    key
}

/// Lowercase hexadecimal digits of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key is 64 hexadecimal digits (as `mcast keygen` writes) or 32 raw bytes")]
    Format,
    #[error("cannot read the key file: {0}")]
    Io(String),
    #[error("a key is 32 bytes, not {0}")]
    Length(usize),
    /// 32 bytes that are no Ed25519 public key (not a curve point).
    #[error("not a valid Ed25519 public key")]
    Invalid,
}

/// Why a datagram was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// It carries no EXT_SEAL: sent by a peer without the key.
    NotSealed,
    /// Sealed, but with another key (its key id differs).
    WrongKey,
    /// Its tag does not verify: altered, forged, or (rarely) sealed with
    /// another key that has the same key id.
    Forged,
    /// Seen before, or from an instance older than the one last heard.
    Replayed,
    /// Sealed longer ago than the maximum age, by this host's clock.
    Stale,
    /// Too short, or an EXT_SEAL of an unknown version.
    Malformed,
}

impl OpenError {
    /// What a receiver tells its application about a source whose datagrams
    /// it drops for this reason.
    pub fn explain(self) -> &'static str {
        match self {
            OpenError::NotSealed => "its datagrams are not sealed, and this channel is sealed (is the sender's key set?)",
            OpenError::WrongKey => "its datagrams are sealed with a different key",
            OpenError::Forged => "its datagrams fail authentication (forged or altered)",
            OpenError::Replayed => "its datagrams were seen before (replayed)",
            OpenError::Stale => {
                "its datagrams were sealed longer ago than the maximum age allows (the clocks disagree, or they are replays)"
            }
            OpenError::Malformed => "its sealed datagrams are malformed",
        }
    }
}

/// Microseconds since the Unix epoch by the wall clock.
pub fn unix_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn encrypted(buf: &[u8]) -> bool {
    matches!(buf[0] & 0x0f, msg_type::INFO | msg_type::DATA)
}

/// Seals outgoing datagrams.
pub struct Sealer {
    aead: XChaCha20Poly1305,
    key_id: u8,
    prefix: [u8; 16],
    counter: u64,
    scratch: Vec<u8>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("key_id", &self.key_id).field("counter", &self.counter).finish()
    }
}

impl Sealer {
    pub fn new(key: &Key) -> Sealer {
        let mut prefix = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        Sealer {
            aead: XChaCha20Poly1305::new(key.as_bytes().into()),
            key_id: key.id(),
            prefix,
            counter: 0,
            scratch: Vec::new(),
        }
    }

    /// Seals the NORM message in `buf` in place: appends EXT_SEAL to its
    /// header, encrypts the payload of NORM_DATA and NORM_INFO, and writes
    /// the tag over everything. `now_us` is [`unix_micros`] (a parameter
    /// for tests). Returns false, leaving `buf` alone, when `buf` is no NORM
    /// message or its header has no room for 11 more words.
    pub fn seal(&mut self, buf: &mut Vec<u8>, now_us: u64) -> bool {
        if buf.len() < 8 || (buf[1] as usize) * 4 < 8 || (buf[1] as usize) * 4 > buf.len() || buf[1] as usize + WORDS as usize > 255 {
            return false;
        }
        let hl = buf[1] as usize * 4;
        self.counter = (self.counter + 1).max(now_us);
        let mut ext = [0u8; OVERHEAD];
        ext[0] = ext::SEAL;
        ext[1] = WORDS;
        ext[2] = VERSION;
        ext[3] = self.key_id;
        ext[NONCE_AT..COUNTER_AT].copy_from_slice(&self.prefix);
        ext[COUNTER_AT..TAG_AT].copy_from_slice(&self.counter.to_be_bytes());
        buf.splice(hl..hl, ext);
        buf[1] += WORDS;
        let end = hl + OVERHEAD;
        let nonce = *XNonce::from_slice(&buf[hl + NONCE_AT..hl + TAG_AT]);
        let tag = if encrypted(buf) {
            let (head, payload) = buf.split_at_mut(end);
            self.aead.encrypt_in_place_detached(&nonce, &head[..end - TAG_LEN], payload)
        } else {
            self.scratch.clear();
            self.scratch.extend_from_slice(&buf[..end - TAG_LEN]);
            self.scratch.extend_from_slice(&buf[end..]);
            self.aead.encrypt_in_place_detached(&nonce, &self.scratch, &mut [])
        };
        // Encryption fails only for messages longer than 256 GiB.
        let tag = tag.expect("a datagram is far below the AEAD's length limit");
        buf[end - TAG_LEN..end].copy_from_slice(&tag);
        true
    }
}

/// Whether a datagram carries EXT_SEAL as the last extension of its
/// header (where [`Sealer::seal`] puts it); what a peer without a key checks.
pub fn is_sealed(buf: &[u8]) -> bool {
    seal_ext_at(buf).is_some()
}

fn seal_ext_at(buf: &[u8]) -> Option<usize> {
    let hl = *buf.get(1)? as usize * 4;
    if hl < 8 + OVERHEAD || hl > buf.len() {
        return None;
    }
    let at = hl - OVERHEAD;
    (buf[at] == ext::SEAL && buf[at + 1] == WORDS).then_some(at)
}

/// Replay state of one source.
struct Peer {
    prefix: [u8; 16],
    max: u64,
    recent: VecDeque<u64>,
    seen: HashSet<u64>,
    /// Opener's clock (micros) when last heard, for eviction.
    heard: u64,
}

impl Peer {
    fn check(&self, prefix: &[u8; 16], counter: u64) -> Result<(), OpenError> {
        if *prefix != self.prefix {
            // Another instance of this source: only a later one is accepted.
            return if counter > self.max { Ok(()) } else { Err(OpenError::Replayed) };
        }
        if counter > self.max {
            return Ok(());
        }
        let full = self.recent.len() >= REPLAY_WINDOW;
        if self.seen.contains(&counter) || (full && self.recent.front().is_some_and(|&oldest| counter < oldest)) {
            return Err(OpenError::Replayed);
        }
        Ok(())
    }

    fn note(&mut self, prefix: &[u8; 16], counter: u64, now_us: u64) {
        if *prefix != self.prefix {
            *self = Peer::new(*prefix, now_us);
        }
        self.max = self.max.max(counter);
        self.recent.push_back(counter);
        self.seen.insert(counter);
        while self.recent.len() > REPLAY_WINDOW {
            if let Some(old) = self.recent.pop_front() {
                self.seen.remove(&old);
            }
        }
        // Keep `recent` ordered enough for its front to be the oldest: a
        // reordered (smaller) counter goes where it belongs.
        if self.recent.len() >= 2 && self.recent[self.recent.len() - 2] > counter {
            self.recent.make_contiguous().sort_unstable();
        }
        self.heard = now_us;
    }

    fn new(prefix: [u8; 16], now_us: u64) -> Peer {
        Peer { prefix, max: 0, recent: VecDeque::new(), seen: HashSet::new(), heard: now_us }
    }
}

/// Opens incoming datagrams.
pub struct Opener {
    aead: XChaCha20Poly1305,
    key_id: u8,
    max_age: Option<Duration>,
    peers: HashMap<u32, Peer>,
    scratch: Vec<u8>,
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opener").field("key_id", &self.key_id).field("peers", &self.peers.len()).finish()
    }
}

impl Opener {
    /// `max_age`: datagrams sealed longer ago than this by the local clock
    /// are dropped as stale (`None`: no limit; replays of instances this
    /// opener has heard are still refused).
    pub fn new(key: &Key, max_age: Option<Duration>) -> Opener {
        Opener {
            aead: XChaCha20Poly1305::new(key.as_bytes().into()),
            key_id: key.id(),
            max_age,
            peers: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// Verifies the sealed NORM message in `buf` and decrypts its payload in
    /// place, then checks it against replay. Replay state advances only for
    /// datagrams that verify. On error `buf` may hold garbage.
    pub fn open(&mut self, buf: &mut [u8], now_us: u64) -> Result<(), OpenError> {
        let Some(at) = seal_ext_at(buf) else {
            return Err(if buf.len() < 8 { OpenError::Malformed } else { OpenError::NotSealed });
        };
        if buf[at + 2] != VERSION {
            return Err(OpenError::Malformed);
        }
        if buf[at + 3] != self.key_id {
            return Err(OpenError::WrongKey);
        }
        let source = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&buf[at + NONCE_AT..at + COUNTER_AT]);
        let mut c = [0u8; 8];
        c.copy_from_slice(&buf[at + COUNTER_AT..at + TAG_AT]);
        let counter = u64::from_be_bytes(c);
        // Authenticate first, so that a forgery is reported as one whatever
        // counter it claims (at the cost of a decryption per replay).
        let end = at + OVERHEAD;
        let nonce = *XNonce::from_slice(&buf[at + NONCE_AT..at + TAG_AT]);
        let tag = *Tag::from_slice(&buf[end - TAG_LEN..end]);
        let ok = if encrypted(buf) {
            let (head, payload) = buf.split_at_mut(end);
            self.aead.decrypt_in_place_detached(&nonce, &head[..end - TAG_LEN], payload, &tag)
        } else {
            self.scratch.clear();
            self.scratch.extend_from_slice(&buf[..end - TAG_LEN]);
            self.scratch.extend_from_slice(&buf[end..]);
            self.aead.decrypt_in_place_detached(&nonce, &self.scratch, &mut [], &tag)
        };
        ok.map_err(|_| OpenError::Forged)?;
        if let Some(age) = self.max_age {
            if counter.saturating_add(age.as_micros() as u64) < now_us {
                return Err(OpenError::Stale);
            }
        }
        if let Some(p) = self.peers.get(&source) {
            p.check(&prefix, counter)?;
        }
        if !self.peers.contains_key(&source) && self.peers.len() >= MAX_SOURCES {
            if let Some(oldest) = self.peers.iter().min_by_key(|(_, p)| p.heard).map(|(&k, _)| k) {
                self.peers.remove(&oldest);
            }
        }
        self.peers.entry(source).or_insert_with(|| Peer::new(prefix, now_us)).note(&prefix, counter, now_us);
        Ok(())
    }
}

/// Both directions of one endpoint of a sealed channel: what a protocol
/// state machine holds when it has a key.
#[derive(Debug)]
pub struct Seal {
    pub sealer: Sealer,
    pub opener: Opener,
    buf: Vec<u8>,
}

impl Seal {
    pub fn new(key: &Key, max_age: Option<Duration>) -> Seal {
        Seal { sealer: Sealer::new(key), opener: Opener::new(key, max_age), buf: Vec::new() }
    }

    /// Opens a copy of `data`. The buffer returned holds the opened message;
    /// hand it back with [`Seal::give_back`] to reuse it.
    pub fn open(&mut self, data: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut b = std::mem::take(&mut self.buf);
        b.clear();
        b.extend_from_slice(data);
        match self.opener.open(&mut b, unix_micros()) {
            Ok(()) => Ok(b),
            Err(e) => {
                self.buf = b;
                Err(e)
            }
        }
    }

    pub fn give_back(&mut self, buf: Vec<u8>) {
        self.buf = buf;
    }
}

/// Why an endpoint dropped an incoming datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Sealed, and this endpoint has no key.
    NoKey,
    /// This endpoint has a key and the datagram did not open.
    Open(OpenError),
}

impl Refused {
    /// What a receiver tells its application about the datagram's source.
    pub fn explain(self) -> &'static str {
        match self {
            Refused::NoKey => "its datagrams are sealed, and this receiver has no key",
            Refused::Open(e) => e.explain(),
        }
    }

    /// Adds one to the counter it belongs to: the three seal counters of
    /// `SenderStats` and `ReceiverStats`.
    pub fn count(self, unauthenticated: &mut u64, replayed: &mut u64, seal_mismatch: &mut u64) {
        *match self {
            Refused::NoKey | Refused::Open(OpenError::NotSealed) => seal_mismatch,
            Refused::Open(OpenError::Replayed | OpenError::Stale) => replayed,
            Refused::Open(OpenError::WrongKey | OpenError::Forged | OpenError::Malformed) => unauthenticated,
        } += 1;
    }
}

/// Admits an incoming datagram at an endpoint with `seal`, or with no key:
/// `Ok(None)`: read `data` as it is; `Ok(Some(buf))`: read the opened copy,
/// then hand it back with [`Seal::give_back`]; `Err`: drop it.
pub fn admit(seal: Option<&mut Seal>, data: &[u8]) -> Result<Option<Vec<u8>>, Refused> {
    match seal {
        None if is_sealed(data) => Err(Refused::NoKey),
        None => Ok(None),
        Some(seal) => seal.open(data).map(Some).map_err(Refused::Open),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NORM_DATA-shaped message: 8-byte common header plus 12 more
    /// header bytes (hdr_len 5), then `payload`.
    fn data_msg(source: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = vec![0x10 | msg_type::DATA, 5, 0, 1];
        m.extend_from_slice(&source.to_be_bytes());
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(payload);
        m
    }

    fn nack_msg(source: u32) -> Vec<u8> {
        let mut m = vec![0x10 | msg_type::NACK, 4, 0, 2];
        m.extend_from_slice(&source.to_be_bytes());
        m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        m.extend_from_slice(b"repair requests");
        m
    }

    #[test]
    fn key_files_parse_and_print() {
        let k = Key::generate();
        assert_eq!(Key::parse(format!("{}\n", k.to_hex()).as_bytes()).unwrap(), k);
        assert_eq!(Key::parse(k.as_bytes()).unwrap(), k);
        assert_eq!(Key::parse(b"abc"), Err(KeyError::Format));
        assert_eq!(Key::from_slice(k.as_bytes()).unwrap(), k);
        assert_eq!(Key::from_slice(&[1; 31]), Err(KeyError::Length(31)));
        assert_eq!(Key::parse(&[b'z'; 64]), Err(KeyError::Format));
        assert!(!format!("{k:?}").contains(&k.to_hex()[..8]));
    }

    #[test]
    fn sealed_data_is_encrypted_and_opens() {
        let key = Key::generate();
        let mut s = Sealer::new(&key);
        let mut o = Opener::new(&key, Some(Duration::from_secs(60)));
        let plain = data_msg(9, b"attack at dawn, attack at dawn");
        let mut m = plain.clone();
        assert!(s.seal(&mut m, 1_000_000));
        assert_eq!(m.len(), plain.len() + OVERHEAD);
        assert_eq!(m[1], 5 + WORDS);
        assert!(is_sealed(&m));
        assert!(!m.windows(6).any(|w| w == b"attack"), "payload is encrypted");
        assert_eq!((&m[..1], &m[2..20]), (&plain[..1], &plain[2..20]), "the NORM header stays readable");
        o.open(&mut m, 1_000_000).unwrap();
        assert_eq!(&m[20 + OVERHEAD..], &plain[20..]);
    }

    #[test]
    fn control_messages_are_authenticated_in_the_clear() {
        let key = Key::generate();
        let mut s = Sealer::new(&key);
        let mut o = Opener::new(&key, None);
        let mut m = nack_msg(3);
        assert!(s.seal(&mut m, 5));
        assert!(m.ends_with(b"repair requests"));
        let mut altered = m.clone();
        let n = altered.len();
        altered[n - 1] ^= 1;
        assert_eq!(o.open(&mut altered, 5), Err(OpenError::Forged));
        o.open(&mut m, 5).unwrap();
    }

    #[test]
    fn every_bit_is_authenticated() {
        let key = Key::generate();
        let mut s = Sealer::new(&key);
        let mut m = data_msg(1, b"0123456789");
        s.seal(&mut m, 1);
        for i in 0..m.len() {
            for bit in [0x01u8, 0x80] {
                let mut o = Opener::new(&key, None);
                let mut x = m.clone();
                x[i] ^= bit;
                assert!(o.open(&mut x, 1).is_err(), "flipping bit {bit:#x} of byte {i} went unnoticed");
            }
        }
    }

    #[test]
    fn wrong_key_unsealed_and_replays_are_refused() {
        let key = Key::generate();
        let mut s = Sealer::new(&key);
        let mut o = Opener::new(&key, Some(Duration::from_secs(10)));
        let mut other = Opener::new(&Key::generate(), None);
        let mut m = data_msg(1, b"x");
        s.seal(&mut m, 100_000_000);
        // (1 in 256 keys share the key id: then it is a forgery.)
        assert!(matches!(other.open(&mut m.clone(), 100_000_000), Err(OpenError::WrongKey | OpenError::Forged)));
        assert_eq!(o.open(&mut data_msg(1, b"x"), 100_000_000), Err(OpenError::NotSealed));
        assert_eq!(o.open(&mut [1, 2, 3], 100_000_000), Err(OpenError::Malformed));
        o.open(&mut m.clone(), 100_000_000).unwrap();
        assert_eq!(o.open(&mut m.clone(), 100_000_000), Err(OpenError::Replayed));
        // Too old by the opener's clock.
        let mut late = data_msg(1, b"y");
        Sealer::new(&key).seal(&mut late, 50_000_000);
        assert_eq!(o.open(&mut late, 100_000_000), Err(OpenError::Stale));
        // Reordering within the window is fine; an earlier instance is not.
        let mut a = data_msg(1, b"a");
        let mut b = data_msg(1, b"b");
        s.seal(&mut a, 0);
        s.seal(&mut b, 0);
        o.open(&mut b, 100_000_000).unwrap();
        o.open(&mut a, 100_000_000).unwrap();
        let mut restarted = Sealer::new(&key);
        let mut r = data_msg(1, b"r");
        restarted.seal(&mut r, 100_000_010);
        o.open(&mut r.clone(), 100_000_020).unwrap();
        let mut old = data_msg(1, b"o");
        s.seal(&mut old, 0);
        assert_eq!(o.open(&mut old, 100_000_020), Err(OpenError::Replayed), "the previous instance is over");
    }

    #[test]
    fn replay_window_forgets_only_the_oldest() {
        let key = Key::generate();
        let mut s = Sealer::new(&key);
        let mut o = Opener::new(&key, None);
        let msgs: Vec<Vec<u8>> = (0..REPLAY_WINDOW + 10)
            .map(|_| {
                let mut m = data_msg(4, b"m");
                s.seal(&mut m, 0);
                m
            })
            .collect();
        // Deliver all but the first 10, then the first 10 arrive late: too
        // old for the window.
        for m in &msgs[10..] {
            o.open(&mut m.clone(), 0).unwrap();
        }
        assert_eq!(o.open(&mut msgs[0].clone(), 0), Err(OpenError::Replayed));
        assert_eq!(o.open(&mut msgs[100].clone(), 0), Err(OpenError::Replayed));
    }
}
