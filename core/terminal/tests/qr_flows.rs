//! QR payments against the gateway simulator over TLS on loopback: every
//! wallet behaviour, each refusal, shown codes, refunds and recovery after
//! a restart. After each, the gateway's ledger and the terminal's journal
//! agree: nothing charged twice, nothing lost.

use std::time::Duration;

use poskit::qr::{QrEvent, QrLink, QrMerchant, QrOutcome, QrSettings};
use poskit::{Cancel, TerminalError};
use poskit_host::GatewayClient;
use poskit_host::gateway::{Endpoint, FailReason, MicropayRequest, OrderState};
use poskit_qr::MerchantPresented;
use poskit_sim::gateway::{Behaviour, DEMO_TERMINAL_ID, Fault, GatewaySim, GatewaySimConfig, LedgerKind};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{QrFlow, QrOrderState, QrRefundState, Store, StoreError, Wallet};

const WECHAT: &str = "134567890123456789";
const ALIPAY: &str = "284567890123456789";
const UNIONPAY: &str = "6212345678901234567";

struct Setup {
    sim: GatewaySim,
    qr: QrLink,
    store: Store,
    dir: std::path::PathBuf,
}

fn merchant() -> QrMerchant {
    QrMerchant {
        merchant_id: "898310012345678".into(),
        name: "LUCKY NOODLES".into(),
        city: "SHANGHAI".into(),
        country: "CN".into(),
        mcc: "5812".into(),
        currency_numeric: "156".into(),
        account_gui: "A000000333".into(),
    }
}

fn settings() -> QrSettings {
    let mut s = QrSettings::new(merchant());
    s.query_interval = Duration::from_millis(100);
    s.payment_deadline = Duration::from_millis(1500);
    s.code_lifetime = Duration::from_secs(2);
    s
}

fn link(sim: &GatewaySim, settings: QrSettings) -> QrLink {
    let mut config = sim.demo_client_config();
    config.timeout = Duration::from_millis(800);
    QrLink::new(GatewayClient::new(config).unwrap(), settings)
}

async fn setup(name: &str) -> Setup {
    let (sim, _) = GatewaySim::start(GatewaySimConfig {
        user_paying_delay: Duration::from_millis(400),
        ..GatewaySimConfig::default()
    })
    .await
    .unwrap();
    let dir = test_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = open(&dir);
    let qr = link(&sim, settings());
    Setup { sim, qr, store, dir }
}

fn open(dir: &std::path::Path) -> Store {
    Store::open(dir.join("terminal.db"), &TestKeystore::new(6)).unwrap()
}

fn now() -> u64 {
    poskit::now()
}

/// The order number the terminal will use next at `at`.
fn next_order_no(store: &Store, at: u64) -> String {
    format!(
        "Q{DEMO_TERMINAL_ID}{at:010}{:06}",
        store.counters().unwrap().last_stan + 1
    )
}

async fn pay(s: &mut Setup, code: &str, amount: u64) -> (poskit::Result<QrOutcome>, Vec<QrEvent>) {
    pay_with(s, code, amount, &Cancel::new()).await
}

async fn pay_with(
    s: &mut Setup,
    code: &str,
    amount: u64,
    cancel: &Cancel,
) -> (poskit::Result<QrOutcome>, Vec<QrEvent>) {
    let mut events = Vec::new();
    let result =
        s.qr.micropay(&mut s.store, code, amount, now(), &mut |e| events.push(e), cancel)
            .await;
    (result, events)
}

