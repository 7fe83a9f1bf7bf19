//! AES DUKPT, ANSI X9.24-3:2017, host side.
//!
//! The KSN is 12 bytes: the 8-byte initial key ID (4-byte BDK ID and
//! 4-byte derivation ID) and a 32-bit transaction counter. Every key is
//! derived by AES-ECB encryption of a 16-byte derivation data block
//! (X9.24-3 6.2) under its parent key: the initial key from the BDK, an
//! intermediate derivation key per one-bit of the counter, and finally the
//! working keys from the last derivation key.

use zeroize::Zeroizing;

use super::{check_counter, fixed_ksn};
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

/// KSN length in bytes.
pub const KSN_LEN: usize = 12;
/// Initial key ID length in bytes (the KSN without its counter).
pub const INITIAL_KEY_ID_LEN: usize = 8;

/// X9.24-3 6.1: 32 intermediate derivation registers, at most 16 in use,
/// so a valid counter has at most 16 one-bits.
const MAX_COUNTER_ONES: u32 = 16;

const WRONG_LENGTH: &str = "an AES DUKPT KSN is 12 bytes (24 hex digits)";
const TOO_MANY_ONES: &str =
    "transaction counter has more than 16 one-bits: no AES DUKPT device uses it; check the KSN";

/// Key usage indicators of the derivation data (X9.24-3 table 2) for the
/// keys this module derives internally.
const USAGE_KEY_DERIVATION: u16 = 0x8000;
const USAGE_INITIAL_KEY: u16 = 0x8001;

/// The type of a derived key, as the derivation data encodes it
/// (X9.24-3 table 3: algorithm indicator and length in bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Double-length TDES.
    Tdes2,
    /// Triple-length TDES.
    Tdes3,
    Aes128,
    Aes192,
    Aes256,
}

impl KeyType {
    fn algorithm_indicator(self) -> u16 {
        match self {
            KeyType::Tdes2 => 0,
            KeyType::Tdes3 => 1,
            KeyType::Aes128 => 2,
            KeyType::Aes192 => 3,
            KeyType::Aes256 => 4,
        }
    }

    fn bits(self) -> u16 {
        match self {
            KeyType::Tdes2 | KeyType::Aes128 => 128,
            KeyType::Tdes3 | KeyType::Aes192 => 192,
            KeyType::Aes256 => 256,
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            KeyType::Tdes2 | KeyType::Tdes3 => Algorithm::Tdes,
            _ => Algorithm::Aes,
        }
    }

    /// The AES type of a BDK, initial key or derivation key.
    fn of_derivation_key(key: &SymmetricKey) -> Result<KeyType> {
        match (key.algorithm(), key.len()) {
            (Algorithm::Aes, 16) => Ok(KeyType::Aes128),
            (Algorithm::Aes, 24) => Ok(KeyType::Aes192),
            (Algorithm::Aes, 32) => Ok(KeyType::Aes256),
            (actual, _) => Err(CryptoError::WrongAlgorithm {
                operation: "AES DUKPT",
                needed: "AES",
                actual,
            }),
        }
    }
}

/// What a working key is for (X9.24-3 table 2, key usage indicator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyUsage {
    KeyEncryption,
    PinEncryption,
    MacGeneration,
    MacVerification,
    MacBothWays,
    DataEncryptionEncrypt,
    DataEncryptionDecrypt,
    DataEncryptionBothWays,
}

impl KeyUsage {
    fn indicator(self) -> u16 {
        match self {
            KeyUsage::KeyEncryption => 0x0002,
            KeyUsage::PinEncryption => 0x1000,
            KeyUsage::MacGeneration => 0x2000,
            KeyUsage::MacVerification => 0x2001,
            KeyUsage::MacBothWays => 0x2002,
            KeyUsage::DataEncryptionEncrypt => 0x3000,
            KeyUsage::DataEncryptionDecrypt => 0x3001,
            KeyUsage::DataEncryptionBothWays => 0x3002,
        }
    }
}

/// The KSN's 32-bit transaction counter, after checking that a transaction
/// can carry it: not zero, at most 16 one-bits.
pub fn counter(ksn: &[u8]) -> Result<u32> {
    let ksn = parse_ksn(ksn)?;
    let counter = counter_of(&ksn);
    check_counter(counter, MAX_COUNTER_ONES, TOO_MANY_ONES)?;
    Ok(counter)
}

fn parse_ksn(ksn: &[u8]) -> Result<[u8; KSN_LEN]> {
    fixed_ksn(ksn, WRONG_LENGTH)
}

fn counter_of(ksn: &[u8; KSN_LEN]) -> u32 {
    u32::from_be_bytes([ksn[8], ksn[9], ksn[10], ksn[11]])
}

