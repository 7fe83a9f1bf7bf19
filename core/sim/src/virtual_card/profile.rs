//! Card profiles: everything an issuer personalises into a card
//! application, and the named test cards built from them.
//!
//! A profile is the input of a data-preparation step: the records, the
//! AFL, the certificates and the static data to be authenticated are
//! derived from it when a [`VirtualCard`](super::VirtualCard) is made
//! (see `records.rs`), as a personalisation bureau derives them from an
//! issuer's card order.

use std::fmt;

use poskit_crypto::SymmetricKey;

use crate::ca::{
    self, MASTERCARD_APP_VERSION, REVOKED_ISSUER_CERT_SERIAL, RID_MASTERCARD, RID_UNIONPAY, RID_VISA,
    UNIONPAY_APP_VERSION, VISA_APP_VERSION,
};
use crate::rsa_key::{RsaKeyPair, decode_hex as h};

use super::test_keys;

/// The payment scheme, which fixes the RID and the test CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Visa,
    Mastercard,
    UnionPay,
}

impl Scheme {
    pub fn rid(self) -> [u8; 5] {
        match self {
            Scheme::Visa => RID_VISA,
            Scheme::Mastercard => RID_MASTERCARD,
            Scheme::UnionPay => RID_UNIONPAY,
        }
    }
}

/// How the card talks to the reader. A contact card offers the PSE, a
/// contactless one the PPSE (Book 1 12.2, Book B 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Contact,
    Contactless,
}

/// The offline data authentication the card supports at its best, as the
/// AIP announces it (Book 3 C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdaMethod {
    None,
    Sda,
    Dda,
    Cda,
    /// Fast DDA: the contactless signature in the GPO response (Visa
    /// qVSDC, UnionPay qPBOC).
    Fdda,
}

/// The contactless path the card implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactlessKind {
    /// Visa quick VSDC (Book C-3): the cryptogram comes in the GPO response.
    Qvsdc,
    /// UnionPay QuickPass (qPBOC, JR/T 0025.12): like qVSDC.
    Qpboc,
    /// Mastercard M/Chip (Book C-2): GPO, READ RECORD, GENERATE AC with CDA.
    MChip,
}

/// Contactless behaviour of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactlessBehaviour {
    pub kind: ContactlessKind,
    /// Card Transaction Qualifiers (9F6C) before the card adds its CVM
    /// request: byte 1 bit 6 "go online if ODA fails".
    pub ctq: [u8; 2],
    /// Above this amount (minor units) the card asks to go online itself.
    pub offline_limit: u64,
    /// At or above this amount the card asks for a CVM in the CTQ.
    pub cvm_limit: u64,
}

/// Card risk management for offline approvals (the card's half of Book 3
/// 10.6; the thresholds are issuer choices, like the VIS velocity limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineRisk {
    /// A TC is given only for amounts up to this (minor units).
    pub amount_limit: u64,
    /// ... and only while fewer offline approvals than this follow the last
    /// online one (the lower consecutive offline limit, 9F14).
    pub consecutive_limit: u8,
}

/// PBOC electronic cash (JR/T 0025): the offline purse inside a UnionPay
/// debit or credit application, read with GET DATA. Amounts in minor
/// units; the card answers them as n12 (6 BCD bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectronicCash {
    /// 9F79: what the purse holds.
    pub balance: u64,
    /// 9F77: the most it may hold.
    pub balance_limit: u64,
    /// 9F6D: below this balance the issuer reloads it (automatic top-up).
    pub reset_threshold: u64,
}

/// When the card leaves the reader on its own (the `pulled` profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Never,
    /// The cardholder pulls the card as the first GENERATE AC is sent.
    AtFirstGenerateAc,
    /// After this many commands have been answered.
    AfterCommands(u32),
}

/// One application (ADF) the card offers. All of a profile's applications
/// share its data; they differ in name, label and priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub aid: Vec<u8>,
    /// 50, up to 16 characters.
    pub label: String,
    /// 87: 1 is the highest; bit 8 set means "ask the cardholder".
    pub priority: u8,
}

