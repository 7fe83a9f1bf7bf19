//! A terminal decodes or builds one merchant-presented code per order and
//! draws it; this keeps an eye on what that costs. The code is the EMVCo
//! appendix example (244 characters, templates, non-ASCII names).

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_qr::mpm::{Initiation, MerchantPresented, MpmBuilder};
use poskit_qr::{QrMatrix, classify};
use std::hint::black_box;

const EXAMPLE: &str = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678\
520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京\
540523.7253031565502016233030412340603***0708A60086670902ME\
91320016A0112233449988770708123456786304A13A";

fn bench(c: &mut Criterion) {
    c.bench_function("mpm decode+encode (EMVCo example)", |b| {
        b.iter(|| {
            let code = MerchantPresented::decode(black_box(EXAMPLE)).unwrap();
            black_box(code.encode())
        })
    });
    c.bench_function("mpm build (dynamic order code)", |b| {
        b.iter(|| {
            MpmBuilder::new()
                .initiation(Initiation::Dynamic)
                .merchant_account(26, "A000000333010101", [(1, "123456789012345")])
                .merchant_category_code("5812")
                .currency("156")
                .amount_minor(black_box(8880), 2)
                .country("CN")
                .merchant_name("NOODLE HOUSE")
                .merchant_city("SHANGHAI")
                .bill_number("ORDER20260101000123")
                .build()
                .unwrap()
                .encode()
        })
    });
    c.bench_function("classify payment code", |b| {
        b.iter(|| classify(black_box("134567890123456789")).unwrap())
    });
    let qr = QrMatrix::encode(EXAMPLE).unwrap();
    c.bench_function("render QR matrix (EMVCo example)", |b| {
        b.iter(|| QrMatrix::encode(black_box(EXAMPLE)).unwrap())
    });
    c.bench_function("render PNG, 8 px per module", |b| {
        b.iter(|| qr.to_png(black_box(8)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
