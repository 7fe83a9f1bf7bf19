//! ISO 9564-1 PIN blocks, formats 0, 1, 3 (TDES) and 4 (AES).
//!
//! A clear PIN and a clear PIN block exist only in zeroizing buffers and are
//! never shown by `Debug` (DESIGN rule 5).

use std::fmt;

use zeroize::Zeroizing;

use crate::cipher::{xor, xor_in_place};
use crate::error::{CryptoError, Result};
use crate::key::{Algorithm, SymmetricKey};
use crate::random::RandomSource;

/// A cardholder PIN: 4 to 12 decimal digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn new(digits: &str) -> Result<Self> {
        if !(4..=12).contains(&digits.len()) {
            return Err(CryptoError::Pin("must be 4 to 12 digits"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoError::Pin("must contain digits only"));
        }
        Ok(Self(Zeroizing::new(digits.to_owned())))
    }

    /// The digits. Callers must not log or store them.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    fn nibbles(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.bytes().map(|b| b - b'0')
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(redacted)")
    }
}

/// ISO 9564-1 PIN block formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinBlockFormat {
    /// Format 0 (ANSI X9.8): PIN field XOR PAN field, TDES.
    Iso0,
    /// Format 1: PIN with a transaction (random) fill, no PAN.
    Iso1,
    /// Format 3: like format 0 with random `A`-`F` fill.
    Iso3,
    /// Format 4: 16-byte block for AES, enciphered in two steps with the PAN.
    Iso4,
}

impl PinBlockFormat {
    pub fn from_number(n: u8) -> Result<Self> {
        match n {
            0 => Ok(Self::Iso0),
            1 => Ok(Self::Iso1),
            3 => Ok(Self::Iso3),
            4 => Ok(Self::Iso4),
            _ => Err(CryptoError::Input {
                field: "PIN block format",
                reason: "supported formats are 0, 1, 3 and 4",
            }),
        }
    }

    fn control(self) -> u8 {
        match self {
            Self::Iso0 => 0,
            Self::Iso1 => 1,
            Self::Iso3 => 3,
            Self::Iso4 => 4,
        }
    }

    fn needs_pan(self) -> bool {
        !matches!(self, Self::Iso1)
    }
}

/// A validated primary account number (12 to 19 digits). The digits stay in
/// a zeroizing buffer and `Debug` shows only the masked form.
#[derive(Clone)]
pub struct Pan(Zeroizing<Vec<u8>>);

impl Pan {
    pub fn new(digits: &str) -> Result<Self> {
        if !(12..=19).contains(&digits.len()) {
            return Err(CryptoError::Pan("must be 12 to 19 digits"));
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CryptoError::Pan("must contain digits only"));
        }
        Ok(Self(Zeroizing::new(digits.bytes().map(|b| b - b'0').collect())))
    }

    fn digits(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pan(redacted)")
    }
}

fn pack(nibbles: &[u8]) -> Vec<u8> {
    nibbles
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect()
}

fn unpack(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect()
}

/// Formats 0 and 3: `0000` and the 12 rightmost PAN digits before the check digit.
fn pan_field_8(pan: &Pan) -> Vec<u8> {
    let d = pan.digits();
    let body = &d[..d.len() - 1];
    let mut nibbles = vec![0u8; 4];
    nibbles.extend_from_slice(&body[body.len() - 12..]);
    pack(&nibbles)
}

/// Format 4: PAN length indicator (length - 12), the PAN, zero fill to 16 bytes.
fn pan_field_16(pan: &Pan) -> Vec<u8> {
    let d = pan.digits();
    let mut nibbles = Vec::with_capacity(32);
    nibbles.push((d.len() - 12) as u8);
    nibbles.extend_from_slice(d);
    nibbles.resize(32, 0);
    pack(&nibbles)
}

fn random_nibbles(rng: &mut dyn RandomSource, n: usize, low: u8, span: u8) -> Result<Vec<u8>> {
    let mut buf = Zeroizing::new(vec![0u8; n]);
    rng.fill(&mut buf)?;
    Ok(buf.iter().map(|b| low + b % span).collect())
}

