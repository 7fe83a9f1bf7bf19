//! Prepaid cards (docs/prepaid.md): closed-loop stored-value cards issued,
//! topped up, paid with and asked for their balance at the acquirer, and
//! the PBOC electronic cash balance read from a UnionPay chip card.
//!
//! A closed-loop card is known by its number, in the programme's own range
//! ([`poskit_iso8583::cup::prepaid::BIN`]), swiped (track 2) or entered
//! (keyed, or scanned from the card's barcode). Each operation is one
//! financial request through [`HostLink::authorise`]: journaled before it
//! leaves, MACed, its answer's MAC checked, reversed when no answer comes
//! or the answer's MAC fails (the reversal goes before the next message).
//! Approvals carry the card's balance after the operation.
//!
//! PIN: optional. A PIN given at issue becomes the card's PIN; a card with
//! a PIN pays up to the programme's PIN-free limit without it and needs it
//! above (the host decides; without it the answer is [`Decline::WrongPin`]).

use poskit_crypto::pin::Pin;
use poskit_emv::ec_balance::{EcAction, EcBalance, EcBalanceReader};
use poskit_emv::magstripe::Track2;
use poskit_iso8583::cup::{self as msg, CardFields, EntryMode, parse_balance_field};
use poskit_store::{Pan, Store, TxnId, TxnKind};

use crate::card::{CardReader, ReaderError, pin_block};
use crate::error::{Result, TerminalError};
use crate::host::{HostLink, NoAnswer, Request};

/// A closed-loop prepaid card as the terminal read it. Card data: `Debug`
/// shows the number masked; nothing here is kept after the request.
#[derive(Clone)]
pub struct PrepaidCard {
    number: Pan,
    /// The stripe as read, for field 35; `None` when the number was entered.
    track: Option<Track2>,
}

impl std::fmt::Debug for PrepaidCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrepaidCard")
            .field("number", &self.masked())
            .field("swiped", &self.track.is_some())
            .finish()
    }
}

/// Checks a number read or typed; the errors never repeat it.
fn checked_number(number: &str) -> Result<Pan> {
    if !msg::prepaid::in_range(number) {
        return Err(TerminalError::CardholderAction(format!(
            "not a card of this prepaid programme (its numbers start {} and have 16 to 19 digits): \
             check the card",
            msg::prepaid::BIN
        )));
    }
    if !poskit_binding::validate::luhn_ok(number) {
        return Err(TerminalError::CardholderAction(
            "the card number's check digit is wrong: enter the number again".into(),
        ));
    }
    Ok(Pan::new(number)?)
}

impl PrepaidCard {
    /// From the magnetic stripe's track 2 (`;NUMBER=YYMMSSS...?`).
    pub fn swiped(track2: &str) -> Result<PrepaidCard> {
        let track = Track2::parse(track2)
            .map_err(|e| TerminalError::CardRead(format!("card read failed: {e}; swipe again")))?;
        let number = checked_number(&track.pan)?;
        Ok(PrepaidCard {
            number,
            track: Some(track),
        })
    }

    /// Keyed in or scanned; spaces and dashes between digit groups are
    /// ignored.
    pub fn entered(number: &str) -> Result<PrepaidCard> {
        let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        Ok(PrepaidCard {
            number: checked_number(&digits)?,
            track: None,
        })
    }

    /// First six and last four digits: what a screen or receipt may show.
    pub fn masked(&self) -> String {
        self.number.masked()
    }

    fn fields(&self, pin_block: Option<[u8; 8]>) -> CardFields {
        let pan = Some(self.number.expose_digits().to_owned());
        match &self.track {
            Some(t) => CardFields {
                pan,
                expiry: Some(t.expiry.clone()),
                track2: Some(format!(
                    "{}D{}{}{}",
                    self.number.expose_digits(),
                    t.expiry,
                    t.service_code
                        .0
                        .iter()
                        .map(|d| char::from(b'0' + d))
                        .collect::<String>(),
                    t.discretionary.as_str()
                )),
                entry_mode: Some(EntryMode::Swipe),
                pin_block,
                ..CardFields::default()
            },
            None => CardFields {
                pan,
                entry_mode: Some(EntryMode::Manual),
                pin_block,
                ..CardFields::default()
            },
        }
    }
}

/// Why the programme declined, and what the cashier does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Decline {
    #[error("the card's balance is too low: top it up or pay less")]
    InsufficientBalance,
    #[error("the programme does not know this card: check the card")]
    UnknownCard,
    #[error("this card has not been issued yet: issue it first")]
    NotActivated,
    #[error("this card is already issued: top it up instead")]
    AlreadyIssued,
    #[error("the PIN is wrong or needed for this amount: enter the card's PIN")]
    WrongPin,
    #[error("the load would take the balance over the card's limit: load less")]
    OverBalanceLimit,
    #[error("declined by the card programme (response {0}): try again or use another card")]
    Other(String),
}

impl Decline {
    fn from_code(kind: TxnKind, code: &str) -> Decline {
        match code {
            msg::response::INSUFFICIENT_FUNDS => Decline::InsufficientBalance,
            msg::response::UNKNOWN_CARD => Decline::UnknownCard,
            msg::response::NOT_ACTIVATED => Decline::NotActivated,
            msg::response::INVALID_TRANSACTION if kind == TxnKind::PrepaidIssue => Decline::AlreadyIssued,
            msg::response::WRONG_PIN => Decline::WrongPin,
            msg::response::EXCEEDS_LIMIT => Decline::OverBalanceLimit,
            other => Decline::Other(other.to_owned()),
        }
    }
}

