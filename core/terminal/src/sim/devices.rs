//! The simulated reader, PIN pad and event log.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use poskit_crypto::pin::Pin;
use poskit_sim::card::Card;
use poskit_sim::virtual_card::VirtualCard;

use crate::devices::{
    CardReader, Detected, EventListener, Interfaces, PinEntry, PinPrompt, PinResult, ReaderError,
};
use crate::events::TerminalEvent;

/// What the customer does at the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presentation {
    /// Inserts a virtual card (a profile name of `poskit_sim`).
    Insert(String),
    /// Taps a virtual card.
    Tap(String),
    /// Swipes a stripe with this track 2.
    Swipe(String),
    /// Inserts a card whose chip cannot be read.
    UnreadableChip,
    /// Takes a card out in the middle of the transaction (after this many
    /// APDU exchanges).
    InsertAndPull { profile: String, after: usize },
}

#[derive(Default)]
struct ReaderState {
    queue: VecDeque<Presentation>,
    card: Option<VirtualCard>,
    pin: Option<String>,
    exchanges_left: Option<usize>,
    /// Exchanges with the card last detected.
    exchanges: usize,
    cards_seen: usize,
    /// Bumped by `remove`: a detection waiting since an earlier epoch stops.
    epoch: u64,
}

/// A reader that presents the queued cards one by one.
#[derive(Clone, Default)]
pub struct SimReader(Arc<Mutex<ReaderState>>);

