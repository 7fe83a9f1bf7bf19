//! The key vault: terminal master keys, working keys and the DUKPT state,
//! stored under envelope encryption (DESIGN rule 5).
//!
//! - A random 32-byte **data key** encrypts everything secret in the store.
//!   It is kept only wrapped, by a [`Keystore`] the app supplies: the
//!   Android Keystore or iOS Keychain through FFI, or [`PassphraseKeystore`]
//!   on a desktop. A key check value (an HMAC of the data key) detects a
//!   keystore that hands back the wrong key.
//! - Each vault entry is AES-256-GCM under a vault subkey derived from the
//!   data key, with the entry's name, kind and algorithm as associated data,
//!   so an entry copied onto another name does not decrypt.
//! - Key bytes in memory live in zeroizing buffers ([`SymmetricKey`],
//!   [`Zeroizing`]).

use poskit_crypto::{Algorithm, SymmetricKey, constant_time_eq};
use ring::pbkdf2;
use ring::rand::SystemRandom;
use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::Store;
use crate::envelope::{self, KEY_LEN, Secret32};
use crate::error::{Result, StoreError};

/// Wraps and unwraps the store's data key with a key-encryption key the
/// store never sees: the platform keystore's (Android Keystore, iOS
/// Keychain) or a passphrase-derived one.
///
/// `unwrap` returns [`StoreError::WrongKey`] when the wrapped key does not
/// open (another device's keystore, wrong passphrase) and
/// [`StoreError::Keystore`] when the keystore itself fails.
pub trait Keystore: Send + Sync {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>>;
    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>>;
}

/// The data key: 32 random bytes, wiped on drop.
pub(crate) struct DataKey(Secret32);

impl DataKey {
    pub(crate) fn generate(rng: &SystemRandom) -> Result<Self> {
        Ok(Self(envelope::random_secret(rng)?))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(Self(key))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn check_value(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out.copy_from_slice(&envelope::mac(self.bytes(), b"poskit-store/data-key-check/v1")[..16]);
        out
    }

    pub(crate) fn vault_key(&self) -> Secret32 {
        envelope::derive(self.bytes(), b"poskit-store/vault/v1")
    }
}

/// Reads and unwraps the data key, if the store has one yet.
pub(crate) fn load_data_key(conn: &Connection, keystore: &dyn Keystore) -> Result<Option<DataKey>> {
    let row: Option<(Vec<u8>, Vec<u8>)> = conn
        .query_row(
            "SELECT wrapped_data_key, key_check FROM vault_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((wrapped, check)) = row else {
        return Ok(None);
    };
    let bytes = keystore.unwrap(&wrapped)?;
    let key = DataKey::from_bytes(&bytes).ok_or(StoreError::WrongKey)?;
    if !constant_time_eq(&key.check_value(), &check) {
        return Err(StoreError::WrongKey);
    }
    Ok(Some(key))
}

/// Stores the data key wrapped by `keystore` (inside the caller's
/// transaction).
pub(crate) fn store_data_key(conn: &Connection, key: &DataKey, keystore: &dyn Keystore) -> Result<()> {
    let wrapped = keystore.wrap(key.bytes())?;
    conn.execute(
        "INSERT INTO vault_meta (id, wrapped_data_key, key_check) VALUES (1, ?1, ?2)
         ON CONFLICT(id) DO UPDATE SET wrapped_data_key = excluded.wrapped_data_key,
                                       key_check = excluded.key_check",
        params![wrapped, key.check_value().as_slice()],
    )?;
    Ok(())
}

/// What a vault entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultEntryKind {
    /// A [`SymmetricKey`] (master key, working key).
    Key,
    /// An opaque secret blob (the DUKPT state).
    Secret,
}

impl VaultEntryKind {
    fn as_str(self) -> &'static str {
        match self {
            VaultEntryKind::Key => "key",
            VaultEntryKind::Secret => "secret",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "key" => Ok(VaultEntryKind::Key),
            "secret" => Ok(VaultEntryKind::Secret),
            _ => Err(StoreError::Corrupt {
                what: "a key vault entry kind",
            }),
        }
    }
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Des => "DES",
        Algorithm::Tdes => "TDES",
        Algorithm::Aes => "AES",
        Algorithm::Sm4 => "SM4",
    }
}

