//! The app's devices as foreign traits, and the adapters that make them
//! the Terminal's devices. APDUs cross as byte arrays, one crossing per
//! exchange; everything else (the kernel, the host link) stays in Rust.

use std::sync::Arc;

use poskit::devices::{self, Detected, Interfaces};
use poskit::receipt::PrinterError;
use poskit_crypto::pin::Pin;
use zeroize::Zeroizing;

use super::records::{DetectedCard, PinEntryResult, TerminalEvent};

/// Why a device callback failed. Apps return these from their device
/// implementations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DeviceError {
    /// No card was presented in time.
    #[error("no card was presented in time")]
    Timeout,
    /// The card left the field or the slot.
    #[error("the card was removed too early")]
    Removed,
    /// The chip answered nothing usable: the terminal falls back to the
    /// stripe.
    #[error("the chip could not be read")]
    ChipUnreadable,
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DeviceError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        DeviceError::Failed { reason: e.reason }
    }
}

/// The interfaces the terminal opens for a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CardInterfaces {
    pub contact: bool,
    pub contactless: bool,
    pub magstripe: bool,
}

/// The card reader: contact, contactless (NFC) and stripe.
#[uniffi::export(with_foreign)]
pub trait CardReaderDevice: Send + Sync {
    /// Waits up to `timeout_ms` for a card on one of `allowed`.
    fn detect(&self, allowed: CardInterfaces, timeout_ms: u64) -> Result<DetectedCard, DeviceError>;
    /// One APDU exchange with the card found.
    fn transceive(&self, apdu: Vec<u8>) -> Result<Vec<u8>, DeviceError>;
    /// Stops a pending `detect` (it returns), powers the card off; returns
    /// once the card is taken away (or at once).
    fn remove(&self);
}

/// The PIN pad, or PIN on glass, and the cardholder's choices.
#[uniffi::export(with_foreign)]
pub trait PinPadDevice: Send + Sync {
    fn enter_pin(&self, online: bool, last_try: bool, amount: u64) -> PinEntryResult;
    /// Index of the application the cardholder picked; `None` cancels.
    fn choose_application(&self, labels: Vec<String>) -> Option<u32>;
}

/// The receipt printer: ESC/POS jobs.
#[uniffi::export(with_foreign)]
pub trait PrinterDevice: Send + Sync {
    fn print(&self, job: Vec<u8>) -> Result<(), DeviceError>;
}

/// The platform keystore (Android Keystore, iOS Keychain): wraps the
/// store's data key under a key that never leaves it.
#[uniffi::export(with_foreign)]
pub trait KeystoreDevice: Send + Sync {
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, DeviceError>;
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, DeviceError>;
}

/// The cashier's screen.
#[uniffi::export(with_foreign)]
pub trait TerminalListener: Send + Sync {
    fn on_event(&self, event: TerminalEvent);
}

pub(crate) struct Reader(pub Arc<dyn CardReaderDevice>);

impl devices::CardReader for Reader {
    fn detect(&self, allowed: Interfaces, timeout_ms: u64) -> Result<Detected, devices::ReaderError> {
        let allowed = CardInterfaces {
            contact: allowed.contact,
            contactless: allowed.contactless,
            magstripe: allowed.magstripe,
        };
        match self.0.detect(allowed, timeout_ms) {
            Ok(DetectedCard::Chip) => Ok(Detected::Chip),
            Ok(DetectedCard::Contactless) => Ok(Detected::Contactless),
            Ok(DetectedCard::Swiped { track2 }) => Ok(Detected::Swiped { track2 }),
            Err(e) => Err(reader_error(e)),
        }
    }

    fn transceive(&self, command: &[u8]) -> Result<Vec<u8>, devices::ReaderError> {
        self.0.transceive(command.to_vec()).map_err(reader_error)
    }

    fn remove(&self) {
        self.0.remove();
    }
}

fn reader_error(e: DeviceError) -> devices::ReaderError {
    match e {
        DeviceError::Timeout => devices::ReaderError::Timeout,
        DeviceError::Removed => devices::ReaderError::Removed,
        DeviceError::ChipUnreadable => devices::ReaderError::ChipUnreadable,
        DeviceError::Failed { reason } => devices::ReaderError::Failed(reason),
    }
}

pub(crate) struct PinPad(pub Arc<dyn PinPadDevice>);

impl devices::PinEntry for PinPad {
    fn enter_pin(&self, prompt: &devices::PinPrompt) -> devices::PinResult {
        match self.0.enter_pin(prompt.online, prompt.last_try, prompt.amount) {
            PinEntryResult::Digits { pin } => {
                let pin = Zeroizing::new(pin);
                match Pin::new(&pin) {
                    Ok(p) => devices::PinResult::Digits(p),
                    // A malformed PIN from the pad is no PIN at all.
                    Err(_) => devices::PinResult::Unavailable,
                }
            }
            PinEntryResult::Block { block } => match <[u8; 8]>::try_from(block.as_slice()) {
                Ok(b) => devices::PinResult::Block(b),
                Err(_) => devices::PinResult::Unavailable,
            },
            PinEntryResult::Bypassed => devices::PinResult::Bypassed,
            PinEntryResult::Cancelled => devices::PinResult::Cancelled,
            PinEntryResult::Unavailable => devices::PinResult::Unavailable,
        }
    }

    fn choose_application(&self, labels: &[String]) -> Option<usize> {
        self.0.choose_application(labels.to_vec()).map(|i| i as usize)
    }
}

pub(crate) struct Printer(pub Arc<dyn PrinterDevice>);

impl poskit::receipt::Printer for Printer {
    fn print(&self, job: &[u8]) -> Result<(), PrinterError> {
        self.0.print(job.to_vec()).map_err(|e| match e {
            DeviceError::Failed { reason } => PrinterError::Failed(reason),
            other => PrinterError::Offline(other.to_string()),
        })
    }
}

pub(crate) struct Keystore(pub Arc<dyn KeystoreDevice>);

impl poskit_store::Keystore for Keystore {
    fn wrap(&self, data_key: &[u8]) -> poskit_store::Result<Vec<u8>> {
        self.0
            .wrap(data_key.to_vec())
            .map_err(|e| poskit_store::StoreError::Keystore(e.to_string()))
    }

    fn unwrap(&self, wrapped: &[u8]) -> poskit_store::Result<Zeroizing<Vec<u8>>> {
        self.0
            .unwrap(wrapped.to_vec())
            .map(Zeroizing::new)
            .map_err(|e| poskit_store::StoreError::Keystore(e.to_string()))
    }
}

pub(crate) struct Listener(pub Arc<dyn TerminalListener>);

impl devices::EventListener for Listener {
    fn on_event(&self, event: poskit::TerminalEvent) {
        self.0.on_event(event.into());
    }
}

/// Calls the app's reader `count` times with a SELECT of the contactless
/// directory (the first APDU of every tap) and returns the nanoseconds
/// they took: the cost of the crossings a card session makes, measured on
/// the device itself. A developer tool; a card must be present.
#[uniffi::export]
pub fn probe_reader_crossings(reader: Arc<dyn CardReaderDevice>, count: u32) -> u64 {
    const SELECT_PPSE: &[u8] = b"\x00\xA4\x04\x00\x0E2PAY.SYS.DDF01\x00";
    let start = std::time::Instant::now();
    for _ in 0..count {
        // The answer does not matter, only the round trip.
        let _ = reader.transceive(SELECT_PPSE.to_vec());
    }
    start.elapsed().as_nanos() as u64
}
