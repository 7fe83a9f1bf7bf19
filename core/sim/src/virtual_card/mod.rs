//! Virtual EMV cards: a card application that answers APDUs for real,
//! personalised from a [`Profile`].
//!
//! A [`VirtualCard`] implements [`Card`]: it selects by name (PSE
//! `1PAY.SYS.DDF01` with its directory record, PPSE `2PAY.SYS.DDF01` with
//! the directory in BF0C, AIDs with partial names and P2 = 02 for the next
//! occurrence), and answers GET PROCESSING OPTIONS, READ RECORD, GET DATA
//! (with the PBOC electronic cash balance 9F79, its limit 9F77 and reset
//! threshold 9F6D on profiles with a purse), GET CHALLENGE, VERIFY
//! (plaintext and enciphered PIN), INTERNAL AUTHENTICATE, GENERATE AC
//! (with CDA), EXTERNAL AUTHENTICATE and the issuer script commands, per
//! EMV 4.3 Books 1-3, Visa qVSDC (fDDA),
//! Mastercard M/Chip (CDA) and UnionPay qPBOC. Every response ends with a
//! status word; no command bytes make it panic.
//!
//! # Conventions an issuer host needs
//!
//! **Keys.** The card's AC master key is EMV option A (Book 2 A1.4.1) from
//! the profile's issuer master key, the PAN and the PSN. Each cryptogram
//! uses the EMV common session key (A1.3.1) for its ATC:
//! `poskit_crypto::emv::ac_session_key(mk, atc)`.
//!
//! **Cryptogram.** `application_cryptogram(sk, data)` (ISO 9797-1 MAC
//! algorithm 3, padding method 2, Book 2 A1.2.1) over
//!
//! ```text
//! 9F02 (6) || 9F03 (6) || 9F1A (2) || 95 (5) || 5F2A (2) || 9A (3) ||
//! 9C (1) || 9F37 (4) || 82 (2) || 9F36 (2) || CVR (4)
//! ```
//!
//! The terminal values are those the terminal sent: for the first GENERATE
//! AC from CDOL1 (every CDOL1 here starts with those eight elements), for
//! the second from CDOL2 where it has them and CDOL1 otherwise, for the
//! qVSDC/qPBOC GPO from the PDOL. Absent values count as zeros.
//!
//! **IAD (9F10)**, Visa layout (VIS 1.5 Appendix D): `06 DKI CVN CVR`, 7
//! bytes, CVN = 0A, DKI from the profile, and the CVR as 4 bytes starting
//! with its length 03. The cryptogram covers those 4 CVR bytes (IAD bytes
//! 4-7). The CVR flags follow VIS: byte 2 the AC types of the second
//! (bits 8-7: 00 AAC, 01 TC, 10 not requested) and first (bits 6-5: 00
//! AAC, 01 TC, 10 ARQC) GENERATE AC, issuer authentication failed (bit 4),
//! offline PIN performed (3) and failed (2), unable to go online (1); byte
//! 3 last online transaction not completed (8), PIN try limit exceeded
//! (7), velocity exceeded (6), new card (5), issuer authentication failed
//! last time (4), issuer authentication not performed after an online
//! approval (3), application blocked by the PIN try limit (2); byte 4 the
//! number of secure-messaging script commands (bits 8-5) and script
//! failure (bit 4) of the last transaction, DDA performed (bit 2). The
//! layout is CVN 10's, the MAC is not: CVN 10 proper pads with zeros and
//! keys with the master key.
//!
//! **Issuer authentication.** ARPC method 1 (Book 2 8.2.1): the ARPC is
//! TDES under the *AC session key* of the ARQC's ATC of ARQC XOR (ARC ||
//! 00..00). The card checks it from EXTERNAL AUTHENTICATE (data ARPC ||
//! ARC) or, when CDOL2 asks for 91, from the second GENERATE AC. A failed
//! check answers EXTERNAL AUTHENTICATE with 6300 and makes the second
//! GENERATE AC return an AAC.
//!
//! **Issuer scripts** need secure messaging (CLA 84, PUT DATA 04) and a
//! MAC: the card refuses commands without one. The MAC is 4 bytes, ISO
//! 9797-1 algorithm 3 with padding method 2 under SK_SMI (common session
//! key of MK_SMI with R = ARQC; MK_SMI is option A from the profile's SMI
//! key) over `CLA INS P1 P2 Lc || ATC || ARQC || data`, Lc counting the
//! MAC (Book 2 9.2.1). A wrong MAC answers 6988. PIN CHANGE (84 24 00 02)
//! carries a format 2 PIN block enciphered under SK_SMC (9.3). Supported:
//! APPLICATION BLOCK (84 1E), APPLICATION UNBLOCK (84 18), CARD BLOCK
//! (84 16), PIN UNBLOCK (84 24 00 00), PIN CHANGE (84 24 00 02), PUT DATA
//! (04 DA) of 9F14, 9F23, 9F53, 9F58, 9F59. [`crypto`] has the functions a
//! host uses to build them.
//!
//! **Offline data authentication.** Issuer certificate (format 02) under
//! the scheme's test CA key ([`crate::ca`]), ICC certificate (04) over the
//! signed record SFI 2 record 1 and the AIP; SDA cards also carry 93.
//! DDA signs the INTERNAL AUTHENTICATE data with ICC dynamic data `08 ||
//! 8-byte ICC dynamic number`. CDA (Book 2 6.6) signs `08 || number || CID
//! || AC || transaction data hash`, the hash being SHA-1 over the PDOL
//! data, the CDOL1 data (and CDOL2 data for the second GENERATE AC) and
//! the response's data objects other than 9F4B, in order; the terminal
//! data after it is the unpredictable number. No signature comes with an
//! AAC. fDDA (Visa fDDA version 01, as qPBOC) signs ICC dynamic data `08 ||
//! number || CTQ` followed by the terminal data `9F37 || 9F02 || 5F2A ||
//! 9F69`, where 9F69 = `01 || card unpredictable number (4) || CTQ` comes
//! in the same GPO response.
//!
//! **Card risk management.** The card answers an ARQC request with an
//! ARQC, and an AAC request with an AAC. It gives a TC only when asked and
//! when the amount is within its offline limit, fewer consecutive offline
//! approvals than its limit follow the last online one, the PIN is not
//! blocked and the last online transaction completed with issuer
//! authentication intact; otherwise it asks to go online. The
//! `offline-decline` profile always answers the first GENERATE AC with an
//! AAC. The ATC goes up at each GPO; the last online ATC (9F13) becomes
//! the ATC when an online approval reaches the second GENERATE AC.

