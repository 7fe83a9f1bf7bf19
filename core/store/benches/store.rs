//! The store on a transaction's critical path: the journal commits of one
//! online transaction (three durable commits on a file database in WAL
//! mode with synchronous=FULL, so this measures the disk's fsync as much
//! as the code), and reading a working key out of the vault.

use criterion::{Criterion, criterion_group, criterion_main};
use poskit_crypto::SymmetricKey;
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{
    EntryMode, HostResponse, Keystore, NewTransaction, Pan, PassphraseKeystore, ResponseOutcome, Store,
    TxnKind,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = test_dir("bench-store");
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::default()).unwrap();
    let pan = Pan::new("4761739001010010").unwrap();
    let icc = vec![0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x27, 0x01, 0x80];
    let mut response = HostResponse::new(ResponseOutcome::Approved, "00");
    response.auth_code = Some("123456".into());
    response.rrn = Some("000000000001".into());
    let mut now = 1_700_000_000;
    let mut count = 0u32;

    c.bench_function(
        "store: journal commit of one sale (record_new + mark_sent + record_response)",
        |b| {
            b.iter(|| {
                now += 1;
                count += 1;
                // Settle now and then so the batch never runs out of STANs.
                if count % 100_000 == 0 {
                    let batch = store.close_batch(now).unwrap();
                    store.mark_batch_settled(batch.batch_no, now).unwrap();
                }
                let mut txn = NewTransaction::new(TxnKind::Sale, 1000, "156", EntryMode::Contact, now);
                txn.pan = Some(pan.clone());
                txn.icc_data = Some(icc.clone());
                let rec = store.record_new(black_box(&txn)).unwrap();
                store.mark_sent(rec.id, now).unwrap();
                store.record_response(rec.id, &response, now).unwrap()
            })
        },
    );

    let key = SymmetricKey::tdes(&[0x3C; 16]).unwrap();
    store.put_key("pik", &key).unwrap();
    c.bench_function("store: key vault get_key of a working key", |b| {
        b.iter(|| store.get_key(black_box("pik")).unwrap().unwrap())
    });

    // What a desktop pays once per Store::open: PBKDF2 at the default
    // iteration count, then AES-GCM.
    let keystore = PassphraseKeystore::new("a desktop passphrase").unwrap();
    let wrapped = keystore.wrap(&[0x24; 32]).unwrap();
    let mut group = c.benchmark_group("store: passphrase keystore");
    group.sample_size(10);
    group.bench_function(
        "unwrap the data key (PBKDF2-HMAC-SHA256, 310000 iterations)",
        |b| b.iter(|| keystore.unwrap(black_box(&wrapped)).unwrap()),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
