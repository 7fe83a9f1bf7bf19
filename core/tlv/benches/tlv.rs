//! Decoding a READ RECORD response of about 250 bytes: the kernel does this
//! for every record of every card, so it must stay well under a microsecond.

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_tlv::{Node, Tag, find, primitives, validate};
use std::hint::black_box;

fn read_record_response() -> Vec<u8> {
    let p = |tag: u32, len: usize, fill: u8| Node::primitive(Tag(tag), vec![fill; len]);
    let record = Node::constructed(
        Tag(0x70),
        vec![
            p(0x57, 19, 0x47),   // track 2 equivalent data
            p(0x5F20, 26, 0x41), // cardholder name
            p(0x5A, 8, 0x47),    // PAN
            p(0x5F24, 3, 0x29),  // expiry
            p(0x5F25, 3, 0x20),  // effective date
            p(0x5F28, 2, 0x01),  // issuer country
            p(0x5F34, 1, 0x01),  // PAN sequence number
            p(0x8C, 27, 0x9F),   // CDOL1
            p(0x8D, 12, 0x8A),   // CDOL2
            p(0x8E, 14, 0x00),   // CVM list
            p(0x9F07, 2, 0xFF),  // application usage control
            p(0x9F08, 2, 0x00),  // application version
            p(0x9F0D, 5, 0xB0),  // IAC default
            p(0x9F0E, 5, 0x00),  // IAC denial
            p(0x9F0F, 5, 0xB0),  // IAC online
            p(0x9F4A, 1, 0x82),  // SDA tag list
            p(0x8F, 1, 0x92),    // CA public key index
            p(0x9F32, 1, 0x03),  // issuer public key exponent
            p(0x92, 36, 0x33),   // issuer public key remainder
            p(0x9F49, 3, 0x9F),  // DDOL
            p(0x9F1F, 15, 0x31), // track 1 discretionary data
        ],
    );
    record.to_bytes()
}

fn bench(c: &mut Criterion) {
    let data = read_record_response();
    assert_eq!(data.len(), 250, "a 250-byte record");
    c.bench_function("tlv: walk a 250-byte READ RECORD response", |b| {
        b.iter(|| primitives(black_box(&data)).unwrap().len())
    });
    c.bench_function("tlv: validate a 250-byte READ RECORD response", |b| {
        b.iter(|| validate(black_box(&data)).is_ok())
    });
    c.bench_function("tlv: find 9F4A in a 250-byte record", |b| {
        b.iter(|| find(black_box(&data), Tag(0x9F4A)).unwrap().is_some())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
