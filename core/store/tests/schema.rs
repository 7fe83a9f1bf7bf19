//! The schema: connection settings, forward-only migrations from every
//! earlier version, and the absence of any column that could hold
//! sensitive authentication data.

mod common;

use common::{T0, approved_sale, fresh};
use poskit_store::schema_testing::{create_at_version, migration_names};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{SCHEMA_VERSION, Store, StoreError};
use rusqlite::Connection;

#[test]
fn connections_use_wal_full_sync_foreign_keys_and_secure_delete() {
    let (_, store) = fresh("pragmas");
    let conn = store.raw_connection();
    let get = |name: &str| -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
    };
    assert_eq!(get("journal_mode"), "wal");
    assert_eq!(get("synchronous"), "2", "FULL");
    assert_eq!(get("foreign_keys"), "1");
    assert_eq!(get("secure_delete"), "1");
    assert_eq!(get("temp_store"), "2", "MEMORY");
    assert!(get("busy_timeout").parse::<i64>().unwrap() >= 1000);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.check_integrity().unwrap();
}

/// Rows written with the SQL of migration `version`, as a terminal running
/// that version would have written them.
fn seed(conn: &Connection, version: i64) {
    let sql = match version {
        1 => "
            INSERT INTO batches (batch_no, state, opened_at) VALUES (1, 'open', 1700000000);
            INSERT INTO counters (name, value) VALUES ('stan', 2), ('invoice', 2), ('batch', 1);
            INSERT INTO transactions (id, kind, state, amount, currency, stan, batch_no, invoice_no, rrn,
                auth_code, response_code, entry_mode, created_at, updated_at)
              VALUES (1, 'sale', 'approved', 1234, '156', 1, 1, 1, '000000000001', '123456', '00',
                'contact', 1700000000, 1700000001);
            INSERT INTO stan_log (batch_no, stan, purpose, txn_id) VALUES (1, 1, 'sale', 1);
            INSERT INTO transactions (id, kind, state, amount, currency, stan, batch_no, invoice_no,
                entry_mode, created_at, updated_at)
              VALUES (2, 'sale', 'sent', 99, '156', 2, 1, 2, 'contactless', 1700000002, 1700000002);
            INSERT INTO stan_log (batch_no, stan, purpose, txn_id) VALUES (1, 2, 'sale', 2);
        ",
        2 => "
            INSERT INTO reversals (txn_id, status, reason, created_at, updated_at)
              VALUES (2, 'pending', 'no_response', 1700000003, 1700000003);
            UPDATE transactions SET state = 'reversal_pending' WHERE id = 2;
            INSERT INTO saf_queue (txn_id, kind, payload, status, created_at)
              VALUES (1, 'tc_upload', X'9F2608CAFEBABE00000001', 'pending', 1700000004);
        ",
        3 => "",
        4 => "
            INSERT INTO qr_orders (merchant_order_no, wallet, amount, currency, state, created_at, updated_at)
              VALUES ('ORDER-1', 'alipay', 500, '156', 'paying', 1700000005, 1700000005);
        ",
        5 => "
            INSERT INTO faults (category, detail, at) VALUES ('printer', 'out of paper', 1700000006);
        ",
        6 => "
            INSERT INTO settings (key, value, updated_at) VALUES ('binding', '{\"state\":\"bound\"}', 1700000007);
        ",
        7 => "
            INSERT INTO batch_totals (batch_no, kind, currency, count, amount) VALUES (1, 'sale', '156', 1, 1234);
        ",
        8 => "
            INSERT INTO qr_refunds (refund_no, merchant_order_no, amount, state, created_at, updated_at)
              VALUES ('REFUND-1', 'ORDER-1', 200, 'pending', 1700000009, 1700000009);
        ",
        9 => "
            INSERT INTO qr_orders (merchant_order_no, wallet, amount, currency, state, created_at, updated_at,
                flow, expires_at)
              VALUES ('ORDER-2', 'wechat_pay', 700, 'CNY', 'created', 1700000010, 1700000010, 'shown_code',
                1700000130);
        ",
        10 => "
            INSERT INTO risk_decisions (at, kind, amount, currency, entry_mode, pan_hash, verdict, rule, reason,
                txn_id)
              VALUES (1700000011, 'sale', 1234, '156', 'contact', zeroblob(32), 'review', 'unusual_hours',
                '23:10 local time is in the unusual hours 22:00-06:00', 1);
            INSERT INTO risk_decisions (at, kind, amount, currency, entry_mode, verdict, rule, reason)
              VALUES (1700000012, 'qr_sale', 900000, 'CNY', 'qr', 'block', 'per_transaction_limit',
                'amount 900000 is over the per-transaction limit of 500000');
        ",
        11 => "
            INSERT INTO receipt_details (txn_id, app_label, aid, cryptogram_type, cryptogram, tvr, tsi, cvm,
                signature_required, created_at)
              VALUES (1, 'VISA CREDIT', 'A0000000031010', 'TC', 'A1B2C3D4E5F60708', '0000008000', 'E800',
                'signature', 1, 1700000011);
        ",
        _ => panic!("no seed for version {version}: add one with the new migration"),
    };
    conn.execute_batch(sql).unwrap();
    if version == 5 {
        // One audit record, chained by hand from the documented format.
        let details = r#"{"mid":"898310048160001"}"#;
        let mut canonical = Vec::new();
        canonical.extend_from_slice(&1i64.to_be_bytes());
        canonical.extend_from_slice(&1_700_000_008i64.to_be_bytes());
        for field in ["platform", "bound", details] {
            canonical.extend_from_slice(&(field.len() as u32).to_be_bytes());
            canonical.extend_from_slice(field.as_bytes());
        }
        let mut input = vec![0u8; 32];
        input.extend_from_slice(&canonical);
        let hash = ring::digest::digest(&ring::digest::SHA256, &input);
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, event, details, prev_hash, hash)
             VALUES (1, 1700000008, 'platform', 'bound', ?1, zeroblob(32), ?2)",
            rusqlite::params![details, hash.as_ref()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 1, ?1)",
            [hash.as_ref()],
        )
        .unwrap();
    }
}

