//! The terminal shows a dynamic code for the customer to scan.

use super::*;

impl ShownCode {
    /// The code drawn for a terminal's text screen.
    pub fn text(&self) -> Result<String> {
        Ok(QrMatrix::encode(&self.content)
            .map_err(qr_error)?
            .to_text(Background::Dark))
    }

    /// The code as a PNG for the app's screen; `scale` pixels per module.
    pub fn png(&self, scale: u32) -> Result<Vec<u8>> {
        QrMatrix::encode(&self.content)
            .map_err(qr_error)?
            .to_png(scale)
            .map_err(qr_error)
    }
}

impl QrLink {
    /// Creates an order and the dynamic code for the customer to scan;
    /// show it, then call [`QrLink::await_payment`]. A payment the risk
    /// rules block is refused before the order is journaled.
    pub async fn show_code(
        &self,
        store: &mut Store,
        amount: u64,
        wallet: Wallet,
        now: u64,
    ) -> Result<ShownCode> {
        if amount == 0 {
            return Err(TerminalError::Qr("the amount must be more than zero".into()));
        }
        let decision = self.screen(store, amount, now)?;
        let clock = Clock::start(now);
        let lifetime = self.settings.code_lifetime.as_secs();
        let order = self.new_order(store, QrFlow::ShownCode, wallet, amount, now + lifetime, now)?;
        Self::link_decision(store, decision, &order)?;
        let order_no = order.merchant_order_no.clone();
        let request = CreateOrderRequest {
            order_no: order_no.clone(),
            amount,
            currency: self.settings.currency.clone(),
            description: self.settings.description.clone(),
            wallet: gateway_wallet(wallet),
            expires_in: u32::try_from(lifetime).unwrap_or(u32::MAX),
        };
        let created = match self.gateway.create_order(&request).await {
            Ok(created) => created,
            Err(e) if e.outcome_unknown() => {
                // The order may exist at the gateway: close the number so
                // nobody can pay a code the cashier never showed.
                let _ = self.give_up(store, &order, GiveUp::NeverReceived, clock).await;
                return Err(e.into());
            }
            Err(e) => {
                store.update_qr_order(&order_no, QrOrderState::Failed, None, clock.now())?;
                return Err(e.into());
            }
        };
        let content = match wallet {
            Wallet::EmvcoQr => self.emvco_code(&order_no, amount)?,
            _ => created.code_url,
        };
        Ok(ShownCode {
            order_no,
            wallet,
            amount,
            content,
            expires_at: created.expires_at.min((now + lifetime) as i64),
        })
    }

    /// Waits until the shown code is paid, fails or expires (then the order
    /// is closed), or the cashier cancels.
    pub async fn await_payment(
        &self,
        store: &mut Store,
        code: &ShownCode,
        now: u64,
        events: &mut (dyn FnMut(QrEvent) + Send),
        cancel: &Cancel,
    ) -> Result<QrOutcome> {
        let clock = Clock::start(now);
        let left = u64::try_from(code.expires_at).unwrap_or(0).saturating_sub(now);
        let deadline = Instant::now() + Duration::from_secs(left);
        events(QrEvent::WaitingForScan {
            order_no: code.order_no.clone(),
        });
        self.follow(store, &code.order_no, None, deadline, clock, events, cancel)
            .await
    }

    /// The EMVCo merchant-presented code for an order: dynamic, with the
    /// amount, and the order number as bill number so the gateway can
    /// match the payment to it.
    fn emvco_code(&self, order_no: &str, amount: u64) -> Result<String> {
        let m = &self.settings.merchant;
        let code = MpmBuilder::new()
            .initiation(Initiation::Dynamic)
            .merchant_account(26, &m.account_gui, [(1, m.merchant_id.as_str())])
            .merchant_category_code(&m.mcc)
            .currency(&m.currency_numeric)
            .amount_minor(amount, 2)
            .country(&m.country)
            .merchant_name(&m.name)
            .merchant_city(&m.city)
            .bill_number(order_no)
            .build()
            .map_err(qr_error)?;
        Ok(code.encode())
    }
}