/// X9.24-3 6.3.2 "Derive Key": as many AES blocks over the derivation data
/// as the key needs, with the block counter in byte 1, truncated to the
/// key length.
fn derive(parent: &SymmetricKey, usage: u16, key_type: KeyType, tail: &[u8; 8]) -> Result<SymmetricKey> {
    let bits = key_type.bits();
    let mut data = [0u8; 16];
    data[0] = 0x01; // version
    data[2..4].copy_from_slice(&usage.to_be_bytes());
    data[4..6].copy_from_slice(&key_type.algorithm_indicator().to_be_bytes());
    data[6..8].copy_from_slice(&bits.to_be_bytes());
    data[8..].copy_from_slice(tail);

    let blocks = usize::from(bits).div_ceil(128);
    let mut out = Zeroizing::new(Vec::with_capacity(blocks * 16));
    for block_counter in 1..=blocks {
        data[1] = block_counter as u8;
        out.extend_from_slice(&parent.encrypt_ecb(&data)?);
    }
    out.truncate(usize::from(bits / 8));
    SymmetricKey::new(key_type.algorithm(), &out)
}

/// Derivation data bytes 8..16 for a derivation or working key: the
/// derivation ID (rightmost half of the initial key ID), then the counter.
fn ksn_tail(ksn: &[u8; KSN_LEN], counter: u32) -> [u8; 8] {
    let mut tail = [0u8; 8];
    tail[..4].copy_from_slice(&ksn[4..8]);
    tail[4..].copy_from_slice(&counter.to_be_bytes());
    tail
}

/// The initial key for an 8-byte initial key ID (X9.24-3 6.3.1), of the
/// same AES type as the BDK.
pub fn initial_key_from_id(bdk: &SymmetricKey, initial_key_id: &[u8]) -> Result<SymmetricKey> {
    let key_type = KeyType::of_derivation_key(bdk)?;
    let id: [u8; INITIAL_KEY_ID_LEN] = initial_key_id.try_into().map_err(|_| CryptoError::Input {
        field: "AES DUKPT initial key ID",
        reason: "must be 8 bytes (16 hex digits): BDK ID then derivation ID",
    })?;
    derive(bdk, USAGE_INITIAL_KEY, key_type, &id)
}

/// The initial key for this KSN's initial key ID (its first 8 bytes). Only
/// the KSN's length is checked; its counter does not take part.
pub fn initial_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    let ksn = parse_ksn(ksn)?;
    initial_key_from_id(bdk, &ksn[..INITIAL_KEY_ID_LEN])
}

/// The intermediate derivation key for this KSN's counter, from the
/// initial key (X9.24-3 6.5 host algorithm): one derivation per one-bit of
/// the counter, highest first, each for the counter bits set so far.
pub fn derivation_key_from_initial_key(initial_key: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    let key_type = KeyType::of_derivation_key(initial_key)?;
    let ksn_bytes = parse_ksn(ksn)?;
    let count = counter(ksn)?;
    let mut key = initial_key.clone();
    let mut so_far = 0u32;
    for bit in (0..32).rev().map(|b| 1u32 << b) {
        if count & bit != 0 {
            so_far |= bit;
            key = derive(
                &key,
                USAGE_KEY_DERIVATION,
                key_type,
                &ksn_tail(&ksn_bytes, so_far),
            )?;
        }
    }
    Ok(key)
}

/// The intermediate derivation key for this KSN, host side: from the BDK.
pub fn derivation_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    derivation_key_from_initial_key(&initial_key(bdk, ksn)?, ksn)
}

/// A working key from the initial key. X9.24-3 lets a device derive keys
/// no stronger than its derivation keys, so an AES working key may not be
/// longer than the initial key; TDES working keys are always allowed.
pub fn working_key_from_initial_key(
    initial_key: &SymmetricKey,
    ksn: &[u8],
    usage: KeyUsage,
    key_type: KeyType,
) -> Result<SymmetricKey> {
    let derivation_type = KeyType::of_derivation_key(initial_key)?;
    if key_type.algorithm() == Algorithm::Aes && key_type.bits() > derivation_type.bits() {
        return Err(CryptoError::Input {
            field: "AES DUKPT working key type",
            reason: "is longer than the BDK; X9.24-3 derives only keys as strong as the BDK or weaker",
        });
    }
    let derivation = derivation_key_from_initial_key(initial_key, ksn)?;
    let ksn_bytes = parse_ksn(ksn)?;
    let tail = ksn_tail(&ksn_bytes, counter_of(&ksn_bytes));
    derive(&derivation, usage.indicator(), key_type, &tail)
}

/// A working key for this KSN, host side, of any type the BDK allows.
pub fn working_key(
    bdk: &SymmetricKey,
    ksn: &[u8],
    usage: KeyUsage,
    key_type: KeyType,
) -> Result<SymmetricKey> {
    working_key_from_initial_key(&initial_key(bdk, ksn)?, ksn, usage, key_type)
}

/// A working key of the BDK's own AES type.
fn same_type_key(bdk: &SymmetricKey, ksn: &[u8], usage: KeyUsage) -> Result<SymmetricKey> {
    working_key(bdk, ksn, usage, KeyType::of_derivation_key(bdk)?)
}

/// The PIN encryption key for this KSN, of the BDK's AES type (use with
/// ISO 9564 format 4).
pub fn pin_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    same_type_key(bdk, ksn, KeyUsage::PinEncryption)
}

/// The MAC generation key for this KSN, of the BDK's AES type.
pub fn mac_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    same_type_key(bdk, ksn, KeyUsage::MacGeneration)
}

/// The data encryption (encrypt) key for this KSN, of the BDK's AES type.
pub fn data_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    same_type_key(bdk, ksn, KeyUsage::DataEncryptionEncrypt)
}

#[cfg(test)]
mod tests;
