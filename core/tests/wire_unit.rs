//! Byte-exact checks of the NORM wire codec against hand-assembled datagrams
//! laid out per libnorm's normMessage.h.

// A module named `wire` so that `cargo test -p mcast wire` selects these tests.
mod wire {
    use mcast::wire::{
        ack_type, cc_flags, cmd_flavor, fec_id, flags, nack_flags, nack_form, Ack, AckBody, Body,
        CcFeedback, CcNode, Cmd, CmdMsg, Data, DecodeError, FecPayloadId, Fti, Info, Nack,
        NormTime, ObjectHeader, Packet, RepairItem, RepairRequest, SenderHeader,
    };

    /// Parses whitespace-separated hex ("12 08 0102") into bytes.
    fn hex(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        assert!(digits.len() % 2 == 0, "odd hex digit count");
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }

    fn encode(p: &Packet<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(
            out.len(),
            p.encoded_len(),
            "encoded_len disagrees with encode"
        );
        out
    }

    /// Asserts that `bytes` decodes to `p` and `p` encodes to exactly `bytes`.
    fn check(bytes: &[u8], p: &Packet<'_>) {
        assert_eq!(Packet::decode(bytes).as_ref(), Ok(p));
        assert_eq!(encode(p), bytes);
    }

    const SENDER: SenderHeader = SenderHeader {
        instance_id: 0x1234,
        grtt: 0x9d,
        backoff: 4,
        gsize: 2,
    };

    fn cc() -> CcFeedback {
        CcFeedback {
            cc_sequence: 16,
            cc_flags: cc_flags::CLR | cc_flags::RTT,
            cc_rtt: 0x9d,
            cc_loss: 0,
            cc_rate: 0x2005,
        }
    }

