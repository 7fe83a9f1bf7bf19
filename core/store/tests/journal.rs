//! The journal's state machine, queues, counters and batches, driven the
//! way the terminal drives them.

mod common;

use common::{T0, approved, approved_sale, fresh, sale};
use poskit_store::{
    EntryMode, HostResponse, NewQrOrder, NewTransaction, Pan, QrFlow, QrOrderState, ResponseOutcome,
    ReversalReason, ReversalStatus, SafKind, StoreError, TxnId, TxnKind, TxnState, Unsettled, Wallet,
};

#[test]
fn an_approved_sale_drops_its_provisional_reversal() {
    let (_, mut store) = fresh("approved-sale");
    let rec = store
        .record_new(&sale(1000, Some("4761739001010010"), T0))
        .unwrap();
    assert_eq!((rec.stan, rec.batch_no, rec.invoice_no), (1, 1, 1));
    assert_eq!(store.transaction(rec.id).unwrap().state, TxnState::Pending);

    store.mark_sent(rec.id, T0).unwrap();
    // Rule 4: the reversal exists before the request leaves the device.
    assert_eq!(store.reversal(rec.id).unwrap(), Some(ReversalStatus::Provisional));
    assert!(store.has_reversal_pending().unwrap());

    let state = store
        .record_response(rec.id, &approved("654321", "123456789012"), T0 + 2)
        .unwrap();
    assert_eq!(state, TxnState::Approved);
    assert_eq!(store.reversal(rec.id).unwrap(), None);
    assert!(!store.has_reversal_pending().unwrap());

    let t = store.transaction(rec.id).unwrap();
    assert_eq!(t.auth_code.as_deref(), Some("654321"));
    assert_eq!(t.rrn.as_deref(), Some("123456789012"));
    assert_eq!(t.response_code.as_deref(), Some("00"));
    assert_eq!(t.pan_masked.as_deref(), Some("476173******0010"));
    assert_eq!((t.created_at, t.updated_at), (T0, T0 + 2));
}

#[test]
fn a_declined_sale_needs_no_reversal() {
    let (_, mut store) = fresh("declined-sale");
    let rec = store.record_new(&sale(1000, None, T0)).unwrap();
    store.mark_sent(rec.id, T0).unwrap();
    let state = store
        .record_response(
            rec.id,
            &HostResponse::new(ResponseOutcome::Declined, "51"),
            T0 + 1,
        )
        .unwrap();
    assert_eq!(state, TxnState::Declined);
    assert_eq!(store.reversal(rec.id).unwrap(), None);
    assert!(store.unsettled().unwrap().is_clear());
}