fn check_seeded(store: &mut Store, version: i64) {
    use poskit_store::*;
    match version {
        1 => {
            let t = store.transaction(TxnId(1)).unwrap();
            assert_eq!(
                (t.kind, t.state, t.amount, t.stan),
                (TxnKind::Sale, TxnState::Approved, 1234, 1)
            );
            assert_eq!(t.auth_code.as_deref(), Some("123456"));
            assert_eq!(t.refunded_amount, 0, "column added by a later migration");
        }
        2 => {
            assert_eq!(store.pending_reversals().unwrap()[0].txn_id, TxnId(2));
            assert_eq!(store.pending_saf().unwrap()[0].kind, SafKind::TcUpload);
        }
        3 => {}
        4 => assert_eq!(store.qr_order("ORDER-1").unwrap().state, QrOrderState::Paying),
        5 => {
            assert_eq!(store.fault_counts(0).unwrap(), vec![(FaultCategory::Printer, 1)]);
            assert_eq!(store.verify_audit().unwrap().records, 1);
        }
        6 => assert_eq!(
            store
                .get_setting::<serde_json::Value>(setting_keys::BINDING_STATE)
                .unwrap(),
            Some(serde_json::json!({"state": "bound"}))
        ),
        7 => assert_eq!(store.batch_totals(1).unwrap()[0].amount, 1234),
        8 => assert_eq!(store.pending_qr_refunds().unwrap()[0].refund_no, "REFUND-1"),
        9 => {
            let shown = store.qr_order("ORDER-2").unwrap();
            assert_eq!(
                (shown.flow, shown.expires_at),
                (QrFlow::ShownCode, Some(1_700_000_130))
            );
            assert_eq!(
                store.qr_order("ORDER-1").unwrap().flow,
                QrFlow::Micropay,
                "default for old rows"
            );
        }
        10 => {
            let review = store.risk_decision_for_txn(TxnId(1)).unwrap().unwrap();
            assert_eq!(
                (review.verdict, review.rule.as_deref(), review.card_present),
                (Verdict::Review, Some("unusual_hours"), true)
            );
            let since = store.risk_decisions_since(1_700_000_012).unwrap();
            assert_eq!(
                (since.len(), since[0].verdict, since[0].entry_mode),
                (1, Verdict::Block, EntryMode::Qr)
            );
        }
        11 => {
            let details = store.receipt_details(TxnId(1)).unwrap().unwrap();
            assert_eq!(details.app_label.as_deref(), Some("VISA CREDIT"));
            assert_eq!(
                details.cryptogram,
                Some((CryptogramKind::Tc, "A1B2C3D4E5F60708".into()))
            );
            assert_eq!(details.verification, Verification::Signature);
            assert!(details.signature_required);
            assert_eq!(details.balance, None);
        }
        _ => unreachable!(),
    }
}

