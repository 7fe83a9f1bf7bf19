//! ICC master key derivation, EMV 4.3 Book 2 A1.4: the key personalised
//! into a card is derived from the issuer master key (IMK) and the card's
//! PAN and PAN sequence number, so an issuer needs to store only the IMK.

use zeroize::Zeroizing;

use super::{Psn, pack_digits, pan_digits, require_double_length_tdes, set_odd_parity};
use crate::error::Result;
use crate::hash::sha1;
use crate::key::SymmetricKey;

/// The PAN digits followed by the PSN digits ("00" when absent).
fn pan_and_psn(pan: &str, psn: Option<Psn>) -> Result<Zeroizing<Vec<u8>>> {
    let mut digits = pan_digits(pan)?;
    digits.extend_from_slice(&psn.unwrap_or_default().digits());
    Ok(digits)
}

/// A1.4.1 steps 2 and 3: Z = DES3(IMK)[Y] || DES3(IMK)[Y XOR FF..FF],
/// then odd parity on every byte, as the clause requires of the result.
fn key_from_y(imk: &SymmetricKey, y: &[u8]) -> Result<SymmetricKey> {
    let mut input = Zeroizing::new(y.to_vec());
    input.extend(y.iter().map(|b| !b));
    let mut z = Zeroizing::new(imk.encrypt_ecb(&input)?);
    set_odd_parity(&mut z);
    SymmetricKey::tdes(&z)
}

/// Option A (A1.4.1): Y is the rightmost 16 digits of PAN || PSN, padded
/// on the left with zeros when shorter. The PAN is the digit string of tag
/// 5A without its F padding; the IMK is a double-length TDES key.
pub fn icc_master_key_option_a(imk: &SymmetricKey, pan: &str, psn: Option<Psn>) -> Result<SymmetricKey> {
    require_double_length_tdes(imk, "EMV master key derivation")?;
    let digits = pan_and_psn(pan, psn)?;
    let mut y_digits = Zeroizing::new(vec![0u8; 16usize.saturating_sub(digits.len())]);
    y_digits.extend_from_slice(&digits[digits.len().saturating_sub(16)..]);
    key_from_y(imk, &pack_digits(&y_digits))
}

/// Option B (A1.4.2), for PANs longer than 16 digits: Y is 16 decimal
/// digits taken from the SHA-1 hash of PAN || PSN. For PANs of 16 digits
/// or fewer it is option A, as the clause says.
pub fn icc_master_key_option_b(imk: &SymmetricKey, pan: &str, psn: Option<Psn>) -> Result<SymmetricKey> {
    require_double_length_tdes(imk, "EMV master key derivation")?;
    if pan.len() <= 16 {
        return icc_master_key_option_a(imk, pan, psn);
    }
    let digits = pan_and_psn(pan, psn)?;
    // An odd number of digits gets a leading zero to fill whole bytes.
    let mut even = Zeroizing::new(vec![0u8; digits.len() % 2]);
    even.extend_from_slice(&digits);
    let hash = Zeroizing::new(sha1(&pack_digits(&even)));
    let y_digits = decimalise(&hash[..]);
    key_from_y(imk, &pack_digits(&y_digits))
}

