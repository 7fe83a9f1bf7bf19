//! Encrypted, integrity-checked backups of the whole terminal state, for
//! device replacement (更换) and before unbinding.
//!
//! **Snapshot.** Every table except the wrapped data key is serialized to
//! JSON inside one read transaction, which in WAL mode is a consistent
//! snapshot while writers carry on. Chosen over copying the file (backup
//! API, `VACUUM INTO`) because nothing in clear ever touches the disk
//! outside the database, the format does not depend on SQLite's file
//! layout, and a backup made at an older schema version restores by
//! replaying the migrations up to it, inserting the rows, and migrating on.
//!
//! **Keys.** The store's data key travels inside the encrypted payload: the
//! new device's keystore cannot unwrap the old device's wrapping, so the
//! restore wraps the data key again with the new keystore. PANs and vault
//! entries stay encrypted under the data key inside the payload as well.
//!
//! **Container** (all integers big-endian):
//!
//! ```text
//! magic "PKBK" | version 1 | kdf (0: raw 32-byte key, 1: PBKDF2-HMAC-SHA256)
//! | iterations u32 (0 for a raw key) | salt 16 | key check 16
//! | nonce 12 | AES-256-GCM ciphertext | tag 16
//! ```
//!
//! The 42 header bytes are the associated data, so no header byte can be
//! changed unnoticed. From the master key (the raw key, or PBKDF2 of the
//! passphrase) two subkeys are derived with the salt: one encrypts, one
//! gives the key check, which tells a wrong key ([`StoreError::WrongKey`])
//! from a damaged file ([`StoreError::Tampered`]) before decrypting.

use std::fs;
use std::path::{Path, PathBuf};

use poskit_crypto::constant_time_eq;
use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::envelope::{self, KEY_LEN, Secret32};
use crate::error::{Result, StoreError};
use crate::vault::{self, DataKey, Keystore, PBKDF2_DEFAULT_ITERATIONS, PBKDF2_MIN_ITERATIONS};
use crate::{Store, schema};

const MAGIC: &[u8; 4] = b"PKBK";
const VERSION: u8 = 1;
const KDF_RAW: u8 = 0;
const KDF_PBKDF2: u8 = 1;
const SALT_LEN: usize = 16;
const CHECK_LEN: usize = 16;
const HEADER_LEN: usize = 4 + 1 + 1 + 4 + SALT_LEN + CHECK_LEN;
const MAX_ITERATIONS: u32 = 10_000_000;
/// The snapshot format inside the payload.
const SNAPSHOT_FORMAT: u32 = 1;
/// Tables that do not travel: the wrapped data key belongs to the old
/// device's keystore.
const NOT_BACKED_UP: &[&str] = &["vault_meta"];

/// What opens a backup: a 32-byte key (from the merchant platform, or the
/// platform keystore) or a passphrase (stretched with PBKDF2).
pub enum BackupSecret {
    Key(Secret32),
    Passphrase(Zeroizing<String>),
}

impl std::fmt::Debug for BackupSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackupSecret::Key(_) => "BackupSecret::Key(redacted)",
            BackupSecret::Passphrase(_) => "BackupSecret::Passphrase(redacted)",
        })
    }
}

impl BackupSecret {
    pub fn key(bytes: &[u8; 32]) -> Self {
        BackupSecret::Key(Zeroizing::new(*bytes))
    }

    pub fn passphrase(passphrase: &str) -> Result<Self> {
        if passphrase.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "backup passphrase",
                reason: "must not be empty",
            });
        }
        Ok(BackupSecret::Passphrase(Zeroizing::new(passphrase.to_owned())))
    }

    fn kdf(&self) -> u8 {
        match self {
            BackupSecret::Key(_) => KDF_RAW,
            BackupSecret::Passphrase(_) => KDF_PBKDF2,
        }
    }

    fn master(&self, salt: &[u8], iterations: u32) -> Secret32 {
        match self {
            BackupSecret::Key(key) => key.clone(),
            BackupSecret::Passphrase(p) => vault::passphrase_key(p.as_bytes(), salt, iterations),
        }
    }
}

/// The parsed, not yet authenticated, parts of a backup container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupContainer<'a> {
    pub version: u8,
    pub kdf: u8,
    pub iterations: u32,
    pub salt: &'a [u8],
    pub key_check: &'a [u8],
    /// The 42 header bytes (the associated data).
    pub header: &'a [u8],
    /// Nonce, ciphertext and tag.
    pub sealed: &'a [u8],
}

const TAMPERED: StoreError = StoreError::Tampered("the backup");

