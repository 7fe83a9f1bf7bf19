//! The terminal against the acquirer simulator over TLS on loopback: every
//! flow of the host link, and after each one the simulator's ledger and the
//! terminal's journal agree (nothing charged twice, nothing lost).

mod common;

use std::sync::Arc;
use std::time::Duration;

use poskit::card::{CardReader, ReaderError, by_reference, card_transaction, swipe_transaction};
use poskit::host::{MAC_KEY, PIN_KEY};
use poskit::receipt::{Receipt, ReceiptCopy, ReceiptHeader, Width};
use poskit::{HostLink, NoAnswer};
use poskit_crypto::pin::Pin;
use poskit_emv::{Decision, Interface, Kernel};
use poskit_host::{AcquirerConfig, AcquirerLink};
use poskit_iso8583::cup::TerminalIds;
use poskit_sim::acquirer::{AcquirerSim, AcquirerSimConfig, EntryState, SimTerminal};
use poskit_sim::card::Card;
use poskit_sim::virtual_card::VirtualCard;
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{CryptogramKind, Store, TxnKind, TxnState, Verification};

use common::*;

#[tokio::test]
async fn sign_in_loads_the_hosts_working_keys() {
    let s = setup("acq-signin").await;
    let keys = s.sim.working_keys(TID).unwrap();
    assert_eq!(s.store.get_key(PIN_KEY).unwrap().unwrap(), keys.pin_key);
    assert_eq!(s.store.get_key(MAC_KEY).unwrap().unwrap(), keys.mac_key);
    let _ = &s.dir;
    let _ = &s.master;
}

#[tokio::test]
async fn contact_contactless_and_swipe_sales() {
    let mut s = setup("acq-sales").await;
    let r = sale(&mut s, "visa-contact", Interface::Contact, 50_000, TxnKind::Sale).await;
    assert_eq!(r.outcome.decision, Decision::Approved, "{:?}", r.outcome.reason);
    let id = r.txn.unwrap();
    assert_eq!(s.store.transaction(id).unwrap().state, TxnState::Approved);
    // What the receipt needs from the card session is kept with the row,
    // and the receipt prints the card only masked.
    let details = s.store.receipt_details(id).unwrap().expect("receipt details");
    assert_eq!(details.app_label.as_deref(), Some("VISA CREDIT"));
    assert_eq!(details.aid.as_deref(), Some("A0000000031010"));
    let (kind, cryptogram) = details.cryptogram.clone().unwrap();
    assert_eq!(kind, CryptogramKind::Tc, "the second GENERATE AC's certificate");
    assert_eq!(cryptogram.len(), 16);
    assert_eq!(details.tvr.as_deref().map(str::len), Some(10));
    assert_ne!(details.verification, Verification::NotPerformed);
    let header = ReceiptHeader::new("ACQUIRER FLOWS", MID, TID);
    let text = Receipt::for_transaction(&s.store, &header, id, ReceiptCopy::Merchant, false)
        .unwrap()
        .text(Width::Mm58);
    assert!(
        text.contains("476173******0010") && !text.contains("4761739001010010"),
        "{text}"
    );
    assert!(text.contains(&cryptogram), "{text}");
    let entry = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 50_000)
        .unwrap();
    assert!(entry.arqc_verified);
    // The TC goes up as an advice.
    assert_eq!(s.host.forward_saf(&mut s.store, now()).await.unwrap(), 1);
    assert!(
        s.sim
            .ledger(TID)
            .iter()
            .any(|e| e.amount == 50_000 && e.tc_advised)
    );

    let r = sale(
        &mut s,
        "mastercard-contactless",
        Interface::Contactless,
        60_000,
        TxnKind::Sale,
    )
    .await;
    assert_eq!(
        r.outcome.decision,
        Decision::OnlineCompleted { approved: true },
        "{:?}",
        r.outcome.reason
    );
    let details = s.store.receipt_details(r.txn.unwrap()).unwrap().unwrap();
    assert_eq!(
        details.cryptogram.map(|(k, _)| k),
        Some(CryptogramKind::Arqc),
        "contactless online: no second GENERATE AC"
    );

    // A chip card swiped while its chip works is refused; after a chip
    // failure it goes through as fallback.
    let track = ";4761739001010010=2512201000000000?";
    let refused = swipe_transaction(
        &s.host,
        &mut s.store,
        TxnKind::Sale,
        1_200,
        track,
        None,
        false,
        now(),
    )
    .await;
    assert!(refused.unwrap_err().to_string().contains("insert"));
    let pin = Pin::new("1234").unwrap();
    let answer = swipe_transaction(
        &s.host,
        &mut s.store,
        TxnKind::Sale,
        1_200,
        track,
        Some(&pin),
        true,
        now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(answer.approved, "{}", answer.response_code);
    let details = s.store.receipt_details(answer.id).unwrap().unwrap();
    assert_eq!(
        (details.verification, details.signature_required),
        (Verification::OnlinePin, false)
    );
    assert_eq!(
        s.store.transaction(answer.id).unwrap().entry_mode,
        poskit_store::EntryMode::Fallback
    );
    agree(&s);
}

