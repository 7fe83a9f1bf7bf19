//! The two queues the host layer drains on every connection (DESIGN rule 4
//! and the protocol notes): reversals, sent before the next transaction,
//! and store-and-forward (offline approvals, TC uploads, advices).

use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use crate::error::{Result, StoreError};
use crate::journal::{ReversalReason, TxnId, TxnState, text_enum, transition};

text_enum! {
    /// Where a reversal is.
    ReversalStatus, "a reversal status" {
        /// Queued with the request; becomes due only if no usable
        /// response is recorded (or the process restarts first).
        Provisional = "provisional",
        /// Due: send it.
        Pending = "pending",
        /// Sent at least once, not acknowledged: send it again.
        Sent = "sent",
        /// Acknowledged by the host.
        Completed = "completed",
    }
}

/// A reversal to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalEntry {
    pub txn_id: TxnId,
    pub status: ReversalStatus,
    pub reason: Option<ReversalReason>,
    pub attempts: u32,
    pub created_at: i64,
    pub updated_at: i64,
}

text_enum! {
    /// What a store-and-forward entry carries to the host.
    SafKind, "a store-and-forward kind" {
        /// An offline approval (advice, 0220) the host has not seen.
        OfflineApproval = "offline_approval",
        /// The transaction certificate of an approved chip transaction
        /// (TC upload, 0320).
        TcUpload = "tc_upload",
        /// Any other advice the host must receive.
        Advice = "advice",
    }
}

text_enum! {
    SafStatus, "a store-and-forward status" {
        Pending = "pending",
        Forwarded = "forwarded",
    }
}

/// A store-and-forward id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SafId(pub i64);

/// A store-and-forward entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafEntry {
    pub id: SafId,
    pub txn_id: TxnId,
    pub kind: SafKind,
    /// ICC data (BER-TLV), checked free of PAN, track and PIN data.
    pub payload: Vec<u8>,
    pub status: SafStatus,
    pub attempts: u32,
    pub created_at: i64,
    pub forwarded_at: Option<i64>,
}

pub(crate) fn enqueue_saf(
    conn: &Connection,
    txn_id: TxnId,
    kind: SafKind,
    payload: &[u8],
    now: i64,
) -> Result<SafId> {
    conn.execute(
        "INSERT INTO saf_queue (txn_id, kind, payload, status, created_at) VALUES (?1, ?2, ?3, 'pending', ?4)",
        params![txn_id.0, kind.as_str(), payload, now],
    )?;
    Ok(SafId(conn.last_insert_rowid()))
}

fn attempts(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        what: "an attempt count",
    })
}

