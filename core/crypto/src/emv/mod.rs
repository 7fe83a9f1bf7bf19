//! EMV issuer-side symmetric cryptography, EMV 4.3 Book 2 Annex A1 and
//! section 8: ICC master keys from issuer master keys, session keys,
//! application cryptograms (ARQC, TC, AAC) and the issuer's answer (ARPC).
//!
//! The kernel uses this to check its own simulators and the `sim` virtual
//! card uses it to answer GENERATE AC; a host simulator uses it to verify
//! ARQCs and make ARPCs.

mod cryptogram;
mod master_key;
mod session_key;

pub use cryptogram::{
    application_cryptogram, application_cryptogram_with_padding, arpc_method_1, arpc_method_2,
    verify_application_cryptogram, verify_arpc_method_1, verify_arpc_method_2,
};
pub use master_key::{icc_master_key_option_a, icc_master_key_option_b};
pub use session_key::{ac_session_key, session_key};

use zeroize::Zeroizing;

use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};

/// A PAN Sequence Number (tag 5F34, two BCD digits). Absent on the card
/// means "00" for key derivation (Book 2 A1.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Psn(u8);

impl Psn {
    /// From the two-digit text form, e.g. "01".
    pub fn from_digits(digits: &str) -> Result<Self> {
        match digits.as_bytes() {
            [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Ok(Self(((a - b'0') << 4) | (b - b'0'))),
            _ => Err(CryptoError::Input {
                field: "PAN sequence number",
                reason: "must be exactly two digits, e.g. \"01\"",
            }),
        }
    }

    /// From the byte of tag 5F34 as the card returns it, e.g. 0x01.
    pub fn from_bcd(byte: u8) -> Result<Self> {
        if byte >> 4 > 9 || byte & 0x0F > 9 {
            return Err(CryptoError::Input {
                field: "PAN sequence number",
                reason: "tag 5F34 must hold two BCD digits (00 to 99)",
            });
        }
        Ok(Self(byte))
    }

    fn digits(self) -> [u8; 2] {
        [self.0 >> 4, self.0 & 0x0F]
    }
}

/// The PAN as digit values, checked. Kept in a zeroizing buffer: it is
/// card data (DESIGN rule 5).
fn pan_digits(pan: &str) -> Result<Zeroizing<Vec<u8>>> {
    if !(12..=19).contains(&pan.len()) {
        return Err(CryptoError::Pan(
            "must be 12 to 19 digits (strip any trailing F padding)",
        ));
    }
    if !pan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CryptoError::Pan("must contain digits only"));
    }
    Ok(Zeroizing::new(pan.bytes().map(|b| b - b'0').collect()))
}

/// Packs decimal digit values two to a byte; `digits` has even length.
fn pack_digits(digits: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// Sets each byte's lowest bit so the byte has an odd number of one-bits,
/// the DES key parity convention (FIPS 46-3).
fn set_odd_parity(bytes: &mut [u8]) {
    for b in bytes {
        *b = (*b & 0xFE) | u8::from((*b >> 1).count_ones() % 2 == 0);
    }
}

/// EMV's TDES operations take a double-length key (Book 2 A1.2.1, A1.4).
fn require_double_length_tdes(key: &SymmetricKey, operation: &'static str) -> Result<()> {
    if key.algorithm() == Algorithm::Tdes && key.len() == 16 {
        return Ok(());
    }
    Err(CryptoError::WrongAlgorithm {
        operation,
        needed: "double-length (16-byte) TDES",
        actual: key.algorithm(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psn_forms() {
        assert_eq!(Psn::from_digits("45").unwrap(), Psn::from_bcd(0x45).unwrap());
        assert_eq!(Psn::default().digits(), [0, 0]);
        assert!(Psn::from_digits("4").is_err());
        assert!(Psn::from_digits("4A").is_err());
        assert!(Psn::from_digits("123").is_err());
        assert!(Psn::from_bcd(0x1A).is_err());
        assert!(Psn::from_bcd(0xA1).is_err());
    }

    #[test]
    fn odd_parity() {
        let mut bytes = [0x00, 0x01, 0xFE, 0xFF, 0x13, 0x7F];
        set_odd_parity(&mut bytes);
        assert_eq!(bytes, [0x01, 0x01, 0xFE, 0xFE, 0x13, 0x7F]);
    }

    #[test]
    fn pan_checks() {
        assert_eq!(&pan_digits("123456789012").unwrap()[..3], &[1, 2, 3]);
        assert!(pan_digits("12345678901").is_err());
        assert!(pan_digits("12345678901234567890").is_err());
        assert!(pan_digits("4761739001010119F").is_err());
    }
}