#[tokio::test]
async fn void_refund_preauth_completion_and_balance() {
    let mut s = setup("acq-reference").await;
    let sale1 = sale(&mut s, "visa-contact", Interface::Contact, 30_000, TxnKind::Sale)
        .await
        .txn
        .unwrap();
    let void = by_reference(&s.host, &mut s.store, TxnKind::Void, sale1, 30_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(void.approved, "{}", void.response_code);
    assert_eq!(s.store.transaction(sale1).unwrap().state, TxnState::Voided);

    let sale2 = sale(
        &mut s,
        "mastercard-contact",
        Interface::Contact,
        40_000,
        TxnKind::Sale,
    )
    .await
    .txn
    .unwrap();
    let refund = by_reference(&s.host, &mut s.store, TxnKind::Refund, sale2, 10_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(refund.approved, "{}", refund.response_code);
    assert_eq!(s.store.transaction(sale2).unwrap().refunded_amount, 10_000);

    let pre = sale(
        &mut s,
        "visa-contact",
        Interface::Contact,
        80_000,
        TxnKind::PreAuth,
    )
    .await;
    assert_eq!(
        pre.outcome.decision,
        Decision::Approved,
        "{:?}",
        pre.outcome.reason
    );
    let pre = pre.txn.unwrap();
    let completion = by_reference(&s.host, &mut s.store, TxnKind::Completion, pre, 75_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(completion.approved, "{}", completion.response_code);
    let cv = by_reference(
        &s.host,
        &mut s.store,
        TxnKind::CompletionVoid,
        completion.id,
        75_000,
        now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(cv.approved, "{}", cv.response_code);
    let pre2 = sale(
        &mut s,
        "visa-contact",
        Interface::Contact,
        20_000,
        TxnKind::PreAuth,
    )
    .await
    .txn
    .unwrap();
    let pv = by_reference(&s.host, &mut s.store, TxnKind::PreAuthVoid, pre2, 20_000, now())
        .await
        .unwrap()
        .unwrap();
    assert!(pv.approved, "{}", pv.response_code);

    let inquiry = sale(
        &mut s,
        "online-pin",
        Interface::Contact,
        0,
        TxnKind::BalanceInquiry,
    )
    .await;
    let balance = inquiry.answer.expect("answered").balance.expect("field 54");
    assert!(balance.starts_with("1002156C"), "{balance}");
    let details = s.store.receipt_details(inquiry.txn.unwrap()).unwrap().unwrap();
    let expected: i64 = balance[8..20].parse().unwrap();
    assert_eq!(
        details.balance,
        Some(expected),
        "the balance is kept for the receipt"
    );
    agree(&s);
}

#[tokio::test]
async fn settlement_balanced_and_unbalanced_with_batch_upload() {
    let mut s = setup("acq-settle").await;
    sale(&mut s, "visa-contact", Interface::Contact, 10_000, TxnKind::Sale).await;
    sale(
        &mut s,
        "mastercard-contact",
        Interface::Contact,
        20_000,
        TxnKind::Sale,
    )
    .await;
    let result = s.host.settle(&mut s.store, now()).await.unwrap();
    assert!(result.balanced);
    assert_eq!(result.totals.domestic.debit_amount, 30_000);
    assert_eq!(result.settled, 2);

    // A transaction the host has no record of (its ledger lost it): the
    // totals do not balance, the batch is uploaded, the settlement ends.
    sale(&mut s, "visa-contact", Interface::Contact, 15_000, TxnKind::Sale).await;
    let mut lost = poskit_store::NewTransaction::new(
        TxnKind::Sale,
        5_000,
        "156",
        poskit_store::EntryMode::Contact,
        now() as i64,
    );
    lost.pan = Some(poskit_store::Pan::new("4761739001010010").unwrap());
    let rec = s.store.record_new(&lost).unwrap();
    s.store.mark_sent(rec.id, now() as i64).unwrap();
    s.store
        .record_response(
            rec.id,
            &poskit_store::HostResponse::new(poskit_store::ResponseOutcome::Approved, "00"),
            now() as i64,
        )
        .unwrap();
    let result = s.host.settle(&mut s.store, now()).await.unwrap();
    assert!(!result.balanced);
    assert_eq!(result.uploaded, 2);
    assert!(
        s.sim.ledger(TID).iter().any(|e| e.amount == 5_000),
        "the upload gave the host the lost sale"
    );
    agree(&s);
}

#[tokio::test]
async fn host_timeout_is_reversed_before_the_next_sale() {
    let mut s = setup("acq-timeout").await;
    let r = sale(&mut s, "visa-contact", Interface::Contact, 12_398, TxnKind::Sale).await;
    assert_eq!(r.no_answer, Some(NoAnswer::Timeout));
    assert_ne!(r.outcome.decision, Decision::Approved);
    // The simulator approved and recorded it, then saw the reversal.
    let entry = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 12_398)
        .unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    assert!(!s.store.has_reversal_pending().unwrap());
    sale(&mut s, "visa-contact", Interface::Contact, 1_000, TxnKind::Sale).await;
    let received = s.sim.received();
    let reversal_at = received.iter().position(|m| m.mti.0 == 400).unwrap();
    let next_sale_at = received.iter().rposition(|m| m.mti.0 == 200).unwrap();
    assert!(
        reversal_at < next_sale_at,
        "the reversal goes out before the next financial message"
    );
    agree(&s);
}

#[tokio::test]
async fn bad_response_mac_is_reversed() {
    let mut s = setup("acq-badmac").await;
    let r = sale(&mut s, "visa-contact", Interface::Contact, 12_399, TxnKind::Sale).await;
    assert_eq!(r.no_answer, Some(NoAnswer::BadMac));
    let entry = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 12_399)
        .unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    agree(&s);
}

/// Makes the card decline at the second GENERATE AC (asks it for an AAC).
struct DeclinesAtTheEnd(VirtualCard, u8);

impl CardReader for DeclinesAtTheEnd {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        let mut command = command.to_vec();
        if command.get(1) == Some(&0xAE) {
            self.1 += 1;
            if self.1 == 2 {
                command[2] = 0x00;
            }
        }
        self.0.transceive(&command).map_err(|_| ReaderError::Removed)
    }
}

#[tokio::test]
async fn card_declining_after_host_approval_is_reversed() {
    let mut s = setup("acq-carddecline").await;
    let card = VirtualCard::named("visa-contact").unwrap();
    let pin = card.profile().pin.clone();
    let r = card_transaction(
        &s.host,
        &mut s.store,
        &mut s.kernel,
        params(Interface::Contact, 33_300),
        TxnKind::Sale,
        &mut DeclinesAtTheEnd(card, 0),
        &mut Person(pin),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome.decision, Decision::DeclinedAfterHostApproval);
    let entry = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 33_300)
        .unwrap();
    assert_eq!(entry.state, EntryState::Reversed);
    assert_eq!(
        s.store.transaction(r.txn.unwrap()).unwrap().state,
        TxnState::Reversed
    );
    agree(&s);
}

