//! Sub-fields of the UnionPay reserved fields: 48 (settlement totals),
//! 55 (ICC data), 60 (type code, batch, network code), 61 (original
//! message) and 63 (operator / card organisation). Each turns the field's
//! [`crate::Value`] into named parts and back, checking widths both ways.

mod icc;
mod totals;

pub use icc::{build_field55, field55_tlvs};
pub use totals::{Field48, Totals};

use crate::error::CodecError;
use crate::message::Value;

/// 60.1 transaction type codes (spec "Type codes (60.1)").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeCode {
    Inquiry,
    PreAuth,
    PreAuthVoid,
    Completion,
    CompletionVoid,
    Sale,
    Void,
    Refund,
    Settlement,
    /// Closed-loop prepaid card: activation with its first load.
    PrepaidIssue,
    /// Closed-loop prepaid card: a load onto an issued card.
    PrepaidTopUp,
    /// Closed-loop prepaid card: a purchase paid from the stored value.
    PrepaidPay,
    /// Closed-loop prepaid card: the stored value's balance.
    PrepaidBalance,
}

impl TypeCode {
    const ALL: [(TypeCode, &'static str); 13] = [
        (TypeCode::Inquiry, "01"),
        (TypeCode::PreAuth, "10"),
        (TypeCode::PreAuthVoid, "11"),
        (TypeCode::Completion, "20"),
        (TypeCode::CompletionVoid, "21"),
        (TypeCode::Sale, "22"),
        (TypeCode::Void, "23"),
        (TypeCode::Refund, "25"),
        (TypeCode::Settlement, "30"),
        // PosKit's closed-loop prepaid extension (docs/prepaid.md): codes
        // the table above leaves free.
        (TypeCode::PrepaidIssue, "70"),
        (TypeCode::PrepaidTopUp, "71"),
        (TypeCode::PrepaidPay, "72"),
        (TypeCode::PrepaidBalance, "73"),
    ];

    /// The two digits of 60.1.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("", |(_, code)| code)
    }

    pub fn from_code(code: &str) -> Option<TypeCode> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(t, _)| *t)
    }

    /// The closed-loop prepaid messages (docs/prepaid.md).
    pub fn is_prepaid(self) -> bool {
        matches!(
            self,
            TypeCode::PrepaidIssue | TypeCode::PrepaidTopUp | TypeCode::PrepaidPay | TypeCode::PrepaidBalance
        )
    }

    /// Whether the request carries an amount (field 4): every financial
    /// type but the two balance inquiries.
    pub fn carries_amount(self) -> bool {
        !matches!(self, TypeCode::Inquiry | TypeCode::PrepaidBalance)
    }
}

/// Takes `width` digits off the front of `rest`, naming the sub-field in
/// the error. The caller has checked that `rest` is all ASCII digits.
fn take<'a>(field: u8, rest: &mut &'a str, width: usize, what: &str) -> Result<&'a str, CodecError> {
    if rest.len() < width {
        return Err(CodecError::field(
            field,
            format!("ends inside {what} ({width} digits)"),
        ));
    }
    let (head, tail) = rest.split_at(width);
    *rest = tail;
    Ok(head)
}

fn all_digits(field: u8, digits: &str) -> Result<(), CodecError> {
    match digits.bytes().position(|c| !c.is_ascii_digit()) {
        None => Ok(()),
        Some(at) => Err(CodecError::field(
            field,
            format!("character {} is not a digit", at + 1),
        )),
    }
}

/// Checks one part before it is joined into a field.
fn part(field: u8, value: &str, width: usize, what: &str) -> Result<(), CodecError> {
    if value.len() != width || !value.bytes().all(|c| c.is_ascii_digit()) {
        return Err(CodecError::field(
            field,
            format!("{what} must be exactly {width} digits"),
        ));
    }
    Ok(())
}

/// Field 60: 60.1 type code n2, 60.2 batch number n6, 60.3 network
/// management information code n3, then whatever further sub-fields the
/// acquirer uses (60.4, 60.5, ...), kept as they came.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Field60 {
    pub type_code: String,
    pub batch: String,
    pub network_code: String,
    pub rest: String,
}

impl Field60 {
    pub fn new(type_code: TypeCode, batch: &str, network_code: &str) -> Self {
        Field60 {
            type_code: type_code.code().to_string(),
            batch: batch.to_string(),
            network_code: network_code.to_string(),
            rest: String::new(),
        }
    }

    /// 60.1 as a known type code, if it is one.
    pub fn kind(&self) -> Option<TypeCode> {
        TypeCode::from_code(&self.type_code)
    }

    /// Reads the digits of field 60; at least 60.1-60.3 (11 digits).
    pub fn from_digits(digits: &str) -> Result<Self, CodecError> {
        all_digits(60, digits)?;
        let mut rest = digits;
        Ok(Field60 {
            type_code: take(60, &mut rest, 2, "60.1 type code")?.to_string(),
            batch: take(60, &mut rest, 6, "60.2 batch number")?.to_string(),
            network_code: take(60, &mut rest, 3, "60.3 network management code")?.to_string(),
            rest: rest.to_string(),
        })
    }

