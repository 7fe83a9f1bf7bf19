//! The crate's one error type. Each variant is something a caller handles
//! differently; messages name what was wrong and what to do, and never carry
//! a PAN, track data, a PIN block, a key or a passphrase (DESIGN rule 5):
//! the only values they show are ids, counters and state names.

use std::fmt;

/// Everything that can go wrong in `poskit-store`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The keystore, passphrase or backup key does not open this data.
    /// Nothing was changed.
    #[error("the key or passphrase does not open this data: check it and retry")]
    WrongKey,
    /// Authenticated data failed its integrity check: a backup or a stored
    /// secret was altered or damaged. Nothing was changed.
    #[error("{0} failed its integrity check: it was altered or damaged")]
    Tampered(&'static str),
    /// A state machine refused the move; the record is unchanged.
    #[error("{what} cannot go from {from} to {to}")]
    InvalidTransition {
        what: &'static str,
        from: &'static str,
        to: &'static str,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id} already exists")]
    Duplicate { what: &'static str, id: String },
    /// The caller passed something the store will not record.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        field: &'static str,
        reason: &'static str,
    },
    /// Data that would put sensitive card data at rest (track data, a PAN
    /// or a PIN block inside ICC data, ...) was refused.
    #[error("{field} carries sensitive card data ({what}); it is not stored")]
    CardDataRefused { field: &'static str, what: &'static str },
    /// A refund (or QR refund) larger than what is left to refund.
    #[error("refund of {requested} exceeds the {remaining} left to refund")]
    RefundTooLarge { requested: u64, remaining: u64 },
    /// Every STAN of the batch is used: settle the batch first.
    #[error("all 999999 STANs of batch {batch_no} are used: settle the batch")]
    StansExhausted { batch_no: u32 },
    /// The batch cannot close while a transaction is in flight or a
    /// reversal is due: finish or reverse them first.
    #[error("batch {batch_no} has {count} transaction(s) in flight or awaiting reversal")]
    BatchBusy { batch_no: u32, count: u64 },
    /// The audit chain is broken at `record` (its sequence number).
    #[error("audit trail broken at record {record}: {reason}")]
    AuditBroken { record: i64, reason: AuditBreak },
    /// A stored value cannot be read back (wrong type, unknown name, bad
    /// length). The row is left as it is for investigation.
    #[error("corrupt data in {what}")]
    Corrupt { what: &'static str },
    /// The database was written by a newer version of the SDK.
    #[error("database schema version {found} is newer than this SDK supports ({supported}): update the app")]
    SchemaTooNew { found: i64, supported: i64 },
    /// The database is locked by another connection beyond the busy timeout.
    #[error("the database is busy: retry")]
    Busy,
    /// The platform keystore failed (not a wrong key: unavailable, locked).
    #[error("the platform keystore failed: {0}")]
    Keystore(String),
    #[error("file error: {0}")]
    Io(String),
    #[error("cryptography failed: {0}")]
    Crypto(&'static str),
    #[error("database error: {0}")]
    Database(String),
}

/// How the audit chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditBreak {
    /// The record's content no longer matches its hash: it was edited.
    Edited,
    /// The record does not link to the one before it: records before it
    /// were deleted or reordered.
    Unlinked,
    /// A sequence number is missing or out of order.
    Gap,
    /// The chain ends before the recorded head: records were removed.
    Truncated,
}

impl fmt::Display for AuditBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuditBreak::Edited => "its content does not match its hash (edited)",
            AuditBreak::Unlinked => "it does not link to the previous record (deleted or reordered)",
            AuditBreak::Gap => "sequence numbers are missing or out of order",
            AuditBreak::Truncated => "records after it were removed",
        })
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::Error as E;
        match &e {
            E::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Busy
            }
            E::InvalidColumnType(..) | E::FromSqlConversionFailure(..) | E::IntegralValueOutOfRange(..) => {
                StoreError::Corrupt {
                    what: "a stored value of the wrong type",
                }
            }
            // SQLite's messages name tables and constraints, never bound
            // values, so they are safe to carry.
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}
