//! The issuer's and the card's RSA signatures, EMV 4.3 Book 2: public key
//! certificates (5.1, 6.1), signed static application data (5.4) and
//! signed dynamic application data (6.5, 6.6).
//!
//! Every block is built as Book 2 lays it out, header 6A, then the format
//! byte and the data, the SHA-1 hash and trailer BC, and then signed with
//! the raw private key (A2.1, message recovery): the terminal recovers it
//! with the public key and checks all of it.

use poskit_crypto::hash::sha1;

use crate::rsa_key::RsaKeyPair;

const HEADER: u8 = 0x6A;
const TRAILER: u8 = 0xBC;
const PAD: u8 = 0xBB;
/// Hash algorithm indicator 01: SHA-1 (Book 2 B2.1).
const SHA1: u8 = 0x01;
/// Public key algorithm indicator 01: RSA (Book 2 B2.2).
const RSA: u8 = 0x01;

/// A certificate and the part of the certified key that did not fit in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub certificate: Vec<u8>,
    pub remainder: Vec<u8>,
}

/// Signs `body` (format byte onwards, without the hash) with `signer`,
/// hashing `body || hashed_extra`. With `damaged` the hash is spoiled after
/// computing it, which is how the `bad-cert` profile fails step 7 of Book 2
/// 5.3 while still recovering cleanly.
fn sign_recoverable(
    signer: &RsaKeyPair,
    body: &[u8],
    hashed_extra: &[&[u8]],
    damaged: bool,
) -> Option<Vec<u8>> {
    let mut hash_input = body.to_vec();
    hashed_extra.iter().for_each(|p| hash_input.extend_from_slice(p));
    let mut hash = sha1(&hash_input);
    if damaged {
        hash[0] ^= 0x5A;
    }
    let mut block = Vec::with_capacity(signer.len());
    block.push(HEADER);
    block.extend_from_slice(body);
    block.extend_from_slice(&hash);
    block.push(TRAILER);
    if block.len() != signer.len() {
        return None;
    }
    signer.private_operation(&block)
}

/// Splits a modulus into the part a certificate of `field_len` bytes holds
/// (padded with BB when it is shorter) and the remainder (Book 2 5.1,
/// tables 6 and 13).
fn key_field(modulus: &[u8], field_len: usize) -> (Vec<u8>, Vec<u8>) {
    if modulus.len() > field_len {
        (modulus[..field_len].to_vec(), modulus[field_len..].to_vec())
    } else {
        let mut field = modulus.to_vec();
        field.resize(field_len, PAD);
        (field, Vec::new())
    }
}

/// Issuer public key certificate, format 02 (Book 2 table 6). The issuer
/// identifier is the leftmost 3 to 8 PAN digits padded with F; the hash
/// covers the fields from the format on, the remainder and the exponent.
pub fn issuer_certificate(
    ca: &RsaKeyPair,
    issuer: &RsaKeyPair,
    issuer_identifier: [u8; 4],
    expiry_mmyy: [u8; 2],
    serial: [u8; 3],
    damaged: bool,
) -> Option<Certificate> {
    let field_len = ca.len().checked_sub(36)?;
    let (field, remainder) = key_field(issuer.modulus(), field_len);
    let mut body = vec![0x02];
    body.extend_from_slice(&issuer_identifier);
    body.extend_from_slice(&expiry_mmyy);
    body.extend_from_slice(&serial);
    body.extend_from_slice(&[SHA1, RSA, u8::try_from(issuer.len()).ok()?]);
    body.push(u8::try_from(issuer.exponent().len()).ok()?);
    body.extend_from_slice(&field);
    let certificate = sign_recoverable(ca, &body, &[&remainder, issuer.exponent()], damaged)?;
    Some(Certificate {
        certificate,
        remainder,
    })
}

