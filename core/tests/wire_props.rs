//! Property tests for the NORM wire codec: every body type survives
//! encode -> decode, and decoding arbitrary bytes never panics.

// A module named `wire` so that `cargo test -p mcast wire` selects these tests.
mod wire {
    use mcast::wire::{
        ack_type, fec_id, msg_type, Ack, AckBody, Body, CcFeedback, CcNode, Cmd, CmdMsg, Data,
        FecPayloadId, Fti, Info, Nack, NormTime, ObjectHeader, Packet, RepairItem, RepairRequest,
        SenderHeader,
    };
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn any_fec_id() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(fec_id::RS_M),
            Just(fec_id::RS8),
            Just(fec_id::SMALL_BLOCK)
        ]
    }

    /// A payload ID restricted to the bits the fec_id's layout carries.
    fn payload_id(fec: u8, fec_m: u8) -> impl Strategy<Value = FecPayloadId> {
        (any::<u32>(), any::<u16>(), any::<u16>()).prop_map(
            move |(block, symbol, block_len)| match (fec, fec_m) {
                (fec_id::RS8, _) | (fec_id::RS_M, 8) => FecPayloadId {
                    block: block & 0x00ff_ffff,
                    symbol: symbol & 0xff,
                    block_len: 0,
                },
                (fec_id::RS_M, _) => FecPayloadId {
                    block: block & 0xffff,
                    symbol,
                    block_len: 0,
                },
                _ => FecPayloadId {
                    block,
                    symbol,
                    block_len,
                },
            },
        )
    }

    /// An FTI as it decodes for `fec`: fields the layout lacks are 0 (fec_m 8 for fec_id 5).
    fn fti(fec: u8) -> impl Strategy<Value = Fti> {
        (
            0u64..1 << 48,
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            prop_oneof![Just(8u8), Just(16u8), any::<u8>()],
            any::<u16>(),
        )
            .prop_map(
                move |(object_size, segment_size, ndata, nparity, m, inst)| match fec {
                    fec_id::RS8 => Fti {
                        object_size,
                        segment_size,
                        max_block_len: ndata & 0xff,
                        num_parity: nparity & 0xff,
                        fec_m: 8,
                        fec_instance: 0,
                    },
                    fec_id::RS_M => Fti {
                        object_size,
                        segment_size,
                        max_block_len: ndata,
                        num_parity: nparity,
                        fec_m: m,
                        fec_instance: 0,
                    },
                    _ => Fti {
                        object_size,
                        segment_size,
                        max_block_len: ndata,
                        num_parity: nparity,
                        fec_m: 0,
                        fec_instance: inst,
                    },
                },
            )
    }

    fn sender() -> impl Strategy<Value = SenderHeader> {
        (any::<u16>(), any::<u8>(), 0u8..16, 0u8..16).prop_map(
            |(instance_id, grtt, backoff, gsize)| SenderHeader {
                instance_id,
                grtt,
                backoff,
                gsize,
            },
        )
    }

    fn object() -> impl Strategy<Value = ObjectHeader> {
        (sender(), any::<u8>(), any_fec_id(), any::<u16>()).prop_flat_map(
            |(sender, flags, fec, object_id)| {
                proptest::option::of(fti(fec)).prop_map(move |fti| ObjectHeader {
                    sender,
                    flags,
                    fec_id: fec,
                    object_id,
                    fti,
                })
            },
        )
    }

    fn time() -> impl Strategy<Value = NormTime> {
        (any::<u32>(), any::<u32>()).prop_map(|(sec, usec)| NormTime { sec, usec })
    }

    fn cc() -> impl Strategy<Value = CcFeedback> {
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
        )
            .prop_map(
                |(cc_sequence, cc_flags, cc_rtt, cc_loss, cc_rate)| CcFeedback {
                    cc_sequence,
                    cc_flags,
                    cc_rtt,
                    cc_loss,
                    cc_rate,
                },
            )
    }

    /// A repair item as it decodes without FTI context (fec_id 2 means m = 16).
    fn item() -> impl Strategy<Value = RepairItem> {
        (any_fec_id(), any::<u16>()).prop_flat_map(|(fec, object_id)| {
            payload_id(fec, 16).prop_map(move |payload_id| RepairItem {
                fec_id: fec,
                object_id,
                payload_id,
            })
        })
    }

    fn request() -> impl Strategy<Value = RepairRequest> {
        (1u8..=3, any::<u8>(), vec(item(), 0..6)).prop_map(|(form, flags, mut items)| {
            if form == 2 && items.len() % 2 == 1 {
                items.pop(); // RANGES come in (first, last) pairs
            }
            RepairRequest { form, flags, items }
        })
    }

    /// Encodes, checks the length, decodes, compares, and checks that the
    /// encoding is stable (decode -> encode gives the same bytes).
    fn round_trip(p: &Packet<'_>) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        p.encode(&mut out);
        prop_assert_eq!(out.len(), p.encoded_len());
        let back =
            Packet::decode(&out).map_err(|e| TestCaseError::fail(format!("{e}: {out:02x?}")))?;
        prop_assert_eq!(&back, p);
        let mut again = Vec::new();
        back.encode(&mut again);
        prop_assert_eq!(again, out);
        Ok(())
    }

    proptest! {
        #[test]
        fn info_round_trips(seq: u16, src: u32, object in object(), info in vec(any::<u8>(), 0..64)) {
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Info(Info { object, info: &info, signed: seq % 2 == 0 }) })?;
        }

        #[test]
        fn data_round_trips(
            seq: u16, src: u32,
            (object, payload_id) in object().prop_flat_map(|o| {
                let m = match o.fti { Some(f) if o.fec_id == fec_id::RS_M => f.fec_m, _ => 16 };
                payload_id(o.fec_id, m).prop_map(move |p| (o, p))
            }),
            payload in vec(any::<u8>(), 0..64),
        ) {
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Data(Data { object, payload_id, payload: &payload }) })?;
        }

        #[test]
        fn cmd_flush_squelch_eot_round_trip(
            seq: u16, src: u32, sender in sender(), item in item(),
            nodes in vec(any::<u32>(), 0..8), objs in vec(any::<u16>(), 0..8),
        ) {
            for cmd in [
                Cmd::Flush { item, acking_nodes: nodes.clone() },
                Cmd::Squelch { item, invalid_objects: objs.clone() },
                Cmd::Eot,
            ] {
                round_trip(&Packet { sequence: seq, source_id: src, body: Body::Cmd(CmdMsg { sender, cmd }) })?;
            }
        }

        #[test]
        fn cmd_cc_round_trips(
            seq: u16, src: u32, sender in sender(), cc_sequence: u16, send_time in time(),
            rate in proptest::option::of(any::<u16>()),
            nodes in vec((any::<u32>(), any::<u8>(), any::<u8>(), any::<u16>())
                .prop_map(|(node_id, flags, rtt, rate)| CcNode { node_id, flags, rtt, rate }), 0..8),
        ) {
            let cmd = Cmd::Cc { cc_sequence, send_time, rate, nodes };
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Cmd(CmdMsg { sender, cmd }) })?;
        }

        #[test]
        fn cmd_repair_adv_ack_req_application_round_trip(
            seq: u16, src: u32, sender in sender(), flags: u8, cc in proptest::option::of(cc()),
            requests in vec(request(), 0..4), ack_type: u8, ack_id: u8, nodes in vec(any::<u32>(), 0..8),
            content in vec(any::<u8>(), 0..64),
        ) {
            for cmd in [
                Cmd::RepairAdv { flags, cc, requests: requests.clone() },
                Cmd::AckReq { ack_type, ack_id, acking_nodes: nodes.clone() },
                Cmd::Application { content: &content },
            ] {
                round_trip(&Packet { sequence: seq, source_id: src, body: Body::Cmd(CmdMsg { sender, cmd }) })?;
            }
        }

        #[test]
        fn nack_round_trips(
            seq: u16, src: u32, server_id: u32, instance_id: u16, grtt_response in time(),
            cc in proptest::option::of(cc()), requests in vec(request(), 0..6),
        ) {
            let nack = Nack { server_id, instance_id, grtt_response, cc, requests };
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Nack(nack) })?;
        }

        #[test]
        fn ack_round_trips(
            seq: u16, src: u32, server_id: u32, instance_id: u16, ty: u8, ack_id: u8,
            grtt_response in time(), cc in proptest::option::of(cc()), item in item(),
            raw in vec(any::<u8>(), 0..32),
        ) {
            let (ack_type, body) = if ty % 2 == 0 {
                (ack_type::FLUSH, AckBody::Flush(item))
            } else {
                (if ty == ack_type::FLUSH { ack_type::CC } else { ty }, AckBody::Other(&raw))
            };
            let ack = Ack { server_id, instance_id, ack_type, ack_id, grtt_response, cc, body };
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Ack(ack) })?;
        }

        #[test]
        fn report_round_trips(seq: u16, src: u32, content in vec(any::<u8>(), 0..64)) {
            round_trip(&Packet { sequence: seq, source_id: src, body: Body::Report(&content) })?;
        }

        /// Arbitrary bytes with a valid version and type nibble, so that decoding
        /// gets past the first check most of the time.
        #[test]
        fn decode_arbitrary_bytes_never_panics(ty in 0u8..8, mut bytes in vec(any::<u8>(), 0..160)) {
            if let Some(b) = bytes.first_mut() {
                *b = 0x10 | ty;
            }
            check_decode(&bytes)?;
        }

        #[test]
        fn decode_fully_random_bytes_never_panics(bytes in vec(any::<u8>(), 0..64)) {
            check_decode(&bytes)?;
        }

        /// Valid packets with a few bytes overwritten and possibly truncated.
        #[test]
        fn decode_mutated_packets_never_panics(
            nack in (any::<u32>(), vec(request(), 1..4), proptest::option::of(cc())),
            edits in vec((any::<usize>(), any::<u8>()), 1..4),
            cut in any::<usize>(),
        ) {
            let (server_id, requests, cc) = nack;
            let p = Packet { sequence: 1, source_id: 2, body: Body::Nack(Nack {
                server_id, instance_id: 3, grtt_response: NormTime::default(), cc, requests,
            })};
            let mut bytes = Vec::new();
            p.encode(&mut bytes);
            for (at, v) in edits {
                let i = at % bytes.len();
                // Keep the version and type so the body parsers get exercised.
                if i > 0 {
                    bytes[i] = v;
                }
            }
            bytes.truncate(cut % (bytes.len() + 1));
            check_decode(&bytes)?;
        }
    }

    /// Decoding must not panic; when it succeeds the result must re-encode to
    /// something that decodes to the same value.
    fn check_decode(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(p) = Packet::decode(bytes) {
            prop_assert!(p.msg_type() >= msg_type::INFO && p.msg_type() <= msg_type::REPORT);
            let mut out = Vec::new();
            p.encode(&mut out);
            prop_assert_eq!(out.len(), p.encoded_len());
            let back = Packet::decode(&out)
                .map_err(|e| TestCaseError::fail(format!("re-decode failed: {e}")))?;
            prop_assert_eq!(back, p);
        }
        Ok(())
    }
}
