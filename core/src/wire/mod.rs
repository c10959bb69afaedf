//! NORM wire format (RFC 5740 section 4, FEC payload IDs of RFC 5510), no I/O.
//!
//! [`Packet::decode`] parses one datagram into borrowed views; [`Packet::encode`]
//! appends the encoding of a packet to a buffer. Decoding arbitrary bytes returns
//! a [`DecodeError`], never panics, and allocates at most in proportion to the
//! datagram (lists in NACK/ACK/CMD bodies).
//!
//! Field names follow RFC 5740. Where libnorm (NRL's reference implementation)
//! differs from the RFC text, we follow libnorm so that we interoperate; each such
//! place is listed in `docs/PROTOCOL.md`.

mod codec;
pub mod quant;

pub use codec::DecodeError;

/// NORM protocol version carried in every header.
pub const VERSION: u8 = 1;

/// Message types (RFC 5740 section 4.1).
pub mod msg_type {
    pub const INFO: u8 = 1;
    pub const DATA: u8 = 2;
    pub const CMD: u8 = 3;
    pub const NACK: u8 = 4;
    pub const ACK: u8 = 5;
    pub const REPORT: u8 = 6;
}

/// NORM_DATA / NORM_INFO flags (RFC 5740 section 4.2.1).
pub mod flags {
    pub const REPAIR: u8 = 0x01;
    pub const EXPLICIT: u8 = 0x02;
    pub const INFO: u8 = 0x04;
    pub const UNRELIABLE: u8 = 0x08;
    pub const FILE: u8 = 0x10;
    pub const STREAM: u8 = 0x20;
    /// libnorm: "SYN" flag on stream objects (formerly MSG_START).
    pub const SYN: u8 = 0x40;
}

/// Header extension types (HET values, RFC 5740 section 4.1 / 4.2).
pub mod ext {
    pub const FTI: u8 = 64;
    pub const CC: u8 = 3;
    pub const RATE: u8 = 128;
    /// EXT_SEAL, mcast's sealed channels (not an IANA value; libnorm uses
    /// 65 for its application-defined ACK extension and nothing near 100).
    /// Always the last extension of a sealed message (see `crate::seal`).
    pub const SEAL: u8 = 100;
    /// EXT_AUTH, mcast's signed objects (not an IANA value either): one
    /// word, [101, 1, version 1, algorithm 1 = Ed25519], on the NORM_INFO
    /// of a signed object, whose payload then ends with the signature block
    /// (see `crate::sign`).
    pub const AUTH: u8 = 101;
}

/// FEC encoding IDs we understand (RFC 5510 / libnorm).
pub mod fec_id {
    /// Reed-Solomon over GF(2^m) (RFC 5510 section 8; libnorm uses m = 16).
    pub const RS_M: u8 = 2;
    /// Reed-Solomon over GF(2^8), fully specified (RFC 5510 section 8.1).
    pub const RS8: u8 = 5;
    /// Under-specified small-block systematic code (RFC 5445 / libnorm legacy).
    pub const SMALL_BLOCK: u8 = 129;
}

/// NORM_CMD flavors (RFC 5740 section 4.2.3).
pub mod cmd_flavor {
    pub const FLUSH: u8 = 1;
    pub const EOT: u8 = 2;
    pub const SQUELCH: u8 = 3;
    pub const CC: u8 = 4;
    pub const REPAIR_ADV: u8 = 5;
    pub const ACK_REQ: u8 = 6;
    pub const APPLICATION: u8 = 7;
}

/// NACK repair request forms (RFC 5740 section 4.3.1).
pub mod nack_form {
    pub const ITEMS: u8 = 1;
    pub const RANGES: u8 = 2;
    pub const ERASURES: u8 = 3;
}

/// NACK repair request flags (RFC 5740 section 4.3.1).
pub mod nack_flags {
    pub const SEGMENT: u8 = 0x01;
    pub const BLOCK: u8 = 0x02;
    pub const INFO: u8 = 0x04;
    pub const OBJECT: u8 = 0x08;
}

