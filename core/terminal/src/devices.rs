//! The hardware the app owns, as the Terminal sees it. Every method takes
//! `&self` and may block (a reader waits for a card, a PIN pad for the
//! cardholder): the app's implementation does its own locking, and the
//! simulators in [`crate::sim`] implement all of them.

use poskit_emv::Candidate;

use crate::events::TerminalEvent;

/// The interfaces a transaction accepts a card on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interfaces {
    pub contact: bool,
    pub contactless: bool,
    pub magstripe: bool,
}

impl Interfaces {
    pub const ALL: Interfaces = Interfaces {
        contact: true,
        contactless: true,
        magstripe: true,
    };
    /// After a chip could not be read: the stripe only (fallback).
    pub const STRIPE: Interfaces = Interfaces {
        contact: false,
        contactless: false,
        magstripe: true,
    };
    /// A chip card asked to be inserted (contactless refused, or a chip
    /// card swiped).
    pub const CHIP: Interfaces = Interfaces {
        contact: true,
        contactless: false,
        magstripe: false,
    };
}

/// A card the reader found.
#[derive(Clone, PartialEq, Eq)]
pub enum Detected {
    /// Inserted: the reader powered the chip (APDUs go through
    /// [`CardReader::transceive`]).
    Chip,
    /// Tapped: the reader activated the contactless card.
    Contactless,
    /// Swiped: track 2 as read (the core never stores it).
    Swiped { track2: String },
}

/// Track data never reaches a log through `Debug`.
impl std::fmt::Debug for Detected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detected::Chip => f.write_str("Chip"),
            Detected::Contactless => f.write_str("Contactless"),
            Detected::Swiped { .. } => f.write_str("Swiped { track2: <redacted> }"),
        }
    }
}

/// Why the reader did not deliver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReaderError {
    #[error("no card was presented in time")]
    Timeout,
    #[error("the card was removed too early")]
    Removed,
    #[error("the chip could not be read")]
    ChipUnreadable,
    #[error("card reader: {0}")]
    Failed(String),
}

/// Contact, contactless and magnetic stripe reader.
pub trait CardReader: Send + Sync {
    /// Waits up to `timeout_ms` for a card on one of `allowed`.
    fn detect(&self, allowed: Interfaces, timeout_ms: u64) -> Result<Detected, ReaderError>;
    /// One APDU exchange with the detected chip.
    fn transceive(&self, command: &[u8]) -> Result<Vec<u8>, ReaderError>;
    /// Stops waiting for a card (a pending `detect` returns), powers the
    /// card off and waits (briefly) for it to be taken away.
    fn remove(&self);
}

/// What the PIN pad returned.
pub enum PinResult {
    /// PIN on glass: the digits; the core builds the block (online) or
    /// hands the PIN to the card (offline).
    Digits(poskit_crypto::pin::Pin),
    /// A secure PIN pad built the encrypted ISO format 0 block itself.
    Block([u8; 8]),
    Bypassed,
    Cancelled,
    /// No PIN pad, or it is broken.
    Unavailable,
}

/// What PIN is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPrompt {
    /// Online PINs are encrypted for the host; offline PINs go to the card.
    pub online: bool,
    /// The card's last try (offline PIN).
    pub last_try: bool,
    /// Amount in minor units, for the PIN pad's display.
    pub amount: u64,
}

/// PIN pad (or PIN on glass) and the cardholder's choices.
pub trait PinEntry: Send + Sync {
    fn enter_pin(&self, prompt: &PinPrompt) -> PinResult;
    /// The cardholder picks one of the card's applications; `None` cancels.
    fn choose_application(&self, labels: &[String]) -> Option<usize>;
}

/// The cashier's screen.
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: TerminalEvent);
}

/// A listener that ignores everything (for batch jobs).
pub struct NoEvents;

impl EventListener for NoEvents {
    fn on_event(&self, _: TerminalEvent) {}
}

pub(crate) fn labels(candidates: &[Candidate]) -> Vec<String> {
    candidates
        .iter()
        .map(|c| {
            if c.label.is_empty() {
                c.aid.iter().map(|b| format!("{b:02X}")).collect()
            } else {
                c.label.clone()
            }
        })
        .collect()
}
