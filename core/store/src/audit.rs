//! The audit trail of binding and lifecycle events (binding, replacement,
//! unbinding, settlement card changes, payment method changes, key
//! wipes): append-only and hash-chained.
//!
//! Each record's hash is SHA-256(previous hash || canonical bytes), the
//! first record's previous hash being 32 zero bytes. The canonical bytes
//! are the stored fields, each length-prefixed so no two records encode
//! alike: `seq (i64 BE) || at (i64 BE) || len actor || actor || len event
//! || event || len details || details` (lengths u32 BE, text UTF-8). The
//! details are hashed exactly as stored, so verification never depends on
//! how a JSON library orders keys. The last link is also kept in
//! `audit_head`, so removing records from the end is detected as well.

use poskit_crypto::hash::sha256;
use rusqlite::{Connection, OptionalExtension, params};

use crate::Store;
use crate::card_data::{self, Scrub};
use crate::error::{AuditBreak, Result, StoreError};

const GENESIS: [u8; 32] = [0; 32];

/// One audit record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub event: String,
    /// JSON text.
    pub details: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// A verified chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditSummary {
    pub records: u64,
    /// The last record's hash (32 zero bytes for an empty trail): report it
    /// to the platform to anchor the chain outside the device.
    pub head: [u8; 32],
}

fn canonical(seq: i64, at: i64, actor: &str, event: &str, details: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(28 + actor.len() + event.len() + details.len());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    for field in [actor, event, details] {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

fn link(prev: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut input = Vec::with_capacity(32 + canonical.len());
    input.extend_from_slice(prev);
    input.extend_from_slice(canonical);
    sha256(&input)
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32]> {
    bytes.try_into().map_err(|_| StoreError::Corrupt {
        what: "an audit record hash",
    })
}

/// Masks card data in every string of a JSON value (keys included).
fn scrub_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(card_data::scrub(s, Scrub::CardData)),
        Value::Array(items) => Value::Array(items.iter().map(scrub_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (card_data::scrub(k, Scrub::CardData), scrub_json(v)))
                .collect(),
        ),
        Value::Number(n) => {
            // A PAN sent as a JSON number is still a PAN.
            let text = n.to_string();
            let scrubbed = card_data::scrub(&text, Scrub::CardData);
            if scrubbed == text {
                Value::Number(n.clone())
            } else {
                Value::String(scrubbed)
            }
        }
        other => other.clone(),
    }
}

/// A row as stored, hashes unchecked.
struct StoredRecord {
    at: i64,
    actor: String,
    event: String,
    details: String,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

impl StoredRecord {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            at: r.get(1)?,
            actor: r.get(2)?,
            event: r.get(3)?,
            details: r.get(4)?,
            prev_hash: r.get(5)?,
            hash: r.get(6)?,
        })
    }
}

fn head(conn: &Connection) -> Result<Option<(i64, [u8; 32])>> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    row.map(|(seq, hash)| Ok((seq, hash32(hash)?))).transpose()
}

impl Store {
    /// Appends an event. `details` is stored as JSON text with anything
    /// that looks like a PAN masked and track data removed. Returns the
    /// new record.
    pub fn append_audit(
        &mut self,
        at: i64,
        actor: &str,
        event: &str,
        details: &serde_json::Value,
    ) -> Result<AuditRecord> {
        if actor.is_empty() || event.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "audit record",
                reason: "actor and event must not be empty",
            });
        }
        let actor = card_data::scrub(actor, Scrub::CardData);
        let event = card_data::scrub(event, Scrub::CardData);
        let details = serde_json::to_string(&scrub_json(details)).map_err(|_| StoreError::InvalidInput {
            field: "audit details",
            reason: "cannot be written as JSON",
        })?;
        self.points.hit("append_audit: begin");
        let tx = Store::write_tx(&mut self.conn)?;
        let (seq, prev_hash) = match head(&tx)? {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS),
        };
        let hash = link(&prev_hash, &canonical(seq, at, &actor, &event, &details));
        tx.execute(
            "INSERT INTO audit_log (seq, at, actor, event, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                seq,
                at,
                actor,
                event,
                details,
                prev_hash.as_slice(),
                hash.as_slice()
            ],
        )?;
        tx.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq, hash.as_slice()],
        )?;
        self.points.hit("append_audit: before commit");
        tx.commit()?;
        self.points.hit("append_audit: committed");
        Ok(AuditRecord {
            seq,
            at,
            actor,
            event,
            details,
            prev_hash,
            hash,
        })
    }

    /// The records, in sequence order.
    pub fn audit_records(&self) -> Result<Vec<AuditRecord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, actor, event, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(AuditRecord {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                event: r.get(3)?,
                details: r.get(4)?,
                prev_hash: hash32(r.get(5)?)?,
                hash: hash32(r.get(6)?)?,
            });
        }
        Ok(out)
    }

    /// Walks the chain from the first record. Any edited, deleted,
    /// inserted or reordered record gives [`StoreError::AuditBroken`] with
    /// the sequence number where the chain first fails.
    pub fn verify_audit(&self) -> Result<AuditSummary> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, actor, event, details, prev_hash, hash FROM audit_log ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut expected_seq = 1i64;
        let mut running = GENESIS;
        let broken = |record, reason| StoreError::AuditBroken { record, reason };
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            // A value of the wrong type is an edit too.
            let Ok(stored) = StoredRecord::read(r) else {
                return Err(broken(seq, AuditBreak::Edited));
            };
            let StoredRecord {
                at,
                actor,
                event,
                details,
                prev_hash,
                hash,
            } = stored;
            if seq != expected_seq {
                return Err(broken(expected_seq, AuditBreak::Gap));
            }
            if prev_hash != running {
                return Err(broken(seq, AuditBreak::Unlinked));
            }
            let computed = link(&running, &canonical(seq, at, &actor, &event, &details));
            if hash != computed {
                return Err(broken(seq, AuditBreak::Edited));
            }
            running = computed;
            expected_seq += 1;
        }
        let records = expected_seq - 1;
        // An unreadable head is as good as a removed one.
        let head = head(&self.conn).map_err(|_| broken(records, AuditBreak::Truncated))?;
        match head {
            None if records == 0 => {}
            Some((seq, hash)) if seq == records && hash == running => {}
            _ => return Err(broken(records, AuditBreak::Truncated)),
        }
        Ok(AuditSummary {
            records: records as u64,
            head: running,
        })
    }
}
