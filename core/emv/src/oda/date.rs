//! Dates in certificates and the transaction date, compared without a clock.
//!
//! EMV years are two digits; Book 4 (Annex on dates) reads YY below 50 as
//! 20YY and the rest as 19YY, which is what [`yymmdd_ordinal`] does for the
//! CA key table.

use super::{OdaError, tags};
use crate::config::yymmdd_ordinal;

/// The transaction date (9A), checked once and kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Today {
    year: u32,
    month: u32,
    day: u32,
}

impl Today {
    /// 9A is n 6, YYMMDD in BCD. It comes from the terminal, but a bad one
    /// must still fail cleanly rather than expire or accept every key.
    pub(crate) fn from_bcd(date: [u8; 3]) -> Result<Today, OdaError> {
        let invalid = |reason| OdaError::InvalidData {
            tag: tags::TRANSACTION_DATE,
            reason,
        };
        let [yy, mm, dd] = date.map(bcd_byte);
        let (Some(yy), Some(mm), Some(dd)) = (yy, mm, dd) else {
            return Err(invalid("the transaction date is not YYMMDD in BCD"));
        };
        if !(1..=12).contains(&mm) || !(1..=31).contains(&dd) {
            return Err(invalid("the transaction date has no such month or day"));
        }
        Ok(Today {
            year: full_year(yy),
            month: mm,
            day: dd,
        })
    }

    fn ordinal(self) -> u32 {
        self.year * 10000 + self.month * 100 + self.day
    }

    /// A CA key is not used after its expiry date (Book 2 11.2.2 lists the
    /// date with the key; the key is good through that day).
    pub(crate) fn after_yymmdd(self, expiry: &str) -> bool {
        self.ordinal() > yymmdd_ordinal(expiry)
    }

    /// Certificate Expiration Date is MMYY (Book 2 tables 6 and 14) and a
    /// certificate is good through the last day of that month (5.3 step 9,
    /// 6.4 step 9: "equal to or later than today's date"). `None` when the
    /// field is not a valid MMYY, which is a certificate format error.
    pub(crate) fn is_past_mmyy(self, expiry: [u8; 2]) -> Option<bool> {
        let month = bcd_byte(expiry[0]).filter(|m| (1..=12).contains(m))?;
        let year = full_year(bcd_byte(expiry[1])?);
        Some((year, month) < (self.year, self.month))
    }
}

fn full_year(yy: u32) -> u32 {
    if yy < 50 { 2000 + yy } else { 1900 + yy }
}

/// Two BCD digits, or `None` when a nibble is above 9.
fn bcd_byte(b: u8) -> Option<u32> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(u32::from(hi) * 10 + u32::from(lo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_valid_through_the_end_of_its_month() {
        let today = Today::from_bcd([0x25, 0x06, 0x30]).unwrap();
        assert_eq!(today.is_past_mmyy([0x06, 0x25]), Some(false));
        assert_eq!(today.is_past_mmyy([0x05, 0x25]), Some(true));
        assert_eq!(today.is_past_mmyy([0x01, 0x26]), Some(false));
        assert_eq!(today.is_past_mmyy([0x12, 0x24]), Some(true));
    }

    #[test]
    fn years_from_50_are_last_century() {
        // 12/49 is December 2049, 01/50 is January 1950.
        let today = Today::from_bcd([0x30, 0x01, 0x01]).unwrap();
        assert_eq!(today.is_past_mmyy([0x12, 0x49]), Some(false));
        assert_eq!(today.is_past_mmyy([0x01, 0x50]), Some(true));
    }

    #[test]
    fn malformed_dates_are_refused() {
        assert!(Today::from_bcd([0x25, 0x13, 0x01]).is_err());
        assert!(Today::from_bcd([0x25, 0x00, 0x01]).is_err());
        assert!(Today::from_bcd([0x25, 0x01, 0x00]).is_err());
        assert!(Today::from_bcd([0x2A, 0x01, 0x01]).is_err());
        let today = Today::from_bcd([0x25, 0x01, 0x01]).unwrap();
        assert_eq!(today.is_past_mmyy([0x13, 0x25]), None);
        assert_eq!(today.is_past_mmyy([0x00, 0x25]), None);
        assert_eq!(today.is_past_mmyy([0x12, 0xF5]), None);
    }

    #[test]
    fn ca_key_is_usable_on_its_expiry_day() {
        let today = Today::from_bcd([0x25, 0x12, 0x31]).unwrap();
        assert!(!today.after_yymmdd("251231"));
        assert!(today.after_yymmdd("251230"));
        assert!(!today.after_yymmdd("491231"));
    }
}
