//! A card transaction: the EMV kernel driven against a reader, the PIN
//! collected, the host asked, and the journal kept (DESIGN rules 1 and 4):
//! the kernel is sans-IO; this is where its I/O happens.

use poskit_crypto::pin::{Pan as PinPan, Pin, PinBlockFormat, encrypt_pin_block};
use poskit_emv::magstripe::{SwipeDecision, Track2, swipe_decision};
use poskit_emv::{
    Action, Candidate, Decision, Input, Interface, Kernel, OnlineRequest, OnlineResponse, Outcome, PinEntry,
    PinKind, PinRequest, TransactionParams,
};
use poskit_iso8583::cup::{CardFields, EntryMode};
use poskit_store::{EntryMode as StoreEntry, NewTransaction, Pan, SafKind, Store, TxnId, TxnKind};
use poskit_tlv::Tag;

use crate::error::{Result, TerminalError};
use crate::host::{Answer, HostLink, NoAnswer, PIN_KEY, Request};

/// Why the reader could not exchange with the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderError {
    Removed,
    Failed(String),
}

/// The card reader (contact, contactless): the app implements it.
pub trait CardReader {
    fn transceive(&mut self, command: &[u8]) -> std::result::Result<Vec<u8>, ReaderError>;
}

/// How a PIN was captured.
pub enum PinCapture {
    /// PIN on glass: the core builds the format 0 block for an online PIN.
    Digits(Pin),
    /// A secure PIN pad produced the encrypted block itself.
    Block([u8; 8]),
    Bypassed,
    Unavailable,
    /// The cardholder or cashier cancelled at the PIN prompt.
    Cancelled,
}

/// The person at the terminal.
pub trait Cardholder {
    fn choose(&mut self, candidates: &[Candidate]) -> Option<usize>;
    fn pin(&mut self, request: &PinRequest) -> PinCapture;
}

/// What a card transaction ended with.
#[derive(Debug)]
pub struct CardResult {
    pub outcome: Outcome,
    pub txn: Option<TxnId>,
    pub answer: Option<Answer>,
    pub no_answer: Option<NoAnswer>,
}

