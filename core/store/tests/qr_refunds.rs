//! QR refunds: recorded before they leave, found again after a restart,
//! and counted in the order only once they succeed.

mod common;

use common::{T0, fresh};
use poskit_store::testing::TestKeystore;
use poskit_store::{
    NewQrOrder, NewQrRefund, QrFlow, QrOrderState, QrRefundState, Store, StoreError, Unsettled, Wallet,
};

/// A paid order of `amount`.
fn paid_order(store: &mut Store, order_no: &str, amount: u64) {
    store
        .create_qr_order(&NewQrOrder {
            merchant_order_no: order_no.into(),
            flow: QrFlow::Micropay,
            expires_at: None,
            wallet: Wallet::Alipay,
            amount,
            currency: "CNY".into(),
            txn_id: None,
            created_at: T0,
        })
        .unwrap();
    store
        .update_qr_order(order_no, QrOrderState::Paid, Some("2017000000000001"), T0 + 1)
        .unwrap();
}

fn new_refund(refund_no: &str, order_no: &str, amount: u64, at: i64) -> NewQrRefund {
    NewQrRefund {
        refund_no: refund_no.into(),
        merchant_order_no: order_no.into(),
        amount,
        created_at: at,
    }
}

#[test]
fn a_refund_is_pending_until_it_succeeds_and_only_then_counts() {
    let (path, mut store) = fresh("qr-refunds-succeed");
    paid_order(&mut store, "ORDER-R1", 1000);
    store
        .create_qr_refund(&new_refund("REFUND-A", "ORDER-R1", 400, T0 + 10))
        .unwrap();
    let pending = store.qr_refund("REFUND-A").unwrap();
    assert_eq!(
        (pending.state, pending.amount, pending.created_at),
        (QrRefundState::Pending, 400, T0 + 10)
    );
    assert_eq!(store.qr_order("ORDER-R1").unwrap().refunded_amount, 0);
    assert_eq!(store.unsettled().unwrap().qr_refunds_pending, 1);

    // A restart finds it.
    drop(store);
    let mut store = Store::open(&path, &TestKeystore::default()).unwrap();
    let found = store.pending_qr_refunds().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].refund_no, "REFUND-A");
    store.record_qr_refund_query("REFUND-A", T0 + 20).unwrap();

    assert_eq!(store.complete_qr_refund("REFUND-A", T0 + 21).unwrap(), 600);
    // Twice is once.
    assert_eq!(store.complete_qr_refund("REFUND-A", T0 + 22).unwrap(), 600);
    let done = store.qr_refund("REFUND-A").unwrap();
    assert_eq!(
        (done.state, done.updated_at, done.last_query_at),
        (QrRefundState::Succeeded, T0 + 21, Some(T0 + 20))
    );
    let order = store.qr_order("ORDER-R1").unwrap();
    assert_eq!((order.state, order.refunded_amount), (QrOrderState::Paid, 400));
    assert!(store.pending_qr_refunds().unwrap().is_empty());
    assert_eq!(store.unsettled().unwrap(), Unsettled::default());

    // The rest, in full: the order is refunded.
    store
        .create_qr_refund(&new_refund("REFUND-B", "ORDER-R1", 600, T0 + 30))
        .unwrap();
    assert_eq!(store.complete_qr_refund("REFUND-B", T0 + 31).unwrap(), 0);
    let order = store.qr_order("ORDER-R1").unwrap();
    assert_eq!(
        (order.state, order.refunded_amount),
        (QrOrderState::Refunded, 1000)
    );
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-C", "ORDER-R1", 1, T0 + 40)),
        Err(StoreError::RefundTooLarge { remaining: 0, .. })
    ));
    let all: Vec<String> = store
        .qr_refunds_of_order("ORDER-R1")
        .unwrap()
        .into_iter()
        .map(|r| r.refund_no)
        .collect();
    assert_eq!(all, ["REFUND-A", "REFUND-B"]);
}