#[tokio::test]
async fn parameter_download_updates_the_kernel_configuration() {
    let mut s = setup("acq-params").await;
    let mut config = poskit_sim::ca::test_config();
    config.aids.clear();
    config.ca_keys.clear();
    let records = s
        .host
        .download_parameters(&mut s.store, &mut config, now())
        .await
        .unwrap();
    let expected = poskit_sim::ca::test_config();
    assert!(records >= expected.aids.len() + expected.ca_keys.len());
    assert_eq!(config.ca_keys, expected.ca_keys);
    assert_eq!(config.aids.len(), expected.aids.len());
    for (got, want) in config.aids.iter().zip(&expected.aids) {
        assert_eq!(
            (got.aid.clone(), got.tac_online, got.floor_limit, got.contactless),
            (
                want.aid.clone(),
                want.tac_online,
                want.floor_limit,
                want.contactless
            )
        );
    }
}

// ---- Through a proxy that loses or repeats answers ----

use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    /// Send the previous answer (late, for another STAN) before the real one.
    RepeatStale,
    /// Forward the first request, lose its answer; swallow everything after.
    LoseThenBlackhole,
}

struct Proxy {
    mode: Arc<Mutex<Mode>>,
    port: u16,
}

async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.ok()?;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.ok()?;
    Some([len.to_vec(), body].concat())
}

async fn proxy(upstream: u16) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mode = Arc::new(Mutex::new(Mode::Pass));
    let last: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let lost_once = Arc::new(Mutex::new(false));
    let m = mode.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let mode = *m.lock().unwrap();
            let last = last.clone();
            let lost_once = lost_once.clone();
            tokio::spawn(async move {
                let Some(request) = read_frame(&mut client).await else {
                    return;
                };
                if mode == Mode::LoseThenBlackhole && *lost_once.lock().unwrap() {
                    return; // swallowed: the host never sees it
                }
                let Ok(mut host) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                host.write_all(&request).await.unwrap();
                let Some(answer) = read_frame(&mut host).await else {
                    return;
                };
                match mode {
                    Mode::Pass => {
                        client.write_all(&answer).await.unwrap();
                    }
                    Mode::RepeatStale => {
                        if let Some(stale) = last.lock().unwrap().clone() {
                            let _ = client.try_write(&stale);
                        }
                        client.write_all(&answer).await.unwrap();
                    }
                    Mode::LoseThenBlackhole => {
                        *lost_once.lock().unwrap() = true;
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    }
                }
                *last.lock().unwrap() = Some(answer);
            });
        }
    });
    Proxy { mode, port }
}

