//! The transaction's data elements: what the card returned and what the
//! terminal supplies, by tag. Values are wiped on drop and card data is
//! never shown by `Debug` (DESIGN rule 5).

use std::collections::BTreeMap;
use std::fmt;

use poskit_tlv::Tag;
use zeroize::Zeroizing;

use crate::error::KernelError;

/// Tags that carry cardholder data: never shown, never logged.
pub const SENSITIVE: [Tag; 8] = [
    Tag(0x5A),   // PAN
    Tag(0x57),   // track 2 equivalent data
    Tag(0x56),   // track 1 data
    Tag(0x5F20), // cardholder name
    Tag(0x9F0B), // cardholder name extended
    Tag(0x9F1F), // track 1 discretionary data
    Tag(0x9F20), // track 2 discretionary data
    Tag(0x9F6B), // track 2 data (Mastercard)
];

/// Data elements by tag.
#[derive(Default, Clone)]
pub struct DataStore {
    values: BTreeMap<Tag, Zeroizing<Vec<u8>>>,
}

impl DataStore {
    pub fn get(&self, tag: Tag) -> Option<&[u8]> {
        self.values.get(&tag).map(|v| v.as_slice())
    }

    pub fn contains(&self, tag: Tag) -> bool {
        self.values.contains_key(&tag)
    }

    pub fn set(&mut self, tag: Tag, value: impl Into<Vec<u8>>) {
        self.values.insert(tag, Zeroizing::new(value.into()));
    }

    pub fn remove(&mut self, tag: Tag) {
        self.values.remove(&tag);
    }

    /// Stores every primitive object in `tlv_data` (templates opened).
    /// A primitive the card already gave with another value is redundant
    /// data (Book 3 10.2) unless `allow_update` (a later command replacing
    /// it, e.g. the ATC). The same value twice (track 2 in both the GPO
    /// answer and a record, as contactless cards do) is no conflict.
    pub fn absorb(&mut self, tlv_data: &[u8], allow_update: bool) -> Result<(), KernelError> {
        for tlv in poskit_tlv::primitives(tlv_data)? {
            if !allow_update && self.get(tlv.tag()).is_some_and(|old| old != tlv.value()) {
                return Err(KernelError::CardData(format!(
                    "the card returned tag {} twice (redundant data)",
                    tlv.tag()
                )));
            }
            self.set(tlv.tag(), tlv.value());
        }
        Ok(())
    }

    /// A one-byte value, if present with exactly that length.
    pub fn byte(&self, tag: Tag) -> Option<u8> {
        match self.get(tag) {
            Some([b]) => Some(*b),
            _ => None,
        }
    }

    /// A fixed-size value, if present with exactly that length.
    pub fn array<const N: usize>(&self, tag: Tag) -> Option<[u8; N]> {
        self.get(tag).and_then(|v| v.try_into().ok())
    }

    /// A numeric (format n) value read as an integer.
    pub fn number(&self, tag: Tag) -> Option<u64> {
        bcd_to_u64(self.get(tag)?)
    }

    /// The value or an error naming the missing tag.
    pub fn require(&self, tag: Tag) -> Result<&[u8], KernelError> {
        self.get(tag).ok_or(KernelError::MissingData(tag))
    }

    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.values.keys().copied()
    }
}

impl fmt::Debug for DataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (tag, value) in &self.values {
            if SENSITIVE.contains(tag) {
                map.entry(&tag.to_string(), &"<redacted>");
            } else {
                let hex: String = value.iter().map(|b| format!("{b:02X}")).collect();
                map.entry(&tag.to_string(), &hex);
            }
        }
        map.finish()
    }
}

/// BCD digits to a number; None for a non-decimal nibble or overflow.
pub fn bcd_to_u64(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |acc, b| {
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return None;
        }
        acc.checked_mul(100)?.checked_add((hi * 10 + lo) as u64)
    })
}

/// A number as `len` bytes of BCD (format n), left-padded with zeros.
pub fn u64_to_bcd(mut n: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for b in out.iter_mut().rev() {
        *b = (((n / 10 % 10) << 4) | (n % 10)) as u8;
        n /= 100;
    }
    out
}

/// The digits of a compressed-numeric value (PAN 5A), stopping at the first
/// `F` pad nibble; None when a nibble is not a digit.
pub fn cn_digits(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() * 2);
    for n in bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        match n {
            0..=9 => out.push(char::from(b'0' + n)),
            0xF => break,
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_helpers() {
        assert_eq!(bcd_to_u64(&[0x00, 0x00, 0x00, 0x01, 0x23, 0x45]), Some(12345));
        assert_eq!(bcd_to_u64(&[0x1A]), None);
        assert_eq!(u64_to_bcd(12345, 6), [0, 0, 0, 0x01, 0x23, 0x45]);
        assert_eq!(cn_digits(&[0x47, 0x61, 0x73, 0x9F]).unwrap(), "4761739");
        assert_eq!(cn_digits(&[0x4C]), None);
    }

    #[test]
    fn redundant_card_data_is_refused_and_debug_redacts() {
        let mut d = DataStore::default();
        d.absorb(&hex::decode("70075A054761739001").unwrap(), false)
            .unwrap();
        assert!(d.absorb(&hex::decode("5A0147").unwrap(), false).is_err());
        assert!(d.absorb(&hex::decode("5A054761739001").unwrap(), false).is_ok());
        let shown = format!("{d:?}");
        assert!(shown.contains("redacted") && !shown.contains("4761"), "{shown}");
    }
}
