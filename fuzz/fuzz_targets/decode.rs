//! Decodes arbitrary datagrams; whatever decodes must re-encode to bytes
//! that decode to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcast::wire::Packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.encoded_len());
        let back = Packet::decode(&out).expect("re-encoded packet must decode");
        assert_eq!(back, p);
    }
});
