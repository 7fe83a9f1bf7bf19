//! `posctl crypto ...`: the offline payment-cryptography kit.

use poskit_crypto::kcv::kcv;
use poskit_crypto::mac::{self, Padding};
use poskit_crypto::pin::{self, Pin, PinBlockFormat};
use poskit_crypto::{SymmetricKey, SystemRandom};

use crate::CliError;
use crate::input::{KeyKind, crypto_err, hex_arg, key_arg, pan_arg, upper_hex};

const DES_FAMILY: KeyKind = KeyKind::DesFamily { single_des_ok: true };

pub fn kcv_cmd(key: &str, aes: bool) -> Result<String, CliError> {
    let key = key_arg("--key", key, DES_FAMILY, aes)?;
    Ok(upper_hex(&kcv(&key)))
}

pub fn padding(n: u8) -> Result<Padding, CliError> {
    match n {
        1 => Ok(Padding::Method1),
        2 => Ok(Padding::Method2),
        _ => Err(CliError::arg(
            "--padding",
            "must be 1 or 2 (ISO 9797-1 padding method)",
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MacAlg {
    /// ISO 9797-1 algorithm 3 / ANSI X9.19 (TDES key)
    Retail,
    /// UnionPay POS "ECB" MAC (field 64)
    CupEcb,
    /// AES-CMAC (NIST SP 800-38B)
    Cmac,
}

pub fn mac_cmd(alg: MacAlg, key: &str, data: &str, padding_method: u8) -> Result<String, CliError> {
    let data = hex_arg("--data", data)?;
    let out = match alg {
        MacAlg::Retail => {
            let key = key_arg("--key", key, KeyKind::DesFamily { single_des_ok: false }, false)?;
            mac::retail_mac(&key, &data, padding(padding_method)?)
                .map_err(crypto_err)?
                .to_vec()
        }
        MacAlg::CupEcb => {
            let key = key_arg("--key", key, DES_FAMILY, false)?;
            mac::cup_ecb_mac(&key, &data).map_err(crypto_err)?.to_vec()
        }
        MacAlg::Cmac => mac::cmac(&key_arg("--key", key, KeyKind::Aes, true)?, &data),
    };
    Ok(upper_hex(&out))
}

pub fn format_arg(n: u8) -> Result<PinBlockFormat, CliError> {
    PinBlockFormat::from_number(n).map_err(|_| CliError::arg("--format", "must be 0, 1, 3 or 4"))
}

/// A key for a PIN block format: TDES (or DES) for 0/1/3, AES for 4.
fn pin_key(format: PinBlockFormat, key: &str) -> Result<SymmetricKey, CliError> {
    let kind = if format == PinBlockFormat::Iso4 {
        KeyKind::Aes
    } else {
        DES_FAMILY
    };
    key_arg("--key", key, kind, false)
}

pub struct PinEncode<'a> {
    pub format: u8,
    pub pin: &'a str,
    pub pan: Option<&'a str>,
    pub key: Option<SymmetricKey>,
    pub key_text: Option<&'a str>,
}

pub fn pinblock_encode(args: PinEncode<'_>) -> Result<String, CliError> {
    let format = format_arg(args.format)?;
    let pin = Pin::new(args.pin).map_err(|e| CliError::arg("--pin", e.to_string()))?;
    let pan = args.pan.map(|p| pan_arg("--pan", p)).transpose()?;
    let key = match (args.key, args.key_text) {
        (Some(k), _) => Some(k),
        (None, Some(text)) => Some(pin_key(format, text)?),
        (None, None) => None,
    };
    let mut rng = SystemRandom::new();
    let block = match key {
        None => pin::clear_pin_block(format, &pin, pan.as_ref(), &mut rng).map(|b| b.to_vec()),
        Some(key) => pin::encrypt_pin_block(&key, format, &pin, pan.as_ref(), &mut rng),
    }
    .map_err(crypto_err)?;
    Ok(upper_hex(&block))
}

pub fn pinblock_decode(
    format: u8,
    block: &str,
    pan: Option<&str>,
    key: Option<&str>,
) -> Result<String, CliError> {
    let format = format_arg(format)?;
    let block = hex_arg("--block", block)?;
    let pan = pan.map(|p| pan_arg("--pan", p)).transpose()?;
    let pin = match key {
        Some(text) => pin::decrypt_pin_block(&pin_key(format, text)?, format, &block, pan.as_ref()),
        None => pin::decode_clear_pin_block(format, &block, pan.as_ref()),
    }
    .map_err(crypto_err)?;
    Ok(pin.expose_secret().to_owned())
}
