//! Message authentication codes used at the point of sale:
//! ISO 9797-1 MAC algorithms 1 and 3 (3 is the ANSI X9.19 "retail MAC"),
//! CMAC (NIST SP 800-38B) and the UnionPay POS "ECB" MAC.

use crate::cipher::xor_in_place;
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

/// ISO 9797-1 padding methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Method 1: zero bits up to a whole (and at least one) block.
    Method1,
    /// Method 2: one `80` byte, then zeros up to a whole block.
    Method2,
}

impl Padding {
    pub fn apply(self, data: &[u8], block: usize) -> Vec<u8> {
        let mut out = data.to_vec();
        if self == Padding::Method2 {
            out.push(0x80);
        }
        // Method 1 on empty data still yields one block (ISO 9797-1 6.1.1).
        let target = out.len().div_ceil(block).max(1) * block;
        out.resize(target, 0);
        out
    }
}

/// ISO 9797-1 MAC algorithm 1: CBC-MAC with the whole key on every block.
/// With a TDES key this is the full-TDES CBC-MAC; with DES the classic one.
pub fn cbc_mac(key: &SymmetricKey, data: &[u8], padding: Padding) -> Vec<u8> {
    let engine = key.engine();
    let bs = engine.block_size();
    let mut chain = vec![0u8; bs];
    for block in padding.apply(data, bs).chunks_exact(bs) {
        xor_in_place(&mut chain, block);
        engine.encrypt_block(&mut chain);
    }
    chain
}

/// ISO 9797-1 MAC algorithm 3 (ANSI X9.19 retail MAC): single DES CBC with
/// the first key half, then the output transformation with the whole TDES
/// key on the last block. Returns the full 8-byte MAC.
pub fn retail_mac(key: &SymmetricKey, data: &[u8], padding: Padding) -> Result<[u8; 8]> {
    let tdes = key.engine().as_tdes().ok_or(CryptoError::WrongAlgorithm {
        operation: "retail MAC",
        needed: "double- or triple-length TDES",
        actual: key.algorithm(),
    })?;
    let first = tdes.first();
    let padded = padding.apply(data, 8);
    let (body, last) = padded.split_last_chunk::<8>().expect("padding yields a block");
    let mut chain = 0u64;
    for block in body.chunks_exact(8) {
        chain = first.encrypt(chain ^ u64::from_be_bytes(block.try_into().expect("8 bytes")));
    }
    // E_K1(D_K2(E_K1(x))) on the last block is the TDES encryption of x.
    let chain = tdes.encrypt(chain ^ u64::from_be_bytes(*last)).to_be_bytes();
    Ok(chain)
}

/// CMAC (NIST SP 800-38B) with any supported cipher; full block length.
pub fn cmac(key: &SymmetricKey, data: &[u8]) -> Vec<u8> {
    key.engine().cmac(data, key)
}

/// The UnionPay POS terminal MAC ("ECB" method) over the MAC element block
/// (MTI through field 63). Returns the 8 bytes that go into field 64: the
/// first eight hex characters (ASCII) of the final encryption.
pub fn cup_ecb_mac(key: &SymmetricKey, mab: &[u8]) -> Result<[u8; 8]> {
    if !matches!(key.algorithm(), Algorithm::Des | Algorithm::Tdes) {
        return Err(CryptoError::WrongAlgorithm {
            operation: "UnionPay ECB MAC",
            needed: "DES or TDES",
            actual: key.algorithm(),
        });
    }
    let mut folded = [0u8; 8];
    for block in mab.chunks(8) {
        xor_in_place(&mut folded, block);
    }
    let expanded = hex_upper(&folded);
    let engine = key.engine();
    let mut block = [0u8; 8];
    block.copy_from_slice(&expanded[..8]);
    engine.encrypt_block(&mut block);
    xor_in_place(&mut block, &expanded[8..]);
    engine.encrypt_block(&mut block);
    let mut out = [0u8; 8];
    out.copy_from_slice(&hex_upper(&block)[..8]);
    Ok(out)
}

