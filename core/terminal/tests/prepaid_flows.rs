//! Closed-loop prepaid cards against the acquirer simulator over TLS on
//! loopback (docs/prepaid.md): issue, top up, pay and balance; the
//! declines; a timeout reversed so the balance is whole again; settlement
//! counting purchases and not loads; and after each scenario the
//! simulator's ledger and the terminal's journal agree. Last, the PBOC
//! electronic cash balance read from a virtual UnionPay chip card.

use poskit::NoAnswer;
use poskit::card::{CardReader, ReaderError};
use poskit::prepaid::{self, Decline, PrepaidCard, PrepaidOutcome, PrepaidReceipt};
use poskit_crypto::pin::Pin;
use poskit_emv::ec_balance::UNIONPAY_AIDS;
use poskit_sim::acquirer::{EntryState, prepaid_card_number};
use poskit_sim::card::Card;
use poskit_sim::virtual_card::{ElectronicCash, VirtualCard};
use poskit_store::{EntryMode, TxnKind, TxnState};

mod common;

use common::{Setup, TID, now, setup};

fn card(serial: u32) -> PrepaidCard {
    PrepaidCard::entered(&prepaid_card_number(serial)).unwrap()
}

fn approved(outcome: PrepaidOutcome) -> PrepaidReceipt {
    match outcome {
        PrepaidOutcome::Approved(r) => r,
        other => panic!("expected an approval, got {other:?}"),
    }
}

fn declined(outcome: PrepaidOutcome) -> Decline {
    match outcome {
        PrepaidOutcome::Declined { reason, .. } => reason,
        other => panic!("expected a decline, got {other:?}"),
    }
}

/// Every journal row the host saw is in the same state at both ends, and
/// the host holds nothing approved the terminal does not know.
fn agree(s: &Setup) {
    let ledger = s.sim.ledger(TID);
    let rows: Vec<_> = (1..=s.store.counters().unwrap().last_batch)
        .flat_map(|b| s.store.transactions_in_batch(b).unwrap())
        .collect();
    for rec in &rows {
        let entry = ledger
            .iter()
            .find(|e| e.stan == format!("{:06}", rec.stan) && e.batch == rec.batch_no);
        match (rec.state, entry.map(|e| e.state)) {
            (TxnState::Approved | TxnState::Settled, Some(EntryState::Approved)) => {}
            (TxnState::Reversed, Some(EntryState::Reversed) | None) => {}
            (TxnState::Declined | TxnState::Aborted, None) => {}
            (state, host) => panic!(
                "journal {:?} STAN {} is {state:?}, the host has {host:?}",
                rec.kind, rec.stan
            ),
        }
    }
    for e in ledger.iter().filter(|e| e.state == EntryState::Approved) {
        assert!(
            rows.iter()
                .any(|r| format!("{:06}", r.stan) == e.stan && r.batch_no == e.batch),
            "the host holds STAN {} that the terminal does not know",
            e.stan
        );
    }
}

#[tokio::test]
async fn issue_top_up_pay_and_balance() {
    let mut s = setup("prepaid-happy").await;
    let number = prepaid_card_number(1);
    // Issued by swiping the new card, with a PIN.
    let swiped = PrepaidCard::swiped(&format!(";{number}=49120000000000?")).unwrap();
    let pin = Pin::new("2468").unwrap();
    let issued = approved(
        prepaid::issue(&s.host, &mut s.store, &swiped, 50_000, Some(&pin), now())
            .await
            .unwrap(),
    );
    assert_eq!(issued.balance, Some(50_000));
    assert_eq!(issued.masked_card, "998801******0014");
    assert!(issued.rrn.is_some() && issued.auth_code.is_some());

    // Later the number is keyed in.
    let keyed = PrepaidCard::entered("9988 0100 0000 0014").unwrap();
    let topped = approved(
        prepaid::top_up(&s.host, &mut s.store, &keyed, 20_000, now())
            .await
            .unwrap(),
    );
    assert_eq!(topped.balance, Some(70_000));
    // Below the PIN-free limit (300.00) no PIN; above it the PIN.
    let small = prepaid::pay(&s.host, &mut s.store, &keyed, 12_340, None, now())
        .await
        .unwrap();
    assert_eq!(small.balance(), Some(57_660));
    let large = approved(
        prepaid::pay(&s.host, &mut s.store, &keyed, 40_000, Some(&pin), now())
            .await
            .unwrap(),
    );
    assert_eq!(large.balance, Some(17_660));
    let inquiry = approved(
        prepaid::balance(&s.host, &mut s.store, &keyed, now())
            .await
            .unwrap(),
    );
    assert_eq!((inquiry.amount, inquiry.balance), (0, Some(17_660)));
    assert_eq!(s.sim.prepaid_balance(&number), Some(17_660));

    // The journal: kinds, entry modes, the card only masked.
    let rows = s.store.transactions_in_batch(1).unwrap();
    let summary: Vec<_> = rows
        .iter()
        .map(|r| (r.kind, r.entry_mode, r.amount, r.state))
        .collect();
    assert_eq!(
        summary,
        [
            (
                TxnKind::PrepaidIssue,
                EntryMode::MagStripe,
                50_000,
                TxnState::Approved
            ),
            (
                TxnKind::PrepaidTopUp,
                EntryMode::Manual,
                20_000,
                TxnState::Approved
            ),
            (TxnKind::PrepaidPay, EntryMode::Manual, 12_340, TxnState::Approved),
            (TxnKind::PrepaidPay, EntryMode::Manual, 40_000, TxnState::Approved),
            (TxnKind::PrepaidBalance, EntryMode::Manual, 0, TxnState::Approved),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.pan_masked.as_deref() == Some("998801******0014"))
    );
    // The host saw the issue's stripe and PIN, and MACs on every request.
    let received = s.sim.received();
    let issue = received.iter().find(|m| m.digits(3) == Some("220060")).unwrap();
    assert!(issue.digits(35).is_some() && issue.binary(52).is_some() && issue.binary(64).is_some());
    agree(&s);
}

