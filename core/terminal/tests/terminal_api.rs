//! The Terminal API end to end, on simulated devices against the
//! simulated hosts over loopback TLS: every operation, the events the
//! cashier's screen gets, and cancellation leaving nothing half-done.

mod common;

use common::terminal::{World, active, fresh, reconciled};
use poskit::sim::{PinAction, Presentation, SimHostsOptions};
use poskit::{Cancel, PaymentMethod, Reference, SaleMethod, TerminalError, TerminalEvent, TxnStatus};
use poskit_sim::acquirer::EntryState;
use poskit_store::{TxnKind, TxnState, Wallet};

const FALLBACK_TRACK: &str = ";4761739001010010=2512201000000000?";
const STRIPE_ONLY_TRACK: &str = ";4761739001010028=3012101000000000?";

async fn world(name: &str) -> World {
    active(name, SimHostsOptions::default()).await
}

fn id(o: &poskit::TxnOutcome) -> i64 {
    match o.reference.as_ref().expect("a reference") {
        Reference::Txn(id) => *id,
        other => panic!("not a journal entry: {other}"),
    }
}

fn has(events: &[TerminalEvent], f: impl Fn(&TerminalEvent) -> bool) -> bool {
    events.iter().any(f)
}

#[tokio::test]
async fn contact_sale_with_online_pin_shows_each_step() {
    let w = world("api-contact").await;
    w.reader.present(Presentation::Insert("online-pin".into()));
    w.events.take();
    let o = w
        .terminal
        .sale(12_300, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(o.status, TxnStatus::Approved, "{:?}", o.message);
    assert_eq!(o.method, PaymentMethod::Contact);
    assert!(o.auth_code.is_some() && o.rrn.is_some());
    let masked = o.masked_pan.clone().unwrap();
    assert!(masked.contains('*'), "{masked}");
    let events = w.events.take();
    let order: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            TerminalEvent::PresentCard { .. } => Some("present"),
            TerminalEvent::CardDetected { .. } => Some("detected"),
            TerminalEvent::EnterPin { online: true, .. } => Some("pin"),
            TerminalEvent::RemoveCard => Some("remove"),
            TerminalEvent::Approved { .. } => Some("approved"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["present", "detected", "pin", "remove", "approved"]);
    let rec = w
        .terminal
        .with_store(|s| s.transaction(poskit_store::TxnId(id(&o))).unwrap())
        .await;
    assert_eq!(rec.state, TxnState::Approved);
    assert_eq!(rec.kind, TxnKind::Sale);
    let ledger = w.hosts.acquirer.ledger(&w.terminal_id);
    assert!(ledger.iter().any(|e| e.amount == 12_300 && e.arqc_verified));
}

#[tokio::test]
async fn contactless_under_and_over_the_cvm_limit() {
    let w = world("api-contactless").await;
    w.reader.present(Presentation::Tap("visa-contactless".into()));
    let small = w
        .terminal
        .sale(4_500, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(small.status, TxnStatus::Approved, "{:?}", small.message);
    assert_eq!(small.method, PaymentMethod::Contactless);
    let events = w.events.take();
    assert!(!has(&events, |e| matches!(e, TerminalEvent::EnterPin { .. })));

    // Over the CVM limit the card asks for a cardholder verification.
    w.reader.present(Presentation::Tap("visa-contactless".into()));
    let big = w
        .terminal
        .sale(150_000, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(big.status, TxnStatus::Approved, "{big:?} {:?}", w.events.take());
    let events = w.events.take();
    assert!(
        big.signature_required || has(&events, |e| matches!(e, TerminalEvent::EnterPin { .. })),
        "no CVM over the limit: {events:?}"
    );
}

#[tokio::test]
async fn unreadable_chip_falls_back_to_the_stripe() {
    let w = world("api-fallback").await;
    w.reader.present(Presentation::UnreadableChip);
    w.reader.present(Presentation::Swipe(FALLBACK_TRACK.into()));
    let o = w
        .terminal
        .sale(2_000, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(o.status, TxnStatus::Approved, "{:?}", o.message);
    assert_eq!(o.method, PaymentMethod::Fallback);
    assert!(has(&w.events.take(), |e| matches!(
        e,
        TerminalEvent::UseMagstripe
    )));
    let rec = w
        .terminal
        .with_store(|s| s.transaction(poskit_store::TxnId(id(&o))).unwrap())
        .await;
    assert_eq!(rec.entry_mode, poskit_store::EntryMode::Fallback);

    // A chip card swiped while its chip works is sent to the chip.
    w.reader.present(Presentation::Swipe(FALLBACK_TRACK.into()));
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let o = w
        .terminal
        .sale(2_100, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(o.method, PaymentMethod::Contact);
    assert!(has(&w.events.take(), |e| matches!(
        e,
        TerminalEvent::InsertCard { .. }
    )));

    // A stripe-only card goes through on the stripe.
    w.reader.present(Presentation::Swipe(STRIPE_ONLY_TRACK.into()));
    let o = w
        .terminal
        .sale(2_200, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(o.method, PaymentMethod::Magstripe);
    assert_eq!(o.status, TxnStatus::Approved, "{:?}", o.message);
}

#[tokio::test]
async fn void_refund_preauth_completion_and_balance() {
    let w = world("api-reference").await;
    let t = &w.terminal;
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let sale = t.sale(30_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    let void = t.void(sale.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(void.status, TxnStatus::Approved, "{:?}", void.message);
    assert_eq!(void.kind, TxnKind::Void);
    let voided = t.transaction(sale.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(voided.state, "voided");
    // A voided sale is neither voided again nor refunded.
    assert!(t.void(sale.reference.as_ref().unwrap()).await.is_err());

    w.reader
        .present(Presentation::Insert("mastercard-contact".into()));
    let sale = t.sale(40_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    let r = sale.reference.clone().unwrap();
    let refund = t.refund(&r, 10_000).await.unwrap();
    assert_eq!(refund.status, TxnStatus::Approved, "{:?}", refund.message);
    let second = t.refund(&r, 30_000).await.unwrap();
    assert!(second.approved());
    let err = t.refund(&r, 1).await.unwrap_err();
    assert!(err.to_string().contains("left to refund"), "{err}");

    w.reader.present(Presentation::Insert("visa-contact".into()));
    let pre = t.pre_auth(80_000, &Cancel::new()).await.unwrap();
    assert_eq!(pre.status, TxnStatus::Approved, "{:?}", pre.message);
    assert_eq!(pre.kind, TxnKind::PreAuth);
    let pr = pre.reference.clone().unwrap();
    assert!(t.complete(&pr, 90_000).await.is_err(), "more than was held");
    let done = t.complete(&pr, 75_000).await.unwrap();
    assert!(done.approved(), "{:?}", done.message);
    let cv = t.void(done.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(cv.kind, TxnKind::CompletionVoid);
    assert!(cv.approved());

    w.reader.present(Presentation::Insert("visa-contact".into()));
    let pre2 = t.pre_auth(5_000, &Cancel::new()).await.unwrap();
    let pv = t.void(pre2.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(pv.kind, TxnKind::PreAuthVoid);
    assert!(pv.approved());

    w.reader.present(Presentation::Insert("visa-contact".into()));
    let balance = t.balance_inquiry(&Cancel::new()).await.unwrap();
    assert!(balance.approved(), "{:?}", balance.message);
    assert!(balance.balance.is_some(), "no balance in {balance:?}");

    let ledger = w.hosts.acquirer.ledger(&w.terminal_id);
    assert!(
        ledger
            .iter()
            .any(|e| e.amount == 30_000 && e.state == EntryState::Voided)
    );
    reconciled(&w).await;
}

#[tokio::test]
async fn decline_and_host_timeout_recovered_by_reversal() {
    let w = world("api-decline").await;
    let t = &w.terminal;
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let declined = t.sale(10_051, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert_eq!(declined.status, TxnStatus::Declined);
    assert_eq!(declined.response_code.as_deref(), Some("51"));
    assert!(has(&w.events.take(), |e| matches!(
        e,
        TerminalEvent::Declined { .. }
    )));

    w.reader.present(Presentation::Insert("visa-contact".into()));
    let lost = t.sale(10_098, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert_eq!(lost.status, TxnStatus::Reversed, "{lost:?}");
    assert!(has(&w.events.take(), |e| matches!(
        e,
        TerminalEvent::Reversing { .. }
    )));
    // The reversal goes before the next financial message.
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let next = t.sale(10_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert!(next.approved());
    let ledger = w.hosts.acquirer.ledger(&w.terminal_id);
    let entry = ledger.iter().find(|e| e.amount == 10_098).unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    let rec = t
        .with_store(|s| s.transaction(poskit_store::TxnId(id(&lost))).unwrap())
        .await;
    assert_eq!(rec.state, TxnState::Reversed);
    reconciled(&w).await;
}

#[tokio::test]
async fn qr_in_both_directions_with_a_password_wait_and_refund() {
    let w = active(
        "api-qr",
        SimHostsOptions {
            user_paying_delay: std::time::Duration::from_millis(700),
            ..SimHostsOptions::default()
        },
    )
    .await;
    let t = &w.terminal;
    let paid = t
        .sale(
            8_861,
            SaleMethod::QrScan {
                code: "134567890123456789".into(),
            },
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(paid.status, TxnStatus::Approved, "{:?}", paid.message);
    assert_eq!(paid.method, PaymentMethod::QrScanned);
    assert!(has(&w.events.take(), |e| matches!(
        e,
        TerminalEvent::WaitingForPassword { .. }
    )));

    // The terminal shows a code; the customer's wallet pays it.
    let gateway = &w.hosts.gateway;
    let payer = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let open = gateway
                .orders()
                .into_iter()
                .find(|o| o.amount == 2_500 && gateway.customer_pays(&o.order_no).is_ok());
            if open.is_some() {
                break;
            }
        }
    };
    let cancel = Cancel::new();
    let show = t.sale(
        2_500,
        SaleMethod::QrShow {
            wallet: Wallet::Alipay,
        },
        &cancel,
    );
    let (shown, ()) = tokio::join!(show, payer);
    let shown = shown.unwrap();
    assert_eq!(shown.status, TxnStatus::Approved, "{:?}", shown.message);
    let events = w.events.take();
    assert!(has(&events, |e| matches!(e, TerminalEvent::QrShown { .. })));

    let refund = t.refund(shown.reference.as_ref().unwrap(), 1_000).await.unwrap();
    assert_eq!(refund.status, TxnStatus::Approved, "{:?}", refund.message);
    let after = t.transaction(shown.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(after.refunded, 1_000);
    // A QR void refunds what is left.
    let void = t.void(shown.reference.as_ref().unwrap()).await.unwrap();
    assert!(void.approved());
    assert_eq!(void.amount, 1_500);

    // An unknown code is refused before anything is sent.
    let err = t
        .sale(100, SaleMethod::QrScan { code: "99999".into() }, &Cancel::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TerminalError::PaymentCode(_)), "{err}");
    reconciled(&w).await;
}

#[tokio::test]
async fn cancelling_leaves_nothing_half_done() {
    let w = world("api-cancel").await;
    let t = &w.terminal;
    let before = w.hosts.acquirer.received().len();
    let count = || async {
        t.with_store(|s| s.transactions_between(0, i64::MAX).unwrap().len())
            .await
    };
    let rows = count().await;

    // Cancelled while waiting for a card.
    let cancel = Cancel::new();
    cancel.cancel();
    let err = t.sale(1_000, SaleMethod::Card, &cancel).await.unwrap_err();
    assert!(matches!(err, TerminalError::Cancelled));

    // Cancelled at the PIN prompt: the kernel stops, nothing is sent.
    w.reader.present(Presentation::Insert("online-pin".into()));
    w.pin_pad.then(PinAction::Cancel);
    let err = t.sale(1_000, SaleMethod::Card, &Cancel::new()).await.unwrap_err();
    assert!(matches!(err, TerminalError::Cancelled), "{err}");
    assert_eq!(w.hosts.acquirer.received().len(), before);
    assert_eq!(count().await, rows);

    // Cancelled while the customer's wallet waits for the password: the
    // order is cancelled with the wallet, not left open.
    let cancel = Cancel::new();
    let c2 = cancel.clone();
    let canceller = async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        c2.cancel();
    };
    let sale = t.sale(
        7_762,
        SaleMethod::QrScan {
            code: "284567890123456789".into(),
        },
        &cancel,
    );
    let (result, ()) = tokio::join!(sale, canceller);
    let outcome = result.unwrap();
    assert_eq!(outcome.status, TxnStatus::Cancelled, "{outcome:?}");
    let order = t.transaction(outcome.reference.as_ref().unwrap()).await.unwrap();
    assert_eq!(order.state, "cancelled");
    let ledger = w.hosts.gateway.ledger();
    assert_eq!(ledger.charged(&order.reference.to_string()), 0);
    reconciled(&w).await;
}

#[tokio::test]
async fn settlement_list_and_query() {
    let w = world("api-settle").await;
    let t = &w.terminal;
    for (profile, amount) in [("visa-contact", 11_000), ("mastercard-contact", 12_000)] {
        w.reader.present(Presentation::Insert(profile.into()));
        assert!(
            t.sale(amount, SaleMethod::Card, &Cancel::new())
                .await
                .unwrap()
                .approved()
        );
    }
    let qr = t
        .sale(
            3_300,
            SaleMethod::QrScan {
                code: "6212345678901234567".into(),
            },
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert!(qr.approved());
    let list = t.transactions(0, i64::MAX).await.unwrap();
    assert_eq!(list.len(), 3);
    assert!(
        list.iter()
            .any(|s| s.method == PaymentMethod::QrScanned && s.wallet.is_some())
    );
    let one = t.transaction(&list[0].reference).await.unwrap();
    assert_eq!(one.amount, 11_000);
    let missing = t.transaction(&Reference::Txn(9_999)).await;
    assert!(missing.is_err());

    let report = t.settle().await.unwrap();
    assert!(report.balanced, "{report:?}");
    assert_eq!(report.debit_count, 2);
    assert_eq!(report.debit_amount, 23_000);
    assert_eq!(
        w.hosts.acquirer.closed_batches(&w.terminal_id),
        vec![report.batch_no]
    );
    reconciled(&w).await;
}

#[tokio::test]
async fn payments_wait_for_binding_and_sign_in() {
    let w = fresh("api-unbound", SimHostsOptions::default()).await;
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let err = w
        .terminal
        .sale(1_000, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sign in"), "{err}");
    assert!(w.terminal.sign_in().await.is_err());
    assert!(w.terminal.settle().await.is_err());
}

#[tokio::test]
async fn a_reversal_owed_at_a_restart_is_sent_after_reopening() {
    let w = world("api-restart").await;
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let lost = w
        .terminal
        .sale(5_598, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(lost.status, TxnStatus::Reversed);
    let World {
        hosts, terminal, dir, ..
    } = w;
    // The reversal may have gone already; either way the journal owes the
    // host nothing after the restart and a flush.
    drop(terminal);
    let mut w = common::terminal::open(hosts, dir).await;
    assert!(!w.terminal_id.is_empty(), "the binding survives the restart");
    w.terminal.flush().await.unwrap();
    let owed = w.terminal.with_store(|s| s.has_reversal_pending().unwrap()).await;
    assert!(!owed);
    let entry = w
        .hosts
        .acquirer
        .ledger(&w.terminal_id)
        .into_iter()
        .find(|e| e.amount == 5_598);
    assert!(entry.is_none_or(|e| e.state == EntryState::Reversed));
    // And the terminal takes payments again without a new sign-in.
    w.reader
        .present(Presentation::Tap("mastercard-contactless".into()));
    let o = w
        .terminal
        .sale(1_200, SaleMethod::Card, &Cancel::new())
        .await
        .unwrap();
    assert!(o.approved(), "{o:?}");
    w.terminal_id = w.terminal.lifecycle().await.device().unwrap().terminal_id.clone();
    reconciled(&w).await;
}

#[tokio::test]
async fn a_card_pulled_after_the_issuer_approved_is_reversed() {
    let w = world("api-pulled").await;
    let t = &w.terminal;
    // How many exchanges a whole contact sale of this card takes.
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let whole = t.sale(2_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert!(whole.approved());
    let seen = w.reader.exchanges();
    // The same card, pulled just before its last answer (the second
    // GENERATE AC, after the issuer approved online).
    w.reader.present(Presentation::InsertAndPull {
        profile: "visa-contact".into(),
        after: seen - 1,
    });
    let pulled = t.sale(3_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert_ne!(pulled.status, TxnStatus::Approved, "{pulled:?}");
    let rec = t
        .with_store(|s| s.transaction(poskit_store::TxnId(id(&pulled))).unwrap())
        .await;
    assert_eq!(rec.state, TxnState::Reversed, "the approval must not stand");
    let ledger = w.hosts.acquirer.ledger(&w.terminal_id);
    let entry = ledger.iter().find(|e| e.amount == 3_000).unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    reconciled(&w).await;
}
