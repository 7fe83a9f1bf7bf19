//! Risk control against the simulators: for each rule, a request under it
//! goes ahead with its decision journaled and linked, and one over it is
//! refused before anything is journaled or sent, the decision journaled
//! with the rule's name and the alert raised. The chip, swipe, keyed and
//! QR paths are all covered, and the decisions never hold a card number.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poskit::card::{by_reference, swipe_transaction};
use poskit::qr::{QrLink, QrMerchant, QrSettings};
use poskit::risk::{RiskDecision, RiskEngine, RiskRule, RiskRules, Verdict};
use poskit::{Cancel, Request, TerminalError};
use poskit_crypto::pin::Pin;
use poskit_emv::{Decision, Interface};
use poskit_host::GatewayClient;
use poskit_host::gateway::Endpoint;
use poskit_iso8583::cup::{CardFields, EntryMode};
use poskit_sim::gateway::{GatewaySim, GatewaySimConfig};
use poskit_store::testing::{Needle, TestKeystore, scan_for_card_data, test_dir};
use poskit_store::{Store, TxnId, TxnKind, TxnState, Wallet};

use common::*;

const VISA: &str = "4761739001010010";
const MASTERCARD: &str = "5413330089020011";
/// The visa-contact card's stripe: a chip card (service code 201).
const VISA_TRACK: &str = ";4761739001010010=2512201000000000?";

type Alerts = Arc<Mutex<Vec<RiskDecision>>>;

/// An engine for `rules` (JSON) whose alerts are collected.
fn engine(rules: &str) -> (Arc<RiskEngine>, Alerts) {
    let rules: RiskRules = serde_json::from_str(rules).unwrap();
    let mut engine = RiskEngine::new(rules).unwrap();
    let alerts = Alerts::default();
    let sink = alerts.clone();
    engine.on_alert(Arc::new(move |d: &RiskDecision| {
        sink.lock().unwrap().push(d.clone())
    }));
    (Arc::new(engine), alerts)
}

/// A signed-in terminal whose host link judges with `rules`.
async fn guarded(name: &str, rules: &str) -> (Setup, Alerts) {
    let mut s = setup(name).await;
    let (engine, alerts) = engine(rules);
    s.host.set_risk(engine);
    (s, alerts)
}

/// What the acquirer has seen and the journal holds, to show a block
/// changed neither.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    requests: usize,
    transactions: usize,
}

fn seen(s: &Setup) -> Seen {
    Seen {
        requests: s.sim.received().len(),
        transactions: s.store.transactions_between(0, i64::MAX).unwrap().len(),
    }
}

/// `result` is a block by `rule`: nothing went to the acquirer or into the
/// journal but the decision, journaled with the rule's name, and the
/// alert was raised with it.
#[track_caller]
fn assert_blocked<T: std::fmt::Debug>(
    s: &Setup,
    alerts: &Alerts,
    before: Seen,
    result: poskit::Result<T>,
    rule: RiskRule,
) {
    let err = result.unwrap_err();
    match &err {
        TerminalError::RiskBlocked { rule: name, .. } => assert_eq!(name, rule.as_str()),
        other => panic!("expected a risk block by {rule}, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("declined by risk control ({rule}): ")),
        "{message}"
    );
    assert!(message.ends_with("ask for another payment method"), "{message}");
    assert_eq!(seen(s), before, "nothing sent, nothing journaled");
    let decision = s.store.risk_decisions_since(0).unwrap().pop().unwrap();
    assert_eq!(
        (decision.verdict, decision.rule.as_deref(), decision.txn_id),
        (Verdict::Block, Some(rule.as_str()), None)
    );
    let alert = alerts.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (alert.id, alert.verdict, alert.rule),
        (decision.id, Verdict::Block, Some(rule))
    );
}

/// The transaction went ahead under a journaled decision of `verdict`.
#[track_caller]
fn assert_went_ahead(s: &Setup, txn: TxnId, verdict: Verdict) {
    let decision = s
        .store
        .risk_decision_for_txn(txn)
        .unwrap()
        .expect("a linked decision");
    assert_eq!(decision.verdict, verdict, "{}", decision.reason);
}

