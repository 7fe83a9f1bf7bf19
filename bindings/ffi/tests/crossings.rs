//! How often a sale crosses the FFI boundary. Every call the Terminal
//! makes into the app's devices is a crossing (a JNA or Swift callback on
//! a phone); the app's own calls into the Terminal are the rest. APDUs
//! cross as byte arrays, one crossing per exchange, and the kernel, the
//! host link and the journal never cross. The bench of the same name
//! measures what they cost.

use std::sync::atomic::Ordering;

use poskit_ffi::{CancelHandle, Status};

#[path = "../benches/counting.rs"]
mod counting;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_sale_crosses_once_per_apdu_and_little_else() {
    let c = counting::signed_in("crossings").await;
    let (t, reader, counts) = (&c.terminal, &c.reader, &c.counts);

    let before = counts.total();
    reader.insert("visa-contact".into());
    let outcome = t.sale_card(12_300, CancelHandle::new()).await.unwrap();
    assert_eq!(outcome.status, Status::Approved, "{outcome:?}");
    let apdus = counts.transceive.load(Ordering::Relaxed);
    let total = counts.total() - before;
    println!(
        "a contact sale: {total} crossings into the app ({apdus} APDU exchanges, {} detections, {} events)",
        counts.detect.load(Ordering::Relaxed),
        counts.events.load(Ordering::Relaxed)
    );
    // One crossing per APDU; the rest is a handful of device calls and
    // screen events. Nothing scales with the host exchange.
    assert!(apdus > 5, "{apdus}");
    assert!(total <= apdus + 15, "{total} crossings for {apdus} APDUs");
}