/// Everything personalised into a virtual card.
///
/// `Debug` shows the PAN masked and never the PIN or keys (DESIGN rule 5),
/// test card or not.
#[derive(Clone)]
pub struct Profile {
    pub name: String,
    pub scheme: Scheme,
    pub interface: Interface,
    pub applications: Vec<Application>,
    /// 5F2D, e.g. "zhen".
    pub language: String,
    /// 5F20.
    pub cardholder_name: String,
    /// 5A, digits.
    pub pan: String,
    /// 5F34, two BCD digits in one byte.
    pub psn: u8,
    /// 5F24 and 5F25, YYMMDD in BCD.
    pub expiry: [u8; 3],
    pub effective: [u8; 3],
    /// 5F30, three digits in two BCD bytes (e.g. 02 01 for 201).
    pub service_code: [u8; 2],
    /// 5F28 and 9F42, ISO numeric in BCD.
    pub issuer_country: [u8; 2],
    pub currency: [u8; 2],
    /// 82.
    pub aip: [u8; 2],
    /// 9F38, 8C, 8D, 9F49: tag and length lists (empty: absent).
    pub pdol: Vec<u8>,
    pub cdol1: Vec<u8>,
    pub cdol2: Vec<u8>,
    pub ddol: Vec<u8>,
    /// 8E: amount X, amount Y, then the CV rules.
    pub cvm_list: Vec<u8>,
    /// 9F0D, 9F0E, 9F0F.
    pub iac_default: [u8; 5],
    pub iac_denial: [u8; 5],
    pub iac_online: [u8; 5],
    /// 9F07.
    pub auc: [u8; 2],
    /// 9F08.
    pub app_version: [u8; 2],
    /// The reference PIN for offline verification.
    pub pin: String,
    /// PIN try limit (the counter's initial value, 9F17).
    pub pin_try_limit: u8,
    /// ATC before the first transaction.
    pub atc_start: u16,
    /// Issuer master keys (TDES) from which the card's own keys are
    /// derived by EMV option A with the PAN and PSN (Book 2 A1.4.1): for
    /// application cryptograms, secure-messaging integrity (script MACs)
    /// and secure-messaging confidentiality (enciphered PIN changes).
    pub issuer_master_key: SymmetricKey,
    pub issuer_smi_key: SymmetricKey,
    pub issuer_smc_key: SymmetricKey,
    /// Derivation key index in the IAD.
    pub derivation_key_index: u8,
    /// 8F: the test CA key that certifies the issuer key.
    pub ca_index: u8,
    pub issuer_key: RsaKeyPair,
    pub issuer_cert_serial: [u8; 3],
    /// MMYY in BCD.
    pub issuer_cert_expiry: [u8; 2],
    pub icc_key: RsaKeyPair,
    pub icc_cert_serial: [u8; 3],
    pub icc_cert_expiry: [u8; 2],
    /// Data authentication code in the signed static data (SDA).
    pub data_authentication_code: [u8; 2],
    pub offline: OfflineRisk,
    pub contactless: Option<ContactlessBehaviour>,
    /// The electronic cash purse (UnionPay profiles); `None` answers GET
    /// DATA of its tags with 6A88.
    pub electronic_cash: Option<ElectronicCash>,
    /// Special behaviours for the test profiles.
    pub decline_offline: bool,
    pub damaged_issuer_certificate: bool,
    pub removal: Removal,
}

/// The names [`Profile::named`] knows.
pub const PROFILE_NAMES: [&str; 12] = [
    "visa-contact",
    "visa-contactless",
    "mastercard-contact",
    "mastercard-contactless",
    "unionpay-contact",
    "unionpay-qpboc",
    "expired",
    "revoked-capk",
    "bad-cert",
    "offline-decline",
    "online-pin",
    "pulled",
];