#[test]
fn pending_refunds_reserve_their_amount_and_a_failed_one_releases_it() {
    let (_, mut store) = fresh("qr-refunds-fail");
    paid_order(&mut store, "ORDER-R2", 1000);
    store
        .create_qr_refund(&new_refund("REFUND-D", "ORDER-R2", 700, T0))
        .unwrap();
    // Two in flight may never together exceed the order.
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-E", "ORDER-R2", 301, T0 + 1)),
        Err(StoreError::RefundTooLarge {
            requested: 301,
            remaining: 300
        })
    ));
    store
        .fail_qr_refund("REFUND-D", "refund_too_large", T0 + 2)
        .unwrap();
    store
        .fail_qr_refund("REFUND-D", "refund_too_large", T0 + 3)
        .unwrap();
    let failed = store.qr_refund("REFUND-D").unwrap();
    assert_eq!(
        (failed.state, failed.failure.as_deref()),
        (QrRefundState::Failed, Some("refund_too_large"))
    );
    assert_eq!(store.qr_order("ORDER-R2").unwrap().refunded_amount, 0);
    assert!(matches!(
        store.complete_qr_refund("REFUND-D", T0 + 4),
        Err(StoreError::InvalidTransition {
            from: "failed",
            to: "succeeded",
            ..
        })
    ));
    store
        .create_qr_refund(&new_refund("REFUND-E", "ORDER-R2", 1000, T0 + 5))
        .unwrap();
    store.complete_qr_refund("REFUND-E", T0 + 6).unwrap();
    assert!(matches!(
        store.fail_qr_refund("REFUND-E", "system_error", T0 + 7),
        Err(StoreError::InvalidTransition {
            from: "succeeded",
            to: "failed",
            ..
        })
    ));
}

#[test]
fn refunds_are_refused_when_they_cannot_be_right() {
    let (_, mut store) = fresh("qr-refunds-refused");
    paid_order(&mut store, "ORDER-R3", 500);
    store
        .create_qr_refund(&new_refund("REFUND-F", "ORDER-R3", 100, T0))
        .unwrap();
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-F", "ORDER-R3", 100, T0)),
        Err(StoreError::Duplicate {
            what: "QR refund",
            ..
        })
    ));
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-G", "ORDER-NONE", 100, T0)),
        Err(StoreError::NotFound { what: "QR order", .. })
    ));
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-H", "ORDER-R3", 0, T0)),
        Err(StoreError::InvalidInput { field: "amount", .. })
    ));
    assert!(matches!(
        store.create_qr_refund(&new_refund("", "ORDER-R3", 1, T0)),
        Err(StoreError::InvalidInput {
            field: "refund number",
            ..
        })
    ));
    // An order not paid has nothing to refund.
    store
        .create_qr_order(&NewQrOrder {
            merchant_order_no: "ORDER-R4".into(),
            flow: QrFlow::Micropay,
            expires_at: None,
            wallet: Wallet::WeChatPay,
            amount: 100,
            currency: "CNY".into(),
            txn_id: None,
            created_at: T0,
        })
        .unwrap();
    assert!(matches!(
        store.create_qr_refund(&new_refund("REFUND-I", "ORDER-R4", 1, T0)),
        Err(StoreError::InvalidTransition { from: "created", .. })
    ));
    assert!(matches!(
        store.complete_qr_refund("REFUND-NONE", T0),
        Err(StoreError::NotFound {
            what: "QR refund",
            ..
        })
    ));
    assert!(matches!(
        store.record_qr_refund_query("REFUND-NONE", T0),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.pending_qr_refunds().unwrap().len(), 1);
}

#[test]
fn the_order_and_its_refund_move_together_or_not_at_all() {
    // A refund the store's own check refuses at completion (the order was
    // refunded in full by another path meanwhile) leaves both unchanged.
    let (_, mut store) = fresh("qr-refunds-atomic");
    paid_order(&mut store, "ORDER-R5", 300);
    store
        .create_qr_refund(&new_refund("REFUND-J", "ORDER-R5", 200, T0))
        .unwrap();
    store.record_qr_refund("ORDER-R5", 300, T0 + 1).unwrap();
    assert!(store.complete_qr_refund("REFUND-J", T0 + 2).is_err());
    assert_eq!(store.qr_refund("REFUND-J").unwrap().state, QrRefundState::Pending);
    assert_eq!(store.qr_order("ORDER-R5").unwrap().refunded_amount, 300);
}
