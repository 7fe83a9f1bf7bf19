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
    /// Fault classes. The stored names never change: a name written by an
    /// earlier version must still read back.
    FaultCategory, "a fault category" {
        /// The card could not be read: the reader failed, the chip did not
        /// answer properly, the stripe did not decode.
        CardReader = "card_reader",
        /// The card was pulled out (or moved off the field) mid-session.
        CardRemoved = "card_removed",
        /// The card itself refused or is unusable (blocked, expired,
        /// unsupported application).
        Card = "card",
        PinPad = "pin_pad",
        Printer = "printer",
        /// No connection, or it broke before an answer came.
        Network = "network",
        /// Sent, no answer in time.
        HostTimeout = "host_timeout",
        /// The host answered with a message the terminal cannot accept.
        HostError = "host_error",
        /// A MAC failed, ours at the host or the host's here.
        Mac = "mac",
        /// Host declines by response-code group: insufficient funds (51).
        DeclineFunds = "decline_funds",
        /// Wrong PIN or PIN tries exceeded (55, 75, 38).
        DeclinePin = "decline_pin",
        /// The issuer could not be reached (91, 92, 96).
        DeclineIssuerUnavailable = "decline_issuer_unavailable",
        /// Refer to the card issuer (01, 02).
        DeclineRefer = "decline_refer",
        /// The card is not accepted: invalid, expired, restricted, lost or
        /// stolen (04, 07, 14, 33, 41, 43, 54, 62).
        DeclineCard = "decline_card",
        /// Any other decline code.
        DeclineOther = "decline_other",
        /// The key vault, the platform keystore, or a working key missing
        /// or failing its check.
        Keys = "keys",
        /// A setting or downloaded parameter the terminal cannot work
        /// with, or an operation the terminal's state does not allow.
        Configuration = "configuration",
        Qr = "qr",
        Storage = "storage",
        Other = "other",
    }
}

impl FaultCategory {
    /// A short English name for reports.
    pub const fn label(self) -> &'static str {
        match self {
            FaultCategory::CardReader => "card read",
            FaultCategory::CardRemoved => "card removed",
            FaultCategory::Card => "card refused",
            FaultCategory::PinPad => "PIN pad",
            FaultCategory::Printer => "printer",
            FaultCategory::Network => "network",
            FaultCategory::HostTimeout => "host timeout",
            FaultCategory::HostError => "host error",
            FaultCategory::Mac => "MAC",
            FaultCategory::DeclineFunds => "host decline: insufficient funds (51)",
            FaultCategory::DeclinePin => "host decline: PIN (55, 75, 38)",
            FaultCategory::DeclineIssuerUnavailable => "host decline: issuer unavailable (91, 92, 96)",
            FaultCategory::DeclineRefer => "host decline: refer to issuer (01, 02)",
            FaultCategory::DeclineCard => "host decline: card not accepted (04, 07, 14, 33, 41, 43, 54, 62)",
            FaultCategory::DeclineOther => "host decline: other",
            FaultCategory::Keys => "keystore",
            FaultCategory::Configuration => "configuration",
            FaultCategory::Qr => "QR",
            FaultCategory::Storage => "storage",
            FaultCategory::Other => "other",
        }
    }

    /// Whether this is a host decline.
    pub const fn is_decline(self) -> bool {
        matches!(
            self,
            FaultCategory::DeclineFunds
                | FaultCategory::DeclinePin
                | FaultCategory::DeclineIssuerUnavailable
                | FaultCategory::DeclineRefer
                | FaultCategory::DeclineCard
                | FaultCategory::DeclineOther
        )
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

    /// How many transactions were created since `since` (unix seconds):
    /// the denominator of the fault rates.
    pub fn transaction_count_since(&self, since: i64) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM transactions WHERE created_at >= ?1",
            [since],
            |r| r.get(0),
        )?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt { what: "a count" })
    }

    /// Faults (of `category`, or all) per 100 transactions created since
    /// `since`; `None` without transactions.
    pub fn fault_rate(&self, category: Option<FaultCategory>, since: i64) -> Result<Option<f64>> {
        let faults: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM faults WHERE at >= ?1 AND (?2 IS NULL OR category = ?2)",
            params![since, category.map(|c| c.as_str())],
            |r| r.get(0),
        )?;
        let txns = self.transaction_count_since(since)?;
        Ok(rate_per_100(faults.max(0) as u64, txns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_of_earlier_versions_still_read() {
        for name in [
            "card_reader",
            "card",
            "pin_pad",
            "printer",
            "network",
            "host_timeout",
            "host_error",
            "mac",
            "keys",
            "qr",
            "storage",
            "other",
        ] {
            assert_eq!(FaultCategory::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rate_is_per_hundred_and_undefined_without_transactions() {
        assert_eq!(rate_per_100(3, 200), Some(1.5));
        assert_eq!(rate_per_100(0, 10), Some(0.0));
        assert_eq!(rate_per_100(5, 0), None);
    }
}
