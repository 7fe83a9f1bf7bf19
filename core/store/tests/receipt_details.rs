//! Receipt details: what a receipt prints beyond the journal row, kept
//! receipt-safe (no PAN, no track, no PIN data), replaceable, and counted
//! in diagnostics by state.

mod common;

use common::{T0, approved_sale, fresh};
use poskit_store::testing::{Needle, scan_for_card_data};
use poskit_store::{CryptogramKind, ReceiptDetails, StoreError, TxnId, TxnState, Verification};

const PAN: &str = "4761739001010010";

fn chip_details() -> ReceiptDetails {
    ReceiptDetails {
        app_label: Some("VISA CREDIT".into()),
        aid: Some("a0000000031010".into()),
        cryptogram: Some((CryptogramKind::Tc, "a1b2c3d4e5f60708".into())),
        tvr: Some("0000008000".into()),
        tsi: Some("e800".into()),
        verification: Verification::OfflinePinAndSignature,
        signature_required: true,
        balance: None,
    }
}

#[test]
fn details_round_trip_upper_cased_and_can_be_replaced() {
    let (_, mut store) = fresh("receipt-details");
    let rec = approved_sale(&mut store, 5_000, Some(PAN), T0);
    assert_eq!(store.receipt_details(rec.id).unwrap(), None);

    store
        .record_receipt_details(rec.id, &chip_details(), T0 + 2)
        .unwrap();
    let read = store.receipt_details(rec.id).unwrap().unwrap();
    assert_eq!(read.aid.as_deref(), Some("A0000000031010"));
    assert_eq!(
        read.cryptogram,
        Some((CryptogramKind::Tc, "A1B2C3D4E5F60708".into()))
    );
    assert_eq!(read.tsi.as_deref(), Some("E800"));
    assert_eq!(read.verification, Verification::OfflinePinAndSignature);
    assert!(read.signature_required);

    // A balance learnt later replaces the row, not adds one.
    let inquiry = ReceiptDetails {
        balance: Some(-1_250),
        signature_required: false,
        verification: Verification::OnlinePin,
        ..chip_details()
    };
    store.record_receipt_details(rec.id, &inquiry, T0 + 3).unwrap();
    let read = store.receipt_details(rec.id).unwrap().unwrap();
    assert_eq!(
        (read.balance, read.signature_required, read.verification),
        (Some(-1_250), false, Verification::OnlinePin)
    );
}

#[test]
fn card_data_and_malformed_fields_are_refused_and_nothing_is_written() {
    let (path, mut store) = fresh("receipt-details-refused");
    let rec = approved_sale(&mut store, 5_000, Some(PAN), T0);
    let hiding = ReceiptDetails {
        app_label: Some(format!("CARD {PAN}")),
        ..chip_details()
    };
    assert!(matches!(
        store.record_receipt_details(rec.id, &hiding, T0),
        Err(StoreError::CardDataRefused { .. })
    ));
    let as_cryptogram = ReceiptDetails {
        cryptogram: Some((CryptogramKind::Arqc, PAN.into())),
        ..chip_details()
    };
    assert!(matches!(
        store.record_receipt_details(rec.id, &as_cryptogram, T0),
        Err(StoreError::CardDataRefused { .. })
    ));
    let short_tvr = ReceiptDetails {
        tvr: Some("80".into()),
        ..chip_details()
    };
    assert!(matches!(
        store.record_receipt_details(rec.id, &short_tvr, T0),
        Err(StoreError::InvalidInput { field: "TVR", .. })
    ));
    assert_eq!(store.receipt_details(rec.id).unwrap(), None);
    assert!(matches!(
        store.record_receipt_details(TxnId(999), &chip_details(), T0),
        Err(StoreError::NotFound { .. })
    ));
    drop(store);
    let findings = scan_for_card_data(path.parent().unwrap(), &Needle::pan("test PAN", PAN));
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn corrupt_rows_read_as_typed_errors() {
    let (_, mut store) = fresh("receipt-details-corrupt");
    let rec = approved_sale(&mut store, 5_000, None, T0);
    store.record_receipt_details(rec.id, &chip_details(), T0).unwrap();
    store
        .raw_connection()
        .execute("UPDATE receipt_details SET cvm = 'telepathy'", [])
        .unwrap();
    assert!(matches!(
        store.receipt_details(rec.id),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .raw_connection()
        .execute(
            "UPDATE receipt_details SET cvm = 'signature', cryptogram_type = NULL",
            [],
        )
        .unwrap();
    assert!(matches!(
        store.receipt_details(rec.id),
        Err(StoreError::Corrupt { what: "a cryptogram" })
    ));
}

#[test]
fn transactions_are_counted_by_state_over_a_window() {
    let (_, mut store) = fresh("state-counts");
    approved_sale(&mut store, 100, None, T0 - 100);
    approved_sale(&mut store, 100, None, T0);
    approved_sale(&mut store, 200, None, T0 + 1);
    let mut pending = common::sale(300, None, T0 + 2);
    pending.pan = None;
    store.record_new(&pending).unwrap();
    assert_eq!(
        store.transaction_state_counts(T0).unwrap(),
        vec![(TxnState::Approved, 2), (TxnState::Pending, 1)]
    );
    assert_eq!(store.transaction_count_since(T0).unwrap(), 3);
    assert_eq!(store.transaction_count_since(T0 - 100).unwrap(), 4);
}
