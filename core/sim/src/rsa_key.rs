//! RSA private keys for the issuer and CA side of the simulator.
//!
//! EMV Book 2 signs with "digital signature scheme giving message recovery"
//! (ISO/IEC 9796-2 as profiled in Book 2 A2.1): the signer builds the whole
//! block (header 6A, data, hash, trailer BC) and applies the private key to
//! it raw, S = X^d mod n. The terminal side only ever needs the public
//! operation, which lives in `poskit_crypto::rsa::recover`; the private one
//! is here because only simulators sign.
//!
//! The private operation uses the Chinese remainder theorem with the
//! primes, which a card does too and which keeps debug-build tests fast.
//! The keys here are TEST keys: they are public in this repository.

use std::fmt;

use num_bigint::BigUint;

/// An RSA key pair as hex text, the form the embedded test keys take.
#[derive(Debug, Clone, Copy)]
pub struct RsaKeyHex {
    pub modulus: &'static str,
    pub exponent: &'static str,
    pub prime1: &'static str,
    pub prime2: &'static str,
    pub exponent1: &'static str,
    pub exponent2: &'static str,
    pub coefficient: &'static str,
}

/// An RSA key pair, private part in CRT form.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaKeyPair {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
}

impl RsaKeyPair {
    /// Decodes an embedded key. The constants are fixed at build time and
    /// covered by tests, so a decoding failure is a programming error.
    pub fn from_hex(hex: &RsaKeyHex) -> RsaKeyPair {
        let big = |s: &str| BigUint::from_bytes_be(&decode_hex(s));
        RsaKeyPair {
            modulus: decode_hex(hex.modulus),
            exponent: decode_hex(hex.exponent),
            p: big(hex.prime1),
            q: big(hex.prime2),
            dp: big(hex.exponent1),
            dq: big(hex.exponent2),
            qinv: big(hex.coefficient),
        }
    }

    /// The modulus, big-endian, without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// The public exponent: `03` or `01 00 01`.
    pub fn exponent(&self) -> &[u8] {
        &self.exponent
    }

    /// The modulus length in bytes (N_CA, N_I or N_IC in Book 2).
    pub fn len(&self) -> usize {
        self.modulus.len()
    }

    pub fn is_empty(&self) -> bool {
        self.modulus.is_empty()
    }

    /// X^d mod n for a block exactly as long as the modulus and smaller
    /// than it; `None` otherwise. Signing (Book 2 A2.1) and deciphering an
    /// enciphered PIN (Book 2 7.2) are both this operation.
    pub fn private_operation(&self, block: &[u8]) -> Option<Vec<u8>> {
        if block.len() != self.modulus.len() {
            return None;
        }
        let n = BigUint::from_bytes_be(&self.modulus);
        let c = BigUint::from_bytes_be(block);
        if c >= n {
            return None;
        }
        let m1 = c.modpow(&self.dp, &self.p);
        let m2 = c.modpow(&self.dq, &self.q);
        // h = qinv * (m1 - m2) mod p, kept non-negative.
        let diff = (&m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        let m = m2 + h * &self.q;
        let bytes = m.to_bytes_be();
        let mut out = vec![0u8; self.modulus.len().saturating_sub(bytes.len())];
        out.extend_from_slice(&bytes);
        Some(out)
    }
}

impl fmt::Debug for RsaKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RsaKeyPair({} bits, e = {}, private part redacted)",
            self.modulus.len() * 8,
            hex_upper(&self.exponent)
        )
    }
}

/// Hex text (no separators other than whitespace) to bytes, for the
/// embedded constants.
pub(crate) fn decode_hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "embedded hex constant has an odd length");
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).expect("embedded hex constant is ASCII");
            u8::from_str_radix(text, 16).expect("embedded hex constant is hex")
        })
        .collect()
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_then_public_is_the_identity() {
        for hex in [
            &crate::ca::CA_VISA,
            &crate::ca::CA_MASTERCARD,
            &crate::ca::CA_UNIONPAY,
        ] {
            let key = RsaKeyPair::from_hex(hex);
            let mut block = vec![0x6Au8; key.len()];
            block[key.len() - 1] = 0xBC;
            let signed = key.private_operation(&block).unwrap();
            let back = poskit_crypto::rsa::recover(key.modulus(), key.exponent(), &signed).unwrap();
            assert_eq!(back, block);
        }
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let key = RsaKeyPair::from_hex(&crate::ca::CA_UNIONPAY);
        assert!(key.private_operation(&[1, 2, 3]).is_none());
        assert!(key.private_operation(&vec![0xFF; key.len()]).is_none());
        assert!(!format!("{key:?}").contains(&hex_upper(&key.modulus()[..4])));
    }
}