/// The journal and the gateway say the same of every order: paid orders
/// charged once, everything else not charged (or given back).
fn agree(s: &Setup) {
    let ledger = s.sim.ledger();
    assert_eq!(ledger.check(), Ok(()));
    for order in s.sim.orders() {
        let Ok(journal) = s.store.qr_order(&order.order_no) else {
            // Only tests pay outside the terminal, and never charge.
            assert_eq!(ledger.net(&order.order_no), 0, "{}", order.order_no);
            continue;
        };
        let net = ledger.net(&order.order_no);
        match journal.state {
            QrOrderState::Paid => {
                assert_eq!(ledger.charges(&order.order_no), 1, "{}", order.order_no);
                assert_eq!(
                    net,
                    i128::from(journal.amount - journal.refunded_amount),
                    "{}",
                    order.order_no
                );
            }
            QrOrderState::Refunded => assert_eq!(net, 0),
            state => {
                assert!(!state.is_open(), "{} still {state:?}", order.order_no);
                assert_eq!(net, 0, "{} is {state:?} but the customer paid", order.order_no);
            }
        }
    }
    // Nothing the gateway charged is unknown to the journal.
    for e in ledger.entries().iter().filter(|e| e.kind == LedgerKind::Charge) {
        assert!(
            s.store.qr_order(&e.order_no).is_ok(),
            "unknown charge {}",
            e.order_no
        );
    }
}

#[tokio::test]
async fn a_code_paid_at_once() {
    let mut s = setup("qr-paid").await;
    let (result, events) = pay(&mut s, WECHAT, 1_000).await;
    let outcome = result.unwrap();
    assert!(outcome.is_paid(), "{outcome:?}");
    assert_eq!(outcome.wallet, Wallet::WeChatPay);
    assert!(outcome.wallet_txn_id.is_some());
    assert!(matches!(events.as_slice(), [QrEvent::Sending { .. }]));
    let journal = s.store.qr_order(&outcome.order_no).unwrap();
    assert_eq!(
        (journal.state, journal.flow),
        (QrOrderState::Paid, QrFlow::Micropay)
    );
    assert_eq!(s.sim.requests(Endpoint::Query), 0);
    agree(&s);
    let _ = &s.dir;
}

#[tokio::test]
async fn waiting_for_the_customers_password_then_paid() {
    let mut s = setup("qr-user-paying").await;
    let (result, events) = pay(&mut s, ALIPAY, 2_061).await;
    let outcome = result.unwrap();
    assert!(outcome.is_paid(), "{outcome:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, QrEvent::WaitingForPassword { .. }))
    );
    assert!(s.sim.requests(Endpoint::Query) >= 2);
    assert!(
        s.store
            .qr_order(&outcome.order_no)
            .unwrap()
            .last_query_at
            .is_some()
    );
    agree(&s);
}

#[tokio::test]
async fn a_customer_who_never_confirms_is_cancelled_at_the_deadline() {
    let mut s = setup("qr-deadline").await;
    let (result, events) = pay(&mut s, UNIONPAY, 3_062).await;
    let outcome = result.unwrap();
    assert_eq!(outcome.state, QrOrderState::Cancelled, "{outcome:?}");
    assert!(outcome.message.unwrap().contains("did not pay in time"));
    assert!(matches!(events.last(), Some(QrEvent::Cancelling { .. })));
    assert_eq!(
        s.sim.order(&outcome.order_no).unwrap().state,
        OrderState::Cancelled
    );
    assert_eq!(s.sim.requests(Endpoint::Cancel), 1);
    agree(&s);
}

#[tokio::test]
async fn insufficient_balance_and_an_expired_code_fail_with_a_reason() {
    let mut s = setup("qr-failed").await;
    let outcome = pay(&mut s, WECHAT, 4_063).await.0.unwrap();
    assert_eq!(outcome.state, QrOrderState::Failed);
    assert!(outcome.message.unwrap().contains("insufficient balance"));
    let outcome = pay(&mut s, WECHAT, 4_065).await.0.unwrap();
    assert_eq!(outcome.state, QrOrderState::Failed);
    assert!(outcome.message.unwrap().contains("refresh"));
    assert!(s.sim.ledger().entries().is_empty());
    agree(&s);
}

#[tokio::test]
async fn a_charge_whose_answer_was_lost_is_found_by_query_not_charged_again() {
    let mut s = setup("qr-lost-answer").await;
    let (result, _) = pay(&mut s, WECHAT, 5_064).await;
    let outcome = result.unwrap();
    assert!(outcome.is_paid(), "{outcome:?}");
    assert_eq!(s.sim.requests(Endpoint::Micropay), 1, "never paid again");
    assert_eq!(s.sim.ledger().charges(&outcome.order_no), 1);
    agree(&s);
}

