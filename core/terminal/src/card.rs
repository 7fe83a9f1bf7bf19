//! A card transaction: the EMV kernel driven against a reader, the PIN
//! collected, the host asked, and the journal kept (DESIGN rules 1 and 4):
//! the kernel is sans-IO; this is where its I/O happens.

use poskit_crypto::pin::{Pan as PinPan, Pin, PinBlockFormat, encrypt_pin_block};
use poskit_emv::magstripe::{SwipeDecision, Track2, swipe_decision};
use poskit_emv::{
    Action, Candidate, CryptogramType, Cvm, Decision, Input, Interface, Kernel, OnlineRequest,
    OnlineResponse, Outcome, PinEntry, PinKind, PinRequest, TransactionParams,
};
use poskit_iso8583::cup::{CardFields, EntryMode};
use poskit_store::{
    CryptogramKind, EntryMode as StoreEntry, FaultCategory, NewTransaction, Pan, ReceiptDetails, SafKind,
    Store, TxnId, TxnKind, TxnState, Verification,
};
use poskit_tlv::Tag;

use crate::error::{Result, TerminalError};
use crate::faults;
use crate::host::{Answer, HostLink, NoAnswer, PIN_KEY, Request};

/// Why the reader could not exchange with the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderError {
    Removed,
    Failed(String),
}

/// The card reader (contact, contactless): the app implements it.
pub trait CardReader: Send {
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
pub trait Cardholder: Send {
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
        .ok_or_else(|| TerminalError::NoKey("no PIN key: sign in first".into()))?;
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
        .map_err(|_| poskit_crypto::CryptoError::PinBlock("a format 0 PIN block is 8 bytes").into())
}

/// Runs one card transaction of `kind` (sale, pre-authorisation, balance
/// inquiry) from card detection to the outcome. A request the risk rules
/// block ends the card's session with a decline and returns
/// [`TerminalError::RiskBlocked`].
///
/// Its failures go to the fault log (see [`crate::faults`]): a card that
/// could not be read or was pulled out, a decline or a request left
/// without an answer, and the error it returns, if any. What the receipt
/// needs from the card session (label, cryptogram, TVR, TSI, cardholder
/// verification) is kept with the journal row.
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
    let result = run_card_session(host, store, kernel, params, kind, reader, cardholder, now).await;
    faults::on_exit(store, result, now)
}

