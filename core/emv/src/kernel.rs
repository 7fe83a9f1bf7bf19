//! The kernel's public face: fed card responses and inputs, drained of
//! actions, in the style of quinn-proto's `Connection`.
//!
//! Order of calls: [`Kernel::start`], then repeatedly [`Kernel::poll`] and
//! answer what it asks: a `Transmit` with [`Kernel::handle_response`], a
//! request with [`Kernel::provide`]; until `Done`.

use std::collections::VecDeque;
use std::sync::Arc;

use poskit_tlv::Tag;

use crate::apdu::{self, Response};
use crate::config::Config;
use crate::data::{DataStore, u64_to_bcd};
use crate::error::KernelError;
use crate::outcome::{CardholderData, Cvm, Decision, Outcome, ReceiptData, field55, mask_pan};
use crate::transaction::{Action, Input, Interface, Message, TransactionParams};
use crate::tvr::{Tsi, Tvr};

pub(crate) use crate::flow::{Awaiting, Flow, Step};

/// Bounds that keep a broken or hostile card from holding the kernel: a
/// real transaction needs well under a hundred exchanges.
const MAX_EXCHANGES: usize = 512;
const MAX_TRANSPORT_ROUNDS: u8 = 16;
const MAX_RESPONSE: usize = 4096;

