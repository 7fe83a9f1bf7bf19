//! TDES DUKPT, ANSI X9.24-1:2009 (Annex A).
//!
//! The KSN is 10 bytes: a 59-bit initial key serial number followed by a
//! 21-bit transaction counter. The host derives the initial PIN encryption
//! key (IPEK) from the BDK, then walks the counter's one-bits from the top,
//! applying the non-reversible key generation process once per bit, to get
//! the transaction key. Working keys are variants of that key.
//!
//! The terminal side, which keeps 21 future keys and never holds a key it
//! could use to recompute an earlier one, is [`Terminal`].

use zeroize::Zeroizing;

use super::{check_counter, fixed_ksn};
use crate::cipher::xor_in_place;
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

mod terminal;

pub use terminal::{Terminal, TransactionKey};

/// KSN length in bytes.
pub const KSN_LEN: usize = 10;

/// The 21 rightmost KSN bits count transactions (X9.24-1 A.2).
const COUNTER_BITS: u32 = 21;
const COUNTER_MASK: u32 = (1 << COUNTER_BITS) - 1;
/// X9.24-1 A.2: a terminal skips counters with more than ten one-bits.
const MAX_COUNTER_ONES: u32 = 10;

/// Mask applied to a key register for the IPEK right half and inside the
/// non-reversible key generation process (X9.24-1 A.2, A.6).
const C0_MASK: [u8; 16] = [
    0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
];

const WRONG_LENGTH: &str = "a TDES DUKPT KSN is 10 bytes (20 hex digits)";
const TOO_MANY_ONES: &str =
    "transaction counter has more than 10 one-bits: no TDES DUKPT device uses it; check the KSN";

/// The working keys X9.24-1:2009 derives from a transaction key, each by
/// XOR with a variant constant (A.6, "Calculation of keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyVariant {
    /// PIN encryption.
    Pin,
    /// MAC of a request (terminal to host).
    MacRequest,
    /// MAC of a response (host to terminal).
    MacResponse,
    /// Data encryption, request; the variant is then encrypted under itself.
    DataRequest,
    /// Data encryption, response; likewise encrypted under itself.
    DataResponse,
}

impl KeyVariant {
    /// The variant constant; the same byte is set in both key halves.
    fn byte_index(self) -> usize {
        match self {
            KeyVariant::Pin => 7,
            KeyVariant::MacRequest => 6,
            KeyVariant::MacResponse => 4,
            KeyVariant::DataRequest => 5,
            KeyVariant::DataResponse => 3,
        }
    }

    fn is_data(self) -> bool {
        matches!(self, KeyVariant::DataRequest | KeyVariant::DataResponse)
    }
}

/// The KSN's 21-bit transaction counter, after checking that a transaction
/// can carry it: not zero, at most ten one-bits.
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
    u32::from_be_bytes([0, ksn[7], ksn[8], ksn[9]]) & COUNTER_MASK
}

/// The rightmost 64 KSN bits with the counter cleared: the register the
/// host ORs the counter bits into, one at a time (X9.24-1 A.6).
fn ksn_register(ksn: &[u8; KSN_LEN]) -> u64 {
    let mut right = [0u8; 8];
    right.copy_from_slice(&ksn[2..]);
    u64::from_be_bytes(right) & !u64::from(COUNTER_MASK)
}

fn check_double_length(key: &SymmetricKey, operation: &'static str) -> Result<Zeroizing<[u8; 16]>> {
    if key.algorithm() != Algorithm::Tdes || key.len() != 16 {
        return Err(CryptoError::WrongAlgorithm {
            operation,
            needed: "double-length (16-byte) TDES",
            actual: key.algorithm(),
        });
    }
    let mut out = Zeroizing::new([0u8; 16]);
    out.copy_from_slice(key.expose_secret());
    Ok(out)
}

/// The initial PIN encryption key (IPEK, X9.24-1 A.6): the leftmost eight
/// KSN bytes, counter cleared, TDES-encrypted under the BDK for the left
/// half and under the BDK XOR C0C0C0C000000000... for the right half.
///
/// Only the KSN's length is checked; its counter does not take part.
pub fn ipek(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    let bdk_bytes = check_double_length(bdk, "TDES DUKPT")?;
    let ksn = parse_ksn(ksn)?;
    let mut block = [0u8; 8];
    block.copy_from_slice(&ksn[..8]);
    block[7] &= 0xE0;

    let mut masked = bdk_bytes;
    xor_in_place(&mut masked[..], &C0_MASK);
    let masked = SymmetricKey::tdes(&masked[..])?;

    let mut ipek = Zeroizing::new([0u8; 16]);
    ipek[..8].copy_from_slice(&bdk.encrypt_ecb(&block)?);
    ipek[8..].copy_from_slice(&masked.encrypt_ecb(&block)?);
    SymmetricKey::tdes(&ipek[..])
}

