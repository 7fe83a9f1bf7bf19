//! The payment operations of the Terminal: sale, pre-authorisation,
//! balance inquiry, and the operations by reference to an earlier
//! transaction (void, refund, completion).

use poskit_store::{TxnId, TxnKind, TxnState, Wallet};

use super::Terminal;
use super::card_flow::answer_outcome;
use super::outcome::{Reference, TxnOutcome};
use crate::cancel::Cancel;
use crate::error::{Result, TerminalError};
use crate::events::{PaymentMethod, TerminalEvent};

/// How the customer pays a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleMethod {
    /// Insert, tap or swipe.
    Card,
    /// The customer's wallet shows a payment code; the cashier scanned it.
    QrScan { code: String },
    /// The terminal shows a code for the customer's wallet to scan.
    QrShow { wallet: Wallet },
}

impl Terminal {
    /// A sale of `amount` (minor units).
    pub async fn sale(&self, amount: u64, method: SaleMethod, cancel: &Cancel) -> Result<TxnOutcome> {
        if amount == 0 {
            return Err(TerminalError::CardholderAction(
                "the amount must be more than zero".into(),
            ));
        }
        let mut inner = self.lock().await;
        let result = match method {
            SaleMethod::Card => self.card_payment(&mut inner, TxnKind::Sale, amount, cancel).await,
            SaleMethod::QrScan { code } => self.qr_scan(&mut inner, &code, amount, cancel).await,
            SaleMethod::QrShow { wallet } => self.qr_show(&mut inner, wallet, amount, cancel).await,
        };
        self.announce(result)
    }

    /// Holds `amount` on a card (hotel, rental); complete it later.
    pub async fn pre_auth(&self, amount: u64, cancel: &Cancel) -> Result<TxnOutcome> {
        if amount == 0 {
            return Err(TerminalError::CardholderAction(
                "the amount must be more than zero".into(),
            ));
        }
        let mut inner = self.lock().await;
        let result = self
            .card_payment(&mut inner, TxnKind::PreAuth, amount, cancel)
            .await;
        self.announce(result)
    }

    /// The card's available balance, from the issuer.
    pub async fn balance_inquiry(&self, cancel: &Cancel) -> Result<TxnOutcome> {
        let mut inner = self.lock().await;
        let result = self
            .card_payment(&mut inner, TxnKind::BalanceInquiry, 0, cancel)
            .await;
        self.announce(result)
    }

    /// Voids a sale, pre-authorisation or completion of the open batch (a
    /// QR order, which wallets cannot void, is refunded in full).
    pub async fn void(&self, reference: &Reference) -> Result<TxnOutcome> {
        let mut inner = self.lock().await;
        inner.require_active()?;
        let result = match reference {
            Reference::QrOrder(order_no) => {
                let order = inner.store().qr_order(order_no)?;
                let left = order.amount.saturating_sub(order.refunded_amount);
                self.qr_refund(&mut inner, order_no, left).await
            }
            Reference::Txn(id) => {
                let original = inner.store().transaction(TxnId(*id))?;
                let kind = match original.kind {
                    TxnKind::Sale => TxnKind::Void,
                    TxnKind::PreAuth => TxnKind::PreAuthVoid,
                    TxnKind::Completion => TxnKind::CompletionVoid,
                    other => {
                        return Err(TerminalError::CardholderAction(format!(
                            "a {other} cannot be voided: only sales, pre-authorisations and completions"
                        )));
                    }
                };
                if original.state != TxnState::Approved {
                    return Err(TerminalError::CardholderAction(format!(
                        "{reference} is {}, not approved in the open batch: it cannot be voided (refund it instead)",
                        original.state
                    )));
                }
                self.by_reference(&mut inner, kind, TxnId(*id), original.amount)
                    .await
            }
        };
        self.announce(result)
    }

