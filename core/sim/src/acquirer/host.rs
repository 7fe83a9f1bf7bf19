//! The host's logic, sans-IO: one packed request message in, what to send
//! back out. The server around it only cuts frames; everything the module
//! documentation promises happens here, under one lock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use poskit_crypto::pin::{Pan, PinBlockFormat, decrypt_pin_block};
use poskit_crypto::{RandomSource, SymmetricKey, SystemRandom};
use poskit_iso8583::cup::{self as conv, WrappedKey, balance_field, network};
use poskit_iso8583::sub::{Field48, Field60, Field61, Totals, TypeCode};
use poskit_iso8583::{Message, Mti, cup};
use poskit_tlv::Tag;

use super::cards::{CardDirectory, VerifiedArqc};
use super::ledger::{
    AccountKey, EntryRef, EntrySource, EntryState, LedgerEntry, ScriptResult, UploadLine, totals,
};
use super::params::{self, Table};
use super::{AcquirerSimConfig, WorkingKeys, code};
use crate::issuer::PutDataScript;
use crate::platform::SimClock;
use crate::virtual_card::profile::masked_pan;

mod prepaid;

use prepaid::PrepaidAccount;
pub use prepaid::prepaid_card_number;

/// What the connection does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// Write this message (TPDU and header are the server's).
    Send(Vec<u8>),
    /// Answer nothing and keep the connection open (amount rule 98).
    Hold,
    /// Close the connection: the bytes are not a request one can answer.
    Close,
}

/// How an answer leaves, besides its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Amount rule 98: processed, never answered.
    Hold,
    /// Amount rule 99: answered with a MAC that does not verify.
    BadMac,
}

/// A completion may go this far over its pre-authorisation (UnionPay
/// allows 115 %).
const COMPLETION_PERCENT: u64 = 115;

struct TerminalState {
    merchant_id: String,
    master_key: SymmetricKey,
    keys: Option<WorkingKeys>,
    batch: u32,
    closed_batches: BTreeSet<u32>,
}

/// A request already answered: its fields (without the MAC) and the reply.
struct Cached {
    request: Message,
    reply: Reply,
}

type DedupeKey = (String, String, u16, String);

pub(crate) struct Host {
    config: AcquirerSimConfig,
    clock: SimClock,
    cards: CardDirectory,
    terminals: BTreeMap<String, TerminalState>,
    ledger: Vec<LedgerEntry>,
    balances: HashMap<AccountKey, u64>,
    /// Closed-loop prepaid cards, apart from the card accounts: an unknown
    /// one holds nothing (not [`AcquirerSimConfig::initial_balance`]).
    prepaid: HashMap<AccountKey, PrepaidAccount>,
    /// Salts the account keys (see [`AccountKey`]).
    salt: [u8; 16],
    answered: HashMap<DedupeKey, Cached>,
    pub(crate) received: Vec<Message>,
    pub(crate) duplicates: usize,
    uploads: Vec<UploadLine>,
    script_results: Vec<ScriptResult>,
    scripts: Vec<u8>,
    put_data: Option<PutDataScript>,
    sequence: u64,
    random: SystemRandom,
}

/// The PAN from field 2, else from track 2 (field 35) before its separator.
fn pan_of(m: &Message) -> Option<String> {
    if let Some(pan) = m.digits(2) {
        return Some(pan.to_owned());
    }
    let track2 = m.digits(35)?;
    let pan = track2.split(['D', '=']).next()?;
    (!pan.is_empty()).then(|| pan.to_owned())
}

fn terminal_id(m: &Message) -> Option<String> {
    m.text(41).map(|t| t.trim_end().to_owned())
}

fn amount_of(m: &Message) -> Option<u64> {
    m.digits(4)?.parse().ok()
}

/// The amount table of the module documentation: a decline, or how the
/// answer leaves.
fn amount_rule(amount: u64) -> Result<Fault, &'static str> {
    match amount % 100 {
        51 => Err(code::INSUFFICIENT_FUNDS),
        55 => Err(code::WRONG_PIN),
        91 => Err(code::ISSUER_UNAVAILABLE),
        98 => Ok(Fault::Hold),
        99 => Ok(Fault::BadMac),
        _ => Ok(Fault::None),
    }
}

impl Host {
    pub(crate) fn new(config: AcquirerSimConfig) -> Host {
        let clock = config.clock.clone();
        let now = u64::try_from(clock.now()).unwrap_or(0);
        let mut random = SystemRandom::new();
        let mut salt = [0u8; 16];
        // Without the system generator the salt stays fixed: the keys are
        // then merely guessable, which a simulator can live with.
        let _ = random.fill(&mut salt);
        Host {
            salt,
            clock,
            cards: CardDirectory::virtual_cards(),
            terminals: BTreeMap::new(),
            ledger: Vec::new(),
            balances: HashMap::new(),
            prepaid: HashMap::new(),
            answered: HashMap::new(),
            received: Vec::new(),
            duplicates: 0,
            uploads: Vec::new(),
            script_results: Vec::new(),
            scripts: Vec::new(),
            put_data: None,
            // Reference numbers start from the time of day so that a
            // restarted simulator does not hand out the same RRNs again.
            sequence: (now % 1_000_000) * 100_000,
            random,
            config,
        }
    }

