//! A dialect is data: one [`FieldSpec`] per data element. Another acquirer
//! is another table, built with [`Dialect::new`] or derived from [`cup`]
//! with [`Dialect::with_field`], never new code.

use std::fmt;

use crate::error::CodecError;

/// ISO 8583 data formats, as far as the wire encoding is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Numeric: BCD, two digits a byte.
    N,
    /// Track data: BCD digits with `D` (`=`) as the separator nibble.
    Z,
    /// Alphanumeric (and space) ASCII text.
    An,
    /// Alphanumeric and special: any printable ASCII.
    Ans,
    /// Raw bytes.
    B,
}

/// How long a field is and how that is told on the wire.
///
/// Lengths count digits for `n`/`z` fields and bytes for `an`/`ans`/`b`
/// ones, for fixed sizes, maxima and length prefixes alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    Fixed(u16),
    /// One BCD byte of length (00..=99), then at most this many.
    LlVar(u16),
    /// Two BCD bytes of length (0000..=0999), then at most this many.
    LllVar(u16),
}

/// Which end of a field the value sits at when it does not fill it: for
/// `n`/`z` fields with an odd digit count, `Right` puts the `0` pad nibble
/// first, `Left` puts it last; for short fixed `an`/`ans` values, `Left`
/// pads with trailing spaces and `Right` with leading ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Align {
    Right,
    Left,
}

/// One data element of a dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldSpec {
    pub number: u8,
    pub name: &'static str,
    pub format: Format,
    pub length: Length,
    pub align: Align,
}

impl FieldSpec {
    /// A field with the usual alignment: fixed numbers right-aligned (a
    /// leading pad nibble), variable numbers and all text left-aligned.
    pub const fn new(number: u8, name: &'static str, format: Format, length: Length) -> Self {
        let align = match (format, length) {
            (Format::N | Format::Z, Length::Fixed(_)) => Align::Right,
            _ => Align::Left,
        };
        Self {
            number,
            name,
            format,
            length,
            align,
        }
    }

    /// The same field with another alignment (e.g. UnionPay's field 22).
    pub const fn aligned(self, align: Align) -> Self {
        Self { align, ..self }
    }

    /// Why this spec cannot be part of a dialect, if it cannot.
    const fn problem(&self) -> Option<&'static str> {
        if self.number < 2 || self.number > 128 {
            // Field 1 is the secondary bitmap, written by the codec itself.
            return Some("field numbers run from 2 to 128");
        }
        match self.length {
            Length::Fixed(0) => Some("a fixed field needs a length of at least 1"),
            Length::LlVar(max) if max == 0 || max > 99 => {
                Some("an LLVAR maximum must be 1..=99 (one BCD length byte)")
            }
            Length::LllVar(max) if max == 0 || max > 999 => {
                Some("an LLLVAR maximum must be 1..=999 (two BCD length bytes)")
            }
            _ => None,
        }
    }
}

/// A table of field specs, indexed by field number.
#[derive(Clone, PartialEq, Eq)]
pub struct Dialect {
    pub name: &'static str,
    fields: [Option<FieldSpec>; 129],
}

impl Dialect {
    /// A dialect from a table. Refuses field numbers outside 2..=128,
    /// duplicates, zero fixed lengths and maxima a length prefix cannot say.
    pub fn new(name: &'static str, specs: &[FieldSpec]) -> Result<Self, CodecError> {
        let mut dialect = Dialect {
            name,
            fields: [None; 129],
        };
        for spec in specs {
            if dialect.field(spec.number).is_some() {
                return Err(CodecError::field(
                    spec.number,
                    format!("defined twice in dialect {name}"),
                ));
            }
            dialect = dialect.with_field(*spec)?;
        }
        Ok(dialect)
    }

    /// This dialect with `spec` added, or replacing the field it numbers.
    pub fn with_field(mut self, spec: FieldSpec) -> Result<Self, CodecError> {
        if let Some(problem) = spec.problem() {
            return Err(CodecError::field(spec.number, problem));
        }
        self.fields[spec.number as usize] = Some(spec);
        Ok(self)
    }

