//! How often a sale crosses the FFI boundary. Every call the Terminal
//! makes into the app's devices is a crossing (a JNA or Swift callback on
//! a phone); the app's own calls into the Terminal are the rest. APDUs
//! cross as byte arrays, one crossing per exchange, and the kernel, the
//! host link and the journal never cross. The bench of the same name
//! measures what they cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use poskit_ffi::{
    CancelHandle, CardInterfaces, CardReaderDevice, DetectedCard, DeviceError, MemoryPrinter, PinEntryResult,
    PinPadDevice, PrinterDevice, SimCardReader, SoftwareKeystore, Status, TerminalDevices, TerminalEvent,
    TerminalListener, open_terminal, start_simulators,
};

/// Counts the calls into the app's devices.
#[derive(Default)]
pub struct Counts {
    pub detect: AtomicU64,
    pub transceive: AtomicU64,
    pub other: AtomicU64,
    pub events: AtomicU64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        [&self.detect, &self.transceive, &self.other, &self.events]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

pub struct Reader(pub Arc<SimCardReader>, pub Arc<Counts>);

impl CardReaderDevice for Reader {
    fn detect(&self, allowed: CardInterfaces, timeout_ms: u64) -> Result<DetectedCard, DeviceError> {
        self.1.detect.fetch_add(1, Ordering::Relaxed);
        self.0.detect(allowed, timeout_ms)
    }
    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, DeviceError> {
        self.1.transceive.fetch_add(1, Ordering::Relaxed);
        self.0.transceive(apdu)
    }
    fn remove(&self) {
        self.1.other.fetch_add(1, Ordering::Relaxed);
        self.0.remove();
    }
}

pub struct Pad(pub Arc<poskit_ffi::SimPinPad>, pub Arc<Counts>);

impl PinPadDevice for Pad {
    fn enter_pin(&self, online: bool, last_try: bool, amount: u64) -> PinEntryResult {
        self.1.other.fetch_add(1, Ordering::Relaxed);
        self.0.enter_pin(online, last_try, amount)
    }
    fn choose_application(&self, labels: Vec<String>) -> Option<u32> {
        self.1.other.fetch_add(1, Ordering::Relaxed);
        self.0.choose_application(labels)
    }
}

pub struct Screen(pub Arc<Counts>);

impl TerminalListener for Screen {
    fn on_event(&self, _: TerminalEvent) {
        self.0.events.fetch_add(1, Ordering::Relaxed);
    }
}

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
