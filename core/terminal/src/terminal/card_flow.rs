//! Card payments through the app's reader: detect the card, run the kernel
//! (chip, contactless) or the stripe, collect the PIN, and tell the
//! cashier's screen each step. Fallback and "insert the card" retries
//! happen here; the host side is [`crate::card`].

use std::sync::Arc;

use poskit_crypto::{RandomSource, SystemRandom};
use poskit_emv::magstripe::Track2;
use poskit_emv::{Candidate, Decision, Interface, PinKind, PinRequest, TransactionParams};
use poskit_store::TxnKind;

use super::outcome::{Reference, TxnOutcome, TxnStatus};
use super::{Inner, Terminal};
use crate::cancel::Cancel;
use crate::card::{self, Cardholder, PinCapture};
use crate::devices::{self, CardReader, Detected, EventListener, Interfaces, PinEntry, PinPrompt, PinResult};
use crate::error::{Result, TerminalError};
use crate::events::{PaymentMethod, TerminalEvent};
use crate::host::{Answer, NoAnswer};

/// Presentations before the terminal gives up (tap again, insert instead,
/// swipe after a chip failure).
const MAX_PRESENTATIONS: usize = 4;

/// The app's reader as the kernel driver wants it.
pub(crate) struct KernelReader<'a>(pub(crate) &'a dyn CardReader);

impl card::CardReader for KernelReader<'_> {
    fn transceive(&mut self, command: &[u8]) -> std::result::Result<Vec<u8>, card::ReaderError> {
        self.0.transceive(command).map_err(|e| match e {
            devices::ReaderError::Removed => card::ReaderError::Removed,
            other => card::ReaderError::Failed(other.to_string()),
        })
    }
}

/// The cardholder's side of the kernel: the PIN pad, the screen, and the
/// cashier's cancel button.
struct Person<'a> {
    pin_pad: &'a dyn PinEntry,
    listener: &'a dyn EventListener,
    cancel: &'a Cancel,
    amount: u64,
    cancelled: bool,
}

impl Cardholder for Person<'_> {
    fn choose(&mut self, candidates: &[Candidate]) -> Option<usize> {
        if self.cancel.is_cancelled() {
            self.cancelled = true;
            return None;
        }
        let labels = devices::labels(candidates);
        self.listener.on_event(TerminalEvent::SelectApplication {
            labels: labels.clone(),
        });
        let choice = self
            .pin_pad
            .choose_application(&labels)
            .filter(|&i| i < candidates.len());
        self.cancelled |= choice.is_none();
        choice
    }

    fn pin(&mut self, request: &PinRequest) -> PinCapture {
        if self.cancel.is_cancelled() {
            self.cancelled = true;
            return PinCapture::Cancelled;
        }
        let prompt = PinPrompt {
            online: request.kind == PinKind::Online,
            last_try: request.tries_left == Some(1),
            amount: self.amount,
        };
        self.listener.on_event(TerminalEvent::EnterPin {
            online: prompt.online,
            last_try: prompt.last_try,
        });
        let result = self.pin_pad.enter_pin(&prompt);
        if self.cancel.is_cancelled() {
            self.cancelled = true;
            return PinCapture::Cancelled;
        }
        match result {
            PinResult::Digits(pin) => PinCapture::Digits(pin),
            PinResult::Block(block) => PinCapture::Block(block),
            PinResult::Bypassed => PinCapture::Bypassed,
            PinResult::Unavailable => PinCapture::Unavailable,
            PinResult::Cancelled => {
                self.cancelled = true;
                PinCapture::Cancelled
            }
        }
    }
}

fn bcd(n: u64) -> u8 {
    (((n / 10 % 10) << 4) | (n % 10)) as u8
}

/// The kernel's transaction parameters for `amount` now: date and time
/// (UTC), a fresh unpredictable number and entropy.
pub(crate) fn params(
    interface: Interface,
    kind: TxnKind,
    amount: u64,
    now: u64,
    sequence: u32,
) -> TransactionParams {
    let (y, m, d) = crate::host::civil_date(now);
    let t = now % 86_400;
    let mut random = [0u8; 36];
    // The OS generator does not fail in practice; zeros would still run.
    let _ = SystemRandom::new().fill(&mut random);
    let mut entropy = [0u8; 32];
    entropy.copy_from_slice(&random[4..]);
    TransactionParams {
        interface,
        amount,
        other_amount: 0,
        // 9C: 00 goods and services, 30 balance inquiry (ISO 8583 p.c.).
        transaction_type: if kind == TxnKind::BalanceInquiry {
            0x30
        } else {
            0x00
        },
        date: [bcd(y as u64 % 100), bcd(m as u64), bcd(d as u64)],
        time: [bcd(t / 3600), bcd(t / 60 % 60), bcd(t % 60)],
        unpredictable_number: [random[0], random[1], random[2], random[3]],
        random_selection: random[4] % 100,
        entropy,
        sequence_counter: sequence,
        // A PBOC/UnionPay terminal goes online for every chip sale; the
        // card may still decline offline.
        force_online: true,
    }
}

