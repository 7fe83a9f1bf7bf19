//! The Terminal's services around payments: risk control as the cashier
//! sees it, receipts on the printer, prepaid cards, the electronic cash
//! purse, and the fault report and diagnostics.

mod common;

use common::terminal::{active, reconciled};
use poskit::receipt::{PrinterError, ReceiptCopy, Width};
use poskit::sim::{PinAction, Presentation, SimHostsOptions};
use poskit::{Cancel, PrepaidCardInput, PrepaidOp, SaleMethod, TerminalEvent, TxnStatus};
use poskit_sim::acquirer::prepaid_card_number;
use poskit_store::FaultCategory;

#[tokio::test]
async fn risk_control_blocks_with_an_alert_and_sends_nothing() {
    let w = active("svc-risk", SimHostsOptions::default()).await;
    let t = &w.terminal;
    let sent = w.hosts.acquirer.received().len();
    w.reader.present(Presentation::Insert("visa-contact".into()));
    let over = t.sale(600_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert_eq!(over.status, TxnStatus::Blocked, "{over:?}");
    assert!(over.message.as_deref().unwrap().contains("per_transaction_limit"));
    assert!(over.reference.is_none());
    let events = w.events.take();
    assert!(events.iter().any(|e| matches!(
        e,
        TerminalEvent::RiskAlert { rule, verdict, .. } if rule == "per_transaction_limit" && verdict == "block"
    )));
    assert_eq!(
        w.hosts.acquirer.received().len(),
        sent,
        "a blocked sale sends nothing"
    );

    // A card of a blocked BIN, tapped.
    w.reader.present(Presentation::Tap("unionpay-qpboc".into()));
    let bin = t.sale(1_000, SaleMethod::Card, &Cancel::new()).await.unwrap();
    assert_eq!(bin.status, TxnStatus::Blocked, "{bin:?}");
    assert!(bin.masked_pan.is_none() || !bin.message.as_deref().unwrap().contains("625094"));

    // A QR sale over the limit never reaches the wallet.
    let qr = t
        .sale(
            700_000,
            SaleMethod::QrScan {
                code: "134567890123456789".into(),
            },
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(qr.status, TxnStatus::Blocked);
    assert!(w.hosts.gateway.orders().is_empty());

    // Under the limit all goes through.
    w.reader.present(Presentation::Insert("visa-contact".into()));
    assert!(
        t.sale(4_000, SaleMethod::Card, &Cancel::new())
            .await
            .unwrap()
            .approved()
    );
    reconciled(&w).await;
}

#[tokio::test]
async fn receipts_print_both_copies_and_reprints_are_marked() {
    let w = active("svc-receipts", SimHostsOptions::default()).await;
    let t = &w.terminal;
    w.reader.present(Presentation::Insert("online-pin".into()));
    let sale = t.sale(12_800, SaleMethod::Card, &Cancel::new()).await.unwrap();
    let r = sale.reference.clone().unwrap();
    t.print_receipt(&r).await.unwrap();
    assert_eq!(w.printer.jobs().len(), 2);
    let merchant = t.receipt(&r, ReceiptCopy::Merchant, false).await.unwrap();
    let text = merchant.text(Width::Mm58);
    assert!(text.contains("HARBOUR NOODLES"), "{text}");
    assert!(text.contains("128.00"), "{text}");
    assert!(text.contains(&w.terminal_id), "{text}");
    assert!(!text.contains("6230580000000000039"), "full PAN on a receipt");
    assert!(text.lines().all(|l| l.chars().count() <= 32), "{text}");

    t.reprint(&r).await.unwrap();
    let jobs = w.printer.jobs();
    assert_eq!(jobs.len(), 4);
    let reprinted = t.receipt(&r, ReceiptCopy::Customer, true).await.unwrap();
    assert!(reprinted.text(Width::Mm80).contains("REPRINT"));

    // A QR order prints its order reference.
    let qr = t
        .sale(
            8_800,
            SaleMethod::QrScan {
                code: "284567890123456789".into(),
            },
            &Cancel::new(),
        )
        .await
        .unwrap();
    let order = qr.reference.clone().unwrap();
    let qr_text = t
        .receipt(&order, ReceiptCopy::Customer, false)
        .await
        .unwrap()
        .text(Width::Mm80);
    assert!(qr_text.contains(&order.to_string()), "{qr_text}");

    // Out of paper: the cashier is told, the fault is counted.
    w.printer.fail_next(1, PrinterError::OutOfPaper);
    let err = t.print_receipt(&order).await.unwrap_err();
    assert!(err.to_string().contains("paper"), "{err}");
    let report = t.fault_report(0).await.unwrap();
    assert_eq!(report.count(FaultCategory::Printer), 1);
}

#[tokio::test]
async fn prepaid_cards_and_the_electronic_cash_purse() {
    let w = active("svc-prepaid", SimHostsOptions::default()).await;
    let t = &w.terminal;
    let number = prepaid_card_number(7);
    // Issued by swiping the new card; the cardholder chooses a PIN.
    w.reader
        .present(Presentation::Swipe(format!(";{number}=49120000000000?")));
    w.pin_pad.then(PinAction::Type("2468".into()));
    let issued = t
        .prepaid(
            PrepaidOp::Issue { amount: 50_000 },
            PrepaidCardInput::Swipe,
            true,
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert!(issued.approved(), "{issued:?}");
    assert_eq!(issued.balance, Some(50_000));
    let keyed = || PrepaidCardInput::Entered(number.clone());
    let topped = t
        .prepaid(
            PrepaidOp::TopUp { amount: 20_000 },
            keyed(),
            false,
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(topped.balance, Some(70_000));
    let paid = t
        .prepaid(PrepaidOp::Pay { amount: 12_000 }, keyed(), false, &Cancel::new())
        .await
        .unwrap();
    assert!(paid.approved(), "{paid:?}");
    assert_eq!(paid.balance, Some(58_000));
    w.pin_pad.then(PinAction::Type("2468".into()));
    let too_much = t
        .prepaid(PrepaidOp::Pay { amount: 90_000 }, keyed(), true, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(too_much.status, TxnStatus::Declined);
    assert!(too_much.message.as_deref().unwrap().contains("top it up"));
    let balance = t
        .prepaid(PrepaidOp::Balance, keyed(), false, &Cancel::new())
        .await
        .unwrap();
    assert_eq!(balance.balance, Some(58_000));
    assert_eq!(w.hosts.acquirer.prepaid_balance(&number), Some(58_000));

    // The electronic cash purse on a UnionPay chip card, read locally.
    let sent = w.hosts.acquirer.received().len();
    w.reader.present(Presentation::Insert("unionpay-contact".into()));
    let ec = t.ec_balance(&Cancel::new()).await.unwrap();
    assert_eq!(ec.balance, 50_000);
    assert_eq!(w.hosts.acquirer.received().len(), sent);
    reconciled(&w).await;
}

#[tokio::test]
async fn faults_are_counted_and_the_export_has_no_card_data() {
    let w = active("svc-faults", SimHostsOptions::default()).await;
    let t = &w.terminal;
    for (profile, amount) in [
        ("visa-contact", 10_000),
        ("visa-contact", 10_051),
        ("visa-contact", 10_098),
        ("mastercard-contact", 10_091),
    ] {
        w.reader.present(Presentation::Insert(profile.into()));
        t.sale(amount, SaleMethod::Card, &Cancel::new()).await.unwrap();
    }
    let report = t.fault_report(0).await.unwrap();
    assert_eq!(report.count(FaultCategory::DeclineFunds), 1);
    assert_eq!(report.count(FaultCategory::HostTimeout), 1);
    assert_eq!(report.count(FaultCategory::DeclineIssuerUnavailable), 1);
    assert!(report.transactions >= 4);
    assert!(report.rate(FaultCategory::DeclineFunds).unwrap() > 0.0);
    let export = t.diagnostics().await.unwrap().to_string();
    for pan in ["4761739001010010", "5413330089020011"] {
        assert!(!export.contains(pan));
        assert!(!export.contains(&pan[..6]), "a BIN in the export");
    }
}

#[tokio::test]
async fn binding_operations_through_the_terminal() {
    use poskit_binding::Lifecycle;
    use poskit_binding::platform::{OtpPurpose, PaymentMethod};
    let w = active("svc-binding", SimHostsOptions::default()).await;
    let t = &w.terminal;
    let merchant = t.lifecycle().await.device().unwrap().merchant_id.clone();
    t.set_payment_method(PaymentMethod::Alipay, true, Some("2088000000000001"))
        .await
        .unwrap();
    t.change_password("246810", "135790").await.unwrap();
    let backup = t.backup("before unbinding").await.unwrap();
    assert!(backup.exists());

    // An unsettled sale keeps the terminal bound.
    w.reader.present(Presentation::Insert("visa-contact".into()));
    assert!(
        t.sale(2_000, SaleMethod::Card, &Cancel::new())
            .await
            .unwrap()
            .approved()
    );
    t.request_otp(OtpPurpose::Unbind).await.unwrap();
    let otp = w.hosts.platform.last_otp(&merchant, OtpPurpose::Unbind).unwrap();
    let err = t.unbind(&merchant, "135790", &otp).await.unwrap_err();
    assert!(err.to_string().contains("settle"), "{err}");

    // Settled, it unbinds; payments stop.
    assert!(t.settle().await.unwrap().balanced);
    t.unbind(&merchant, "135790", &otp).await.unwrap();
    assert!(!matches!(t.lifecycle().await, Lifecycle::Active(_)));
    w.reader.present(Presentation::Insert("visa-contact".into()));
    assert!(t.sale(2_000, SaleMethod::Card, &Cancel::new()).await.is_err());
}
