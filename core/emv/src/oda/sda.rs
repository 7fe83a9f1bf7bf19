//! Static data authentication: verifying Signed Static Application Data
//! (EMV Book 2 5.4).

use super::frame::{Recovered, SHA1_INDICATOR};
use super::issuer::IssuerPublicKey;
use super::{OdaError, tags};

/// Signed Data Format of signed static application data (Book 2 table 7).
const FORMAT: u8 = 0x03;
/// Header, format, hash algorithm, data authentication code, hash, trailer.
const FIXED_LEN: usize = 26;

/// Verifies the Signed Static Application Data (93) with the issuer key over
/// the static data to be authenticated, and returns the Data Authentication
/// Code the kernel stores as 9F45.
pub fn verify_sda(issuer: &IssuerPublicKey, ssad: &[u8], static_data: &[u8]) -> Result<[u8; 2], OdaError> {
    if ssad.is_empty() {
        return Err(OdaError::MissingData(tags::SSAD));
    }
    // Steps 1 to 4.
    let signed = Recovered::open(
        &issuer.modulus,
        &issuer.exponent,
        ssad,
        FORMAT,
        FIXED_LEN,
        OdaError::Signature,
    )?;
    let b = signed.bytes();
    if b[2] != SHA1_INDICATOR {
        return Err(OdaError::Signature(
            "the hash algorithm indicator is not SHA-1 (01)",
        ));
    }
    // Steps 5 to 7: format through pad pattern, then the static data.
    if !signed.hash_matches(&[static_data]) {
        return Err(OdaError::Signature(
            "the hash of the signed static data does not match the records",
        ));
    }
    Ok([b[3], b[4]])
}
