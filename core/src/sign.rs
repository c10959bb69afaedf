//! Signed objects: Ed25519 sender authentication.
//!
//! A sender with a [`SigningKey`] signs every DATA and FILE object it sends;
//! a receiver that trusts a set of [`PublicKey`]s (`ReceiverConfig::
//! trusted_signers`) delivers only objects signed by one of them and
//! reports the rest. Channel keys ([`crate::seal`]) keep outsiders out;
//! signatures tell the holders of a channel key apart, so that one of them
//! cannot pass its objects off as another's.
//!
//! What is signed is the object as a whole, once, not each datagram (an
//! Ed25519 signature per datagram would cost more than everything else a
//! receiver does): the signature covers the sender's NORM node id and
//! instance id, the object's transport id, kind and size, its NORM_INFO and
//! a digest of its content. It travels at the end of the object's NORM_INFO
//! (every signed object has one), marked by a one-word header extension,
//! EXT_AUTH (HET 101), so the framing stays standard. On a sealed channel
//! the NORM_INFO payload is encrypted, signature included.
//!
//! The content digest is a hash of per-block hashes ([`Digest`]): receivers
//! hash each FEC block as it completes, in whatever order blocks complete
//! (FILE objects written to disk block by block are never read back), and
//! keep only the hashes of blocks that completed ahead of the first
//! incomplete one.
//!
//! Objects are checked twice: the NORM_INFO on arrival (signature, trusted
//! key, kind and size), the content when the last block is in.
//!
//! Streams have no size or end to sign as a whole: a signing sender signs
//! them in units ([`StreamSigner`]). After each application message, each
//! flush, before the end and at least once per FEC block it writes a
//! signature control segment into the stream, covering the stream's ids, the
//! unit's number and the hash of every data segment since the previous one
//! (header and bytes, [`UnitHash`]). A trusting receiver holds a unit's bytes
//! until its signature verifies ([`verify_unit`]).
//!
//! Ed25519 is `ed25519-dalek` (no home-made cryptography); docs/PROTOCOL.md
//! ("Signed objects") has the format.

use std::fmt;

use ed25519_dalek::Signer;
use rand::RngCore;
use sha2::{Digest as _, Sha256};

use crate::proto::ObjectKind;
use crate::seal::{parse_32, read_32, to_hex, KeyError};

/// Bytes of a public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Bytes of a signing key (its secret seed).
pub const SECRET_KEY_LEN: usize = 32;
/// Bytes a signature block adds to the end of a NORM_INFO payload: the
/// signer's public key, the content digest and the signature.
pub const TRAILER_LEN: usize = PUBLIC_KEY_LEN + 32 + 64;
/// EXT_AUTH's format version.
pub const VERSION: u8 = 1;
/// EXT_AUTH's algorithm byte: Ed25519.
pub const ALG_ED25519: u8 = 1;

/// Domain separation of the signed message and of the content digest.
const SIGNED_PREFIX: &[u8] = b"mcast object signature v1\0";
const DIGEST_PREFIX: &[u8] = b"mcast object digest v1\0";
const STREAM_PREFIX: &[u8] = b"mcast stream signature v1\0";

/// `payload_msg_start` of a stream signature control segment (one with
/// `payload_len` 0; other receivers skip control codes they do not know).
pub const STREAM_SIGNATURE_CODE: u16 = 0x5347;
/// Bytes of a stream signature after the segment's 8-byte stream header:
/// version, flags, unit number (u64), public key, signature.
pub const STREAM_SIGNATURE_LEN: usize = 1 + 1 + 8 + PUBLIC_KEY_LEN + 64;
/// Stream signature flag: the last unit; the end of the stream follows.
pub const STREAM_FINAL: u8 = 1;

/// An Ed25519 signing key (the secret 32-byte seed). Its bytes are wiped
/// when dropped (ed25519-dalek's `zeroize`) and never printed: `Debug`
/// shows the public key.
/// (Boxed: the expanded key is large, and configs carry it.)
#[derive(Clone)]
pub struct SigningKey(Box<ed25519_dalek::SigningKey>);

