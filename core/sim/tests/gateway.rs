//! The QR gateway simulator driven by the real client over TLS on
//! loopback: every endpoint, every error code, every behaviour of the
//! amount table, the test's overrides and faults, signatures both ways,
//! and what the ledger shows afterwards.

use std::time::{Duration, Instant};

use poskit_host::gateway::{
    AuthCode, CreateOrderRequest, Endpoint, ErrorCode, FailReason, GatewayClient, GatewayError, GatewayKey,
    MicropayRequest, OrderState, OrderStatus, RefundRequest, RefundState, Wallet,
};
use poskit_host::{HostError, LinkFailure};
use poskit_sim::gateway::{
    Behaviour, DEMO_TERMINAL_ID, Fault, GatewaySim, GatewaySimConfig, LedgerKind, OrderKind, PayError,
    demo_key,
};
use poskit_sim::platform::{SimClock, server_spki_sha256};

const WECHAT: &str = "134567890123456789";
const ALIPAY: &str = "2845678901234567";
const UNIONPAY: &str = "6212345678901234567";
const T0: i64 = 1_700_000_000;

fn sim_config() -> GatewaySimConfig {
    GatewaySimConfig {
        user_paying_delay: Duration::from_millis(200),
        clock: SimClock::fixed(T0),
        ..Default::default()
    }
}

async fn start() -> (GatewaySim, GatewayClient) {
    let (sim, _) = GatewaySim::start(sim_config()).await.unwrap();
    let client = GatewayClient::new(sim.demo_client_config()).unwrap();
    (sim, client)
}

fn micropay(order_no: &str, code: &str, amount: u64) -> MicropayRequest {
    MicropayRequest {
        order_no: order_no.into(),
        auth_code: AuthCode::new(code),
        amount,
        currency: "CNY".into(),
        description: "Lucky Noodles".into(),
    }
}

fn shown(order_no: &str, amount: u64, expires_in: u32) -> CreateOrderRequest {
    CreateOrderRequest {
        order_no: order_no.into(),
        amount,
        currency: "CNY".into(),
        description: "Lucky Noodles".into(),
        wallet: Wallet::Alipay,
        expires_in,
    }
}

fn refund(order_no: &str, refund_no: &str, amount: u64) -> RefundRequest {
    RefundRequest {
        order_no: order_no.into(),
        refund_no: refund_no.into(),
        amount,
        reason: "returned".into(),
    }
}

