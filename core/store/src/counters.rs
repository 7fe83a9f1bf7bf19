//! Message counters: STAN (ISO 8583 field 11), invoice (voucher) number and
//! batch number. Each is allocated inside the write transaction of the row
//! that uses it, so a counter value and its use are committed together or
//! not at all. STANs run 000001..999999 and wrap; the `stan_log` primary
//! key (batch, STAN) guarantees a STAN is never reused within a batch,
//! which is what the acquirer uses to match reversals and advices.

use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use crate::error::{Result, StoreError};

/// The largest value of a 6-digit counter.
pub const COUNTER_MAX: u32 = 999_999;

pub(crate) const STAN: &str = "stan";
pub(crate) const INVOICE: &str = "invoice";
pub(crate) const BATCH: &str = "batch";

/// The next value of a 6-digit counter: 1 after 999999 (and after 0, the
/// value of a counter never used).
pub(crate) fn next_value(last: u32) -> u32 {
    if last >= COUNTER_MAX { 1 } else { last + 1 }
}

pub(crate) fn get(conn: &Connection, name: &str) -> Result<u32> {
    let v: Option<i64> = conn
        .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| r.get(0))
        .optional()?;
    match v {
        None => Ok(0),
        Some(v) => u32::try_from(v)
            .ok()
            .filter(|v| *v <= COUNTER_MAX)
            .ok_or(StoreError::Corrupt { what: "a counter" }),
    }
}

pub(crate) fn set(conn: &Connection, name: &str, value: u32) -> Result<()> {
    conn.execute(
        "INSERT INTO counters (name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

/// The next invoice number; committed with the caller's transaction.
pub(crate) fn next_invoice(conn: &Connection) -> Result<u32> {
    let value = next_value(get(conn, INVOICE)?);
    set(conn, INVOICE, value)?;
    Ok(value)
}

/// The next STAN not yet used in `batch_no`, logged for `purpose` (and
/// `txn_id` when a journal row uses it). Committed with the caller's
/// transaction.
pub(crate) fn allocate_stan(
    conn: &Connection,
    batch_no: u32,
    purpose: &str,
    txn_id: Option<i64>,
) -> Result<u32> {
    let mut stan = get(conn, STAN)?;
    for _ in 0..COUNTER_MAX {
        stan = next_value(stan);
        let used: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM stan_log WHERE batch_no = ?1 AND stan = ?2)",
            params![batch_no, stan],
            |r| r.get(0),
        )?;
        if !used {
            conn.execute(
                "INSERT INTO stan_log (batch_no, stan, purpose, txn_id) VALUES (?1, ?2, ?3, ?4)",
                params![batch_no, stan, purpose, txn_id],
            )?;
            set(conn, STAN, stan)?;
            return Ok(stan);
        }
    }
    Err(StoreError::StansExhausted { batch_no })
}

/// The open batch, opening the next one at `now` if there is none.
pub(crate) fn open_batch(conn: &Connection, now: i64) -> Result<u32> {
    let open: Option<i64> = conn
        .query_row("SELECT batch_no FROM batches WHERE state = 'open'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(batch_no) = open {
        return u32::try_from(batch_no).map_err(|_| StoreError::Corrupt {
            what: "a batch number",
        });
    }
    let batch_no = next_value(get(conn, BATCH)?);
    conn.execute(
        "INSERT INTO batches (batch_no, state, opened_at) VALUES (?1, 'open', ?2)",
        params![batch_no, now],
    )?;
    set(conn, BATCH, batch_no)?;
    Ok(batch_no)
}

/// The counters' last values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// The last STAN handed out (0: none yet).
    pub last_stan: u32,
    /// The last invoice number handed out (0: none yet).
    pub last_invoice: u32,
    /// The last batch number opened (0: none yet).
    pub last_batch: u32,
}

impl Store {
    /// A STAN for a message that has no journal row (sign-in, settlement,
    /// batch upload, TC upload), logged against the open batch so it is not
    /// reused in it. `purpose` names the message, e.g. `"sign_in"`.
    pub fn allocate_stan(&mut self, purpose: &str, now: i64) -> Result<u32> {
        let tx = Store::write_tx(&mut self.conn)?;
        let batch_no = open_batch(&tx, now)?;
        let stan = allocate_stan(&tx, batch_no, purpose, None)?;
        tx.commit()?;
        Ok(stan)
    }

    pub fn counters(&self) -> Result<Counters> {
        Ok(Counters {
            last_stan: get(&self.conn, STAN)?,
            last_invoice: get(&self.conn, INVOICE)?,
            last_batch: get(&self.conn, BATCH)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_digit_counters_wrap_to_one() {
        assert_eq!(next_value(0), 1);
        assert_eq!(next_value(41), 42);
        assert_eq!(next_value(999_998), 999_999);
        assert_eq!(next_value(999_999), 1);
    }
}