fn pin_field(format: PinBlockFormat, pin: &Pin, rng: &mut dyn RandomSource) -> Result<Zeroizing<Vec<u8>>> {
    let mut nibbles = Zeroizing::new(vec![format.control(), pin.0.len() as u8]);
    nibbles.extend(pin.nibbles());
    let fill = 16 - nibbles.len();
    match format {
        PinBlockFormat::Iso0 => nibbles.extend(std::iter::repeat_n(0xF, fill)),
        PinBlockFormat::Iso1 => nibbles.extend(random_nibbles(rng, fill, 0, 16)?),
        PinBlockFormat::Iso3 => nibbles.extend(random_nibbles(rng, fill, 0xA, 6)?),
        PinBlockFormat::Iso4 => {
            nibbles.extend(std::iter::repeat_n(0xA, fill));
            nibbles.extend(random_nibbles(rng, 16, 0, 16)?);
        }
    }
    Ok(Zeroizing::new(pack(&nibbles)))
}

fn require_pan(format: PinBlockFormat, pan: Option<&Pan>) -> Result<Option<&Pan>> {
    if format.needs_pan() && pan.is_none() {
        return Err(CryptoError::Pan("this PIN block format needs the PAN"));
    }
    Ok(pan)
}

/// The clear PIN block: for formats 0, 1 and 3 the 8 bytes that get
/// encrypted; for format 4 the 16-byte plaintext PIN field.
pub fn clear_pin_block(
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&Pan>,
    rng: &mut dyn RandomSource,
) -> Result<Zeroizing<Vec<u8>>> {
    let field = pin_field(format, pin, rng)?;
    match (format, pan) {
        (PinBlockFormat::Iso0 | PinBlockFormat::Iso3, _) => {
            let pan = require_pan(format, pan)?.expect("checked");
            Ok(Zeroizing::new(xor(&field, &pan_field_8(pan))))
        }
        _ => Ok(field),
    }
}

/// Builds and encrypts a PIN block: TDES for formats 0, 1 and 3; AES with
/// the two-step format 4 encipherment.
pub fn encrypt_pin_block(
    key: &SymmetricKey,
    format: PinBlockFormat,
    pin: &Pin,
    pan: Option<&Pan>,
    rng: &mut dyn RandomSource,
) -> Result<Vec<u8>> {
    check_key(key, format)?;
    require_pan(format, pan)?;
    let clear = clear_pin_block(format, pin, pan, rng)?;
    if format != PinBlockFormat::Iso4 {
        return key.encrypt_ecb(&clear);
    }
    let mut block = key.encrypt_ecb(&clear)?;
    xor_in_place(&mut block, &pan_field_16(pan.expect("checked")));
    key.encrypt_ecb(&block)
}

/// Decrypts a PIN block and returns the PIN after checking its structure.
pub fn decrypt_pin_block(
    key: &SymmetricKey,
    format: PinBlockFormat,
    block: &[u8],
    pan: Option<&Pan>,
) -> Result<Pin> {
    check_key(key, format)?;
    require_pan(format, pan)?;
    check_block_len(format, block)?;
    let mut clear = Zeroizing::new(key.decrypt_ecb(block)?);
    if format == PinBlockFormat::Iso4 {
        xor_in_place(&mut clear, &pan_field_16(pan.expect("checked")));
        clear = Zeroizing::new(key.decrypt_ecb(&clear)?);
    }
    decode_clear_pin_block(format, &clear, pan)
}