/// Field 54 (balance): account type, amount type, currency, C/D, n12.
pub(crate) fn parse_balance(field54: &str) -> Option<i64> {
    let b = field54.as_bytes();
    if b.len() < 20 || !field54.is_ascii() {
        return None;
    }
    let amount: i64 = field54.get(8..20)?.parse().ok()?;
    match b[7] {
        b'C' => Some(amount),
        b'D' => Some(-amount),
        _ => None,
    }
}

impl Terminal {
    /// Waits for a card, giving way to the cashier's cancel button.
    pub(crate) async fn detect(
        &self,
        allowed: Interfaces,
        cancel: &Cancel,
    ) -> Result<std::result::Result<Detected, devices::ReaderError>> {
        if cancel.is_cancelled() {
            return Err(TerminalError::Cancelled);
        }
        let reader: Arc<dyn CardReader> = self.devices.reader.clone();
        let timeout_ms = self.card_timeout.as_millis() as u64;
        let wait = tokio::task::spawn_blocking(move || reader.detect(allowed, timeout_ms));
        tokio::select! {
            found = wait => found.map_err(|e| TerminalError::CardRead(format!("card reader stopped: {e}"))),
            _ = cancel.cancelled() => {
                // The reader stops polling, so the waiting detection ends
                // and takes no later customer's card.
                self.devices.reader.remove();
                Err(TerminalError::Cancelled)
            }
        }
    }

    /// A card payment of `kind` (sale, pre-authorisation, balance inquiry).
    pub(crate) async fn card_payment(
        &self,
        inner: &mut Inner,
        kind: TxnKind,
        amount: u64,
        cancel: &Cancel,
    ) -> Result<TxnOutcome> {
        inner.require_active()?;
        let mut allowed = Interfaces::ALL;
        let mut chip_failed = false;
        for _ in 0..MAX_PRESENTATIONS {
            self.emit(TerminalEvent::PresentCard {
                amount,
                prompt: prompt(allowed).into(),
            });
            let detected = match self.detect(allowed, cancel).await? {
                Ok(d) => d,
                Err(devices::ReaderError::ChipUnreadable) => {
                    chip_failed = true;
                    allowed = Interfaces::STRIPE;
                    self.emit(TerminalEvent::UseMagstripe);
                    continue;
                }
                Err(devices::ReaderError::Timeout) => {
                    return Err(TerminalError::CardholderAction(
                        "no card was presented in time: start again".into(),
                    ));
                }
                Err(e) => return Err(TerminalError::CardRead(format!("{e}: present the card again"))),
            };
            let next = match detected {
                Detected::Chip => self.chip(inner, kind, amount, Interface::Contact, cancel).await?,
                Detected::Contactless => {
                    self.chip(inner, kind, amount, Interface::Contactless, cancel)
                        .await?
                }
                Detected::Swiped { track2 } => self.stripe(inner, kind, amount, &track2, chip_failed).await?,
            };
            match next {
                Next::Done(outcome) => return Ok(*outcome),
                Next::Fallback => {
                    chip_failed = true;
                    allowed = Interfaces::STRIPE;
                    self.emit(TerminalEvent::UseMagstripe);
                }
                Next::Insert(reason) => {
                    allowed = Interfaces::CHIP;
                    self.emit(TerminalEvent::InsertCard { reason });
                }
                Next::Again(reason) => self.emit(TerminalEvent::Message { text: reason }),
            }
        }
        Err(TerminalError::CardRead(
            "the card could not be read: try another card or another payment method".into(),
        ))
    }

