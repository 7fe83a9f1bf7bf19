//! A Terminal on simulated devices and hosts, taken through onboarding,
//! binding and sign-in: the starting point of the Terminal API tests.

use std::sync::Arc;

use poskit::receipt::MemoryPrinter;
use poskit::sim::{
    EventLog, SimHosts, SimHostsOptions, SimPinPad, SimReader, sample_application, sample_merchant,
};
use poskit::{Devices, Terminal};
use poskit_binding::Lifecycle;
use poskit_store::testing::{TestKeystore, test_dir};

pub struct World {
    pub hosts: SimHosts,
    pub terminal: Terminal,
    pub reader: SimReader,
    pub pin_pad: SimPinPad,
    pub events: EventLog,
    pub printer: Arc<MemoryPrinter>,
    pub terminal_id: String,
    pub dir: std::path::PathBuf,
}

/// Opens a terminal in a fresh directory named `name`.
pub async fn fresh(name: &str, options: SimHostsOptions) -> World {
    let hosts = SimHosts::start(options).await.unwrap();
    let dir = test_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    open(hosts, dir).await
}

/// The risk rules of the Terminal tests: a per-transaction limit of
/// 5,000.00 and a blocked BIN.
pub const RULES: &str = r#"{
    "per_transaction_limit": {"max_amount": 500000},
    "blocked_bin": {"prefixes": ["625094"]}
}"#;

/// Opens (or reopens) the terminal in `dir`.
pub async fn open(hosts: SimHosts, dir: std::path::PathBuf) -> World {
    let serial = "SN-TEST-0001";
    let mut config = hosts.terminal_config(&dir, serial, sample_merchant());
    config.risk = serde_json::from_str(RULES).unwrap();
    let reader = SimReader::new();
    let pin_pad = reader.pin_pad();
    let events = EventLog::new();
    let printer = Arc::new(MemoryPrinter::new());
    let devices = Devices {
        reader: Arc::new(reader.clone()),
        pin_pad: Arc::new(pin_pad.clone()),
        printer: printer.clone(),
        listener: Arc::new(events.clone()),
    };
    let terminal = Terminal::open(config, &TestKeystore::new(3), devices)
        .await
        .unwrap();
    let terminal_id = terminal
        .lifecycle()
        .await
        .device()
        .map(|d| d.terminal_id.clone())
        .unwrap_or_default();
    World {
        hosts,
        terminal,
        reader,
        pin_pad,
        events,
        printer,
        terminal_id,
        dir,
    }
}

/// Onboarding, binding, enrolment with the acquirer and sign-in.
pub async fn active(name: &str, options: SimHostsOptions) -> World {
    let mut w = fresh(name, options).await;
    let t = &w.terminal;
    t.apply(&sample_application()).await.unwrap();
    for _ in 0..5 {
        if !matches!(t.lifecycle().await, Lifecycle::UnderReview { .. }) {
            break;
        }
        t.refresh_review().await.unwrap();
    }
    t.bind("SN-TEST-0001", "P10").await.unwrap();
    let tid = t.lifecycle().await.device().unwrap().terminal_id.clone();
    w.hosts.enrol(&tid).unwrap();
    let signed = t.sign_in().await.unwrap();
    assert!(signed.parameters > 0);
    assert!(matches!(t.lifecycle().await, Lifecycle::Active(_)));
    w.terminal_id = tid;
    w
}

/// The journal agrees with the acquirer's and the gateway's ledgers.
pub async fn reconciled(w: &World) {
    let r = w
        .terminal
        .with_store(|s| {
            poskit::sim::Reconciliation::check(s, &w.hosts.acquirer, &w.terminal_id, Some(&w.hosts.gateway))
        })
        .await
        .unwrap();
    assert!(r.agrees(), "{:#?}", r.mismatches);
    assert!(r.card_checked + r.qr_checked > 0);
}
