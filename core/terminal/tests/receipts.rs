//! Receipts built from journal rows written straight into a test store (no
//! network): golden text for 58 mm and 80 mm paper, merchant and customer
//! copies, ESC/POS jobs, and never a full card number on paper.
//!
//! `UPDATE_GOLDEN=1 cargo test -p poskit --test receipts` rewrites the
//! golden files in tests/golden/ from what the code prints now; review the
//! diff before committing it.

use std::path::{Path, PathBuf};

use poskit::TerminalError;
use poskit::receipt::{self, MemoryPrinter, PrinterError, Receipt, ReceiptCopy, ReceiptHeader, Width};
use poskit_store::testing::{Needle, TestKeystore, scan_for_card_data, test_dir};
use poskit_store::{
    CryptogramKind, EntryMode, FaultCategory, HostResponse, NewQrOrder, NewTransaction, Pan, QrFlow,
    QrOrderState, ReceiptDetails, ResponseOutcome, Store, TxnId, TxnKind, Verification, Wallet,
};

/// 2023-11-15 06:13:20 in Beijing.
const T0: i64 = 1_700_000_000;

const VISA: &str = "4761739001010010";
const MASTERCARD: &str = "5413330089020011";
const UNIONPAY_SWIPE: &str = "6230580000000000039";
const UNIONPAY_CHIP: &str = "6250940000000001";
const PANS: [&str; 4] = [VISA, MASTERCARD, UNIONPAY_SWIPE, UNIONPAY_CHIP];

const QR_ORDER: &str = "POS10000001-20231115-000123";

fn header() -> ReceiptHeader {
    ReceiptHeader::new("LUCKY NOODLES PUDONG", "898310012345678", "10000001")
}

fn store(name: &str) -> (PathBuf, Store) {
    let dir = test_dir(name);
    let store = Store::open(dir.join("terminal.db"), &TestKeystore::default()).unwrap();
    (dir, store)
}

/// Journals a transaction and records the host's answer.
fn journal(store: &mut Store, txn: NewTransaction, answer: (&str, Option<&str>, Option<&str>)) -> TxnId {
    let at = txn.created_at;
    let rec = store.record_new(&txn).unwrap();
    store.mark_sent(rec.id, at).unwrap();
    let (code, auth, rrn) = answer;
    let outcome = if code == "00" {
        ResponseOutcome::Approved
    } else {
        ResponseOutcome::Declined
    };
    let mut response = HostResponse::new(outcome, code);
    response.auth_code = auth.map(str::to_owned);
    response.rrn = rrn.map(str::to_owned);
    store.record_response(rec.id, &response, at + 2).unwrap();
    rec.id
}

fn card_txn(
    kind: TxnKind,
    amount: u64,
    entry: EntryMode,
    pan: &str,
    aid: Option<&str>,
    at: i64,
) -> NewTransaction {
    let mut txn = NewTransaction::new(kind, amount, "156", entry, at);
    txn.pan = Some(Pan::new(pan).unwrap());
    txn.aid = aid.map(str::to_owned);
    txn
}

fn by_reference(kind: TxnKind, amount: u64, original: TxnId, at: i64) -> NewTransaction {
    let mut txn = NewTransaction::new(kind, amount, "156", EntryMode::NotPresent, at);
    txn.original_id = Some(original);
    txn
}

fn chip(
    label: &str,
    aid: &str,
    cryptogram: (CryptogramKind, &str),
    verification: Verification,
) -> ReceiptDetails {
    ReceiptDetails {
        app_label: Some(label.into()),
        aid: Some(aid.into()),
        cryptogram: Some((cryptogram.0, cryptogram.1.into())),
        tvr: Some("0000008000".into()),
        tsi: Some("E800".into()),
        verification,
        signature_required: verification == Verification::Signature,
        balance: None,
    }
}

/// The scenarios of the golden files, each one transaction (or order) in
/// one store, in this order.
struct Scenarios {
    _dir: PathBuf,
    store: Store,
    contact_pin_sale: TxnId,
    contactless_signature_sale: TxnId,
    swipe_sale: TxnId,
    void: TxnId,
    refund: TxnId,
    pre_auth: TxnId,
    declined: TxnId,
    inquiry: TxnId,
}