/// An EMV kernel for one card session at a time.
pub struct Kernel {
    pub(crate) config: Arc<Config>,
    pub(crate) txn: TransactionParams,
    pub(crate) data: DataStore,
    pub(crate) tvr: Tvr,
    pub(crate) tsi: Tsi,
    pub(crate) cvm_results: [u8; 3],
    pub(crate) cvm: Cvm,
    pub(crate) flow: Flow,
    pub(crate) awaiting: Awaiting,
    actions: VecDeque<Action>,
    /// The last command sent, for T=0 `6C xx` retries.
    last_command: Vec<u8>,
    /// Data gathered across `61 xx` GET RESPONSE rounds.
    partial: Vec<u8>,
    /// `61`/`6C` rounds for the current command.
    transport_rounds: u8,
    /// Every command/response of the session, for traces (no PIN blocks).
    trace: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Kernel {
    pub fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            txn: TransactionParams {
                interface: Interface::Contact,
                amount: 0,
                other_amount: 0,
                transaction_type: 0,
                date: [0; 3],
                time: [0; 3],
                unpredictable_number: [0; 4],
                random_selection: 99,
                entropy: [0; 32],
                sequence_counter: 0,
                force_online: false,
            },
            data: DataStore::default(),
            tvr: Tvr::default(),
            tsi: Tsi::default(),
            cvm_results: crate::cvm::NOT_PERFORMED,
            cvm: Cvm::NotPerformed,
            flow: Flow::default(),
            awaiting: Awaiting::Nothing,
            actions: VecDeque::new(),
            last_command: Vec::new(),
            partial: Vec::new(),
            transport_rounds: 0,
            trace: Vec::new(),
        }
    }

    /// Replaces the configuration; takes effect at the next `start`.
    pub fn set_config(&mut self, config: Arc<Config>) {
        self.config = config;
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Begins a transaction with a card that has just been detected.
    pub fn start(&mut self, txn: TransactionParams) {
        let config = self.config.clone();
        *self = Kernel::new(config);
        self.txn = txn;
        self.load_terminal_data();
        match self.txn.interface {
            Interface::Contact => self.begin_contact(),
            Interface::Contactless => self.begin_contactless(),
        }
    }

    /// Reads the card without a transaction: selects an application (PPSE,
    /// then PSE, then the list of AIDs), gets its processing options and
    /// reads its records; ends with [`Decision::CardRead`].
    pub fn start_card_read(&mut self, txn: TransactionParams) {
        let config = self.config.clone();
        *self = Kernel::new(config);
        self.txn = txn;
        self.txn.interface = Interface::Contact;
        self.flow.read_only = true;
        self.load_terminal_data();
        self.transmit(apdu::select(crate::select::PPSE, false), Step::SelectPpse);
    }

    /// Ends the session because the card went away or the reader failed.
    /// A contactless card that left the field too early is tapped again
    /// (Book A: "try again"); a contact session ends.
    pub fn abort(&mut self, reason: &str) {
        let decision = match (self.txn.interface, self.flow.cryptogram) {
            (Interface::Contactless, None) => Decision::TryAgain,
            _ => Decision::Terminated,
        };
        self.finish(decision, Some(reason.to_owned()));
    }

    /// The next thing the caller must do, or None while the kernel waits
    /// for a response or an input it asked for.
    pub fn poll(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The card's response to the last `Transmit`.
    pub fn handle_response(&mut self, rapdu: &[u8]) {
        let Awaiting::Card(step) = self.awaiting else {
            return self.fail(KernelError::WrongState("take a card response"));
        };
        self.trace.push((self.last_command.clone(), rapdu.to_vec()));
        let response = match Response::parse(rapdu) {
            Ok(r) => r,
            Err(e) => return self.fail(e),
        };
        // T=0 transport (Book 1 9.3.1): fetch the rest, or repeat with the
        // right Le; the flow sees only complete responses.
        let sw1 = (response.sw >> 8) as u8;
        if matches!(sw1, 0x61 | 0x6C) {
            self.transport_rounds += 1;
            // A card that never finishes must not hold the terminal.
            if self.transport_rounds > MAX_TRANSPORT_ROUNDS || self.partial.len() > MAX_RESPONSE {
                return self.fail(KernelError::CardProtocol(
                    "the card never completes its answer (61/6C)",
                ));
            }
        } else {
            self.transport_rounds = 0;
        }
        match sw1 {
            0x61 => {
                self.partial.extend_from_slice(response.data);
                let le = response.sw as u8;
                return self.transmit(apdu::get_response(le), step);
            }
            0x6C => {
                let retry = apdu::with_le(&self.last_command, response.sw as u8);
                return self.transmit(retry, step);
            }
            _ => {}
        }
        let mut data = std::mem::take(&mut self.partial);
        data.extend_from_slice(response.data);
        if let Err(e) = self.on_response(step, &data, response.sw) {
            self.fail(e);
        }
    }

    /// The answer to a `SelectApplication`, `NeedPin` or
    /// `NeedOnlineAuthorisation` request.
    pub fn provide(&mut self, input: Input) {
        if let Input::Cancel = input {
            return self.finish(Decision::Cancelled, Some("cancelled".into()));
        }
        let result = match (self.awaiting, input) {
            (Awaiting::Application, Input::Application(i)) => self.on_application_chosen(i),
            (Awaiting::Pin(_), Input::Pin(entry)) => self.on_pin(entry),
            (Awaiting::Online, Input::Online(response)) => self.on_online(response),
            _ => Err(KernelError::WrongState("take this input")),
        };
        if let Err(e) = result {
            self.fail(e);
        }
    }

    /// The command/response pairs of the session so far.
    pub fn trace(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.trace
    }

    /// Data elements gathered so far (card and terminal).
    pub fn data(&self) -> &DataStore {
        &self.data
    }

    pub fn tvr(&self) -> Tvr {
        self.tvr
    }

    pub fn tsi(&self) -> Tsi {
        self.tsi
    }

    pub(crate) fn transmit(&mut self, command: Vec<u8>, step: Step) {
        if self.trace.len() >= MAX_EXCHANGES {
            return self.fail(KernelError::CardProtocol("too many exchanges with the card"));
        }
        self.last_command.clone_from(&command);
        self.awaiting = Awaiting::Card(step);
        self.actions.push_back(Action::Transmit(command));
    }

    pub(crate) fn ask(&mut self, action: Action, awaiting: Awaiting) {
        self.awaiting = awaiting;
        self.actions.push_back(action);
    }

    pub(crate) fn message(&mut self, message: Message) {
        self.actions.push_back(Action::Message(message));
    }

    /// The terminal's data elements, for DOLs and field 55.
    fn load_terminal_data(&mut self) {
        let t = self.config.terminal.clone();
        let txn = self.txn.clone();
        let d = &mut self.data;
        d.set(Tag(0x9F02), u64_to_bcd(txn.amount, 6));
        d.set(Tag(0x9F03), u64_to_bcd(txn.other_amount, 6));
        d.set(Tag(0x9C), [txn.transaction_type]);
        d.set(Tag(0x9A), txn.date);
        d.set(Tag(0x9F21), txn.time);
        d.set(Tag(0x9F37), txn.unpredictable_number);
        d.set(Tag(0x9F41), u64_to_bcd(txn.sequence_counter as u64, 4));
        d.set(Tag(0x9F35), [t.terminal_type]);
        d.set(Tag(0x9F33), t.capabilities);
        d.set(Tag(0x9F40), t.additional_capabilities);
        d.set(Tag(0x9F1A), t.country_code);
        d.set(Tag(0x5F2A), t.currency_code);
        d.set(Tag(0x5F36), [t.currency_exponent]);
        d.set(Tag(0x9F15), t.merchant_category_code);
        d.set(Tag(0x9F16), fixed_text(&t.merchant_id, 15));
        d.set(Tag(0x9F1C), fixed_text(&t.terminal_id, 8));
        d.set(Tag(0x9F1E), fixed_text(&t.ifd_serial, 8));
        d.set(Tag(0x9F4E), t.merchant_name_location.as_bytes().to_vec());
        d.set(Tag(0x9F66), t.ttq);
        d.set(Tag(0x95), [0u8; 5]);
        d.set(Tag(0x9B), [0u8; 2]);
        d.set(Tag(0x9F34), crate::cvm::NOT_PERFORMED);
        d.set(Tag(0x9F53), [0x52]); // transaction category code: retail
    }

    /// Keeps 95, 9B and 9F34 in the data store in step with the kernel's
    /// state, so DOLs and field 55 see the current values.
    pub(crate) fn sync_status(&mut self) {
        self.data.set(Tag(0x95), self.tvr.0);
        self.data.set(Tag(0x9B), self.tsi.0);
        self.data.set(Tag(0x9F34), self.cvm_results);
    }

    /// Builds the data for a DOL from the data store.
    pub(crate) fn dol_data(&mut self, dol: &[u8]) -> Result<Vec<u8>, KernelError> {
        self.sync_status();
        let dol = poskit_tlv::Dol::parse(dol)?;
        let data = &self.data;
        Ok(dol.build(|tag| data.get(tag)))
    }

    /// A card error: before the application is chosen the terminal may fall
    /// back to the stripe; after, the session ends.
    pub(crate) fn fail(&mut self, error: KernelError) {
        let decision = match (self.txn.interface, self.flow.gpo_done) {
            (Interface::Contact, false) => Decision::Fallback,
            (Interface::Contactless, false) => Decision::TryAnotherInterface,
            _ => Decision::Terminated,
        };
        self.message(Message::CardError);
        self.finish(decision, Some(error.to_string()));
    }

    pub(crate) fn finish(&mut self, decision: Decision, reason: Option<String>) {
        if matches!(self.awaiting, Awaiting::Done) {
            return;
        }
        self.sync_status();
        let card = self.cardholder_data();
        let receipt = self.receipt(&card, &decision);
        let outcome = Outcome {
            cryptogram: self.flow.cryptogram,
            tvr: self.tvr,
            tsi: self.tsi,
            cvm_results: self.cvm_results,
            cvm: self.cvm,
            went_online: self.flow.went_online,
            field55: if self.flow.cryptogram.is_some() {
                field55(&self.data)
            } else {
                Vec::new()
            },
            script_results: self.flow.script_results.clone(),
            card,
            receipt,
            applications: self.flow.all_candidates.clone(),
            oda_failure: self.flow.oda_error.clone(),
            decision,
            reason,
        };
        match outcome.decision {
            Decision::Approved | Decision::OnlineCompleted { approved: true } => {
                self.message(Message::Approved)
            }
            Decision::Declined
            | Decision::DeclinedAfterHostApproval
            | Decision::OnlineCompleted { approved: false } => self.message(Message::Declined),
            Decision::NotAccepted => self.message(Message::NotAccepted),
            Decision::TryAnotherInterface | Decision::Fallback => self.message(Message::InsertOrSwipe),
            Decision::SeePhone => self.message(Message::SeePhone),
            Decision::TryAgain => self.message(Message::TryAgain),
            Decision::Cancelled | Decision::Terminated | Decision::CardRead => {}
        }
        if self.txn.interface == Interface::Contact && self.flow.gpo_done {
            self.message(Message::RemoveCard);
        }
        self.awaiting = Awaiting::Done;
        self.actions.push_back(Action::Done(Box::new(outcome)));
    }

    /// PAN, track 2 and expiry from the card, when it gave them.
    pub(crate) fn cardholder_data(&self) -> Option<CardholderData> {
        let track2 = self.data.get(Tag(0x57)).or_else(|| self.data.get(Tag(0x9F6B)));
        let from_track = track2.and_then(crate::magstripe::pan_and_expiry);
        let pan = match self.data.get(Tag(0x5A)) {
            Some(p) => crate::data::cn_digits(p).filter(|p| !p.is_empty())?,
            None => from_track.as_ref()?.0.to_string(),
        };
        let expiry = match self.data.get(Tag(0x5F24)) {
            Some([yy, mm, _]) => format!("{yy:02X}{mm:02X}"),
            _ => from_track.map(|(_, e)| e).unwrap_or_default(),
        };
        Some(CardholderData {
            pan: zeroize::Zeroizing::new(pan),
            track2: zeroize::Zeroizing::new(track2.map(<[u8]>::to_vec).unwrap_or_default()),
            expiry,
            psn: self
                .data
                .get(Tag(0x5F34))
                .and_then(|p| p.first())
                .map(|p| format!("{p:02X}")),
        })
    }

    fn receipt(&self, card: &Option<CardholderData>, decision: &Decision) -> ReceiptData {
        let hex = |t: u32| self.data.get(Tag(t)).map(hex_upper).unwrap_or_default();
        let label = self
            .flow
            .selected
            .as_ref()
            .map(|c| c.display_name().to_owned())
            .unwrap_or_default();
        ReceiptData {
            aid: hex(0x84),
            label,
            masked_pan: card.as_ref().map(|c| mask_pan(&c.pan)).unwrap_or_default(),
            expiry: card.as_ref().map(|c| c.expiry.clone()).unwrap_or_default(),
            cryptogram_name: self
                .flow
                .cryptogram
                .map(|(t, _)| t.name().to_owned())
                .unwrap_or_default(),
            cryptogram: self
                .flow
                .cryptogram
                .map(|(_, v)| hex_upper(&v))
                .unwrap_or_default(),
            tvr: self.tvr.to_string(),
            tsi: self.tsi.to_string(),
            atc: hex(0x9F36),
            signature_required: self.cvm.needs_signature()
                && matches!(
                    decision,
                    Decision::Approved | Decision::OnlineCompleted { approved: true }
                ),
        }
    }

    fn on_response(&mut self, step: Step, data: &[u8], sw: u16) -> Result<(), KernelError> {
        if self.flow.read_only {
            return self.read_response(step, data, sw);
        }
        match self.txn.interface {
            Interface::Contact => self.contact_response(step, data, sw),
            Interface::Contactless => self.contactless_response(step, data, sw),
        }
    }
}

fn fixed_text(text: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = text.bytes().take(len).collect();
    out.resize(len, b' ');
    out
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