fn refused<T: std::fmt::Debug>(result: Result<T, GatewayError>) -> ErrorCode {
    match result {
        Err(GatewayError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Queries until the order leaves `user_paying`/`created`, or 5 s pass.
async fn query_until_settled(client: &GatewayClient, order_no: &str) -> OrderStatus {
    let started = Instant::now();
    loop {
        let status = client.query(order_no).await.unwrap();
        if !status.state.is_pending() || started.elapsed() > Duration::from_secs(5) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_code_is_charged_once_and_the_query_agrees() {
    let (sim, client) = start().await;
    let status = client
        .micropay(&micropay("ORDER-0001", WECHAT, 1999))
        .await
        .unwrap();
    assert_eq!(status.state, OrderState::Paid);
    assert_eq!(status.wallet, Some(Wallet::WeChatPay));
    assert_eq!(status.amount, Some(1999));
    assert_eq!(status.currency.as_deref(), Some("CNY"));
    assert_eq!(status.paid_at, Some(T0));
    let txn_id = status.wallet_txn_id.clone().unwrap();
    assert!(txn_id.starts_with("42"), "{txn_id}");
    assert_eq!(client.query("ORDER-0001").await.unwrap(), status);

    let order = sim.order("ORDER-0001").unwrap();
    assert_eq!(order.kind, OrderKind::Micropay);
    assert_eq!(order.terminal_id, DEMO_TERMINAL_ID);
    assert_eq!(order.auth_code_masked.as_deref(), Some("13************6789"));
    let ledger = sim.ledger();
    assert_eq!(ledger.charges("ORDER-0001"), 1);
    assert_eq!(ledger.charged("ORDER-0001"), 1999);
    assert_eq!(ledger.check(), Ok(()));
    assert_eq!(sim.requests(Endpoint::Micropay), 1);
    assert_eq!(sim.requests(Endpoint::Query), 1);
}

#[tokio::test]
async fn codes_are_recognised_by_prefix_and_others_fail_code_invalid() {
    let (sim, client) = start().await;
    let alipay = client.micropay(&micropay("ORD-A", ALIPAY, 100)).await;
    assert!(alipay.is_err(), "order numbers are 6 characters at least");
    let alipay = client
        .micropay(&micropay("ORDER-ALI", ALIPAY, 100))
        .await
        .unwrap();
    assert_eq!(alipay.wallet, Some(Wallet::Alipay));
    let unionpay = client
        .micropay(&micropay("ORDER-UPI", UNIONPAY, 100))
        .await
        .unwrap();
    assert_eq!(unionpay.wallet, Some(Wallet::UnionPayQr));
    let invalid = client
        .micropay(&micropay("ORDER-BAD", "999999999999999999", 100))
        .await
        .unwrap();
    assert_eq!(
        (invalid.state, invalid.reason, invalid.wallet),
        (OrderState::Failed, Some(FailReason::CodeInvalid), None)
    );
    assert_eq!(sim.ledger().charged("ORDER-BAD"), 0);
    assert_eq!(sim.requests(Endpoint::Micropay), 3, "the short number never left");
}

#[tokio::test]
async fn amount_61_pays_after_the_user_paying_delay() {
    let (sim, client) = start().await;
    let first = client
        .micropay(&micropay("ORDER-0061", WECHAT, 1061))
        .await
        .unwrap();
    assert_eq!(first.state, OrderState::UserPaying);
    assert_eq!(
        sim.ledger().charges("ORDER-0061"),
        0,
        "nothing charged while paying"
    );
    let last = query_until_settled(&client, "ORDER-0061").await;
    assert_eq!(last.state, OrderState::Paid);
    assert_eq!(sim.ledger().charges("ORDER-0061"), 1);
}

#[tokio::test]
async fn amount_62_waits_until_cancelled_and_cancel_is_idempotent() {
    let (sim, client) = start().await;
    let first = client
        .micropay(&micropay("ORDER-0062", WECHAT, 62))
        .await
        .unwrap();
    assert_eq!(first.state, OrderState::UserPaying);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        client.query("ORDER-0062").await.unwrap().state,
        OrderState::UserPaying
    );
    let cancelled = client.cancel("ORDER-0062").await.unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    assert_eq!(client.cancel("ORDER-0062").await.unwrap(), cancelled);
    assert_eq!(
        sim.customer_pays("ORDER-0062"),
        Err(PayError::NotPayable(OrderState::Cancelled))
    );
    assert!(sim.ledger().entries().is_empty());
}

#[tokio::test]
async fn amounts_63_and_65_fail_with_their_reasons() {
    let (sim, client) = start().await;
    let poor = client
        .micropay(&micropay("ORDER-0063", WECHAT, 163))
        .await
        .unwrap();
    assert_eq!(
        (poor.state, poor.reason),
        (OrderState::Failed, Some(FailReason::InsufficientBalance))
    );
    let stale = client
        .micropay(&micropay("ORDER-0065", ALIPAY, 65))
        .await
        .unwrap();
    assert_eq!(
        (stale.state, stale.reason),
        (OrderState::Failed, Some(FailReason::CodeExpired))
    );
    assert!(sim.ledger().entries().is_empty());
    // A failed order cannot be refunded; it can be cancelled.
    assert_eq!(
        refused(client.refund(&refund("ORDER-0063", "REFUND-0063", 1)).await),
        ErrorCode::OrderNotPaid
    );
    assert_eq!(
        client.cancel("ORDER-0063").await.unwrap().state,
        OrderState::Cancelled
    );
}

#[tokio::test]
async fn amount_64_charges_then_drops_the_answer_and_only_a_query_tells() {
    let (sim, client) = start().await;
    let lost = client
        .micropay(&micropay("ORDER-0064", WECHAT, 64))
        .await
        .unwrap_err();
    assert!(lost.outcome_unknown(), "{lost:?}");
    match &lost {
        GatewayError::Transport(LinkFailure {
            error: HostError::Unreachable(_),
            request_sent: true,
        }) => {}
        other => panic!("{other:?}"),
    }
    assert!(!lost.to_string().contains(WECHAT));
    let status = client.query("ORDER-0064").await.unwrap();
    assert_eq!(status.state, OrderState::Paid);
    // Paying again under the same number is refused; nothing charged twice.
    assert_eq!(
        refused(client.micropay(&micropay("ORDER-0064", WECHAT, 64)).await),
        ErrorCode::DuplicateOrder
    );
    assert_eq!(sim.ledger().charges("ORDER-0064"), 1);
    assert_eq!(sim.ledger().check(), Ok(()));
}

#[tokio::test]
async fn a_used_order_number_is_refused_whatever_its_state() {
    let (sim, client) = start().await;
    client
        .micropay(&micropay("ORDER-DUP1", WECHAT, 100))
        .await
        .unwrap();
    assert_eq!(
        refused(client.micropay(&micropay("ORDER-DUP1", ALIPAY, 200)).await),
        ErrorCode::DuplicateOrder
    );
    client.create_order(&shown("ORDER-DUP2", 100, 60)).await.unwrap();
    assert_eq!(
        refused(client.micropay(&micropay("ORDER-DUP2", WECHAT, 100)).await),
        ErrorCode::DuplicateOrder
    );
    assert_eq!(
        refused(client.create_order(&shown("ORDER-DUP1", 100, 60)).await),
        ErrorCode::DuplicateOrder
    );
    assert_eq!(sim.ledger().entries().len(), 1);
}

#[tokio::test]
async fn behaviours_chosen_by_the_test_beat_the_amount_table() {
    let (sim, client) = start().await;
    sim.set_behaviour(
        "ORDER-GIVEUP",
        Behaviour::UserPayingThenFailed(Duration::from_millis(100), FailReason::UserCancelled),
    );
    let first = client
        .micropay(&micropay("ORDER-GIVEUP", WECHAT, 100))
        .await
        .unwrap();
    assert_eq!(first.state, OrderState::UserPaying);
    let last = query_until_settled(&client, "ORDER-GIVEUP").await;
    assert_eq!(
        (last.state, last.reason),
        (OrderState::Failed, Some(FailReason::UserCancelled))
    );

    // By payment code: this customer's wallet refuses.
    sim.set_behaviour(ALIPAY, Behaviour::Failed(FailReason::RiskRefused));
    let risky = client
        .micropay(&micropay("ORDER-RISK1", ALIPAY, 100))
        .await
        .unwrap();
    assert_eq!(risky.reason, Some(FailReason::RiskRefused));
    sim.clear_behaviour(ALIPAY);
    let fine = client
        .micropay(&micropay("ORDER-RISK2", ALIPAY, 100))
        .await
        .unwrap();
    assert_eq!(fine.state, OrderState::Paid);

    // The order number wins over the code; 1999 would be paid at once.
    sim.set_behaviour(WECHAT, Behaviour::Paid);
    sim.set_behaviour(
        "ORDER-SLOW",
        Behaviour::UserPayingThenPaid(Duration::from_millis(100)),
    );
    let slow = client
        .micropay(&micropay("ORDER-SLOW", WECHAT, 1999))
        .await
        .unwrap();
    assert_eq!(slow.state, OrderState::UserPaying);
    assert_eq!(
        query_until_settled(&client, "ORDER-SLOW").await.state,
        OrderState::Paid
    );

    // The customer may also finish a payment the wallet waits on.
    sim.set_behaviour("ORDER-WAIT", Behaviour::UserPaying);
    client
        .micropay(&micropay("ORDER-WAIT", WECHAT, 100))
        .await
        .unwrap();
    sim.customer_pays("ORDER-WAIT").unwrap();
    assert_eq!(client.query("ORDER-WAIT").await.unwrap().state, OrderState::Paid);

    sim.set_behaviour("ORDER-DROP", Behaviour::PaidThenNoAnswer);
    let dropped = client.micropay(&micropay("ORDER-DROP", WECHAT, 100)).await;
    assert!(dropped.unwrap_err().request_sent());
    assert_eq!(sim.ledger().charges("ORDER-DROP"), 1);
    assert_eq!(sim.ledger().check(), Ok(()));
}

#[tokio::test]
async fn cancel_gives_back_what_a_charge_has_left() {
    let (sim, client) = start().await;
    client
        .micropay(&micropay("ORDER-CANCEL", WECHAT, 1000))
        .await
        .unwrap();
    client
        .refund(&refund("ORDER-CANCEL", "REFUND-C1", 300))
        .await
        .unwrap();
    let cancelled = client.cancel("ORDER-CANCEL").await.unwrap();
    assert_eq!(cancelled.state, OrderState::Cancelled);
    client.cancel("ORDER-CANCEL").await.unwrap();
    let ledger = sim.ledger();
    let kinds: Vec<(LedgerKind, u64)> = ledger.entries().iter().map(|e| (e.kind, e.amount)).collect();
    assert_eq!(
        kinds,
        [
            (LedgerKind::Charge, 1000),
            (LedgerKind::Refund, 300),
            (LedgerKind::Reversal, 700)
        ]
    );
    assert_eq!(ledger.net("ORDER-CANCEL"), 0);
    assert_eq!(ledger.check(), Ok(()));
    // Cancelling a number the gateway never saw closes it for good: a late
    // payment request with it cannot charge anyone.
    assert_eq!(
        client.cancel("ORDER-NEVER").await.unwrap().state,
        OrderState::Cancelled
    );
    assert_eq!(
        refused(client.micropay(&micropay("ORDER-NEVER", WECHAT, 100)).await),
        ErrorCode::DuplicateOrder
    );
}

#[tokio::test]
async fn a_shown_code_is_paid_by_the_customer_and_then_cannot_be_closed() {
    let (sim, client) = start().await;
    let created = client
        .create_order(&shown("ORDER-SHOW1", 2500, 120))
        .await
        .unwrap();
    assert_eq!(created.code_url, "https://qr.poskit.test/alipay/ORDER-SHOW1");
    assert_eq!(created.expires_at, T0 + 120);
    let status = client.query("ORDER-SHOW1").await.unwrap();
    assert_eq!(
        (status.state, status.wallet),
        (OrderState::Created, Some(Wallet::Alipay))
    );
    assert_eq!(sim.order("ORDER-SHOW1").unwrap().kind, OrderKind::ShownCode);

    sim.customer_pays("ORDER-SHOW1").unwrap();
    assert_eq!(client.query("ORDER-SHOW1").await.unwrap().state, OrderState::Paid);
    assert_eq!(refused(client.close("ORDER-SHOW1").await), ErrorCode::OrderPaid);
    assert_eq!(
        sim.customer_pays("ORDER-SHOW1"),
        Err(PayError::NotPayable(OrderState::Paid))
    );
    assert_eq!(sim.customer_pays("ORDER-NEVER"), Err(PayError::NotFound));
    assert_eq!(sim.ledger().charges("ORDER-SHOW1"), 1);
}

#[tokio::test]
async fn an_expired_code_stays_created_until_closed() {
    let (sim, client) = start().await;
    client.create_order(&shown("ORDER-SHOW2", 100, 60)).await.unwrap();
    let closed = client.close("ORDER-SHOW2").await.unwrap();
    assert_eq!(closed.state, OrderState::Closed);
    assert_eq!(client.close("ORDER-SHOW2").await.unwrap(), closed);

    client.create_order(&shown("ORDER-SHOW3", 100, 60)).await.unwrap();
    sim.clock().advance(Duration::from_secs(60));
    assert_eq!(sim.customer_pays("ORDER-SHOW3"), Err(PayError::Expired));
    assert_eq!(
        client.query("ORDER-SHOW3").await.unwrap().state,
        OrderState::Created
    );
    assert_eq!(
        client.close("ORDER-SHOW3").await.unwrap().state,
        OrderState::Closed
    );
    assert_eq!(
        refused(client.close("ORDER-NEVER").await),
        ErrorCode::OrderNotFound
    );
    assert!(sim.ledger().entries().is_empty());
}

#[tokio::test]
async fn a_shown_code_for_amount_61_is_paid_after_the_delay() {
    let (sim, client) = start().await;
    client.create_order(&shown("ORDER-SHOW61", 61, 60)).await.unwrap();
    assert_eq!(
        client.query("ORDER-SHOW61").await.unwrap().state,
        OrderState::Created
    );
    assert_eq!(
        query_until_settled(&client, "ORDER-SHOW61").await.state,
        OrderState::Paid
    );
    assert_eq!(sim.ledger().charges("ORDER-SHOW61"), 1);

    // Paid too late: the code had expired, the wallet refuses it.
    client.create_order(&shown("ORDER-LATE61", 61, 60)).await.unwrap();
    sim.clock().advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        client.query("ORDER-LATE61").await.unwrap().state,
        OrderState::Created
    );
    assert_eq!(sim.ledger().charges("ORDER-LATE61"), 0);
}

#[tokio::test]
async fn partial_refunds_up_to_the_paid_amount_idempotent_by_number() {
    let (sim, client) = start().await;
    client
        .micropay(&micropay("ORDER-REF1", WECHAT, 1000))
        .await
        .unwrap();

    let first = client
        .refund(&refund("ORDER-REF1", "REFUND-001", 400))
        .await
        .unwrap();
    assert_eq!(first.state, RefundState::Succeeded);
    assert_eq!(first.refunded_total, Some(400));
    // The same refund again: the same answer, no second refund.
    assert_eq!(
        client
            .refund(&refund("ORDER-REF1", "REFUND-001", 400))
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        refused(client.refund(&refund("ORDER-REF1", "REFUND-001", 500)).await),
        ErrorCode::DuplicateRefund
    );
    assert_eq!(
        refused(client.refund(&refund("ORDER-REF1", "REFUND-002", 601)).await),
        ErrorCode::RefundTooLarge
    );
    let second = client
        .refund(&refund("ORDER-REF1", "REFUND-002", 600))
        .await
        .unwrap();
    assert_eq!(second.refunded_total, Some(1000));
    let order = client.query("ORDER-REF1").await.unwrap();
    assert_eq!(
        (order.state, order.refunded_total),
        (OrderState::Refunded, Some(1000))
    );
    assert_eq!(
        refused(client.refund(&refund("ORDER-REF1", "REFUND-003", 1)).await),
        ErrorCode::RefundTooLarge
    );

    let ledger = sim.ledger();
    assert_eq!(
        (ledger.charged("ORDER-REF1"), ledger.returned("ORDER-REF1")),
        (1000, 1000)
    );
    assert_eq!(ledger.check(), Ok(()));

    let found = client.query_refund("REFUND-001").await.unwrap();
    assert_eq!(
        (found.state, found.order_no.as_deref(), found.amount),
        (RefundState::Succeeded, Some("ORDER-REF1"), Some(400))
    );
    let missing = client.query_refund("REFUND-404").await.unwrap();
    assert_eq!((missing.state, missing.order_no), (RefundState::NotFound, None));
    assert_eq!(sim.refund("REFUND-002").unwrap().amount, 600);
}

#[tokio::test]
async fn refunds_of_unknown_unpaid_or_other_orders_are_refused() {
    let (sim, client) = start().await;
    assert_eq!(
        refused(client.refund(&refund("ORDER-NEVER", "REFUND-N1", 1)).await),
        ErrorCode::OrderNotFound
    );
    sim.set_behaviour("ORDER-PAYING", Behaviour::UserPaying);
    client
        .micropay(&micropay("ORDER-PAYING", WECHAT, 100))
        .await
        .unwrap();
    assert_eq!(
        refused(client.refund(&refund("ORDER-PAYING", "REFUND-P1", 1)).await),
        ErrorCode::OrderNotPaid
    );
    // A refund number is unique across orders.
    client
        .micropay(&micropay("ORDER-PAID1", WECHAT, 100))
        .await
        .unwrap();
    client
        .micropay(&micropay("ORDER-PAID2", WECHAT, 100))
        .await
        .unwrap();
    client
        .refund(&refund("ORDER-PAID1", "REFUND-X1", 10))
        .await
        .unwrap();
    assert_eq!(
        refused(client.refund(&refund("ORDER-PAID2", "REFUND-X1", 10)).await),
        ErrorCode::DuplicateRefund
    );
    assert!(sim.refund("REFUND-P1").is_none());
}

#[tokio::test]
async fn a_processing_refund_succeeds_later_and_gives_the_money_back_then() {
    let (sim, client) = start().await;
    client
        .micropay(&micropay("ORDER-PROC", WECHAT, 500))
        .await
        .unwrap();
    sim.set_refund_processing("REFUND-PROC", Duration::from_millis(150));
    let accepted = client
        .refund(&refund("ORDER-PROC", "REFUND-PROC", 500))
        .await
        .unwrap();
    assert_eq!(accepted.state, RefundState::Processing);
    assert_eq!(sim.ledger().returned("ORDER-PROC"), 0);
    // Accepted refunds count against what is left.
    assert_eq!(
        refused(client.refund(&refund("ORDER-PROC", "REFUND-MORE", 1)).await),
        ErrorCode::RefundTooLarge
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let done = client.query_refund("REFUND-PROC").await.unwrap();
    assert_eq!(done.state, RefundState::Succeeded);
    assert_eq!(sim.ledger().returned("ORDER-PROC"), 500);
}

#[tokio::test]
async fn a_wrong_key_is_refused_bad_signature_and_an_unknown_terminal_so() {
    let (sim, _) = start().await;
    let wrong =
        GatewayClient::new(sim.client_config(DEMO_TERMINAL_ID, GatewayKey::new(&[9; 32]).unwrap())).unwrap();
    let err = wrong
        .micropay(&micropay("ORDER-KEY1", WECHAT, 100))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::BadSignature));
    assert!(!err.outcome_unknown());
    assert!(sim.order("ORDER-KEY1").is_none());

    let stranger = GatewayClient::new(sim.client_config("NOBODY01", demo_key())).unwrap();
    assert_eq!(
        refused(stranger.query("ORDER-KEY1").await),
        ErrorCode::UnknownTerminal
    );

    // Registered, it works; and the demo terminal's orders are not its own.
    sim.register_terminal("NOBODY01", GatewayKey::new(&[9; 32]).unwrap());
    let other =
        GatewayClient::new(sim.client_config("NOBODY01", GatewayKey::new(&[9; 32]).unwrap())).unwrap();
    let demo = GatewayClient::new(sim.demo_client_config()).unwrap();
    demo.micropay(&micropay("ORDER-MINE", WECHAT, 100)).await.unwrap();
    assert_eq!(
        other.query("ORDER-MINE").await.unwrap().state,
        OrderState::NotFound
    );
    assert_eq!(
        refused(other.refund(&refund("ORDER-MINE", "REFUND-MINE", 1)).await),
        ErrorCode::OrderNotFound
    );
    sim.unregister_terminal("NOBODY01");
    assert_eq!(
        refused(other.query("ORDER-MINE").await),
        ErrorCode::UnknownTerminal
    );
}

#[tokio::test]
async fn an_answer_whose_signature_fails_means_query() {
    let (sim, client) = start().await;
    sim.inject_fault("ORDER-SIG1", Fault::BadAnswerSignature);
    let err = client
        .micropay(&micropay("ORDER-SIG1", WECHAT, 100))
        .await
        .unwrap_err();
    assert_eq!(err, GatewayError::UnverifiedAnswer);
    assert!(err.outcome_unknown());
    // It was carried out: the query (signed properly) says so.
    assert_eq!(client.query("ORDER-SIG1").await.unwrap().state, OrderState::Paid);
    // An error answer with a bad signature is not believed either.
    sim.inject_fault("ORDER-SIG1", Fault::BadAnswerSignature);
    assert_eq!(
        client
            .micropay(&micropay("ORDER-SIG1", WECHAT, 100))
            .await
            .unwrap_err(),
        GatewayError::UnverifiedAnswer
    );
}

#[tokio::test]
async fn system_error_carries_nothing_out() {
    let (sim, client) = start().await;
    sim.inject_fault("ORDER-SYS1", Fault::SystemError);
    let err = client
        .micropay(&micropay("ORDER-SYS1", WECHAT, 100))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::SystemError));
    assert!(err.outcome_unknown());
    assert_eq!(
        client.query("ORDER-SYS1").await.unwrap().state,
        OrderState::NotFound
    );
    // The fault was used up: trying again (same number) works.
    let paid = client
        .micropay(&micropay("ORDER-SYS1", WECHAT, 100))
        .await
        .unwrap();
    assert_eq!(paid.state, OrderState::Paid);
}

