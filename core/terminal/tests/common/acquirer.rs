//! The acquirer set-up the scenario tests share: the simulator over TLS on
//! loopback, a signed-in terminal with its own store, virtual cards and a
//! cardholder, and the check that journal and ledger agree.

use std::sync::Arc;
use std::time::Duration;

use poskit::HostLink;
use poskit::card::{CardReader, Cardholder, PinCapture, ReaderError, card_transaction};
use poskit_crypto::SymmetricKey;
use poskit_crypto::pin::Pin;
use poskit_emv::{Candidate, Interface, Kernel, PinRequest, TransactionParams};
use poskit_host::{AcquirerConfig, AcquirerLink};
use poskit_iso8583::cup::TerminalIds;
use poskit_sim::acquirer::{AcquirerSim, AcquirerSimConfig, EntryState, SimTerminal};
use poskit_sim::card::Card;
use poskit_sim::virtual_card::VirtualCard;
use poskit_store::testing::{TestKeystore, test_dir};
use poskit_store::{Store, TxnKind, TxnState};

pub const TID: &str = "10000001";
pub const MID: &str = "898310012345678";
pub const MASTER: &str = "terminal-master-key";

pub struct Reader(pub VirtualCard);

impl CardReader for Reader {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, ReaderError> {
        self.0.transceive(command).map_err(|e| match e {
            poskit_sim::CardError::Removed => ReaderError::Removed,
            other => ReaderError::Failed(other.to_string()),
        })
    }
}

/// Enters the profile's PIN (online PINs on glass too).
pub struct Person(pub String);

impl Cardholder for Person {
    fn choose(&mut self, _: &[Candidate]) -> Option<usize> {
        Some(0)
    }
    fn pin(&mut self, _: &PinRequest) -> PinCapture {
        PinCapture::Digits(Pin::new(&self.0).unwrap())
    }
}

pub struct Setup {
    pub sim: AcquirerSim,
    pub host: HostLink,
    pub store: Store,
    pub kernel: Kernel,
    pub dir: std::path::PathBuf,
    pub master: SymmetricKey,
}

pub fn master_key() -> SymmetricKey {
    SymmetricKey::tdes(&hex::decode("00112233445566778899AABBCCDDEEFF").unwrap()).unwrap()
}

pub fn link(port: u16, timeout: Duration) -> HostLink {
    let mut config = AcquirerConfig::tls("127.0.0.1", port, poskit_sim::platform::test_ca_pem());
    config.response_timeout = timeout;
    HostLink::new(
        AcquirerLink::new(config).unwrap(),
        TerminalIds {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
        },
    )
}

pub async fn setup(name: &str) -> Setup {
    let master = master_key();
    let config = AcquirerSimConfig {
        terminals: vec![SimTerminal {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
            master_key: master.clone(),
        }],
        ..AcquirerSimConfig::default()
    };
    let (sim, addr) = AcquirerSim::start(config).await.unwrap();
    let dir = test_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::open(dir.join("terminal.db"), &TestKeystore::new(5)).unwrap();
    store.put_key(MASTER, &master).unwrap();
    let host = link(addr.port(), Duration::from_secs(2));
    host.sign_in(&mut store, MASTER, now()).await.unwrap();
    Setup {
        sim,
        host,
        store,
        kernel: Kernel::new(Arc::new(poskit_sim::ca::test_config())),
        dir,
        master,
    }
}

pub fn now() -> u64 {
    poskit::now()
}

pub fn params(interface: Interface, amount: u64) -> TransactionParams {
    let t = now();
    let days = t / 86_400;
    // The kernel wants today's date in BCD; the simulator's clock is the
    // system clock too.
    let (y, m, d) = civil(days as i64);
    let bcd = |n: u32| (((n / 10) << 4) | (n % 10)) as u8;
    TransactionParams {
        interface,
        amount,
        other_amount: 0,
        transaction_type: 0,
        date: [bcd((y % 100) as u32), bcd(m), bcd(d)],
        time: [0x12, 0, 0],
        unpredictable_number: [1, 2, 3, (amount % 251) as u8],
        random_selection: 99,
        entropy: [3; 32],
        sequence_counter: 1,
        force_online: true,
    }
}

pub fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub async fn sale(
    s: &mut Setup,
    profile: &str,
    interface: Interface,
    amount: u64,
    kind: TxnKind,
) -> poskit::card::CardResult {
    try_sale(s, profile, interface, amount, kind).await.unwrap()
}

/// A card transaction with the profile's card, the cardholder entering its
/// PIN; the error when the terminal refuses it.
pub async fn try_sale(
    s: &mut Setup,
    profile: &str,
    interface: Interface,
    amount: u64,
    kind: TxnKind,
) -> poskit::Result<poskit::card::CardResult> {
    let card = VirtualCard::named(profile).unwrap();
    let pin = card.profile().pin.clone();
    card_transaction(
        &s.host,
        &mut s.store,
        &mut s.kernel,
        params(interface, amount),
        kind,
        &mut Reader(card),
        &mut Person(pin),
        now(),
    )
    .await
}

/// The journal and the simulator's ledger say the same about every
/// transaction the host saw.
pub fn agree(s: &Setup) {
    let ledger = s.sim.ledger(TID);
    let batch_rows =
        (1..=s.store.counters().unwrap().last_batch).flat_map(|b| s.store.transactions_in_batch(b).unwrap());
    for rec in batch_rows {
        let entry = ledger
            .iter()
            .find(|e| e.stan == format!("{:06}", rec.stan) && e.batch == rec.batch_no);
        match (rec.state, entry.map(|e| e.state)) {
            (TxnState::Approved | TxnState::Settled, Some(EntryState::Approved | EntryState::Completed)) => {}
            // A partial refund: the journal counts it in refunded_amount.
            (TxnState::Approved, Some(EntryState::Refunded)) if rec.refunded_amount > 0 => {}
            (TxnState::Refunded, Some(EntryState::Refunded | EntryState::Approved)) => {}
            (TxnState::Voided, Some(EntryState::Voided)) => {}
            (TxnState::Reversed, Some(EntryState::Reversed) | None) => {}
            (TxnState::Declined | TxnState::Aborted, None) => {}
            (TxnState::Declined, Some(EntryState::Reversed)) => {}
            (state, host) => panic!(
                "journal {:?} STAN {} is {state:?}, the host has {host:?}",
                rec.kind, rec.stan
            ),
        }
    }
    // Nothing the host holds as approved is missing from the journal.
    for e in ledger.iter().filter(|e| matches!(e.state, EntryState::Approved)) {
        let found = (1..=s.store.counters().unwrap().last_batch)
            .flat_map(|b| s.store.transactions_in_batch(b).unwrap())
            .any(|r| format!("{:06}", r.stan) == e.stan && r.batch_no == e.batch);
        assert!(
            found,
            "the host charged STAN {} that the terminal does not know",
            e.stan
        );
    }
}
