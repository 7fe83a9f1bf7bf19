//! Parse errors: where in the input, and what was wrong.

/// What went wrong while reading TLV data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("input ends inside the {0}")]
    Truncated(&'static str),
    #[error("tag is longer than 4 bytes")]
    TagTooLong,
    #[error("length field uses {0} bytes; at most 3 (81 xx, 82 xxxx, 83 xxxxxx) are allowed")]
    LengthTooLong(usize),
    #[error("indefinite length (80) is not allowed in EMV data")]
    IndefiniteLength,
    #[error("value needs {needed} bytes but only {available} remain")]
    ValueOverrun { needed: usize, available: usize },
    #[error("not a tag in hex (expected e.g. 9F02)")]
    BadTagText,
    #[error("templates nested more than {0} deep")]
    TooDeep(u8),
}

/// A TLV error with the byte offset into the input where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("TLV error at byte {offset}: {kind}")]
pub struct TlvError {
    pub offset: usize,
    pub kind: ErrorKind,
}

impl TlvError {
    pub(crate) const fn at(offset: usize, kind: ErrorKind) -> Self {
        Self { offset, kind }
    }

    pub(crate) const fn shifted(self, by: usize) -> Self {
        Self {
            offset: self.offset + by,
            kind: self.kind,
        }
    }
}