    /// This dialect without field `number`.
    pub fn without_field(mut self, number: u8) -> Self {
        if let Some(slot) = self.fields.get_mut(number as usize) {
            *slot = None;
        }
        self
    }

    pub fn field(&self, number: u8) -> Option<&FieldSpec> {
        self.fields.get(number as usize)?.as_ref()
    }

    /// The defined fields in number order.
    pub fn specs(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().flatten()
    }

    /// The table as a compile-time constant: a bad table fails the build.
    const fn from_table(name: &'static str, specs: &[FieldSpec]) -> Self {
        let mut fields = [None; 129];
        let mut i = 0;
        while i < specs.len() {
            let spec = specs[i];
            if let Some(problem) = spec.problem() {
                panic!("{}", problem);
            }
            if fields[spec.number as usize].is_some() {
                panic!("a field is defined twice");
            }
            fields[spec.number as usize] = Some(spec);
            i += 1;
        }
        Dialect { name, fields }
    }
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialect")
            .field("name", &self.name)
            .field("fields", &self.specs().collect::<Vec<_>>())
            .finish()
    }
}

use Format::{An, Ans, B, N, Z};
use Length::{Fixed, LlVar, LllVar};

/// The UnionPay POS table (shared/specs/cup-pos-8583.md, "Fields").
const CUP_FIELDS: &[FieldSpec] = &[
    FieldSpec::new(2, "primary account number", N, LlVar(19)),
    FieldSpec::new(3, "processing code", N, Fixed(6)),
    FieldSpec::new(4, "amount, minor units", N, Fixed(12)),
    FieldSpec::new(11, "system trace audit number", N, Fixed(6)),
    FieldSpec::new(12, "local time hhmmss", N, Fixed(6)),
    FieldSpec::new(13, "local date MMDD", N, Fixed(4)),
    FieldSpec::new(14, "expiry YYMM", N, Fixed(4)),
    FieldSpec::new(15, "settlement date MMDD", N, Fixed(4)),
    // The one fixed odd n field UnionPay left-aligns: `051` -> `05 10`.
    FieldSpec::new(22, "POS entry mode", N, Fixed(3)).aligned(Align::Left),
    FieldSpec::new(23, "card sequence number", N, Fixed(3)),
    FieldSpec::new(25, "POS condition code", N, Fixed(2)),
    FieldSpec::new(26, "PIN capture code", N, Fixed(2)),
    FieldSpec::new(32, "acquiring institution id", N, LlVar(11)),
    FieldSpec::new(35, "track 2", Z, LlVar(37)),
    FieldSpec::new(36, "track 3", Z, LllVar(104)),
    FieldSpec::new(37, "retrieval reference number", An, Fixed(12)),
    FieldSpec::new(38, "authorisation id response", An, Fixed(6)),
    FieldSpec::new(39, "response code", An, Fixed(2)),
    FieldSpec::new(41, "terminal id", Ans, Fixed(8)),
    FieldSpec::new(42, "merchant id", Ans, Fixed(15)),
    FieldSpec::new(44, "additional response data", An, LlVar(25)),
    FieldSpec::new(48, "additional data (settlement totals)", N, LllVar(322)),
    FieldSpec::new(49, "currency code", An, Fixed(3)),
    FieldSpec::new(52, "PIN block", B, Fixed(8)),
    FieldSpec::new(53, "security control information", N, Fixed(16)),
    FieldSpec::new(54, "balance amount", An, LllVar(20)),
    FieldSpec::new(55, "IC card data", B, LllVar(255)),
    FieldSpec::new(60, "reserved (type code, batch, network code)", N, LllVar(17)),
    FieldSpec::new(61, "original message data", N, LllVar(29)),
    FieldSpec::new(62, "reserved (working keys, parameters)", B, LllVar(512)),
    FieldSpec::new(63, "reserved (operator, card organisation)", Ans, LllVar(163)),
    FieldSpec::new(64, "MAC", B, Fixed(8)),
];

static CUP: Dialect = Dialect::from_table("cup", CUP_FIELDS);

/// The UnionPay POS dialect (shared/specs/cup-pos-8583.md).
pub fn cup() -> &'static Dialect {
    &CUP
}
