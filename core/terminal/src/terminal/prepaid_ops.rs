//! Prepaid cards through the Terminal: the closed-loop stored-value
//! programme (issue, top up, pay, balance) and the electronic cash purse
//! on a UnionPay chip card.

use poskit_emv::ec_balance::{EcBalance, UNIONPAY_AIDS};
use poskit_store::TxnKind;

use super::card_flow::no_answer_text;
use super::outcome::{Reference, TxnOutcome, TxnStatus};
use super::{Inner, Terminal};
use crate::cancel::Cancel;
use crate::devices::{Detected, Interfaces, PinPrompt, PinResult};
use crate::error::{Result, TerminalError};
use crate::events::{PaymentMethod, TerminalEvent};
use crate::prepaid::{self, PrepaidCard, PrepaidOutcome};

/// What to do with a prepaid card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrepaidOp {
    /// Activate with a first load (0: activation only).
    Issue {
        amount: u64,
    },
    TopUp {
        amount: u64,
    },
    Pay {
        amount: u64,
    },
    Balance,
}

/// Where the card number comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrepaidCardInput {
    /// The cashier swipes the card on the reader.
    Swipe,
    /// Typed or scanned from the card.
    Entered(String),
}

impl Terminal {
    /// A prepaid operation. With `ask_pin`, the cardholder enters the
    /// card's PIN on the PIN pad (an issue sets it; a payment above the
    /// programme's PIN-free limit needs it).
    pub async fn prepaid(
        &self,
        op: PrepaidOp,
        input: PrepaidCardInput,
        ask_pin: bool,
        cancel: &Cancel,
    ) -> Result<TxnOutcome> {
        let mut inner = self.lock().await;
        inner.require_active()?;
        let (kind, amount) = match op {
            PrepaidOp::Issue { amount } => (TxnKind::PrepaidIssue, amount),
            PrepaidOp::TopUp { amount } => (TxnKind::PrepaidTopUp, amount),
            PrepaidOp::Pay { amount } => (TxnKind::PrepaidPay, amount),
            PrepaidOp::Balance => (TxnKind::PrepaidBalance, 0),
        };
        let (card, method) = match input {
            PrepaidCardInput::Entered(number) => (PrepaidCard::entered(&number)?, PaymentMethod::Manual),
            PrepaidCardInput::Swipe => {
                self.emit(TerminalEvent::PresentCard {
                    amount,
                    prompt: "swipe the prepaid card".into(),
                });
                match self.detect(Interfaces::STRIPE, cancel).await? {
                    Ok(Detected::Swiped { track2 }) => {
                        (PrepaidCard::swiped(&track2)?, PaymentMethod::Magstripe)
                    }
                    Ok(_) => return Err(TerminalError::CardholderAction("swipe the prepaid card".into())),
                    Err(e) => return Err(TerminalError::CardRead(format!("{e}: swipe the card again"))),
                }
            }
        };
        let pin = if ask_pin {
            self.emit(TerminalEvent::EnterPin {
                online: true,
                last_try: false,
            });
            match self.devices.pin_pad.enter_pin(&PinPrompt {
                online: true,
                last_try: false,
                amount,
            }) {
                PinResult::Digits(pin) => Some(pin),
                PinResult::Cancelled => return Err(TerminalError::Cancelled),
                _ => {
                    return Err(TerminalError::CardholderAction(
                        "enter the card's PIN on the terminal's keypad".into(),
                    ));
                }
            }
        } else {
            None
        };
        self.emit(TerminalEvent::Processing);
        let now = crate::now();
        let Inner { binding, host, .. } = &mut *inner;
        let host = super::bound(host)?;
        let store = binding.store_mut();
        let result = match op {
            PrepaidOp::Issue { amount } => {
                prepaid::issue(host, store, &card, amount, pin.as_ref(), now).await
            }
            PrepaidOp::TopUp { amount } => prepaid::top_up(host, store, &card, amount, now).await,
            PrepaidOp::Pay { amount } => prepaid::pay(host, store, &card, amount, pin.as_ref(), now).await,
            PrepaidOp::Balance => prepaid::balance(host, store, &card, now).await,
        };
        let mut out = TxnOutcome::new(kind, method, amount, TxnStatus::Failed);
        out.masked_pan = Some(card.masked());
        match result? {
            PrepaidOutcome::Approved(r) => {
                out.status = TxnStatus::Approved;
                out.reference = Some(Reference::Txn(r.txn.0));
                out.balance = r.balance.and_then(|b| i64::try_from(b).ok());
                out.rrn = r.rrn;
                out.auth_code = r.auth_code;
                out.response_code = Some("00".into());
            }
            PrepaidOutcome::Declined {
                txn,
                response_code,
                reason,
            } => {
                out.status = TxnStatus::Declined;
                out.reference = Some(Reference::Txn(txn.0));
                out.response_code = Some(response_code);
                out.message = Some(reason.to_string());
            }
            PrepaidOutcome::NotCompleted(n) => {
                out.status = match n {
                    crate::host::NoAnswer::Unreachable(_) => TxnStatus::Failed,
                    _ => TxnStatus::Reversed,
                };
                out.reference = super::card_flow::unanswered(binding.store(), kind, amount, now);
                out.message = Some(no_answer_text(&n));
            }
        }
        drop(inner);
        self.announce(Ok(out))
    }

    /// The electronic cash balance of the UnionPay chip card presented
    /// (inserted or tapped): read from the card, nothing sent.
    pub async fn ec_balance(&self, cancel: &Cancel) -> Result<EcBalance> {
        let _inner = self.lock().await;
        self.emit(TerminalEvent::PresentCard {
            amount: 0,
            prompt: "insert or tap the card".into(),
        });
        let allowed = Interfaces {
            contact: true,
            contactless: true,
            magstripe: false,
        };
        match self.detect(allowed, cancel).await? {
            Ok(Detected::Chip | Detected::Contactless) => {}
            Ok(Detected::Swiped { .. }) => {
                return Err(TerminalError::CardholderAction("insert or tap the card".into()));
            }
            Err(e) => return Err(TerminalError::CardRead(format!("{e}: present the card again"))),
        }
        let mut reader = super::card_flow::KernelReader(self.devices.reader.as_ref());
        let result = prepaid::ec_balance(&mut reader, &UNIONPAY_AIDS);
        self.emit(TerminalEvent::RemoveCard);
        self.devices.reader.remove();
        result
    }
}
