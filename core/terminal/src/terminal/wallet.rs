//! QR payments through the Terminal: the customer's code scanned
//! (micropay), the terminal's code shown, and refunds; the wallet's
//! progress goes to the cashier's screen as events.

use poskit_store::{QrOrderState, QrRefundState, TxnKind, Wallet};

use super::card_flow::blocked;
use super::outcome::{Reference, TxnOutcome, TxnStatus};
use super::{Inner, Terminal};
use crate::cancel::Cancel;
use crate::error::Result;
use crate::events::{PaymentMethod, TerminalEvent};
use crate::qr::{QrEvent, QrOutcome};

fn event(e: QrEvent) -> TerminalEvent {
    match e {
        QrEvent::Sending { .. } => TerminalEvent::Processing,
        QrEvent::WaitingForPassword { order_no } => TerminalEvent::WaitingForPassword { order_no },
        QrEvent::WaitingForScan { order_no } => TerminalEvent::WaitingForScan { order_no },
        QrEvent::Cancelling { order_no } => TerminalEvent::Cancelling { order_no },
    }
}

fn outcome(o: QrOutcome, method: PaymentMethod) -> TxnOutcome {
    let status = match o.state {
        QrOrderState::Paid | QrOrderState::Refunded => TxnStatus::Approved,
        QrOrderState::Failed => TxnStatus::Declined,
        QrOrderState::Cancelled | QrOrderState::Closed => TxnStatus::Cancelled,
        QrOrderState::Created | QrOrderState::Paying | QrOrderState::Cancelling => TxnStatus::Pending,
    };
    let mut out = TxnOutcome::new(TxnKind::QrSale, method, o.amount, status);
    out.reference = Some(Reference::QrOrder(o.order_no));
    out.auth_code = o.wallet_txn_id;
    out.message = o.message;
    out
}

/// The QR flows leave their failures to the caller: they go to the fault
/// log here.
fn noted<T>(store: &mut poskit_store::Store, result: Result<T>) -> Result<T> {
    crate::faults::on_exit(store, result, crate::now())
}

impl Terminal {
    pub(crate) async fn qr_scan(
        &self,
        inner: &mut Inner,
        code: &str,
        amount: u64,
        cancel: &Cancel,
    ) -> Result<TxnOutcome> {
        inner.require_active()?;
        let Inner { binding, qr, .. } = inner;
        let qr = super::qr_link(qr)?;
        let result = qr
            .micropay(
                binding.store_mut(),
                code,
                amount,
                crate::now(),
                &mut |e| self.emit(event(e)),
                cancel,
            )
            .await;
        match noted(binding.store_mut(), result) {
            Ok(r) => Ok(outcome(r, PaymentMethod::QrScanned)),
            Err(e) => blocked(TxnKind::QrSale, PaymentMethod::QrScanned, amount, e),
        }
    }

    pub(crate) async fn qr_show(
        &self,
        inner: &mut Inner,
        wallet: Wallet,
        amount: u64,
        cancel: &Cancel,
    ) -> Result<TxnOutcome> {
        inner.require_active()?;
        let Inner { binding, qr, .. } = inner;
        let qr = super::qr_link(qr)?;
        self.emit(TerminalEvent::Processing);
        let code = qr
            .show_code(binding.store_mut(), amount, wallet, crate::now())
            .await;
        let code = match noted(binding.store_mut(), code) {
            Ok(c) => c,
            Err(e) => return blocked(TxnKind::QrSale, PaymentMethod::QrShown, amount, e),
        };
        self.emit(TerminalEvent::QrShown {
            order_no: code.order_no.clone(),
            content: code.content.clone(),
            expires_at: code.expires_at,
        });
        let result = qr
            .await_payment(
                binding.store_mut(),
                &code,
                crate::now(),
                &mut |e| self.emit(event(e)),
                cancel,
            )
            .await;
        Ok(outcome(
            noted(binding.store_mut(), result)?,
            PaymentMethod::QrShown,
        ))
    }

    pub(crate) async fn qr_refund(
        &self,
        inner: &mut Inner,
        order_no: &str,
        amount: u64,
    ) -> Result<TxnOutcome> {
        let Inner { binding, qr, .. } = inner;
        let qr = super::qr_link(qr)?;
        self.emit(TerminalEvent::Processing);
        let r = qr
            .refund(binding.store_mut(), order_no, amount, crate::now())
            .await;
        let r = noted(binding.store_mut(), r)?;
        let status = match r.state {
            QrRefundState::Succeeded => TxnStatus::Approved,
            QrRefundState::Failed => TxnStatus::Declined,
            QrRefundState::Pending => TxnStatus::Pending,
        };
        let mut out = TxnOutcome::new(TxnKind::QrRefund, PaymentMethod::Reference, amount, status);
        out.reference = Some(Reference::QrOrder(r.order_no));
        out.auth_code = Some(r.refund_no);
        out.message = match status {
            TxnStatus::Pending => {
                Some("the wallet has not confirmed the refund yet; it is asked again".into())
            }
            TxnStatus::Declined => Some("the wallet refused the refund".into()),
            _ => None,
        };
        Ok(out)
    }
}
