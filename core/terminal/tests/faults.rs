//! The fault log: every error classified, failures counted by class and
//! reported per 100 transactions, the flows logging what they meet
//! (against the acquirer simulator on loopback), and a diagnostics export
//! without any card data.

use std::sync::Arc;
use std::time::Duration;

use poskit::card::{CardReader, ReaderError, card_transaction, swipe_transaction};
use poskit::faults::{
    self, FaultReport, classify, decline_category, diagnostics_export, record_decline, record_error,
    record_printer_failure,
};
use poskit::receipt::PrinterError;
use poskit::{NoAnswer, TerminalError};
use poskit_binding::{Binding, BindingError, Device, Lifecycle, SettlementCard};
use poskit_crypto::SymmetricKey;
use poskit_emv::{Interface, Kernel};
use poskit_host::gateway::ErrorCode;
use poskit_host::{GatewayError, HostError, LinkFailure};
use poskit_sim::card::Card;
use poskit_sim::virtual_card::VirtualCard;
use poskit_store::testing::{Needle, TestKeystore, scan_for_card_data, test_dir};
use poskit_store::{
    EntryMode, FaultCategory, HostResponse, NewTransaction, Pan, ResponseOutcome, Store, StoreError, TxnId,
    TxnKind,
};

const T0: i64 = 1_700_000_000;
const PAN: &str = "4761739001010010";
const OTHER_PAN: &str = "5413330089020011";

fn store(name: &str) -> Store {
    Store::open(test_dir(name).join("terminal.db"), &TestKeystore::default()).unwrap()
}

fn approved_sale(store: &mut Store, pan: &str, at: i64) -> TxnId {
    let mut txn = NewTransaction::new(TxnKind::Sale, 1_000, "156", EntryMode::Contact, at);
    txn.pan = Some(Pan::new(pan).unwrap());
    let rec = store.record_new(&txn).unwrap();
    store.mark_sent(rec.id, at).unwrap();
    store
        .record_response(
            rec.id,
            &HostResponse::new(ResponseOutcome::Approved, "00"),
            at + 1,
        )
        .unwrap();
    rec.id
}

