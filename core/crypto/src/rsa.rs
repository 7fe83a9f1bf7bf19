//! Raw RSA public-key recovery for EMV offline data authentication.
//!
//! EMV Book 2 (sections 5 and 6) signs certificates and dynamic data with
//! "digital signature scheme giving message recovery" (ISO/IEC 9796-2):
//! the terminal applies the public key, X = S^e mod n, and then checks the
//! recovered header, trailer and hash itself. So this module does only the
//! modular exponentiation, with strict checks on its inputs, and leaves the
//! format checks to the EMV kernel.
//!
//! Everything here is public data (public keys and signatures), so the
//! big-integer arithmetic need not be constant-time.

use num_bigint::BigUint;

use crate::error::{CryptoError, Result};

/// The largest modulus accepted, in bits. EMV CA keys stop at 1984 bits
/// (Book 2, 5.1); 2048 leaves room for issuer keys of other schemes.
pub const MAX_MODULUS_BITS: usize = 2048;

fn input(field: &'static str, reason: &'static str) -> CryptoError {
    CryptoError::Input { field, reason }
}

/// Recovers `data^exponent mod modulus`, left-padded with zeros to the
/// modulus length, as EMV's signature recovery function does.
///
/// All numbers are big-endian bytes. Rules:
/// - the modulus is 1 to 256 bytes (at most [`MAX_MODULUS_BITS`]), odd,
///   and its first byte is not zero (that byte fixes the output length);
/// - `data` has exactly the modulus length and, read as a number, is
///   smaller than the modulus;
/// - the exponent is odd, at least 3 and smaller than the modulus. EMV
///   allows only 3 and 65537 (Book 2, 5.1 and 6.1); any other odd
///   exponent is accepted too, so that test keys of other schemes work,
///   and the caller decides which exponents a CA may use.
pub fn recover(modulus: &[u8], exponent: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let n = checked_modulus(modulus)?;
    let e = BigUint::from_bytes_be(exponent);
    if e.bits() < 2 || !e.bit(0) {
        return Err(input(
            "RSA exponent",
            "must be odd and at least 3 (EMV uses 3 or 65537)",
        ));
    }
    if e >= n {
        return Err(input("RSA exponent", "must be smaller than the modulus"));
    }
    if data.len() != modulus.len() {
        return Err(input(
            "RSA signed data",
            "must be exactly as long as the modulus; check that the certificate matches the key index",
        ));
    }
    let x = BigUint::from_bytes_be(data);
    if x >= n {
        return Err(input(
            "RSA signed data",
            "is not smaller than the modulus; the certificate does not belong to this key",
        ));
    }
    let recovered = x.modpow(&e, &n).to_bytes_be();
    let mut out = vec![0u8; modulus.len() - recovered.len()];
    out.extend_from_slice(&recovered);
    Ok(out)
}

