//! The key vault: envelope encryption under a keystore, wrong keys refused
//! without change, tampering detected, wiping that leaves no bytes behind.

mod common;

use std::fs;
use std::path::Path;

use common::fresh;
use poskit_crypto::SymmetricKey;
use poskit_store::testing::{Needle, TestKeystore, files_under, scan_for_card_data, test_dir};
use poskit_store::{Keystore, PassphraseKeystore, Store, StoreError, VaultEntryKind, Zeroizing};

fn dir_bytes(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn keys_and_secrets_round_trip_under_their_names() {
    let (_, mut store) = fresh("vault-round-trip");
    let tmk = SymmetricKey::tdes(&hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
    let mak = SymmetricKey::des(&[0x5A; 8]).unwrap();
    let pik = SymmetricKey::sm4(&[0x33; 16]).unwrap();
    let aes = SymmetricKey::aes(&[0x44; 32]).unwrap();
    for (name, key) in [("tmk", &tmk), ("mak", &mak), ("pik", &pik), ("aes", &aes)] {
        store.put_key(name, key).unwrap();
    }
    store
        .put_secret("dukpt_state", b"\x01\x02ksn-and-registers")
        .unwrap();
    assert_eq!(store.get_key("tmk").unwrap(), Some(tmk.clone()));
    assert_eq!(store.get_key("mak").unwrap(), Some(mak));
    assert_eq!(store.get_key("pik").unwrap(), Some(pik));
    assert_eq!(store.get_key("aes").unwrap(), Some(aes));
    assert_eq!(store.get_key("nope").unwrap(), None);
    assert_eq!(
        store
            .get_secret("dukpt_state")
            .unwrap()
            .as_deref()
            .map(Vec::as_slice),
        Some(&b"\x01\x02ksn-and-registers"[..])
    );
    assert!(matches!(
        store.get_key("dukpt_state"),
        Err(StoreError::InvalidInput { .. })
    ));

    // A new working key replaces the old one.
    let tmk2 = SymmetricKey::tdes(&[0x77; 16]).unwrap();
    store.put_key("tmk", &tmk2).unwrap();
    assert_eq!(store.get_key("tmk").unwrap(), Some(tmk2));
    assert_eq!(store.vault_entries().unwrap().len(), 5);
    assert_eq!(
        store.vault_entries().unwrap()[1],
        ("dukpt_state".to_owned(), VaultEntryKind::Secret)
    );
    assert!(store.delete_key("mak").unwrap());
    assert!(!store.delete_key("mak").unwrap());
    assert!(matches!(
        store.put_key("", &tmk),
        Err(StoreError::InvalidInput { .. })
    ));
}

#[test]
fn a_swapped_or_edited_entry_is_detected() {
    let (_, mut store) = fresh("vault-tamper");
    store
        .put_key("tmk", &SymmetricKey::tdes(&[1; 16]).unwrap())
        .unwrap();
    store
        .put_key("mak", &SymmetricKey::tdes(&[2; 16]).unwrap())
        .unwrap();
    let conn = store.raw_connection();
    // Copying one entry onto another name fails: the name is bound in.
    conn.execute(
        "UPDATE vault_entries SET sealed = (SELECT sealed FROM vault_entries WHERE name = 'tmk') WHERE name = 'mak'",
        [],
    )
    .unwrap();
    assert!(matches!(store.get_key("mak"), Err(StoreError::Tampered(_))));
    // So does claiming another algorithm.
    conn.execute(
        "UPDATE vault_entries SET algorithm = 'SM4' WHERE name = 'tmk'",
        [],
    )
    .unwrap();
    assert!(matches!(store.get_key("tmk"), Err(StoreError::Tampered(_))));
    // An unknown algorithm fails authentication before it is even parsed.
    conn.execute(
        "UPDATE vault_entries SET algorithm = 'ROT13' WHERE name = 'tmk'",
        [],
    )
    .unwrap();
    assert!(matches!(store.get_key("tmk"), Err(StoreError::Tampered(_))));
    conn.execute("UPDATE vault_entries SET kind = 'spell' WHERE name = 'tmk'", [])
        .unwrap_err();
    conn.execute("UPDATE vault_entries SET sealed = X'00' WHERE name = 'tmk'", [])
        .unwrap();
    assert!(store.get_key("tmk").is_err());
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = test_dir("vault-wrong-passphrase");
    let path = dir.join("terminal.db");
    let right = PassphraseKeystore::new("correct horse battery staple").unwrap();
    let key = SymmetricKey::tdes(&[0x21; 16]).unwrap();
    {
        let mut store = Store::open(&path, &right).unwrap();
        store.put_key("tmk", &key).unwrap();
    }
    let before = dir_bytes(&dir);
    let wrong = PassphraseKeystore::new("correct horse battery stapler").unwrap();
    let err = Store::open(&path, &wrong).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err}");
    let message = err.to_string();
    assert!(
        !message.contains("horse") && !message.contains("stapler"),
        "{message}"
    );
    assert_eq!(dir_bytes(&dir), before, "a wrong passphrase changes nothing");
    // Another device's keystore is a wrong key too.
    assert!(matches!(
        Store::open(&path, &TestKeystore::new(9)),
        Err(StoreError::WrongKey)
    ));

    let store = Store::open(&path, &right).unwrap();
    assert_eq!(store.get_key("tmk").unwrap(), Some(key));
}

/// A keystore that "unwraps" to the wrong 32 bytes, as a confused platform
/// keystore might: the key check value catches it.
struct LyingKeystore;

impl Keystore for LyingKeystore {
    fn wrap(&self, data_key: &[u8]) -> poskit_store::Result<Vec<u8>> {
        Ok(data_key.to_vec())
    }
    fn unwrap(&self, _: &[u8]) -> poskit_store::Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(vec![0xAA; 32]))
    }
}