impl<'a> BackupContainer<'a> {
    /// Reads the container's structure. Never panics; any malformed input
    /// is an error.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() < 4 || &bytes[..4] != MAGIC {
            return Err(StoreError::InvalidInput {
                field: "backup",
                reason: "is not a PosKit backup",
            });
        }
        if bytes.len() < HEADER_LEN + envelope::OVERHEAD {
            return Err(TAMPERED);
        }
        let (header, sealed) = bytes.split_at(HEADER_LEN);
        let version = header[4];
        if version > VERSION {
            return Err(StoreError::InvalidInput {
                field: "backup",
                reason: "was made by a newer SDK: update the app",
            });
        }
        let kdf = header[5];
        let iterations = u32::from_be_bytes([header[6], header[7], header[8], header[9]]);
        let sane = match kdf {
            KDF_RAW => iterations == 0,
            KDF_PBKDF2 => (PBKDF2_MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations),
            _ => false,
        };
        if version != VERSION || !sane {
            return Err(TAMPERED);
        }
        Ok(Self {
            version,
            kdf,
            iterations,
            salt: &header[10..10 + SALT_LEN],
            key_check: &header[10 + SALT_LEN..HEADER_LEN],
            header,
            sealed,
        })
    }
}

fn subkeys(master: &[u8; KEY_LEN], salt: &[u8]) -> (Secret32, [u8; CHECK_LEN]) {
    let label = |name: &[u8]| [name, salt].concat();
    let encryption = envelope::derive(master, &label(b"poskit-store/backup/encryption/v1"));
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&envelope::mac(master, &label(b"poskit-store/backup/check/v1"))[..CHECK_LEN]);
    (encryption, check)
}

/// Authenticates and decrypts a backup: the data key and the snapshot.
fn open_backup(bytes: &[u8], secret: &BackupSecret) -> Result<(DataKey, Zeroizing<Vec<u8>>)> {
    let container = BackupContainer::parse(bytes)?;
    if container.kdf != secret.kdf() {
        return Err(StoreError::WrongKey);
    }
    let master = secret.master(container.salt, container.iterations);
    let (encryption, check) = subkeys(&master, container.salt);
    if !constant_time_eq(&check, container.key_check) {
        return Err(StoreError::WrongKey);
    }
    let plain = envelope::open(&encryption, container.header, container.sealed).ok_or(TAMPERED)?;
    if plain.len() < KEY_LEN {
        return Err(TAMPERED);
    }
    let data_key = DataKey::from_bytes(&plain[..KEY_LEN]).ok_or(TAMPERED)?;
    Ok((data_key, Zeroizing::new(plain[KEY_LEN..].to_vec())))
}

/// A column value, tagged so JSON keeps SQLite's types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum SqlValue {
    #[serde(rename = "n")]
    Null,
    #[serde(rename = "i")]
    Integer(i64),
    #[serde(rename = "r")]
    Real(f64),
    #[serde(rename = "t")]
    Text(String),
    /// Hex.
    #[serde(rename = "b")]
    Blob(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct TableDump {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<SqlValue>>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    schema_version: i64,
    tables: Vec<TableDump>,
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[usize::from(b >> 4)] as char,
                DIGITS[usize::from(b & 0x0F)] as char,
            ]
        })
        .collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    bytes
        .chunks(2)
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn dump(conn: &Connection) -> Result<Snapshot> {
    let schema_version = schema::version(conn)?;
    let mut tables = Vec::new();
    for name in schema::user_tables(conn)? {
        if NOT_BACKED_UP.contains(&name.as_str()) {
            continue;
        }
        let columns = schema::columns(conn, &name)?;
        let mut stmt = conn.prepare(&format!("SELECT * FROM {} ORDER BY rowid", quote(&name)))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(match r.get_ref(i)? {
                    ValueRef::Null => SqlValue::Null,
                    ValueRef::Integer(v) => SqlValue::Integer(v),
                    ValueRef::Real(v) => SqlValue::Real(v),
                    ValueRef::Text(t) => SqlValue::Text(
                        std::str::from_utf8(t)
                            .map_err(|_| StoreError::Corrupt { what: "a text value" })?
                            .to_owned(),
                    ),
                    ValueRef::Blob(b) => SqlValue::Blob(to_hex(b)),
                });
            }
            out.push(values);
        }
        tables.push(TableDump {
            name,
            columns,
            rows: out,
        });
    }
    Ok(Snapshot {
        format: SNAPSHOT_FORMAT,
        schema_version,
        tables,
    })
}

const BAD_SNAPSHOT: StoreError = StoreError::Corrupt {
    what: "the backup contents",
};

