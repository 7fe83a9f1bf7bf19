//! Settlement batches (结算): the open batch collects transactions; closing
//! it fixes its totals for the 0500 settlement request; once the host
//! agrees (or after batch upload), it is settled and so is everything
//! approved in it. Also the "anything left unsettled?" question the binding
//! layer asks before unbinding or replacing a terminal.

use rusqlite::params;

use crate::Store;
use crate::counters;
use crate::error::{Result, StoreError};
use crate::journal::{TxnKind, amount_from_db, text_enum};

text_enum! {
    BatchState, "a batch state" {
        Open = "open",
        /// Totals fixed, settlement not yet confirmed.
        Closed = "closed",
        Settled = "settled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    pub batch_no: u32,
    pub state: BatchState,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
    pub settled_at: Option<i64>,
}

/// Count and sum of one kind in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsLine {
    pub kind: TxnKind,
    pub currency: String,
    pub count: u64,
    /// Minor units.
    pub amount: u64,
}

/// A closed batch and its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchTotals {
    pub batch_no: u32,
    pub lines: Vec<TotalsLine>,
}

/// What is still open on the terminal. Unbinding (解绑) and replacement
/// require [`Unsettled::is_clear`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unsettled {
    /// Transactions pending or sent, outcome unknown.
    pub in_flight: u64,
    /// Reversals queued and not acknowledged (provisional ones included).
    pub reversals_pending: u64,
    /// Approved transactions not yet in a settled batch.
    pub approved_unsettled: u64,
    /// Closed batches whose settlement is not confirmed.
    pub batches_unsettled: u64,
    /// Store-and-forward entries not yet forwarded.
    pub saf_pending: u64,
    /// QR orders still created or paying.
    pub qr_orders_open: u64,
    /// QR refunds sent (or about to be) whose outcome is not known yet.
    pub qr_refunds_pending: u64,
}

impl Unsettled {
    pub fn is_clear(&self) -> bool {
        *self == Unsettled::default()
    }
}

fn count(conn: &rusqlite::Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn.query_row(sql, [], |r| r.get(0))?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt { what: "a count" })
}

fn compute_totals(conn: &rusqlite::Connection, batch_no: u32) -> Result<Vec<TotalsLine>> {
    // `refunded` originals still count as what they were (a sale, a
    // completion): the refund is its own line.
    let mut stmt = conn.prepare(
        "SELECT kind, currency, COUNT(*), SUM(amount) FROM transactions
         WHERE batch_no = ?1 AND state IN ('approved', 'refunded', 'settled')
         GROUP BY kind, currency ORDER BY kind, currency",
    )?;
    let mut rows = stmt.query([batch_no])?;
    let mut lines = Vec::new();
    while let Some(r) = rows.next()? {
        let kind = TxnKind::parse(&r.get::<_, String>(0)?)?;
        if !kind.counts_in_totals() {
            continue;
        }
        lines.push(TotalsLine {
            kind,
            currency: r.get(1)?,
            count: amount_from_db(r.get(2)?)?,
            amount: amount_from_db(r.get(3)?)?,
        });
    }
    Ok(lines)
}

fn batch_info(
    conn: &rusqlite::Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> Result<Option<BatchInfo>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT batch_no, state, opened_at, closed_at, settled_at FROM batches {clause}"
    ))?;
    let mut rows = stmt.query(params)?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    Ok(Some(BatchInfo {
        batch_no: u32::try_from(r.get::<_, i64>(0)?).map_err(|_| StoreError::Corrupt {
            what: "a batch number",
        })?,
        state: BatchState::parse(&r.get::<_, String>(1)?)?,
        opened_at: r.get(2)?,
        closed_at: r.get(3)?,
        settled_at: r.get(4)?,
    }))
}

impl Store {
    /// The open batch, if a transaction has opened one.
    pub fn open_batch(&self) -> Result<Option<BatchInfo>> {
        batch_info(&self.conn, "WHERE state = 'open'", [])
    }

    pub fn batch(&self, batch_no: u32) -> Result<BatchInfo> {
        batch_info(&self.conn, "WHERE batch_no = ?1", [batch_no])?.ok_or_else(|| StoreError::NotFound {
            what: "batch",
            id: batch_no.to_string(),
        })
    }

    /// The totals of a batch as they stand (for the settlement report of
    /// an open batch); a closed batch's totals are [`Store::batch_totals`].
    pub fn running_totals(&self, batch_no: u32) -> Result<Vec<TotalsLine>> {
        compute_totals(&self.conn, batch_no)
    }

