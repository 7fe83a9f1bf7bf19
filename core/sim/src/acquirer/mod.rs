//! The acquirer (card host) simulator: UnionPay-style POS ISO 8583 (the
//! `cup` dialect and the conventions of `poskit_iso8583::cup`) over TLS or
//! plain TCP on loopback, standing in for the acquirer and the issuers of
//! the virtual cards.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use poskit_crypto::SymmetricKey;
//! use poskit_sim::acquirer::{AcquirerSim, AcquirerSimConfig};
//! let (sim, addr) = AcquirerSim::start(AcquirerSimConfig::default()).await?;
//! sim.add_terminal("10000001", "898310012345678", SymmetricKey::tdes(&[0x11; 16]).unwrap());
//! // connect to `addr` with TLS, trusting poskit_sim::platform::test_ca_pem()
//! # let _ = addr; Ok(()) }
//! ```
//!
//! # Transport
//!
//! Frames are a 2-byte big-endian length, the TPDU (`60`, destination,
//! source), the 6-byte header and the message. An answer swaps the TPDU
//! addresses and keeps the header. Many connections at once, many requests
//! per connection. TLS uses the TEST ONLY certificate of `core/sim/testdata`
//! (SAN 127.0.0.1 and localhost); clients trust
//! [`crate::platform::test_ca_pem`].
//!
//! MTIs are what the codec packs: `Message::new(200)` is 0200 on the wire.
//!
//! # Malformed input
//!
//! Nothing a client sends makes the simulator panic.
//! - A length of 0 or above 8 KiB, a TPDU not starting `60`, a frame shorter
//!   than TPDU and header, or a connection silent for 5 minutes: the
//!   connection is closed (no telling where the next frame would start).
//! - A message that does not unpack but starts with a request MTI: answered
//!   with the response MTI and field 39 `30`, nothing else; otherwise closed.
//! - A message that unpacks but lacks what its type needs (field 11, 41,
//!   60, an amount, a card): 39 `30` with the usual echo.
//!
//! # Terminals and keys
//!
//! [`AcquirerSim::add_terminal`] registers a terminal id, its merchant id
//! and its terminal master key (TMK), e.g. the one the merchant platform
//! simulator issued ([`AcquirerSim::add_platform_terminal`]).
//!
//! - **Sign-in** (0800, 60.3 `003`): fresh random PIN, MAC and track keys
//!   (TDES, 16 bytes), field 62 = `cup::key_block` of the three, each
//!   encrypted under the TMK (ECB) with a 4-byte check value; 60.2 = the
//!   terminal's current batch number; 12, 13, 37 set; 39 `00`.
//! - **Sign-out** (0800, 60.3 `002`): forgets the working keys; MACed
//!   requests then get `A0` until the next sign-in.
//! - An unknown terminal id gets `97` (terminal not registered), a merchant
//!   id that is not the terminal's `03` (invalid merchant), to any request.
//! - 0810 answers carry no MAC (the keys travel in them; the terminal has
//!   none to check with yet).
//!
//! # Parameter download (0800, 60.3 `370` AIDs / `372` CA keys)
//!
//! Field 62 of the answer is the flag byte (`1` more follows, `0` the end)
//! then whole BER-TLV records (FF21 per AID, FF22 per CA key, encodings in
//! [`params`]) from the configured `poskit_emv::Config`, at most
//! [`AcquirerSimConfig::max_parameter_bytes`] of records per message (at
//! least one record). **Continuation rule:** field 62 of the request holds
//! the index of the first record wanted, in ASCII decimal (absent = `0`);
//! after an answer with flag `1` the terminal asks again with that index
//! plus the number of records received ([`params::Part::len`]). An index
//! past the end is answered with flag `0` and no records.
//!
//! # MACs
//!
//! Every 0100, 0200, 0220, 0320, 0400, 0500 and 0620 must carry field 64,
//! the UnionPay ECB MAC under the terminal's current MAC key
//! (`cup::verify`). A bad or missing MAC is answered `A0` without any
//! processing; a terminal that is not signed in gets `A0` without a MAC.
//! Every answer to these requests carries a MAC under the MAC key
//! (`cup::seal`), except the deliberate fault of amount rule 99.
//!
//! # Duplicates
//!
//! A request with the same terminal id, STAN (11), MTI and date (13, when
//! sent) as one already answered is a retransmission: it is not processed
//! again and gets the very same answer bytes again (or, after amount rule
//! 98, the same silence); [`AcquirerSim::duplicates_detected`] counts them.
//! The same key with different fields (MAC aside) is answered `94`.
//!
//! # Financial requests (60.1 type code; MTI must match it)
//!
//! In this order: PIN, cryptogram, amount rule, original, funds.
//! - **PIN** (field 52, when sent): ISO 9564 format 0 under the PIN key with
//!   the PAN of field 2 (or of track 2, field 35), compared with the PIN of
//!   the virtual card profile of that PAN. Wrong: `55`; a block that does
//!   not decrypt to a format 0 block (wrong key or PAN): `99`. A PAN that
//!   is no virtual card profile's: `14`.
//! - **Cryptogram** (9F26 in field 55, when sent): checked as the virtual
//!   cards' issuer would ([`crate::issuer::TestIssuer`]'s conventions),
//!   trying the PAN's profile's issuer master key, then every other
//!   profile's. Not genuine: `05`, no 91. Genuine: the answer's field 55
//!   carries 91 = ARPC (method 1) || ARC, the ARC being field 39's two
//!   characters, for declines by rule too; approvals also carry the issuer
//!   scripts set with [`AcquirerSim::set_scripts`] and
//!   [`AcquirerSim::set_put_data`] (left out if they would push field 55
//!   over 255 bytes).
//! - **Amount rule**, by the last two digits of field 4 in minor units, for
//!   sale, pre-authorisation, completion, refund and the prepaid issue, top
//!   up and pay (voids carry their original's amount and inquiries none, so
//!   the rule skips them):
//!
//! | amount ends in | answer |
//! |---|---|
//! | `51` | `51` insufficient funds |
//! | `55` | `55` wrong PIN |
//! | `91` | `91` issuer unavailable |
//! | `98` | approved and recorded, but **no answer at all**: the connection stays open, silent, until the terminal gives up (then it should reverse) |
//! | `99` | approved and recorded, answered `00` with a **MAC that does not verify** (the terminal should reverse with `A0`) |
//! | anything else | the rest of the checks, then `00` |
//!
//! - **Originals**: void (23), pre-auth void (11), completion void (21),
//!   completion (20) and refund (25) find their original by field 61
//!   (batch + STAN) on the same terminal, else by field 37 (RRN) at the
//!   same merchant. None: `25`. Not of the right type or state (a void
//!   needs an approved sale, a pre-auth void or completion an approved
//!   pre-auth, a completion void an approved completion, a refund an
//!   approved or partly refunded sale or completion): `12`. Amount wrong
//!   (void amount not the original's, completion over 115 % of the
//!   pre-auth, refunds together over the original): `13`.
//! - **Funds**: every card account starts at
//!   [`AcquirerSimConfig::initial_balance`]; a sale or completion over the
//!   balance is declined `51`. Sales and completions debit, refunds and
//!   voids of sales and completions credit; pre-authorisations hold nothing.
//! - **Approved**: `00`, field 38 a 6-digit authorisation code, field 37 a
//!   12-digit RRN (every financial answer has one), a ledger entry, and for
//!   a balance inquiry (01) **field 54** = account type `10`, amount type
//!   `02` (available), currency (field 49, default `156`), sign `C`
//!   (credit: positive) or `D`, 12 digits of minor units: 20 characters,
//!   e.g. `1002156C000000123456` for 1,234.56 CNY ([`balance_field`],
//!   [`parse_balance_field`]).
//!
//! Response codes: `00` approved, `03` merchant id not the terminal's, `05`
//! cryptogram not genuine, `12` invalid transaction for the original's
//! state (or a prepaid card already issued), `13` invalid amount, `14`
//! unknown card, `25` original not found, `30` format error, `40` function
//! not supported, `51` insufficient funds, `55` wrong PIN, `61` prepaid
//! balance limit exceeded, `78` prepaid card not issued, `91` issuer
//! unavailable, `94` duplicate STAN with other
//! content, `96` system malfunction, `97` terminal not registered, `99` PIN
//! block unreadable, `A0` MAC error or not signed in.
//!
//! # Closed-loop prepaid cards (60.1 `70`-`73`, docs/prepaid.md)
//!
//! Cards of [`poskit_iso8583::cup::prepaid::BIN`] with a valid check digit
//! ([`prepaid_card_number`] makes them) have a stored-value account here,
//! apart from the card accounts above; a number outside the range or with
//! a wrong check digit is `14`. In this order: PIN block (when sent; under
//! the PIN key with the card number, unreadable `99`), the amount rule
//! (issue, top up and pay), then the account:
//! - **Issue** (70): an active card is refused `12`; otherwise the card is
//!   activated with the load, and the PIN of field 52 (if any) becomes its
//!   PIN.
//! - **Top up** (71): a card not issued is `78`; the load is added.
//! - A load that would take the balance over
//!   [`AcquirerSimConfig::prepaid_max_balance`] is `61`.
//! - **Pay** (72): not issued `78`; a card issued with a PIN needs it above
//!   [`AcquirerSimConfig::prepaid_pin_free_limit`], and a PIN sent must be
//!   right (`55`); more than the balance is `51`.
//! - **Balance** (73): not issued `78`.
//!
//! Approved: `00`, 37, 38, a ledger entry, and field 54 = the balance after
//! the operation ([`balance_field`]). In the settlement totals a purchase is
//! a debit like a sale; loads and inquiries are not card sales and do not
//! count. A reversal takes a load off again (an issue's also leaves the card
//! not issued) and pays a purchase back.
//!
//! # Reversal (0400)
//!
//! Finds the entry the original request made: same terminal, STAN, batch
//! (60.2), type (60.1) and date (13, when both have one). Approved: it is
//! reversed and its effects undone (balance, the original a void voided,
//! the pre-auth a completion completed, the sum a refund refunded). Never
//! seen (or declined): acknowledged `00` all the same, so the terminal can
//! stop. Already reversed: `00` again (and a retransmission is a
//! duplicate). An entry voided or refunded since is left as it is (its
//! void or refund must be reversed first), and acknowledged.
//!
//! # Advices and settlement
//!
//! - **TC / offline advice** (0320, 60.3 `203`): for an entry the host has
//!   (terminal, batch, STAN), marks the TC as advised; otherwise records an
//!   offline approval (source [`EntrySource::OfflineAdvice`]) that counts
//!   in the totals. `00`.
//! - **Script result advice** (0620): recorded ([`AcquirerSim::script_results`]). `00`.
//! - **Settlement** (0500, field 48): the terminal's domestic totals against
//!   the ledger's for that terminal and batch (60.2), counted exactly as
//!   `poskit_store` does: debits = sales + completions + prepaid purchases,
//!   credits = refunds, in the states approved and refunded; voided and
//!   reversed entries, pre-auths, inquiries, voids and prepaid loads not at
//!   all. All test cards are
//!   domestic, so foreign totals must be zero. The answer (`00`) echoes 48
//!   with each result digit 1 (balanced) or 2 (not balanced); balanced
//!   closes the batch.
//! - **Batch upload** (0320, 60.3 `201`): each line is recorded
//!   ([`AcquirerSim::batch_uploads`]); a sale, completion, refund or prepaid
//!   purchase the ledger lacks joins it (source [`EntrySource::BatchUpload`]). `00`.
//! - **Settlement end** (0320, 60.3 `207`): `00`, the batch is closed, and
//!   the terminal's batch number moves on; the answer's 60.2 is the next
//!   batch number (the next sign-in gives it too).

