//! Field 48 in settlement (0500/0510): the terminal's totals and, in the
//! response, the host's verdict on them.
//!
//! Layout adopted (62 digits, UnionPay's per-card-origin totals):
//!
//! | digits | content |
//! |---|---|
//! | 1-12  | domestic cards: debit (sales) amount n12, minor units |
//! | 13-15 | domestic cards: debit count n3 |
//! | 16-27 | domestic cards: credit (refunds, voids) amount n12 |
//! | 28-30 | domestic cards: credit count n3 |
//! | 31    | domestic cards: reconciliation result n1 |
//! | 32-62 | foreign cards: the same five, in the same order |
//!
//! The result digit is 0 in the terminal's request; the host answers
//! 1 (balanced), 2 (not balanced: batch upload follows) or 3 (error).

use crate::error::CodecError;

/// One card origin's totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Totals {
    pub debit_amount: u64,
    pub debit_count: u16,
    pub credit_amount: u64,
    pub credit_count: u16,
    pub result: u8,
}

impl Totals {
    /// The result digit of a request: not reconciled yet.
    pub const NOT_RECONCILED: u8 = 0;
    pub const BALANCED: u8 = 1;
    pub const NOT_BALANCED: u8 = 2;
    pub const ERROR: u8 = 3;

    const AMOUNT_MAX: u64 = 999_999_999_999;
    const COUNT_MAX: u16 = 999;
    /// Digits per card origin.
    const LEN: usize = 12 + 3 + 12 + 3 + 1;

    fn write(&self, origin: &str, out: &mut String) -> Result<(), CodecError> {
        let too_big = |what: &str| CodecError::field(48, format!("{origin} {what} does not fit its digits"));
        if self.debit_amount > Self::AMOUNT_MAX {
            return Err(too_big("debit amount"));
        }
        if self.credit_amount > Self::AMOUNT_MAX {
            return Err(too_big("credit amount"));
        }
        if self.debit_count > Self::COUNT_MAX {
            return Err(too_big("debit count"));
        }
        if self.credit_count > Self::COUNT_MAX {
            return Err(too_big("credit count"));
        }
        if self.result > 9 {
            return Err(too_big("result code"));
        }
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{:012}{:03}{:012}{:03}{}",
            self.debit_amount, self.debit_count, self.credit_amount, self.credit_count, self.result
        );
        Ok(())
    }

    /// Reads 31 checked ASCII digits.
    fn read(digits: &str) -> Totals {
        // Called only on 31 checked ASCII digits, so every slice parses and
        // the fallback is never taken; it just keeps a panic path out.
        let num = |range: std::ops::Range<usize>| digits[range].parse::<u64>().unwrap_or(0);
        Totals {
            debit_amount: num(0..12),
            debit_count: num(12..15) as u16,
            credit_amount: num(15..27),
            credit_count: num(27..30) as u16,
            result: num(30..31) as u8,
        }
    }
}

/// Field 48 of a settlement: domestic then foreign card totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Field48 {
    pub domestic: Totals,
    pub foreign: Totals,
}

impl Field48 {
    /// Digits in the field.
    pub const LEN: usize = 2 * Totals::LEN;

    /// The field's 62 digits.
    pub fn pack(&self) -> Result<String, CodecError> {
        let mut out = String::with_capacity(Self::LEN);
        self.domestic.write("domestic", &mut out)?;
        self.foreign.write("foreign", &mut out)?;
        Ok(out)
    }

    /// Reads exactly 62 digits.
    pub fn unpack(digits: &str) -> Result<Self, CodecError> {
        if digits.len() != Self::LEN {
            return Err(CodecError::field(
                48,
                format!("settlement totals are {} digits, got {}", Self::LEN, digits.len()),
            ));
        }
        if let Some(at) = digits.bytes().position(|c| !c.is_ascii_digit()) {
            return Err(CodecError::field(
                48,
                format!("character {} is not a digit", at + 1),
            ));
        }
        Ok(Field48 {
            domestic: Totals::read(&digits[..Totals::LEN]),
            foreign: Totals::read(&digits[Totals::LEN..]),
        })
    }
}
