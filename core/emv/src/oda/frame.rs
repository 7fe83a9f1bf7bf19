//! The envelope every EMV certificate and signature shares (Book 2 tables
//! 6, 7, 14, 17 and 19): recovered with the signer's public key, it reads
//! header 6A, a format byte, the signed fields, a 20-byte SHA-1 hash and
//! trailer BC (ISO/IEC 9796-2 message recovery).

use poskit_crypto::hash::HashAlgorithm;
use poskit_crypto::rsa;
use poskit_tlv::Tag;

use super::OdaError;

const HEADER: u8 = 0x6A;
const TRAILER: u8 = 0xBC;
const HASH_LEN: usize = 20;
/// Header, format and hash plus trailer: the least any frame holds.
const OVERHEAD: usize = 2 + HASH_LEN + 1;

/// Hash Algorithm Indicator 01 is SHA-1, the only one Book 2 (Annex B3.1)
/// defines for RSA.
pub(crate) const SHA1_INDICATOR: u8 = 0x01;
/// Public Key Algorithm Indicator 01 is RSA (Book 2 Annex B2.1).
pub(crate) const RSA_INDICATOR: u8 = 0x01;

/// Builds the error of the certificate or signature being checked.
pub(crate) type Fail = fn(&'static str) -> OdaError;

/// Recovered data whose length, trailer, header and format have been
/// checked, in that order (steps 1 to 4 of Book 2 5.3, 5.4, 6.4, 6.5.2 and
/// 6.6.2).
pub(crate) struct Recovered(Vec<u8>);

impl Recovered {
    /// `min_len` is the shortest frame that still holds the format's fixed
    /// fields; a shorter key cannot have signed it.
    pub(crate) fn open(
        modulus: &[u8],
        exponent: &[u8],
        signed: &[u8],
        format: u8,
        min_len: usize,
        fail: Fail,
    ) -> Result<Recovered, OdaError> {
        if signed.len() != modulus.len() {
            return Err(fail("its length differs from the signer's key modulus"));
        }
        if modulus.len() < min_len.max(OVERHEAD) {
            return Err(fail("the signer's key is too short to hold this format"));
        }
        let data = rsa::recover(modulus, exponent, signed)
            .map_err(|_| fail("it does not recover under the signer's key"))?;
        // The length check above and recover's padding make this exact, but
        // the slicing below relies on it, so it is checked, not assumed.
        if data.len() != modulus.len() {
            return Err(fail("it does not recover under the signer's key"));
        }
        if data[data.len() - 1] != TRAILER {
            return Err(fail("recovered data trailer is not BC"));
        }
        if data[0] != HEADER {
            return Err(fail("recovered data header is not 6A"));
        }
        if data[1] != format {
            return Err(fail("wrong certificate or signed data format"));
        }
        Ok(Recovered(data))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// From the format byte to the last byte before the hash: the fields
    /// Book 2 hashes ("the second to the n-th data elements").
    pub(crate) fn signed_fields(&self) -> &[u8] {
        &self.0[1..self.0.len() - HASH_LEN - 1]
    }

    /// True when the frame's hash is SHA-1 over its signed fields followed
    /// by `more` (remainder, exponent, static or dynamic data), in order.
    pub(crate) fn hash_matches(&self, more: &[&[u8]]) -> bool {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(more.len() + 1);
        parts.push(self.signed_fields());
        parts.extend_from_slice(more);
        let computed = HashAlgorithm::Sha1.digest_parts(&parts);
        let end = self.0.len() - 1;
        computed.as_slice() == &self.0[end - HASH_LEN..end]
    }
}

/// Issuer (9F32) and ICC (9F47) exponents: present, at most 3 bytes, and 3
/// or 2^16 + 1, the only values Book 2 (5.1, 6.1) allows.
pub(crate) fn check_exponent(exponent: &[u8], tag: Tag) -> Result<(), OdaError> {
    if exponent.is_empty() {
        return Err(OdaError::MissingData(tag));
    }
    let value = if exponent.len() <= 3 {
        exponent.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b))
    } else {
        0
    };
    if value != 3 && value != 0x1_0001 {
        return Err(OdaError::InvalidData {
            tag,
            reason: "a public key exponent is 3 or 65537",
        });
    }
    Ok(())
}

/// A public key spread over a certificate and a remainder data object
/// (Book 2 5.1.1 and 6.1.1): `field` is the certificate's "public key or
/// leftmost digits" field, `key_len` the length it declares. When the key
/// fits in the field the rest is BB padding and the remainder is not needed.
pub(crate) fn assemble_modulus(
    field: &[u8],
    key_len: usize,
    remainder: Option<&[u8]>,
    remainder_tag: Tag,
    fail: Fail,
) -> Result<Vec<u8>, OdaError> {
    if key_len <= field.len() {
        return Ok(field[..key_len].to_vec());
    }
    let remainder = match remainder {
        None | Some([]) => return Err(OdaError::MissingData(remainder_tag)),
        Some(r) => r,
    };
    if field.len() + remainder.len() != key_len {
        return Err(fail(
            "the public key remainder does not complete the key to its stated length",
        ));
    }
    let mut modulus = Vec::with_capacity(key_len);
    modulus.extend_from_slice(field);
    modulus.extend_from_slice(remainder);
    Ok(modulus)
}