    async fn chip(
        &self,
        inner: &mut Inner,
        kind: TxnKind,
        amount: u64,
        interface: Interface,
        cancel: &Cancel,
    ) -> Result<Next> {
        let method = match interface {
            Interface::Contact => PaymentMethod::Contact,
            Interface::Contactless => PaymentMethod::Contactless,
        };
        self.emit(TerminalEvent::CardDetected { method });
        let now = crate::now();
        let sequence = inner.store().counters()?.last_stan + 1;
        let params = params(interface, kind, amount, now, sequence);
        let mut person = Person {
            pin_pad: self.devices.pin_pad.as_ref(),
            listener: self.devices.listener.as_ref(),
            cancel,
            amount,
            cancelled: false,
        };
        self.emit(TerminalEvent::Processing);
        let Inner {
            binding,
            kernel,
            host,
            ..
        } = inner;
        let host = super::bound(host)?;
        let result = card::card_transaction(
            host,
            binding.store_mut(),
            kernel,
            params,
            kind,
            &mut KernelReader(self.devices.reader.as_ref()),
            &mut person,
            now,
        )
        .await;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                self.remove_card();
                return blocked(kind, method, amount, e).map(|o| Next::Done(Box::new(o)));
            }
        };
        let outcome = result.outcome;
        let again = |s: &str| outcome.reason.clone().unwrap_or_else(|| s.to_owned());
        match outcome.decision {
            Decision::Fallback => return Ok(Next::Fallback),
            Decision::TryAnotherInterface => return Ok(Next::Insert(again("insert the card"))),
            Decision::TryAgain => return Ok(Next::Again(again("present the card again"))),
            Decision::SeePhone => return Ok(Next::Again(again("see your phone, then tap again"))),
            Decision::Cancelled if person.cancelled && result.txn.is_none() => {
                self.remove_card();
                return Err(TerminalError::Cancelled);
            }
            _ => {}
        }
        self.remove_card();
        let approved = matches!(
            outcome.decision,
            Decision::Approved | Decision::OnlineCompleted { approved: true }
        );
        let status = if approved {
            TxnStatus::Approved
        } else if matches!(result.no_answer, Some(NoAnswer::Timeout | NoAnswer::BadMac)) {
            TxnStatus::Reversed
        } else if matches!(
            outcome.decision,
            Decision::NotAccepted | Decision::Terminated | Decision::Cancelled
        ) {
            TxnStatus::Failed
        } else {
            TxnStatus::Declined
        };
        let mut out = TxnOutcome::new(kind, method, amount, status);
        out.reference = result.txn.map(|t| Reference::Txn(t.0));
        if out.reference.is_none() && result.no_answer.is_some() {
            out.reference = unanswered(binding.store(), kind, amount, now);
        }
        out.masked_pan = outcome.card.as_ref().map(|c| poskit_emv::mask_pan(&c.pan));
        out.signature_required = approved && outcome.receipt.signature_required;
        fill_answer(&mut out, result.answer.as_ref());
        out.message = match (&result.no_answer, status) {
            (_, TxnStatus::Approved) => None,
            (Some(n), _) => Some(no_answer_text(n)),
            (None, TxnStatus::Declined) if outcome.decision == Decision::DeclinedAfterHostApproval => {
                Some("the card declined after the issuer approved; the authorisation is reversed".into())
            }
            (None, _) => outcome.reason.clone().or_else(|| {
                out.response_code
                    .as_deref()
                    .map(|c| format!("declined by the issuer ({c}): ask for another payment method"))
            }),
        };
        Ok(Next::Done(Box::new(out)))
    }

    async fn stripe(
        &self,
        inner: &mut Inner,
        kind: TxnKind,
        amount: u64,
        track2: &str,
        chip_failed: bool,
    ) -> Result<Next> {
        let track = Track2::parse(track2).map_err(|e| {
            TerminalError::CardRead(format!("the stripe could not be read ({e}): swipe again"))
        })?;
        let method = if chip_failed {
            PaymentMethod::Fallback
        } else {
            PaymentMethod::Magstripe
        };
        if !chip_failed && track.service_code.has_chip() {
            return Ok(Next::Insert("this card has a chip: insert the card".into()));
        }
        self.emit(TerminalEvent::CardDetected { method });
        let pin = if track.service_code.pin_required() || kind == TxnKind::BalanceInquiry {
            let prompt = PinPrompt {
                online: true,
                last_try: false,
                amount,
            };
            self.emit(TerminalEvent::EnterPin {
                online: true,
                last_try: false,
            });
            match self.devices.pin_pad.enter_pin(&prompt) {
                PinResult::Digits(pin) => Some(pin),
                PinResult::Cancelled => return Err(TerminalError::Cancelled),
                PinResult::Block(_) | PinResult::Bypassed | PinResult::Unavailable => {
                    return Err(TerminalError::CardholderAction(
                        "this card needs an online PIN entered on the terminal: enter the PIN".into(),
                    ));
                }
            }
        } else {
            None
        };
        self.emit(TerminalEvent::Processing);
        let now = crate::now();
        let Inner { binding, host, .. } = inner;
        let host = super::bound(host)?;
        let masked = poskit_emv::mask_pan(&track.pan);
        let result = card::swipe_transaction(
            host,
            binding.store_mut(),
            kind,
            amount,
            track2,
            pin.as_ref(),
            chip_failed,
            now,
        )
        .await;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                self.remove_card();
                let mut out = blocked(kind, method, amount, e)?;
                out.masked_pan = Some(masked);
                return Ok(Next::Done(Box::new(out)));
            }
        };
        self.remove_card();
        let mut out = answer_outcome(kind, method, amount, result, Some(masked));
        if out.reference.is_none() {
            out.reference = unanswered(binding.store(), kind, amount, now);
        }
        Ok(Next::Done(Box::new(out)))
    }

    fn remove_card(&self) {
        self.emit(TerminalEvent::RemoveCard);
        self.devices.reader.remove();
    }
}