/// Reads the PIN out of a clear PIN block (format 4: the plaintext PIN field).
pub fn decode_clear_pin_block(format: PinBlockFormat, block: &[u8], pan: Option<&Pan>) -> Result<Pin> {
    check_block_len(format, block)?;
    let mut field = Zeroizing::new(block.to_vec());
    if matches!(format, PinBlockFormat::Iso0 | PinBlockFormat::Iso3) {
        let pan = require_pan(format, pan)?.expect("checked");
        xor_in_place(&mut field, &pan_field_8(pan));
    }
    let nibbles = Zeroizing::new(unpack(&field[..8]));
    if nibbles[0] != format.control() {
        return Err(CryptoError::PinBlock(
            "control field does not match the format; wrong key or PAN?",
        ));
    }
    let len = nibbles[1] as usize;
    if !(4..=12).contains(&len) {
        return Err(CryptoError::PinBlock(
            "PIN length out of range; wrong key or PAN?",
        ));
    }
    let digits = &nibbles[2..2 + len];
    if digits.iter().any(|&d| d > 9) {
        return Err(CryptoError::PinBlock(
            "PIN field holds a non-digit; wrong key or PAN?",
        ));
    }
    let fill = &nibbles[2 + len..];
    let fill_ok = match format {
        PinBlockFormat::Iso0 => fill.iter().all(|&n| n == 0xF),
        PinBlockFormat::Iso1 => true,
        PinBlockFormat::Iso3 => fill.iter().all(|&n| n >= 0xA),
        PinBlockFormat::Iso4 => fill.iter().all(|&n| n == 0xA),
    };
    if !fill_ok {
        return Err(CryptoError::PinBlock(
            "fill digits are wrong for the format; wrong key or PAN?",
        ));
    }
    let text: Zeroizing<String> = Zeroizing::new(digits.iter().map(|d| char::from(b'0' + d)).collect());
    Pin::new(&text)
}

fn check_key(key: &SymmetricKey, format: PinBlockFormat) -> Result<()> {
    let ok = match format {
        PinBlockFormat::Iso4 => key.algorithm() == Algorithm::Aes,
        _ => matches!(key.algorithm(), Algorithm::Des | Algorithm::Tdes),
    };
    if ok {
        return Ok(());
    }
    Err(CryptoError::WrongAlgorithm {
        operation: "this PIN block format",
        needed: if format == PinBlockFormat::Iso4 {
            "AES"
        } else {
            "DES or TDES"
        },
        actual: key.algorithm(),
    })
}

