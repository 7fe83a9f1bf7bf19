//! Kernel configuration: terminal parameters, the AID table, CA public keys
//! with their revocation list, and the exception (hot card) list.
//!
//! Parsed from JSON text (the terminal reads the file or downloads it; the
//! kernel does no I/O) and replaceable between transactions: a kernel holds
//! an `Arc<Config>` taken when the transaction starts.

use serde::{Deserialize, Serialize};

use crate::hexser;

/// What went wrong loading a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is not valid JSON for the kernel: {0}")]
    Json(String),
    #[error("CA public key {rid} index {index:02X}: {reason}")]
    CaKey { rid: String, index: u8, reason: String },
    #[error("AID {aid}: {reason}")]
    Aid { aid: String, reason: String },
    #[error("terminal parameters: {0}")]
    Terminal(String),
}

/// The terminal's own data elements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalParams {
    /// 9F35, e.g. 22 (attended, merchant, online with offline capability).
    pub terminal_type: u8,
    /// 9F33.
    #[serde(with = "hexser::fixed")]
    pub capabilities: [u8; 3],
    /// 9F40.
    #[serde(with = "hexser::fixed")]
    pub additional_capabilities: [u8; 5],
    /// 9F1A, ISO 3166 numeric in BCD (China: 0156).
    #[serde(with = "hexser::fixed")]
    pub country_code: [u8; 2],
    /// 5F2A, ISO 4217 numeric in BCD (CNY: 0156).
    #[serde(with = "hexser::fixed")]
    pub currency_code: [u8; 2],
    /// 5F36.
    #[serde(default = "two")]
    pub currency_exponent: u8,
    /// 9F15.
    #[serde(with = "hexser::fixed", default = "zero2")]
    pub merchant_category_code: [u8; 2],
    /// 9F16, up to 15 characters.
    #[serde(default)]
    pub merchant_id: String,
    /// 9F1C, up to 8 characters.
    #[serde(default)]
    pub terminal_id: String,
    /// 9F1E, 8 characters.
    #[serde(default)]
    pub ifd_serial: String,
    /// 9F4E.
    #[serde(default)]
    pub merchant_name_location: String,
    /// 9F66, terminal transaction qualifiers for contactless (Visa, qPBOC).
    #[serde(with = "hexser::fixed", default = "default_ttq")]
    pub ttq: [u8; 4],
}

fn two() -> u8 {
    2
}
fn zero2() -> [u8; 2] {
    [0, 0]
}
fn default_ttq() -> [u8; 4] {
    // qVSDC, online capable, online PIN, signature, ODA for online
    // authorisations, CVM required when the card asks.
    [0x36, 0x00, 0x40, 0x80]
}

/// Contactless limits for one AID (EMV Book B pre-processing), in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactlessLimits {
    /// Above it the contactless transaction is not allowed.
    pub transaction_limit: u64,
    /// Above it the transaction must go online.
    pub floor_limit: u64,
    /// At or above it a CVM is required.
    pub cvm_limit: u64,
}

/// One entry of the AID table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AidParams {
    #[serde(with = "hexser")]
    pub aid: Vec<u8>,
    /// Shown when the card gives no label.
    #[serde(default)]
    pub name: String,
    /// Partial selection allowed (Book 1 12.3.1): the card's AID may be
    /// longer than this one.
    #[serde(default)]
    pub partial_selection: bool,
    /// 9F09, the terminal's application version number.
    #[serde(with = "hexser::fixed")]
    pub app_version: [u8; 2],
    #[serde(with = "hexser::fixed")]
    pub tac_default: [u8; 5],
    #[serde(with = "hexser::fixed")]
    pub tac_denial: [u8; 5],
    #[serde(with = "hexser::fixed")]
    pub tac_online: [u8; 5],
    /// Terminal floor limit (9F1B) in minor units.
    pub floor_limit: u64,
    /// Random transaction selection (Book 3 10.6.2): target percentage,
    /// maximum target percentage and threshold value in minor units.
    #[serde(default)]
    pub target_percent: u8,
    #[serde(default)]
    pub max_target_percent: u8,
    #[serde(default)]
    pub threshold: u64,
    #[serde(with = "hexser", default)]
    pub default_ddol: Vec<u8>,
    #[serde(with = "hexser", default)]
    pub default_tdol: Vec<u8>,
    /// Present when the AID is accepted contactless.
    #[serde(default)]
    pub contactless: Option<ContactlessLimits>,
    /// Book B kernel identifier: 2 Mastercard, 3 Visa, 7 UnionPay QuickPass.
    #[serde(default)]
    pub kernel_id: u8,
}

/// A certification authority public key (Book 2 11.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaPublicKey {
    #[serde(with = "hexser::fixed")]
    pub rid: [u8; 5],
    pub index: u8,
    #[serde(with = "hexser")]
    pub modulus: Vec<u8>,
    #[serde(with = "hexser")]
    pub exponent: Vec<u8>,
    /// YYMMDD; the key is not used after this date.
    pub expiry: String,
    /// SHA-1 over RID, index, modulus and exponent, checked on load.
    #[serde(with = "hexser")]
    pub checksum: Vec<u8>,
}