/// ACK types (RFC 5740 section 4.3.2).
pub mod ack_type {
    pub const CC: u8 = 1;
    pub const FLUSH: u8 = 2;
}

/// NORM_CMD(CC) cc_node_list / EXT_CC cc_flags (RFC 5740 section 4.2.3.4 / 5.5).
pub mod cc_flags {
    pub const CLR: u8 = 0x01;
    pub const PLR: u8 = 0x02;
    pub const RTT: u8 = 0x04;
    pub const START: u8 = 0x08;
    pub const LEAVE: u8 = 0x10;
}

/// NORM_CMD(REPAIR_ADV) flags.
pub mod repair_adv_flags {
    pub const NACK_LIMIT: u8 = 0x01;
}

/// A NORM timestamp as carried in NORM_CMD(CC) and grtt_response fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NormTime {
    pub sec: u32,
    pub usec: u32,
}

/// FEC payload ID (RFC 5510), normalised across fec_ids.
///
/// For fec_id 5 (and 2 with m = 8) `block` is 24 bits and `symbol` 8 bits;
/// for fec_id 2 with m = 16 both are 16 bits; for fec_id 129 `block` is 32 bits,
/// `symbol` 16 bits and `block_len` (source block length) is carried too.
/// `block_len` is 0 when the fec_id does not carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FecPayloadId {
    pub block: u32,
    pub symbol: u16,
    pub block_len: u16,
}

/// EXT_FTI contents (FEC Object Transmission Information).
///
/// Layout depends on fec_id: 5 (HEL 3), 2 (HEL 4, carries `fec_m`), 129 (HEL 4,
/// carries `fec_instance`). Fields a fec_id does not carry decode as 0 (`fec_m`
/// decodes as 8 for fec_id 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fti {
    /// Object size in bytes (48 bits on the wire).
    pub object_size: u64,
    /// Encoding symbol (segment) length in bytes.
    pub segment_size: u16,
    /// Maximum source block length (number of data segments per block).
    pub max_block_len: u16,
    /// Number of parity segments per block (libnorm puts this where RFC 5510
    /// has "max number of encoding symbols"; see docs/PROTOCOL.md).
    pub num_parity: u16,
    /// Field size m (fec_id 2 only).
    pub fec_m: u8,
    /// FEC instance id (fec_id 129 only).
    pub fec_instance: u16,
}

/// EXT_CC contents (NORM-CC feedback, carried in NACK and ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcFeedback {
    pub cc_sequence: u16,
    pub cc_flags: u8,
    pub cc_rtt: u8,
    pub cc_loss: u16,
    pub cc_rate: u16,
}

/// Fields common to all sender messages (INFO, DATA, CMD) after the common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderHeader {
    pub instance_id: u16,
    /// Quantized GRTT (see [`quant::quantize_rtt`]).
    pub grtt: u8,
    /// Backoff factor (4 bits).
    pub backoff: u8,
    /// Quantized group size (4 bits, see [`quant::quantize_gsize`]).
    pub gsize: u8,
}

/// Object-level fields shared by NORM_INFO and NORM_DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObjectHeader {
    pub sender: SenderHeader,
    pub flags: u8,
    pub fec_id: u8,
    pub object_id: u16,
    /// EXT_FTI if present.
    pub fti: Option<Fti>,
}

/// NORM_INFO message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info<'a> {
    pub object: ObjectHeader,
    pub info: &'a [u8],
    /// EXT_AUTH is present (version 1, Ed25519): `info` ends with a
    /// signature block (`crate::sign`).
    pub signed: bool,
}

/// Stream payload header (libnorm's payload_len, payload_msg_start and
/// payload_offset), at the start of the payload of NORM_DATA data segments of
/// objects with the STREAM flag. In parity segments these bytes are FEC-encoded
/// with the rest, so the codec never splits them off: callers that know a
/// segment is a data segment use [`StreamHeader::split`] and [`StreamHeader::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamHeader {
    pub payload_len: u16,
    pub msg_start: u16,
    pub offset: u32,
}

impl StreamHeader {
    /// Encoded length in bytes.
    pub const LEN: usize = 8;

