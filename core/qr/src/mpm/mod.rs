//! EMVCo merchant-presented mode (EMV QRCPS MPM v1.1): the code a terminal
//! or a sticker shows and the customer's wallet scans.
//!
//! A code is a string of data objects: a two-digit id, a two-digit length
//! in characters, the value. Some ids hold templates of further objects.
//! [`MerchantPresented::decode`] reads one and checks every rule;
//! [`MerchantPresented::encode`] gives back exactly the string it read.
//! [`MpmBuilder`] makes a new code, objects ordered by id and the CRC
//! computed.

mod builder;
mod error;
mod object;
mod parse;
mod rules;
mod schema;

use std::fmt;

pub use builder::MpmBuilder;
pub use error::{MpmError, Problem};
pub use object::{DataObject, Value};
pub use schema::{Path, name, reserved_network};

use object::{encode_objects, find};
use rules::Purpose;

/// The longest code the spec allows (MPM 4.5.4), in characters.
pub const MAX_LEN: usize = 512;

/// A merchant-presented code: its data objects in the order of the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantPresented {
    objects: Vec<DataObject>,
}

/// Data object 01: whether the code is shown for many payments or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiation {
    /// `11`: the same code for every payment (a sticker); the customer
    /// usually types the amount.
    Static,
    /// `12`: a new code for each payment, with its amount.
    Dynamic,
}

/// Data objects 55 to 57: what the wallet adds to the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tip<'a> {
    /// `01`: the wallet asks the customer for a tip.
    Prompt,
    /// `02`: a fixed convenience fee, data object 56, as written.
    FixedFee(&'a str),
    /// `03`: a percentage of the amount, data object 57, as written.
    PercentageFee(&'a str),
}

/// The CRC a code carries and the one its content computes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrcCheck {
    pub found: Option<String>,
    pub expected: Option<String>,
}

impl CrcCheck {
    pub fn is_valid(&self) -> bool {
        matches!((&self.found, &self.expected), (Some(f), Some(e)) if f.eq_ignore_ascii_case(e))
    }
}

impl MerchantPresented {
    /// Reads a code and checks every rule; the first rule broken is the
    /// error. Spaces and line ends around the code (as scanners add them)
    /// are ignored.
    pub fn decode(code: &str) -> Result<Self, MpmError> {
        let code = trim(code);
        let mpm = Self::read(code)?;
        match rules::problems(&mpm.objects, code, Purpose::Read)
            .into_iter()
            .next()
        {
            Some(problem) => Err(problem),
            None => Ok(mpm),
        }
    }

    /// Reads the structure only (ids, lengths, templates), whatever the
    /// rules say; for tools that show a broken code. See
    /// [`MerchantPresented::problems`].
    pub fn parse(code: &str) -> Result<Self, MpmError> {
        Self::read(trim(code))
    }

    fn read(code: &str) -> Result<Self, MpmError> {
        if code.is_empty() {
            return Err(MpmError::Empty);
        }
        // A byte count bounds the character count from above; count
        // characters only when it might matter.
        if code.len() > MAX_LEN {
            let chars = code.chars().count();
            if chars > MAX_LEN {
                return Err(MpmError::TooLong(chars));
            }
        }
        Ok(MerchantPresented {
            objects: parse::parse_objects(code, 0, None)?,
        })
    }

    pub(crate) fn from_objects(objects: Vec<DataObject>) -> Self {
        MerchantPresented { objects }
    }

    /// Every rule the code breaks, in the order [`decode`] would report
    /// them; empty for a valid code.
    ///
    /// [`decode`]: MerchantPresented::decode
    pub fn problems(&self) -> Vec<MpmError> {
        rules::problems(&self.objects, &self.encode(), Purpose::Read)
    }

    pub fn validate(&self) -> Result<(), MpmError> {
        self.problems().into_iter().next().map_or(Ok(()), Err)
    }

    /// The CRC the code carries (data object 63, when last) and the one
    /// its content computes to.
    pub fn crc(&self) -> CrcCheck {
        let found = self
            .objects
            .last()
            .filter(|o| o.id() == 63)
            .and_then(DataObject::as_text)
            .filter(|t| t.is_ascii() && t.len() == 4);
        let expected = found.map(|_| {
            let code = self.encode();
            crate::crc::crc_value(&code[..code.len() - 4])
        });
        CrcCheck {
            found: found.map(str::to_owned),
            expected,
        }
    }

    /// The code as text: the very string it was read from, or the one the
    /// builder made.
    pub fn encode(&self) -> String {
        encode_objects(&self.objects)
    }

