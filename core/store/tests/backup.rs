//! Backups: the whole terminal state moves to a new device intact; a wrong
//! key, a flipped byte or a truncated file is refused with nothing created
//! and the existing database untouched.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{T0, approved_sale, fresh, sale};
use poskit_crypto::SymmetricKey;
use poskit_store::testing::{TestKeystore, files_under, test_dir};
use poskit_store::{
    BackupContainer, BackupSecret, FaultCategory, NewQrOrder, Pan, QrFlow, ReversalReason, SafKind, Store,
    StoreError, Wallet,
};
use serde_json::json;

const BACKUP_KEY: [u8; 32] = [0xB4; 32];

/// A store with something in every table.
fn busy_store(name: &str) -> (PathBuf, Store) {
    let (path, mut store) = fresh(name);
    let a = approved_sale(&mut store, 1000, Some("4761739001010010"), T0);
    approved_sale(&mut store, 2000, Some("5413330089020011"), T0 + 1);
    let timed_out = store
        .record_new(&sale(300, Some("6230580000000000013"), T0 + 2))
        .unwrap();
    store.mark_sent(timed_out.id, T0 + 2).unwrap();
    store
        .mark_reversal_needed(timed_out.id, ReversalReason::NoResponse, T0 + 62)
        .unwrap();
    store
        .enqueue_saf(
            a.id,
            SafKind::TcUpload,
            &hex::decode("9F2608CAFEBABE00000001").unwrap(),
            T0 + 3,
        )
        .unwrap();
    store
        .put_key("tmk", &SymmetricKey::tdes(&[0x11; 16]).unwrap())
        .unwrap();
    store.put_secret("dukpt_state", b"state").unwrap();
    store
        .append_audit(T0, "platform", "bound", &json!({"tid": "10000001"}))
        .unwrap();
    store.append_audit(T0 + 5, "admin", "backup", &json!({})).unwrap();
    store
        .record_fault(FaultCategory::Printer, "paper out", None, T0 + 4)
        .unwrap();
    store
        .put_setting("binding_state", &json!({"state": "bound"}), T0)
        .unwrap();
    store
        .create_qr_order(&NewQrOrder {
            merchant_order_no: "Q-1".into(),
            flow: QrFlow::Micropay,
            expires_at: None,
            wallet: Wallet::UnionPayQr,
            amount: 42,
            currency: "156".into(),
            txn_id: None,
            created_at: T0,
        })
        .unwrap();
    (path, store)
}

fn snapshot_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn a_backup_restores_everything_on_a_new_device() {
    let (_, old) = busy_store("backup-source");
    let bytes = old.export_backup(&BackupSecret::key(&BACKUP_KEY)).unwrap();
    assert_eq!(&bytes[..4], b"PKBK");

    let target = test_dir("backup-target").join("terminal.db");
    let new_device = TestKeystore::new(0x77);
    let mut new =
        Store::restore_backup(&target, &bytes, &BackupSecret::key(&BACKUP_KEY), &new_device).unwrap();
    new.check_integrity().unwrap();
    assert_eq!(new.schema_version().unwrap(), poskit_store::SCHEMA_VERSION);

    let all = |s: &Store| s.transactions_between(0, i64::MAX).unwrap();
    assert_eq!(all(&new), all(&old));
    let first = all(&new)[0].id;
    assert_eq!(
        new.reveal_pan(first).unwrap(),
        Some(Pan::new("4761739001010010").unwrap())
    );
    assert_eq!(
        new.find_by_card(&Pan::new("5413330089020011").unwrap())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(new.get_key("tmk").unwrap(), old.get_key("tmk").unwrap());
    assert_eq!(
        new.get_secret("dukpt_state").unwrap().unwrap().as_slice(),
        b"state"
    );
    assert_eq!(new.verify_audit().unwrap(), old.verify_audit().unwrap());
    assert_eq!(new.pending_reversals().unwrap(), old.pending_reversals().unwrap());
    assert_eq!(new.pending_saf().unwrap(), old.pending_saf().unwrap());
    assert_eq!(new.qr_order("Q-1").unwrap(), old.qr_order("Q-1").unwrap());
    assert_eq!(new.fault_counts(0).unwrap(), old.fault_counts(0).unwrap());
    assert_eq!(
        new.get_setting::<serde_json::Value>("binding_state").unwrap(),
        Some(json!({"state": "bound"}))
    );
    assert_eq!(new.counters().unwrap(), old.counters().unwrap());
    assert_eq!(new.unsettled().unwrap(), old.unsettled().unwrap());

    // The restored store carries on: no STAN reused, audit chain extended.
    let next = new.record_new(&sale(1, None, T0 + 100)).unwrap();
    assert!(all(&old).iter().all(|t| t.stan != next.stan));
    new.append_audit(T0 + 100, "terminal", "restored", &json!({}))
        .unwrap();
    new.verify_audit().unwrap();
    // The new device's keystore opens it; the old one's does not.
    drop(new);
    assert!(Store::open(&target, &new_device).is_ok());
    assert!(matches!(
        Store::open(&target, &TestKeystore::default()),
        Err(StoreError::WrongKey)
    ));
    old.verify_audit().unwrap();
}

#[test]
fn a_passphrase_backup_restores_with_the_passphrase_only() {
    let (_, old) = busy_store("backup-passphrase-source");
    let secret = BackupSecret::passphrase("merchant backup phrase").unwrap();
    let bytes = old.export_backup(&secret).unwrap();
    let header = BackupContainer::parse(&bytes).unwrap();
    assert_eq!(header.kdf, 1);
    assert!(header.iterations >= 200_000);

    let dir = test_dir("backup-passphrase-target");
    let wrong = BackupSecret::passphrase("merchant backup phrase!").unwrap();
    let err = Store::restore_backup(dir.join("a.db"), &bytes, &wrong, &TestKeystore::default()).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err}");
    assert!(!err.to_string().contains("merchant"));
    assert!(matches!(
        Store::restore_backup(
            dir.join("a.db"),
            &bytes,
            &BackupSecret::key(&BACKUP_KEY),
            &TestKeystore::default()
        ),
        Err(StoreError::WrongKey)
    ));
    assert!(files_under(&dir).is_empty());
    let new = Store::restore_backup(dir.join("a.db"), &bytes, &secret, &TestKeystore::default()).unwrap();
    assert_eq!(new.get_key("tmk").unwrap(), old.get_key("tmk").unwrap());
}

