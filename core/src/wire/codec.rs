//! Encoding and decoding of NORM messages.
//!
//! Layouts follow libnorm's `normMessage.h`, which is what we must interoperate
//! with; `docs/PROTOCOL-wire-notes.md` lists where that differs from RFC 5740.
//!
//! Decoding is strict about anything that would make later fields ambiguous
//! (header lengths, extension lengths, repair request lengths, list lengths)
//! and lenient about values it does not interpret (reserved bytes, flags,
//! unknown header extensions), so that a future libnorm that sets a reserved
//! bit does not make us drop its packets.

use thiserror::Error;

use super::{
    ack_type, cmd_flavor, ext, fec_id, msg_type, nack_form, Ack, AckBody, Body, CcFeedback, CcNode,
    Cmd, CmdMsg, Data, FecPayloadId, Fti, Info, Nack, NormTime, ObjectHeader, Packet, RepairItem,
    RepairRequest, SenderHeader, VERSION,
};

/// Why a datagram could not be decoded as a NORM message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The datagram ends before a fixed-size part of the message.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// The version nibble is not 1.
    #[error("unsupported NORM version {0} (expected {VERSION})")]
    BadVersion(u8),
    /// The message type nibble is not one of RFC 5740's six types.
    #[error("unknown NORM message type {0}")]
    UnknownType(u8),
    /// A NORM_CMD flavor we do not know, so its header length is unknown.
    #[error("unknown NORM_CMD flavor {0}")]
    UnknownFlavor(u8),
    /// A fec_id whose FEC payload ID layout we do not know.
    #[error("unknown fec_id {0}")]
    UnknownFecId(u8),
    /// `hdr_len` is shorter than the message type's fixed header or longer
    /// than the datagram.
    #[error("bad hdr_len: {hdr_len} bytes, but the base header is {base} and the datagram {len}")]
    BadHeaderLength {
        hdr_len: usize,
        base: usize,
        len: usize,
    },
    /// A header extension with zero length, one that overruns `hdr_len`, or a
    /// known extension too short for its contents.
    #[error("bad length {ext_len} for header extension HET {het} at offset {offset}")]
    BadExtensionLength {
        het: u8,
        offset: usize,
        ext_len: usize,
    },
    /// A list body (node ids, object ids, cc nodes) that is not a whole
    /// number of entries.
    #[error("{what}: {len} bytes is not a whole number of {unit}-byte entries")]
    BadListLength {
        what: &'static str,
        len: usize,
        unit: usize,
    },
    /// A repair request whose framing is inconsistent.
    #[error("malformed repair request: {0}")]
    BadRepairRequest(&'static str),
}

type Result<T> = std::result::Result<T, DecodeError>;

/// Bytes of the common header (version/type, hdr_len, sequence, source_id).
const COMMON_LEN: usize = 8;
/// Fixed header of INFO and DATA (before the FEC payload ID), and of most CMDs.
const OBJECT_BASE_LEN: usize = 16;
/// Fixed header of NORM_CMD(CC), NACK and ACK.
const LONG_BASE_LEN: usize = 24;
/// Repair item bytes before the FEC payload ID (fec_id, reserved, object_id).
const ITEM_PREFIX_LEN: usize = 4;
/// Repair request header (form, flags, length).
const REQUEST_HEADER_LEN: usize = 4;
/// EXT_CC is always 3 words.
const EXT_CC_LEN: usize = 12;
/// EXT_RATE (HET >= 128) is always 1 word.
const EXT_RATE_LEN: usize = 4;
/// The field size libnorm uses for fec_id 2 when nothing says otherwise.
const DEFAULT_FEC_M: u8 = 16;

fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Reads a fixed field the caller has already length-checked; the `Truncated`
/// fallback keeps a bookkeeping mistake from becoming a panic.
fn need16(b: &[u8], off: usize) -> Result<u16> {
    be16(b, off).ok_or(DecodeError::Truncated {
        what: "field",
        need: off + 2,
        have: b.len(),
    })
}

fn need32(b: &[u8], off: usize) -> Result<u32> {
    be32(b, off).ok_or(DecodeError::Truncated {
        what: "field",
        need: off + 4,
        have: b.len(),
    })
}

fn need8(b: &[u8], off: usize) -> Result<u8> {
    b.get(off).copied().ok_or(DecodeError::Truncated {
        what: "field",
        need: off + 1,
        have: b.len(),
    })
}

fn check_len(b: &[u8], need: usize, what: &'static str) -> Result<()> {
    if b.len() < need {
        Err(DecodeError::Truncated {
            what,
            need,
            have: b.len(),
        })
    } else {
        Ok(())
    }
}

