//! The schema as forward-only migrations. `PRAGMA user_version` holds the
//! number of migrations applied; each migration runs in its own transaction
//! together with its version bump, so a crash leaves the database at one
//! version or the next, never between. Migrations are never edited once
//! released: a change is a new step at the end.
//!
//! Card data (DESIGN rule 5): there is deliberately no column for track
//! data, CVV/CVC, PIN or PIN blocks anywhere. The PAN exists only as
//! `pan_encrypted` (AES-256-GCM), `pan_hash` (HMAC-SHA256, for look-ups)
//! and `pan_masked` (first 6 / last 4). A test reads every table's columns
//! to keep it so.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Result, StoreError};

/// One migration: the SQL that moves the schema from version `n - 1` to `n`
/// (its 1-based position in [`MIGRATIONS`]).
pub(crate) struct Migration {
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "journal: batches, counters, transactions, STAN log",
        sql: "
            CREATE TABLE batches (
                batch_no   INTEGER PRIMARY KEY CHECK (batch_no BETWEEN 1 AND 999999),
                state      TEXT NOT NULL CHECK (state IN ('open', 'closed', 'settled')),
                opened_at  INTEGER NOT NULL,
                closed_at  INTEGER,
                settled_at INTEGER
            );
            CREATE TABLE counters (
                name  TEXT PRIMARY KEY,
                value INTEGER NOT NULL
            );
            CREATE TABLE transactions (
                id                INTEGER PRIMARY KEY AUTOINCREMENT,
                kind              TEXT NOT NULL,
                state             TEXT NOT NULL,
                amount            INTEGER NOT NULL CHECK (amount >= 0),
                currency          TEXT NOT NULL,
                stan              INTEGER NOT NULL CHECK (stan BETWEEN 1 AND 999999),
                batch_no          INTEGER NOT NULL REFERENCES batches(batch_no),
                invoice_no        INTEGER NOT NULL,
                rrn               TEXT,
                auth_code         TEXT,
                response_code     TEXT,
                entry_mode        TEXT NOT NULL,
                aid               TEXT,
                pan_masked        TEXT,
                pan_encrypted     BLOB,
                pan_hash          BLOB,
                original_id       INTEGER REFERENCES transactions(id),
                merchant_order_no TEXT,
                icc_data          BLOB,
                fault_reason      TEXT,
                created_at        INTEGER NOT NULL,
                updated_at        INTEGER NOT NULL
            );
            CREATE INDEX transactions_by_batch ON transactions(batch_no, state);
            CREATE INDEX transactions_by_state ON transactions(state);
            -- Every STAN handed out, per batch: the primary key is what keeps
            -- a STAN from being used twice in one batch.
            CREATE TABLE stan_log (
                batch_no INTEGER NOT NULL,
                stan     INTEGER NOT NULL,
                purpose  TEXT NOT NULL,
                txn_id   INTEGER REFERENCES transactions(id),
                PRIMARY KEY (batch_no, stan)
            );
        ",
    },
    Migration {
        name: "reversal queue and store-and-forward queue",
        sql: "
            CREATE TABLE reversals (
                txn_id     INTEGER PRIMARY KEY REFERENCES transactions(id),
                status     TEXT NOT NULL CHECK (status IN ('provisional', 'pending', 'sent', 'completed')),
                reason     TEXT,
                attempts   INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX reversals_by_status ON reversals(status);
            CREATE TABLE saf_queue (
                id           INTEGER PRIMARY KEY AUTOINCREMENT,
                txn_id       INTEGER NOT NULL REFERENCES transactions(id),
                kind         TEXT NOT NULL,
                payload      BLOB NOT NULL,
                status       TEXT NOT NULL CHECK (status IN ('pending', 'forwarded')),
                attempts     INTEGER NOT NULL DEFAULT 0,
                created_at   INTEGER NOT NULL,
                forwarded_at INTEGER
            );
            CREATE INDEX saf_by_status ON saf_queue(status);
        ",
    },
    Migration {
        name: "key vault",
        sql: "
            CREATE TABLE vault_meta (
                id               INTEGER PRIMARY KEY CHECK (id = 1),
                wrapped_data_key BLOB NOT NULL,
                key_check        BLOB NOT NULL
            );
            CREATE TABLE vault_entries (
                name       TEXT PRIMARY KEY,
                kind       TEXT NOT NULL CHECK (kind IN ('key', 'secret')),
                algorithm  TEXT,
                sealed     BLOB NOT NULL
            );
        ",
    },
    Migration {
        name: "QR orders",
        sql: "
            CREATE TABLE qr_orders (
                merchant_order_no TEXT PRIMARY KEY,
                wallet            TEXT NOT NULL,
                amount            INTEGER NOT NULL CHECK (amount >= 0),
                currency          TEXT NOT NULL,
                state             TEXT NOT NULL,
                refunded_amount   INTEGER NOT NULL DEFAULT 0,
                txn_id            INTEGER REFERENCES transactions(id),
                wallet_txn_id     TEXT,
                created_at        INTEGER NOT NULL,
                updated_at        INTEGER NOT NULL,
                last_query_at     INTEGER
            );
            CREATE INDEX qr_orders_by_state ON qr_orders(state);
        ",
    },
    Migration {
        name: "fault log and audit trail",
        sql: "
            CREATE TABLE faults (
                id       INTEGER PRIMARY KEY AUTOINCREMENT,
                category TEXT NOT NULL,
                detail   TEXT NOT NULL,
                txn_id   INTEGER,
                at       INTEGER NOT NULL
            );
            CREATE INDEX faults_by_category ON faults(category, at);
            CREATE TABLE audit_log (
                seq       INTEGER PRIMARY KEY,
                at        INTEGER NOT NULL,
                actor     TEXT NOT NULL,
                event     TEXT NOT NULL,
                details   TEXT NOT NULL,
                prev_hash BLOB NOT NULL,
                hash      BLOB NOT NULL
            );
            -- The chain's last link, so that removing records from the end
            -- is detected too.
            CREATE TABLE audit_head (
                id   INTEGER PRIMARY KEY CHECK (id = 1),
                seq  INTEGER NOT NULL,
                hash BLOB NOT NULL
            );
            -- Append-only against mistakes in our own code; deliberate
            -- tampering is what the hash chain detects.
            CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
            CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        ",
    },
    Migration {
        name: "settings",
        sql: "
            CREATE TABLE settings (
                key        TEXT PRIMARY KEY,
                value      TEXT NOT NULL CHECK (json_valid(value)),
                updated_at INTEGER NOT NULL
            );
        ",
    },
    Migration {
        name: "refund tracking, settlement totals, look-up by card",
        sql: "
            ALTER TABLE transactions ADD COLUMN refunded_amount INTEGER NOT NULL DEFAULT 0;
            CREATE TABLE batch_totals (
                batch_no INTEGER NOT NULL REFERENCES batches(batch_no),
                kind     TEXT NOT NULL,
                currency TEXT NOT NULL,
                count    INTEGER NOT NULL,
                amount   INTEGER NOT NULL,
                PRIMARY KEY (batch_no, kind, currency)
            );
            CREATE INDEX transactions_by_pan_hash ON transactions(pan_hash);
        ",
    },
    Migration {
        name: "QR refunds",
        sql: "
            -- Written before the refund request leaves (DESIGN rule 4); the
            -- order's refunded_amount moves only when a refund succeeds.
            CREATE TABLE qr_refunds (
                refund_no         TEXT PRIMARY KEY,
                merchant_order_no TEXT NOT NULL REFERENCES qr_orders(merchant_order_no),
                amount            INTEGER NOT NULL CHECK (amount > 0),
                state             TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
                failure           TEXT,
                created_at        INTEGER NOT NULL,
                updated_at        INTEGER NOT NULL,
                last_query_at     INTEGER
            );
            CREATE INDEX qr_refunds_by_order ON qr_refunds(merchant_order_no);
            CREATE INDEX qr_refunds_by_state ON qr_refunds(state);
        ",
    },
    Migration {
        name: "QR order flow and expiry",
        sql: "
            -- Which way the code went decides how an order given up on is
            -- ended (cancel or close); rows before this were micropays.
            ALTER TABLE qr_orders ADD COLUMN flow TEXT NOT NULL DEFAULT 'micropay'
                CHECK (flow IN ('micropay', 'shown_code'));
            ALTER TABLE qr_orders ADD COLUMN expires_at INTEGER;
        ",
    },
    Migration {
        name: "risk decisions",
        sql: "
            -- Every risk decision, allow included, committed before the
            -- request it judged may leave (DESIGN rule 4). A blocked request
            -- has no transaction or order: this row is its only record. The
            -- card appears only as the store's keyed hash (the same HMAC as
            -- transactions.pan_hash), never as a PAN.
            CREATE TABLE risk_decisions (
                id                INTEGER PRIMARY KEY AUTOINCREMENT,
                at                INTEGER NOT NULL,
                kind              TEXT NOT NULL,
                amount            INTEGER NOT NULL CHECK (amount >= 0),
                currency          TEXT NOT NULL,
                entry_mode        TEXT NOT NULL,
                pan_hash          BLOB CHECK (pan_hash IS NULL OR length(pan_hash) = 32),
                verdict           TEXT NOT NULL CHECK (verdict IN ('allow', 'review', 'block')),
                rule              TEXT,
                reason            TEXT NOT NULL,
                txn_id            INTEGER REFERENCES transactions(id),
                merchant_order_no TEXT REFERENCES qr_orders(merchant_order_no),
                CHECK (verdict != 'block' OR (txn_id IS NULL AND merchant_order_no IS NULL))
            );
            CREATE INDEX risk_decisions_by_time ON risk_decisions(at);
            CREATE INDEX risk_decisions_by_txn ON risk_decisions(txn_id);
            -- What the rules count before each request: a card's recent
            -- transactions, and the day's sales and entry modes. The old
            -- pan_hash index is a prefix of the new one.
            DROP INDEX transactions_by_pan_hash;
            CREATE INDEX transactions_by_pan_hash ON transactions(pan_hash, created_at);
            CREATE INDEX transactions_by_created ON transactions(created_at);
            CREATE INDEX qr_orders_by_created ON qr_orders(created_at);
        ",
    },
    Migration {
        name: "receipt details",
        sql: "
            -- What a card receipt prints that the journal row does not keep.
            -- Receipt-safe values only: the PAN, track data, PIN data and
            -- CVV have no column here either.
            CREATE TABLE receipt_details (
                txn_id             INTEGER PRIMARY KEY REFERENCES transactions(id),
                app_label          TEXT,
                aid                TEXT,
                cryptogram_type    TEXT,
                cryptogram         TEXT,
                tvr                TEXT,
                tsi                TEXT,
                cvm                TEXT NOT NULL,
                signature_required INTEGER NOT NULL CHECK (signature_required IN (0, 1)),
                balance            INTEGER,
                created_at         INTEGER NOT NULL
            );
        ",
    },
];

/// The schema version this code writes.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Applies migrations until the schema is at `target`.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let to = index as i64 + 1;
        if to <= found || to > target {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(migration.sql)
            .map_err(|e| StoreError::Database(format!("migration {to} ({}) failed: {e}", migration.name)))?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The names of the tables the migrations created.
pub(crate) fn user_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// The column names of `table` (which must be one of [`user_tables`]).
pub(crate) fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let names = stmt
        .query_map([table], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}
