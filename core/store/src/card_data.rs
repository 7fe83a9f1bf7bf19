//! Card data at rest (DESIGN rule 5, PCI DSS requirements 3.2-3.5).
//!
//! - The PAN is stored three ways and never in clear: AES-256-GCM under a
//!   subkey of the data key with the transaction id as associated data (a
//!   ciphertext copied to another row does not decrypt); an HMAC-SHA256
//!   under a second, separate subkey for "find transactions by card"
//!   (PCI DSS 3.5.1: keyed cryptographic hash); and the masked form
//!   (first 6 / last 4, PCI DSS 3.4.1) for display.
//! - Track data, CVV/CVC and PIN blocks have no column anywhere and no
//!   parameter in the API. ICC data (field 55) is checked for the tags that
//!   would carry them, and free text (fault details, audit details) is
//!   scrubbed of anything that looks like a PAN or track data.

use std::fmt;

use poskit_tlv::Tag;
use ring::rand::SystemRandom;
use zeroize::Zeroizing;

use crate::envelope::{self, Secret32};
use crate::error::{Result, StoreError};
use crate::vault::DataKey;

/// A primary account number in clear, held only in memory, wiped on drop.
/// `Debug` shows the masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct Pan(Zeroizing<String>);

impl Pan {
    /// 12 to 19 ASCII digits (ISO/IEC 7812-1).
    pub fn new(digits: &str) -> Result<Self> {
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(StoreError::InvalidInput {
                field: "PAN",
                reason: "must be 12 to 19 digits",
            });
        }
        Ok(Self(Zeroizing::new(digits.to_owned())))
    }

    /// First 6 and last 4 digits, the rest as `*` (PCI DSS 3.4.1).
    pub fn masked(&self) -> String {
        mask_digits(&self.0)
    }

    /// The digits, for building the host message. Never log or store them.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    /// Packed BCD, left-justified and padded with `F` (ISO 8583 field 2 in
    /// the UnionPay dialect).
    pub(crate) fn bcd(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(pack_bcd(self.0.as_bytes(), 0x0F))
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

/// Packs ASCII hex characters (digits, `D` as the track 2 separator) two to
/// a byte, padding an odd length with `pad`.
pub(crate) fn pack_bcd(ascii: &[u8], pad: u8) -> Vec<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'A'..=b'F' => c - b'A' + 10,
        b'a'..=b'f' => c - b'a' + 10,
        b'=' => 0x0D,
        _ => 0x0F,
    };
    ascii
        .chunks(2)
        .map(|p| (nibble(p[0]) << 4) | p.get(1).map_or(pad, |&c| nibble(c)))
        .collect()
}

fn mask_digits(digits: &str) -> String {
    let n = digits.len();
    if n < 11 {
        return "*".repeat(n);
    }
    format!("{}{}{}", &digits[..6], "*".repeat(n - 10), &digits[n - 4..])
}

/// The two purpose-bound subkeys card data uses.
pub(crate) struct PanKeys {
    encryption: Secret32,
    lookup: Secret32,
}

impl PanKeys {
    pub(crate) fn derive(data_key: &DataKey) -> Self {
        Self {
            encryption: envelope::derive(data_key.bytes(), b"poskit-store/pan-encryption/v1"),
            lookup: envelope::derive(data_key.bytes(), b"poskit-store/pan-lookup/v1"),
        }
    }

    fn aad(txn_id: i64) -> Vec<u8> {
        let mut aad = b"poskit-store/transactions.pan_encrypted/v1".to_vec();
        aad.extend_from_slice(&txn_id.to_be_bytes());
        aad
    }

    pub(crate) fn encrypt(&self, pan: &Pan, txn_id: i64, rng: &SystemRandom) -> Result<Vec<u8>> {
        envelope::seal(&self.encryption, &Self::aad(txn_id), pan.0.as_bytes(), rng)
    }

    pub(crate) fn decrypt(&self, sealed: &[u8], txn_id: i64) -> Result<Pan> {
        let plain = envelope::open(&self.encryption, &Self::aad(txn_id), sealed)
            .ok_or(StoreError::Tampered("a stored PAN"))?;
        let digits = std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt { what: "a stored PAN" })?;
        Pan::new(digits).map_err(|_| StoreError::Corrupt { what: "a stored PAN" })
    }

    pub(crate) fn lookup_hash(&self, pan: &Pan) -> [u8; 32] {
        envelope::mac(self.lookup.as_ref(), pan.0.as_bytes())
    }
}

