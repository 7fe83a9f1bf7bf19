//! Refunds, journaled before they are sent and confirmed under their own
//! refund number.

use super::*;

impl QrLink {
    /// Refunds `amount` of a paid order (several partial refunds may
    /// follow each other up to the paid amount). The refund is journaled
    /// before it is sent; an unconfirmed one stays pending and is confirmed
    /// later under the same refund number.
    pub async fn refund(
        &self,
        store: &mut Store,
        order_no: &str,
        amount: u64,
        now: u64,
    ) -> Result<QrRefundOutcome> {
        let clock = Clock::start(now);
        let refund_no = Self::new_refund_no(store, order_no)?;
        store.create_qr_refund(&NewQrRefund {
            refund_no: refund_no.clone(),
            merchant_order_no: order_no.to_owned(),
            amount,
            created_at: clock.now(),
        })?;
        let refund = store.qr_refund(&refund_no)?;
        let first = self.gateway.refund(&Self::refund_request(&refund)).await;
        self.settle_refund(store, &refund, first, false, clock).await
    }

    fn new_refund_no(store: &Store, order_no: &str) -> Result<String> {
        let base: String = order_no.chars().take(27).collect();
        let taken = store.qr_refunds_of_order(order_no)?;
        let mut n = taken.len() + 1;
        loop {
            let candidate = format!("{base}R{n:02}");
            if !taken.iter().any(|r| r.refund_no == candidate) {
                return Ok(candidate);
            }
            n += 1;
        }
    }

    pub(super) fn refund_request(refund: &QrRefund) -> RefundRequest {
        RefundRequest {
            order_no: refund.merchant_order_no.clone(),
            refund_no: refund.refund_no.clone(),
            amount: refund.amount,
            reason: String::new(),
        }
    }

    /// Records the gateway's answer to a refund (or to its query); a
    /// processing refund is queried until the payment deadline. Only a
    /// refusal of the refund itself fails it: a refused query leaves it
    /// pending.
    pub(super) async fn settle_refund(
        &self,
        store: &mut Store,
        refund: &QrRefund,
        mut answer: std::result::Result<RefundStatus, GatewayError>,
        mut is_query: bool,
        clock: Clock,
    ) -> Result<QrRefundOutcome> {
        let no = &refund.refund_no;
        let deadline = Instant::now() + self.settings.payment_deadline;
        loop {
            match answer {
                Ok(status) if status.state == RefundState::Succeeded => {
                    let remaining = store.complete_qr_refund(no, clock.now())?;
                    return Self::refund_outcome(store, no, Some(remaining));
                }
                Ok(_) => {}
                Err(e) if e.outcome_unknown() || is_query => {
                    log::warn!("QR: refund {no} outcome unknown ({e}); querying");
                }
                Err(e) => {
                    // Refused, or never sent: nothing was refunded.
                    let why = e.code().map_or("not sent", ErrorCode::as_str);
                    store.fail_qr_refund(no, why, clock.now())?;
                    return Err(e.into());
                }
            }
            if Instant::now() >= deadline {
                return Self::refund_outcome(store, no, None);
            }
            tokio::time::sleep(self.settings.query_interval).await;
            answer = self.gateway.query_refund(no).await;
            is_query = true;
            store.record_qr_refund_query(no, clock.now())?;
            if let Ok(status) = &answer
                && status.state == RefundState::NotFound
            {
                answer = self.gateway.refund(&Self::refund_request(refund)).await;
                is_query = false;
            }
        }
    }

    fn refund_outcome(store: &Store, refund_no: &str, remaining: Option<u64>) -> Result<QrRefundOutcome> {
        let r = store.qr_refund(refund_no)?;
        Ok(QrRefundOutcome {
            refund_no: r.refund_no,
            order_no: r.merchant_order_no,
            amount: r.amount,
            state: r.state,
            remaining,
        })
    }
}
