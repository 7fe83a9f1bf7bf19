//! A contact sale through the FFI layer with devices that count their
//! calls: how many crossings a sale makes (printed once) and how long the
//! whole sale takes with the simulated card and hosts on loopback. The
//! JVM's cost per crossing is measured by bindings/kotlin CrossingsTest.

use std::sync::atomic::Ordering;

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_ffi::{CancelHandle, Status};

mod counting;

fn crossings(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let b = rt.block_on(counting::signed_in("bench"));
    let sale = |amount: u64| {
        b.reader.insert("visa-contact".into());
        let outcome = rt
            .block_on(b.terminal.sale_card(amount, CancelHandle::new()))
            .expect("sale");
        assert_eq!(outcome.status, Status::Approved);
    };
    let before = b.counts.total();
    let apdus = b.counts.transceive.load(Ordering::Relaxed);
    sale(1_000);
    println!(
        "crossings per contact sale: {} ({} APDU exchanges)",
        b.counts.total() - before,
        b.counts.transceive.load(Ordering::Relaxed) - apdus
    );
    c.bench_function(
        "contact sale through the FFI layer (simulated card and hosts)",
        |bench| bench.iter(|| sale(1_000)),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = crossings
}
criterion_main!(benches);