fn hex_digits(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Track 2 equivalent data as field 35 digits (`D` separator, no `F` pad),
/// at most the 37 characters of ISO/IEC 7813 track 2: discretionary data
/// beyond that is dropped.
fn track2_digits(bytes: &[u8]) -> String {
    let mut digits = hex_digits(bytes).trim_end_matches('F').to_owned();
    digits.truncate(37);
    digits
}

fn entry_mode(interface: Interface) -> EntryMode {
    match interface {
        Interface::Contact => EntryMode::Chip,
        Interface::Contactless => EntryMode::Contactless,
    }
}

/// An online PIN block (ISO format 0) under the working PIN key.
pub(crate) fn pin_block(store: &Store, pin: &Pin, pan: &str) -> Result<[u8; 8]> {
    let key = store
        .get_key(PIN_KEY)?
        .ok_or_else(|| TerminalError::Io("no PIN key: sign in first".into()))?;
    let pan = PinPan::new(pan)?;
    let block = encrypt_pin_block(
        &key,
        PinBlockFormat::Iso0,
        pin,
        Some(&pan),
        &mut poskit_crypto::SystemRandom::new(),
    )?;
    block
        .try_into()
        .map_err(|_| TerminalError::Io("a format 0 PIN block is 8 bytes".into()))
}

/// Runs one card transaction of `kind` (sale, pre-authorisation, balance
/// inquiry) from card detection to the outcome. A request the risk rules
/// block ends the card's session with a decline and returns
/// [`TerminalError::RiskBlocked`].
#[allow(clippy::too_many_arguments)]
pub async fn card_transaction(
    host: &HostLink,
    store: &mut Store,
    kernel: &mut Kernel,
    params: TransactionParams,
    kind: TxnKind,
    reader: &mut dyn CardReader,
    cardholder: &mut dyn Cardholder,
    now: u64,
) -> Result<CardResult> {
    let interface = params.interface;
    let amount = params.amount;
    kernel.start(params);
    let mut captured_pin: Option<[u8; 8]> = None;
    let mut pending_pin: Option<Pin> = None;
    let mut txn = None;
    let mut answer = None;
    let mut no_answer = None;
    let mut blocked = None;
    let outcome = loop {
        let Some(action) = kernel.poll() else {
            kernel.abort("the kernel stopped without an outcome");
            continue;
        };
        match action {
            Action::Transmit(command) => match reader.transceive(&command) {
                Ok(response) => kernel.handle_response(&response),
                Err(ReaderError::Removed) => kernel.abort("card removed too early: present the card again"),
                Err(ReaderError::Failed(e)) => kernel.abort(&format!("card reader failed: {e}")),
            },
            Action::Message(_) => {}
            Action::SelectApplication(c) => match cardholder.choose(&c) {
                Some(i) => kernel.provide(Input::Application(i)),
                None => kernel.provide(Input::Cancel),
            },
            Action::NeedPin(request) => {
                let entry = match (request.kind, cardholder.pin(&request)) {
                    (_, PinCapture::Cancelled) => {
                        kernel.provide(Input::Cancel);
                        continue;
                    }
                    (PinKind::Online, PinCapture::Digits(pin)) => {
                        pending_pin = Some(pin);
                        PinEntry::Online
                    }
                    (PinKind::Online, PinCapture::Block(block)) => {
                        captured_pin = Some(block);
                        PinEntry::Online
                    }
                    (_, PinCapture::Digits(pin)) => PinEntry::Offline(pin),
                    (_, PinCapture::Block(_)) => PinEntry::PinPadUnavailable,
                    (_, PinCapture::Bypassed) => PinEntry::Bypassed,
                    (_, PinCapture::Unavailable) => PinEntry::PinPadUnavailable,
                };
                kernel.provide(Input::Pin(entry));
            }
            Action::NeedOnlineAuthorisation(request) => {
                if let Some(pin) = pending_pin.take() {
                    captured_pin = Some(pin_block(store, &pin, &request.card.pan)?);
                }
                let req = online_request(kind, amount, interface, &request, captured_pin, kernel);
                let result = match host.authorise(store, &req, now).await {
                    Err(e @ TerminalError::RiskBlocked { .. }) => {
                        // Nothing went out: the card is told the request was
                        // declined without going online, so it ends with an
                        // AAC instead of being left mid-transaction.
                        blocked = Some(e);
                        kernel.provide(Input::Online(OnlineResponse {
                            approved: false,
                            response_code: *b"Z3",
                            ..Default::default()
                        }));
                        continue;
                    }
                    other => other?,
                };
                let response = match result {
                    Ok(a) => {
                        txn = Some(a.id);
                        let r = to_kernel(&a);
                        answer = Some(a);
                        r
                    }
                    Err(n) => {
                        // No usable answer: the request is being reversed, so
                        // the card is told the issuer declined.
                        no_answer = Some(n);
                        OnlineResponse {
                            approved: false,
                            response_code: *b"98",
                            ..Default::default()
                        }
                    }
                };
                kernel.provide(Input::Online(response));
            }
            Action::Done(outcome) => break *outcome,
        }
    };
    if let Some(e) = blocked {
        return Err(e);
    }
    finish(host, store, kind, interface, &outcome, txn, now).await?;
    Ok(CardResult {
        txn: txn.or(outcome_txn(store, kind, interface, &outcome, now)?),
        outcome,
        answer,
        no_answer,
    })
}

fn online_request(
    kind: TxnKind,
    amount: u64,
    interface: Interface,
    request: &OnlineRequest,
    pin_block: Option<[u8; 8]>,
    kernel: &Kernel,
) -> Request {
    let card = &request.card;
    let aid = kernel.data().get(Tag(0x84)).map(hex_digits);
    Request {
        kind,
        amount,
        card: CardFields {
            pan: Some(card.pan.to_string()),
            expiry: (!card.expiry.is_empty()).then(|| card.expiry.clone()),
            track2: (!card.track2.is_empty()).then(|| track2_digits(&card.track2)),
            psn: card.psn.as_ref().map(|p| format!("0{p}")),
            entry_mode: Some(entry_mode(interface)),
            pin_block,
            field55: Some(request.field55.clone()),
        },
        original: None,
        aid,
    }
}

/// The host's answer as the kernel takes it: 8A, 91 and the scripts.
fn to_kernel(answer: &Answer) -> OnlineResponse {
    let mut code = [b'0'; 2];
    code.copy_from_slice(&answer.response_code.as_bytes().get(..2).unwrap_or(b"96")[..2]);
    let tlvs = answer
        .icc_data
        .as_deref()
        .and_then(|d| poskit_tlv::parse(d).ok())
        .unwrap_or_default();
    let iad = tlvs
        .iter()
        .find(|t| t.tag() == Tag(0x91))
        .map(|t| t.value().to_vec());
    let scripts: Vec<u8> = tlvs
        .iter()
        .filter(|t| matches!(t.tag().0, 0x71 | 0x72))
        .flat_map(|t| t.raw().to_vec())
        .collect();
    OnlineResponse {
        approved: answer.approved,
        response_code: code,
        issuer_authentication_data: iad,
        issuer_scripts: scripts,
        unreachable: false,
    }
}

/// After the card's last word: reverse an approval the card refused, queue
/// the TC for upload, report script results.
async fn finish(
    host: &HostLink,
    store: &mut Store,
    _kind: TxnKind,
    _interface: Interface,
    outcome: &Outcome,
    txn: Option<TxnId>,
    now: u64,
) -> Result<()> {
    let Some(id) = txn else { return Ok(()) };
    match outcome.decision {
        Decision::DeclinedAfterHostApproval => host.card_declined_after_approval(store, id, now).await?,
        Decision::Approved if !outcome.field55.is_empty() => {
            store.enqueue_saf(id, SafKind::TcUpload, &outcome.field55, now as i64)?;
        }
        _ => {}
    }
    if !outcome.script_results.is_empty() {
        let mut payload = outcome.field55.clone();
        poskit_tlv::write_tlv(Tag(0x9F5B), &outcome.script_results, &mut payload);
        store.enqueue_saf(id, SafKind::Advice, &payload, now as i64)?;
    }
    Ok(())
}

/// An offline approval (TC at the first GENERATE AC, or a contactless TC)
/// is journaled here, with its advice queued for the host.
fn outcome_txn(
    store: &mut Store,
    kind: TxnKind,
    interface: Interface,
    outcome: &Outcome,
    now: u64,
) -> Result<Option<TxnId>> {
    if outcome.went_online || outcome.decision != Decision::Approved {
        return Ok(None);
    }
    let Some(card) = &outcome.card else {
        return Ok(None);
    };
    let entry = match interface {
        Interface::Contact => StoreEntry::Contact,
        Interface::Contactless => StoreEntry::Contactless,
    };
    let amount = poskit_emv::data::bcd_to_u64(
        &poskit_tlv::find(&outcome.field55, Tag(0x9F02))
            .ok()
            .flatten()
            .map(|t| t.value().to_vec())
            .unwrap_or_default(),
    )
    .unwrap_or(0);
    let mut new = NewTransaction::new(kind, amount, "156", entry, now as i64);
    new.pan = Some(Pan::new(&card.pan)?);
    new.aid = (!outcome.receipt.aid.is_empty()).then(|| outcome.receipt.aid.clone());
    new.icc_data = Some(outcome.field55.clone());
    let recorded = store.record_new(&new)?;
    store.record_offline(recorded.id, true, Some("Y1"), &outcome.field55, now as i64)?;
    Ok(Some(recorded.id))
}

/// A magnetic stripe transaction. A chip card swiped while its chip works
/// is refused ("insert the card"); after a chip failure it goes through as
/// fallback.
#[allow(clippy::too_many_arguments)]
pub async fn swipe_transaction(
    host: &HostLink,
    store: &mut Store,
    kind: TxnKind,
    amount: u64,
    track2: &str,
    pin: Option<&Pin>,
    chip_failed: bool,
    now: u64,
) -> Result<std::result::Result<Answer, NoAnswer>> {
    let track = Track2::parse(track2)
        .map_err(|e| TerminalError::Io(format!("card read failed: {e}; swipe again")))?;
    let entry = match swipe_decision(&track, chip_failed) {
        SwipeDecision::UseChip => {
            return Err(TerminalError::Io("this card has a chip: insert the card".into()));
        }
        SwipeDecision::Fallback => EntryMode::Fallback,
        SwipeDecision::Accept => EntryMode::Swipe,
    };
    let pin_block = match pin {
        Some(pin) => Some(pin_block(store, pin, &track.pan)?),
        None if track.service_code.pin_required() => {
            return Err(TerminalError::Io(
                "the card's service code requires a PIN: enter the PIN".into(),
            ));
        }
        None => None,
    };
    let text: String = track2
        .trim()
        .trim_start_matches(';')
        .split('?')
        .next()
        .unwrap_or("")
        .replace('=', "D");
    let request = Request {
        kind,
        amount,
        card: CardFields {
            pan: Some(track.pan.to_string()),
            expiry: Some(track.expiry.clone()),
            track2: Some(text),
            psn: None,
            entry_mode: Some(entry),
            pin_block,
            field55: None,
        },
        original: None,
        aid: None,
    };
    host.authorise(store, &request, now).await
}

/// A void, refund, completion or one of their voids, by reference to the
/// original transaction (no card needed).
pub async fn by_reference(
    host: &HostLink,
    store: &mut Store,
    kind: TxnKind,
    original: TxnId,
    amount: u64,
    now: u64,
) -> Result<std::result::Result<Answer, NoAnswer>> {
    let request = Request {
        kind,
        amount,
        card: CardFields::default(),
        original: Some(original),
        aid: None,
    };
    host.authorise(store, &request, now).await
}