fn scenarios(name: &str) -> Scenarios {
    let (dir, mut store) = store(name);
    let contact_pin_sale = journal(
        &mut store,
        card_txn(
            TxnKind::Sale,
            12_800,
            EntryMode::Contact,
            VISA,
            Some("A0000000031010"),
            T0,
        ),
        ("00", Some("654321"), Some("311506000123")),
    );
    store
        .record_receipt_details(
            contact_pin_sale,
            &chip(
                "VISA CREDIT",
                "A0000000031010",
                (CryptogramKind::Tc, "5F1A0C2B9E3D4477"),
                Verification::OnlinePin,
            ),
            T0 + 3,
        )
        .unwrap();

    let contactless_signature_sale = journal(
        &mut store,
        card_txn(
            TxnKind::Sale,
            168_000,
            EntryMode::Contactless,
            MASTERCARD,
            Some("A0000000041010"),
            T0 + 60,
        ),
        ("00", Some("A1B2C3"), Some("311506000124")),
    );
    store
        .record_receipt_details(
            contactless_signature_sale,
            &chip(
                "MASTERCARD",
                "A0000000041010",
                (CryptogramKind::Arqc, "8E21D0F37A6B5C11"),
                Verification::Signature,
            ),
            T0 + 63,
        )
        .unwrap();

    let swipe_sale = journal(
        &mut store,
        card_txn(
            TxnKind::Sale,
            4_550,
            EntryMode::MagStripe,
            UNIONPAY_SWIPE,
            None,
            T0 + 120,
        ),
        ("00", Some("008812"), Some("311506000125")),
    );
    store
        .record_receipt_details(
            swipe_sale,
            &ReceiptDetails {
                verification: Verification::Signature,
                signature_required: true,
                ..ReceiptDetails::default()
            },
            T0 + 123,
        )
        .unwrap();

    let void = journal(
        &mut store,
        by_reference(TxnKind::Void, 12_800, contact_pin_sale, T0 + 180),
        ("00", Some("654399"), Some("311506000126")),
    );
    let refund = journal(
        &mut store,
        by_reference(TxnKind::Refund, 50_000, contactless_signature_sale, T0 + 240),
        ("00", Some("A1B2D4"), Some("311506000127")),
    );

    let mut order = NewQrOrder {
        merchant_order_no: QR_ORDER.into(),
        flow: QrFlow::Micropay,
        wallet: Wallet::Alipay,
        amount: 3_600,
        currency: "CNY".into(),
        txn_id: None,
        created_at: T0 + 300,
        expires_at: Some(T0 + 360),
    };
    store.create_qr_order(&order).unwrap();
    store
        .update_qr_order(
            QR_ORDER,
            QrOrderState::Paid,
            Some("2023111522001412345678901234"),
            T0 + 305,
        )
        .unwrap();
    // An order never paid, for the refusal test.
    order.merchant_order_no = "POS10000001-20231115-000124".into();
    store.create_qr_order(&order).unwrap();

    let pre_auth = journal(
        &mut store,
        card_txn(
            TxnKind::PreAuth,
            200_000,
            EntryMode::Contact,
            UNIONPAY_CHIP,
            Some("A000000333010101"),
            T0 + 360,
        ),
        ("00", Some("PA7788"), Some("311506000128")),
    );
    store
        .record_receipt_details(
            pre_auth,
            &chip(
                "UnionPay Credit",
                "A000000333010101",
                (CryptogramKind::Tc, "0B7E44C1D2A39F60"),
                Verification::OfflinePin,
            ),
            T0 + 363,
        )
        .unwrap();

    let declined = journal(
        &mut store,
        card_txn(
            TxnKind::Sale,
            99_951,
            EntryMode::Contact,
            VISA,
            Some("A0000000031010"),
            T0 + 420,
        ),
        ("51", None, Some("311506000129")),
    );
    store
        .record_receipt_details(
            declined,
            &ReceiptDetails {
                signature_required: false,
                ..chip(
                    "VISA CREDIT",
                    "A0000000031010",
                    (CryptogramKind::Aac, "19C0FFEE2A3B4C5D"),
                    Verification::OnlinePin,
                )
            },
            T0 + 423,
        )
        .unwrap();

    let inquiry = journal(
        &mut store,
        card_txn(
            TxnKind::BalanceInquiry,
            0,
            EntryMode::Contact,
            UNIONPAY_CHIP,
            Some("A000000333010101"),
            T0 + 480,
        ),
        ("00", None, Some("311506000130")),
    );
    store
        .record_receipt_details(
            inquiry,
            &ReceiptDetails {
                balance: Some(1_234_567),
                ..chip(
                    "UnionPay Credit",
                    "A000000333010101",
                    (CryptogramKind::Arqc, "77AA3C0D9E8F1021"),
                    Verification::OnlinePin,
                )
            },
            T0 + 483,
        )
        .unwrap();

    Scenarios {
        _dir: dir,
        store,
        contact_pin_sale,
        contactless_signature_sale,
        swipe_sale,
        void,
        refund,
        pre_auth,
        declined,
        inquiry,
    }
}

