//! The one error every exported function returns, and the only place where
//! the internal errors of the core crates are mapped onto it.
//!
//! Each variant is a situation a caller handles differently, carries a
//! `reason` a cashier or developer can act on, and has a stable numeric
//! code. Reasons are built from the core crates' messages, which name the
//! wrong input and never carry PAN, PIN, PIN block or key bytes (DESIGN
//! rule 5); nothing here adds any.
//!
//! # Codes
//!
//! Codes are part of the public API: apps switch on them, log them and show
//! them to support staff. Never renumber or reuse one; add new variants with
//! new codes. `tests::codes_are_stable` pins the table.
//!
//! | code | variant          | meaning                                                        |
//! |------|------------------|----------------------------------------------------------------|
//! | 1000 | `InvalidInput`   | an argument is malformed (data length, IV, PIN block format)   |
//! | 1001 | `InvalidKey`     | key has the wrong length or type for the operation             |
//! | 1002 | `InvalidPin`     | PIN is not 4 to 12 digits                                      |
//! | 1003 | `InvalidPan`     | PAN is not 12 to 19 digits                                     |
//! | 1004 | `InvalidPinBlock`| PIN block has the wrong length, or does not decode (wrong key or PAN) |
//! | 1100 | `MalformedData`  | card or host data is not well-formed BER-TLV                   |
//! | 1200 | `CryptoFailure`  | a key check value did not match, or the random source failed   |
//! | 2000 | `NotReady`       | the terminal is not bound or signed in for this operation      |
//! | 2001 | `Binding`        | the merchant platform or the binding rules refused             |
//! | 2100 | `CardRead`       | the card could not be read (reader, chip, stripe)              |
//! | 2101 | `CardholderAction` | the cardholder or cashier must act (insert, PIN, other card) |
//! | 2200 | `Network`        | a host could not be reached or did not answer in time          |
//! | 2201 | `HostRefused`    | a host answered with an error or an answer that did not verify |
//! | 2300 | `Storage`        | the terminal's store failed or holds no such record            |
//! | 2301 | `Keys`           | a key is missing or the keystore failed                        |
//! | 2400 | `PaymentCode`    | the scanned code is no wallet's payment code; nothing was sent |
//! | 2401 | `Gateway`        | the QR gateway refused or its answer did not verify            |
//! | 2500 | `Printer`        | the printer failed (paper, cover, offline)                     |
//! | 2600 | `Cancelled`      | the cashier cancelled; nothing was charged                     |
//! | 2700 | `Configuration`  | the settings are wrong (URL, certificate, rules, parameters)   |
//! | 2800 | `NoReceipt`      | the transaction has no receipt (in flight, reversed, unpaid)   |
//!
//! Ranges: 1000-1099 caller input, 1100-1199 data from a card or host,
//! 1200-1299 cryptography, 2000-2999 the Terminal (2000 lifecycle, 2100
//! card, 2200 hosts, 2300 storage and keys, 2400 QR, 2500 printer, 2600
//! cancellation, 2700 configuration, 2800 receipts).
//!
//! # Why `reason` and not `message`
//!
//! UniFFI 0.32 turns each variant into a Kotlin exception class whose
//! fields become constructor properties; a field named `message` clashes
//! with `Throwable.message` and the generated Kotlin does not compile. In
//! Kotlin the text is `e.reason`, in Swift the associated value `reason`;
//! `e.message` in Kotlin reads `reason=...`.

use poskit::TerminalError;
use poskit_crypto::CryptoError;
use poskit_tlv::TlvError;