/// A1.4.2 step 3: the hash's hex digits 0-9, left to right, then if fewer
/// than 16, its digits A-F left to right read as 0-5.
fn decimalise(hash: &[u8]) -> Zeroizing<Vec<u8>> {
    let nibbles = Zeroizing::new(hash.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect::<Vec<u8>>());
    let decimal = nibbles.iter().filter(|&&n| n <= 9).copied();
    let letters = nibbles.iter().filter(|&&n| n > 9).map(|n| n - 10);
    Zeroizing::new(decimal.chain(letters).take(16).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kcv::check_block;
    use hex::decode as h;
    use proptest::prelude::*;

    /// The IMK of the published examples below; its check value is 08D7B4.
    fn imk() -> SymmetricKey {
        SymmetricKey::tdes(&h("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap()
    }

    fn psn(s: &str) -> Option<Psn> {
        Some(Psn::from_digits(s).unwrap())
    }

    fn kcv2(key: &SymmetricKey) -> String {
        hex::encode_upper(&check_block(key)[..2])
    }

    // Examples and check values from pyemv (knovichikhin/pyemv): the
    // docstrings of pyemv/kd.py and tests/test_kd_hsm.py, whose values the
    // author labels as produced with a payment HSM. EMV Book 2 itself
    // prints no numeric example.

    #[test]
    fn option_a_examples() {
        let key = icc_master_key_option_a(&imk(), "12345678901234567", psn("01")).unwrap();
        assert_eq!(
            hex::encode_upper(key.expose_secret()),
            "73AD54688CEF2934B0979857E3C719F1"
        );
        let key = icc_master_key_option_a(&imk(), "99012345678901234", psn("45")).unwrap();
        assert_eq!(
            hex::encode_upper(key.expose_secret()),
            "67F8292358083E5EA7AB7FDA58D53B6B"
        );
        let key = icc_master_key_option_a(&imk(), "12345678901234567", psn("45")).unwrap();
        assert_eq!(kcv2(&key), "FF08");
    }

    #[test]
    fn option_b_examples() {
        let key = icc_master_key_option_b(&imk(), "12345678901234567", psn("01")).unwrap();
        assert_eq!(
            hex::encode_upper(key.expose_secret()),
            "AD406D7F6D7570916D75E5DCAB8CF737"
        );
        for (pan, psn_digits, check) in [
            ("1234567890123456", None, "BAB0"),
            ("12345678901234567", Some("45"), "0BAF"),
            ("12345678901234567", None, "4626"),
            ("123456789012345679", Some("00"), "C2F3"),
            // The SHA-1 of this one has fewer than 16 decimal digits, so
            // the letters are decimalised too.
            ("000000000000000005", Some("23"), "DD73"),
        ] {
            let key = icc_master_key_option_b(&imk(), pan, psn_digits.map(|d| Psn::from_digits(d).unwrap()))
                .unwrap();
            assert_eq!(kcv2(&key), check, "PAN length {}", pan.len());
        }
    }

    #[test]
    fn option_a_by_hand() {
        // Independent of the examples: Y for a 16-digit PAN and PSN 01 is
        // the last 16 of the 18 digits; a 12-digit PAN and PSN 00 make 14
        // digits, padded on the left with two zeros.
        let y = h("5678123456789101").unwrap();
        let mut z = imk()
            .encrypt_ecb(&[y.clone(), y.iter().map(|b| !b).collect()].concat())
            .unwrap();
        set_odd_parity(&mut z);
        let key = icc_master_key_option_a(&imk(), "5656781234567891", psn("01")).unwrap();
        assert_eq!(key.expose_secret(), &z[..]);

        let short = icc_master_key_option_a(&imk(), "123456789012", None).unwrap();
        let y = h("0012345678901200").unwrap();
        let z = imk()
            .encrypt_ecb(&[y.clone(), y.iter().map(|b| !b).collect()].concat())
            .unwrap();
        assert_eq!(check_block(&short), check_block(&SymmetricKey::tdes(&z).unwrap()));
        assert!(short.expose_secret().iter().all(|b| b.count_ones() % 2 == 1));
    }

    #[test]
    fn decimalisation_takes_digits_then_letters() {
        let hash = h("A1B2C3D4E5F60708090A0B0C0D0E0F1011121314").unwrap();
        let d: Vec<u8> = decimalise(&hash).to_vec();
        assert_eq!(d, [1, 2, 3, 4, 5, 6, 0, 7, 0, 8, 0, 9, 0, 0, 0, 0]);
        let letters = h("ABCDEFABCDEFABCDEFAB123456789ABCDEFABCDE").unwrap();
        let d: Vec<u8> = decimalise(&letters).to_vec();
        assert_eq!(d, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 0]);
    }

    #[test]
    fn wrong_keys_and_pans_are_errors() {
        let aes = SymmetricKey::aes(&[1; 16]).unwrap();
        assert!(icc_master_key_option_a(&aes, "12345678901234567", None).is_err());
        assert!(
            icc_master_key_option_b(&SymmetricKey::tdes(&[1; 24]).unwrap(), "1234567890123", None).is_err()
        );
        assert!(icc_master_key_option_b(&imk(), "12345678901234567X", None).is_err());
        assert!(icc_master_key_option_a(&imk(), "1234", None).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_pans_never_panic(pan in ".{0,24}", psn_byte in any::<u8>()) {
            let psn = Psn::from_bcd(psn_byte).ok();
            let _ = icc_master_key_option_a(&imk(), &pan, psn);
            let _ = icc_master_key_option_b(&imk(), &pan, psn);
        }

        #[test]
        fn digit_pans_always_derive(pan in "[0-9]{12,19}") {
            let a = icc_master_key_option_a(&imk(), &pan, None).unwrap();
            let b = icc_master_key_option_b(&imk(), &pan, None).unwrap();
            prop_assert_eq!(a == b, pan.len() <= 16);
        }
    }
}