impl FecPayloadId {
    /// Bytes of the FEC payload ID for `fec_id`, or `None` for an unknown fec_id.
    pub fn encoded_len(fec_id: u8) -> Option<usize> {
        match fec_id {
            fec_id::RS_M | fec_id::RS8 => Some(4),
            fec_id::SMALL_BLOCK => Some(8),
            _ => None,
        }
    }

    /// Parses a FEC payload ID from the start of `b`. `fec_m` only matters
    /// for fec_id 2 (8 selects the 24/8-bit layout, anything else 16/16).
    /// Returns `None` for an unknown fec_id or if `b` is too short.
    pub fn decode(fec_id: u8, fec_m: u8, b: &[u8]) -> Option<FecPayloadId> {
        match PidLayout::of(fec_id, fec_m)? {
            PidLayout::Block24Symbol8 => {
                let w = be32(b, 0)?;
                Some(FecPayloadId {
                    block: w >> 8,
                    symbol: (w & 0xff) as u16,
                    block_len: 0,
                })
            }
            PidLayout::Block16Symbol16 => Some(FecPayloadId {
                block: be16(b, 0)? as u32,
                symbol: be16(b, 2)?,
                block_len: 0,
            }),
            PidLayout::Block32Len16Symbol16 => Some(FecPayloadId {
                block: be32(b, 0)?,
                block_len: be16(b, 4)?,
                symbol: be16(b, 6)?,
            }),
        }
    }

    /// Appends the FEC payload ID. Fields wider than the fec_id's layout are
    /// truncated to their low bits; nothing is written for an unknown fec_id.
    pub fn write(&self, fec_id: u8, fec_m: u8, out: &mut Vec<u8>) {
        match PidLayout::of(fec_id, fec_m) {
            Some(PidLayout::Block24Symbol8) => {
                put32(out, (self.block << 8) | (self.symbol & 0xff) as u32)
            }
            Some(PidLayout::Block16Symbol16) => {
                put16(out, self.block as u16);
                put16(out, self.symbol);
            }
            Some(PidLayout::Block32Len16Symbol16) => {
                put32(out, self.block);
                put16(out, self.block_len);
                put16(out, self.symbol);
            }
            None => {}
        }
    }
}

/// FEC payload ID layouts (RFC 5510 sections 8.1 and 8.2, RFC 5445 for 129).
enum PidLayout {
    /// fec_id 5, and fec_id 2 with m = 8.
    Block24Symbol8,
    /// fec_id 2 with m = 16 (libnorm's only use of fec_id 2).
    Block16Symbol16,
    /// fec_id 129: block, source block length, symbol.
    Block32Len16Symbol16,
}

impl PidLayout {
    fn of(fec_id: u8, fec_m: u8) -> Option<PidLayout> {
        match fec_id {
            fec_id::RS8 => Some(PidLayout::Block24Symbol8),
            fec_id::RS_M if fec_m == 8 => Some(PidLayout::Block24Symbol8),
            fec_id::RS_M => Some(PidLayout::Block16Symbol16),
            fec_id::SMALL_BLOCK => Some(PidLayout::Block32Len16Symbol16),
            _ => None,
        }
    }
}

impl RepairItem {
    /// Bytes of one repair item for `fec_id` (4 + FEC payload ID), or `None`
    /// for an unknown fec_id.
    pub fn encoded_len(fec_id: u8) -> Option<usize> {
        FecPayloadId::encoded_len(fec_id).map(|n| ITEM_PREFIX_LEN + n)
    }

    /// Parses one item (fec_id, reserved, object_id, FEC payload ID) from the
    /// start of `b`, returning it and its length.
    fn decode_from(b: &[u8], fec_m: u8) -> Result<(RepairItem, usize)> {
        let fec_id = need8(b, 0)?;
        let len = RepairItem::encoded_len(fec_id).ok_or(DecodeError::UnknownFecId(fec_id))?;
        check_len(b, len, "repair item")?;
        let object_id = need16(b, 2)?;
        let payload_id = FecPayloadId::decode(fec_id, fec_m, &b[ITEM_PREFIX_LEN..])
            .ok_or(DecodeError::UnknownFecId(fec_id))?;
        Ok((
            RepairItem {
                fec_id,
                object_id,
                payload_id,
            },
            len,
        ))
    }

    fn write(&self, fec_m: u8, out: &mut Vec<u8>) {
        out.push(self.fec_id);
        out.push(0);
        put16(out, self.object_id);
        self.payload_id.write(self.fec_id, fec_m, out);
    }

    fn len(&self) -> usize {
        RepairItem::encoded_len(self.fec_id).unwrap_or(ITEM_PREFIX_LEN)
    }
}

