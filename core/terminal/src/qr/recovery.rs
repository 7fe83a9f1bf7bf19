//! After a restart: every order and refund left open is settled.

use super::*;

impl QrLink {
    /// After a restart (and from time to time): every order and refund the
    /// journal holds open is settled with the gateway where possible.
    pub async fn recover(&self, store: &mut Store, now: u64) -> Result<QrRecovery> {
        let clock = Clock::start(now);
        let mut report = QrRecovery::default();
        for order in store.open_qr_orders()? {
            let result = if order.state == QrOrderState::Cancelling {
                self.give_up(store, &order, GiveUp::Recovery, clock).await
            } else {
                self.recover_order(store, &order, clock).await
            };
            match result {
                Ok(o) if o.is_settled() => report.orders_settled += 1,
                Ok(_) => report.orders_open += 1,
                Err(e) => {
                    log::warn!("QR: order {} not settled yet: {e}", order.merchant_order_no);
                    report.orders_open += 1;
                }
            }
        }
        for refund in store.pending_qr_refunds()? {
            let result = match self.gateway.query_refund(&refund.refund_no).await {
                // Lost before the gateway saw it: send it again, same number.
                Ok(status) if status.state == RefundState::NotFound => {
                    let again = self.gateway.refund(&Self::refund_request(&refund)).await;
                    self.settle_refund(store, &refund, again, false, clock).await
                }
                other => self.settle_refund(store, &refund, other, true, clock).await,
            };
            match result {
                Ok(r) if r.state != QrRefundState::Pending => report.refunds_settled += 1,
                Ok(_) => report.refunds_pending += 1,
                Err(e) => {
                    log::warn!("QR: refund {} not settled: {e}", refund.refund_no);
                    if store.qr_refund(&refund.refund_no)?.state == QrRefundState::Pending {
                        report.refunds_pending += 1;
                    } else {
                        report.refunds_settled += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn recover_order(&self, store: &mut Store, order: &QrOrder, clock: Clock) -> Result<QrOutcome> {
        let no = &order.merchant_order_no;
        let status = self.gateway.query(no).await?;
        store.record_qr_query(no, clock.now())?;
        if status.state == OrderState::NotFound {
            return self.give_up(store, order, GiveUp::NeverReceived, clock).await;
        }
        let updated = self.apply(store, &status, clock.now())?;
        let expired = order.expires_at.is_none_or(|at| at <= clock.now());
        if updated.state.is_open() && expired {
            return self.give_up(store, &updated, GiveUp::Recovery, clock).await;
        }
        Ok(outcome(&updated, self.message_for(&status)))
    }
}
