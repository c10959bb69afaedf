//! NORM wire codec throughput (criterion): encoding and decoding NORM_DATA
//! (the bulk of the traffic) and NORM_NACK, in bytes of datagram per second.
//! Run with `cargo bench -p mcast --bench wire`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mcast::wire::{
    fec_id, flags, nack_flags, nack_form, Body, Data, FecPayloadId, Fti, Nack, NormTime, ObjectHeader, Packet, RepairItem,
    RepairRequest, SenderHeader,
};

fn wire(c: &mut Criterion) {
    let payload = vec![0x5au8; 1400];
    let object = ObjectHeader {
        sender: SenderHeader { instance_id: 7, grtt: 40, backoff: 4, gsize: 3 },
        flags: flags::FILE,
        fec_id: fec_id::RS8,
        object_id: 12,
        fti: Some(Fti { object_size: 20_000_000, segment_size: 1400, max_block_len: 64, num_parity: 16, fec_m: 8, fec_instance: 0 }),
    };
    let data = Packet {
        sequence: 9,
        source_id: 0x01020304,
        body: Body::Data(Data { object, payload_id: FecPayloadId { block: 3, symbol: 17, block_len: 64 }, payload: &payload }),
    };
    let mut buf = Vec::with_capacity(1500);
    data.encode(&mut buf);
    let encoded = buf.clone();
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("encode_data_1400", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&data).encode(&mut buf);
        })
    });
    g.bench_function("decode_data_1400", |b| b.iter(|| Packet::decode(black_box(&encoded)).unwrap()));

    let items: Vec<RepairItem> = (0..40u16)
        .map(|i| RepairItem { fec_id: fec_id::RS8, object_id: 12, payload_id: FecPayloadId { block: i as u32, symbol: i, block_len: 64 } })
        .collect();
    let nack = Packet {
        sequence: 1,
        source_id: 99,
        body: Body::Nack(Nack {
            server_id: 0x01020304,
            instance_id: 7,
            grtt_response: NormTime { sec: 1, usec: 2 },
            cc: None,
            requests: vec![RepairRequest { form: nack_form::ITEMS, flags: nack_flags::SEGMENT, items }],
        }),
    };
    let mut nbuf = Vec::new();
    nack.encode(&mut nbuf);
    g.throughput(Throughput::Bytes(nbuf.len() as u64));
    g.bench_function("decode_nack_40_items", |b| b.iter(|| Packet::decode(black_box(&nbuf)).unwrap()));
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
