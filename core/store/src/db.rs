//! Opening the database: the pragmas DESIGN rule 4 depends on, migrations,
//! and the data key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ring::rand::SystemRandom;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::card_data::PanKeys;
use crate::error::{Result, StoreError};
use crate::schema;
use crate::vault::{self, DataKey, Keystore};
use crate::write_points::WritePoints;

/// How long a write waits for another connection's lock before `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The terminal's persistent state: journal, queues, key vault, audit trail,
/// fault log and settings, in one SQLite database.
///
/// Every method that changes state commits before it returns: when it
/// returns `Ok`, the change is on disk (WAL, `synchronous=FULL`) and
/// survives a crash or power loss; when it returns `Err`, nothing changed.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) data_key: DataKey,
    pub(crate) pan_keys: PanKeys,
    pub(crate) rng: SystemRandom,
    pub(crate) path: PathBuf,
    pub(crate) points: WritePoints,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens a connection with the durability and safety settings every
/// connection of the store uses.
pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer, and a commit is one append.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!(
            "the database refused WAL mode ({mode})"
        )));
    }
    // FULL: in WAL mode NORMAL may lose the last commits on power loss;
    // rule 4 acknowledges nothing that is not on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Freed pages are zeroed, so wiped keys and deleted rows do not linger
    // in the file (PCI DSS 3.1: securely delete data no longer needed).
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Sorts and temporary tables stay in memory, never in a stray file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    check_pragma(&conn, "synchronous", 2)?;
    check_pragma(&conn, "foreign_keys", 1)?;
    check_pragma(&conn, "secure_delete", 1)?;
    Ok(conn)
}

fn check_pragma(conn: &Connection, name: &str, expected: i64) -> Result<()> {
    let value: i64 = conn.pragma_query_value(None, name, |r| r.get(0))?;
    if value != expected {
        return Err(StoreError::Database(format!("PRAGMA {name} did not take effect")));
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store at `path`, migrating it to the
    /// current schema. The data key is unwrapped with `keystore`; on a new
    /// database a random one is created and stored wrapped.
    ///
    /// A keystore that cannot unwrap the existing data key gives
    /// [`StoreError::WrongKey`] before anything in the file is changed.
    pub fn open(path: impl AsRef<Path>, keystore: &dyn Keystore) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let mut conn = connect(&path)?;
        let found = schema::version(&conn)?;
        if found > schema::CURRENT_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: schema::CURRENT_VERSION,
            });
        }
        // Check the key before migrating, so a wrong passphrase changes
        // nothing at all.
        let existing = if schema::table_exists(&conn, "vault_meta")? {
            vault::load_data_key(&conn, keystore)?
        } else {
            None
        };
        schema::migrate_to(&mut conn, schema::CURRENT_VERSION)?;
        let rng = SystemRandom::new();
        let data_key = match existing {
            Some(key) => key,
            None => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Another process may have created it since we looked.
                let key = match vault::load_data_key(&tx, keystore)? {
                    Some(key) => key,
                    None => {
                        let key = DataKey::generate(&rng)?;
                        vault::store_data_key(&tx, &key, keystore)?;
                        key
                    }
                };
                tx.commit()?;
                key
            }
        };
        let pan_keys = PanKeys::derive(&data_key);
        Ok(Store {
            conn,
            data_key,
            pan_keys,
            rng,
            path,
            points: WritePoints::default(),
        })
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database (always
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION) after `open`).
    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&self.conn)
    }

    /// SQLite's own consistency check of the file (`PRAGMA
    /// integrity_check`); `Ok(())` when it reports no problem.
    pub fn check_integrity(&self) -> Result<()> {
        let report: String = self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if report == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                what: "the database file (integrity_check failed)",
            })
        }
    }

    /// Starts a write transaction. IMMEDIATE takes the write lock at once,
    /// so a second writer waits (busy timeout) instead of failing midway.
    pub(crate) fn write_tx(conn: &mut Connection) -> Result<rusqlite::Transaction<'_>> {
        Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}