impl RepairRequest {
    /// Bytes this request occupies on the wire (header plus items).
    pub fn encoded_len(&self) -> usize {
        REQUEST_HEADER_LEN + self.items.iter().map(RepairItem::len).sum::<usize>()
    }

    fn write(&self, fec_m: u8, out: &mut Vec<u8>) {
        out.push(self.form);
        out.push(self.flags);
        // A request never approaches 64 KiB inside one datagram; saturating
        // keeps an absurd value from silently wrapping to a small length.
        let items_len = self.encoded_len() - REQUEST_HEADER_LEN;
        put16(out, u16::try_from(items_len).unwrap_or(u16::MAX));
        for item in &self.items {
            item.write(fec_m, out);
        }
    }
}

/// Parses a sequence of repair requests filling all of `b`.
fn decode_requests(b: &[u8], fec_m: u8) -> Result<Vec<RepairRequest>> {
    let mut requests = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        if rest.len() < REQUEST_HEADER_LEN {
            return Err(DecodeError::BadRepairRequest(
                "trailing bytes shorter than a request header",
            ));
        }
        let form = rest[0];
        let flags = rest[1];
        let len = need16(rest, 2)? as usize;
        let Some(mut items_bytes) = rest.get(REQUEST_HEADER_LEN..REQUEST_HEADER_LEN + len) else {
            return Err(DecodeError::BadRepairRequest(
                "request length runs past the message",
            ));
        };
        if !(nack_form::ITEMS..=nack_form::ERASURES).contains(&form) {
            return Err(DecodeError::BadRepairRequest("unknown form"));
        }
        let mut items = Vec::new();
        while !items_bytes.is_empty() {
            let (item, n) = RepairItem::decode_from(items_bytes, fec_m).map_err(|e| match e {
                DecodeError::Truncated { .. } => {
                    DecodeError::BadRepairRequest("request length is not a whole number of items")
                }
                other => other,
            })?;
            items.push(item);
            items_bytes = &items_bytes[n..];
        }
        if form == nack_form::RANGES && items.len() % 2 != 0 {
            return Err(DecodeError::BadRepairRequest(
                "RANGES request with an odd number of items",
            ));
        }
        requests.push(RepairRequest { form, flags, items });
        rest = &rest[REQUEST_HEADER_LEN + len..];
    }
    Ok(requests)
}

impl Fti {
    /// Bytes of the EXT_FTI extension for `fec_id` (including HET and HEL),
    /// or `None` for an unknown fec_id.
    pub fn encoded_len(fec_id: u8) -> Option<usize> {
        match fec_id {
            fec_id::RS8 => Some(12),
            fec_id::RS_M | fec_id::SMALL_BLOCK => Some(16),
            _ => None,
        }
    }

    /// Parses an EXT_FTI extension (starting at its HET byte) for `fec_id`.
    fn decode(fec_id: u8, b: &[u8]) -> Option<Fti> {
        let need = Fti::encoded_len(fec_id)?;
        if b.len() < need {
            return None;
        }
        let object_size = ((be16(b, 2)? as u64) << 32) | be32(b, 4)? as u64;
        let fti = match fec_id {
            fec_id::RS8 => Fti {
                object_size,
                segment_size: be16(b, 8)?,
                max_block_len: b[10] as u16,
                num_parity: b[11] as u16,
                fec_m: 8,
                fec_instance: 0,
            },
            // Byte 9 (fec_g, symbols per packet) is always 1 from libnorm; we
            // neither need nor keep it.
            fec_id::RS_M => Fti {
                object_size,
                fec_m: b[8],
                segment_size: be16(b, 10)?,
                max_block_len: be16(b, 12)?,
                num_parity: be16(b, 14)?,
                fec_instance: 0,
            },
            _ => Fti {
                object_size,
                fec_instance: be16(b, 8)?,
                segment_size: be16(b, 10)?,
                max_block_len: be16(b, 12)?,
                num_parity: be16(b, 14)?,
                fec_m: 0,
            },
        };
        Some(fti)
    }

    fn write(&self, fec_id: u8, out: &mut Vec<u8>) {
        let Some(len) = Fti::encoded_len(fec_id) else {
            return;
        };
        out.push(ext::FTI);
        out.push((len / 4) as u8);
        put16(out, (self.object_size >> 32) as u16);
        put32(out, self.object_size as u32);
        match fec_id {
            fec_id::RS8 => {
                put16(out, self.segment_size);
                // libnorm carries only 8 bits of each here.
                out.push(self.max_block_len as u8);
                out.push(self.num_parity as u8);
            }
            fec_id::RS_M => {
                out.push(self.fec_m);
                out.push(1); // fec_g: one symbol per packet, as libnorm sends
                put16(out, self.segment_size);
                put16(out, self.max_block_len);
                put16(out, self.num_parity);
            }
            _ => {
                put16(out, self.fec_instance);
                put16(out, self.segment_size);
                put16(out, self.max_block_len);
                put16(out, self.num_parity);
            }
        }
    }
}