mod cards;
mod host;
mod ledger;
pub mod params;
mod server;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use poskit_crypto::SymmetricKey;
use poskit_iso8583::Message;
use poskit_iso8583::sub::{Totals, TypeCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use host::prepaid_card_number;
pub use ledger::{EntryRef, EntrySource, EntryState, LedgerEntry, ScriptResult, UploadLine};
pub use poskit_iso8583::cup::{balance_field, parse_balance_field};

use crate::issuer::PutDataScript;
use crate::platform::{SimClock, TerminalRecord};
use server::Shared;

/// Field 39 codes the simulator answers with (see the module documentation).
pub mod code {
    pub const APPROVED: &str = "00";
    pub const WRONG_MERCHANT: &str = "03";
    pub const ARQC_FAILED: &str = "05";
    pub const INVALID_TRANSACTION: &str = "12";
    pub const INVALID_AMOUNT: &str = "13";
    pub const UNKNOWN_CARD: &str = "14";
    pub const NO_ORIGINAL: &str = "25";
    pub const FORMAT_ERROR: &str = "30";
    pub const NOT_SUPPORTED: &str = "40";
    pub const INSUFFICIENT_FUNDS: &str = "51";
    pub const EXCEEDS_LIMIT: &str = "61";
    pub const NOT_ACTIVATED: &str = "78";
    pub const WRONG_PIN: &str = "55";
    pub const ISSUER_UNAVAILABLE: &str = "91";
    pub const DUPLICATE: &str = "94";
    pub const SYSTEM_ERROR: &str = "96";
    pub const UNKNOWN_TERMINAL: &str = "97";
    pub const PIN_FORMAT_ERROR: &str = "99";
    pub const MAC_ERROR: &str = "A0";
}

/// The MTI of a financial request type as packed (decimal: 200 is 0200):
/// inquiry, completion and its void, sale, void and the prepaid messages
/// 0200; pre-auth and its void 0100; refund 0220; settlement 0500.
pub fn request_mti(kind: TypeCode) -> u16 {
    match kind {
        TypeCode::PreAuth | TypeCode::PreAuthVoid => 100,
        TypeCode::Refund => 220,
        TypeCode::Settlement => 500,
        TypeCode::Inquiry
        | TypeCode::Completion
        | TypeCode::CompletionVoid
        | TypeCode::Sale
        | TypeCode::Void
        | TypeCode::PrepaidIssue
        | TypeCode::PrepaidTopUp
        | TypeCode::PrepaidPay
        | TypeCode::PrepaidBalance => 200,
    }
}

/// A terminal's current working keys (TEST ONLY: what a test needs to
/// build requests the way the terminal would).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingKeys {
    pub pin_key: SymmetricKey,
    pub mac_key: SymmetricKey,
    pub track_key: SymmetricKey,
}

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct AcquirerSimConfig {
    /// Where to listen; port 0 picks a free one. Default 127.0.0.1:0.
    pub listen: SocketAddr,
    /// TLS with the test certificate (default) or plain TCP.
    pub tls: bool,
    /// What the parameter download serves. Default
    /// [`crate::ca::test_config`].
    pub emv_config: poskit_emv::Config,
    /// Record bytes per parameter download message (field 62 holds 511
    /// after the flag; larger values are cut to that). Default 511.
    pub max_parameter_bytes: usize,
    /// Every terminal's batch number until its first settlement. Default 1.
    pub first_batch: u32,
    /// Every card account's balance until it moves, minor units. Default
    /// 100,000,000 (1,000,000.00).
    pub initial_balance: u64,
    /// The most a closed-loop prepaid card may hold, minor units: a load
    /// past it is declined `61`. Default 500,000 (5,000.00).
    pub prepaid_max_balance: u64,
    /// A prepaid card issued with a PIN pays up to this much without it,
    /// minor units. Default 30,000 (300.00).
    pub prepaid_pin_free_limit: u64,
    /// Field 32 of the answers. Default `00010000`.
    pub acquirer_id: String,
    /// Fields 12, 13 and 15 of the answers.
    pub clock: SimClock,
    /// Terminals registered from the start (more with
    /// [`AcquirerSim::add_terminal`]). Default none.
    pub terminals: Vec<SimTerminal>,
}