#[test]
fn counters_and_rates_after_a_mix_of_failures() {
    let mut store = store("fault-rates");
    // Before the window: neither counted.
    approved_sale(&mut store, PAN, T0 - 1_000);
    record_decline(&mut store, "51", None, T0 - 1_000).unwrap();
    let mut last = TxnId(0);
    for i in 0..40 {
        last = approved_sale(&mut store, PAN, T0 + i);
    }
    for code in ["51", "51", "55", "75", "91", "96", "01", "05"] {
        assert!(
            record_decline(&mut store, code, Some(last), T0 + 50)
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        record_decline(&mut store, "00", Some(last), T0 + 50).unwrap(),
        None
    );
    record_printer_failure(&mut store, &PrinterError::OutOfPaper, Some(last), T0 + 51).unwrap();
    record_printer_failure(&mut store, &PrinterError::CoverOpen, None, T0 + 52).unwrap();
    let errors = [
        TerminalError::CardRead("card read failed: bad LRC; swipe again".into()),
        TerminalError::Platform(HostError::Timeout(Duration::from_secs(30))),
        TerminalError::Platform(HostError::Unreachable("connection refused".into())),
        TerminalError::NoKey("no working-pin-key in the vault: sign in first".into()),
        TerminalError::Config("parameter download: no AID".into()),
        // Not faults: nothing is logged.
        TerminalError::Cancelled,
        TerminalError::CardholderAction("this card has a chip: insert the card".into()),
    ];
    let logged: Vec<bool> = errors
        .iter()
        .map(|e| record_error(&mut store, e, None, T0 + 53).unwrap().is_some())
        .collect();
    assert_eq!(logged, [true, true, true, true, true, false, false]);

    let report = FaultReport::build(&store, T0).unwrap();
    assert_eq!(report.transactions, 40);
    assert_eq!(report.total, 15);
    let expected = [
        (FaultCategory::DeclineFunds, 2, 5.0),
        (FaultCategory::DeclinePin, 2, 5.0),
        (FaultCategory::DeclineIssuerUnavailable, 2, 5.0),
        (FaultCategory::Printer, 2, 5.0),
        (FaultCategory::DeclineRefer, 1, 2.5),
        (FaultCategory::DeclineOther, 1, 2.5),
        (FaultCategory::CardReader, 1, 2.5),
        (FaultCategory::HostTimeout, 1, 2.5),
        (FaultCategory::Network, 1, 2.5),
        (FaultCategory::Keys, 1, 2.5),
        (FaultCategory::Configuration, 1, 2.5),
    ];
    for (category, count, rate) in expected {
        assert_eq!(report.count(category), count, "{category}");
        assert_eq!(report.rate(category), Some(rate), "{category}");
    }
    assert_eq!(report.count(FaultCategory::CardRemoved), 0);
    assert_eq!(report.rate(FaultCategory::CardRemoved), Some(0.0));
    assert_eq!(report.total_rate(), Some(37.5));
    // Most frequent first, every line with its rate.
    let counts: Vec<u64> = report.by_class.iter().map(|l| l.count).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert_eq!(report.by_class.len(), expected.len());
    let json = report.to_json();
    assert_eq!(json["per_100"], 37.5);
    assert_eq!(json["by_class"][0]["count"], 2);

    // Without transactions in the window there is no rate.
    let later = FaultReport::build(&store, T0 + 52).unwrap();
    assert_eq!((later.transactions, later.total), (0, 6));
    assert_eq!(later.rate(FaultCategory::Printer), None);

    // Declines name their code, not the card.
    let faults = store.faults_since(T0, 100).unwrap();
    assert!(
        faults
            .iter()
            .any(|f| f.detail == "declined by the host, response code 75")
    );
}

#[test]
fn decline_codes_fall_into_their_groups() {
    let groups = [
        ("51", Some(FaultCategory::DeclineFunds)),
        ("55", Some(FaultCategory::DeclinePin)),
        ("75", Some(FaultCategory::DeclinePin)),
        ("38", Some(FaultCategory::DeclinePin)),
        ("91", Some(FaultCategory::DeclineIssuerUnavailable)),
        ("92", Some(FaultCategory::DeclineIssuerUnavailable)),
        ("96", Some(FaultCategory::DeclineIssuerUnavailable)),
        ("01", Some(FaultCategory::DeclineRefer)),
        ("02", Some(FaultCategory::DeclineRefer)),
        ("14", Some(FaultCategory::DeclineCard)),
        ("41", Some(FaultCategory::DeclineCard)),
        ("54", Some(FaultCategory::DeclineCard)),
        ("A0", Some(FaultCategory::Mac)),
        ("05", Some(FaultCategory::DeclineOther)),
        ("", Some(FaultCategory::DeclineOther)),
        ("00", None),
    ];
    for (code, expected) in groups {
        assert_eq!(decline_category(code), expected, "{code:?}");
        if let Some(category) = expected {
            assert!(category.is_decline() || category == FaultCategory::Mac);
        }
    }
    for category in FaultCategory::ALL {
        assert!(!category.label().is_empty());
        assert_eq!(FaultCategory::parse(category.as_str()).unwrap(), *category);
    }
}

/// Compiles only while every variant of `TerminalError` is listed: a new
/// variant must be added to the table of the next test too.
fn variant_name(e: &TerminalError) -> &'static str {
    match e {
        TerminalError::Binding(_) => "Binding",
        TerminalError::Platform(_) => "Platform",
        TerminalError::Store(_) => "Store",
        TerminalError::Key(_) => "Key",
        TerminalError::Io(_) => "Io",
        TerminalError::CardRead(_) => "CardRead",
        TerminalError::CardholderAction(_) => "CardholderAction",
        TerminalError::NoKey(_) => "NoKey",
        TerminalError::Config(_) => "Config",
        TerminalError::Acquirer(_) => "Acquirer",
        TerminalError::BadMac(_) => "BadMac",
        TerminalError::Printer(_) => "Printer",
        TerminalError::NoReceipt(_) => "NoReceipt",
        TerminalError::PaymentCode(_) => "PaymentCode",
        TerminalError::Gateway(_) => "Gateway",
        TerminalError::Qr(_) => "Qr",
        TerminalError::Cancelled => "Cancelled",
        TerminalError::RiskBlocked { .. } => "RiskBlocked",
        TerminalError::RiskRules(_) => "RiskRules",
        TerminalError::NotReady(_) => "NotReady",
    }
}

