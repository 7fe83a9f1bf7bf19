//! The fault log: what went wrong, classified and counted, so support can
//! tell a flaky card reader from a bad network. Details are free text from
//! the caller and are scrubbed of anything that looks like card data, hex
//! blobs included (an APDU or a PIN block never belongs here).

use rusqlite::params;

use crate::Store;
use crate::card_data::{self, Scrub};
use crate::error::{Result, StoreError};
use crate::journal::{TxnId, text_enum};

text_enum! {
    /// Fault classes.
    FaultCategory, "a fault category" {
        CardReader = "card_reader",
        Card = "card",
        PinPad = "pin_pad",
        Printer = "printer",
        Network = "network",
        HostTimeout = "host_timeout",
        HostError = "host_error",
        Mac = "mac",
        Keys = "keys",
        Qr = "qr",
        Storage = "storage",
        Other = "other",
    }
}

/// Longest detail kept, in characters.
const MAX_DETAIL: usize = 500;

/// A logged fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub id: i64,
    pub category: FaultCategory,
    pub detail: String,
    pub txn_id: Option<TxnId>,
    pub at: i64,
}

/// Faults per 100 transactions; `None` when there were no transactions.
pub fn rate_per_100(faults: u64, transactions: u64) -> Option<f64> {
    (transactions > 0).then(|| faults as f64 * 100.0 / transactions as f64)
}

impl Store {
    /// Logs a fault at `at` (unix seconds). The stored detail is scrubbed
    /// and cut to 500 characters.
    pub fn record_fault(
        &mut self,
        category: FaultCategory,
        detail: &str,
        txn_id: Option<TxnId>,
        at: i64,
    ) -> Result<i64> {
        let detail: String = card_data::scrub(detail, Scrub::Strict)
            .chars()
            .take(MAX_DETAIL)
            .collect();
        self.conn.execute(
            "INSERT INTO faults (category, detail, txn_id, at) VALUES (?1, ?2, ?3, ?4)",
            params![category.as_str(), detail, txn_id.map(|t| t.0), at],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Faults since `since` (unix seconds), newest first, at most `limit`.
    pub fn faults_since(&self, since: i64, limit: usize) -> Result<Vec<Fault>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, category, detail, txn_id, at FROM faults WHERE at >= ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![since, i64::try_from(limit).unwrap_or(i64::MAX)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(Fault {
                id: r.get(0)?,
                category: FaultCategory::parse(&r.get::<_, String>(1)?)?,
                detail: r.get(2)?,
                txn_id: r.get::<_, Option<i64>>(3)?.map(TxnId),
                at: r.get(4)?,
            });
        }
        Ok(out)
    }

    /// How many faults of each category since `since`, largest first.
    pub fn fault_counts(&self, since: i64) -> Result<Vec<(FaultCategory, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT category, COUNT(*) AS n FROM faults WHERE at >= ?1 GROUP BY category ORDER BY n DESC, category",
        )?;
        let mut rows = stmt.query([since])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(1)?;
            out.push((
                FaultCategory::parse(&r.get::<_, String>(0)?)?,
                u64::try_from(n).map_err(|_| StoreError::Corrupt { what: "a count" })?,
            ));
        }
        Ok(out)
    }

    /// Faults (of `category`, or all) per 100 transactions created since
    /// `since`; `None` without transactions.
    pub fn fault_rate(&self, category: Option<FaultCategory>, since: i64) -> Result<Option<f64>> {
        let faults: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM faults WHERE at >= ?1 AND (?2 IS NULL OR category = ?2)",
            params![since, category.map(|c| c.as_str())],
            |r| r.get(0),
        )?;
        let txns: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM transactions WHERE created_at >= ?1",
            [since],
            |r| r.get(0),
        )?;
        Ok(rate_per_100(faults.max(0) as u64, txns.max(0) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_per_hundred_and_undefined_without_transactions() {
        assert_eq!(rate_per_100(3, 200), Some(1.5));
        assert_eq!(rate_per_100(0, 10), Some(0.0));
        assert_eq!(rate_per_100(5, 0), None);
    }
}