#[tokio::test]
async fn declines_say_what_to_do_and_move_nothing() {
    let mut s = setup("prepaid-declines").await;
    let c = card(2);
    // Not issued yet.
    let not_yet = declined(prepaid::balance(&s.host, &mut s.store, &c, now()).await.unwrap());
    assert_eq!(not_yet, Decline::NotActivated);
    assert!(not_yet.to_string().contains("issue it first"));
    approved(
        prepaid::issue(
            &s.host,
            &mut s.store,
            &c,
            10_000,
            Some(&Pin::new("1357").unwrap()),
            now(),
        )
        .await
        .unwrap(),
    );
    let again = declined(
        prepaid::issue(&s.host, &mut s.store, &c, 10_000, None, now())
            .await
            .unwrap(),
    );
    assert_eq!(again, Decline::AlreadyIssued);
    // Insufficient balance.
    let short = declined(
        prepaid::pay(&s.host, &mut s.store, &c, 10_001, None, now())
            .await
            .unwrap(),
    );
    assert_eq!(short, Decline::InsufficientBalance);
    assert!(short.to_string().contains("top it up"));
    // A PIN card above the PIN-free limit without its PIN.
    approved(
        prepaid::top_up(&s.host, &mut s.store, &c, 40_000, now())
            .await
            .unwrap(),
    );
    let no_pin = declined(
        prepaid::pay(&s.host, &mut s.store, &c, 45_000, None, now())
            .await
            .unwrap(),
    );
    assert_eq!(no_pin, Decline::WrongPin);
    // Over the most a card may hold.
    let over = declined(
        prepaid::top_up(&s.host, &mut s.store, &c, 460_000, now())
            .await
            .unwrap(),
    );
    assert_eq!(over, Decline::OverBalanceLimit);
    assert_eq!(s.sim.prepaid_balance(&prepaid_card_number(2)), Some(50_000));
    let declines = s
        .store
        .transactions_in_batch(1)
        .unwrap()
        .into_iter()
        .filter(|r| r.state == TxnState::Declined)
        .count();
    assert_eq!(declines, 5);
    agree(&s);
}