#[test]
fn every_terminal_error_variant_is_classified() {
    use FaultCategory as C;
    let transport = |error: HostError| {
        GatewayError::Transport(LinkFailure {
            error,
            request_sent: true,
        })
    };
    let refused = |code: ErrorCode| GatewayError::Refused {
        code,
        message: "refused".into(),
    };
    let table: Vec<(TerminalError, Option<FaultCategory>)> = vec![
        (TerminalError::NotReady("sign in first".into()), None),
        (
            TerminalError::RiskBlocked {
                rule: "blocked_bin".into(),
                reason: "the card's BIN is on the block list".into(),
            },
            None,
        ),
        (
            TerminalError::RiskRules("daily_limit: max_amount must be more than zero".into()),
            Some(C::Configuration),
        ),
        (BindingError::WrongPassword { tries_left: 2 }.into(), None),
        (BindingError::Unsettled("2 reversals pending").into(), None),
        (
            BindingError::Refused {
                code: "E500".into(),
                message: "down".into(),
            }
            .into(),
            Some(C::HostError),
        ),
        (BindingError::UnexpectedReply("no id").into(), Some(C::HostError)),
        (
            HostError::Timeout(Duration::from_secs(5)).into(),
            Some(C::HostTimeout),
        ),
        (HostError::Unreachable("refused".into()).into(), Some(C::Network)),
        (HostError::Tls("bad certificate".into()).into(), Some(C::Network)),
        (HostError::Config("bad URL".into()).into(), Some(C::Configuration)),
        (HostError::Http { status: 502 }.into(), Some(C::HostError)),
        (
            HostError::BadResponse("not JSON".into()).into(),
            Some(C::HostError),
        ),
        (StoreError::WrongKey.into(), Some(C::Keys)),
        (StoreError::Keystore("locked".into()).into(), Some(C::Keys)),
        (StoreError::Busy.into(), Some(C::Storage)),
        (StoreError::Corrupt { what: "a row" }.into(), Some(C::Storage)),
        (
            StoreError::SchemaTooNew {
                found: 99,
                supported: 10,
            }
            .into(),
            Some(C::Configuration),
        ),
        (
            StoreError::RefundTooLarge {
                requested: 2,
                remaining: 1,
            }
            .into(),
            None,
        ),
        (
            StoreError::NotFound {
                what: "transaction",
                id: "7".into(),
            }
            .into(),
            None,
        ),
        (
            poskit_crypto::CryptoError::CheckValueMismatch("PIN key").into(),
            Some(C::Keys),
        ),
        (TerminalError::Io("cannot write backup".into()), Some(C::Storage)),
        (
            TerminalError::CardRead("card read failed".into()),
            Some(C::CardReader),
        ),
        (TerminalError::CardholderAction("insert the card".into()), None),
        (
            TerminalError::NoKey("no PIN key: sign in first".into()),
            Some(C::Keys),
        ),
        (TerminalError::Config("no AID".into()), Some(C::Configuration)),
        (
            TerminalError::Acquirer("sign-in refused".into()),
            Some(C::HostError),
        ),
        (TerminalError::BadMac("settlement answer".into()), Some(C::Mac)),
        (
            PrinterError::Offline("USB unplugged".into()).into(),
            Some(C::Printer),
        ),
        (TerminalError::NoReceipt("reversed".into()), None),
        (poskit_qr::CodeError::Empty.into(), Some(C::Qr)),
        (
            GatewayError::Config("no key".into()).into(),
            Some(C::Configuration),
        ),
        (
            GatewayError::InvalidRequest("zero amount".into()).into(),
            Some(C::Qr),
        ),
        (
            transport(HostError::Timeout(Duration::from_secs(3))).into(),
            Some(C::HostTimeout),
        ),
        (
            transport(HostError::Unreachable("reset".into())).into(),
            Some(C::Network),
        ),
        (GatewayError::UnverifiedAnswer.into(), Some(C::Mac)),
        (
            GatewayError::BadResponse("no state".into()).into(),
            Some(C::HostError),
        ),
        (refused(ErrorCode::BadSignature).into(), Some(C::Keys)),
        (refused(ErrorCode::UnknownTerminal).into(), Some(C::Configuration)),
        (refused(ErrorCode::SystemError).into(), Some(C::HostError)),
        (refused(ErrorCode::OrderNotPaid).into(), Some(C::Qr)),
        (
            TerminalError::Qr("the amount must be more than zero".into()),
            Some(C::Qr),
        ),
        (TerminalError::Cancelled, None),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (error, expected) in &table {
        assert_eq!(classify(error), *expected, "{error:?}");
        seen.insert(variant_name(error));
    }
    assert_eq!(seen.len(), 20, "every variant has a row: {seen:?}");
}

mod common;

use common::{MID, Person, Reader, TID, params};

// ---- The flows log what they meet (acquirer simulator on loopback) ----

/// A reader whose contacts fail after the first exchanges.
struct Dirty(VirtualCard, u32);

impl CardReader for Dirty {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        self.1 += 1;
        if self.1 > 2 {
            return Err(ReaderError::Failed("no answer to reset".into()));
        }
        self.0.transceive(command).map_err(|_| ReaderError::Removed)
    }
}

