//! A synchronous driver that runs the kernel against a card, a cardholder
//! and an issuer: for tests, the command line and the simulators. The
//! terminal has its own async driver; this one does the same, in a loop.

use std::collections::VecDeque;

use poskit_crypto::pin::Pin;
use poskit_emv::{
    Action, Candidate, Input, Kernel, Message, OnlineRequest, OnlineResponse, Outcome, PinEntry, PinKind,
    PinRequest, TransactionParams,
};

use crate::card::{Card, CardError};

/// The person at the terminal.
pub trait Cardholder {
    /// Picks one of the offered applications, or None to cancel.
    fn choose(&mut self, candidates: &[Candidate]) -> Option<usize>;
    fn pin(&mut self, request: &PinRequest) -> PinEntry;
}

/// A cardholder who picks a fixed application and enters PINs from a list
/// (one per attempt), or bypasses when the list is empty.
#[derive(Debug, Clone, Default)]
pub struct ScriptedCardholder {
    pub choice: usize,
    pub pins: VecDeque<String>,
}

impl ScriptedCardholder {
    pub fn with_pins(pins: &[&str]) -> Self {
        Self {
            choice: 0,
            pins: pins.iter().map(|p| p.to_string()).collect(),
        }
    }
}

impl Cardholder for ScriptedCardholder {
    fn choose(&mut self, candidates: &[Candidate]) -> Option<usize> {
        (self.choice < candidates.len()).then_some(self.choice)
    }

    fn pin(&mut self, request: &PinRequest) -> PinEntry {
        match (request.kind, self.pins.pop_front()) {
            (PinKind::Online, Some(_)) => PinEntry::Online,
            (_, Some(pin)) => Pin::new(&pin)
                .map(PinEntry::Offline)
                .unwrap_or(PinEntry::Bypassed),
            (_, None) => PinEntry::Bypassed,
        }
    }
}

/// The card issuer, reached through the acquirer.
pub trait Issuer {
    fn authorise(&mut self, request: &OnlineRequest) -> OnlineResponse;
}

impl<F: FnMut(&OnlineRequest) -> OnlineResponse> Issuer for F {
    fn authorise(&mut self, request: &OnlineRequest) -> OnlineResponse {
        self(request)
    }
}

/// Everything a session produced.
#[derive(Debug)]
pub struct Session {
    pub outcome: Outcome,
    pub messages: Vec<Message>,
    /// Command/response pairs as exchanged (VERIFY data included only as
    /// the card saw it; callers must not print it).
    pub trace: Vec<(Vec<u8>, Vec<u8>)>,
    /// The online request, when the card asked for one.
    pub online_request: Option<OnlineRequest>,
}

/// Drives a started kernel to its outcome.
pub fn drive(
    kernel: &mut Kernel,
    card: &mut dyn Card,
    cardholder: &mut dyn Cardholder,
    issuer: &mut dyn Issuer,
) -> Session {
    let mut messages = Vec::new();
    let mut online_request = None;
    loop {
        let Some(action) = kernel.poll() else {
            kernel.abort("the kernel stopped without an outcome");
            continue;
        };
        match action {
            Action::Transmit(command) => match card.transceive(&command) {
                Ok(response) => kernel.handle_response(&response),
                Err(CardError::Removed) => kernel.abort("card removed too early: present the card again"),
                Err(e) => kernel.abort(&e.to_string()),
            },
            Action::Message(m) => messages.push(m),
            Action::SelectApplication(candidates) => match cardholder.choose(&candidates) {
                Some(i) => kernel.provide(Input::Application(i)),
                None => kernel.provide(Input::Cancel),
            },
            Action::NeedPin(request) => kernel.provide(Input::Pin(cardholder.pin(&request))),
            Action::NeedOnlineAuthorisation(request) => {
                let response = issuer.authorise(&request);
                online_request = Some(request);
                kernel.provide(Input::Online(response));
            }
            Action::Done(outcome) => {
                return Session {
                    outcome: *outcome,
                    messages,
                    trace: kernel.trace().to_vec(),
                    online_request,
                };
            }
        }
    }
}

/// Starts a transaction and drives it.
pub fn run(
    kernel: &mut Kernel,
    txn: TransactionParams,
    card: &mut dyn Card,
    cardholder: &mut dyn Cardholder,
    issuer: &mut dyn Issuer,
) -> Session {
    kernel.start(txn);
    drive(kernel, card, cardholder, issuer)
}

/// An issuer that is never reached (a card read asks for no authorisation).
pub fn unreachable_issuer() -> impl Issuer {
    |_: &OnlineRequest| OnlineResponse {
        unreachable: true,
        ..Default::default()
    }
}