enum Source {
    Txn(TxnId),
    Qr(&'static str),
}

fn build(
    s: &Scenarios,
    source: &Source,
    header: &ReceiptHeader,
    copy: ReceiptCopy,
    reprint: bool,
) -> Receipt {
    match source {
        Source::Txn(id) => Receipt::for_transaction(&s.store, header, *id, copy, reprint).unwrap(),
        Source::Qr(no) => Receipt::for_qr_order(&s.store, header, no, copy, reprint).unwrap(),
    }
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compares `actual` with the golden file `name`, or rewrites it when
/// `UPDATE_GOLDEN=1`. Returns a mismatch description instead of panicking,
/// so one run reports every file that differs.
fn check_golden(name: &str, actual: &str) -> Option<String> {
    let path = golden_dir().join(name);
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return None;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) => return Some(format!("{name}: missing; run with UPDATE_GOLDEN=1 to create it")),
    };
    (expected != actual).then(|| format!("{name} differs:\n--- expected\n{expected}--- actual\n{actual}"))
}

fn width_name(width: Width) -> &'static str {
    match width {
        Width::Mm58 => "58mm",
        Width::Mm80 => "80mm",
    }
}

fn copy_name(copy: ReceiptCopy) -> &'static str {
    match copy {
        ReceiptCopy::Merchant => "merchant",
        ReceiptCopy::Customer => "customer",
    }
}

const WIDTHS: [Width; 2] = [Width::Mm58, Width::Mm80];
const COPIES: [ReceiptCopy; 2] = [ReceiptCopy::Merchant, ReceiptCopy::Customer];

fn every_scenario(s: &Scenarios) -> Vec<(&'static str, Source)> {
    vec![
        ("contact_sale_pin", Source::Txn(s.contact_pin_sale)),
        (
            "contactless_sale_signature",
            Source::Txn(s.contactless_signature_sale),
        ),
        ("swipe_sale", Source::Txn(s.swipe_sale)),
        ("void", Source::Txn(s.void)),
        ("refund", Source::Txn(s.refund)),
        ("qr_sale", Source::Qr(QR_ORDER)),
        ("pre_auth", Source::Txn(s.pre_auth)),
    ]
}