fn load(conn: &mut Connection, snapshot: &Snapshot) -> Result<()> {
    let tx = conn.transaction()?;
    // Rows go in table by table; references are checked at commit.
    tx.pragma_update(None, "defer_foreign_keys", "ON")?;
    let tables = schema::user_tables(&tx)?;
    for table in &snapshot.tables {
        if !tables.contains(&table.name) || NOT_BACKED_UP.contains(&table.name.as_str()) {
            return Err(BAD_SNAPSHOT);
        }
        let existing = schema::columns(&tx, &table.name)?;
        if table.columns.is_empty() || table.columns.iter().any(|c| !existing.contains(c)) {
            return Err(BAD_SNAPSHOT);
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(&table.name),
            table
                .columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; table.columns.len()].join(", ")
        );
        let mut stmt = tx.prepare(&sql)?;
        for row in &table.rows {
            if row.len() != table.columns.len() {
                return Err(BAD_SNAPSHOT);
            }
            let values = row
                .iter()
                .map(|v| {
                    Ok(match v {
                        SqlValue::Null => Value::Null,
                        SqlValue::Integer(i) => Value::Integer(*i),
                        SqlValue::Real(r) => Value::Real(*r),
                        SqlValue::Text(t) => Value::Text(t.clone()),
                        SqlValue::Blob(b) => Value::Blob(from_hex(b).ok_or(BAD_SNAPSHOT)?),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            stmt.execute(rusqlite::params_from_iter(values))?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn sidecars(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

fn remove_all(path: &Path) {
    for file in sidecars(path) {
        // Best effort: a file that is not there is fine.
        let _ = fs::remove_file(file);
    }
}

/// Builds the restored database at `temp` (rollback journal, so it is one
/// self-contained file to rename).
fn build(temp: &Path, snapshot: &Snapshot, data_key: &DataKey, keystore: &dyn Keystore) -> Result<()> {
    let mut conn = Connection::open(temp)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    schema::migrate_to(&mut conn, snapshot.schema_version)?;
    load(&mut conn, snapshot)?;
    schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
    let tx = conn.transaction()?;
    vault::store_data_key(&tx, data_key, keystore)?;
    tx.commit()?;
    let problems: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if problems != 0 || integrity != "ok" {
        return Err(BAD_SNAPSHOT);
    }
    conn.close().map_err(|(_, e)| StoreError::from(e))?;
    Ok(())
}

impl Store {
    /// An encrypted, authenticated backup of the whole terminal state
    /// (journal, queues, vault, audit trail, fault log, settings), taken
    /// from one consistent snapshot.
    pub fn export_backup(&self, secret: &BackupSecret) -> Result<Vec<u8>> {
        let snapshot = {
            // One read transaction: every table from the same snapshot.
            let tx = self.conn.unchecked_transaction()?;
            let snapshot = dump(&tx)?;
            tx.finish()?;
            snapshot
        };
        let json = Zeroizing::new(serde_json::to_vec(&snapshot).map_err(|_| BAD_SNAPSHOT)?);
        let mut plain = Zeroizing::new(Vec::with_capacity(KEY_LEN + json.len()));
        plain.extend_from_slice(self.data_key.bytes());
        plain.extend_from_slice(&json);

        let salt: [u8; SALT_LEN] = envelope::random(&self.rng)?;
        let iterations = match secret {
            BackupSecret::Key(_) => 0,
            BackupSecret::Passphrase(_) => PBKDF2_DEFAULT_ITERATIONS,
        };
        let master = secret.master(&salt, iterations);
        let (encryption, check) = subkeys(&master, &salt);
        let mut out = Vec::with_capacity(HEADER_LEN + envelope::OVERHEAD + plain.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(secret.kdf());
        out.extend_from_slice(&iterations.to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&check);
        let sealed = envelope::seal(&encryption, &out, &plain, &self.rng)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Restores a backup into a new database at `path`, its data key
    /// wrapped with `keystore` (the new device's), and opens it.
    ///
    /// Refused, with nothing created or changed, when `path` exists, the
    /// secret is wrong ([`StoreError::WrongKey`]) or the backup was altered
    /// or truncated ([`StoreError::Tampered`]). The database is built next
    /// to `path` and renamed into place only when complete.
    pub fn restore_backup(
        path: impl AsRef<Path>,
        bytes: &[u8],
        secret: &BackupSecret,
        keystore: &dyn Keystore,
    ) -> Result<Store> {
        let path = path.as_ref();
        if sidecars(path).iter().any(|p| p.exists()) {
            return Err(StoreError::InvalidInput {
                field: "restore target",
                reason: "already exists: restore into a new file",
            });
        }
        let (data_key, json) = open_backup(bytes, secret)?;
        let snapshot: Snapshot = serde_json::from_slice(&json).map_err(|_| BAD_SNAPSHOT)?;
        if snapshot.format != SNAPSHOT_FORMAT || snapshot.schema_version < 1 {
            return Err(BAD_SNAPSHOT);
        }
        if snapshot.schema_version > schema::CURRENT_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: snapshot.schema_version,
                supported: schema::CURRENT_VERSION,
            });
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(".restoring");
        let temp = PathBuf::from(temp);
        remove_all(&temp);
        if let Err(e) = build(&temp, &snapshot, &data_key, keystore) {
            remove_all(&temp);
            return Err(e);
        }
        if let Err(e) = fs::rename(&temp, path) {
            remove_all(&temp);
            return Err(e.into());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable (POSIX: fsync the directory).
            #[cfg(unix)]
            fs::File::open(dir)?.sync_all()?;
            #[cfg(not(unix))]
            let _ = dir;
        }
        Store::open(path, keystore)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&bytes)).unwrap(), bytes);
        assert!(from_hex("abc").is_none());
        assert!(from_hex("zz").is_none());
        assert!(from_hex("é1").is_none());
    }

    #[test]
    fn short_or_foreign_input_is_refused() {
        assert!(matches!(
            BackupContainer::parse(b"SQLite format 3\0"),
            Err(StoreError::InvalidInput { .. })
        ));
        assert!(matches!(
            BackupContainer::parse(b"PKBK\x01"),
            Err(StoreError::Tampered(_))
        ));
    }

    #[test]
    fn a_snapshot_from_an_older_schema_restores_and_migrates_forward() {
        use crate::testing::{TestKeystore, test_dir};
        let dir = test_dir("backup-older-schema");
        let old_path = dir.join("old.db");
        let mut conn = crate::db::connect(&old_path).unwrap();
        schema::migrate_to(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO batches (batch_no, state, opened_at) VALUES (1, 'open', 1);
             INSERT INTO transactions (id, kind, state, amount, currency, stan, batch_no, invoice_no,
                 entry_mode, created_at, updated_at)
               VALUES (1, 'sale', 'reversal_pending', 5, '156', 7, 1, 1, 'contact', 1, 1);
             INSERT INTO reversals (txn_id, status, created_at, updated_at) VALUES (1, 'pending', 1, 1);",
        )
        .unwrap();
        let snapshot = dump(&conn).unwrap();
        assert_eq!(snapshot.schema_version, 2);
        let rng = ring::rand::SystemRandom::new();
        let key = DataKey::generate(&rng).unwrap();
        let new_path = dir.join("new.db");
        build(&new_path, &snapshot, &key, &TestKeystore::default()).unwrap();
        let store = Store::open(&new_path, &TestKeystore::default()).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::CURRENT_VERSION);
        let t = store.transaction(crate::TxnId(1)).unwrap();
        assert_eq!((t.stan, t.refunded_amount), (7, 0));
        assert_eq!(store.pending_reversals().unwrap().len(), 1);
    }

    #[test]
    fn a_snapshot_naming_unknown_tables_or_columns_is_refused() {
        use crate::testing::{TestKeystore, test_dir};
        let dir = test_dir("backup-bad-snapshot");
        let rng = ring::rand::SystemRandom::new();
        let key = DataKey::generate(&rng).unwrap();
        for (i, tables) in [
            r#"[{"name":"evil","columns":["a"],"rows":[]}]"#,
            r#"[{"name":"vault_meta","columns":["id"],"rows":[]}]"#,
            r#"[{"name":"counters","columns":["name","value\"); DROP TABLE batches; --"],"rows":[]}]"#,
            r#"[{"name":"counters","columns":["name","value"],"rows":[[{"t":"stan"}]]}]"#,
            r#"[{"name":"counters","columns":["name","value"],"rows":[[{"t":"stan"},{"b":"zz"}]]}]"#,
        ]
        .iter()
        .enumerate()
        {
            let json = format!(r#"{{"format":1,"schema_version":7,"tables":{tables}}}"#);
            let snapshot: Snapshot = serde_json::from_str(&json).unwrap();
            let path = dir.join(format!("{i}.db"));
            let err = build(&path, &snapshot, &key, &TestKeystore::default()).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{i}: {err}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = BackupContainer::parse(&bytes);
            let _ = open_backup(&bytes, &BackupSecret::key(&[3; 32]));
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_magic_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..120),
            version in 0u8..3,
            kdf in 0u8..3,
        ) {
            let mut bytes = MAGIC.to_vec();
            bytes.push(version);
            bytes.push(kdf);
            bytes.extend_from_slice(&tail);
            let _ = BackupContainer::parse(&bytes);
            let _ = open_backup(&bytes, &BackupSecret::key(&[3; 32]));
        }

        #[test]
        fn arbitrary_snapshots_never_panic(json in "\\PC{0,200}") {
            let _ = serde_json::from_str::<Snapshot>(&json);
        }
    }
}