mod apdu;
pub(crate) mod certificates;
mod contactless;
pub mod crypto;
mod pin;
pub mod profile;
mod records;
mod script;
mod select;
mod test_keys;
mod transaction;

use std::collections::{BTreeMap, VecDeque};

use poskit_crypto::SymmetricKey;

use crate::card::{Card, CardError};

pub use apdu::Sw;
pub use profile::{
    Application, ContactlessBehaviour, ContactlessKind, ElectronicCash, Interface, OdaMethod, OfflineRisk,
    Profile, Removal, Scheme,
};

use apdu::{Command, respond};
use crypto::{CardRandom, DolData};
use records::Personalisation;

/// The kind of application cryptogram (Book 3 6.5.5.2, CID bits 8-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptogramType {
    Aac,
    Tc,
    Arqc,
}

impl CryptogramType {
    /// From GENERATE AC P1 bits 8-7; 11 is reserved.
    fn requested(p1: u8) -> Option<CryptogramType> {
        match p1 & 0xC0 {
            0x00 => Some(CryptogramType::Aac),
            0x40 => Some(CryptogramType::Tc),
            0x80 => Some(CryptogramType::Arqc),
            _ => None,
        }
    }

    /// Cryptogram information data (9F27).
    pub fn cid(self) -> u8 {
        match self {
            CryptogramType::Aac => 0x00,
            CryptogramType::Tc => 0x40,
            CryptogramType::Arqc => 0x80,
        }
    }
}