impl CcFeedback {
    fn decode(b: &[u8]) -> Option<CcFeedback> {
        Some(CcFeedback {
            cc_sequence: be16(b, 2)?,
            cc_flags: *b.get(4)?,
            cc_rtt: *b.get(5)?,
            cc_loss: be16(b, 6)?,
            cc_rate: be16(b, 8)?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(ext::CC);
        out.push((EXT_CC_LEN / 4) as u8);
        put16(out, self.cc_sequence);
        out.push(self.cc_flags);
        out.push(self.cc_rtt);
        put16(out, self.cc_loss);
        put16(out, self.cc_rate);
        // libnorm's low 16 bits of its 32-bit loss estimate (RFC: reserved).
        put16(out, 0);
    }
}

fn write_rate_ext(rate: u16, out: &mut Vec<u8>) {
    out.push(ext::RATE);
    out.push(0);
    put16(out, rate);
}

/// The header extensions we interpret, each the first of its kind.
#[derive(Default)]
struct Extensions<'a> {
    /// EXT_FTI offset and bytes from its HET; the layout depends on the fec_id.
    fti: Option<(usize, &'a [u8])>,
    cc: Option<CcFeedback>,
    rate: Option<u16>,
    /// EXT_AUTH version 1, Ed25519.
    auth: bool,
}

/// Walks the header extensions in `buf[start..end]`.
fn decode_extensions(buf: &[u8], start: usize, end: usize) -> Result<Extensions<'_>> {
    let mut exts = Extensions::default();
    let mut off = start;
    while off < end {
        let het = need8(buf, off)?;
        // HET >= 128 means a fixed one-word extension with no HEL byte.
        let ext_len = if het >= 128 {
            EXT_RATE_LEN
        } else {
            need8(buf, off + 1)? as usize * 4
        };
        let bad = DecodeError::BadExtensionLength {
            het,
            offset: off,
            ext_len,
        };
        if ext_len == 0 || off + ext_len > end {
            return Err(bad);
        }
        let e = &buf[off..off + ext_len];
        match het {
            ext::FTI if exts.fti.is_none() => exts.fti = Some((off, e)),
            ext::CC if exts.cc.is_none() => {
                if ext_len < EXT_CC_LEN {
                    return Err(bad);
                }
                exts.cc = CcFeedback::decode(e);
            }
            ext::RATE if exts.rate.is_none() => exts.rate = be16(e, 2),
            ext::AUTH => exts.auth = e.len() == 4 && e[2] == 1 && e[3] == 1,
            _ => {}
        }
        off += ext_len;
    }
    Ok(exts)
}

/// Splits `b` into big-endian `unit`-byte entries, requiring a whole number.
fn decode_list<T>(
    b: &[u8],
    unit: usize,
    what: &'static str,
    f: impl Fn(&[u8]) -> Option<T>,
) -> Result<Vec<T>> {
    if b.len() % unit != 0 {
        return Err(DecodeError::BadListLength {
            what,
            len: b.len(),
            unit,
        });
    }
    b.chunks_exact(unit)
        .map(|c| {
            f(c).ok_or(DecodeError::BadListLength {
                what,
                len: b.len(),
                unit,
            })
        })
        .collect()
}

fn decode_sender(buf: &[u8]) -> Result<SenderHeader> {
    let bg = need8(buf, 11)?;
    Ok(SenderHeader {
        instance_id: need16(buf, 8)?,
        grtt: need8(buf, 10)?,
        backoff: bg >> 4,
        gsize: bg & 0x0f,
    })
}

fn write_sender(s: &SenderHeader, out: &mut Vec<u8>) {
    put16(out, s.instance_id);
    out.push(s.grtt);
    out.push((s.backoff << 4) | (s.gsize & 0x0f));
}

fn decode_time(buf: &[u8], off: usize) -> Result<NormTime> {
    Ok(NormTime {
        sec: need32(buf, off)?,
        usec: need32(buf, off + 4)?,
    })
}

fn write_time(t: &NormTime, out: &mut Vec<u8>) {
    put32(out, t.sec);
    put32(out, t.usec);
}

/// The fixed header length libnorm writes (and expects) for a message, from
/// the bytes that determine it.
fn base_header_len(buf: &[u8], ty: u8) -> Result<usize> {
    match ty {
        msg_type::INFO => Ok(OBJECT_BASE_LEN),
        msg_type::DATA => {
            let fec = need8(buf, 13)?;
            let n = FecPayloadId::encoded_len(fec).ok_or(DecodeError::UnknownFecId(fec))?;
            Ok(OBJECT_BASE_LEN + n)
        }
        msg_type::CMD => match need8(buf, 12)? {
            cmd_flavor::FLUSH | cmd_flavor::SQUELCH => {
                let fec = need8(buf, 13)?;
                let n = FecPayloadId::encoded_len(fec).ok_or(DecodeError::UnknownFecId(fec))?;
                Ok(OBJECT_BASE_LEN + n)
            }
            cmd_flavor::EOT
            | cmd_flavor::REPAIR_ADV
            | cmd_flavor::ACK_REQ
            | cmd_flavor::APPLICATION => Ok(OBJECT_BASE_LEN),
            cmd_flavor::CC => Ok(LONG_BASE_LEN),
            other => Err(DecodeError::UnknownFlavor(other)),
        },
        msg_type::NACK | msg_type::ACK => Ok(LONG_BASE_LEN),
        msg_type::REPORT => Ok(COMMON_LEN),
        other => Err(DecodeError::UnknownType(other)),
    }
}

impl<'a> Packet<'a> {
    /// Decodes one datagram, reading fec_id 2 payload IDs with m = 16 unless
    /// the packet's own EXT_FTI says m = 8.
    pub fn decode(buf: &'a [u8]) -> Result<Packet<'a>> {
        Packet::decode_with_fec_m(buf, DEFAULT_FEC_M)
    }

    /// Like [`Packet::decode`], with the field size to assume for fec_id 2
    /// payload IDs when the packet carries no EXT_FTI (for example NACKs to a
    /// sender known to use m = 8).
    pub fn decode_with_fec_m(buf: &'a [u8], fec_m: u8) -> Result<Packet<'a>> {
        check_len(buf, COMMON_LEN, "common header")?;
        let version = buf[0] >> 4;
        if version != VERSION {
            return Err(DecodeError::BadVersion(version));
        }
        let ty = buf[0] & 0x0f;
        let hdr_len = buf[1] as usize * 4;
        let sequence = need16(buf, 2)?;
        let source_id = need32(buf, 4)?;

        // The type byte alone gives UnknownType even for short datagrams.
        if !(msg_type::INFO..=msg_type::REPORT).contains(&ty) {
            return Err(DecodeError::UnknownType(ty));
        }
        // Enough for every fixed field that base_header_len looks at.
        check_len(
            buf,
            if ty == msg_type::REPORT {
                COMMON_LEN
            } else {
                OBJECT_BASE_LEN
            },
            "message header",
        )?;
        let base = base_header_len(buf, ty)?;
        check_len(buf, base, "message header")?;
        if hdr_len < base || hdr_len > buf.len() {
            return Err(DecodeError::BadHeaderLength {
                hdr_len,
                base,
                len: buf.len(),
            });
        }
        // REPORT content is opaque (RFC 5740 leaves it unspecified), so its
        // header extensions, if any, are passed through unparsed.
        let exts = if ty == msg_type::REPORT {
            Extensions::default()
        } else {
            decode_extensions(buf, base, hdr_len)?
        };
        let body_bytes = &buf[hdr_len..];

        let body = match ty {
            msg_type::INFO | msg_type::DATA => {
                let object = decode_object(buf, &exts)?;
                if ty == msg_type::INFO {
                    Body::Info(Info {
                        object,
                        info: body_bytes,
                        signed: exts.auth,
                    })
                } else {
                    let m = data_fec_m(&object, fec_m);
                    let payload_id =
                        FecPayloadId::decode(object.fec_id, m, &buf[OBJECT_BASE_LEN..])
                            .ok_or(DecodeError::UnknownFecId(object.fec_id))?;
                    Body::Data(Data {
                        object,
                        payload_id,
                        payload: body_bytes,
                    })
                }
            }
            msg_type::CMD => Body::Cmd(decode_cmd(buf, &exts, body_bytes, fec_m)?),
            msg_type::NACK => Body::Nack(Nack {
                server_id: need32(buf, 8)?,
                instance_id: need16(buf, 12)?,
                grtt_response: decode_time(buf, 16)?,
                cc: exts.cc,
                requests: decode_requests(body_bytes, fec_m)?,
            }),
            msg_type::ACK => {
                let ack_type = need8(buf, 14)?;
                let body = if ack_type == ack_type::FLUSH {
                    // Any bytes after the item are ignored, as libnorm does.
                    AckBody::Flush(RepairItem::decode_from(body_bytes, fec_m)?.0)
                } else {
                    AckBody::Other(body_bytes)
                };
                Body::Ack(Ack {
                    server_id: need32(buf, 8)?,
                    instance_id: need16(buf, 12)?,
                    ack_type,
                    ack_id: need8(buf, 15)?,
                    grtt_response: decode_time(buf, 16)?,
                    cc: exts.cc,
                    body,
                })
            }
            // Everything after the common header, extensions included.
            _ => Body::Report(&buf[COMMON_LEN..]),
        };
        Ok(Packet {
            sequence,
            source_id,
            body,
        })
    }

    /// Appends the encoding of this packet to `out`, writing fec_id 2 payload
    /// IDs with m = 16 unless the packet's EXT_FTI says m = 8.
    ///
    /// Values wider than their wire fields are truncated to the low bits;
    /// a packet with an unknown fec_id is written without FEC payload ID or
    /// EXT_FTI and will not decode.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.encode_with_fec_m(out, DEFAULT_FEC_M);
    }

    /// Like [`Packet::encode`], with the field size to use for fec_id 2
    /// payload IDs when the packet carries no EXT_FTI.
    pub fn encode_with_fec_m(&self, out: &mut Vec<u8>, fec_m: u8) {
        let start = out.len();
        out.push((VERSION << 4) | self.msg_type());
        out.push(0); // hdr_len, patched once the header (with extensions) is written
        put16(out, self.sequence);
        put32(out, self.source_id);
        match &self.body {
            Body::Info(info) => {
                write_object(&info.object, out);
                if let Some(fti) = &info.object.fti {
                    fti.write(info.object.fec_id, out);
                }
                if info.signed {
                    out.extend_from_slice(&[ext::AUTH, 1, 1, 1]);
                }
                patch_hdr_len(out, start);
                out.extend_from_slice(info.info);
            }
            Body::Data(data) => {
                let obj = &data.object;
                write_object(obj, out);
                data.payload_id
                    .write(obj.fec_id, data_fec_m(obj, fec_m), out);
                if let Some(fti) = &obj.fti {
                    fti.write(obj.fec_id, out);
                }
                patch_hdr_len(out, start);
                out.extend_from_slice(data.payload);
            }
            Body::Cmd(cmd) => {
                write_cmd_header(cmd, fec_m, out);
                patch_hdr_len(out, start);
                write_cmd_body(&cmd.cmd, fec_m, out);
            }
            Body::Nack(nack) => {
                put32(out, nack.server_id);
                put16(out, nack.instance_id);
                put16(out, 0); // reserved
                write_time(&nack.grtt_response, out);
                if let Some(cc) = &nack.cc {
                    cc.write(out);
                }
                patch_hdr_len(out, start);
                for r in &nack.requests {
                    r.write(fec_m, out);
                }
            }
            Body::Ack(ack) => {
                put32(out, ack.server_id);
                put16(out, ack.instance_id);
                out.push(ack.ack_type);
                out.push(ack.ack_id);
                write_time(&ack.grtt_response, out);
                if let Some(cc) = &ack.cc {
                    cc.write(out);
                }
                patch_hdr_len(out, start);
                match &ack.body {
                    AckBody::Flush(item) => item.write(fec_m, out),
                    AckBody::Other(b) => out.extend_from_slice(b),
                }
            }
            Body::Report(content) => {
                patch_hdr_len(out, start);
                out.extend_from_slice(content);
            }
        }
    }

    /// Length in bytes that [`Packet::encode`] would append.
    pub fn encoded_len(&self) -> usize {
        let ext_len = |cc: &Option<CcFeedback>| if cc.is_some() { EXT_CC_LEN } else { 0 };
        let fti_len = |o: &ObjectHeader| match o.fti {
            Some(_) => Fti::encoded_len(o.fec_id).unwrap_or(0),
            None => 0,
        };
        match &self.body {
            Body::Info(i) => OBJECT_BASE_LEN + fti_len(&i.object) + (if i.signed { 4 } else { 0 }) + i.info.len(),
            Body::Data(d) => {
                OBJECT_BASE_LEN
                    + FecPayloadId::encoded_len(d.object.fec_id).unwrap_or(0)
                    + fti_len(&d.object)
                    + d.payload.len()
            }
            Body::Cmd(c) => match &c.cmd {
                Cmd::Flush { item, acking_nodes } => {
                    OBJECT_BASE_LEN + item.len() - ITEM_PREFIX_LEN + 4 * acking_nodes.len()
                }
                Cmd::Eot => OBJECT_BASE_LEN,
                Cmd::Squelch {
                    item,
                    invalid_objects,
                } => OBJECT_BASE_LEN + item.len() - ITEM_PREFIX_LEN + 2 * invalid_objects.len(),
                Cmd::Cc { rate, nodes, .. } => {
                    LONG_BASE_LEN + if rate.is_some() { EXT_RATE_LEN } else { 0 } + 8 * nodes.len()
                }
                Cmd::RepairAdv { cc, requests, .. } => {
                    OBJECT_BASE_LEN
                        + ext_len(cc)
                        + requests
                            .iter()
                            .map(RepairRequest::encoded_len)
                            .sum::<usize>()
                }
                Cmd::AckReq { acking_nodes, .. } => OBJECT_BASE_LEN + 4 * acking_nodes.len(),
                Cmd::Application { content } => OBJECT_BASE_LEN + content.len(),
            },
            Body::Nack(n) => {
                LONG_BASE_LEN
                    + ext_len(&n.cc)
                    + n.requests
                        .iter()
                        .map(RepairRequest::encoded_len)
                        .sum::<usize>()
            }
            Body::Ack(a) => {
                LONG_BASE_LEN
                    + ext_len(&a.cc)
                    + match &a.body {
                        AckBody::Flush(item) => item.len(),
                        AckBody::Other(b) => b.len(),
                    }
            }
            Body::Report(r) => COMMON_LEN + r.len(),
        }
    }

    /// The message type nibble for this packet's body.
    pub fn msg_type(&self) -> u8 {
        match &self.body {
            Body::Info(_) => msg_type::INFO,
            Body::Data(_) => msg_type::DATA,
            Body::Cmd(_) => msg_type::CMD,
            Body::Nack(_) => msg_type::NACK,
            Body::Ack(_) => msg_type::ACK,
            Body::Report(_) => msg_type::REPORT,
        }
    }
}

impl Cmd<'_> {
    /// The NORM_CMD flavor byte for this command.
    pub fn flavor(&self) -> u8 {
        match self {
            Cmd::Flush { .. } => cmd_flavor::FLUSH,
            Cmd::Eot => cmd_flavor::EOT,
            Cmd::Squelch { .. } => cmd_flavor::SQUELCH,
            Cmd::Cc { .. } => cmd_flavor::CC,
            Cmd::RepairAdv { .. } => cmd_flavor::REPAIR_ADV,
            Cmd::AckReq { .. } => cmd_flavor::ACK_REQ,
            Cmd::Application { .. } => cmd_flavor::APPLICATION,
        }
    }
}

/// Sets hdr_len (a word count in one byte) to cover everything written since
/// `start`. Our headers are at most 52 bytes, so this never saturates for
/// packets we build.
fn patch_hdr_len(out: &mut [u8], start: usize) {
    out[start + 1] = u8::try_from((out.len() - start) / 4).unwrap_or(u8::MAX);
}

/// The field size for a NORM_DATA's fec_id 2 payload ID: the packet's own
/// EXT_FTI wins over the caller's default.
fn data_fec_m(obj: &ObjectHeader, default: u8) -> u8 {
    match obj.fti {
        Some(f) if obj.fec_id == fec_id::RS_M => f.fec_m,
        _ => default,
    }
}

fn decode_object(buf: &[u8], exts: &Extensions<'_>) -> Result<ObjectHeader> {
    let fec = need8(buf, 13)?;
    // libnorm accepts INFO with any fec_id, but neither it nor we can use an
    // object whose FEC scheme is unknown, so reject early and uniformly.
    if FecPayloadId::encoded_len(fec).is_none() {
        return Err(DecodeError::UnknownFecId(fec));
    }
    let fti = match exts.fti {
        Some((offset, e)) => Some(Fti::decode(fec, e).ok_or(DecodeError::BadExtensionLength {
            het: ext::FTI,
            offset,
            ext_len: e.len(),
        })?),
        None => None,
    };
    Ok(ObjectHeader {
        sender: decode_sender(buf)?,
        flags: need8(buf, 12)?,
        fec_id: fec,
        object_id: need16(buf, 14)?,
        fti,
    })
}

fn write_object(o: &ObjectHeader, out: &mut Vec<u8>) {
    write_sender(&o.sender, out);
    out.push(o.flags);
    out.push(o.fec_id);
    put16(out, o.object_id);
}

/// Decodes the flush/squelch item, which sits in the fixed header with the
/// flavor byte where a repair item has its fec_id.
fn decode_cmd_item(buf: &[u8], fec_m: u8) -> Result<RepairItem> {
    let fec = need8(buf, 13)?;
    let payload_id = FecPayloadId::decode(fec, fec_m, buf.get(OBJECT_BASE_LEN..).unwrap_or(&[]))
        .ok_or(DecodeError::UnknownFecId(fec))?;
    Ok(RepairItem {
        fec_id: fec,
        object_id: need16(buf, 14)?,
        payload_id,
    })
}

fn decode_cmd<'a>(
    buf: &'a [u8],
    exts: &Extensions<'_>,
    body: &'a [u8],
    fec_m: u8,
) -> Result<CmdMsg<'a>> {
    let sender = decode_sender(buf)?;
    let node_id = |c: &[u8]| be32(c, 0);
    let cmd = match need8(buf, 12)? {
        cmd_flavor::FLUSH => Cmd::Flush {
            item: decode_cmd_item(buf, fec_m)?,
            acking_nodes: decode_list(body, 4, "acking_node_list", node_id)?,
        },
        cmd_flavor::EOT => Cmd::Eot,
        cmd_flavor::SQUELCH => Cmd::Squelch {
            item: decode_cmd_item(buf, fec_m)?,
            invalid_objects: decode_list(body, 2, "invalid_object_list", |c| be16(c, 0))?,
        },
        cmd_flavor::CC => Cmd::Cc {
            // Byte 13 is reserved in RFC 5740; libnorm may set a SYN flag
            // there (0x01), which we do not model.
            cc_sequence: need16(buf, 14)?,
            send_time: decode_time(buf, 16)?,
            rate: exts.rate,
            nodes: decode_list(body, 8, "cc_node_list", |c| {
                Some(CcNode {
                    node_id: be32(c, 0)?,
                    flags: *c.get(4)?,
                    rtt: *c.get(5)?,
                    rate: be16(c, 6)?,
                })
            })?,
        },
        cmd_flavor::REPAIR_ADV => Cmd::RepairAdv {
            flags: need8(buf, 13)?,
            cc: exts.cc,
            requests: decode_requests(body, fec_m)?,
        },
        cmd_flavor::ACK_REQ => Cmd::AckReq {
            ack_type: need8(buf, 14)?,
            ack_id: need8(buf, 15)?,
            acking_nodes: decode_list(body, 4, "acking_node_list", node_id)?,
        },
        cmd_flavor::APPLICATION => Cmd::Application { content: body },
        other => return Err(DecodeError::UnknownFlavor(other)),
    };
    Ok(CmdMsg { sender, cmd })
}

