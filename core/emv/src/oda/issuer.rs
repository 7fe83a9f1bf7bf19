//! Issuer public key recovery (EMV Book 2 5.3, used by 6.3 as well).

use super::date::Today;
use super::frame::{self, RSA_INDICATOR, Recovered, SHA1_INDICATOR};
use super::{OdaError, pan, tags};
use crate::config::CaPublicKey;

/// Certificate Format of an issuer public key certificate (Book 2 table 6).
const FORMAT: u8 = 0x02;
/// Fixed fields around the key in the certificate: header, format, issuer
/// identifier, expiry, serial, two indicators, two lengths, hash, trailer.
const FIXED_LEN: usize = 36;

/// An issuer public key, recovered and checked. Public data, so `Debug`
/// shows it all; it carries no PAN digits (the issuer identifier stays in
/// the certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerPublicKey {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
    /// Certificate Expiration Date, MMYY in BCD.
    pub expiry: [u8; 2],
    /// Certificate Serial Number, unique per CA (Book 2 5.3 step 10).
    pub serial: [u8; 3],
}

fn fail(reason: &'static str) -> OdaError {
    OdaError::IssuerCertificate(reason)
}

/// Recovers the issuer public key from its certificate (90), remainder (92)
/// and exponent (9F32) with the CA key the card named, and makes every
/// check of Book 2 5.3.
///
/// `revoked` answers whether a certificate serial number is on the
/// revocation list for this CA key's RID and index, e.g.
/// `|serial| config.is_revoked(&ca.rid, ca.index, serial)`. `pan` is the
/// Application PAN (5A) as read, `today` the transaction date (9A).
pub fn recover_issuer_key(
    ca: &CaPublicKey,
    revoked: impl Fn(&[u8; 3]) -> bool,
    certificate: &[u8],
    remainder: Option<&[u8]>,
    exponent: &[u8],
    pan: &[u8],
    today: [u8; 3],
) -> Result<IssuerPublicKey, OdaError> {
    if certificate.is_empty() {
        return Err(OdaError::MissingData(tags::ISSUER_CERTIFICATE));
    }
    frame::check_exponent(exponent, tags::ISSUER_EXPONENT)?;
    pan::check_card_pan(pan)?;
    let today = Today::from_bcd(today)?;
    if today.after_yymmdd(&ca.expiry) {
        return Err(OdaError::CaKeyExpired);
    }

    // Steps 1 to 4: length, trailer, header, format.
    let cert = Recovered::open(
        &ca.modulus,
        &ca.exponent,
        certificate,
        FORMAT,
        FIXED_LEN + 1,
        fail,
    )?;
    let b = cert.bytes();
    let issuer_identifier: [u8; 4] = [b[2], b[3], b[4], b[5]];
    let expiry = [b[6], b[7]];
    let serial = [b[8], b[9], b[10]];
    let (hash_algorithm, key_algorithm) = (b[11], b[12]);
    let (key_len, exponent_len) = (usize::from(b[13]), usize::from(b[14]));
    let key_field = &b[15..b.len() - 21];

    // Step 6 hashes with the indicated algorithm; SHA-1 is the only one.
    if hash_algorithm != SHA1_INDICATOR {
        return Err(fail("the hash algorithm indicator is not SHA-1 (01)"));
    }
    // 5.1: N_I <= N_CA, and the exponent the card gives is the one signed.
    if key_len == 0 || key_len > ca.modulus.len() {
        return Err(fail("the issuer public key length is not 1 to the CA key length"));
    }
    if exponent_len != exponent.len() {
        return Err(fail(
            "the exponent length differs from the issuer public key exponent (9F32)",
        ));
    }
    // 5.1.1: the remainder (92) is there when N_I > N_CA - 36.
    let modulus = frame::assemble_modulus(key_field, key_len, remainder, tags::ISSUER_REMAINDER, fail)?;

    // Steps 5 to 7: the hash covers the remainder whenever the card gave
    // one, needed or not, then the exponent.
    if !cert.hash_matches(&[remainder.unwrap_or_default(), exponent]) {
        return Err(fail("the hash does not match the certificate's contents"));
    }
    // Step 8.
    if !pan::issuer_identifier_matches(&issuer_identifier, pan).map_err(fail)? {
        return Err(OdaError::IssuerIdentifierMismatch);
    }
    // Step 9.
    match today.is_past_mmyy(expiry) {
        None => return Err(fail("the expiration date is not a valid MMYY")),
        Some(true) => return Err(OdaError::IssuerCertificateExpired),
        Some(false) => {}
    }
    // Step 10.
    if revoked(&serial) {
        return Err(OdaError::IssuerCertificateRevoked);
    }
    // Step 11.
    if key_algorithm != RSA_INDICATOR {
        return Err(fail("the issuer public key algorithm indicator is not RSA (01)"));
    }
    // Step 12.
    Ok(IssuerPublicKey {
        modulus,
        exponent: exponent.to_vec(),
        expiry,
        serial,
    })
}