#[tokio::test]
async fn the_flows_log_declines_timeouts_bad_macs_and_card_faults() {
    let since = poskit::now() as i64;
    let common::Setup {
        sim: _sim,
        host,
        mut store,
        ..
    } = common::setup("fault-flows").await;

    // The simulator's amount rules: cents 51, 55 and 91 decline, 98 is
    // never answered, 99 is answered with a bad MAC.
    let track = ";5413330089020011=3012101000000000?";
    let mut answers = Vec::new();
    for amount in [1_000, 2_051, 2_055, 2_091, 2_098, 2_099] {
        let r = swipe_transaction(
            &host,
            &mut store,
            TxnKind::Sale,
            amount,
            track,
            None,
            false,
            poskit::now(),
        )
        .await
        .unwrap();
        answers.push(r.map(|a| a.response_code));
    }
    assert_eq!(
        answers,
        [
            Ok("00".into()),
            Ok("51".into()),
            Ok("55".into()),
            Ok("91".into()),
            Err(NoAnswer::Timeout),
            Err(NoAnswer::BadMac)
        ]
    );
    // Refused before anything is sent: a stripe that does not decode is a
    // card read fault, a chip card swiped is the cashier's to fix.
    let err = swipe_transaction(
        &host,
        &mut store,
        TxnKind::Sale,
        500,
        ";47617390=?",
        None,
        false,
        poskit::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TerminalError::CardRead(_)), "{err}");
    let chip_track = ";4761739001010010=3012201000000000?";
    let err = swipe_transaction(
        &host,
        &mut store,
        TxnKind::Sale,
        500,
        chip_track,
        None,
        false,
        poskit::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TerminalError::CardholderAction(_)), "{err}");

    // A card pulled out at the first GENERATE AC, and a reader that stops
    // answering.
    let mut kernel = Kernel::new(Arc::new(poskit_sim::ca::test_config()));
    let pulled = VirtualCard::named("pulled").unwrap();
    let pin = pulled.profile().pin.clone();
    let r = card_transaction(
        &host,
        &mut store,
        &mut kernel,
        params(Interface::Contact, 3_000),
        TxnKind::Sale,
        &mut Reader(pulled),
        &mut Person(pin),
        poskit::now(),
    )
    .await
    .unwrap();
    assert_eq!(r.txn, None, "nothing was sent");
    let card = VirtualCard::named("visa-contact").unwrap();
    let pin = card.profile().pin.clone();
    card_transaction(
        &host,
        &mut store,
        &mut kernel,
        params(Interface::Contact, 3_100),
        TxnKind::Sale,
        &mut Dirty(card, 0),
        &mut Person(pin),
        poskit::now(),
    )
    .await
    .unwrap();

    let report = FaultReport::build(&store, since).unwrap();
    let count = |c| report.count(c);
    assert_eq!(count(FaultCategory::DeclineFunds), 1);
    assert_eq!(count(FaultCategory::DeclinePin), 1);
    assert_eq!(count(FaultCategory::DeclineIssuerUnavailable), 1);
    assert_eq!(count(FaultCategory::HostTimeout), 1);
    assert_eq!(count(FaultCategory::Mac), 1);
    assert_eq!(count(FaultCategory::CardRemoved), 1);
    assert_eq!(count(FaultCategory::CardReader), 2, "the stripe and the reader");
    assert_eq!(report.total, 8, "{:?}", report.by_class);
    // Six swipes reached the journal; the refused ones and the card
    // sessions that never went online did not.
    assert_eq!(report.transactions, 6);
    assert_eq!(report.rate(FaultCategory::DeclinePin), Some(100.0 / 6.0));
    // The declines and the lost answers point at their journal rows.
    let logged = store.faults_since(since, 100).unwrap();
    assert!(
        logged
            .iter()
            .filter(|f| f.category.is_decline() || f.category == FaultCategory::HostTimeout)
            .all(|f| f.txn_id.is_some())
    );
    assert!(
        logged
            .iter()
            .all(|f| !f.detail.contains(PAN) && !f.detail.contains(OTHER_PAN))
    );
}

// ---- Diagnostics export ----

