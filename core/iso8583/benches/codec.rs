//! Packing and unpacking a chip sale request (0200 with 200 bytes of ICC
//! data in field 55): the host does one of each per transaction and the
//! simulator many, so both should stay well under the 1.5 us budget.

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_iso8583::{Message, cup};
use std::hint::black_box;

fn chip_sale() -> Message {
    let mut msg = Message::new(200);
    msg.set_digits(2, "6200987654321098765")
        .set_digits(3, "000000")
        .set_digits(4, "000000001000")
        .set_digits(11, "000123")
        .set_digits(14, "3012")
        .set_digits(22, "051")
        .set_digits(23, "001")
        .set_digits(25, "00")
        .set_digits(26, "12")
        .set_digits(35, "6200987654321098765D30122011234567890")
        .set_text(41, "12345678")
        .set_text(42, "123456789012345")
        .set_text(49, "156")
        .set_binary(52, [0x11; 8])
        .set_digits(53, "2600000000000000")
        .set_binary(55, vec![0x9F; 200])
        .set_digits(60, "22000001000")
        .set_binary(64, [0; 8]);
    msg
}

fn bench(c: &mut Criterion) {
    let msg = chip_sale();
    let packed = cup().pack(&msg).unwrap();
    assert_eq!(cup().unpack(&packed).unwrap(), msg);
    c.bench_function("iso8583: pack a 0200 with 200 bytes of field 55", |b| {
        b.iter(|| cup().pack(black_box(&msg)).unwrap().len())
    });
    c.bench_function("iso8583: unpack a 0200 with 200 bytes of field 55", |b| {
        b.iter(|| cup().unpack(black_box(&packed)).unwrap().len())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