#[test]
fn an_invalid_transition_is_a_typed_error_and_changes_nothing() {
    let (_, mut store) = fresh("invalid-transition");
    let rec = store.record_new(&sale(1000, None, T0)).unwrap();
    // A response to a request never sent.
    let err = store
        .record_response(rec.id, &approved("1", "2"), T0 + 1)
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::InvalidTransition {
                from: "pending",
                to: "approved",
                ..
            }
        ),
        "{err}"
    );
    let t = store.transaction(rec.id).unwrap();
    assert_eq!(t.state, TxnState::Pending);
    assert_eq!(t.auth_code, None);
    assert_eq!(t.updated_at, T0);

    store.mark_sent(rec.id, T0).unwrap();
    let err = store.mark_sent(rec.id, T0 + 1).unwrap_err();
    assert!(matches!(
        err,
        StoreError::InvalidTransition {
            from: "sent",
            to: "sent",
            ..
        }
    ));
    store
        .record_response(rec.id, &approved("1", "2"), T0 + 2)
        .unwrap();
    let err = store
        .record_response(rec.id, &approved("1", "2"), T0 + 3)
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidTransition { .. }));
    assert!(matches!(
        store.mark_sent(TxnId(999), T0),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn a_bad_mac_keeps_the_reversal_and_makes_it_due() {
    let (_, mut store) = fresh("bad-mac");
    let rec = store.record_new(&sale(1000, None, T0)).unwrap();
    store.mark_sent(rec.id, T0).unwrap();
    let mut response = approved("111111", "000000000009");
    response.outcome = ResponseOutcome::MustReverse(ReversalReason::BadMac);
    assert_eq!(
        store.record_response(rec.id, &response, T0 + 1).unwrap(),
        TxnState::ReversalPending
    );
    let due = store.pending_reversals().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].txn_id, rec.id);
    assert_eq!(due[0].reason, Some(ReversalReason::BadMac));

    store.mark_reversal_sent(rec.id, T0 + 2).unwrap();
    store.mark_reversal_sent(rec.id, T0 + 40).unwrap();
    let due = store.pending_reversals().unwrap();
    assert_eq!((due[0].status, due[0].attempts), (ReversalStatus::Sent, 2));

    store.mark_reversal_completed(rec.id, T0 + 41).unwrap();
    assert_eq!(store.transaction(rec.id).unwrap().state, TxnState::Reversed);
    assert!(store.pending_reversals().unwrap().is_empty());
    assert!(!store.has_reversal_pending().unwrap());
    assert!(matches!(
        store.mark_reversal_completed(rec.id, T0 + 42),
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[test]
fn card_declined_after_host_approval_is_reversed() {
    let (_, mut store) = fresh("card-declined-after-approval");
    let rec = approved_sale(&mut store, 1000, None, T0);
    store
        .mark_reversal_needed(rec.id, ReversalReason::CardDeclinedAfterApproval, T0 + 3)
        .unwrap();
    assert_eq!(
        store.transaction(rec.id).unwrap().state,
        TxnState::ReversalPending
    );
    let due = store.pending_reversals().unwrap();
    assert_eq!(due[0].reason, Some(ReversalReason::CardDeclinedAfterApproval));
}

#[test]
fn a_timeout_makes_the_reversal_due() {
    let (_, mut store) = fresh("timeout");
    let rec = store.record_new(&sale(1000, None, T0)).unwrap();
    store.mark_sent(rec.id, T0).unwrap();
    assert!(
        store.pending_reversals().unwrap().is_empty(),
        "provisional is not due yet"
    );
    store
        .mark_reversal_needed(rec.id, ReversalReason::NoResponse, T0 + 60)
        .unwrap();
    assert_eq!(store.pending_reversals().unwrap()[0].txn_id, rec.id);
    // A late response to a transaction being reversed is refused.
    assert!(matches!(
        store.record_response(rec.id, &approved("1", "2"), T0 + 61),
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[test]
fn recovery_aborts_unsent_and_reverses_sent_transactions() {
    let (path, mut store) = fresh("recovery");
    let unsent = store.record_new(&sale(100, None, T0)).unwrap();
    let sent = store.record_new(&sale(200, None, T0)).unwrap();
    store.mark_sent(sent.id, T0).unwrap();
    let done = approved_sale(&mut store, 300, None, T0);
    drop(store);

    let mut store =
        poskit_store::Store::open(&path, &poskit_store::testing::TestKeystore::default()).unwrap();
    let recovery = store.recover_in_flight(T0 + 100).unwrap();
    assert_eq!(recovery.aborted, vec![unsent.id]);
    assert_eq!(recovery.reversals_due, vec![sent.id]);
    assert_eq!(store.transaction(unsent.id).unwrap().state, TxnState::Aborted);
    assert_eq!(
        store.transaction(sent.id).unwrap().state,
        TxnState::ReversalPending
    );
    assert_eq!(store.transaction(done.id).unwrap().state, TxnState::Approved);
    let due = store.pending_reversals().unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].reason, Some(ReversalReason::NoResponse));
    // Idempotent.
    assert_eq!(store.recover_in_flight(T0 + 200).unwrap(), Default::default());
}

#[test]
fn a_void_voids_its_original_in_the_same_commit() {
    let (_, mut store) = fresh("void");
    let original = approved_sale(&mut store, 1000, Some("5413330089020011"), T0);
    let mut void = NewTransaction::new(TxnKind::Void, 1000, "156", EntryMode::NotPresent, T0 + 10);
    void.original_id = Some(original.id);
    let v = store.record_new(&void).unwrap();
    assert_ne!(v.stan, original.stan);
    // A second void while the first is in flight is refused.
    assert!(matches!(
        store.record_new(&void),
        Err(StoreError::Duplicate { .. })
    ));
    store.mark_sent(v.id, T0 + 10).unwrap();
    store
        .record_response(v.id, &approved("222222", "000000000002"), T0 + 11)
        .unwrap();
    assert_eq!(store.transaction(original.id).unwrap().state, TxnState::Voided);
    assert_eq!(store.transaction(v.id).unwrap().original_id, Some(original.id));

    // A void for another amount, or of something not a sale, is refused.
    let other = approved_sale(&mut store, 500, None, T0 + 20);
    let mut wrong = NewTransaction::new(TxnKind::Void, 400, "156", EntryMode::NotPresent, T0 + 21);
    wrong.original_id = Some(other.id);
    assert!(matches!(
        store.record_new(&wrong),
        Err(StoreError::InvalidInput { .. })
    ));
    let mut wrong = NewTransaction::new(TxnKind::Void, 1000, "156", EntryMode::NotPresent, T0 + 21);
    wrong.original_id = Some(v.id);
    assert!(matches!(
        store.record_new(&wrong),
        Err(StoreError::InvalidInput { .. })
    ));
    let mut orphan = NewTransaction::new(TxnKind::Refund, 10, "156", EntryMode::NotPresent, T0);
    orphan.original_id = None;
    assert!(matches!(
        store.record_new(&orphan),
        Err(StoreError::InvalidInput { .. })
    ));
}

#[test]
fn refunds_track_the_refunded_amount_and_never_exceed_the_original() {
    let (_, mut store) = fresh("refunds");
    let original = approved_sale(&mut store, 1000, None, T0);
    let refund = |amount, at| {
        let mut r = NewTransaction::new(TxnKind::Refund, amount, "156", EntryMode::NotPresent, at);
        r.original_id = Some(original.id);
        r
    };
    let r1 = store.record_new(&refund(300, T0 + 10)).unwrap();
    // 300 in flight: only 700 left.
    assert!(matches!(
        store.record_new(&refund(800, T0 + 11)),
        Err(StoreError::RefundTooLarge {
            requested: 800,
            remaining: 700
        })
    ));
    store.mark_sent(r1.id, T0 + 10).unwrap();
    store
        .record_response(r1.id, &approved("333333", "000000000003"), T0 + 12)
        .unwrap();
    let o = store.transaction(original.id).unwrap();
    assert_eq!((o.state, o.refunded_amount), (TxnState::Approved, 300));

    let r2 = store.record_new(&refund(700, T0 + 20)).unwrap();
    store.mark_sent(r2.id, T0 + 20).unwrap();
    store
        .record_response(r2.id, &approved("444444", "000000000004"), T0 + 21)
        .unwrap();
    let o = store.transaction(original.id).unwrap();
    assert_eq!((o.state, o.refunded_amount), (TxnState::Refunded, 1000));
    assert!(matches!(
        store.record_new(&refund(1, T0 + 30)),
        Err(StoreError::InvalidTransition { .. })
    ));

    // A declined refund refunds nothing.
    let other = approved_sale(&mut store, 50, None, T0 + 40);
    let mut r3 = refund(50, T0 + 41);
    r3.original_id = Some(other.id);
    let r3 = store.record_new(&r3).unwrap();
    store.mark_sent(r3.id, T0 + 41).unwrap();
    store
        .record_response(
            r3.id,
            &HostResponse::new(ResponseOutcome::Declined, "12"),
            T0 + 42,
        )
        .unwrap();
    assert_eq!(store.transaction(other.id).unwrap().refunded_amount, 0);
}

#[test]
fn offline_approvals_go_to_the_store_and_forward_queue() {
    let (_, mut store) = fresh("offline");
    let rec = store
        .record_new(&sale(800, Some("4761739001010010"), T0))
        .unwrap();
    let tc = hex::decode("9F2608CAFEBABE000000019F270140").unwrap();
    let saf = store
        .record_offline(rec.id, true, Some("Y1"), &tc, T0 + 1)
        .unwrap()
        .unwrap();
    assert_eq!(store.transaction(rec.id).unwrap().state, TxnState::Approved);
    let pending = store.pending_saf().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].kind), (saf, SafKind::OfflineApproval));
    assert_eq!(pending[0].payload, tc);
    store.mark_saf_attempt(saf).unwrap();
    store.mark_saf_forwarded(saf, T0 + 100).unwrap();
    assert!(store.pending_saf().unwrap().is_empty());
    assert_eq!(store.saf_for(rec.id).unwrap()[0].attempts, 1);
    assert!(matches!(
        store.mark_saf_forwarded(saf, T0 + 101),
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[test]
fn tc_uploads_with_card_data_are_refused() {
    let (_, mut store) = fresh("tc-upload");
    let rec = approved_sale(&mut store, 100, Some("4761739001010010"), T0);
    let with_track = hex::decode("57104761739001010010D25122011143878F").unwrap();
    let err = store
        .enqueue_saf(rec.id, SafKind::TcUpload, &with_track, T0)
        .unwrap_err();
    assert!(matches!(err, StoreError::CardDataRefused { .. }), "{err}");
    // The PAN hidden in an issuer-defined tag is caught too.
    let hidden = hex::decode("9F10084761739001010010").unwrap();
    assert!(store.enqueue_saf(rec.id, SafKind::TcUpload, &hidden, T0).is_err());
    assert!(store.pending_saf().unwrap().is_empty());
    let tc = hex::decode("9F2608CAFEBABE00000001").unwrap();
    store.enqueue_saf(rec.id, SafKind::TcUpload, &tc, T0).unwrap();
    assert_eq!(store.pending_saf().unwrap().len(), 1);
}

#[test]
fn stans_wrap_after_999999_and_are_never_reused_in_a_batch() {
    let (_, mut store) = fresh("stan-wrap");
    let first = store.record_new(&sale(1, None, T0)).unwrap();
    assert_eq!(first.stan, 1);
    let sign_in = store.allocate_stan("sign_in", T0).unwrap();
    assert_eq!(sign_in, 2);
    store
        .raw_connection()
        .execute("UPDATE counters SET value = 999998 WHERE name = 'stan'", [])
        .unwrap();
    let a = store.record_new(&sale(1, None, T0)).unwrap();
    let b = store.record_new(&sale(1, None, T0)).unwrap();
    assert_eq!((a.stan, b.stan), (999_999, 3), "1 and 2 are used in this batch");

    // Settling the batch frees the numbers for the next one.
    for id in [first.id, a.id, b.id] {
        store.abort(id, "test", T0).unwrap();
    }
    let closed = store.close_batch(T0 + 10).unwrap();
    store.mark_batch_settled(closed.batch_no, T0 + 20).unwrap();
    store
        .raw_connection()
        .execute("UPDATE counters SET value = 999999 WHERE name = 'stan'", [])
        .unwrap();
    let c = store.record_new(&sale(1, None, T0 + 30)).unwrap();
    assert_eq!((c.stan, c.batch_no), (1, 2));
    assert_eq!(store.counters().unwrap().last_stan, 1);
}

#[test]
fn settlement_closes_with_totals_and_settles_what_was_approved() {
    let (_, mut store) = fresh("settlement");
    let s1 = approved_sale(&mut store, 1000, None, T0);
    let s2 = approved_sale(&mut store, 2500, None, T0 + 1);
    let voided = approved_sale(&mut store, 700, None, T0 + 2);
    let mut void = NewTransaction::new(TxnKind::Void, 700, "156", EntryMode::NotPresent, T0 + 3);
    void.original_id = Some(voided.id);
    let void = store.record_new(&void).unwrap();
    store.mark_sent(void.id, T0 + 3).unwrap();
    store
        .record_response(void.id, &approved("1", "2"), T0 + 4)
        .unwrap();
    let mut refund = NewTransaction::new(TxnKind::Refund, 400, "156", EntryMode::NotPresent, T0 + 5);
    refund.original_id = Some(s2.id);
    let refund = store.record_new(&refund).unwrap();
    store.mark_sent(refund.id, T0 + 5).unwrap();
    store
        .record_response(refund.id, &approved("3", "4"), T0 + 6)
        .unwrap();
    let mut inquiry = NewTransaction::new(TxnKind::BalanceInquiry, 0, "156", EntryMode::Contact, T0 + 7);
    inquiry.pan = Some(Pan::new("6230580000000000013").unwrap());
    let inquiry = store.record_new(&inquiry).unwrap();
    store.mark_sent(inquiry.id, T0 + 7).unwrap();

    assert!(matches!(
        store.close_batch(T0 + 8),
        Err(StoreError::BatchBusy {
            batch_no: 1,
            count: 1
        })
    ));
    store
        .record_response(inquiry.id, &approved("5", "6"), T0 + 8)
        .unwrap();

    let totals = store.close_batch(T0 + 9).unwrap();
    assert_eq!(totals.batch_no, 1);
    let lines: Vec<_> = totals
        .lines
        .iter()
        .map(|l| (l.kind, l.currency.as_str(), l.count, l.amount))
        .collect();
    assert_eq!(
        lines,
        vec![(TxnKind::Refund, "156", 1, 400), (TxnKind::Sale, "156", 2, 3500)]
    );
    assert_eq!(store.batch_totals(1).unwrap(), totals.lines);

    // New transactions go to the next batch at once.
    let next = store.record_new(&sale(1, None, T0 + 10)).unwrap();
    assert_eq!(next.batch_no, 2);
    store.abort(next.id, "test", T0 + 10).unwrap();
    // A void of a closed batch's transaction is refused.
    let mut late_void = NewTransaction::new(TxnKind::Void, 1000, "156", EntryMode::NotPresent, T0 + 11);
    late_void.original_id = Some(s1.id);
    assert!(matches!(
        store.record_new(&late_void),
        Err(StoreError::InvalidTransition { .. })
    ));

    let u = store.unsettled().unwrap();
    // Two sales, the void, the refund and the inquiry; not the voided sale.
    assert_eq!((u.batches_unsettled, u.approved_unsettled), (1, 5));
    assert_eq!(store.mark_batch_settled(1, T0 + 20).unwrap(), 5);
    assert_eq!(store.transaction(s1.id).unwrap().state, TxnState::Settled);
    assert_eq!(store.transaction(voided.id).unwrap().state, TxnState::Voided);
    assert!(store.unsettled().unwrap().is_clear());
    assert!(!store.has_unsettled().unwrap());
    assert!(matches!(
        store.mark_batch_settled(1, T0 + 21),
        Err(StoreError::InvalidTransition { .. })
    ));

    // A settled sale can still be refunded in a later batch.
    let mut later = NewTransaction::new(TxnKind::Refund, 1000, "156", EntryMode::NotPresent, T0 + 30);
    later.original_id = Some(s1.id);
    let later = store.record_new(&later).unwrap();
    store.mark_sent(later.id, T0 + 30).unwrap();
    store
        .record_response(later.id, &approved("7", "8"), T0 + 31)
        .unwrap();
    assert_eq!(store.transaction(s1.id).unwrap().state, TxnState::Refunded);
}

#[test]
fn unsettled_reports_everything_that_blocks_unbinding() {
    let (_, mut store) = fresh("unsettled");
    assert!(store.unsettled().unwrap().is_clear());
    let a = store.record_new(&sale(1, None, T0)).unwrap();
    assert_eq!(store.unsettled().unwrap().in_flight, 1);
    store.mark_sent(a.id, T0).unwrap();
    assert_eq!(
        store.unsettled().unwrap(),
        Unsettled {
            in_flight: 1,
            reversals_pending: 1,
            ..Default::default()
        }
    );
    store
        .mark_reversal_needed(a.id, ReversalReason::NoResponse, T0)
        .unwrap();
    store.mark_reversal_completed(a.id, T0).unwrap();
    assert!(store.unsettled().unwrap().is_clear());
    store
        .create_qr_order(&NewQrOrder {
            merchant_order_no: "M-1".into(),
            flow: QrFlow::Micropay,
            expires_at: None,
            wallet: Wallet::Alipay,
            amount: 10,
            currency: "156".into(),
            txn_id: None,
            created_at: T0,
        })
        .unwrap();
    assert_eq!(store.unsettled().unwrap().qr_orders_open, 1);
}

#[test]
fn cards_are_found_by_keyed_hash_and_the_pan_decrypts_only_in_memory() {
    let (_, mut store) = fresh("find-by-card");
    let a = approved_sale(&mut store, 100, Some("4761739001010010"), T0);
    let _b = approved_sale(&mut store, 200, Some("5413330089020011"), T0 + 1);
    let c = approved_sale(&mut store, 300, Some("4761739001010010"), T0 + 2);
    let found: Vec<TxnId> = store
        .find_by_card(&Pan::new("4761739001010010").unwrap())
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(found, vec![a.id, c.id]);
    assert!(
        store
            .find_by_card(&Pan::new("4012345678909").unwrap())
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.reveal_pan(a.id).unwrap().unwrap(),
        Pan::new("4761739001010010").unwrap()
    );

    // A ciphertext moved to another row does not decrypt there (the row id
    // is the associated data).
    store
        .raw_connection()
        .execute(
            "UPDATE transactions SET pan_encrypted = (SELECT pan_encrypted FROM transactions WHERE id = ?1)
             WHERE id = ?2",
            [a.id.0, c.id.0],
        )
        .unwrap();
    assert!(matches!(store.reveal_pan(c.id), Err(StoreError::Tampered(_))));
}

#[test]
fn field_55_with_card_data_is_refused_and_nothing_is_recorded() {
    let (_, mut store) = fresh("field55");
    let mut txn = sale(100, Some("4761739001010010"), T0);
    txn.icc_data = Some(hex::decode("9F2608A1B2C3D4E5F607085A084761739001010010").unwrap());
    let err = store.record_new(&txn).unwrap_err();
    assert!(matches!(err, StoreError::CardDataRefused { .. }));
    assert!(!err.to_string().contains("4761739001010010"));
    assert_eq!(store.counters().unwrap().last_stan, 0, "no STAN consumed");
    assert!(store.transactions_between(0, i64::MAX).unwrap().is_empty());
}

#[test]
fn corrupt_rows_read_back_as_typed_errors() {
    let (_, mut store) = fresh("corrupt-rows");
    let a = approved_sale(&mut store, 100, None, T0);
    let conn = store.raw_connection();
    conn.execute(
        "UPDATE transactions SET state = 'exploded' WHERE id = ?1",
        [a.id.0],
    )
    .unwrap();
    assert!(matches!(store.transaction(a.id), Err(StoreError::Corrupt { .. })));
    conn.execute(
        "UPDATE transactions SET state = 'approved', amount = 'lots' WHERE id = ?1",
        [a.id.0],
    )
    .unwrap();
    assert!(matches!(store.transaction(a.id), Err(StoreError::Corrupt { .. })));
    conn.execute("UPDATE transactions SET amount = -5 WHERE id = ?1", [a.id.0])
        .unwrap_err();
    conn.execute(
        "UPDATE transactions SET amount = 5, stan = 0 WHERE id = ?1",
        [a.id.0],
    )
    .unwrap_err();
    conn.execute(
        "UPDATE transactions SET amount = 5, kind = 'void', entry_mode = 'telepathy' WHERE id = ?1",
        [a.id.0],
    )
    .unwrap();
    assert!(matches!(store.transaction(a.id), Err(StoreError::Corrupt { .. })));
    conn.execute("UPDATE counters SET value = 'x' WHERE name = 'stan'", [])
        .unwrap();
    assert!(matches!(store.counters(), Err(StoreError::Corrupt { .. })));
    conn.execute("UPDATE counters SET value = 5000000 WHERE name = 'stan'", [])
        .unwrap();
    assert!(matches!(
        store.record_new(&sale(1, None, T0)),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn qr_orders_are_unique_by_merchant_order_number_and_follow_their_states() {
    let (_, mut store) = fresh("qr-orders");
    let order = NewQrOrder {
        merchant_order_no: "20240101-0001".into(),
        flow: QrFlow::Micropay,
        expires_at: None,
        wallet: Wallet::WeChatPay,
        amount: 1999,
        currency: "156".into(),
        txn_id: None,
        created_at: T0,
    };
    store.create_qr_order(&order).unwrap();
    assert!(matches!(
        store.create_qr_order(&order),
        Err(StoreError::Duplicate { .. })
    ));
    store
        .update_qr_order("20240101-0001", QrOrderState::Paying, None, T0 + 1)
        .unwrap();
    store.record_qr_query("20240101-0001", T0 + 5).unwrap();
    assert_eq!(store.open_qr_orders().unwrap().len(), 1);
    store
        .update_qr_order("20240101-0001", QrOrderState::Paid, Some("4200001234"), T0 + 6)
        .unwrap();
    assert!(matches!(
        store.update_qr_order("20240101-0001", QrOrderState::Closed, None, T0 + 7),
        Err(StoreError::InvalidTransition {
            from: "paid",
            to: "closed",
            ..
        })
    ));
    assert_eq!(
        store.record_qr_refund("20240101-0001", 999, T0 + 8).unwrap(),
        1000
    );
    assert!(matches!(
        store.record_qr_refund("20240101-0001", 1001, T0 + 9),
        Err(StoreError::RefundTooLarge { remaining: 1000, .. })
    ));
    assert_eq!(store.record_qr_refund("20240101-0001", 1000, T0 + 10).unwrap(), 0);
    let o = store.qr_order("20240101-0001").unwrap();
    assert_eq!((o.state, o.refunded_amount), (QrOrderState::Refunded, 1999));
    assert_eq!(o.wallet_txn_id.as_deref(), Some("4200001234"));
    assert_eq!(o.last_query_at, Some(T0 + 5));
    assert!(store.open_qr_orders().unwrap().is_empty());

    // QR journal rows need the order number.
    let mut qr = NewTransaction::new(TxnKind::QrSale, 10, "156", EntryMode::Qr, T0);
    assert!(matches!(
        store.record_new(&qr),
        Err(StoreError::InvalidInput { .. })
    ));
    qr.merchant_order_no = Some("20240101-0002".into());
    let rec = store.record_new(&qr).unwrap();
    assert_eq!(
        store.transaction(rec.id).unwrap().merchant_order_no.as_deref(),
        Some("20240101-0002")
    );
}

#[test]
fn the_fault_log_counts_categories_and_never_keeps_card_data() {
    use poskit_store::FaultCategory;
    let (_, mut store) = fresh("faults");
    for i in 0..4 {
        approved_sale(&mut store, 100, None, T0 + i);
    }
    store
        .record_fault(FaultCategory::HostTimeout, "no answer in 60 s", None, T0)
        .unwrap();
    store
        .record_fault(FaultCategory::HostTimeout, "no answer in 60 s", None, T0 + 1)
        .unwrap();
    store
        .record_fault(
            FaultCategory::CardReader,
            "read 4761739001010010D25122011143878 then pin block 0412AC89FFFFFFFF failed",
            None,
            T0 + 2,
        )
        .unwrap();
    assert_eq!(
        store.fault_counts(0).unwrap(),
        vec![(FaultCategory::HostTimeout, 2), (FaultCategory::CardReader, 1)]
    );
    assert_eq!(store.fault_rate(None, 0).unwrap(), Some(75.0));
    assert_eq!(
        store.fault_rate(Some(FaultCategory::HostTimeout), 0).unwrap(),
        Some(50.0)
    );
    let detail = &store.faults_since(0, 10).unwrap()[0].detail;
    assert_eq!(detail, "read [removed] then pin block [removed] failed");
}

#[test]
fn settings_hold_json_state() {
    use poskit_store::setting_keys;
    let (_, mut store) = fresh("settings");
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Binding {
        mid: String,
        tid: String,
        state: String,
    }
    let b = Binding {
        mid: "898310048160001".into(),
        tid: "10000001".into(),
        state: "bound".into(),
    };
    store.put_setting(setting_keys::BINDING_STATE, &b, T0).unwrap();
    assert_eq!(
        store.get_setting::<Binding>(setting_keys::BINDING_STATE).unwrap(),
        Some(b)
    );
    assert_eq!(store.get_setting::<Binding>(setting_keys::CONFIG).unwrap(), None);
    assert!(matches!(
        store.get_setting::<u32>(setting_keys::BINDING_STATE),
        Err(StoreError::Corrupt { .. })
    ));
    store
        .put_setting(setting_keys::PAYMENT_METHODS, &["card", "wechat_pay"], T0)
        .unwrap();
    assert_eq!(store.setting_keys().unwrap(), vec!["binding", "payment_methods"]);
    assert!(store.delete_setting(setting_keys::BINDING_STATE).unwrap());
    assert!(!store.delete_setting(setting_keys::BINDING_STATE).unwrap());
}

#[test]
fn pending_is_aborted_with_a_scrubbed_reason() {
    let (_, mut store) = fresh("abort");
    let rec = store.record_new(&sale(100, None, T0)).unwrap();
    store
        .abort(rec.id, "card 4761739001010010 removed", T0 + 1)
        .unwrap();
    let t = store.transaction(rec.id).unwrap();
    assert_eq!(t.state, TxnState::Aborted);
    assert_eq!(t.fault_reason.as_deref(), Some("card 476173******0010 removed"));
    assert!(matches!(
        store.abort(rec.id, "x", T0 + 2),
        Err(StoreError::InvalidTransition { .. })
    ));
}

#[test]
fn the_store_can_move_to_another_thread() {
    fn check<T: Send>() {}
    check::<poskit_store::Store>();
}

#[test]
fn prepaid_purchases_count_as_debits_and_loads_not_at_all() {
    let (_, mut store) = fresh("prepaid-totals");
    let card = "9988010000000014";
    let mut at = T0;
    let mut approve = |store: &mut poskit_store::Store, kind: TxnKind, amount: u64| {
        at += 1;
        let mut new = NewTransaction::new(kind, amount, "156", EntryMode::Manual, at);
        new.pan = Some(Pan::new(card).unwrap());
        let rec = store.record_new(&new).unwrap();
        store.mark_sent(rec.id, at).unwrap();
        store.record_response(rec.id, &approved("1", "2"), at).unwrap();
        rec.id
    };
    approve(&mut store, TxnKind::PrepaidIssue, 50_000);
    approve(&mut store, TxnKind::PrepaidTopUp, 20_000);
    approve(&mut store, TxnKind::PrepaidPay, 1_500);
    approve(&mut store, TxnKind::PrepaidPay, 2_500);
    approve(&mut store, TxnKind::PrepaidBalance, 0);
    approve(&mut store, TxnKind::Sale, 700);
    let totals = store.close_batch(T0 + 100).unwrap();
    let lines: Vec<_> = totals.lines.iter().map(|l| (l.kind, l.count, l.amount)).collect();
    assert_eq!(
        lines,
        vec![(TxnKind::PrepaidPay, 2, 4_000), (TxnKind::Sale, 1, 700)],
        "purchases paid from stored value are debits; loads and inquiries are not card sales"
    );
    assert!(TxnKind::PrepaidIssue.is_prepaid_load() && TxnKind::PrepaidTopUp.is_prepaid_load());
    assert!(!TxnKind::PrepaidPay.is_prepaid_load());
    // The loads stay in the journal for the cashier's cash count.
    let loads: u64 = store
        .transactions_in_batch(1)
        .unwrap()
        .iter()
        .filter(|r| r.kind.is_prepaid_load())
        .map(|r| r.amount)
        .sum();
    assert_eq!(loads, 70_000);
}