    fn account(&self, pan: &str) -> AccountKey {
        AccountKey(poskit_crypto::hash::sha256(
            &[&self.salt[..], pan.as_bytes()].concat(),
        ))
    }

    // ---- the handle's view ----

    pub(crate) fn add_terminal(&mut self, terminal_id: &str, merchant_id: &str, master_key: SymmetricKey) {
        let batch = self.config.first_batch;
        let t = self
            .terminals
            .entry(terminal_id.to_owned())
            .or_insert_with(|| TerminalState {
                merchant_id: merchant_id.to_owned(),
                master_key: master_key.clone(),
                keys: None,
                batch,
                closed_batches: BTreeSet::new(),
            });
        // A new master key (a replaced device) voids the working keys
        // loaded under the old one: the terminal must sign in again.
        if t.master_key != master_key {
            t.keys = None;
        }
        t.merchant_id = merchant_id.to_owned();
        t.master_key = master_key;
    }

    pub(crate) fn ledger(&self, terminal_id: &str) -> Vec<LedgerEntry> {
        self.ledger
            .iter()
            .filter(|e| e.terminal_id == terminal_id)
            .cloned()
            .collect()
    }

    pub(crate) fn totals(&self, terminal_id: &str, batch: u32) -> Totals {
        totals(
            self.ledger
                .iter()
                .filter(|e| e.terminal_id == terminal_id && e.batch == batch),
        )
    }

    pub(crate) fn working_keys(&self, terminal_id: &str) -> Option<WorkingKeys> {
        self.terminals.get(terminal_id)?.keys.clone()
    }

    pub(crate) fn batch(&self, terminal_id: &str) -> Option<u32> {
        Some(self.terminals.get(terminal_id)?.batch)
    }