/// EMV tags that carry data PCI DSS 3.2 forbids keeping after
/// authorisation, or the PAN in clear.
const SENSITIVE_TAGS: &[(u32, &str)] = &[
    (0x5A, "PAN (tag 5A)"),
    (0x56, "track 1 data (tag 56)"),
    (0x57, "track 2 equivalent data (tag 57)"),
    (0x9F6B, "track 2 data (tag 9F6B)"),
    (0x9F1F, "track 1 discretionary data (tag 9F1F)"),
    (0x9F20, "track 2 discretionary data (tag 9F20)"),
    (0x99, "PIN data (tag 99)"),
];

/// Refuses ICC data (field 55, TC upload payloads) that is not BER-TLV or
/// that carries a PAN, track data or PIN data; also refuses it when the
/// transaction's PAN appears in it as BCD or ASCII.
pub(crate) fn check_icc_data(field: &'static str, data: &[u8], pan: Option<&Pan>) -> Result<()> {
    let objects = poskit_tlv::primitives(data).map_err(|_| StoreError::InvalidInput {
        field,
        reason: "is not BER-TLV",
    })?;
    for tlv in objects {
        if let Some((_, what)) = SENSITIVE_TAGS.iter().find(|(t, _)| tlv.tag() == Tag::new(*t)) {
            return Err(StoreError::CardDataRefused { field, what });
        }
    }
    if let Some(pan) = pan {
        let bcd = pan.bcd();
        let needles: [&[u8]; 2] = [&bcd[..pan.0.len() / 2], pan.0.as_bytes()];
        if needles.iter().any(|n| contains(data, n)) {
            return Err(StoreError::CardDataRefused {
                field,
                what: "the PAN",
            });
        }
    }
    Ok(())
}

pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Luhn check (ISO/IEC 7812-1 annex B) over ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// How hard [`scrub`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scrub {
    /// PAN-like numbers and track-like data only (audit details, where
    /// merchant numbers and names must survive).
    CardData,
    /// Also every run of 16 or more hex characters (fault details: an
    /// APDU, a PIN block or a key in hex never belongs there).
    Strict,
}

const REMOVED: &str = "[removed]";