/// One step of the non-reversible key generation process (X9.24-1 A.2):
/// the new right half is DES(key left)[data XOR key right] XOR key right,
/// the new left half the same under the key XOR the C0 mask.
fn non_reversible_step(key: &[u8; 16], data: u64) -> Result<Zeroizing<[u8; 16]>> {
    fn half(key: &[u8; 16], data: u64) -> Result<[u8; 8]> {
        let mut block = data.to_be_bytes();
        xor_in_place(&mut block, &key[8..]);
        let des = SymmetricKey::des(&key[..8])?;
        let mut out = [0u8; 8];
        out.copy_from_slice(&des.encrypt_ecb(&block)?);
        xor_in_place(&mut out, &key[8..]);
        Ok(out)
    }
    let mut masked = Zeroizing::new(*key);
    xor_in_place(&mut masked[..], &C0_MASK);
    let mut out = Zeroizing::new([0u8; 16]);
    out[..8].copy_from_slice(&half(&masked, data)?);
    out[8..].copy_from_slice(&half(key, data)?);
    Ok(out)
}

/// The transaction key (the "current key" of X9.24-1) for this KSN, from
/// the IPEK: one non-reversible step per one-bit of the counter, from the
/// highest bit down, each time with that bit added to the KSN register.
pub fn transaction_key_from_ipek(ipek: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    let mut key = check_double_length(ipek, "TDES DUKPT")?;
    let ksn_bytes = parse_ksn(ksn)?;
    let count = counter(ksn)?;
    let mut register = ksn_register(&ksn_bytes);
    for bit in (0..COUNTER_BITS).rev().map(|b| 1u32 << b) {
        if count & bit != 0 {
            register |= u64::from(bit);
            key = non_reversible_step(&key, register)?;
        }
    }
    SymmetricKey::tdes(&key[..])
}

/// The transaction key for this KSN, host side: from the BDK.
pub fn transaction_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    transaction_key_from_ipek(&ipek(bdk, ksn)?, ksn)
}

/// A working key from a transaction key (X9.24-1:2009 A.6): XOR with the
/// variant constant; for the data keys, then encrypt each half of that
/// variant under the variant itself, so that a data key cannot be turned
/// back into the PIN or MAC key by XOR.
pub fn variant_key(transaction_key: &SymmetricKey, variant: KeyVariant) -> Result<SymmetricKey> {
    let mut bytes = check_double_length(transaction_key, "TDES DUKPT variant")?;
    let i = variant.byte_index();
    bytes[i] ^= 0xFF;
    bytes[i + 8] ^= 0xFF;
    let key = SymmetricKey::tdes(&bytes[..])?;
    if !variant.is_data() {
        return Ok(key);
    }
    let encrypted = Zeroizing::new(key.encrypt_ecb(&bytes[..])?);
    SymmetricKey::tdes(&encrypted)
}

/// A working key for this KSN, host side.
pub fn working_key(bdk: &SymmetricKey, ksn: &[u8], variant: KeyVariant) -> Result<SymmetricKey> {
    variant_key(&transaction_key(bdk, ksn)?, variant)
}

/// The PIN encryption key for this KSN, host side.
pub fn pin_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    working_key(bdk, ksn, KeyVariant::Pin)
}

/// The request MAC key for this KSN, host side.
pub fn mac_request_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    working_key(bdk, ksn, KeyVariant::MacRequest)
}

/// The response MAC key for this KSN, host side.
pub fn mac_response_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    working_key(bdk, ksn, KeyVariant::MacResponse)
}

/// The request data encryption key for this KSN, host side.
pub fn data_request_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    working_key(bdk, ksn, KeyVariant::DataRequest)
}

/// The response data encryption key for this KSN, host side.
pub fn data_response_key(bdk: &SymmetricKey, ksn: &[u8]) -> Result<SymmetricKey> {
    working_key(bdk, ksn, KeyVariant::DataResponse)
}

#[cfg(test)]
mod tests;