/// The last cryptogram the card produced, for tests and the host simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptogramRecord {
    pub kind: CryptogramType,
    pub cryptogram: [u8; 8],
    pub atc: u16,
    /// The exact bytes the MAC covered (module documentation).
    pub input: Vec<u8>,
    /// 0 for a qVSDC/qPBOC GPO, else 1 or 2 for the GENERATE AC.
    pub generate_ac: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Nothing,
    Directory,
    Application(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IssuerAuth {
    NotPerformed,
    Passed,
    Failed,
}

/// What happened in one transaction (from GPO to the next selection).
#[derive(Debug, Clone)]
struct Transaction {
    pdol: DolData,
    cdol1: Option<DolData>,
    first_ac: Option<CryptogramType>,
    second_ac: Option<CryptogramType>,
    arqc: Option<[u8; 8]>,
    /// Completed in the GPO (qVSDC/qPBOC) or by a final cryptogram.
    complete: bool,
    issuer_auth: IssuerAuth,
    external_auth_done: bool,
    online_approved: bool,
    offline_pin_performed: bool,
    offline_pin_failed: bool,
    unable_to_go_online: bool,
    dda_performed: bool,
    scripts_sm: u8,
    script_failed: bool,
}

impl Transaction {
    fn new(pdol: DolData) -> Transaction {
        Transaction {
            pdol,
            cdol1: None,
            first_ac: None,
            second_ac: None,
            arqc: None,
            complete: false,
            issuer_auth: IssuerAuth::NotPerformed,
            external_auth_done: false,
            online_approved: false,
            offline_pin_performed: false,
            offline_pin_failed: false,
            unable_to_go_online: false,
            dda_performed: false,
            scripts_sm: 0,
            script_failed: false,
        }
    }
}

/// What the CVR reports about the previous transaction (VIS CVR byte 3
/// and byte 4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct History {
    online_incomplete: bool,
    issuer_auth_failed: bool,
    issuer_auth_not_performed: bool,
    scripts_sm: u8,
    script_failed: bool,
}

/// A virtual card in a reader.
#[derive(Clone)]
pub struct VirtualCard {
    profile: Profile,
    perso: Personalisation,
    icc_mk: SymmetricKey,
    icc_mk_smi: SymmetricKey,
    icc_mk_smc: SymmetricKey,
    // What the card keeps between transactions.
    atc: u16,
    pin: String,
    pin_tries: u8,
    last_online_atc: u16,
    offline_count: u8,
    app_blocked: bool,
    card_blocked: bool,
    blocked_by_pin: bool,
    put_data: BTreeMap<u32, Vec<u8>>,
    electronic_cash: Option<ElectronicCash>,
    scripts_applied: u32,
    log: VecDeque<Vec<u8>>,
    random: CardRandom,
    history: History,
    // What lives only while the card is powered.
    selected: Selected,
    challenge: Option<[u8; 8]>,
    txn: Option<Transaction>,
    last_cryptogram: Option<CryptogramRecord>,
    commands: u32,
    removed: bool,
    removal_armed: bool,
}

/// Why a profile could not be made into a card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalisationError {
    #[error("profile {0}: the PAN or PSN cannot derive the card keys")]
    Keys(String),
    #[error("profile {0}: the RSA keys do not fit the certificates (Book 2 5.1, 6.1)")]
    Certificates(String),
    #[error("profile {0}: needs at least one application")]
    NoApplication(String),
}

/// A successful answer: data and a status word (9000, or 6283 for a
/// blocked application's FCI).
struct Answer {
    data: Vec<u8>,
    sw: Sw,
}

impl Answer {
    fn ok(data: Vec<u8>) -> Answer {
        Answer { data, sw: Sw::OK }
    }
}

type Reply = Result<Answer, Sw>;

impl std::fmt::Debug for VirtualCard {
    // No PAN, PIN, keys or records: only what a log may show.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("profile", &self.profile)
            .field("atc", &self.atc)
            .field("pin_tries", &self.pin_tries)
            .field("selected", &self.selected)
            .field("removed", &self.removed)
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    /// Personalises a card. Profiles from [`Profile::named`] always work;
    /// hand-made ones can fail when keys or sizes do not fit.
    pub fn new(profile: Profile) -> Result<VirtualCard, PersonalisationError> {
        let name = profile.name.clone();
        if profile.applications.is_empty() {
            return Err(PersonalisationError::NoApplication(name));
        }
        let keys = |imk: &SymmetricKey| {
            crypto::icc_master_key(imk, &profile.pan, profile.psn)
                .map_err(|_| PersonalisationError::Keys(name.clone()))
        };
        let icc_mk = keys(&profile.issuer_master_key)?;
        let icc_mk_smi = keys(&profile.issuer_smi_key)?;
        let icc_mk_smc = keys(&profile.issuer_smc_key)?;
        let perso =
            records::personalise(&profile).ok_or_else(|| PersonalisationError::Certificates(name.clone()))?;
        let mut seed = profile.name.as_bytes().to_vec();
        seed.extend_from_slice(profile.pan.as_bytes());
        Ok(VirtualCard {
            atc: profile.atc_start,
            pin: profile.pin.clone(),
            pin_tries: profile.pin_try_limit,
            last_online_atc: 0,
            offline_count: 0,
            app_blocked: false,
            card_blocked: false,
            blocked_by_pin: false,
            put_data: BTreeMap::new(),
            electronic_cash: profile.electronic_cash,
            scripts_applied: 0,
            log: VecDeque::new(),
            random: CardRandom::seeded(&seed),
            history: History::default(),
            selected: Selected::Nothing,
            challenge: None,
            txn: None,
            last_cryptogram: None,
            commands: 0,
            removed: false,
            removal_armed: true,
            icc_mk,
            icc_mk_smi,
            icc_mk_smc,
            perso,
            profile,
        })
    }