fn checked_modulus(modulus: &[u8]) -> Result<BigUint> {
    if modulus.is_empty() {
        return Err(input("RSA modulus", "is empty"));
    }
    if modulus.len() * 8 > MAX_MODULUS_BITS {
        return Err(input("RSA modulus", "is longer than 2048 bits (256 bytes)"));
    }
    if modulus[0] == 0 {
        return Err(input(
            "RSA modulus",
            "starts with a zero byte; give it without leading zeros",
        ));
    }
    let n = BigUint::from_bytes_be(modulus);
    if !n.bit(0) {
        return Err(input("RSA modulus", "is even, so it is not an RSA modulus"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha1;
    use hex::decode as h;
    use proptest::prelude::*;

    // Visa test CA public key, RID A000000003 index 01 (1024 bits, e = 3),
    // with an issuer certificate, remainder, exponent and signed static
    // application data issued under it. These are the SDA test data that
    // lumag/emv-tools (test/sda-test.c) checks; the recovered hashes below
    // agree with the data, which confirms every recovery end to end.
    const VSDC_TEST_01_MODULUS: &str = "\
        C696034213D7D8546984579D1D0F0EA519CFF8DEFFC429354CF3A871A6F7183F\
        1228DA5C7470C055387100CB935A712C4E2864DF5D64BA93FE7E63E71F25B1E5\
        F5298575EBE1C63AA617706917911DC2A75AC28B251C7EF40F2365912490B939\
        BCA2124A30A28F54402C34AECA331AB67E1E79B285DD5771B5D9FF79EA630B75";
    const ISSUER_CERT: &str = "\
        3C5FEAD4DD7BCA44F93E90C44F76EDE54A3288ECDC78469FCB1225C03B2C04F2\
        C2F412281A0822DF14649230989FB1494070DAF8C9534A7881960148616ACE58\
        1788120D3506ACE4CEE564FB27EE53341C22F0B45B31873D05DE545EFE33BCD2\
        9B2185D035A806AD08C6976F3505A19999930CA8A03EFA321C486061F7DCEC9F";
    const ISSUER_REMAINDER: &str = "\
        1EBCA30F00CE5962A8C6E130544B82891B236C65DE29317F364735DEE63F6598\
        975835D5";
    const SIGNED_STATIC_DATA: &str = "\
        99A558B62B674AA5E7D2A57E5EF6A6F2258E5DA052D05B54E5C115FF1CECF94A\
        A2DF8F39A01D71C619EB819DA52EF381E84979586AEA7855FFBEF40AA3A71CD3\
        B04CFDF270AEC8158A2797F24FD613B748134661135CD290E45B04A8E0CCC711\
        AE042F159E73C89C2A7E65A4C2FD1D6106024AA27130B0ECEC0238F91659DE96";
    // The records signed for SDA (tags 5F24, 5A, 5F34, 9F07, 9F0D..9F0F),
    // then the AIP named by the Static Data Authentication Tag List.
    const STATIC_RECORDS: &str = "\
        5F24030812315A0842765500132345995F3401019F0702FF009F0D05D040ACA8\
        009F0E0500100000009F0F05D068BCF800";
    const AIP: &str = "5C00";

    fn hx(s: &str) -> Vec<u8> {
        h(s).unwrap()
    }

    #[test]
    fn test_ca_key_hash_matches_its_published_check_sum() {
        // EMV Book 2 11.2.2: the CA key check sum is SHA-1 over RID, index,
        // modulus and exponent; the published value for this key is D34A...CC.
        let mut input = hx("A00000000301");
        input.extend(hx(VSDC_TEST_01_MODULUS));
        input.push(0x03);
        assert_eq!(
            hex::encode_upper(sha1(&input)),
            "D34A6A776011C7E7CE3AEC5F03AD2F8CFC5503CC"
        );
    }

    #[test]
    fn recovers_an_issuer_certificate_and_signed_static_data() {
        let ca = hx(VSDC_TEST_01_MODULUS);
        let cert = recover(&ca, &[3], &hx(ISSUER_CERT)).unwrap();
        assert_eq!(cert.len(), 128);
        // Book 2 table 13: header 6A, format 02, trailer BC.
        assert_eq!((cert[0], cert[1], cert[127]), (0x6A, 0x02, 0xBC));
        let issuer_len = cert[13] as usize;
        let mut issuer_modulus = cert[15..128 - 21].to_vec();
        issuer_modulus.extend(hx(ISSUER_REMAINDER));
        assert_eq!(issuer_modulus.len(), issuer_len);
        let hash = sha1(&[&cert[1..15], &issuer_modulus[..], &[3]].concat());
        assert_eq!(&cert[128 - 21..127], &hash[..]);

        // Book 2 table 14: signed static application data, format 03.
        let ssad = recover(&issuer_modulus, &[3], &hx(SIGNED_STATIC_DATA)).unwrap();
        assert_eq!((ssad[0], ssad[1], ssad[ssad.len() - 1]), (0x6A, 0x03, 0xBC));
        let body = &ssad[1..ssad.len() - 21];
        let hash = sha1(&[body, &hx(STATIC_RECORDS)[..], &hx(AIP)[..]].concat());
        assert_eq!(&ssad[ssad.len() - 21..ssad.len() - 1], &hash[..]);
    }

    #[test]
    fn output_is_left_padded_to_the_modulus_length() {
        // 3^3 mod 187 is 27; 2^3 mod 257 is 8, which needs one zero byte in
        // front to fill the two-byte modulus length.
        assert_eq!(recover(&[187], &[3], &[3]).unwrap(), vec![27]);
        assert_eq!(
            recover(&[0x01, 0x01], &[3], &[0x00, 0x02]).unwrap(),
            vec![0x00, 0x08]
        );
    }

    #[test]
    fn textbook_rsa_round_trip() {
        // n = 61 * 53 = 3233, e = 17, d = 2753 (the classic worked example).
        let n = 3233u32.to_be_bytes()[2..].to_vec();
        let m = 65u16.to_be_bytes();
        let c = recover(&n, &[17], &m).unwrap();
        assert_eq!(c, 2790u16.to_be_bytes());
        assert_eq!(recover(&n, &2753u16.to_be_bytes(), &c).unwrap(), m);
    }

    #[test]
    fn bad_inputs_are_refused_with_a_reason() {
        let n = [0xBB, 0x01];
        let data = [0x00, 0x10];
        let reason = |r: Result<Vec<u8>>| match r.unwrap_err() {
            CryptoError::Input { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(recover(&[], &[3], &[])), "RSA modulus");
        assert_eq!(reason(recover(&[0xBB, 0x00], &[3], &data)), "RSA modulus");
        assert_eq!(reason(recover(&[0x00, 0xBB], &[3], &data)), "RSA modulus");
        assert_eq!(reason(recover(&vec![0xFF; 257], &[3], &[0; 257])), "RSA modulus");
        assert_eq!(reason(recover(&n, &[2], &data)), "RSA exponent");
        assert_eq!(reason(recover(&n, &[1], &data)), "RSA exponent");
        assert_eq!(reason(recover(&n, &[], &data)), "RSA exponent");
        assert_eq!(reason(recover(&n, &[0xBB, 0x03], &data)), "RSA exponent");
        assert_eq!(reason(recover(&n, &[3], &[0x10])), "RSA signed data");
        assert_eq!(reason(recover(&n, &[3], &[0xBB, 0x01])), "RSA signed data");
        // 2048 bits is the limit, and allowed.
        let mut big = vec![0xFF; 256];
        big[255] = 0xFD;
        assert_eq!(recover(&big, &[1, 0, 1], &[1; 256]).unwrap().len(), 256);
    }

    proptest! {
        #[test]
        fn arbitrary_inputs_never_panic(
            modulus in proptest::collection::vec(any::<u8>(), 0..40),
            exponent in proptest::collection::vec(any::<u8>(), 0..6),
            data in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            if let Ok(out) = recover(&modulus, &exponent, &data) {
                prop_assert_eq!(out.len(), modulus.len());
            }
        }

        #[test]
        fn matching_lengths_never_panic(
            modulus in proptest::collection::vec(any::<u8>(), 1..300),
            exponent in prop_oneof![
                Just(vec![3u8]),
                Just(vec![1u8, 0, 1]),
                proptest::collection::vec(any::<u8>(), 0..4),
            ],
            fill in any::<u8>(),
        ) {
            let data = vec![fill; modulus.len()];
            let _ = recover(&modulus, &exponent, &data);
        }
    }
}