// Terminal data every cryptogram covers, first in every CDOL1 (module doc
// of `virtual_card`): 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37.
const CDOL_CORE: &str = "9F02069F03069F1A0295055F2A029A039C019F3704";
// Contactless PDOL of Visa qVSDC and UnionPay qPBOC: TTQ then the same
// eight elements, so the GPO response can carry the cryptogram.
const QUICK_PDOL: &str = "9F66049F02069F03069F1A0295055F2A029A039C019F3704";

const VISA_AID: &str = "A0000000031010";
const MASTERCARD_AID: &str = "A0000000041010";
const UNIONPAY_DEBIT_AID: &str = "A000000333010101";
const UNIONPAY_CREDIT_AID: &str = "A000000333010102";

fn tdes(hex: &str) -> SymmetricKey {
    SymmetricKey::tdes(&h(hex)).expect("embedded test keys are 16 bytes")
}

fn fixed<const N: usize>(hex: &str) -> [u8; N] {
    h(hex).try_into().expect("embedded constant has its length")
}

fn app(aid: &str, label: &str, priority: u8) -> Application {
    Application {
        aid: h(aid),
        label: label.to_string(),
        priority,
    }
}

fn cat(parts: &[&str]) -> Vec<u8> {
    h(&parts.concat())
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("scheme", &self.scheme)
            .field("interface", &self.interface)
            .field("pan", &masked_pan(&self.pan))
            .field("oda", &self.oda_method())
            .finish_non_exhaustive()
    }
}

/// First six and last four digits, the rest hidden.
pub fn masked_pan(pan: &str) -> String {
    pan.char_indices()
        .map(|(i, c)| if i < 6 || i + 4 >= pan.len() { c } else { '*' })
        .collect()
}

impl Profile {
    /// A profile by name; see [`Profile::names`].
    pub fn named(name: &str) -> Option<Profile> {
        let profile = match name {
            "visa-contact" => visa_contact(),
            "visa-contactless" => visa_contactless(),
            "mastercard-contact" => mastercard_contact(),
            "mastercard-contactless" => mastercard_contactless(),
            "unionpay-contact" => unionpay_contact(),
            "unionpay-qpboc" => unionpay_qpboc(),
            "expired" => expired(),
            "revoked-capk" => revoked_capk(),
            "bad-cert" => bad_cert(),
            "offline-decline" => offline_decline(),
            "online-pin" => online_pin(),
            "pulled" => pulled(),
            _ => return None,
        };
        Some(profile)
    }

    /// Every profile name, in a stable order.
    pub fn names() -> &'static [&'static str] {
        &PROFILE_NAMES
    }

    /// The strongest offline data authentication the AIP offers.
    pub fn oda_method(&self) -> OdaMethod {
        let quick = matches!(
            self.contactless.map(|c| c.kind),
            Some(ContactlessKind::Qvsdc | ContactlessKind::Qpboc)
        );
        match self.aip[0] {
            b if b & 0x01 != 0 => OdaMethod::Cda,
            b if b & 0x20 != 0 && quick => OdaMethod::Fdda,
            b if b & 0x20 != 0 => OdaMethod::Dda,
            b if b & 0x40 != 0 => OdaMethod::Sda,
            _ => OdaMethod::None,
        }
    }

    /// Whether the card is personalised with an ICC key pair.
    pub fn has_icc_key(&self) -> bool {
        self.aip[0] & 0x21 != 0
    }

    /// Whether the card carries signed static application data (93).
    pub fn has_sda(&self) -> bool {
        self.aip[0] & 0x40 != 0
    }

    pub fn rid(&self) -> [u8; 5] {
        self.scheme.rid()
    }

    /// The CA key pair that certifies this card's issuer key.
    pub fn ca_key_pair(&self) -> Option<RsaKeyPair> {
        ca::ca_key_pair(&self.rid())
    }
}