    /// The totals fixed when `batch_no` was closed.
    pub fn batch_totals(&self, batch_no: u32) -> Result<Vec<TotalsLine>> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, currency, count, amount FROM batch_totals WHERE batch_no = ?1 ORDER BY kind, currency",
        )?;
        let mut rows = stmt.query([batch_no])?;
        let mut lines = Vec::new();
        while let Some(r) = rows.next()? {
            lines.push(TotalsLine {
                kind: TxnKind::parse(&r.get::<_, String>(0)?)?,
                currency: r.get(1)?,
                count: amount_from_db(r.get(2)?)?,
                amount: amount_from_db(r.get(3)?)?,
            });
        }
        Ok(lines)
    }

    /// Closes the open batch: its totals are fixed and stored, and the next
    /// batch opens at once so new transactions carry the next number.
    /// Refused while a transaction of the batch is in flight or awaiting
    /// its reversal (those must be resolved before settlement).
    pub fn close_batch(&mut self, now: i64) -> Result<BatchTotals> {
        self.points.hit("close_batch: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let batch_no = counters::open_batch(&tx, now)?;
        let busy = count(
            &tx,
            &format!(
                "SELECT COUNT(*) FROM transactions WHERE batch_no = {batch_no}
                 AND state IN ('pending', 'sent', 'reversal_pending')"
            ),
        )?;
        if busy > 0 {
            return Err(StoreError::BatchBusy {
                batch_no,
                count: busy,
            });
        }
        let lines = compute_totals(&tx, batch_no)?;
        for line in &lines {
            tx.execute(
                "INSERT INTO batch_totals (batch_no, kind, currency, count, amount) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    batch_no,
                    line.kind.as_str(),
                    line.currency,
                    crate::journal::amount_to_db(line.count)?,
                    crate::journal::amount_to_db(line.amount)?
                ],
            )?;
        }
        self.points.hit("close_batch: totals stored");
        tx.execute(
            "UPDATE batches SET state = 'closed', closed_at = ?2 WHERE batch_no = ?1",
            params![batch_no, now],
        )?;
        counters::open_batch(&tx, now)?;
        self.points.hit("close_batch: before commit");
        tx.commit()?;
        self.points.hit("close_batch: committed");
        Ok(BatchTotals { batch_no, lines })
    }

    /// The host confirmed the settlement of `batch_no`: the batch and every
    /// transaction approved in it become settled. Returns how many
    /// transactions were settled.
    pub fn mark_batch_settled(&mut self, batch_no: u32, now: i64) -> Result<u64> {
        let tx = Store::write_tx(&mut self.conn)?;
        let info =
            batch_info(&tx, "WHERE batch_no = ?1", [batch_no])?.ok_or_else(|| StoreError::NotFound {
                what: "batch",
                id: batch_no.to_string(),
            })?;
        if info.state != BatchState::Closed {
            return Err(StoreError::InvalidTransition {
                what: "batch",
                from: info.state.as_str(),
                to: BatchState::Settled.as_str(),
            });
        }
        tx.execute(
            "UPDATE batches SET state = 'settled', settled_at = ?2 WHERE batch_no = ?1",
            params![batch_no, now],
        )?;
        let n = tx.execute(
            "UPDATE transactions SET state = 'settled', updated_at = ?2 WHERE batch_no = ?1 AND state = 'approved'",
            params![batch_no, now],
        )?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Everything still open on the terminal.
    pub fn unsettled(&self) -> Result<Unsettled> {
        let c = &self.conn;
        Ok(Unsettled {
            in_flight: count(
                c,
                "SELECT COUNT(*) FROM transactions WHERE state IN ('pending', 'sent')",
            )?,
            reversals_pending: count(c, "SELECT COUNT(*) FROM reversals WHERE status != 'completed'")?,
            approved_unsettled: count(c, "SELECT COUNT(*) FROM transactions WHERE state = 'approved'")?,
            batches_unsettled: count(c, "SELECT COUNT(*) FROM batches WHERE state = 'closed'")?,
            saf_pending: count(c, "SELECT COUNT(*) FROM saf_queue WHERE status = 'pending'")?,
            qr_orders_open: count(
                c,
                "SELECT COUNT(*) FROM qr_orders WHERE state IN ('created', 'paying', 'cancelling')",
            )?,
            qr_refunds_pending: count(c, "SELECT COUNT(*) FROM qr_refunds WHERE state = 'pending'")?,
        })
    }

    /// `true` while anything is unsettled (see [`Unsettled`]).
    pub fn has_unsettled(&self) -> Result<bool> {
        Ok(!self.unsettled()?.is_clear())
    }
}