async fn approved_sale(s: &mut Setup, profile: &str, amount: u64) -> TxnId {
    let r = sale(s, profile, Interface::Contact, amount, TxnKind::Sale).await;
    assert_eq!(r.outcome.decision, Decision::Approved, "{:?}", r.outcome.reason);
    r.txn.unwrap()
}

async fn fallback_swipe(
    s: &mut Setup,
    amount: u64,
) -> poskit::Result<Result<poskit::Answer, poskit::NoAnswer>> {
    let pin = Pin::new("1234").unwrap();
    swipe_transaction(
        &s.host,
        &mut s.store,
        TxnKind::Sale,
        amount,
        VISA_TRACK,
        Some(&pin),
        true,
        now(),
    )
    .await
}

async fn keyed_sale(s: &mut Setup, amount: u64) -> poskit::Result<Result<poskit::Answer, poskit::NoAnswer>> {
    let request = Request {
        kind: TxnKind::Sale,
        amount,
        card: CardFields {
            pan: Some(VISA.into()),
            expiry: Some("2512".into()),
            entry_mode: Some(EntryMode::Manual),
            ..CardFields::default()
        },
        original: None,
        aid: None,
    };
    s.host.authorise(&mut s.store, &request, now()).await
}

#[tokio::test]
async fn per_transaction_limit() {
    let (mut s, alerts) = guarded(
        "risk-per-txn",
        r#"{ "per_transaction_limit": { "max_amount": 50000 } }"#,
    )
    .await;
    let id = approved_sale(&mut s, "visa-contact", 50_000).await;
    assert_went_ahead(&s, id, Verdict::Allow);
    assert!(alerts.lock().unwrap().is_empty());

    let before = seen(&s);
    let result = try_sale(&mut s, "visa-contact", Interface::Contact, 50_001, TxnKind::Sale).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::PerTransactionLimit);
    // Refunds are limited too, and one under the limit goes through.
    let before = seen(&s);
    let refund = by_reference(&s.host, &mut s.store, TxnKind::Refund, id, 50_001, now()).await;
    assert_blocked(&s, &alerts, before, refund, RiskRule::PerTransactionLimit);
    let refund = by_reference(&s.host, &mut s.store, TxnKind::Refund, id, 20_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(refund.approved, "{}", refund.response_code);
    assert_went_ahead(&s, refund.id, Verdict::Allow);
    agree(&s);
}

#[tokio::test]
async fn daily_limit() {
    let (mut s, alerts) = guarded("risk-daily", r#"{ "daily_limit": { "max_amount": 100000 } }"#).await;
    approved_sale(&mut s, "visa-contact", 60_000).await;
    // A voided sale was not taken: it does not count.
    let voided = approved_sale(&mut s, "mastercard-contact", 30_000).await;
    let void = by_reference(&s.host, &mut s.store, TxnKind::Void, voided, 30_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(void.approved, "{}", void.response_code);
    assert!(
        s.store.risk_decision_for_txn(void.id).unwrap().is_none(),
        "voids are not judged"
    );
    // Up to the limit exactly.
    let last = approved_sale(&mut s, "mastercard-contact", 40_000).await;
    assert_went_ahead(&s, last, Verdict::Allow);

    let before = seen(&s);
    let result = try_sale(&mut s, "visa-contact", Interface::Contact, 1, TxnKind::Sale).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::DailyLimit);
    // A void is never held up, and frees its amount.
    let void = by_reference(&s.host, &mut s.store, TxnKind::Void, last, 40_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(void.approved, "{}", void.response_code);
    approved_sale(&mut s, "visa-contact", 40_000).await;
    assert_eq!(alerts.lock().unwrap().len(), 1);
    agree(&s);
}

#[tokio::test]
async fn card_velocity() {
    let (mut s, alerts) = guarded(
        "risk-velocity",
        r#"{ "card_velocity": { "max_count": 2, "minutes": 10 } }"#,
    )
    .await;
    for amount in [1_000, 2_000] {
        let id = approved_sale(&mut s, "visa-contact", amount).await;
        assert_went_ahead(&s, id, Verdict::Allow);
    }
    let before = seen(&s);
    let result = try_sale(&mut s, "visa-contact", Interface::Contact, 3_000, TxnKind::Sale).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::CardVelocity);
    // The same card through the stripe is the same card.
    let before = seen(&s);
    let result = fallback_swipe(&mut s, 3_000).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::CardVelocity);
    // Another card is not held up by it.
    let id = approved_sale(&mut s, "mastercard-contact", 3_000).await;
    assert_went_ahead(&s, id, Verdict::Allow);
    agree(&s);
}