fn visa_contact() -> Profile {
    Profile {
        name: "visa-contact".into(),
        scheme: Scheme::Visa,
        interface: Interface::Contact,
        applications: vec![app(VISA_AID, "VISA CREDIT", 1)],
        language: "zhen".into(),
        cardholder_name: "VISA TEST/CARD".into(),
        pan: "4761739001010010".into(),
        psn: 0x01,
        expiry: [0x30, 0x12, 0x31],
        effective: [0x20, 0x01, 0x01],
        service_code: [0x02, 0x01],
        issuer_country: [0x01, 0x56],
        currency: [0x01, 0x56],
        // DDA, cardholder verification, terminal risk management, issuer
        // authentication (Book 3 C1).
        aip: [0x3C, 0x00],
        // Terminal country, for the card's domestic/international checks.
        pdol: h("9F1A02"),
        cdol1: cat(&[CDOL_CORE, "9F35019F45029F4C089F3403"]),
        // No 91: Visa cards here authenticate the issuer by EXTERNAL
        // AUTHENTICATE (Book 3 10.9).
        cdol2: cat(&["8A02", CDOL_CORE]),
        ddol: h("9F3704"),
        // Enciphered offline PIN, plaintext offline PIN, online PIN,
        // signature, no CVM; each "if the terminal supports it", each
        // failing over to the next (Book 3 C3).
        cvm_list: h("00000000000000004403410342035E031F03"),
        iac_default: fixed("F040009800"),
        iac_denial: fixed("0010000000"),
        iac_online: fixed("F040049800"),
        auc: [0xFF, 0x00],
        app_version: VISA_APP_VERSION,
        pin: "1234".into(),
        pin_try_limit: 3,
        atc_start: 0x0010,
        issuer_master_key: tdes("3F2B98BD6823BC03A2A3A359DC0D44FA"),
        issuer_smi_key: tdes("6308E90F44E3F6545501E3CD84365344"),
        issuer_smc_key: tdes("CCB3858549F62F161D163E85B2FAE762"),
        derivation_key_index: 0x01,
        ca_index: ca::TEST_CA_INDEX,
        issuer_key: RsaKeyPair::from_hex(&test_keys::ISSUER_VISA),
        issuer_cert_serial: [0x00, 0x00, 0x01],
        issuer_cert_expiry: [0x12, 0x45],
        icc_key: RsaKeyPair::from_hex(&test_keys::ICC_VISA),
        icc_cert_serial: [0x00, 0x10, 0x01],
        icc_cert_expiry: [0x12, 0x30],
        data_authentication_code: [0xDA, 0xC1],
        offline: OfflineRisk {
            amount_limit: 5_000,
            consecutive_limit: 5,
        },
        contactless: None,
        electronic_cash: None,
        decline_offline: false,
        damaged_issuer_certificate: false,
        removal: Removal::Never,
    }
}

fn visa_contactless() -> Profile {
    Profile {
        name: "visa-contactless".into(),
        interface: Interface::Contactless,
        applications: vec![app(VISA_AID, "VISA PAYWAVE", 1)],
        pan: "4761739001010028".into(),
        // The DDA bit announces fDDA (Book C-3); cardholder verification
        // goes through the CTQ instead of the CVM list.
        aip: [0x20, 0x00],
        pdol: h(QUICK_PDOL),
        cvm_list: h("000000000000000042035E031F03"),
        icc_cert_serial: [0x00, 0x10, 0x02],
        contactless: Some(ContactlessBehaviour {
            kind: ContactlessKind::Qvsdc,
            ctq: [0x20, 0x00],
            offline_limit: 30_000,
            cvm_limit: 100_000,
        }),
        ..visa_contact()
    }
}