#[tokio::test]
async fn a_late_answer_times_the_client_out_after_the_request_was_sent() {
    let (sim, _) = start().await;
    let mut config = sim.demo_client_config();
    config.timeout = Duration::from_secs(1);
    let client = GatewayClient::new(config).unwrap();
    sim.delay_next_answer("ORDER-SLOW1", Duration::from_secs(3));
    let err = client
        .micropay(&micropay("ORDER-SLOW1", WECHAT, 100))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GatewayError::Transport(LinkFailure {
            error: HostError::Timeout(Duration::from_secs(1)),
            request_sent: true,
        })
    );
    // A patient client (on a loaded machine the impatient one's second may not do).
    let patient = GatewayClient::new(sim.demo_client_config()).unwrap();
    assert_eq!(
        patient.query("ORDER-SLOW1").await.unwrap().state,
        OrderState::Paid
    );

    // Every answer late.
    sim.set_answer_delay(Some(Duration::from_secs(3)));
    assert!(client.query("ORDER-SLOW1").await.unwrap_err().outcome_unknown());
    sim.set_answer_delay(None);
    assert!(patient.query("ORDER-SLOW1").await.is_ok());
}

#[tokio::test]
async fn a_dropped_answer_of_any_endpoint_is_a_sent_request() {
    let (sim, client) = start().await;
    client
        .micropay(&micropay("ORDER-DROP1", WECHAT, 100))
        .await
        .unwrap();
    sim.drop_next_answer("ORDER-DROP1");
    assert!(client.query("ORDER-DROP1").await.unwrap_err().request_sent());
    assert!(client.query("ORDER-DROP1").await.is_ok());
    // Refunds by refund number: carried out, answer lost, resent: once.
    sim.drop_next_answer("REFUND-DROP1");
    let lost = client.refund(&refund("ORDER-DROP1", "REFUND-DROP1", 50)).await;
    assert!(lost.unwrap_err().outcome_unknown());
    let again = client
        .refund(&refund("ORDER-DROP1", "REFUND-DROP1", 50))
        .await
        .unwrap();
    assert_eq!(again.state, RefundState::Succeeded);
    assert_eq!(sim.ledger().returned("ORDER-DROP1"), 50);
    assert_eq!(sim.requests(Endpoint::Refund), 2);
    assert_eq!(sim.requests(Endpoint::Query), 2);
}