fn parse_algorithm(name: &str) -> Result<Algorithm> {
    match name {
        "DES" => Ok(Algorithm::Des),
        "TDES" => Ok(Algorithm::Tdes),
        "AES" => Ok(Algorithm::Aes),
        "SM4" => Ok(Algorithm::Sm4),
        _ => Err(StoreError::Corrupt {
            what: "a key vault entry algorithm",
        }),
    }
}

fn entry_aad(name: &str, kind: VaultEntryKind, algorithm: &str) -> Vec<u8> {
    let mut aad = b"poskit-store/vault-entry/v1".to_vec();
    for part in [kind.as_str(), algorithm, name] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::InvalidInput {
            field: "vault entry name",
            reason: "must be 1 to 64 printable ASCII characters",
        });
    }
    Ok(())
}

impl Store {
    /// Stores `key` under `name` (replacing any entry of that name; the old
    /// bytes are zeroed by `secure_delete`).
    pub fn put_key(&mut self, name: &str, key: &SymmetricKey) -> Result<()> {
        self.put_entry(
            name,
            VaultEntryKind::Key,
            algorithm_name(key.algorithm()),
            key.expose_secret(),
        )
    }

    /// The key stored under `name`, if any.
    pub fn get_key(&self, name: &str) -> Result<Option<SymmetricKey>> {
        let Some((algorithm, bytes)) = self.get_entry(name, VaultEntryKind::Key)? else {
            return Ok(None);
        };
        let algorithm = parse_algorithm(&algorithm)?;
        let key = SymmetricKey::new(algorithm, &bytes).map_err(|_| StoreError::Corrupt {
            what: "a key vault entry length",
        })?;
        Ok(Some(key))
    }

    /// Stores an opaque secret (the DUKPT state blob) under `name`.
    pub fn put_secret(&mut self, name: &str, secret: &[u8]) -> Result<()> {
        self.put_entry(name, VaultEntryKind::Secret, "", secret)
    }

    /// The secret stored under `name`, if any.
    pub fn get_secret(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        Ok(self
            .get_entry(name, VaultEntryKind::Secret)?
            .map(|(_, bytes)| bytes))
    }

