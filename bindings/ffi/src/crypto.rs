//! Payment cryptography for foreign callers: key check values, ISO 9564 PIN
//! blocks and the retail MAC. Keys, PINs and PANs arrive as owned buffers
//! and are wiped when the call returns (DESIGN rule 5).

use poskit_crypto::mac::{self, Padding};
use poskit_crypto::pin::{self, Pan, Pin, PinBlockFormat};
use poskit_crypto::{SymmetricKey, SystemRandom, kcv};
use zeroize::Zeroizing;

use crate::error::PosKitError;

/// The key check value: 3 bytes for DES/TDES (a block of zeros encrypted),
/// 5 bytes for AES (CMAC of a block of zeros). `aes = false` reads 8 bytes
/// as single DES and 16 or 24 as TDES.
#[uniffi::export]
pub fn key_check_value(key: Vec<u8>, aes: bool) -> Result<Vec<u8>, PosKitError> {
    let key = Zeroizing::new(key);
    let key = if aes {
        SymmetricKey::aes(&key)?
    } else {
        SymmetricKey::des_family(&key)?
    };
    Ok(kcv::kcv(&key))
}

/// Builds and encrypts an ISO 9564 PIN block. `format` is 0, 1, 3 (key is
/// DES/TDES) or 4 (key is AES). `pan` is the full PAN; format 1 does not
/// use it and accepts an empty string.
#[uniffi::export]
pub fn encrypt_pin_block(format: u8, pin: String, pan: String, key: Vec<u8>) -> Result<Vec<u8>, PosKitError> {
    let (pin, pan, key) = (Zeroizing::new(pin), Zeroizing::new(pan), Zeroizing::new(key));
    let format = PinBlockFormat::from_number(format)?;
    let key = pin_key(format, &key)?;
    let pin = Pin::new(&pin)?;
    let pan = optional_pan(&pan)?;
    Ok(pin::encrypt_pin_block(
        &key,
        format,
        &pin,
        pan.as_ref(),
        &mut SystemRandom::new(),
    )?)
}

/// Decrypts an ISO 9564 PIN block and returns the PIN digits. Fails with
/// `InvalidPinBlock` when the block does not decode, which usually means the
/// wrong key or PAN.
#[uniffi::export]
pub fn decrypt_pin_block(
    format: u8,
    block: Vec<u8>,
    pan: String,
    key: Vec<u8>,
) -> Result<String, PosKitError> {
    let (block, pan, key) = (Zeroizing::new(block), Zeroizing::new(pan), Zeroizing::new(key));
    let format = PinBlockFormat::from_number(format)?;
    let key = pin_key(format, &key)?;
    let pan = optional_pan(&pan)?;
    let pin = pin::decrypt_pin_block(&key, format, &block, pan.as_ref())?;
    Ok(pin.expose_secret().to_owned())
}

/// The ANSI X9.19 retail MAC (ISO 9797-1 MAC algorithm 3, padding method 1)
/// under a double- or triple-length TDES key; the full 8 bytes.
#[uniffi::export]
pub fn retail_mac(key: Vec<u8>, data: Vec<u8>) -> Result<Vec<u8>, PosKitError> {
    let key = Zeroizing::new(key);
    Ok(mac::retail_mac(&SymmetricKey::tdes(&key)?, &data, Padding::Method1)?.to_vec())
}

/// ISO 9564-1 ties the key to the format: AES for format 4, DES/TDES otherwise.
fn pin_key(format: PinBlockFormat, bytes: &[u8]) -> Result<SymmetricKey, PosKitError> {
    Ok(match format {
        PinBlockFormat::Iso4 => SymmetricKey::aes(bytes)?,
        _ => SymmetricKey::des_family(bytes)?,
    })
}

/// An empty string stands for "no PAN" (format 1); poskit-crypto then
/// refuses the formats that need one.
fn optional_pan(digits: &str) -> Result<Option<Pan>, PosKitError> {
    Ok((!digits.is_empty()).then(|| Pan::new(digits)).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789ABCDEFFEDCBA9876543210";

    fn key() -> Vec<u8> {
        hex::decode(KEY).unwrap()
    }

    #[test]
    fn kcv_of_the_classic_test_key() {
        assert_eq!(
            hex::encode_upper(key_check_value(key(), false).unwrap()),
            "08D7B4"
        );
        assert_eq!(key_check_value(vec![0; 16], true).unwrap().len(), 5);
    }

    #[test]
    fn pin_block_round_trips_in_every_format() {
        let aes = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        for (format, key) in [(0, key()), (1, key()), (3, key()), (4, aes)] {
            let pan = if format == 1 { "" } else { "4012345678909" };
            let block = encrypt_pin_block(format, "1234".into(), pan.into(), key.clone()).unwrap();
            assert_eq!(decrypt_pin_block(format, block, pan.into(), key).unwrap(), "1234");
        }
    }

    #[test]
    fn format0_needs_a_pan() {
        let err = encrypt_pin_block(0, "1234".into(), String::new(), key()).unwrap_err();
        assert_eq!(err.code(), 1003);
    }

    #[test]
    fn retail_mac_iso9797_annex_b() {
        let mac = retail_mac(key(), b"Now is the time for all ".to_vec()).unwrap();
        assert_eq!(hex::encode_upper(mac), "A1C72E74EA3FA9B6");
    }

    #[test]
    fn errors_carry_no_secrets() {
        let err = encrypt_pin_block(0, "1234".into(), "40123456789".into(), key()).unwrap_err();
        assert_eq!(err.code(), 1003);
        assert!(!err.to_string().contains("40123456789"), "{err}");
        let err = key_check_value(vec![0xAB; 10], false).unwrap_err();
        assert_eq!(err.code(), 1001);
        assert!(!err.to_string().to_uppercase().contains("ABAB"), "{err}");
    }
}
