//! PosKit storage: everything the terminal must not forget, in one SQLite
//! database.
//!
//! Owns: the transaction journal and its state machine, the reversal and
//! store-and-forward queues, counters (STAN, invoice, batch), settlement
//! batches, QR orders and their refunds, risk decisions and the counts
//! risk rules judge by, the key vault (envelope encryption under a keystore
//! the app supplies), card data at rest (PAN encrypted, keyed hash,
//! masked), the receipt-only details of card transactions, the
//! hash-chained audit trail, the fault log, settings blobs, and encrypted
//! backups.
//!
//! Does not own: what to send or when (core/host, core/terminal), the
//! binding rules (core/binding), the platform keystore (the app, through
//! [`Keystore`]). It reads no clock: every time is a unix-seconds argument.
//!
//! Rules kept here:
//! - **Durable before visible** (DESIGN rule 4): WAL, `synchronous=FULL`;
//!   every mutating call commits before it returns, and the multi-row steps
//!   of a transaction (state + reversal, response + dropped reversal, void +
//!   voided original, counters + the row that uses them) share one commit.
//! - **Card data** (DESIGN rule 5, PCI DSS): no track data, CVV or PIN
//!   block is ever stored (there is no column for them); the PAN only
//!   encrypted, hashed with a key, and masked; errors never carry card data
//!   or keys.
//! - **Bad data never panics** (rule 6): a corrupt row reads as
//!   [`StoreError::Corrupt`].

mod audit;
mod backup;
mod batches;
mod card_data;
mod counters;
mod db;
mod envelope;
mod error;
mod faults;
mod journal;
mod qr;
mod qr_refunds;
mod queues;
mod receipt_details;
mod risk;
mod schema;
mod settings;
mod vault;
mod write_points;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use audit::{AuditRecord, AuditSummary};
pub use backup::{BackupContainer, BackupSecret};
pub use batches::{BatchInfo, BatchState, BatchTotals, TotalsLine, Unsettled};
pub use card_data::Pan;
pub use counters::{COUNTER_MAX, Counters};
pub use db::Store;
pub use error::{AuditBreak, Result, StoreError};
pub use faults::{Fault, FaultCategory, rate_per_100};
pub use journal::{
    EntryMode, HostResponse, NewTransaction, Recorded, Recovery, ResponseOutcome, ReversalReason,
    TransactionRecord, TxnId, TxnKind, TxnState,
};
pub use qr::{NewQrOrder, QrFlow, QrOrder, QrOrderState, Wallet};
pub use qr_refunds::{NewQrRefund, QrRefund, QrRefundState};
pub use queues::{ReversalEntry, ReversalStatus, SafEntry, SafId, SafKind, SafStatus};
pub use receipt_details::{CryptogramKind, ReceiptDetails, Verification};
pub use risk::{NewRiskDecision, RiskDecisionId, RiskDecisionRecord, Verdict};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use settings::keys as setting_keys;
pub use vault::{
    KekKeystore, Keystore, PBKDF2_DEFAULT_ITERATIONS, PBKDF2_MIN_ITERATIONS, PassphraseKeystore,
    VaultEntryKind,
};
pub use zeroize::Zeroizing;

/// Test support only: the schema machinery, for the upgrade tests that
/// build databases at every earlier version.
#[cfg(any(test, feature = "testing"))]
pub mod schema_testing {
    use std::path::Path;

    use crate::Result;

    /// Creates a database at `path` with migrations `1..=version` applied
    /// (0: empty), using the store's connection settings, and returns the
    /// raw connection.
    pub fn create_at_version(path: &Path, version: i64) -> Result<rusqlite::Connection> {
        let mut conn = crate::db::connect(path)?;
        crate::schema::migrate_to(&mut conn, version)?;
        Ok(conn)
    }

    /// The migrations' names, in order.
    pub fn migration_names() -> Vec<&'static str> {
        crate::schema::MIGRATIONS.iter().map(|m| m.name).collect()
    }
}

#[cfg(any(test, feature = "testing"))]
impl Store {
    /// Test support: the raw connection, for tests that tamper with the
    /// file the way an attacker with file access would.
    pub fn raw_connection(&self) -> &rusqlite::Connection {
        &self.conn
    }
}