/// ICC public key certificate, format 04 (Book 2 table 13). Besides the
/// key, the hash covers the static data to be authenticated, so it binds
/// the card's signed records to its key.
pub fn icc_certificate(
    issuer: &RsaKeyPair,
    icc: &RsaKeyPair,
    pan_field: [u8; 10],
    expiry_mmyy: [u8; 2],
    serial: [u8; 3],
    static_data: &[u8],
) -> Option<Certificate> {
    let field_len = issuer.len().checked_sub(42)?;
    let (field, remainder) = key_field(icc.modulus(), field_len);
    let mut body = vec![0x04];
    body.extend_from_slice(&pan_field);
    body.extend_from_slice(&expiry_mmyy);
    body.extend_from_slice(&serial);
    body.extend_from_slice(&[SHA1, RSA, u8::try_from(icc.len()).ok()?]);
    body.push(u8::try_from(icc.exponent().len()).ok()?);
    body.extend_from_slice(&field);
    let certificate = sign_recoverable(issuer, &body, &[&remainder, icc.exponent(), static_data], false)?;
    Some(Certificate {
        certificate,
        remainder,
    })
}

/// Signed static application data, format 03 (Book 2 table 7).
pub fn signed_static_data(issuer: &RsaKeyPair, dac: [u8; 2], static_data: &[u8]) -> Option<Vec<u8>> {
    let pad = issuer.len().checked_sub(26)?;
    let mut body = vec![0x03, SHA1];
    body.extend_from_slice(&dac);
    body.resize(body.len() + pad, PAD);
    sign_recoverable(issuer, &body, &[static_data], false)
}

/// Signed dynamic application data, format 05 (Book 2 table 17), used by
/// DDA, CDA and fDDA alike; what differs is the ICC dynamic data (table 18
/// for DDA, table 19 for CDA) and the terminal data hashed after it.
pub fn signed_dynamic_data(
    icc: &RsaKeyPair,
    icc_dynamic_data: &[u8],
    terminal_data: &[u8],
) -> Option<Vec<u8>> {
    let pad = icc.len().checked_sub(25)?.checked_sub(icc_dynamic_data.len())?;
    let mut body = vec![0x05, SHA1, u8::try_from(icc_dynamic_data.len()).ok()?];
    body.extend_from_slice(icc_dynamic_data);
    body.resize(body.len() + pad, PAD);
    sign_recoverable(icc, &body, &[terminal_data], false)
}

/// The application PAN as certificates carry it: BCD, padded with F to 10
/// bytes (Book 2 table 13).
pub fn pan_field(pan_digits: &str) -> [u8; 10] {
    let mut out = [0xFF; 10];
    for (i, d) in pan_digits.bytes().take(20).enumerate() {
        let nibble = d.wrapping_sub(b'0') & 0x0F;
        let byte = &mut out[i / 2];
        *byte = if i % 2 == 0 {
            (nibble << 4) | (*byte & 0x0F)
        } else {
            (*byte & 0xF0) | nibble
        };
    }
    out
}

/// The issuer identifier: the leftmost 6 PAN digits (the BIN), padded
/// with F to 4 bytes (Book 2 table 6 allows 3 to 8 digits).
pub fn issuer_identifier(pan_digits: &str) -> [u8; 4] {
    let field = pan_field(pan_digits.get(..6).unwrap_or(pan_digits));
    [field[0], field[1], field[2], 0xFF]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pan_fields_pad_with_f() {
        assert_eq!(
            pan_field("4761739001010010"),
            [0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x00, 0x10, 0xFF, 0xFF]
        );
        assert_eq!(
            pan_field("6230580000000000013"),
            [0x62, 0x30, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x3F]
        );
        assert_eq!(issuer_identifier("5413330089020011"), [0x54, 0x13, 0x33, 0xFF]);
    }

    #[test]
    fn short_keys_are_padded_and_long_ones_split() {
        assert_eq!(key_field(&[1, 2], 4), (vec![1, 2, 0xBB, 0xBB], vec![]));
        assert_eq!(key_field(&[1, 2, 3], 2), (vec![1, 2], vec![3]));
    }
}
