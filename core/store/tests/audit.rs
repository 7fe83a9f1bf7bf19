//! The audit trail: append-only, hash-chained, and every edit, deletion or
//! reordering made behind the store's back (raw SQL on the file, the way
//! an attacker with file access would) is found, with the record where the
//! chain breaks.

mod common;

use common::{T0, fresh};
use poskit_store::{AuditBreak, Store, StoreError};
use serde_json::json;

fn trail(name: &str) -> Store {
    let (_, mut store) = fresh(name);
    let events = [
        (
            "platform",
            "onboarding_approved",
            json!({"mid": "898310048160001"}),
        ),
        (
            "platform",
            "bound",
            json!({"mid": "898310048160001", "tid": "10000001"}),
        ),
        (
            "admin",
            "settlement_card_changed",
            json!({"card": "6230580000000000013"}),
        ),
        ("admin", "payment_method_added", json!({"method": "wechat_pay"})),
        ("terminal", "keys_loaded", json!({"kcv": "82E136"})),
    ];
    for (i, (actor, event, details)) in events.iter().enumerate() {
        store.append_audit(T0 + i as i64, actor, event, details).unwrap();
    }
    store
}

/// Drops the append-only triggers, as an attacker editing the file would.
fn unprotect(store: &Store) {
    store
        .raw_connection()
        .execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .unwrap();
}

fn broken_at(store: &Store) -> (i64, AuditBreak) {
    match store.verify_audit() {
        Err(StoreError::AuditBroken { record, reason }) => (record, reason),
        other => panic!("expected a broken chain, got {other:?}"),
    }
}

#[test]
fn an_intact_trail_verifies_and_links_each_record_to_the_previous() {
    let store = trail("audit-intact");
    let summary = store.verify_audit().unwrap();
    let records = store.audit_records().unwrap();
    assert_eq!(summary.records, 5);
    assert_eq!(summary.head, records[4].hash);
    assert_eq!(records[0].prev_hash, [0; 32]);
    for pair in records.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    // A settlement card number in the details is kept only masked.
    assert_eq!(records[2].details, r#"{"card":"623058*********0013"}"#);
    // The merchant number (not Luhn-valid) is kept as it is.
    assert!(records[1].details.contains("898310048160001"));
}

#[test]
fn the_store_itself_cannot_update_or_delete_records() {
    let store = trail("audit-append-only");
    let conn = store.raw_connection();
    assert!(
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 1", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM audit_log WHERE seq = 1", []).is_err());
    store.verify_audit().unwrap();
}

#[test]
fn an_edited_record_is_found() {
    let store = trail("audit-edited");
    unprotect(&store);
    store
        .raw_connection()
        .execute(
            r#"UPDATE audit_log SET details = '{"method":"alipay"}' WHERE seq = 4"#,
            [],
        )
        .unwrap();
    assert_eq!(broken_at(&store), (4, AuditBreak::Edited));
    let err = store.verify_audit().unwrap_err().to_string();
    assert!(err.contains("record 4"), "{err}");
}

#[test]
fn an_edited_time_or_actor_is_found() {
    let store = trail("audit-edited-time");
    unprotect(&store);
    store
        .raw_connection()
        .execute("UPDATE audit_log SET at = at - 86400 WHERE seq = 2", [])
        .unwrap();
    assert_eq!(broken_at(&store), (2, AuditBreak::Edited));

    let store = trail("audit-edited-actor");
    unprotect(&store);
    store
        .raw_connection()
        .execute("UPDATE audit_log SET actor = 'platform' WHERE seq = 3", [])
        .unwrap();
    assert_eq!(broken_at(&store), (3, AuditBreak::Edited));
}

#[test]
fn an_edited_record_with_a_recomputed_hash_breaks_the_next_link() {
    let store = trail("audit-rehashed");
    unprotect(&store);
    // Edit record 2 and give it the hash its new content would have (the
    // format is public): record 3 still links to the old hash.
    let record = &store.audit_records().unwrap()[1];
    let details = r#"{"mid":"898310048160002","tid":"10000001"}"#;
    let mut input = record.prev_hash.to_vec();
    input.extend_from_slice(&record.seq.to_be_bytes());
    input.extend_from_slice(&record.at.to_be_bytes());
    for field in [record.actor.as_str(), record.event.as_str(), details] {
        input.extend_from_slice(&(field.len() as u32).to_be_bytes());
        input.extend_from_slice(field.as_bytes());
    }
    let hash = ring::digest::digest(&ring::digest::SHA256, &input);
    store
        .raw_connection()
        .execute(
            "UPDATE audit_log SET details = ?1, hash = ?2 WHERE seq = 2",
            rusqlite::params![details, hash.as_ref()],
        )
        .unwrap();
    assert_eq!(broken_at(&store), (3, AuditBreak::Unlinked));
}

#[test]
fn a_deleted_record_is_found() {
    let store = trail("audit-deleted");
    unprotect(&store);
    store
        .raw_connection()
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap();
    assert_eq!(broken_at(&store), (3, AuditBreak::Gap));

    // Renumbering the rest to hide the gap breaks the link instead.
    let store = trail("audit-deleted-renumbered");
    unprotect(&store);
    let conn = store.raw_connection();
    conn.execute("DELETE FROM audit_log WHERE seq = 3", []).unwrap();
    conn.execute("UPDATE audit_log SET seq = seq - 1 WHERE seq > 3", [])
        .unwrap();
    assert_eq!(broken_at(&store).0, 3);
}

#[test]
fn reordered_records_are_found() {
    let store = trail("audit-reordered");
    unprotect(&store);
    let conn = store.raw_connection();
    conn.execute_batch(
        "UPDATE audit_log SET seq = 100 WHERE seq = 2;
         UPDATE audit_log SET seq = 2 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = 100;",
    )
    .unwrap();
    assert_eq!(broken_at(&store), (2, AuditBreak::Unlinked));
}

#[test]
fn removing_the_last_records_is_found() {
    let store = trail("audit-truncated");
    unprotect(&store);
    store
        .raw_connection()
        .execute("DELETE FROM audit_log WHERE seq >= 4", [])
        .unwrap();
    assert_eq!(broken_at(&store), (3, AuditBreak::Truncated));

    let store = trail("audit-emptied");
    unprotect(&store);
    store
        .raw_connection()
        .execute("DELETE FROM audit_log", [])
        .unwrap();
    assert_eq!(broken_at(&store), (0, AuditBreak::Truncated));
}

#[test]
fn a_wrong_typed_value_is_an_edit_not_a_panic() {
    let store = trail("audit-wrong-type");
    unprotect(&store);
    store
        .raw_connection()
        .execute(
            "UPDATE audit_log SET actor = 42, prev_hash = 'x' WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(broken_at(&store), (2, AuditBreak::Edited));
}

#[test]
fn appending_continues_the_chain_after_reopening() {
    let (path, mut store) = fresh("audit-reopen");
    store.append_audit(T0, "platform", "bound", &json!({})).unwrap();
    drop(store);
    let mut store = Store::open(&path, &poskit_store::testing::TestKeystore::default()).unwrap();
    let second = store
        .append_audit(T0 + 1, "platform", "unbound", &json!({}))
        .unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(store.verify_audit().unwrap().records, 2);
    assert!(matches!(
        store.append_audit(T0, "", "x", &json!({})),
        Err(StoreError::InvalidInput { .. })
    ));
}