#[test]
fn databases_from_every_earlier_version_open_and_keep_their_data() {
    assert_eq!(migration_names().len() as i64, SCHEMA_VERSION);
    for from in 0..=SCHEMA_VERSION {
        let dir = test_dir(&format!("upgrade-from-v{from}"));
        let path = dir.join("terminal.db");
        {
            let conn = create_at_version(&path, from).unwrap();
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            assert_eq!(version, from);
            for v in 1..=from {
                seed(&conn, v);
            }
        }
        let mut store = Store::open(&path, &TestKeystore::default()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION, "from v{from}");
        store.check_integrity().unwrap();
        for v in 1..=from {
            check_seeded(&mut store, v);
        }
        // The upgraded store works as a new one would, and never reuses a
        // STAN the old version handed out.
        let used: Vec<u32> = store
            .transactions_in_batch(1)
            .unwrap()
            .iter()
            .map(|t| t.stan)
            .collect();
        let rec = approved_sale(&mut store, 10, Some("4761739001010010"), T0);
        assert!(!used.contains(&rec.stan), "from v{from}");
        store
            .append_audit(T0, "test", "upgraded", &serde_json::json!({"from": from}))
            .unwrap();
        store.verify_audit().unwrap();
        let key = poskit_crypto::SymmetricKey::tdes(&[0x11; 16]).unwrap();
        store.put_key("tmk", &key).unwrap();
        assert_eq!(store.get_key("tmk").unwrap(), Some(key));
        drop(store);
        // And opens again unchanged.
        let store = Store::open(&path, &TestKeystore::default()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
}

#[test]
fn a_database_from_a_newer_sdk_is_refused_untouched() {
    let dir = test_dir("newer-schema");
    let path = dir.join("terminal.db");
    {
        let conn = create_at_version(&path, SCHEMA_VERSION).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path, &TestKeystore::default()).unwrap_err();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION)
    );
}

/// Column name words that would mean sensitive authentication data or a
/// clear PAN (PCI DSS 3.2: no track data, CVV2/CVC2, PIN or PIN block
/// after authorisation).
const FORBIDDEN_WORDS: &[&str] = &[
    "track",
    "track1",
    "track2",
    "track3",
    "magstripe_data",
    "cvv",
    "cvv2",
    "cvc",
    "cvc2",
    "cvn",
    "cvn2",
    "cav2",
    "cid",
    "pin",
    "pinblock",
    "pvv",
    "icvv",
    "discretionary",
];

#[test]
fn no_table_has_a_column_for_track_data_cvv_or_pin_blocks() {
    let (_, mut store) = fresh("no-sensitive-columns");
    approved_sale(&mut store, 1, Some("4012345678909"), T0);
    let conn = store.raw_connection();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 12, "{tables:?}");
    let mut pan_columns = Vec::new();
    for table in &tables {
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([table], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!columns.is_empty(), "{table}");
        for column in columns {
            let lower = column.to_ascii_lowercase();
            for word in lower.split('_') {
                assert!(!FORBIDDEN_WORDS.contains(&word), "{table}.{column}");
            }
            for phrase in [
                "pin_block",
                "card_no",
                "card_number",
                "account_number",
                "service_code",
            ] {
                assert!(!lower.contains(phrase), "{table}.{column}");
            }
            if lower.split('_').any(|w| w == "pan") {
                pan_columns.push(format!("{table}.{lower}"));
            }
        }
    }
    // The PAN exists only encrypted, as a keyed hash, and masked; risk
    // decisions carry the same keyed hash to count a card's attempts.
    pan_columns.sort();
    assert_eq!(
        pan_columns,
        [
            "risk_decisions.pan_hash",
            "transactions.pan_encrypted",
            "transactions.pan_hash",
            "transactions.pan_masked"
        ]
    );
    // And the stored values are what their names say.
    let (masked, encrypted, hash): (String, Vec<u8>, Vec<u8>) = conn
        .query_row(
            "SELECT pan_masked, pan_encrypted, pan_hash FROM transactions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(masked, "401234***8909");
    assert_eq!(encrypted.len(), 12 + 13 + 16);
    assert_eq!(hash.len(), 32);
}