impl SigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> SigningKey {
        let mut seed = [0u8; SECRET_KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let k = SigningKey::from_bytes(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        k
    }

    pub fn from_bytes(seed: [u8; SECRET_KEY_LEN]) -> SigningKey {
        SigningKey(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// A key file's content: 64 hexadecimal digits (what [`SigningKey::to_hex`]
    /// and `mcast keygen --sign` write) or exactly 32 raw bytes.
    pub fn parse(text: &[u8]) -> Result<SigningKey, KeyError> {
        let mut seed = parse_32(text)?;
        let k = SigningKey::from_bytes(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(k)
    }

    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<SigningKey, KeyError> {
        let mut seed = read_32(path.as_ref())?;
        let k = SigningKey::from_bytes(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(k)
    }

    /// The secret seed as 64 hexadecimal digits (for a key file).
    pub fn to_hex(&self) -> String {
        to_hex(self.0.as_bytes())
    }

    pub fn to_bytes(&self) -> [u8; SECRET_KEY_LEN] {
        self.0.to_bytes()
    }

    /// The public key receivers trust to accept this key's objects.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key().to_hex())
    }
}

/// An Ed25519 public key: what a receiver trusts. Holds the 32 bytes of a
/// key checked when it was made (messages carry it; the curve point is
/// worked out again for each verification, once per object).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LEN]);

impl PublicKey {
    /// Fails with [`KeyError::Invalid`] for 32 bytes that are no usable
    /// public key: not a point of the curve, a non-canonical encoding of
    /// one, or a point with a small-order part (no signing key has one, so
    /// trusting it would be useless).
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<PublicKey, KeyError> {
        let k = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::Invalid)?;
        let point = k.to_edwards();
        if k.is_weak() || !point.is_torsion_free() || point.compress().as_bytes() != bytes {
            return Err(KeyError::Invalid);
        }
        Ok(PublicKey(*bytes))
    }

    pub fn from_slice(bytes: &[u8]) -> Result<PublicKey, KeyError> {
        let b: [u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| KeyError::Length(bytes.len()))?;
        PublicKey::from_bytes(&b)
    }

    /// A public key file's content: 64 hexadecimal digits (what
    /// `mcast keygen --sign` writes to FILE.pub) or 32 raw bytes.
    pub fn parse(text: &[u8]) -> Result<PublicKey, KeyError> {
        PublicKey::from_bytes(&parse_32(text)?)
    }

    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<PublicKey, KeyError> {
        PublicKey::from_bytes(&read_32(path.as_ref())?)
    }

    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).expect("checked when made")
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// SHA-256 of one FEC block's content.
pub fn block_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The content digest of an object: SHA-256 of a prefix and of its block
/// hashes in block order, fed one block at a time in any order. Blocks that
/// come ahead of the next one in order wait as their 32-byte hash.
#[derive(Clone)]
pub struct Digest {
    hasher: Sha256,
    /// Blocks folded in so far (all blocks below this).
    next: u32,
    ahead: std::collections::BTreeMap<u32, [u8; 32]>,
}

impl Default for Digest {
    fn default() -> Self {
        let mut hasher = Sha256::new();
        hasher.update(DIGEST_PREFIX);
        Digest { hasher, next: 0, ahead: Default::default() }
    }
}

impl Digest {
    /// Adds the hash of block `block` (each block once).
    pub fn add(&mut self, block: u32, hash: [u8; 32]) {
        if block < self.next {
            return;
        }
        self.ahead.insert(block, hash);
        while let Some(h) = self.ahead.remove(&self.next) {
            self.hasher.update(h);
            self.next += 1;
        }
    }

    /// Bytes held for blocks that completed out of order.
    pub fn memory(&self) -> u64 {
        self.ahead.len() as u64 * 48
    }

    /// The digest, once all `num_blocks` blocks were added.
    pub fn finish(&self, num_blocks: u32) -> Option<[u8; 32]> {
        (self.next == num_blocks && self.ahead.is_empty()).then(|| self.hasher.clone().finalize().into())
    }
}

/// What a signature covers, besides the digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectIdentity {
    pub node_id: u32,
    pub instance_id: u16,
    /// The 16-bit NORM transport id.
    pub object_id: u16,
    pub kind: ObjectKind,
    pub size: u64,
}

fn signed_message(id: &ObjectIdentity, info: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNED_PREFIX.len() + 19 + 2 + info.len() + 32);
    m.extend_from_slice(SIGNED_PREFIX);
    m.extend_from_slice(&id.node_id.to_be_bytes());
    m.extend_from_slice(&id.instance_id.to_be_bytes());
    m.extend_from_slice(&id.object_id.to_be_bytes());
    m.push(match id.kind {
        ObjectKind::Data => 0,
        ObjectKind::File => 1,
        ObjectKind::Stream => 2,
    });
    m.extend_from_slice(&id.size.to_be_bytes());
    m.extend_from_slice(&(info.len() as u16).to_be_bytes());
    m.extend_from_slice(info);
    m.extend_from_slice(digest);
    m
}

/// The NORM_INFO payload of a signed object: `info` followed by the
/// signature block (public key, digest, signature).
pub fn sign_info(key: &SigningKey, id: &ObjectIdentity, info: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    let sig = key.0.sign(&signed_message(id, info, digest));
    let mut out = Vec::with_capacity(info.len() + TRAILER_LEN);
    out.extend_from_slice(info);
    out.extend_from_slice(key.0.verifying_key().as_bytes());
    out.extend_from_slice(digest);
    out.extend_from_slice(&sig.to_bytes());
    out
}

/// Splits a signed NORM_INFO payload into the application's info and its
/// signature block; `None` when it is too short to hold one.
pub fn split_info(payload: &[u8]) -> Option<(&[u8], &[u8])> {
    payload.len().checked_sub(TRAILER_LEN).map(|n| payload.split_at(n))
}

/// Which stream a unit signature belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamIdentity {
    pub node_id: u32,
    pub instance_id: u16,
    /// The 16-bit NORM transport id of the stream.
    pub object_id: u16,
}