fn mastercard_contact() -> Profile {
    Profile {
        name: "mastercard-contact".into(),
        scheme: Scheme::Mastercard,
        interface: Interface::Contact,
        applications: vec![app(MASTERCARD_AID, "MASTERCARD", 1)],
        language: "enzh".into(),
        cardholder_name: "MC TEST/CARD".into(),
        pan: "5413330089020011".into(),
        psn: 0x00,
        expiry: [0x29, 0x06, 0x30],
        effective: [0x21, 0x07, 0x01],
        // DDA, cardholder verification, terminal risk management, issuer
        // authentication, CDA.
        aip: [0x3D, 0x00],
        // M/Chip cards commonly have no PDOL: GPO carries 83 00.
        pdol: Vec::new(),
        cdol1: cat(&[CDOL_CORE, "9F35019F45029F4C089F34039F2103"]),
        // Issuer authentication data travels in the second GENERATE AC.
        cdol2: h("910A8A0295059F37049F4C08"),
        ddol: h("9F3704"),
        cvm_list: h("0000000000000000410342035E031F03"),
        iac_default: fixed("B450840000"),
        iac_denial: fixed("0000000000"),
        iac_online: fixed("B470848000"),
        app_version: MASTERCARD_APP_VERSION,
        pin: "4315".into(),
        atc_start: 0x0100,
        issuer_master_key: tdes("E689C9D7C14D1C47011FFAC084B5E26C"),
        issuer_smi_key: tdes("5E87F9D8AF925131AFBE3B1C465AB342"),
        issuer_smc_key: tdes("7144DB2240E267381FD556B0613C95EF"),
        issuer_key: RsaKeyPair::from_hex(&test_keys::ISSUER_MASTERCARD),
        issuer_cert_serial: [0x00, 0x00, 0x02],
        icc_key: RsaKeyPair::from_hex(&test_keys::ICC_MASTERCARD),
        icc_cert_serial: [0x00, 0x20, 0x01],
        data_authentication_code: [0xDA, 0xC2],
        ..visa_contact()
    }
}

fn mastercard_contactless() -> Profile {
    Profile {
        name: "mastercard-contactless".into(),
        interface: Interface::Contactless,
        applications: vec![app(MASTERCARD_AID, "MASTERCARD", 1)],
        pan: "5413330089020029".into(),
        // Cardholder verification, terminal risk management, CDA; byte 2:
        // EMV mode supported (Book C-2).
        aip: [0x19, 0x80],
        // Terminal type, so the card can tell attended from unattended.
        pdol: h("9F3501"),
        cvm_list: h("000000000000000042031F03"),
        icc_cert_serial: [0x00, 0x20, 0x02],
        contactless: Some(ContactlessBehaviour {
            kind: ContactlessKind::MChip,
            ctq: [0x00, 0x00],
            offline_limit: 30_000,
            cvm_limit: 100_000,
        }),
        ..mastercard_contact()
    }
}

fn unionpay_contact() -> Profile {
    Profile {
        name: "unionpay-contact".into(),
        scheme: Scheme::UnionPay,
        interface: Interface::Contact,
        // One chip, two accounts: debit first. Both share the data here.
        applications: vec![
            app(UNIONPAY_DEBIT_AID, "UnionPay Debit", 1),
            app(UNIONPAY_CREDIT_AID, "UnionPay Credit", 2),
        ],
        language: "zhen".into(),
        cardholder_name: "ZHANG/SAN".into(),
        pan: "6230580000000000013".into(),
        psn: 0x00,
        expiry: [0x31, 0x08, 0x31],
        effective: [0x21, 0x09, 0x01],
        service_code: [0x02, 0x20],
        // SDA and DDA, cardholder verification, terminal risk management,
        // issuer authentication: the terminal picks DDA.
        aip: [0x7C, 0x00],
        // Electronic cash terminal support indicator, amount, currency, as
        // PBOC cards ask for them.
        pdol: h("9F7A019F02065F2A02"),
        cdol1: cat(&[CDOL_CORE, "9F21039F4E14"]),
        cdol2: cat(&["8A02910A", CDOL_CORE, "9F2103"]),
        ddol: h("9F3704"),
        cvm_list: h("0000000000000000410342031E031F03"),
        iac_default: fixed("D84000A800"),
        iac_denial: fixed("0010000000"),
        iac_online: fixed("D84004F800"),
        app_version: UNIONPAY_APP_VERSION,
        pin: "123456".into(),
        atc_start: 0x0001,
        issuer_master_key: tdes("268D9C45C4BB015DB345892ADFAB3078"),
        issuer_smi_key: tdes("41EBB23D2AC6BECE8C2D0AF064F32BC6"),
        issuer_smc_key: tdes("7AE06A52426044B663A19E85D669EF11"),
        issuer_key: RsaKeyPair::from_hex(&test_keys::ISSUER_UNIONPAY),
        issuer_cert_serial: [0x00, 0x00, 0x03],
        icc_key: RsaKeyPair::from_hex(&test_keys::ICC_UNIONPAY),
        icc_cert_serial: [0x00, 0x30, 0x01],
        data_authentication_code: [0xDA, 0xC3],
        // 500.00 in the purse, 1,000.00 at most, reloaded below 100.00.
        electronic_cash: Some(ElectronicCash {
            balance: 50_000,
            balance_limit: 100_000,
            reset_threshold: 10_000,
        }),
        ..visa_contact()
    }
}

