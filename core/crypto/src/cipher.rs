//! Block encryption in ECB and CBC mode for every supported algorithm.
//! Payment messages pad their own data (ISO 9797-1, ISO 9564), so the
//! modes here take block-aligned input and add no padding.

use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, Mac};
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use sm4::Sm4;

use crate::des::{Des, Tdes};
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

/// A keyed block cipher, ready to use.
#[derive(Clone)]
pub(crate) enum Engine {
    Des(Des),
    Tdes(Tdes),
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
    Sm4(Sm4),
}

/// Matches the RustCrypto-backed engines with one body, and the DES
/// family with arms of its own.
macro_rules! each_rustcrypto {
    ($engine:expr, $c:ident => $body:expr, $($des:pat => $des_body:expr),+) => {
        match $engine {
            Engine::Aes128($c) => $body,
            Engine::Aes192($c) => $body,
            Engine::Aes256($c) => $body,
            Engine::Sm4($c) => $body,
            $($des => $des_body),+
        }
    };
}

fn keyed<C: KeyInit>(bytes: &[u8]) -> C {
    // SymmetricKey has already checked the length for its algorithm.
    C::new_from_slice(bytes).expect("key length checked by SymmetricKey")
}

fn des_block(block: &[u8]) -> u64 {
    u64::from_be_bytes(block.try_into().expect("caller passes one 8-byte block"))
}

impl Engine {
    pub(crate) fn new(key: &SymmetricKey) -> Self {
        let k = key.expose_secret();
        match (key.algorithm(), k.len()) {
            (Algorithm::Des, _) => Engine::Des(Des::new(k.try_into().expect("8-byte DES key"))),
            (Algorithm::Tdes, _) => Engine::Tdes(Tdes::new(k)),
            (Algorithm::Aes, 16) => Engine::Aes128(keyed(k)),
            (Algorithm::Aes, 24) => Engine::Aes192(keyed(k)),
            (Algorithm::Aes, _) => Engine::Aes256(keyed(k)),
            (Algorithm::Sm4, _) => Engine::Sm4(keyed(k)),
        }
    }