/// Writes a NORM_CMD's header after the common header: sender fields,
/// flavor, flavor-specific fixed fields and header extensions.
fn write_cmd_header(cmd: &CmdMsg<'_>, fec_m: u8, out: &mut Vec<u8>) {
    write_sender(&cmd.sender, out);
    out.push(cmd.cmd.flavor());
    match &cmd.cmd {
        Cmd::Flush { item, .. } | Cmd::Squelch { item, .. } => {
            out.push(item.fec_id);
            put16(out, item.object_id);
            item.payload_id.write(item.fec_id, fec_m, out);
        }
        Cmd::Eot | Cmd::Application { .. } => out.extend_from_slice(&[0, 0, 0]),
        Cmd::Cc {
            cc_sequence,
            send_time,
            rate,
            ..
        } => {
            out.push(0);
            put16(out, *cc_sequence);
            write_time(send_time, out);
            // Extensions are part of the header, so EXT_RATE precedes the node list.
            if let Some(r) = rate {
                write_rate_ext(*r, out);
            }
        }
        Cmd::RepairAdv { flags, cc, .. } => {
            out.push(*flags);
            put16(out, 0);
            if let Some(cc) = cc {
                cc.write(out);
            }
        }
        Cmd::AckReq {
            ack_type, ack_id, ..
        } => {
            out.push(0);
            out.push(*ack_type);
            out.push(*ack_id);
        }
    }
}

fn write_cmd_body(cmd: &Cmd<'_>, fec_m: u8, out: &mut Vec<u8>) {
    match cmd {
        Cmd::Flush { acking_nodes, .. } | Cmd::AckReq { acking_nodes, .. } => {
            for n in acking_nodes {
                put32(out, *n);
            }
        }
        Cmd::Squelch {
            invalid_objects, ..
        } => {
            for o in invalid_objects {
                put16(out, *o);
            }
        }
        Cmd::Cc { nodes, .. } => {
            for n in nodes {
                put32(out, n.node_id);
                out.push(n.flags);
                out.push(n.rtt);
                put16(out, n.rate);
            }
        }
        Cmd::RepairAdv { requests, .. } => {
            for r in requests {
                r.write(fec_m, out);
            }
        }
        Cmd::Application { content } => out.extend_from_slice(content),
        Cmd::Eot => {}
    }
}