    /// Splits a stream data segment's payload into its header and data.
    pub fn split(payload: &[u8]) -> Option<(StreamHeader, &[u8])> {
        if payload.len() < Self::LEN {
            return None;
        }
        let h = StreamHeader {
            payload_len: u16::from_be_bytes([payload[0], payload[1]]),
            msg_start: u16::from_be_bytes([payload[2], payload[3]]),
            offset: u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]),
        };
        Some((h, &payload[Self::LEN..]))
    }

    /// Appends the header's encoding to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.payload_len.to_be_bytes());
        out.extend_from_slice(&self.msg_start.to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
    }
}

/// NORM_DATA message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data<'a> {
    pub object: ObjectHeader,
    pub payload_id: FecPayloadId,
    /// The whole payload after the header (and header extensions); for STREAM
    /// data segments it starts with a [`StreamHeader`].
    pub payload: &'a [u8],
}

/// One repair request item: an object/block/segment reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RepairItem {
    pub fec_id: u8,
    pub object_id: u16,
    pub payload_id: FecPayloadId,
}

/// One repair request (a form, flags and its items).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepairRequest {
    /// One of [`nack_form`].
    pub form: u8,
    /// Bit set of [`nack_flags`].
    pub flags: u8,
    /// For RANGES, items come in (first, last) pairs.
    pub items: Vec<RepairItem>,
}

impl RepairRequest {
    /// What the request names, as (first, last) items: the pairs of a
    /// RANGES request (an unpaired last item is ignored), each item of any
    /// other form on its own (first == last).
    pub fn pairs(&self) -> impl Iterator<Item = (RepairItem, RepairItem)> + '_ {
        let step = if self.form == nack_form::RANGES { 2 } else { 1 };
        self.items.chunks_exact(step).map(move |c| (c[0], c[step - 1]))
    }
}

/// One entry of a NORM_CMD(CC) cc_node_list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcNode {
    pub node_id: u32,
    pub flags: u8,
    pub rtt: u8,
    pub rate: u16,
}

/// NORM_CMD bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd<'a> {
    Flush {
        item: RepairItem,
        acking_nodes: Vec<u32>,
    },
    Eot,
    Squelch {
        item: RepairItem,
        invalid_objects: Vec<u16>,
    },
    Cc {
        cc_sequence: u16,
        send_time: NormTime,
        /// EXT_RATE (quantized send rate) if present.
        rate: Option<u16>,
        nodes: Vec<CcNode>,
    },
    RepairAdv {
        flags: u8,
        /// EXT_CC if present.
        cc: Option<CcFeedback>,
        requests: Vec<RepairRequest>,
    },
    AckReq {
        ack_type: u8,
        ack_id: u8,
        acking_nodes: Vec<u32>,
    },
    Application {
        content: &'a [u8],
    },
}

/// NORM_CMD message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdMsg<'a> {
    pub sender: SenderHeader,
    pub cmd: Cmd<'a>,
}

/// NORM_NACK message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nack {
    pub server_id: u32,
    pub instance_id: u16,
    pub grtt_response: NormTime,
    pub cc: Option<CcFeedback>,
    pub requests: Vec<RepairRequest>,
}

/// NORM_ACK payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckBody<'a> {
    /// ack_type FLUSH: the watermark being acknowledged.
    Flush(RepairItem),
    /// Any other ack_type: raw content.
    Other(&'a [u8]),
}

/// NORM_ACK message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack<'a> {
    pub server_id: u32,
    pub instance_id: u16,
    pub ack_type: u8,
    pub ack_id: u8,
    pub grtt_response: NormTime,
    pub cc: Option<CcFeedback>,
    pub body: AckBody<'a>,
}

/// Message bodies by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    Info(Info<'a>),
    Data(Data<'a>),
    Cmd(CmdMsg<'a>),
    Nack(Nack),
    Ack(Ack<'a>),
    /// NORM_REPORT is not specified by RFC 5740; its content is passed through.
    Report(&'a [u8]),
}

/// One NORM message: the common header plus a typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    pub sequence: u16,
    pub source_id: u32,
    pub body: Body<'a>,
}