    pub fn to_digits(&self) -> Result<String, CodecError> {
        part(60, &self.type_code, 2, "60.1 type code")?;
        part(60, &self.batch, 6, "60.2 batch number")?;
        part(60, &self.network_code, 3, "60.3 network management code")?;
        all_digits(60, &self.rest)?;
        Ok([&*self.type_code, &self.batch, &self.network_code, &self.rest].concat())
    }

    pub fn from_value(value: Option<&Value>) -> Result<Self, CodecError> {
        Self::from_digits(digits_of(60, value)?)
    }

    pub fn to_value(&self) -> Result<Value, CodecError> {
        Ok(Value::Digits(self.to_digits()?))
    }
}

/// Field 61, original message data: the batch number n6 and STAN n6 of the
/// transaction being voided, reversed or refunded, then its date MMDD n4,
/// then anything further (e.g. an authorisation code), kept as it came.
/// A void carries only batch and STAN (12 digits): `original_date` is then
/// empty, and so must `rest` be.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Field61 {
    pub original_batch: String,
    pub original_stan: String,
    pub original_date: String,
    pub rest: String,
}

impl Field61 {
    pub fn from_digits(digits: &str) -> Result<Self, CodecError> {
        all_digits(61, digits)?;
        let mut rest = digits;
        let original_batch = take(61, &mut rest, 6, "61.1 original batch number")?.to_string();
        let original_stan = take(61, &mut rest, 6, "61.2 original STAN")?.to_string();
        let original_date = if rest.is_empty() {
            String::new()
        } else {
            take(61, &mut rest, 4, "61.3 original date MMDD")?.to_string()
        };
        Ok(Field61 {
            original_batch,
            original_stan,
            original_date,
            rest: rest.to_string(),
        })
    }

    pub fn to_digits(&self) -> Result<String, CodecError> {
        part(61, &self.original_batch, 6, "61.1 original batch number")?;
        part(61, &self.original_stan, 6, "61.2 original STAN")?;
        if self.original_date.is_empty() {
            if !self.rest.is_empty() {
                return Err(CodecError::field(
                    61,
                    "further sub-fields need 61.3 original date before them",
                ));
            }
        } else {
            part(61, &self.original_date, 4, "61.3 original date MMDD")?;
        }
        all_digits(61, &self.rest)?;
        Ok([
            &*self.original_batch,
            &self.original_stan,
            &self.original_date,
            &self.rest,
        ]
        .concat())
    }

    pub fn from_value(value: Option<&Value>) -> Result<Self, CodecError> {
        Self::from_digits(digits_of(61, value)?)
    }

    pub fn to_value(&self) -> Result<Value, CodecError> {
        Ok(Value::Digits(self.to_digits()?))
    }
}

/// Field 63: 63.1 an3 (the operator code in requests, the card
/// organisation such as `CUP` in responses), then free text that may be
/// GBK, kept as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Field63 {
    pub code: String,
    pub rest: Vec<u8>,
}

impl Field63 {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        let Some((code, rest)) = bytes.split_first_chunk::<3>() else {
            return Err(CodecError::field(
                63,
                format!("{} bytes is shorter than 63.1 (an3)", bytes.len()),
            ));
        };
        if !code.iter().all(|c| (0x20..=0x7E).contains(c)) {
            return Err(CodecError::field(63, "63.1 is not printable ASCII"));
        }
        Ok(Field63 {
            code: code.iter().map(|&c| c as char).collect(),
            rest: rest.to_vec(),
        })
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, CodecError> {
        if self.code.len() != 3 || !self.code.bytes().all(|c| (0x20..=0x7E).contains(&c)) {
            return Err(CodecError::field(
                63,
                "63.1 must be exactly 3 printable ASCII characters",
            ));
        }
        Ok([self.code.as_bytes(), &self.rest].concat())
    }

    /// The free text, if it is printable ASCII (otherwise GBK: see `rest`).
    pub fn rest_text(&self) -> Option<&str> {
        if self.rest.iter().all(|c| (0x20..=0x7E).contains(c)) {
            std::str::from_utf8(&self.rest).ok()
        } else {
            None
        }
    }

    pub fn from_value(value: Option<&Value>) -> Result<Self, CodecError> {
        match value {
            Some(Value::Text(text)) => Self::from_bytes(text.as_bytes()),
            Some(Value::TextBytes(bytes)) => Self::from_bytes(bytes),
            Some(other) => Err(CodecError::field(
                63,
                format!("holds {}, expected text", other.kind()),
            )),
            None => Err(CodecError::field(63, "absent")),
        }
    }

    /// The field's value: `Text` if all printable ASCII, else `TextBytes`.
    pub fn to_value(&self) -> Result<Value, CodecError> {
        Ok(Value::from_text_bytes(&self.to_bytes()?))
    }
}

fn digits_of(field: u8, value: Option<&Value>) -> Result<&str, CodecError> {
    match value {
        Some(Value::Digits(d)) => Ok(d),
        Some(other) => Err(CodecError::field(
            field,
            format!("holds {}, expected digits", other.kind()),
        )),
        None => Err(CodecError::field(field, "absent")),
    }
}