    /// The TDES schedule, for constructions built on its parts.
    pub(crate) fn as_tdes(&self) -> Option<&Tdes> {
        match self {
            Engine::Tdes(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn block_size(&self) -> usize {
        match self {
            Engine::Des(_) | Engine::Tdes(_) => 8,
            _ => 16,
        }
    }

    /// Encrypts one block in place; `block` is exactly one block long.
    pub(crate) fn encrypt_block(&self, block: &mut [u8]) {
        each_rustcrypto!(self, c => c.encrypt_block(block.try_into().expect("one block")),
            Engine::Des(d) => block.copy_from_slice(&d.encrypt(des_block(block)).to_be_bytes()),
            Engine::Tdes(t) => block.copy_from_slice(&t.encrypt(des_block(block)).to_be_bytes()))
    }

    pub(crate) fn decrypt_block(&self, block: &mut [u8]) {
        each_rustcrypto!(self, c => c.decrypt_block(block.try_into().expect("one block")),
            Engine::Des(d) => block.copy_from_slice(&d.decrypt(des_block(block)).to_be_bytes()),
            Engine::Tdes(t) => block.copy_from_slice(&t.decrypt(des_block(block)).to_be_bytes()))
    }

    /// CMAC (NIST SP 800-38B) over `data`, full block length. DES-family
    /// keys go through RustCrypto's DES, which the cmac crate can drive.
    pub(crate) fn cmac(&self, data: &[u8], key: &SymmetricKey) -> Vec<u8> {
        fn run<C: cmac::block_api::CmacCipher + Clone>(c: &C, data: &[u8]) -> Vec<u8> {
            let mut mac = <Cmac<C> as cmac::digest::common::InnerInit>::inner_init(c.clone());
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        let k = key.expose_secret();
        each_rustcrypto!(self, c => run(c, data), Engine::Des(_) | Engine::Tdes(_) => match k.len() {
            8 => run(&keyed::<des::Des>(k), data),
            16 => run(&keyed::<des::TdesEde2>(k), data),
            _ => run(&keyed::<des::TdesEde3>(k), data),
        })
    }
}

fn check_aligned(data: &[u8], block: usize) -> Result<()> {
    if data.len() % block != 0 {
        return Err(CryptoError::NotBlockAligned {
            len: data.len(),
            block,
        });
    }
    Ok(())
}

fn check_iv(iv: &[u8], block: usize) -> Result<()> {
    if iv.len() != block {
        return Err(CryptoError::IvLength {
            expected: block,
            actual: iv.len(),
        });
    }
    Ok(())
}

impl SymmetricKey {
    fn ecb(&self, data: &[u8], op: fn(&Engine, &mut [u8])) -> Result<Vec<u8>> {
        let engine = self.engine();
        let bs = engine.block_size();
        check_aligned(data, bs)?;
        let mut out = data.to_vec();
        out.chunks_exact_mut(bs).for_each(|b| op(engine, b));
        Ok(out)
    }

    pub fn encrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.ecb(data, Engine::encrypt_block)
    }

    pub fn decrypt_ecb(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.ecb(data, Engine::decrypt_block)
    }

    pub fn encrypt_cbc(&self, iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        let engine = self.engine();
        let bs = engine.block_size();
        check_aligned(data, bs)?;
        check_iv(iv, bs)?;
        let mut out = data.to_vec();
        let mut chain = iv.to_vec();
        for block in out.chunks_exact_mut(bs) {
            xor_in_place(block, &chain);
            engine.encrypt_block(block);
            chain.copy_from_slice(block);
        }
        Ok(out)
    }

    pub fn decrypt_cbc(&self, iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
        let engine = self.engine();
        let bs = engine.block_size();
        check_aligned(data, bs)?;
        check_iv(iv, bs)?;
        let mut out = data.to_vec();
        let mut chain = iv.to_vec();
        for block in out.chunks_exact_mut(bs) {
            let cipher_text = block.to_vec();
            engine.decrypt_block(block);
            xor_in_place(block, &chain);
            chain = cipher_text;
        }
        Ok(out)
    }

    /// Encrypts exactly one block.
    pub fn encrypt_block(&self, block: &[u8]) -> Result<Vec<u8>> {
        let bs = self.algorithm().block_size();
        if block.len() != bs {
            return Err(CryptoError::Input {
                field: "block",
                reason: "must be exactly one cipher block",
            });
        }
        self.encrypt_ecb(block)
    }
}

/// `a ^= b` over the shorter of the two.
pub fn xor_in_place(a: &mut [u8], b: &[u8]) {
    a.iter_mut().zip(b).for_each(|(x, y)| *x ^= y);
}

/// Equality that takes the same time wherever the slices differ, for
/// comparing MACs, check values and cryptograms.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `a ^ b` for equal-length slices (the shorter length otherwise).
pub fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex::decode as h;

    fn upper(bytes: &[u8]) -> String {
        hex::encode_upper(bytes)
    }

    #[test]
    fn des_fips81_vector() {
        // FIPS 81 / classic DES example: "Now is t" under 0123456789ABCDEF.
        let key = SymmetricKey::des(&h("0123456789ABCDEF").unwrap()).unwrap();
        let ct = key.encrypt_ecb(&h("4E6F772069732074").unwrap()).unwrap();
        assert_eq!(upper(&ct), "3FA40E8A984D4815");
    }

    #[test]
    fn tdes_two_key_equals_des_when_halves_match() {
        // EDE with K1 = K2 degenerates to single DES: a property the
        // payment industry relies on for single-length key compatibility.
        let des = SymmetricKey::des(&h("0123456789ABCDEF").unwrap()).unwrap();
        let tdes = SymmetricKey::tdes(&h("0123456789ABCDEF0123456789ABCDEF").unwrap()).unwrap();
        let pt = h("4E6F772069732074").unwrap();
        assert_eq!(des.encrypt_ecb(&pt).unwrap(), tdes.encrypt_ecb(&pt).unwrap());
    }

    #[test]
    fn aes128_fips197_vector() {
        let key = SymmetricKey::aes(&h("000102030405060708090a0b0c0d0e0f").unwrap()).unwrap();
        let ct = key
            .encrypt_ecb(&h("00112233445566778899aabbccddeeff").unwrap())
            .unwrap();
        assert_eq!(upper(&ct), "69C4E0D86A7B0430D8CDB78070B4C55A");
    }

    #[test]
    fn aes192_and_aes256_fips197_vectors() {
        let pt = h("00112233445566778899aabbccddeeff").unwrap();
        let k192 =
            SymmetricKey::aes(&h("000102030405060708090a0b0c0d0e0f1011121314151617").unwrap()).unwrap();
        assert_eq!(
            upper(&k192.encrypt_ecb(&pt).unwrap()),
            "DDA97CA4864CDFE06EAF70A0EC0D7191"
        );
        let k256 = SymmetricKey::aes(
            &h("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap(),
        )
        .unwrap();
        assert_eq!(
            upper(&k256.encrypt_ecb(&pt).unwrap()),
            "8EA2B7CA516745BFEAFC49904B496089"
        );
    }

    #[test]
    fn sm4_gbt32907_vector() {
        let key = SymmetricKey::sm4(&h("0123456789abcdeffedcba9876543210").unwrap()).unwrap();
        let ct = key
            .encrypt_ecb(&h("0123456789abcdeffedcba9876543210").unwrap())
            .unwrap();
        assert_eq!(upper(&ct), "681EDF34D206965E86B3E94F536E4246");
    }

    #[test]
    fn aes_cbc_sp800_38a_vector() {
        // SP 800-38A F.2.1, first two blocks.
        let key = SymmetricKey::aes(&h("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        let iv = h("000102030405060708090a0b0c0d0e0f").unwrap();
        let pt = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51").unwrap();
        let ct = key.encrypt_cbc(&iv, &pt).unwrap();
        assert_eq!(
            upper(&ct),
            "7649ABAC8119B246CEE98E9B12E9197D5086CB9B507219EE95DB113A917678B2"
        );
        assert_eq!(key.decrypt_cbc(&iv, &ct).unwrap(), pt);
    }

    #[test]
    fn misaligned_data_and_bad_iv_are_errors() {
        let key = SymmetricKey::tdes(&[1; 16]).unwrap();
        assert_eq!(
            key.encrypt_ecb(&[0; 7]).unwrap_err(),
            CryptoError::NotBlockAligned { len: 7, block: 8 }
        );
        assert!(key.encrypt_cbc(&[0; 16], &[0; 8]).is_err());
    }

    #[test]
    fn aes_cmac_sp800_38b_vectors() {
        let key = SymmetricKey::aes(&h("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        let engine = key.engine();
        assert_eq!(upper(&engine.cmac(&[], &key)), "BB1D6929E95937287FA37D129B756746");
        assert_eq!(
            upper(&engine.cmac(&h("6bc1bee22e409f96e93d7e117393172a").unwrap(), &key)),
            "070A16B46B4D4144F79BDD9DD04A287C"
        );
    }
}