/// What the card loop does next.
enum Next {
    Done(Box<TxnOutcome>),
    Fallback,
    Insert(String),
    Again(String),
}

fn prompt(allowed: Interfaces) -> &'static str {
    match (allowed.contact, allowed.contactless, allowed.magstripe) {
        (true, true, true) => "insert, tap or swipe the card",
        (true, false, false) => "insert the card",
        (false, false, true) => "swipe the card",
        _ => "present the card",
    }
}

/// A request risk control refused is an outcome the cashier sees (nothing
/// was sent, the decision is journaled); any other error stays an error.
pub(crate) fn blocked(
    kind: TxnKind,
    method: PaymentMethod,
    amount: u64,
    err: TerminalError,
) -> Result<TxnOutcome> {
    match err {
        TerminalError::RiskBlocked { rule, reason } => {
            let mut out = TxnOutcome::new(kind, method, amount, TxnStatus::Blocked);
            out.message = Some(format!(
                "declined by risk control ({rule}): {reason}; ask for another payment method"
            ));
            Ok(out)
        }
        other => Err(other),
    }
}

/// The journal entry of a request that got no usable answer (the host
/// link reports only why): the newest of its kind and amount since `since`.
/// One operation runs at a time, so it is this one.
pub(crate) fn unanswered(
    store: &poskit_store::Store,
    kind: TxnKind,
    amount: u64,
    since: u64,
) -> Option<Reference> {
    let rows = store.transactions_between(since as i64, i64::MAX).ok()?;
    rows.iter()
        .rev()
        .find(|r| r.kind == kind && r.amount == amount)
        .map(|r| Reference::Txn(r.id.0))
}

pub(crate) fn no_answer_text(n: &NoAnswer) -> String {
    match n {
        NoAnswer::Timeout => "no answer from the host: the request is reversed; try again".into(),
        NoAnswer::BadMac => {
            "the host's answer failed its MAC check: the request is reversed; try again".into()
        }
        NoAnswer::Unreachable(e) => {
            format!("the host cannot be reached ({e}); check the network and try again")
        }
    }
}

pub(crate) fn fill_answer(out: &mut TxnOutcome, answer: Option<&Answer>) {
    if let Some(a) = answer {
        out.reference = Some(Reference::Txn(a.id.0));
        out.response_code = Some(a.response_code.clone());
        out.auth_code = a.auth_code.clone();
        out.rrn = a.rrn.clone();
        out.balance = a.balance.as_deref().and_then(parse_balance);
    }
}

/// The outcome of a request that is only the host's answer (stripe, by
/// reference).
pub(crate) fn answer_outcome(
    kind: TxnKind,
    method: PaymentMethod,
    amount: u64,
    result: std::result::Result<Answer, NoAnswer>,
    masked_pan: Option<String>,
) -> TxnOutcome {
    match result {
        Ok(answer) => {
            let status = if answer.approved {
                TxnStatus::Approved
            } else {
                TxnStatus::Declined
            };
            let mut out = TxnOutcome::new(kind, method, amount, status);
            out.masked_pan = masked_pan;
            fill_answer(&mut out, Some(&answer));
            if !answer.approved {
                out.message = Some(format!(
                    "declined by the issuer ({}): ask for another payment method",
                    answer.response_code
                ));
            }
            out
        }
        Err(n) => {
            let status = match n {
                NoAnswer::Unreachable(_) => TxnStatus::Failed,
                _ => TxnStatus::Reversed,
            };
            let mut out = TxnOutcome::new(kind, method, amount, status);
            out.masked_pan = masked_pan;
            out.message = Some(no_answer_text(&n));
            out
        }
    }
}
