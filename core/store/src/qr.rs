//! QR orders (WeChat Pay, Alipay, UnionPay QR, EMVCo QR). The merchant
//! order number is the wallet's idempotency key, so it is unique here too:
//! a retried payment reuses its order instead of charging twice. Orders
//! still `created` or `paying` are queried again after a restart (DESIGN
//! rule 4). Refunds of an order have records of their own
//! (`qr_refunds.rs`).

use rusqlite::{Row, params};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::journal::{TxnId, amount_from_db, amount_to_db, check_currency, check_order_no, text_enum};

text_enum! {
    Wallet, "a wallet" {
        WeChatPay = "wechat_pay",
        Alipay = "alipay",
        UnionPayQr = "unionpay_qr",
        EmvcoQr = "emvco_qr",
    }
}

text_enum! {
    /// Who shows the code: the customer (micropay: the terminal scans it)
    /// or the terminal (a dynamic code the customer scans). An order that
    /// is given up on is cancelled (reversed) in the first case and closed
    /// in the second.
    QrFlow, "a QR flow" {
        Micropay = "micropay",
        ShownCode = "shown_code",
    }
}

text_enum! {
    QrOrderState, "a QR order state" {
        Created = "created",
        /// The wallet is waiting for the customer (password, confirmation).
        Paying = "paying",
        /// The terminal gave up on the order (deadline, cashier); the cancel
        /// or close has not been confirmed by the gateway yet. Still open:
        /// it is sent again until confirmed, and never turns into a sale
        /// nobody was told of.
        Cancelling = "cancelling",
        Paid = "paid",
        Failed = "failed",
        Cancelled = "cancelled",
        /// Closed unpaid (expired, or closed by the terminal).
        Closed = "closed",
        /// Fully refunded; partial refunds leave it `paid` with
        /// `refunded_amount` set.
        Refunded = "refunded",
    }
}

impl QrOrderState {
    pub fn can_become(self, to: QrOrderState) -> bool {
        use QrOrderState::*;
        matches!(
            (self, to),
            (Created, Paying | Paid | Failed | Cancelled | Closed | Cancelling)
                | (Paying, Paid | Failed | Cancelled | Closed | Cancelling)
                // A close refused because the customer paid meanwhile.
                | (Cancelling, Cancelled | Closed | Failed | Paid)
                | (Paid, Refunded)
        )
    }

    /// Still waiting for the customer or the wallet.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            QrOrderState::Created | QrOrderState::Paying | QrOrderState::Cancelling
        )
    }
}

/// A QR order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQrOrder {
    pub merchant_order_no: String,
    pub flow: QrFlow,
    pub wallet: Wallet,
    pub amount: u64,
    pub currency: String,
    /// The journal row of the payment, if already recorded.
    pub txn_id: Option<TxnId>,
    pub created_at: i64,
    /// When a shown code stops being payable (Unix seconds); a micropay's
    /// deadline for the customer.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrOrder {
    pub merchant_order_no: String,
    pub flow: QrFlow,
    pub wallet: Wallet,
    pub amount: u64,
    pub currency: String,
    pub state: QrOrderState,
    pub refunded_amount: u64,
    pub txn_id: Option<TxnId>,
    /// The wallet's own transaction id, once known.
    pub wallet_txn_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_query_at: Option<i64>,
    pub expires_at: Option<i64>,
}

const SELECT_ORDER: &str =
    "SELECT merchant_order_no, wallet, amount, currency, state, refunded_amount, txn_id,
        wallet_txn_id, created_at, updated_at, last_query_at, flow, expires_at FROM qr_orders";

fn order_from_row(r: &Row<'_>) -> Result<QrOrder> {
    Ok(QrOrder {
        merchant_order_no: r.get(0)?,
        wallet: Wallet::parse(&r.get::<_, String>(1)?)?,
        amount: amount_from_db(r.get(2)?)?,
        currency: r.get(3)?,
        state: QrOrderState::parse(&r.get::<_, String>(4)?)?,
        refunded_amount: amount_from_db(r.get(5)?)?,
        txn_id: r.get::<_, Option<i64>>(6)?.map(TxnId),
        wallet_txn_id: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        last_query_at: r.get(10)?,
        flow: QrFlow::parse(&r.get::<_, String>(11)?)?,
        expires_at: r.get(12)?,
    })
}

pub(crate) fn load(conn: &rusqlite::Connection, merchant_order_no: &str) -> Result<QrOrder> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_ORDER} WHERE merchant_order_no = ?1"))?;
    let mut rows = stmt.query([merchant_order_no])?;
    match rows.next()? {
        Some(r) => order_from_row(r),
        None => Err(StoreError::NotFound {
            what: "QR order",
            id: merchant_order_no.to_owned(),
        }),
    }
}