#[allow(clippy::too_many_arguments)]
async fn run_card_session(
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
    // The first reader failure: what ended the session, for the fault log.
    let mut reader_fault: Option<(FaultCategory, String)> = None;
    let outcome = loop {
        let Some(action) = kernel.poll() else {
            kernel.abort("the kernel stopped without an outcome");
            continue;
        };
        match action {
            Action::Transmit(command) => match reader.transceive(&command) {
                Ok(response) => kernel.handle_response(&response),
                Err(ReaderError::Removed) => {
                    let reason = "card removed too early: present the card again";
                    reader_fault.get_or_insert((FaultCategory::CardRemoved, reason.into()));
                    kernel.abort(reason);
                }
                Err(ReaderError::Failed(e)) => {
                    let reason = format!("card reader failed: {e}");
                    reader_fault.get_or_insert((FaultCategory::CardReader, reason.clone()));
                    kernel.abort(&reason);
                }
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
    let txn = txn.or(outcome_txn(store, kind, interface, &outcome, now)?);
    if let Some((category, detail)) = reader_fault.or_else(|| session_fault(&outcome)) {
        faults::note(store, category, &detail, txn, now);
    }
    if let Some(id) = txn {
        let balance = answer
            .as_ref()
            .and_then(|a| a.balance.as_deref())
            .and_then(balance_from_field54);
        keep_receipt_details(store, id, &chip_details(&outcome, balance), now);
    }
    Ok(CardResult {
        txn,
        outcome,
        answer,
        no_answer,
    })
}

/// A card session that ended in a fault of the card or its reading.
/// Declines and lost answers are the host link's to record; a card that
/// sends the cardholder elsewhere (another interface, the phone) or
/// declines by its own risk rules is not at fault.
fn session_fault(outcome: &Outcome) -> Option<(FaultCategory, String)> {
    let reason = outcome.reason.clone().unwrap_or_default();
    match outcome.decision {
        Decision::Fallback => Some((FaultCategory::CardReader, format!("chip read failed: {reason}"))),
        Decision::Terminated => Some((FaultCategory::CardReader, format!("card session ended: {reason}"))),
        Decision::NotAccepted => Some((FaultCategory::Card, format!("card not accepted: {reason}"))),
        Decision::DeclinedAfterHostApproval => Some((
            FaultCategory::Card,
            "the card declined after the host approved; the authorisation is reversed".into(),
        )),
        _ => None,
    }
}

/// The receipt's view of a chip or contactless session.
fn chip_details(outcome: &Outcome, balance: Option<i64>) -> ReceiptDetails {
    let r = &outcome.receipt;
    ReceiptDetails {
        app_label: printable_label(&r.label),
        aid: (!r.aid.is_empty()).then(|| r.aid.clone()),
        cryptogram: outcome.cryptogram.map(|(kind, value)| {
            let kind = match kind {
                CryptogramType::Tc => CryptogramKind::Tc,
                CryptogramType::Arqc => CryptogramKind::Arqc,
                CryptogramType::Aac => CryptogramKind::Aac,
            };
            (kind, hex_digits(&value))
        }),
        tvr: Some(outcome.tvr.to_string()),
        tsi: Some(outcome.tsi.to_string()),
        verification: match outcome.cvm {
            Cvm::NoCvm => Verification::NoCvm,
            Cvm::Signature => Verification::Signature,
            Cvm::OnlinePin => Verification::OnlinePin,
            Cvm::OfflinePlaintextPin | Cvm::OfflineEncipheredPin => Verification::OfflinePin,
            Cvm::OfflinePinAndSignature => Verification::OfflinePinAndSignature,
            Cvm::ConsumerDevice => Verification::ConsumerDevice,
            Cvm::Failed => Verification::Failed,
            Cvm::NotPerformed => Verification::NotPerformed,
        },
        signature_required: r.signature_required,
        balance,
    }
}

/// The card's label as a receipt can print it (the store takes at most 32
/// printable characters).
fn printable_label(label: &str) -> Option<String> {
    let clean: String = label
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(32)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// The receipt details are a courtesy to the receipt: the transaction
/// stands without them, so a refusal only warns.
fn keep_receipt_details(store: &mut Store, id: TxnId, details: &ReceiptDetails, now: u64) {
    if let Err(e) = store.record_receipt_details(id, details, now as i64) {
        log::warn!("receipt details of transaction {id} not kept ({e}); its receipt prints without them");
    }
}

/// The balance in ISO 8583 field 54 (additional amounts: blocks of 20
/// characters, account type 2, amount type 2, currency 3, `C` or `D`,
/// amount 12 digits), in minor units: the available balance (amount type
/// 02) if given, else the first block. `None` if the field is malformed.
pub(crate) fn balance_from_field54(field: &str) -> Option<i64> {
    let bytes = field.as_bytes();
    if bytes.is_empty() || bytes.len() % 20 != 0 {
        return None;
    }
    let blocks: Vec<&[u8]> = bytes.chunks(20).collect();
    let block = blocks.iter().find(|b| &b[2..4] == b"02").or(blocks.first())?;
    let amount: i64 = std::str::from_utf8(&block[8..20]).ok()?.parse().ok()?;
    match block[7] {
        b'C' => Some(amount),
        b'D' => Some(-amount),
        _ => None,
    }
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
        // The card left (or failed) after the issuer approved, before its
        // second GENERATE AC: no TC, so the customer must not be charged.
        Decision::Terminated | Decision::Cancelled if store.transaction(id)?.state == TxnState::Approved => {
            host.card_declined_after_approval(store, id, now).await?
        }
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
/// fallback. Failures go to the fault log like a card transaction's; the
/// receipt's cardholder verification is the PIN if one was entered, else
/// the signature.
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
    let result = run_swipe(host, store, kind, amount, track2, pin, chip_failed, now).await;
    faults::on_exit(store, result, now)
}

#[allow(clippy::too_many_arguments)]
async fn run_swipe(
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
        .map_err(|e| TerminalError::CardRead(format!("card read failed: {e}; swipe again")))?;
    let entry = match swipe_decision(&track, chip_failed) {
        SwipeDecision::UseChip => {
            return Err(TerminalError::CardholderAction(
                "this card has a chip: insert the card".into(),
            ));
        }
        SwipeDecision::Fallback => EntryMode::Fallback,
        SwipeDecision::Accept => EntryMode::Swipe,
    };
    let pin_block = match pin {
        Some(pin) => Some(pin_block(store, pin, &track.pan)?),
        None if track.service_code.pin_required() => {
            return Err(TerminalError::CardholderAction(
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
    let result = host.authorise(store, &request, now).await?;
    if let Ok(answer) = &result {
        let details = ReceiptDetails {
            verification: if pin.is_some() {
                Verification::OnlinePin
            } else {
                Verification::Signature
            },
            signature_required: pin.is_none() && answer.approved,
            balance: answer.balance.as_deref().and_then(balance_from_field54),
            ..ReceiptDetails::default()
        };
        keep_receipt_details(store, answer.id, &details, now);
    }
    Ok(result)
}

/// A void, refund, completion or one of their voids, by reference to the
/// original transaction (no card needed). Failures go to the fault log.
pub async fn by_reference(
    host: &HostLink,
    store: &mut Store,
    kind: TxnKind,
    original: TxnId,
    amount: u64,
    now: u64,
) -> Result<std::result::Result<Answer, NoAnswer>> {
    let result = run_by_reference(host, store, kind, original, amount, now).await;
    faults::on_exit(store, result, now)
}

async fn run_by_reference(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_54_gives_the_available_balance_signed() {
        assert_eq!(balance_from_field54("1002156C000000010000"), Some(10_000));
        assert_eq!(
            balance_from_field54("1001156C0000000999991002156D000000000250"),
            Some(-250)
        );
        assert_eq!(balance_from_field54("1001156C000000000700"), Some(700));
        for bad in [
            "",
            "1002156C00000001000",
            "1002156X000000010000",
            "1002156C0000000100AB",
        ] {
            assert_eq!(balance_from_field54(bad), None, "{bad}");
        }
    }

    #[test]
    fn labels_lose_control_characters_and_are_cut_to_32() {
        assert_eq!(
            printable_label(" VISA\u{1b}CREDIT ").as_deref(),
            Some("VISA CREDIT")
        );
        assert_eq!(printable_label("  "), None);
        assert_eq!(printable_label(&"A".repeat(40)).unwrap().len(), 32);
    }
}