/// A PosKit operation failed. `code()` is stable across releases; `reason`
/// says what was wrong and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum PosKitError {
    /// An argument is malformed (data length, IV length, unknown PIN block format).
    #[error("{reason}")]
    InvalidInput { reason: String },
    /// The key has the wrong length or type for the operation.
    #[error("{reason}")]
    InvalidKey { reason: String },
    /// The PIN is not 4 to 12 digits.
    #[error("{reason}")]
    InvalidPin { reason: String },
    /// The PAN is not 12 to 19 digits.
    #[error("{reason}")]
    InvalidPan { reason: String },
    /// The PIN block has the wrong length or does not decode under this key and PAN.
    #[error("{reason}")]
    InvalidPinBlock { reason: String },
    /// Card or host data is not well-formed BER-TLV.
    #[error("{reason}")]
    MalformedData { reason: String },
    /// A key check value did not match, or the random source failed.
    #[error("{reason}")]
    CryptoFailure { reason: String },
    /// The terminal is not bound or signed in for this operation.
    #[error("{reason}")]
    NotReady { reason: String },
    /// The merchant platform or the binding rules refused.
    #[error("{reason}")]
    Binding { reason: String },
    /// The card could not be read.
    #[error("{reason}")]
    CardRead { reason: String },
    /// The cardholder or the cashier must do something first.
    #[error("{reason}")]
    CardholderAction { reason: String },
    /// A host could not be reached or did not answer in time.
    #[error("{reason}")]
    Network { reason: String },
    /// A host answered with an error, or an answer that did not verify.
    #[error("{reason}")]
    HostRefused { reason: String },
    /// The terminal's store failed, or holds no such record.
    #[error("{reason}")]
    Storage { reason: String },
    /// A key is missing, or the keystore failed.
    #[error("{reason}")]
    Keys { reason: String },
    /// The scanned code is no wallet's payment code; nothing was sent.
    #[error("{reason}")]
    PaymentCode { reason: String },
    /// The QR gateway refused, or its answer did not verify.
    #[error("{reason}")]
    Gateway { reason: String },
    /// The printer failed.
    #[error("{reason}")]
    Printer { reason: String },
    /// The cashier cancelled; nothing was charged.
    #[error("{reason}")]
    Cancelled { reason: String },
    /// The settings are wrong.
    #[error("{reason}")]
    Configuration { reason: String },
    /// The transaction has no receipt.
    #[error("{reason}")]
    NoReceipt { reason: String },
}

#[uniffi::export]
impl PosKitError {
    /// The stable numeric code of this error (see the table in `error.rs`).
    pub fn code(&self) -> u32 {
        match self {
            Self::InvalidInput { .. } => 1000,
            Self::InvalidKey { .. } => 1001,
            Self::InvalidPin { .. } => 1002,
            Self::InvalidPan { .. } => 1003,
            Self::InvalidPinBlock { .. } => 1004,
            Self::MalformedData { .. } => 1100,
            Self::CryptoFailure { .. } => 1200,
            Self::NotReady { .. } => 2000,
            Self::Binding { .. } => 2001,
            Self::CardRead { .. } => 2100,
            Self::CardholderAction { .. } => 2101,
            Self::Network { .. } => 2200,
            Self::HostRefused { .. } => 2201,
            Self::Storage { .. } => 2300,
            Self::Keys { .. } => 2301,
            Self::PaymentCode { .. } => 2400,
            Self::Gateway { .. } => 2401,
            Self::Printer { .. } => 2500,
            Self::Cancelled { .. } => 2600,
            Self::Configuration { .. } => 2700,
            Self::NoReceipt { .. } => 2800,
        }
    }
}

impl From<TerminalError> for PosKitError {
    fn from(e: TerminalError) -> Self {
        use poskit_host::HostError;
        let reason = e.to_string();
        match e {
            TerminalError::Binding(poskit_binding::BindingError::WrongState { .. }) => {
                Self::NotReady { reason }
            }
            TerminalError::Binding(_) => Self::Binding { reason },
            TerminalError::Platform(
                HostError::Unreachable(_) | HostError::Timeout(_) | HostError::Tls(_),
            ) => Self::Network { reason },
            TerminalError::Platform(HostError::Config(_)) => Self::Configuration { reason },
            TerminalError::Platform(_) | TerminalError::Acquirer(_) | TerminalError::BadMac(_) => {
                Self::HostRefused { reason }
            }
            TerminalError::Store(
                poskit_store::StoreError::WrongKey | poskit_store::StoreError::Keystore(_),
            ) => Self::Keys { reason },
            TerminalError::Store(_) => Self::Storage { reason },
            TerminalError::Key(_) | TerminalError::NoKey(_) => Self::Keys { reason },
            TerminalError::NotReady(_) => Self::NotReady { reason },
            // Files the terminal could not write (data or backup directory).
            TerminalError::Io(_) => Self::Storage { reason },
            TerminalError::CardRead(_) => Self::CardRead { reason },
            TerminalError::CardholderAction(_) => Self::CardholderAction { reason },
            TerminalError::Config(_) | TerminalError::RiskRules(_) => Self::Configuration { reason },
            TerminalError::Printer(_) => Self::Printer { reason },
            TerminalError::NoReceipt(_) => Self::NoReceipt { reason },
            TerminalError::PaymentCode(_) | TerminalError::Qr(_) => Self::PaymentCode { reason },
            TerminalError::Gateway(poskit_host::GatewayError::Transport(_)) => Self::Network { reason },
            TerminalError::Gateway(_) => Self::Gateway { reason },
            TerminalError::Cancelled => Self::Cancelled { reason },
            TerminalError::RiskBlocked { .. } => Self::CardholderAction { reason },
        }
    }
}

