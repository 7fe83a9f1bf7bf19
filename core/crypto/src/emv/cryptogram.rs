//! Application cryptograms and ARPCs, EMV 4.3 Book 2 A1.2 and 8.2.
//!
//! The card MACs the CDOL data with its AC session key: ISO 9797-1 MAC
//! algorithm 3 with padding method 2 for TDES (A1.2.1), AES-CMAC for AES
//! (A1.2.2), 8 bytes either way. The issuer answers with an ARPC, by
//! method 1 (encrypt ARQC XOR ARC) or method 2 (MAC over ARQC, CSU and
//! proprietary authentication data).

use crate::cipher::{constant_time_eq, xor};
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};
use crate::mac::{Padding, cmac, retail_mac};

use super::require_double_length_tdes;

fn exact_len<'a>(value: &'a [u8], len: usize, field: &'static str, reason: &'static str) -> Result<&'a [u8]> {
    if value.len() != len {
        return Err(CryptoError::Input { field, reason });
    }
    Ok(value)
}

fn arqc_bytes(arqc: &[u8]) -> Result<&[u8]> {
    exact_len(arqc, 8, "ARQC", "must be 8 bytes (tag 9F26)")
}

/// The A1.2 MAC with the padding for TDES chosen by the caller; the full
/// 8 bytes.
fn mac8(sk: &SymmetricKey, data: &[u8], tdes_padding: Padding) -> Result<[u8; 8]> {
    match sk.algorithm() {
        Algorithm::Aes => {
            let mut out = [0u8; 8];
            out.copy_from_slice(&cmac(sk, data)[..8]);
            Ok(out)
        }
        _ => {
            require_double_length_tdes(sk, "EMV application cryptogram").map_err(|_| {
                CryptoError::WrongAlgorithm {
                    operation: "EMV application cryptogram",
                    needed: "double-length TDES or AES",
                    actual: sk.algorithm(),
                }
            })?;
            retail_mac(sk, data, tdes_padding)
        }
    }
}

/// An application cryptogram (ARQC, TC or AAC) over the data the card was
/// given (CDOL1/CDOL2 values in order, plus the card's own data elements).
/// TDES keys use ISO 9797-1 padding method 2 as A1.2.1 prescribes.
pub fn application_cryptogram(sk: &SymmetricKey, data: &[u8]) -> Result<[u8; 8]> {
    mac8(sk, data, Padding::Method2)
}

/// An application cryptogram with a chosen padding for TDES keys: some
/// scheme cryptogram versions (Visa CVN 10, for one) pad with zeros
/// (method 1). AES keys always use CMAC, which pads by itself.
pub fn application_cryptogram_with_padding(
    sk: &SymmetricKey,
    data: &[u8],
    padding: Padding,
) -> Result<[u8; 8]> {
    mac8(sk, data, padding)
}

/// Checks a cryptogram in constant time (A1.2 with padding method 2).
pub fn verify_application_cryptogram(sk: &SymmetricKey, data: &[u8], cryptogram: &[u8]) -> Result<bool> {
    let cryptogram = exact_len(
        cryptogram,
        8,
        "application cryptogram",
        "must be 8 bytes (tag 9F26)",
    )?;
    Ok(constant_time_eq(&application_cryptogram(sk, data)?, cryptogram))
}

/// ARPC method 1 (8.2.1): ARPC = DES3(key)[ARQC XOR (ARC || 00 .. 00)].
/// The key is the AC session key or the ICC master key, by scheme; the
/// ARC is the 2-byte Authorisation Response Code.
pub fn arpc_method_1(key: &SymmetricKey, arqc: &[u8], arc: &[u8]) -> Result<[u8; 8]> {
    require_double_length_tdes(key, "ARPC method 1")?;
    let arqc = arqc_bytes(arqc)?;
    let arc = exact_len(arc, 2, "ARC", "must be 2 bytes (the authorisation response code)")?;
    let mut y = [0u8; 8];
    y[..2].copy_from_slice(arc);
    let mut out = [0u8; 8];
    out.copy_from_slice(&key.encrypt_ecb(&xor(arqc, &y))?);
    Ok(out)
}

