//! No card data at rest (DESIGN rule 5, PCI DSS 3.2-3.4): run sales with
//! the test cards through the public API, offering card data everywhere a
//! careless caller might (ICC data, fault details, audit details, failure
//! reasons), back up and restore, then scan every file the tests left under
//! the test-data directory (databases, WAL and shared-memory files,
//! backups) for the PANs as ASCII digits and BCD, the track 2 data and the
//! PIN blocks. None may be found.

mod common;

use std::fs;

use common::{T0, approved, sale};
use poskit_crypto::SymmetricKey;
use poskit_store::testing::{
    Needle, TestKeystore, files_under, scan_for_card_data, test_data_root, test_dir,
};
use poskit_store::{
    BackupSecret, EntryMode, FaultCategory, HostResponse, NewTransaction, Pan, ResponseOutcome, SafKind,
    Store, StoreError, TxnKind,
};
use serde_json::json;

const PANS: [&str; 4] = [
    "4761739001010010",
    "5413330089020011",
    "6230580000000000013",
    "4012345678909",
];
const TRACK2: &str = "4761739001010010D25122011143878";

/// ISO 9564 format 0 PIN block of PIN 1234 for `pan`, in clear.
fn pin_block(pan: &str) -> [u8; 8] {
    let pin_field = [0x04, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    let body = &pan[..pan.len() - 1];
    let digits = format!("0000{}", &body[body.len() - 12..]);
    let pan_field: Vec<u8> = digits
        .as_bytes()
        .chunks(2)
        .map(|p| ((p[0] - b'0') << 4) | (p[1] - b'0'))
        .collect();
    let mut out = [0u8; 8];
    for i in 0..8 {
        out[i] = pin_field[i] ^ pan_field[i];
    }
    out
}

fn needles() -> Vec<Needle> {
    let mut needles = Vec::new();
    for (i, pan) in PANS.iter().enumerate() {
        needles.extend(Needle::pan(&format!("test PAN {i}"), pan));
        needles.extend(Needle::bytes(&format!("PIN block {i}"), &pin_block(pan)));
    }
    needles.extend(Needle::track2("track 2", TRACK2));
    needles
}

fn run_sales(store: &mut Store) {
    let pik = SymmetricKey::tdes(&hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
    store.put_key("pik", &pik).unwrap();
    let mut now = T0;
    let mut ids = Vec::new();
    for (i, pan) in PANS.iter().enumerate() {
        now += 10;
        // What the terminal holds in memory for this sale: the PIN block
        // and the track 2 never reach the store.
        let block = pin_block(pan);
        let mut txn = sale(1000 + i as u64, Some(pan), now);
        txn.entry_mode = if i == 0 {
            EntryMode::MagStripe
        } else {
            EntryMode::Contact
        };

        // Offered inside ICC data: refused, nothing recorded.
        let mut with_track = txn.clone();
        with_track.icc_data = Some(hex::decode(format!("9F260801020304050607085710{TRACK2}F")).unwrap());
        assert!(matches!(
            store.record_new(&with_track),
            Err(StoreError::CardDataRefused { .. })
        ));
        let mut with_pin = txn.clone();
        with_pin.icc_data = Some([&[0x99, 0x08][..], &block].concat());
        assert!(matches!(
            store.record_new(&with_pin),
            Err(StoreError::CardDataRefused { .. })
        ));

        let rec = store.record_new(&txn).unwrap();
        store.mark_sent(rec.id, now).unwrap();
        store
            .record_response(rec.id, &approved("123456", &format!("00000000000{i}")), now + 1)
            .unwrap();
        store
            .enqueue_saf(
                rec.id,
                SafKind::TcUpload,
                &hex::decode("9F2608CAFEBABE00000001").unwrap(),
                now + 2,
            )
            .unwrap();
        // Careless free text.
        let hex_block: String = block.iter().map(|b| format!("{b:02X}")).collect();
        store
            .record_fault(
                FaultCategory::CardReader,
                &format!(
                    "swipe {TRACK2} pan {pan} pin block {hex_block} spaced {}",
                    spaced(pan)
                ),
                Some(rec.id),
                now + 3,
            )
            .unwrap();
        store
            .note_fault_reason(rec.id, &format!("printer jam on {pan}"), now + 4)
            .unwrap();
        ids.push(rec.id);
    }
    // A void, a refund, a declined sale, an offline approval.
    let mut void = NewTransaction::new(TxnKind::Void, 1000, "156", EntryMode::NotPresent, now + 10);
    void.original_id = Some(ids[0]);
    let v = store.record_new(&void).unwrap();
    store.mark_sent(v.id, now + 10).unwrap();
    store
        .record_response(v.id, &approved("222222", "000000000100"), now + 11)
        .unwrap();
    let mut refund = NewTransaction::new(TxnKind::Refund, 500, "156", EntryMode::Contact, now + 12);
    refund.original_id = Some(ids[1]);
    refund.pan = Some(Pan::new(PANS[1]).unwrap());
    let r = store.record_new(&refund).unwrap();
    store.mark_sent(r.id, now + 12).unwrap();
    store
        .record_response(r.id, &approved("333333", "000000000101"), now + 13)
        .unwrap();
    let declined = store.record_new(&sale(99, Some(PANS[2]), now + 14)).unwrap();
    store.mark_sent(declined.id, now + 14).unwrap();
    store
        .record_response(
            declined.id,
            &HostResponse::new(ResponseOutcome::Declined, "55"),
            now + 15,
        )
        .unwrap();
    let offline = store.record_new(&sale(50, Some(PANS[3]), now + 16)).unwrap();
    store
        .record_offline(
            offline.id,
            true,
            Some("Y1"),
            &hex::decode("9F2608AABBCCDDEEFF0011").unwrap(),
            now + 17,
        )
        .unwrap();
    assert_eq!(store.find_by_card(&Pan::new(PANS[0]).unwrap()).unwrap().len(), 1);

    // The settlement card change, audited with the full card number.
    store
        .append_audit(
            now + 20,
            "admin",
            "settlement_card_changed",
            &json!({"old": PANS[2], "new": PANS[3], "track": TRACK2, "raw": 4761739001010010u64}),
        )
        .unwrap();
    store
        .put_setting(
            "binding_state",
            &json!({"settlement_card": Pan::new(PANS[2]).unwrap().masked()}),
            now,
        )
        .unwrap();
    let totals = store.close_batch(now + 30).unwrap();
    store.mark_batch_settled(totals.batch_no, now + 31).unwrap();
}

fn spaced(pan: &str) -> String {
    pan.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn no_pan_track_or_pin_block_is_found_in_any_file_the_tests_wrote() {
    let dir = test_dir("no-card-data-at-rest");
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::default()).unwrap();
    run_sales(&mut store);

    let backup = store.export_backup(&BackupSecret::key(&[0x5B; 32])).unwrap();
    fs::write(dir.join("terminal.pkbk"), &backup).unwrap();
    let restored_dir = test_dir("no-card-data-at-rest-restored");
    let restored = Store::restore_backup(
        restored_dir.join("terminal.db"),
        &backup,
        &BackupSecret::key(&[0x5B; 32]),
        &TestKeystore::new(7),
    )
    .unwrap();
    assert_eq!(
        restored.reveal_pan(poskit_store::TxnId(1)).unwrap(),
        Some(Pan::new(PANS[0]).unwrap())
    );

    // The faults and the audit kept their meaning, without the card data.
    let faults = store.faults_since(0, 100).unwrap();
    assert!(
        faults[0].detail.contains("swipe [removed] pan "),
        "{}",
        faults[0].detail
    );
    assert!(
        faults[0].detail.contains("pin block [removed]"),
        "{}",
        faults[0].detail
    );
    let audit = &store.audit_records().unwrap()[0];
    assert!(audit.details.contains("623058*********0013"), "{}", audit.details);

    // Scan with the stores open (WAL and shared-memory files present) ...
    let root = test_data_root();
    let files = files_under(&root);
    let names: Vec<String> = files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    for suffix in [".db", ".db-wal", ".db-shm", ".pkbk"] {
        assert!(
            names.iter().any(|n| n.ends_with(suffix)),
            "no {suffix} file to scan"
        );
    }
    let needles = needles();
    let findings = scan_for_card_data(&root, &needles);
    assert!(findings.is_empty(), "card data at rest: {findings:#?}");

    // ... and again after closing them (checkpointed into the main files).
    drop(store);
    drop(restored);
    let findings = scan_for_card_data(&root, &needles);
    assert!(findings.is_empty(), "card data at rest: {findings:#?}");
    eprintln!(
        "scanned {} files under {} for {} card data patterns: none found",
        files_under(&root).len(),
        root.display(),
        needles.len()
    );
}