    /// A card from a named profile; `None` for an unknown name.
    pub fn named(name: &str) -> Option<VirtualCard> {
        VirtualCard::new(Profile::named(name)?).ok()
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The issuer master key for application cryptograms, so a host
    /// simulator can verify ARQCs and make ARPCs.
    pub fn issuer_master_key(&self) -> &SymmetricKey {
        &self.profile.issuer_master_key
    }

    /// The card's own AC master key (option A from the issuer's).
    pub fn icc_master_key(&self) -> &SymmetricKey {
        &self.icc_mk
    }

    /// The card's secure-messaging integrity master key (for script MACs).
    pub fn icc_smi_master_key(&self) -> &SymmetricKey {
        &self.icc_mk_smi
    }

    /// The card's secure-messaging confidentiality master key.
    pub fn icc_smc_master_key(&self) -> &SymmetricKey {
        &self.icc_mk_smc
    }

    /// The application transaction counter (9F36).
    pub fn atc(&self) -> u16 {
        self.atc
    }

    /// The PIN try counter (9F17).
    pub fn pin_tries_left(&self) -> u8 {
        self.pin_tries
    }

    /// The last online ATC register (9F13).
    pub fn last_online_atc(&self) -> u16 {
        self.last_online_atc
    }

    /// The electronic cash purse as the card holds it now.
    pub fn electronic_cash(&self) -> Option<ElectronicCash> {
        self.electronic_cash
    }

    /// Sets the purse (a test's way to load it); `None` takes it away.
    pub fn set_electronic_cash(&mut self, purse: Option<ElectronicCash>) {
        self.electronic_cash = purse;
    }

    /// Issuer script commands applied successfully since personalisation.
    pub fn scripts_applied(&self) -> u32 {
        self.scripts_applied
    }

    pub fn is_application_blocked(&self) -> bool {
        self.app_blocked
    }

    pub fn is_card_blocked(&self) -> bool {
        self.card_blocked
    }

    /// The last cryptogram, its type, ATC and input.
    pub fn last_cryptogram(&self) -> Option<&CryptogramRecord> {
        self.last_cryptogram.as_ref()
    }

    /// The bytes the last cryptogram's MAC covered.
    pub fn last_cryptogram_input(&self) -> Option<&[u8]> {
        self.last_cryptogram.as_ref().map(|c| c.input.as_slice())
    }

    /// The AFL and static data to be authenticated, as personalised.
    pub fn afl(&self) -> &[u8] {
        &self.perso.afl
    }

    pub fn static_data_to_authenticate(&self) -> &[u8] {
        &self.perso.static_data
    }

    /// Whether the card has left the reader.
    pub fn removed(&self) -> bool {
        self.removed
    }

    /// Pulls the card out: every exchange fails with [`CardError::Removed`]
    /// until [`VirtualCard::reinsert`].
    pub fn remove(&mut self) {
        self.removed = true;
        self.power_off();
    }

    /// Presents the card again (a new power-up). A `pulled` card leaves
    /// the reader once only, so the next attempt completes.
    pub fn reinsert(&mut self) {
        self.removed = false;
        self.commands = 0;
        self.power_off();
    }

    fn power_off(&mut self) {
        self.close_transaction();
        self.selected = Selected::Nothing;
        self.challenge = None;
    }

    fn removal_due(&self, command: &[u8]) -> bool {
        if !self.removal_armed {
            return false;
        }
        match self.profile.removal {
            Removal::Never => false,
            Removal::AfterCommands(n) => self.commands > n,
            Removal::AtFirstGenerateAc => {
                matches!(command, [0x80, 0xAE, ..]) && self.txn.as_ref().is_some_and(|t| t.first_ac.is_none())
            }
        }
    }

    /// Ends the current transaction and remembers what the next CVR must
    /// report about it.
    fn close_transaction(&mut self) {
        let Some(txn) = self.txn.take() else {
            return;
        };
        let online = txn.first_ac == Some(CryptogramType::Arqc);
        let contact = self.profile.interface == Interface::Contact;
        self.history = History {
            online_incomplete: online && contact && txn.second_ac.is_none(),
            issuer_auth_failed: txn.issuer_auth == IssuerAuth::Failed,
            issuer_auth_not_performed: txn.online_approved
                && txn.issuer_auth == IssuerAuth::NotPerformed
                && self.profile.aip[0] & 0x04 != 0,
            scripts_sm: txn.scripts_sm,
            script_failed: txn.script_failed,
        };
    }

    fn selected_app(&self) -> Option<usize> {
        match self.selected {
            Selected::Application(i) => Some(i),
            _ => None,
        }
    }

    /// Card verification results for the cryptogram about to be made
    /// (module documentation).
    fn cvr(&self, first: CryptogramType, second: Option<CryptogramType>) -> [u8; 4] {
        let mut cvr = [0x03, 0, 0, 0];
        let txn = self.txn.as_ref();
        cvr[1] |= match second {
            None => 0x80,
            Some(CryptogramType::Tc) => 0x40,
            Some(_) => 0x00,
        };
        cvr[1] |= match first {
            CryptogramType::Aac => 0x00,
            CryptogramType::Tc => 0x10,
            CryptogramType::Arqc => 0x20,
        };
        if let Some(t) = txn {
            if t.issuer_auth == IssuerAuth::Failed {
                cvr[1] |= 0x08;
            }
            if t.offline_pin_performed {
                cvr[1] |= 0x04;
            }
            if t.offline_pin_failed {
                cvr[1] |= 0x02;
            }
            if t.unable_to_go_online {
                cvr[1] |= 0x01;
            }
            if t.dda_performed {
                cvr[3] |= 0x02;
            }
        }
        let h = self.history;
        if h.online_incomplete {
            cvr[2] |= 0x80;
        }
        if self.pin_tries == 0 {
            cvr[2] |= 0x40;
        }
        if self.offline_count >= self.profile.offline.consecutive_limit {
            cvr[2] |= 0x20;
        }
        if self.last_online_atc == 0 {
            cvr[2] |= 0x10;
        }
        if h.issuer_auth_failed {
            cvr[2] |= 0x08;
        }
        if h.issuer_auth_not_performed {
            cvr[2] |= 0x04;
        }
        if self.blocked_by_pin {
            cvr[2] |= 0x02;
        }
        cvr[3] |= h.scripts_sm.min(15) << 4;
        if h.script_failed {
            cvr[3] |= 0x08;
        }
        cvr
    }

    /// The answer to one command APDU, status word included.
    fn process(&mut self, bytes: &[u8]) -> Vec<u8> {
        let reply = match Command::parse(bytes) {
            Ok(command) => self.dispatch(&command),
            Err(sw) => Err(sw),
        };
        match reply {
            Ok(answer) => respond(&answer.data, answer.sw),
            Err(sw) => respond(&[], sw),
        }
    }

    fn dispatch(&mut self, cmd: &Command<'_>) -> Reply {
        // The class each instruction is defined with (Book 3 6.5; scripts
        // with secure messaging, Book 3 6.5 and Book 2 9.2).
        let class = match cmd.ins {
            0xA4 | 0xB2 | 0x84 | 0x20 | 0x88 | 0x82 => 0x00,
            0xA8 | 0xAE | 0xCA => 0x80,
            0x1E | 0x18 | 0x16 | 0x24 => 0x84,
            0xDA => 0x04,
            _ => {
                return Err(if matches!(cmd.cla, 0x00 | 0x80 | 0x84 | 0x04) {
                    Sw::INS_NOT_SUPPORTED
                } else {
                    Sw::CLA_NOT_SUPPORTED
                });
            }
        };
        if cmd.cla != class {
            return Err(Sw::CLA_NOT_SUPPORTED);
        }
        match cmd.ins {
            0xA4 => self.select(cmd),
            0xB2 => self.read_record(cmd),
            0xCA => self.get_data(cmd),
            0x84 => self.get_challenge(cmd),
            0xA8 => self.get_processing_options(cmd),
            0xAE => self.generate_ac(cmd),
            0x88 => self.internal_authenticate(cmd),
            0x82 => self.external_authenticate(cmd),
            0x20 => self.verify(cmd),
            _ => self.issuer_script(cmd),
        }
    }
}

impl Card for VirtualCard {
    fn transceive(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.removed {
            return Err(CardError::Removed);
        }
        self.commands = self.commands.saturating_add(1);
        if self.removal_due(command) {
            self.removal_armed = false;
            self.remove();
            return Err(CardError::Removed);
        }
        Ok(self.process(command))
    }
}

#[cfg(test)]
mod tests;