#[tokio::test]
async fn repeated_declines() {
    let (mut s, alerts) = guarded(
        "risk-declines",
        r#"{ "repeated_declines": { "max_count": 2, "minutes": 30 } }"#,
    )
    .await;
    // The simulator declines amounts ending in 51 (insufficient funds).
    for amount in [1_051, 2_051] {
        let r = sale(&mut s, "visa-contact", Interface::Contact, amount, TxnKind::Sale).await;
        let answer = r.answer.expect("answered");
        assert_eq!(answer.response_code, "51");
        assert_eq!(s.store.transaction(answer.id).unwrap().state, TxnState::Declined);
        assert_went_ahead(&s, answer.id, Verdict::Allow);
    }
    let before = seen(&s);
    let result = try_sale(&mut s, "visa-contact", Interface::Contact, 3_000, TxnKind::Sale).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::RepeatedDeclines);
    approved_sale(&mut s, "mastercard-contact", 3_000).await;
    agree(&s);
}

#[tokio::test]
async fn blocked_bin() {
    let (mut s, alerts) = guarded(
        "risk-bin",
        r#"{ "blocked_bin": { "prefixes": ["541333", "9"] } }"#,
    )
    .await;
    let before = seen(&s);
    let result = try_sale(
        &mut s,
        "mastercard-contact",
        Interface::Contact,
        5_000,
        TxnKind::Sale,
    )
    .await;
    assert_blocked(&s, &alerts, before, result, RiskRule::BlockedBin);
    let decision = s.store.risk_decisions_since(0).unwrap().pop().unwrap();
    assert!(!decision.reason.contains("541333"), "{}", decision.reason);
    let id = approved_sale(&mut s, "visa-contact", 5_000).await;
    assert_went_ahead(&s, id, Verdict::Allow);
    agree(&s);
}

#[tokio::test]
async fn fallback_limit() {
    let (mut s, alerts) = guarded("risk-fallback", r#"{ "fallback_limit": { "max_count": 1 } }"#).await;
    let answer = fallback_swipe(&mut s, 1_200).await.unwrap().unwrap();
    assert!(answer.approved, "{}", answer.response_code);
    assert_went_ahead(&s, answer.id, Verdict::Allow);
    let before = seen(&s);
    let result = fallback_swipe(&mut s, 1_300).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::FallbackLimit);
    // The chip still works for the same card.
    approved_sale(&mut s, "visa-contact", 1_300).await;
    agree(&s);
}

#[tokio::test]
async fn manual_entry_limit() {
    let (mut s, alerts) = guarded("risk-manual", r#"{ "manual_entry_limit": { "max_count": 1 } }"#).await;
    let answer = keyed_sale(&mut s, 700).await.unwrap().unwrap();
    assert!(answer.approved, "{}", answer.response_code);
    assert_went_ahead(&s, answer.id, Verdict::Allow);
    let before = seen(&s);
    let result = keyed_sale(&mut s, 800).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::ManualEntryLimit);
    approved_sale(&mut s, "visa-contact", 800).await;
    agree(&s);
}

