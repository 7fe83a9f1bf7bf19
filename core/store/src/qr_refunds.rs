//! Refunds of QR orders. A refund is recorded `pending` before its request
//! leaves the terminal (DESIGN rule 4), so a crash or a lost answer leaves
//! a record to resolve by querying the gateway with the same refund number
//! ([`Store::pending_qr_refunds`]). The order's refunded amount moves only
//! when a refund succeeds; pending refunds still count against what is
//! left to refund, so two in flight can never together exceed the order.
//!
//! ```text
//! create_qr_refund  ->  pending  --complete_qr_refund-->  succeeded
//!                               \--fail_qr_refund------>  failed
//! ```

use rusqlite::{Connection, Row, params};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::journal::{amount_from_db, amount_to_db, check_order_no, check_reference, text_enum};
use crate::qr::{self, QrOrderState};

text_enum! {
    QrRefundState, "a QR refund state" {
        /// Recorded; the request may or may not have reached the gateway:
        /// query it by refund number.
        Pending = "pending",
        /// The gateway confirmed it; the order's refunded amount includes it.
        Succeeded = "succeeded",
        /// The gateway refused it; nothing was refunded.
        Failed = "failed",
    }
}

/// A refund to record before its request is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQrRefund {
    /// The gateway's idempotency key for the refund: reuse it for every
    /// retry and query of this refund.
    pub refund_no: String,
    pub merchant_order_no: String,
    pub amount: u64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrRefund {
    pub refund_no: String,
    pub merchant_order_no: String,
    pub amount: u64,
    pub state: QrRefundState,
    /// Why it failed: the gateway's error code.
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_query_at: Option<i64>,
}

const SELECT_REFUND: &str = "SELECT refund_no, merchant_order_no, amount, state, failure, created_at,
        updated_at, last_query_at FROM qr_refunds";

fn refund_from_row(r: &Row<'_>) -> Result<QrRefund> {
    Ok(QrRefund {
        refund_no: r.get(0)?,
        merchant_order_no: r.get(1)?,
        amount: amount_from_db(r.get(2)?)?,
        state: QrRefundState::parse(&r.get::<_, String>(3)?)?,
        failure: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        last_query_at: r.get(7)?,
    })
}

fn load(conn: &Connection, refund_no: &str) -> Result<QrRefund> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_REFUND} WHERE refund_no = ?1"))?;
    let mut rows = stmt.query([refund_no])?;
    match rows.next()? {
        Some(r) => refund_from_row(r),
        None => Err(StoreError::NotFound {
            what: "QR refund",
            id: refund_no.to_owned(),
        }),
    }
}

fn load_all(conn: &Connection, condition: &str, value: &str) -> Result<Vec<QrRefund>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT_REFUND} WHERE {condition} ORDER BY created_at, refund_no"
    ))?;
    let mut rows = stmt.query([value])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(refund_from_row(r)?);
    }
    Ok(out)
}

/// What the order's pending refunds add up to.
fn pending_sum(conn: &Connection, merchant_order_no: &str) -> Result<u64> {
    let sum: i64 = conn.query_row(
        "SELECT COALESCE(SUM(amount), 0) FROM qr_refunds WHERE merchant_order_no = ?1 AND state = 'pending'",
        [merchant_order_no],
        |r| r.get(0),
    )?;
    amount_from_db(sum)
}