/// The hash of one unit of a signed stream: its data segments in order, each
/// as it travels (8-byte stream header, then its bytes), and their count.
#[derive(Clone)]
pub struct UnitHash {
    hasher: Sha256,
    count: u32,
}

impl Default for UnitHash {
    fn default() -> Self {
        UnitHash { hasher: Sha256::new(), count: 0 }
    }
}

impl UnitHash {
    /// Adds one data segment (header and bytes).
    pub fn add(&mut self, segment: &[u8]) {
        self.hasher.update((segment.len() as u32).to_be_bytes());
        self.hasher.update(segment);
        self.count = self.count.saturating_add(1);
    }

    /// Data segments added since the last reset.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The hash and count so far; starts the next unit.
    pub fn take(&mut self) -> ([u8; 32], u32) {
        let h = std::mem::take(&mut self.hasher).finalize().into();
        (h, std::mem::take(&mut self.count))
    }
}

fn unit_message(id: &StreamIdentity, flags: u8, unit: u64, count: u32, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(STREAM_PREFIX.len() + 8 + 1 + 8 + 4 + 32);
    m.extend_from_slice(STREAM_PREFIX);
    m.extend_from_slice(&id.node_id.to_be_bytes());
    m.extend_from_slice(&id.instance_id.to_be_bytes());
    m.extend_from_slice(&id.object_id.to_be_bytes());
    m.push(flags);
    m.extend_from_slice(&unit.to_be_bytes());
    m.extend_from_slice(&count.to_be_bytes());
    m.extend_from_slice(hash);
    m
}

/// A signing sender's state for one stream: the unit being written.
pub struct StreamSigner {
    key: SigningKey,
    id: StreamIdentity,
    unit: u64,
    hash: UnitHash,
}

impl StreamSigner {
    pub fn new(key: SigningKey, id: StreamIdentity) -> Self {
        StreamSigner { key, id, unit: 0, hash: UnitHash::default() }
    }

    /// Adds a data segment of the current unit.
    pub fn add(&mut self, segment: &[u8]) {
        self.hash.add(segment);
    }

    /// Data segments in the current unit.
    pub fn pending(&self) -> u32 {
        self.hash.count()
    }