impl SimReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues what the next customer does.
    pub fn present(&self, p: Presentation) {
        self.state().queue.push_back(p);
    }

    /// Presentations not used yet.
    pub fn pending(&self) -> usize {
        self.state().queue.len()
    }

    /// APDU exchanges with the card last detected.
    pub fn exchanges(&self) -> usize {
        self.state().exchanges
    }

    /// Cards detected so far.
    pub fn cards_seen(&self) -> usize {
        self.state().cards_seen
    }

    /// A PIN pad that types the PIN of the card in the reader.
    pub fn pin_pad(&self) -> SimPinPad {
        SimPinPad {
            reader: self.clone(),
            script: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ReaderState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn card(profile: &str) -> Result<VirtualCard, ReaderError> {
    VirtualCard::named(profile)
        .ok_or_else(|| ReaderError::Failed(format!("no virtual card profile named {profile:?}")))
}

/// The PIN of the virtual card whose PAN the track carries (a stripe of
/// an unknown card gets "1234").
fn swiped_pin(track2: &str) -> String {
    let pan: String = track2
        .trim_start_matches(';')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    poskit_sim::virtual_card::Profile::names()
        .iter()
        .filter_map(|n| poskit_sim::virtual_card::Profile::named(n))
        .find(|p| p.pan == pan)
        .map(|p| p.pin.clone())
        .unwrap_or_else(|| "1234".into())
}

impl CardReader for SimReader {
    /// Waits (up to `timeout_ms`) for the next queued presentation, or
    /// until `remove` stops the wait.
    fn detect(&self, allowed: Interfaces, timeout_ms: u64) -> Result<Detected, ReaderError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
        let epoch = self.state().epoch;
        let (mut s, next) = loop {
            let mut s = self.state();
            if let Some(next) = s.queue.pop_front() {
                break (s, next);
            }
            if s.epoch != epoch || std::time::Instant::now() >= deadline {
                return Err(ReaderError::Timeout);
            }
            drop(s);
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let refused = |what: &str| {
            ReaderError::Failed(format!(
                "the simulated customer {what}, but the reader did not open that interface"
            ))
        };
        s.exchanges_left = None;
        s.exchanges = 0;
        let detected = match next {
            Presentation::Insert(p) | Presentation::InsertAndPull { profile: p, .. } if !allowed.contact => {
                return Err(refused(&format!("inserted {p}")));
            }
            Presentation::Tap(p) if !allowed.contactless => return Err(refused(&format!("tapped {p}"))),
            Presentation::Swipe(_) if !allowed.magstripe => return Err(refused("swiped a card")),
            Presentation::UnreadableChip if !allowed.contact => return Err(refused("inserted a card")),
            Presentation::Insert(p) => {
                let c = card(&p)?;
                s.pin = Some(c.profile().pin.clone());
                s.card = Some(c);
                Detected::Chip
            }
            Presentation::InsertAndPull { profile, after } => {
                let c = card(&profile)?;
                s.pin = Some(c.profile().pin.clone());
                s.card = Some(c);
                s.exchanges_left = Some(after);
                Detected::Chip
            }
            Presentation::Tap(p) => {
                let c = card(&p)?;
                s.pin = Some(c.profile().pin.clone());
                s.card = Some(c);
                Detected::Contactless
            }
            Presentation::Swipe(track2) => {
                s.card = None;
                s.pin = Some(swiped_pin(&track2));
                Detected::Swiped { track2 }
            }
            Presentation::UnreadableChip => {
                s.cards_seen += 1;
                return Err(ReaderError::ChipUnreadable);
            }
        };
        s.cards_seen += 1;
        Ok(detected)
    }

    fn transceive(&self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut s = self.state();
        s.exchanges += 1;
        if let Some(left) = s.exchanges_left.as_mut() {
            if *left == 0 {
                s.card = None;
                return Err(ReaderError::Removed);
            }
            *left -= 1;
        }
        let card = s.card.as_mut().ok_or(ReaderError::Removed)?;
        card.transceive(command).map_err(|e| match e {
            poskit_sim::CardError::Removed => ReaderError::Removed,
            other => ReaderError::Failed(other.to_string()),
        })
    }

    fn remove(&self) {
        let mut s = self.state();
        s.card = None;
        s.epoch += 1;
    }
}

/// What the simulated cardholder does at the next PIN prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinAction {
    /// Types these digits (a wrong PIN, say).
    Type(String),
    Bypass,
    Cancel,
}

/// Types the PIN of the card in the reader, unless told otherwise.
#[derive(Clone)]
pub struct SimPinPad {
    reader: SimReader,
    script: Arc<Mutex<VecDeque<PinAction>>>,
}

impl SimPinPad {
    /// What the cardholder does at the next prompt instead of typing the
    /// right PIN.
    pub fn then(&self, action: PinAction) {
        self.script
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(action);
    }
}

impl PinEntry for SimPinPad {
    fn enter_pin(&self, _prompt: &PinPrompt) -> PinResult {
        let action = self.script.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let digits = match action {
            Some(PinAction::Bypass) => return PinResult::Bypassed,
            Some(PinAction::Cancel) => return PinResult::Cancelled,
            Some(PinAction::Type(d)) => d,
            None => match self.reader.state().pin.clone() {
                Some(pin) => pin,
                None => return PinResult::Unavailable,
            },
        };
        match Pin::new(&digits) {
            Ok(pin) => PinResult::Digits(pin),
            Err(_) => PinResult::Unavailable,
        }
    }

    fn choose_application(&self, labels: &[String]) -> Option<usize> {
        (!labels.is_empty()).then_some(0)
    }
}

/// Sees each event as it happens.
pub type Observer = Arc<dyn Fn(&TerminalEvent) + Send + Sync>;

/// Keeps every event (and hands each to an optional observer, e.g. a
/// progress display).
#[derive(Clone, Default)]
pub struct EventLog {
    events: Arc<Mutex<Vec<TerminalEvent>>>,
    observer: Option<Observer>,
}

impl EventLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_observer(observer: Observer) -> Self {
        Self {
            events: Arc::default(),
            observer: Some(observer),
        }
    }

    /// The events since the last call.
    pub fn take(&self) -> Vec<TerminalEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl EventListener for EventLog {
    fn on_event(&self, event: TerminalEvent) {
        if let Some(o) = &self.observer {
            o(&event);
        }
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}