#[tokio::test]
async fn an_order_number_the_gateway_already_has_is_queried() {
    let mut s = setup("qr-duplicate").await;
    let at = now();
    let order_no = next_order_no(&s.store, at);
    // The same number reached the gateway before (an earlier attempt the
    // journal lost, say): the terminal learns its fate by query.
    GatewayClient::new(s.sim.demo_client_config())
        .unwrap()
        .micropay(&MicropayRequest {
            order_no: order_no.clone(),
            auth_code: poskit_host::gateway::AuthCode::new(WECHAT),
            amount: 700,
            currency: "CNY".into(),
            description: "earlier attempt".into(),
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    let outcome =
        s.qr.micropay(
            &mut s.store,
            WECHAT,
            700,
            at,
            &mut |e| events.push(e),
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.order_no, order_no);
    assert!(outcome.is_paid());
    assert_eq!(s.sim.requests(Endpoint::Micropay), 2);
    assert_eq!(s.sim.ledger().charges(&order_no), 1);
    agree(&s);
}

#[tokio::test]
async fn codes_no_wallet_issues_are_refused_before_anything_is_sent() {
    let mut s = setup("qr-refused-codes").await;
    for bad in [
        "",
        "12345",
        "993456789012345678",
        "13456789012345678X",
        "1345678901234567",
    ] {
        let err = pay(&mut s, bad, 100).await.0.unwrap_err();
        assert!(matches!(err, TerminalError::PaymentCode(_)), "{bad}: {err}");
        let text = err.to_string();
        assert!(!text.contains("3456789012"), "the code leaks into: {text}");
    }
    assert!(s.store.open_qr_orders().unwrap().is_empty());
    assert_eq!(s.sim.requests(Endpoint::Micropay), 0);
    let err = pay(&mut s, WECHAT, 0).await.0.unwrap_err();
    assert!(err.to_string().contains("more than zero"));
}

#[tokio::test]
async fn the_cashier_cancels_while_the_customer_types_the_password() {
    let mut s = setup("qr-cashier-cancel").await;
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let (result, _) = pay_with(&mut s, WECHAT, 6_062, &cancel).await;
    let outcome = result.unwrap();
    assert_eq!(outcome.state, QrOrderState::Cancelled);
    assert_eq!(outcome.message.as_deref(), Some("cancelled by the cashier"));
    agree(&s);
    // Cancelled before anything left: nothing journaled, nothing sent.
    let err = pay_with(&mut s, WECHAT, 100, &cancel).await.0.unwrap_err();
    assert!(matches!(err, TerminalError::Cancelled));
    assert_eq!(s.sim.requests(Endpoint::Micropay), 1);
}

#[tokio::test]
async fn an_unreachable_gateway_charges_nothing_and_says_so() {
    let mut s = setup("qr-unreachable").await;
    let addr = s.sim.addr();
    s.sim.shutdown();
    drop(s.sim);
    // Wait for the port to close.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (sim, _) = GatewaySim::start(GatewaySimConfig::default()).await.unwrap();
    s.sim = sim;
    let mut config = s.sim.demo_client_config();
    config.base_url = format!("https://{addr}");
    s.qr = QrLink::new(GatewayClient::new(config).unwrap(), settings());
    let at = now();
    let order_no = next_order_no(&s.store, at);
    let err =
        s.qr.micropay(&mut s.store, WECHAT, 100, at, &mut |_| {}, &Cancel::new())
            .await
            .unwrap_err();
    assert!(matches!(err, TerminalError::Gateway(_)), "{err}");
    assert!(err.to_string().contains("cannot reach"), "{err}");
    assert_eq!(s.store.qr_order(&order_no).unwrap().state, QrOrderState::Failed);
    assert!(s.store.open_qr_orders().unwrap().is_empty());
}

#[tokio::test]
async fn an_unconfirmed_cancel_stays_open_until_recovery_confirms_it() {
    let mut s = setup("qr-cancel-unconfirmed").await;
    // One query at the deadline, then the cancel.
    let mut patient = settings();
    patient.query_interval = Duration::from_millis(600);
    patient.payment_deadline = Duration::from_millis(600);
    s.qr = link(&s.sim, patient);
    let at = now();
    let order_no = next_order_no(&s.store, at);
    s.sim.set_behaviour(&order_no, Behaviour::UserPaying);
    let sim = &s.sim;
    let watcher = async {
        // Once the wallet waits for the customer, the answers to the next
        // two requests (the query, then the cancel) are lost; the gateway
        // carries both out.
        while !sim
            .order(&order_no)
            .is_some_and(|o| o.state == OrderState::UserPaying)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sim.inject_fault(&order_no, Fault::NoAnswer);
        sim.inject_fault(&order_no, Fault::NoAnswer);
    };
    let never = Cancel::new();
    let mut ignore = |_| {};
    let pay = s.qr.micropay(&mut s.store, WECHAT, 800, at, &mut ignore, &never);
    let (outcome, ()) = tokio::join!(pay, watcher);
    let outcome = outcome.unwrap();
    assert_eq!(outcome.state, QrOrderState::Cancelling, "{outcome:?}");
    assert!(outcome.message.unwrap().contains("do not hand over the goods"));
    assert_eq!(s.sim.order(&order_no).unwrap().state, OrderState::Cancelled);
    assert_eq!(s.store.unsettled().unwrap().qr_orders_open, 1);
    // After a restart, recovery sends the cancel again and it is confirmed.
    drop(s.store);
    s.store = open(&s.dir);
    let report = s.qr.recover(&mut s.store, now()).await.unwrap();
    assert_eq!((report.orders_settled, report.orders_open), (1, 0));
    assert_eq!(
        s.store.qr_order(&order_no).unwrap().state,
        QrOrderState::Cancelled
    );
    assert_eq!(s.sim.requests(Endpoint::Cancel), 2);
    agree(&s);
}

#[tokio::test]
async fn a_shown_code_paid_by_the_customer() {
    let mut s = setup("qr-shown-paid").await;
    let code =
        s.qr.show_code(&mut s.store, 1_288, Wallet::Alipay, now())
            .await
            .unwrap();
    assert!(code.content.starts_with("https://"), "{}", code.content);
    assert!(code.text().unwrap().contains('█'));
    assert!(code.png(4).unwrap().starts_with(b"\x89PNG"));
    let journal = s.store.qr_order(&code.order_no).unwrap();
    assert_eq!(
        (journal.flow, journal.state),
        (QrFlow::ShownCode, QrOrderState::Created)
    );
    let order_no = code.order_no.clone();
    let sim = &s.sim;
    let customer = async {
        tokio::time::sleep(Duration::from_millis(250)).await;
        sim.customer_pays(&order_no).unwrap();
    };
    let mut events = Vec::new();
    let never = Cancel::new();
    let mut record = |e| events.push(e);
    let wait =
        s.qr.await_payment(&mut s.store, &code, now(), &mut record, &never);
    let (outcome, ()) = tokio::join!(wait, customer);
    let outcome = outcome.unwrap();
    assert!(outcome.is_paid(), "{outcome:?}");
    assert!(matches!(events.first(), Some(QrEvent::WaitingForScan { .. })));
    agree(&s);
}

#[tokio::test]
async fn an_emvco_shown_code_carries_the_order_and_amount() {
    let mut s = setup("qr-shown-emvco").await;
    let code =
        s.qr.show_code(&mut s.store, 8_880, Wallet::EmvcoQr, now())
            .await
            .unwrap();
    let decoded = MerchantPresented::decode(&code.content).unwrap();
    assert_eq!(decoded.amount(), Some("88.80"));
    assert_eq!(decoded.bill_number(), Some(code.order_no.as_str()));
    assert_eq!(decoded.merchant_name(), Some("LUCKY NOODLES"));
    assert!(decoded.crc().is_valid());
}

#[tokio::test]
async fn an_unpaid_shown_code_is_closed_when_it_expires() {
    let mut s = setup("qr-shown-expired").await;
    let code =
        s.qr.show_code(&mut s.store, 900, Wallet::WeChatPay, now())
            .await
            .unwrap();
    let outcome =
        s.qr.await_payment(&mut s.store, &code, now(), &mut |_| {}, &Cancel::new())
            .await
            .unwrap();
    assert_eq!(outcome.state, QrOrderState::Closed, "{outcome:?}");
    assert_eq!(s.sim.order(&code.order_no).unwrap().state, OrderState::Closed);
    assert_eq!(s.sim.requests(Endpoint::Close), 1);
    agree(&s);
}

#[tokio::test]
async fn a_shown_code_paid_just_before_the_close_counts_as_paid() {
    let mut s = setup("qr-shown-paid-late").await;
    let code =
        s.qr.show_code(&mut s.store, 950, Wallet::UnionPayQr, now())
            .await
            .unwrap();
    s.sim.customer_pays(&code.order_no).unwrap();
    // The cashier gives up before the terminal's first query: the close is
    // refused (order_paid) and the order is paid.
    let cancel = Cancel::new();
    cancel.cancel();
    let outcome =
        s.qr.await_payment(&mut s.store, &code, now(), &mut |_| {}, &cancel)
            .await
            .unwrap();
    assert!(outcome.is_paid(), "{outcome:?}");
    agree(&s);
}

#[tokio::test]
async fn partial_refunds_up_to_the_paid_amount() {
    let mut s = setup("qr-refunds").await;
    let paid = pay(&mut s, WECHAT, 1_000).await.0.unwrap();
    let no = paid.order_no.clone();
    let first = s.qr.refund(&mut s.store, &no, 300, now()).await.unwrap();
    assert_eq!(
        (first.state, first.remaining),
        (QrRefundState::Succeeded, Some(700))
    );
    let second = s.qr.refund(&mut s.store, &no, 300, now()).await.unwrap();
    assert_eq!(second.remaining, Some(400));
    assert_ne!(first.refund_no, second.refund_no);
    // More than what is left: refused before anything is sent.
    let sent = s.sim.requests(Endpoint::Refund);
    let err = s.qr.refund(&mut s.store, &no, 500, now()).await.unwrap_err();
    assert!(
        matches!(err, TerminalError::Store(StoreError::RefundTooLarge { .. })),
        "{err}"
    );
    assert_eq!(s.sim.requests(Endpoint::Refund), sent);
    let last = s.qr.refund(&mut s.store, &no, 400, now()).await.unwrap();
    assert_eq!(last.remaining, Some(0));
    assert_eq!(s.store.qr_order(&no).unwrap().state, QrOrderState::Refunded);
    assert_eq!(s.sim.ledger().returned(&no), 1_000);
    // An order that was never paid cannot be refunded.
    let failed = pay(&mut s, WECHAT, 1_063).await.0.unwrap();
    assert!(
        s.qr.refund(&mut s.store, &failed.order_no, 1, now())
            .await
            .is_err()
    );
    agree(&s);
}

#[tokio::test]
async fn a_processing_refund_is_followed_and_a_lost_answer_is_found_by_query() {
    let mut s = setup("qr-refund-processing").await;
    let paid = pay(&mut s, ALIPAY, 2_000).await.0.unwrap();
    let no = paid.order_no.clone();
    s.sim
        .set_refund_processing(&format!("{no}R01"), Duration::from_millis(300));
    let r = s.qr.refund(&mut s.store, &no, 500, now()).await.unwrap();
    assert_eq!(r.state, QrRefundState::Succeeded);
    assert!(s.sim.requests(Endpoint::RefundQuery) >= 1);

    s.sim.inject_fault(&format!("{no}R02"), Fault::NoAnswer);
    let r = s.qr.refund(&mut s.store, &no, 500, now()).await.unwrap();
    assert_eq!((r.state, r.remaining), (QrRefundState::Succeeded, Some(1_000)));
    assert_eq!(s.sim.ledger().returned(&no), 1_000, "each refund given back once");
    agree(&s);
}

#[tokio::test]
async fn a_restart_settles_every_order_and_refund_left_open() {
    let mut s = setup("qr-restart").await;
    let client = GatewayClient::new(s.sim.demo_client_config()).unwrap();
    // 1. Journaled, sent, paid, then the terminal died before the answer
    //    was recorded.
    let at = now();
    let paid_no = next_order_no(&s.store, at);
    s.store
        .create_qr_order(&poskit_store::NewQrOrder {
            merchant_order_no: paid_no.clone(),
            flow: QrFlow::Micropay,
            wallet: Wallet::WeChatPay,
            amount: 1_500,
            currency: "CNY".into(),
            txn_id: None,
            created_at: at as i64,
            expires_at: Some(at as i64 + 60),
        })
        .unwrap();
    client
        .micropay(&MicropayRequest {
            order_no: paid_no.clone(),
            auth_code: poskit_host::gateway::AuthCode::new(WECHAT),
            amount: 1_500,
            currency: "CNY".into(),
            description: "before the crash".into(),
        })
        .await
        .unwrap();
    // 2. Journaled, and the terminal died before sending.
    let unsent_no = "QUNSENT00000000001".to_owned();
    s.store
        .create_qr_order(&poskit_store::NewQrOrder {
            merchant_order_no: unsent_no.clone(),
            flow: QrFlow::Micropay,
            wallet: Wallet::Alipay,
            amount: 300,
            currency: "CNY".into(),
            txn_id: None,
            created_at: at as i64,
            expires_at: Some(at as i64 + 60),
        })
        .unwrap();
    // 3. A refund of an earlier paid order journaled but never sent.
    let earlier = pay(&mut s, WECHAT, 2_000).await.0.unwrap();
    s.store
        .create_qr_refund(&poskit_store::NewQrRefund {
            refund_no: format!("{}R01", earlier.order_no),
            merchant_order_no: earlier.order_no.clone(),
            amount: 600,
            created_at: at as i64,
        })
        .unwrap();
    // 4. A shown code still waiting when the terminal died, expired since.
    let shown =
        s.qr.show_code(&mut s.store, 400, Wallet::WeChatPay, at - 600)
            .await
            .unwrap();

    drop(s.store);
    s.store = open(&s.dir);
    assert_eq!(s.store.open_qr_orders().unwrap().len(), 3);
    let report = s.qr.recover(&mut s.store, now()).await.unwrap();
    assert_eq!(report.orders_settled, 3, "{report:?}");
    assert_eq!((report.refunds_settled, report.refunds_pending), (1, 0));
    assert_eq!(s.store.qr_order(&paid_no).unwrap().state, QrOrderState::Paid);
    assert_eq!(
        s.store.qr_order(&unsent_no).unwrap().state,
        QrOrderState::Cancelled
    );
    assert_eq!(
        s.store.qr_order(&shown.order_no).unwrap().state,
        QrOrderState::Closed
    );
    assert_eq!(s.store.qr_order(&earlier.order_no).unwrap().refunded_amount, 600);
    // The number given up on cannot be charged by a late request.
    let late = client
        .micropay(&MicropayRequest {
            order_no: unsent_no.clone(),
            auth_code: poskit_host::gateway::AuthCode::new(ALIPAY),
            amount: 300,
            currency: "CNY".into(),
            description: "late".into(),
        })
        .await;
    assert!(late.is_err());
    assert!(s.store.open_qr_orders().unwrap().is_empty());
    agree(&s);
}

#[tokio::test]
async fn a_query_by_order_number_records_the_answer() {
    let mut s = setup("qr-query").await;
    let paid = pay(&mut s, UNIONPAY, 1_234).await.0.unwrap();
    let again = s.qr.query(&mut s.store, &paid.order_no, now()).await.unwrap();
    assert_eq!(again, paid);
    assert!(s.store.qr_order(&paid.order_no).unwrap().last_query_at.is_some());
    let failed = pay(&mut s, UNIONPAY, 1_263).await.0.unwrap();
    let q = s.qr.query(&mut s.store, &failed.order_no, now()).await.unwrap();
    assert_eq!(q.state, QrOrderState::Failed);
    assert!(q.message.unwrap().contains("insufficient"));
    let _ = FailReason::InsufficientBalance;
}