    /// Signs the current unit and starts the next: the bytes that follow the
    /// signature segment's stream header. A `last` unit is followed by the
    /// end of the stream (its signature authenticates the end).
    pub fn sign(&mut self, last: bool) -> [u8; STREAM_SIGNATURE_LEN] {
        let (hash, count) = self.hash.take();
        let flags = if last { STREAM_FINAL } else { 0 };
        let sig = self.key.0.sign(&unit_message(&self.id, flags, self.unit, count, &hash));
        let mut out = [0u8; STREAM_SIGNATURE_LEN];
        out[0] = VERSION;
        out[1] = flags;
        out[2..10].copy_from_slice(&self.unit.to_be_bytes());
        out[10..42].copy_from_slice(self.key.0.verifying_key().as_bytes());
        out[42..].copy_from_slice(&sig.to_bytes());
        self.unit += 1;
        out
    }
}

/// A verified stream unit signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedUnit {
    pub signer: PublicKey,
    pub unit: u64,
    /// The last unit: the end of the stream follows it.
    pub last: bool,
}

/// Checks a stream unit signature (the bytes after the control segment's
/// header) against `trusted` keys, for a unit of `count` data segments that
/// hash to `hash`.
pub fn verify_unit(trusted: &[PublicKey], id: &StreamIdentity, body: &[u8], hash: &[u8; 32], count: u32) -> Result<VerifiedUnit, Refusal> {
    if body.len() != STREAM_SIGNATURE_LEN || body[0] != VERSION || body[1] & !STREAM_FINAL != 0 {
        return Err(Refusal::BadSignature);
    }
    let flags = body[1];
    let unit = u64::from_be_bytes(body[2..10].try_into().expect("8 bytes"));
    let (pk, sig) = (&body[10..42], &body[42..]);
    // A trusted key's signature over other content: the unit was altered
    // (or the signature forged).
    let signer = trusted_signer(trusted, pk, sig, &unit_message(id, flags, unit, count, hash), Refusal::Mismatch)?;
    Ok(VerifiedUnit { signer, unit, last: flags & STREAM_FINAL != 0 })
}

/// Why a signed NORM_INFO was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No signature where one is required.
    Unsigned,
    /// A valid signature by a key the receiver does not trust.
    Untrusted,
    /// The signature does not verify, or the signature block is malformed.
    BadSignature,
    /// The content does not hash to the signed digest, or the object's size
    /// or kind differs from what was signed.
    Mismatch,
    /// A signed stream ended without the signature of its last unit just
    /// before the end.
    UnsignedEnd,
}

impl Refusal {
    /// What a receiver tells its application about the sender.
    pub fn explain(self) -> &'static str {
        match self {
            Refusal::Unsigned => "its objects are not signed, and this receiver accepts only objects signed by a trusted key",
            Refusal::Untrusted => "its objects are signed by a key this receiver does not trust",
            Refusal::BadSignature => "its object signatures do not verify (forged or altered)",
            Refusal::Mismatch => "an object's content or size differs from what its signature covers (altered or injected data)",
            Refusal::UnsignedEnd => "its stream ended without a signed end (a forged end of stream, or its last signature was lost)",
        }
    }
}

/// A verified signature: who signed, and the digest the content must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub signer: PublicKey,
    pub digest: [u8; 32],
}

/// Checks a signature block against `trusted` keys.
pub fn verify(trusted: &[PublicKey], id: &ObjectIdentity, info: &[u8], block: &[u8]) -> Result<Verified, Refusal> {
    if block.len() != TRAILER_LEN {
        return Err(Refusal::BadSignature);
    }
    let (pk, rest) = block.split_at(PUBLIC_KEY_LEN);
    let (digest, sig) = rest.split_at(32);
    let digest: [u8; 32] = digest.try_into().expect("32 bytes");
    let signer = trusted_signer(trusted, pk, sig, &signed_message(id, info, &digest), Refusal::BadSignature)?;
    Ok(Verified { signer, digest })
}

