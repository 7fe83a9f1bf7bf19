//! The Terminal's services around a payment: judging a request against
//! every risk rule (journal queries and the decision's commit included) on
//! a store holding a busy day, and building and rendering a receipt.

use criterion::{Criterion, criterion_group, criterion_main};
use poskit::receipt::{Receipt, ReceiptCopy, ReceiptHeader, Width};
use poskit::risk::{RiskCheck, RiskEngine};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{
    CryptogramKind, EntryMode, HostResponse, NewTransaction, Pan, ReceiptDetails, ResponseOutcome, Store,
    TxnId, TxnKind, Verification,
};

const PANS: [&str; 4] = [
    "4761739001010010",
    "5413330089020011",
    "6230580000000000013",
    "6250940000000001",
];

const RULES: &str = r#"{
    "per_transaction_limit": {"max_amount": 50000000},
    "daily_limit": {"max_amount": 900000000},
    "card_velocity": {"max_count": 1000, "minutes": 10},
    "repeated_declines": {"max_count": 1000, "minutes": 30},
    "blocked_bin": {"prefixes": ["999999", "888888"]},
    "fallback_limit": {"max_count": 1000},
    "manual_entry_limit": {"max_count": 1000},
    "unusual_hours": {"from": "03:00", "to": "03:01"}
}"#;

/// A store with `n` approved sales spread over the last hours.
fn busy_store(n: usize, now: i64) -> (Store, TxnId) {
    let dir = test_dir("bench-services");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench directory");
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(9)).expect("store");
    let mut last = TxnId(0);
    for i in 0..n {
        let at = now - 3_600 * 6 + i as i64 * 10;
        let mut txn = NewTransaction::new(TxnKind::Sale, 1_000 + i as u64, "156", EntryMode::Contact, at);
        txn.pan = Some(Pan::new(PANS[i % PANS.len()]).expect("PAN"));
        txn.aid = Some("A0000000031010".into());
        let rec = store.record_new(&txn).expect("journal");
        store.mark_sent(rec.id, at).expect("sent");
        store
            .record_response(rec.id, &HostResponse::new(ResponseOutcome::Approved, "00"), at)
            .expect("answer");
        last = rec.id;
    }
    let details = ReceiptDetails {
        app_label: Some("VISA CREDIT".into()),
        aid: Some("A0000000031010".into()),
        cryptogram: Some((CryptogramKind::Tc, "A1B2C3D4E5F60708".into())),
        tvr: Some("0000008000".into()),
        tsi: Some("E800".into()),
        verification: Verification::Signature,
        signature_required: true,
        balance: None,
    };
    store
        .record_receipt_details(last, &details, now)
        .expect("receipt details");
    (store, last)
}

fn services(c: &mut Criterion) {
    let now = poskit::now();
    let (mut store, last) = busy_store(500, now as i64);
    let engine = RiskEngine::new(serde_json::from_str(RULES).expect("rules")).expect("engine");
    c.bench_function("risk: every rule, 500 sales today, decision journaled", |b| {
        b.iter(|| {
            let check = RiskCheck {
                kind: TxnKind::Sale,
                amount: 12_300,
                currency: "156",
                entry_mode: EntryMode::Contact,
                pan: Some(PANS[0]),
                now,
            };
            engine.assess(&mut store, &check).expect("assessed")
        })
    });
    let header = ReceiptHeader::new("HARBOUR NOODLES", "898310012345678", "10000001");
    c.bench_function("receipt: build from the journal", |b| {
        b.iter(|| {
            Receipt::for_transaction(&store, &header, last, ReceiptCopy::Merchant, false).expect("receipt")
        })
    });
    let receipt =
        Receipt::for_transaction(&store, &header, last, ReceiptCopy::Merchant, false).expect("receipt");
    c.bench_function("receipt: 58 mm text", |b| b.iter(|| receipt.text(Width::Mm58)));
    c.bench_function("receipt: 80 mm ESC/POS", |b| {
        b.iter(|| receipt.escpos(Width::Mm80))
    });
}

criterion_group!(benches, services);
criterion_main!(benches);