    /// The data objects in the order of the code.
    pub fn objects(&self) -> &[DataObject] {
        &self.objects
    }

    pub fn get(&self, id: u8) -> Option<&DataObject> {
        find(&self.objects, id)
    }

    /// The text of a plain data object at the root.
    pub fn text(&self, id: u8) -> Option<&str> {
        self.get(id).and_then(DataObject::as_text)
    }

    pub fn initiation(&self) -> Option<Initiation> {
        match self.text(1)? {
            "11" => Some(Initiation::Static),
            "12" => Some(Initiation::Dynamic),
            _ => None,
        }
    }

    /// Merchant account information (ids 02 to 51): primitive values of
    /// the card schemes (02 to 25) and templates (26 to 51).
    pub fn merchant_accounts(&self) -> impl Iterator<Item = &DataObject> {
        self.objects.iter().filter(|o| (2..=51).contains(&o.id()))
    }

    /// The merchant account template whose globally unique identifier
    /// (sub-id 00) is `gui`, e.g. an AID or `com.example.pay`.
    pub fn merchant_account(&self, gui: &str) -> Option<&DataObject> {
        self.merchant_accounts().find(|o| o.child_text(0) == Some(gui))
    }

    pub fn merchant_category_code(&self) -> Option<&str> {
        self.text(52)
    }

    /// ISO 4217 numeric, e.g. `156`.
    pub fn currency(&self) -> Option<&str> {
        self.text(53)
    }

    /// Data object 54 as written, e.g. `88.80`; `None` when the customer
    /// enters the amount.
    pub fn amount(&self) -> Option<&str> {
        self.text(54)
    }

    /// The amount in minor units of a currency with `exponent` decimals
    /// (2 for CNY): `88.80` is 8880. `None` when absent, with more decimals
    /// than the currency has, or too large.
    pub fn amount_minor(&self, exponent: u8) -> Option<u64> {
        to_minor(self.amount()?, exponent)
    }

    pub fn tip(&self) -> Option<Tip<'_>> {
        match self.text(55)? {
            "01" => Some(Tip::Prompt),
            "02" => Some(Tip::FixedFee(self.text(56)?)),
            "03" => Some(Tip::PercentageFee(self.text(57)?)),
            _ => None,
        }
    }

    /// ISO 3166-1 alpha-2.
    pub fn country(&self) -> Option<&str> {
        self.text(58)
    }

    pub fn merchant_name(&self) -> Option<&str> {
        self.text(59)
    }

    pub fn merchant_city(&self) -> Option<&str> {
        self.text(60)
    }

    pub fn postal_code(&self) -> Option<&str> {
        self.text(61)
    }

    /// A sub-object of the additional data field template (62), e.g.
    /// 01 bill number, 05 reference label, 07 terminal label.
    pub fn additional_data(&self, sub_id: u8) -> Option<&str> {
        self.get(62)?.child_text(sub_id)
    }

    /// 62.01: the terminal puts the merchant order number here.
    pub fn bill_number(&self) -> Option<&str> {
        self.additional_data(1)
    }

    /// 62.05, the reference label.
    pub fn reference(&self) -> Option<&str> {
        self.additional_data(5)
    }
}

impl fmt::Display for MerchantPresented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

fn trim(code: &str) -> &str {
    code.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// `88.80` with exponent 2 is 8880; `88` is 8800; `88.801` is `None`.
fn to_minor(amount: &str, exponent: u8) -> Option<u64> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if fraction.len() > exponent as usize || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scale = 10u64.checked_pow(exponent as u32)?;
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<u64>().ok()? * 10u64.pow((exponent as usize - fraction.len()) as u32)
    };
    whole.checked_mul(scale)?.checked_add(fraction)
}

/// `8880` with exponent 2 is `88.80`.
pub fn format_minor(minor: u64, exponent: u8) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let digits = format!("{minor:0>width$}", width = exponent as usize + 1);
    let (whole, fraction) = digits.split_at(digits.len() - exponent as usize);
    format!("{whole}.{fraction}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units() {
        assert_eq!(to_minor("88.80", 2), Some(8880));
        assert_eq!(to_minor("88.8", 2), Some(8880));
        assert_eq!(to_minor("88", 2), Some(8800));
        assert_eq!(to_minor("88.", 2), Some(8800));
        assert_eq!(to_minor("88.801", 2), None);
        assert_eq!(to_minor("1000", 0), Some(1000));
        assert_eq!(format_minor(8880, 2), "88.80");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(1000, 0), "1000");
        assert_eq!(format_minor(1, 3), "0.001");
    }
}