/// The trusted key that made `sig` over `message`, the signature naming its
/// key `pk`. A trusted `pk` whose signature does not verify is refused with
/// `invalid`. Any other `pk` is untrusted whether or not its signature
/// verifies; say which, so a user who forgot to trust a key is told so and
/// a forger is not flattered.
fn trusted_signer(trusted: &[PublicKey], pk: &[u8], sig: &[u8], message: &[u8], invalid: Refusal) -> Result<PublicKey, Refusal> {
    let valid = |k: &PublicKey| {
        ed25519_dalek::Signature::from_slice(sig).is_ok_and(|s| k.verifying_key().verify_strict(message, &s).is_ok())
    };
    match trusted.iter().find(|k| k.as_bytes()[..] == *pk) {
        Some(k) if valid(k) => Ok(*k),
        Some(_) => Err(invalid),
        None if PublicKey::from_slice(pk).is_ok_and(|k| valid(&k)) => Err(Refusal::Untrusted),
        None => Err(Refusal::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ObjectIdentity {
        ObjectIdentity { node_id: 7, instance_id: 3, object_id: 9, kind: ObjectKind::File, size: 1000 }
    }

    #[test]
    fn signed_info_verifies_for_trusted_keys_only() {
        let k = SigningKey::generate();
        let other = SigningKey::generate();
        let digest = [5u8; 32];
        let payload = sign_info(&k, &id(), b"name.txt", &digest);
        let (info, block) = split_info(&payload).unwrap();
        assert_eq!(info, b"name.txt");
        let v = verify(&[other.public_key(), k.public_key()], &id(), info, block).unwrap();
        assert_eq!(v, Verified { signer: k.public_key(), digest });
        assert_eq!(verify(&[other.public_key()], &id(), info, block), Err(Refusal::Untrusted));
        // Any other identity, info or digest fails.
        let trusted = [k.public_key()];
        for changed in [
            ObjectIdentity { node_id: 8, ..id() },
            ObjectIdentity { instance_id: 4, ..id() },
            ObjectIdentity { object_id: 10, ..id() },
            ObjectIdentity { kind: ObjectKind::Data, ..id() },
            ObjectIdentity { size: 1001, ..id() },
        ] {
            assert_eq!(verify(&trusted, &changed, info, block), Err(Refusal::BadSignature));
        }
        assert_eq!(verify(&trusted, &id(), b"name.txu", block), Err(Refusal::BadSignature));
        for i in 0..TRAILER_LEN {
            let mut b = block.to_vec();
            b[i] ^= 1;
            assert!(verify(&trusted, &id(), info, &b).is_err(), "bit flip at {i} accepted");
        }
        assert_eq!(verify(&trusted, &id(), info, &block[1..]), Err(Refusal::BadSignature));
    }

    #[test]
    fn digest_folds_blocks_in_any_order() {
        let hashes: Vec<[u8; 32]> = (0..10u8).map(|i| block_hash(&[i; 100])).collect();
        let mut inorder = Digest::default();
        for (i, h) in hashes.iter().enumerate() {
            inorder.add(i as u32, *h);
        }
        let mut shuffled = Digest::default();
        for i in [3u32, 9, 0, 1, 2, 8, 4, 5, 7, 6, 6] {
            shuffled.add(i, hashes[i as usize]);
            assert!(shuffled.finish(10).is_none() || i == 6);
        }
        assert_eq!(inorder.finish(10), shuffled.finish(10));
        assert!(inorder.finish(10).is_some());
        assert!(inorder.finish(11).is_none());
        assert_eq!(shuffled.memory(), 0);
    }

    #[test]
    fn key_files_round_trip() {
        let k = SigningKey::generate();
        let k2 = SigningKey::parse(k.to_hex().as_bytes()).unwrap();
        assert_eq!(k.to_bytes(), k2.to_bytes());
        let p = PublicKey::parse(format!("{}\n", k.public_key().to_hex()).as_bytes()).unwrap();
        assert_eq!(p, k.public_key());
        assert!(!format!("{k:?}").contains(&k.to_hex()));
        assert_eq!(PublicKey::parse(b"xyz"), Err(KeyError::Format));
        // Not every 32 bytes are a public key: small-order points (all
        // zeros), non-canonical encodings (all 0xff: y above the field's
        // prime), points with a small-order part (all 0x01), and bytes that
        // are no point at all.
        for bad in [[0u8; 32], [0xff; 32], [1; 32]] {
            assert_eq!(PublicKey::from_bytes(&bad), Err(KeyError::Invalid), "{bad:02x?}");
        }
        let not_a_point = (0..=255u8).map(|b| [b; 32]).find(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_err());
        assert!(not_a_point.is_some_and(|b| PublicKey::from_bytes(&b).is_err()));
    }
}