    /// The names and kinds of the vault's entries (never their contents).
    pub fn vault_entries(&self) -> Result<Vec<(String, VaultEntryKind)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, kind FROM vault_entries ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(name, kind)| Ok((name, VaultEntryKind::parse(&kind)?)))
            .collect()
    }

    /// Overwrites then deletes one entry. `true` if it existed.
    pub fn delete_key(&mut self, name: &str) -> Result<bool> {
        let tx = Store::write_tx(&mut self.conn)?;
        tx.execute(
            "UPDATE vault_entries SET sealed = zeroblob(length(sealed)) WHERE name = ?1",
            [name],
        )?;
        let n = tx.execute("DELETE FROM vault_entries WHERE name = ?1", [name])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Destroys every key and secret in the vault (unbinding, device
    /// replacement): each entry is overwritten with zeros, then deleted;
    /// the file is vacuumed and the WAL truncated so no page of it keeps
    /// the old bytes. Returns how many entries were wiped.
    pub fn wipe_keys(&mut self) -> Result<usize> {
        let tx = Store::write_tx(&mut self.conn)?;
        tx.execute("UPDATE vault_entries SET sealed = zeroblob(length(sealed))", [])?;
        let n = tx.execute("DELETE FROM vault_entries", [])?;
        tx.commit()?;
        self.compact()?;
        Ok(n)
    }

    /// Rebuilds the file without free pages and empties the WAL.
    pub(crate) fn compact(&mut self) -> Result<()> {
        self.conn.execute_batch("VACUUM")?;
        // TRUNCATE: the WAL file is reset to zero bytes after the
        // checkpoint, so superseded page images do not stay in it.
        let (busy, _, _): (i64, i64, i64) =
            self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 {
            return Err(StoreError::Busy);
        }
        Ok(())
    }

    fn put_entry(&mut self, name: &str, kind: VaultEntryKind, algorithm: &str, secret: &[u8]) -> Result<()> {
        check_name(name)?;
        let sealed = envelope::seal(
            &self.data_key.vault_key(),
            &entry_aad(name, kind, algorithm),
            secret,
            &self.rng,
        )?;
        let tx = Store::write_tx(&mut self.conn)?;
        // Zero the old entry first, so its bytes leave the page even where
        // SQLite would rewrite the row in place.
        tx.execute(
            "UPDATE vault_entries SET sealed = zeroblob(length(sealed)) WHERE name = ?1",
            [name],
        )?;
        tx.execute(
            "INSERT INTO vault_entries (name, kind, algorithm, sealed) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, algorithm = excluded.algorithm,
                                             sealed = excluded.sealed",
            params![name, kind.as_str(), algorithm, sealed],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn get_entry(&self, name: &str, kind: VaultEntryKind) -> Result<Option<(String, Zeroizing<Vec<u8>>)>> {
        let row: Option<(String, Option<String>, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT kind, algorithm, sealed FROM vault_entries WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((stored_kind, algorithm, sealed)) = row else {
            return Ok(None);
        };
        if VaultEntryKind::parse(&stored_kind)? != kind {
            return Err(StoreError::InvalidInput {
                field: "vault entry name",
                reason: "names an entry of another kind (key or secret)",
            });
        }
        let algorithm = algorithm.unwrap_or_default();
        let plain = envelope::open(
            &self.data_key.vault_key(),
            &entry_aad(name, kind, &algorithm),
            &sealed,
        )
        .ok_or(StoreError::Tampered("a key vault entry"))?;
        Ok(Some((algorithm, plain)))
    }
}

/// PBKDF2 iterations below which a wrapped key is refused. NIST SP
/// 800-132 asks for as many as is tolerable; OWASP's 2021 guidance for
/// PBKDF2-HMAC-SHA256 was 310 000.
pub const PBKDF2_MIN_ITERATIONS: u32 = 200_000;
/// Iterations used for new wraps.
pub const PBKDF2_DEFAULT_ITERATIONS: u32 = 310_000;
/// Upper bound, so a damaged or hostile file cannot make `unwrap` spin.
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;
const SALT_LEN: usize = 16;
const WRAP_VERSION: u8 = 1;
const WRAP_HEADER_LEN: usize = 1 + 4 + SALT_LEN;

/// A [`Keystore`] for desktops and tests: the key-encryption key is
/// PBKDF2-HMAC-SHA256 of a passphrase (RFC 8018) with a random 16-byte salt
/// stored next to the wrapped key, and the data key is wrapped with
/// AES-256-GCM.
///
/// Wrapped form: `version (1) || iterations (u32 BE) || salt (16) ||
/// nonce (12) || ciphertext (32) || tag (16)`; the first 21 bytes are the
/// associated data, so the iteration count cannot be lowered unnoticed.
pub struct PassphraseKeystore {
    passphrase: Zeroizing<String>,
    iterations: u32,
    rng: SystemRandom,
}

impl std::fmt::Debug for PassphraseKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassphraseKeystore")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PassphraseKeystore {
    pub fn new(passphrase: &str) -> Result<Self> {
        Self::with_iterations(passphrase, PBKDF2_DEFAULT_ITERATIONS)
    }

    pub fn with_iterations(passphrase: &str, iterations: u32) -> Result<Self> {
        if passphrase.is_empty() {
            return Err(StoreError::InvalidInput {
                field: "passphrase",
                reason: "must not be empty",
            });
        }
        if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations) {
            return Err(StoreError::InvalidInput {
                field: "PBKDF2 iterations",
                reason: "must be between 200000 and 10000000",
            });
        }
        Ok(Self {
            passphrase: Zeroizing::new(passphrase.to_owned()),
            iterations,
            rng: SystemRandom::new(),
        })
    }

    fn kek(&self, salt: &[u8], iterations: u32) -> Secret32 {
        passphrase_key(self.passphrase.as_bytes(), salt, iterations)
    }
}

/// PBKDF2-HMAC-SHA256(passphrase, salt, iterations), 32 bytes.
pub(crate) fn passphrase_key(passphrase: &[u8], salt: &[u8], iterations: u32) -> Secret32 {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    let rounds = std::num::NonZeroU32::new(iterations.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, rounds, salt, passphrase, out.as_mut());
    out
}

impl Keystore for PassphraseKeystore {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>> {
        let salt: [u8; SALT_LEN] = envelope::random(&self.rng)?;
        let mut out = Vec::with_capacity(WRAP_HEADER_LEN + envelope::OVERHEAD + data_key.len());
        out.push(WRAP_VERSION);
        out.extend_from_slice(&self.iterations.to_be_bytes());
        out.extend_from_slice(&salt);
        let sealed = envelope::seal(&self.kek(&salt, self.iterations), &out, data_key, &self.rng)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if wrapped.len() < WRAP_HEADER_LEN + envelope::OVERHEAD || wrapped[0] != WRAP_VERSION {
            return Err(StoreError::Corrupt {
                what: "the wrapped data key",
            });
        }
        let (header, sealed) = wrapped.split_at(WRAP_HEADER_LEN);
        let iterations = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        if !(PBKDF2_MIN_ITERATIONS..=PBKDF2_MAX_ITERATIONS).contains(&iterations) {
            return Err(StoreError::Tampered("the wrapped data key"));
        }
        let kek = self.kek(&header[5..], iterations);
        envelope::open(&kek, header, sealed).ok_or(StoreError::WrongKey)
    }
}

/// A key-encryption key the app already holds (unwrapped by a hardware
/// keystore, or a session key for a throwaway terminal such as the demo):
/// the data key is sealed with AES-256-GCM under it, with no key
/// stretching, so opening the store costs microseconds.
pub struct KekKeystore {
    kek: Secret32,
    rng: SystemRandom,
}

/// Version byte of a [`KekKeystore`] wrap.
const KEK_WRAP_VERSION: u8 = 0x4B;

impl KekKeystore {
    pub fn new(kek: [u8; KEY_LEN]) -> Self {
        Self {
            kek: Zeroizing::new(kek),
            rng: SystemRandom::new(),
        }
    }

    /// A fresh random key: the store can be opened only by this value.
    pub fn random() -> Result<Self> {
        let rng = SystemRandom::new();
        Ok(Self {
            kek: envelope::random_secret(&rng)?,
            rng,
        })
    }
}

impl std::fmt::Debug for KekKeystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KekKeystore(..)")
    }
}

