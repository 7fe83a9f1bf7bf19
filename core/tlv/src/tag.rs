//! BER tags (ISO/IEC 8825-1 as profiled by EMV Book 3 Annex B).

use std::fmt;
use std::str::FromStr;

use crate::error::{ErrorKind, TlvError};

/// A tag, held as its encoded bytes read big-endian: `9F02` is
/// `Tag(0x9F02)`. EMV tags are one to three bytes; four are accepted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

/// The class bits of a tag's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagClass {
    Universal,
    Application,
    ContextSpecific,
    Private,
}

impl Tag {
    pub const fn new(value: u32) -> Self {
        Tag(value)
    }

    pub const fn value(self) -> u32 {
        self.0
    }

    /// Number of bytes the tag takes when encoded.
    pub const fn len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    pub const fn is_empty(self) -> bool {
        false
    }

    const fn first_byte(self) -> u8 {
        (self.0 >> (8 * (self.len() - 1))) as u8
    }

    /// Bit 6 of the first byte: the value is itself a sequence of TLVs.
    pub const fn is_constructed(self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    pub const fn class(self) -> TagClass {
        match self.first_byte() >> 6 {
            0 => TagClass::Universal,
            1 => TagClass::Application,
            2 => TagClass::ContextSpecific,
            _ => TagClass::Private,
        }
    }

    /// The encoded bytes.
    pub fn to_bytes(self) -> Vec<u8> {
        self.0.to_be_bytes()[4 - self.len()..].to_vec()
    }

    /// Reads one tag from the start of `input`; returns it and its length.
    #[inline]
    pub fn read(input: &[u8]) -> Result<(Tag, usize), TlvError> {
        match input {
            [] => Err(TlvError::at(0, ErrorKind::Truncated("tag"))),
            [first, ..] if first & 0x1F != 0x1F => Ok((Tag(*first as u32), 1)),
            [first, rest @ ..] => Self::read_subsequent(*first, rest),
        }
    }

    /// Bytes after a first byte of `xxx11111` follow while bit 8 is set.
    fn read_subsequent(first: u8, rest: &[u8]) -> Result<(Tag, usize), TlvError> {
        let mut value = first as u32;
        for (i, &b) in rest.iter().enumerate() {
            if i == 3 {
                return Err(TlvError::at(0, ErrorKind::TagTooLong));
            }
            value = (value << 8) | b as u32;
            if b & 0x80 == 0 {
                return Ok((Tag(value), i + 2));
            }
        }
        Err(TlvError::at(0, ErrorKind::Truncated("tag")))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$X}", self.0, width = self.len() * 2)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl FromStr for Tag {
    type Err = TlvError;

    /// Parses hex such as `9F02` (case-insensitive) and checks that it is
    /// one well-formed tag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TlvError::at(0, ErrorKind::BadTagText);
        if s.is_empty() || s.len() % 2 != 0 || s.len() > 8 {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let (tag, used) = Tag::read(&bytes).map_err(|_| bad())?;
        if used != bytes.len() {
            return Err(bad());
        }
        Ok(tag)
    }
}
