//! Devices that count the calls the Terminal makes into them: each is a
//! crossing of the FFI boundary when the app implements the device.
//! Shared by tests/crossings.rs and benches/crossings.rs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use poskit_ffi::{
    CardInterfaces, CardReaderDevice, DetectedCard, DeviceError, PinEntryResult, PinPadDevice, SimCardReader,
    TerminalEvent, TerminalListener,
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

/// A signed-in terminal against the simulators, its devices counting.
pub struct Counter {
    /// Keeps the simulators running.
    pub _sims: Arc<poskit_ffi::SimEnvironment>,
    pub terminal: Arc<poskit_ffi::PosTerminal>,
    pub reader: Arc<SimCardReader>,
    pub counts: Arc<Counts>,
}

/// Onboards, binds, enrols and signs in a terminal named `name`.
pub async fn signed_in(name: &str) -> Counter {
    use poskit_ffi::{MemoryPrinter, PrinterDevice, SoftwareKeystore, TerminalDevices, open_terminal};
    let sims = poskit_ffi::start_simulators(500).await.expect("simulators");
    let dir = std::env::temp_dir().join(format!("poskit-ffi-{name}-{}", std::process::id()));
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
    let settings = sims.settings(dir.display().to_string(), format!("SN-{name}"));
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
        .bind(format!("SN-{name}"), "P10".into())
        .await
        .expect("bind");
    let tid = terminal.lifecycle().await.terminal_id.expect("terminal id");
    sims.enrol(tid).expect("enrol");
    terminal.sign_in().await.expect("sign in");
    Counter {
        _sims: sims,
        terminal,
        reader,
        counts,
    }
}
