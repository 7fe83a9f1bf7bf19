//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{EntryMode, HostResponse, NewTransaction, Pan, Recorded, ResponseOutcome, Store, TxnKind};

pub const T0: i64 = 1_700_000_000;

/// A fresh store in its own test directory.
pub fn fresh(name: &str) -> (PathBuf, Store) {
    let dir = test_dir(name);
    let path = dir.join("terminal.db");
    let store = Store::open(&path, &TestKeystore::default()).unwrap();
    (path, store)
}

pub fn sale(amount: u64, pan: Option<&str>, at: i64) -> NewTransaction {
    let mut txn = NewTransaction::new(TxnKind::Sale, amount, "156", EntryMode::Contact, at);
    txn.pan = pan.map(|p| Pan::new(p).unwrap());
    txn.aid = Some("A000000333010101".into());
    // 9F26 ARQC, 9F27 CID, 9F36 ATC: what field 55 carries, no card data.
    txn.icc_data = Some(hex::decode("9F2608A1B2C3D4E5F607089F2701809F36020042").unwrap());
    txn
}

pub fn approved(auth: &str, rrn: &str) -> HostResponse {
    let mut r = HostResponse::new(ResponseOutcome::Approved, "00");
    r.auth_code = Some(auth.into());
    r.rrn = Some(rrn.into());
    r
}

/// record_new -> mark_sent -> record_response(approved).
pub fn approved_sale(store: &mut Store, amount: u64, pan: Option<&str>, at: i64) -> Recorded {
    let rec = store.record_new(&sale(amount, pan, at)).unwrap();
    store.mark_sent(rec.id, at).unwrap();
    store
        .record_response(rec.id, &approved("123456", "000000000001"), at + 1)
        .unwrap();
    rec
}