#[test]
fn receipts_match_their_golden_text_for_both_widths_and_copies() {
    let s = scenarios("golden");
    let mut mismatches = Vec::new();
    for (name, source) in every_scenario(&s) {
        for width in WIDTHS {
            for copy in COPIES {
                let receipt = build(&s, &source, &header(), copy, false);
                let text = receipt.text(width);
                for line in text.lines() {
                    assert!(
                        unicode_columns(line) <= width.columns(),
                        "{name}: line wider than {} columns: {line:?}",
                        width.columns()
                    );
                }
                let file = format!("{name}.{}.{}.txt", width_name(width), copy_name(copy));
                mismatches.extend(check_golden(&file, &text));
            }
        }
    }
    // Beyond the matrix: a reprinted decline, a balance inquiry, and a
    // merchant with a Chinese name.
    let chinese = ReceiptHeader::new("老上海面馆（浦东店）", "898310012345678", "10000001");
    let extras = [
        ("declined_reprint", Source::Txn(s.declined), header(), true),
        ("balance_inquiry", Source::Txn(s.inquiry), header(), false),
        (
            "chinese_merchant",
            Source::Txn(s.contact_pin_sale),
            chinese,
            false,
        ),
    ];
    for (name, source, header, reprint) in extras {
        for width in WIDTHS {
            let receipt = build(&s, &source, &header, ReceiptCopy::Merchant, reprint);
            let file = format!("{name}.{}.merchant.txt", width_name(width));
            mismatches.extend(check_golden(&file, &receipt.text(width)));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Display columns as a thermal printer counts them, independently of the
/// crate's own measure: CJK ideographs and full-width forms take two.
fn unicode_columns(line: &str) -> usize {
    line.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFF00..=0xFF60 => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn what_each_receipt_says_follows_the_journal() {
    let s = scenarios("content");
    let h = header();
    let merchant = |id| Receipt::for_transaction(&s.store, &h, id, ReceiptCopy::Merchant, false).unwrap();
    let customer = |id| Receipt::for_transaction(&s.store, &h, id, ReceiptCopy::Customer, false).unwrap();

    // The signature line only where the CVM asked for it, and only on the
    // merchant copy.
    let signed = merchant(s.contactless_signature_sale).text(Width::Mm58);
    assert!(signed.contains(&format!("X{}", "_".repeat(31))), "{signed}");
    assert!(signed.contains("CARDHOLDER SIGNATURE"));
    let kept = customer(s.contactless_signature_sale).text(Width::Mm58);
    assert!(!kept.contains("X___"), "{kept}");
    assert!(kept.contains("SIGNED ON THE MERCHANT COPY"));
    let pin = merchant(s.contact_pin_sale).text(Width::Mm80);
    assert!(!pin.contains("X___") && pin.contains("PIN VERIFIED"), "{pin}");
    assert!(pin.contains("TC") && pin.contains("5F1A0C2B9E3D4477"));

    // A void reads no card: it prints the original's masked card, trace
    // and reference, and gives the money back.
    let void = merchant(s.void);
    assert_eq!(void.masked_pan.as_deref(), Some("476173******0010"));
    assert_eq!(void.entry_mode, None);
    let original = void.original.as_ref().unwrap();
    assert_eq!(original.rrn.as_deref(), Some("311506000123"));
    let text = void.text(Width::Mm80);
    assert!(text.contains("CNY -128.00"), "{text}");
    assert!(text.contains("ORIG REF NO") && text.contains("311506000123"));

    // The QR order's references.
    let qr = Receipt::for_qr_order(&s.store, &h, QR_ORDER, ReceiptCopy::Customer, false).unwrap();
    let text = qr.text(Width::Mm58);
    assert!(
        text.contains("ALIPAY") && text.contains("POS10000001-20231115-000123"),
        "{text}"
    );
    assert!(text.contains("2023111522001412345678901234"));
    assert_eq!(qr.masked_pan, None);

    // A decline says so, with its code, and asks for no signature.
    let declined = merchant(s.declined);
    assert!(!declined.approved);
    let text = declined.text(Width::Mm58);
    assert!(
        text.contains("DECLINED (RESPONSE 51)") && !text.contains("PIN VERIFIED"),
        "{text}"
    );

    // A balance inquiry prints the balance, not an amount.
    let text = merchant(s.inquiry).text(Width::Mm58);
    assert!(
        text.contains("CNY 12345.67") && !text.contains("AMOUNT"),
        "{text}"
    );

    // Reprints are marked.
    let reprint = Receipt::for_transaction(&s.store, &h, s.swipe_sale, ReceiptCopy::Customer, true).unwrap();
    assert!(reprint.text(Width::Mm58).contains("*** REPRINT ***"));
    assert!(!customer(s.swipe_sale).text(Width::Mm58).contains("REPRINT"));
}

#[test]
fn no_receipt_text_or_print_job_holds_a_full_card_number() {
    let s = scenarios("no-pan");
    let chinese = ReceiptHeader::new("老上海面馆", "898310012345678", "10000001");
    let mut sources = every_scenario(&s);
    sources.push(("declined", Source::Txn(s.declined)));
    sources.push(("inquiry", Source::Txn(s.inquiry)));
    let needles: Vec<Needle> = PANS
        .iter()
        .enumerate()
        .flat_map(|(i, pan)| Needle::pan(&format!("PAN {i}"), pan))
        .collect();
    let out = test_dir("no-pan-output");
    let mut masked_seen = 0;
    for (name, source) in &sources {
        for header in [header(), chinese.clone()] {
            for width in WIDTHS {
                for copy in COPIES {
                    for reprint in [false, true] {
                        let receipt = build(&s, source, &header, copy, reprint);
                        let text = receipt.text(width);
                        let job = receipt.escpos(width);
                        let debug = format!("{receipt:?}");
                        for pan in PANS {
                            assert!(!text.contains(pan), "{name}: full PAN in the text");
                            assert!(!debug.contains(pan), "{name}: full PAN in Debug");
                        }
                        masked_seen += usize::from(text.contains("******"));
                        let file = format!(
                            "{name}-{}-{}-{reprint}-{}",
                            width_name(width),
                            copy_name(copy),
                            header.merchant_name.len()
                        );
                        std::fs::write(out.join(format!("{file}.txt")), &text).unwrap();
                        std::fs::write(out.join(format!("{file}.escpos")), &job).unwrap();
                    }
                }
            }
        }
    }
    assert!(masked_seen > 0, "the masked card numbers are printed");
    // Every form of every PAN (ASCII, BCD), in every file written.
    let findings = scan_for_card_data(&out, &needles);
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn escpos_jobs_initialise_style_encode_gbk_and_cut() {
    let s = scenarios("escpos");
    let name = "老上海面馆";
    let header = ReceiptHeader::new(name, "898310012345678", "10000001");
    let receipt = Receipt::for_transaction(
        &s.store,
        &header,
        s.contact_pin_sale,
        ReceiptCopy::Merchant,
        false,
    )
    .unwrap();
    let job = receipt.escpos(Width::Mm58);
    // ESC @, then Chinese mode (FS &), bold (ESC E 1) and double height
    // (GS ! 1) for the title.
    assert_eq!(
        &job[..10],
        &[0x1B, b'@', 0x1C, b'&', 0x1B, b'E', 1, 0x1D, b'!', 1]
    );
    let (gbk_name, _, unmappable) = encoding_rs::GBK.encode(name);
    assert!(!unmappable);
    assert!(contains(&job, &gbk_name), "the merchant name in GBK");
    assert!(!contains(&job, name.as_bytes()), "no UTF-8 on the wire");
    // Feed, then a partial cut (GS V 1) last.
    assert!(job.ends_with(&[0x1B, b'd', 4, 0x1D, b'V', 1]));

    // Without the control sequences, the job decodes back to the text.
    let printable: Vec<u8> = strip_escpos(&job);
    let (decoded, _, bad) = encoding_rs::GBK.decode(&printable);
    assert!(!bad);
    assert_eq!(decoded, receipt.text(Width::Mm58));

    // An all-ASCII receipt never switches to Chinese mode.
    let ascii = Receipt::for_transaction(
        &s.store,
        &self::header(),
        s.swipe_sale,
        ReceiptCopy::Customer,
        false,
    )
    .unwrap()
    .escpos(Width::Mm80);
    assert!(!contains(&ascii, &[0x1C, b'&']));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The job without the commands this crate emits (ESC @, ESC E n, ESC d n,
/// GS ! n, GS V n, FS &, FS .).
fn strip_escpos(job: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < job.len() {
        match job[i] {
            0x1B if job.get(i + 1) == Some(&b'@') => i += 2,
            0x1B | 0x1D => i += 3,
            0x1C => i += 2,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn printing_sends_the_job_and_logs_printer_failures() {
    let mut s = scenarios("print");
    let receipt =
        Receipt::for_transaction(&s.store, &header(), s.pre_auth, ReceiptCopy::Merchant, false).unwrap();
    let printer = MemoryPrinter::new();
    receipt::print(&mut s.store, &printer, &receipt, Width::Mm80, T0 as u64).unwrap();
    assert_eq!(printer.jobs(), vec![receipt.escpos(Width::Mm80)]);

    printer.fail_next(1, PrinterError::OutOfPaper);
    let err = receipt::print(&mut s.store, &printer, &receipt, Width::Mm80, T0 as u64 + 5).unwrap_err();
    assert!(matches!(err, TerminalError::Printer(PrinterError::OutOfPaper)));
    assert!(err.to_string().contains("load a new roll"), "{err}");
    assert_eq!(printer.jobs().len(), 1, "nothing printed on failure");
    let faults = s.store.faults_since(0, 10).unwrap();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].category, FaultCategory::Printer);
    assert_eq!(faults[0].txn_id, Some(s.pre_auth));

    // The next print goes through again.
    receipt::print(&mut s.store, &printer, &receipt, Width::Mm80, T0 as u64 + 9).unwrap();
    assert_eq!(printer.jobs().len(), 2);
}

#[test]
fn transactions_that_did_not_complete_have_no_receipt() {
    let (_dir, mut store) = store("no-receipt");
    let h = header();
    let pending = store
        .record_new(&card_txn(TxnKind::Sale, 100, EntryMode::Contact, VISA, None, T0))
        .unwrap();
    let err = Receipt::for_transaction(&store, &h, pending.id, ReceiptCopy::Merchant, false).unwrap_err();
    assert!(matches!(err, TerminalError::NoReceipt(_)), "{err}");
    assert!(err.to_string().contains("waiting for the host"), "{err}");

    store.abort(pending.id, "cashier cancelled", T0 + 1).unwrap();
    let err = Receipt::for_transaction(&store, &h, pending.id, ReceiptCopy::Merchant, false).unwrap_err();
    assert!(err.to_string().contains("never sent"), "{err}");

    let sent = store
        .record_new(&card_txn(
            TxnKind::Sale,
            100,
            EntryMode::Contact,
            VISA,
            None,
            T0 + 2,
        ))
        .unwrap();
    store.mark_sent(sent.id, T0 + 2).unwrap();
    store
        .mark_reversal_needed(sent.id, poskit_store::ReversalReason::NoResponse, T0 + 3)
        .unwrap();
    let err = Receipt::for_transaction(&store, &h, sent.id, ReceiptCopy::Customer, false).unwrap_err();
    assert!(err.to_string().contains("reversed"), "{err}");

    store
        .create_qr_order(&NewQrOrder {
            merchant_order_no: "ORDER-OPEN".into(),
            flow: QrFlow::ShownCode,
            wallet: Wallet::WeChatPay,
            amount: 100,
            currency: "CNY".into(),
            txn_id: None,
            created_at: T0,
            expires_at: None,
        })
        .unwrap();
    let err = Receipt::for_qr_order(&store, &h, "ORDER-OPEN", ReceiptCopy::Customer, false).unwrap_err();
    assert!(err.to_string().contains("not paid yet"), "{err}");
    store
        .update_qr_order("ORDER-OPEN", QrOrderState::Closed, None, T0 + 10)
        .unwrap();
    let err = Receipt::for_qr_order(&store, &h, "ORDER-OPEN", ReceiptCopy::Customer, false).unwrap_err();
    assert!(err.to_string().contains("nothing was charged"), "{err}");
    assert!(matches!(
        Receipt::for_qr_order(&store, &h, "NO-SUCH-ORDER", ReceiptCopy::Customer, false),
        Err(TerminalError::Store(poskit_store::StoreError::NotFound { .. }))
    ));
}