/// A terminal the host knows: its ids and its terminal master key.
#[derive(Debug, Clone, PartialEq)]
pub struct SimTerminal {
    pub terminal_id: String,
    pub merchant_id: String,
    pub master_key: SymmetricKey,
}

impl Default for AcquirerSimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: true,
            emv_config: crate::ca::test_config(),
            max_parameter_bytes: 511,
            first_batch: 1,
            initial_balance: 100_000_000,
            prepaid_max_balance: 500_000,
            prepaid_pin_free_limit: 30_000,
            acquirer_id: "00010000".into(),
            clock: SimClock::system(),
            terminals: Vec::new(),
        }
    }
}

/// A running simulator. Dropping it (or [`shutdown`](Self::shutdown))
/// stops the server and closes its connections.
pub struct AcquirerSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls: bool,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for AcquirerSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcquirerSim")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl AcquirerSim {
    /// Binds `config.listen` and serves on the current tokio runtime.
    pub async fn start(config: AcquirerSimConfig) -> io::Result<(AcquirerSim, SocketAddr)> {
        let tls = crate::net::acceptor(config.tls)?;
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let uses_tls = config.tls;
        let mut host = host::Host::new(config.clone());
        for t in &config.terminals {
            host.add_terminal(&t.terminal_id, &t.merchant_id, t.master_key.clone());
        }
        let shared = Arc::new(Shared {
            host: Mutex::new(host),
            responses_sent: AtomicUsize::new(0),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        tokio::spawn(server::accept_loop(listener, tls, shared.clone(), shutdown_rx));
        let sim = AcquirerSim {
            shared,
            addr,
            tls: uses_tls,
            shutdown,
        };
        Ok((sim, addr))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops serving (also done on drop).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Registers a terminal, or updates its merchant id and master key (a
    /// new master key drops the working keys: sign in again). The ledger
    /// and batch number of a known terminal stay.
    pub fn add_terminal(&self, terminal_id: &str, merchant_id: &str, master_key: SymmetricKey) {
        self.shared
            .lock()
            .add_terminal(terminal_id, merchant_id, master_key);
    }

    /// Registers a terminal the merchant platform simulator bound, with the
    /// master key it issued.
    pub fn add_platform_terminal(&self, record: &TerminalRecord) {
        self.add_terminal(
            &record.terminal_id,
            &record.merchant_id,
            record.master_key.clone(),
        );
    }

    /// The ledger entries of a terminal, oldest first.
    pub fn ledger(&self, terminal_id: &str) -> Vec<LedgerEntry> {
        self.shared.lock().ledger(terminal_id)
    }

    /// The domestic settlement totals the host holds for a terminal's
    /// batch (result digit 0).
    pub fn totals(&self, terminal_id: &str, batch: u32) -> Totals {
        self.shared.lock().totals(terminal_id, batch)
    }

    /// Every request that unpacked, in arrival order (MAC failures and
    /// retransmissions included).
    pub fn received(&self) -> Vec<Message> {
        self.shared.lock().received.clone()
    }

    /// Answers written to a connection (retransmitted ones included; the
    /// silence of amount rule 98 not).
    pub fn responses_sent(&self) -> usize {
        self.shared.responses_sent.load(Ordering::SeqCst)
    }

    /// Retransmitted requests answered from the cache.
    pub fn duplicates_detected(&self) -> usize {
        self.shared.lock().duplicates
    }

    /// The working keys of the terminal's last sign-in (TEST ONLY).
    pub fn working_keys(&self, terminal_id: &str) -> Option<WorkingKeys> {
        self.shared.lock().working_keys(terminal_id)
    }

    /// Raw issuer script templates (71/72) added to every approval whose
    /// cryptogram verified; empty for none.
    pub fn set_scripts(&self, templates: Vec<u8>) {
        self.shared.lock().set_scripts(templates);
    }

    /// A PUT DATA script built (and MACed) for each approved transaction
    /// whose cryptogram verified, after the raw scripts; `None` for none.
    pub fn set_put_data(&self, script: Option<PutDataScript>) {
        self.shared.lock().set_put_data(script);
    }

    /// The terminal's current batch number.
    pub fn batch(&self, terminal_id: &str) -> Option<u32> {
        self.shared.lock().batch(terminal_id)
    }

    /// Batches settled (balanced settlement or settlement end).
    pub fn closed_batches(&self, terminal_id: &str) -> Vec<u32> {
        self.shared.lock().closed_batches(terminal_id)
    }

    pub fn batch_uploads(&self, terminal_id: &str) -> Vec<UploadLine> {
        self.shared.lock().uploads(terminal_id)
    }

    pub fn script_results(&self, terminal_id: &str) -> Vec<ScriptResult> {
        self.shared.lock().script_results(terminal_id)
    }

    /// A card account's balance, minor units.
    pub fn balance(&self, pan: &str) -> u64 {
        self.shared.lock().balance(pan)
    }

    pub fn set_balance(&self, pan: &str, amount: u64) {
        self.shared.lock().set_balance(pan, amount);
    }

    /// A closed-loop prepaid card's stored value, minor units; `None` while
    /// the card is not issued (or its issue was reversed).
    pub fn prepaid_balance(&self, card_number: &str) -> Option<u64> {
        self.shared
            .lock()
            .prepaid_account(card_number)
            .filter(|a| a.active)
            .map(|a| a.balance)
    }
}

impl Drop for AcquirerSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Runs a simulator on `addr` until the process ends (for `posctl sim
/// acquirer --listen ADDR [--tls]`): prints where it listens and, with
/// TLS, which test CA to trust. `tls` overrides `config.tls`; the
/// terminals of `config.terminals` are registered.
pub fn run_forever(addr: SocketAddr, tls: bool, config: AcquirerSimConfig) -> io::Result<()> {
    run_forever_with(addr, tls, config, |_| {})
}

/// [`run_forever`], calling `setup` on the running simulator first (to add
/// terminals, balances, scripts).
pub fn run_forever_with(
    addr: SocketAddr,
    tls: bool,
    config: AcquirerSimConfig,
    setup: impl FnOnce(&AcquirerSim),
) -> io::Result<()> {
    crate::net::serve_until_killed(async move {
        let (sim, bound) = AcquirerSim::start(AcquirerSimConfig {
            listen: addr,
            tls,
            ..config
        })
        .await?;
        setup(&sim);
        let scheme = if tls { "tls" } else { "tcp" };
        println!("acquirer simulator listening on {scheme}://{bound}");
        if tls {
            println!(
                "trust the TEST ONLY CA in {}",
                crate::certs::ca_pem_file("poskit-acquirer-test-ca.pem")?
            );
        } else {
            println!("plain TCP: for lab use only");
        }
        Ok(sim)
    })
}
