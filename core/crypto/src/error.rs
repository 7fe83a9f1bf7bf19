//! The crate's error type. Messages never carry key material, PINs or PANs:
//! they name the input that was wrong and what a caller can do about it.

use crate::Algorithm;

/// Everything that can go wrong in `poskit-crypto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("{algorithm} key must be {expected} bytes, got {actual}")]
    KeyLength {
        algorithm: Algorithm,
        expected: &'static str,
        actual: usize,
    },
    #[error("data length {len} is not a multiple of the {block}-byte block size")]
    NotBlockAligned { len: usize, block: usize },
    #[error("IV must be {expected} bytes, got {actual}")]
    IvLength { expected: usize, actual: usize },
    #[error("{operation} needs a {needed} key, not {actual}")]
    WrongAlgorithm {
        operation: &'static str,
        needed: &'static str,
        actual: Algorithm,
    },
    #[error("invalid PIN: {0}")]
    Pin(&'static str),
    #[error("invalid PAN: {0}")]
    Pan(&'static str),
    #[error("invalid PIN block: {0}")]
    PinBlock(&'static str),
    #[error("check value of the {0} does not match: the key was not loaded")]
    CheckValueMismatch(&'static str),
    #[error("invalid KSN: {0}")]
    Ksn(&'static str),
    #[error("this DUKPT device has used all its transaction keys: load a new initial key")]
    KeysExhausted,
    #[error("invalid {field}: {reason}")]
    Input {
        field: &'static str,
        reason: &'static str,
    },
}

pub type Result<T> = std::result::Result<T, CryptoError>;