#[test]
fn a_wrong_key_flipped_byte_or_truncation_is_refused_and_changes_nothing() {
    let (source_path, source) = busy_store("backup-tamper-source");
    let source_dir = source_path.parent().unwrap().to_path_buf();
    let bytes = source.export_backup(&BackupSecret::key(&BACKUP_KEY)).unwrap();
    drop(source);
    let source_before = snapshot_files(&source_dir);

    let dir = test_dir("backup-tamper-target");
    let target = dir.join("restored.db");
    let key = BackupSecret::key(&BACKUP_KEY);
    let restore =
        |b: &[u8], secret: &BackupSecret| Store::restore_backup(&target, b, secret, &TestKeystore::default());

    // Wrong key.
    let mut wrong_key = BACKUP_KEY;
    wrong_key[31] ^= 1;
    assert!(matches!(
        restore(&bytes, &BackupSecret::key(&wrong_key)),
        Err(StoreError::WrongKey)
    ));

    // Every byte flipped, one at a time. Inside the encrypted part it must
    // read as tampering; in the header any refusal will do (a flipped key
    // check reads as a wrong key, a flipped magic as not a backup).
    const HEADER_LEN: usize = 42;
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            let err = restore(&bad, &key)
                .err()
                .unwrap_or_else(|| panic!("byte {i} accepted"));
            if i >= HEADER_LEN {
                assert!(matches!(err, StoreError::Tampered(_)), "byte {i}: {err}");
            } else {
                assert!(
                    matches!(
                        err,
                        StoreError::Tampered(_) | StoreError::WrongKey | StoreError::InvalidInput { .. }
                    ),
                    "byte {i}: {err}"
                );
            }
        }
    }
    // Every truncation, and trailing garbage.
    for len in 0..bytes.len() {
        assert!(restore(&bytes[..len], &key).is_err(), "length {len} accepted");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(restore(&longer, &key), Err(StoreError::Tampered(_))));

    assert!(
        files_under(&dir).is_empty(),
        "nothing created: {:?}",
        files_under(&dir)
    );
    assert_eq!(snapshot_files(&source_dir), source_before, "source untouched");

    // The intact backup still restores.
    restore(&bytes, &key).unwrap();
}

#[test]
fn restoring_over_an_existing_database_is_refused() {
    let (path, store) = busy_store("backup-over-existing");
    let bytes = store.export_backup(&BackupSecret::key(&BACKUP_KEY)).unwrap();
    drop(store);
    let dir = path.parent().unwrap();
    let before = snapshot_files(dir);
    let err = Store::restore_backup(
        &path,
        &bytes,
        &BackupSecret::key(&BACKUP_KEY),
        &TestKeystore::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "restore target",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(snapshot_files(dir), before);
}