fn hex_upper(bytes: &[u8; 8]) -> [u8; 16] {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = [0u8; 16];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[(b >> 4) as usize];
        out[2 * i + 1] = DIGITS[(b & 0x0F) as usize];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex::decode as h;

    const NOW_IS: &[u8] = b"Now is the time for all ";

    fn key(hex: &str) -> SymmetricKey {
        SymmetricKey::des_family(&h(hex).unwrap()).unwrap()
    }

    #[test]
    fn padding_methods() {
        assert_eq!(Padding::Method1.apply(&[], 8), vec![0; 8]);
        assert_eq!(Padding::Method1.apply(&[1; 8], 8), vec![1; 8]);
        assert_eq!(Padding::Method2.apply(&[1; 8], 8).len(), 16);
        assert_eq!(
            Padding::Method2.apply(&[1; 3], 8),
            vec![1, 1, 1, 0x80, 0, 0, 0, 0]
        );
    }

    const NOW_IT: &[u8] = b"Now is the time for it";

    #[test]
    fn iso9797_alg1_annex_b() {
        // ISO/IEC 9797-1 Annex B, DES, K = 0123456789ABCDEF; the annex
        // prints 32-bit MACs, the leftmost half of the last CBC block.
        let k = key("0123456789ABCDEF");
        let mac = |data, pad| hex::encode_upper(&cbc_mac(&k, data, pad)[..4]);
        assert_eq!(mac(NOW_IS, Padding::Method1), "70A30640");
        assert_eq!(mac(NOW_IS, Padding::Method2), "10E1F0F1");
        assert_eq!(mac(NOW_IT, Padding::Method1), "E45B3AD2");
        assert_eq!(mac(NOW_IT, Padding::Method2), "A924C721");
    }

    #[test]
    fn iso9797_alg3_annex_b() {
        // K = 0123456789ABCDEF, K' = FEDCBA9876543210, 64-bit MACs.
        let k = key("0123456789ABCDEFFEDCBA9876543210");
        let mac = |data, pad| hex::encode_upper(retail_mac(&k, data, pad).unwrap());
        assert_eq!(mac(NOW_IS, Padding::Method1), "A1C72E74EA3FA9B6");
        assert_eq!(mac(NOW_IS, Padding::Method2), "E9086230CA3BE796");
        assert_eq!(mac(NOW_IT, Padding::Method1), "2E2B1428CC78254F");
        assert_eq!(mac(NOW_IT, Padding::Method2), "5A692CE64F404145");
    }

    #[test]
    fn retail_mac_refuses_single_des() {
        assert!(retail_mac(&key("0123456789ABCDEF"), b"x", Padding::Method1).is_err());
    }

    #[test]
    fn cup_ecb_mac_follows_the_folding_steps() {
        let k = key("C24A8FB57AA20123");
        let mab = h("0200302004C020C0981100000000000000005100183402100006324392260009").unwrap();
        // Fold, expand to hex, encrypt, XOR the second half, encrypt again.
        let mut folded = [0u8; 8];
        mab.chunks(8).for_each(|b| xor_in_place(&mut folded, b));
        assert_eq!(hex::encode_upper(folded), "9A1753638ED222D9");
        let hexed = hex::encode_upper(folded);
        let e1 = k.encrypt_ecb(&hexed.as_bytes()[..8]).unwrap();
        let e2 = k
            .encrypt_ecb(&crate::cipher::xor(&e1, &hexed.as_bytes()[8..]))
            .unwrap();
        let expected = &hex::encode_upper(e2)[..8];
        let mac = cup_ecb_mac(&k, &mab).unwrap();
        assert_eq!(std::str::from_utf8(&mac).unwrap(), expected);
    }

    #[test]
    fn cup_ecb_mac_published_example() {
        // A worked "MAC算法演示" example published on CSDN (zhu244912654,
        // article 80005341): a 0200 sale MAB, TMK 70F2...B923, TAK
        // 96D605EA176B7E9E encrypted = C24A8FB57AA20123 clear. The final
        // block 8A9E91B88D839AC5 and MAC 8A9E91B8 are from a public Python
        // POS tool that quotes the same MAB and its computed result.
        let k = key("C24A8FB57AA20123");
        let mab = h(concat!(
            "0200302004C020C0981100000000000000005100183402100006324392260009",
            "942820D1312101120084393136363838303134303030303030303030303030",
            "303031313536ACF46E73838A82F92600000000000000000822000001",
        ))
        .unwrap();
        assert_eq!(&cup_ecb_mac(&k, &mab).unwrap(), b"8A9E91B8");
    }
}
