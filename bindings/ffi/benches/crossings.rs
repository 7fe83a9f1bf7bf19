//! A contact sale through the FFI layer with devices that count their
//! calls: how many crossings a sale makes (printed once) and how long the
//! whole sale takes with the simulated card and hosts on loopback. The
//! JVM's cost per crossing is measured by bindings/kotlin CrossingsTest.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_ffi::{
    CancelHandle, MemoryPrinter, PosTerminal, PrinterDevice, SimCardReader, SimEnvironment, SoftwareKeystore,
    Status, TerminalDevices, open_terminal, start_simulators,
};

mod counting;

use counting::{Counts, Pad, Reader, Screen};

struct Bench {
    _sims: Arc<SimEnvironment>,
    terminal: Arc<PosTerminal>,
    reader: Arc<SimCardReader>,
    counts: Arc<Counts>,
}

async fn setup() -> Bench {
    let sims = start_simulators(500).await.expect("simulators");
    let dir = std::env::temp_dir().join(format!("poskit-ffi-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let counts = Arc::new(Counts::default());
    let reader = SimCardReader::new();
    let devices = TerminalDevices {
        reader: Arc::new(Reader(reader.clone(), counts.clone())),
        pin_pad: Arc::new(Pad(reader.pin_pad(), counts.clone())),
        printer: MemoryPrinter::new() as Arc<dyn PrinterDevice>,
        listener: Arc::new(Screen(counts.clone())),
    };
    let keystore = SoftwareKeystore::new(vec![7; 32]).expect("keystore");
    let settings = sims.settings(dir.display().to_string(), "SN-BENCH-1".into());
    let terminal = open_terminal(settings, keystore, devices)
        .await
        .expect("terminal");
    terminal.apply(sims.sample_application()).await.expect("apply");
    for _ in 0..5 {
        if terminal.lifecycle().await.state != "under review" {
            break;
        }
        terminal.refresh_review().await.expect("review");
    }
    terminal
        .bind("SN-BENCH-1".into(), "P10".into())
        .await
        .expect("bind");
    let tid = terminal.lifecycle().await.terminal_id.expect("terminal id");
    sims.enrol(tid).expect("enrol");
    terminal.sign_in().await.expect("sign in");
    Bench {
        _sims: sims,
        terminal,
        reader,
        counts,
    }
}

fn crossings(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let b = rt.block_on(setup());
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