#[tokio::test]
async fn requests_are_checked_on_both_sides() {
    let (sim, client) = start().await;
    // The client refuses what breaks the protocol's rules; nothing leaves.
    let bad_no = client
        .micropay(&micropay("ORDER 1", WECHAT, 100))
        .await
        .unwrap_err();
    assert!(matches!(bad_no, GatewayError::InvalidRequest(_)) && !bad_no.request_sent());
    let zero = client
        .micropay(&micropay("ORDER-ZERO", WECHAT, 0))
        .await
        .unwrap_err();
    assert!(matches!(zero, GatewayError::InvalidRequest(_)));
    let mut lower = micropay("ORDER-CUR1", WECHAT, 100);
    lower.currency = "cny".into();
    assert!(matches!(
        client.micropay(&lower).await,
        Err(GatewayError::InvalidRequest(_))
    ));
    assert!(matches!(
        client.micropay(&micropay("ORDER-CODE", "13 45", 100)).await,
        Err(GatewayError::InvalidRequest(_))
    ));
    assert_eq!(sim.requests(Endpoint::Micropay), 0);
    // The gateway refuses the rest with bad_request.
    let mut long = micropay("ORDER-LONG", WECHAT, 100);
    long.description = "x".repeat(200);
    assert_eq!(refused(client.micropay(&long).await), ErrorCode::BadRequest);
    let mut forever = shown("ORDER-FOREVER", 100, 60);
    forever.expires_in = 200_000;
    assert_eq!(
        refused(client.create_order(&forever).await),
        ErrorCode::BadRequest
    );
    assert_eq!(sim.requests(Endpoint::Micropay), 1);
    assert_eq!(sim.requests(Endpoint::CreateOrder), 1);
}

