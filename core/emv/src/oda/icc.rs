//! ICC public key recovery (EMV Book 2 6.4).

use super::date::Today;
use super::frame::{self, RSA_INDICATOR, Recovered, SHA1_INDICATOR};
use super::issuer::IssuerPublicKey;
use super::{OdaError, pan, tags};

/// Certificate Format of an ICC public key certificate (Book 2 table 14).
const FORMAT: u8 = 0x04;
/// Fixed fields around the key: header, format, PAN (10), expiry, serial,
/// two indicators, two lengths, hash, trailer.
const FIXED_LEN: usize = 42;

/// An ICC public key, recovered and checked: what DDA, CDA and fDDA verify
/// signatures with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IccPublicKey {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

fn fail(reason: &'static str) -> OdaError {
    OdaError::IccCertificate(reason)
}

/// Recovers the ICC public key from its certificate (9F46), remainder
/// (9F48) and exponent (9F47) with the issuer key, and makes every check of
/// Book 2 6.4. `static_data` is the static data to be authenticated
/// ([`static_data_to_authenticate`](super::static_data_to_authenticate)),
/// which the certificate's hash covers; `pan` is 5A as read and `today` the
/// transaction date (9A).
pub fn recover_icc_key(
    issuer: &IssuerPublicKey,
    certificate: &[u8],
    remainder: Option<&[u8]>,
    exponent: &[u8],
    static_data: &[u8],
    pan: &[u8],
    today: [u8; 3],
) -> Result<IccPublicKey, OdaError> {
    if certificate.is_empty() {
        return Err(OdaError::MissingData(tags::ICC_CERTIFICATE));
    }
    frame::check_exponent(exponent, tags::ICC_EXPONENT)?;
    pan::check_card_pan(pan)?;
    let today = Today::from_bcd(today)?;

    // Steps 1 to 4: length, trailer, header, format.
    let cert = Recovered::open(
        &issuer.modulus,
        &issuer.exponent,
        certificate,
        FORMAT,
        FIXED_LEN + 1,
        fail,
    )?;
    let b = cert.bytes();
    let pan_field = &b[2..12];
    let expiry = [b[12], b[13]];
    let (hash_algorithm, key_algorithm) = (b[17], b[18]);
    let (key_len, exponent_len) = (usize::from(b[19]), usize::from(b[20]));
    let key_field = &b[21..b.len() - 21];

    if hash_algorithm != SHA1_INDICATOR {
        return Err(fail("the hash algorithm indicator is not SHA-1 (01)"));
    }
    // 6.1: N_IC <= N_I.
    if key_len == 0 || key_len > issuer.modulus.len() {
        return Err(fail(
            "the ICC public key length is not 1 to the issuer key length",
        ));
    }
    if exponent_len != exponent.len() {
        return Err(fail(
            "the exponent length differs from the ICC public key exponent (9F47)",
        ));
    }
    // 6.1.1: the remainder (9F48) is there when N_IC > N_I - 42.
    let modulus = frame::assemble_modulus(key_field, key_len, remainder, tags::ICC_REMAINDER, fail)?;

    // Steps 5 to 7: fields, remainder if given, exponent, then the static
    // data to be authenticated, which is how the certificate vouches for
    // the records.
    if !cert.hash_matches(&[remainder.unwrap_or_default(), exponent, static_data]) {
        return Err(fail(
            "the hash does not match the certificate's contents and the static data",
        ));
    }
    // Step 8: the whole PAN, padding included.
    if !pan::certificate_pan_matches(pan_field, pan) {
        return Err(OdaError::PanMismatch);
    }
    // Step 9.
    match today.is_past_mmyy(expiry) {
        None => return Err(fail("the expiration date is not a valid MMYY")),
        Some(true) => return Err(OdaError::IccCertificateExpired),
        Some(false) => {}
    }
    // Step 10.
    if key_algorithm != RSA_INDICATOR {
        return Err(fail("the ICC public key algorithm indicator is not RSA (01)"));
    }
    // Step 11.
    Ok(IccPublicKey {
        modulus,
        exponent: exponent.to_vec(),
    })
}
