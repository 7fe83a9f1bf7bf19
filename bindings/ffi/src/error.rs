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
//!
//! Ranges: 1000-1099 caller input, 1100-1199 data from a card or host,
//! 1200-1299 cryptography. Later components take their own hundred.
//!
//! # Why `reason` and not `message`
//!
//! UniFFI 0.32 turns each variant into a Kotlin exception class whose
//! fields become constructor properties; a field named `message` clashes
//! with `Throwable.message` and the generated Kotlin does not compile. In
//! Kotlin the text is `e.reason`, in Swift the associated value `reason`;
//! `e.message` in Kotlin reads `reason=...`.

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
            PosKitError::CryptoFailure { reason },
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