fn check_block_len(format: PinBlockFormat, block: &[u8]) -> Result<()> {
    let want = if format == PinBlockFormat::Iso4 { 16 } else { 8 };
    if block.len() != want {
        return Err(CryptoError::PinBlock(if want == 16 {
            "a format 4 block is 16 bytes"
        } else {
            "a format 0, 1 or 3 block is 8 bytes"
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{FixedRandom, SystemRandom};
    use hex::decode as h;

    fn pin(s: &str) -> Pin {
        Pin::new(s).unwrap()
    }

    fn pan(s: &str) -> Pan {
        Pan::new(s).unwrap()
    }

    #[test]
    fn format0_x9_24_annex_a_clear_block() {
        // ANSI X9.24-1 Annex A: PIN 1234, PAN 4012345678909.
        let block = clear_pin_block(
            PinBlockFormat::Iso0,
            &pin("1234"),
            Some(&pan("4012345678909")),
            &mut FixedRandom(vec![]),
        )
        .unwrap();
        assert_eq!(hex::encode_upper(&*block), "041274EDCBA9876F");
    }

    #[test]
    fn format1_and_3_structure() {
        let mut rng = FixedRandom(vec![0x00, 0x07, 0xFF]);
        let f1 = clear_pin_block(PinBlockFormat::Iso1, &pin("1234"), None, &mut rng).unwrap();
        assert_eq!(&hex::encode_upper(&*f1)[..6], "141234");
        let p = pan("4111111111111111");
        let f3 = clear_pin_block(PinBlockFormat::Iso3, &pin("1234"), Some(&p), &mut rng).unwrap();
        let field = xor(&f3, &pan_field_8(&p));
        let text = hex::encode_upper(field);
        assert!(text.starts_with("341234"), "{text}");
        assert!(text[6..].chars().all(|c| ('A'..='F').contains(&c)), "{text}");
    }

    #[test]
    fn format4_pin_and_pan_fields() {
        let mut rng = FixedRandom(vec![0x12]);
        let field = clear_pin_block(PinBlockFormat::Iso4, &pin("1234"), None, &mut rng).unwrap();
        assert_eq!(hex::encode_upper(&*field), "441234AAAAAAAAAA2222222222222222");
        assert_eq!(
            hex::encode_upper(pan_field_16(&pan("1234567890123456789"))),
            "71234567890123456789000000000000"
        );
        assert_eq!(
            hex::encode_upper(pan_field_16(&pan("123456789012"))),
            "01234567890120000000000000000000"
        );
    }

    #[test]
    fn format4_x9_24_3_supplement_example() {
        // ANSI X9.24-3:2017 test vectors supplement, AES PIN block example:
        // PIN 1234, PAN 4111111111111111, random fill 2F69ADDE2E9E7ACE,
        // under the DUKPT PIN key of transaction 1. The intermediate block
        // is the enciphered PIN field, then XOR the PAN field (ISO 9564-1
        // format 4 encipherment).
        let key = SymmetricKey::aes(&h("AF8CB133A78F8DC2D1359F18527593FB").unwrap()).unwrap();
        let p = pan("4111111111111111");
        let fill = || {
            FixedRandom(vec![
                2, 0xF, 6, 9, 0xA, 0xD, 0xD, 0xE, 2, 0xE, 9, 0xE, 7, 0xA, 0xC, 0xE,
            ])
        };
        let field = clear_pin_block(PinBlockFormat::Iso4, &pin("1234"), Some(&p), &mut fill()).unwrap();
        assert_eq!(hex::encode_upper(&*field), "441234AAAAAAAAAA2F69ADDE2E9E7ACE");
        assert_eq!(
            hex::encode_upper(pan_field_16(&p)),
            "44111111111111111000000000000000"
        );
        let a = key.encrypt_ecb(&field).unwrap();
        assert_eq!(hex::encode_upper(&a), "DE84127CF6DCA7DFE47BDE89057CB820");
        assert_eq!(
            hex::encode_upper(xor(&a, &pan_field_16(&p))),
            "9A95036DE7CDB6CEF47BDE89057CB820"
        );
        let block =
            encrypt_pin_block(&key, PinBlockFormat::Iso4, &pin("1234"), Some(&p), &mut fill()).unwrap();
        assert_eq!(hex::encode_upper(&block), "A912150391AB65A67E52883D81CE2D15");
        let back = decrypt_pin_block(&key, PinBlockFormat::Iso4, &block, Some(&p)).unwrap();
        assert_eq!(back.expose_secret(), "1234");
    }

    #[test]
    fn round_trips_every_format() {
        let tdes = SymmetricKey::tdes(&h("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
        let aes = SymmetricKey::aes(&h("00112233445566778899AABBCCDDEEFF").unwrap()).unwrap();
        let p = pan("5413330089020011");
        for (format, key) in [
            (PinBlockFormat::Iso0, &tdes),
            (PinBlockFormat::Iso1, &tdes),
            (PinBlockFormat::Iso3, &tdes),
            (PinBlockFormat::Iso4, &aes),
        ] {
            for digits in ["1234", "987654", "123456789012"] {
                let block =
                    encrypt_pin_block(key, format, &pin(digits), Some(&p), &mut SystemRandom::new()).unwrap();
                let back = decrypt_pin_block(key, format, &block, Some(&p)).unwrap();
                assert_eq!(back.expose_secret(), digits, "{format:?}");
            }
        }
    }

    #[test]
    fn wrong_pan_is_detected_for_format4() {
        let aes = SymmetricKey::aes(&[7; 16]).unwrap();
        let block = encrypt_pin_block(
            &aes,
            PinBlockFormat::Iso4,
            &pin("1234"),
            Some(&pan("5413330089020011")),
            &mut SystemRandom::new(),
        )
        .unwrap();
        assert!(
            decrypt_pin_block(&aes, PinBlockFormat::Iso4, &block, Some(&pan("5413330089020029"))).is_err()
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(Pin::new("123").is_err());
        assert!(Pin::new("12a4").is_err());
        assert!(Pan::new("41111").is_err());
        let tdes = SymmetricKey::tdes(&[1; 16]).unwrap();
        let mut rng = SystemRandom::new();
        assert!(encrypt_pin_block(&tdes, PinBlockFormat::Iso0, &pin("1234"), None, &mut rng).is_err());
        assert!(encrypt_pin_block(&tdes, PinBlockFormat::Iso4, &pin("1234"), None, &mut rng).is_err());
        assert!(decrypt_pin_block(&tdes, PinBlockFormat::Iso1, &[0; 7], None).is_err());
        assert_eq!(format!("{:?}", pin("1234")), "Pin(redacted)");
    }
}