#[tokio::test]
async fn transport_failures_before_sending_say_so() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let (sim, _) = start().await;
    let mut config = sim.demo_client_config();
    config.base_url = format!("https://{addr}");
    let err = GatewayClient::new(config)
        .unwrap()
        .query("ORDER-0001")
        .await
        .unwrap_err();
    assert!(!err.request_sent() && !err.outcome_unknown(), "{err:?}");

    let mut other_ca = sim.demo_client_config();
    other_ca.ca_pem = poskit_sim::platform::other_test_ca_pem().into();
    match GatewayClient::new(other_ca).unwrap().query("ORDER-0001").await {
        Err(GatewayError::Transport(LinkFailure {
            error: HostError::Tls(_),
            request_sent: false,
        })) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.requests(Endpoint::Query), 0);

    let mut pinned = sim.demo_client_config();
    pinned.pinned_spki_sha256 = Some(server_spki_sha256());
    assert!(
        GatewayClient::new(pinned)
            .unwrap()
            .query("ORDER-0001")
            .await
            .is_ok()
    );
}

#[test]
fn run_forever_serves_the_demo_terminal() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::thread::spawn(move || poskit_sim::gateway::run_forever(addr, GatewaySimConfig::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = poskit_host::GatewayConfig::new(
            format!("https://{addr}"),
            poskit_sim::platform::test_ca_pem(),
            DEMO_TERMINAL_ID,
            demo_key(),
        );
        let client = GatewayClient::new(config).unwrap();
        for _ in 0..250 {
            match client.query("ORDER-0001").await {
                Err(e) if !e.request_sent() => tokio::time::sleep(Duration::from_millis(20)).await,
                other => {
                    assert_eq!(other.unwrap().state, OrderState::NotFound);
                    return;
                }
            }
        }
        panic!("run_forever never started listening on {addr}");
    });
}