/// An "HH:MM" to "HH:MM" window (UTC) from `from` to `to` minutes around
/// the current minute.
fn hours_around_now(from: i64, to: i64) -> String {
    let minute = (now() % 86_400 / 60) as i64;
    let at = |delta: i64| {
        let m = (minute + delta).rem_euclid(1440);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    format!(r#""from": "{}", "to": "{}""#, at(from), at(to))
}

#[tokio::test]
async fn unusual_hours() {
    // Now is unusual: reviewed, not refused; the alert is raised.
    let rules = format!(r#"{{ "unusual_hours": {{ {} }} }}"#, hours_around_now(-60, 60));
    let (mut s, alerts) = guarded("risk-hours", &rules).await;
    let id = approved_sale(&mut s, "visa-contact", 4_000).await;
    assert_went_ahead(&s, id, Verdict::Review);
    let alert = alerts.lock().unwrap().pop().unwrap();
    assert_eq!(
        (alert.verdict, alert.rule),
        (Verdict::Review, Some(RiskRule::UnusualHours))
    );

    // Configured to block, the same hours refuse.
    let rules = format!(
        r#"{{ "unusual_hours": {{ {}, "verdict": "block" }} }}"#,
        hours_around_now(-60, 60)
    );
    let (blocking, alerts) = engine(&rules);
    s.host.set_risk(blocking);
    let before = seen(&s);
    let result = try_sale(&mut s, "visa-contact", Interface::Contact, 4_100, TxnKind::Sale).await;
    assert_blocked(&s, &alerts, before, result, RiskRule::UnusualHours);

    // Outside the hours: allowed, no alert.
    let rules = format!(
        r#"{{ "unusual_hours": {{ {}, "verdict": "block" }} }}"#,
        hours_around_now(60, 120)
    );
    let (later, alerts) = engine(&rules);
    s.host.set_risk(later);
    let id = approved_sale(&mut s, "visa-contact", 4_200).await;
    assert_went_ahead(&s, id, Verdict::Allow);
    assert!(alerts.lock().unwrap().is_empty());
    agree(&s);
}

#[tokio::test]
async fn qr_payments_are_judged_before_the_order_is_journaled() {
    let (sim, _) = GatewaySim::start(GatewaySimConfig::default()).await.unwrap();
    let dir = test_dir("risk-qr");
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(7)).unwrap();
    let mut settings = QrSettings::new(QrMerchant {
        merchant_id: MID.into(),
        name: "LUCKY NOODLES".into(),
        city: "SHANGHAI".into(),
        country: "CN".into(),
        mcc: "5812".into(),
        currency_numeric: "156".into(),
        account_gui: "A000000333".into(),
    });
    settings.query_interval = Duration::from_millis(100);
    settings.payment_deadline = Duration::from_secs(2);
    let mut config = sim.demo_client_config();
    config.timeout = Duration::from_millis(800);
    let mut qr = QrLink::new(GatewayClient::new(config).unwrap(), settings);
    let (engine, alerts) = engine(
        r#"{ "per_transaction_limit": { "max_amount": 1000 },
             "daily_limit": { "max_amount": 1500 } }"#,
    );
    qr.set_risk(engine);
    const WECHAT: &str = "134567890123456789";

    let paid = qr
        .micropay(&mut store, WECHAT, 1_000, now(), &mut |_| {}, &Cancel::new())
        .await
        .unwrap();
    assert!(paid.is_paid(), "{paid:?}");
    let decision = store.risk_decisions_since(0).unwrap().pop().unwrap();
    assert_eq!(
        (
            decision.verdict,
            decision.merchant_order_no.as_deref(),
            decision.card_present
        ),
        (Verdict::Allow, Some(paid.order_no.as_str()), false)
    );

    let blocked = |store: &Store, rule: RiskRule| {
        let decision = store.risk_decisions_since(0).unwrap().pop().unwrap();
        assert_eq!(
            (
                decision.verdict,
                decision.rule.as_deref(),
                decision.merchant_order_no
            ),
            (Verdict::Block, Some(rule.as_str()), None)
        );
        assert_eq!(decision.entry_mode, poskit_store::EntryMode::Qr);
        assert_eq!(alerts.lock().unwrap().last().unwrap().id, decision.id);
    };
    // Over the per-transaction limit (and the day's): nothing reaches the
    // gateway, no order is journaled.
    let err = qr
        .micropay(&mut store, WECHAT, 1_001, now(), &mut |_| {}, &Cancel::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TerminalError::RiskBlocked { rule, .. } if rule == "per_transaction_limit"),
        "{err}"
    );
    blocked(&store, RiskRule::PerTransactionLimit);
    assert_eq!(sim.requests(Endpoint::Micropay), 1);
    assert_eq!(sim.orders().len(), 1);
    // The day's QR sales count toward the daily limit.
    let err = qr
        .show_code(&mut store, 501, Wallet::Alipay, now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TerminalError::RiskBlocked { rule, .. } if rule == "daily_limit"),
        "{err}"
    );
    blocked(&store, RiskRule::DailyLimit);
    assert_eq!(sim.requests(Endpoint::CreateOrder), 0);
    assert!(store.open_qr_orders().unwrap().is_empty());
    // Up to the limit exactly, a shown code is created and its decision
    // linked to the order.
    let code = qr
        .show_code(&mut store, 500, Wallet::Alipay, now())
        .await
        .unwrap();
    assert_eq!(sim.requests(Endpoint::CreateOrder), 1);
    let decision = store.risk_decisions_since(0).unwrap().pop().unwrap();
    assert_eq!(
        (decision.verdict, decision.merchant_order_no),
        (Verdict::Allow, Some(code.order_no.clone()))
    );
    assert_eq!(alerts.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_decisions_never_hold_a_card_number() {
    let (mut s, _) = guarded(
        "risk-no-pan",
        r#"{ "blocked_bin": { "prefixes": ["541333"] },
             "card_velocity": { "max_count": 1, "minutes": 60 },
             "unusual_hours": { "from": "00:00", "to": "23:59" } }"#,
    )
    .await;
    approved_sale(&mut s, "visa-contact", 1_000).await;
    assert!(
        try_sale(&mut s, "visa-contact", Interface::Contact, 1_000, TxnKind::Sale)
            .await
            .is_err()
    );
    assert!(fallback_swipe(&mut s, 1_000).await.is_err());
    assert!(keyed_sale(&mut s, 1_000).await.is_err());
    assert!(
        try_sale(
            &mut s,
            "mastercard-contact",
            Interface::Contact,
            1_000,
            TxnKind::Sale
        )
        .await
        .is_err()
    );
    let decisions = s.store.risk_decisions_since(0).unwrap();
    assert_eq!(decisions.len(), 5);
    assert!(decisions.iter().all(|d| d.card_present));

    let conn = s.store.raw_connection();
    // Every value of every row, as the database holds it.
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('risk_decisions')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(columns.len() >= 10, "{columns:?}");
    let mut values: Vec<Vec<u8>> = Vec::new();
    for column in &columns {
        let column_values: Vec<Option<Vec<u8>>> = conn
            .prepare(&format!("SELECT CAST({column} AS BLOB) FROM risk_decisions"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        values.extend(column_values.into_iter().flatten());
    }
    let needles: Vec<Needle> = [VISA, MASTERCARD]
        .iter()
        .flat_map(|pan| Needle::pan(pan, pan))
        .collect();
    for value in &values {
        for needle in &needles {
            assert!(
                !value.windows(needle.bytes.len()).any(|w| w == needle.bytes),
                "{needle:?} in a risk decision"
            );
        }
        // Not even the BIN, which masking would show.
        let text = String::from_utf8_lossy(value);
        assert!(!text.contains("476173") && !text.contains("541333"), "{text}");
    }
    // The card is the journal's keyed hash: the allowed sale and the
    // velocity block share it with the sale's transaction row.
    let hashes: Vec<Vec<u8>> = conn
        .prepare(
            "SELECT d.pan_hash FROM risk_decisions d
             WHERE d.pan_hash = (SELECT pan_hash FROM transactions WHERE kind = 'sale' ORDER BY id LIMIT 1)",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(hashes.len(), 4, "every visa decision: chip, chip, stripe, keyed");
    // And nothing anywhere in the terminal's files.
    let findings = scan_for_card_data(&s.dir, &needles);
    assert!(findings.is_empty(), "{findings:?}");
}