fn unionpay_qpboc() -> Profile {
    Profile {
        name: "unionpay-qpboc".into(),
        interface: Interface::Contactless,
        applications: vec![app(UNIONPAY_CREDIT_AID, "UnionPay Credit", 1)],
        pan: "6250940000000001".into(),
        psn: 0x01,
        aip: [0x20, 0x00],
        pdol: h(QUICK_PDOL),
        cvm_list: h("000000000000000042031F03"),
        icc_cert_serial: [0x00, 0x30, 0x02],
        contactless: Some(ContactlessBehaviour {
            kind: ContactlessKind::Qpboc,
            ctq: [0x20, 0x00],
            offline_limit: 30_000,
            cvm_limit: 100_000,
        }),
        ..unionpay_contact()
    }
}

fn expired() -> Profile {
    Profile {
        name: "expired".into(),
        pan: "4761739001010036".into(),
        // Application expiration date 2023-12-31: processing restrictions
        // (Book 3 10.4.3) set "expired application" in the TVR.
        expiry: [0x23, 0x12, 0x31],
        effective: [0x20, 0x01, 0x01],
        icc_cert_serial: [0x00, 0x10, 0x03],
        ..visa_contact()
    }
}

fn revoked_capk() -> Profile {
    Profile {
        name: "revoked-capk".into(),
        pan: "5413330089020037".into(),
        // On the test configuration's revocation list (Book 2 5.3 step 10).
        issuer_cert_serial: REVOKED_ISSUER_CERT_SERIAL,
        icc_cert_serial: [0x00, 0x20, 0x03],
        ..mastercard_contact()
    }
}

fn bad_cert() -> Profile {
    Profile {
        name: "bad-cert".into(),
        pan: "6230580000000000021".into(),
        // The issuer certificate recovers, but its hash does not match
        // (Book 2 5.3 step 7 fails).
        damaged_issuer_certificate: true,
        icc_cert_serial: [0x00, 0x30, 0x03],
        ..unionpay_contact()
    }
}

fn offline_decline() -> Profile {
    Profile {
        name: "offline-decline".into(),
        pan: "4761739001010044".into(),
        decline_offline: true,
        icc_cert_serial: [0x00, 0x10, 0x04],
        ..visa_contact()
    }
}

fn online_pin() -> Profile {
    Profile {
        name: "online-pin".into(),
        applications: vec![app(UNIONPAY_DEBIT_AID, "UnionPay Debit", 1)],
        pan: "6230580000000000039".into(),
        // Online enciphered PIN first, then signature, then no CVM.
        cvm_list: h("000000000000000042031E031F03"),
        icc_cert_serial: [0x00, 0x30, 0x04],
        ..unionpay_contact()
    }
}

fn pulled() -> Profile {
    Profile {
        name: "pulled".into(),
        pan: "5413330089020045".into(),
        removal: Removal::AtFirstGenerateAc,
        icc_cert_serial: [0x00, 0x20, 0x04],
        ..mastercard_contact()
    }
}