/// An approved prepaid operation, as the receipt shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepaidReceipt {
    pub txn: TxnId,
    pub kind: TxnKind,
    /// Minor units; 0 for a balance inquiry.
    pub amount: u64,
    /// The card's balance after the operation, minor units (field 54);
    /// `None` only when the host's approval lacked a readable one.
    pub balance: Option<u64>,
    pub masked_card: String,
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
}

/// How a prepaid operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepaidOutcome {
    Approved(PrepaidReceipt),
    /// Journaled as declined; the card's balance did not move.
    Declined {
        txn: TxnId,
        response_code: String,
        reason: Decline,
    },
    /// No usable answer: the request is reversed (or its reversal queued,
    /// sent before the next message), or it never left the terminal.
    NotCompleted(NoAnswer),
}

impl PrepaidOutcome {
    /// The balance after an approved operation.
    pub fn balance(&self) -> Option<u64> {
        match self {
            PrepaidOutcome::Approved(r) => r.balance,
            _ => None,
        }
    }
}

async fn operate(
    host: &HostLink,
    store: &mut Store,
    kind: TxnKind,
    card: &PrepaidCard,
    amount: u64,
    pin: Option<&Pin>,
    now: u64,
) -> Result<PrepaidOutcome> {
    let pin_block = match pin {
        Some(p) => Some(pin_block(store, p, card.number.expose_digits())?),
        None => None,
    };
    let request = Request {
        kind,
        amount,
        card: card.fields(pin_block),
        original: None,
        aid: None,
    };
    let answer = match host.authorise(store, &request, now).await? {
        Ok(a) => a,
        Err(no_answer) => return Ok(PrepaidOutcome::NotCompleted(no_answer)),
    };
    if !answer.approved {
        return Ok(PrepaidOutcome::Declined {
            txn: answer.id,
            reason: Decline::from_code(kind, &answer.response_code),
            response_code: answer.response_code,
        });
    }
    let balance = answer
        .balance
        .as_deref()
        .and_then(parse_balance_field)
        .and_then(|b| u64::try_from(b).ok());
    Ok(PrepaidOutcome::Approved(PrepaidReceipt {
        txn: answer.id,
        kind,
        amount,
        balance,
        masked_card: card.masked(),
        rrn: answer.rrn,
        auth_code: answer.auth_code,
    }))
}

fn positive(amount: u64, what: &str) -> Result<()> {
    if amount == 0 {
        return Err(TerminalError::CardholderAction(format!(
            "enter an amount above zero to {what}"
        )));
    }
    Ok(())
}

/// Issues (activates) `card` with a first load of `amount` minor units (0:
/// activation only). With `pin`, the card gets that PIN.
pub async fn issue(
    host: &HostLink,
    store: &mut Store,
    card: &PrepaidCard,
    amount: u64,
    pin: Option<&Pin>,
    now: u64,
) -> Result<PrepaidOutcome> {
    operate(host, store, TxnKind::PrepaidIssue, card, amount, pin, now).await
}

/// Loads `amount` minor units onto an issued card.
pub async fn top_up(
    host: &HostLink,
    store: &mut Store,
    card: &PrepaidCard,
    amount: u64,
    now: u64,
) -> Result<PrepaidOutcome> {
    positive(amount, "top up")?;
    operate(host, store, TxnKind::PrepaidTopUp, card, amount, None, now).await
}

/// Pays a purchase of `amount` minor units from the card's stored value;
/// `pin` when the cardholder entered one (needed above the programme's
/// PIN-free limit on a card that has a PIN).
pub async fn pay(
    host: &HostLink,
    store: &mut Store,
    card: &PrepaidCard,
    amount: u64,
    pin: Option<&Pin>,
    now: u64,
) -> Result<PrepaidOutcome> {
    positive(amount, "pay")?;
    operate(host, store, TxnKind::PrepaidPay, card, amount, pin, now).await
}

/// The card's balance as the programme holds it.
pub async fn balance(
    host: &HostLink,
    store: &mut Store,
    card: &PrepaidCard,
    now: u64,
) -> Result<PrepaidOutcome> {
    operate(host, store, TxnKind::PrepaidBalance, card, 0, None, now).await
}

/// The PBOC electronic cash balance of a UnionPay chip card in `reader`:
/// the first of `aids` the card has that holds a purse
/// ([`poskit_emv::ec_balance::UNIONPAY_AIDS`] for any UnionPay card). A
/// local read: nothing is sent to the host or journaled.
pub fn ec_balance(reader: &mut dyn CardReader, aids: &[&[u8]]) -> Result<EcBalance> {
    let mut ec = EcBalanceReader::new(aids);
    loop {
        match ec.poll() {
            EcAction::Transmit(command) => match reader.transceive(&command) {
                Ok(response) => ec.handle_response(&response),
                Err(ReaderError::Removed) => {
                    return Err(TerminalError::CardholderAction(
                        "card removed too early: present the card again".into(),
                    ));
                }
                Err(ReaderError::Failed(e)) => {
                    return Err(TerminalError::CardRead(format!("card reader failed: {e}")));
                }
            },
            EcAction::Done(result) => {
                return result.map_err(|e| TerminalError::CardholderAction(e.to_string()));
            }
        }
    }
}