#[test]
fn a_keystore_returning_the_wrong_key_is_caught_by_the_check_value() {
    let dir = test_dir("vault-lying-keystore");
    let path = dir.join("terminal.db");
    drop(Store::open(&path, &TestKeystore::default()).unwrap());
    assert!(matches!(
        Store::open(&path, &LyingKeystore),
        Err(StoreError::WrongKey)
    ));
}

#[test]
fn passphrase_wrapping_uses_at_least_200000_pbkdf2_iterations_and_binds_them() {
    const { assert!(poskit_store::PBKDF2_MIN_ITERATIONS >= 200_000) };
    assert!(matches!(
        PassphraseKeystore::with_iterations("pw", 100_000),
        Err(StoreError::InvalidInput { .. })
    ));
    assert!(PassphraseKeystore::new("").is_err());
    let ks = PassphraseKeystore::with_iterations("pw", 200_000).unwrap();
    assert!(!format!("{ks:?}").contains("pw\""));
    let wrapped = ks.wrap(&[7; 32]).unwrap();
    assert_eq!(wrapped[0], 1);
    assert_eq!(u32::from_be_bytes(wrapped[1..5].try_into().unwrap()), 200_000);
    assert_eq!(wrapped.len(), 1 + 4 + 16 + 12 + 32 + 16);
    assert_eq!(ks.unwrap(&wrapped).unwrap().as_slice(), &[7; 32]);
    // Two wraps use different salts.
    assert_ne!(ks.wrap(&[7; 32]).unwrap()[5..21], wrapped[5..21]);
    // Raising the count to another valid value breaks the authentication;
    // lowering it below the minimum is refused outright.
    let mut raised = wrapped.clone();
    raised[1..5].copy_from_slice(&200_001u32.to_be_bytes());
    assert!(matches!(ks.unwrap(&raised), Err(StoreError::WrongKey)));
    let mut lowered = wrapped.clone();
    lowered[1..5].copy_from_slice(&1000u32.to_be_bytes());
    assert!(matches!(ks.unwrap(&lowered), Err(StoreError::Tampered(_))));
    assert!(matches!(
        ks.unwrap(&wrapped[..20]),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn wiping_keys_leaves_none_of_their_bytes_in_any_file() {
    let (path, mut store) = fresh("vault-wipe");
    let dir = path.parent().unwrap().to_path_buf();
    for i in 0..20u8 {
        store
            .put_key(&format!("key{i}"), &SymmetricKey::tdes(&[i; 16]).unwrap())
            .unwrap();
    }
    store.put_secret("dukpt_state", &[0x5C; 64]).unwrap();
    let sealed: Vec<Vec<u8>> = store
        .raw_connection()
        .prepare("SELECT sealed FROM vault_entries")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let needles: Vec<Needle> = sealed
        .iter()
        .enumerate()
        .map(|(i, s)| Needle {
            label: format!("sealed entry {i}"),
            bytes: s.clone(),
        })
        .collect();
    assert!(
        !scan_for_card_data(&dir, &needles).is_empty(),
        "the entries are in the files before"
    );

    assert_eq!(store.wipe_keys().unwrap(), 21);
    assert_eq!(store.get_key("key1").unwrap(), None);
    assert!(store.vault_entries().unwrap().is_empty());
    let findings = scan_for_card_data(&dir, &needles);
    assert!(findings.is_empty(), "{findings:?}");
    drop(store);
    assert!(scan_for_card_data(&dir, &needles).is_empty());
    // The store still works (the data key itself is kept).
    let store = Store::open(&path, &TestKeystore::default()).unwrap();
    store.check_integrity().unwrap();
}
