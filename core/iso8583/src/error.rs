//! The one error of the codec: which field, and what was wrong with it.

use std::fmt;

/// Why a message, frame or sub-field could not be packed or unpacked.
///
/// `field` names the data element (2..=128) when the problem is inside one;
/// it is `None` for the MTI, the bitmaps, the frame and trailing bytes.
/// `reason` never quotes field contents: a PAN, track or PIN block must not
/// reach a log through an error message (DESIGN rule 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", FieldPrefix(*.field))]
pub struct CodecError {
    pub field: Option<u8>,
    pub reason: String,
}

impl CodecError {
    pub(crate) fn field(field: u8, reason: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            reason: reason.into(),
        }
    }

    pub(crate) fn message(reason: impl Into<String>) -> Self {
        Self {
            field: None,
            reason: reason.into(),
        }
    }
}

/// Writes "field 35: " before the reason, or nothing for message-level errors.
struct FieldPrefix(Option<u8>);

impl fmt::Display for FieldPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "field {n}: "),
            None => Ok(()),
        }
    }
}
