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
