//! Small state blobs as JSON text: the binding state, the enabled payment
//! methods, terminal configuration. Callers keep card data out of them (a
//! bound settlement card is stored masked); the values are not scrubbed,
//! because merchant and terminal numbers must survive exactly.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Store;
use crate::error::{Result, StoreError};

/// Well-known setting keys.
pub mod keys {
    /// The terminal binding state machine's persisted state (the name
    /// terminals have written since the first release; do not change it).
    pub const BINDING_STATE: &str = "binding";
    /// Enabled payment methods.
    pub const PAYMENT_METHODS: &str = "payment_methods";
    /// Terminal configuration (host addresses, timeouts, limits).
    pub const CONFIG: &str = "config";
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::InvalidInput {
            field: "setting key",
            reason: "must be 1 to 64 printable ASCII characters",
        });
    }
    Ok(())
}

impl Store {
    /// Stores `value` as JSON under `key`, replacing what was there.
    pub fn put_setting<T: Serialize + ?Sized>(&mut self, key: &str, value: &T, now: i64) -> Result<()> {
        check_key(key)?;
        let json = serde_json::to_string(value).map_err(|_| StoreError::InvalidInput {
            field: "setting value",
            reason: "cannot be written as JSON",
        })?;
        self.conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, json, now],
        )?;
        Ok(())
    }

    /// The value under `key`, if any. A stored value that does not read as
    /// `T` is [`StoreError::Corrupt`].
    pub fn get_setting<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()?;
        json.map(|j| serde_json::from_str(&j).map_err(|_| StoreError::Corrupt { what: "a setting" }))
            .transpose()
    }

    /// Removes `key`; `true` if it existed.
    pub fn delete_setting(&mut self, key: &str) -> Result<bool> {
        Ok(self.conn.execute("DELETE FROM settings WHERE key = ?1", [key])? > 0)
    }

    /// The keys present, sorted.
    pub fn setting_keys(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("SELECT key FROM settings ORDER BY key")?;
        let keys = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }
}
