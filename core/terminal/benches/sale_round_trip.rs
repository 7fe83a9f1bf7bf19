//! A sale round trip, terminal side, against the acquirer simulator on
//! loopback: journal the request, pack and MAC it, connect (TLS handshake or
//! plain TCP), exchange, verify the answer's MAC and journal the result.
//! The simulator's own work is inside the figure too; it is small next to
//! the handshake and the two journal commits.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use poskit::HostLink;
use poskit::card::swipe_transaction;
use poskit_crypto::SymmetricKey;
use poskit_crypto::pin::Pin;
use poskit_host::{AcquirerConfig, AcquirerLink};
use poskit_iso8583::cup::TerminalIds;
use poskit_sim::acquirer::{AcquirerSim, AcquirerSimConfig, SimTerminal};
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{Store, TxnKind};

const TID: &str = "10000001";
const MID: &str = "898310012345678";
// A chip card's track read after a chip failure: fallback with online PIN.
const TRACK: &str = ";4761739001010010=2512201000000000?";

struct Bench {
    _sim: AcquirerSim,
    host: HostLink,
    store: Store,
}

fn setup(rt: &tokio::runtime::Runtime, tls: bool) -> Bench {
    let master = SymmetricKey::tdes(&[0x11; 16]).expect("a double-length key");
    rt.block_on(async {
        let (sim, addr) = AcquirerSim::start(AcquirerSimConfig {
            tls,
            terminals: vec![SimTerminal {
                terminal_id: TID.into(),
                merchant_id: MID.into(),
                master_key: master.clone(),
            }],
            ..AcquirerSimConfig::default()
        })
        .await
        .expect("the simulator starts");
        let mut config = AcquirerConfig::tls("127.0.0.1", addr.port(), poskit_sim::platform::test_ca_pem());
        if !tls {
            config.ca_pem = None;
            config.plaintext = true;
        }
        config.response_timeout = Duration::from_secs(5);
        let host = HostLink::new(
            AcquirerLink::new(config).expect("a valid link configuration"),
            TerminalIds {
                terminal_id: TID.into(),
                merchant_id: MID.into(),
            },
        );
        let dir = test_dir(if tls { "bench-sale-tls" } else { "bench-sale-tcp" });
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench directory");
        let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(5)).expect("store");
        store.put_key("master", &master).expect("master key stored");
        host.sign_in(&mut store, "master", poskit::now())
            .await
            .expect("sign-in");
        Bench {
            _sim: sim,
            host,
            store,
        }
    })
}

fn sale_round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let pin = Pin::new("1234").expect("a valid PIN");
    let mut group = c.benchmark_group("sale_round_trip");
    group.sample_size(30).measurement_time(Duration::from_secs(8));
    for (name, tls) in [("tls_loopback", true), ("tcp_loopback", false)] {
        let mut b = setup(&rt, tls);
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let answer = rt
                    .block_on(swipe_transaction(
                        &b.host,
                        &mut b.store,
                        TxnKind::Sale,
                        1_000,
                        TRACK,
                        Some(&pin),
                        true,
                        poskit::now(),
                    ))
                    .expect("the journal works")
                    .expect("the host answers");
                assert!(answer.approved, "{}", answer.response_code);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sale_round_trip);
criterion_main!(benches);