/// Replaces card data in free text: digit runs of 13-19 digits (spaces or
/// dashes between groups allowed) that pass the Luhn check become their
/// masked form; longer digit runs and track-2-like runs (12+ digits then
/// `=` or `D`) are removed. A Luhn-valid 15-digit merchant number is masked
/// too: the rule cannot tell it from a PAN, and PCI DSS wins.
pub(crate) fn scrub(text: &str, level: Scrub) -> String {
    let chars: Vec<char> = text.chars().collect();
    let is_run_char = |c: char| c.is_ascii_hexdigit() || c == '=';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_run_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i;
        while end < chars.len() && is_run_char(chars[end]) {
            end += 1;
        }
        let run = &chars[start..end];
        if run.iter().all(char::is_ascii_digit) {
            // Join digit groups separated by one space or dash.
            let mut digits: Vec<u8> = run.iter().map(|&c| c as u8).collect();
            let mut j = end;
            while j + 1 < chars.len() && matches!(chars[j], ' ' | '-') && chars[j + 1].is_ascii_digit() {
                let mut k = j + 1;
                while k < chars.len() && chars[k].is_ascii_digit() {
                    digits.push(chars[k] as u8);
                    k += 1;
                }
                j = k;
            }
            let n = digits.len();
            if (13..=19).contains(&n) && luhn(&digits) {
                out.push_str(&mask_digits(std::str::from_utf8(&digits).unwrap_or_default()));
                i = j;
            } else if n > 19 {
                out.push_str(REMOVED);
                i = j;
            } else {
                out.extend(run);
                i = end;
            }
            continue;
        }
        let leading_digits = run.iter().take_while(|c| c.is_ascii_digit()).count();
        let track_like = leading_digits >= 12 && matches!(run.get(leading_digits), Some('=' | 'D' | 'd'));
        let hex_blob = level == Scrub::Strict && run.len() >= 16 && run.iter().any(char::is_ascii_digit);
        if track_like || hex_blob {
            out.push_str(REMOVED);
        } else {
            out.extend(run);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_first_six_and_last_four() {
        assert_eq!(Pan::new("4761739001010010").unwrap().masked(), "476173******0010");
        assert_eq!(Pan::new("4012345678909").unwrap().masked(), "401234***8909");
        assert_eq!(
            Pan::new("6230580000000000013").unwrap().masked(),
            "623058*********0013"
        );
        assert_eq!(
            format!("{:?}", Pan::new("5413330089020011").unwrap()),
            "Pan(541333******0011)"
        );
    }

    #[test]
    fn invalid_pans_are_refused_without_echo() {
        for bad in ["", "12345", "4761a39001010010", "47617390010100100000"] {
            let err = Pan::new(bad).unwrap_err().to_string();
            assert!(!err.contains("4761"), "{err}");
        }
    }

    #[test]
    fn bcd_is_left_justified_and_f_padded() {
        assert_eq!(
            Pan::new("4012345678909").unwrap().bcd().as_slice(),
            [0x40, 0x12, 0x34, 0x56, 0x78, 0x90, 0x9F]
        );
        assert_eq!(pack_bcd(b"12D3", 0x0F), [0x12, 0xD3]);
    }

    #[test]
    fn icc_data_with_pan_track_or_pin_tags_is_refused() {
        // 9F26 ARQC, 9F27 CID: fine.
        let ok = hex::decode("9F2608A1B2C3D4E5F607089F270180").unwrap();
        check_icc_data("ICC data", &ok, None).unwrap();
        for (tlv, what) in [
            ("5A084761739001010010", "5A"),
            ("57104761739001010010D25122011143878F", "57"),
            ("9F6B104761739001010010D25122011143878F", "9F6B"),
            ("990841234567890ABCDE", "99"),
            ("70065A0447617390", "5A"),
        ] {
            let data = hex::decode(tlv).unwrap();
            let err = check_icc_data("ICC data", &data, None).unwrap_err();
            assert!(matches!(err, StoreError::CardDataRefused { .. }), "{what}: {err}");
            assert!(err.to_string().contains(what), "{err}");
        }
        assert!(matches!(
            check_icc_data("ICC data", &[0x9F, 0x26, 0x08, 1], None),
            Err(StoreError::InvalidInput { .. })
        ));
    }

    #[test]
    fn icc_data_hiding_the_pan_in_another_tag_is_refused() {
        let pan = Pan::new("4761739001010010").unwrap();
        let data = hex::decode("9F10084761739001010010").unwrap();
        assert!(check_icc_data("ICC data", &data, Some(&pan)).is_err());
        let ok = hex::decode("9F2608A1B2C3D4E5F60708").unwrap();
        check_icc_data("ICC data", &ok, Some(&pan)).unwrap();
    }

    #[test]
    fn scrub_masks_pans_and_removes_track_data() {
        let cases = [
            ("card 4761739001010010 declined", "card 476173******0010 declined"),
            (
                "card 4761 7390 0101 0010 declined",
                "card 476173******0010 declined",
            ),
            ("t2 4761739001010010D25122011143878 bad", "t2 [removed] bad"),
            ("t2 ;4761739001010010=25122011143878? bad", "t2 ;[removed]? bad"),
            ("RRN 123456789012 STAN 000042", "RRN 123456789012 STAN 000042"),
            ("MID 898310048160001", "MID 898310048160001"),
            ("deadbeef and cafe", "deadbeef and cafe"),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub(input, Scrub::CardData), expected, "{input}");
        }
        assert_eq!(
            scrub("pin block 041274EFFEFEFEFE", Scrub::Strict),
            "pin block [removed]"
        );
        assert_eq!(
            scrub("pin block 041274EFFEFEFEFE", Scrub::CardData),
            "pin block 041274EFFEFEFEFE"
        );
    }

    #[test]
    fn lookup_hash_is_keyed() {
        let rng = SystemRandom::new();
        let a = PanKeys::derive(&DataKey::generate(&rng).unwrap());
        let b = PanKeys::derive(&DataKey::generate(&rng).unwrap());
        let pan = Pan::new("5413330089020011").unwrap();
        assert_eq!(a.lookup_hash(&pan), a.lookup_hash(&pan));
        assert_ne!(a.lookup_hash(&pan), b.lookup_hash(&pan));
        let sealed = a.encrypt(&pan, 7, &rng).unwrap();
        assert_eq!(a.decrypt(&sealed, 7).unwrap(), pan);
        assert!(matches!(a.decrypt(&sealed, 8), Err(StoreError::Tampered(_))));
        assert!(b.decrypt(&sealed, 7).is_err());
    }
}