    #[test]
    fn data_fec5_with_fti() {
        let bytes = hex("12 08 0102 0a0b0c0d
             1234 9d 42 10 05 0007
             00010203
             40 03 0000 00010000 05dc 40 20
             68656c6c6f");
        let p = Packet {
            sequence: 0x0102,
            source_id: 0x0a0b0c0d,
            body: Body::Data(Data {
                object: ObjectHeader {
                    sender: SENDER,
                    flags: flags::FILE,
                    fec_id: fec_id::RS8,
                    object_id: 7,
                    fti: Some(Fti {
                        object_size: 65536,
                        segment_size: 1500,
                        max_block_len: 64,
                        num_parity: 32,
                        fec_m: 8,
                        fec_instance: 0,
                    }),
                },
                payload_id: FecPayloadId {
                    block: 0x000102,
                    symbol: 3,
                    block_len: 0,
                },
                payload: b"hello",
            }),
        };
        check(&bytes, &p);
    }

    #[test]
    fn data_fec2_m16_without_fti_and_m8_with_fti() {
        let m16 = hex("12 05 0001 00000001 1234 9d 42 00 02 0001 0123 0004 ff");
        let object = ObjectHeader {
            sender: SENDER,
            flags: 0,
            fec_id: fec_id::RS_M,
            object_id: 1,
            fti: None,
        };
        let p = Packet {
            sequence: 1,
            source_id: 1,
            body: Body::Data(Data {
                object,
                payload_id: FecPayloadId {
                    block: 0x0123,
                    symbol: 4,
                    block_len: 0,
                },
                payload: &[0xff],
            }),
        };
        check(&m16, &p);

        // The same packet's FTI says m = 8, so the payload ID is 24-bit block, 8-bit symbol.
        let m8 = hex("12 09 0001 00000001 1234 9d 42 00 02 0001
             00012304
             40 04 0001 00000100 08 01 0400 00ff 0010");
        let fti = Fti {
            object_size: 0x1_0000_0100,
            segment_size: 1024,
            max_block_len: 255,
            num_parity: 16,
            fec_m: 8,
            fec_instance: 0,
        };
        let p = Packet {
            sequence: 1,
            source_id: 1,
            body: Body::Data(Data {
                object: ObjectHeader {
                    fti: Some(fti),
                    ..object
                },
                payload_id: FecPayloadId {
                    block: 0x000123,
                    symbol: 4,
                    block_len: 0,
                },
                payload: &[],
            }),
        };
        check(&m8, &p);
    }

    #[test]
    fn info_fec129_with_fti() {
        let bytes = hex("11 08 0003 00000009 1234 9d 42 04 81 0003
             40 04 0000 00002000 0000 05dc 0040 0010
             696e666f");
        let p = Packet {
            sequence: 3,
            source_id: 9,
            body: Body::Info(Info {
                object: ObjectHeader {
                    sender: SENDER,
                    flags: flags::INFO,
                    fec_id: fec_id::SMALL_BLOCK,
                    object_id: 3,
                    fti: Some(Fti {
                        object_size: 0x2000,
                        segment_size: 1500,
                        max_block_len: 64,
                        num_parity: 16,
                        fec_m: 0,
                        fec_instance: 0,
                    }),
                },
                info: b"info",
                signed: false,
            }),
        };
        check(&bytes, &p);
    }

    #[test]
    fn nack_with_cc_and_two_repair_requests() {
        let bytes = hex("14 09 0005 00000001
             0a0b0c0d 1234 0000 00000064 0007a120
             03 03 0010 05 9d 0000 2005 0000
             01 01 0010 0500 0007 00000203 0500 0007 00000205
             02 02 0010 0500 0008 00000000 0500 0008 00000400");
        let item = |object_id, block, symbol| RepairItem {
            fec_id: fec_id::RS8,
            object_id,
            payload_id: FecPayloadId {
                block,
                symbol,
                block_len: 0,
            },
        };
        let p = Packet {
            sequence: 5,
            source_id: 1,
            body: Body::Nack(Nack {
                server_id: 0x0a0b0c0d,
                instance_id: 0x1234,
                grtt_response: NormTime {
                    sec: 100,
                    usec: 500_000,
                },
                cc: Some(cc()),
                requests: vec![
                    RepairRequest {
                        form: nack_form::ITEMS,
                        flags: nack_flags::SEGMENT,
                        items: vec![item(7, 2, 3), item(7, 2, 5)],
                    },
                    RepairRequest {
                        form: nack_form::RANGES,
                        flags: nack_flags::BLOCK,
                        items: vec![item(8, 0, 0), item(8, 4, 0)],
                    },
                ],
            }),
        };
        check(&bytes, &p);
    }

    #[test]
    fn nack_fec129_items_are_12_bytes() {
        let bytes = hex("14 06 0000 00000001 00000002 0001 0000 00000000 00000000
             01 0c 000c 8100 0001 00000002 0040 0003");
        let Body::Nack(n) = Packet::decode(&bytes).unwrap().body else {
            panic!("not a NACK")
        };
        assert_eq!(n.cc, None);
        assert_eq!(
            n.requests,
            vec![RepairRequest {
                form: nack_form::ITEMS,
                flags: nack_flags::INFO | nack_flags::OBJECT,
                items: vec![RepairItem {
                    fec_id: fec_id::SMALL_BLOCK,
                    object_id: 1,
                    payload_id: FecPayloadId {
                        block: 2,
                        symbol: 3,
                        block_len: 64
                    },
                }],
            }]
        );
    }

    #[test]
    fn ack_flush_with_cc() {
        let bytes = hex("15 09 0003 00000002
             0a0b0c0d 1234 02 07 00000001 00000002
             03 03 0001 00 80 1000 19a3 0000
             8100 0005 00000009 0040 0012");
        let p = Packet {
            sequence: 3,
            source_id: 2,
            body: Body::Ack(Ack {
                server_id: 0x0a0b0c0d,
                instance_id: 0x1234,
                ack_type: ack_type::FLUSH,
                ack_id: 7,
                grtt_response: NormTime { sec: 1, usec: 2 },
                cc: Some(CcFeedback {
                    cc_sequence: 1,
                    cc_flags: 0,
                    cc_rtt: 0x80,
                    cc_loss: 0x1000,
                    cc_rate: 0x19a3,
                }),
                body: AckBody::Flush(RepairItem {
                    fec_id: fec_id::SMALL_BLOCK,
                    object_id: 5,
                    payload_id: FecPayloadId {
                        block: 9,
                        symbol: 18,
                        block_len: 64,
                    },
                }),
            }),
        };
        check(&bytes, &p);
    }

    #[test]
    fn ack_other_type_is_raw() {
        let bytes = hex("15 06 0000 00000002 00000001 0001 01 00 00000000 00000000 deadbeef");
        let Body::Ack(a) = Packet::decode(&bytes).unwrap().body else {
            panic!("not an ACK")
        };
        assert_eq!(a.ack_type, ack_type::CC);
        assert_eq!(a.body, AckBody::Other(&[0xde, 0xad, 0xbe, 0xef]));
    }

    fn cmd(cmd: Cmd<'_>) -> Packet<'_> {
        Packet {
            sequence: 1,
            source_id: 0x0a0b0c0d,
            body: Body::Cmd(CmdMsg {
                sender: SENDER,
                cmd,
            }),
        }
    }

    #[test]
    fn cmd_cc_with_rate_and_nodes() {
        let bytes = hex("13 07 0001 0a0b0c0d 1234 9d 42 04 00 0011 00000064 00000000
             80 00 2005
             00000001 05 9d 2005
             00000002 02 a0 19a3");
        let p = cmd(Cmd::Cc {
            cc_sequence: 17,
            send_time: NormTime { sec: 100, usec: 0 },
            rate: Some(0x2005),
            nodes: vec![
                CcNode {
                    node_id: 1,
                    flags: cc_flags::CLR | cc_flags::RTT,
                    rtt: 0x9d,
                    rate: 0x2005,
                },
                CcNode {
                    node_id: 2,
                    flags: cc_flags::PLR,
                    rtt: 0xa0,
                    rate: 0x19a3,
                },
            ],
        });
        check(&bytes, &p);
    }

    #[test]
    fn cmd_flush_fec129_with_acking_nodes() {
        let bytes = hex(
            "13 06 0001 0a0b0c0d 1234 9d 42 01 81 0005 00000009 0040 0012
             00000001 00000002",
        );
        let p = cmd(Cmd::Flush {
            item: RepairItem {
                fec_id: fec_id::SMALL_BLOCK,
                object_id: 5,
                payload_id: FecPayloadId {
                    block: 9,
                    symbol: 18,
                    block_len: 64,
                },
            },
            acking_nodes: vec![1, 2],
        });
        check(&bytes, &p);
    }

    #[test]
    fn cmd_squelch_fec5() {
        let bytes = hex("13 05 0001 0a0b0c0d 1234 9d 42 03 05 0005 00000900 0001 0002 0003");
        let p = cmd(Cmd::Squelch {
            item: RepairItem {
                fec_id: fec_id::RS8,
                object_id: 5,
                payload_id: FecPayloadId {
                    block: 9,
                    symbol: 0,
                    block_len: 0,
                },
            },
            invalid_objects: vec![1, 2, 3],
        });
        check(&bytes, &p);
    }

    #[test]
    fn cmd_eot_ack_req_application() {
        check(
            &hex("13 04 0001 0a0b0c0d 1234 9d 42 02 000000"),
            &cmd(Cmd::Eot),
        );
        check(
            &hex("13 04 0001 0a0b0c0d 1234 9d 42 06 00 02 2a 00000005"),
            &cmd(Cmd::AckReq {
                ack_type: ack_type::FLUSH,
                ack_id: 42,
                acking_nodes: vec![5],
            }),
        );
        check(
            &hex("13 04 0001 0a0b0c0d 1234 9d 42 07 000000 617070"),
            &cmd(Cmd::Application { content: b"app" }),
        );
    }

    #[test]
    fn cmd_repair_adv_with_cc() {
        let bytes = hex("13 07 0001 0a0b0c0d 1234 9d 42 05 01 0000
             03 03 0010 05 9d 0000 2005 0000
             01 08 0008 0500 0003 00000000");
        let p = cmd(Cmd::RepairAdv {
            flags: 1,
            cc: Some(cc()),
            requests: vec![RepairRequest {
                form: nack_form::ITEMS,
                flags: nack_flags::OBJECT,
                items: vec![RepairItem {
                    fec_id: fec_id::RS8,
                    object_id: 3,
                    payload_id: FecPayloadId::default(),
                }],
            }],
        });
        check(&bytes, &p);
        assert_eq!(cmd_flavor::REPAIR_ADV, 5);
    }

    #[test]
    fn report_passes_through() {
        let bytes = hex("16 02 0007 00000003 01020304 05");
        check(
            &bytes,
            &Packet {
                sequence: 7,
                source_id: 3,
                body: Body::Report(&[1, 2, 3, 4, 5]),
            },
        );
    }

    #[test]
    fn unknown_extensions_are_skipped() {
        // EOT with an APP_ACK-style extension (HET 65, HEL 2) and a one-word
        // HET >= 128 extension whose second byte (not a HEL) is 0xff.
        let bytes = hex("13 07 0001 0a0b0c0d 1234 9d 42 02 000000 41 02 aabb ccddeeff c8 ff 0000");
        assert_eq!(Packet::decode(&bytes), Ok(cmd(Cmd::Eot)));
    }

    #[test]
    fn decode_errors() {
        let eot = hex("13 04 0001 0a0b0c0d 1234 9d 42 02 000000");
        let err = |b: &[u8]| Packet::decode(b).unwrap_err();

        assert!(matches!(err(&eot[..5]), DecodeError::Truncated { .. }));
        assert!(matches!(err(&eot[..12]), DecodeError::Truncated { .. }));
        let mut b = eot.clone();
        b[0] = 0x23;
        assert_eq!(err(&b), DecodeError::BadVersion(2));
        b[0] = 0x17;
        assert_eq!(err(&b), DecodeError::UnknownType(7));
        b = eot.clone();
        b[1] = 3;
        assert!(matches!(
            err(&b),
            DecodeError::BadHeaderLength {
                hdr_len: 12,
                base: 16,
                ..
            }
        ));
        b[1] = 5;
        assert!(matches!(
            err(&b),
            DecodeError::BadHeaderLength { hdr_len: 20, .. }
        ));
        b = eot.clone();
        b[12] = 9;
        assert_eq!(err(&b), DecodeError::UnknownFlavor(9));

        let data = hex("12 05 0001 00000001 1234 9d 42 00 07 0001 0123 0004");
        assert_eq!(err(&data), DecodeError::UnknownFecId(7));

        // Zero-length (HEL 0) extension, and one running past hdr_len.
        let ext0 = hex("13 05 0001 0a0b0c0d 1234 9d 42 02 000000 41 00 0000");
        assert!(matches!(
            err(&ext0),
            DecodeError::BadExtensionLength {
                het: 65,
                offset: 16,
                ..
            }
        ));
        let ext_long = hex("13 05 0001 0a0b0c0d 1234 9d 42 02 000000 41 02 0000 00000000");
        assert!(matches!(
            err(&ext_long),
            DecodeError::BadExtensionLength { .. }
        ));
        // EXT_CC shorter than 3 words.
        let short_cc = hex("14 07 0000 00000001 00000002 0001 0000 00000000 00000000 03 01 0000");
        assert!(matches!(
            err(&short_cc),
            DecodeError::BadExtensionLength { het: 3, .. }
        ));
        // FTI too short for fec_id 129.
        let short_fti =
            hex("11 07 0003 00000009 1234 9d 42 04 81 0003 40 03 0000 00002000 0000 05dc");
        assert!(matches!(
            err(&short_fti),
            DecodeError::BadExtensionLength {
                het: 64,
                offset: 16,
                ..
            }
        ));

        let nack_hdr = "14 06 0000 00000001 00000002 0001 0000 00000000 00000000";
        let bad = |body: &str| err(&hex(&format!("{nack_hdr} {body}")));
        assert!(matches!(bad("01 01"), DecodeError::BadRepairRequest(_)));
        assert!(matches!(
            bad("01 01 0010 0500 0007 00000203"),
            DecodeError::BadRepairRequest(_)
        ));
        assert!(matches!(
            bad("01 01 0006 0500 0007 0000"),
            DecodeError::BadRepairRequest(_)
        ));
        assert!(matches!(
            bad("02 01 0008 0500 0007 00000203"),
            DecodeError::BadRepairRequest(_)
        ));
        assert!(matches!(
            bad("07 01 0000"),
            DecodeError::BadRepairRequest(_)
        ));
        assert_eq!(
            bad("01 01 0008 0900 0007 00000203"),
            DecodeError::UnknownFecId(9)
        );

        let flush = hex("13 06 0001 0a0b0c0d 1234 9d 42 01 81 0005 00000009 0040 0012 000001");
        assert!(matches!(
            err(&flush),
            DecodeError::BadListLength {
                unit: 4,
                len: 3,
                ..
            }
        ));

        // Errors render as a readable sentence.
        assert_eq!(
            DecodeError::BadVersion(2).to_string(),
            "unsupported NORM version 2 (expected 1)"
        );
    }

    #[test]
    fn helper_lengths() {
        assert_eq!(FecPayloadId::encoded_len(fec_id::RS_M), Some(4));
        assert_eq!(FecPayloadId::encoded_len(fec_id::RS8), Some(4));
        assert_eq!(FecPayloadId::encoded_len(fec_id::SMALL_BLOCK), Some(8));
        assert_eq!(FecPayloadId::encoded_len(3), None);
        assert_eq!(RepairItem::encoded_len(fec_id::RS8), Some(8));
        assert_eq!(RepairItem::encoded_len(fec_id::SMALL_BLOCK), Some(12));
        assert_eq!(Fti::encoded_len(fec_id::RS8), Some(12));
        assert_eq!(Fti::encoded_len(fec_id::RS_M), Some(16));
    }

    #[test]
    fn decode_with_fec_m_8_for_nack_items() {
        let bytes = hex(
            "14 06 0000 00000001 00000002 0001 0000 00000000 00000000 01 01 0008 0200 0001 00012304",
        );
        let Body::Nack(n) = Packet::decode_with_fec_m(&bytes, 8).unwrap().body else {
            panic!()
        };
        assert_eq!(
            n.requests[0].items[0].payload_id,
            FecPayloadId {
                block: 0x123,
                symbol: 4,
                block_len: 0
            }
        );
        let Body::Nack(n) = Packet::decode(&bytes).unwrap().body else {
            panic!()
        };
        assert_eq!(
            n.requests[0].items[0].payload_id,
            FecPayloadId {
                block: 1,
                symbol: 0x2304,
                block_len: 0
            }
        );
    }
}