impl From<TlvError> for PosKitError {
    fn from(e: TlvError) -> Self {
        Self::MalformedData {
            reason: format!("{e}: the card or host sent data that is not valid BER-TLV"),
        }
    }
}

impl From<CryptoError> for PosKitError {
    fn from(e: CryptoError) -> Self {
        let reason = e.to_string();
        match e {
            CryptoError::KeyLength { .. } | CryptoError::WrongAlgorithm { .. } => Self::InvalidKey { reason },
            CryptoError::Pin(_) => Self::InvalidPin { reason },
            CryptoError::Pan(_) => Self::InvalidPan { reason },
            CryptoError::PinBlock(_) => Self::InvalidPinBlock { reason },
            CryptoError::NotBlockAligned { .. }
            | CryptoError::IvLength { .. }
            | CryptoError::Input { .. } => Self::InvalidInput { reason },
            // CheckValueMismatch, and whatever poskit-crypto adds later
            // (the enum is non_exhaustive) until it gets a variant here.
            _ => Self::CryptoFailure { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poskit_crypto::{Algorithm, SymmetricKey, pin};

    fn all_variants() -> Vec<PosKitError> {
        let reason = String::new();
        vec![
            PosKitError::InvalidInput {
                reason: reason.clone(),
            },
            PosKitError::InvalidKey {
                reason: reason.clone(),
            },
            PosKitError::InvalidPin {
                reason: reason.clone(),
            },
            PosKitError::InvalidPan {
                reason: reason.clone(),
            },
            PosKitError::InvalidPinBlock {
                reason: reason.clone(),
            },
            PosKitError::MalformedData {
                reason: reason.clone(),
            },
            PosKitError::CryptoFailure {
                reason: reason.clone(),
            },
            PosKitError::NotReady {
                reason: reason.clone(),
            },
            PosKitError::Binding {
                reason: reason.clone(),
            },
            PosKitError::CardRead {
                reason: reason.clone(),
            },
            PosKitError::CardholderAction {
                reason: reason.clone(),
            },
            PosKitError::Network {
                reason: reason.clone(),
            },
            PosKitError::HostRefused {
                reason: reason.clone(),
            },
            PosKitError::Storage {
                reason: reason.clone(),
            },
            PosKitError::Keys {
                reason: reason.clone(),
            },
            PosKitError::PaymentCode {
                reason: reason.clone(),
            },
            PosKitError::Gateway {
                reason: reason.clone(),
            },
            PosKitError::Printer {
                reason: reason.clone(),
            },
            PosKitError::Cancelled {
                reason: reason.clone(),
            },
            PosKitError::Configuration {
                reason: reason.clone(),
            },
            PosKitError::NoReceipt { reason },
        ]
    }

    #[test]
    fn codes_are_stable() {
        // Changing a number here breaks every app that handles it: add a
        // new variant instead.
        let table: Vec<(&str, u32)> = all_variants()
            .iter()
            .map(|e| (variant_name(e), e.code()))
            .collect();
        assert_eq!(
            table,
            [
                ("InvalidInput", 1000),
                ("InvalidKey", 1001),
                ("InvalidPin", 1002),
                ("InvalidPan", 1003),
                ("InvalidPinBlock", 1004),
                ("MalformedData", 1100),
                ("CryptoFailure", 1200),
                ("NotReady", 2000),
                ("Binding", 2001),
                ("CardRead", 2100),
                ("CardholderAction", 2101),
                ("Network", 2200),
                ("HostRefused", 2201),
                ("Storage", 2300),
                ("Keys", 2301),
                ("PaymentCode", 2400),
                ("Gateway", 2401),
                ("Printer", 2500),
                ("Cancelled", 2600),
                ("Configuration", 2700),
                ("NoReceipt", 2800),
            ]
        );
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<u32> = all_variants().iter().map(PosKitError::code).collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
    }

    fn variant_name(e: &PosKitError) -> &'static str {
        // An exhaustive match: a new variant fails to compile until it is
        // added to `all_variants` and to the table above.
        match e {
            PosKitError::InvalidInput { .. } => "InvalidInput",
            PosKitError::InvalidKey { .. } => "InvalidKey",
            PosKitError::InvalidPin { .. } => "InvalidPin",
            PosKitError::InvalidPan { .. } => "InvalidPan",
            PosKitError::InvalidPinBlock { .. } => "InvalidPinBlock",
            PosKitError::MalformedData { .. } => "MalformedData",
            PosKitError::CryptoFailure { .. } => "CryptoFailure",
            PosKitError::NotReady { .. } => "NotReady",
            PosKitError::Binding { .. } => "Binding",
            PosKitError::CardRead { .. } => "CardRead",
            PosKitError::CardholderAction { .. } => "CardholderAction",
            PosKitError::Network { .. } => "Network",
            PosKitError::HostRefused { .. } => "HostRefused",
            PosKitError::Storage { .. } => "Storage",
            PosKitError::Keys { .. } => "Keys",
            PosKitError::PaymentCode { .. } => "PaymentCode",
            PosKitError::Gateway { .. } => "Gateway",
            PosKitError::Printer { .. } => "Printer",
            PosKitError::Cancelled { .. } => "Cancelled",
            PosKitError::Configuration { .. } => "Configuration",
            PosKitError::NoReceipt { .. } => "NoReceipt",
        }
    }

    #[test]
    fn tlv_errors_are_malformed_data_without_the_bytes() {
        // 5A (PAN) announces 5 bytes but only 12 34 follow.
        let err: PosKitError = poskit_tlv::parse(&[0x5A, 0x05, 0x12, 0x34]).unwrap_err().into();
        assert_eq!(err.code(), 1100);
        let text = err.to_string();
        assert!(text.contains("byte 0"), "{text}");
        assert!(!text.contains("1234") && !text.contains("12 34"), "{text}");
    }

    #[test]
    fn crypto_errors_map_by_kind() {
        let code = |e: CryptoError| PosKitError::from(e).code();
        assert_eq!(code(SymmetricKey::tdes(&[0; 10]).unwrap_err()), 1001);
        let des = SymmetricKey::des(&[1; 8]).unwrap();
        let wrong = poskit_crypto::mac::retail_mac(&des, b"x", poskit_crypto::mac::Padding::Method1);
        assert_eq!(code(wrong.unwrap_err()), 1001);
        assert_eq!(code(pin::Pin::new("12").unwrap_err()), 1002);
        assert_eq!(code(pin::Pan::new("4111").unwrap_err()), 1003);
        assert_eq!(code(pin::PinBlockFormat::from_number(2).unwrap_err()), 1000);
        let key = SymmetricKey::tdes(&[1; 16]).unwrap();
        let short = pin::decrypt_pin_block(&key, pin::PinBlockFormat::Iso1, &[0; 7], None);
        assert_eq!(code(short.unwrap_err()), 1004);
        assert_eq!(code(key.encrypt_ecb(&[0; 7]).unwrap_err()), 1000);
        let tmk = SymmetricKey::tdes(&[0x11; 16]).unwrap();
        let mismatch =
            poskit_crypto::kcv::unwrap_working_key(&tmk, Algorithm::Tdes, &[0; 16], &[0, 0, 0], "PIN key");
        assert_eq!(code(mismatch.unwrap_err()), 1200);
    }

    #[test]
    fn reasons_are_the_core_messages() {
        let err = PosKitError::from(SymmetricKey::tdes(&[0xAB; 10]).unwrap_err());
        assert_eq!(
            err,
            PosKitError::InvalidKey {
                reason: "TDES key must be 16 or 24 bytes, got 10".into()
            }
        );
    }
}
