//! Following an order until the gateway settles it, and giving up on one
//! cleanly: the parts both directions share.

use super::*;

impl QrLink {
    /// Asks the gateway where an order stands and records the answer.
    pub async fn query(&self, store: &mut Store, order_no: &str, now: u64) -> Result<QrOutcome> {
        let order = store.qr_order(order_no)?;
        if order.state == QrOrderState::Cancelling {
            // The terminal gave up on it: finish that rather than take a
            // late "paid" as a sale.
            return self
                .give_up(store, &order, GiveUp::Recovery, Clock::start(now))
                .await;
        }
        let status = self.gateway.query(order_no).await?;
        store.record_qr_query(order_no, now as i64)?;
        let order = self.apply(store, &status, now as i64)?;
        Ok(outcome(&order, self.message_for(&status)))
    }

    /// Queries until the order settles or the deadline passes (or the
    /// cashier cancels), then gives up on it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn follow(
        &self,
        store: &mut Store,
        order_no: &str,
        mut status: Option<OrderStatus>,
        deadline: Instant,
        clock: Clock,
        events: &mut (dyn FnMut(QrEvent) + Send),
        cancel: &Cancel,
    ) -> Result<QrOutcome> {
        let mut told_waiting = false;
        loop {
            if let Some(s) = status.take() {
                if s.state == OrderState::NotFound {
                    let order = store.qr_order(order_no)?;
                    events(QrEvent::Cancelling {
                        order_no: order_no.to_owned(),
                    });
                    return self.give_up(store, &order, GiveUp::NeverReceived, clock).await;
                }
                let order = self.apply(store, &s, clock.now())?;
                if !order.state.is_open() {
                    return Ok(outcome(&order, self.message_for(&s)));
                }
                if s.state == OrderState::UserPaying && !told_waiting {
                    told_waiting = true;
                    events(QrEvent::WaitingForPassword {
                        order_no: order_no.to_owned(),
                    });
                }
            }
            let why = if cancel.is_cancelled() {
                Some(GiveUp::Cashier)
            } else if Instant::now() >= deadline {
                Some(GiveUp::Deadline)
            } else {
                None
            };
            if let Some(why) = why {
                events(QrEvent::Cancelling {
                    order_no: order_no.to_owned(),
                });
                let order = store.qr_order(order_no)?;
                return self.give_up(store, &order, why, clock).await;
            }
            let wait = self
                .settings
                .query_interval
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => continue,
            }
            status = match self.gateway.query(order_no).await {
                Ok(s) => {
                    store.record_qr_query(order_no, clock.now())?;
                    Some(s)
                }
                Err(e) => {
                    log::warn!("QR: query of {order_no} failed ({e}); retrying");
                    None
                }
            };
        }
    }

    /// Cancels (micropay) or closes (shown code) an order the terminal no
    /// longer waits for. Journaled as `cancelling` first; stays so when the
    /// gateway does not confirm, so the next recovery sends it again.
    pub(super) async fn give_up(
        &self,
        store: &mut Store,
        order: &QrOrder,
        why: GiveUp,
        clock: Clock,
    ) -> Result<QrOutcome> {
        let no = &order.merchant_order_no;
        if order.state != QrOrderState::Cancelling {
            store.update_qr_order(no, QrOrderState::Cancelling, None, clock.now())?;
        }
        let answer = match order.flow {
            QrFlow::Micropay => self.gateway.cancel(no).await,
            QrFlow::ShownCode => self.gateway.close(no).await,
        };
        match answer {
            Ok(status) => {
                let order = self.apply(store, &status, clock.now())?;
                let message = match order.state {
                    QrOrderState::Paid => None,
                    _ => Some(why.message().to_owned()),
                };
                Ok(outcome(&order, message))
            }
            // The customer paid the shown code just before it was closed.
            Err(e) if e.code() == Some(ErrorCode::OrderPaid) => {
                let status = self.gateway.query(no).await?;
                let order = self.apply(store, &status, clock.now())?;
                Ok(outcome(&order, None))
            }
            // The gateway never created it: nothing to close.
            Err(e) if e.code() == Some(ErrorCode::OrderNotFound) => {
                store.update_qr_order(no, QrOrderState::Closed, None, clock.now())?;
                Ok(outcome(&store.qr_order(no)?, Some(why.message().to_owned())))
            }
            Err(e) => {
                log::warn!("QR: cancelling {no} not confirmed ({e}); it is sent again later");
                Ok(outcome(
                    &store.qr_order(no)?,
                    Some(format!(
                        "{}; the gateway has not confirmed yet ({e}): do not hand over the goods, the \
                         terminal keeps trying",
                        why.message()
                    )),
                ))
            }
        }
    }

    /// Records what the gateway says of an order, where the journal's state
    /// machine allows it.
    pub(super) fn apply(&self, store: &mut Store, status: &OrderStatus, now: i64) -> Result<QrOrder> {
        let no = &status.order_no;
        let current = store.qr_order(no)?;
        let Some(to) = target_state(status.state) else {
            return Ok(current);
        };
        if to == current.state {
            return Ok(current);
        }
        if !current.state.can_become(to) {
            // Only a wallet that breaks its own rules gets here (a closed
            // order paid later): the journal keeps what it had; the fault
            // log and the day report show the mismatch.
            log::warn!(
                "QR: the gateway says {no} is {}, the journal has {}; journal unchanged",
                status.state,
                current.state
            );
            return Ok(current);
        }
        let txn_id = status
            .wallet_txn_id
            .as_deref()
            .filter(|id| is_valid_reference(id));
        store.update_qr_order(no, to, txn_id, now)?;
        Ok(store.qr_order(no)?)
    }

    pub(super) fn message_for(&self, status: &OrderStatus) -> Option<String> {
        match status.state {
            OrderState::Failed => Some(failure_message(status.reason).to_owned()),
            OrderState::Cancelled => Some("the order was cancelled".to_owned()),
            OrderState::Closed => Some("the order was closed unpaid".to_owned()),
            _ => None,
        }
    }

    /// Journals a new order under a fresh merchant order number.
    pub(super) fn new_order(
        &self,
        store: &mut Store,
        flow: QrFlow,
        wallet: Wallet,
        amount: u64,
        expires_at: u64,
        now: u64,
    ) -> Result<QrOrder> {
        let tid: String = {
            let id = self.gateway.terminal_id();
            id[id.len().saturating_sub(8)..].to_owned()
        };
        // The STAN log never hands out a number twice in a batch and the
        // time separates batches: the number is unique on this terminal,
        // and the journal refuses a duplicate if it ever were not.
        for _ in 0..3 {
            let seq = store.allocate_stan("qr_order", now as i64)?;
            let order_no = format!("Q{tid}{now:010}{seq:06}");
            match store.create_qr_order(&NewQrOrder {
                merchant_order_no: order_no.clone(),
                flow,
                wallet,
                amount,
                currency: self.settings.currency.clone(),
                txn_id: None,
                created_at: now as i64,
                expires_at: Some(expires_at as i64),
            }) {
                Ok(()) => return Ok(store.qr_order(&order_no)?),
                Err(StoreError::Duplicate { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TerminalError::Qr(
            "no free merchant order number; check the terminal clock".into(),
        ))
    }
}