#[tokio::test]
async fn unknown_cards_are_refused_before_anything_is_sent() {
    let s = setup("prepaid-unknown").await;
    let before = s.sim.received().len();
    // An open-loop card, a number outside the range, a wrong check digit,
    // a stripe that is not a track 2.
    for (input, says) in [
        ("6230580000000000013", "not a card of this prepaid programme"),
        ("99880100000000", "not a card of this prepaid programme"),
        ("9988010000000012", "check digit"),
    ] {
        let err = PrepaidCard::entered(input).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(!err.contains(input), "errors never repeat the number");
    }
    let err = PrepaidCard::swiped(";9988010000000014?").unwrap_err().to_string();
    assert!(err.contains("swipe again"), "{err}");
    let err = PrepaidCard::swiped(";6230580000000000013=31082200000000?").unwrap_err();
    assert!(err.to_string().contains("not a card of this prepaid programme"));
    assert!(
        !format!("{:?}", card(3)).contains("9988010000000030"),
        "Debug masks the number"
    );
    assert_eq!(s.sim.received().len(), before, "nothing reached the host");
    assert!(s.store.transactions_in_batch(1).unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_timeout_is_reversed_and_the_balance_is_whole_again() {
    let mut s = setup("prepaid-timeout").await;
    let c = card(4);
    let number = prepaid_card_number(4);
    approved(
        prepaid::issue(&s.host, &mut s.store, &c, 30_000, None, now())
            .await
            .unwrap(),
    );
    // The simulator debits a purchase ending in 98 and never answers.
    let lost = prepaid::pay(&s.host, &mut s.store, &c, 1_098, None, now())
        .await
        .unwrap();
    assert_eq!(lost, PrepaidOutcome::NotCompleted(NoAnswer::Timeout));
    let entry = s.sim.ledger(TID).into_iter().find(|e| e.amount == 1_098).unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    assert_eq!(
        s.sim.prepaid_balance(&number),
        Some(30_000),
        "the purchase was paid back"
    );
    // A load that times out is taken off again.
    let lost = prepaid::top_up(&s.host, &mut s.store, &c, 2_098, now())
        .await
        .unwrap();
    assert_eq!(lost, PrepaidOutcome::NotCompleted(NoAnswer::Timeout));
    assert_eq!(s.sim.prepaid_balance(&number), Some(30_000));
    assert!(!s.store.has_reversal_pending().unwrap());
    let reversed = s
        .store
        .transactions_in_batch(1)
        .unwrap()
        .into_iter()
        .filter(|r| r.state == TxnState::Reversed)
        .map(|r| r.kind)
        .collect::<Vec<_>>();
    assert_eq!(reversed, [TxnKind::PrepaidPay, TxnKind::PrepaidTopUp]);
    let inquiry = prepaid::balance(&s.host, &mut s.store, &c, now()).await.unwrap();
    assert_eq!(inquiry.balance(), Some(30_000));
    agree(&s);
}

#[tokio::test]
async fn settlement_counts_purchases_and_not_loads() {
    let mut s = setup("prepaid-settle").await;
    let c = card(5);
    approved(
        prepaid::issue(&s.host, &mut s.store, &c, 80_000, None, now())
            .await
            .unwrap(),
    );
    approved(
        prepaid::top_up(&s.host, &mut s.store, &c, 10_000, now())
            .await
            .unwrap(),
    );
    approved(
        prepaid::pay(&s.host, &mut s.store, &c, 2_500, None, now())
            .await
            .unwrap(),
    );
    approved(
        prepaid::pay(&s.host, &mut s.store, &c, 4_000, None, now())
            .await
            .unwrap(),
    );
    approved(prepaid::balance(&s.host, &mut s.store, &c, now()).await.unwrap());
    let result = s.host.settle(&mut s.store, now()).await.unwrap();
    assert!(result.balanced, "terminal and host count the same");
    assert_eq!(
        (
            result.totals.domestic.debit_count,
            result.totals.domestic.debit_amount
        ),
        (2, 6_500)
    );
    assert_eq!(result.totals.domestic.credit_count, 0);
    assert_eq!(result.settled, 5);
    assert_eq!(s.sim.closed_batches(TID), [1]);
    agree(&s);
}

// ---- PBOC electronic cash ----

struct Reader(VirtualCard);

impl CardReader for Reader {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        self.0.transceive(command).map_err(|e| match e {
            poskit_sim::CardError::Removed => ReaderError::Removed,
            other => ReaderError::Failed(other.to_string()),
        })
    }
}

#[test]
fn electronic_cash_balance_of_a_unionpay_chip_card() {
    for profile in ["unionpay-contact", "unionpay-qpboc"] {
        let mut card = VirtualCard::named(profile).unwrap();
        card.set_electronic_cash(Some(ElectronicCash {
            balance: 88_800,
            balance_limit: 100_000,
            reset_threshold: 20_000,
        }));
        let ec = prepaid::ec_balance(&mut Reader(card), &UNIONPAY_AIDS).unwrap();
        assert_eq!(
            (ec.balance, ec.balance_limit, ec.reset_threshold),
            (88_800, Some(100_000), Some(20_000)),
            "{profile}"
        );
        assert_eq!(ec.aid[..5], [0xA0, 0x00, 0x00, 0x03, 0x33]);
    }
    // The personalised purse as it comes.
    let ec = prepaid::ec_balance(
        &mut Reader(VirtualCard::named("unionpay-contact").unwrap()),
        &UNIONPAY_AIDS,
    )
    .unwrap();
    assert_eq!(ec.balance, 50_000);

    let err = prepaid::ec_balance(
        &mut Reader(VirtualCard::named("visa-contact").unwrap()),
        &UNIONPAY_AIDS,
    )
    .unwrap_err();
    assert!(err.to_string().contains("use a UnionPay chip card"), "{err}");
    let mut empty = VirtualCard::named("unionpay-contact").unwrap();
    empty.set_electronic_cash(None);
    let err = prepaid::ec_balance(&mut Reader(empty), &UNIONPAY_AIDS).unwrap_err();
    assert!(err.to_string().contains("no electronic cash"), "{err}");
    let mut gone = VirtualCard::named("unionpay-contact").unwrap();
    gone.remove();
    let err = prepaid::ec_balance(&mut Reader(gone), &UNIONPAY_AIDS).unwrap_err();
    assert!(err.to_string().contains("present the card again"), "{err}");
}
