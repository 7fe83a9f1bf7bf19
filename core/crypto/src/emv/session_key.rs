//! EMV common session key derivation, EMV 4.3 Book 2 A1.3.1.
//!
//! With an n-byte block cipher and a k-bit master key MK, and an n-byte
//! diversification value R (for application cryptograms R is the ATC
//! followed by zeros):
//! - k = 8n (AES-128; SM4 by the same rule): SK = ALG(MK)[R];
//! - 8n < k <= 16n (double-length TDES, AES-192, AES-256):
//!   SK = leftmost k bits of ALG(MK)[F1] || ALG(MK)[F2], where F1 and F2 are
//!   R with its third byte replaced by F0 and 0F respectively.

use zeroize::Zeroizing;

use super::set_odd_parity;
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

/// The session key for diversification value `r`, which must be one block
/// long (8 bytes for TDES, 16 for AES and SM4).
///
/// TDES session keys come out with odd parity set. A1.3.1 says nothing of
/// parity; DES ignores those bits, so no cryptogram changes, but the key
/// bytes and check value then match what payment HSMs derive.
pub fn session_key(mk: &SymmetricKey, r: &[u8]) -> Result<SymmetricKey> {
    let n = mk.algorithm().block_size();
    let k = mk.len();
    if mk.algorithm() == Algorithm::Des || k > 2 * n {
        return Err(CryptoError::WrongAlgorithm {
            operation: "EMV session key derivation",
            needed: "double-length TDES, AES or SM4",
            actual: mk.algorithm(),
        });
    }
    if r.len() != n {
        return Err(CryptoError::Input {
            field: "EMV diversification value",
            reason: "must be one cipher block long: 8 bytes for TDES, 16 for AES or SM4",
        });
    }
    if k == n {
        let sk = Zeroizing::new(mk.encrypt_ecb(r)?);
        return SymmetricKey::new(mk.algorithm(), &sk);
    }
    let mut f = Zeroizing::new([r, r].concat());
    f[2] = 0xF0;
    f[n + 2] = 0x0F;
    let mut sk = Zeroizing::new(mk.encrypt_ecb(&f)?);
    sk.truncate(k);
    if mk.algorithm() == Algorithm::Tdes {
        set_odd_parity(&mut sk);
    }
    SymmetricKey::new(mk.algorithm(), &sk)
}

/// The application cryptogram session key for an Application Transaction
/// Counter (tag 9F36): R = ATC || 00 .. 00 (A1.3.1).
pub fn ac_session_key(mk: &SymmetricKey, atc: u16) -> Result<SymmetricKey> {
    let mut r = vec![0u8; mk.algorithm().block_size()];
    r[..2].copy_from_slice(&atc.to_be_bytes());
    session_key(mk, &r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kcv::check_block;
    use hex::decode as h;
    use proptest::prelude::*;

    fn upper(key: &SymmetricKey) -> String {
        hex::encode_upper(key.expose_secret())
    }

    #[test]
    fn tdes_session_key_example() {
        // pyemv/kd.py derive_common_sk docstring: MK 0123...3210, R = ATC
        // 001C then zeros.
        let mk = SymmetricKey::tdes(&h("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
        assert_eq!(
            upper(&ac_session_key(&mk, 0x001C).unwrap()),
            "E9FB384AF807B940FEDCEA613461B0C4"
        );
        assert_eq!(
            upper(&session_key(&mk, &h("001C000000000000").unwrap()).unwrap()),
            "E9FB384AF807B940FEDCEA613461B0C4"
        );
    }

    #[test]
    fn tdes_session_key_by_hand() {
        let mk = SymmetricKey::tdes(&h("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
        let left = mk.encrypt_ecb(&h("1234F07890123456").unwrap()).unwrap();
        let right = mk.encrypt_ecb(&h("12340F7890123456").unwrap()).unwrap();
        let expected = SymmetricKey::tdes(&[left, right].concat()).unwrap();
        let sk = session_key(&mk, &h("1234567890123456").unwrap()).unwrap();
        assert_eq!(check_block(&sk), check_block(&expected));
        assert!(sk.expose_secret().iter().all(|b| b.count_ones() % 2 == 1));
    }

    // No published AES vector for A1.3.1 was found; these check the
    // clause's formulas with independent block encryptions.

    #[test]
    fn aes128_session_key_is_one_encryption_of_r() {
        let mk = SymmetricKey::aes(&h("000102030405060708090A0B0C0D0E0F").unwrap()).unwrap();
        let r = h("00420000000000000000000000000000").unwrap();
        let expected = mk.encrypt_ecb(&r).unwrap();
        assert_eq!(
            ac_session_key(&mk, 0x0042).unwrap().expose_secret(),
            &expected[..]
        );
    }

    #[test]
    fn aes256_session_key_uses_f1_and_f2() {
        let mk = SymmetricKey::aes(&[0x5A; 32]).unwrap();
        let mut f1 = vec![0u8; 16];
        f1[..3].copy_from_slice(&[0x01, 0x02, 0xF0]);
        let mut f2 = f1.clone();
        f2[2] = 0x0F;
        let expected = [mk.encrypt_ecb(&f1).unwrap(), mk.encrypt_ecb(&f2).unwrap()].concat();
        assert_eq!(
            ac_session_key(&mk, 0x0102).unwrap().expose_secret(),
            &expected[..]
        );

        let mk192 = SymmetricKey::aes(&[0x5A; 24]).unwrap();
        let full = [mk192.encrypt_ecb(&f1).unwrap(), mk192.encrypt_ecb(&f2).unwrap()].concat();
        assert_eq!(
            ac_session_key(&mk192, 0x0102).unwrap().expose_secret(),
            &full[..24]
        );
    }

    #[test]
    fn wrong_keys_and_lengths_are_errors() {
        let des = SymmetricKey::des(&[1; 8]).unwrap();
        let tdes3 = SymmetricKey::tdes(&[1; 24]).unwrap();
        let tdes = SymmetricKey::tdes(&[1; 16]).unwrap();
        assert!(ac_session_key(&des, 1).is_err());
        assert!(ac_session_key(&tdes3, 1).is_err());
        assert!(session_key(&tdes, &[0; 16]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_diversifiers_never_panic(
            r in proptest::collection::vec(any::<u8>(), 0..20),
            key in proptest::collection::vec(any::<u8>(), 16..17),
        ) {
            let keys = [
                SymmetricKey::tdes(&key).unwrap(),
                SymmetricKey::aes(&key).unwrap(),
                SymmetricKey::sm4(&key).unwrap(),
            ];
            for mk in keys {
                if let Ok(sk) = session_key(&mk, &r) {
                    prop_assert_eq!(sk.len(), 16);
                }
            }
        }
    }
}
