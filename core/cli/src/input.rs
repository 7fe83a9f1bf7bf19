//! Reading command-line values: hex, keys, PANs. Every error names the
//! argument and says what is wrong, and never echoes secret values.

use poskit_crypto::{Algorithm, SymmetricKey};

use crate::CliError;

/// Parses hex (any case; spaces allowed) for the argument `arg`.
pub fn hex_arg(arg: &'static str, text: &str) -> Result<Vec<u8>, CliError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(CliError::arg(arg, "is empty; give hex digits such as 9F0206"));
    }
    if let Some(bad) = compact.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(CliError::arg(arg, format!("'{bad}' is not a hex digit")));
    }
    if compact.len() % 2 != 0 {
        return Err(CliError::arg(
            arg,
            format!(
                "has {} hex digits; give whole bytes (an even number)",
                compact.len()
            ),
        ));
    }
    Ok(hex::decode(&compact).expect("validated hex"))
}

pub fn upper_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// What a `--key` means for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// 16/24 bytes TDES, 8 bytes DES if allowed; `--aes` switches to AES.
    DesFamily { single_des_ok: bool },
    /// The operation is AES by definition (CMAC, PIN block format 4).
    Aes,
}

/// Reads `--key` as the operation expects it (see [`KeyKind`]).
pub fn key_arg(
    arg: &'static str,
    text: &str,
    kind: KeyKind,
    aes_flag: bool,
) -> Result<SymmetricKey, CliError> {
    let bytes = zeroize::Zeroizing::new(hex_arg(arg, text)?);
    let n = bytes.len();
    let algorithm = match kind {
        KeyKind::Aes => Algorithm::Aes,
        KeyKind::DesFamily { .. } if aes_flag => Algorithm::Aes,
        KeyKind::DesFamily { single_des_ok } => match n {
            8 if single_des_ok => Algorithm::Des,
            8 => {
                return Err(CliError::arg(
                    arg,
                    "is 8 bytes (single DES); this operation needs a 16- or 24-byte TDES key",
                ));
            }
            16 | 24 => Algorithm::Tdes,
            32 => {
                return Err(CliError::arg(
                    arg,
                    "is 32 bytes, not a TDES key; add --aes for AES-256",
                ));
            }
            _ => {
                return Err(CliError::arg(
                    arg,
                    format!("is {n} bytes; a TDES key is 16 or 24 bytes (add --aes for AES)"),
                ));
            }
        },
    };
    SymmetricKey::new(algorithm, &bytes).map_err(|e| CliError::arg(arg, e.to_string()))
}

/// Attributes a crypto error to the argument it came from.
pub fn crypto_err(e: poskit_crypto::CryptoError) -> CliError {
    use poskit_crypto::CryptoError as E;
    let arg = match &e {
        E::Pin(_) => "--pin",
        E::Pan(_) => "--pan",
        E::PinBlock(_) => "--block",
        E::Ksn(_) | E::KeysExhausted => "--ksn",
        E::NotBlockAligned { .. } => "--data",
        E::Input { field, .. } => match *field {
            "ARQC" => "--arqc",
            "ARC" => "--arc",
            "CSU" => "--csu",
            "proprietary authentication data" => "--pad",
            "EMV diversification value" => "--diversifier",
            "PAN sequence number" => "--psn",
            "RSA modulus" => "--modulus",
            "RSA exponent" => "--exponent",
            "RSA signed data" => "--data",
            _ => "--key",
        },
        _ => "--key",
    };
    CliError::arg(arg, e.to_string())
}

/// A PAN: digits only, 12 to 19 of them.
pub fn pan_arg(arg: &'static str, text: &str) -> Result<poskit_crypto::pin::Pan, CliError> {
    poskit_crypto::pin::Pan::new(text.trim()).map_err(|e| CliError::arg(arg, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_errors_name_the_problem() {
        assert_eq!(hex_arg("--key", "0a 0B").unwrap(), vec![10, 11]);
        assert!(
            hex_arg("--key", "0G")
                .unwrap_err()
                .to_string()
                .contains("'G' is not a hex digit")
        );
        assert!(
            hex_arg("--key", "ABC")
                .unwrap_err()
                .to_string()
                .contains("3 hex digits")
        );
        assert!(
            hex_arg("--data", "")
                .unwrap_err()
                .to_string()
                .starts_with("--data")
        );
    }

    #[test]
    fn key_kinds() {
        let des = KeyKind::DesFamily { single_des_ok: true };
        assert_eq!(
            key_arg("--key", "0123456789ABCDEF", des, false)
                .unwrap()
                .algorithm(),
            Algorithm::Des
        );
        assert_eq!(
            key_arg("--key", &"11".repeat(16), des, false)
                .unwrap()
                .algorithm(),
            Algorithm::Tdes
        );
        assert_eq!(
            key_arg("--key", &"11".repeat(16), des, true).unwrap().algorithm(),
            Algorithm::Aes
        );
        assert_eq!(
            key_arg("--key", &"11".repeat(16), KeyKind::Aes, false)
                .unwrap()
                .algorithm(),
            Algorithm::Aes
        );
        let err = key_arg("--key", &"11".repeat(32), des, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--aes") && !err.contains("1111"), "{err}");
        let strict = KeyKind::DesFamily { single_des_ok: false };
        assert!(key_arg("--key", "0123456789ABCDEF", strict, false).is_err());
    }
}
