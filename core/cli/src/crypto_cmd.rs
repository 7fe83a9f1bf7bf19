//! `posctl crypto ...`: the offline payment-cryptography kit.

use poskit_crypto::kcv::kcv;
use poskit_crypto::mac::{self, Padding};
use poskit_crypto::pin::{self, Pin, PinBlockFormat};
use poskit_crypto::{SymmetricKey, SystemRandom, dukpt, emv, rsa};

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
    pub key: Option<&'a str>,
    pub dukpt: Option<Dukpt<'a>>,
}

/// A BDK and KSN: the PIN key is derived per transaction (ANSI X9.24).
pub struct Dukpt<'a> {
    pub bdk: &'a str,
    pub ksn: &'a str,
    pub aes: bool,
}

impl Dukpt<'_> {
    fn bdk(&self) -> Result<SymmetricKey, CliError> {
        if self.aes {
            key_arg("--bdk", self.bdk, KeyKind::Aes, true)
        } else {
            key_arg(
                "--bdk",
                self.bdk,
                KeyKind::DesFamily { single_des_ok: false },
                false,
            )
        }
    }

    fn ksn(&self) -> Result<Vec<u8>, CliError> {
        hex_arg("--ksn", self.ksn)
    }

    fn pin_key(&self) -> Result<SymmetricKey, CliError> {
        let (bdk, ksn) = (self.bdk()?, self.ksn()?);
        if self.aes {
            dukpt::aes::pin_key(&bdk, &ksn)
        } else {
            dukpt::tdes::pin_key(&bdk, &ksn)
        }
        .map_err(crypto_err)
    }
}

pub fn pinblock_encode(args: PinEncode<'_>) -> Result<String, CliError> {
    let format = format_arg(args.format)?;
    let pin = Pin::new(args.pin).map_err(|e| CliError::arg("--pin", e.to_string()))?;
    let pan = args.pan.map(|p| pan_arg("--pan", p)).transpose()?;
    let key = match (args.key, args.dukpt) {
        (Some(_), Some(_)) => {
            return Err(CliError::arg(
                "--key",
                "give either --key or --dukpt-bdk/--ksn, not both",
            ));
        }
        (Some(text), None) => Some(pin_key(format, text)?),
        (None, Some(d)) => {
            if d.aes != (format == PinBlockFormat::Iso4) {
                return Err(CliError::arg(
                    "--format",
                    "AES DUKPT encrypts format 4 PIN blocks; TDES DUKPT formats 0, 1 and 3",
                ));
            }
            Some(d.pin_key()?)
        }
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

/// `posctl crypto dukpt`: the keys for one KSN.
pub fn dukpt_cmd(d: Dukpt<'_>, json: bool) -> Result<String, CliError> {
    let (bdk, ksn) = (d.bdk()?, d.ksn()?);
    let (initial, transaction) = if d.aes {
        (
            dukpt::aes::initial_key(&bdk, &ksn),
            dukpt::aes::derivation_key(&bdk, &ksn),
        )
    } else {
        (
            dukpt::tdes::ipek(&bdk, &ksn),
            dukpt::tdes::transaction_key(&bdk, &ksn),
        )
    };
    let keys = DukptKeys {
        initial_key: upper_hex(initial.map_err(crypto_err)?.expose_secret()),
        transaction_key: upper_hex(transaction.map_err(crypto_err)?.expose_secret()),
        pin_key: upper_hex(d.pin_key()?.expose_secret()),
    };
    Ok(if json {
        serde_json::to_string_pretty(&keys).expect("serializable")
    } else {
        format!(
            "initial_key      {}\ntransaction_key  {}\npin_key          {}",
            keys.initial_key, keys.transaction_key, keys.pin_key
        )
    })
}

#[derive(serde::Serialize)]
struct DukptKeys {
    initial_key: String,
    transaction_key: String,
    pin_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MkOption {
    A,
    B,
}

pub fn icc_mk(option: MkOption, imk: &str, pan: &str, psn: &str) -> Result<String, CliError> {
    let imk = key_arg("--imk", imk, KeyKind::DesFamily { single_des_ok: false }, false)?;
    let psn = emv::Psn::from_digits(psn).map_err(crypto_err)?;
    let pan = pan.trim();
    let mk = match option {
        MkOption::A => emv::icc_master_key_option_a(&imk, pan, Some(psn)),
        MkOption::B => emv::icc_master_key_option_b(&imk, pan, Some(psn)),
    }
    .map_err(crypto_err)?;
    Ok(upper_hex(mk.expose_secret()))
}

pub fn session_key(key: &str, diversifier: &str, aes: bool) -> Result<String, CliError> {
    let mk = key_arg("--key", key, KeyKind::DesFamily { single_des_ok: false }, aes)?;
    let r = hex_arg("--diversifier", diversifier)?;
    Ok(upper_hex(
        emv::session_key(&mk, &r).map_err(crypto_err)?.expose_secret(),
    ))
}

pub fn ac(key: &str, data: &str, padding_method: u8, aes: bool) -> Result<String, CliError> {
    let sk = key_arg("--key", key, KeyKind::DesFamily { single_des_ok: false }, aes)?;
    let data = hex_arg("--data", data)?;
    let ac =
        emv::application_cryptogram_with_padding(&sk, &data, padding(padding_method)?).map_err(crypto_err)?;
    Ok(upper_hex(&ac))
}

pub struct Arpc<'a> {
    pub method: u8,
    pub key: &'a str,
    pub arqc: &'a str,
    pub arc: Option<&'a str>,
    pub csu: Option<&'a str>,
    pub pad: Option<&'a str>,
}

pub fn arpc(a: Arpc<'_>) -> Result<String, CliError> {
    let key = key_arg("--key", a.key, KeyKind::DesFamily { single_des_ok: false }, false)?;
    let arqc = hex_arg("--arqc", a.arqc)?;
    let method = a.method;
    fn required<'v>(value: Option<&'v str>, arg: &'static str, method: u8) -> Result<&'v str, CliError> {
        value.ok_or_else(|| CliError::arg(arg, format!("is required for ARPC method {method}")))
    }
    match a.method {
        1 => {
            let arc = hex_arg("--arc", required(a.arc, "--arc", method)?)?;
            Ok(upper_hex(
                &emv::arpc_method_1(&key, &arqc, &arc).map_err(crypto_err)?,
            ))
        }
        2 => {
            let csu = hex_arg("--csu", required(a.csu, "--csu", method)?)?;
            let pad = a
                .pad
                .map(|p| hex_arg("--pad", p))
                .transpose()?
                .unwrap_or_default();
            Ok(upper_hex(
                &emv::arpc_method_2(&key, &arqc, &csu, &pad).map_err(crypto_err)?,
            ))
        }
        _ => Err(CliError::arg(
            "--method",
            "must be 1 or 2 (EMV Book 2 section 8.2)",
        )),
    }
}

pub fn rsa_recover(modulus: &str, exponent: &str, data: &str) -> Result<String, CliError> {
    let n = hex_arg("--modulus", modulus)?;
    let e = hex_arg("--exponent", exponent)?;
    let x = hex_arg("--data", data)?;
    Ok(upper_hex(&rsa::recover(&n, &e, &x).map_err(crypto_err)?))
}