impl Store {
    /// Reversals to send now (`pending` or `sent` but unacknowledged),
    /// oldest first. Provisional ones are not listed: their transaction is
    /// still waiting for its response (see [`Store::recover_in_flight`]).
    pub fn pending_reversals(&self) -> Result<Vec<ReversalEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT txn_id, status, reason, attempts, created_at, updated_at FROM reversals
             WHERE status IN ('pending', 'sent') ORDER BY created_at, txn_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(ReversalEntry {
                txn_id: TxnId(r.get(0)?),
                status: ReversalStatus::parse(&r.get::<_, String>(1)?)?,
                reason: r
                    .get::<_, Option<String>>(2)?
                    .map(|s| ReversalReason::parse(&s))
                    .transpose()?,
                attempts: attempts(r.get(3)?)?,
                created_at: r.get(4)?,
                updated_at: r.get(5)?,
            });
        }
        Ok(out)
    }

    /// The reversal of `txn_id` with its status, if one was ever queued.
    pub fn reversal(&self, txn_id: TxnId) -> Result<Option<ReversalStatus>> {
        let status: Option<String> = self
            .conn
            .query_row(
                "SELECT status FROM reversals WHERE txn_id = ?1",
                [txn_id.0],
                |r| r.get(0),
            )
            .optional()?;
        status.map(|s| ReversalStatus::parse(&s)).transpose()
    }

    /// Whether any reversal is queued and not acknowledged, provisional
    /// ones included. The binding layer refuses to unbind while it is so.
    pub fn has_reversal_pending(&self) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM reversals WHERE status != 'completed')",
            [],
            |r| r.get(0),
        )?)
    }

    /// Records an attempt to send the reversal of `txn_id` (call before
    /// sending the 0400, like `mark_sent`).
    pub fn mark_reversal_sent(&mut self, txn_id: TxnId, now: i64) -> Result<()> {
        let tx = Store::write_tx(&mut self.conn)?;
        let status = reversal_status(&tx, txn_id)?;
        if !matches!(status, ReversalStatus::Pending | ReversalStatus::Sent) {
            return Err(StoreError::InvalidTransition {
                what: "reversal",
                from: status.as_str(),
                to: ReversalStatus::Sent.as_str(),
            });
        }
        tx.execute(
            "UPDATE reversals SET status = 'sent', attempts = attempts + 1, updated_at = ?2 WHERE txn_id = ?1",
            params![txn_id.0, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The host acknowledged the reversal: it is completed and the
    /// transaction becomes `reversed`, in one commit.
    pub fn mark_reversal_completed(&mut self, txn_id: TxnId, now: i64) -> Result<()> {
        self.points.hit("reversal_completed: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let status = reversal_status(&tx, txn_id)?;
        if !matches!(status, ReversalStatus::Pending | ReversalStatus::Sent) {
            return Err(StoreError::InvalidTransition {
                what: "reversal",
                from: status.as_str(),
                to: ReversalStatus::Completed.as_str(),
            });
        }
        tx.execute(
            "UPDATE reversals SET status = 'completed', updated_at = ?2 WHERE txn_id = ?1",
            params![txn_id.0, now],
        )?;
        transition(&tx, txn_id, TxnState::Reversed, now)?;
        self.points.hit("reversal_completed: before commit");
        tx.commit()?;
        self.points.hit("reversal_completed: committed");
        Ok(())
    }

    /// Queues `payload` (ICC data, BER-TLV) for the host. Refused if it
    /// carries a PAN, track data or PIN data.
    pub fn enqueue_saf(&mut self, txn_id: TxnId, kind: SafKind, payload: &[u8], now: i64) -> Result<SafId> {
        let pan = self.reveal_pan(txn_id)?;
        crate::card_data::check_icc_data("store-and-forward payload", payload, pan.as_ref())?;
        self.points.hit("enqueue_saf: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let id = enqueue_saf(&tx, txn_id, kind, payload, now)?;
        self.points.hit("enqueue_saf: before commit");
        tx.commit()?;
        self.points.hit("enqueue_saf: committed");
        Ok(id)
    }

    /// Entries still to forward, oldest first.
    pub fn pending_saf(&self) -> Result<Vec<SafEntry>> {
        self.saf_where("WHERE status = 'pending' ORDER BY id", [])
    }

    /// Every entry of a transaction.
    pub fn saf_for(&self, txn_id: TxnId) -> Result<Vec<SafEntry>> {
        self.saf_where("WHERE txn_id = ?1 ORDER BY id", [txn_id.0])
    }

    /// Counts an attempt to forward `id` (call before sending).
    pub fn mark_saf_attempt(&mut self, id: SafId) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE saf_queue SET attempts = attempts + 1 WHERE id = ?1 AND status = 'pending'",
            [id.0],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "pending store-and-forward entry",
                id: id.0.to_string(),
            });
        }
        Ok(())
    }

    /// The host acknowledged `id`.
    pub fn mark_saf_forwarded(&mut self, id: SafId, now: i64) -> Result<()> {
        let tx = Store::write_tx(&mut self.conn)?;
        let status: Option<String> = tx
            .query_row("SELECT status FROM saf_queue WHERE id = ?1", [id.0], |r| r.get(0))
            .optional()?;
        let status = SafStatus::parse(&status.ok_or_else(|| StoreError::NotFound {
            what: "store-and-forward entry",
            id: id.0.to_string(),
        })?)?;
        if status != SafStatus::Pending {
            return Err(StoreError::InvalidTransition {
                what: "store-and-forward entry",
                from: status.as_str(),
                to: SafStatus::Forwarded.as_str(),
            });
        }
        tx.execute(
            "UPDATE saf_queue SET status = 'forwarded', forwarded_at = ?2 WHERE id = ?1",
            params![id.0, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn saf_where(&self, clause: &str, params: impl rusqlite::Params) -> Result<Vec<SafEntry>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, txn_id, kind, payload, status, attempts, created_at, forwarded_at FROM saf_queue {clause}"
        ))?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(SafEntry {
                id: SafId(r.get(0)?),
                txn_id: TxnId(r.get(1)?),
                kind: SafKind::parse(&r.get::<_, String>(2)?)?,
                payload: r.get(3)?,
                status: SafStatus::parse(&r.get::<_, String>(4)?)?,
                attempts: attempts(r.get(5)?)?,
                created_at: r.get(6)?,
                forwarded_at: r.get(7)?,
            });
        }
        Ok(out)
    }
}

fn reversal_status(conn: &Connection, txn_id: TxnId) -> Result<ReversalStatus> {
    let status: Option<String> = conn
        .query_row(
            "SELECT status FROM reversals WHERE txn_id = ?1",
            [txn_id.0],
            |r| r.get(0),
        )
        .optional()?;
    ReversalStatus::parse(&status.ok_or_else(|| StoreError::NotFound {
        what: "reversal of transaction",
        id: txn_id.to_string(),
    })?)
}
