//! Key check values, and loading working keys under a master key (MK/SK).

use crate::cipher::constant_time_eq;
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};
use crate::mac::cmac;

/// The full check block of a key: DES, TDES and SM4 encrypt a block of
/// zeros; AES takes the CMAC of a block of zeros (ANSI X9.24-1:2017).
pub fn check_block(key: &SymmetricKey) -> Vec<u8> {
    let zeros = vec![0u8; key.algorithm().block_size()];
    match key.algorithm() {
        Algorithm::Aes => cmac(key, &zeros),
        _ => key.encrypt_ecb(&zeros).expect("one whole block"),
    }
}

/// The conventional key check value: 3 bytes for DES/TDES/SM4, 5 for AES.
pub fn kcv(key: &SymmetricKey) -> Vec<u8> {
    let len = if key.algorithm() == Algorithm::Aes { 5 } else { 3 };
    check_block(key)[..len].to_vec()
}

/// Compares a received check value (any length from 2 bytes to the whole
/// block, as acquirers send 2 to 8 bytes) in constant time.
pub fn verify_check_value(key: &SymmetricKey, expected: &[u8]) -> bool {
    let full = check_block(key);
    (2..=full.len()).contains(&expected.len()) && constant_time_eq(&full[..expected.len()], expected)
}

/// MK/SK: decrypts a working key sent encrypted (ECB) under the master key,
/// and accepts it only if its check value matches.
///
/// `name` says which key this is ("PIN key", "MAC key") so the error can
/// tell the operator what failed to load.
pub fn unwrap_working_key(
    master: &SymmetricKey,
    algorithm: Algorithm,
    encrypted: &[u8],
    check_value: &[u8],
    name: &'static str,
) -> Result<SymmetricKey> {
    let clear = zeroize::Zeroizing::new(master.decrypt_ecb(encrypted)?);
    let key = SymmetricKey::new(algorithm, &clear)?;
    if !verify_check_value(&key, check_value) {
        return Err(CryptoError::CheckValueMismatch(name));
    }
    Ok(key)
}

/// The inverse of [`unwrap_working_key`], used by the acquirer simulator and
/// key-loading tools: the encrypted key and its 4-byte check value.
pub fn wrap_working_key(master: &SymmetricKey, key: &SymmetricKey) -> Result<(Vec<u8>, Vec<u8>)> {
    let encrypted = master.encrypt_ecb(key.expose_secret())?;
    Ok((encrypted, check_block(key)[..4].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex::decode as h;

    #[test]
    fn tdes_kcv_known_value() {
        // The classic test key 0123456789ABCDEFFEDCBA9876543210 has KCV 08D7B4.
        let key = SymmetricKey::tdes(&h("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
        assert_eq!(hex::encode_upper(kcv(&key)), "08D7B4");
    }

    #[test]
    fn aes_kcv_is_cmac_of_zeros() {
        // SP 800-38B key; CMAC of one zero block, leftmost 5 bytes.
        let key = SymmetricKey::aes(&h("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        assert_eq!(kcv(&key), cmac(&key, &[0; 16])[..5].to_vec());
        assert_eq!(kcv(&key).len(), 5);
    }

    #[test]
    fn working_key_under_master_key() {
        // A UnionPay terminal example: TAK C24A8FB57AA20123 travels
        // encrypted as 96D605EA176B7E9E under TMK 70F2...B923.
        let tmk = SymmetricKey::tdes(&h("70F2A84CCBC2AE8625CBB0F2C22AB923").unwrap()).unwrap();
        let tak = SymmetricKey::des(&h("C24A8FB57AA20123").unwrap()).unwrap();
        let (encrypted, cv) = wrap_working_key(&tmk, &tak).unwrap();
        assert_eq!(hex::encode_upper(&encrypted), "96D605EA176B7E9E");
        let loaded = unwrap_working_key(&tmk, Algorithm::Des, &encrypted, &cv, "MAC key").unwrap();
        assert_eq!(loaded, tak);
    }

    #[test]
    fn bad_check_value_is_refused() {
        let tmk = SymmetricKey::tdes(&[0x11; 16]).unwrap();
        let pik = SymmetricKey::tdes(&[0x22; 16]).unwrap();
        let (encrypted, mut cv) = wrap_working_key(&tmk, &pik).unwrap();
        cv[0] ^= 1;
        let err = unwrap_working_key(&tmk, Algorithm::Tdes, &encrypted, &cv, "PIN key").unwrap_err();
        assert_eq!(err, CryptoError::CheckValueMismatch("PIN key"));
        assert!(!verify_check_value(&pik, &[]));
    }
}