async fn setup_plain(name: &str) -> (Setup, Proxy) {
    let master = master_key();
    let config = AcquirerSimConfig {
        tls: false,
        terminals: vec![SimTerminal {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
            master_key: master.clone(),
        }],
        ..AcquirerSimConfig::default()
    };
    let (sim, addr) = AcquirerSim::start(config).await.unwrap();
    let proxy = proxy(addr.port()).await;
    let dir = test_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(5)).unwrap();
    store.put_key(MASTER, &master).unwrap();
    let host = plain_link(proxy.port);
    host.sign_in(&mut store, MASTER, now()).await.unwrap();
    let s = Setup {
        sim,
        host,
        store,
        kernel: Kernel::new(Arc::new(poskit_sim::ca::test_config())),
        dir,
        master,
    };
    (s, proxy)
}

fn plain_link(port: u16) -> HostLink {
    let mut config = AcquirerConfig::tls("127.0.0.1", port, "");
    config.ca_pem = None;
    config.plaintext = true;
    config.response_timeout = Duration::from_secs(1);
    HostLink::new(
        AcquirerLink::new(config).unwrap(),
        TerminalIds {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
        },
    )
}

#[tokio::test]
async fn a_late_duplicate_answer_is_ignored() {
    let (mut s, proxy) = setup_plain("acq-duplicate").await;
    sale(&mut s, "visa-contact", Interface::Contact, 11_100, TxnKind::Sale).await;
    *proxy.mode.lock().unwrap() = Mode::RepeatStale;
    let r = sale(
        &mut s,
        "mastercard-contact",
        Interface::Contact,
        22_200,
        TxnKind::Sale,
    )
    .await;
    assert_eq!(r.outcome.decision, Decision::Approved, "{:?}", r.outcome.reason);
    let ledger = s.sim.ledger(TID);
    assert_eq!(ledger.iter().filter(|e| e.amount == 22_200).count(), 1);
    assert_eq!(ledger.iter().filter(|e| e.amount == 11_100).count(), 1);
    agree(&s);
}

#[tokio::test]
async fn a_reversal_pending_at_restart_is_sent_first() {
    let (mut s, proxy) = setup_plain("acq-restart").await;
    *proxy.mode.lock().unwrap() = Mode::LoseThenBlackhole;
    let r = sale(&mut s, "visa-contact", Interface::Contact, 44_400, TxnKind::Sale).await;
    assert_eq!(r.no_answer, Some(NoAnswer::Timeout));
    assert!(
        s.store.has_reversal_pending().unwrap(),
        "the reversal could not go out"
    );
    let charged = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 44_400)
        .unwrap();
    assert_eq!(charged.state, EntryState::Approved, "the host charged it");

    // Restart: a new process opens the same store.
    let dir = s.dir.clone();
    let Setup {
        sim, kernel, master, ..
    } = s;
    *proxy.mode.lock().unwrap() = Mode::Pass;
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(5)).unwrap();
    store.recover_in_flight(now() as i64).unwrap();
    let host = plain_link(proxy.port);
    assert_eq!(host.send_reversals(&mut store, now()).await.unwrap(), 1);
    let s = Setup {
        sim,
        host,
        store,
        kernel,
        dir,
        master,
    };
    let entry = s
        .sim
        .ledger(TID)
        .into_iter()
        .find(|e| e.amount == 44_400)
        .unwrap();
    assert_eq!(entry.state, EntryState::Reversed, "nothing charged in the end");
    assert!(!s.store.has_reversal_pending().unwrap());
    agree(&s);
}

#[tokio::test]
async fn sign_out_forgets_the_working_keys() {
    let mut s = setup("acq-signout").await;
    s.host.sign_out(&mut s.store, now()).await.unwrap();
    assert!(s.store.get_key(MAC_KEY).unwrap().is_none());
    let card = VirtualCard::named("visa-contact").unwrap();
    let err = card_transaction(
        &s.host,
        &mut s.store,
        &mut s.kernel,
        params(Interface::Contact, 1_000),
        TxnKind::Sale,
        &mut Reader(card),
        &mut Person("1234".into()),
        now(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("sign in first"), "{err}");
    assert!(s.sim.ledger(TID).is_empty(), "nothing reached the host");
}
