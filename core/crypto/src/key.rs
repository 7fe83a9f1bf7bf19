//! Symmetric keys. Key bytes live in a zeroizing buffer, are wiped on drop
//! and never appear in `Debug` output (DESIGN rule 5).

use std::fmt;
use std::sync::OnceLock;

use zeroize::Zeroizing;

use crate::cipher::{Engine, constant_time_eq};
use crate::error::{CryptoError, Result};

/// The block cipher a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Single DES (8-byte key). Legacy; kept for single-length MAC keys.
    Des,
    /// Triple DES, EDE with a 16-byte (two-key) or 24-byte (three-key) key.
    Tdes,
    /// AES with a 16, 24 or 32-byte key.
    Aes,
    /// SM4 (GB/T 32907) with a 16-byte key.
    Sm4,
}

impl Algorithm {
    /// Block size in bytes.
    pub const fn block_size(self) -> usize {
        match self {
            Algorithm::Des | Algorithm::Tdes => 8,
            Algorithm::Aes | Algorithm::Sm4 => 16,
        }
    }

    fn accepts(self, len: usize) -> bool {
        match self {
            Algorithm::Des => len == 8,
            Algorithm::Tdes => len == 16 || len == 24,
            Algorithm::Aes => matches!(len, 16 | 24 | 32),
            Algorithm::Sm4 => len == 16,
        }
    }

    fn expected_lengths(self) -> &'static str {
        match self {
            Algorithm::Des => "8",
            Algorithm::Tdes => "16 or 24",
            Algorithm::Aes => "16, 24 or 32",
            Algorithm::Sm4 => "16",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Des => "DES",
            Algorithm::Tdes => "TDES",
            Algorithm::Aes => "AES",
            Algorithm::Sm4 => "SM4",
        })
    }
}

/// A symmetric key for one algorithm.
///
/// The key schedule is computed on first use and kept with the key: a MAC
/// or PIN key serves a whole session, and a DES schedule costs about as
/// much as encrypting a block.
#[derive(Clone)]
pub struct SymmetricKey {
    algorithm: Algorithm,
    bytes: Zeroizing<Vec<u8>>,
    engine: OnceLock<Engine>,
}

impl SymmetricKey {
    /// A key for `algorithm`; the length must suit it.
    pub fn new(algorithm: Algorithm, bytes: &[u8]) -> Result<Self> {
        if !algorithm.accepts(bytes.len()) {
            return Err(CryptoError::KeyLength {
                algorithm,
                expected: algorithm.expected_lengths(),
                actual: bytes.len(),
            });
        }
        Ok(Self {
            algorithm,
            bytes: Zeroizing::new(bytes.to_vec()),
            engine: OnceLock::new(),
        })
    }

    pub fn des(bytes: &[u8]) -> Result<Self> {
        Self::new(Algorithm::Des, bytes)
    }

    pub fn tdes(bytes: &[u8]) -> Result<Self> {
        Self::new(Algorithm::Tdes, bytes)
    }

    pub fn aes(bytes: &[u8]) -> Result<Self> {
        Self::new(Algorithm::Aes, bytes)
    }

    pub fn sm4(bytes: &[u8]) -> Result<Self> {
        Self::new(Algorithm::Sm4, bytes)
    }

    /// The usual reading of a key given as bytes in the payment world:
    /// 8 bytes is single DES, 16 or 24 bytes TDES.
    pub fn des_family(bytes: &[u8]) -> Result<Self> {
        if bytes.len() == 8 {
            Self::des(bytes)
        } else {
            Self::tdes(bytes)
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw key bytes. Callers must not log or persist them in clear.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes
    }
}

impl SymmetricKey {
    /// The keyed cipher, scheduled once.
    pub(crate) fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| Engine::new(self))
    }
}

impl PartialEq for SymmetricKey {
    fn eq(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm && constant_time_eq(&self.bytes, &other.bytes)
    }
}

impl Eq for SymmetricKey {}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SymmetricKey({}, {} bytes, redacted)",
            self.algorithm,
            self.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = SymmetricKey::tdes(&[0xAB; 16]).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.to_uppercase().contains("AB"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }

    #[test]
    fn lengths_are_checked() {
        assert!(SymmetricKey::tdes(&[0; 8]).is_err());
        assert!(SymmetricKey::aes(&[0; 20]).is_err());
        assert!(SymmetricKey::sm4(&[0; 32]).is_err());
        assert_eq!(
            SymmetricKey::des_family(&[0; 8]).unwrap().algorithm(),
            Algorithm::Des
        );
        let err = SymmetricKey::tdes(&[0; 10]).unwrap_err();
        assert_eq!(err.to_string(), "TDES key must be 16 or 24 bytes, got 10");
    }
}
