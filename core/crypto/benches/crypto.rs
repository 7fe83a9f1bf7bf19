//! The cryptography on a transaction's critical path: the MAC of every host
//! message, the PIN block of an online-PIN sale, the cryptogram a virtual
//! card (or a host simulator) computes.

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_crypto::emv::{ac_session_key, application_cryptogram};
use poskit_crypto::mac::{Padding, cup_ecb_mac, retail_mac};
use poskit_crypto::pin::{Pan, Pin, PinBlockFormat, encrypt_pin_block};
use poskit_crypto::{FixedRandom, SymmetricKey};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let tdes = SymmetricKey::tdes(&hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
    let data = vec![0x5Au8; 200];
    c.bench_function("crypto: retail MAC over 200 bytes", |b| {
        b.iter(|| retail_mac(&tdes, black_box(&data), Padding::Method1).unwrap())
    });
    c.bench_function("crypto: UnionPay ECB MAC over 200 bytes", |b| {
        b.iter(|| cup_ecb_mac(&tdes, black_box(&data)).unwrap())
    });

    let pin = Pin::new("1234").unwrap();
    let pan = Pan::new("4012345678909").unwrap();
    let mut rng = FixedRandom(vec![0x42]);
    c.bench_function("crypto: PIN block format 0 encrypt", |b| {
        b.iter(|| {
            encrypt_pin_block(&tdes, PinBlockFormat::Iso0, &pin, Some(black_box(&pan)), &mut rng).unwrap()
        })
    });

    // CDOL1 data of a typical sale: amount, other amount, country, TVR,
    // currency, date, type, unpredictable number, AIP, ATC, IAD.
    let cdol =
        hex::decode("000000001000000000000000015600000000000156261121005A1B2C3D5800002A0A0101039000000000")
            .unwrap();
    c.bench_function("crypto: ARQC (session key + cryptogram)", |b| {
        b.iter(|| {
            let sk = ac_session_key(&tdes, black_box(0x002A)).unwrap();
            application_cryptogram(&sk, black_box(&cdol)).unwrap()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