/// Checks a method 1 ARPC in constant time.
pub fn verify_arpc_method_1(key: &SymmetricKey, arqc: &[u8], arc: &[u8], arpc: &[u8]) -> Result<bool> {
    let arpc = exact_len(arpc, 8, "ARPC", "a method 1 ARPC is 8 bytes")?;
    Ok(constant_time_eq(&arpc_method_1(key, arqc, arc)?, arpc))
}

/// ARPC method 2 (8.2.2): the leftmost 4 bytes of the A1.2 MAC over
/// ARQC || CSU || proprietary authentication data (0 to 8 bytes).
pub fn arpc_method_2(key: &SymmetricKey, arqc: &[u8], csu: &[u8], proprietary: &[u8]) -> Result<[u8; 4]> {
    let arqc = arqc_bytes(arqc)?;
    let csu = exact_len(csu, 4, "CSU", "must be 4 bytes (the card status update)")?;
    if proprietary.len() > 8 {
        return Err(CryptoError::Input {
            field: "proprietary authentication data",
            reason: "must be at most 8 bytes",
        });
    }
    let data = [arqc, csu, proprietary].concat();
    let mac = application_cryptogram(key, &data)?;
    let mut out = [0u8; 4];
    out.copy_from_slice(&mac[..4]);
    Ok(out)
}

