//! The customer shows a payment code and the terminal scanned it.

use super::*;

impl QrLink {
    /// The customer shows a payment code and the terminal scanned it. A
    /// code no wallet issues, or a payment the risk rules block, is refused
    /// before anything is journaled or sent. Waits for the customer's
    /// password when the wallet asks for it, up to the payment deadline,
    /// then cancels the order.
    pub async fn micropay(
        &self,
        store: &mut Store,
        code: &str,
        amount: u64,
        now: u64,
        events: &mut (dyn FnMut(QrEvent) + Send),
        cancel: &Cancel,
    ) -> Result<QrOutcome> {
        let code = poskit_qr::classify(code)?;
        if amount == 0 {
            return Err(TerminalError::Qr("the amount must be more than zero".into()));
        }
        if cancel.is_cancelled() {
            return Err(TerminalError::Cancelled);
        }
        let decision = self.screen(store, amount, now)?;
        let clock = Clock::start(now);
        let deadline = Instant::now() + self.settings.payment_deadline;
        let order = self.new_order(
            store,
            QrFlow::Micropay,
            store_wallet(code.wallet()),
            amount,
            now + self.settings.payment_deadline.as_secs(),
            now,
        )?;
        Self::link_decision(store, decision, &order)?;
        let order_no = order.merchant_order_no.clone();
        events(QrEvent::Sending {
            order_no: order_no.clone(),
        });
        let request = MicropayRequest {
            order_no: order_no.clone(),
            auth_code: AuthCode::new(code.digits()),
            amount,
            currency: self.settings.currency.clone(),
            description: self.settings.description.clone(),
        };
        let first = match self.gateway.micropay(&request).await {
            Ok(status) => Some(status),
            // The number was used before, or the answer was lost: only a
            // query tells what happened to it.
            Err(e) if e.code() == Some(ErrorCode::DuplicateOrder) || e.outcome_unknown() => {
                log::warn!("QR: micropay {order_no} outcome unknown ({e}); querying");
                None
            }
            Err(e) => {
                // Refused, or never sent: nothing was charged.
                store.update_qr_order(&order_no, QrOrderState::Failed, None, clock.now())?;
                return Err(e.into());
            }
        };
        self.follow(store, &order_no, first, deadline, clock, events, cancel)
            .await
    }
}