impl Store {
    /// Records a refund as `pending`: call it before the refund request
    /// leaves. A refund number already used is [`StoreError::Duplicate`];
    /// an order that is not paid [`StoreError::InvalidTransition`]; more
    /// than what is left once succeeded and pending refunds are counted
    /// [`StoreError::RefundTooLarge`].
    pub fn create_qr_refund(&mut self, refund: &NewQrRefund) -> Result<()> {
        check_reference("refund number", &refund.refund_no)?;
        check_order_no(&refund.merchant_order_no)?;
        if refund.amount == 0 {
            return Err(StoreError::InvalidInput {
                field: "amount",
                reason: "a refund must be more than zero",
            });
        }
        let amount = amount_to_db(refund.amount)?;
        self.points.hit("create_qr_refund: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM qr_refunds WHERE refund_no = ?1)",
            [&refund.refund_no],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Duplicate {
                what: "QR refund",
                id: refund.refund_no.clone(),
            });
        }
        let order = qr::load(&tx, &refund.merchant_order_no)?;
        if !matches!(order.state, QrOrderState::Paid | QrOrderState::Refunded) {
            return Err(StoreError::InvalidTransition {
                what: "QR order",
                from: order.state.as_str(),
                to: QrOrderState::Refunded.as_str(),
            });
        }
        let remaining = order
            .amount
            .saturating_sub(order.refunded_amount)
            .saturating_sub(pending_sum(&tx, &refund.merchant_order_no)?);
        if refund.amount > remaining {
            return Err(StoreError::RefundTooLarge {
                requested: refund.amount,
                remaining,
            });
        }
        tx.execute(
            "INSERT INTO qr_refunds (refund_no, merchant_order_no, amount, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
            params![
                refund.refund_no,
                refund.merchant_order_no,
                amount,
                refund.created_at
            ],
        )?;
        self.points.hit("create_qr_refund: before commit");
        tx.commit()?;
        self.points.hit("create_qr_refund: committed");
        Ok(())
    }

    /// The gateway confirmed the refund: it becomes `succeeded` and the
    /// order's refunded amount grows by it, in one commit. Returns what is
    /// left to refund on the order. Idempotent: a refund already succeeded
    /// is not counted again.
    pub fn complete_qr_refund(&mut self, refund_no: &str, now: i64) -> Result<u64> {
        self.points.hit("complete_qr_refund: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let refund = load(&tx, refund_no)?;
        match refund.state {
            QrRefundState::Pending => {}
            QrRefundState::Succeeded => {
                let order = qr::load(&tx, &refund.merchant_order_no)?;
                return Ok(order.amount.saturating_sub(order.refunded_amount));
            }
            QrRefundState::Failed => {
                return Err(StoreError::InvalidTransition {
                    what: "QR refund",
                    from: QrRefundState::Failed.as_str(),
                    to: QrRefundState::Succeeded.as_str(),
                });
            }
        }
        tx.execute(
            "UPDATE qr_refunds SET state = 'succeeded', updated_at = ?2 WHERE refund_no = ?1",
            params![refund_no, now],
        )?;
        self.points.hit("complete_qr_refund: refund updated");
        let left = qr::apply_refund(&tx, &refund.merchant_order_no, refund.amount, now)?;
        self.points.hit("complete_qr_refund: before commit");
        tx.commit()?;
        self.points.hit("complete_qr_refund: committed");
        Ok(left)
    }

    /// The gateway refused the refund (`failure`: its error code, such as
    /// `refund_too_large`): it becomes `failed` and the order is untouched.
    /// Idempotent for a refund already failed.
    pub fn fail_qr_refund(&mut self, refund_no: &str, failure: &str, now: i64) -> Result<()> {
        check_reference("refund failure", failure)?;
        let tx = Store::write_tx(&mut self.conn)?;
        let refund = load(&tx, refund_no)?;
        match refund.state {
            QrRefundState::Pending => {}
            QrRefundState::Failed => return Ok(()),
            QrRefundState::Succeeded => {
                return Err(StoreError::InvalidTransition {
                    what: "QR refund",
                    from: QrRefundState::Succeeded.as_str(),
                    to: QrRefundState::Failed.as_str(),
                });
            }
        }
        tx.execute(
            "UPDATE qr_refunds SET state = 'failed', failure = ?2, updated_at = ?3 WHERE refund_no = ?1",
            params![refund_no, failure, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Notes that the gateway was queried about the refund at `now`.
    pub fn record_qr_refund_query(&mut self, refund_no: &str, now: i64) -> Result<()> {
        qr::record_query(
            &self.conn,
            "UPDATE qr_refunds SET last_query_at = ?2 WHERE refund_no = ?1",
            ("QR refund", refund_no),
            now,
        )
    }

    pub fn qr_refund(&self, refund_no: &str) -> Result<QrRefund> {
        load(&self.conn, refund_no)
    }

    /// Refunds still `pending`, oldest first: query each by refund number
    /// after a restart (or resend it: the gateway is idempotent by number).
    pub fn pending_qr_refunds(&self) -> Result<Vec<QrRefund>> {
        load_all(&self.conn, "state = ?1", QrRefundState::Pending.as_str())
    }

    /// Every refund of an order, oldest first.
    pub fn qr_refunds_of_order(&self, merchant_order_no: &str) -> Result<Vec<QrRefund>> {
        load_all(&self.conn, "merchant_order_no = ?1", merchant_order_no)
    }
}