/// Checks a method 2 ARPC in constant time.
pub fn verify_arpc_method_2(
    key: &SymmetricKey,
    arqc: &[u8],
    csu: &[u8],
    proprietary: &[u8],
    arpc: &[u8],
) -> Result<bool> {
    let arpc = exact_len(arpc, 4, "ARPC", "a method 2 ARPC is 4 bytes")?;
    Ok(constant_time_eq(
        &arpc_method_2(key, arqc, csu, proprietary)?,
        arpc,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::{Psn, ac_session_key, icc_master_key_option_a, icc_master_key_option_b, session_key};
    use crate::kcv::check_block;
    use hex::decode as h;
    use proptest::prelude::*;

    fn tdes(hex: &str) -> SymmetricKey {
        SymmetricKey::tdes(&h(hex).unwrap()).unwrap()
    }

    fn upper(bytes: &[u8]) -> String {
        hex::encode_upper(bytes)
    }

    fn kcv2(key: &SymmetricKey) -> String {
        hex::encode_upper(&check_block(key)[..2])
    }

    const IMK: &str = "0123456789ABCDEFFEDCBA9876543210";
    const R: &str = "1234567890123456";
    const DATA: &str = "0123456789ABCDEF0123456789ABCDEF";

    // pyemv (knovichikhin/pyemv) docstring examples, pyemv/ac.py.

    #[test]
    fn cryptogram_and_arpc_examples() {
        let sk = tdes("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB");
        let data = h(concat!(
            "000000002000",
            "000000000000",
            "0124",
            "0000008000",
            "0124",
            "110309",
            "00",
            "3804823E",
            "5800",
            "0001"
        ))
        .unwrap();
        assert_eq!(
            upper(&application_cryptogram(&sk, &data).unwrap()),
            "3B76CF10FECD8789"
        );
        let arqc = h("1234567890ABCDEF").unwrap();
        assert_eq!(
            upper(&arpc_method_1(&sk, &arqc, &[0, 0]).unwrap()),
            "F5E6F44147E2F1B0"
        );
        assert_eq!(
            upper(&arpc_method_2(&sk, &arqc, &[0; 4], &[]).unwrap()),
            "9308BEBC"
        );
    }

    // pyemv tests/test_kd_hsm.py: whole flows from the IMK, which the
    // author labels as checked with a payment HSM (session key check
    // values are 2 bytes there).

    #[test]
    fn option_a_flow_with_arpc_method_1() {
        let psn = Psn::from_digits("45").ok();
        let mk = icc_master_key_option_a(&tdes(IMK), "12345678901234567", psn).unwrap();
        let sk = session_key(&mk, &h(R).unwrap()).unwrap();
        assert_eq!(kcv2(&sk), "DF82");
        let arqc = application_cryptogram(&sk, &h(DATA).unwrap()).unwrap();
        assert_eq!(upper(&arqc), "19C1FBC83EBDC0D5");
        assert_eq!(
            upper(&arpc_method_1(&mk, &arqc, &[0, 0]).unwrap()),
            "78A372523FA35A03"
        );
        assert_eq!(
            upper(&arpc_method_1(&sk, &arqc, &[0, 0]).unwrap()),
            "C3620580668E5B65"
        );

        let mk = icc_master_key_option_a(&tdes(IMK), "12345678901234567", None).unwrap();
        let sk = session_key(&mk, &h(R).unwrap()).unwrap();
        assert_eq!(kcv2(&sk), "3F4F");
        let arqc = application_cryptogram(&sk, &h(DATA).unwrap()).unwrap();
        assert_eq!(upper(&arqc), "8698A7319324FD93");
        assert_eq!(
            upper(&arpc_method_1(&mk, &arqc, &[0, 0]).unwrap()),
            "BEA11C8F4A47EF6F"
        );
    }

    #[test]
    fn option_b_flows_with_arpc_method_2() {
        for (pan, psn, sk_check, arqc_hex, arpc_hex) in [
            ("1234567890123456", None, "BC19", "0CE77D211CB5459A", "8CD9AA5D"),
            (
                "12345678901234567",
                Some("45"),
                "4262",
                "5760EE07B4FA65D1",
                "106B81D9",
            ),
            ("12345678901234567", None, "7F36", "0BAA251EA8989442", "C1C41F3A"),
            (
                "123456789012345679",
                Some("00"),
                "7C35",
                "DC95BCE3EBBE0296",
                "ECCA0C4B",
            ),
        ] {
            let psn = psn.map(|p| Psn::from_digits(p).unwrap());
            let mk = icc_master_key_option_b(&tdes(IMK), pan, psn).unwrap();
            let sk = session_key(&mk, &h(R).unwrap()).unwrap();
            assert_eq!(kcv2(&sk), sk_check, "{pan}");
            let arqc = application_cryptogram(&sk, &h(DATA).unwrap()).unwrap();
            assert_eq!(upper(&arqc), arqc_hex);
            assert_eq!(upper(&arpc_method_2(&sk, &arqc, &[0; 4], &[]).unwrap()), arpc_hex);
        }
    }

    #[test]
    fn atc_session_key_and_proprietary_data() {
        let psn = Psn::from_digits("23").ok();
        let mk = icc_master_key_option_b(&tdes(IMK), "000000000000000005", psn).unwrap();
        let sk = ac_session_key(&mk, 0x001C).unwrap();
        assert_eq!(kcv2(&sk), "04F8");
        let data = h(concat!(
            "0000000040000000000000000124800004800001241911050152BF45",
            "851800001C06011203A0B800"
        ))
        .unwrap();
        let arqc = application_cryptogram(&sk, &data).unwrap();
        assert_eq!(upper(&arqc), "8CAD6F2489C640B1");
        let arpc = arpc_method_2(&sk, &arqc, &[0; 4], &h("12345678").unwrap()).unwrap();
        assert_eq!(upper(&arpc), "E39F1876");
        assert!(verify_arpc_method_2(&sk, &arqc, &[0; 4], &h("12345678").unwrap(), &arpc).unwrap());
        assert!(!verify_arpc_method_2(&sk, &arqc, &[0; 4], &[], &arpc).unwrap());
    }

    #[test]
    fn verify_accepts_the_right_value_only() {
        let sk = tdes("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB");
        let data = b"cdol data";
        let ac = application_cryptogram(&sk, data).unwrap();
        assert!(verify_application_cryptogram(&sk, data, &ac).unwrap());
        let mut wrong = ac;
        wrong[7] ^= 1;
        assert!(!verify_application_cryptogram(&sk, data, &wrong).unwrap());
        assert!(verify_application_cryptogram(&sk, data, &ac[..7]).is_err());

        let arpc = arpc_method_1(&sk, &ac, b"00").unwrap();
        assert!(verify_arpc_method_1(&sk, &ac, b"00", &arpc).unwrap());
        assert!(!verify_arpc_method_1(&sk, &ac, b"05", &arpc).unwrap());
    }

    #[test]
    fn padding_choice_is_for_tdes_only() {
        let sk = tdes("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB");
        let data = [0x11u8; 16];
        let zero_padded = application_cryptogram_with_padding(&sk, &data, Padding::Method1).unwrap();
        assert_eq!(zero_padded, retail_mac(&sk, &data, Padding::Method1).unwrap());
        assert_ne!(zero_padded, application_cryptogram(&sk, &data).unwrap());
        let aes = SymmetricKey::aes(&[3; 16]).unwrap();
        assert_eq!(
            application_cryptogram_with_padding(&aes, &data, Padding::Method1).unwrap(),
            application_cryptogram(&aes, &data).unwrap()
        );
    }

    // No published AES cryptogram vector was found: A1.2.2 is AES-CMAC
    // truncated to 8 bytes, checked here against SP 800-38B example 2.
    #[test]
    fn aes_cryptogram_is_truncated_cmac() {
        let sk = SymmetricKey::aes(&h("2B7E151628AED2A6ABF7158809CF4F3C").unwrap()).unwrap();
        let data = h("6BC1BEE22E409F96E93D7E117393172A").unwrap();
        assert_eq!(
            upper(&application_cryptogram(&sk, &data).unwrap()),
            "070A16B46B4D4144"
        );
        let arpc = arpc_method_2(&sk, &data[..8], &[0; 4], &[]).unwrap();
        assert_eq!(arpc[..], cmac(&sk, &[&data[..8], &[0; 4][..]].concat())[..4]);
        assert!(arpc_method_1(&sk, &data[..8], &[0, 0]).is_err());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let sk = tdes("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB");
        assert!(arpc_method_1(&sk, &[0; 7], &[0, 0]).is_err());
        assert!(arpc_method_1(&sk, &[0; 8], &[0]).is_err());
        assert!(arpc_method_2(&sk, &[0; 8], &[0; 3], &[]).is_err());
        assert!(arpc_method_2(&sk, &[0; 8], &[0; 4], &[0; 9]).is_err());
        assert!(application_cryptogram(&SymmetricKey::des(&[1; 8]).unwrap(), b"x").is_err());
        assert!(application_cryptogram(&SymmetricKey::tdes(&[1; 24]).unwrap(), b"x").is_err());
        assert!(application_cryptogram(&SymmetricKey::sm4(&[1; 16]).unwrap(), b"x").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_inputs_never_panic(
            a in proptest::collection::vec(any::<u8>(), 0..12),
            b in proptest::collection::vec(any::<u8>(), 0..6),
            c in proptest::collection::vec(any::<u8>(), 0..10),
            data in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            for key in [tdes(IMK), SymmetricKey::aes(&[9; 16]).unwrap()] {
                let _ = application_cryptogram(&key, &data);
                let _ = verify_application_cryptogram(&key, &data, &a);
                let _ = arpc_method_1(&key, &a, &b);
                let _ = verify_arpc_method_1(&key, &a, &b, &c);
                let _ = arpc_method_2(&key, &a, &b, &c);
                let _ = verify_arpc_method_2(&key, &a, &b, &c, &data);
            }
        }
    }
}