    /// Refunds `amount` of an earlier sale (several partial refunds may
    /// follow, up to the sale's amount).
    pub async fn refund(&self, reference: &Reference, amount: u64) -> Result<TxnOutcome> {
        if amount == 0 {
            return Err(TerminalError::CardholderAction(
                "the refund amount must be more than zero".into(),
            ));
        }
        let mut inner = self.lock().await;
        inner.require_active()?;
        let result = match reference {
            Reference::QrOrder(order_no) => self.qr_refund(&mut inner, order_no, amount).await,
            Reference::Txn(id) => {
                let original = inner.store().transaction(TxnId(*id))?;
                if !matches!(original.kind, TxnKind::Sale | TxnKind::Completion) {
                    return Err(TerminalError::CardholderAction(format!(
                        "a {} cannot be refunded: only sales and completions",
                        original.kind
                    )));
                }
                let left = original.amount.saturating_sub(original.refunded_amount);
                if amount > left {
                    return Err(TerminalError::CardholderAction(format!(
                        "only {left} is left to refund on {reference}: enter at most that"
                    )));
                }
                self.by_reference(&mut inner, TxnKind::Refund, TxnId(*id), amount)
                    .await
            }
        };
        self.announce(result)
    }

    /// Completes a pre-authorisation for `amount` (at most what was held).
    pub async fn complete(&self, reference: &Reference, amount: u64) -> Result<TxnOutcome> {
        let Reference::Txn(id) = reference else {
            return Err(TerminalError::CardholderAction(
                "only card pre-authorisations can be completed".into(),
            ));
        };
        let mut inner = self.lock().await;
        inner.require_active()?;
        let original = inner.store().transaction(TxnId(*id))?;
        if original.kind != TxnKind::PreAuth || original.state != TxnState::Approved {
            return Err(TerminalError::CardholderAction(format!(
                "{reference} is not an approved pre-authorisation: nothing to complete"
            )));
        }
        if amount == 0 || amount > original.amount {
            return Err(TerminalError::CardholderAction(format!(
                "a completion must be between 1 and the {} held",
                original.amount
            )));
        }
        let result = self
            .by_reference(&mut inner, TxnKind::Completion, TxnId(*id), amount)
            .await;
        self.announce(result)
    }

    async fn by_reference(
        &self,
        inner: &mut super::Inner,
        kind: TxnKind,
        original: TxnId,
        amount: u64,
    ) -> Result<TxnOutcome> {
        self.emit(TerminalEvent::Processing);
        let now = crate::now();
        let super::Inner { binding, host, .. } = inner;
        let host = super::bound(host)?;
        let masked = binding.store().transaction(original)?.pan_masked;
        let result =
            match crate::card::by_reference(host, binding.store_mut(), kind, original, amount, now).await {
                Ok(r) => r,
                Err(e) => return super::card_flow::blocked(kind, PaymentMethod::Reference, amount, e),
            };
        let mut out = answer_outcome(kind, PaymentMethod::Reference, amount, result, masked);
        if out.reference.is_none() {
            out.reference = super::card_flow::unanswered(binding.store(), kind, amount, now);
        }
        Ok(out)
    }

    /// Tells the screen how it ended.
    pub(crate) fn announce(&self, result: Result<TxnOutcome>) -> Result<TxnOutcome> {
        match &result {
            Ok(o) if o.approved() => self.emit(TerminalEvent::Approved {
                reference: o.reference.as_ref().map(|r| r.to_string()).unwrap_or_default(),
                amount: o.amount,
                auth_code: o.auth_code.clone(),
            }),
            Ok(o) => {
                if o.status == super::TxnStatus::Reversed {
                    self.emit(TerminalEvent::Reversing {
                        reason: o.message.clone().unwrap_or_default(),
                    });
                }
                self.emit(TerminalEvent::Declined {
                    reference: o.reference.as_ref().map(|r| r.to_string()),
                    reason: o.message.clone().unwrap_or_else(|| "not approved".into()),
                })
            }
            Err(e) => self.emit(TerminalEvent::Declined {
                reference: None,
                reason: e.to_string(),
            }),
        }
        result
    }
}