/// Runs of 13 or more digits (card-number length), also with spaces or
/// dashes between groups, and any digits next to masking stars.
fn card_like(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() && chars[i] != '*' {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = 0;
        let mut stars = 0;
        while i < chars.len()
            && (chars[i].is_ascii_digit()
                || chars[i] == '*'
                || (matches!(chars[i], ' ' | '-') && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
        {
            digits += usize::from(chars[i].is_ascii_digit());
            stars += usize::from(chars[i] == '*');
            i += 1;
        }
        if digits >= 13 || (stars > 0 && digits > 0) {
            found.push(chars[start..i].iter().collect());
        }
    }
    found
}

#[test]
fn the_card_number_finder_finds_what_it_must() {
    assert_eq!(card_like("x 4761739001010010 y"), ["4761739001010010"]);
    assert_eq!(card_like("4761 7390 0101 0010"), ["4761 7390 0101 0010"]);
    assert_eq!(card_like("card 476173******0010"), ["476173******0010"]);
    assert!(card_like(r#"{"at":1700000000,"stan":42,"batch":1}"#).is_empty());
    // A 15-digit merchant number looks like a card number too: that is why
    // the export leaves the MID and TID out.
    assert_eq!(card_like("mid 898310012345678"), ["898310012345678"]);
}

#[test]
fn the_diagnostics_export_carries_counts_and_no_card_data() {
    let mut store = store("diagnostics");
    let now = T0 + 86_400 * 3;
    let sale = approved_sale(&mut store, PAN, now - 100);
    approved_sale(&mut store, OTHER_PAN, now - 50);
    // A sale in flight and one whose answer was lost: queues to report.
    let mut txn = NewTransaction::new(TxnKind::Sale, 700, "156", EntryMode::Contact, now - 10);
    txn.pan = Some(Pan::new(PAN).unwrap());
    let lost = store.record_new(&txn).unwrap();
    store.mark_sent(lost.id, now - 10).unwrap();
    store.recover_in_flight(now - 5).unwrap();
    // Fault details that mention the card (masked by the store) and hex.
    store
        .record_fault(
            FaultCategory::CardReader,
            &format!("read {PAN} failed, APDU 00A404000E315041592E5359532E4444463031"),
            Some(sale),
            now - 20,
        )
        .unwrap();
    record_decline(&mut store, "55", Some(sale), now - 19).unwrap();
    faults::record_printer_failure(&mut store, &PrinterError::OutOfPaper, Some(sale), now - 18).unwrap();
    store
        .put_key("working-pin-key", &SymmetricKey::tdes(&[0x5A; 16]).unwrap())
        .unwrap();
    let mut binding = Binding::default();
    binding.lifecycle = Lifecycle::Active(Device {
        merchant_id: MID.into(),
        terminal_id: TID.into(),
        serial: "SN-0001".into(),
        model: "P2".into(),
        bound_at: T0 as u64,
    });
    binding.settlement_card = Some(SettlementCard {
        masked_number: "622848******1234".into(),
        holder_name: "ZHANG SAN".into(),
        bank_code: "103".into(),
        branch_code: "103290000017".into(),
        since: T0 as u64,
    });
    store.put_setting("binding", &binding.to_json(), now).unwrap();

    let export = diagnostics_export(&store, now).unwrap();
    assert_eq!(export["schema"], faults::DIAGNOSTICS_SCHEMA);
    assert_eq!(export["store_schema_version"], poskit_store::SCHEMA_VERSION);
    assert_eq!(export["binding"], "active");
    let day = &export["faults"]["last_day"];
    assert_eq!(day["transactions"], 3);
    assert_eq!(day["faults"], 3);
    assert_eq!(day["per_100"], 100.0);
    let classes: Vec<&str> = day["by_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes.len(), 3);
    for class in ["card_reader", "decline_pin", "printer"] {
        assert!(classes.contains(&class), "{classes:?}");
    }
    assert_eq!(export["faults"]["recent"].as_array().unwrap().len(), 3);
    assert_eq!(export["queues"]["reversals_pending"], 1);
    assert_eq!(export["queues"]["approved_unsettled"], 2);
    assert_eq!(export["transactions_last_30_days"]["reversal_pending"], 1);
    assert_eq!(export["batch"]["open"], 1);
    assert!(
        export["vault_keys"]
            .as_array()
            .unwrap()
            .contains(&"working-pin-key".into())
    );

    let text = serde_json::to_string_pretty(&export).unwrap();
    assert!(card_like(&text).is_empty(), "{:?}", card_like(&text));
    for needle in [
        PAN,
        OTHER_PAN,
        "476173",
        "541333",
        "622848",
        "5A5A5A5A",
        "315041592E",
    ] {
        assert!(!text.contains(needle), "{needle} in the export");
    }
    // Written out, for the suite's final scan too.
    let dir = test_dir("diagnostics-export");
    std::fs::write(dir.join("diagnostics.json"), &text).unwrap();
    let mut needles = Needle::pan("PAN", PAN);
    needles.extend(Needle::pan("other PAN", OTHER_PAN));
    needles.extend(Needle::bytes("PIN key", &[0x5A; 16]));
    assert!(scan_for_card_data(&dir, &needles).is_empty());
}
