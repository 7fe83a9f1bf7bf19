//! How often a sale crosses the FFI boundary. Every call the Terminal
//! makes into the app's devices is a crossing (a JNA or Swift callback on
//! a phone); the app's own calls into the Terminal are the rest. APDUs
//! cross as byte arrays, one crossing per exchange, and the kernel, the
//! host link and the journal never cross. The bench of the same name
//! measures what they cost.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use poskit_ffi::{
    CancelHandle, MemoryPrinter, PrinterDevice, SimCardReader, SoftwareKeystore, Status, TerminalDevices,
    open_terminal, start_simulators,
};

#[path = "../benches/counting.rs"]
mod counting;

use counting::{Counts, Pad, Reader, Screen};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_sale_crosses_once_per_apdu_and_little_else() {
    let sims = start_simulators(500).await.unwrap();
    let dir = std::env::temp_dir().join(format!("poskit-ffi-crossings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let counts = Arc::new(Counts::default());
    let reader = SimCardReader::new();
    let devices = TerminalDevices {
        reader: Arc::new(Reader(reader.clone(), counts.clone())),
        pin_pad: Arc::new(Pad(reader.pin_pad(), counts.clone())),
        printer: MemoryPrinter::new() as Arc<dyn PrinterDevice>,
        listener: Arc::new(Screen(counts.clone())),
    };
    let keystore = SoftwareKeystore::new(vec![7; 32]).unwrap();
    let settings = sims.settings(dir.display().to_string(), "SN-FFI-1".into());
    let t = open_terminal(settings, keystore, devices).await.unwrap();
    t.apply(sims.sample_application()).await.unwrap();
    for _ in 0..5 {
        if t.lifecycle().await.state != "under review" {
            break;
        }
        t.refresh_review().await.unwrap();
    }
    t.bind("SN-FFI-1".into(), "P10".into()).await.unwrap();
    sims.enrol(t.lifecycle().await.terminal_id.unwrap()).unwrap();
    t.sign_in().await.unwrap();

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
    let _ = std::fs::remove_dir_all(&dir);
}