impl Keystore for KekKeystore {
    fn wrap(&self, data_key: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![KEK_WRAP_VERSION];
        let sealed = envelope::seal(&self.kek, &out, data_key, &self.rng)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        match wrapped.split_first() {
            Some((&KEK_WRAP_VERSION, sealed)) => {
                envelope::open(&self.kek, &[KEK_WRAP_VERSION], sealed).ok_or(StoreError::WrongKey)
            }
            _ => Err(StoreError::Corrupt {
                what: "the wrapped data key",
            }),
        }
    }
}

#[cfg(test)]
mod kek_tests {
    use super::*;

    #[test]
    fn kek_keystore_round_trips_and_refuses_another_key() {
        let a = KekKeystore::new([7; KEY_LEN]);
        let wrapped = a.wrap(&[1; 32]).unwrap();
        assert_eq!(&a.unwrap(&wrapped).unwrap()[..], &[1; 32]);
        let b = KekKeystore::random().unwrap();
        assert!(matches!(b.unwrap(&wrapped), Err(StoreError::WrongKey)));
        assert!(matches!(a.unwrap(&[0x4B]), Err(StoreError::WrongKey)));
        assert!(matches!(a.unwrap(&[]), Err(StoreError::Corrupt { .. })));
        let mut flipped = wrapped.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(a.unwrap(&flipped).is_err());
    }
}