/// An issuer public key certificate revoked by its CA (Book 2 5.3 step 10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCertificate {
    #[serde(with = "hexser::fixed")]
    pub rid: [u8; 5],
    pub ca_index: u8,
    /// Certificate serial number, 3 bytes.
    #[serde(with = "hexser::fixed")]
    pub serial: [u8; 3],
}

/// Everything the kernel is configured with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub terminal: TerminalParams,
    pub aids: Vec<AidParams>,
    #[serde(default)]
    pub ca_keys: Vec<CaPublicKey>,
    #[serde(default)]
    pub revoked: Vec<RevokedCertificate>,
    /// Hot cards: PANs (digits) the terminal must treat as on the
    /// exception file (Book 3 10.6.1).
    #[serde(default)]
    pub exception_list: Vec<String>,
}

impl Config {
    /// Parses and checks a configuration: CA key checksums, AID lengths,
    /// key sizes.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let config: Config = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// A configuration for reading any payment card without a transaction:
    /// every known scheme's RID with partial selection, no keys.
    pub fn card_reader() -> Config {
        let aid = |rid: &[u8; 5], name: &str| AidParams {
            aid: rid.to_vec(),
            name: name.to_owned(),
            partial_selection: true,
            app_version: [0, 0],
            tac_default: [0; 5],
            tac_denial: [0; 5],
            tac_online: [0; 5],
            floor_limit: 0,
            target_percent: 0,
            max_target_percent: 0,
            threshold: 0,
            default_ddol: vec![0x9F, 0x37, 0x04],
            default_tdol: Vec::new(),
            contactless: None,
            kernel_id: 0,
        };
        Config {
            terminal: TerminalParams {
                terminal_type: 0x22,
                capabilities: [0xE0, 0xF8, 0xC8],
                additional_capabilities: [0x6F, 0x00, 0xF0, 0xA0, 0x01],
                country_code: [0x01, 0x56],
                currency_code: [0x01, 0x56],
                currency_exponent: 2,
                merchant_category_code: [0x53, 0x11],
                merchant_id: String::new(),
                terminal_id: String::new(),
                ifd_serial: String::new(),
                merchant_name_location: String::new(),
                ttq: default_ttq(),
            },
            aids: crate::select::SCHEMES
                .iter()
                .map(|(rid, name)| aid(rid, name))
                .collect(),
            ca_keys: Vec::new(),
            revoked: Vec::new(),
            exception_list: Vec::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("configuration serializes")
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        for key in &self.ca_keys {
            key.validate()?;
        }
        for aid in &self.aids {
            if !(5..=16).contains(&aid.aid.len()) {
                return Err(ConfigError::Aid {
                    aid: hex(&aid.aid),
                    reason: "an AID is 5 to 16 bytes".into(),
                });
            }
        }
        let t = &self.terminal;
        if t.terminal_id.len() > 8 || t.merchant_id.len() > 15 {
            return Err(ConfigError::Terminal(
                "terminal id is at most 8 characters, merchant id at most 15".into(),
            ));
        }
        Ok(())
    }

    /// The CA key a card names by RID and index.
    pub fn ca_key(&self, rid: &[u8], index: u8) -> Option<&CaPublicKey> {
        self.ca_keys.iter().find(|k| k.rid == rid && k.index == index)
    }

    pub fn is_revoked(&self, rid: &[u8], ca_index: u8, serial: &[u8]) -> bool {
        self.revoked
            .iter()
            .any(|r| r.rid == rid && r.ca_index == ca_index && r.serial == serial)
    }

    pub fn on_exception_list(&self, pan_digits: &str) -> bool {
        self.exception_list.iter().any(|p| p == pan_digits)
    }
}

impl CaPublicKey {
    fn err(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::CaKey {
            rid: hex(&self.rid),
            index: self.index,
            reason: reason.into(),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.modulus.is_empty() || self.modulus.len() > 248 {
            return Err(self.err("modulus must be 1 to 248 bytes (Book 2 11.2.2)"));
        }
        if !matches!(self.exponent.as_slice(), [3] | [1, 0, 1] | [0, 0, 3]) {
            return Err(self.err("exponent must be 3 or 65537"));
        }
        if self.expiry.len() != 6 || !self.expiry.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err("expiry must be YYMMDD"));
        }
        let mut input = self.rid.to_vec();
        input.push(self.index);
        input.extend_from_slice(&self.modulus);
        input.extend_from_slice(&self.exponent);
        if poskit_crypto::hash::sha1(&input).as_slice() != self.checksum.as_slice() {
            return Err(self.err("checksum does not match the key; the key file is damaged"));
        }
        Ok(())
    }

    /// The expiry as a comparable YYMMDD number, with years 50..99 before 00..49.
    pub fn expiry_yymmdd(&self) -> u32 {
        yymmdd_ordinal(&self.expiry)
    }
}

/// YYMMDD digits to a number that orders correctly across the century
/// (EMV: YY < 50 is 20YY).
pub fn yymmdd_ordinal(digits: &str) -> u32 {
    let n: u32 = digits.parse().unwrap_or(0);
    let yy = n / 10000;
    let century = if yy < 50 { 2000 } else { 1900 };
    (century + yy) * 10000 + n % 10000
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