impl Store {
    /// Creates an order; a merchant order number already used is
    /// [`StoreError::Duplicate`].
    pub fn create_qr_order(&mut self, order: &NewQrOrder) -> Result<()> {
        check_order_no(&order.merchant_order_no)?;
        check_currency(&order.currency)?;
        let amount = amount_to_db(order.amount)?;
        let tx = Store::write_tx(&mut self.conn)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM qr_orders WHERE merchant_order_no = ?1)",
            [&order.merchant_order_no],
            |r| r.get(0),
        )?;
        if exists {
            return Err(StoreError::Duplicate {
                what: "QR order",
                id: order.merchant_order_no.clone(),
            });
        }
        tx.execute(
            "INSERT INTO qr_orders (merchant_order_no, wallet, amount, currency, state, txn_id, created_at,
                updated_at, flow, expires_at)
             VALUES (?1, ?2, ?3, ?4, 'created', ?5, ?6, ?6, ?7, ?8)",
            params![
                order.merchant_order_no,
                order.wallet.as_str(),
                amount,
                order.currency,
                order.txn_id.map(|t| t.0),
                order.created_at,
                order.flow.as_str(),
                order.expires_at
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn qr_order(&self, merchant_order_no: &str) -> Result<QrOrder> {
        load(&self.conn, merchant_order_no)
    }

    /// Orders still `created` or `paying`: query them after a restart.
    pub fn open_qr_orders(&self) -> Result<Vec<QrOrder>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_ORDER} WHERE state IN ('created', 'paying', 'cancelling') ORDER BY created_at"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(order_from_row(r)?);
        }
        Ok(out)
    }

    /// Orders created in `[from, to)`, oldest first.
    pub fn qr_orders_between(&self, from: i64, to: i64) -> Result<Vec<QrOrder>> {
        let mut stmt = self.conn.prepare(&format!(
            "{SELECT_ORDER} WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at, rowid"
        ))?;
        let mut rows = stmt.query([from, to])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(order_from_row(r)?);
        }
        Ok(out)
    }

    /// Moves an order to `to` (state machine enforced), recording the
    /// wallet's transaction id when given.
    pub fn update_qr_order(
        &mut self,
        merchant_order_no: &str,
        to: QrOrderState,
        wallet_txn_id: Option<&str>,
        now: i64,
    ) -> Result<()> {
        if let Some(id) = wallet_txn_id {
            // The wallet's id has the same shape as an order number.
            check_order_no(id)?;
        }
        let tx = Store::write_tx(&mut self.conn)?;
        let order = load(&tx, merchant_order_no)?;
        if !order.state.can_become(to) {
            return Err(StoreError::InvalidTransition {
                what: "QR order",
                from: order.state.as_str(),
                to: to.as_str(),
            });
        }
        tx.execute(
            "UPDATE qr_orders SET state = ?2, wallet_txn_id = COALESCE(?3, wallet_txn_id), updated_at = ?4
             WHERE merchant_order_no = ?1",
            params![merchant_order_no, to.as_str(), wallet_txn_id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Notes that the wallet was queried about the order at `now`.
    pub fn record_qr_query(&mut self, merchant_order_no: &str, now: i64) -> Result<()> {
        record_query(
            &self.conn,
            "UPDATE qr_orders SET last_query_at = ?2 WHERE merchant_order_no = ?1",
            ("QR order", merchant_order_no),
            now,
        )
    }

    /// Adds an approved refund to a paid order; the order becomes
    /// `refunded` when refunded in full. Returns what is left to refund.
    ///
    /// For refunds the gateway approved that have no record of their own;
    /// a refund sent by the terminal is recorded before it leaves
    /// ([`Store::create_qr_refund`]) and applied by
    /// [`Store::complete_qr_refund`], which calls the same logic.
    pub fn record_qr_refund(&mut self, merchant_order_no: &str, amount: u64, now: i64) -> Result<u64> {
        let tx = Store::write_tx(&mut self.conn)?;
        let left = apply_refund(&tx, merchant_order_no, amount, now)?;
        tx.commit()?;
        Ok(left)
    }
}

/// Runs `update_sql` (which sets `last_query_at = ?2` of row `?1`) for
/// `row` (what it is, its id); a row that is not there is not found.
pub(crate) fn record_query(
    conn: &rusqlite::Connection,
    update_sql: &str,
    row: (&'static str, &str),
    now: i64,
) -> Result<()> {
    let (what, id) = row;
    if conn.execute(update_sql, params![id, now])? == 0 {
        return Err(StoreError::NotFound {
            what,
            id: id.to_owned(),
        });
    }
    Ok(())
}

/// Adds `amount` to the refunds of a paid order inside the caller's
/// transaction; returns what is left to refund.
pub(crate) fn apply_refund(
    tx: &rusqlite::Connection,
    merchant_order_no: &str,
    amount: u64,
    now: i64,
) -> Result<u64> {
    let order = load(tx, merchant_order_no)?;
    if order.state != QrOrderState::Paid {
        return Err(StoreError::InvalidTransition {
            what: "QR order",
            from: order.state.as_str(),
            to: QrOrderState::Refunded.as_str(),
        });
    }
    let remaining = order.amount.saturating_sub(order.refunded_amount);
    if amount == 0 || amount > remaining {
        return Err(StoreError::RefundTooLarge {
            requested: amount,
            remaining,
        });
    }
    let refunded = order.refunded_amount + amount;
    let state = if refunded == order.amount {
        QrOrderState::Refunded
    } else {
        QrOrderState::Paid
    };
    tx.execute(
        "UPDATE qr_orders SET refunded_amount = ?2, state = ?3, updated_at = ?4 WHERE merchant_order_no = ?1",
        params![merchant_order_no, amount_to_db(refunded)?, state.as_str(), now],
    )?;
    Ok(order.amount - refunded)
}