    pub(crate) fn closed_batches(&self, terminal_id: &str) -> Vec<u32> {
        self.terminals
            .get(terminal_id)
            .map(|t| t.closed_batches.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn uploads(&self, terminal_id: &str) -> Vec<UploadLine> {
        self.uploads
            .iter()
            .filter(|u| u.terminal_id == terminal_id)
            .cloned()
            .collect()
    }

    pub(crate) fn script_results(&self, terminal_id: &str) -> Vec<ScriptResult> {
        self.script_results
            .iter()
            .filter(|s| s.terminal_id == terminal_id)
            .cloned()
            .collect()
    }

    pub(crate) fn set_scripts(&mut self, scripts: Vec<u8>) {
        self.scripts = scripts;
    }

    pub(crate) fn set_put_data(&mut self, script: Option<PutDataScript>) {
        self.put_data = script;
    }

    pub(crate) fn balance(&self, pan: &str) -> u64 {
        self.balances
            .get(&self.account(pan))
            .copied()
            .unwrap_or(self.config.initial_balance)
    }

    pub(crate) fn set_balance(&mut self, pan: &str, amount: u64) {
        self.balances.insert(self.account(pan), amount);
    }

    // ---- requests ----

    /// Answers one packed message (MTI onwards).
    pub(crate) fn handle(&mut self, packed: &[u8]) -> Reply {
        let request = match cup().unpack(packed) {
            Ok(m) => m,
            Err(_) => return format_error_reply(packed),
        };
        self.received.push(request.clone());
        match request.mti.0 {
            800 => self.network_management(&request),
            100 | 200 | 220 | 320 | 400 | 500 | 620 => self.secured(&request, packed),
            _ if request.mti.response().is_some() => {
                let mut m = base_response(&request);
                m.set_text(39, code::NOT_SUPPORTED);
                plain(&m)
            }
            // A response sent to the host: nothing to answer.
            _ => Reply::Close,
        }
    }

    fn now_fields(&self, m: &mut Message) {
        let now = self.clock.now();
        let secs = now.rem_euclid(86_400);
        let date = crate::platform::rules::format_date(self.clock.today());
        let mmdd = format!("{}{}", &date[5..7], &date[8..10]);
        m.set_digits(
            12,
            format!("{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60),
        );
        m.set_digits(13, mmdd.clone());
        if m.mti.0 != 810 {
            m.set_digits(15, mmdd);
        }
        m.set_digits(32, self.config.acquirer_id.clone());
    }

    fn today_mmdd(&self) -> String {
        let date = crate::platform::rules::format_date(self.clock.today());
        format!("{}{}", &date[5..7], &date[8..10])
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence = (self.sequence + 1) % 1_000_000_000_000;
        self.sequence
    }

    fn rrn(&mut self) -> String {
        format!("{:012}", self.next_sequence())
    }

    fn auth_code(&mut self) -> String {
        format!("{:06}", self.next_sequence() % 1_000_000)
    }

    // ---- 0800: sign-in, sign-out, parameter download ----

    fn network_management(&mut self, request: &Message) -> Reply {
        let mut m = base_response(request);
        self.now_fields(&mut m);
        let Some(tid) = terminal_id(request) else {
            m.set_text(39, code::FORMAT_ERROR);
            return plain(&m);
        };
        let Some(t) = self.terminals.get(&tid) else {
            m.set_text(39, code::UNKNOWN_TERMINAL);
            return plain(&m);
        };
        if request.text(42).map(str::trim_end) != Some(t.merchant_id.as_str()) {
            m.set_text(39, code::WRONG_MERCHANT);
            return plain(&m);
        }
        let Ok(f60) = Field60::from_value(request.get(60)) else {
            m.set_text(39, code::FORMAT_ERROR);
            return plain(&m);
        };
        let code = match f60.network_code.as_str() {
            network::SIGN_IN => self.sign_in(&tid, &f60, &mut m),
            network::SIGN_OUT => {
                if let Some(t) = self.terminals.get_mut(&tid) {
                    t.keys = None;
                }
                code::APPROVED
            }
            network::AID_DOWNLOAD => self.parameters(Table::Aids, request, &mut m),
            network::CAPK_DOWNLOAD => self.parameters(Table::CaKeys, request, &mut m),
            _ => code::NOT_SUPPORTED,
        };
        let rrn = self.rrn();
        m.set_text(37, rrn);
        m.set_text(39, code);
        plain(&m)
    }

    fn sign_in(&mut self, tid: &str, f60: &Field60, m: &mut Message) -> &'static str {
        let mut fresh = || -> Option<SymmetricKey> {
            let mut bytes = zeroize::Zeroizing::new([0u8; 16]);
            self.random.fill(&mut bytes[..]).ok()?;
            SymmetricKey::tdes(&bytes[..]).ok()
        };
        let (Some(pin_key), Some(mac_key), Some(track_key)) = (fresh(), fresh(), fresh()) else {
            return code::SYSTEM_ERROR;
        };
        let Some(t) = self.terminals.get_mut(tid) else {
            return code::UNKNOWN_TERMINAL;
        };
        let wrap = |key: &SymmetricKey| {
            poskit_crypto::kcv::wrap_working_key(&t.master_key, key)
                .ok()
                .map(|(encrypted, check_value)| WrappedKey {
                    encrypted,
                    check_value,
                })
        };
        let (Some(p), Some(k), Some(r)) = (wrap(&pin_key), wrap(&mac_key), wrap(&track_key)) else {
            // A master key that cannot wrap 16 bytes (not TDES or AES).
            return code::SYSTEM_ERROR;
        };
        m.set_binary(62, conv::key_block(&[&p, &k, &r]));
        let reply60 = Field60 {
            batch: format!("{:06}", t.batch % 1_000_000),
            ..f60.clone()
        };
        if let Ok(v) = reply60.to_value() {
            m.set(60, v);
        }
        t.keys = Some(WorkingKeys {
            pin_key,
            mac_key,
            track_key,
        });
        code::APPROVED
    }

    /// The continuation rule: the request's field 62, when present, holds
    /// the index (ASCII decimal) of the first record wanted; absent means 0.
    fn parameters(&self, table: Table, request: &Message, m: &mut Message) -> &'static str {
        let start = match request.binary(62) {
            None => 0,
            Some(b) => match std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
            {
                Some(n) => n,
                None => return code::FORMAT_ERROR,
            },
        };
        let records = params::records(&self.config.emv_config, table);
        // Field 62 holds 512 bytes at most, the flag byte included.
        let max = self.config.max_parameter_bytes.clamp(1, 511);
        let (field, _) = params::part(&records, start, max);
        m.set_binary(62, field);
        code::APPROVED
    }

    // ---- MACed requests ----

    fn secured(&mut self, request: &Message, packed: &[u8]) -> Reply {
        let mut m = base_response(request);
        self.now_fields(&mut m);
        let Some(tid) = terminal_id(request) else {
            m.set_text(39, code::FORMAT_ERROR);
            return plain(&m);
        };
        let Some(t) = self.terminals.get(&tid) else {
            m.set_text(39, code::UNKNOWN_TERMINAL);
            return plain(&m);
        };
        let Some(keys) = t.keys.clone() else {
            // Not signed in: no MAC key to check or answer with.
            m.set_text(39, code::MAC_ERROR);
            return plain(&m);
        };
        if !conv::verify(packed, &keys.mac_key) {
            m.set_text(39, code::MAC_ERROR);
            return sealed(m, &keys.mac_key, Fault::None);
        }
        let key = (
            tid.clone(),
            request.digits(11).unwrap_or_default().to_owned(),
            request.mti.0,
            request.digits(13).unwrap_or_default().to_owned(),
        );
        let mut without_mac = request.clone();
        without_mac.remove(64);
        if let Some(cached) = self.answered.get(&key) {
            if cached.request == without_mac {
                // A retransmission: the same answer again, processed once.
                self.duplicates += 1;
                return cached.reply.clone();
            }
            m.set_text(39, code::DUPLICATE);
            return sealed(m, &keys.mac_key, Fault::None);
        }
        if request.text(42).map(str::trim_end) != Some(t.merchant_id.as_str()) {
            m.set_text(39, code::WRONG_MERCHANT);
            return sealed(m, &keys.mac_key, Fault::None);
        }
        let fault = self.process(&tid, &keys, request, &mut m);
        let reply = sealed(m, &keys.mac_key, fault);
        self.answered.insert(
            key,
            Cached {
                request: without_mac,
                reply: reply.clone(),
            },
        );
        reply
    }

    fn process(&mut self, tid: &str, keys: &WorkingKeys, request: &Message, m: &mut Message) -> Fault {
        let Some(stan) = request.digits(11).filter(|s| s.len() == 6).map(str::to_owned) else {
            m.set_text(39, code::FORMAT_ERROR);
            return Fault::None;
        };
        let f60 = match Field60::from_value(request.get(60)) {
            Ok(f) => f,
            Err(_) => {
                m.set_text(39, code::FORMAT_ERROR);
                return Fault::None;
            }
        };
        let batch: u32 = f60.batch.parse().unwrap_or(0);
        let ctx = Ctx {
            tid: tid.to_owned(),
            stan,
            batch,
            date: request
                .digits(13)
                .map_or_else(|| self.today_mmdd(), str::to_owned),
        };
        match request.mti.0 {
            100 | 200 | 220 => {
                let Some(kind) = f60.kind() else {
                    m.set_text(39, code::NOT_SUPPORTED);
                    return Fault::None;
                };
                if kind == TypeCode::Settlement {
                    m.set_text(39, code::NOT_SUPPORTED);
                    return Fault::None;
                }
                if super::request_mti(kind) != request.mti.0 {
                    m.set_text(39, code::FORMAT_ERROR);
                    return Fault::None;
                }
                if kind.is_prepaid() {
                    return self.prepaid(&ctx, kind, keys, request, m);
                }
                self.financial(&ctx, kind, keys, request, m)
            }
            400 => {
                self.reversal(&ctx, &f60, request, m);
                Fault::None
            }
            320 => {
                let code = match f60.network_code.as_str() {
                    network::TC_UPLOAD => self.advice(&ctx, &f60, request),
                    network::SETTLEMENT => self.batch_upload(&ctx, request),
                    network::SETTLEMENT_END => self.settlement_end(&ctx, &f60, m),
                    _ => code::NOT_SUPPORTED,
                };
                m.set_text(39, code);
                Fault::None
            }
            500 => {
                self.settlement(&ctx, request, m);
                Fault::None
            }
            620 => {
                self.script_results.push(ScriptResult {
                    terminal_id: ctx.tid.clone(),
                    stan: ctx.stan.clone(),
                    field55: request.binary(55).unwrap_or_default().to_vec(),
                });
                m.set_text(39, code::APPROVED);
                Fault::None
            }
            _ => {
                m.set_text(39, code::NOT_SUPPORTED);
                Fault::None
            }
        }
    }

    // ---- financial: inquiry, pre-auth and its void, completion and its void, sale, void, refund ----

    fn financial(
        &mut self,
        ctx: &Ctx,
        kind: TypeCode,
        keys: &WorkingKeys,
        request: &Message,
        m: &mut Message,
    ) -> Fault {
        let rrn = self.rrn();
        m.set_text(37, rrn.clone());
        let amount = match kind {
            TypeCode::Inquiry => 0,
            _ => match amount_of(request) {
                Some(a) => a,
                None => {
                    m.set_text(39, code::FORMAT_ERROR);
                    return Fault::None;
                }
            },
        };
        // The original, for the types that act on one.
        let original = match kind {
            TypeCode::Completion
            | TypeCode::Void
            | TypeCode::PreAuthVoid
            | TypeCode::CompletionVoid
            | TypeCode::Refund => match self.find_original(ctx, request) {
                Some(i) => Some(i),
                None => {
                    m.set_text(39, code::NO_ORIGINAL);
                    return Fault::None;
                }
            },
            _ => None,
        };
        // The card: from the request, else (a completion or void keyed
        // without the card) the original's account.
        let pan = pan_of(request);
        if pan.is_none() && original.is_none() {
            m.set_text(39, code::FORMAT_ERROR);
            return Fault::None;
        }
        if let Some(pan) = &pan {
            let Some(card) = self.cards.find(pan) else {
                m.set_text(39, code::UNKNOWN_CARD);
                return Fault::None;
            };
            if let Some(block) = request.binary(52) {
                let entered = Pan::new(pan)
                    .and_then(|p| decrypt_pin_block(&keys.pin_key, PinBlockFormat::Iso0, block, Some(&p)));
                match entered {
                    Ok(pin) if pin.expose_secret() == card.pin => {}
                    Ok(_) => {
                        m.set_text(39, code::WRONG_PIN);
                        return Fault::None;
                    }
                    Err(_) => {
                        m.set_text(39, code::PIN_FORMAT_ERROR);
                        return Fault::None;
                    }
                }
            }
        }
        let icc = request.binary(55).unwrap_or_default();
        let has_cryptogram = poskit_tlv::find(icc, Tag(0x9F26)).ok().flatten().is_some();
        let verified = match (&pan, has_cryptogram) {
            (Some(pan), true) => match self.cards.verify_arqc(pan, icc, request.digits(23)) {
                Some(v) => Some(v),
                None => {
                    m.set_text(39, code::ARQC_FAILED);
                    return Fault::None;
                }
            },
            _ => None,
        };
        // The amount table of the module documentation, for requests that
        // move money of their own; voids carry their original's amount.
        let rule_applies = matches!(
            kind,
            TypeCode::Sale | TypeCode::PreAuth | TypeCode::Completion | TypeCode::Refund
        );
        let mut fault = Fault::None;
        if rule_applies {
            match amount_rule(amount) {
                Ok(f) => fault = f,
                Err(c) => {
                    self.answer_icc(m, verified.as_ref(), pan.as_deref(), c);
                    m.set_text(39, c);
                    return Fault::None;
                }
            }
        }
        let acct = pan
            .as_deref()
            .map(|p| self.account(p))
            .or_else(|| original.and_then(|i| self.ledger[i].account));
        let masked = pan
            .as_deref()
            .map(masked_pan)
            .or_else(|| original.map(|i| self.ledger[i].masked_pan.clone()))
            .unwrap_or_default();
        let current = acct.map_or(self.config.initial_balance, |a| {
            self.balances
                .get(&a)
                .copied()
                .unwrap_or(self.config.initial_balance)
        });
        // Checks against the original.
        if let Some(i) = original {
            let o = &self.ledger[i];
            let fits = match kind {
                TypeCode::Completion => o.kind == TypeCode::PreAuth && o.state == EntryState::Approved,
                TypeCode::Void => o.kind == TypeCode::Sale && o.state == EntryState::Approved,
                TypeCode::PreAuthVoid => o.kind == TypeCode::PreAuth && o.state == EntryState::Approved,
                TypeCode::CompletionVoid => o.kind == TypeCode::Completion && o.state == EntryState::Approved,
                TypeCode::Refund => {
                    matches!(o.kind, TypeCode::Sale | TypeCode::Completion)
                        && matches!(o.state, EntryState::Approved | EntryState::Refunded)
                }
                _ => false,
            };
            if !fits {
                m.set_text(39, code::INVALID_TRANSACTION);
                return Fault::None;
            }
            let amount_ok = match kind {
                TypeCode::Completion => amount <= o.amount.saturating_mul(COMPLETION_PERCENT) / 100,
                TypeCode::Refund => o.refunded_amount.saturating_add(amount) <= o.amount,
                _ => amount == o.amount,
            };
            if !amount_ok {
                m.set_text(39, code::INVALID_AMOUNT);
                return Fault::None;
            }
        }
        let debits = matches!(kind, TypeCode::Sale | TypeCode::Completion);
        if debits && amount > current {
            self.answer_icc(m, verified.as_ref(), pan.as_deref(), code::INSUFFICIENT_FUNDS);
            m.set_text(39, code::INSUFFICIENT_FUNDS);
            return Fault::None;
        }
        // Approved.
        let auth = self.auth_code();
        m.set_text(38, auth.clone());
        m.set_text(39, code::APPROVED);
        self.answer_icc(m, verified.as_ref(), pan.as_deref(), code::APPROVED);
        let original_ref = original.map(|i| EntryRef {
            batch: self.ledger[i].batch,
            stan: self.ledger[i].stan.clone(),
        });
        let mut before = None;
        if let Some(i) = original {
            let o = &mut self.ledger[i];
            before = Some(o.state);
            match kind {
                TypeCode::Completion => o.state = EntryState::Completed,
                TypeCode::Refund => {
                    o.refunded_amount += amount;
                    o.state = EntryState::Refunded;
                }
                _ => o.state = EntryState::Voided,
            }
            // Voiding a completion frees its pre-authorisation again.
            if kind == TypeCode::CompletionVoid {
                if let Some(j) = self.original_of(i) {
                    self.ledger[j].state = EntryState::Approved;
                }
            }
        }
        match kind {
            TypeCode::Sale | TypeCode::Completion => self.move_money(acct, -(amount as i128)),
            TypeCode::Refund | TypeCode::Void | TypeCode::CompletionVoid => {
                self.move_money(acct, amount as i128)
            }
            _ => {}
        }
        if kind == TypeCode::Inquiry {
            let currency = request.text(49).unwrap_or("156");
            let balance = acct.map_or(self.config.initial_balance, |a| {
                self.balances
                    .get(&a)
                    .copied()
                    .unwrap_or(self.config.initial_balance)
            });
            m.set_text(54, balance_field(balance, currency));
        }
        self.ledger.push(LedgerEntry {
            terminal_id: ctx.tid.clone(),
            merchant_id: request.text(42).unwrap_or_default().trim_end().to_owned(),
            batch: ctx.batch,
            stan: ctx.stan.clone(),
            date: ctx.date.clone(),
            kind,
            amount,
            masked_pan: masked,
            rrn,
            auth_code: auth,
            state: EntryState::Approved,
            source: EntrySource::Online,
            original: original_ref,
            refunded_amount: 0,
            tc_advised: false,
            arqc_verified: verified.is_some(),
            account: acct,
            original_state_before: before,
        });
        fault
    }

    /// Field 55 of the answer: 91 when the ARQC verified, and on an
    /// approval the configured issuer scripts, as long as they fit.
    fn answer_icc(&self, m: &mut Message, verified: Option<&VerifiedArqc>, pan: Option<&str>, code: &str) {
        let Some(v) = verified else { return };
        let Some(iad) = v.issuer_authentication_data(code) else {
            return;
        };
        let mut icc = poskit_tlv::encode(Tag(0x91), &iad);
        if code == code::APPROVED {
            let mut scripts = self.scripts.clone();
            if let (Some(script), Some(pan)) = (&self.put_data, pan) {
                scripts.extend(v.put_data(pan, script).unwrap_or_default());
            }
            // Field 55 holds 255 bytes: scripts that do not fit are left out
            // rather than making the answer unpackable.
            if icc.len() + scripts.len() <= 255 {
                icc.extend(scripts);
            }
        }
        m.set_binary(55, icc);
    }

    fn move_money(&mut self, acct: Option<AccountKey>, delta: i128) {
        let Some(a) = acct else { return };
        let initial = self.config.initial_balance;
        let b = self.balances.entry(a).or_insert(initial);
        *b = u64::try_from((*b as i128 + delta).max(0)).unwrap_or(u64::MAX);
    }

    /// The entry an entry acted on (a completion's pre-authorisation).
    fn original_of(&self, i: usize) -> Option<usize> {
        let e = &self.ledger[i];
        let r = e.original.as_ref()?;
        self.ledger
            .iter()
            .position(|o| o.terminal_id == e.terminal_id && o.batch == r.batch && o.stan == r.stan)
    }

    /// The original of a void, completion or refund: by field 61 (batch
    /// and STAN) on this terminal, else by field 37 (RRN) at this merchant.
    fn find_original(&self, ctx: &Ctx, request: &Message) -> Option<usize> {
        if let Ok(f61) = Field61::from_value(request.get(61)) {
            let batch: u32 = f61.original_batch.parse().unwrap_or(u32::MAX);
            let found = self
                .ledger
                .iter()
                .position(|e| e.terminal_id == ctx.tid && e.batch == batch && e.stan == f61.original_stan);
            if found.is_some() {
                return found;
            }
        }
        let rrn = request.text(37)?;
        let merchant = request.text(42)?.trim_end();
        self.ledger
            .iter()
            .position(|e| e.rrn == rrn && e.merchant_id == merchant)
    }

    // ---- 0400 reversal ----

    fn reversal(&mut self, ctx: &Ctx, f60: &Field60, request: &Message, m: &mut Message) {
        m.set_text(39, code::APPROVED);
        let kind = f60.kind();
        let date = request.digits(13);
        let Some(i) = self.ledger.iter().position(|e| {
            e.terminal_id == ctx.tid
                && e.stan == ctx.stan
                && e.batch == ctx.batch
                && kind.is_none_or(|k| k == e.kind)
                && date.is_none_or(|d| d == e.date)
                && e.source == EntrySource::Online
        }) else {
            // Never seen (or declined): acknowledged all the same, so the
            // terminal can stop sending it.
            return;
        };
        if let Some(rrn) = Some(self.ledger[i].rrn.clone()).filter(|r| !r.is_empty()) {
            m.set_text(37, rrn);
        }
        // Only an approved entry is unwound; one already reversed is the
        // idempotent case, and one voided or refunded since must have its
        // void or refund reversed first.
        if self.ledger[i].state != EntryState::Approved {
            return;
        }
        let e = self.ledger[i].clone();
        self.ledger[i].state = EntryState::Reversed;
        let amount = e.amount as i128;
        match e.kind {
            k if k.is_prepaid() => self.reverse_prepaid(&e),
            TypeCode::Sale => self.move_money(e.account, amount),
            TypeCode::Completion => {
                self.move_money(e.account, amount);
                if let Some(j) = self.original_of(i) {
                    self.ledger[j].state = EntryState::Approved;
                }
            }
            TypeCode::Refund => {
                self.move_money(e.account, -amount);
                if let Some(j) = self.original_of(i) {
                    let o = &mut self.ledger[j];
                    o.refunded_amount = o.refunded_amount.saturating_sub(e.amount);
                    if o.refunded_amount == 0 && o.state == EntryState::Refunded {
                        o.state = EntryState::Approved;
                    }
                }
            }
            TypeCode::Void | TypeCode::PreAuthVoid | TypeCode::CompletionVoid => {
                if e.kind != TypeCode::PreAuthVoid {
                    self.move_money(e.account, -amount);
                }
                if let Some(j) = self.original_of(i) {
                    self.ledger[j].state = e.original_state_before.unwrap_or(EntryState::Approved);
                    // The completion is back, so its pre-auth is used again.
                    if e.kind == TypeCode::CompletionVoid {
                        if let Some(k) = self.original_of(j) {
                            self.ledger[k].state = EntryState::Completed;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // ---- 0320: TC / offline advice, batch upload, settlement end ----

    fn advice(&mut self, ctx: &Ctx, f60: &Field60, request: &Message) -> &'static str {
        let kind = f60.kind().unwrap_or(TypeCode::Sale);
        if let Some(e) = self
            .ledger
            .iter_mut()
            .find(|e| e.terminal_id == ctx.tid && e.batch == ctx.batch && e.stan == ctx.stan)
        {
            e.tc_advised = true;
            return code::APPROVED;
        }
        // An offline approval the host learns of now.
        let Some(amount) = amount_of(request) else {
            return code::FORMAT_ERROR;
        };
        let pan = pan_of(request);
        let verified = match (&pan, request.binary(55)) {
            (Some(p), Some(icc)) => self.cards.verify_arqc(p, icc, request.digits(23)).is_some(),
            _ => false,
        };
        let acct = pan.as_deref().map(|p| self.account(p));
        if matches!(kind, TypeCode::Sale | TypeCode::Completion) {
            self.move_money(acct, -(amount as i128));
        }
        let rrn = match request.text(37) {
            Some(r) => r.to_owned(),
            None => self.rrn(),
        };
        self.ledger.push(LedgerEntry {
            terminal_id: ctx.tid.clone(),
            merchant_id: request.text(42).unwrap_or_default().trim_end().to_owned(),
            batch: ctx.batch,
            stan: ctx.stan.clone(),
            date: ctx.date.clone(),
            kind,
            amount,
            masked_pan: pan.as_deref().map(masked_pan).unwrap_or_default(),
            rrn,
            auth_code: String::new(),
            state: EntryState::Approved,
            source: EntrySource::OfflineAdvice,
            original: None,
            refunded_amount: 0,
            tc_advised: true,
            arqc_verified: verified,
            account: acct,
            original_state_before: None,
        });
        code::APPROVED
    }

    fn batch_upload(&mut self, ctx: &Ctx, request: &Message) -> &'static str {
        // Field 62: original STAN (6), type code (2), masked card number.
        let Some(line) = request.binary(62).and_then(|b| std::str::from_utf8(b).ok()) else {
            return code::FORMAT_ERROR;
        };
        if line.len() < 8 || !line[..8].bytes().all(|b| b.is_ascii_digit()) {
            return code::FORMAT_ERROR;
        }
        let (original_stan, kind, masked) = (&line[..6], TypeCode::from_code(&line[6..8]), &line[8..]);
        let Some(amount) = amount_of(request) else {
            return code::FORMAT_ERROR;
        };
        let upload = UploadLine {
            terminal_id: ctx.tid.clone(),
            batch: ctx.batch,
            stan: ctx.stan.clone(),
            original_stan: original_stan.to_owned(),
            kind,
            amount,
            masked_pan: masked.to_owned(),
            rrn: request.text(37).unwrap_or_default().to_owned(),
        };
        // A money-moving transaction the host never heard of joins the
        // ledger: after the upload the terminal's account of the batch
        // stands, as it does at a real acquirer.
        let known = self
            .ledger
            .iter()
            .any(|e| e.terminal_id == ctx.tid && e.batch == ctx.batch && e.stan == original_stan);
        if let Some(k @ (TypeCode::Sale | TypeCode::Completion | TypeCode::Refund | TypeCode::PrepaidPay)) =
            kind
        {
            if !known {
                self.ledger.push(LedgerEntry {
                    terminal_id: ctx.tid.clone(),
                    merchant_id: request.text(42).unwrap_or_default().trim_end().to_owned(),
                    batch: ctx.batch,
                    stan: original_stan.to_owned(),
                    date: ctx.date.clone(),
                    kind: k,
                    amount,
                    masked_pan: masked.to_owned(),
                    rrn: upload.rrn.clone(),
                    auth_code: String::new(),
                    state: EntryState::Approved,
                    source: EntrySource::BatchUpload,
                    original: None,
                    refunded_amount: 0,
                    tc_advised: false,
                    arqc_verified: false,
                    account: None,
                    original_state_before: None,
                });
            }
        }
        self.uploads.push(upload);
        code::APPROVED
    }

    fn close_batch(&mut self, tid: &str, batch: u32) -> u32 {
        let Some(t) = self.terminals.get_mut(tid) else {
            return batch;
        };
        t.closed_batches.insert(batch);
        t.batch = t.batch.max(batch.saturating_add(1) % 1_000_000);
        t.batch
    }

    fn settlement_end(&mut self, ctx: &Ctx, f60: &Field60, m: &mut Message) -> &'static str {
        let next = self.close_batch(&ctx.tid, ctx.batch);
        let reply60 = Field60 {
            batch: format!("{next:06}"),
            ..f60.clone()
        };
        if let Ok(v) = reply60.to_value() {
            m.set(60, v);
        }
        code::APPROVED
    }

    // ---- 0500 settlement ----

    fn settlement(&mut self, ctx: &Ctx, request: &Message, m: &mut Message) {
        let Some(theirs) = request.digits(48).and_then(|d| Field48::unpack(d).ok()) else {
            m.set_text(39, code::FORMAT_ERROR);
            return;
        };
        let ours = self.totals(&ctx.tid, ctx.batch);
        let unreconciled = |t: Totals| Totals { result: 0, ..t };
        // All test cards are domestic: foreign totals must be empty.
        let balanced =
            unreconciled(theirs.domestic) == ours && unreconciled(theirs.foreign) == Totals::default();
        let result = if balanced {
            Totals::BALANCED
        } else {
            Totals::NOT_BALANCED
        };
        let answer = Field48 {
            domestic: Totals {
                result,
                ..theirs.domestic
            },
            foreign: Totals {
                result,
                ..theirs.foreign
            },
        };
        match answer.pack() {
            Ok(d) => m.set_digits(48, d),
            Err(_) => m.set_text(39, code::FORMAT_ERROR),
        };
        if balanced {
            self.close_batch(&ctx.tid, ctx.batch);
        }
        if !m.contains(39) {
            m.set_text(39, code::APPROVED);
        }
    }
}

/// What every MACed request is about.
struct Ctx {
    tid: String,
    stan: String,
    batch: u32,
    date: String,
}

/// The response skeleton: the response MTI and the fields echoed.
fn base_response(request: &Message) -> Message {
    let mti = request
        .mti
        .response()
        .unwrap_or(Mti(request.mti.0.saturating_add(10)));
    let mut m = Message::new(mti.0);
    for (field, value) in request.fields() {
        if matches!(field, 2 | 3 | 4 | 11 | 14 | 22 | 23 | 25 | 41 | 42 | 49 | 60 | 61) {
            m.set(field, value.clone());
        }
    }
    m
}

fn plain(m: &Message) -> Reply {
    match cup().pack(m) {
        Ok(bytes) => Reply::Send(bytes),
        Err(_) => Reply::Close,
    }
}

fn sealed(mut m: Message, mac_key: &SymmetricKey, fault: Fault) -> Reply {
    let packed = match conv::seal(cup(), &mut m, mac_key) {
        Ok(p) => p,
        Err(_) => {
            // An answer that does not pack (it should not happen: every
            // field came from a request that unpacked) becomes a bare 96.
            let mut bare = Message::new(m.mti.0);
            for f in [3, 11, 41, 42, 60] {
                if let Some(v) = m.get(f) {
                    bare.set(f, v.clone());
                }
            }
            bare.set_text(39, code::SYSTEM_ERROR);
            match conv::seal(cup(), &mut bare, mac_key) {
                Ok(p) => p,
                Err(_) => return Reply::Close,
            }
        }
    };
    match fault {
        Fault::None => Reply::Send(packed),
        Fault::Hold => Reply::Hold,
        Fault::BadMac => {
            let mut packed = packed;
            let n = packed.len();
            packed[n - 1] ^= 0x01;
            Reply::Send(packed)
        }
    }
}

/// A message that does not unpack: answered "30" when its MTI is a
/// readable request MTI, so the terminal learns why; otherwise the
/// connection is closed.
fn format_error_reply(packed: &[u8]) -> Reply {
    let Some(&[a, b]) = packed.first_chunk::<2>() else {
        return Reply::Close;
    };
    let digits = [a >> 4, a & 0x0F, b >> 4, b & 0x0F];
    if digits.iter().any(|d| *d > 9) {
        return Reply::Close;
    }
    let mti = digits.iter().fold(0u16, |n, d| n * 10 + u16::from(*d));
    match Mti(mti).response() {
        Some(r) => {
            let mut m = Message::new(r.0);
            m.set_text(39, code::FORMAT_ERROR);
            plain(&m)
        }
        None => Reply::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poskit_iso8583::cup::{CardFields, EntryMode, TerminalIds};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    const TID: &str = "10000001";
    const MID: &str = "898310012345678";

    fn signed_in() -> (Host, WorkingKeys) {
        let mut host = Host::new(AcquirerSimConfig::default());
        host.add_terminal(
            TID,
            MID,
            SymmetricKey::tdes(&[0x11; 16]).unwrap_or_else(|_| unreachable!()),
        );
        let ids = TerminalIds {
            terminal_id: TID.into(),
            merchant_id: MID.into(),
        };
        let mut m = conv::network_management(&ids, 1, 1, network::SIGN_IN, "01").unwrap();
        m.mti = Mti(800);
        assert!(matches!(host.handle(&cup().pack(&m).unwrap()), Reply::Send(_)));
        let keys = host.working_keys(TID).unwrap();
        (host, keys)
    }

    /// A sealed sale, packed: the seed of the mutations.
    fn sale() -> &'static [u8] {
        static SALE: OnceLock<Vec<u8>> = OnceLock::new();
        SALE.get_or_init(|| {
            let (_, keys) = signed_in();
            let ids = TerminalIds {
                terminal_id: TID.into(),
                merchant_id: MID.into(),
            };
            let card = CardFields {
                pan: Some("4761739001010010".into()),
                entry_mode: Some(EntryMode::Manual),
                field55: Some(vec![
                    0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x9F, 0x36, 0x02, 0, 1,
                ]),
                ..CardFields::default()
            };
            let mut m = conv::financial(TypeCode::Sale, &ids, 2, 1, 1_000, &card, None, "156").unwrap();
            m.mti = Mti(200);
            conv::seal(cup(), &mut m, &keys.mac_key).unwrap()
        })
    }

    proptest! {
        #[test]
        fn any_bytes_are_answered_or_refused_without_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (mut host, _) = signed_in();
            let _ = host.handle(&bytes);
        }

        #[test]
        fn a_mutated_request_never_panics(at in 0usize..400, flip in 1u8..=255, cut in 0usize..400) {
            let (mut host, _) = signed_in();
            let mut bytes = sale().to_vec();
            let n = bytes.len();
            bytes[at % n] ^= flip;
            bytes.truncate(n - cut % n);
            let _ = host.handle(&bytes);
        }
    }
}
